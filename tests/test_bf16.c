/*
 * bf16 products with fp32 sums (RN_OPT_TRAIN_BF16), tested where the CPU has
 * AVX512_BF16 (elsewhere every test that needs it reports itself skipped):
 *
 * - the bf16 indirect GEMM microkernels (wide and narrow tiles) against a
 *   naive scalar loop written here from the contract in kernels.h: each
 *   input rounded to bf16 (nearest, ties to even, fp32 denormals to zero;
 *   computed with frexp/nearbyint in double, not with the library's bit
 *   trick), then for every segment and pair the odd product then the even
 *   one added in fp32 (fmaf: the products are exact). Bit-identical, for
 *   every mr and nc of the tile, odd and even pair counts, both forms of
 *   indirection, accumulate, bias and ReLU; NaN rows past mr and NaN
 *   columns past nc must not reach a kept result.
 * - the conversion to pairs (and the library's own rounding of the weights)
 *   on ties, denormals, the largest floats, infinities and NaN.
 * - the convolution drivers (weights packed as pairs in place, the flipped
 *   weights of the backward-data pass) against float64 loops over the
 *   bf16-rounded inputs: within fp32's summation bound, and against the
 *   unrounded inputs off by bf16's rounding (so the products really are bf16).
 * - the option: refused (RN_E_UNSUPPORTED, unchanged) where the kernels are
 *   missing, and a cap that would drop them is refused while it is on; a
 *   training plan built with it and run with it off gives the bytes of a plan
 *   built without it, and with it on the same bytes on 1 and 2 threads.
 * The training step's gradients against float64 are in test_grad_accuracy.c.
 */
#define _DEFAULT_SOURCE
#include "harness.h"
#include "resnet.h"
#include "core/internal.h"
#include "kernels/kernels.h"
#include "ops/ops.h"

#include <float.h>
#include <math.h>

#include "test_kernels_common.h"

static const struct rn_kernels *bf16_table_or_skip(void) {
    const struct rn_kernels *t = table_if_available(RN_ISA_AVX512);
    if (!t || !t->igemm_bf16) {
        SKIP("bf16 kernels: no AVX512_BF16 on this CPU or in this build, or above RN_MAX_ISA");
        return NULL;
    }
    return t;
}

/* fp32 -> bf16 -> fp32 the long way: 8 significant bits, to nearest even. */
static float ref_round(float f) {
    if (isnan(f)) return f;
    if (f == 0.0f || fabsf(f) < FLT_MIN) return copysignf(0.0f, f);
    if (isinf(f)) return f;
    int e = 0;
    double m = frexp((double)f, &e);         /* |m| in [0.5, 1) */
    double r = nearbyint(m * 256.0) / 256.0; /* default rounding: ties to even */
    double v = ldexp(r, e);
    if (fabs(v) > 3.3895313892515355e38) return copysignf(INFINITY, f); /* past bf16's max */
    return (float)v;
}

static float ftz(float v) { return fabsf(v) < FLT_MIN ? copysignf(0.0f, v) : v; }

static float *random_floats(size_t n) {
    float *p = (float *)malloc((n ? n : 1) * sizeof(float));
    if (p) rn_test_fill_uniform(p, n, -1.0, 1.0);
    return p;
}

/* x[2i], x[2i + 1] as one pair of ref_round's bf16 values */
static uint32_t ref_pair(float lo, float hi) {
    uint32_t l, h;
    float a = ref_round(lo), b = ref_round(hi);
    memcpy(&l, &a, 4);
    memcpy(&h, &b, 4);
    if (isnan(a)) l = 0x7fc00000u;
    if (isnan(b)) h = 0x7fc00000u;
    return (l >> 16) | (h & 0xffff0000u);
}

/* B as the kernel reads it: ks * kc / 2 rows of bs pairs, from fp32 Bf[kc*ks][bs] */
static void make_pairs(const float *bf, size_t rows, size_t bs, uint32_t *pairs) {
    for (size_t p = 0; p < rows / 2; p++)
        for (size_t j = 0; j < bs; j++)
            pairs[p * bs + j] = ref_pair(bf[2 * p * bs + j], bf[(2 * p + 1) * bs + j]);
}

#define SENTINEL 12345.0f

/* Returns the number of wrong elements of one call (see the file comment);
 * kc counts pairs, the kernel's rows are pairs of the fp32 pool's rows. */
static int check_kernel(rn_igemm_bf16_ukernel_fn fn, size_t MR, size_t NR, size_t mr, size_t nc,
                        size_t kcp, size_t ks, uint32_t flags, int with_bias, int shared_rows,
                        int specials) {
    const size_t kc = 2 * kcp; /* floats per segment row */
    const size_t bs = NR + 6, region = ks * kc, cs = NR + 3;
    float *pool = random_floats((MR + 1) * region), *bf = random_floats(ks * kc * bs);
    uint32_t *b = (uint32_t *)malloc(ks * kc / 2 * bs * sizeof(uint32_t));
    uint32_t *pp = (uint32_t *)malloc((MR + 1) * region / 2 * sizeof(uint32_t));
    const float **pind = (const float **)malloc(ks * MR * sizeof(float *));
    const float *prows[16];
    size_t poff[9] = {0};
    float *c = (float *)malloc((MR + 1) * cs * sizeof(float));
    float *c0 = (float *)malloc((MR + 1) * cs * sizeof(float));
    float *bias = random_floats(NR);
    const float **ind = (const float **)malloc(ks * MR * sizeof(float *));
    const float *rows[16];
    size_t off[9] = {0}, zero[9] = {0};
    int bad = 0;
    if (!pool || !bf || !b || !pp || !pind || !c || !c0 || !bias || !ind || MR > 16 || ks > 9) {
        bad = 1;
        goto done;
    }
    float *nan_row = pool + MR * region;
    for (size_t p = 0; p < region; p++) nan_row[p] = NAN;
    if (specials) { /* ties, values next to them, denormals, sign of zero */
        static const float sp[] = {1.00390625f, 1.01171875f, -1.00390625f, 1.0039063f,
                                   1e-40f,      -3e-39f,     -0.0f,        0.5f + 0x1p-10f};
        for (size_t i = 0; i < mr * region; i += 3) pool[i] = sp[(i / 3) % 8];
        for (size_t i = 1; i < ks * kc * bs; i += 5) bf[i] = sp[(i / 5) % 8];
    }
    for (size_t i = 0; i < MR; i++) rows[i] = i < mr ? pool + i * region : nan_row;
    for (size_t s = 0; s < ks; s++) {
        off[s] = s * kc;
        for (size_t i = 0; i < MR; i++)
            ind[s * MR + i] = i >= mr       ? nan_row
                              : shared_rows ? rows[i] + off[s]
                                            : pool + ((s * 7 + i * 3) % (mr * ks)) * kc;
    }
    for (size_t p = 0; p < ks * kc; p++)
        for (size_t j = nc; j < bs; j++) bf[p * bs + j] = NAN;
    make_pairs(bf, ks * kc, bs, b);
    /* the pairs the kernel reads: the same addresses at half the offsets */
    for (size_t q = 0; q < (MR + 1) * region / 2; q++)
        pp[q] = ref_pair(pool[2 * q], pool[2 * q + 1]);
#define PAIRS_OF(ptr) ((const float *)(const void *)(pp + ((ptr)-pool) / 2))
    for (size_t i = 0; i < MR; i++) prows[i] = PAIRS_OF(rows[i]);
    for (size_t s = 0; s < ks; s++) {
        poff[s] = off[s] / 2;
        for (size_t i = 0; i < MR; i++) pind[s * MR + i] = PAIRS_OF(ind[s * MR + i]);
    }
    for (size_t i = 0; i < (MR + 1) * cs; i++) c[i] = SENTINEL;
    for (size_t i = 0; i < mr; i++)
        for (size_t j = 0; j < nc; j++)
            c[i * cs + j] = (flags & RN_GEMM_ACCUMULATE) ? (float)rn_test_uniform() - 0.5f : NAN;
    memcpy(c0, c, (MR + 1) * cs * sizeof(float));
    if (shared_rows)
        fn(mr, nc, kcp, ks, prows, 0, poff, b, bs, c, cs, with_bias ? bias : NULL, flags);
    else
        fn(mr, nc, kcp, ks, pind, MR, zero, b, bs, c, cs, with_bias ? bias : NULL, flags);
    for (size_t i = 0; i < MR + 1; i++)
        for (size_t j = 0; j < cs; j++) {
            float got = c[i * cs + j];
            if (i >= mr || j >= nc) {
                bad += got != SENTINEL;
                continue;
            }
            float acc = 0.0f;
            for (size_t s = 0; s < ks; s++) {
                const float *a = ind[s * MR + i];
                for (size_t p = 0; p + 1 < kc; p += 2) {
                    const size_t q = s * kc + p;
                    acc = ftz(fmaf(ref_round(a[p + 1]), ref_round(bf[(q + 1) * bs + j]), acc));
                    acc = ftz(fmaf(ref_round(a[p]), ref_round(bf[q * bs + j]), acc));
                }
            }
            float want = acc;
            if (flags & RN_GEMM_ACCUMULATE) want = c0[i * cs + j] + want;
            want = want + (with_bias ? bias[j] : 0.0f);
            if ((flags & RN_GEMM_RELU) && want < 0.0f) want = 0.0f;
            if (memcmp(&got, &want, sizeof got) != 0 && !(isnan(got) && isnan(want))) {
                if (!bad)
                    fprintf(stderr,
                            "  bf16 igemm %zux%zu mr %zu nc %zu kc %zu ks %zu flags %u shared %d "
                            "specials %d: [%zu][%zu] = %.9g, ref %.9g\n",
                            MR, NR, mr, nc, kc, ks, flags, shared_rows, specials, i, j, got, want);
                bad++;
            }
        }
done:
    free(pool), free(bf), free(b), free(pp), free(pind), free(c), free(c0), free(bias), free(ind);
    return bad;
}

static void test_kernels_match_scalar_bf16_loop(void) {
    const struct rn_kernels *t = bf16_table_or_skip();
    if (!t) return;
    struct {
        rn_igemm_bf16_ukernel_fn fn;
        size_t mr, nr;
    } tiles[2] = {
        {t->igemm_bf16, (size_t)t->igemm_bf16_mr, (size_t)t->igemm_bf16_nr},
        {t->igemm_bf16_narrow, (size_t)t->igemm_bf16_narrow_mr, (size_t)t->igemm_bf16_narrow_nr}};
    static const size_t kcs[] = {1, 2, 8, 9, 32, 33, 65}; /* pairs */
    static const size_t kss[] = {1, 2, 9};
    size_t v = 0;
    int failures = 0;
    for (int ti = 0; ti < 2; ti++) {
        CHECK(tiles[ti].fn != NULL && tiles[ti].mr <= 16 && tiles[ti].nr <= 32);
        for (size_t mr = 1; mr <= tiles[ti].mr; mr++)
            for (size_t nc = 1; nc <= tiles[ti].nr; nc++, v++) {
                int bad = check_kernel(tiles[ti].fn, tiles[ti].mr, tiles[ti].nr, mr, nc, kcs[v % 7],
                                       kss[(v / 7) % 3], (uint32_t)(v % 4), (int)((v / 3) & 1),
                                       (int)((v / 2) & 1), (int)((v / 5) & 1));
                CHECK(bad == 0);
                if (bad && ++failures > 3) return;
            }
    }
}

/* The conversion kernel against ref_round on ties, denormals, the largest
 * floats, infinities and NaN, then random values over every tail length;
 * the library's own rounding (weight packing) too. */
static void test_convert_rounds_to_nearest_even(void) {
    const struct rn_kernels *t = bf16_table_or_skip();
    if (!t) return;
    static const float sp[] = {1.0f,     1.00390625f,  1.01171875f, 1.0039063f, -1.00390625f,
                               FLT_MAX,  -FLT_MAX,     3.38e38f,    1e-40f,     -1e-40f,
                               FLT_MIN,  0.0f,         -0.0f,       INFINITY,   -INFINITY,
                               65504.0f, 0.333333343f, 2.71828175f, 1e-30f,     NAN};
    const size_t nsp = sizeof sp / sizeof sp[0];
    float x[2 * 100];
    uint32_t y[100 + 1];
    for (size_t n = 1; n <= 100; n += (n < 40 ? 1 : 13)) {
        for (size_t i = 0; i < 2 * n; i++)
            x[i] = i < nsp ? sp[(i + n) % nsp] : (float)(rn_test_uniform() * 8.0 - 4.0);
        y[n] = 0xdeadbeefu; /* past the end: untouched */
        t->bf16_convert(n, x, y);
        CHECK(y[n] == 0xdeadbeefu);
        for (size_t i = 0; i < n; i++) {
            const uint32_t want = ref_pair(x[2 * i], x[2 * i + 1]);
            int same = y[i] == want;
            if (!same && (isnan(x[2 * i]) || isnan(x[2 * i + 1]))) /* any quiet NaN */
                same = ((y[i] ^ want) & 0x0000ffffu) == 0 || ((y[i] ^ want) & 0xffff0000u) == 0;
            if (!same) {
                fprintf(stderr, "  convert(%.9g, %.9g) = %08x, want %08x\n", x[2 * i], x[2 * i + 1],
                        y[i], want);
                rn_test_failed_checks++;
            }
            for (int h = 0; h < 2; h++) {
                uint32_t u;
                memcpy(&u, &x[2 * i + (size_t)h], 4);
                const uint16_t lib = rn__bf16_round(u);
                const uint16_t ref = (uint16_t)(want >> (16 * h));
                CHECK(lib == ref || (isnan(x[2 * i + (size_t)h]) && (lib & 0x7f80u) == 0x7f80u &&
                                     (lib & 0x7fu) != 0));
            }
        }
    }
}

/* ---- the convolution drivers --------------------------------------------------------- */

static rn_ctx *bf16_ctx(void) {
    rn_ctx *ctx = ctx_for(RN_ISA_AVX512, 2);
    if (ctx && rn_ctx_set_int(ctx, RN_OPT_TRAIN_BF16, 1) != RN_OK) {
        rn_ctx_destroy(ctx);
        return NULL;
    }
    return ctx;
}

/* float64 convolution of (optionally bf16-rounded) x and w, NHWC / OHWI,
 * and the sum of |terms| per output */
static void ref_conv(const rn_conv_desc *d, const float *x, const float *w, int round, double *y,
                     double *mag) {
    for (int32_t n = 0; n < d->n; n++)
        for (int32_t oy = 0; oy < d->oh; oy++)
            for (int32_t ox = 0; ox < d->ow; ox++)
                for (int32_t o = 0; o < d->oc; o++) {
                    double acc = 0.0, m = 0.0;
                    for (int32_t ky = 0; ky < d->kh; ky++)
                        for (int32_t kx = 0; kx < d->kw; kx++) {
                            int32_t iy = oy * d->sh - d->ph + ky, ix = ox * d->sw - d->pw + kx;
                            if (iy < 0 || iy >= d->h || ix < 0 || ix >= d->w) continue;
                            for (int32_t c = 0; c < d->c; c++) {
                                float a = x[(((size_t)n * d->h + iy) * d->w + ix) * d->c + c];
                                float b = w[(((size_t)o * d->kh + ky) * d->kw + kx) * d->c + c];
                                if (round) a = ref_round(a), b = ref_round(b);
                                acc += (double)a * b, m += fabs((double)a * b);
                            }
                        }
                    size_t at = (((size_t)n * d->oh + oy) * d->ow + ox) * d->oc + o;
                    y[at] = acc, mag[at] = m;
                }
}

/* bf16 forward (pass 0) or backward-data (pass 1) of d against float64;
 * returns the relative L2 error against the unrounded inputs */
static double check_driver(rn_ctx *ctx, rn_conv_desc d, int32_t pass) {
    CHECK(rn__conv_desc_init(&d));
    CHECK(rn__conv_bf16_ok(&d, pass));
    rn_conv_desc t = d; /* the convolution the pass computes */
    if (pass == RN_CONV_PASS_BACKWARD_DATA) {
        rn_memset(&t, 0, sizeof t);
        t.n = d.n, t.h = d.oh, t.w = d.ow, t.c = d.oc, t.oc = d.c, t.kh = d.kh, t.kw = d.kw;
        t.sh = t.sw = 1, t.ph = d.kh - 1 - d.ph, t.pw = d.kw - 1 - d.pw;
        CHECK(rn__conv_desc_init(&t) && t.oh == d.h && t.ow == d.w);
    }
    const size_t nx = (size_t)t.n * t.h * t.w * t.c, ny = (size_t)t.n * t.oh * t.ow * t.oc;
    const size_t nw = (size_t)d.oc * d.kh * d.kw * d.c, ntw = (size_t)t.oc * t.kh * t.kw * t.c;
    float *x = random_floats(nx), *w = random_floats(nw), *tw = malloc(ntw * sizeof(float));
    float *y = malloc(ny * sizeof(float));
    double *r = malloc(ny * sizeof(double)), *rr = malloc(ny * sizeof(double));
    double *mag = malloc(ny * sizeof(double)), *mag2 = malloc(ny * sizeof(double));
    const size_t wsb = rn__conv_bf16_workspace(&d, pass);
    void *ws = malloc(wsb);
    double rel = INFINITY;
    if (!x || !w || !tw || !y || !r || !rr || !mag || !mag2 || !ws) {
        rn_test_failed_checks++;
        goto done;
    }
    /* the transposed convolution's weights: tw[c][ky'][kx'][o] = w[o][kh-1-ky'][kw-1-kx'][c] */
    for (int32_t o = 0; o < d.oc; o++)
        for (int32_t ky = 0; ky < d.kh; ky++)
            for (int32_t kx = 0; kx < d.kw; kx++)
                for (int32_t c = 0; c < d.c; c++)
                    tw[(((size_t)c * d.kh + (d.kh - 1 - ky)) * d.kw + (d.kw - 1 - kx)) * d.oc + o] =
                        w[(((size_t)o * d.kh + ky) * d.kw + kx) * d.c + c];
    const float *tws = pass == RN_CONV_PASS_FORWARD ? w : tw;
    if (pass == RN_CONV_PASS_FORWARD)
        rn__conv_indirect_forward_bf16(ctx, &d, x, w, NULL, 0, y, ws);
    else
        rn__conv_indirect_backward_data_bf16(ctx, &d, x, w, y, ws);
    ref_conv(&t, x, tws, 1, r, mag);
    ref_conv(&t, x, tws, 0, rr, mag2);
    double num = 0.0, den = 0.0;
    int bad = 0;
    for (size_t i = 0; i < ny; i++) {
        /* fp32 summation of K exact products: K * 2^-24 * sum |terms|, with margin */
        const double k = (double)t.kh * t.kw * t.c;
        if (!(fabs(y[i] - r[i]) <= 2.0 * k * 0x1p-24 * mag[i] + 1e-30)) {
            if (!bad++)
                fprintf(stderr, "  pass %d: y[%zu] = %.9g, bf16 ref %.9g\n", (int)pass, i, y[i],
                        r[i]);
        }
        num += (y[i] - rr[i]) * (y[i] - rr[i]), den += rr[i] * rr[i];
    }
    CHECK(bad == 0);
    rel = sqrt(num / den);
done:
    free(x), free(w), free(tw), free(y), free(r), free(rr), free(mag), free(mag2), free(ws);
    return rel;
}

static void test_drivers_match_float64_of_bf16_inputs(void) {
    if (!bf16_table_or_skip()) return;
    rn_ctx *ctx = bf16_ctx();
    CHECK(ctx != NULL);
    if (!ctx) return;
    /* 16 channels (narrow tile), 48 (wide tile with a 16-column tail), a
     * stride-2 forward pass, a 64-channel one across the kernel's blocks */
    static const int32_t shapes[][6] = {
        /* n, h, w, c, oc, stride */
        {2, 9, 7, 16, 16, 1},
        {1, 6, 6, 48, 40, 1},
        {2, 8, 8, 16, 32, 2},
        {1, 5, 5, 66, 64, 1},
    };
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        rn_conv_desc d;
        rn_memset(&d, 0, sizeof d);
        d.n = shapes[k][0], d.h = shapes[k][1], d.w = shapes[k][2], d.c = shapes[k][3];
        d.oc = shapes[k][4], d.kh = d.kw = 3, d.sh = d.sw = shapes[k][5], d.ph = d.pw = 1;
        double e = check_driver(ctx, d, RN_CONV_PASS_FORWARD);
        /* bf16 inputs: each product off by up to 2^-8 relative, random signs:
         * about 2^-8 / sqrt(3) * sqrt(2) of the output's L2 (2e-3 to 4e-3) */
        CHECK(e > 3e-4 && e < 1e-2);
        if (shapes[k][5] == 1) {
            e = check_driver(ctx, d, RN_CONV_PASS_BACKWARD_DATA);
            CHECK(e > 3e-4 && e < 1e-2);
        }
    }
    rn_ctx_destroy(ctx);
}

/* ---- the option -------------------------------------------------------------------------- */

static void test_option_refused_without_the_kernels(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    if (!ctx) return;
    int64_t v = -1, lo = -1, hi = -1;
    CHECK_OK(rn_option_bounds(RN_OPT_TRAIN_BF16, &lo, &hi), ctx);
    CHECK(lo == 0 && hi == 1);
    CHECK_OK(rn_ctx_get_int(ctx, RN_OPT_TRAIN_BF16, &v), ctx);
    CHECK(v == 0);
    CHECK_STATUS(rn_ctx_set_int(ctx, RN_OPT_TRAIN_BF16, 2), RN_E_INVALID_ARG, ctx);
    /* scalar and AVX2 never have them */
    CHECK_OK(rn_ctx_set_int(ctx, RN_OPT_MAX_ISA, RN_ISA_AVX2), ctx);
    CHECK_STATUS(rn_ctx_set_int(ctx, RN_OPT_TRAIN_BF16, 1), RN_E_UNSUPPORTED, ctx);
    CHECK(strstr(rn_last_error(ctx), "AVX512_BF16") != NULL);
    CHECK_OK(rn_ctx_get_int(ctx, RN_OPT_TRAIN_BF16, &v), ctx);
    CHECK(v == 0);
    CHECK_OK(rn_ctx_set_int(ctx, RN_OPT_TRAIN_BF16, 0), ctx);
    CHECK_OK(rn_ctx_set_int(ctx, RN_OPT_MAX_ISA, RN_ISA_AVX512), ctx);
    CHECK_OK(rn_ctx_get_int(ctx, RN_OPT_ACTIVE_ISA, &v), ctx);
    /* the table the context runs (an explicit cap overrides RN_MAX_ISA's) */
    const struct rn_kernels *t = rn__kernels_for_isa((int32_t)v);
    if (t->igemm_bf16) {
        CHECK_OK(rn_ctx_set_int(ctx, RN_OPT_TRAIN_BF16, 1), ctx);
        /* a cap that drops the kernels is refused while it is on */
        CHECK_STATUS(rn_ctx_set_int(ctx, RN_OPT_MAX_ISA, RN_ISA_AVX2), RN_E_UNSUPPORTED, ctx);
        CHECK_OK(rn_ctx_get_int(ctx, RN_OPT_ACTIVE_ISA, &v), ctx);
        CHECK(v == RN_ISA_AVX512);
        CHECK_OK(rn_ctx_set_int(ctx, RN_OPT_TRAIN_BF16, 0), ctx);
        CHECK_OK(rn_ctx_set_int(ctx, RN_OPT_MAX_ISA, RN_ISA_AVX2), ctx);
    } else {
        CHECK_STATUS(rn_ctx_set_int(ctx, RN_OPT_TRAIN_BF16, 1), RN_E_UNSUPPORTED, ctx);
        printf("    (no AVX512_BF16 here: the refusal checked, the bf16 paths not)\n");
    }
    rn_ctx_destroy(ctx);
}

/* One training step (forward, backward) of ResNet-20 at batch 8 on 16x16
 * images; the gradients of every parameter into g (count floats). */
static int train_step(rn_ctx *ctx, int32_t build_bf16, int32_t run_bf16, float *g, size_t count) {
    rn_model *m = NULL;
    rn_plan *p = NULL;
    int ok = 0;
    float x[8 * 3 * 16 * 16], logits[8 * 10], loss = 0.0f;
    int32_t labels[8];
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) x[i] = (float)sin(0.37 * (double)i);
    for (int32_t i = 0; i < 8; i++) labels[i] = (i * 3) % 10;
    if (rn_ctx_set_int(ctx, RN_OPT_TRAIN_BF16, build_bf16) != RN_OK) return 0;
    if (rn_model_create_preset(ctx, "resnet20", 10, 3, RN_SHORTCUT_DEFAULT, 0, 0, &m) != RN_OK)
        return 0;
    if (rn_model_init(m, 7) == RN_OK && rn_plan_create(m, 8, 16, 16, RN_MODE_TRAIN, &p) == RN_OK &&
        rn_ctx_set_int(ctx, RN_OPT_TRAIN_BF16, run_bf16) == RN_OK &&
        rn_plan_forward(p, x, sizeof x / sizeof x[0], RN_LAYOUT_NCHW, logits, 80) == RN_OK &&
        rn_plan_backward(p, labels, 8, &loss) == RN_OK) {
        size_t at = 0;
        ok = 1;
        for (int32_t t = 0; t < rn_model_tensor_count(m) && ok; t++) {
            const char *name = NULL;
            int32_t ndim = 0, kind = 0;
            int64_t dims[4];
            if (rn_model_tensor_info(m, t, &name, &ndim, dims, &kind) != RN_OK) ok = 0;
            if (!ok || kind != RN_TENSOR_PARAM) continue;
            size_t n = 1;
            for (int32_t k = 0; k < ndim; k++) n *= (size_t)dims[k];
            if (at + n > count || rn_model_get_grad(m, name, g + at, n) != RN_OK) ok = 0;
            at += n;
        }
    }
    rn_plan_destroy(p);
    rn_model_destroy(m);
    return ok;
}

static void test_plan_run_with_the_flag_off_gives_fp32_bytes(void) {
    if (!bf16_table_or_skip()) return;
    rn_ctx *ctx = ctx_for(RN_ISA_AVX512, 2);
    CHECK(ctx != NULL);
    if (!ctx) return;
    const size_t count = 300000; /* ResNet-20: 0.27 M parameters */
    float *a = calloc(count, sizeof(float)), *b = calloc(count, sizeof(float));
    float *c = calloc(count, sizeof(float));
    CHECK(a && b && c);
    if (a && b && c) {
        CHECK(train_step(ctx, 0, 0, a, count)); /* fp32 */
        CHECK(train_step(ctx, 1, 0, b, count)); /* built for bf16, run with it off */
        CHECK(train_step(ctx, 1, 1, c, count)); /* bf16 */
        CHECK(memcmp(a, b, count * sizeof(float)) == 0);
        CHECK(memcmp(a, c, count * sizeof(float)) != 0); /* and bf16 does change them */
        /* RN_OPT_DETERMINISTIC: the bf16 bytes do not depend on the thread count */
        CHECK_OK(rn_ctx_set_int(ctx, RN_OPT_NUM_THREADS, 1), ctx);
        CHECK(train_step(ctx, 1, 1, b, count));
        CHECK(memcmp(b, c, count * sizeof(float)) == 0);
    }
    free(a), free(b), free(c);
    rn_ctx_destroy(ctx);
}

int main(int argc, char **argv) {
    static const rn_test_case tests[] = {
        {"kernels_match_scalar_bf16_loop", test_kernels_match_scalar_bf16_loop},
        {"convert_rounds_to_nearest_even", test_convert_rounds_to_nearest_even},
        {"drivers_match_float64_of_bf16_inputs", test_drivers_match_float64_of_bf16_inputs},
        {"option_refused_without_the_kernels", test_option_refused_without_the_kernels},
        {"plan_run_with_the_flag_off_gives_fp32_bytes",
         test_plan_run_with_the_flag_off_gives_fp32_bytes},
    };
    return rn_test_main(tests, sizeof tests / sizeof tests[0], argc, argv);
}

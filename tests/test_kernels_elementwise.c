/*
 * Elementwise kernel families (batch-norm statistics, apply, backward sums
 * and input pass; ReLU forward and backward; residual add; max-pool window
 * forward and backward): every SIMD kernel this CPU and build have against
 * the scalar kernel of its family, which is the reference (its loops are the
 * definitions written in kernels.h). Channel counts 1..67 cover every tail
 * of 4-, 8- and 16-lane vectors and several full vectors; rows are odd; rows
 * have padding channels (stride > nc) that must be neither read into a
 * result nor written.
 *
 * Out-of-bounds access: each input and output array ends exactly at a page
 * the test maps with no access rights (where mmap exists), so a kernel that
 * reads or writes one float past a masked tail crashes the test. Padding
 * channels hold NaN (a read one would show in a sum) and outputs' padding
 * holds a sentinel that must survive.
 *
 * Expected agreement: the batch-norm kernels round every operation as the
 * scalar one does (kernels.h), so their results must match to the last few
 * ulps (1e-6 relative: a compiler may still fuse a scalar multiply-add on a
 * machine where FMA is baseline); ReLU, add and max pool select or add one
 * pair, so they must match exactly.
 */
#define _DEFAULT_SOURCE
#include "harness.h"
#include "resnet.h"
#include "core/internal.h"
#include "kernels/kernels.h"

#include "test_kernels_common.h"

#define SENTINEL 4242.0f

/* rows x stride floats: channels [0, nc) random in [lo, hi), padding NaN */
static float *rows_alloc(guarded *g, size_t rows, size_t nc, size_t stride, double lo, double hi) {
    /* the last row ends at its last real channel, so a read past nc faults */
    size_t n = rows ? (rows - 1) * stride + nc : 0;
    float *p = guarded_floats(g, n);
    if (!p) return NULL;
    for (size_t r = 0; r < rows; r++)
        for (size_t i = 0; i < stride && r * stride + i < n; i++)
            p[r * stride + i] = i < nc ? (float)(lo + (hi - lo) * rn_test_uniform()) : NAN;
    return p;
}

static size_t rows_len(size_t rows, size_t nc, size_t stride) {
    return rows ? (rows - 1) * stride + nc : 0;
}

static int close_rel(double a, double b, double tol) {
    return fabs(a - b) <= tol * (fabs(b) > 1.0 ? fabs(b) : 1.0);
}

/* Bitwise equality, NaN == NaN of any payload. */
static int same_float(float a, float b) {
    return (a != a && b != b) || memcmp(&a, &b, sizeof a) == 0;
}

/* ---- batch norm ------------------------------------------------------------------------ */
static const size_t bn_rows[] = {1, 2, 7, 33};

static void bn_stats_isa(int32_t isa) {
    const struct rn_kernels *t = table_or_skip(isa);
    if (!t) return;
    const struct rn_kernels *ref = rn__kernels_for_isa(RN_ISA_SCALAR);
    int failures = 0;
    for (size_t nc = 1; nc <= 67 && failures < 5; nc++)
        for (size_t ri = 0; ri < sizeof bn_rows / sizeof bn_rows[0]; ri++) {
            size_t rows = bn_rows[ri], stride = nc + (nc % 3) * 5;
            guarded gx;
            float *x = rows_alloc(&gx, rows, nc, stride, 2.0, 5.0);
            double shift[67], s0[67], q0[67], s1[67], q1[67];
            for (size_t i = 0; i < nc; i++) {
                shift[i] = 3.0 + 0.01 * (double)i;
                s0[i] = s1[i] = 0.25 * (double)i; /* accumulated into */
                q0[i] = q1[i] = 1.0;
            }
            CHECK(x != NULL);
            if (!x) continue;
            ref->bn_stats(rows, nc, x, stride, shift, s0, q0);
            t->bn_stats(rows, nc, x, stride, shift, s1, q1);
            for (size_t i = 0; i < nc; i++)
                if (!close_rel(s1[i], s0[i], 1e-12) || !close_rel(q1[i], q0[i], 1e-12)) {
                    fprintf(stderr,
                            "  %s bn_stats nc %zu rows %zu ch %zu: %.17g %.17g vs %.17g %.17g\n",
                            rn_isa_name(isa), nc, rows, i, s1[i], q1[i], s0[i], q0[i]);
                    rn_test_failed_checks++, failures++;
                    break;
                }
            guarded_free(&gx);
        }
}

static void bn_apply_isa(int32_t isa) {
    const struct rn_kernels *t = table_or_skip(isa);
    if (!t) return;
    const struct rn_kernels *ref = rn__kernels_for_isa(RN_ISA_SCALAR);
    int failures = 0;
    for (size_t nc = 1; nc <= 67 && failures < 5; nc++)
        for (size_t ri = 0; ri < sizeof bn_rows / sizeof bn_rows[0]; ri++)
            for (uint32_t mode = 0; mode < 4; mode++) {
                /* bit 0: the ReLU; bit 1: a residual added before it */
                const uint32_t relu = mode & 1u, add = mode >> 1;
                size_t rows = bn_rows[ri], stride = nc + (nc % 2) * 3,
                       n = rows_len(rows, nc, stride);
                guarded gx, gr, gy0, gy1;
                float *x = rows_alloc(&gx, rows, nc, stride, -2.0, 2.0);
                float *res = rows_alloc(&gr, rows, nc, stride, -2.0, 2.0);
                float *y0 = guarded_floats(&gy0, n), *y1 = guarded_floats(&gy1, n);
                float a[67], b[67];
                rn_test_fill_uniform(a, nc, -1.5, 1.5);
                rn_test_fill_uniform(b, nc, -0.5, 0.5);
                CHECK(x && res && y0 && y1);
                if (!x || !res || !y0 || !y1) continue;
                x[0] = NAN; /* passes the ReLU, as in torch.relu */
                for (size_t i = 0; i < n; i++) y0[i] = y1[i] = SENTINEL;
                ref->bn_apply(rows, nc, x, stride, a, b, add ? res : NULL, y0, relu);
                t->bn_apply(rows, nc, x, stride, a, b, add ? res : NULL, y1, relu);
                CHECK(y1[0] != y1[0]);
                for (size_t i = 0; i < n; i++) {
                    int pad = i % stride >= nc;
                    if ((pad && y1[i] != SENTINEL) ||
                        (!pad && !(same_float(y1[i], y0[i]) || close_rel(y1[i], y0[i], 1e-6)))) {
                        fprintf(stderr,
                                "  %s bn_apply nc %zu rows %zu relu %u residual %u [%zu]: %.9g vs "
                                "%.9g\n",
                                rn_isa_name(isa), nc, rows, relu, add, i, y1[i], y0[i]);
                        rn_test_failed_checks++, failures++;
                        break;
                    }
                }
                guarded_free(&gx), guarded_free(&gr), guarded_free(&gy0), guarded_free(&gy1);
            }
}

static void bn_backward_isa(int32_t isa) {
    const struct rn_kernels *t = table_or_skip(isa);
    if (!t) return;
    const struct rn_kernels *ref = rn__kernels_for_isa(RN_ISA_SCALAR);
    int failures = 0;
    for (size_t nc = 1; nc <= 67 && failures < 5; nc++)
        for (size_t ri = 0; ri < sizeof bn_rows / sizeof bn_rows[0]; ri++)
            /* masked: 0 none, 1 by relu_y, 2 by x * ma + mb recomputed */
            for (int masked = 0; masked < 3; masked++) {
                size_t rows = bn_rows[ri], stride = nc + (nc % 4), n = rows_len(rows, nc, stride);
                guarded gx, gdy, gr, gd0, gd1;
                float *x = rows_alloc(&gx, rows, nc, stride, -1.0, 3.0);
                float *dy = rows_alloc(&gdy, rows, nc, stride, -1.0, 1.0);
                /* half the ReLU outputs zero, some exactly: the mask is y > 0 */
                float *ry = rows_alloc(&gr, rows, nc, stride, -1.0, 1.0);
                float *dx0 = guarded_floats(&gd0, n), *dx1 = guarded_floats(&gd1, n);
                CHECK(x && dy && ry && dx0 && dx1);
                if (!x || !dy || !ry || !dx0 || !dx1) continue;
                for (size_t i = 0; i < n; i += 7) ry[i] = i % stride < nc ? 0.0f : ry[i];
                float mean[67], a[67], b[67], k[67], ma[67], mb[67];
                double s0[67] = {0}, x0[67] = {0}, s1[67] = {0}, x1[67] = {0};
                rn_test_fill_uniform(mean, nc, 0.5, 1.5);
                rn_test_fill_uniform(a, nc, -1, 1);
                rn_test_fill_uniform(b, nc, -1, 1);
                rn_test_fill_uniform(k, nc, -1, 1);
                /* the pre-activation x * ma + mb crosses 0 inside x's range */
                rn_test_fill_uniform(ma, nc, -2, 2);
                rn_test_fill_uniform(mb, nc, -1, 1);
                const float *mask = masked == 1 ? ry : NULL;
                const float *pa = masked == 2 ? ma : NULL, *pb = masked == 2 ? mb : NULL;
                ref->bn_grad_sums(rows, nc, x, dy, mask, pa, pb, stride, mean, s0, x0);
                t->bn_grad_sums(rows, nc, x, dy, mask, pa, pb, stride, mean, s1, x1);
                for (size_t i = 0; i < nc; i++)
                    if (!close_rel(s1[i], s0[i], 1e-12) || !close_rel(x1[i], x0[i], 1e-12)) {
                        fprintf(stderr, "  %s bn_grad_sums nc %zu rows %zu masked %d ch %zu\n",
                                rn_isa_name(isa), nc, rows, masked, i);
                        rn_test_failed_checks++, failures++;
                        break;
                    }
                for (size_t i = 0; i < n; i++) dx0[i] = dx1[i] = SENTINEL;
                ref->bn_grad_input(rows, nc, x, dy, mask, pa, pb, stride, mean, a, b, k, dx0);
                t->bn_grad_input(rows, nc, x, dy, mask, pa, pb, stride, mean, a, b, k, dx1);
                for (size_t i = 0; i < n; i++) {
                    int pad = i % stride >= nc;
                    if ((pad && dx1[i] != SENTINEL) || (!pad && !close_rel(dx1[i], dx0[i], 1e-6))) {
                        fprintf(
                            stderr,
                            "  %s bn_grad_input nc %zu rows %zu masked %d [%zu]: %.9g vs %.9g\n",
                            rn_isa_name(isa), nc, rows, masked, i, dx1[i], dx0[i]);
                        rn_test_failed_checks++, failures++;
                        break;
                    }
                }
                guarded_free(&gx), guarded_free(&gdy), guarded_free(&gr);
                guarded_free(&gd0), guarded_free(&gd1);
            }
}

/* ---- ReLU and add over n floats --------------------------------------------------------- */
static const size_t flat_ns[] = {0,  1,  2,  3,  5,  7,  8,  9,   15,  16,
                                 17, 31, 33, 63, 64, 65, 67, 130, 1027};

static void flat_isa(int32_t isa) {
    const struct rn_kernels *t = table_or_skip(isa);
    if (!t) return;
    const struct rn_kernels *ref = rn__kernels_for_isa(RN_ISA_SCALAR);
    for (size_t ni = 0; ni < sizeof flat_ns / sizeof flat_ns[0]; ni++) {
        size_t n = flat_ns[ni];
        guarded ga, gb, g0, g1;
        float *a = guarded_floats(&ga, n), *b = guarded_floats(&gb, n);
        float *y0 = guarded_floats(&g0, n), *y1 = guarded_floats(&g1, n);
        CHECK(a && b && y0 && y1);
        if (!a || !b || !y0 || !y1) continue;
        rn_test_fill_uniform(a, n, -1, 1);
        rn_test_fill_uniform(b, n, -1, 1);
        /* the edge cases of the ReLU rule: NaN kept, -0 kept, exact zeros */
        if (n > 3) a[1] = NAN, a[2] = -0.0f, a[3] = 0.0f, b[1] = 1.0f, b[3] = 0.0f;
        int bad = 0;
        ref->relu(n, a, y0);
        t->relu(n, a, y1);
        for (size_t i = 0; i < n; i++) bad += !same_float(y1[i], y0[i]);
        ref->relu_backward(n, a, b, NULL, y0);
        t->relu_backward(n, a, b, NULL, y1);
        for (size_t i = 0; i < n; i++) bad += !same_float(y1[i], y0[i]);
        /* with a second gradient added (a as the mask, b + a as the sum) */
        ref->relu_backward(n, a, b, a, y0);
        t->relu_backward(n, a, b, a, y1);
        for (size_t i = 0; i < n; i++) bad += !same_float(y1[i], y0[i]);
        /* in place over the first gradient, as the plans call it */
        memcpy(y1, b, n * sizeof(float));
        t->relu_backward(n, a, y1, a, y1);
        for (size_t i = 0; i < n; i++) bad += !same_float(y1[i], y0[i]);
        for (uint32_t relu = 0; relu < 2; relu++) {
            ref->add(n, a, b, y0, relu);
            t->add(n, a, b, y1, relu);
            for (size_t i = 0; i < n; i++) bad += !same_float(y1[i], y0[i]);
        }
        /* in place, as the blocks call it (y = a) */
        memcpy(y1, a, n * sizeof(float));
        t->add(n, y1, b, y1, 1);
        ref->add(n, a, b, y0, 1);
        for (size_t i = 0; i < n; i++) bad += !same_float(y1[i], y0[i]);
        if (bad) fprintf(stderr, "  %s relu/add n %zu: %d differences\n", rn_isa_name(isa), n, bad);
        CHECK(bad == 0);
        guarded_free(&ga), guarded_free(&gb), guarded_free(&g0), guarded_free(&g1);
    }
}

/* ---- max pool windows ------------------------------------------------------------------- */
static void maxpool_isa(int32_t isa) {
    const struct rn_kernels *t = table_or_skip(isa);
    if (!t) return;
    const struct rn_kernels *ref = rn__kernels_for_isa(RN_ISA_SCALAR);
    static const size_t wins[][2] = {{1, 1}, {1, 2}, {2, 3}, {3, 3}};
    int failures = 0;
    for (size_t nc = 1; nc <= 67 && failures < 5; nc++)
        for (size_t wi = 0; wi < 4; wi++) {
            /* a 4-pixel-wide image of stride nc + pad; the window starts at (0, 0) */
            size_t wh = wins[wi][0], ww = wins[wi][1], pix = nc + nc % 3, row = 4 * pix;
            size_t n = (wh - 1) * row + (ww - 1) * pix + nc;
            guarded gx, g0, g1, gd0, gd1, gg;
            float *x = guarded_floats(&gx, n), *y0 = guarded_floats(&g0, nc),
                  *y1 = guarded_floats(&g1, nc);
            float *d0 = guarded_floats(&gd0, n), *d1 = guarded_floats(&gd1, n),
                  *g = guarded_floats(&gg, nc);
            CHECK(x && y0 && y1 && d0 && d1 && g);
            if (!x || !y0 || !y1 || !d0 || !d1 || !g) continue;
            /* few distinct values so ties are common; some NaN, some -0 */
            for (size_t i = 0; i < n; i++) {
                double u = rn_test_uniform();
                x[i] = u < 0.05  ? NAN
                       : u < 0.1 ? -0.0f
                                 : (float)(int)(4.0 * rn_test_uniform()) - 2.0f;
            }
            rn_test_fill_uniform(g, nc, -1, 1);
            for (size_t i = 0; i < n; i++) d0[i] = d1[i] = (float)(i % 5);
            ref->maxpool(nc, wh, ww, x, row, pix, y0);
            t->maxpool(nc, wh, ww, x, row, pix, y1);
            ref->maxpool_backward(nc, wh, ww, x, d0, row, pix, g);
            t->maxpool_backward(nc, wh, ww, x, d1, row, pix, g);
            int bad = 0;
            for (size_t i = 0; i < nc; i++) bad += !same_float(y1[i], y0[i]);
            for (size_t i = 0; i < n; i++) bad += !same_float(d1[i], d0[i]);
            if (bad) {
                fprintf(stderr, "  %s maxpool nc %zu window %zux%zu: %d differences\n",
                        rn_isa_name(isa), nc, wh, ww, bad);
                rn_test_failed_checks++, failures++;
            }
            guarded_free(&gx), guarded_free(&g0), guarded_free(&g1);
            guarded_free(&gd0), guarded_free(&gd1), guarded_free(&gg);
        }
}

/* The scalar reference itself against the rules written out here: the
 * first maximum wins ties, NaN takes over, and the gradient goes there. */
static void test_scalar_maxpool_follows_first_maximum_and_nan_rules(void) {
    const struct rn_kernels *ref = rn__kernels_for_isa(RN_ISA_SCALAR);
    /* one channel, a 1x4 window: 1, 3, 3, 2 -> 3 at cell 1 */
    float x[4] = {1, 3, 3, 2}, y, dx[4] = {0}, g = 5;
    ref->maxpool(1, 1, 4, x, 0, 1, &y);
    ref->maxpool_backward(1, 1, 4, x, dx, 0, 1, &g);
    CHECK(y == 3.0f && dx[1] == 5.0f && dx[2] == 0.0f);
    /* NaN at cell 2 takes over the 3 and stays */
    float xn[4] = {1, 3, NAN, 7}, dn[4] = {0};
    ref->maxpool(1, 1, 4, xn, 0, 1, &y);
    ref->maxpool_backward(1, 1, 4, xn, dn, 0, 1, &g);
    CHECK(y != y && dn[2] == 5.0f && dn[1] == 0.0f && dn[3] == 0.0f);
}

static void test_scalar_bn_kernels_compute_their_definitions(void) {
    const struct rn_kernels *ref = rn__kernels_for_isa(RN_ISA_SCALAR);
    /* two rows of two channels (stride 3) */
    const float x[6] = {1, 2, NAN, 5, -4, NAN};
    double shift[2] = {1, 2}, s[2] = {0, 0}, q[2] = {0, 0};
    ref->bn_stats(2, 2, x, 3, shift, s, q);
    CHECK(s[0] == 4.0 && q[0] == 16.0 && s[1] == -6.0 && q[1] == 36.0);
    const float a[2] = {2, -1}, b[2] = {1, 1};
    float y[6] = {0, 0, 9, 0, 0, 9};
    ref->bn_apply(2, 2, x, 3, a, b, NULL, y, 1);
    CHECK(y[0] == 3.0f && y[1] == 0.0f && y[3] == 11.0f && y[4] == 5.0f && y[2] == 9.0f);
    /* with a residual: (x * a + b) + r, then the ReLU */
    const float r[6] = {-4, 0.5f, 9, -12, 1, 9};
    ref->bn_apply(2, 2, x, 3, a, b, r, y, 1);
    CHECK(y[0] == 0.0f && y[1] == 0.0f && y[3] == 0.0f && y[4] == 6.0f && y[2] == 9.0f);
    ref->bn_apply(2, 2, x, 3, a, b, r, y, 0);
    CHECK(y[0] == -1.0f && y[1] == -0.5f && y[3] == -1.0f && y[4] == 6.0f);
    const float dy[6] = {1, 1, 0, 2, 2, 0}, ry[6] = {1, 0, 0, 1, 1, 0}, mean[2] = {0, 1};
    double gs[2] = {0, 0}, gx[2] = {0, 0};
    ref->bn_grad_sums(2, 2, x, dy, ry, NULL, NULL, 3, mean, gs, gx);
    /* channel 1 row 0 is masked (relu_y 0): only row 1 counts, g = 2, x - mean = -5 */
    CHECK(gs[0] == 3.0 && gx[0] == 1.0 + 10.0 && gs[1] == 2.0 && gx[1] == -10.0);
    /* the mask recomputed from x with bn_apply's a and b gives the same: the
     * pre-activations are 3, 0 (masked) / 11, 5 */
    gs[0] = gs[1] = gx[0] = gx[1] = 0.0;
    ref->bn_grad_sums(2, 2, x, dy, NULL, a, b, 3, mean, gs, gx);
    CHECK(gs[0] == 3.0 && gx[0] == 1.0 + 10.0 && gs[1] == 2.0 && gx[1] == -10.0);
    /* a NaN pre-activation passes no gradient, as its NaN output would not */
    const float xn[2] = {NAN, 1}, dyn[2] = {4, 8}, one[1] = {1}, zero[1] = {0};
    gs[0] = gx[0] = 0.0;
    ref->bn_grad_sums(2, 1, xn, dyn, NULL, one, zero, 1, mean, gs, gx);
    CHECK(gs[0] == 8.0);
}

/* The scalar ReLU backward with a second gradient: the sum where y > 0. */
static void test_scalar_relu_backward_adds_the_second_gradient(void) {
    const struct rn_kernels *ref = rn__kernels_for_isa(RN_ISA_SCALAR);
    const float y[5] = {1, 0, -1, NAN, 2}, dy[5] = {1, 2, 3, 4, 5}, dy2[5] = {10, 20, 30, 40, 0.5f};
    float dx[5];
    ref->relu_backward(5, y, dy, dy2, dx);
    CHECK(dx[0] == 11.0f && dx[1] == 0.0f && dx[2] == 0.0f && dx[3] == 0.0f && dx[4] == 5.5f);
    ref->relu_backward(5, y, dy, NULL, dx);
    CHECK(dx[0] == 1.0f && dx[1] == 0.0f && dx[2] == 0.0f && dx[3] == 0.0f && dx[4] == 5.0f);
}

RN_PER_SIMD_ISA(bn_stats_isa)
RN_PER_SIMD_ISA(bn_apply_isa)
RN_PER_SIMD_ISA(bn_backward_isa)
RN_PER_SIMD_ISA(flat_isa)
RN_PER_SIMD_ISA(maxpool_isa)

/* The per-ISA tests above skip an ISA the library does not select; this one
 * checks that the library selects what the CPU has, found independently of
 * src/core/cpu.c (the compiler's own CPUID + XCR0 check): on a machine with
 * AVX-512 the AVX-512 tests must have run, not skipped. */
static void test_dispatch_selects_the_best_isa_the_cpu_has(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    if (!ctx) return;
    int64_t active = -1;
    CHECK_OK(rn_ctx_get_int(ctx, RN_OPT_ACTIVE_ISA, &active), ctx);
    rn_ctx_destroy(ctx);
    int32_t want = RN_ISA_SCALAR;
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
#if defined(RN_HAVE_AVX2)
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) want = RN_ISA_AVX2;
#endif
#if defined(RN_HAVE_AVX512)
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        want = RN_ISA_AVX512;
#endif
#elif defined(__aarch64__) && defined(RN_HAVE_NEON)
    want = RN_ISA_NEON;
#endif
    const int32_t cap = env_isa_cap();
    if (cap >= 0 && cap < want) want = cap;
    printf("     active ISA %s (expected %s)\n", rn_isa_name((int32_t)active), rn_isa_name(want));
    CHECK(active == want);
}

static const rn_test_case cases[] = {
    {"maxpool_follows_first_maximum_and_nan_rules_scalar",
     test_scalar_maxpool_follows_first_maximum_and_nan_rules},
    {"bn_kernels_compute_their_definitions_scalar",
     test_scalar_bn_kernels_compute_their_definitions},
    {"relu_backward_adds_the_second_gradient_scalar",
     test_scalar_relu_backward_adds_the_second_gradient},
    RN_SIMD_ISA_CASES("bn_stats_kernels_match_scalar", bn_stats_isa),
    RN_SIMD_ISA_CASES("bn_apply_kernels_match_scalar_with_masked_channel_tails", bn_apply_isa),
    RN_SIMD_ISA_CASES("bn_backward_kernels_match_scalar_with_and_without_relu_mask",
                      bn_backward_isa),
    RN_SIMD_ISA_CASES("relu_and_add_kernels_match_scalar_bit_for_bit", flat_isa),
    RN_SIMD_ISA_CASES("maxpool_kernels_match_scalar_with_ties_and_nan", maxpool_isa),
    {"dispatch_selects_the_best_isa_the_cpu_has", test_dispatch_selects_the_best_isa_the_cpu_has},
};
RN_TEST_MAIN(cases)

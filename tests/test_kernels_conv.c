/*
 * Convolution microkernels of every table this CPU and build have (scalar,
 * AVX2, AVX-512, NEON; wide and narrow tiles) against naive double loops
 * written here from the contracts in kernels.h:
 *
 * igemm: C = (acc ? C : 0) + sum_s A_s B_s (+ bias) (ReLU) with A rows from
 *   an indirection buffer (a pointer per segment and row, or one per row
 *   plus per-segment offsets); every mr in 1..MR, nc in 1..NR, odd kc and
 *   several segment counts, B rows longer than NR. Rows past mr point at NaN
 *   rows (their results must be dropped), columns past nc of B are NaN (they
 *   must not reach a kept result), C outside the tile is a sentinel that must
 *   survive, and C inside is NaN unless accumulating (so it is never read).
 *   With RN_GEMM_RESIDUAL, C added after the bias: bit for bit the kernel's
 *   own result without C, then a float addition and the ReLU.
 * dconv3: a 3x3 stride-1 row of PX pixels by NR channels, summed from its
 *   three input rows (one may be padding: NULL, its edge pixels NaN) and the
 *   pixels beside the tile (a zero row at the image's edges); every skip
 *   (pixels below it keep their sentinel), strided pixels, NaN past NR in
 *   the weights; RN_GEMM_RESIDUAL bit for bit as for the igemm. Skipped for
 *   tables without the kernel.
 * wgrad3: a 3x3 stride-1 weight gradient's three taps of a window row at
 *   once, against the float64 sums over each tap's valid pixels and bit for
 *   bit against the tap-by-tap kernel over each tap's rectangle.
 * wgrad: C[MR x nc] += sum over a 2-D pixel range of a_rq (x) b_rq; nc in
 *   1..NR with the input row ending at an inaccessible page (nothing past nc
 *   may be read), empty ranges, strided rows.
 *
 * Tolerance: |x - ref| <= 1e-5 * (sum of |terms| + |C| + |bias|), the float
 * rounding bound of the sum with a wide margin.
 */
#define _DEFAULT_SOURCE
#include "harness.h"
#include "resnet.h"
#include "core/internal.h"
#include "kernels/kernels.h"

#include "test_kernels_common.h"

#define TOL 1e-5
#define SENTINEL 12345.0f

static const int32_t all_isas[] = {RN_ISA_SCALAR, RN_ISA_AVX2, RN_ISA_AVX512, RN_ISA_NEON};

static float *random_floats(size_t n) {
    float *p = (float *)malloc((n ? n : 1) * sizeof(float));
    if (p) rn_test_fill_uniform(p, n, -1.0, 1.0);
    return p;
}

/* The GEMM epilogue on a float64 sum of terms (acc, with mag the sum of
 * their magnitudes): + C if accumulating, + bias, the ReLU; then whether got
 * lies within the tolerance of it. *ref receives the reference. */
static int epilogue_within(double acc, double mag, float c_in, const float *bias, uint32_t flags,
                           float got, double *ref) {
    if (flags & RN_GEMM_ACCUMULATE) acc += c_in, mag += fabs(c_in);
    if (bias) acc += *bias, mag += fabs(*bias);
    if ((flags & RN_GEMM_RELU) && acc < 0.0) acc = 0.0;
    *ref = acc;
    return fabs(got - acc) <= TOL * mag + 1e-7;
}

/* ---- igemm --------------------------------------------------------------------------- */
/* Returns the number of wrong elements of one call. shared_rows: the form
 * of tiles inside the image, one pointer per row and an offset per segment
 * (row i of segment s at rows[i] + off[s]); else a pointer per segment and
 * row, in a shuffled order as a convolution's taps give them. */
static int check_igemm(rn_igemm_ukernel_fn fn, size_t MR, size_t NR, size_t mr, size_t nc,
                       size_t kc, size_t ks, uint32_t flags, int with_bias, int shared_rows) {
    /* pool: MR + 1 regions of ks * kc floats; the last is NaN, read by rows
     * >= mr (their results must be dropped); B rows have 5 more floats than
     * NR (a panel of a wider packing), NaN past nc */
    const size_t bs = NR + 5, region = ks * kc;
    float *pool = random_floats((MR + 1) * region), *b = random_floats(ks * kc * bs);
    const size_t cs = NR + 3; /* C row stride, with sentinel columns */
    float *c = (float *)malloc((MR + 1) * cs * sizeof(float));
    float *c0 = (float *)malloc((MR + 1) * cs * sizeof(float));
    float *bias = random_floats(NR);
    const float **ind = (const float **)malloc(ks * MR * sizeof(float *));
    const float *rows[16];
    size_t off[9] = {0}, zero[9] = {0};
    int bad = 0;
    if (!pool || !b || !c || !c0 || !bias || !ind || MR > 16 || ks > 9) {
        bad = 1;
        goto done;
    }
    float *nan_row = pool + MR * region;
    for (size_t p = 0; p < region; p++) nan_row[p] = NAN;
    for (size_t i = 0; i < MR; i++) rows[i] = i < mr ? pool + i * region : nan_row;
    for (size_t s = 0; s < ks; s++) {
        off[s] = s * kc;
        for (size_t i = 0; i < MR; i++)
            ind[s * MR + i] = i >= mr       ? nan_row
                              : shared_rows ? rows[i] + off[s]
                                            : pool + ((s * 7 + i * 3) % (mr * ks)) * kc;
    }
    for (size_t p = 0; p < ks * kc; p++)
        for (size_t j = nc; j < bs; j++) b[p * bs + j] = NAN;
    for (size_t i = 0; i < (MR + 1) * cs; i++) c[i] = SENTINEL;
    for (size_t i = 0; i < mr; i++)
        for (size_t j = 0; j < nc; j++)
            c[i * cs + j] = (flags & RN_GEMM_ACCUMULATE) ? (float)rn_test_uniform() - 0.5f : NAN;
    memcpy(c0, c, (MR + 1) * cs * sizeof(float));
    if (shared_rows)
        fn(mr, nc, kc, ks, rows, 0, off, b, bs, c, cs, with_bias ? bias : NULL, flags);
    else
        fn(mr, nc, kc, ks, ind, MR, zero, b, bs, c, cs, with_bias ? bias : NULL, flags);
    for (size_t i = 0; i < MR + 1; i++)
        for (size_t j = 0; j < cs; j++) {
            float got = c[i * cs + j];
            if (i >= mr || j >= nc) {
                bad += got != SENTINEL;
                continue;
            }
            double acc = 0.0, mag = 0.0;
            for (size_t s = 0; s < ks; s++)
                for (size_t p = 0; p < kc; p++) {
                    double t = (double)ind[s * MR + i][p] * b[(s * kc + p) * bs + j];
                    acc += t, mag += fabs(t);
                }
            if (!epilogue_within(acc, mag, c0[i * cs + j], with_bias ? &bias[j] : NULL, flags, got,
                                 &acc)) {
                if (!bad)
                    fprintf(stderr,
                            "  igemm mr %zu nc %zu kc %zu ks %zu flags %u shared %d: [%zu][%zu] = "
                            "%.9g, ref %.9g\n",
                            mr, nc, kc, ks, flags, shared_rows, i, j, got, acc);
                bad++;
            }
        }
done:
    free(pool), free(b), free(c), free(c0), free(bias), free(ind);
    return bad;
}

/* The table's two igemm tiles: wide, then narrow. */
typedef struct igemm_tile {
    rn_igemm_ukernel_fn fn;
    size_t mr, nr;
} igemm_tile;

static void igemm_tiles(const struct rn_kernels *t, igemm_tile tiles[2]) {
    tiles[0] = (igemm_tile){t->igemm, (size_t)t->igemm_mr, (size_t)t->igemm_nr};
    tiles[1] =
        (igemm_tile){t->igemm_narrow, (size_t)t->igemm_narrow_mr, (size_t)t->igemm_narrow_nr};
}

static void igemm_isa(int32_t isa) {
    const struct rn_kernels *t = table_or_skip(isa);
    if (!t) return;
    igemm_tile tiles[2];
    igemm_tiles(t, tiles);
    static const size_t kcs[] = {1, 2, 3, 16, 17};
    static const size_t kss[] = {1, 2, 9};
    size_t v = 0;
    int failures = 0;
    for (int ti = 0; ti < 2; ti++)
        for (size_t mr = 1; mr <= tiles[ti].mr; mr++)
            for (size_t nc = 1; nc <= tiles[ti].nr; nc++, v++) {
                uint32_t flags = (uint32_t)(v % 4); /* accumulate, relu in turn */
                int bad =
                    check_igemm(tiles[ti].fn, tiles[ti].mr, tiles[ti].nr, mr, nc, kcs[v % 5],
                                kss[(v / 5) % 3], flags, (int)((v / 3) & 1), (int)((v / 2) & 1));
                CHECK(bad == 0);
                if (bad && ++failures > 3) return;
            }
}

/* RN_GEMM_RESIDUAL (with RN_GEMM_ACCUMULATE): C added after the bias, so
 * that a residual fused into a convolution gives, bit for bit, the
 * convolution (+ bias) rounded to float, then a separate v = c + r with
 * the ReLU v < 0 ? 0 : v (rn__add_forward's arithmetic). The kernel's own
 * non-accumulating result is the first half; the float sum is done here. */
static int check_igemm_residual(rn_igemm_ukernel_fn fn, size_t MR, size_t NR, size_t mr, size_t nc,
                                size_t kc, size_t ks, int relu) {
    float *pool = random_floats(MR * ks * kc), *b = random_floats(ks * kc * NR);
    float *bias = random_floats(NR), *r = random_floats(MR * NR);
    float *c = (float *)malloc(MR * NR * sizeof(float)),
          *y = (float *)malloc(MR * NR * sizeof(float));
    const float *rows[16];
    size_t off[9] = {0};
    int bad = 0;
    if (!pool || !b || !bias || !r || !c || !y || MR > 16 || ks > 9) {
        bad = 1;
        goto done;
    }
    /* residuals of the size of the sums, so the rounding of the order shows */
    for (size_t i = 0; i < MR * NR; i++) r[i] *= 3.0f;
    for (size_t i = 0; i < MR; i++) rows[i] = pool + (i < mr ? i : 0) * ks * kc;
    for (size_t s = 0; s < ks; s++) off[s] = s * kc;
    fn(mr, nc, kc, ks, rows, 0, off, b, NR, c, NR, bias, 0u);
    memcpy(y, r, MR * NR * sizeof(float));
    fn(mr, nc, kc, ks, rows, 0, off, b, NR, y, NR, bias,
       RN_GEMM_ACCUMULATE | RN_GEMM_RESIDUAL | (relu ? RN_GEMM_RELU : 0u));
    for (size_t i = 0; i < mr; i++)
        for (size_t j = 0; j < nc; j++) {
            const float v = c[i * NR + j] + r[i * NR + j], want = relu && v < 0.0f ? 0.0f : v;
            if (memcmp(&want, &y[i * NR + j], sizeof want) != 0) {
                if (!bad)
                    fprintf(stderr,
                            "  igemm residual mr %zu nc %zu kc %zu ks %zu: %.9g, want %.9g\n", mr,
                            nc, kc, ks, y[i * NR + j], want);
                bad++;
            }
        }
done:
    free(pool), free(b), free(bias), free(r), free(c), free(y);
    return bad;
}

static void igemm_residual_isa(int32_t isa) {
    const struct rn_kernels *t = table_or_skip(isa);
    if (!t) return;
    igemm_tile tiles[2];
    igemm_tiles(t, tiles);
    static const size_t kcs[] = {3, 16, 17, 64};
    size_t v = 0;
    for (int ti = 0; ti < 2; ti++)
        for (size_t mr = 1; mr <= tiles[ti].mr; mr++)
            for (size_t nc = 1; nc <= tiles[ti].nr; nc += 3, v++) {
                int bad = check_igemm_residual(tiles[ti].fn, tiles[ti].mr, tiles[ti].nr, mr, nc,
                                               kcs[v % 4], v % 2 ? 9 : 1, (int)(v % 3 != 0));
                CHECK(bad == 0);
                if (bad) return;
            }
}

/* ---- dconv3: the direct 3x3 row kernel ------------------------------------------------ */
/* Returns the number of wrong elements of one call of a PX x NR row tile
 * over kc channels: pixels with a stride longer than kc, weight rows longer
 * than NR (NaN past NR), C rows longer than NR (sentinels past NR, and
 * pixels below skip must keep their sentinel), C NaN unless accumulating.
 * null_row (0..2, or -1): an input row in the padding, passed as NULL, whose
 * edge pixels are NaN (never to be read); edges: bit 0 the left pixel, bit 1
 * the right one, taken from a zero row rather than the image row. */
static int check_dconv3(rn_dconv3_ukernel_fn fn, size_t PX, size_t NR, size_t kc, size_t skip,
                        uint32_t flags, int with_bias, int null_row, int edges) {
    const size_t xs = kc + 3, ws = NR + 5, cs = NR + 3, rowlen = (PX + 2) * xs;
    float *in = random_floats(3 * rowlen), *w = random_floats(9 * kc * ws);
    float *bias = random_floats(NR), *zeros = (float *)calloc(kc, sizeof(float));
    float *nans = (float *)malloc(kc * sizeof(float));
    float *c = (float *)malloc(PX * cs * sizeof(float)),
          *c0 = (float *)malloc(PX * cs * sizeof(float));
    int bad = 0;
    if (!in || !w || !bias || !zeros || !nans || !c || !c0) {
        bad = 1;
        goto done;
    }
    for (size_t p = 0; p < kc; p++) nans[p] = NAN;
    for (size_t r = 0; r < 9 * kc; r++)
        for (size_t j = NR; j < ws; j++) w[r * ws + j] = NAN;
    const float *rows[9];
    for (int ky = 0; ky < 3; ky++) {
        const float *row = in + (size_t)ky * rowlen; /* pixel -1 of the tile's row */
        if (ky == null_row) {
            rows[3 * ky] = nans, rows[3 * ky + 1] = NULL, rows[3 * ky + 2] = nans;
            continue;
        }
        rows[3 * ky] = (edges & 1) ? zeros : row;
        rows[3 * ky + 1] = row + xs;
        rows[3 * ky + 2] = (edges & 2) ? zeros : row + (PX + 1) * xs;
    }
    for (size_t i = 0; i < PX * cs; i++) {
        const size_t px = i / cs, j = i % cs;
        c[i] = px < skip || j >= NR           ? SENTINEL
               : (flags & RN_GEMM_ACCUMULATE) ? (float)rn_test_uniform() - 0.5f
                                              : NAN;
    }
    memcpy(c0, c, PX * cs * sizeof(float));
    fn(skip, kc, rows, xs, w, ws, c, cs, with_bias ? bias : NULL, flags);
    for (size_t i = 0; i < PX; i++)
        for (size_t j = 0; j < cs; j++) {
            const float got = c[i * cs + j];
            if (i < skip || j >= NR) {
                bad += got != SENTINEL;
                continue;
            }
            double acc = 0.0, mag = 0.0;
            for (int ky = 0; ky < 3; ky++) {
                if (!rows[3 * ky + 1]) continue;
                for (size_t kx = 0; kx < 3; kx++) {
                    /* input pixel i - 1 + kx of the row */
                    const size_t q = i + kx;
                    const float *px = q == 0        ? rows[3 * ky]
                                      : q == PX + 1 ? rows[3 * ky + 2]
                                                    : rows[3 * ky + 1] + (q - 1) * xs;
                    for (size_t p = 0; p < kc; p++) {
                        const double t =
                            (double)px[p] * w[((size_t)ky * 3 * kc + kx * kc + p) * ws + j];
                        acc += t, mag += fabs(t);
                    }
                }
            }
            if (!epilogue_within(acc, mag, c0[i * cs + j], with_bias ? &bias[j] : NULL, flags, got,
                                 &acc)) {
                if (!bad)
                    fprintf(stderr,
                            "  dconv3 %zux%zu kc %zu skip %zu flags %u null row %d edges %d: "
                            "[%zu][%zu] = %.9g, ref %.9g\n",
                            PX, NR, kc, skip, flags, null_row, edges, i, j, got, acc);
                bad++;
            }
        }
done:
    free(in), free(w), free(bias), free(zeros), free(nans), free(c), free(c0);
    return bad;
}

/* RN_GEMM_RESIDUAL: bit for bit the kernel's own result (+ bias) with no C,
 * then a float addition of C and the ReLU, as for the igemm. */
static int check_dconv3_residual(rn_dconv3_ukernel_fn fn, size_t PX, size_t NR, size_t kc,
                                 int relu) {
    const size_t xs = kc, rowlen = (PX + 2) * xs;
    float *in = random_floats(3 * rowlen), *w = random_floats(9 * kc * NR);
    float *bias = random_floats(NR), *r = random_floats(PX * NR);
    float *c = (float *)malloc(PX * NR * sizeof(float)),
          *y = (float *)malloc(PX * NR * sizeof(float));
    int bad = 0;
    if (!in || !w || !bias || !r || !c || !y) {
        bad = 1;
        goto done;
    }
    for (size_t i = 0; i < PX * NR; i++) r[i] *= 3.0f;
    const float *rows[9];
    for (size_t ky = 0; ky < 3; ky++) {
        rows[3 * ky] = in + ky * rowlen;
        rows[3 * ky + 1] = in + ky * rowlen + xs;
        rows[3 * ky + 2] = in + ky * rowlen + (PX + 1) * xs;
    }
    fn(0, kc, rows, xs, w, NR, c, NR, bias, 0u);
    memcpy(y, r, PX * NR * sizeof(float));
    fn(0, kc, rows, xs, w, NR, y, NR, bias,
       RN_GEMM_ACCUMULATE | RN_GEMM_RESIDUAL | (relu ? RN_GEMM_RELU : 0u));
    for (size_t i = 0; i < PX * NR; i++) {
        const float v = c[i] + r[i], want = relu && v < 0.0f ? 0.0f : v;
        if (memcmp(&want, &y[i], sizeof want) != 0) {
            if (!bad)
                fprintf(stderr, "  dconv3 residual %zux%zu kc %zu: [%zu] %.9g, want %.9g\n", PX, NR,
                        kc, i, y[i], want);
            bad++;
        }
    }
done:
    free(in), free(w), free(bias), free(r), free(c), free(y);
    return bad;
}

static void dconv3_isa(int32_t isa) {
    const struct rn_kernels *t = table_or_skip(isa);
    if (!t) return;
    if (!t->dconv3 && !t->dconv3_narrow) {
        SKIP("the %s table has no direct 3x3 row kernel", rn_isa_name(isa));
        return;
    }
    const struct {
        rn_dconv3_ukernel_fn fn;
        size_t px, nr;
    } tiles[2] = {{t->dconv3, (size_t)t->dconv3_mr, (size_t)t->dconv3_nr},
                  {t->dconv3_narrow, (size_t)t->dconv3_narrow_mr, (size_t)t->dconv3_narrow_nr}};
    static const size_t kcs[] = {1, 3, 16, 17};
    size_t v = 0;
    for (int ti = 0; ti < 2; ti++) {
        if (!tiles[ti].fn) continue;
        for (size_t skip = 0; skip < tiles[ti].px; skip++)
            for (int null_row = -1; null_row < 3; null_row++, v++) {
                const uint32_t flags = (uint32_t)(v % 4); /* accumulate, relu in turn */
                int bad =
                    check_dconv3(tiles[ti].fn, tiles[ti].px, tiles[ti].nr, kcs[(v / 3) % 4], skip,
                                 flags, (int)((v / 2) & 1), null_row, (int)((v / 5) % 4));
                CHECK(bad == 0);
                if (bad) return;
            }
        for (size_t k = 0; k < 4; k++) {
            int bad = check_dconv3_residual(tiles[ti].fn, tiles[ti].px, tiles[ti].nr, kcs[k],
                                            (int)(k & 1));
            CHECK(bad == 0);
            if (bad) return;
        }
    }
}

RN_PER_ISA(dconv3_isa)

/* ---- wgrad --------------------------------------------------------------------------- */
static int check_wgrad(rn_wgrad_ukernel_fn fn, size_t MR, size_t NR, size_t nc, size_t rows,
                       size_t cols, size_t b_ps_extra) {
    /* a: rows x cols pixels of MR channels (a_ps = MR + 2, a_rs = cols * a_ps + 1);
     * b: pixels of nc channels with b_ps = nc + extra, the last one ending at the guard */
    const size_t a_ps = MR + 2, a_rs = cols * a_ps + 1;
    const size_t b_ps = nc + b_ps_extra, b_rs = cols * b_ps + 3;
    const size_t na = rows ? (rows - 1) * a_rs + (cols ? (cols - 1) * a_ps + MR : 0) : 0;
    const size_t nb = rows && cols ? (rows - 1) * b_rs + (cols - 1) * b_ps + nc : 0;
    guarded ga, gb;
    float *a = guarded_floats(&ga, na), *b = guarded_floats(&gb, nb);
    const size_t cs = NR + 5;
    float *c = (float *)malloc((MR + 1) * cs * sizeof(float));
    float *c0 = (float *)malloc((MR + 1) * cs * sizeof(float));
    int bad = 0;
    if (!a || !b || !c || !c0) {
        bad = 1;
        goto done;
    }
    rn_test_fill_uniform(a, na, -1, 1);
    rn_test_fill_uniform(b, nb, -1, 1);
    for (size_t i = 0; i < (MR + 1) * cs; i++) c[i] = SENTINEL;
    for (size_t i = 0; i < MR; i++)
        for (size_t j = 0; j < nc; j++) c[i * cs + j] = (float)rn_test_uniform() - 0.5f;
    memcpy(c0, c, (MR + 1) * cs * sizeof(float));
    fn(nc, rows, cols, a, a_rs, a_ps, b, b_rs, b_ps, c, cs);
    for (size_t i = 0; i < MR + 1; i++)
        for (size_t j = 0; j < cs; j++) {
            float got = c[i * cs + j];
            if (i >= MR || j >= nc) {
                bad += got != SENTINEL;
                continue;
            }
            double acc = c0[i * cs + j], mag = fabs(acc);
            for (size_t r = 0; r < rows; r++)
                for (size_t q = 0; q < cols; q++) {
                    double t = (double)a[r * a_rs + q * a_ps + i] * b[r * b_rs + q * b_ps + j];
                    acc += t, mag += fabs(t);
                }
            if (!(fabs(got - acc) <= TOL * mag + 1e-7)) {
                if (!bad)
                    fprintf(stderr,
                            "  wgrad nc %zu rows %zu cols %zu: [%zu][%zu] = %.9g, ref %.9g\n", nc,
                            rows, cols, i, j, got, acc);
                bad++;
            }
        }
done:
    guarded_free(&ga), guarded_free(&gb);
    free(c), free(c0);
    return bad;
}

static void wgrad_isa(int32_t isa) {
    const struct rn_kernels *t = table_or_skip(isa);
    if (!t) return;
    struct {
        rn_wgrad_ukernel_fn fn;
        size_t mr, nr;
    } tiles[2] = {{t->wgrad, (size_t)t->wgrad_mr, (size_t)t->wgrad_nr},
                  {t->wgrad_narrow, (size_t)t->wgrad_narrow_mr, (size_t)t->wgrad_narrow_nr}};
    static const size_t shapes[][2] = {{1, 1}, {3, 5}, {0, 4}, {4, 0}, {2, 32}, {7, 7}};
    size_t v = 0;
    int failures = 0;
    for (int ti = 0; ti < 2; ti++)
        for (size_t nc = 1; nc <= tiles[ti].nr; nc++)
            for (size_t si = 0; si < 6; si++, v++) {
                int bad = check_wgrad(tiles[ti].fn, tiles[ti].mr, tiles[ti].nr, nc, shapes[si][0],
                                      shapes[si][1], v % 3);
                CHECK(bad == 0);
                if (bad && ++failures > 3) return;
            }
}

/* ---- wgrad3: the 3x3 row weight gradient ------------------------------------------ */
/* One call of the row kernel over rows x cols pixels (dy: MR channels with a
 * gap; x: nc channels, the last ending at the guard page), against the
 * float64 sum of each tap's valid pixels, and bit for bit against the
 * table's tap-by-tap kernel run over each tap's rectangle (same order). */
static int check_wgrad3(rn_wgrad3_ukernel_fn fn, size_t MR, size_t NR, rn_wgrad_ukernel_fn taps,
                        size_t TMR, size_t nc, size_t rows, size_t cols) {
    /* dy pixels hold the taller of the two tiles' channels (the first MR compared) */
    const size_t A = MR > TMR ? MR : TMR;
    const size_t a_ps = A + 2, a_rs = cols * a_ps + 1, b_ps = nc + 1, b_rs = cols * b_ps + 3;
    const size_t na = rows && cols ? (rows - 1) * a_rs + (cols - 1) * a_ps + A : 0;
    const size_t nb = rows && cols ? (rows - 1) * b_rs + (cols - 1) * b_ps + nc : 0;
    const size_t tap = NR + 2, cs = 3 * tap + 1; /* C row: three taps of nc, sentinels between */
    guarded ga, gb;
    float *a = guarded_floats(&ga, na), *b = guarded_floats(&gb, nb);
    float *c = (float *)malloc(MR * cs * sizeof(float)),
          *c0 = (float *)malloc(MR * cs * sizeof(float));
    float *ct = (float *)malloc(A * cs * sizeof(float)); /* the tap-by-tap kernel's C */
    int bad = 0;
    if (!a || !b || !c || !c0 || !ct) {
        bad = 1;
        goto done;
    }
    rn_test_fill_uniform(a, na, -1, 1);
    rn_test_fill_uniform(b, nb, -1, 1);
    for (size_t i = 0; i < MR * cs; i++)
        c[i] = i % cs % tap < nc && i % cs < 3 * tap ? (float)rn_test_uniform() - 0.5f : SENTINEL;
    memcpy(c0, c, MR * cs * sizeof(float));
    fn(nc, rows, cols, a, a_rs, a_ps, b, b_rs, b_ps, c, cs, tap);
    for (size_t i = 0; i < A * cs; i++) ct[i] = i < MR * cs ? c0[i] : 0.0f;
    for (size_t kx = 0; kx < 3 && rows; kx++) { /* output pixels q with q - 1 + kx inside */
        const size_t q0 = kx == 0 ? 1 : 0, q1 = kx == 2 ? (cols ? cols - 1 : 0) : cols;
        if (q0 >= q1) continue;
        taps(nc, rows, q1 - q0, a + q0 * a_ps, a_rs, a_ps, b + (q0 - 1 + kx) * b_ps, b_rs, b_ps,
             ct + kx * tap, cs);
    }
    for (size_t i = 0; i < MR; i++)
        for (size_t e = 0; e < cs; e++) {
            const float got = c[i * cs + e];
            const size_t kx = e / tap, j = e % tap;
            if (kx >= 3 || j >= nc) {
                bad += got != SENTINEL;
                continue;
            }
            double acc = c0[i * cs + e], mag = fabs(acc);
            for (size_t r = 0; r < rows; r++)
                for (size_t q = 0; q < cols; q++) {
                    if (q + kx < 1 || q + kx > cols) continue; /* the padding */
                    double t =
                        (double)a[r * a_rs + q * a_ps + i] * b[r * b_rs + (q + kx - 1) * b_ps + j];
                    acc += t, mag += fabs(t);
                }
            if (!(fabs(got - acc) <= TOL * mag + 1e-7) ||
                memcmp(&got, &ct[i * cs + e], sizeof got)) {
                if (!bad)
                    fprintf(stderr,
                            "  wgrad3 nc %zu rows %zu cols %zu: [%zu][tap %zu][%zu] = %.9g, ref "
                            "%.9g, tap by tap %.9g\n",
                            nc, rows, cols, i, kx, j, got, acc, ct[i * cs + e]);
                bad++;
            }
        }
done:
    guarded_free(&ga), guarded_free(&gb);
    free(c), free(c0), free(ct);
    return bad;
}

static void wgrad3_isa(int32_t isa) {
    const struct rn_kernels *t = table_or_skip(isa);
    if (!t) return;
    if (!t->wgrad3) {
        SKIP("the %s table has no 3x3 row weight-gradient kernel", rn_isa_name(isa));
        return;
    }
    static const size_t shapes[][2] = {{1, 1}, {1, 2}, {3, 3}, {0, 4}, {4, 0}, {2, 32}, {5, 7}};
    for (size_t nc = 1; nc <= (size_t)t->wgrad3_nr; nc++)
        for (size_t si = 0; si < 7; si++) {
            int bad =
                check_wgrad3(t->wgrad3, (size_t)t->wgrad3_mr, (size_t)t->wgrad3_nr, t->wgrad_narrow,
                             (size_t)t->wgrad_narrow_mr, nc, shapes[si][0], shapes[si][1]);
            CHECK(bad == 0);
            if (bad) return;
        }
}

RN_PER_ISA(igemm_isa)
RN_PER_ISA(igemm_residual_isa)
RN_PER_ISA(wgrad3_isa)

RN_PER_ISA(wgrad_isa)

/* The tiles must fit the widest the drivers size their workspaces for
 * (src/ops/conv2d-indirect.c: MR <= 16, NR <= 32; the row kernel's panels) and wgrad's MR must
 * divide 16 (conv2d-backward-weights.c takes multiples of 16 channels). */
static void test_conv_tiles_fit_the_drivers_limits(void) {
    for (size_t i = 0; i < sizeof all_isas / sizeof all_isas[0]; i++) {
        const struct rn_kernels *t = table_if_available(all_isas[i]);
        if (!t) continue;
        CHECK(t->igemm_mr <= 16 && t->igemm_nr <= 32);
        CHECK(t->igemm_narrow_mr <= 16 && t->igemm_narrow_nr <= 32);
        CHECK(16 % t->wgrad_mr == 0 && 16 % t->wgrad_narrow_mr == 0);
        /* the row kernel's wide tile is one panel, its narrow one at most that */
        CHECK(!t->dconv3 || t->dconv3_nr == 32);
        CHECK(!t->dconv3_narrow || t->dconv3_narrow_nr <= 32);
    }
}

static const rn_test_case cases[] = {
    RN_ISA_CASES("igemm_kernels_match_naive_sum_over_segments", igemm_isa),
    RN_ISA_CASES("igemm_residual_adds_c_after_the_bias", igemm_residual_isa),
    RN_ISA_CASES("dconv3_kernels_match_naive_3x3_rows", dconv3_isa),
    RN_ISA_CASES("wgrad_kernels_match_naive_sum_over_pixel_ranges", wgrad_isa),
    RN_ISA_CASES("wgrad3_kernels_match_naive_sums_and_the_tap_kernel", wgrad3_isa),
    {"conv_tiles_fit_the_drivers_limits", test_conv_tiles_fit_the_drivers_limits},
};
RN_TEST_MAIN(cases)

/*
 * GEMM: every microkernel this CPU can run, and the rn__sgemm driver under
 * every ISA cap up to the best, against a naive double-precision GEMM written
 * here. The tests of an ISA the CPU (or this build, or RN_MAX_ISA) lacks report
 * themselves skipped.
 *
 * Tolerance: |x - ref| <= 1e-5 * (sum_p |a_ip b_pj| + |c_ij| + |bias_j|) per
 * element, the float rounding bound of the sum with a wide margin (the |c|
 * and |bias| terms are the extra addends of accumulate and bias).
 */
#define _DEFAULT_SOURCE
#include "harness.h"
#include "resnet.h"
#include "core/internal.h"
#include "kernels/kernels.h"
#include "ops/ops.h"
#include "test_kernels_common.h"

#define TOL 1e-5
#define SENTINEL 12345.0f

static const int32_t all_isas[] = {RN_ISA_SCALAR, RN_ISA_AVX2, RN_ISA_AVX512, RN_ISA_NEON};
static const size_t odd_ks[] = {1, 2, 3, 17, 64, 129};

static float *random_floats(size_t n) {
    float *p = (float *)malloc((n ? n : 1) * sizeof(float));
    if (p) rn_test_fill_uniform(p, n, -1.0, 1.0);
    return p;
}

/* ---- the driver against the naive GEMM ------------------------------------------ */
typedef struct gemm_case {
    int32_t ta, tb;
    size_t m, n, k;
    size_t pad_a, pad_b, pad_c; /* leading dimension = logical width + pad */
    int32_t accumulate, relu, with_bias;
} gemm_case;

/* Runs one case; returns the number of wrong elements (and reports the first). */
static int check_sgemm(rn_ctx *ctx, const gemm_case *g) {
    const size_t m = g->m, n = g->n, k = g->k;
    /* stored shapes: A is m x k (k x m if transposed), B is k x n (n x k) */
    const size_t a_rows = g->ta ? k : m, a_cols = g->ta ? m : k;
    const size_t b_rows = g->tb ? n : k, b_cols = g->tb ? k : n;
    const size_t lda = a_cols + g->pad_a, ldb = b_cols + g->pad_b, ldc = n + g->pad_c;
    float *a = random_floats(a_rows * lda), *b = random_floats(b_rows * ldb);
    float *c = random_floats(m * ldc), *c0 = (float *)malloc(m * ldc * sizeof(float));
    float *bias = g->with_bias ? random_floats(n) : NULL;
    size_t wsz = rn__sgemm_workspace(ctx, m, n, k);
    unsigned char *ws = (unsigned char *)malloc(wsz + 64);
    int bad = 0;
    if (!a || !b || !c || !c0 || (g->with_bias && !bias) || !ws) {
        fprintf(stderr, "  out of memory\n");
        bad = 1;
        goto done;
    }
    /* padding NaN: using it anywhere would show; C padding is a sentinel that
     * must survive; C is NaN when not accumulated (it must not be read) */
    for (size_t r = 0; r < a_rows; r++)
        for (size_t x = a_cols; x < lda; x++) a[r * lda + x] = NAN;
    for (size_t r = 0; r < b_rows; r++)
        for (size_t x = b_cols; x < ldb; x++) b[r * ldb + x] = NAN;
    for (size_t i = 0; i < m; i++)
        for (size_t x = 0; x < ldc; x++) {
            if (x >= n)
                c[i * ldc + x] = SENTINEL;
            else if (!g->accumulate)
                c[i * ldc + x] = NAN;
        }
    rn_memcpy(c0, c, m * ldc * sizeof(float));
    rn_memset(ws + wsz, 0xA5, 64);

    rn__sgemm(ctx, g->ta, g->tb, m, n, k, a, lda, b, ldb, g->accumulate, bias, g->relu, c, ldc, ws);

    for (size_t i = 0; i < 64; i++)
        if (ws[wsz + i] != 0xA5) {
            fprintf(stderr, "  workspace overrun at byte %zu past %zu\n", i, wsz);
            bad++;
            break;
        }
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < ldc; j++) {
            const float got = c[i * ldc + j];
            if (j >= n) {
                if (got != SENTINEL) {
                    if (!bad) fprintf(stderr, "  wrote C padding at (%zu,%zu)\n", i, j);
                    bad++;
                }
                continue;
            }
            double ref = 0.0, scale = 0.0;
            for (size_t p = 0; p < k; p++) {
                double av = g->ta ? a[p * lda + i] : a[i * lda + p];
                double bv = g->tb ? b[j * ldb + p] : b[p * ldb + j];
                ref += av * bv;
                scale += fabs(av * bv);
            }
            if (g->accumulate) {
                ref += c0[i * ldc + j];
                scale += fabs(c0[i * ldc + j]);
            }
            if (bias) {
                ref += bias[j];
                scale += fabs(bias[j]);
            }
            if (g->relu && ref < 0.0) ref = 0.0;
            if (!(fabs(got - ref) <= TOL * scale)) {
                if (!bad)
                    fprintf(stderr,
                            "  %s ta=%d tb=%d m=%zu n=%zu k=%zu acc=%d relu=%d bias=%d: "
                            "C(%zu,%zu) = %.9g, expected %.9g\n",
                            rn_isa_name(ctx->active_isa), (int)g->ta, (int)g->tb, m, n, k,
                            (int)g->accumulate, (int)g->relu, g->with_bias, i, j, got, ref);
                bad++;
            }
        }
done:
    free(a);
    free(b);
    free(c);
    free(c0);
    free(bias);
    free(ws);
    return bad;
}

/* m in 1..2MR+1 x n in 1..2NR+3, each pair with all four transposes; k, the
 * strides, accumulate, bias and ReLU rotate across the pairs so every value
 * of each meets every transpose. */
static void sweep_isa(int32_t isa) {
    const struct rn_kernels *t = table_or_skip(isa);
    if (!t) return;
    rn_ctx *ctx = ctx_for(isa, 1);
    CHECK(ctx != NULL);
    if (!ctx) return;
    CHECK(ctx->active_isa == isa);
    const size_t mr = (size_t)t->gemm_mr, nr = (size_t)t->gemm_nr;
    size_t idx = 0;
    int failures = 0;
    for (size_t m = 1; m <= 2 * mr + 1; m++)
        for (size_t n = 1; n <= 2 * nr + 3; n++, idx++)
            for (int32_t tr = 0; tr < 4; tr++) {
                size_t v = idx * 4 + (size_t)tr;
                gemm_case g = {tr & 1,
                               tr >> 1,
                               m,
                               n,
                               odd_ks[v % 6],
                               (v / 6) % 3,
                               (v / 2) % 5,
                               (v / 3) % 4,
                               (int32_t)((v / 7) & 1),
                               (int32_t)((v / 5) & 1),
                               (int)((v / 11) & 1)};
                int bad = check_sgemm(ctx, &g);
                if (bad) failures++;
                CHECK(bad == 0);
                if (failures > 5) goto out; /* enough to diagnose */
            }
out:
    rn_ctx_destroy(ctx);
}

static void test_sgemm_matches_naive_gemm_for_small_shapes_scalar(void) {
    sweep_isa(RN_ISA_SCALAR);
}
static void test_sgemm_matches_naive_gemm_for_small_shapes_avx2(void) { sweep_isa(RN_ISA_AVX2); }
static void test_sgemm_matches_naive_gemm_for_small_shapes_avx512(void) {
    sweep_isa(RN_ISA_AVX512);
}
static void test_sgemm_matches_naive_gemm_for_small_shapes_neon(void) { sweep_isa(RN_ISA_NEON); }

/* Shapes that cross the driver's blocking: K sliced (k > 256, bias/ReLU only
 * once), several column blocks (n > 512), several packed row blocks of A^T
 * (m > 512), a row stride that is a multiple of 1 KB (copied A), and k = 0. */
static void test_sgemm_is_exact_across_cache_blocks(void) {
    static const gemm_case cases[] = {
        {0, 0, 23, 37, 600, 1, 2, 3, 1, 1, 1}, {1, 1, 23, 37, 600, 0, 0, 0, 0, 1, 1},
        {0, 1, 5, 1100, 9, 0, 1, 0, 1, 0, 1},  {1, 0, 5, 1100, 9, 2, 0, 1, 0, 1, 0},
        {1, 0, 1100, 9, 7, 0, 0, 0, 1, 1, 1},  {1, 1, 1100, 9, 7, 3, 0, 0, 0, 0, 1},
        {0, 0, 33, 20, 256, 0, 0, 0, 0, 1, 1}, {0, 1, 33, 20, 250, 6, 0, 0, 1, 0, 1},
        {0, 0, 530, 19, 5, 0, 0, 0, 0, 0, 0},  {0, 0, 7, 9, 0, 0, 0, 0, 0, 1, 1},
        {1, 1, 7, 9, 0, 0, 0, 1, 1, 1, 1},     {0, 0, 1, 1, 513, 0, 0, 0, 1, 0, 0},
    };
    for (size_t i = 0; i < sizeof all_isas / sizeof all_isas[0]; i++) {
        if (!table_if_available(all_isas[i])) continue; /* its per-ISA tests say skipped */
        rn_ctx *ctx = ctx_for(all_isas[i], 2);
        CHECK(ctx != NULL);
        if (!ctx) continue;
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
            CHECK(check_sgemm(ctx, &cases[c]) == 0);
        rn_ctx_destroy(ctx);
    }
}

/* ---- bit-identity across thread counts -------------------------------------------- */
static void test_sgemm_is_bit_identical_for_1_2_and_3_threads(void) {
    static const gemm_case cases[] = {
        {0, 1, 300, 70, 300, 0, 0, 0, 0, 1, 1}, /* conv forward: pixels x oc, K sliced */
        {1, 0, 64, 300, 200, 0, 0, 0, 1, 0, 0}, /* backward weights: A^T, accumulate */
        {0, 0, 200, 600, 40, 3, 0, 0, 0, 0, 0}, /* two column blocks */
        {0, 0, 3, 40, 700, 0, 0, 0, 0, 0, 1},   /* one row block: threads split panels */
    };
    for (size_t i = 0; i < sizeof all_isas / sizeof all_isas[0]; i++) {
        if (!table_if_available(all_isas[i])) continue; /* its per-ISA tests say skipped */
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            const gemm_case *g = &cases[c];
            const size_t lda = (g->ta ? g->m : g->k) + g->pad_a;
            const size_t ldb = (g->tb ? g->k : g->n) + g->pad_b;
            float *a = random_floats((g->ta ? g->k : g->m) * lda);
            float *b = random_floats((g->tb ? g->n : g->k) * ldb);
            float *bias = random_floats(g->n);
            float *init = random_floats(g->m * g->n);
            float *out[3] = {NULL, NULL, NULL};
            for (int32_t th = 1; th <= 3; th++) {
                rn_ctx *ctx = ctx_for(all_isas[i], th);
                float *cm = (float *)malloc(g->m * g->n * sizeof(float));
                void *ws = ctx ? malloc(rn__sgemm_workspace(ctx, g->m, g->n, g->k)) : NULL;
                CHECK(ctx && cm && ws && a && b && bias && init);
                if (ctx && cm && ws && a && b && bias && init) {
                    rn_memcpy(cm, init, g->m * g->n * sizeof(float));
                    rn__sgemm(ctx, g->ta, g->tb, g->m, g->n, g->k, a, lda, b, ldb, g->accumulate,
                              g->with_bias ? bias : NULL, g->relu, cm, g->n, ws);
                }
                out[th - 1] = cm;
                free(ws);
                rn_ctx_destroy(ctx);
            }
            if (out[0] && out[1] && out[2]) {
                CHECK(memcmp(out[0], out[1], g->m * g->n * sizeof(float)) == 0);
                CHECK(memcmp(out[0], out[2], g->m * g->n * sizeof(float)) == 0);
            }
            for (int t = 0; t < 3; t++) free(out[t]);
            free(a);
            free(b);
            free(bias);
            free(init);
        }
    }
}

/* ---- the microkernels themselves ----------------------------------------------------- */
/* Every mr x nc tile for odd kc, each flag combination in turn: rows >= mr of
 * A hold NaN (their results must be dropped), C outside the tile is a
 * sentinel, and C inside is NaN unless accumulating (so it is never read).
 * For one of the table's GEMM slots (wide or narrow). */
static void microkernel_check(int32_t isa, rn_gemm_ukernel_fn gemm, size_t MR, size_t NR) {
    const size_t kcs[] = {0, 1, 2, 3, 17, 64, 129};
    size_t combo = 0;
    int failures = 0;
    for (size_t ki = 0; ki < sizeof kcs / sizeof kcs[0]; ki++) {
        const size_t kc = kcs[ki], a_stride = kc + 3, c_stride = NR + 5;
        float *a = random_floats(MR * a_stride);
        void *bp = NULL;
        float *c = (float *)malloc(MR * c_stride * sizeof(float));
        float *c0 = (float *)malloc(MR * c_stride * sizeof(float));
        float *bias = random_floats(NR);
        CHECK(posix_memalign(&bp, 64, (kc ? kc : 1) * NR * sizeof(float)) == 0);
        CHECK(a && c && c0 && bias && bp);
        if (!a || !c || !c0 || !bias || !bp) goto next;
        for (size_t mr = 1; mr <= MR; mr++)
            for (size_t nc = 1; nc <= NR; nc++, combo++) {
                const uint32_t flags = (uint32_t)(combo & 3);
                const int with_bias = (combo >> 2) & 1;
                float *b = (float *)bp;
                rn_test_fill_uniform(a, MR * a_stride, -1.0, 1.0);
                for (size_t i = mr; i < MR; i++)
                    for (size_t p = 0; p < kc; p++) a[i * a_stride + p] = NAN;
                for (size_t p = 0; p < kc; p++)
                    for (size_t j = 0; j < NR; j++)
                        b[p * NR + j] = j < nc ? (float)(2.0 * rn_test_uniform() - 1.0) : 0.0f;
                for (size_t i = 0; i < MR; i++)
                    for (size_t j = 0; j < c_stride; j++)
                        c[i * c_stride + j] = (i >= mr || j >= nc) ? SENTINEL
                                              : (flags & RN_GEMM_ACCUMULATE)
                                                  ? (float)rn_test_uniform()
                                                  : NAN;
                rn_memcpy(c0, c, MR * c_stride * sizeof(float));
                /* exactly nc bias values, so a sanitizer sees any over-read */
                float *bias_nc = (float *)malloc(nc * sizeof(float));
                CHECK(bias_nc != NULL);
                if (!bias_nc) break;
                rn_memcpy(bias_nc, bias, nc * sizeof(float));
                gemm(mr, nc, kc, a, a_stride, b, NR, c, c_stride, with_bias ? bias_nc : NULL,
                     flags);
                free(bias_nc);
                int bad = 0;
                for (size_t i = 0; i < MR; i++)
                    for (size_t j = 0; j < c_stride; j++) {
                        const float got = c[i * c_stride + j];
                        if (i >= mr || j >= nc) {
                            bad += got != SENTINEL;
                            continue;
                        }
                        double ref = 0.0, scale = 0.0;
                        for (size_t p = 0; p < kc; p++) {
                            ref += (double)a[i * a_stride + p] * b[p * NR + j];
                            scale += fabs((double)a[i * a_stride + p] * b[p * NR + j]);
                        }
                        if (flags & RN_GEMM_ACCUMULATE) {
                            ref += c0[i * c_stride + j];
                            scale += fabs(c0[i * c_stride + j]);
                        }
                        if (with_bias) {
                            ref += bias[j];
                            scale += fabs(bias[j]);
                        }
                        if ((flags & RN_GEMM_RELU) && ref < 0.0) ref = 0.0;
                        bad += !(fabs(got - ref) <= TOL * scale);
                    }
                if (bad) {
                    fprintf(stderr,
                            "  %s %zux%zu kernel mr=%zu nc=%zu kc=%zu flags=%u bias=%d: %d bad\n",
                            rn_isa_name(isa), MR, NR, mr, nc, kc, (unsigned)flags, with_bias, bad);
                    failures++;
                }
                CHECK(bad == 0);
                if (failures > 5) break;
            }
    next:
        free(a);
        free(bp);
        free(c);
        free(c0);
        free(bias);
    }
}

static void microkernel_isa(int32_t isa) {
    const struct rn_kernels *t = table_or_skip(isa);
    if (!t) return;
    microkernel_check(isa, t->gemm, (size_t)t->gemm_mr, (size_t)t->gemm_nr);
    microkernel_check(isa, t->gemm_narrow, (size_t)t->gemm_narrow_mr, (size_t)t->gemm_narrow_nr);
}

static void test_microkernel_matches_naive_gemm_scalar(void) { microkernel_isa(RN_ISA_SCALAR); }
static void test_microkernel_matches_naive_gemm_avx2(void) { microkernel_isa(RN_ISA_AVX2); }
static void test_microkernel_matches_naive_gemm_avx512(void) { microkernel_isa(RN_ISA_AVX512); }
static void test_microkernel_matches_naive_gemm_neon(void) { microkernel_isa(RN_ISA_NEON); }

/* Every rows x cols block up to 19 x 19 (edges of the 4x4 and 8x8 tiles),
 * with strides wider than the block: an exact copy, and nothing outside the
 * block written. */
static void transpose_isa(int32_t isa) {
    const struct rn_kernels *t = table_or_skip(isa);
    if (!t) return;
    for (size_t rows = 1; rows <= 19; rows++)
        for (size_t cols = 1; cols <= 19; cols++) {
            const size_t ss = cols + 3, ds = rows + 2;
            float *src = random_floats(rows * ss);
            float *dst = (float *)malloc(cols * ds * sizeof(float));
            CHECK(src && dst);
            if (!src || !dst) {
                free(src);
                free(dst);
                return;
            }
            for (size_t i = 0; i < cols * ds; i++) dst[i] = SENTINEL;
            t->transpose(rows, cols, src, ss, dst, ds);
            int bad = 0;
            for (size_t c = 0; c < cols; c++)
                for (size_t r = 0; r < ds; r++)
                    bad += dst[c * ds + r] != (r < rows ? src[r * ss + c] : SENTINEL);
            if (bad)
                fprintf(stderr, "  %s transpose %zux%zu: %d wrong\n", rn_isa_name(isa), rows, cols,
                        bad);
            CHECK(bad == 0);
            free(src);
            free(dst);
        }
}

RN_PER_ISA(transpose_isa)

/* ---- dispatch ------------------------------------------------------------------- */
static void test_isa_cap_selects_the_best_table_at_or_below_it(void) {
    const int32_t best = rn__cpu_best_isa();
    CHECK(rn__kernels_for_isa(RN_ISA_SCALAR)->isa == RN_ISA_SCALAR);
    for (size_t i = 0; i < sizeof all_isas / sizeof all_isas[0]; i++) {
        const int32_t cap = all_isas[i];
        const struct rn_kernels *t = rn__kernels_for_isa(cap);
        CHECK(t->isa <= cap || t->isa == RN_ISA_SCALAR);
        CHECK(t->isa <= best);
        CHECK(t->gemm != NULL && t->gemm_mr >= 1 && t->gemm_nr >= 1);
        rn_ctx *ctx = ctx_for(cap, 1);
        CHECK(ctx != NULL);
        if (!ctx) continue;
        int64_t active = -1;
        CHECK(rn_ctx_get_int(ctx, RN_OPT_ACTIVE_ISA, &active) == RN_OK);
        CHECK(active == t->isa);
        rn_ctx_destroy(ctx);
    }
    /* what this build promises for the CPU it runs on */
#if defined(RN_HAVE_AVX512)
    if (best == RN_ISA_AVX512) CHECK(rn__kernels_for_isa(RN_ISA_AVX512)->isa == RN_ISA_AVX512);
#endif
#if defined(RN_HAVE_AVX2)
    if (best >= RN_ISA_AVX2) CHECK(rn__kernels_for_isa(RN_ISA_AVX2)->isa == RN_ISA_AVX2);
#endif
#if defined(RN_HAVE_NEON)
    CHECK(rn__kernels_for_isa(RN_ISA_NEON)->isa == RN_ISA_NEON);
#endif
}

/* A plan may size the workspace once and then change threads or ISA. */
static void test_sgemm_workspace_depends_only_on_the_shape(void) {
    rn_ctx *one = ctx_for(RN_ISA_SCALAR, 1), *many = ctx_for(RN_ISA_NEON, 8);
    CHECK(one && many);
    if (one && many) {
        const size_t shapes[][3] = {{1, 1, 1}, {3136, 64, 576}, {64, 576, 3136}, {7, 2000, 0}};
        for (size_t s = 0; s < 4; s++)
            CHECK(rn__sgemm_workspace(one, shapes[s][0], shapes[s][1], shapes[s][2]) ==
                  rn__sgemm_workspace(many, shapes[s][0], shapes[s][1], shapes[s][2]));
        /* never smaller for a larger problem (callers size for their largest chunk) */
        CHECK(rn__sgemm_workspace(one, 100, 100, 100) <= rn__sgemm_workspace(one, 101, 100, 100));
        CHECK(rn__sgemm_workspace(one, 100, 100, 100) <= rn__sgemm_workspace(one, 100, 101, 100));
        CHECK(rn__sgemm_workspace(one, 100, 100, 100) <= rn__sgemm_workspace(one, 100, 100, 101));
    }
    rn_ctx_destroy(one);
    rn_ctx_destroy(many);
}

static const rn_test_case cases[] = {
    {"microkernel_matches_naive_gemm_scalar", test_microkernel_matches_naive_gemm_scalar},
    {"microkernel_matches_naive_gemm_avx2", test_microkernel_matches_naive_gemm_avx2},
    {"microkernel_matches_naive_gemm_avx512", test_microkernel_matches_naive_gemm_avx512},
    {"microkernel_matches_naive_gemm_neon", test_microkernel_matches_naive_gemm_neon},
    RN_ISA_CASES("transpose_is_exact", transpose_isa),
    {"sgemm_matches_naive_gemm_for_small_shapes_scalar",
     test_sgemm_matches_naive_gemm_for_small_shapes_scalar},
    {"sgemm_matches_naive_gemm_for_small_shapes_avx2",
     test_sgemm_matches_naive_gemm_for_small_shapes_avx2},
    {"sgemm_matches_naive_gemm_for_small_shapes_avx512",
     test_sgemm_matches_naive_gemm_for_small_shapes_avx512},
    {"sgemm_matches_naive_gemm_for_small_shapes_neon",
     test_sgemm_matches_naive_gemm_for_small_shapes_neon},
    {"sgemm_is_exact_across_cache_blocks", test_sgemm_is_exact_across_cache_blocks},
    {"sgemm_is_bit_identical_for_1_2_and_3_threads",
     test_sgemm_is_bit_identical_for_1_2_and_3_threads},
    {"isa_cap_selects_the_best_table_at_or_below_it",
     test_isa_cap_selects_the_best_table_at_or_below_it},
    {"sgemm_workspace_depends_only_on_the_shape", test_sgemm_workspace_depends_only_on_the_shape},
};
RN_TEST_MAIN(cases)

/*
 * The x86 GEMM and indirect-GEMM microkernels (contracts in kernels.h),
 * written once over the vector vocabulary of avx2/simd-avx2.h or
 * avx512/simd-avx512.h, which the including file includes first. It sets
 * the tile and the kind, then includes this file:
 *
 *   RN_GEMM_MR         rows (1..16)
 *   RN_GEMM_NR         columns, 1 to 4 vectors of RN_V_W
 *   RN_GEMM_INDIRECT   0: rn_f32_gemm_<MR>x<NR>__<isa>, A rows by stride;
 *                      1: rn_f32_igemm_<MR>x<NR>__<isa>, A rows from the
 *                      indirection buffer
 *   RN_GEMM_ROWS_PER_BASE (GEMM only) rows addressed from one base pointer
 *
 * The tile is MR x NR/RN_V_W accumulators; each k step loads the B row
 * (NR/RN_V_W vectors), broadcasts each row's A element from memory and
 * does one FMA per accumulator, in k order, so a tile size changes the
 * speed and never the sums. The GEMM kernel addresses its rows as base +
 * {0, 1, ...} * stride from one base per RN_GEMM_ROWS_PER_BASE rows, so
 * the k loop needs a few general registers rather than MR row pointers
 * (which spill), and prefetches the next row block (the one the driver
 * hands over after this one's panels), one line per k step: without it
 * the short row streams of a GEMM with few columns wait on memory
 * (measured on AVX-512: 65% -> 94% of peak for the 7x7 stem convolution).
 * Prefetches never fault, even past the matrix. The indirect kernel loads
 * each segment's row pointers (plus the segment's offset) once.
 *
 * The epilogue adds C (RN_GEMM_ACCUMULATE), then the bias (with
 * RN_GEMM_RESIDUAL: the bias, then C), then applies
 * the ReLU as max(0, v), which keeps NaN like torch.relu, and stores nc
 * columns through lane masks, which neither read nor write (nor fault on)
 * the lanes past nc.
 */
#include "kernels.h"
#include "unroll.h"

#define RN_GEMM_NAME5(kind, mr, nr, isa) rn_f32_##kind##_##mr##x##nr##__##isa
#define RN_GEMM_NAME4(kind, mr, nr, isa) RN_GEMM_NAME5(kind, mr, nr, isa)

/* X(i) for each row i < MR; X(i, j) for each vector j < NR / RN_V_W of a row */
#define RN_GEMM_ROWS(X) RN_UNROLL(RN_GEMM_MR, X)
#if RN_GEMM_NR == RN_V_W
#define RN_GEMM_NRV 1
#elif RN_GEMM_NR == 2 * RN_V_W
#define RN_GEMM_NRV 2
#elif RN_GEMM_NR == 3 * RN_V_W
#define RN_GEMM_NRV 3
#elif RN_GEMM_NR == 4 * RN_V_W
#define RN_GEMM_NRV 4
#else
#error "RN_GEMM_NR must be 1 to 4 vectors"
#endif
#define RN_GEMM_COLS(X, i) RN_UNROLL_ARG(RN_GEMM_NRV, X, i)

#define RN_GEMM_ZERO1(i, j) RN_V c##i##_##j = RN_V_ZERO();
#define RN_GEMM_ZERO(i) RN_GEMM_COLS(RN_GEMM_ZERO1, i)
#define RN_GEMM_LOAD_B1(i, j) const RN_V b##j = RN_V_LOAD(b + j * RN_V_W);
#define RN_GEMM_FMA1(i, j) c##i##_##j = RN_V_FMA(av, b##j, c##i##_##j);
/* One output row: acc (+ C) + bias, ReLU, store of nc columns. A full row
 * takes plain loads and stores where the ISA prefers them. */
#define RN_GEMM_P_V(i, j) , RN_V v##j
#define RN_GEMM_P_M(i, j) , RN_VM m##j
#define RN_GEMM_P_B(i, j) , RN_V bias##j
#define RN_GEMM_ACC_FULL(i, j) v##j = RN_V_ADD(RN_V_LOAD(c + j * RN_V_W), v##j);
#define RN_GEMM_ACC_MASK(i, j) v##j = RN_V_ADD(RN_V_LOADM(c + j * RN_V_W, m##j), v##j);
#define RN_GEMM_ADD_BIAS(i, j) v##j = RN_V_ADD(v##j, bias##j);
#define RN_GEMM_RELU1(i, j) v##j = RN_V_MAX(RN_V_ZERO(), v##j);
#define RN_GEMM_ST_FULL(i, j) RN_V_STORE(c + j * RN_V_W, v##j);
#define RN_GEMM_ST_MASK(i, j) RN_V_STOREM(c + j * RN_V_W, m##j, v##j);
#define RN_GEMM_DEFINE_STORE_ROW(name)                                                          \
    static inline void name(float *c,                                                           \
                            size_t nc RN_GEMM_COLS(RN_GEMM_P_V, 0) RN_GEMM_COLS(RN_GEMM_P_M, 0) \
                                RN_GEMM_COLS(RN_GEMM_P_B, 0),                                   \
                            uint32_t flags) {                                                   \
        if (RN_V_PLAIN_FULL_ROWS && nc == RN_GEMM_NR) {                                         \
            if ((flags & (RN_GEMM_ACCUMULATE | RN_GEMM_RESIDUAL)) == RN_GEMM_ACCUMULATE) {      \
                RN_GEMM_COLS(RN_GEMM_ACC_FULL, 0)                                               \
            }                                                                                   \
            RN_GEMM_COLS(RN_GEMM_ADD_BIAS, 0)                                                   \
            if (flags & RN_GEMM_RESIDUAL) {                                                     \
                RN_GEMM_COLS(RN_GEMM_ACC_FULL, 0)                                               \
            }                                                                                   \
            if (flags & RN_GEMM_RELU) { /* max(0, v) keeps NaN, as torch.relu */                \
                RN_GEMM_COLS(RN_GEMM_RELU1, 0)                                                  \
            }                                                                                   \
            RN_GEMM_COLS(RN_GEMM_ST_FULL, 0)                                                    \
            return;                                                                             \
        }                                                                                       \
        if ((flags & (RN_GEMM_ACCUMULATE | RN_GEMM_RESIDUAL)) == RN_GEMM_ACCUMULATE) {          \
            RN_GEMM_COLS(RN_GEMM_ACC_MASK, 0)                                                   \
        }                                                                                       \
        RN_GEMM_COLS(RN_GEMM_ADD_BIAS, 0)                                                       \
        if (flags & RN_GEMM_RESIDUAL) {                                                         \
            RN_GEMM_COLS(RN_GEMM_ACC_MASK, 0)                                                   \
        }                                                                                       \
        if (flags & RN_GEMM_RELU) {                                                             \
            RN_GEMM_COLS(RN_GEMM_RELU1, 0)                                                      \
        }                                                                                       \
        RN_GEMM_COLS(RN_GEMM_ST_MASK, 0)                                                        \
    }
#define RN_GEMM_A_V(i, j) , c##i##_##j
#define RN_GEMM_A_M(i, j) , m##j
#define RN_GEMM_A_B(i, j) , bias##j
#define RN_GEMM_STORE(i)                                                               \
    if (mr > i)                                                                        \
        RN_GEMM_STORE_ROW(c + i * c_stride,                                            \
                          nc RN_GEMM_COLS(RN_GEMM_A_V, i) RN_GEMM_COLS(RN_GEMM_A_M, i) \
                              RN_GEMM_COLS(RN_GEMM_A_B, i),                            \
                          flags);
/* the lanes of vector j that lie below nc, and its bias */
#define RN_GEMM_TAIL1(i, j)                                               \
    const RN_VM m##j = RN_V_MASK(nc >= (j + 1) * RN_V_W ? RN_V_W          \
                                 : nc > j * RN_V_W      ? nc - j * RN_V_W \
                                                        : 0);                  \
    const RN_V bias##j = bias ? RN_V_LOADM(bias + j * RN_V_W, m##j) : RN_V_ZERO();
#define RN_GEMM_EPILOGUE           \
    RN_GEMM_COLS(RN_GEMM_TAIL1, 0) \
    RN_GEMM_ROWS(RN_GEMM_STORE)

#if RN_GEMM_INDIRECT

#define RN_GEMM_ROW_PTR(i) const float *a##i = a[i] + o;
#define RN_GEMM_ROW_FMA(i)                    \
    {                                         \
        const RN_V av = RN_V_BCAST(a##i + p); \
        RN_GEMM_COLS(RN_GEMM_FMA1, i)         \
    }

#define RN_GEMM_STORE_ROW RN_GEMM_NAME4(igemm_store_row, RN_GEMM_MR, RN_GEMM_NR, RN_V_SUFFIX)
RN_GEMM_DEFINE_STORE_ROW(RN_GEMM_STORE_ROW)

void RN_GEMM_NAME4(igemm, RN_GEMM_MR, RN_GEMM_NR, RN_V_SUFFIX)(RN_IGEMM_UKERNEL_ARGS) {
    RN_GEMM_ROWS(RN_GEMM_ZERO)
    for (size_t s = 0; s < ks; s++, a += a_seg_stride) {
        const size_t o = a_off[s];
        RN_GEMM_ROWS(RN_GEMM_ROW_PTR)
        for (size_t p = 0; p < kc; p++, b += b_stride) {
            RN_GEMM_COLS(RN_GEMM_LOAD_B1, 0)
            RN_GEMM_ROWS(RN_GEMM_ROW_FMA)
        }
    }
    RN_GEMM_EPILOGUE
}

#else

/* row i is base i / ROWS_PER_BASE plus (i % ROWS_PER_BASE) strides; the
 * choice of base folds away at compile time, and unused bases with it */
#define RN_GEMM_RPB RN_GEMM_ROWS_PER_BASE
#define RN_GEMM_BASE(i) \
    ((i) / RN_GEMM_RPB == 0 ? r0 : (i) / RN_GEMM_RPB == 1 ? r1 : (i) / RN_GEMM_RPB == 2 ? r2 : r3)
#define RN_GEMM_ROW_FMA(i)                                                                    \
    {                                                                                         \
        const RN_V av = RN_V_BCAST((const float *)(RN_GEMM_BASE(i) + (i) % RN_GEMM_RPB * s)); \
        RN_GEMM_COLS(RN_GEMM_FMA1, i)                                                         \
    }
#if RN_GEMM_MR > 4 * RN_GEMM_ROWS_PER_BASE
#error "RN_GEMM_MR needs more than four row bases"
#endif

#define RN_GEMM_STORE_ROW RN_GEMM_NAME4(gemm_store_row, RN_GEMM_MR, RN_GEMM_NR, RN_V_SUFFIX)
RN_GEMM_DEFINE_STORE_ROW(RN_GEMM_STORE_ROW)

void RN_GEMM_NAME4(gemm, RN_GEMM_MR, RN_GEMM_NR, RN_V_SUFFIX)(RN_GEMM_UKERNEL_ARGS) {
    const size_t s = a_stride * sizeof(float);
    const char *r0 = (const char *)a, *r1 = r0 + RN_GEMM_RPB * s;
    const char *r2 = r1 + RN_GEMM_RPB * s, *r3 = r2 + RN_GEMM_RPB * s;
    RN_GEMM_ROWS(RN_GEMM_ZERO)
    const char *pf = r0 + RN_GEMM_MR * s;
    for (size_t p = kc; p; p--, b += b_stride, r0 += 4, r1 += 4, r2 += 4, r3 += 4, pf += 64) {
        _mm_prefetch(pf, _MM_HINT_T1);
        RN_GEMM_COLS(RN_GEMM_LOAD_B1, 0)
        RN_GEMM_ROWS(RN_GEMM_ROW_FMA)
    }
    RN_GEMM_EPILOGUE
}

#undef RN_GEMM_RPB
#undef RN_GEMM_BASE
#endif

#undef RN_GEMM_NAME5
#undef RN_GEMM_NAME4
#undef RN_GEMM_NRV
#undef RN_GEMM_ROWS
#undef RN_GEMM_COLS
#undef RN_GEMM_ZERO1
#undef RN_GEMM_ZERO
#undef RN_GEMM_LOAD_B1
#undef RN_GEMM_FMA1
#undef RN_GEMM_P_V
#undef RN_GEMM_P_M
#undef RN_GEMM_P_B
#undef RN_GEMM_ACC_FULL
#undef RN_GEMM_ACC_MASK
#undef RN_GEMM_ADD_BIAS
#undef RN_GEMM_RELU1
#undef RN_GEMM_ST_FULL
#undef RN_GEMM_ST_MASK
#undef RN_GEMM_DEFINE_STORE_ROW
#undef RN_GEMM_A_V
#undef RN_GEMM_A_M
#undef RN_GEMM_A_B
#undef RN_GEMM_STORE_ROW
#undef RN_GEMM_STORE
#undef RN_GEMM_TAIL1
#undef RN_GEMM_EPILOGUE
#undef RN_GEMM_ROW_PTR
#undef RN_GEMM_ROW_FMA

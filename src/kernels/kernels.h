/*
 * The kernel table: one function pointer per kernel family, filled once per
 * ISA (dispatch.c). Kernels compute; they never allocate, never thread and
 * never decide policy. Drivers in src/ops/ pick and call them.
 */
#ifndef RN_KERNELS_H
#define RN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* ---- GEMM microkernel ----------------------------------------------------------
 * C[mr x nc] = (C if RN_GEMM_ACCUMULATE else 0) + A[MR x kc] * B[kc x NR]
 *              (+ bias[nc] if bias) then max(., 0) if RN_GEMM_RELU,
 * with 1 <= mr <= MR, 1 <= nc <= NR, kc >= 0.
 *
 * A: MR rows, row i at a + i * a_stride, kc contiguous floats each. All MR
 *    rows are read even when mr < MR (the driver pads the last row block);
 *    results of rows >= mr are discarded.
 * B: kc rows of NR floats, row p at b + p * b_stride: a packed panel
 *    (b_stride = NR) or the caller's matrix itself. All NR columns are read
 *    (so they must exist); results of columns >= nc are dropped.
 * C: row-major with c_stride; only the mr x nc block is read (when
 *    accumulating) or written, column tails through masked loads and stores.
 * bias: NULL or nc floats, read with the same masks.
 * Without RN_GEMM_ACCUMULATE, C is never read (it may hold NaN). */
#define RN_GEMM_ACCUMULATE 1u
#define RN_GEMM_RELU 2u

typedef void (*rn_gemm_ukernel_fn)(size_t mr, size_t nc, size_t kc, const float *a,
                                   size_t a_stride, const float *b, size_t b_stride, float *c,
                                   size_t c_stride, const float *bias, uint32_t flags);

/* ---- 32-bit transpose: dst[c * dst_stride + r] = src[r * src_stride + c] ------
 * for r < rows, c < cols; the blocks do not overlap. The GEMM driver packs
 * A^T and B^T with it. */
typedef void (*rn_transpose_fn)(size_t rows, size_t cols, const float *src, size_t src_stride,
                                float *dst, size_t dst_stride);

struct rn_kernels {
    int32_t isa;       /* RN_ISA_* this table implements; must stay the first member */
    int32_t gemm_mr;   /* rows of the GEMM microkernel (MR) */
    int32_t gemm_nr;   /* columns (packed panel width) of the GEMM microkernel (NR) */
    rn_gemm_ukernel_fn gemm;
    rn_transpose_fn transpose;
};

/* Every kernel compiled into the library (dispatch.c picks among them). */
#define RN_GEMM_UKERNEL_ARGS                                                                   \
    size_t mr, size_t nc, size_t kc, const float *a, size_t a_stride, const float *b,          \
        size_t b_stride, float *c, size_t c_stride, const float *bias, uint32_t flags
#define RN_TRANSPOSE_ARGS \
    size_t rows, size_t cols, const float *src, size_t src_stride, float *dst, size_t dst_stride

void rn_f32_gemm_4x4__scalar(RN_GEMM_UKERNEL_ARGS);
void rn_x32_transpose__scalar(RN_TRANSPOSE_ARGS);
#ifdef RN_HAVE_AVX2
void rn_f32_gemm_6x16__avx2(RN_GEMM_UKERNEL_ARGS);
void rn_x32_transpose__avx2(RN_TRANSPOSE_ARGS);
#endif
#ifdef RN_HAVE_AVX512
void rn_f32_gemm_14x32__avx512(RN_GEMM_UKERNEL_ARGS);
#endif
#ifdef RN_HAVE_NEON
void rn_f32_gemm_8x8__neon(RN_GEMM_UKERNEL_ARGS);
void rn_x32_transpose__neon(RN_TRANSPOSE_ARGS);
#endif

#endif /* RN_KERNELS_H */

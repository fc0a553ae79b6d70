/*
 * Portable 32-bit transpose (contract in kernels.h): the packing step of
 * the GEMM driver for A^T and B^T when no SIMD table is active.
 * 4x4 tiles keep both the reads and the writes within a few cache lines.
 */
#include "../kernels.h"

void rn_x32_transpose__scalar(size_t rows, size_t cols, const float *src, size_t src_stride,
                              float *dst, size_t dst_stride) {
    for (size_t r0 = 0; r0 < rows; r0 += 4) {
        const size_t r1 = r0 + 4 < rows ? r0 + 4 : rows;
        for (size_t c = 0; c < cols; c++)
            for (size_t r = r0; r < r1; r++) dst[c * dst_stride + r] = src[r * src_stride + c];
    }
}

/*
 * AVX 32-bit transpose in 8x8 register tiles (contract in kernels.h), used
 * by the AVX2 and AVX-512 tables to pack A^T and B^T for the GEMM. Each tile
 * is 8 row loads, 24 shuffles and 8 row stores; the edges are scalar.
 */
#include <immintrin.h>

#include "../kernels.h"

static inline void tile8x8(const float *src, size_t ss, float *dst, size_t ds) {
    const __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + ss),
                 r2 = _mm256_loadu_ps(src + 2 * ss), r3 = _mm256_loadu_ps(src + 3 * ss),
                 r4 = _mm256_loadu_ps(src + 4 * ss), r5 = _mm256_loadu_ps(src + 5 * ss),
                 r6 = _mm256_loadu_ps(src + 6 * ss), r7 = _mm256_loadu_ps(src + 7 * ss);
    /* pairs of rows interleaved, then pairs of pairs: uN holds column N of
     * rows 0-3 (or 4-7) in its low half and column N+4 in its high half */
    const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1),
                 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3),
                 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
                 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE),
                 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE),
                 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE),
                 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    _mm256_storeu_ps(dst, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(dst + ds, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(dst + 2 * ds, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(dst + 3 * ds, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(dst + 4 * ds, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(dst + 5 * ds, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(dst + 6 * ds, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(dst + 7 * ds, _mm256_permute2f128_ps(u3, u7, 0x31));
}

void rn_x32_transpose__avx2(size_t rows, size_t cols, const float *src, size_t src_stride,
                            float *dst, size_t dst_stride) {
    const size_t rows8 = rows & ~(size_t)7, cols8 = cols & ~(size_t)7;
    for (size_t r = 0; r < rows8; r += 8) {
        const float *s = src + r * src_stride;
        size_t c = 0;
        for (; c < cols8; c += 8) {
            if ((c & 15) == 0)
                for (size_t i = 0; i < 8; i++)
                    _mm_prefetch((const char *)(s + i * src_stride + c + 128), _MM_HINT_T0);
            tile8x8(s + c, src_stride, dst + c * dst_stride + r, dst_stride);
        }
        for (; c < cols; c++)
            for (size_t i = 0; i < 8; i++) dst[c * dst_stride + r + i] = s[i * src_stride + c];
    }
    for (size_t r = rows8; r < rows; r++)
        for (size_t c = 0; c < cols; c++) dst[c * dst_stride + r] = src[r * src_stride + c];
}

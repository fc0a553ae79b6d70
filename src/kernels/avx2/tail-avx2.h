/*
 * Lane masks for the AVX2 kernels' channel and array tails: AVX2 has no
 * mask registers, so a tail of w < 8 lanes is loaded and stored with
 * vmaskmov and an integer mask whose first w lanes are all ones.
 */
#ifndef RN_TAIL_AVX2_H
#define RN_TAIL_AVX2_H

#include <immintrin.h>
#include <stddef.h>

/* first w (0..8) of 8 float lanes */
static inline __m256i rn__mask8_avx2(size_t w) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)w), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* first w (any size_t; clamped) of 4 double lanes */
static inline __m256i rn__mask4d_avx2(size_t w) {
    const long long c = w > 4 ? 4 : (long long)w;
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(c), _mm256_setr_epi64x(0, 1, 2, 3));
}

#endif /* RN_TAIL_AVX2_H */

/*
 * The x86 int8 convolution microkernels (contract in kernels.h: MR output
 * pixels x 16 output channels, requantizing epilogue), written once for
 * three instruction sets. The including file sets
 *
 *   RN_QK_KIND  RN_QK_AVX2:       two ymm of 8 int32 per row; vpmaddubsw
 *               RN_QK_AVX512BW:   one zmm of 16 int32 per row; vpmaddubsw
 *               RN_QK_AVX512VNNI: one zmm per row; vpdpbusd
 *   RN_QK_MR    rows (1..16)
 *
 * and compiles with that ISA's flags. Each k step takes 4 input channels of
 * a row (one 32-bit broadcast) against the panel's 16 channels x 4 values.
 *
 * VNNI: vpdpbusd multiplies unsigned by signed bytes and adds the four
 * products of each lane to its int32. The activations arrive as x + 128
 * (the driver stores x ^ 0x80) and the bias as bias - 128 * sum(w) (packed
 * once), so the sum is bias + sum x * w exactly; int32 adds wrap modulo 2^32
 * and the true total fits, so partial sums may wrap without harm.
 *
 * AVX2 / AVX-512BW: vpmaddubsw multiplies unsigned by signed bytes and adds
 * adjacent pairs into int16 with saturation. It gets |x| as the unsigned
 * operand and w with x's sign moved onto it (w negated where x < 0: vpsignb,
 * or a masked subtract from zero on AVX-512, which has no vpsignb), so each
 * product |x| * (sign(x) w) equals x * w. Why no pair saturates: weights
 * are in [-127, 127] (the scheme never makes -128), so sign(x) w is too, and
 * |x| <= 128 even for x = -128 (activations are in [-127, 127] anyway); a
 * pair sum is then at most 2 * 128 * 127 = 32512 <= 32767 in magnitude
 * (2 * 127 * 127 = 32258 for in-range activations). vpmaddwd against ones
 * then adds the two pairs of each lane into int32, exactly.
 *
 * Epilogue, the same as the scalar kernel's operation by operation:
 * cvtdq2ps, mulps by m, (cvtdq2ps of the residual, mulps by m_r, addps),
 * maxps lo, minps 127, cvtps2dq (round to nearest even under the default
 * MXCSR), narrowing without saturation effects (the values are in range).
 */
#include <immintrin.h>

#include "kernels.h"
#include "unroll.h"

#define RN_QK_AVX2 1
#define RN_QK_AVX512BW 2
#define RN_QK_AVX512VNNI 3

#if RN_QK_KIND == RN_QK_AVX2
#define RN_QK_SUFFIX avx2
#elif RN_QK_KIND == RN_QK_AVX512BW
#define RN_QK_SUFFIX avx512bw
#else
#define RN_QK_SUFFIX avx512vnni
#endif

#define RN_QK_NAME3(mr, isa) rn_qs8_igemm_##mr##x16__##isa
#define RN_QK_NAME2(mr, isa) RN_QK_NAME3(mr, isa)
#define RN_QK_ROWS(X) RN_UNROLL(RN_QK_MR, X)

/* 4 bytes broadcast to every 32-bit lane */
#define RN_QK_LOAD32(p) _mm_cvtsi128_si32(_mm_loadu_si32(p))

#if RN_QK_KIND == RN_QK_AVX2

#define RN_QK_INIT(i) __m256i acc##i##_0 = vb0, acc##i##_1 = vb1;
#define RN_QK_PTR(i) const int8_t *a##i = a[i] + a_off[s];
#define RN_QK_STEP(i)                                                                     \
    {                                                                                     \
        const __m256i x = _mm256_set1_epi32(RN_QK_LOAD32(a##i + 4 * g));                  \
        const __m256i ax = _mm256_abs_epi8(x);                                            \
        acc##i##_0 = _mm256_add_epi32(                                                    \
            acc##i##_0,                                                                   \
            _mm256_madd_epi16(_mm256_maddubs_epi16(ax, _mm256_sign_epi8(vw0, x)), ones)); \
        acc##i##_1 = _mm256_add_epi32(                                                    \
            acc##i##_1,                                                                   \
            _mm256_madd_epi16(_mm256_maddubs_epi16(ax, _mm256_sign_epi8(vw1, x)), ones)); \
    }

static inline __m256 RN_QK_NAME2(requant8_, RN_QK_SUFFIX)(__m256i acc, __m256 vm, const int8_t *r,
                                                          __m256 vmr, __m256 vlo) {
    __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), vm);
    if (r) {
        const __m256i ri = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)r));
        f = _mm256_add_ps(f, _mm256_mul_ps(_mm256_cvtepi32_ps(ri), vmr));
    }
    return _mm256_min_ps(_mm256_max_ps(f, vlo), _mm256_set1_ps(127.f));
}

#define RN_QK_EPI(i)                                                                              \
    if (i < mr) {                                                                                 \
        const int8_t *ri = NULL;                                                                  \
        int8_t rtmp[16], ytmp[16];                                                                \
        if (r) {                                                                                  \
            ri = r + i * r_stride;                                                                \
            if (nc < 16) {                                                                        \
                for (size_t c = 0; c < 16; c++) rtmp[c] = c < nc ? ri[c] : 0;                     \
                ri = rtmp;                                                                        \
            }                                                                                     \
        }                                                                                         \
        const __m256i q0 = _mm256_cvtps_epi32(                                                    \
            RN_QK_NAME2(requant8_, RN_QK_SUFFIX)(acc##i##_0, vm0, ri, vmr, vlo));                 \
        const __m256i q1 = _mm256_cvtps_epi32(                                                    \
            RN_QK_NAME2(requant8_, RN_QK_SUFFIX)(acc##i##_1, vm1, ri ? ri + 8 : NULL, vmr, vlo)); \
        const __m256i h = _mm256_permute4x64_epi64(_mm256_packs_epi32(q0, q1), 0xD8);             \
        const __m128i b8 =                                                                        \
            _mm_packs_epi16(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));           \
        if (nc == 16) {                                                                           \
            _mm_storeu_si128((__m128i *)(y + i * y_stride), b8);                                  \
        } else {                                                                                  \
            _mm_storeu_si128((__m128i *)ytmp, b8);                                                \
            for (size_t c = 0; c < nc; c++) y[i * y_stride + c] = ytmp[c];                        \
        }                                                                                         \
    }

void RN_QK_NAME2(RN_QK_MR, RN_QK_SUFFIX)(RN_QCONV_UKERNEL_ARGS) {
    const __m256i ones = _mm256_set1_epi16(1);
    const __m256i vb0 = _mm256_loadu_si256((const __m256i *)bias);
    const __m256i vb1 = _mm256_loadu_si256((const __m256i *)(bias + 8));
    RN_QK_ROWS(RN_QK_INIT)
    for (size_t s = 0; s < ks; s++) {
        RN_QK_ROWS(RN_QK_PTR)
        const int8_t *wp = w + s * kg * 64;
        for (size_t g = 0; g < kg; g++, wp += 64) {
            const __m256i vw0 = _mm256_loadu_si256((const __m256i *)wp);
            const __m256i vw1 = _mm256_loadu_si256((const __m256i *)(wp + 32));
            RN_QK_ROWS(RN_QK_STEP)
        }
    }
    const __m256 vm0 = _mm256_loadu_ps(m), vm1 = _mm256_loadu_ps(m + 8);
    const __m256 vmr = _mm256_set1_ps(m_r), vlo = _mm256_set1_ps(relu ? 0.f : -127.f);
    RN_QK_ROWS(RN_QK_EPI)
}

#else /* AVX-512 */

#if RN_QK_KIND == RN_QK_AVX512VNNI
#define RN_QK_TARGET __attribute__((target("avx512vnni")))
#else
#define RN_QK_TARGET
#endif

#define RN_QK_INIT(i) __m512i acc##i = vb;
#define RN_QK_PTR(i) const int8_t *a##i = a[i] + a_off[s];
#if RN_QK_KIND == RN_QK_AVX512VNNI
#define RN_QK_STEP(i) \
    acc##i = _mm512_dpbusd_epi32(acc##i, _mm512_set1_epi32(RN_QK_LOAD32(a##i + 4 * g)), vw);
#else
#define RN_QK_STEP(i)                                                                       \
    {                                                                                       \
        const __m512i x = _mm512_set1_epi32(RN_QK_LOAD32(a##i + 4 * g));                    \
        const __m512i ws = _mm512_mask_sub_epi8(vw, _mm512_movepi8_mask(x), zero, vw);      \
        acc##i = _mm512_add_epi32(                                                          \
            acc##i, _mm512_madd_epi16(_mm512_maddubs_epi16(_mm512_abs_epi8(x), ws), ones)); \
    }
#endif

#define RN_QK_EPI(i)                                                                             \
    if (i < mr) {                                                                                \
        __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(acc##i), vm);                                \
        if (r) {                                                                                 \
            const __m128i rb = _mm_maskz_loadu_epi8(mask, r + i * r_stride);                     \
            f = _mm512_add_ps(f,                                                                 \
                              _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(rb)), vmr)); \
        }                                                                                        \
        f = _mm512_min_ps(_mm512_max_ps(f, vlo), v127);                                          \
        _mm512_mask_cvtepi32_storeu_epi8(y + i * y_stride, mask, _mm512_cvtps_epi32(f));         \
    }

RN_QK_TARGET void RN_QK_NAME2(RN_QK_MR, RN_QK_SUFFIX)(RN_QCONV_UKERNEL_ARGS) {
#if RN_QK_KIND == RN_QK_AVX512BW
    const __m512i ones = _mm512_set1_epi16(1), zero = _mm512_setzero_si512();
#endif
    const __m512i vb = _mm512_loadu_si512(bias);
    RN_QK_ROWS(RN_QK_INIT)
    for (size_t s = 0; s < ks; s++) {
        RN_QK_ROWS(RN_QK_PTR)
        const int8_t *wp = w + s * kg * 64;
        for (size_t g = 0; g < kg; g++, wp += 64) {
            const __m512i vw = _mm512_loadu_si512(wp);
            RN_QK_ROWS(RN_QK_STEP)
        }
    }
    const __mmask16 mask = (__mmask16)((1u << nc) - 1u);
    const __m512 vm = _mm512_loadu_ps(m), vmr = _mm512_set1_ps(m_r);
    const __m512 vlo = _mm512_set1_ps(relu ? 0.f : -127.f), v127 = _mm512_set1_ps(127.f);
    RN_QK_ROWS(RN_QK_EPI)
}

#endif

#undef RN_QK_TARGET
#undef RN_QK_INIT
#undef RN_QK_PTR
#undef RN_QK_STEP
#undef RN_QK_EPI
#undef RN_QK_SUFFIX
#undef RN_QK_NAME2
#undef RN_QK_NAME3
#undef RN_QK_ROWS
#undef RN_QK_LOAD32

/*
 * The int8 dot product of the portable int8 convolution (src/ops/qconv2d.c,
 * the path that reads OHWI weights in place: firmware with its weights in
 * flash), reached through kernels.h and inlined into that loop rather than
 * called through the kernel table: it runs once per window tap, on as few
 * as 3 channels, where a call would cost as much as the sum.
 *
 * rn_s8_dot(x, w, n, acc) = acc + sum of x[i] * w[i] for i < n, exact in
 * int32 (|acc| stays far below 2^31, docs/int8.md).
 */
#ifndef RN_KERNELS_S8_DOT_INLINE_H
#define RN_KERNELS_S8_DOT_INLINE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/rn_deps.h"

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && defined(__GNUC__)
/* Armv7E-M (Cortex-M4/M7): two SMLADs per four bytes. SXTB16 sign-extends
 * bytes 0 and 2 of a word into its two halfwords (with ROR #8: bytes 1 and
 * 3), and SMLAD adds the two halfword products to the accumulator: the same
 * integer sum as the plain loop, so the same bits. */
static inline int32_t rn_s8_dot(const int8_t *x, const int8_t *w, size_t n, int32_t acc) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32_t xv, wv, x02, x13, w02, w13;
        rn_memcpy(&xv, x + i, 4);
        rn_memcpy(&wv, w + i, 4);
        __asm__("sxtb16 %0, %1" : "=r"(x02) : "r"(xv));
        __asm__("sxtb16 %0, %1, ror #8" : "=r"(x13) : "r"(xv));
        __asm__("sxtb16 %0, %1" : "=r"(w02) : "r"(wv));
        __asm__("sxtb16 %0, %1, ror #8" : "=r"(w13) : "r"(wv));
        __asm__("smlad %0, %1, %2, %0" : "+r"(acc) : "r"(x02), "r"(w02));
        __asm__("smlad %0, %1, %2, %0" : "+r"(acc) : "r"(x13), "r"(w13));
    }
    for (; i < n; i++) acc += (int32_t)x[i] * (int32_t)w[i];
    return acc;
}
#else
static inline int32_t rn_s8_dot(const int8_t *x, const int8_t *w, size_t n, int32_t acc) {
    for (size_t i = 0; i < n; i++) acc += (int32_t)x[i] * (int32_t)w[i];
    return acc;
}
#endif

#endif

/*
 * AVX-512 3x3 row weight-gradient microkernel, 8 output channels x 16 input
 * channels x the three taps of a window row (contract in kernels.h): 24 zmm
 * accumulators, a window of three input vectors, one broadcast of dy per
 * three FMAs. Code: ../f32-wgrad3-x86-template.h.
 */
#include "simd-avx512.h"

#define RN_WGRAD3_MR 8
#include "../f32-wgrad3-x86-template.h"

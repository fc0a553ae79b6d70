/*
 * AVX-512 direct 3x3 row microkernel, 8 output pixels x 32 output channels
 * (contract in kernels.h): 16 zmm accumulators and the three taps' 6 weight
 * vectors. Code: ../f32-dconv3-x86-template.h.
 */
#include "simd-avx512.h"

#define RN_DCONV3_PX 8
#define RN_DCONV3_NR 32
#include "../f32-dconv3-x86-template.h"

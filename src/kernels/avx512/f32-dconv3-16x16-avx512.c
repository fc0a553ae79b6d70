/*
 * AVX-512 direct 3x3 row microkernel, 16 output pixels x 16 output channels
 * (contract in kernels.h): 16 zmm accumulators and the three taps' 3 weight
 * vectors. Code: ../f32-dconv3-x86-template.h.
 */
#include "simd-avx512.h"

#define RN_DCONV3_PX 16
#define RN_DCONV3_NR 16
#include "../f32-dconv3-x86-template.h"

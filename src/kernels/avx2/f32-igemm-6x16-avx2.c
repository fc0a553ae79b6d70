/*
 * AVX2 + FMA indirect GEMM microkernel, 6 rows x 16 columns (contract in
 * kernels.h): the 6x16 GEMM kernel's register tile (12 ymm accumulators)
 * with each segment's 6 A rows taken from the indirection buffer, so a
 * convolution reads its input pixels in place. The row pointers stay in
 * general registers. Code: ../f32-gemm-x86-template.h.
 */
#include "simd-avx2.h"

#define RN_GEMM_MR 6
#define RN_GEMM_NR 16
#define RN_GEMM_INDIRECT 1
#include "../f32-gemm-x86-template.h"

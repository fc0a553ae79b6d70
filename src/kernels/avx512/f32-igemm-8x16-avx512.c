/*
 * AVX-512 indirect GEMM microkernel, 8 rows x 16 columns (contract in
 * kernels.h): the narrow tile, for 16 output channels. 8 zmm accumulators,
 * as many as two FMA pipes of latency 4 keep busy; each k step is 1 vector
 * load of B and 8 broadcasts of A. Eight rows, as in the 8x32 kernel: each
 * row is its own pointer from the indirection buffer.
 * Code: ../f32-gemm-x86-template.h.
 */
#include "simd-avx512.h"

#define RN_GEMM_MR 8
#define RN_GEMM_NR 16
#define RN_GEMM_INDIRECT 1
#include "../f32-gemm-x86-template.h"

/*
 * AVX-512 indirect GEMM microkernel, 8 rows x 32 columns (contract in
 * kernels.h). 16 zmm accumulators; each k step is 2 vector loads of B and 8
 * broadcasts of A for 16 FMAs. Eight rows rather than the GEMM kernel's 14:
 * each row is its own pointer from the indirection buffer, and 8 of them
 * (with B, the counters and the buffer) still fit the 16 general registers.
 * Code: ../f32-gemm-x86-template.h.
 */
#include "simd-avx512.h"

#define RN_GEMM_MR 8
#define RN_GEMM_NR 32
#define RN_GEMM_INDIRECT 1
#include "../f32-gemm-x86-template.h"

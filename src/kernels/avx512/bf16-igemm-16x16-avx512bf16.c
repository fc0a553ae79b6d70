/*
 * AVX512_BF16 indirect GEMM microkernel, 16 rows x 16 columns (contract in
 * kernels.h): the narrow tile (16 output channels), 16 zmm accumulators.
 * Code: bf16-igemm-avx512bf16-template.h.
 */
#define RN_BF16_MR 16
#define RN_BF16_NR 16
#include "bf16-igemm-avx512bf16-template.h"

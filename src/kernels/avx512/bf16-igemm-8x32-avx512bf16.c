/*
 * AVX512_BF16 indirect GEMM microkernel, 8 rows x 32 columns (contract in
 * kernels.h): the wide tile of the bf16 training convolutions, 16 zmm
 * accumulators as the f32 8x32 kernel.
 * Code: bf16-igemm-avx512bf16-template.h.
 */
#define RN_BF16_MR 8
#define RN_BF16_NR 32
#include "bf16-igemm-avx512bf16-template.h"

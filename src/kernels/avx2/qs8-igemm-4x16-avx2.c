/*
 * AVX2 int8 convolution microkernel, 4 output pixels x 16 channels
 * (contract in kernels.h): vpmaddubsw on |x| and sign-moved weights, 8
 * ymm accumulators. Code and the no-saturation argument:
 * ../qs8-igemm-x86-template.h.
 */
#define RN_QK_KIND 1 /* RN_QK_AVX2 */
#define RN_QK_MR 4
#include "../qs8-igemm-x86-template.h"

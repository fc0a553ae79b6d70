/*
 * AVX-512BW int8 convolution microkernel (CPUs without VNNI), 8 output
 * pixels x 16 channels (contract in kernels.h): vpmaddubsw on |x| and
 * sign-moved weights, one zmm accumulator per pixel. Code and the
 * no-saturation argument: ../qs8-igemm-x86-template.h.
 */
#define RN_QK_KIND 2 /* RN_QK_AVX512BW */
#define RN_QK_MR 8
#include "../qs8-igemm-x86-template.h"

/*
 * NEON int8 convolution microkernel without the dot-product extension
 * (Cortex-A53/A72 class), 4 output pixels x 16 channels (contract in
 * kernels.h): widening multiplies and pairwise adds. Code:
 * qs8-igemm-neon-template.h.
 */
#define RN_QK_DOT 0
#define RN_QK_MR 4
#include "qs8-igemm-neon-template.h"

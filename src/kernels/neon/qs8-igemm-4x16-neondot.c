/*
 * NEON int8 convolution microkernel with the dot-product extension (sdot;
 * Armv8.2-A and later cores that report it), 4 output pixels x 16 channels
 * (contract in kernels.h). Code: qs8-igemm-neon-template.h.
 */
#define RN_QK_DOT 1
#define RN_QK_MR 4
#include "qs8-igemm-neon-template.h"

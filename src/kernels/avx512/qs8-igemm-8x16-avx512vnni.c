/*
 * AVX-512 VNNI int8 convolution microkernel, 8 output pixels x 16 channels
 * (contract in kernels.h): one vpdpbusd per pixel and 4 input channels on
 * activations offset to unsigned, the compensation folded into the packed
 * bias. This folder's AVX-512 flags plus a target attribute for VNNI on the
 * one function (so builds that give this folder the AVX-512 flags, CMake's
 * and lib/sources.mk's, need nothing more); the table takes it only where
 * CPUID reports AVX512_VNNI. Code: ../qs8-igemm-x86-template.h.
 */
#define RN_QK_KIND 3 /* RN_QK_AVX512VNNI */
#define RN_QK_MR 8
#include "../qs8-igemm-x86-template.h"

/*
 * AVX-512 VNNI int8 convolution microkernel, 12 output pixels x 16 channels
 * (contract in kernels.h): one vpdpbusd per pixel and 4 input channels on
 * activations offset to unsigned, the compensation folded into the packed
 * bias. Twelve rows rather than eight: vpdpbusd's latency wants that many
 * independent sums to keep both of Zen 4's pipes busy (ResNet-50's
 * convolutions at batch 1, one thread: 15.7-18.9 ms with 8 rows, 13.8-14.7
 * with 12, busy machine). This folder's AVX-512 flags plus a target attribute for VNNI on the
 * one function (so builds that give this folder the AVX-512 flags, CMake's
 * and lib/sources.mk's, need nothing more); the table takes it only where
 * CPUID reports AVX512_VNNI. Code: ../qs8-igemm-x86-template.h.
 */
#define RN_QK_KIND 3 /* RN_QK_AVX512VNNI */
#define RN_QK_MR 12
#include "../qs8-igemm-x86-template.h"

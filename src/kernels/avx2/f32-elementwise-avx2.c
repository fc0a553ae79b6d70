/*
 * The AVX2 element-wise kernels (contracts in kernels.h): batch-norm
 * statistics, apply, backward sums and input gradient, ReLU and its
 * backward, residual addition, max pool and its backward, 8 channels or
 * elements per vector. One template (../f32-elementwise-x86-template.h)
 * over this ISA's vocabulary (simd-avx2.h).
 */
#include "simd-avx2.h"

#include "../f32-elementwise-x86-template.h"

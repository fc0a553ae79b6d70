/*
 * The AVX-512 element-wise kernels (contracts in kernels.h): batch-norm
 * statistics, apply, backward sums and input gradient, ReLU and its
 * backward, residual addition, max pool and its backward, 16 channels or
 * elements per vector. One template (../f32-elementwise-x86-template.h)
 * over this ISA's vocabulary (simd-avx512.h).
 */
#include "simd-avx512.h"

#include "../f32-elementwise-x86-template.h"

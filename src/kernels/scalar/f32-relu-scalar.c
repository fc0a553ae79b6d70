/*
 * Portable ReLU kernel (contract in kernels.h): y = x < 0 ? 0 : x, which lets
 * NaN through as torch.relu does.
 */
#include "../kernels.h"

void rn_f32_relu__scalar(RN_RELU_ARGS) {
    for (size_t i = 0; i < n; i++) y[i] = x[i] < 0.0f ? 0.0f : x[i];
}

/*
 * Portable ReLU backward kernel (contract in kernels.h): dx = dy where the
 * forward output y > 0, else 0 (PyTorch's threshold_backward on the output).
 */
#include "../kernels.h"

void rn_f32_relu_backward__scalar(RN_RELU_BACKWARD_ARGS) {
    for (size_t i = 0; i < n; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

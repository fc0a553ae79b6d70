/*
 * Portable ReLU backward kernel (contract in kernels.h): dx = g where the
 * forward output y > 0, else 0 (PyTorch's threshold_backward on the output),
 * g = dy or dy + dy2.
 */
#include "../kernels.h"

void rn_f32_relu_backward__scalar(RN_RELU_BACKWARD_ARGS) {
    if (dy2) {
        for (size_t i = 0; i < n; i++) {
            const float g = dy[i] + dy2[i];
            dx[i] = y[i] > 0.0f ? g : 0.0f;
        }
    } else {
        for (size_t i = 0; i < n; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
    }
}

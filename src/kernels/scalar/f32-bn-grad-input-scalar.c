/*
 * Portable batch-norm backward input kernel (contract in kernels.h):
 * dx = a * g - b - k * (x - mean) per channel, with g the (ReLU-masked)
 * output gradient; every product is rounded before it is used.
 */
#include "../kernels.h"

void rn_f32_bn_grad_input__scalar(RN_BN_GRAD_INPUT_ARGS) {
    for (size_t r = 0; r < rows; r++) {
        const size_t base = r * stride;
        for (size_t i = 0; i < nc; i++) {
            const float g =
                rn__bn_relu_passes(relu_y, ma, mb, x, base + i, i) ? dy[base + i] : 0.0f;
            const float ag = a[i] * g, d = x[base + i] - mean[i];
            const float kd = k[i] * d;
            dx[base + i] = (ag - b[i]) - kd;
        }
    }
}

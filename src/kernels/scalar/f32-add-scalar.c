/*
 * Portable residual-addition kernel (contract in kernels.h): y = a + b, then
 * the block's ReLU when asked (NaN passes, as in torch.relu).
 */
#include "../kernels.h"

void rn_f32_add__scalar(RN_ADD_ARGS) {
    if (relu) {
        for (size_t i = 0; i < n; i++) {
            const float v = a[i] + b[i];
            y[i] = v < 0.0f ? 0.0f : v;
        }
    } else {
        for (size_t i = 0; i < n; i++) y[i] = a[i] + b[i];
    }
}

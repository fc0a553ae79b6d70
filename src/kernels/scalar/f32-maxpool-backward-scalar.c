/*
 * Portable max-pool backward window kernel (contract in kernels.h): the
 * window's gradient goes to the cell where the forward maximum was first
 * taken (the same "takes over" rule as the forward kernel).
 */
#include "../kernels.h"

void rn_f32_maxpool_backward__scalar(RN_MAXPOOL_BACKWARD_ARGS) {
    for (size_t i = 0; i < nc; i++) {
        float m = x[i];
        size_t at = 0;
        for (size_t iy = 0; iy < wh; iy++)
            for (size_t ix = 0; ix < ww; ix++) {
                const size_t off = iy * row_stride + ix * pix_stride;
                const float v = x[off + i];
                if (v > m || (v != v && m == m)) m = v, at = off;
            }
        dx[at + i] += g[i];
    }
}

/*
 * Portable max-pool window kernel (contract in kernels.h): the first maximum
 * of the window in cell order, NaN taking over any number.
 */
#include "../kernels.h"

void rn_f32_maxpool__scalar(RN_MAXPOOL_ARGS) {
    for (size_t i = 0; i < nc; i++) {
        float m = x[i];
        for (size_t iy = 0; iy < wh; iy++)
            for (size_t ix = 0; ix < ww; ix++) {
                const float v = x[iy * row_stride + ix * pix_stride + i];
                if (v > m || (v != v && m == m)) m = v;
            }
        y[i] = m;
    }
}

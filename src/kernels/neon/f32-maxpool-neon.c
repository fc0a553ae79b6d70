/*
 * NEON max-pool window kernel (contract in kernels.h), 4 channels per
 * vector (maxpool-neon.h); the last nc % 4 channels take the scalar kernel.
 */
#include "maxpool-neon.h"

#include "../kernels.h"

void rn_f32_maxpool__neon(RN_MAXPOOL_ARGS) {
    const size_t nc4 = nc & ~(size_t)3;
    for (size_t c0 = 0; c0 < nc4; c0 += 4)
        vst1q_f32(y + c0, rn__window_max_neon(x + c0, wh, ww, row_stride, pix_stride));
    if (nc4 < nc)
        rn_f32_maxpool__scalar(nc - nc4, wh, ww, x + nc4, row_stride, pix_stride, y + nc4);
}

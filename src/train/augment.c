/*
 * The paper's augmentation (section 4.2, after Lee et al.): each image is
 * padded with `pad` pixels on every side, a crop of the original size is
 * taken at a random offset, and it is flipped horizontally with probability
 * one half. Drawing the parameters is separate from applying them, so the
 * random draws happen in a fixed order on one thread and the copying may run
 * on many without changing a bit.
 *
 * Padding is zero in the normalised image, i.e. the (per-pixel or channel)
 * mean: torchvision's RandomCrop(padding=4) pads black before Normalize;
 * mean-subtracted pipelines (the paper's Caffe one) pad after it, as here.
 */
#include "train-internal.h"

void rn__augment_draw(uint64_t s[4], int64_t n, int32_t pad, int32_t flip, int32_t *params) {
    uint64_t span = (uint64_t)(2 * pad + 1);
    for (int64_t i = 0; i < n; i++) {
        params[3 * i + 0] = (int32_t)rn__rng_below(s, span);
        params[3 * i + 1] = (int32_t)rn__rng_below(s, span);
        params[3 * i + 2] = flip ? (int32_t)(rn__rng_next(s) >> 63) : 0;
    }
}

typedef struct augment_job {
    const float *src;
    float *dst;
    int64_t h, w, c;
    int32_t pad;
    const int32_t *params;
} augment_job;

static void augment_one(void *arg, size_t i) {
    const augment_job *j = (const augment_job *)arg;
    int64_t h = j->h, w = j->w, c = j->c;
    size_t image = (size_t)(h * w * c);
    const float *src = j->src + i * image;
    float *dst = j->dst + i * image;
    /* crop origin in the unpadded image: may be negative (into the padding) */
    int64_t oy = (int64_t)j->params[3 * i] - j->pad, ox = (int64_t)j->params[3 * i + 1] - j->pad;
    int32_t flip = j->params[3 * i + 2];
    for (int64_t y = 0; y < h; y++) {
        int64_t sy = y + oy;
        float *row = dst + (size_t)(y * w * c);
        if (sy < 0 || sy >= h) {
            rn_memset(row, 0, (size_t)(w * c) * sizeof(float));
            continue;
        }
        for (int64_t x = 0; x < w; x++) {
            int64_t sx = (flip ? w - 1 - x : x) + ox;
            float *px = row + (size_t)(x * c);
            if (sx < 0 || sx >= w)
                rn_memset(px, 0, (size_t)c * sizeof(float));
            else
                rn_memcpy(px, src + (size_t)((sy * w + sx) * c), (size_t)c * sizeof(float));
        }
    }
}

void rn__augment_apply(const rn_ctx *ctx, const float *src, float *dst, int64_t n, int64_t h,
                       int64_t w, int64_t c, int32_t pad, const int32_t *params) {
    augment_job job = {src, dst, h, w, c, pad, params};
    rn__parallel_for(ctx, (size_t)n, augment_one, &job);
}

rn_status rn_augment_draw(uint64_t state[4], int64_t n, int32_t pad, int32_t flip, int32_t *params,
                          size_t params_count) {
    if (!state || !params || !rn__rng_state_valid(state) || n < 1 || pad < 0 ||
        pad > RN_TRAIN_MAX_PAD || (flip != 0 && flip != 1) || (uint64_t)n > SIZE_MAX / 3 ||
        params_count != (size_t)n * 3)
        return RN_E_INVALID_ARG;
    rn__augment_draw(state, n, pad, flip, params);
    return RN_OK;
}

rn_status rn_augment_apply(rn_ctx *ctx, const float *src, float *dst, int64_t n, int64_t h,
                           int64_t w, int64_t c, int32_t pad, const int32_t *params,
                           size_t params_count) {
    static const char fn[] = "rn_augment_apply";
    if (!ctx) return RN_E_INVALID_ARG;
    if (!src || !dst || !params) return rn__error(ctx, RN_E_INVALID_ARG, "%s: NULL argument", fn);
    if (rn__numel4(n, h, w, c) < 0)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: dims (%lld,%lld,%lld,%lld) are not valid", fn,
                         (long long)n, (long long)h, (long long)w, (long long)c);
    if (pad < 0 || pad > RN_TRAIN_MAX_PAD)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: pad %d is outside [0, %d]", fn, (int)pad,
                         RN_TRAIN_MAX_PAD);
    if ((uint64_t)n > SIZE_MAX / 3 || params_count != (size_t)n * 3)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: params has %zu values, %lld images need %lld",
                         fn, params_count, (long long)n, (long long)(3 * n));
    if (src == dst) return rn__error(ctx, RN_E_INVALID_ARG, "%s: src and dst must differ", fn);
    for (int64_t i = 0; i < n; i++) {
        const int32_t *p = params + 3 * i;
        if (p[0] < 0 || p[0] > 2 * pad || p[1] < 0 || p[1] > 2 * pad || (p[2] != 0 && p[2] != 1))
            return rn__error(ctx, RN_E_INVALID_ARG,
                             "%s: image %lld: offsets (%d, %d) must be in [0, %d] and flip "
                             "0 or 1 (got %d)",
                             fn, (long long)i, (int)p[0], (int)p[1], 2 * (int)pad, (int)p[2]);
    }
    rn__augment_apply(ctx, src, dst, n, h, w, c, pad, params);
    rn__clear_error(ctx);
    return RN_OK;
}

/*
 * Tensors: 4-D float32 NHWC, owned or wrapping a caller's buffer, and the
 * NCHW <-> NHWC conversions used at the API edge.
 */
#include "internal.h"

int64_t rn__numel4(int64_t n, int64_t h, int64_t w, int64_t c) {
    int64_t d[4] = {n, h, w, c}, total = 1;
    for (int i = 0; i < 4; i++) {
        if (d[i] < 1 || d[i] > RN_TENSOR_MAX_ELEMENTS) return -1;
        if (total > RN_TENSOR_MAX_ELEMENTS / d[i]) return -1;
        total *= d[i];
    }
    return total;
}

const char *rn__shape_str(const rn_tensor *t, char *buf, size_t cap) {
#ifdef RN_HAVE_VSNPRINTF
    if (!t)
        snprintf(buf, cap, "(null)");
    else
        snprintf(buf, cap, "(%lld,%lld,%lld,%lld)", (long long)t->dims[0], (long long)t->dims[1],
                 (long long)t->dims[2], (long long)t->dims[3]);
#else
    (void)t;
    if (cap) buf[0] = '\0';
#endif
    return buf;
}

static rn_status check_dims(rn_ctx *ctx, const char *fn, int64_t n, int64_t h, int64_t w,
                            int64_t c) {
    if (n < 1 || h < 1 || w < 1 || c < 1)
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: every dim must be >= 1, got (%lld,%lld,%lld,%lld)", fn, (long long)n,
                         (long long)h, (long long)w, (long long)c);
    if (rn__numel4(n, h, w, c) < 0)
        return rn__error(ctx, RN_E_OVERFLOW,
                         "%s: (%lld,%lld,%lld,%lld) exceeds RN_TENSOR_MAX_ELEMENTS", fn,
                         (long long)n, (long long)h, (long long)w, (long long)c);
    return RN_OK;
}

static rn_status make(rn_ctx *ctx, int64_t n, int64_t h, int64_t w, int64_t c, float *data,
                      rn_tensor **out, const char *fn) {
    rn_status st = check_dims(ctx, fn, n, h, w, c);
    if (st) return st;
    rn_tensor *t = (rn_tensor *)rn__alloc(ctx, sizeof *t);
    if (!t) return rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory for the tensor", fn);
    t->ctx = ctx;
    t->dims[0] = n, t->dims[1] = h, t->dims[2] = w, t->dims[3] = c;
    t->owns = data == NULL;
    if (!data) {
        size_t count = (size_t)rn__numel4(n, h, w, c), bytes;
        if (!rn__mul_size(count, sizeof(float), &bytes) ||
            !(data = (float *)rn__calloc(ctx, count, sizeof(float)))) {
            rn__free(ctx, t);
            return rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory for %zu floats", fn, count);
        }
    }
    t->data = data;
    *out = t;
    return RN_OK;
}

rn_status rn_tensor_create(rn_ctx *ctx, int64_t n, int64_t h, int64_t w, int64_t c,
                           rn_tensor **out) {
    if (!ctx || !out) return rn__error(ctx, RN_E_INVALID_ARG, "rn_tensor_create: NULL argument");
    return make(ctx, n, h, w, c, NULL, out, "rn_tensor_create");
}

rn_status rn_tensor_wrap(rn_ctx *ctx, int64_t n, int64_t h, int64_t w, int64_t c, float *data,
                         rn_tensor **out) {
    if (!ctx || !out || !data)
        return rn__error(ctx, RN_E_INVALID_ARG, "rn_tensor_wrap: NULL argument");
    if ((uintptr_t)data % sizeof(float))
        return rn__error(ctx, RN_E_INVALID_ARG, "rn_tensor_wrap: data is not 4-byte aligned");
    return make(ctx, n, h, w, c, data, out, "rn_tensor_wrap");
}

void rn_tensor_destroy(rn_tensor *t) {
    if (!t) return;
    rn_ctx *ctx = t->ctx;
    /* free in reverse order of allocation so arena contexts reclaim both */
    if (t->owns) {
        float *d = t->data;
        rn__free(ctx, d);
        rn__free(ctx, t);
    } else {
        rn__free(ctx, t);
    }
}

rn_status rn_tensor_shape(const rn_tensor *t, int64_t dims[4]) {
    if (!t) return RN_E_INVALID_ARG;
    if (!dims) return rn__error(t->ctx, RN_E_INVALID_ARG, "rn_tensor_shape: dims is NULL");
    for (int i = 0; i < 4; i++) dims[i] = t->dims[i];
    return RN_OK;
}

int64_t rn_tensor_numel(const rn_tensor *t) {
    return t ? t->dims[0] * t->dims[1] * t->dims[2] * t->dims[3] : 0;
}
float *rn_tensor_data(rn_tensor *t) { return t ? t->data : NULL; }
const float *rn_tensor_data_const(const rn_tensor *t) { return t ? t->data : NULL; }

rn_status rn_tensor_fill(rn_tensor *t, float value) {
    if (!t) return RN_E_INVALID_ARG;
    size_t n = (size_t)rn_tensor_numel(t);
    for (size_t i = 0; i < n; i++) t->data[i] = value;
    return RN_OK;
}

rn_status rn_tensor_copy(rn_tensor *dst, const rn_tensor *src) {
    if (!dst) return RN_E_INVALID_ARG;
    if (!src) return rn__error(dst->ctx, RN_E_INVALID_ARG, "rn_tensor_copy: src is NULL");
    for (int i = 0; i < 4; i++)
        if (dst->dims[i] != src->dims[i]) {
            char a[64], b[64];
            return rn__error(dst->ctx, RN_E_INVALID_ARG,
                             "rn_tensor_copy: dst shape %s differs from src shape %s",
                             rn__shape_str(dst, a, sizeof a), rn__shape_str(src, b, sizeof b));
        }
    if (dst->data != src->data)
        rn_memmove(dst->data, src->data, (size_t)rn_tensor_numel(src) * sizeof(float));
    return RN_OK;
}

void rn__nchw_to_nhwc(const float *src, float *dst, size_t n, size_t h, size_t w, size_t c) {
    for (size_t i = 0; i < n; i++)
        for (size_t ch = 0; ch < c; ch++) {
            const float *plane = src + (i * c + ch) * h * w;
            float *out = dst + i * h * w * c + ch;
            for (size_t p = 0; p < h * w; p++) out[p * c] = plane[p];
        }
}

void rn__nhwc_to_nchw(const float *src, float *dst, size_t n, size_t h, size_t w, size_t c) {
    for (size_t i = 0; i < n; i++)
        for (size_t ch = 0; ch < c; ch++) {
            float *plane = dst + (i * c + ch) * h * w;
            const float *in = src + i * h * w * c + ch;
            for (size_t p = 0; p < h * w; p++) plane[p] = in[p * c];
        }
}

rn_status rn_nchw_to_nhwc(const float *src, float *dst, int64_t n, int64_t c, int64_t h,
                          int64_t w) {
    if (!src || !dst || src == dst || rn__numel4(n, c, h, w) < 0) return RN_E_INVALID_ARG;
    rn__nchw_to_nhwc(src, dst, (size_t)n, (size_t)h, (size_t)w, (size_t)c);
    return RN_OK;
}

rn_status rn_nhwc_to_nchw(const float *src, float *dst, int64_t n, int64_t h, int64_t w,
                          int64_t c) {
    if (!src || !dst || src == dst || rn__numel4(n, h, w, c) < 0) return RN_E_INVALID_ARG;
    rn__nhwc_to_nchw(src, dst, (size_t)n, (size_t)h, (size_t)w, (size_t)c);
    return RN_OK;
}

rn_status rn__check_layout(const rn_ctx *ctx, const char *fn, int32_t layout) {
    if (layout == RN_LAYOUT_NCHW || layout == RN_LAYOUT_NHWC) return RN_OK;
    return rn__error(ctx, RN_E_INVALID_ARG,
                     "%s: layout %d is neither RN_LAYOUT_NHWC (0) nor RN_LAYOUT_NCHW (1)", fn,
                     (int)layout);
}

static rn_status check_io(const rn_tensor *t, const void *p, size_t count, int32_t layout,
                          const char *fn) {
    if (!t || !p) return rn__error(t ? t->ctx : NULL, RN_E_INVALID_ARG, "%s: NULL argument", fn);
    if (layout != RN_LAYOUT_NCHW && layout != RN_LAYOUT_NHWC)
        return rn__error(t->ctx, RN_E_INVALID_ARG, "%s: layout %d is neither NCHW (1) nor NHWC (0)",
                         fn, (int)layout);
    if ((int64_t)count != rn_tensor_numel(t))
        return rn__error(t->ctx, RN_E_INVALID_ARG, "%s: count %zu differs from the tensor's %lld",
                         fn, count, (long long)rn_tensor_numel(t));
    return RN_OK;
}

rn_status rn_tensor_read(rn_tensor *t, const float *src, size_t count, int32_t layout) {
    rn_status st = check_io(t, src, count, layout, "rn_tensor_read");
    if (st) return st;
    if (layout == RN_LAYOUT_NHWC)
        rn_memmove(t->data, src, count * sizeof(float));
    else
        rn_nchw_to_nhwc(src, t->data, t->dims[0], t->dims[3], t->dims[1], t->dims[2]);
    return RN_OK;
}

rn_status rn_tensor_write(const rn_tensor *t, float *dst, size_t count, int32_t layout) {
    rn_status st = check_io(t, dst, count, layout, "rn_tensor_write");
    if (st) return st;
    if (layout == RN_LAYOUT_NHWC)
        rn_memmove(dst, t->data, count * sizeof(float));
    else
        rn_nhwc_to_nchw(t->data, dst, t->dims[0], t->dims[1], t->dims[2], t->dims[3]);
    return RN_OK;
}

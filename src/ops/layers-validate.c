/*
 * Argument checks shared by the public layer functions: NULLs, shapes, dims
 * that must fit the int32 descriptors, stride / pad / kernel ranges, outputs
 * overlapping inputs, and the workspace allocation.
 */
#include "layers-validate.h"

/* A tensor given where one is required; its element count must fit size_t. */
rn_status rn__check_tensor(const rn_ctx *ctx, const char *fn, const char *name,
                           const rn_tensor *t) {
    if (!t) return rn__error(ctx, RN_E_INVALID_ARG, "%s: %s is NULL", fn, name);
    if ((uint64_t)rn_tensor_numel(t) > (uint64_t)(SIZE_MAX / sizeof(float))) {
        char s[96];
        return rn__error(ctx, RN_E_OVERFLOW, "%s: %s of shape %s does not fit in memory", fn, name,
                         rn__shape_str(t, s, sizeof s));
    }
    return RN_OK;
}

rn_status rn__check_shape(const rn_ctx *ctx, const char *fn, const char *name, const rn_tensor *t,
                          int64_t n, int64_t h, int64_t w, int64_t c) {
    rn_status st = rn__check_tensor(ctx, fn, name, t);
    if (st) return st;
    if (t->dims[0] != n || t->dims[1] != h || t->dims[2] != w || t->dims[3] != c) {
        char s[96];
        return rn__error(
            ctx, RN_E_INVALID_ARG, "%s: %s has shape %s, expected (%lld,%lld,%lld,%lld)", fn, name,
            rn__shape_str(t, s, sizeof s), (long long)n, (long long)h, (long long)w, (long long)c);
    }
    return RN_OK;
}

rn_status rn__check_same_shape(const rn_ctx *ctx, const char *fn, const char *name,
                               const rn_tensor *t, const rn_tensor *like) {
    return rn__check_shape(ctx, fn, name, t, like->dims[0], like->dims[1], like->dims[2],
                           like->dims[3]);
}

/* The internal descriptors hold int32 dims. */
rn_status rn__check_int32_dims(const rn_ctx *ctx, const char *fn, const char *name,
                               const rn_tensor *t) {
    for (int i = 0; i < 4; i++)
        if (t->dims[i] > INT32_MAX) {
            char s[96];
            return rn__error(ctx, RN_E_OVERFLOW,
                             "%s: %s has shape %s; dims above 2147483647 are not supported", fn,
                             name, rn__shape_str(t, s, sizeof s));
        }
    return RN_OK;
}

rn_status rn__check_stride_pad(const rn_ctx *ctx, const char *fn, int32_t sh, int32_t sw,
                               int32_t ph, int32_t pw) {
    if (sh < 1 || sw < 1)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: stride (%d,%d) must be >= 1", fn, (int)sh,
                         (int)sw);
    if (ph < 0 || pw < 0)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: padding (%d,%d) must be >= 0", fn, (int)ph,
                         (int)pw);
    return RN_OK;
}

static int overlaps(const rn_tensor *a, const rn_tensor *b) {
    uintptr_t a0 = (uintptr_t)a->data, b0 = (uintptr_t)b->data;
    uintptr_t a1 = a0 + (size_t)rn_tensor_numel(a) * sizeof(float);
    uintptr_t b1 = b0 + (size_t)rn_tensor_numel(b) * sizeof(float);
    return a0 < b1 && b0 < a1;
}

/* Outputs must not overlap one another nor any input, except an exact
 * in-place use where both sides allow it. NULL entries are skipped. */
rn_status rn__check_no_overlap(const rn_ctx *ctx, const char *fn, const rn_role *outs, size_t nout,
                               const rn_role *ins, size_t nin) {
    for (size_t i = 0; i < nout; i++) {
        if (!outs[i].t) continue;
        for (size_t k = i + 1; k < nout; k++)
            if (outs[k].t && overlaps(outs[i].t, outs[k].t))
                return rn__error(ctx, RN_E_INVALID_ARG, "%s: outputs %s and %s overlap in memory",
                                 fn, outs[i].name, outs[k].name);
        for (size_t k = 0; k < nin; k++) {
            if (!ins[k].t || !overlaps(outs[i].t, ins[k].t)) continue;
            if (outs[i].inplace && ins[k].inplace && outs[i].t->data == ins[k].t->data &&
                rn_tensor_numel(outs[i].t) == rn_tensor_numel(ins[k].t))
                continue;
            return rn__error(ctx, RN_E_INVALID_ARG, "%s: output %s overlaps input %s in memory", fn,
                             outs[i].name, ins[k].name);
        }
    }
    return RN_OK;
}

rn_status rn__alloc_workspace(rn_ctx *ctx, const char *fn, size_t bytes, void **out) {
    if (bytes == SIZE_MAX)
        return rn__error(ctx, RN_E_OVERFLOW, "%s: the workspace size overflows size_t", fn);
    *out = rn__alloc(ctx, bytes);
    if (!*out)
        return rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory for %zu bytes of workspace", fn,
                         bytes);
    return RN_OK;
}

rn_status rn__make_conv_desc(const rn_ctx *ctx, const char *fn, const char *in_name,
                             const rn_tensor *in, const char *wt_name, const rn_tensor *wt,
                             int32_t sh, int32_t sw, int32_t ph, int32_t pw, rn_conv_desc *d) {
    if (wt->dims[3] != in->dims[3]) {
        char a[96], b[96];
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: %s has shape %s but %s has shape %s: their channel counts differ", fn,
                         wt_name, rn__shape_str(wt, a, sizeof a), in_name,
                         rn__shape_str(in, b, sizeof b));
    }
    RN_TRY(rn__check_stride_pad(ctx, fn, sh, sw, ph, pw));
    RN_TRY(rn__check_int32_dims(ctx, fn, "the input", in));
    RN_TRY(rn__check_int32_dims(ctx, fn, "the weight", wt));
    d->n = (int32_t)in->dims[0], d->h = (int32_t)in->dims[1], d->w = (int32_t)in->dims[2];
    d->c = (int32_t)in->dims[3];
    d->oc = (int32_t)wt->dims[0], d->kh = (int32_t)wt->dims[1], d->kw = (int32_t)wt->dims[2];
    d->sh = sh, d->sw = sw, d->ph = ph, d->pw = pw;
    if (!rn__conv_desc_init(d))
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: kernel %dx%d with padding (%d,%d) does not fit the %dx%d input "
                         "(or the output would exceed 2147483647)",
                         fn, (int)d->kh, (int)d->kw, (int)ph, (int)pw, (int)d->h, (int)d->w);
    return RN_OK;
}

rn_status rn__check_bn_scalars(const rn_ctx *ctx, const char *fn, float momentum, float eps,
                               int check_momentum) {
    if (check_momentum && !(momentum >= 0.0f && momentum <= 1.0f))
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: momentum %g is outside [0, 1]", fn,
                         (double)momentum);
    if (!(eps >= 0.0f && eps <= FLT_MAX))
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: eps %g must be finite and >= 0", fn,
                         (double)eps);
    return RN_OK;
}

rn_status rn__make_pool_desc(const rn_ctx *ctx, const char *fn, const rn_tensor *x, int32_t kh,
                             int32_t kw, int32_t sh, int32_t sw, int32_t ph, int32_t pw,
                             rn_pool_desc *d) {
    if (kh < 1 || kw < 1)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: kernel (%d,%d) must be >= 1", fn, (int)kh,
                         (int)kw);
    RN_TRY(rn__check_stride_pad(ctx, fn, sh, sw, ph, pw));
    if (ph >= kh || pw >= kw)
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: padding (%d,%d) must be smaller than the kernel (%d,%d), so that "
                         "every window holds a real cell",
                         fn, (int)ph, (int)pw, (int)kh, (int)kw);
    RN_TRY(rn__check_int32_dims(ctx, fn, "x", x));
    d->n = (int32_t)x->dims[0], d->h = (int32_t)x->dims[1], d->w = (int32_t)x->dims[2];
    d->c = (int32_t)x->dims[3];
    d->kh = kh, d->kw = kw, d->sh = sh, d->sw = sw, d->ph = ph, d->pw = pw;
    if (!rn__pool_desc_init(d))
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: kernel %dx%d with padding (%d,%d) does not fit the %dx%d input", fn,
                         (int)kh, (int)kw, (int)ph, (int)pw, (int)d->h, (int)d->w);
    return RN_OK;
}

/* x is (N,H,W,C) read as N rows of IN = H*W*C; w must be (OUT,1,1,IN). */
rn_status rn__check_linear_w(const rn_ctx *ctx, const char *fn, const char *name,
                             const rn_tensor *w, const rn_tensor *x) {
    RN_TRY(rn__check_tensor(ctx, fn, name, w));
    int64_t in = x->dims[1] * x->dims[2] * x->dims[3];
    if (w->dims[1] != 1 || w->dims[2] != 1 || w->dims[3] != in) {
        char a[96], b[96];
        return rn__error(
            ctx, RN_E_INVALID_ARG, "%s: %s has shape %s, expected (OUT,1,1,%lld) for x %s", fn,
            name, rn__shape_str(w, a, sizeof a), (long long)in, rn__shape_str(x, b, sizeof b));
    }
    return RN_OK;
}

/* big (N, ceil(H/s), ceil(W/s), OC) against small (N,H,W,C), OC >= C */
rn_status rn__check_shortcut(const rn_ctx *ctx, const char *fn, const char *big_name,
                             const rn_tensor *big, const rn_tensor *small, int32_t stride) {
    if (stride < 1)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: stride %d must be >= 1", fn, (int)stride);
    int64_t oh = (small->dims[1] + stride - 1) / stride,
            ow = (small->dims[2] + stride - 1) / stride;
    if (big->dims[0] != small->dims[0] || big->dims[1] != oh || big->dims[2] != ow ||
        big->dims[3] < small->dims[3]) {
        char a[96], b[96];
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: %s has shape %s, expected (%lld,%lld,%lld,OC) with OC >= %lld for "
                         "input %s and stride %d",
                         fn, big_name, rn__shape_str(big, a, sizeof a), (long long)small->dims[0],
                         (long long)oh, (long long)ow, (long long)small->dims[3],
                         rn__shape_str(small, b, sizeof b), (int)stride);
    }
    return RN_OK;
}

rn_status rn__check_xent(const rn_ctx *ctx, const char *fn, const rn_tensor *logits,
                         const int32_t *labels, size_t num_labels) {
    RN_TRY(rn__check_tensor(ctx, fn, "logits", logits));
    if (logits->dims[1] != 1 || logits->dims[2] != 1) {
        char s[96];
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: logits has shape %s, expected (N,1,1,K)", fn,
                         rn__shape_str(logits, s, sizeof s));
    }
    if (!labels) return rn__error(ctx, RN_E_INVALID_ARG, "%s: labels is NULL", fn);
    if ((uint64_t)num_labels != (uint64_t)logits->dims[0]) {
        char s[96];
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: num_labels is %zu but logits has shape %s (N = %lld)", fn, num_labels,
                         rn__shape_str(logits, s, sizeof s), (long long)logits->dims[0]);
    }
    for (size_t i = 0; i < num_labels; i++)
        if (labels[i] < 0 || (int64_t)labels[i] >= logits->dims[3])
            return rn__error(ctx, RN_E_INVALID_ARG, "%s: labels[%zu] = %d is outside [0, %lld)", fn,
                             i, (int)labels[i], (long long)logits->dims[3]);
    return RN_OK;
}

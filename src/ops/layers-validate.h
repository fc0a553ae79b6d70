/*
 * Argument checks shared by the public layer functions (layers-api.c and
 * layers-api-backward.c). Each check returns RN_OK or records a sentence that
 * names the function, the argument and both shapes, and returns the status.
 * Private to src/ops.
 */
#ifndef RN_LAYERS_VALIDATE_H
#define RN_LAYERS_VALIDATE_H

#include "ops.h"

/* A tensor's role in the overlap check: `inplace` marks an elementwise output
 * that may be exactly the same buffer as an input also marked `inplace`. */
typedef struct rn_role {
    const char *name;
    const rn_tensor *t;
    int inplace;
} rn_role;

#define RN_NROLES(a) (sizeof(a) / sizeof((a)[0]))

static inline size_t rn__rows_of(const rn_tensor *t) {
    return (size_t)t->dims[0] * (size_t)t->dims[1] * (size_t)t->dims[2];
}

/* Success: clear the last error, as every public call that succeeds does. */
static inline rn_status rn__done(rn_ctx *ctx) {
    rn__clear_error(ctx);
    return RN_OK;
}

/* A tensor given where one is required; its element count must fit size_t. */
rn_status rn__check_tensor(const rn_ctx *ctx, const char *fn, const char *name, const rn_tensor *t);

rn_status rn__check_shape(const rn_ctx *ctx, const char *fn, const char *name, const rn_tensor *t,
                          int64_t n, int64_t h, int64_t w, int64_t c);

rn_status rn__check_same_shape(const rn_ctx *ctx, const char *fn, const char *name,
                               const rn_tensor *t, const rn_tensor *like);

/* The internal descriptors hold int32 dims. */
rn_status rn__check_int32_dims(const rn_ctx *ctx, const char *fn, const char *name,
                               const rn_tensor *t);

rn_status rn__check_stride_pad(const rn_ctx *ctx, const char *fn, int32_t sh, int32_t sw,
                               int32_t ph, int32_t pw);

/* Outputs must not overlap one another nor any input, except an exact
 * in-place use where both sides allow it. NULL entries are skipped. */
rn_status rn__check_no_overlap(const rn_ctx *ctx, const char *fn, const rn_role *outs, size_t nout,
                               const rn_role *ins, size_t nin);

rn_status rn__alloc_workspace(rn_ctx *ctx, const char *fn, size_t bytes, void **out);

/* Fill a descriptor from input (n,h,w,c) and weight (oc,kh,kw,c) dims, both
 * checked tensors: their channel counts must agree (the names are the
 * caller's, for the sentence), the strides and padding be valid and the
 * window fit. */
rn_status rn__make_conv_desc(const rn_ctx *ctx, const char *fn, const char *in_name,
                             const rn_tensor *in, const char *wt_name, const rn_tensor *wt,
                             int32_t sh, int32_t sw, int32_t ph, int32_t pw, rn_conv_desc *d);

rn_status rn__check_bn_scalars(const rn_ctx *ctx, const char *fn, float momentum, float eps,
                               int check_momentum);

rn_status rn__make_pool_desc(const rn_ctx *ctx, const char *fn, const rn_tensor *x, int32_t kh,
                             int32_t kw, int32_t sh, int32_t sw, int32_t ph, int32_t pw,
                             rn_pool_desc *d);

/* x is (N,H,W,C) read as N rows of IN = H*W*C; w must be (OUT,1,1,IN). */
rn_status rn__check_linear_w(const rn_ctx *ctx, const char *fn, const char *name,
                             const rn_tensor *w, const rn_tensor *x);

/* big (N, ceil(H/s), ceil(W/s), OC) against small (N,H,W,C), OC >= C */
rn_status rn__check_shortcut(const rn_ctx *ctx, const char *fn, const char *big_name,
                             const rn_tensor *big, const rn_tensor *small, int32_t stride);

rn_status rn__check_xent(const rn_ctx *ctx, const char *fn, const rn_tensor *logits,
                         const int32_t *labels, size_t num_labels);

#endif /* RN_LAYERS_VALIDATE_H */

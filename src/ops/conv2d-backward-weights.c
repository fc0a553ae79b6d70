/*
 * Convolution backward-weights: dW[oc x K] = sum over output pixels of
 * dy[pixel]^T x col[pixel], and the bias gradient (column sums of dy,
 * rn__column_sums: one task per channel block walking the pixels in order
 * in double).
 *
 * Two paths, chosen by shape only (never by thread count or ISA) in
 * src/ops/conv2d-algo.c:
 *
 * Tap by tap (every convolution with a multiple of 16 output channels, at
 * most 64 taps and a dW of at most 2^20 floats, except 1x1 ones whose dW is
 * large for their pixels and wide windows over few input channels):
 * for each tap (ky, kx), the
 * output pixels whose input pixel lies inside the image form a rectangle,
 * so the weight-gradient
 * microkernel sums dy (MR output channels) times the input rows (NR input
 * channels) over that rectangle straight from the two tensors: no column
 * buffer and no padding. The images are split into at most RN_WGRAD_GROUPS
 * fixed groups (a function of the shape), each summed in image order, band
 * of rows by band, into its own partial dW in the workspace; the partials
 * are then added in group order. The sums therefore do not depend on the
 * thread count, and a band's dy and x stay in cache while all its taps are
 * taken. A 3x3 stride-1 convolution with padding 1, on a table with the
 * row kernel (rn_wgrad3_ukernel_fn), takes the three taps of a window row
 * per call, each over the same rectangle in the same order: the same bits.
 *
 * im2col (larger weights, larger windows, output channel counts that are
 * not a multiple of 16): per chunk of output pixels in chunk order,
 * dW += dy_chunk^T * col_chunk (the GEMM's accumulate flag), so the sum's
 * order is fixed by the chunking alone. See conv2d-common.h.
 */
#include "conv2d-common.h"
#include "../kernels/kernels.h"

/* Fixed image groups of the tap-by-tap path (at most one per image, and
 * at most RN_WGRAD_PARTIAL_FLOATS floats of partial sums in all). */
#define RN_WGRAD_GROUPS 16
#define RN_WGRAD_PARTIAL_FLOATS ((size_t)1 << 22)
/* Which shapes go tap by tap (dW size, windows, output-channel multiple,
 * 1x1 convolutions whose dW is large for their pixels, wide windows over
 * few input channels) is rn__conv_choose's call: src/ops/conv2d-algo.c,
 * whose largest dW (2^20 floats) keeps 4 groups within the partial sums. */
/* Bytes of dy and input rows a band of output rows holds (within L2). */
#define RN_WGRAD_BAND_BYTES ((size_t)256 << 10)
/* Elements of dW per task of the partial-sum reduction. */
#define RN_WGRAD_REDUCE_BLOCK ((size_t)1 << 12)

/* ---- tap by tap -------------------------------------------------------------------- */
static int by_taps(const rn_conv_desc *d) {
    return rn__conv_plain_algo(d, RN_CONV_PASS_BACKWARD_WEIGHTS) == RN_CONV_ALGO_TAPS;
}

static size_t groups_for(const rn_conv_desc *d) {
    size_t g = RN_WGRAD_PARTIAL_FLOATS / ((size_t)d->oc * rn__conv_k(d));
    if (g > RN_WGRAD_GROUPS) g = RN_WGRAD_GROUPS;
    return (size_t)d->n < g ? (size_t)d->n : g;
}

typedef struct wgrad_job {
    const rn_conv_desc *d;
    rn_wgrad_ukernel_fn fn;
    rn_wgrad3_ukernel_fn fn3; /* the row kernel, for 3x3 stride 1 padding 1 */
    int32_t window;           /* by window rows (rn__conv_wgrad_window) */
    size_t mr, nr, k, groups, dw_floats, row_floats;
    const float *x, *dy;
    float *part, *dw, *rows; /* rows: a padded input row per group (window rows) */
} wgrad_job;

/* [lo, hi) of output positions o with o * s - p + kpos inside [0, in) */
static void valid_range(int64_t out, int64_t in, int64_t s, int64_t p, int64_t kpos, int64_t *lo,
                        int64_t *hi) {
    int64_t first = p - kpos > 0 ? (p - kpos + s - 1) / s : 0;
    int64_t last = in - 1 + p - kpos; /* o * s <= last */
    *lo = first;
    *hi = last < 0 ? 0 : last / s + 1;
    if (*hi > out) *hi = out;
}

/* The taps (ky, 0..2) of a 3x3 stride-1 convolution with padding 1 over
 * output rows [y0, y1) of one image into a group's partial dW, by the row
 * kernel: the same sums, in the same order, as the tap-by-tap kernel over
 * each tap's rectangle. */
static void row_taps(const wgrad_job *j, const float *img, const float *gimg, int64_t ky,
                     int64_t y0, int64_t y1, float *part) {
    const rn_conv_desc *d = j->d;
    const size_t c = (size_t)d->c, oc = (size_t)d->oc, w = (size_t)d->w, ow = (size_t)d->ow;
    const size_t iy = (size_t)(y0 - d->ph + ky);
    const float *a = gimg + (size_t)y0 * ow * oc, *b = img + iy * w * c;
    for (size_t c0 = 0; c0 < c; c0 += j->nr) {
        const size_t nc = c - c0 < j->nr ? c - c0 : j->nr;
        for (size_t o0 = 0; o0 < oc; o0 += j->mr)
            j->fn3(nc, (size_t)(y1 - y0), ow, a + o0, ow * oc, oc, b + c0, w * c, c,
                   part + o0 * j->k + (size_t)ky * 3 * c + c0, j->k, c);
    }
}

/* 3x3, stride 1, padding 1 (oh = h, ow = w): the row kernel where the
 * table has one; its MR divides the 16 output channels the path takes */
int rn__conv_wgrad_rows(const struct rn_kernels *kt, const rn_conv_desc *d) {
    return kt->wgrad3 && d->kh == 3 && d->kw == 3 && d->sh == 1 && d->sw == 1 && d->ph == 1 &&
           d->pw == 1 && d->oh == d->h && d->ow == d->w && d->oc % kt->wgrad3_mr == 0;
}

/* By window rows: for each output row and each window row ky, the input row
 * copied with its zero padding, so that output pixel q's window row is the
 * kw x c contiguous floats at q * sw * c; the kernel sums dy (MR output
 * channels) times those floats (NR at a time) along the output row. Each
 * dW element adds its pixels in (image, row, pixel) order; the padding
 * contributes products with zeros, as im2col's columns do. */
static void window_rows(const wgrad_job *j, size_t n0, size_t n1, float *part, float *row) {
    const rn_conv_desc *d = j->d;
    const size_t c = (size_t)d->c, oc = (size_t)d->oc, w = (size_t)d->w, ow = (size_t)d->ow;
    const size_t len = (size_t)d->kw * c, pad = (size_t)d->pw * c;
    for (size_t n = n0; n < n1; n++)
        for (int64_t oy = 0; oy < d->oh; oy++) {
            const float *a = j->dy + (n * (size_t)d->oh + (size_t)oy) * ow * oc;
            for (int64_t ky = 0; ky < d->kh; ky++) {
                const int64_t iy = oy * d->sh - d->ph + ky;
                if (iy < 0 || iy >= d->h) continue;
                rn_memset(row, 0, pad * sizeof(float));
                rn_memcpy(row + pad, j->x + (n * (size_t)d->h + (size_t)iy) * w * c,
                          w * c * sizeof(float));
                rn_memset(row + pad + w * c, 0, (j->row_floats - pad - w * c) * sizeof(float));
                for (size_t l0 = 0; l0 < len; l0 += j->nr) {
                    const size_t nc = len - l0 < j->nr ? len - l0 : j->nr;
                    for (size_t o0 = 0; o0 < oc; o0 += j->mr)
                        j->fn(nc, 1, ow, a + o0, 0, oc, row + l0, 0, (size_t)d->sw * c,
                              part + o0 * j->k + (size_t)ky * len + l0, j->k);
                }
            }
        }
}

static void wgrad_group_task(void *arg, size_t g) {
    const wgrad_job *j = (const wgrad_job *)arg;
    const rn_conv_desc *d = j->d;
    const size_t c = (size_t)d->c, oc = (size_t)d->oc, w = (size_t)d->w, ow = (size_t)d->ow;
    float *part = j->part + g * j->dw_floats;
    rn_memset(part, 0, j->dw_floats * sizeof(float));
    const size_t n0 = g * (size_t)d->n / j->groups, n1 = (g + 1) * (size_t)d->n / j->groups;
    if (j->window) {
        window_rows(j, n0, n1, part, j->rows + g * j->row_floats);
        return;
    }
    /* bands of output rows whose dy and input rows stay in L2 while every
     * tap, channel block and output-channel block sweeps them */
    const size_t row_bytes = (ow * oc + (size_t)d->sh * w * c) * sizeof(float);
    size_t band = RN_WGRAD_BAND_BYTES / (row_bytes ? row_bytes : 1);
    if (band < 1) band = 1;
    for (size_t n = n0; n < n1; n++) {
        const float *img = j->x + n * (size_t)d->h * w * c;
        const float *gimg = j->dy + n * (size_t)d->oh * ow * oc;
        for (int64_t b0 = 0; b0 < d->oh; b0 += (int64_t)band) {
            const int64_t b1 = b0 + (int64_t)band < d->oh ? b0 + (int64_t)band : d->oh;
            for (int64_t ky = 0, t = 0; ky < d->kh; ky++) {
                int64_t y0, y1;
                valid_range(d->oh, d->h, d->sh, d->ph, ky, &y0, &y1);
                if (y0 < b0) y0 = b0;
                if (y1 > b1) y1 = b1;
                if (j->fn3) { /* the three taps of the window row at once */
                    if (y0 < y1) row_taps(j, img, gimg, ky, y0, y1, part);
                    continue;
                }
                for (int64_t kx = 0; kx < d->kw; kx++, t++) {
                    int64_t x0, x1;
                    valid_range(d->ow, d->w, d->sw, d->pw, kx, &x0, &x1);
                    if (y0 >= y1 || x0 >= x1) continue;
                    const size_t iy = (size_t)(y0 * d->sh - d->ph + ky);
                    const size_t ix = (size_t)(x0 * d->sw - d->pw + kx);
                    const float *a = gimg + ((size_t)y0 * ow + (size_t)x0) * oc;
                    const float *b = img + (iy * w + ix) * c;
                    for (size_t c0 = 0; c0 < c; c0 += j->nr) {
                        const size_t nc = c - c0 < j->nr ? c - c0 : j->nr;
                        for (size_t o0 = 0; o0 < oc; o0 += j->mr)
                            j->fn(nc, (size_t)(y1 - y0), (size_t)(x1 - x0), a + o0, ow * oc, oc,
                                  b + c0, (size_t)d->sh * w * c, (size_t)d->sw * c,
                                  part + o0 * j->k + (size_t)t * c + c0, j->k);
                    }
                }
            }
        }
    }
}

/* dw = the partials added in group order, one block of elements per task */
static void wgrad_reduce_task(void *arg, size_t t) {
    const wgrad_job *j = (const wgrad_job *)arg;
    const size_t lo = t * RN_WGRAD_REDUCE_BLOCK;
    const size_t hi =
        lo + RN_WGRAD_REDUCE_BLOCK < j->dw_floats ? lo + RN_WGRAD_REDUCE_BLOCK : j->dw_floats;
    for (size_t i = lo; i < hi; i++) {
        float s = j->part[i];
        for (size_t g = 1; g < j->groups; g++) s += j->part[g * j->dw_floats + i];
        j->dw[i] = s;
    }
}

/* Floats of a padded input row, (w + 2 pw) x c, rounded up to whole cache
 * lines so that the groups' rows do not share one. */
static size_t window_row_floats(const rn_conv_desc *d) {
    const size_t f = rn__sat_mul((size_t)d->w + 2 * (size_t)d->pw, (size_t)d->c);
    return rn__align_up(f, RN_ALIGN / sizeof(float));
}

static void wgrad_by_taps(const rn_ctx *ctx, const rn_conv_desc *d, const float *x, const float *dy,
                          float *dw, void *ws) {
    const struct rn_kernels *kt = rn__ctx_kernels(ctx);
    wgrad_job j;
    rn_memset(&j, 0, sizeof j);
    j.d = d, j.x = x, j.dy = dy, j.dw = dw;
    j.k = rn__conv_k(d);
    j.dw_floats = (size_t)d->oc * j.k;
    j.groups = groups_for(d);
    j.part = (float *)rn__align_up((size_t)(uintptr_t)ws, RN_ALIGN);
    /* the narrow tile when the wide one would leave input channels of its
     * panel clearly more often empty (16 channels: 32 loaded for 16) */
    j.window = rn__conv_wgrad_window(d);
    const size_t c = j.window ? (size_t)d->kw * (size_t)d->c : (size_t)d->c; /* a call's floats */
    const size_t nw = (size_t)kt->wgrad_nr, nn = (size_t)kt->wgrad_narrow_nr;
    if (4 * ((c + nw - 1) / nw * nw) > 5 * ((c + nn - 1) / nn * nn))
        j.fn = kt->wgrad_narrow, j.mr = (size_t)kt->wgrad_narrow_mr, j.nr = nn;
    else
        j.fn = kt->wgrad, j.mr = (size_t)kt->wgrad_mr, j.nr = nw;
    if (j.window) {
        j.row_floats = window_row_floats(d);
        j.rows = j.part + rn__align_up(j.groups * j.dw_floats, RN_ALIGN / sizeof(float));
    } else if (rn__conv_wgrad_rows(kt, d))
        j.fn3 = kt->wgrad3, j.mr = (size_t)kt->wgrad3_mr, j.nr = (size_t)kt->wgrad3_nr;
    rn__parallel_for(ctx, j.groups, wgrad_group_task, &j);
    rn__parallel_for(ctx, (j.dw_floats + RN_WGRAD_REDUCE_BLOCK - 1) / RN_WGRAD_REDUCE_BLOCK,
                     wgrad_reduce_task, &j);
}

size_t rn__conv2d_backward_weights_workspace(const rn_ctx *ctx, const rn_conv_desc *d) {
    if (by_taps(d)) {
        size_t floats = groups_for(d) * (size_t)d->oc * rn__conv_k(d); /* <= 2^22 */
        if (rn__conv_wgrad_window(d)) /* and a padded input row per group */
            floats = rn__sat_add(rn__align_up(floats, RN_ALIGN / sizeof(float)),
                                 rn__sat_mul(groups_for(d), window_row_floats(d)));
        return rn__sat_add(rn__sat_mul(floats, sizeof(float)), RN_ALIGN);
    }
    /* dW[oc x K] += dy_chunk^T * col_chunk: the chunk is the GEMM's K */
    size_t col = rn__conv_col_bytes(d);
    size_t gemm = rn__sgemm_workspace(ctx, (size_t)d->oc, rn__conv_k(d), rn__conv_chunk_rows(d));
    return col > SIZE_MAX - gemm ? SIZE_MAX : col + gemm;
}

void rn__conv2d_backward_weights(const rn_ctx *ctx, const rn_conv_desc *d, const float *x,
                                 const float *dy, float *dw, float *db, void *ws) {
    size_t total = rn__conv_rows(d), oc = (size_t)d->oc;
    if (by_taps(d)) {
        wgrad_by_taps(ctx, d, x, dy, dw, ws);
    } else {
        size_t chunk = rn__conv_chunk_rows(d), k = rn__conv_k(d);
        float *col = rn__conv_ws_col(ws);
        void *gws = rn__conv_ws_gemm(ws, d);
        for (size_t r0 = 0; r0 < total; r0 += chunk) {
            size_t rows = total - r0 < chunk ? total - r0 : chunk;
            const float *b = rn__conv_patches(ctx, d, x, r0, rows, col);
            rn__sgemm(ctx, 1, 0, oc, k, rows, dy + r0 * oc, oc, b, k, r0 > 0, NULL, 0, dw, k, gws);
        }
    }
    if (db) rn__column_sums(ctx, dy, total, oc, db);
}

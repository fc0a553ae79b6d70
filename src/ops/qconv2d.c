/*
 * The int8 convolution (contract in ops.h, arithmetic in docs/int8.md).
 *
 * Two paths:
 * - packed weights (rn__qconv2d_pack): the input is first copied into the
 *   workspace with its zero padding made real (stored as x ^ 0x80, i.e.
 *   x + 128 as unsigned, for the u8 x s8 kernels), so every row of every
 *   output pixel's window is the pixel's window start plus a constant
 *   offset: no indirection buffer and no bounds test in the kernel. A window
 *   row is k * cin contiguous bytes of the copy, which the kernel reads as
 *   ceil(k * cin / 4) groups of 4 (the panel's values past k * cin are zero,
 *   so the up to 3 bytes read past the row's end count for nothing): the
 *   stem's 3 channels make 7 rows of 6 groups, not 49 taps of one padded
 *   to 4. The output pixels (the batch flattened) are cut into tiles of the
 *   kernel's MR rows; a work item is a group of tiles times one block of 16
 *   output channels, so the block's weight panel is reused by every tile of
 *   the group while it is in cache.
 * - the OHWI weights as stored (packed == NULL): a portable loop over output
 *   rows that reads the weights and bias in place and needs no workspace
 *   (firmware: weights in flash, no RAM for a packed copy).
 * Both compute each output from the whole exact int32 sum and the same
 * requantization (rn__qconv_requant), so they give the same bytes, and the
 * work items are fixed by the shape and the kernel's MR, not the thread count.
 */
#include "ops.h"

/* Output pixels per work item (rounded to whole tiles): the weights of a
 * 16-channel block are read once per group from L2. */
#define RN_QCONV_GROUP_PIXELS 64
/* Workspace alignment slack. */
#define RN_QCONV_ALIGN 64

int rn__qconv_desc_init(rn_qconv_desc *d) {
    if (d->n < 1 || d->h < 1 || d->w < 1 || d->cin < 1 || d->cout < 1 || d->k < 1 ||
        d->k > RN_QCONV_MAX_K || d->stride < 1 || d->pad < 0)
        return 0;
    const int64_t hp = (int64_t)d->h + 2 * (int64_t)d->pad,
                  wp = (int64_t)d->w + 2 * (int64_t)d->pad;
    if (hp < d->k || wp < d->k) return 0;
    if ((int64_t)d->k * d->k * (((int64_t)d->cin + 3) / 4 * 4) > ((int64_t)1 << 16)) return 0;
    d->oh = (int32_t)((hp - d->k) / d->stride + 1);
    d->ow = (int32_t)((wp - d->k) / d->stride + 1);
    return 1;
}

/* Groups of 4 values per window row, and rows per window. */
static size_t qc_groups(const rn_qconv_desc *d) { return ((size_t)d->k * (size_t)d->cin + 3) / 4; }
static size_t qc_taps(const rn_qconv_desc *d) { return (size_t)d->k; }
static size_t qc_blocks(const rn_qconv_desc *d) {
    return ((size_t)d->cout + RN_QCONV_NR - 1) / RN_QCONV_NR;
}
/* One block: int32 bias[16], int32 compensated bias[16], then the panel. */
static size_t qc_block_bytes(const rn_qconv_desc *d) {
    return 2 * RN_QCONV_NR * sizeof(int32_t) + qc_taps(d) * qc_groups(d) * 64;
}

size_t rn__qconv2d_packed_size(const rn_qconv_desc *d) { return qc_blocks(d) * qc_block_bytes(d); }

void rn__qconv2d_pack(const rn_qconv_desc *d, const int8_t *w, const int32_t *bias, void *packed) {
    const size_t kg = qc_groups(d), ks = qc_taps(d), cin = (size_t)d->cin, k = (size_t)d->k;
    const size_t cout = (size_t)d->cout, bb = qc_block_bytes(d);
    for (size_t b = 0; b < qc_blocks(d); b++) {
        unsigned char *blk = (unsigned char *)packed + b * bb;
        int32_t bq[RN_QCONV_NR], bc[RN_QCONV_NR];
        int8_t *panel = (int8_t *)(blk + 2 * RN_QCONV_NR * sizeof(int32_t));
        rn_memset(panel, 0, ks * kg * 64);
        for (size_t c = 0; c < RN_QCONV_NR; c++) {
            const size_t oc = b * RN_QCONV_NR + c;
            int32_t sum = 0;
            if (oc < cout) {
                /* window row ky is OHWI's k * cin values (kx, i) in order */
                const int8_t *wc = w + oc * ks * k * cin;
                for (size_t ky = 0; ky < ks; ky++)
                    for (size_t j = 0; j < k * cin; j++) {
                        const int8_t v = wc[ky * k * cin + j];
                        panel[(ky * kg + j / 4) * 64 + c * 4 + j % 4] = v;
                        sum += v;
                    }
            }
            bq[c] = oc < cout ? bias[oc] : 0;
            /* acc + 128 * sum(w) wraps like the kernels' int32 arithmetic */
            bc[c] = (int32_t)((uint32_t)bq[c] - 128u * (uint32_t)sum);
        }
        rn_memcpy(blk, bq, sizeof bq);
        rn_memcpy(blk + sizeof bq, bc, sizeof bc);
    }
}

/* The padded copy, then 4 bytes the last window row's last group may read. */
#define RN_QCONV_SLACK 4
static size_t qc_input_bytes(const rn_qconv_desc *d) {
    return (size_t)d->n * ((size_t)d->h + 2 * (size_t)d->pad) *
           ((size_t)d->w + 2 * (size_t)d->pad) * (size_t)d->cin;
}

size_t rn__qconv2d_workspace(const rn_ctx *ctx, const rn_qconv_desc *d, int32_t packed) {
    (void)ctx;
    return packed ? qc_input_bytes(d) + RN_QCONV_SLACK + RN_QCONV_ALIGN : 0;
}

/* ---- the portable path on OHWI weights ------------------------------------------- */

typedef struct qc_plain {
    const rn_qconv_desc *d;
    const int8_t *x, *w, *r;
    const int32_t *bias;
    const float *m;
    float m_r;
    int32_t relu;
    int8_t *y;
} qc_plain;

/* Item: one output row (image, oy). */
static void qc_plain_row(void *arg, size_t item) {
    const qc_plain *a = (const qc_plain *)arg;
    const rn_qconv_desc *d = a->d;
    const size_t img = item / (size_t)d->oh;
    const int32_t oy = (int32_t)(item % (size_t)d->oh);
    const size_t cin = (size_t)d->cin, cout = (size_t)d->cout, k = (size_t)d->k;
    const float lo = a->relu ? 0.f : -127.f;
    for (int32_t ox = 0; ox < d->ow; ox++) {
        const size_t p = item * (size_t)d->ow + (size_t)ox;
        for (size_t oc = 0; oc < cout; oc++) {
            int32_t acc = a->bias[oc];
            for (int32_t ky = 0; ky < d->k; ky++) {
                const int32_t iy = oy * d->stride - d->pad + ky;
                if (iy < 0 || iy >= d->h) continue;
                for (int32_t kx = 0; kx < d->k; kx++) {
                    const int32_t ix = ox * d->stride - d->pad + kx;
                    if (ix < 0 || ix >= d->w) continue;
                    const int8_t *xp =
                        a->x +
                        ((img * (size_t)d->h + (size_t)iy) * (size_t)d->w + (size_t)ix) * cin;
                    const int8_t *wp = a->w + ((oc * k + (size_t)ky) * k + (size_t)kx) * cin;
                    acc = rn_s8_dot(xp, wp, cin, acc);
                }
            }
            a->y[p * cout + oc] = rn__qconv_requant(acc, a->m[oc], a->r != NULL,
                                                    a->r ? a->r[p * cout + oc] : 0, a->m_r, lo);
        }
    }
}

/* ---- the packed path ---------------------------------------------------------------- */

typedef struct qc_packed {
    const rn_qconv_desc *d;
    const rn_qconv_kernel *kern;
    const int8_t *x;  /* the caller's input (copy step) */
    const int8_t *xp; /* the padded copy */
    const unsigned char *packed;
    const int8_t *r;
    const float *m;
    float m_r;
    int32_t relu;
    int8_t *y;
    size_t hp, wp, tiles, tiles_per_group, blocks;
} qc_packed;

/* Item: one padded input row (image, row) copied, as x ^ 0x80 for u8 kernels
 * (the zeros of the padding then read as 0x80 too), eight bytes at a time. */
static void qc_copy_row(void *arg, size_t item) {
    const qc_packed *a = (const qc_packed *)arg;
    const rn_qconv_desc *d = a->d;
    const size_t img = item / a->hp, row = item % a->hp;
    const size_t cin = (size_t)d->cin, pad = (size_t)d->pad, bytes = a->wp * cin;
    int8_t *dst = (int8_t *)a->xp + item * bytes;
    if (row < pad || row >= pad + (size_t)d->h) {
        rn_memset(dst, a->kern->u8 ? 0x80 : 0, bytes);
        return;
    }
    const int8_t *src = a->x + (img * (size_t)d->h + (row - pad)) * (size_t)d->w * cin;
    rn_memset(dst, 0, pad * cin);
    rn_memcpy(dst + pad * cin, src, (size_t)d->w * cin);
    rn_memset(dst + (pad + (size_t)d->w) * cin, 0, pad * cin);
    if (a->kern->u8) {
        size_t i = 0;
        for (; i + 8 <= bytes; i += 8) {
            uint64_t v;
            rn_memcpy(&v, dst + i, 8);
            v ^= UINT64_C(0x8080808080808080);
            rn_memcpy(dst + i, &v, 8);
        }
        for (; i < bytes; i++) dst[i] = (int8_t)(dst[i] ^ -128);
    }
}

static void qc_packed_item(void *arg, size_t item) {
    const qc_packed *a = (const qc_packed *)arg;
    const rn_qconv_desc *d = a->d;
    const size_t group = item / a->blocks, b = item % a->blocks;
    const size_t mr_max = (size_t)a->kern->mr, k = (size_t)d->k, cin = (size_t)d->cin;
    const size_t kg = qc_groups(d), cout = (size_t)d->cout;
    const size_t pixels = (size_t)d->n * (size_t)d->oh * (size_t)d->ow;
    const size_t ohw = (size_t)d->oh * (size_t)d->ow, st = (size_t)d->stride;
    size_t off[RN_QCONV_MAX_K];
    const size_t *offs = off;
    for (size_t ky = 0; ky < k; ky++) off[ky] = ky * a->wp * cin;
    const size_t bb = qc_block_bytes(d);
    const unsigned char *blk = a->packed + b * bb;
    int32_t bias[RN_QCONV_NR];
    rn_memcpy(bias, blk + (a->kern->u8 ? RN_QCONV_NR * sizeof(int32_t) : 0), sizeof bias);
    const int8_t *panel = (const int8_t *)(blk + 2 * RN_QCONV_NR * sizeof(int32_t));
    const size_t c0 = b * RN_QCONV_NR;
    const size_t nc = cout - c0 < RN_QCONV_NR ? cout - c0 : RN_QCONV_NR;
    float mtail[RN_QCONV_NR];
    const float *m = a->m + c0;
    if (nc < RN_QCONV_NR) {
        for (size_t c = 0; c < RN_QCONV_NR; c++) mtail[c] = c < nc ? m[c] : 0.f;
        m = mtail;
    }
    const size_t t_end =
        (group + 1) * a->tiles_per_group < a->tiles ? (group + 1) * a->tiles_per_group : a->tiles;
    for (size_t t = group * a->tiles_per_group; t < t_end; t++) {
        const size_t p0 = t * mr_max;
        const size_t mr = pixels - p0 < mr_max ? pixels - p0 : mr_max;
        const int8_t *rows[RN_QCONV_MR_MAX];
        /* one division per tile, then pixel by pixel along the output rows */
        size_t img = p0 / ohw, oy = (p0 % ohw) / (size_t)d->ow, ox = p0 % (size_t)d->ow;
        for (size_t i = 0; i < mr; i++) {
            rows[i] = a->xp + ((img * a->hp + oy * st) * a->wp + ox * st) * cin;
            if (++ox == (size_t)d->ow) {
                ox = 0;
                if (++oy == (size_t)d->oh) {
                    oy = 0;
                    img++;
                }
            }
        }
        for (size_t i = mr; i < mr_max; i++) rows[i] = rows[mr - 1];
        a->kern->fn(mr, nc, kg, k, rows, offs, panel, bias, m, a->r ? a->r + p0 * cout + c0 : NULL,
                    cout, a->m_r, a->relu, a->y + p0 * cout + c0, cout);
    }
}

void rn__qconv2d_run_kernel(const rn_ctx *ctx, const rn_qconv_kernel *kern, const rn_qconv_desc *d,
                            const int8_t *x, const void *packed, const float *m, const int8_t *r,
                            float m_r, int32_t relu, int8_t *y, void *ws) {
    qc_packed a;
    a.d = d;
    a.kern = kern;
    a.x = x;
    a.xp =
        (const int8_t *)(((uintptr_t)ws + RN_QCONV_ALIGN - 1) & ~(uintptr_t)(RN_QCONV_ALIGN - 1));
    a.packed = (const unsigned char *)packed;
    a.r = r;
    a.m = m;
    a.m_r = m_r;
    a.relu = relu;
    a.y = y;
    a.hp = (size_t)d->h + 2 * (size_t)d->pad;
    a.wp = (size_t)d->w + 2 * (size_t)d->pad;
    /* the slack read past the copy's end: defined bytes (times zero weights) */
    rn_memset((int8_t *)a.xp + qc_input_bytes(d), 0, RN_QCONV_SLACK);
    const size_t pixels = (size_t)d->n * (size_t)d->oh * (size_t)d->ow;
    a.tiles = (pixels + (size_t)kern->mr - 1) / (size_t)kern->mr;
    a.tiles_per_group = (RN_QCONV_GROUP_PIXELS + (size_t)kern->mr - 1) / (size_t)kern->mr;
    a.blocks = qc_blocks(d);
    rn__parallel_for(ctx, (size_t)d->n * a.hp, qc_copy_row, &a);
    const size_t groups = (a.tiles + a.tiles_per_group - 1) / a.tiles_per_group;
    rn__parallel_for(ctx, groups * a.blocks, qc_packed_item, &a);
}

void rn__qconv2d_run(const rn_ctx *ctx, const rn_qconv_desc *d, const int8_t *x, const int8_t *w,
                     const int32_t *bias, const void *packed, const float *m, const int8_t *r,
                     float m_r, int32_t relu, int8_t *y, void *ws) {
    if (packed) {
        rn__qconv2d_run_kernel(ctx, &rn__ctx_kernels(ctx)->qconv, d, x, packed, m, r, m_r, relu, y,
                               ws);
        return;
    }
    qc_plain a = {d, x, w, r, bias, m, m_r, relu, y};
    rn__parallel_for(ctx, (size_t)d->n * (size_t)d->oh, qc_plain_row, &a);
}

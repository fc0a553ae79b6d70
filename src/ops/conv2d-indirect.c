/*
 * The indirect convolution path (see conv2d-common.h): no column buffer.
 * The output pixels are cut into tiles of MR rows; for each tile an
 * indirection buffer holds, for every tap (ky, kx), the address of the input
 * pixel each row reads (or of a zero row where the tap falls in the padding),
 * and the igemm microkernel multiplies those rows in place by the weights,
 * packed once per call into NR-wide panels with rows in (ky, kx, c) order.
 *
 * im2col wrote and re-read K floats per output pixel through memory; this
 * writes taps pointers per output pixel into a buffer that stays in L1. For
 * ResNet-20's 16-channel layers the narrow (16-column) tile keeps the FMAs
 * useful where the wide 32-column one would spend half of them on padding.
 *
 * Tiles are handed out as RN_CONV_SLOTS contiguous ranges, each with its own
 * indirection buffer in the workspace (with fewer tiles than that, a grid of
 * tiles x output-channel ranges). Every output element is produced by
 * one microkernel call over the whole K in (ky, kx, c) order, whoever runs
 * it, so the result does not depend on the thread count.
 */
#include "conv2d-common.h"
#include "../kernels/kernels.h"

/* Ranges of tiles (and indirection buffers); a constant, not the thread count. */
#define RN_CONV_SLOTS 16
/* Taps the path takes (7x7 is 49); larger windows use im2col. */
#define RN_CONV_MAX_TAPS 64
/* Tallest tile of any table: the indirection buffers are sized for it. */
#define RN_CONV_MR_MAX 16
/* Packed weights come in panels of 32 output channels whatever the ISA
 * (kernels read NR = 4..32 columns of a panel with row stride 32), so
 * weights packed once serve every table and thread count. */
#define RN_CONV_PANEL 32
/* Packed weights swept per pass over the pixels: the panels of one pass
 * stay in L2 while every tile streams through them. */
#define RN_CONV_PANEL_BYTES ((size_t)512 << 10)
/* Up to this many tiles, one region over a grid of tiles x columns
 * (grid_task); more, RN_CONV_SLOTS ranges of tiles per pass of panels. */
#define RN_CONV_GRID_BLOCKS 64

typedef struct conv_tile {
    rn_igemm_ukernel_fn fn;
    rn_igemm_bf16_ukernel_fn fn_bf16; /* set instead of fn on the bf16 path */
    size_t mr, nr;
} conv_tile;

/* The narrow tile when the wide one would pad the output channels clearly
 * more (16 channels: 32 columns computed for 16). */
static conv_tile pick_tile(const struct rn_kernels *kt, size_t oc, int32_t bf16) {
    conv_tile wide = {kt->igemm, NULL, (size_t)kt->igemm_mr, (size_t)kt->igemm_nr};
    conv_tile narrow = {kt->igemm_narrow, NULL, (size_t)kt->igemm_narrow_mr,
                        (size_t)kt->igemm_narrow_nr};
    if (bf16) {
        wide =
            (conv_tile){NULL, kt->igemm_bf16, (size_t)kt->igemm_bf16_mr, (size_t)kt->igemm_bf16_nr};
        narrow = (conv_tile){NULL, kt->igemm_bf16_narrow, (size_t)kt->igemm_bf16_narrow_mr,
                             (size_t)kt->igemm_bf16_narrow_nr};
    }
    size_t cw = (oc + wide.nr - 1) / wide.nr * wide.nr;
    size_t cn = (oc + narrow.nr - 1) / narrow.nr * narrow.nr;
    return 4 * cw > 5 * cn ? narrow : wide;
}

int rn__conv_indirect_ok(const rn_conv_desc *d) {
    return (size_t)d->kh * (size_t)d->kw <= RN_CONV_MAX_TAPS;
}

/* Workspace layout in bytes: packed weights, zero row, indirection buffers. */
typedef struct ind_layout {
    size_t bp, zero, ind, total;
} ind_layout;

static size_t sat_align(size_t v) {
    return v > SIZE_MAX - RN_ALIGN ? SIZE_MAX : rn__align_up(v, RN_ALIGN);
}

static ind_layout layout_for(const rn_conv_desc *d) {
    ind_layout l;
    size_t taps = (size_t)d->kh * (size_t)d->kw, oc = (size_t)d->oc;
    size_t oc_pad = (oc + RN_CONV_PANEL - 1) / RN_CONV_PANEL * RN_CONV_PANEL;
    l.bp = sat_align(rn__sat_mul(rn__sat_mul(oc_pad, rn__conv_k(d)), sizeof(float)));
    l.zero = sat_align(rn__sat_mul((size_t)d->c, sizeof(float)));
    l.ind =
        sat_align(rn__sat_mul(RN_CONV_SLOTS * RN_CONV_MR_MAX, rn__sat_mul(taps, sizeof(float *))));
    l.total = rn__sat_add(rn__sat_add(rn__sat_add(l.bp, l.zero), l.ind), RN_ALIGN);
    return l;
}

size_t rn__conv_indirect_workspace(const rn_conv_desc *d) { return layout_for(d).total; }

typedef struct ind_job {
    const struct rn_kernels *kt;
    const rn_conv_desc *d;
    conv_tile tl;
    const float *x, *w, *bp, *bias, *zero;
    float *y, *bp_out;
    const float **ind;
    size_t taps, k, oc, total, blocks, tasks, p0, p1;
    size_t tm, tn; /* few tiles: the task grid, tiles x column ranges */
    int32_t flip;  /* packing: 1 = transposed conv of the backward-data pass */
    int32_t bf16;  /* 1: bf16 pairs (rn__conv_indirect_*_bf16) */
    uint32_t flags;
    size_t toff[RN_CONV_MAX_TAPS];     /* tap offsets from an interior window's first pixel */
    size_t zero_off[RN_CONV_MAX_TAPS]; /* zeros: the offsets of a pointer-per-tap tile */
} ind_job;

/* ---- weight packing -------------------------------------------------------------
 * Panel pn holds output channels [pn * 32, pn * 32 + 32) as K rows of 32
 * floats, columns past oc zeroed. Forward: row (ky, kx, c) of the OHWI
 * weight's transpose. Backward-data (flip): the transposed convolution's
 * weight, out channel c, in channel o, tap (ky', kx') = w[o][kh-1-ky'][kw-1-kx'][c];
 * j->d is then that transposed convolution. */
static void pack_task(void *arg, size_t pn) {
    const ind_job *j = (const ind_job *)arg;
    const size_t nr = RN_CONV_PANEL, k = j->k, col = pn * nr;
    const size_t cols = j->oc - col < nr ? j->oc - col : nr;
    float *dst = j->bp_out + pn * k * nr;
    if (!j->flip) {
        /* dst[p][r] = w[col + r][p]: a transpose of the panel's weight rows */
        j->kt->transpose(cols, k, j->w + col * k, k, dst, nr);
    } else {
        /* rows (tap', o) for o < the forward's out channels (this pass's in
         * channels); the forward weight is [o][tap][c], c < this pass's oc */
        const size_t fwd_oc = (size_t)j->d->c, taps = j->taps, fwd_c = j->oc;
        for (size_t s = 0; s < taps; s++)
            for (size_t o = 0; o < fwd_oc; o++)
                rn_memcpy(dst + (s * fwd_oc + o) * nr,
                          j->w + (o * taps + (taps - 1 - s)) * fwd_c + col, cols * sizeof(float));
    }
    if (cols < nr)
        for (size_t p = 0; p < k; p++)
            for (size_t r = cols; r < nr; r++) dst[p * nr + r] = 0.0f;
    if (j->bf16) {
        /* in place: pair row p (NR 32-bit pairs) from rows 2p and 2p + 1,
         * which lie at or after it, read before it is written */
        uint32_t *pairs = (uint32_t *)(void *)dst;
        for (size_t p = 0; p < k / 2; p++) {
            uint32_t lo[RN_CONV_PANEL], hi[RN_CONV_PANEL];
            rn_memcpy(lo, dst + 2 * p * nr, sizeof lo);
            rn_memcpy(hi, dst + (2 * p + 1) * nr, sizeof hi);
            for (size_t r = 0; r < nr; r++)
                pairs[p * nr + r] =
                    (uint32_t)rn__bf16_round(lo[r]) | (uint32_t)rn__bf16_round(hi[r]) << 16;
        }
    }
}

/* ---- indirection ------------------------------------------------------------------
 * Rows of the tile starting at output pixel r0; rows past `rows` repeat the
 * last one (the kernel reads all MR rows, their results are discarded). */
/* Fills the tile's indirection; returns 1 when every row's window lies
 * inside the image: then ind holds one pointer per row (the window's first
 * pixel) and the taps are the offsets j->toff, else ind holds a pointer per
 * tap and row (a_seg_stride MR, offsets j->zero_off). */
typedef struct out_pos {
    size_t n, oy, ox; /* image, output row and column of the tile's next row */
} out_pos;

static int build_ind(const ind_job *j, out_pos *at, size_t rows, const float **ind) {
    const rn_conv_desc *d = j->d;
    const size_t mr = j->tl.mr, c = (size_t)d->c, w = (size_t)d->w, h = (size_t)d->h;
    const size_t taps = j->taps;
    size_t n = at->n, oy = at->oy, ox = at->ox;
    const float *base[RN_CONV_MR_MAX];
    size_t inside = 0;
    for (size_t i = 0; i < rows; i++) {
        const int64_t iy0 = (int64_t)oy * d->sh - d->ph, ix0 = (int64_t)ox * d->sw - d->pw;
        const float *img = j->x + n * h * w * c;
        base[i] = NULL;
        if (iy0 >= 0 && ix0 >= 0 && iy0 + d->kh <= (int64_t)h && ix0 + d->kw <= (int64_t)w) {
            /* also straight into ind: the fast path's answer, or tap 0 of
             * this row (rewritten below), so that the fast path need not
             * read base[] back just after writing it (a stalled forward) */
            base[i] = ind[i] = img + ((size_t)iy0 * w + (size_t)ix0) * c;
            inside++;
        } else {
            for (int64_t ky = 0, s = 0; ky < d->kh; ky++) {
                const int64_t iy = iy0 + ky;
                const int row_in = iy >= 0 && iy < (int64_t)h;
                for (int64_t kx = 0; kx < d->kw; kx++, s++) {
                    const int64_t ix = ix0 + kx;
                    ind[(size_t)s * mr + i] = row_in && ix >= 0 && ix < (int64_t)w
                                                  ? img + ((size_t)iy * w + (size_t)ix) * c
                                                  : j->zero;
                }
            }
        }
        if (++ox == (size_t)d->ow) {
            ox = 0;
            if (++oy == (size_t)d->oh) oy = 0, n++;
        }
    }
    at->n = n, at->oy = oy, at->ox = ox;
    if (inside == rows) { /* rows past `rows` repeat the last one: results dropped */
        for (size_t i = rows; i < mr; i++) ind[i] = ind[rows - 1];
        return 1;
    }
    for (size_t i = 0; i < mr; i++) {
        if (i < rows && base[i])
            for (size_t s = 0; s < taps; s++) ind[s * mr + i] = base[i] + j->toff[s];
        else if (i >= rows)
            for (size_t s = 0; s < taps; s++) ind[s * mr + i] = ind[s * mr + rows - 1];
    }
    return 0;
}

/* One microkernel call: the tile's rows and columns [col, col + cols) of
 * panel b (the fp32 panel's floats, or on the bf16 path its pairs: the same
 * 32-bit stride, pair row p where float row p would be). */
static void call_tile(const ind_job *j, size_t rows, size_t cols, const float **ind,
                      size_t seg_stride, const size_t *off, const float *b, size_t r0, size_t col) {
    float *y = j->y + r0 * j->oc + col;
    const float *bias = j->bias ? j->bias + col : NULL;
    if (j->bf16)
        j->tl.fn_bf16(rows, cols, (size_t)j->d->c, j->taps, ind, seg_stride, off,
                      (const uint32_t *)(const void *)b, RN_CONV_PANEL, y, j->oc, bias, j->flags);
    else
        j->tl.fn(rows, cols, (size_t)j->d->c, j->taps, ind, seg_stride, off, b, RN_CONV_PANEL, y,
                 j->oc, bias, j->flags);
}

static void tiles_task(void *arg, size_t t) {
    const ind_job *j = (const ind_job *)arg;
    const size_t mr = j->tl.mr, nr = j->tl.nr;
    const size_t b0 = t * j->blocks / j->tasks, b1 = (t + 1) * j->blocks / j->tasks;
    const float **ind = j->ind + t * j->taps * RN_CONV_MR_MAX;
    /* the position of output pixel b0 * mr; the tiles follow on from it */
    const size_t pix = (size_t)j->d->oh * (size_t)j->d->ow, first = b0 * mr;
    out_pos at = {first / pix, first % pix / (size_t)j->d->ow, first % pix % (size_t)j->d->ow};
    for (size_t blk = b0; blk < b1; blk++) {
        const size_t r0 = blk * mr, rows = j->total - r0 < mr ? j->total - r0 : mr;
        const int inside = build_ind(j, &at, rows, ind);
        const size_t seg_stride = inside ? 0 : mr;
        const size_t *off = inside ? j->toff : j->zero_off;
        /* the tile's columns [col, col + nr) lie in one 32-wide panel */
        for (size_t col = j->p0 * RN_CONV_PANEL; col < j->p1 * RN_CONV_PANEL && col < j->oc;
             col += nr) {
            const size_t cols = j->oc - col < nr ? j->oc - col : nr;
            const float *b =
                j->bp + col / RN_CONV_PANEL * j->k * RN_CONV_PANEL + col % RN_CONV_PANEL;
            call_tile(j, rows, cols, ind, seg_stride, off, b, r0, col);
        }
    }
}

static void job_init(ind_job *j, const rn_ctx *ctx, const rn_conv_desc *d, int32_t bf16) {
    rn_memset(j, 0, sizeof *j);
    j->kt = rn__ctx_kernels(ctx);
    j->d = d;
    j->bf16 = bf16;
    j->tl = pick_tile(rn__ctx_kernels(ctx), (size_t)d->oc, bf16);
    j->taps = (size_t)d->kh * (size_t)d->kw;
    j->k = rn__conv_k(d);
    j->oc = (size_t)d->oc;
}

/* Packs w (forward OHWI, or flipped for the transposed pass) into bp. */
static void pack(const rn_ctx *ctx, const rn_conv_desc *d, const float *w, int32_t flip,
                 int32_t bf16, float *bp) {
    ind_job j;
    job_init(&j, ctx, d, bf16);
    j.w = w, j.flip = flip, j.bp_out = bp;
    rn__parallel_for(ctx, (j.oc + RN_CONV_PANEL - 1) / RN_CONV_PANEL, pack_task, &j);
}

/* Few tiles (up to RN_CONV_GRID_BLOCKS: a 7x7 or 14x14 map at batch 1),
 * where the weights outweigh the pixels: one region over a grid of tm tile
 * ranges x tn column ranges, as many column ranges as there are column tiles
 * (up to RN_CONV_SLOTS). A task sweeps its column tiles outermost and its
 * tiles inside, so each column tile of the weights (K x NR: 590 KB at 3x3
 * over 512 channels) comes from memory once and then from L2 for every
 * tile, and the region is one fork and join for the whole convolution. */
static void grid_task(void *arg, size_t t) {
    const ind_job *j = (const ind_job *)arg;
    const size_t mr = j->tl.mr, nr = j->tl.nr, ti = t / j->tn, tj = t % j->tn;
    const size_t nt = (j->oc + nr - 1) / nr;
    const size_t c0 = tj * nt / j->tn, c1 = (tj + 1) * nt / j->tn;
    const size_t b0 = ti * j->blocks / j->tm, b1 = (ti + 1) * j->blocks / j->tm;
    const float **ind = j->ind + t * j->taps * RN_CONV_MR_MAX;
    const size_t ow = (size_t)j->d->ow, pix = (size_t)j->d->oh * ow;
    for (size_t ct = c0; ct < c1; ct++) {
        const size_t col = ct * nr, cols = j->oc - col < nr ? j->oc - col : nr;
        const float *b = j->bp + col / RN_CONV_PANEL * j->k * RN_CONV_PANEL + col % RN_CONV_PANEL;
        for (size_t blk = b0; blk < b1; blk++) {
            const size_t r0 = blk * mr, rows = j->total - r0 < mr ? j->total - r0 : mr;
            out_pos at = {r0 / pix, r0 % pix / ow, r0 % pix % ow};
            const int inside = build_ind(j, &at, rows, ind);
            call_tile(j, rows, cols, ind, inside ? 0 : mr, inside ? j->toff : j->zero_off, b, r0,
                      col);
        }
    }
}

/* ---- rows: the direct 3x3 row kernel ------------------------------------------------
 * A 3x3 stride-1 convolution with padding 1 (oh = h, ow = w) on an ISA with
 * the row kernel (kernels.h, rn_dconv3_ukernel_fn) runs along output rows
 * instead of through indirection: each tile is PX pixels of one output row,
 * its three input rows addressed directly, the pixels beside the tile (or
 * the zero row at the image's edge) passed apart. A row whose width is not
 * a multiple of PX ends with a tile shifted left onto the one before, whose
 * first pixels it does not store. The panel layout is the same, so packed
 * weights serve both paths. Tasks: a grid of row ranges x panel ranges,
 * panels outermost in a task, so one panel stays in L2 while its rows
 * stream through; each output element is one kernel call's, in the order
 * (ky, c, kx), whoever runs it. */
typedef struct rows_job {
    rn_dconv3_ukernel_fn fn;
    const rn_conv_desc *d;
    const float *x, *bp, *bias, *zero;
    float *y;
    size_t px, rows, npanels, tm, tn;
    uint32_t flags;
} rows_job;

/* The row kernel and its tile width in pixels for d, or 0 where the rows
 * path does not take d (shape, channels, a row narrower than the tile, bf16). */
static int rows_tile(const struct rn_kernels *kt, const rn_conv_desc *d, int32_t bf16,
                     rn_dconv3_ukernel_fn *fn, size_t *px) {
    if (bf16 || !kt->dconv3 || d->kh != 3 || d->kw != 3 || d->sh != 1 || d->sw != 1 || d->ph != 1 ||
        d->pw != 1 || d->oh != d->h || d->ow != d->w)
        return 0;
    if (d->oc % RN_CONV_PANEL == 0 && kt->dconv3_nr == RN_CONV_PANEL)
        *fn = kt->dconv3, *px = (size_t)kt->dconv3_mr;
    else if ((size_t)d->oc == (size_t)kt->dconv3_narrow_nr && kt->dconv3_narrow)
        *fn = kt->dconv3_narrow, *px = (size_t)kt->dconv3_narrow_mr;
    else
        return 0;
    return (size_t)d->ow >= *px;
}

int rn__conv_runs_rows(const rn_ctx *ctx, const rn_conv_desc *d, int32_t pass, int32_t algo) {
    const struct rn_kernels *kt = rn__ctx_kernels(ctx);
    rn_dconv3_ukernel_fn fn;
    size_t px;
    rn_conv_desc t;
    if (pass == RN_CONV_PASS_FORWARD)
        return (algo == RN_CONV_ALGO_INDIRECT || algo == RN_CONV_ALGO_PACKED) &&
               rows_tile(kt, d, 0, &fn, &px);
    if (pass == RN_CONV_PASS_BACKWARD_DATA)
        return algo == RN_CONV_ALGO_INDIRECT && rn__conv_backward_data_indirect(d, &t) &&
               rows_tile(kt, &t, 0, &fn, &px);
    return algo == RN_CONV_ALGO_TAPS && !rn__conv_wgrad_window(d) && rn__conv_wgrad_rows(kt, d);
}

static void rows_task(void *arg, size_t t) {
    const rows_job *j = (const rows_job *)arg;
    const rn_conv_desc *d = j->d;
    const size_t ti = t / j->tn, tj = t % j->tn, px = j->px;
    const size_t r0 = ti * j->rows / j->tm, r1 = (ti + 1) * j->rows / j->tm;
    const size_t p0 = tj * j->npanels / j->tn, p1 = (tj + 1) * j->npanels / j->tn;
    const size_t h = (size_t)d->h, w = (size_t)d->w, c = (size_t)d->c, oc = (size_t)d->oc;
    const size_t k = rn__conv_k(d);
    for (size_t pn = p0; pn < p1; pn++) {
        const float *b = j->bp + pn * k * RN_CONV_PANEL;
        const float *bias = j->bias ? j->bias + pn * RN_CONV_PANEL : NULL;
        for (size_t r = r0; r < r1; r++) {
            const size_t n = r / h, oy = r % h;
            const float *img = j->x + n * h * w * c;
            float *yrow = j->y + r * w * oc + pn * RN_CONV_PANEL;
            for (size_t x0 = 0; x0 < w; x0 += px) {
                const size_t xs = x0 + px <= w ? x0 : w - px; /* the last tile, shifted */
                const float *rows[9];
                for (size_t ky = 0; ky < 3; ky++) {
                    const size_t iy = oy + ky; /* input row + 1 */
                    if (iy < 1 || iy > h) {
                        rows[3 * ky] = rows[3 * ky + 1] = rows[3 * ky + 2] = NULL;
                        continue;
                    }
                    const float *in = img + (iy - 1) * w * c;
                    rows[3 * ky] = xs ? in + (xs - 1) * c : j->zero;
                    rows[3 * ky + 1] = in + xs * c;
                    rows[3 * ky + 2] = xs + px < w ? in + (xs + px) * c : j->zero;
                }
                j->fn(x0 - xs, c, rows, c, b, RN_CONV_PANEL, yrow + xs * oc, oc, bias, j->flags);
            }
        }
    }
}

static void rows_run(const rn_ctx *ctx, const rn_conv_desc *d, rn_dconv3_ukernel_fn fn, size_t px,
                     const float *x, const float *bp, const float *bias, const float *zero,
                     float *y, uint32_t flags) {
    rows_job j = {fn, d, x, bp, bias, zero, y, px, 0, 0, 0, 0, flags};
    j.rows = (size_t)d->n * (size_t)d->oh;
    j.npanels = ((size_t)d->oc + RN_CONV_PANEL - 1) / RN_CONV_PANEL;
    j.tn = j.npanels < RN_CONV_SLOTS ? j.npanels : RN_CONV_SLOTS;
    j.tm = RN_CONV_SLOTS / j.tn < j.rows ? RN_CONV_SLOTS / j.tn : j.rows;
    rn__parallel_for(ctx, j.tm * j.tn, rows_task, &j);
}

/* Runs the tiles of convolution d over x into y with packed weights bp;
 * scratch holds the zero row and the indirection buffers. */
static void tiles(const rn_ctx *ctx, const rn_conv_desc *d, const float *x, const float *bp,
                  const float *bias, int32_t relu, float *y, unsigned char *scratch,
                  uint32_t accumulate, int32_t bf16) {
    const ind_layout l = layout_for(d);
    ind_job j;
    job_init(&j, ctx, d, bf16);
    j.x = x, j.y = y, j.bias = bias, j.bp = bp;
    j.flags = (relu ? RN_GEMM_RELU : 0u) | accumulate;
    j.total = rn__conv_rows(d);
    float *zero = (float *)scratch;
    rn_memset(zero, 0, (size_t)d->c * sizeof(float));
    j.zero = zero;
    j.ind = (const float **)(void *)(scratch + l.zero);
    rn_dconv3_ukernel_fn rfn;
    size_t rpx;
    if (rows_tile(j.kt, d, bf16, &rfn, &rpx)) {
        rows_run(ctx, d, rfn, rpx, x, bp, bias, zero, y, j.flags);
        return;
    }
    for (int64_t ky = 0, s = 0; ky < d->kh; ky++)
        for (int64_t kx = 0; kx < d->kw; kx++, s++)
            j.toff[s] = ((size_t)ky * (size_t)d->w + (size_t)kx) * (size_t)d->c;
    const size_t npanels = (j.oc + RN_CONV_PANEL - 1) / RN_CONV_PANEL;
    j.blocks = (j.total + j.tl.mr - 1) / j.tl.mr;
    if (j.blocks <= RN_CONV_GRID_BLOCKS) {
        const size_t nt = (j.oc + j.tl.nr - 1) / j.tl.nr;
        j.tn = nt < RN_CONV_SLOTS ? nt : RN_CONV_SLOTS;
        j.tm = RN_CONV_SLOTS / j.tn < j.blocks ? RN_CONV_SLOTS / j.tn : j.blocks;
        rn__parallel_for(ctx, j.tm * j.tn, grid_task, &j);
        return;
    }
    j.tasks = RN_CONV_SLOTS;
    size_t per_pass = RN_CONV_PANEL_BYTES / (j.k * RN_CONV_PANEL * sizeof(float));
    if (per_pass < 1) per_pass = 1;
    for (j.p0 = 0; j.p0 < npanels; j.p0 = j.p1) {
        j.p1 = j.p0 + per_pass < npanels ? j.p0 + per_pass : npanels;
        rn__parallel_for(ctx, j.tasks, tiles_task, &j);
    }
}

static unsigned char *aligned(void *p) {
    return (unsigned char *)rn__align_up((size_t)(uintptr_t)p, RN_ALIGN);
}

/* Packs w into the workspace, then runs the tiles with flags (0, or a
 * residual in y: RN_GEMM_ACCUMULATE | RN_GEMM_RESIDUAL). */
static void forward_packing(const rn_ctx *ctx, const rn_conv_desc *d, const float *x,
                            const float *w, const float *bias, int32_t relu, float *y, void *ws,
                            uint32_t flags) {
    unsigned char *base = aligned(ws);
    pack(ctx, d, w, 0, 0, (float *)base);
    tiles(ctx, d, x, (const float *)base, bias, relu, y, base + layout_for(d).bp, flags, 0);
}

void rn__conv_indirect_forward(const rn_ctx *ctx, const rn_conv_desc *d, const float *x,
                               const float *w, const float *bias, int32_t relu, float *y,
                               void *ws) {
    forward_packing(ctx, d, x, w, bias, relu, y, ws, 0u);
}

void rn__conv_indirect_forward_residual(const rn_ctx *ctx, const rn_conv_desc *d, const float *x,
                                        const float *w, const float *bias, int32_t relu, float *y,
                                        void *ws) {
    forward_packing(ctx, d, x, w, bias, relu, y, ws, RN_GEMM_ACCUMULATE | RN_GEMM_RESIDUAL);
}

size_t rn__conv_indirect_packed_size(const rn_conv_desc *d) {
    size_t b = layout_for(d).bp;
    return b > SIZE_MAX - RN_ALIGN ? SIZE_MAX : b + RN_ALIGN;
}

size_t rn__conv_indirect_scratch(const rn_conv_desc *d) {
    const ind_layout l = layout_for(d);
    return rn__sat_add(rn__sat_add(l.zero, l.ind), RN_ALIGN);
}

void rn__conv_indirect_pack(const rn_ctx *ctx, const rn_conv_desc *d, const float *w,
                            void *packed) {
    pack(ctx, d, w, 0, 0, (float *)aligned(packed));
}

void rn__conv_indirect_forward_packed(const rn_ctx *ctx, const rn_conv_desc *d, const float *x,
                                      const void *packed, const float *bias, int32_t relu, float *y,
                                      void *ws) {
    tiles(ctx, d, x, (const float *)aligned((void *)(uintptr_t)packed), bias, relu, y, aligned(ws),
          0u, 0);
}

/* ---- panels at an exact address (src/nn: weights packed once per model) ---------- */

size_t rn__conv_panels_size(const rn_conv_desc *d) {
    if (!rn__conv_indirect_ok(d)) return 0;
    const size_t oc_pad = ((size_t)d->oc + RN_CONV_PANEL - 1) / RN_CONV_PANEL * RN_CONV_PANEL;
    return rn__sat_mul(rn__sat_mul(oc_pad, rn__conv_k(d)), sizeof(float));
}

void rn__conv_pack_panels(const rn_ctx *ctx, const rn_conv_desc *d, const float *w, float *panels) {
    pack(ctx, d, w, 0, 0, panels);
}

size_t rn__conv_panels_in_place_tmp(const rn_conv_desc *d) {
    if (!rn__conv_indirect_ok(d) || d->oc % RN_CONV_PANEL != 0) return 0;
    return rn__sat_mul(rn__sat_mul(RN_CONV_PANEL, rn__conv_k(d)), sizeof(float));
}

/* Panel pn covers the same floats as output channels [32 pn, 32 pn + 32) of
 * the OHWI weights (32 rows of K floats), so each panel is made in place
 * from a copy of those rows. */
void rn__conv_pack_panels_in_place(const rn_ctx *ctx, const rn_conv_desc *d, float *w, float *tmp) {
    const struct rn_kernels *kt = rn__ctx_kernels(ctx);
    const size_t k = rn__conv_k(d), nr = RN_CONV_PANEL;
    RN_ASSERT(d->oc % RN_CONV_PANEL == 0);
    for (size_t pn = 0; pn < (size_t)d->oc / nr; pn++) {
        float *blk = w + pn * nr * k;
        rn_memcpy(tmp, blk, nr * k * sizeof(float));
        kt->transpose(nr, k, tmp, k, blk, nr);
    }
}

void rn__conv_unpack_panels(const rn_conv_desc *d, const float *panels, float *w) {
    const size_t k = rn__conv_k(d), nr = RN_CONV_PANEL, oc = (size_t)d->oc;
    for (size_t o = 0; o < oc; o++) {
        const float *src = panels + o / nr * nr * k + o % nr;
        for (size_t p = 0; p < k; p++) w[o * k + p] = src[p * nr];
    }
}

size_t rn__conv_panels_workspace(const rn_conv_desc *d) { return rn__conv_indirect_scratch(d); }

void rn__conv_forward_panels(const rn_ctx *ctx, const rn_conv_desc *d, const float *x,
                             const float *panels, const float *bias, int32_t relu,
                             int32_t accumulate, float *y, void *ws) {
    tiles(ctx, d, x, panels, bias, relu, y, aligned(ws),
          accumulate ? RN_GEMM_ACCUMULATE | RN_GEMM_RESIDUAL : 0u, 0);
}

int rn__conv_transposed_desc(const rn_conv_desc *d, rn_conv_desc *t) {
    if (d->sh != 1 || d->sw != 1 || d->ph >= d->kh || d->pw >= d->kw) return 0;
    rn_memset(t, 0, sizeof *t);
    t->n = d->n, t->h = d->oh, t->w = d->ow, t->c = d->oc;
    t->oc = d->c, t->kh = d->kh, t->kw = d->kw, t->sh = 1, t->sw = 1;
    t->ph = d->kh - 1 - d->ph, t->pw = d->kw - 1 - d->pw;
    /* the transposed convolution's output is the forward input */
    return rn__conv_desc_init(t) && t->oh == d->h && t->ow == d->w;
}

void rn__conv_indirect_backward_data(const rn_ctx *ctx, const rn_conv_desc *d,
                                     const rn_conv_desc *t, const float *dy, const float *w,
                                     float *dx, void *ws) {
    (void)d;
    unsigned char *base = aligned(ws);
    pack(ctx, t, w, 1, 0, (float *)base);
    tiles(ctx, t, dy, (const float *)base, NULL, 0, dx, base + layout_for(t).bp, 0u, 0);
}

/* ---- bf16 products (RN_OPT_TRAIN_BF16) --------------------------------------------
 * The same tiles on bf16 pairs: the weights packed as above, rounded to
 * pairs in place and the panels moved together (K / 2 pair rows each); the
 * input (x, or dy for the backward-data pass) converted once into pairs in
 * the workspace, with its zero padding written around it, so that every
 * window lies inside and each tile's indirection is one pointer per row
 * (build_ind's fast path: with 16-row tiles on a 32-pixel row, every tile
 * of the unpadded map holds a border pixel). The tiles then run the
 * convolution of that padded map with no padding and half the channels,
 * each "channel" a pair.
 * Workspace: [the fp32 path's layout of d][the padded input as pairs]. */

int rn__conv_bf16_ok(const rn_conv_desc *d, int32_t pass) {
    rn_conv_desc t;
    if (pass == RN_CONV_PASS_FORWARD)
        return !rn__conv_is_direct(d) && rn__conv_indirect_ok(d) && d->c % 2 == 0;
    if (pass == RN_CONV_PASS_BACKWARD_DATA)
        return rn__conv_backward_data_indirect(d, &t) && t.c % 2 == 0;
    return 0;
}

/* the convolution the tiles run: t's input padded, as pairs */
static int padded_desc(const rn_conv_desc *t, rn_conv_desc *h) {
    *h = *t;
    h->c = t->c / 2;
    h->h = t->h + 2 * t->ph, h->w = t->w + 2 * t->pw, h->ph = h->pw = 0;
    return rn__conv_desc_init(h) && h->oh == t->oh && h->ow == t->ow;
}

/* bytes of the padded pairs of conv t's input (SIZE_MAX if too big) */
static size_t pairs_bytes(const rn_conv_desc *t) {
    rn_conv_desc h;
    if (!padded_desc(t, &h)) return SIZE_MAX;
    return rn__sat_mul(
        rn__sat_mul(rn__sat_mul((size_t)h.n, (size_t)h.h), rn__sat_mul((size_t)h.w, (size_t)h.c)),
        sizeof(uint32_t));
}

size_t rn__conv_bf16_workspace(const rn_conv_desc *d, int32_t pass) {
    rn_conv_desc t = *d;
    if (pass == RN_CONV_PASS_BACKWARD_DATA && !rn__conv_backward_data_indirect(d, &t))
        return SIZE_MAX;
    const size_t l = layout_for(&t).total, pb = pairs_bytes(&t);
    return l == SIZE_MAX || pb == SIZE_MAX ? SIZE_MAX : rn__sat_add(rn__sat_add(l, pb), RN_ALIGN);
}

/* Padded rows per conversion task: a constant, not the thread count. */
#define RN_BF16_CVT_ROWS 8

typedef struct cvt_job {
    rn_bf16_convert_fn fn;
    const rn_conv_desc *t, *h;
    const float *x;
    uint32_t *y;
    size_t rows; /* n * padded height */
} cvt_job;

static void cvt_task(void *arg, size_t task) {
    const cvt_job *j = (const cvt_job *)arg;
    const rn_conv_desc *t = j->t, *h = j->h;
    const size_t hp = (size_t)h->h, row = (size_t)h->w * (size_t)h->c; /* pairs per padded row */
    const size_t left = (size_t)t->pw * (size_t)h->c, inner = (size_t)t->w * (size_t)h->c;
    const size_t r0 = task * RN_BF16_CVT_ROWS;
    const size_t r1 = r0 + RN_BF16_CVT_ROWS < j->rows ? r0 + RN_BF16_CVT_ROWS : j->rows;
    for (size_t r = r0; r < r1; r++) {
        const size_t n = r / hp, yp = r % hp;
        uint32_t *dst = j->y + r * row;
        if (yp < (size_t)t->ph || yp >= (size_t)t->ph + (size_t)t->h) {
            rn_memset(dst, 0, row * sizeof(uint32_t));
            continue;
        }
        const size_t y = yp - (size_t)t->ph;
        rn_memset(dst, 0, left * sizeof(uint32_t));
        j->fn(inner, j->x + (n * (size_t)t->h + y) * (size_t)t->w * (size_t)t->c, dst + left);
        rn_memset(dst + left + inner, 0, (row - left - inner) * sizeof(uint32_t));
    }
}

/* t: the convolution computed (forward, or the transposed one); flip: w is
 * the forward weight of the backward-data pass */
static void bf16_conv(const rn_ctx *ctx, const rn_conv_desc *t, const float *x, const float *w,
                      int32_t flip, const float *bias, int32_t relu, float *y, void *ws) {
    const struct rn_kernels *kt = rn__ctx_kernels(ctx);
    rn_conv_desc h;
    const int ok = padded_desc(t, &h);
    RN_ASSERT(ok && kt->igemm_bf16 && kt->bf16_convert && t->c % 2 == 0);
    (void)ok;
    const ind_layout l = layout_for(t);
    unsigned char *base = aligned(ws);
    float *bp = (float *)base;
    pack(ctx, t, w, flip, 1, bp);
    const size_t k = rn__conv_k(t), panels = ((size_t)t->oc + RN_CONV_PANEL - 1) / RN_CONV_PANEL;
    for (size_t pn = 1; pn < panels; pn++)
        rn_memmove(bp + pn * (k / 2) * RN_CONV_PANEL, bp + pn * k * RN_CONV_PANEL,
                   k / 2 * RN_CONV_PANEL * sizeof(float));
    uint32_t *xp = (uint32_t *)(void *)aligned(base + l.total);
    cvt_job cj = {kt->bf16_convert, t, &h, x, xp, (size_t)h.n * (size_t)h.h};
    rn__parallel_for(ctx, (cj.rows + RN_BF16_CVT_ROWS - 1) / RN_BF16_CVT_ROWS, cvt_task, &cj);
    tiles(ctx, &h, (const float *)(const void *)xp, bp, bias, relu, y, base + l.bp, 0u, 1);
}

void rn__conv_indirect_forward_bf16(const rn_ctx *ctx, const rn_conv_desc *d, const float *x,
                                    const float *w, const float *bias, int32_t relu, float *y,
                                    void *ws) {
    bf16_conv(ctx, d, x, w, 0, bias, relu, y, ws);
}

void rn__conv_indirect_backward_data_bf16(const rn_ctx *ctx, const rn_conv_desc *d, const float *dy,
                                          const float *w, float *dx, void *ws) {
    rn_conv_desc t;
    const int ok = rn__conv_backward_data_indirect(d, &t);
    RN_ASSERT(ok);
    (void)ok;
    bf16_conv(ctx, &t, dy, w, 1, NULL, 0, dx, ws);
}

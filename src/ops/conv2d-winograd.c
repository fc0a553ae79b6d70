/*
 * Winograd F(4x4, 3x3) for 3x3 stride-1 convolutions: each 4x4 block of
 * output pixels comes from a 6x6 input tile,
 *   Y = A^T [ sum over c of (G g G^T) .* (B^T d B) ] A,
 * so the 36 element-wise products over channels become 36 independent GEMMs
 *   M[xi][tiles x K] = V[xi][tiles x C] * U[xi][C x K],
 * 36 multiplications per block and channel pair against the direct path's
 * 144 at full tiles (Lavin and Gray 2015, points 0, +-1, +-2 and infinity).
 * Inference plans may also take F(2x2,3x3) (points 0, +-1 and infinity):
 * 4x4 input tiles, 16 GEMMs, 16 multiplications per 2x2 block against 36,
 * four times as many tiles as F(4x4,3x3) on a map (enough rows for the GEMMs
 * where F(4x4,3x3) has too few) and rounding close to the direct path's;
 * and F(6x6,3x3) (points 0, +-1, +-2, +-1/2 and infinity): 8x8 input
 * tiles, 64 GEMMs, 64 multiplications per 6x6 block (1.78 per pixel against
 * 2.25), weights 1.78x F(4x4,3x3)'s and more rounding. The forward's code
 * below serves all three (wg_geom's out, in, n); the training passes are
 * F(4x4,3x3) only.
 *
 * Forward: three passes per chunk of tiles: the input transform (V, from
 * NHWC input, zeros for the padding), the GEMMs (the ISA's GEMM microkernel
 * on U packed into 32-wide panels, as the indirect path packs its weights),
 * and the output transform (Y, + bias, ReLU, written into the NHWC output,
 * tiles past the image edge clipped); 16-channel layers with many tiles run
 * the three per chunk in per-slot pipelines instead. Inference plans
 * transform the weights once; training transforms them on every call, and
 * also runs the backward-data pass (the transposed convolution's forward)
 * and the backward-weights pass (sums over tiles, at the end of this file)
 * here. The transforms are the kernel table's
 * (src/kernels/f32-winograd-template.h: plain C over the channels, which are
 * contiguous in NHWC, compiled per ISA so the compiler vectorises them).
 *
 * Thread-count independence: every output element is produced by the same
 * arithmetic in the same order whoever runs it (the chunking depends on the
 * shape only, each GEMM element is one microkernel call over all of C).
 * The transformed weights' layout depends on the shape only (not the ISA).
 */
#include "ops.h"
#include "../kernels/kernels.h"

#define WG_IN 6      /* input tile side (F(4x4,3x3), the training passes' tile) */
#define WG_OUT 4     /* output tile side */
#define WG_N 36      /* points per tile: WG_IN * WG_IN */
#define WG_MAX_OUT 6 /* the largest tile, F(6x6,3x3)'s: output side, points */
#define WG_MAX_N 64
#define WG_PANEL 32 /* columns of a packed weight panel (any table's NR divides it) */
/* V and M of one chunk of tiles: sized to stay in the two cores' L2 and L3
 * share, and to bound the workspace for any batch. */
#define WG_CHUNK_BYTES ((size_t)4 << 20)
/* F(6x6,3x3)'s (64 points a tile): at 4 MB a 128-channel layer had chunks
 * of 64 tiles, GEMMs of 64 rows (a partial last row block) that read all
 * of U once per chunk; 8 MB doubles them (8x28x28x128, one thread: 3.9 ->
 * 3.5 ms; 16 MB gained nothing more) */
#define WG_CHUNK_BYTES6 ((size_t)8 << 20)
/* Layers whose transformed weights fit WG_PIPE_U_MAX (up to 64 channels)
 * run as a pipeline: each of WG_PIPE_SLOTS slots takes every
 * WG_PIPE_SLOTS-th chunk of WG_PIPE_TILES tiles and runs all three passes
 * on it with its own V and M (400 KB at 16 channels, 1.6 MB at 64), so that
 * V and M do not travel through L3 as the shared schedule's 4 MB chunks do.
 * At 16 channels that traffic cost more than the multiplications saved
 * (128x32x32x16, 2 threads: 3.1 ms direct, 3.2 shared, 2.75 pipelined). At
 * 32 and 64 channels the two schedules ran within a few percent of each
 * other while the host's L3 was quiet (ResNet-20 step 124.8 ms shared,
 * 128.5 pipelined), but whenever the host slowed cache-heavy work (see
 * docs/performance.md, "A noisy host") the shared schedule lost badly:
 * 128x16x16x32 3.65 -> 1.64 ms, 128x8x8x64 2.2 -> 1.8 ms, 16x56x56x64
 * 12.7 -> 9.7 ms, ResNet-20 step 192 -> 169 ms. A fixed slot count keeps
 * the workspace independent of the thread count. */
#define WG_PIPE_U_MAX ((size_t)640 << 10)
/* F(6x6,3x3) at 64 channels (1 MB of U) pipelines too: 8x56x56x64, one
 * thread, 4.7 -> 4.3-4.5 ms */
#define WG_PIPE_U_MAX6 ((size_t)1100 << 10)
#define WG_PIPE_SLOTS 8
#define WG_PIPE_TILES 72
/* F(6x6,3x3)'s chunk: 64 points, about the slot bytes of 72 tiles at 36
 * (and whole row blocks of AVX-512's 14-row and AVX2's 6-row tiles) */
#define WG_PIPE_TILES6 42
/* Layers with fewer tiles than this keep the shared schedule. */
#define WG_PIPE_MIN_TILES 512
/* Rows past a chunk that the microkernel may read (all MR rows, MR <= 16). */
#define WG_ROW_PAD 16
/* How many tiles ahead a tile prefetches (prefetch_tile). */
#define WG_PF_TILES 2
/* Tiles per transform task. */
#define WG_TILES_PER_TASK 4

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }
static size_t round_up(size_t a, size_t b) { return (a + b - 1) / b * b; }

/* Row strides: whole cache lines, never a multiple of 1 KB (MR rows that
 * far apart would share a few L1 sets). */
static size_t row_stride(size_t c) {
    size_t s = round_up(c, 16);
    if ((s * sizeof(float)) % 1024 == 0) s += 16;
    return s;
}

/* Floats from one point's rows to the next's. For F(6x6,3x3) (n 64) never
 * a multiple of 1 KB, so that the transforms' 64 streams (one per point)
 * fall in different L1 sets: a multiple of 4 KB put them all in one
 * (8x56x56x64, one thread: 5.26 -> 4.75 ms). The other tiles keep rows * ld
 * (not measured with it). */
static size_t point_stride(size_t n, size_t rows, size_t ld) {
    const size_t s = rn__sat_mul(rows, ld);
    return n > WG_N && s < SIZE_MAX / 2 && (s * sizeof(float)) % 1024 == 0 ? s + 16 : s;
}

typedef struct wg_geom {
    size_t out, in, n;    /* output block side (6, 4 or 2), input tile side, points per tile */
    size_t th, tw, tiles; /* tiles per image (rows, columns) and over the batch */
    size_t chunk, rows;   /* tiles per chunk; rows of V and M per point (chunk + pad) */
    size_t ldv, ldm, kpad;
    size_t vps, mps; /* floats from one point's rows of V (M) to the next's */
    size_t slots;    /* 0: one shared V / M; else per-slot ones (the pipeline) */
} wg_geom;

/* pipe: whether the shape may take the per-slot pipeline (the forward);
 * tile: the output block side, 4 (F(4x4,3x3)), 2 (F(2x2,3x3)) or 6
 * (F(6x6,3x3)) */
static wg_geom geom_mode(const rn_conv_desc *d, int pipe, int32_t tile) {
    wg_geom g;
    g.out = tile == 2 || tile == 6 ? (size_t)tile : WG_OUT;
    g.in = g.out + 2;
    g.n = g.in * g.in;
    g.th = ((size_t)d->oh + g.out - 1) / g.out;
    g.tw = ((size_t)d->ow + g.out - 1) / g.out;
    g.tiles = rn__sat_mul(rn__sat_mul((size_t)d->n, g.th), g.tw);
    g.ldv = row_stride((size_t)d->c);
    g.ldm = row_stride((size_t)d->oc);
    g.kpad = round_up((size_t)d->oc, WG_PANEL);
    size_t per_tile = g.n * (g.ldv + g.ldm) * sizeof(float);
    size_t chunk = (g.n > WG_N ? WG_CHUNK_BYTES6 : WG_CHUNK_BYTES) / per_tile / 16 * 16;
    const size_t u_bytes = rn__sat_mul(rn__sat_mul(g.n, g.kpad), (size_t)d->c) * sizeof(float);
    g.slots = 0;
    const size_t u_max = g.n > WG_N ? WG_PIPE_U_MAX6 : WG_PIPE_U_MAX;
    if (pipe && u_bytes <= u_max && g.tiles >= WG_PIPE_MIN_TILES) {
        g.slots = WG_PIPE_SLOTS;
        chunk = g.n > WG_N ? WG_PIPE_TILES6 : WG_PIPE_TILES;
    }
    if (chunk < 16) chunk = 16;
    g.chunk = min_sz(chunk, g.tiles);
    g.rows = g.chunk + WG_ROW_PAD;
    g.vps = point_stride(g.n, g.rows, g.ldv);
    g.mps = point_stride(g.n, g.rows, g.ldm);
    return g;
}

static wg_geom geom_for(const rn_conv_desc *d, int32_t tile) { return geom_mode(d, 1, tile); }

int rn__conv_winograd_ok(const rn_conv_desc *d) {
    return d->kh == 3 && d->kw == 3 && d->sh == 1 && d->sw == 1;
}

/* Where each pass pays is rn__conv_choose's call (conv2d-algo.c). */
size_t rn__conv_winograd_tiles(const rn_conv_desc *d, int32_t tile) {
    return geom_for(d, tile).tiles;
}

size_t rn__conv_winograd_weights_size(const rn_conv_desc *d, int32_t tile) {
    const wg_geom g = geom_for(d, tile);
    return rn__sat_add(
        rn__sat_mul(rn__sat_mul(rn__sat_mul(g.n, g.kpad), (size_t)d->c), sizeof(float)), RN_ALIGN);
}

/* Workspace: a zero row of ldv, then per slot (one without the pipeline)
 * V [points][rows][ldv] and M [points][rows][ldm], the points vps and mps
 * floats apart. */
static size_t slot_floats(const wg_geom *g) {
    return round_up(rn__sat_mul(g->n, rn__sat_add(g->vps, g->mps)), RN_ALIGN / sizeof(float));
}

size_t rn__conv_winograd_workspace(const rn_conv_desc *d, int32_t tile) {
    const wg_geom g = geom_for(d, tile);
    const size_t slots = g.slots ? g.slots : 1;
    size_t floats =
        rn__sat_add(rn__sat_mul(slots, slot_floats(&g)), round_up(g.ldv, RN_ALIGN / sizeof(float)));
    return rn__sat_add(rn__sat_mul(floats, sizeof(float)), RN_ALIGN);
}

static void *aligned(const void *p) { return (void *)rn__align_up((size_t)(uintptr_t)p, RN_ALIGN); }

/* ---- weights: U = G g G^T per (out, in) channel pair ------------------------------
 * Layout: U[xi] as panels of 32 output channels, C rows of 32 floats each:
 * element (xi, k, c) at ((xi * kpad / 32 + k / 32) * C + c) * 32 + k % 32,
 * columns past K zero. A task fills one panel for a block of input
 * channels, so that the 32 output channels of a (point, input channel) row
 * are written together (a whole row per point and input channel) instead of one
 * float per row from 32 places; arithmetic in a fixed order (float; for
 * F(6x6,3x3) double, rounded once), so the result depends on the weights
 * only. In training the weights change every
 * step and are transformed on every call (the _w entry points below). */
static const float wg_g[WG_IN][3] = {
    /* F(4x4,3x3) */
    {1.0f / 4, 0, 0},
    {-1.0f / 6, -1.0f / 6, -1.0f / 6},
    {-1.0f / 6, 1.0f / 6, -1.0f / 6},
    {1.0f / 24, 1.0f / 12, 1.0f / 6},
    {1.0f / 24, -1.0f / 12, 1.0f / 6},
    {0, 0, 1},
};
static const float wg_g2[4][3] = {
    /* F(2x2,3x3) */
    {1, 0, 0},
    {0.5f, 0.5f, 0.5f},
    {0.5f, -0.5f, 0.5f},
    {0, 0, 1},
};
/* F(6x6,3x3) (points 0, 1, -1, 2, -2, 1/2, -1/2, infinity; the rows of the
 * last two finite points divided by 32, which A^T multiplies back): few of
 * these are floats, so its U is computed in double and rounded once. */
static const double wg_g6[8][3] = {
    {1, 0, 0},
    {-2.0 / 9, -2.0 / 9, -2.0 / 9},
    {-2.0 / 9, 2.0 / 9, -2.0 / 9},
    {1.0 / 90, 1.0 / 45, 2.0 / 45},
    {1.0 / 90, -1.0 / 45, 2.0 / 45},
    {1.0 / 45, 1.0 / 90, 1.0 / 180},
    {1.0 / 45, -1.0 / 90, 1.0 / 180},
    {0, 0, 1},
};

/* Input channels per weight-transform task. */
#define WG_W_CBLOCK 16

typedef struct wg_wjob {
    const rn_conv_desc *d; /* the convolution computed (for backward-data: the transposed one) */
    wg_geom g;
    const float *w;
    float *u;
    int flip; /* w holds the forward weights of the transposed convolution */
    size_t cblocks;
} wg_wjob;

static void weights_task(void *arg, size_t task) {
    const wg_wjob *j = (const wg_wjob *)arg;
    const size_t c_in = (size_t)j->d->c, oc = (size_t)j->d->oc, panels = j->g.kpad / WG_PANEL;
    const size_t pn = task / j->cblocks, c0 = task % j->cblocks * WG_W_CBLOCK;
    const size_t c1 = min_sz(c0 + WG_W_CBLOCK, c_in);
    const size_t in = j->g.in, n = j->g.n;
    const float(*gm)[3] = j->g.out == 2 ? wg_g2 : wg_g;
    for (size_t c = c0; c < c1; c++) {
        /* the rows (one per point) of this input channel, built here and
         * copied out whole: they lie a panel set apart (megabytes for wide
         * layers) */
        float ub[WG_MAX_N][WG_PANEL];
        for (size_t r = 0; r < WG_PANEL; r++) {
            const size_t k = pn * WG_PANEL + r;
            if (k >= oc) {
                for (size_t xi = 0; xi < n; xi++) ub[xi][r] = 0.0f;
                continue;
            }
            float g[3][3], t[WG_IN][3];
            for (size_t ky = 0; ky < 3; ky++)
                for (size_t kx = 0; kx < 3; kx++)
                    /* flip: the forward weights are (C, 3, 3, K) here; the
                     * transposed convolution uses them rotated by 180 degrees */
                    g[ky][kx] = j->flip ? j->w[((c * 3 + 2 - ky) * 3 + 2 - kx) * oc + k]
                                        : j->w[((k * 3 + ky) * 3 + kx) * c_in + c];
            if (in == 8) {
                double t6[8][3];
                for (size_t i = 0; i < 8; i++)
                    for (size_t kx = 0; kx < 3; kx++)
                        t6[i][kx] = wg_g6[i][0] * g[0][kx] + wg_g6[i][1] * g[1][kx] +
                                    wg_g6[i][2] * g[2][kx];
                for (size_t i = 0; i < 8; i++)
                    for (size_t q = 0; q < 8; q++)
                        ub[i * 8 + q][r] = (float)(t6[i][0] * wg_g6[q][0] + t6[i][1] * wg_g6[q][1] +
                                                   t6[i][2] * wg_g6[q][2]);
                continue;
            }
            for (size_t i = 0; i < in; i++)
                for (size_t kx = 0; kx < 3; kx++)
                    t[i][kx] = gm[i][0] * g[0][kx] + gm[i][1] * g[1][kx] + gm[i][2] * g[2][kx];
            for (size_t i = 0; i < in; i++)
                for (size_t q = 0; q < in; q++)
                    ub[i * in + q][r] =
                        t[i][0] * gm[q][0] + t[i][1] * gm[q][1] + t[i][2] * gm[q][2];
        }
        for (size_t xi = 0; xi < n; xi++)
            rn_memcpy(j->u + ((xi * panels + pn) * c_in + c) * WG_PANEL, ub[xi], sizeof ub[xi]);
    }
}

static void transform_weights(const rn_ctx *ctx, const rn_conv_desc *d, int32_t tile,
                              const float *w, void *u, int flip) {
    wg_wjob j = {d, geom_for(d, tile), w, (float *)aligned(u), flip, 0};
    j.cblocks = ((size_t)d->c + WG_W_CBLOCK - 1) / WG_W_CBLOCK;
    rn__parallel_for(ctx, j.g.kpad / WG_PANEL * j.cblocks, weights_task, &j);
}

void rn__conv_winograd_transform_weights(const rn_ctx *ctx, const rn_conv_desc *d, int32_t tile,
                                         const float *w, void *u) {
    transform_weights(ctx, d, tile, w, u, 0);
}

/* ---- forward ------------------------------------------------------------------------ */
typedef struct wg_job {
    const struct rn_kernels *kt;
    const rn_conv_desc *d;
    wg_geom g;
    const float *x, *u, *bias, *zero;
    float *y, *v, *m;
    rn_gemm_ukernel_fn fn;
    size_t mr, nr;
    size_t t0, count; /* the chunk: tiles [t0, t0 + count) */
    int32_t relu, accumulate;
    /* backward-weights: dy, dU [36][kpad][ldu], its microkernel */
    const float *dy;
    float *du;
    size_t ldu;
    rn_wgrad_ukernel_fn wfn;
    size_t wmr, wnr;
} wg_job;

/* Read-ahead: tiles run in row-major order and each reads (or writes) a
 * few short runs of pixels per image row, which the hardware's prefetcher
 * does not follow far enough ahead (the transforms then waited on memory:
 * 128x32x32x16, one thread, forward 6.2 -> 4.1 ms). So each tile prefetches
 * what tile t + WG_PF_TILES will touch and its predecessor did not: of an
 * input window (side WG_IN, overlapping the previous one by two columns)
 * its last four columns, all six at the start of a row of tiles; of an
 * output or output-gradient block (side WG_OUT) all of it. base holds
 * images of h x w pixels of c floats; write: pixels about to be written. */
static void prefetch_tile(const wg_job *j, const float *base, size_t h, size_t w, size_t c,
                          size_t t, int input, int write) {
    const size_t t2 = t + WG_PF_TILES;
    if (t2 >= j->g.tiles) return;
    const size_t per_img = j->g.th * j->g.tw, rem = t2 % per_img, tx = rem % j->g.tw;
    const float *img = base + t2 / per_img * h * w * c;
    const int64_t in = (int64_t)j->g.in, out = (int64_t)j->g.out;
    const int64_t side = input ? in : out;
    const int64_t y0 = (int64_t)(rem / j->g.tw) * out - (input ? j->d->ph : 0);
    int64_t x0 = (int64_t)tx * out - (input ? j->d->pw : 0), x1 = x0 + side;
    if (input && tx > 0) x0 += in - out;
    if (x0 < 0) x0 = 0;
    if (x1 > (int64_t)w) x1 = (int64_t)w;
    if (x0 >= x1) return;
    const size_t run = (size_t)(x1 - x0) * c; /* floats per image row */
    for (int64_t y = y0 < 0 ? 0 : y0; y < y0 + side && y < (int64_t)h; y++) {
        const float *p = img + ((size_t)y * w + (size_t)x0) * c;
        for (size_t f = 0; f < run + 15; f += 16) {
            const float *q = p + (f < run ? f : run - 1);
            if (write)
                RN_PREFETCH_W(q);
            else
                RN_PREFETCH(q);
        }
    }
}

static void input_tile(const wg_job *j, size_t t, size_t row) {
    const rn_conv_desc *d = j->d;
    const size_t c_in = (size_t)d->c, h = (size_t)d->h, w = (size_t)d->w;
    const size_t per_img = j->g.th * j->g.tw, n = t / per_img, rem = t % per_img;
    const int64_t in = (int64_t)j->g.in, out = (int64_t)j->g.out;
    const int64_t iy0 = (int64_t)(rem / j->g.tw) * out - d->ph;
    const int64_t ix0 = (int64_t)(rem % j->g.tw) * out - d->pw;
    const float *img = j->x + n * h * w * c_in;
    const float *pts[WG_MAX_N];
    for (int64_t i = 0; i < in; i++) {
        const int64_t iy = iy0 + i;
        for (int64_t q = 0; q < in; q++) {
            const int64_t ix = ix0 + q;
            pts[i * in + q] = iy >= 0 && iy < (int64_t)h && ix >= 0 && ix < (int64_t)w
                                  ? img + ((size_t)iy * w + (size_t)ix) * c_in
                                  : j->zero;
        }
    }
    prefetch_tile(j, j->x, h, w, c_in, t, 1, 0);
    const rn_winograd_input_fn fn = j->g.out == 2   ? j->kt->winograd2_input
                                    : j->g.out == 6 ? j->kt->winograd6_input
                                                    : j->kt->winograd_input;
    fn(c_in, pts, j->v + row * j->g.ldv, j->g.vps);
}

static void input_task(void *arg, size_t task) {
    const wg_job *j = (const wg_job *)arg;
    const size_t r0 = task * WG_TILES_PER_TASK, r1 = min_sz(r0 + WG_TILES_PER_TASK, j->count);
    for (size_t r = r0; r < r1; r++) input_tile(j, j->t0 + r, r);
}

/* One point xi: M[xi] = V[xi] U[xi], column tiles outermost so that a panel
 * of U stays in cache while the tiles stream through it. */
static void gemm_task(void *arg, size_t xi) {
    const wg_job *j = (const wg_job *)arg;
    const size_t c_in = (size_t)j->d->c, oc = (size_t)j->d->oc, panels = j->g.kpad / WG_PANEL;
    const float *a = j->v + xi * j->g.vps;
    float *cm = j->m + xi * j->g.mps;
    for (size_t col = 0; col < oc; col += j->nr) {
        const size_t cols = min_sz(j->nr, oc - col);
        const float *b = j->u + ((xi * panels + col / WG_PANEL) * c_in) * WG_PANEL + col % WG_PANEL;
        for (size_t r = 0; r < j->count; r += j->mr)
            j->fn(min_sz(j->mr, j->count - r), cols, c_in, a + r * j->g.ldv, j->g.ldv, b, WG_PANEL,
                  cm + r * j->g.ldm + col, j->g.ldm, NULL, 0u);
    }
}

static void output_tile(const wg_job *j, size_t t, size_t row) {
    const rn_conv_desc *d = j->d;
    const size_t oc = (size_t)d->oc, oh = (size_t)d->oh, ow = (size_t)d->ow;
    const size_t per_img = j->g.th * j->g.tw, n = t / per_img, rem = t % per_img;
    const size_t out = j->g.out;
    const size_t oy0 = rem / j->g.tw * out, ox0 = rem % j->g.tw * out;
    float *img = j->y + n * oh * ow * oc;
    float *pix[WG_MAX_OUT * WG_MAX_OUT];
    for (size_t i = 0; i < out; i++)
        for (size_t q = 0; q < out; q++)
            pix[i * out + q] =
                oy0 + i < oh && ox0 + q < ow ? img + ((oy0 + i) * ow + ox0 + q) * oc : NULL;
    prefetch_tile(j, j->y, oh, ow, oc, t, 0, 1);
    const rn_winograd_output_fn fn = out == 2   ? j->kt->winograd2_output
                                     : out == 6 ? j->kt->winograd6_output
                                                : j->kt->winograd_output;
    fn(oc, j->m + row * j->g.ldm, j->g.mps, pix, j->bias,
       (j->relu ? RN_WG_RELU : 0u) | (j->accumulate ? RN_WG_ACCUMULATE : 0u));
}

static void output_task(void *arg, size_t task) {
    const wg_job *j = (const wg_job *)arg;
    const size_t r0 = task * WG_TILES_PER_TASK, r1 = min_sz(r0 + WG_TILES_PER_TASK, j->count);
    for (size_t r = r0; r < r1; r++) output_tile(j, j->t0 + r, r);
}

/* The rows past the chunk that the microkernel reads: defined values. */
static void zero_pad_rows(const wg_job *j) {
    const size_t pad = min_sz(WG_ROW_PAD, j->g.rows - j->count);
    for (size_t xi = 0; xi < j->g.n; xi++)
        rn_memset(j->v + xi * j->g.vps + j->count * j->g.ldv, 0, pad * j->g.ldv * sizeof(float));
}

/* One pipeline slot: chunks slot, slot + slots, ..., all passes here. The
 * rows past a full chunk are zeroed with the slot's first chunk and never
 * written after; a partial last chunk zeroes those past its own count. */
static void pipe_task(void *arg, size_t slot) {
    wg_job j = *(const wg_job *)arg;
    j.v += slot * slot_floats(&j.g);
    j.m = j.v + j.g.n * j.g.vps;
    const size_t chunks = (j.g.tiles + j.g.chunk - 1) / j.g.chunk;
    for (size_t ch = slot; ch < chunks; ch += j.g.slots) {
        j.t0 = ch * j.g.chunk;
        j.count = min_sz(j.g.chunk, j.g.tiles - j.t0);
        if (ch == slot || j.count < j.g.chunk) zero_pad_rows(&j);
        for (size_t r = 0; r < j.count; r++) input_tile(&j, j.t0 + r, r);
        for (size_t xi = 0; xi < j.g.n; xi++) gemm_task(&j, xi);
        for (size_t r = 0; r < j.count; r++) output_tile(&j, j.t0 + r, r);
    }
}

void rn__conv_winograd_forward(const rn_ctx *ctx, const rn_conv_desc *d, int32_t tile,
                               const float *x, const void *u, const float *bias, int32_t relu,
                               int32_t accumulate, float *y, void *ws) {
    const struct rn_kernels *kt = rn__ctx_kernels(ctx);
    wg_job j;
    rn_memset(&j, 0, sizeof j);
    j.kt = kt, j.d = d, j.g = geom_for(d, tile);
    j.x = x, j.u = (const float *)aligned(u), j.bias = bias, j.y = y, j.relu = relu;
    j.accumulate = accumulate;
    float *zero = (float *)aligned(ws);
    rn_memset(zero, 0, j.g.ldv * sizeof(float));
    j.zero = zero;
    j.v = zero + round_up(j.g.ldv, RN_ALIGN / sizeof(float)); /* slot 0 */
    /* the narrow tile where the wide one would mostly compute padding (16 channels) */
    const size_t oc = (size_t)d->oc;
    const size_t cw = round_up(oc, (size_t)kt->gemm_nr),
                 cn = round_up(oc, (size_t)kt->gemm_narrow_nr);
    if (4 * cw > 5 * cn) {
        j.fn = kt->gemm_narrow, j.mr = (size_t)kt->gemm_narrow_mr,
        j.nr = (size_t)kt->gemm_narrow_nr;
    } else {
        j.fn = kt->gemm, j.mr = (size_t)kt->gemm_mr, j.nr = (size_t)kt->gemm_nr;
    }
    RN_ASSERT(WG_PANEL % j.nr == 0 && j.mr <= WG_ROW_PAD);
    if (j.g.slots) {
        /* whole row blocks of the microkernel per chunk (14 x 5 = 70 tiles
         * with AVX-512's 14-row tile), no more than the workspace's
         * WG_PIPE_TILES: the schedule only, not the arithmetic, changes */
        j.g.chunk = j.g.chunk / j.mr * j.mr;
        rn__parallel_for(ctx, j.g.slots, pipe_task, &j);
        return;
    }
    j.m = j.v + j.g.n * j.g.vps;
    for (j.t0 = 0; j.t0 < j.g.tiles; j.t0 += j.count) {
        j.count = min_sz(j.g.chunk, j.g.tiles - j.t0);
        zero_pad_rows(&j);
        const size_t tasks = (j.count + WG_TILES_PER_TASK - 1) / WG_TILES_PER_TASK;
        rn__parallel_for(ctx, tasks, input_task, &j);
        rn__parallel_for(ctx, j.g.n, gemm_task, &j);
        rn__parallel_for(ctx, tasks, output_task, &j);
    }
}

/* ---- training: weights transformed on every call ------------------------------------
 * The workspace holds U first, then the forward's own workspace. */
static size_t u_bytes(const rn_conv_desc *d) {
    return rn__align_up(rn__conv_winograd_weights_size(d, 4), RN_ALIGN);
}

size_t rn__conv_winograd_forward_w_workspace(const rn_conv_desc *d) {
    return rn__sat_add(u_bytes(d), rn__conv_winograd_workspace(d, 4));
}

void rn__conv_winograd_forward_w(const rn_ctx *ctx, const rn_conv_desc *d, const float *x,
                                 const float *w, const float *bias, int32_t relu, float *y,
                                 void *ws) {
    unsigned char *u = (unsigned char *)ws;
    transform_weights(ctx, d, 4, w, u, 0);
    rn__conv_winograd_forward(ctx, d, 4, x, u, bias, relu, 0, y, u + u_bytes(d));
}

/* The backward-data pass of a 3x3 stride-1 convolution with padding p is
 * itself one: dx = dy correlated with the weights rotated by 180 degrees and
 * transposed (input and output channels swapped), padding 2 - p, which
 * gives back the input's size (oh + 2 (2 - p) - 2 = h). */
static int transposed_desc(const rn_conv_desc *d, rn_conv_desc *t) {
    if (!rn__conv_winograd_ok(d) || d->ph > 2 || d->pw > 2) return 0;
    rn_memset(t, 0, sizeof *t);
    t->n = d->n, t->h = d->oh, t->w = d->ow, t->c = d->oc, t->oc = d->c;
    t->kh = t->kw = 3, t->sh = t->sw = 1, t->ph = 2 - d->ph, t->pw = 2 - d->pw;
    return rn__conv_desc_init(t) && t->oh == d->h && t->ow == d->w;
}

int rn__conv_winograd_backward_data_ok(const rn_conv_desc *d) {
    rn_conv_desc t;
    return transposed_desc(d, &t);
}

size_t rn__conv_winograd_backward_data_workspace(const rn_conv_desc *d) {
    rn_conv_desc t;
    if (!transposed_desc(d, &t)) return SIZE_MAX;
    return rn__conv_winograd_forward_w_workspace(&t);
}

void rn__conv_winograd_backward_data(const rn_ctx *ctx, const rn_conv_desc *d, const float *dy,
                                     const float *w, float *dx, void *ws) {
    rn_conv_desc t;
    const int ok = transposed_desc(d, &t);
    RN_ASSERT(ok);
    (void)ok;
    unsigned char *u = (unsigned char *)ws;
    transform_weights(ctx, &t, 4, w, u, 1);
    rn__conv_winograd_forward(ctx, &t, 4, dy, u, NULL, 0, 0, dx, u + u_bytes(&t));
}

/* ---- training: backward-weights ------------------------------------------------------
 * The forward computes each tile as Y = A^T [sum over c of U .* V] A with
 * U = G g G^T, so the weight gradient is, per (output, input) channel pair,
 *   dg = G^T dU G,  dU = sum over tiles of (A dY A^T) .* V,
 * with dY zero outside the image. Per chunk of tiles: V (the forward's input
 * transform), W = A dY A^T (the kernel table's output-gradient transform),
 * then for each of the 36 points dU[xi] += W[xi]^T V[xi], a sum over the
 * chunk's tiles on the weight-gradient microkernel; at the end dW from dU.
 * Each point's sum runs over the tiles in order whoever runs it, so the
 * result does not depend on the thread count. 4x fewer multiplications than
 * the direct pass at full tiles, as for the forward. */
static size_t du_floats(const wg_geom *g, const rn_conv_desc *d) {
    return rn__sat_mul(rn__sat_mul(WG_N, g->kpad), round_up((size_t)d->c, 16));
}

/* Workspace: V and W (as the forward's V and M), dU, a zero row. */
size_t rn__conv_winograd_backward_weights_workspace(const rn_conv_desc *d) {
    if (!rn__conv_winograd_ok(d)) return SIZE_MAX;
    const wg_geom g = geom_mode(d, 0, 4);
    size_t floats = rn__sat_add(rn__sat_mul(WG_N, rn__sat_add(g.vps, g.mps)), du_floats(&g, d));
    floats = rn__sat_add(floats, g.ldv > g.ldm ? g.ldv : g.ldm);
    return rn__sat_add(rn__sat_mul(floats, sizeof(float)), 4 * RN_ALIGN);
}

static void grad_tile(const wg_job *j, size_t t, size_t row) {
    const rn_conv_desc *d = j->d;
    const size_t oc = (size_t)d->oc, oh = (size_t)d->oh, ow = (size_t)d->ow;
    const size_t per_img = j->g.th * j->g.tw, n = t / per_img, rem = t % per_img;
    const size_t oy0 = rem / j->g.tw * WG_OUT, ox0 = rem % j->g.tw * WG_OUT;
    const float *img = j->dy + n * oh * ow * oc;
    const float *pix[WG_OUT * WG_OUT];
    for (size_t i = 0; i < WG_OUT; i++)
        for (size_t q = 0; q < WG_OUT; q++)
            pix[i * WG_OUT + q] =
                oy0 + i < oh && ox0 + q < ow ? img + ((oy0 + i) * ow + ox0 + q) * oc : j->zero;
    prefetch_tile(j, j->dy, oh, ow, oc, t, 0, 0);
    float *w = j->m + row * j->g.ldm;
    const size_t w_stride = j->g.mps;
    j->kt->winograd_output_grad(oc, pix, w, w_stride);
    /* the microkernel reads whole MR-wide groups of output channels */
    const size_t kread = round_up(oc, j->wmr);
    if (kread > oc)
        for (size_t xi = 0; xi < WG_N; xi++)
            rn_memset(w + xi * w_stride + oc, 0, (kread - oc) * sizeof(float));
}

static void grad_input_task(void *arg, size_t task) {
    const wg_job *j = (const wg_job *)arg;
    const size_t r0 = task * WG_TILES_PER_TASK, r1 = min_sz(r0 + WG_TILES_PER_TASK, j->count);
    for (size_t r = r0; r < r1; r++) {
        input_tile(j, j->t0 + r, r);
        grad_tile(j, j->t0 + r, r);
    }
}

static void du_task(void *arg, size_t xi) {
    const wg_job *j = (const wg_job *)arg;
    const size_t c_in = (size_t)j->d->c, oc = (size_t)j->d->oc;
    const float *a = j->m + xi * j->g.mps;
    const float *b = j->v + xi * j->g.vps;
    float *du = j->du + xi * j->g.kpad * j->ldu;
    if (j->t0 == 0) rn_memset(du, 0, j->g.kpad * j->ldu * sizeof(float));
    for (size_t k0 = 0; k0 < oc; k0 += j->wmr)
        for (size_t c0 = 0; c0 < c_in; c0 += j->wnr)
            j->wfn(min_sz(j->wnr, c_in - c0), 1, j->count, a + k0, 0, j->g.ldm, b + c0, 0, j->g.ldv,
                   du + k0 * j->ldu + c0, j->ldu);
}

/* dW (OHWI) = G^T dU G per (output, input) channel pair, in double */
typedef struct wg_dwjob {
    const rn_conv_desc *d;
    const float *du;
    size_t kpad, ldu;
    float *dw;
} wg_dwjob;

static void dw_task(void *arg, size_t k) {
    const wg_dwjob *j = (const wg_dwjob *)arg;
    const size_t c_in = (size_t)j->d->c, step = j->kpad * j->ldu;
    for (size_t c = 0; c < c_in; c++) {
        const float *u = j->du + k * j->ldu + c; /* point xi at u[xi * step] */
        double t[WG_IN][3];
        for (size_t a = 0; a < WG_IN; a++)
            for (size_t kx = 0; kx < 3; kx++) {
                double acc = 0.0;
                for (size_t b = 0; b < WG_IN; b++)
                    acc += (double)u[(a * WG_IN + b) * step] * (double)wg_g[b][kx];
                t[a][kx] = acc;
            }
        for (size_t ky = 0; ky < 3; ky++)
            for (size_t kx = 0; kx < 3; kx++) {
                double acc = 0.0;
                for (size_t a = 0; a < WG_IN; a++) acc += (double)wg_g[a][ky] * t[a][kx];
                j->dw[((k * 3 + ky) * 3 + kx) * c_in + c] = (float)acc;
            }
    }
}

void rn__conv_winograd_backward_weights(const rn_ctx *ctx, const rn_conv_desc *d, const float *x,
                                        const float *dy, float *dw, void *ws) {
    const struct rn_kernels *kt = rn__ctx_kernels(ctx);
    wg_job j;
    rn_memset(&j, 0, sizeof j);
    j.kt = kt, j.d = d, j.g = geom_mode(d, 0, 4);
    j.x = x, j.dy = dy;
    j.v = (float *)aligned(ws);
    j.m = (float *)aligned(j.v + WG_N * j.g.vps);
    j.du = (float *)aligned(j.m + WG_N * j.g.mps);
    j.ldu = round_up((size_t)d->c, 16);
    float *zero = (float *)aligned(j.du + du_floats(&j.g, d));
    rn_memset(zero, 0, (j.g.ldv > j.g.ldm ? j.g.ldv : j.g.ldm) * sizeof(float));
    j.zero = zero;
    /* the narrow tile for 16 input channels, as the direct pass chooses */
    const size_t c_in = (size_t)d->c;
    const size_t cw = round_up(c_in, (size_t)kt->wgrad_nr);
    const size_t cn = round_up(c_in, (size_t)kt->wgrad_narrow_nr);
    if (4 * cw > 5 * cn)
        j.wfn = kt->wgrad_narrow, j.wmr = (size_t)kt->wgrad_narrow_mr,
        j.wnr = (size_t)kt->wgrad_narrow_nr;
    else
        j.wfn = kt->wgrad, j.wmr = (size_t)kt->wgrad_mr, j.wnr = (size_t)kt->wgrad_nr;
    RN_ASSERT(j.wmr <= 16 && 16 % j.wmr == 0 && j.g.kpad % j.wmr == 0);
    for (j.t0 = 0; j.t0 < j.g.tiles; j.t0 += j.count) {
        j.count = min_sz(j.g.chunk, j.g.tiles - j.t0);
        const size_t tasks = (j.count + WG_TILES_PER_TASK - 1) / WG_TILES_PER_TASK;
        rn__parallel_for(ctx, tasks, grad_input_task, &j);
        rn__parallel_for(ctx, WG_N, du_task, &j);
    }
    wg_dwjob dj = {d, j.du, j.g.kpad, j.ldu, dw};
    rn__parallel_for(ctx, (size_t)d->oc, dw_task, &dj);
}

/*
 * Winograd F(4x4, 3x3) for 3x3 stride-1 forward convolutions (inference
 * plans): each 4x4 block of output pixels comes from a 6x6 input tile,
 *   Y = A^T [ sum over c of (G g G^T) .* (B^T d B) ] A,
 * so the 36 element-wise products over channels become 36 independent GEMMs
 *   M[xi][tiles x K] = V[xi][tiles x C] * U[xi][C x K],
 * 2.25 times fewer multiplications per output than the direct 9 taps x 4 at
 * full tiles (Lavin and Gray 2015, points 0, +-1, +-2 and infinity).
 *
 * Three passes per chunk of tiles: the input transform (V, from NHWC input,
 * zeros for the padding), the GEMMs (the ISA's GEMM microkernel on U packed
 * once per plan into 32-wide panels, as the indirect path packs its weights),
 * and the output transform (Y, + bias, ReLU, written into the NHWC output,
 * tiles past the image edge clipped). The transforms are the kernel table's
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

#define WG_IN 6     /* input tile side */
#define WG_OUT 4    /* output tile side */
#define WG_N 36     /* points per tile: WG_IN * WG_IN */
#define WG_PANEL 32 /* columns of a packed weight panel (any table's NR divides it) */
/* V and M of one chunk of tiles: sized to stay in the two cores' L2 and L3
 * share, and to bound the workspace for any batch. */
#define WG_CHUNK_BYTES ((size_t)4 << 20)
/* Rows past a chunk that the microkernel may read (all MR rows, MR <= 16). */
#define WG_ROW_PAD 16
/* Tiles per transform task. */
#define WG_TILES_PER_TASK 4

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }
static size_t round_up(size_t a, size_t b) { return (a + b - 1) / b * b; }

static size_t sat_mul(size_t a, size_t b) {
    size_t r;
    return rn__mul_size(a, b, &r) ? r : SIZE_MAX;
}
static size_t sat_add(size_t a, size_t b) {
    size_t r;
    return rn__add_size(a, b, &r) ? r : SIZE_MAX;
}

/* Row strides: whole cache lines, never a multiple of 1 KB (MR rows that
 * far apart would share a few L1 sets). */
static size_t row_stride(size_t c) {
    size_t s = round_up(c, 16);
    if ((s * sizeof(float)) % 1024 == 0) s += 16;
    return s;
}

typedef struct wg_geom {
    size_t th, tw, tiles; /* tiles per image (rows, columns) and over the batch */
    size_t chunk, rows;   /* tiles per chunk; rows of V and M per point (chunk + pad) */
    size_t ldv, ldm, kpad;
} wg_geom;

static wg_geom geom_for(const rn_conv_desc *d) {
    wg_geom g;
    g.th = ((size_t)d->oh + WG_OUT - 1) / WG_OUT;
    g.tw = ((size_t)d->ow + WG_OUT - 1) / WG_OUT;
    g.tiles = sat_mul(sat_mul((size_t)d->n, g.th), g.tw);
    g.ldv = row_stride((size_t)d->c);
    g.ldm = row_stride((size_t)d->oc);
    g.kpad = round_up((size_t)d->oc, WG_PANEL);
    size_t per_tile = WG_N * (g.ldv + g.ldm) * sizeof(float);
    size_t chunk = WG_CHUNK_BYTES / per_tile / 16 * 16;
    if (chunk < 16) chunk = 16;
    g.chunk = min_sz(chunk, g.tiles);
    g.rows = g.chunk + WG_ROW_PAD;
    return g;
}

int rn__conv_winograd_ok(const rn_conv_desc *d) {
    return d->kh == 3 && d->kw == 3 && d->sh == 1 && d->sw == 1;
}

/* Where F(4x4,3x3) beats the indirect path (Zen 4, 2 threads, AVX-512,
 * against pre-packed weights; docs/performance.md): enough tiles for the 36
 * GEMMs to run at speed and channels enough for the transforms to be a
 * small share. Batch 1: 56x56x64 1.05 -> 0.53 ms, 28x28x128 1.03 -> 0.50 ms;
 * 16 channels (CIFAR layer1) 0.71x-1.05x. 14x14x256 at batch 1 (16 tiles)
 * would gain 1.11 -> 0.91 ms, but its transformed weights (9.4 MB, 4x the
 * 3x3 weights) buy more as packed layer4 weights within a plan's memory
 * budget (src/nn/plan-build.c); at 7x7 (4 tiles) Winograd loses. */
int rn__conv_winograd_pays(const rn_conv_desc *d) {
    if (!rn__conv_winograd_ok(d)) return 0;
    const wg_geom g = geom_for(d);
    return g.tiles >= 32 && d->c >= 32 && d->oc >= 32;
}

size_t rn__conv_winograd_weights_size(const rn_conv_desc *d) {
    const wg_geom g = geom_for(d);
    return sat_add(sat_mul(sat_mul(sat_mul(WG_N, g.kpad), (size_t)d->c), sizeof(float)),
                   RN_ALIGN);
}

/* Workspace: V [36][rows][ldv], M [36][rows][ldm], a zero row of ldv. */
size_t rn__conv_winograd_workspace(const rn_conv_desc *d) {
    const wg_geom g = geom_for(d);
    size_t floats = sat_add(sat_mul(sat_mul(WG_N, g.rows), sat_add(g.ldv, g.ldm)), g.ldv);
    return sat_add(sat_mul(floats, sizeof(float)), 3 * RN_ALIGN);
}

static void *aligned(const void *p) {
    return (void *)rn__align_up((size_t)(uintptr_t)p, RN_ALIGN);
}

/* ---- weights: U = G g G^T per (out, in) channel pair, in double ------------------
 * Layout: U[xi] as panels of 32 output channels, C rows of 32 floats each:
 * element (xi, k, c) at ((xi * kpad / 32 + k / 32) * C + c) * 32 + k % 32,
 * columns past K zero. */
static const double wg_g[WG_IN][3] = {
    {1.0 / 4, 0, 0},
    {-1.0 / 6, -1.0 / 6, -1.0 / 6},
    {-1.0 / 6, 1.0 / 6, -1.0 / 6},
    {1.0 / 24, 1.0 / 12, 1.0 / 6},
    {1.0 / 24, -1.0 / 12, 1.0 / 6},
    {0, 0, 1},
};

typedef struct wg_wjob {
    const rn_conv_desc *d;
    wg_geom g;
    const float *w;
    float *u;
} wg_wjob;

static void weights_task(void *arg, size_t k) {
    const wg_wjob *j = (const wg_wjob *)arg;
    const size_t c_in = (size_t)j->d->c, panels = j->g.kpad / WG_PANEL;
    const size_t pn = k / WG_PANEL, r = k % WG_PANEL;
    for (size_t c = 0; c < c_in; c++) {
        double u[WG_IN][WG_IN];
        if (k < (size_t)j->d->oc) {
            double g[3][3], t[WG_IN][3];
            for (size_t ky = 0; ky < 3; ky++)
                for (size_t kx = 0; kx < 3; kx++)
                    g[ky][kx] = (double)j->w[((k * 3 + ky) * 3 + kx) * c_in + c];
            for (size_t i = 0; i < WG_IN; i++)
                for (size_t kx = 0; kx < 3; kx++)
                    t[i][kx] = wg_g[i][0] * g[0][kx] + wg_g[i][1] * g[1][kx] +
                               wg_g[i][2] * g[2][kx];
            for (size_t i = 0; i < WG_IN; i++)
                for (size_t q = 0; q < WG_IN; q++)
                    u[i][q] = t[i][0] * wg_g[q][0] + t[i][1] * wg_g[q][1] + t[i][2] * wg_g[q][2];
        } else {
            for (size_t i = 0; i < WG_IN; i++)
                for (size_t q = 0; q < WG_IN; q++) u[i][q] = 0.0;
        }
        for (size_t xi = 0; xi < WG_N; xi++)
            j->u[((xi * panels + pn) * c_in + c) * WG_PANEL + r] =
                (float)u[xi / WG_IN][xi % WG_IN];
    }
}

void rn__conv_winograd_transform_weights(const rn_ctx *ctx, const rn_conv_desc *d,
                                         const float *w, void *u) {
    wg_wjob j = {d, geom_for(d), w, (float *)aligned(u)};
    rn__parallel_for(ctx, j.g.kpad, weights_task, &j);
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
    int32_t relu;
} wg_job;

static void input_tile(const wg_job *j, size_t t, size_t row) {
    const rn_conv_desc *d = j->d;
    const size_t c_in = (size_t)d->c, h = (size_t)d->h, w = (size_t)d->w;
    const size_t per_img = j->g.th * j->g.tw, n = t / per_img, rem = t % per_img;
    const int64_t iy0 = (int64_t)(rem / j->g.tw) * WG_OUT - d->ph;
    const int64_t ix0 = (int64_t)(rem % j->g.tw) * WG_OUT - d->pw;
    const float *img = j->x + n * h * w * c_in;
    const float *pts[WG_N];
    for (int64_t i = 0; i < WG_IN; i++) {
        const int64_t iy = iy0 + i;
        for (int64_t q = 0; q < WG_IN; q++) {
            const int64_t ix = ix0 + q;
            pts[i * WG_IN + q] = iy >= 0 && iy < (int64_t)h && ix >= 0 && ix < (int64_t)w
                                     ? img + ((size_t)iy * w + (size_t)ix) * c_in
                                     : j->zero;
        }
    }
    j->kt->winograd_input(c_in, pts, j->v + row * j->g.ldv, j->g.rows * j->g.ldv);
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
    const float *a = j->v + xi * j->g.rows * j->g.ldv;
    float *cm = j->m + xi * j->g.rows * j->g.ldm;
    for (size_t col = 0; col < oc; col += j->nr) {
        const size_t cols = min_sz(j->nr, oc - col);
        const float *b = j->u + ((xi * panels + col / WG_PANEL) * c_in) * WG_PANEL + col % WG_PANEL;
        for (size_t r = 0; r < j->count; r += j->mr)
            j->fn(min_sz(j->mr, j->count - r), cols, c_in, a + r * j->g.ldv, j->g.ldv, b,
                  WG_PANEL, cm + r * j->g.ldm + col, j->g.ldm, NULL, 0u);
    }
}

static void output_tile(const wg_job *j, size_t t, size_t row) {
    const rn_conv_desc *d = j->d;
    const size_t oc = (size_t)d->oc, oh = (size_t)d->oh, ow = (size_t)d->ow;
    const size_t per_img = j->g.th * j->g.tw, n = t / per_img, rem = t % per_img;
    const size_t oy0 = rem / j->g.tw * WG_OUT, ox0 = rem % j->g.tw * WG_OUT;
    float *img = j->y + n * oh * ow * oc;
    float *pix[WG_OUT * WG_OUT];
    for (size_t i = 0; i < WG_OUT; i++)
        for (size_t q = 0; q < WG_OUT; q++)
            pix[i * WG_OUT + q] =
                oy0 + i < oh && ox0 + q < ow ? img + ((oy0 + i) * ow + ox0 + q) * oc : NULL;
    j->kt->winograd_output(oc, j->m + row * j->g.ldm, j->g.rows * j->g.ldm, pix, j->bias,
                           j->relu ? 1u : 0u);
}

static void output_task(void *arg, size_t task) {
    const wg_job *j = (const wg_job *)arg;
    const size_t r0 = task * WG_TILES_PER_TASK, r1 = min_sz(r0 + WG_TILES_PER_TASK, j->count);
    for (size_t r = r0; r < r1; r++) output_tile(j, j->t0 + r, r);
}

void rn__conv_winograd_forward(const rn_ctx *ctx, const rn_conv_desc *d, const float *x,
                               const void *u, const float *bias, int32_t relu, float *y,
                               void *ws) {
    const struct rn_kernels *kt = ctx->kernels;
    wg_job j;
    rn_memset(&j, 0, sizeof j);
    j.kt = kt, j.d = d, j.g = geom_for(d);
    j.x = x, j.u = (const float *)aligned(u), j.bias = bias, j.y = y, j.relu = relu;
    j.v = (float *)aligned(ws);
    j.m = (float *)aligned(j.v + WG_N * j.g.rows * j.g.ldv);
    float *zero = (float *)aligned(j.m + WG_N * j.g.rows * j.g.ldm);
    rn_memset(zero, 0, j.g.ldv * sizeof(float));
    j.zero = zero;
    /* the narrow tile where the wide one would mostly compute padding (16 channels) */
    const size_t oc = (size_t)d->oc;
    const size_t cw = round_up(oc, (size_t)kt->gemm_nr), cn = round_up(oc, (size_t)kt->gemm_narrow_nr);
    if (4 * cw > 5 * cn) {
        j.fn = kt->gemm_narrow, j.mr = (size_t)kt->gemm_narrow_mr, j.nr = (size_t)kt->gemm_narrow_nr;
    } else {
        j.fn = kt->gemm, j.mr = (size_t)kt->gemm_mr, j.nr = (size_t)kt->gemm_nr;
    }
    RN_ASSERT(WG_PANEL % j.nr == 0 && j.mr <= WG_ROW_PAD);
    for (j.t0 = 0; j.t0 < j.g.tiles; j.t0 += j.count) {
        j.count = min_sz(j.g.chunk, j.g.tiles - j.t0);
        /* the rows past the chunk that the microkernel reads: defined values */
        const size_t pad = min_sz(WG_ROW_PAD, j.g.rows - j.count);
        for (size_t xi = 0; xi < WG_N; xi++)
            rn_memset(j.v + (xi * j.g.rows + j.count) * j.g.ldv, 0, pad * j.g.ldv * sizeof(float));
        const size_t tasks = (j.count + WG_TILES_PER_TASK - 1) / WG_TILES_PER_TASK;
        rn__parallel_for(ctx, tasks, input_task, &j);
        rn__parallel_for(ctx, WG_N, gemm_task, &j);
        rn__parallel_for(ctx, tasks, output_task, &j);
    }
}

/*
 * GEMM driver: C = (accumulate ? C : 0) + op(A) op(B) (+ bias) (ReLU), the
 * one contract behind convolution and the linear layer (ops.h).
 *
 * Loop nest, outermost first:
 *   jc: NC columns of C      - the packed B block (kc x NC) stays in L2
 *   pc: KC slice of K        - summed in order; bias/ReLU only on the last
 *   ic: super-blocks of rows - only when op(A) must be packed (A^T, or rows
 *                              whose stride aliases in L1): rows copied into
 *                              a row-major buffer with a padded stride
 *   tasks (threads): a range of MR row blocks x a range of NR panels
 *     ir: MR rows            - the A micro-panel (MR x kc) stays in L1
 *       jr: NR panel         - microkernel, B micro-panel streamed from L2
 * op(A) = A with a harmless stride is read in place (only its last, partial
 * row block is copied, because kernels read all MR rows). With at most
 * RN_GEMM_DIRECT_B_MAX_M rows, op(B) = B is read in place too.
 * Threads only split the output tiles; each element of C is produced by the
 * same kernel calls in the same K order whatever the thread count, so the
 * result is bit-identical for 1 or N threads (K is never split).
 *
 * The workspace does not depend on the thread count nor on the ISA: it is
 * sized for the widest tiles any table uses, so a plan sized once stays valid
 * when the caller changes RN_OPT_NUM_THREADS or RN_OPT_MAX_ISA.
 */
#include "ops.h"
#include "../kernels/kernels.h"

/* Cache blocking for Zen 4/5 (L1d 32-48 KB, L2 1 MB per core):
 * KC x NC floats of packed B = 512 KB sits in L2 beside the A stream; an A
 * micro-panel MR x KC (14 x 256 x 4 = 14 KB) sits in L1 beside a B
 * micro-panel row stream. K is cut into equal slices of at most KC.
 * Measured on a Zen 4 core (bench/bench_gemm.c): KC 192..512 with NC
 * 256..768 all land within the run-to-run noise (+-5%) of this choice. */
#define RN_GEMM_KC 256
#define RN_GEMM_NC 512
/* Rows of op(A) packed at once (bounds that part of the workspace). */
#define RN_GEMM_MA 512
/* Up to this many rows of C, op(B) = B is read in place rather than packed:
 * packing is then a serial pass over B that few FMAs amortise (measured,
 * m = 30, n = 576, k = 1568: 58-75 -> 71-83 GFLOP/s); from m = 64 on, the
 * strided reads of a large B cost more than the copy. */
#define RN_GEMM_DIRECT_B_MAX_M 32
/* Widest tiles of any table (checked against the table in debug builds). */
#define RN_GEMM_MR_MAX 16
#define RN_GEMM_NR_MAX 32
/* Below this many multiply-adds a parallel region costs more than it saves. */
#define RN_GEMM_SERIAL_MACS ((size_t)1 << 16)

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }
static size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }
static size_t round_up(size_t a, size_t b) { return ceil_div(a, b) * b; }

/* Workspace layout, in floats, from the worst-case tile sizes: packed B
 * (kc_max x NC panels) then packed A (a_rows x a_stride). */
typedef struct gemm_layout {
    size_t b_floats, a_rows, a_stride;
} gemm_layout;

static gemm_layout layout_for(size_t m, size_t n, size_t k) {
    gemm_layout l;
    size_t kc_max = min_sz(k, RN_GEMM_KC);
    l.b_floats = kc_max * round_up(min_sz(n, RN_GEMM_NC), RN_GEMM_NR_MAX);
    l.a_rows = min_sz(m + RN_GEMM_MR_MAX - 1, RN_GEMM_MA);
    /* whole cache lines, but never a multiple of 1 KB (see stride_aliases) */
    l.a_stride = round_up(kc_max, 16);
    if (l.a_stride % 256 == 0) l.a_stride += 16;
    return l;
}

size_t rn__sgemm_workspace(const rn_ctx *ctx, size_t m, size_t n, size_t k) {
    (void)ctx;
    gemm_layout l = layout_for(m, n, k);
    size_t a_floats, total;
    if (!rn__mul_size(l.a_rows, l.a_stride, &a_floats) ||
        !rn__add_size(a_floats, l.b_floats, &total) ||
        !rn__mul_size(total, sizeof(float), &total) || !rn__add_size(total, 2 * RN_ALIGN, &total))
        return SIZE_MAX;
    return total;
}

/* Everything a task needs; one per call, shared read-only by the tasks. */
typedef struct gemm_job {
    const struct rn_kernels *kt;
    size_t mr, nr;
    int32_t trans_a, trans_b;
    const float *a, *b;
    size_t lda, ldb, ldc;
    float *c;
    const float *bias;
    /* current block */
    size_t pc, kc;    /* K slice */
    size_t jc, ncols; /* column block of C */
    size_t ic, rows;  /* row range being computed */
    float *bp;        /* packed B of the current (jc, pc) */
    float *ap;        /* packed A rows (or the padded last row block) */
    size_t ap_stride;
    int packed_a;      /* 1: every row block comes from ap */
    int direct_b;      /* 1: full panels are read from B in place */
    size_t tail_block; /* index of the row block read from ap when !packed_a */
    uint32_t flags;
    const float *bias_blk;
    /* task grid over the current block */
    size_t mblocks, npanels, tm, tn;
    size_t pack_group; /* B panels per packing task */
    int pack_own_b;    /* 1: each compute task packs its own panels of B first */
} gemm_job;

/* ---- packing ------------------------------------------------------------------
 * Work is handed out in groups of RN_GEMM_PACK_BLOCKS panels (or row blocks)
 * so that each task reads long contiguous runs of the source. */
#define RN_GEMM_PACK_BLOCKS 8

/* B panels [first, last): kc rows of nr floats each, columns past n zeroed. */
static void pack_b_panels(const gemm_job *j, size_t first, size_t last) {
    const size_t nr = j->nr, kc = j->kc;
    if (!j->trans_b) {
        /* row by row across the panels: one run of B per k */
        const size_t j0 = j->jc + first * nr;
        const size_t width = min_sz((last - first) * nr, j->jc + j->ncols - j0);
        for (size_t p = 0; p < kc; p++) {
            const float *src = j->b + (j->pc + p) * j->ldb + j0;
            for (size_t pn = first; pn < last; pn++) {
                const size_t off = (pn - first) * nr, cols = min_sz(nr, width - off);
                float *dst = j->bp + (pn * kc + p) * nr;
                rn_memcpy(dst, src + off, cols * sizeof(float));
                if (cols < nr) rn_memset(dst + cols, 0, (nr - cols) * sizeof(float));
            }
        }
        return;
    }
    for (size_t pn = first; pn < last; pn++) {
        const size_t j0 = j->jc + pn * nr, cols = min_sz(nr, j->jc + j->ncols - j0);
        float *dst = j->bp + pn * nr * kc;
        /* op(B) = B^T: column j of op(B) is row j of B, so the panel is the
         * transpose of the cols x kc block of B */
        j->kt->transpose(cols, kc, j->b + j0 * j->ldb + j->pc, j->ldb, dst, nr);
        if (cols < nr)
            for (size_t p = 0; p < kc; p++)
                for (size_t jj = cols; jj < nr; jj++) dst[p * nr + jj] = 0.0f;
    }
}

static void pack_b_task(void *arg, size_t group) {
    const gemm_job *j = (const gemm_job *)arg;
    const size_t first = group * j->pack_group;
    pack_b_panels(j, first, min_sz(first + j->pack_group, j->npanels));
}

/* Rows [r0, r0 + count) of op(A)[ic.., pc..pc+kc) into ap rows starting at
 * dst_row; rows up to the next multiple of mr are zero-filled by the caller. */
static void pack_a_rows(const gemm_job *j, size_t r0, size_t count, size_t dst_row) {
    const size_t kc = j->kc, ks = j->ap_stride;
    float *dst = j->ap + dst_row * ks;
    if (!j->trans_a) {
        for (size_t i = 0; i < count; i++)
            rn_memcpy(dst + i * ks, j->a + (r0 + i) * j->lda + j->pc, kc * sizeof(float));
        return;
    }
    /* op(A) = A^T: rows of op(A) are columns of A, so the block is the
     * transpose of the kc x count block of A */
    j->kt->transpose(kc, count, j->a + j->pc * j->lda + r0, j->lda, dst, ks);
}

static void zero_rows(const gemm_job *j, size_t first, size_t count) {
    for (size_t i = 0; i < count; i++)
        rn_memset(j->ap + (first + i) * j->ap_stride, 0, j->kc * sizeof(float));
}

/* A group of row blocks of the current super-block into ap, the last one
 * zero-padded to MR rows. */
static void pack_a_task(void *arg, size_t group) {
    const gemm_job *j = (const gemm_job *)arg;
    const size_t r = group * RN_GEMM_PACK_BLOCKS * j->mr;
    const size_t count = min_sz(RN_GEMM_PACK_BLOCKS * j->mr, j->rows - r);
    pack_a_rows(j, j->ic + r, count, r);
    const size_t padded = round_up(count, j->mr);
    if (count < padded) zero_rows(j, r + count, padded - count);
}

/* ---- compute -------------------------------------------------------------------- */
static void compute_task(void *arg, size_t t) {
    const gemm_job *j = (const gemm_job *)arg;
    const size_t ti = t / j->tn, tj = t % j->tn;
    /* balanced contiguous ranges: sizes differ by at most one block */
    const size_t b0 = ti * j->mblocks / j->tm, b1 = (ti + 1) * j->mblocks / j->tm;
    const size_t p0 = tj * j->npanels / j->tn, p1 = (tj + 1) * j->npanels / j->tn;
    const size_t mr = j->mr, nr = j->nr;
    if (j->pack_own_b) pack_b_panels(j, p0, p1);
    for (size_t blk = b0; blk < b1; blk++) {
        const size_t r = blk * mr, rows = min_sz(mr, j->rows - r);
        const float *a;
        size_t as;
        if (j->packed_a) {
            a = j->ap + r * j->ap_stride;
            as = j->ap_stride;
        } else if (blk == j->tail_block) {
            a = j->ap;
            as = j->ap_stride;
        } else {
            a = j->a + (j->ic + r) * j->lda + j->pc;
            as = j->lda;
        }
        float *crow = j->c + (j->ic + r) * j->ldc + j->jc;
        for (size_t pn = p0; pn < p1; pn++) {
            const size_t col = pn * nr, cols = min_sz(nr, j->ncols - col);
            const float *b = j->bp + pn * nr * j->kc;
            size_t bs = nr;
            if (j->direct_b && cols == nr) {
                b = j->b + j->pc * j->ldb + j->jc + col;
                bs = j->ldb;
            }
            j->kt->gemm(rows, cols, j->kc, a, as, b, bs, crow + col, j->ldc,
                        j->bias_blk ? j->bias_blk + col : NULL, j->flags);
        }
    }
}

/* Pick the task grid tm x tn (tm row ranges, tn panel ranges) minimising the
 * longest thread's work under static scheduling. On ties: fewer tasks, then
 * the split whose task reads less (its rows of A and its panels of B, kc
 * floats each), then splitting rows. A task of a row split reads all of
 * packed B, half of it packed by the other thread into the other core's L2:
 * with few rows (7x7 maps: 49 rows, 512-2048 columns) that made 2 threads
 * slower than 1 (1x7x7x2048>512 1x1: 0.75 ms on 1 thread, 1.10 on 2). */
static void choose_grid(gemm_job *j, size_t threads) {
    size_t best_tm = 1, best_tn = 1, best_cost = SIZE_MAX, best_tasks = SIZE_MAX;
    size_t best_read = SIZE_MAX;
    if (threads > 1) {
        const size_t cap = 4 * threads;
        for (size_t tm = 1; tm <= j->mblocks && tm <= cap; tm++)
            for (size_t tn = 1; tn <= j->npanels && tm * tn <= cap; tn++) {
                const size_t tasks = tm * tn;
                const size_t cost =
                    ceil_div(tasks, threads) * ceil_div(j->mblocks, tm) * ceil_div(j->npanels, tn);
                const size_t read =
                    ceil_div(j->mblocks, tm) * j->mr + ceil_div(j->npanels, tn) * j->nr;
                if (cost < best_cost ||
                    (cost == best_cost &&
                     (tasks < best_tasks ||
                      (tasks == best_tasks &&
                       (read < best_read || (read == best_read && tm > best_tm)))))) {
                    best_cost = cost;
                    best_tasks = tasks;
                    best_read = read;
                    best_tm = tm;
                    best_tn = tn;
                }
            }
    }
    j->tm = best_tm;
    j->tn = best_tn;
}

static void run(const rn_ctx *ctx, int parallel, size_t n, rn_task_fn fn, void *arg) {
    if (parallel) {
        rn__parallel_for(ctx, n, fn, arg);
    } else {
        for (size_t i = 0; i < n; i++) fn(arg, i);
    }
}

/* Rows whose stride is a multiple of 4 KB map all MR rows onto one L1 set,
 * more rows than it has ways, so they are copied to a padded stride first.
 * At 1 KB or 2 KB the MR rows spread over 4 or 2 sets, and reading them in
 * place measured faster than the copy, which is a pass over A (and one
 * more pair of parallel regions per RN_GEMM_MA rows): Zen 4, 2 threads,
 * m x n x k = 50176x64x256 11.6 -> 8.2 ms, 12544x128x512 11.5 -> 8.8 ms,
 * 3136x1024x256 9.0 -> 8.3 ms; at 8 KB in place lost (784x512x2048 8.4 ->
 * 10.0 ms). */
static int stride_aliases(size_t lda) { return (lda * sizeof(float)) % 4096 == 0; }

void rn__sgemm(const rn_ctx *ctx, int32_t trans_a, int32_t trans_b, size_t m, size_t n, size_t k,
               const float *a, size_t lda, const float *b, size_t ldb, int32_t accumulate,
               const float *bias, int32_t relu, float *c, size_t ldc, void *ws) {
    if (m == 0 || n == 0) return;
    const struct rn_kernels *kt = rn__ctx_kernels(ctx);
    RN_ASSERT(kt->gemm_mr <= RN_GEMM_MR_MAX && kt->gemm_nr <= RN_GEMM_NR_MAX);
    const gemm_layout l = layout_for(m, n, k);
    gemm_job j;
    rn_memset(&j, 0, sizeof j);
    j.kt = kt;
    j.mr = (size_t)kt->gemm_mr;
    j.nr = (size_t)kt->gemm_nr;
    j.trans_a = trans_a;
    j.trans_b = trans_b;
    j.a = a;
    j.b = b;
    j.lda = lda;
    j.ldb = ldb;
    j.ldc = ldc;
    j.c = c;
    j.bp = (float *)rn__align_up((size_t)(uintptr_t)ws, RN_ALIGN);
    j.ap = (float *)rn__align_up((size_t)(uintptr_t)(j.bp + l.b_floats), RN_ALIGN);
    j.ap_stride = l.a_stride;
    /* k == 0: nothing is read from A or B (they may be NULL); the kernels
     * get the (unread) packed buffers */
    j.packed_a = trans_a || stride_aliases(lda) || k == 0;
    /* With few rows, packing B costs more than it saves (it is a serial
     * pass over B that the FMAs cannot hide): read full panels of B in place. */
    j.direct_b = !trans_b && m <= RN_GEMM_DIRECT_B_MAX_M && k > 0;

    size_t macs;
    if (!rn__mul_size(m, n, &macs) || !rn__mul_size(macs, k ? k : 1, &macs)) macs = SIZE_MAX;
    const size_t threads = ctx->num_threads > 1 ? (size_t)ctx->num_threads : 1;
    const int parallel = threads > 1 && macs >= RN_GEMM_SERIAL_MACS;

    /* equal K slices of at most KC; k == 0 still runs one empty slice so
     * that "C = 0 (+ bias)" and ReLU happen */
    const size_t kslices = k ? ceil_div(k, RN_GEMM_KC) : 1;
    const size_t kc_step = k ? ceil_div(k, kslices) : 0;
    /* row super-block: all rows when A is read in place, else what fits ap */
    const size_t ma = j.packed_a ? l.a_rows / j.mr * j.mr : m;
    const size_t nc_step = RN_GEMM_NC / j.nr * j.nr;

    for (size_t jc = 0; jc < n; jc += nc_step) {
        j.jc = jc;
        j.ncols = min_sz(nc_step, n - jc);
        j.npanels = ceil_div(j.ncols, j.nr);
        for (size_t s = 0; s < kslices; s++) {
            j.pc = s * kc_step;
            j.kc = min_sz(kc_step, k - j.pc);
            const int last = s + 1 == kslices;
            j.flags = (accumulate || s > 0 ? RN_GEMM_ACCUMULATE : 0u) |
                      (last && relu ? RN_GEMM_RELU : 0u);
            j.bias_blk = last && bias ? bias + jc : NULL;
            j.pack_own_b = 0;
            if (k && !j.direct_b && !j.packed_a) {
                /* all rows in one block: when the grid splits only the
                 * columns, each task packs the panels it alone reads, in the
                 * region that computes them (one fork and join, not two) */
                j.ic = 0, j.rows = m, j.mblocks = ceil_div(m, j.mr);
                choose_grid(&j, parallel ? threads : 1);
                j.pack_own_b = j.tm == 1;
            }
            if (k && j.direct_b) {
                if (j.ncols % j.nr) pack_b_panels(&j, j.npanels - 1, j.npanels);
            } else if (k && !j.pack_own_b) {
                /* up to RN_GEMM_PACK_BLOCKS panels per task, but at least
                 * one task per thread when there are enough panels */
                const size_t tasks = parallel ? min_sz(j.npanels, threads) : 1;
                j.pack_group = min_sz(RN_GEMM_PACK_BLOCKS, ceil_div(j.npanels, tasks));
                run(ctx, parallel, ceil_div(j.npanels, j.pack_group), pack_b_task, &j);
            }
            for (size_t ic = 0; ic < m; ic += ma) {
                j.ic = ic;
                j.rows = min_sz(ma, m - ic);
                j.mblocks = ceil_div(j.rows, j.mr);
                if (j.packed_a) {
                    if (k)
                        run(ctx, parallel, ceil_div(j.mblocks, RN_GEMM_PACK_BLOCKS), pack_a_task,
                            &j);
                } else {
                    /* the last, partial row block is read from a padded copy
                     * (ap rows 0..MR-1) so the kernel may read all MR rows */
                    const size_t tail = j.rows % j.mr;
                    j.tail_block = tail ? j.mblocks - 1 : SIZE_MAX;
                    if (tail) {
                        pack_a_rows(&j, ic + j.rows - tail, tail, 0);
                        zero_rows(&j, tail, j.mr - tail);
                    }
                }
                choose_grid(&j, parallel ? threads : 1);
                run(ctx, parallel, j.tm * j.tn, compute_task, &j);
            }
        }
    }
}

/*
 * The memory planner: every buffer of a program lives from the step that
 * first touches it to the step that last does; a linear scan over the steps
 * frees the buffers that died and places the ones born at each step in one
 * arena, best fit among the free gaps, else at the top. Offsets are
 * multiples of RN_ALIGN from the arena's aligned start. The arena size this
 * gives is the one rn_plan_memory_size reports and the run uses: there is no
 * separate estimate to drift.
 *
 * In training the saved activations are born in the forward pass and die in
 * the backward pass in reverse order, a stack, so the scan packs them without
 * holes; in inference a block's buffers die right after it, so a few
 * activation-sized slots are reused all the way down.
 */
#include "nn-internal.h"

typedef struct region {
    size_t off, size;
} region;

typedef struct free_list {
    region *r;
    int32_t n;
    size_t top; /* high-water mark: the arena size so far */
} free_list;

static void release(free_list *f, size_t off, size_t size) {
    int32_t i = 0;
    while (i < f->n && f->r[i].off < off) i++;
    int32_t merge_prev = i > 0 && f->r[i - 1].off + f->r[i - 1].size == off;
    int32_t merge_next = i < f->n && off + size == f->r[i].off;
    if (merge_prev && merge_next) {
        f->r[i - 1].size += size + f->r[i].size;
        rn_memmove(&f->r[i], &f->r[i + 1], (size_t)(f->n - i - 1) * sizeof(region));
        f->n--;
    } else if (merge_prev) {
        f->r[i - 1].size += size;
    } else if (merge_next) {
        f->r[i].off = off;
        f->r[i].size += size;
    } else {
        rn_memmove(&f->r[i + 1], &f->r[i], (size_t)(f->n - i) * sizeof(region));
        f->r[i].off = off;
        f->r[i].size = size;
        f->n++;
    }
}

/* Returns 0 if the arena size would overflow. */
static int place(free_list *f, size_t size, size_t *off) {
    int32_t best = -1;
    for (int32_t i = 0; i < f->n; i++)
        if (f->r[i].size >= size && (best < 0 || f->r[i].size < f->r[best].size)) best = i;
    if (best >= 0) {
        *off = f->r[best].off;
        f->r[best].off += size;
        f->r[best].size -= size;
        if (f->r[best].size == 0) {
            rn_memmove(&f->r[best], &f->r[best + 1], (size_t)(f->n - best - 1) * sizeof(region));
            f->n--;
        }
        return 1;
    }
    /* no gap fits: grow the arena, starting inside a gap that reaches the top */
    size_t start = f->top;
    if (f->n > 0 && f->r[f->n - 1].off + f->r[f->n - 1].size == f->top) {
        start = f->r[f->n - 1].off;
        f->n--;
    }
    if (!rn__add_size(start, size, &f->top)) return 0;
    *off = start;
    return 1;
}

static void touch(nn_buf *bufs, int32_t id, int32_t step) {
    if (id < 0) return;
    if (step < bufs[id].first) bufs[id].first = step;
    if (step > bufs[id].last) bufs[id].last = step;
}

rn_status rn__nn_prog_plan_memory(rn_ctx *ctx, nn_prog *p) {
    int32_t nb = p->nbufs, ns = p->nsteps;
    for (int32_t i = 0; i < nb; i++) p->bufs[i].first = INT32_MAX, p->bufs[i].last = -1;
    for (int32_t t = 0; t < ns; t++) {
        const nn_step *s = &p->steps[t];
        touch(p->bufs, s->x, t), touch(p->bufs, s->x2, t), touch(p->bufs, s->x3, t);
        touch(p->bufs, s->y, t), touch(p->bufs, s->aux1, t), touch(p->bufs, s->aux2, t);
        touch(p->bufs, s->aux3, t);
        touch(p->bufs, s->ws, t);
    }
    /* buffers bucketed by birth and by death step (counting sort) */
    int32_t *born = (int32_t *)rn__calloc(ctx, (size_t)nb + 1, sizeof(int32_t));
    int32_t *born_at = (int32_t *)rn__calloc(ctx, (size_t)ns + 2, sizeof(int32_t));
    int32_t *died = (int32_t *)rn__calloc(ctx, (size_t)nb + 1, sizeof(int32_t));
    int32_t *died_at = (int32_t *)rn__calloc(ctx, (size_t)ns + 2, sizeof(int32_t));
    free_list f = {(region *)rn__calloc(ctx, (size_t)nb + 1, sizeof(region)), 0, 0};
    rn_status st = RN_OK;
    if (!born || !born_at || !died || !died_at || !f.r) {
        st = rn__error(ctx, RN_E_NO_MEMORY, "rn_plan_create: out of memory planning %d buffers",
                       (int)nb);
        goto done;
    }
    for (int32_t i = 0; i < nb; i++)
        if (p->bufs[i].last >= 0) born_at[p->bufs[i].first + 1]++, died_at[p->bufs[i].last + 1]++;
    for (int32_t t = 0; t < ns; t++) born_at[t + 1] += born_at[t], died_at[t + 1] += died_at[t];
    for (int32_t i = 0; i < nb; i++)
        if (p->bufs[i].last >= 0)
            born[born_at[p->bufs[i].first]++] = i, died[died_at[p->bufs[i].last]++] = i;
    /* the increments above left born_at[t] at the end of bucket t */
    int32_t b0 = 0, d0 = 0;
    for (int32_t t = 0; t < ns; t++) {
        if (t > 0) {
            for (; d0 < died_at[t - 1]; d0++) {
                const nn_buf *buf = &p->bufs[died[d0]];
                release(&f, buf->offset, rn__align_up(buf->bytes ? buf->bytes : 1, RN_ALIGN));
            }
        }
        for (; b0 < born_at[t]; b0++) {
            nn_buf *buf = &p->bufs[born[b0]];
            size_t size = rn__align_up(buf->bytes ? buf->bytes : 1, RN_ALIGN);
            if (size < buf->bytes || !place(&f, size, &buf->offset)) {
                st = rn__error(ctx, RN_E_OVERFLOW,
                               "rn_plan_create: the plan's memory exceeds the address space");
                goto done;
            }
        }
    }
    p->arena_bytes = f.top ? f.top : RN_ALIGN;
done:
    rn__free(ctx, f.r);
    rn__free(ctx, died_at);
    rn__free(ctx, died);
    rn__free(ctx, born_at);
    rn__free(ctx, born);
    return st;
}

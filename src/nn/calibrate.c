/*
 * Post-training quantization (docs/int8.md): a folded copy of a float model
 * runs the caller's batches; each activation the int8 network keeps (the
 * input; each convolution's output after bias, residual and ReLU) gets its
 * largest magnitude and a histogram of magnitudes. A histogram has
 * NN_HIST_BINS bins over [0, range]; when a larger magnitude arrives the
 * range doubles and neighbouring bins merge, so one pass suffices and the
 * result does not depend on how the images were cut into batches beyond
 * the order the ranges grew. The scales come from those statistics by the
 * chosen method; the weights are quantized per output channel.
 */
#include "nn-internal.h"

#define NN_HIST_BINS 2048
#define NN_QLEVELS 128 /* magnitudes 0..127 */

typedef struct hist {
    double range; /* 0 until a non-zero magnitude was seen */
    double absmax;
    uint64_t total; /* values seen, zeros included */
    uint64_t zeros; /* exact zeros: kept out of the bins (0 is exact at any scale) */
    uint64_t bins[NN_HIST_BINS];
} hist;

struct rn_calibrator {
    rn_ctx *ctx;
    rn_model *f; /* folded float copy */
    rn_plan *plan;
    int64_t pb, ph, pw;
    int32_t nconv;
    hist *h; /* [0]: the input, [1 + i]: conv i's output */
    const nn_conv **convs;
    int32_t *fused;  /* conv i is the last of a residual block: the ADD gives its output */
    int32_t pending; /* during a run: the residual conv whose ADD comes next */
    int64_t images;
};

static void hist_add(hist *h, const float *x, size_t n) {
    double mx = 0;
    for (size_t i = 0; i < n; i++) {
        double a = x[i] < 0 ? -(double)x[i] : (double)x[i];
        if (a > mx) mx = a; /* NaN never wins */
    }
    if (mx > h->absmax) h->absmax = mx;
    if (mx > 0 && h->range == 0) h->range = mx;
    while (mx > h->range) { /* double the range: bins 2i and 2i+1 merge into i */
        for (int32_t i = 0; i < NN_HIST_BINS / 2; i++)
            h->bins[i] = h->bins[2 * i] + h->bins[2 * i + 1];
        for (int32_t i = NN_HIST_BINS / 2; i < NN_HIST_BINS; i++) h->bins[i] = 0;
        h->range *= 2;
    }
    double per = h->range > 0 ? NN_HIST_BINS / h->range : 0;
    for (size_t i = 0; i < n; i++) {
        double a = x[i] < 0 ? -(double)x[i] : (double)x[i];
        if (!(a == a)) continue;
        h->total++;
        if (a == 0) {
            h->zeros++;
            continue;
        }
        int64_t b = (int64_t)(a * per);
        if (b >= NN_HIST_BINS) b = NN_HIST_BINS - 1;
        h->bins[b]++;
    }
}

static void observe(void *user, const nn_step *s, const float *y, size_t count) {
    rn_calibrator *c = (rn_calibrator *)user;
    if (s->op == NN_OP_LOAD) {
        hist_add(&c->h[0], y, count);
    } else if (s->op == NN_OP_CONV) {
        for (int32_t i = 0; i < c->nconv; i++)
            if (c->convs[i] == s->conv) {
                /* a block's last conv: its output is the sum after the ADD step,
                 * or, where the plan adds into the shortcut, this step's */
                if (c->fused[i] && !s->residual)
                    c->pending = i;
                else
                    hist_add(&c->h[1 + i], y, count);
                break;
            }
    } else if (s->op == NN_OP_ADD && c->pending >= 0) {
        hist_add(&c->h[1 + c->pending], y, count);
        c->pending = -1;
    }
}

void rn_calibrator_destroy(rn_calibrator *c) {
    if (!c) return;
    rn_ctx *ctx = c->ctx;
    rn_plan_destroy(c->plan);
    rn_model_destroy(c->f);
    rn__free(ctx, c->fused);
    rn__free(ctx, c->convs);
    rn__free(ctx, c->h);
    rn__free(ctx, c);
}

rn_status rn_calibrator_create(const rn_model *m, rn_calibrator **out) {
    static const char fn[] = "rn_calibrator_create";
    if (!m) return RN_E_INVALID_ARG;
    rn_ctx *ctx = m->ctx;
    if (!out) return rn__error(ctx, RN_E_INVALID_ARG, "%s: out is NULL", fn);
    if (!m->has_stem || !m->has_head)
        return rn__error(ctx, RN_E_BAD_STATE, "%s: the model is incomplete", fn);
    if (m->q) return rn__error(ctx, RN_E_BAD_STATE, "%s: the model is already int8", fn);
    rn_status ps = rn__nn_model_unpacked(m, ctx, fn);
    if (ps) return ps;
    char arch[2048];
    if (rn__model_arch_string(m, arch, sizeof arch) >= sizeof arch)
        return rn__error(ctx, RN_E_UNSUPPORTED, "%s: the architecture has too many stages", fn);
    rn_calibrator *c = (rn_calibrator *)rn__calloc(ctx, 1, sizeof *c);
    if (!c) return rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory", fn);
    c->ctx = ctx;
    c->pending = -1;
    rn_status st = rn__model_from_arch_string(ctx, arch, fn, SIZE_MAX, 0, &c->f);
    if (st) {
        rn__free(ctx, c);
        return st;
    }
    /* the same tensors, in the same order: copy them, then fold the copy */
    RN_ASSERT(c->f->nslots == m->nslots);
    for (int32_t i = 0; i < m->nslots; i++)
        rn_memcpy(c->f->slots[i].value, m->slots[i].value, m->slots[i].count * sizeof(float));
    /* a folded source has identity BNs carrying the biases: folding again keeps them */
    rn_model_fold_batchnorm(c->f);
    c->nconv = rn__model_conv_count(c->f);
    c->h = (hist *)rn__calloc(ctx, (size_t)c->nconv + 1, sizeof(hist));
    c->convs = (const nn_conv **)rn__calloc(ctx, (size_t)c->nconv, sizeof(nn_conv *));
    c->fused = (int32_t *)rn__calloc(ctx, (size_t)c->nconv, sizeof(int32_t));
    if (!c->h || !c->convs || !c->fused) {
        rn_calibrator_destroy(c);
        return rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory for the histograms", fn);
    }
    for (int32_t i = 0; i < c->nconv; i++) {
        int32_t b, j;
        c->convs[i] = rn__nn_model_conv(c->f, i, &b, &j);
        if (b >= 0) {
            const nn_block *blk = &c->f->blocks[b];
            c->fused[i] = j == blk->nconv - 1 && blk->sc != NN_SC_NONE;
        }
    }
    *out = c;
    rn__clear_error(ctx);
    return RN_OK;
}

rn_status rn_calibrator_add_batch(rn_calibrator *c, const float *input, size_t input_count,
                                  int64_t batch, int64_t h, int64_t w, int32_t layout) {
    static const char fn[] = "rn_calibrator_add_batch";
    if (!c) return RN_E_INVALID_ARG;
    rn_ctx *ctx = c->ctx;
    if (!input) return rn__error(ctx, RN_E_INVALID_ARG, "%s: input is NULL", fn);
    RN_TRY(rn__check_layout(ctx, fn, layout));
    if (!c->plan || c->pb != batch || c->ph != h || c->pw != w) {
        rn_plan *p = NULL;
        rn_status st = rn_plan_create(c->f, batch, h, w, RN_MODE_INFER, &p);
        if (st) return st;
        rn_plan_destroy(c->plan);
        c->plan = p, c->pb = batch, c->ph = h, c->pw = w;
    }
    c->pending = -1;
    rn_status st = rn__plan_forward_observe(c->plan, input, input_count, layout, observe, c);
    if (st) return st;
    c->images += batch;
    rn__clear_error(ctx);
    return RN_OK;
}

rn_status rn_calibrator_count(const rn_calibrator *c, int64_t *images) {
    if (!c) return RN_E_INVALID_ARG;
    if (!images) return rn__error(c->ctx, RN_E_INVALID_ARG, "rn_calibrator_count: NULL output");
    *images = c->images;
    return RN_OK;
}

/* ---- thresholds ------------------------------------------------------------------ */
static double t_percentile(const hist *h, double pct) {
    uint64_t want = (uint64_t)((double)h->total * pct / 100.0);
    uint64_t acc = h->zeros;
    if (acc >= want) return h->absmax > 0 ? h->range / NN_HIST_BINS : 0;
    double bw = h->range / NN_HIST_BINS;
    for (int32_t i = 0; i < NN_HIST_BINS; i++) {
        acc += h->bins[i];
        if (acc >= want) {
            double t = (i + 1) * bw;
            return t < h->absmax ? t : h->absmax;
        }
    }
    return h->absmax;
}

/* TensorRT-style entropy calibration over the non-zero magnitudes (exact
 * zeros, half of a ReLU's output, quantize exactly at any scale and would
 * otherwise dominate the first level): for each candidate
 * threshold of i bins, P = the first i bins with everything beyond added to
 * the last, Q = P merged into 128 levels and spread back evenly over the
 * non-empty bins of each level; the i with the least KL(P || Q) wins. */
static double t_entropy(rn_ctx *ctx, const hist *h) {
    double *p = (double *)rn__calloc(ctx, 2 * NN_HIST_BINS, sizeof(double));
    if (!p) return -1;
    double *qd = p + NN_HIST_BINS;
    double best = -1, best_kl = 0;
    int32_t best_i = NN_HIST_BINS;
    uint64_t beyond = 0;
    for (int32_t i = 0; i < NN_HIST_BINS; i++) beyond += h->bins[i];
    for (int32_t i = 0; i < NN_QLEVELS; i++) beyond -= h->bins[i];
    for (int32_t i = NN_QLEVELS; i <= NN_HIST_BINS; i++) {
        double total = 0;
        for (int32_t k = 0; k < i; k++) p[k] = (double)h->bins[k];
        /* the clipped magnitudes all land in the last bin of P */
        p[i - 1] += (double)beyond;
        if (i < NN_HIST_BINS) beyond -= h->bins[i];
        for (int32_t k = 0; k < i; k++) total += p[k];
        if (total <= 0) break;
        /* Q: the same bins without the clipped mass, merged into 128 levels
         * (level l covers bins [l*i/128, (l+1)*i/128)) and spread back evenly
         * over each level's non-empty bins */
        double qtotal = 0;
        for (int32_t l = 0; l < NN_QLEVELS; l++) {
            int32_t lo = (int32_t)((int64_t)l * i / NN_QLEVELS);
            int32_t hi = (int32_t)((int64_t)(l + 1) * i / NN_QLEVELS);
            double sum = 0;
            int32_t nz = 0;
            for (int32_t k = lo; k < hi; k++) {
                sum += (double)h->bins[k];
                nz += h->bins[k] > 0;
            }
            for (int32_t k = lo; k < hi; k++) qd[k] = h->bins[k] > 0 ? sum / nz : 0;
            qtotal += sum;
        }
        double kl = 0;
        for (int32_t k = 0; k < i; k++) {
            if (p[k] <= 0) continue;
            double pk = p[k] / total, qk = qtotal > 0 ? qd[k] / qtotal : 0;
            if (qk <= 0) {
                kl = 1e300;
                break;
            }
            kl += pk * rn_log(pk / qk);
        }
        if (best < 0 || kl < best_kl) best = 1, best_kl = kl, best_i = i;
    }
    rn__free(ctx, p);
    double t = best_i * (h->range / NN_HIST_BINS);
    return t < h->absmax ? t : h->absmax;
}

static float scale_of(double t) {
    /* an activation that was always zero still needs a valid scale */
    return t > 0 ? (float)(t / 127.0) : 1.0f;
}

/* round half to even, |v| < 2^51 */
static double rint_d(double v) {
    const double big = 6755399441055744.0; /* 1.5 * 2^52 */
    return v >= 0 ? (v + big) - big : -((-v + big) - big);
}

rn_status rn_calibrator_quantize(rn_calibrator *c, int32_t method, double param, rn_model **out) {
    static const char fn[] = "rn_calibrator_quantize";
    if (!c) return RN_E_INVALID_ARG;
    rn_ctx *ctx = c->ctx;
    if (!out) return rn__error(ctx, RN_E_INVALID_ARG, "%s: out is NULL", fn);
    if (method != RN_CALIB_MAX && method != RN_CALIB_PERCENTILE && method != RN_CALIB_ENTROPY)
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: method %d is not RN_CALIB_MAX (0), "
                         "RN_CALIB_PERCENTILE (1) or RN_CALIB_ENTROPY (2)",
                         fn, (int)method);
    if (method == RN_CALIB_PERCENTILE && !(param > 50.0 && param <= 100.0))
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: the percentile %g is outside (50, 100]", fn,
                         param);
    if (c->images == 0)
        return rn__error(ctx, RN_E_BAD_STATE,
                         "%s: no calibration batch yet "
                         "(rn_calibrator_add_batch)",
                         fn);
    float *scales = (float *)rn__calloc(ctx, (size_t)c->nconv + 1, sizeof(float));
    rn_conv_view *views = (rn_conv_view *)rn__calloc(ctx, (size_t)c->nconv, sizeof(rn_conv_view));
    size_t chans = 0, wn = 0;
    for (int32_t i = 0; i < c->nconv; i++) {
        const nn_conv *cv = c->convs[i];
        chans += (size_t)cv->out;
        wn += (size_t)cv->out * (size_t)cv->k * (size_t)cv->k * (size_t)cv->in;
    }
    int32_t *bias = (int32_t *)rn__calloc(ctx, chans ? chans : 1, sizeof(int32_t));
    float *wsc = (float *)rn__calloc(ctx, chans ? chans : 1, sizeof(float));
    int8_t *wq = (int8_t *)rn__alloc(ctx, wn ? wn : 1);
    rn_model *q = NULL;
    rn_status st = RN_OK;
    if (!scales || !views || !bias || !wsc || !wq) {
        st = rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory", fn);
        goto done;
    }
    for (int32_t i = 0; i <= c->nconv; i++) {
        const hist *h = &c->h[i];
        double t = h->absmax;
        if (method == RN_CALIB_PERCENTILE)
            t = t_percentile(h, param);
        else if (method == RN_CALIB_ENTROPY && h->range > 0)
            t = t_entropy(ctx, h);
        if (t < 0) {
            st = rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory", fn);
            goto done;
        }
        scales[i] = scale_of(t);
    }
    char arch[2048];
    rn__model_arch_string(c->f, arch, sizeof arch);
    if ((st = rn__model_from_arch_string(ctx, arch, fn, SIZE_MAX, 1, &q))) goto done;
    /* the input scale of each conv, as the graph wires them (int8.c) */
    int32_t *src = (int32_t *)rn__calloc(ctx, 2 * (size_t)c->nconv, sizeof(int32_t));
    if (!src) {
        st = rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory", fn);
        goto done;
    }
    rn__nn_graph(c->f, src, src + c->nconv);
    int32_t *bo = bias;
    float *so = wsc;
    int8_t *wo = wq;
    for (int32_t i = 0; i < c->nconv; i++) {
        int32_t b, j;
        const nn_conv *cv = rn__nn_model_conv(c->f, i, &b, &j);
        float s_in = scales[1 + src[i]]; /* src -1: the input, scales[0] */
        size_t per = (size_t)cv->k * (size_t)cv->k * (size_t)cv->in;
        int64_t lim = rn__model_conv_bias_limit(c->f, i);
        for (int32_t o = 0; o < cv->out; o++) {
            const float *wr = cv->w + (size_t)o * per;
            double mx = 0;
            for (size_t t = 0; t < per; t++) {
                double a = wr[t] < 0 ? -(double)wr[t] : (double)wr[t];
                if (a > mx) mx = a;
            }
            float sw = mx > 0 ? (float)(mx / 127.0) : 1.0f;
            so[o] = sw;
            for (size_t t = 0; t < per; t++) {
                double v = rint_d((double)wr[t] / (double)sw);
                wo[(size_t)o * per + t] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
            }
            double bq = rint_d((double)cv->bias[o] / ((double)s_in * (double)sw));
            bo[o] = (int32_t)(bq > (double)lim    ? (double)lim
                              : bq < -(double)lim ? -(double)lim
                                                  : bq);
        }
        views[i].w = wo, views[i].bias = bo, views[i].w_scale = so;
        views[i].out_scale = scales[1 + i];
        wo += (size_t)cv->out * per, bo += cv->out, so += cv->out;
    }
    rn__free(ctx, src);
    if ((st = rn__model_make_int8(q, scales[0], views, 0, c->f->fc_w, c->f->fc_b, NULL, fn)))
        goto done;
    {
        const char *what = method == RN_CALIB_MAX       ? "max"
                           : method == RN_CALIB_ENTROPY ? "entropy"
                                                        : "percentile";
#ifdef RN_HAVE_VSNPRINTF
        char note[128];
        if (method == RN_CALIB_PERCENTILE)
            snprintf(note, sizeof note, "%s %g over %lld images", what, param,
                     (long long)c->images);
        else
            snprintf(note, sizeof note, "%s over %lld images", what, (long long)c->images);
        rn__model_set_int8_note(q, note);
#else
        rn__model_set_int8_note(q, what);
#endif
    }
    *out = q;
    q = NULL;
    rn__clear_error(ctx);
done:
    rn_model_destroy(q);
    rn__free(ctx, wq);
    rn__free(ctx, wsc);
    rn__free(ctx, bias);
    rn__free(ctx, views);
    rn__free(ctx, scales);
    return st;
}

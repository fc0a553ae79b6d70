/*
 * Metrics: top-1 errors and the confusion matrix from logits, and the
 * evaluation of a model over a whole dataset in inference mode (the test
 * error of the paper's tables and Figure 6).
 */
#include "train-internal.h"

int32_t rn__argmax(const float *row, int32_t classes) {
    int32_t best = 0;
    for (int32_t k = 1; k < classes; k++)
        if (row[k] > row[best] || (row[best] != row[best] && row[k] == row[k])) best = k;
    return best;
}

rn_status rn_metrics_update(rn_ctx *ctx, const float *logits, const int32_t *labels, int64_t n,
                            int32_t classes, int64_t *confusion, size_t confusion_count,
                            int64_t *errors) {
    static const char fn[] = "rn_metrics_update";
    if (!ctx) return RN_E_INVALID_ARG;
    if (!logits || !labels) return rn__error(ctx, RN_E_INVALID_ARG, "%s: NULL argument", fn);
    if (n < 1 || classes < 1 || (uint64_t)n > SIZE_MAX / (uint64_t)classes)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: n %lld and classes %d must be >= 1", fn,
                         (long long)n, (int)classes);
    if (confusion && confusion_count != (size_t)classes * (size_t)classes)
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: confusion has %zu entries, %d classes need %zu", fn, confusion_count,
                         (int)classes, (size_t)classes * (size_t)classes);
    for (int64_t i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= classes)
            return rn__error(ctx, RN_E_INVALID_ARG, "%s: labels[%lld] = %d is outside [0, %d)", fn,
                             (long long)i, (int)labels[i], (int)classes);
    int64_t wrong = 0;
    for (int64_t i = 0; i < n; i++) {
        int32_t p = rn__argmax(logits + (size_t)i * (size_t)classes, classes);
        wrong += p != labels[i];
        if (confusion) confusion[(size_t)labels[i] * (size_t)classes + (size_t)p]++;
    }
    if (errors) *errors = wrong;
    rn__clear_error(ctx);
    return RN_OK;
}

/* Cross-entropy of one row in double: logsumexp(row) - row[label]. */
static double xent(const float *row, int32_t classes, int32_t label) {
    double mx = row[0];
    for (int32_t k = 1; k < classes; k++)
        if (row[k] > mx) mx = row[k];
    double sum = 0;
    for (int32_t k = 0; k < classes; k++) sum += rn_exp((double)row[k] - mx);
    return mx + rn_log(sum) - (double)row[label];
}

rn_status rn_evaluate(rn_model *model, const rn_dataset *ds, int64_t batch, double *loss,
                      int64_t *errors, int64_t *confusion, size_t confusion_count) {
    static const char fn[] = "rn_evaluate";
    if (!model) return RN_E_INVALID_ARG;
    rn_ctx *ctx = rn__model_ctx(model);
    if (!ds) return rn__error(ctx, RN_E_INVALID_ARG, "%s: NULL dataset", fn);
    if (batch < 1 || batch > RN_TRAIN_MAX_BATCH)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: batch %lld is outside [1, %d]", fn,
                         (long long)batch, RN_TRAIN_MAX_BATCH);
    int32_t classes = 0, in_channels = 0;
    rn_status st = rn_model_classes(model, &classes);
    if (st) return st;
    rn_model_in_channels(model, &in_channels);
    if (ds->classes > classes)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: the dataset has %d classes, the model %d", fn,
                         (int)ds->classes, (int)classes);
    if (ds->c != in_channels)
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: the dataset has %lld channels, the model takes %d", fn,
                         (long long)ds->c, (int)in_channels);
    if (confusion && confusion_count != (size_t)classes * (size_t)classes)
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: confusion has %zu entries, %d classes need %zu", fn, confusion_count,
                         (int)classes, (size_t)classes * (size_t)classes);
    if (batch > ds->n) batch = ds->n;
    int64_t nx = rn__numel4(batch, ds->h, ds->w, ds->c);
    if (nx < 0)
        return rn__error(ctx, RN_E_OVERFLOW, "%s: batch %lld is too large", fn, (long long)batch);
    rn_plan *plan = NULL;
    st = rn_plan_create(model, batch, ds->h, ds->w, RN_MODE_INFER, &plan);
    if (st) return st;
    float *x = (float *)rn__calloc(ctx, (size_t)nx, sizeof(float));
    float *logits = (float *)rn__calloc(ctx, (size_t)batch * (size_t)classes, sizeof(float));
    int64_t *idx = (int64_t *)rn__calloc(ctx, (size_t)batch, sizeof(int64_t));
    int32_t *labels = (int32_t *)rn__calloc(ctx, (size_t)batch, sizeof(int32_t));
    /* counted apart and added at the end: a failure leaves the caller's as it was */
    int64_t *conf = confusion ? (int64_t *)rn__calloc(ctx, confusion_count, sizeof(int64_t)) : NULL;
    if (!x || !logits || !idx || !labels || (confusion && !conf)) {
        st = rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory for a batch of %lld", fn,
                       (long long)batch);
        goto done;
    }
    double loss_sum = 0;
    int64_t wrong = 0;
    size_t image = (size_t)(ds->h * ds->w * ds->c);
    for (int64_t start = 0; start < ds->n; start += batch) {
        int64_t count = ds->n - start < batch ? ds->n - start : batch;
        for (int64_t k = 0; k < count; k++) idx[k] = start + k;
        rn__dataset_fill(ds, idx, count, x, labels);
        /* inference is per image, so a short last batch is padded with zeros */
        if (count < batch)
            rn_memset(x + (size_t)count * image, 0,
                      (size_t)(batch - count) * image * sizeof(float));
        st = rn_plan_forward(plan, x, (size_t)nx, RN_LAYOUT_NHWC, logits,
                             (size_t)batch * (size_t)classes);
        if (st) goto done;
        for (int64_t k = 0; k < count; k++) {
            const float *row = logits + (size_t)k * (size_t)classes;
            int32_t p = rn__argmax(row, classes);
            wrong += p != labels[k];
            if (conf) conf[(size_t)labels[k] * (size_t)classes + (size_t)p]++;
            loss_sum += xent(row, classes, labels[k]);
        }
    }
    if (loss) *loss = loss_sum / (double)ds->n;
    if (errors) *errors = wrong;
    for (size_t i = 0; conf && i < confusion_count; i++) confusion[i] += conf[i];
    rn__clear_error(ctx);
done:
    rn__free(ctx, conf);
    rn__free(ctx, labels);
    rn__free(ctx, idx);
    rn__free(ctx, logits);
    rn__free(ctx, x);
    rn_plan_destroy(plan);
    return st;
}

/*
 * Datasets: the caller's uint8 NHWC images and int32 labels, borrowed, and
 * the normalisation that turns them into float batches. The paper
 * subtracts the per-pixel mean (section 4.2); per-channel mean/std is what
 * torchvision's Normalize does. Images stay uint8 until a batch is asked
 * for, so a dataset costs a quarter of its float size. Views pick images by
 * index (a subset, a validation split) without copying them.
 */
#include "train-internal.h"

#define RN_DATASET_MAX_DIM 65536
#define RN_DATASET_MAX_CLASSES 1000000

static rn_status check_norm_arrays(rn_ctx *ctx, const char *fn, int64_t hwc, int64_t c,
                                   int32_t norm, const float *mean, size_t mean_count,
                                   const float *std, size_t std_count) {
    size_t want_mean = norm == RN_NORM_PIXEL_MEAN ? (size_t)hwc
                       : norm == RN_NORM_CHANNEL  ? (size_t)c
                                                  : 0;
    size_t want_std = norm == RN_NORM_CHANNEL ? (size_t)c : 0;
    if (norm != RN_NORM_NONE && norm != RN_NORM_PIXEL_MEAN && norm != RN_NORM_CHANNEL)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: norm %d is not an RN_NORM_* value", fn,
                         (int)norm);
    if (mean_count != want_mean || (want_mean && !mean))
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: mean has %zu values%s, this normalisation needs %zu", fn, mean_count,
                         want_mean && !mean ? " (NULL)" : "", want_mean);
    if (std_count != want_std || (want_std && !std))
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: std has %zu values%s, this normalisation needs %zu", fn, std_count,
                         want_std && !std ? " (NULL)" : "", want_std);
    for (size_t i = 0; i < mean_count; i++)
        if (!isfinite(mean[i]))
            return rn__error(ctx, RN_E_NUMERIC, "%s: mean[%zu] is not finite", fn, i);
    for (size_t i = 0; i < std_count; i++)
        if (!isfinite(std[i]) || !(std[i] > 0.0f))
            return rn__error(ctx, RN_E_INVALID_ARG, "%s: std[%zu] = %g must be finite and > 0", fn,
                             i, (double)std[i]);
    return RN_OK;
}

rn_status rn_dataset_create(rn_ctx *ctx, const uint8_t *images, const int32_t *labels, int64_t n,
                            int64_t h, int64_t w, int64_t c, int32_t classes, rn_dataset **out) {
    static const char fn[] = "rn_dataset_create";
    if (!ctx) return RN_E_INVALID_ARG;
    if (!images || !labels || !out)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: NULL argument", fn);
    if (n < 1 || h < 1 || w < 1 || c < 1 || h > RN_DATASET_MAX_DIM || w > RN_DATASET_MAX_DIM ||
        c > RN_DATASET_MAX_DIM)
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: dims n=%lld h=%lld w=%lld c=%lld must be >= 1 (h, w, c <= %d)", fn,
                         (long long)n, (long long)h, (long long)w, (long long)c,
                         RN_DATASET_MAX_DIM);
    if (rn__numel4(n, h, w, c) < 0)
        return rn__error(ctx, RN_E_OVERFLOW, "%s: %lld images of %lldx%lldx%lld are too many", fn,
                         (long long)n, (long long)h, (long long)w, (long long)c);
    if (classes < 1 || classes > RN_DATASET_MAX_CLASSES)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: classes %d is outside [1, %d]", fn,
                         (int)classes, RN_DATASET_MAX_CLASSES);
    for (int64_t i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= classes)
            return rn__error(ctx, RN_E_INVALID_ARG, "%s: label %lld is %d, outside [0, %d)", fn,
                             (long long)i, (int)labels[i], (int)classes);
    rn_dataset *ds = (rn_dataset *)rn__calloc(ctx, 1, sizeof *ds);
    if (!ds) return rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory", fn);
    ds->ctx = ctx;
    ds->images = images;
    ds->labels = labels;
    ds->n = n, ds->h = h, ds->w = w, ds->c = c;
    ds->classes = classes;
    ds->norm = RN_NORM_NONE;
    *out = ds;
    rn__clear_error(ctx);
    return RN_OK;
}

/* Replace the normalisation arrays (copies); on failure nothing changes. */
static rn_status set_norm(rn_dataset *ds, const char *fn, int32_t norm, const float *mean,
                          size_t mean_count, const float *std, size_t std_count) {
    float *m = NULL, *s = NULL;
    if (mean_count) m = (float *)rn__calloc(ds->ctx, mean_count, sizeof(float));
    if (std_count) s = (float *)rn__calloc(ds->ctx, std_count, sizeof(float));
    if ((mean_count && !m) || (std_count && !s)) {
        rn__free(ds->ctx, s);
        rn__free(ds->ctx, m);
        return rn__error(ds->ctx, RN_E_NO_MEMORY, "%s: out of memory for the statistics", fn);
    }
    if (m) rn_memcpy(m, mean, mean_count * sizeof(float));
    if (s) rn_memcpy(s, std, std_count * sizeof(float));
    rn__free(ds->ctx, ds->std);
    rn__free(ds->ctx, ds->mean);
    ds->norm = norm;
    ds->mean = m, ds->mean_count = mean_count;
    ds->std = s, ds->std_count = std_count;
    return RN_OK;
}

rn_status rn_dataset_create_view(const rn_dataset *parent, const int64_t *indices, int64_t count,
                                 rn_dataset **out) {
    static const char fn[] = "rn_dataset_create_view";
    if (!parent) return RN_E_INVALID_ARG;
    rn_ctx *ctx = parent->ctx;
    if (!indices || !out) return rn__error(ctx, RN_E_INVALID_ARG, "%s: NULL argument", fn);
    if (count < 1 || (uint64_t)count > SIZE_MAX / sizeof(int64_t))
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: count %lld must be >= 1", fn,
                         (long long)count);
    for (int64_t i = 0; i < count; i++)
        if (indices[i] < 0 || indices[i] >= parent->n)
            return rn__error(ctx, RN_E_INVALID_ARG,
                             "%s: indices[%lld] = %lld is outside the parent's [0, %lld)", fn,
                             (long long)i, (long long)indices[i], (long long)parent->n);
    rn_dataset *ds = (rn_dataset *)rn__calloc(ctx, 1, sizeof *ds);
    int64_t *index = (int64_t *)rn__calloc(ctx, (size_t)count, sizeof(int64_t));
    if (!ds || !index) {
        rn__free(ctx, index);
        rn__free(ctx, ds);
        return rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory for %lld indices", fn,
                         (long long)count);
    }
    *ds = *parent;
    ds->mean = ds->std = NULL;
    ds->mean_count = ds->std_count = 0;
    ds->norm = RN_NORM_NONE;
    /* a view of a view indexes the base images directly */
    for (int64_t i = 0; i < count; i++) index[i] = rn__dataset_base(parent, indices[i]);
    ds->index = index;
    ds->n = count;
    rn_status st = set_norm(ds, fn, parent->norm, parent->mean, parent->mean_count, parent->std,
                            parent->std_count);
    if (st) {
        rn__free(ctx, index);
        rn__free(ctx, ds);
        return st;
    }
    *out = ds;
    rn__clear_error(ctx);
    return RN_OK;
}

void rn_dataset_destroy(rn_dataset *ds) {
    if (!ds) return;
    rn_ctx *ctx = ds->ctx;
    rn__free(ctx, ds->std);
    rn__free(ctx, ds->mean);
    rn__free(ctx, ds->index);
    rn__free(ctx, ds);
}

rn_status rn_dataset_info(const rn_dataset *ds, int64_t dims[4], int32_t *classes) {
    if (!ds) return RN_E_INVALID_ARG;
    if (dims) dims[0] = ds->n, dims[1] = ds->h, dims[2] = ds->w, dims[3] = ds->c;
    if (classes) *classes = ds->classes;
    return RN_OK;
}

rn_status rn_dataset_label(const rn_dataset *ds, int64_t i, int32_t *label) {
    if (!ds) return RN_E_INVALID_ARG;
    if (!label) return rn__error(ds->ctx, RN_E_INVALID_ARG, "rn_dataset_label: NULL label");
    if (i < 0 || i >= ds->n)
        return rn__error(ds->ctx, RN_E_INVALID_ARG,
                         "rn_dataset_label: index %lld is outside [0, %lld)", (long long)i,
                         (long long)ds->n);
    *label = ds->labels[rn__dataset_base(ds, i)];
    return RN_OK;
}

rn_status rn_dataset_set_normalization(rn_dataset *ds, int32_t norm, const float *mean,
                                       size_t mean_count, const float *std, size_t std_count) {
    static const char fn[] = "rn_dataset_set_normalization";
    if (!ds) return RN_E_INVALID_ARG;
    rn_status st = check_norm_arrays(ds->ctx, fn, ds->h * ds->w * ds->c, ds->c, norm, mean,
                                     mean_count, std, std_count);
    if (st) return st;
    st = set_norm(ds, fn, norm, mean, mean_count, std, std_count);
    if (st) return st;
    rn__clear_error(ds->ctx);
    return RN_OK;
}

rn_status rn_dataset_compute_normalization(rn_dataset *ds, int32_t norm) {
    static const char fn[] = "rn_dataset_compute_normalization";
    if (!ds) return RN_E_INVALID_ARG;
    rn_ctx *ctx = ds->ctx;
    if (norm != RN_NORM_NONE && norm != RN_NORM_PIXEL_MEAN && norm != RN_NORM_CHANNEL)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: norm %d is not an RN_NORM_* value", fn,
                         (int)norm);
    if (norm == RN_NORM_NONE) return rn_dataset_set_normalization(ds, norm, NULL, 0, NULL, 0);
    size_t hwc = (size_t)(ds->h * ds->w * ds->c), c = (size_t)ds->c;
    size_t nacc = norm == RN_NORM_PIXEL_MEAN ? hwc : 2 * c;
    double *acc = (double *)rn__calloc(ctx, nacc, sizeof(double));
    float *stats = (float *)rn__calloc(ctx, nacc, sizeof(float));
    if (!acc || !stats) {
        rn__free(ctx, stats);
        rn__free(ctx, acc);
        return rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory", fn);
    }
    /* Sums of raw bytes are exact in double (< 2^53 for any dataset that
     * fits in memory), so the result does not depend on the order. */
    for (int64_t i = 0; i < ds->n; i++) {
        const uint8_t *img = ds->images + (size_t)rn__dataset_base(ds, i) * hwc;
        if (norm == RN_NORM_PIXEL_MEAN) {
            for (size_t j = 0; j < hwc; j++) acc[j] += img[j];
        } else {
            for (size_t j = 0; j < hwc; j++) {
                double v = img[j];
                acc[j % c] += v;
                acc[c + j % c] += v * v;
            }
        }
    }
    rn_status st;
    if (norm == RN_NORM_PIXEL_MEAN) {
        double scale = 1.0 / (255.0 * (double)ds->n);
        for (size_t j = 0; j < hwc; j++) stats[j] = (float)(acc[j] * scale);
        st = set_norm(ds, fn, norm, stats, hwc, NULL, 0);
    } else {
        double count = (double)ds->n * (double)(ds->h * ds->w);
        for (size_t k = 0; k < c; k++) {
            double mean = acc[k] / count;
            double var = acc[c + k] / count - mean * mean;
            if (var < 0) var = 0;
            stats[k] = (float)(mean / 255.0);
            /* a constant channel would divide by zero: keep it unscaled */
            stats[c + k] = var > 0 ? (float)(rn_sqrt(var) / 255.0) : 1.0f;
        }
        st = set_norm(ds, fn, norm, stats, c, stats + c, c);
    }
    rn__free(ctx, stats);
    rn__free(ctx, acc);
    if (st) return st;
    rn__clear_error(ctx);
    return RN_OK;
}

rn_status rn_dataset_get_normalization(const rn_dataset *ds, int32_t *norm, float *mean,
                                       size_t mean_count, float *std, size_t std_count) {
    static const char fn[] = "rn_dataset_get_normalization";
    if (!ds) return RN_E_INVALID_ARG;
    if (mean && mean_count != ds->mean_count)
        return rn__error(ds->ctx, RN_E_INVALID_ARG, "%s: mean_count %zu, the dataset has %zu", fn,
                         mean_count, ds->mean_count);
    if (std && std_count != ds->std_count)
        return rn__error(ds->ctx, RN_E_INVALID_ARG, "%s: std_count %zu, the dataset has %zu", fn,
                         std_count, ds->std_count);
    if (norm) *norm = ds->norm;
    if (mean && mean_count) rn_memcpy(mean, ds->mean, mean_count * sizeof(float));
    if (std && std_count) rn_memcpy(std, ds->std, std_count * sizeof(float));
    return RN_OK;
}

void rn__dataset_fill(const rn_dataset *ds, const int64_t *indices, int64_t count, float *dst,
                      int32_t *labels) {
    size_t hwc = (size_t)(ds->h * ds->w * ds->c), c = (size_t)ds->c;
    for (int64_t k = 0; k < count; k++) {
        int64_t base = rn__dataset_base(ds, indices[k]);
        const uint8_t *img = ds->images + (size_t)base * hwc;
        float *o = dst + (size_t)k * hwc;
        /* x / 255 is correctly rounded, as torchvision's ToTensor computes it */
        switch (ds->norm) {
        case RN_NORM_PIXEL_MEAN:
            for (size_t j = 0; j < hwc; j++) o[j] = (float)img[j] / 255.0f - ds->mean[j];
            break;
        case RN_NORM_CHANNEL:
            for (size_t j = 0; j < hwc; j++)
                o[j] = ((float)img[j] / 255.0f - ds->mean[j % c]) / ds->std[j % c];
            break;
        default:
            for (size_t j = 0; j < hwc; j++) o[j] = (float)img[j] / 255.0f;
        }
        if (labels) labels[k] = ds->labels[base];
    }
}

rn_status rn_dataset_get_batch(const rn_dataset *ds, const int64_t *indices, int64_t count,
                               float *dst, size_t dst_count, int32_t *labels) {
    static const char fn[] = "rn_dataset_get_batch";
    if (!ds) return RN_E_INVALID_ARG;
    rn_ctx *ctx = ds->ctx;
    if (!indices || !dst) return rn__error(ctx, RN_E_INVALID_ARG, "%s: NULL argument", fn);
    if (count < 1 || rn__numel4(count, ds->h, ds->w, ds->c) < 0)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: count %lld is not a valid batch size", fn,
                         (long long)count);
    size_t want = (size_t)rn__numel4(count, ds->h, ds->w, ds->c);
    if (dst_count != want)
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: dst has %zu floats, %lld images of %lldx%lldx%lld need %zu", fn,
                         dst_count, (long long)count, (long long)ds->h, (long long)ds->w,
                         (long long)ds->c, want);
    for (int64_t k = 0; k < count; k++)
        if (indices[k] < 0 || indices[k] >= ds->n)
            return rn__error(ctx, RN_E_INVALID_ARG, "%s: indices[%lld] = %lld is outside [0, %lld)",
                             fn, (long long)k, (long long)indices[k], (long long)ds->n);
    rn__dataset_fill(ds, indices, count, dst, labels);
    return RN_OK;
}

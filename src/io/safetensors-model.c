/*
 * Models as safetensors files with torchvision's state_dict names, built on
 * the generic reader/writer and the public tensor API of the model (names,
 * dims in PyTorch's layout, get/set). Loading validates the whole file
 * against the model before the first value is set, so a refused file leaves
 * the model as it was.
 */
#include "io-internal.h"
#include "../nn/nn.h"

#define MODULE_PREFIX "module."
#define NBT_SUFFIX ".num_batches_tracked"

static const char *strip_module(const char *name) {
    size_t n = sizeof MODULE_PREFIX - 1;
    return rn_strncmp(name, MODULE_PREFIX, n) == 0 ? name + n : name;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = rn_strlen(s), m = rn_strlen(suffix);
    return n >= m && rn_memcmp(s + n - m, suffix, m) == 0;
}

/* Check every file tensor against the model and fill map[model index] =
 * file index (-1 until found). */
static rn_status match_tensors(rn_model *model, rn_ctx *ctx, const char *src,
                               const rn_safetensors *st, int32_t *map, size_t *max_count) {
    int32_t nmodel = rn_model_tensor_count(model);
    for (int32_t i = 0; i < nmodel; i++) map[i] = -1;
    *max_count = 0;
    int32_t nfile = rn_safetensors_count(st);
    for (int32_t f = 0; f < nfile; f++) {
        const char *fname;
        int32_t dtype, fndim;
        int64_t fdims[8];
        rn_safetensors_info(st, f, &fname, &dtype, &fndim, fdims);
        const char *name = strip_module(fname);
        /* PyTorch's BN step counter: only used with momentum=None */
        if (ends_with(name, NBT_SUFFIX)) continue;
        int32_t m;
        if (rn_model_tensor_find(model, name, &m) != RN_OK)
            return rn__error(ctx, RN_E_BAD_FORMAT,
                             "%s: tensor '%s': unexpected tensor (the model "
                             "has no tensor of that name)",
                             src, fname);
        if (map[m] >= 0) {
            const char *other;
            rn_safetensors_info(st, map[m], &other, NULL, NULL, NULL);
            return rn__error(ctx, RN_E_BAD_FORMAT,
                             "%s: tensor '%s': names the same model tensor "
                             "as '%s'",
                             src, fname, other);
        }
        const char *mname;
        int32_t mndim;
        int64_t mdims[4];
        rn_model_tensor_info(model, m, &mname, &mndim, mdims, NULL);
        if (!rn__same_dims(fndim, fdims, mndim, mdims)) {
            char a[200], b[200];
            return rn__error(ctx, RN_E_BAD_FORMAT,
                             "%s: tensor '%s': shape %s in file, model "
                             "expects %s",
                             src, fname, rn__dims_str(fndim, fdims, a, sizeof a),
                             rn__dims_str(mndim, mdims, b, sizeof b));
        }
        if (dtype != RN_DTYPE_F32 && dtype != RN_DTYPE_F16 && dtype != RN_DTYPE_BF16)
            return rn__error(ctx, RN_E_BAD_FORMAT,
                             "%s: tensor '%s': dtype %s, model weights are "
                             "read from F32, F16 or BF16",
                             src, fname, rn__dtype_name(dtype));
        size_t count = 1;
        for (int32_t d = 0; d < mndim; d++) count *= (size_t)mdims[d]; /* the model's own size */
        if (count > *max_count) *max_count = count;
        map[m] = f;
    }
    for (int32_t i = 0; i < nmodel; i++) {
        if (map[i] < 0) {
            const char *mname = "?";
            int32_t mndim = 0;
            int64_t mdims[4] = {0};
            char b[200];
            rn_model_tensor_info(model, i, &mname, &mndim, mdims, NULL);
            return rn__error(ctx, RN_E_BAD_FORMAT,
                             "%s: tensor '%s': missing (the model expects "
                             "shape %s)",
                             src, mname, rn__dims_str(mndim, mdims, b, sizeof b));
        }
    }
    return RN_OK;
}

/* Model tensor i's name, dims (PyTorch order; either may be NULL) and value count. */
static size_t model_tensor(const rn_model *model, int32_t i, const char **name, int32_t *ndim,
                           int64_t dims[4]) {
    int32_t nd;
    int64_t d4[4];
    rn_model_tensor_info(model, i, name, &nd, d4, NULL);
    size_t count = 1;
    for (int32_t d = 0; d < nd; d++) count *= (size_t)d4[d];
    if (ndim) *ndim = nd;
    if (dims)
        for (int32_t d = 0; d < 4; d++) dims[d] = d4[d];
    return count;
}

/* Loads refuse a model whose weights are read in place, before anything is read. */
static rn_status check_writable(rn_model *model, const char *fn) {
    rn_status st = rn__model_check_unpacked(model, fn);
    if (st) return st;
    if (!rn__model_in_place(model)) return RN_OK;
    return rn__error(rn__model_ctx(model), RN_E_BAD_STATE,
                     "%s: the model's weights are read in place from a constant blob "
                     "(rn_model_create_from_blob) and cannot be loaded over",
                     fn);
}

static rn_status load_from(rn_model *model, const char *src, const rn_safetensors *st) {
    rn_ctx *ctx = rn__model_ctx(model);
    int32_t nmodel = rn_model_tensor_count(model);
    int32_t *map = (int32_t *)rn__calloc(ctx, nmodel > 0 ? (size_t)nmodel : 1, sizeof(int32_t));
    if (!map) return rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory", src);
    size_t max_count = 0;
    rn_status s = match_tensors(model, ctx, src, st, map, &max_count);
    float *buf = NULL;
    if (s == RN_OK && !(buf = (float *)rn__calloc(ctx, max_count ? max_count : 1, sizeof(float))))
        s = rn__error(ctx, RN_E_NO_MEMORY, "%s: cannot allocate %zu floats", src, max_count);
    /* Past this point nothing can fail for a file that matched: names,
     * counts and dtypes were all checked against the model above. */
    for (int32_t i = 0; s == RN_OK && i < nmodel; i++) {
        const char *mname;
        size_t count = model_tensor(model, i, &mname, NULL, NULL);
        s = rn_safetensors_read_f32(st, map[i], buf, count);
        if (s == RN_OK) s = rn_model_set_tensor(model, mname, buf, count);
        if (s)
            s = rn__error(ctx, RN_E_INTERNAL,
                          "%s: tensor '%s' matched but could not be set "
                          "(%s)",
                          src, mname, rn_last_error(ctx));
    }
    rn__free(ctx, buf);
    rn__free(ctx, map);
    if (s == RN_OK) rn__clear_error(ctx);
    return s;
}

/* ---- non-strict load (fine-tuning) ------------------------------------------ */
/* Append a line to the report (truncated with "...\n" once full). */
static void report_line(char *report, size_t cap, size_t *len, const char *a, const char *b,
                        const char *c) {
    if (!report || !cap) return;
    const char *parts[4] = {a, b, c, "\n"};
    size_t need = 0;
    for (int i = 0; i < 4; i++) need += rn_strlen(parts[i]);
    if (*len + need + 5 > cap) {
        if (*len + 5 <= cap && (*len < 4 || rn_strcmp(report + *len - 4, "...\n") != 0)) {
            rn_memcpy(report + *len, "...\n", 5);
            *len += 4;
        }
        return;
    }
    for (int i = 0; i < 4; i++) {
        size_t n = rn_strlen(parts[i]);
        rn_memcpy(report + *len, parts[i], n);
        *len += n;
    }
    report[*len] = '\0';
}

static rn_status load_partial(rn_model *model, const char *src, const rn_safetensors *st,
                              int32_t counts[3], char *report, size_t report_cap) {
    rn_ctx *ctx = rn__model_ctx(model);
    int32_t nmodel = rn_model_tensor_count(model), nfile = rn_safetensors_count(st);
    int32_t *map = (int32_t *)rn__calloc(ctx, nmodel > 0 ? (size_t)nmodel : 1, sizeof(int32_t));
    if (!map) return rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory", src);
    for (int32_t i = 0; i < nmodel; i++) map[i] = -1;
    size_t len = 0, max_count = 1;
    int32_t loaded = 0, skipped = 0, kept = 0;
    if (report && report_cap) report[0] = '\0';
    for (int32_t f = 0; f < nfile; f++) {
        const char *fname;
        int32_t dtype, fndim, m, mndim;
        int64_t fdims[8], mdims[4];
        rn_safetensors_info(st, f, &fname, &dtype, &fndim, fdims);
        const char *name = strip_module(fname);
        if (ends_with(name, NBT_SUFFIX)) continue;
        if (rn_model_tensor_find(model, name, &m) != RN_OK || map[m] >= 0) {
            report_line(report, report_cap, &len, "skipped ", fname, ": not in the model");
            skipped++;
            continue;
        }
        rn_model_tensor_info(model, m, NULL, &mndim, mdims, NULL);
        int same = rn__same_dims(fndim, fdims, mndim, mdims);
        if (!same || (dtype != RN_DTYPE_F32 && dtype != RN_DTYPE_F16 && dtype != RN_DTYPE_BF16)) {
            char a[200], b[200], why[440];
            if (same) {
                rn__concat(why, sizeof why, ": dtype ", rn__dtype_name(dtype));
            } else {
                rn__dims_str(fndim, fdims, a, sizeof a);
                rn__dims_str(mndim, mdims, b, sizeof b);
                char t[300];
                rn__concat(t, sizeof t, ": shape ", a);
                rn__concat(a, sizeof a, t, " in the file, ");
                rn__concat(why, sizeof why, a, b);
                rn__concat(t, sizeof t, why, " in the model");
                rn__concat(why, sizeof why, t, "");
            }
            report_line(report, report_cap, &len, "skipped ", fname, why);
            skipped++;
            continue;
        }
        size_t count = 1;
        for (int32_t d = 0; d < mndim; d++) count *= (size_t)mdims[d];
        if (count > max_count) max_count = count;
        map[m] = f;
        loaded++;
    }
    for (int32_t i = 0; i < nmodel; i++) {
        if (map[i] >= 0) continue;
        const char *mname = "?";
        rn_model_tensor_info(model, i, &mname, NULL, NULL, NULL); /* i < count: cannot fail */
        report_line(report, report_cap, &len, "kept ", mname, ": not loaded (left as it was)");
        kept++;
    }
    float *buf = (float *)rn__calloc(ctx, max_count, sizeof(float));
    rn_status s = RN_OK;
    if (!buf) s = rn__error(ctx, RN_E_NO_MEMORY, "%s: cannot allocate %zu floats", src, max_count);
    for (int32_t i = 0; s == RN_OK && i < nmodel; i++) {
        if (map[i] < 0) continue;
        const char *mname = "?";
        int32_t mndim = 0;
        int64_t mdims[4] = {0};
        rn_model_tensor_info(model, i, &mname, &mndim, mdims, NULL);
        size_t count = 1;
        for (int32_t d = 0; d < mndim; d++) count *= (size_t)mdims[d];
        s = rn_safetensors_read_f32(st, map[i], buf, count);
        if (s == RN_OK) s = rn_model_set_tensor(model, mname, buf, count);
    }
    rn__free(ctx, buf);
    rn__free(ctx, map);
    if (s == RN_OK) {
        if (counts) {
            counts[0] = loaded;
            counts[1] = skipped;
            counts[2] = kept;
        }
        rn__clear_error(ctx);
    }
    return s;
}

/* The four loaders: the model writable, the file `path` (from_file) or the
 * buffer opened, then every tensor of the model loaded from it (load_from), or
 * with `partial` those that fit (load_partial). */
static rn_status open_and_load(rn_model *model, const char *fn, int from_file, const char *path,
                               const void *buf, size_t size, int partial, int32_t counts[3],
                               char *report, size_t report_cap) {
    if (!model) return RN_E_INVALID_ARG;
    rn_ctx *ctx = rn__model_ctx(model);
    rn_status s = check_writable(model, fn);
    if (s) return s;
    if (from_file ? !path : !buf)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: %s is NULL", fn, from_file ? "path" : "buf");
    rn_safetensors *st = NULL;
    s = from_file ? rn_safetensors_open_file(ctx, path, &st)
                  : rn_safetensors_open_mem(ctx, buf, size, &st);
    if (s) return s;
    const char *src = from_file ? path : RN_IO_MEMORY_NAME;
    s = partial ? load_partial(model, src, st, counts, report, report_cap)
                : load_from(model, src, st);
    rn_safetensors_close(st);
    return s;
}

rn_status rn_model_load_safetensors_partial_mem(rn_model *model, const void *buf, size_t size,
                                                int32_t counts[3], char *report,
                                                size_t report_cap) {
    return open_and_load(model, "rn_model_load_safetensors_partial_mem", 0, NULL, buf, size, 1,
                         counts, report, report_cap);
}

rn_status rn_model_load_safetensors_partial_file(rn_model *model, const char *path,
                                                 int32_t counts[3], char *report,
                                                 size_t report_cap) {
    return open_and_load(model, "rn_model_load_safetensors_partial_file", 1, path, NULL, 0, 1,
                         counts, report, report_cap);
}

rn_status rn_model_load_safetensors_mem(rn_model *model, const void *buf, size_t size) {
    return open_and_load(model, "rn_model_load_safetensors_mem", 0, NULL, buf, size, 0, NULL, NULL,
                         0);
}

rn_status rn_model_load_safetensors_file(rn_model *model, const char *path) {
    return open_and_load(model, "rn_model_load_safetensors_file", 1, path, NULL, 0, 0, NULL, NULL,
                         0);
}

/* A writer holding the model's tensors (F32, PyTorch layout) in state_dict
 * order; with sizes_only the entries carry no data. */
static rn_status model_writer(const rn_model *model, const char *fn, int sizes_only,
                              rn_safetensors_writer **out) {
    rn_ctx *ctx = rn__model_ctx(model);
    rn_safetensors_writer *w = NULL;
    rn_status s = rn_safetensors_writer_create(ctx, &w);
    if (s == RN_OK) s = rn_safetensors_writer_set_metadata(w, "format", "pt");
    int32_t n = rn_model_tensor_count(model);
    for (int32_t i = 0; s == RN_OK && i < n; i++) {
        const char *name;
        int32_t ndim;
        int64_t dims[4];
        size_t count = model_tensor(model, i, &name, &ndim, dims);
        unsigned char *data = NULL;
        if (!sizes_only) {
            float *f = (float *)rn__calloc(ctx, count ? count : 1, sizeof(float));
            if (!f) {
                s = rn__error(ctx, RN_E_NO_MEMORY, "%s: tensor '%s': out of memory", fn, name);
                break;
            }
            s = rn_model_get_tensor(model, name, f, count);
            if (s) {
                rn__free(ctx, f);
                break;
            }
            /* floats -> little-endian bytes in place (a no-op on LE hosts) */
            data = (unsigned char *)f;
            for (size_t k = 0; k < count; k++) rn__put_le32(data + 4 * k, rn__f32_bits(f[k]));
        }
        s = rn__safetensors_writer_adopt(w, name, RN_DTYPE_F32, ndim, dims, data);
    }
    if (s) {
        rn_safetensors_writer_destroy(w);
        return s;
    }
    *out = w;
    return RN_OK;
}

rn_status rn__model_save(const rn_model *model, const char *fn, rn__model_writer_fn make,
                         int path_mode, const char *path, void *buf, size_t cap, size_t *written) {
    if (!model) return RN_E_INVALID_ARG;
    rn_ctx *ctx = rn__model_ctx(model);
    if (path_mode ? !path : !written)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: %s is NULL", fn,
                         path_mode ? "path" : "written");
    rn_status ps = rn__model_check_unpacked(model, fn);
    if (ps) return ps;
    rn_safetensors_writer *w = NULL;
    rn_status s = make(model, fn, !path_mode && buf == NULL, &w);
    if (s) return s;
    s = path_mode ? rn_safetensors_writer_save_file(w, path)
                  : rn_safetensors_writer_save_mem(w, buf, cap, written);
    rn_safetensors_writer_destroy(w);
    return s;
}

rn_status rn_model_save_safetensors_mem(const rn_model *model, void *buf, size_t cap,
                                        size_t *written) {
    if (model && written && rn__model_is_int8(model))
        return rn__int8_save_mem(model, buf, cap, written);
    return rn__model_save(model, "rn_model_save_safetensors_mem", model_writer, 0, NULL, buf, cap,
                          written);
}

rn_status rn_model_save_safetensors_file(const rn_model *model, const char *path) {
    if (model && path && rn__model_is_int8(model)) return rn__int8_save_file(model, path);
    return rn__model_save(model, "rn_model_save_safetensors_file", model_writer, 1, path, NULL, 0,
                          NULL);
}

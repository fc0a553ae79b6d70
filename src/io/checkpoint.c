/*
 * Training checkpoints: one safetensors file with everything a trainer
 * needs to continue exactly where it stopped.
 *
 *   tensors   every model tensor under its torchvision name (PyTorch layout,
 *             BN running statistics included), "optimizer.<name>.momentum_buffer"
 *             for each parameter that has one, "data.mean" / "data.std"
 *   metadata  "libresnet.checkpoint" (format version), counters (epoch, step,
 *             batch_in_epoch), generator states as four hex words, the
 *             warm-up flag, the epoch's running statistics (the loss sum as
 *             the hex bits of a double, so it survives exactly), and the
 *             trainer options that decide the data stream (batch, dataset
 *             size, seed, shuffle, drop_last, augmentation)
 *
 * Loading is all-or-nothing: the file is parsed, every name, shape, dtype,
 * value range and option is checked against the trainer, all values are
 * read into scratch memory and every allocation made, and only then are the
 * model, the optimiser and the trainer changed, by plain copies that cannot
 * fail. Saving to a file goes through the safetensors writer's atomic save.
 */
#include "io-internal.h"
#include "../train/train-state.h"

#define CKPT_VERSION "1"
#define CKPT_KEY_VERSION "libresnet.checkpoint"
#define CKPT_OPT_PREFIX "optimizer."
#define CKPT_BUF_SUFFIX ".momentum_buffer"
#define CKPT_MEAN "data.mean"
#define CKPT_STD "data.std"
#define CKPT_NAME_CAP 512

static const char *norm_name(int32_t norm) {
    return norm == RN_NORM_PIXEL_MEAN ? "pixel_mean" : norm == RN_NORM_CHANNEL ? "channel" : "none";
}

/* ---- small text formats for metadata values (no stdio in the library) ---- */

static void fmt_hex64(uint64_t v, char out[17]) {
    static const char digits[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--, v >>= 4) out[i] = digits[v & 15];
    out[16] = '\0';
}

static void fmt_i64(int64_t v, char out[25]) {
    char digits[24];
    size_t n = rn__fmt_u64(v < 0 ? 0 - (uint64_t)v : (uint64_t)v, digits);
    size_t k = 0;
    if (v < 0) out[k++] = '-';
    rn_memcpy(out + k, digits, n + 1);
}

/* "w0,w1,w2,w3" in hex: 4 * 16 + 3 separators + NUL */
static void fmt_state(const uint64_t s[4], char out[68]) {
    for (int i = 0; i < 4; i++) {
        fmt_hex64(s[i], out + 17 * i);
        out[17 * i + 16] = i < 3 ? ',' : '\0';
    }
}

static int parse_hex64(const char *p, size_t n, uint64_t *v) {
    if (n != 16) return 0;
    uint64_t r = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
        if (d < 0) return 0;
        r = (r << 4) | (uint64_t)d;
    }
    *v = r;
    return 1;
}

static int parse_i64(const char *p, int64_t *v) {
    int neg = *p == '-';
    if (neg) p++;
    if (!*p) return 0;
    uint64_t r = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9') return 0;
        uint64_t d = (uint64_t)(*p - '0');
        if (r > (UINT64_MAX - d) / 10) return 0;
        r = r * 10 + d;
    }
    if (neg ? r > (uint64_t)INT64_MAX + 1 : r > (uint64_t)INT64_MAX) return 0;
    *v = neg ? (int64_t)(0 - r) : (int64_t)r;
    return 1;
}

static int parse_state(const char *p, uint64_t s[4]) {
    if (rn_strlen(p) != 67) return 0;
    for (int i = 0; i < 4; i++) {
        if (!parse_hex64(p + 17 * i, 16, &s[i])) return 0;
        if (i < 3 && p[17 * i + 16] != ',') return 0;
    }
    return 1;
}

/* ---- save ----------------------------------------------------------------------- */

static rn_status add_meta_i64(rn_safetensors_writer *w, const char *key, int64_t v) {
    char buf[25];
    fmt_i64(v, buf);
    return rn_safetensors_writer_set_metadata(w, key, buf);
}

/* "optimizer.<name>.momentum_buffer" into buf; 0 if it does not fit. */
static int buffer_name(const char *name, char *buf, size_t cap) {
    size_t a = sizeof CKPT_OPT_PREFIX - 1, b = rn_strlen(name), c = sizeof CKPT_BUF_SUFFIX;
    if (a + b + c > cap) return 0;
    rn_memcpy(buf, CKPT_OPT_PREFIX, a);
    rn_memcpy(buf + a, name, b);
    rn_memcpy(buf + a + b, CKPT_BUF_SUFFIX, c);
    return 1;
}

static rn_status build_writer(const rn_trainer *tr, const char *fn, rn_safetensors_writer **out) {
    rn_ctx *ctx = rn__trainer_ctx(tr);
    const rn_tensor_slot *slots;
    int32_t n = rn__model_slots(rn__trainer_model(tr), &slots);
    rn__train_state s;
    rn__train_norm ds;
    rn__trainer_state(tr, &s);
    rn__trainer_norm(tr, &ds);
    size_t max_count = 1;
    for (int32_t i = 0; i < n; i++)
        if (slots[i].count > max_count) max_count = slots[i].count;
    float *tmp = (float *)rn__calloc(ctx, max_count, sizeof(float));
    if (!tmp)
        return rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory for %zu floats", fn, max_count);
    rn_safetensors_writer *w = NULL;
    rn_status st = rn_safetensors_writer_create(ctx, &w);
    char name[CKPT_NAME_CAP];
    /* the model, in state_dict order */
    for (int32_t i = 0; i < n && st == RN_OK; i++) {
        rn__nn_slot_read(&slots[i], slots[i].value, tmp);
        st = rn_safetensors_writer_add(w, slots[i].name, RN_DTYPE_F32, slots[i].ndim, slots[i].dims,
                                       tmp);
    }
    /* momentum buffers, where a step made one */
    for (int32_t i = 0; i < n && st == RN_OK; i++) {
        const float *momentum =
            slots[i].kind == RN_TENSOR_PARAM ? rn__trainer_momentum(tr, i) : NULL;
        if (!momentum) continue;
        if (!buffer_name(slots[i].name, name, sizeof name)) {
            st = rn__error(ctx, RN_E_INVALID_ARG, "%s: the tensor name '%s' is too long", fn,
                           slots[i].name);
            break;
        }
        rn__nn_slot_read(&slots[i], momentum, tmp);
        st = rn_safetensors_writer_add(w, name, RN_DTYPE_F32, slots[i].ndim, slots[i].dims, tmp);
    }
    if (st == RN_OK && ds.mean_count) {
        int64_t dims[3] = {ds.h, ds.w, ds.c};
        int32_t ndim = ds.norm == RN_NORM_PIXEL_MEAN ? 3 : 1;
        if (ndim == 1) dims[0] = ds.c;
        st = rn_safetensors_writer_add(w, CKPT_MEAN, RN_DTYPE_F32, ndim, dims, ds.mean);
    }
    if (st == RN_OK && ds.std_count) {
        int64_t dims[1] = {ds.c};
        st = rn_safetensors_writer_add(w, CKPT_STD, RN_DTYPE_F32, 1, dims, ds.std);
    }
    rn__free(ctx, tmp);
    char state[68], hex[17];
    if (st == RN_OK) st = rn_safetensors_writer_set_metadata(w, "format", "pt");
    if (st == RN_OK) st = rn_safetensors_writer_set_metadata(w, CKPT_KEY_VERSION, CKPT_VERSION);
    const struct {
        const char *key;
        int64_t value;
    } ints[] = {{"epoch", s.epoch},
                {"step", s.step},
                {"batch_in_epoch", s.cursor},
                {"batch", s.batch},
                {"dataset_size", s.dataset_size},
                {"seed", s.seed},
                {"shuffle", s.shuffle},
                {"drop_last", s.drop_last},
                {"aug_pad", s.pad},
                {"aug_flip", s.flip},
                {"warmup_done", s.warmup_done},
                {"epoch_errors", s.errors},
                {"epoch_seen", s.seen}};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0] && st == RN_OK; i++)
        st = add_meta_i64(w, ints[i].key, ints[i].value);
    if (st == RN_OK) {
        uint64_t bits;
        rn_memcpy(&bits, &s.loss_sum, sizeof bits);
        fmt_hex64(bits, hex);
        st = rn_safetensors_writer_set_metadata(w, "epoch_loss_sum", hex);
    }
    if (st == RN_OK) {
        fmt_state(s.order_rng, state);
        st = rn_safetensors_writer_set_metadata(w, "order_rng", state);
    }
    if (st == RN_OK) {
        fmt_state(s.aug_rng, state);
        st = rn_safetensors_writer_set_metadata(w, "aug_rng", state);
    }
    if (st == RN_OK)
        st = rn_safetensors_writer_set_metadata(w, "normalization", norm_name(ds.norm));
    if (st) {
        rn_safetensors_writer_destroy(w);
        return st;
    }
    *out = w;
    return RN_OK;
}

/* Build the checkpoint and write it to path, or when path is NULL into buf. */
static rn_status save(const rn_trainer *tr, const char *fn, const char *path, void *buf, size_t cap,
                      size_t *written) {
    rn_safetensors_writer *w = NULL;
    rn_status st = rn__model_check_unpacked(rn__trainer_model(tr), fn);
    if (st) return st;
    st = build_writer(tr, fn, &w);
    if (st) return st;
    st = path ? rn_safetensors_writer_save_file(w, path)
              : rn_safetensors_writer_save_mem(w, buf, cap, written);
    rn_safetensors_writer_destroy(w);
    if (st == RN_OK) rn__clear_error(rn__trainer_ctx(tr));
    return st;
}

rn_status rn_checkpoint_save_mem(const rn_trainer *tr, void *buf, size_t cap, size_t *written) {
    static const char fn[] = "rn_checkpoint_save_mem";
    if (!tr) return RN_E_INVALID_ARG;
    if (!written) return rn__error(rn__trainer_ctx(tr), RN_E_INVALID_ARG, "%s: NULL written", fn);
    return save(tr, fn, NULL, buf, cap, written);
}

rn_status rn_checkpoint_save_file(const rn_trainer *tr, const char *path) {
    static const char fn[] = "rn_checkpoint_save_file";
    if (!tr) return RN_E_INVALID_ARG;
    if (!path) return rn__error(rn__trainer_ctx(tr), RN_E_INVALID_ARG, "%s: NULL path", fn);
    return save(tr, fn, path, NULL, 0, NULL);
}

/* ---- load ------------------------------------------------------------------------ */

typedef struct ckpt_meta {
    int64_t epoch, step, cursor, batch, dataset_size, seed, shuffle, drop_last, pad, flip;
    int64_t warmup_done, errors, seen;
    double loss_sum;
    uint64_t order_rng[4], aug_rng[4];
} ckpt_meta;

static rn_status meta_string(const rn_safetensors *st, rn_ctx *ctx, const char *src,
                             const char *key, const char **value) {
    if (rn_safetensors_metadata(st, key, value) != RN_OK)
        return rn__error(ctx, RN_E_BAD_FORMAT, "%s: checkpoint metadata '%s' is missing", src, key);
    return RN_OK;
}

static rn_status meta_i64(const rn_safetensors *st, rn_ctx *ctx, const char *src, const char *key,
                          int64_t lo, int64_t hi, int64_t *v) {
    const char *s;
    rn_status r = meta_string(st, ctx, src, key, &s);
    if (r) return r;
    if (!parse_i64(s, v) || *v < lo || *v > hi)
        return rn__error(
            ctx, RN_E_BAD_FORMAT,
            "%s: checkpoint metadata '%s' is \"%.40s\", not an integer in [%lld, %lld]", src, key,
            s, (long long)lo, (long long)hi);
    return RN_OK;
}

static rn_status meta_state(const rn_safetensors *st, rn_ctx *ctx, const char *src, const char *key,
                            uint64_t s[4]) {
    const char *v;
    rn_status r = meta_string(st, ctx, src, key, &v);
    if (r) return r;
    if (!parse_state(v, s) || !rn__rng_state_valid(s))
        return rn__error(ctx, RN_E_BAD_FORMAT,
                         "%s: checkpoint metadata '%s' is not four non-all-zero 16-digit hex "
                         "words separated by commas",
                         src, key);
    return RN_OK;
}

static rn_status read_meta(const rn_safetensors *st, rn_ctx *ctx, const char *src, ckpt_meta *m) {
    const char *v;
    if (rn_safetensors_metadata(st, CKPT_KEY_VERSION, &v) != RN_OK)
        return rn__error(ctx, RN_E_BAD_FORMAT,
                         "%s: not a libresnet checkpoint (no '" CKPT_KEY_VERSION "' metadata; "
                         "a weights-only file loads with rn_model_load_safetensors_file)",
                         src);
    if (rn_strcmp(v, CKPT_VERSION) != 0)
        return rn__error(
            ctx, RN_E_VERSION,
            "%s: checkpoint format version \"%.20s\", this library reads version " CKPT_VERSION,
            src, v);
    rn_status r;
    const int64_t big = INT64_MAX / 4;
    if ((r = meta_i64(st, ctx, src, "epoch", 0, big, &m->epoch)) ||
        (r = meta_i64(st, ctx, src, "step", 0, big, &m->step)) ||
        (r = meta_i64(st, ctx, src, "batch_in_epoch", 0, big, &m->cursor)) ||
        (r = meta_i64(st, ctx, src, "batch", 1, RN_TRAIN_MAX_BATCH, &m->batch)) ||
        (r = meta_i64(st, ctx, src, "dataset_size", 1, big, &m->dataset_size)) ||
        (r = meta_i64(st, ctx, src, "seed", INT64_MIN, INT64_MAX, &m->seed)) ||
        (r = meta_i64(st, ctx, src, "shuffle", 0, 1, &m->shuffle)) ||
        (r = meta_i64(st, ctx, src, "drop_last", 0, 1, &m->drop_last)) ||
        (r = meta_i64(st, ctx, src, "aug_pad", 0, RN_TRAIN_MAX_PAD, &m->pad)) ||
        (r = meta_i64(st, ctx, src, "aug_flip", 0, 1, &m->flip)) ||
        (r = meta_i64(st, ctx, src, "warmup_done", 0, 1, &m->warmup_done)) ||
        (r = meta_i64(st, ctx, src, "epoch_errors", 0, big, &m->errors)) ||
        (r = meta_i64(st, ctx, src, "epoch_seen", 0, big, &m->seen)) ||
        (r = meta_state(st, ctx, src, "order_rng", m->order_rng)) ||
        (r = meta_state(st, ctx, src, "aug_rng", m->aug_rng)))
        return r;
    uint64_t bits;
    if ((r = meta_string(st, ctx, src, "epoch_loss_sum", &v))) return r;
    if (!parse_hex64(v, rn_strlen(v), &bits))
        return rn__error(ctx, RN_E_BAD_FORMAT,
                         "%s: checkpoint metadata 'epoch_loss_sum' is not 16 hex digits", src);
    rn_memcpy(&m->loss_sum, &bits, sizeof bits);
    if (!isfinite(m->loss_sum) || m->loss_sum < 0 || m->errors > m->seen)
        return rn__error(ctx, RN_E_BAD_FORMAT,
                         "%s: checkpoint epoch statistics are inconsistent (loss sum, %lld errors "
                         "of %lld seen)",
                         src, (long long)m->errors, (long long)m->seen);
    return RN_OK;
}

/* Check the options that decide the data stream against the trainer's. */
static rn_status check_options(const rn_trainer *tr, const ckpt_meta *m, const char *src) {
    rn__train_state s;
    rn__trainer_state(tr, &s);
    struct {
        const char *what;
        int64_t file, mine;
    } opts[] = {
        {"batch size", m->batch, s.batch},
        {"training-set size", m->dataset_size, s.dataset_size},
        {"shuffle", m->shuffle, s.shuffle},
        {"drop_last", m->drop_last, s.drop_last},
        {"augmentation padding", m->pad, s.pad},
        {"augmentation flip", m->flip, s.flip},
    };
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        if (opts[i].file != opts[i].mine)
            return rn__error(rn__trainer_ctx(tr), RN_E_INVALID_ARG,
                             "%s: the checkpoint was made with %s %lld, the trainer has %lld "
                             "(resuming exactly needs the same setting)",
                             src, opts[i].what, (long long)opts[i].file, (long long)opts[i].mine);
    int64_t bpe = s.batches_per_epoch;
    if (m->cursor >= bpe)
        return rn__error(rn__trainer_ctx(tr), RN_E_BAD_FORMAT,
                         "%s: batch_in_epoch %lld is not below the %lld batches of an epoch", src,
                         (long long)m->cursor, (long long)bpe);
    if (m->step < m->cursor)
        return rn__error(rn__trainer_ctx(tr), RN_E_BAD_FORMAT,
                         "%s: step %lld is below batch_in_epoch %lld", src, (long long)m->step,
                         (long long)m->cursor);
    return RN_OK;
}

static int same_dims(int32_t ndim, const int64_t *dims, int32_t want_ndim, const int64_t *want) {
    if (ndim != want_ndim) return 0;
    for (int32_t d = 0; d < ndim; d++)
        if (dims[d] != want[d]) return 0;
    return 1;
}

/* The dataset's normalisation must be the one the run was trained with. */
static rn_status check_normalization(const rn_trainer *tr, const rn_safetensors *st,
                                     const char *src, float *scratch) {
    rn_ctx *ctx = rn__trainer_ctx(tr);
    rn__train_norm ds;
    rn__trainer_norm(tr, &ds);
    const char *v;
    rn_status r = meta_string(st, ctx, src, "normalization", &v);
    if (r) return r;
    if (rn_strcmp(v, norm_name(ds.norm)) != 0)
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: the checkpoint was trained with normalisation \"%.20s\", the "
                         "dataset uses \"%s\"",
                         src, v, norm_name(ds.norm));
    const char *names[2] = {CKPT_MEAN, CKPT_STD};
    const float *mine[2] = {ds.mean, ds.std};
    size_t counts[2] = {ds.mean_count, ds.std_count};
    for (int k = 0; k < 2; k++) {
        int32_t idx;
        int present = rn_safetensors_find(st, names[k], &idx) == RN_OK;
        if (!present && counts[k] == 0) continue;
        if (!present || counts[k] == 0)
            return rn__error(ctx, RN_E_BAD_FORMAT, "%s: tensor '%s' is %s for normalisation \"%s\"",
                             src, names[k], present ? "unexpected" : "missing", v);
        int32_t dtype, ndim;
        int64_t dims[8];
        rn_safetensors_info(st, idx, NULL, &dtype, &ndim, dims);
        size_t count = 1;
        for (int32_t d = 0; d < ndim; d++) count *= (size_t)dims[d];
        if (dtype != RN_DTYPE_F32 || count != counts[k])
            return rn__error(ctx, RN_E_BAD_FORMAT,
                             "%s: tensor '%s' must be F32 with %zu values for this dataset", src,
                             names[k], counts[k]);
        if ((r = rn_safetensors_read_f32(st, idx, scratch, count)) != RN_OK) return r;
        for (size_t i = 0; i < count; i++)
            if (rn_memcmp(&scratch[i], &mine[k][i], sizeof(float)) != 0)
                return rn__error(ctx, RN_E_INVALID_ARG,
                                 "%s: '%s' differs from the dataset's at element %zu (%g vs %g): "
                                 "the checkpoint was trained on other data or statistics",
                                 src, names[k], i, (double)scratch[i], (double)mine[k][i]);
    }
    return RN_OK;
}

static rn_status load(rn_trainer *tr, const rn_safetensors *st, const char *src) {
    rn_ctx *ctx = rn__trainer_ctx(tr);
    rn_model *model = rn__trainer_model(tr);
    ckpt_meta m;
    rn_status r = rn__model_check_unpacked(model, "rn_checkpoint_load");
    if (r) return r;
    r = read_meta(st, ctx, src, &m);
    if (r) return r;
    if ((r = check_options(tr, &m, src))) return r;

    const rn_tensor_slot *slots;
    int32_t n = rn__model_slots(model, &slots);
    if (n != rn__trainer_momentum_slots(tr))
        return rn__error(ctx, RN_E_BAD_STATE, "%s: the optimiser does not match the model", src);
    /* where each model tensor and momentum buffer is in the file (-1: absent) */
    int32_t *where = (int32_t *)rn__calloc(ctx, 2 * (size_t)n + 1, sizeof(int32_t));
    if (!where) return rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory", src);
    int32_t *where_buf = where + n;
    size_t total = 0, max_count = 1;
    char name[CKPT_NAME_CAP];
    int32_t nfound = 0;
    for (int32_t i = 0; i < n && r == RN_OK; i++) {
        where[i] = where_buf[i] = -1;
        if (slots[i].count > max_count) max_count = slots[i].count;
        for (int k = 0; k < 2 && r == RN_OK; k++) {
            const char *want = slots[i].name;
            if (k == 1) {
                if (slots[i].kind != RN_TENSOR_PARAM) break;
                if (!buffer_name(slots[i].name, name, sizeof name)) break;
                want = name;
            }
            int32_t idx;
            if (rn_safetensors_find(st, want, &idx) != RN_OK) {
                if (k == 0)
                    r = rn__error(ctx, RN_E_BAD_FORMAT, "%s: tensor '%s' is missing", src, want);
                continue;
            }
            int32_t dtype, ndim;
            int64_t dims[8];
            rn_safetensors_info(st, idx, NULL, &dtype, &ndim, dims);
            if (dtype != RN_DTYPE_F32 || !same_dims(ndim, dims, slots[i].ndim, slots[i].dims)) {
                char a[200], b[200];
                r = rn__error(ctx, RN_E_BAD_FORMAT,
                              "%s: tensor '%s' is %s %s, the model needs F32 %s", src, want,
                              rn__dtype_name(dtype), rn__dims_str(ndim, dims, a, sizeof a),
                              rn__dims_str(slots[i].ndim, slots[i].dims, b, sizeof b));
                continue;
            }
            (k == 0 ? where : where_buf)[i] = idx;
            total += slots[i].count;
            nfound++;
        }
    }
    /* nothing else may be in the file: an unknown tensor means another model */
    int32_t nfile = rn_safetensors_count(st), extra = 0;
    for (int32_t f = 0; f < nfile && r == RN_OK; f++) {
        const char *fname;
        rn_safetensors_info(st, f, &fname, NULL, NULL, NULL);
        extra += rn_strcmp(fname, CKPT_MEAN) == 0 || rn_strcmp(fname, CKPT_STD) == 0;
    }
    if (r == RN_OK && nfile != nfound + extra) {
        for (int32_t f = 0; f < nfile; f++) {
            const char *fname;
            rn_safetensors_info(st, f, &fname, NULL, NULL, NULL);
            int used = rn_strcmp(fname, CKPT_MEAN) == 0 || rn_strcmp(fname, CKPT_STD) == 0;
            for (int32_t i = 0; i < n && !used; i++) used = where[i] == f || where_buf[i] == f;
            if (!used) {
                r = rn__error(ctx, RN_E_BAD_FORMAT,
                              "%s: tensor '%s' is not part of this model or its optimiser", src,
                              fname);
                break;
            }
        }
    }
    /* scratch for every value, and every optimiser buffer the load will fill */
    rn__train_norm norm;
    rn__trainer_norm(tr, &norm);
    size_t norm_count = norm.mean_count > norm.std_count ? norm.mean_count : norm.std_count;
    if (norm_count > max_count) max_count = norm_count;
    float *values = NULL;
    if (r == RN_OK) {
        values = (float *)rn__calloc(ctx, total + max_count, sizeof(float));
        if (!values)
            r = rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory for %zu floats", src,
                          total + max_count);
    }
    if (r == RN_OK) r = check_normalization(tr, st, src, values + total);
    size_t off = 0;
    for (int32_t i = 0; i < n && r == RN_OK; i++) {
        if (where[i] >= 0) {
            r = rn_safetensors_read_f32(st, where[i], values + off, slots[i].count);
            off += slots[i].count;
        }
        if (r == RN_OK && where_buf[i] >= 0) {
            r = rn_safetensors_read_f32(st, where_buf[i], values + off, slots[i].count);
            off += slots[i].count;
            float *reserved;
            if (r == RN_OK) r = rn__trainer_momentum_reserve(tr, i, &reserved);
        }
    }
    if (r) {
        rn__free(ctx, values);
        rn__free(ctx, where);
        return r;
    }

    /* commit: plain copies from here on */
    off = 0;
    for (int32_t i = 0; i < n; i++) {
        rn__nn_slot_write(&slots[i], values + off, slots[i].value);
        off += slots[i].count;
        if (slots[i].kind != RN_TENSOR_PARAM) continue;
        rn__trainer_momentum_set_present(tr, i, where_buf[i] >= 0);
        if (where_buf[i] >= 0) {
            float *buf;
            rn__trainer_momentum_reserve(tr, i, &buf); /* reserved above: cannot fail */
            rn__nn_slot_write(&slots[i], values + off, buf);
            off += slots[i].count;
        }
    }
    rn__model_values_changed(model);
    rn__train_state s;
    rn__trainer_state(tr, &s);
    s.epoch = m.epoch, s.step = m.step, s.cursor = m.cursor, s.seed = m.seed;
    s.warmup_done = (int32_t)m.warmup_done;
    s.errors = m.errors, s.seen = m.seen, s.loss_sum = m.loss_sum;
    rn_memcpy(s.order_rng, m.order_rng, sizeof m.order_rng);
    rn_memcpy(s.aug_rng, m.aug_rng, sizeof m.aug_rng);
    rn__trainer_restore_progress(tr, &s); /* the data order is drawn again at the next step */
    rn__free(ctx, values);
    rn__free(ctx, where);
    rn__clear_error(ctx);
    return RN_OK;
}

rn_status rn_checkpoint_load_mem(rn_trainer *tr, const void *buf, size_t size) {
    if (!tr) return RN_E_INVALID_ARG;
    if (!buf)
        return rn__error(rn__trainer_ctx(tr), RN_E_INVALID_ARG,
                         "rn_checkpoint_load_mem: NULL buffer");
    rn_safetensors *st = NULL;
    rn_status r = rn_safetensors_open_mem(rn__trainer_ctx(tr), buf, size, &st);
    if (r) return r;
    r = load(tr, st, RN_IO_MEMORY_NAME);
    rn_safetensors_close(st);
    return r;
}

rn_status rn_checkpoint_load_file(rn_trainer *tr, const char *path) {
    if (!tr) return RN_E_INVALID_ARG;
    if (!path)
        return rn__error(rn__trainer_ctx(tr), RN_E_INVALID_ARG,
                         "rn_checkpoint_load_file: NULL path");
    rn_safetensors *st = NULL;
    rn_status r = rn_safetensors_open_file(rn__trainer_ctx(tr), path, &st);
    if (r) return r;
    r = load(tr, st, path);
    rn_safetensors_close(st);
    return r;
}

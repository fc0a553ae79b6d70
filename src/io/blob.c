/*
 * Models over a caller's constant bytes (weights in place, for firmware that
 * keeps them in flash) and the writer of such bytes.
 *
 * A blob is a safetensors file that says so in its metadata
 * ("libresnet.blob": "1") and names its architecture the way
 * rn_model_create_preset takes it ("preset", "classes", "in_channels",
 * "width", "shortcut", "flags"). Its tensors are float32 with torchvision's
 * names, in the library's own layout: convolution weights OHWI with shape
 * [out, kh, kw, in] (PyTorch's files hold OIHW), everything else as
 * PyTorch has it. Our writer places every tensor's data at a multiple of
 * its element size from the start of the file, so the data of a blob that
 * starts at a 4-byte aligned address can be read as floats where it lies.
 *
 * Reading parses the header with a reader that copies nothing, checks
 * every tensor against the preset (names, shapes, dtype, alignment),
 * builds the model without storage for its values and points each tensor
 * into the blob; the header's parse is freed before returning, so what
 * stays allocated is the model's description (slots, names, layers).
 */
#include "io-internal.h"
#include "../nn/nn.h"

#define BLOB_KEY "libresnet.blob"
#define BLOB_VERSION "1"

static const char *shortcut_name(int32_t sc) {
    switch (sc) {
    case RN_SHORTCUT_A: return "A";
    case RN_SHORTCUT_B: return "B";
    case RN_SHORTCUT_C: return "C";
    default: return "none";
    }
}

static int32_t shortcut_from_name(const char *s) {
    if (!rn_strcmp(s, "A")) return RN_SHORTCUT_A;
    if (!rn_strcmp(s, "B")) return RN_SHORTCUT_B;
    if (!rn_strcmp(s, "C")) return RN_SHORTCUT_C;
    if (!rn_strcmp(s, "none")) return RN_SHORTCUT_NONE;
    return -2;
}

/* A decimal metadata value in [lo, hi]. */
static rn_status meta_int(rn_ctx *ctx, const rn_safetensors *st, const char *fn, const char *key,
                          int64_t lo, int64_t hi, int64_t *out) {
    const char *v = NULL;
    if (rn_safetensors_metadata(st, key, &v) != RN_OK)
        return rn__error(ctx, RN_E_BAD_FORMAT, "%s: blob metadata '%s' is missing", fn, key);
    int64_t x = 0;
    const char *p = v;
    int ok = *p != '\0';
    for (; *p && ok; p++) {
        ok = *p >= '0' && *p <= '9' && x <= (INT64_MAX - 9) / 10;
        x = x * 10 + (*p - '0');
    }
    if (!ok || x < lo || x > hi)
        return rn__error(ctx, RN_E_BAD_FORMAT,
                         "%s: blob metadata '%s' is \"%.40s\", not an integer in [%lld, %lld]", fn,
                         key, v, (long long)lo, (long long)hi);
    *out = x;
    return RN_OK;
}

static int host_is_little_endian(void) {
    const uint32_t one = 1;
    unsigned char b;
    rn_memcpy(&b, &one, 1);
    return b == 1;
}

/* What an fp32 blob's metadata says (copied out of the parsed header). */
typedef struct blob_arch {
    char preset[32];
    int32_t classes, in_channels, shortcut, width;
    uint32_t flags;
} blob_arch;

static rn_status read_arch(rn_ctx *ctx, const char *fn, const rn_safetensors *st, blob_arch *a) {
    const char *name = NULL, *sc_text = NULL;
    if (rn_safetensors_metadata(st, "preset", &name) != RN_OK)
        return rn__error(ctx, RN_E_BAD_FORMAT, "%s: blob metadata 'preset' is missing", fn);
    if (rn_strlen(name) >= sizeof a->preset)
        return rn__error(ctx, RN_E_BAD_FORMAT,
                         "%s: blob metadata 'preset' \"%.40s...\" names no "
                         "preset",
                         fn, name);
    rn_memcpy(a->preset, name, rn_strlen(name) + 1);
    if (rn_safetensors_metadata(st, "shortcut", &sc_text) != RN_OK)
        return rn__error(ctx, RN_E_BAD_FORMAT, "%s: blob metadata 'shortcut' is missing", fn);
    a->shortcut = shortcut_from_name(sc_text);
    if (a->shortcut < 0)
        return rn__error(ctx, RN_E_BAD_FORMAT,
                         "%s: blob metadata 'shortcut' is \"%.40s\", not A, B, C or none", fn,
                         sc_text);
    int64_t classes, in_channels, width, mflags;
    rn_status s = meta_int(ctx, st, fn, "classes", 1, 1000000, &classes);
    if (!s) s = meta_int(ctx, st, fn, "in_channels", 1, 65536, &in_channels);
    if (!s) s = meta_int(ctx, st, fn, "width", 1, 65536, &width);
    if (!s) s = meta_int(ctx, st, fn, "flags", 0, INT32_MAX, &mflags);
    if (s) return s;
    a->classes = (int32_t)classes, a->in_channels = (int32_t)in_channels;
    a->width = (int32_t)width, a->flags = (uint32_t)mflags;
    return RN_OK;
}

/* Every tensor of model m checked against the blob (name, shape, F32,
 * alignment; nothing missing or extra), its address put in values[i]. */
static rn_status find_values(rn_ctx *ctx, const char *fn, const unsigned char *base,
                             const rn_safetensors *st, const rn_model *m, const char *preset,
                             const float **values) {
    int32_t n = rn_model_tensor_count(m);
    for (int32_t i = 0; i < n; i++) {
        const char *tname;
        int32_t ndim, idx, dtype, fndim;
        int64_t dims[4], fdims[8];
        rn_model_tensor_info(m, i, &tname, &ndim, dims, NULL);
        if (ndim == 4) { /* the library's OHWI */
            int64_t in = dims[1];
            dims[1] = dims[2], dims[2] = dims[3], dims[3] = in;
        }
        if (rn_safetensors_find(st, tname, &idx) != RN_OK) {
            char b[200];
            return rn__error(ctx, RN_E_BAD_FORMAT,
                             "%s: tensor '%s': missing (%s expects shape "
                             "%s%s)",
                             fn, tname, preset, rn__dims_str(ndim, dims, b, sizeof b),
                             ndim == 4 ? ", OHWI" : "");
        }
        rn_safetensors_info(st, idx, NULL, &dtype, &fndim, fdims);
        if (!rn__same_dims(fndim, fdims, ndim, dims)) {
            char a[200], b[200];
            return rn__error(ctx, RN_E_BAD_FORMAT,
                             "%s: tensor '%s': shape %s in the blob, %s "
                             "expects %s%s",
                             fn, tname, rn__dims_str(fndim, fdims, a, sizeof a), preset,
                             rn__dims_str(ndim, dims, b, sizeof b), ndim == 4 ? " (OHWI)" : "");
        }
        if (dtype != RN_DTYPE_F32)
            return rn__error(ctx, RN_E_BAD_FORMAT,
                             "%s: tensor '%s': dtype %s; weights read in "
                             "place must be F32",
                             fn, tname, rn__dtype_name(dtype));
        const unsigned char *p = rn__safetensors_data(st, idx);
        if ((uintptr_t)p % sizeof(float) != 0)
            return rn__error(ctx, RN_E_BAD_FORMAT,
                             "%s: tensor '%s': its data at byte %zu of the "
                             "blob (address %% 4 = %u) is not 4-byte aligned: floats are read in "
                             "place, so the blob must start at a 4-byte aligned address and place "
                             "each tensor at a multiple of 4 (rn_model_save_blob_* does)",
                             fn, tname, (size_t)(p - base), (unsigned)((uintptr_t)p % 4u));
        values[i] = (const float *)(const void *)p;
    }
    /* anything else in the blob is a mistake (another architecture?) */
    for (int32_t f = 0; f < rn_safetensors_count(st); f++) {
        const char *fname;
        int32_t idx;
        rn_safetensors_info(st, f, &fname, NULL, NULL, NULL);
        if (rn_model_tensor_find(m, fname, &idx) != RN_OK || rn_strncmp(fname, "module.", 7) == 0)
            return rn__error(ctx, RN_E_BAD_FORMAT,
                             "%s: tensor '%s': unexpected tensor (%s has "
                             "no tensor of that name)",
                             fn, fname, preset);
    }
    return RN_OK;
}

/* The fp32 blob, in two passes so that a context in a caller's buffer (a
 * bump arena) keeps only the model: the metadata is copied out of the first
 * parse (st, taken over here), which is then freed and its arena space
 * given back (to `mark`); the model is created; the header is parsed again
 * after it, every tensor checked and pointed at, and that parse and the
 * pointer table are given back too. */
static rn_status fp32_from_blob(rn_ctx *ctx, const char *fn, const void *data, size_t size,
                                rn_safetensors *st, rn__arena_mark mark, uint32_t flags,
                                rn_model **out) {
    blob_arch a;
    rn_status s = read_arch(ctx, fn, st, &a);
    rn_safetensors_close(st);
    rn__arena_restore(ctx, mark);
    if (s) return s;
    rn_model *m = NULL;
    s = rn__model_create_preset_in_place(ctx, a.preset, a.classes, a.in_channels, a.shortcut,
                                         a.width, a.flags, (flags & RN_BLOB_NO_DERIVED) != 0, &m);
    if (s) return s;
    rn__arena_mark after_model = rn__arena_save(ctx);
    int32_t n = rn_model_tensor_count(m);
    const float **values = (const float **)rn__calloc(ctx, (size_t)n + 1, sizeof(float *));
    st = NULL;
    if (!values) s = rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory", fn);
    if (!s) s = rn__safetensors_open_view(ctx, fn, data, size, &st);
    if (!s) s = find_values(ctx, fn, (const unsigned char *)data, st, m, a.preset, values);
    if (!s) rn__model_bind_values(m, values);
    rn_safetensors_close(st);
    rn__free(ctx, values);
    rn__arena_restore(ctx, after_model);
    if (s) {
        rn_model_destroy(m);
        return s;
    }
    *out = m;
    return RN_OK;
}

rn_status rn_model_create_from_blob(rn_ctx *ctx, const void *data, size_t size, uint32_t flags,
                                    rn_model **out) {
    static const char fn[] = "rn_model_create_from_blob";
    if (!ctx) return RN_E_INVALID_ARG;
    if (!data || !out)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: %s is NULL", fn, !data ? "data" : "out");
    if (flags & ~(uint32_t)RN_BLOB_NO_DERIVED)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: unknown flags 0x%x (RN_BLOB_* only)", fn,
                         (unsigned)(flags & ~(uint32_t)RN_BLOB_NO_DERIVED));
    if ((uintptr_t)data % sizeof(float) != 0)
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: data at address %% 4 = %u is not 4-byte aligned: weights are read "
                         "in place as floats, so the blob must start at a 4-byte aligned address",
                         fn, (unsigned)((uintptr_t)data % 4u));
    if (!host_is_little_endian())
        return rn__error(ctx, RN_E_UNSUPPORTED,
                         "%s: blobs hold little-endian values, which this "
                         "big-endian host cannot read in place",
                         fn);
    rn__arena_mark mark = rn__arena_save(ctx);
    rn_safetensors *st = NULL;
    rn_status s = rn__safetensors_open_view(ctx, fn, data, size, &st);
    if (s) return s;
    /* One dispatch on the metadata: what kind of file decides how it is
     * read. Each branch closes st. */
    const char *version = NULL, *format = NULL;
    rn_model *m = NULL;
    if (rn_safetensors_metadata(st, "format", &format) == RN_OK &&
        rn_strcmp(format, "libresnet-int8") == 0) {
        /* an int8 model file: its int8 weights read in place (int8-model.c);
         * plans of it never pack a copy, so RN_BLOB_NO_DERIVED holds anyway */
        rn_safetensors_close(st);
        rn__arena_restore(ctx, mark);
        s = rn__int8_read(ctx, fn, data, size, 1, &m);
    } else if (rn_safetensors_metadata(st, BLOB_KEY, &version) == RN_OK &&
               rn_strcmp(version, BLOB_VERSION) == 0) {
        s = fp32_from_blob(ctx, fn, data, size, st, mark, flags, &m);
    } else {
        if (version)
            s = rn__error(ctx, RN_E_UNSUPPORTED,
                          "%s: blob version \"%.20s\" (this library reads "
                          "version " BLOB_VERSION ")",
                          fn, version);
        else
            s = rn__error(ctx, RN_E_BAD_FORMAT,
                          "%s: not a libresnet blob: no '" BLOB_KEY "' metadata (convolution "
                          "weights must be stored OHWI; write the blob with "
                          "rn_model_save_blob_mem or `resnet export --c-array`)",
                          fn);
        rn_safetensors_close(st);
    }
    if (s) {
        rn__arena_restore(ctx, mark);
        return s;
    }
    *out = m;
    rn__clear_error(ctx);
    return RN_OK;
}

/* ---- writer ------------------------------------------------------------------- */

static rn_status blob_writer(const rn_model *model, const char *fn, int sizes_only,
                             rn_safetensors_writer **out) {
    (void)sizes_only; /* a blob is measured by writing it whole */
    rn_ctx *ctx = rn__model_ctx(model);
    if (rn__model_is_int8(model))
        return rn__error(ctx, RN_E_UNSUPPORTED,
                         "%s: the model is int8: its file "
                         "(rn_model_save_safetensors_*) is already a blob that "
                         "rn_model_create_from_blob reads in place",
                         fn);
    const char *preset;
    int32_t classes, in_channels, shortcut, width;
    uint32_t mflags;
    if (!rn__model_preset(model, &preset, &classes, &in_channels, &shortcut, &width, &mflags))
        return rn__error(ctx, RN_E_UNSUPPORTED,
                         "%s: a blob names its architecture by preset, and "
                         "this model was spelled out with the builder",
                         fn);
    rn_safetensors_writer *w = NULL;
    rn_status s = rn_safetensors_writer_create(ctx, &w);
    char num[24];
    if (!s) s = rn_safetensors_writer_set_metadata(w, "format", "pt");
    if (!s) s = rn_safetensors_writer_set_metadata(w, BLOB_KEY, BLOB_VERSION);
    if (!s) s = rn_safetensors_writer_set_metadata(w, "preset", preset);
    if (!s)
        rn__fmt_u64((uint64_t)classes, num),
            s = rn_safetensors_writer_set_metadata(w, "classes", num);
    if (!s)
        rn__fmt_u64((uint64_t)in_channels, num),
            s = rn_safetensors_writer_set_metadata(w, "in_channels", num);
    if (!s)
        rn__fmt_u64((uint64_t)width, num), s = rn_safetensors_writer_set_metadata(w, "width", num);
    if (!s) s = rn_safetensors_writer_set_metadata(w, "shortcut", shortcut_name(shortcut));
    if (!s)
        rn__fmt_u64((uint64_t)mflags, num), s = rn_safetensors_writer_set_metadata(w, "flags", num);
    const rn_tensor_slot *slots;
    int32_t n = rn__model_slots(model, &slots);
    for (int32_t i = 0; s == RN_OK && i < n; i++) {
        const rn_tensor_slot *t = &slots[i];
        int64_t dims[4] = {t->dims[0], t->dims[1], t->dims[2], t->dims[3]};
        if (t->ndim == 4) dims[1] = t->dims[2], dims[2] = t->dims[3], dims[3] = t->dims[1];
        s = rn_safetensors_writer_add(w, t->name, RN_DTYPE_F32, t->ndim, dims, t->value);
    }
    if (s) {
        rn_safetensors_writer_destroy(w);
        return s;
    }
    *out = w;
    return RN_OK;
}

rn_status rn_model_save_blob_mem(const rn_model *model, void *buf, size_t cap, size_t *written) {
    return rn__model_save(model, "rn_model_save_blob_mem", blob_writer, 0, NULL, buf, cap, written);
}

rn_status rn_model_save_blob_file(const rn_model *model, const char *path) {
    return rn__model_save(model, "rn_model_save_blob_file", blob_writer, 1, path, NULL, 0, NULL);
}

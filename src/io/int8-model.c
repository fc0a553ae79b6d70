/*
 * int8 model files (docs/int8.md, "The file"): safetensors whose metadata
 * names the format and the architecture and whose tensors are, per
 * convolution NAME (torchvision's module names: "conv1", "layer1.0.conv2",
 * "layer2.0.downsample.0"):
 *   NAME.weight        I8  [out, k, k, in]  (OHWI, as the kernels read it)
 *   NAME.bias          I32 [out]
 *   NAME.weight_scale  F32 [out]
 *   NAME.output_scale  F32 [1]
 * plus "input_scale" F32 [1], "fc.weight" F32 [classes, features] and
 * "fc.bias" F32 [classes]. The reader checks every tensor against the
 * architecture before it builds anything, and refuses with a sentence that
 * names the tensor: a missing or unexpected tensor, a wrong dtype or shape,
 * a scale that is zero, negative, NaN or Inf, a weight of -128, a bias the
 * int32 accumulator could overflow with, a non-finite fc value. The weights
 * can stay in the caller's bytes (in_place), read where they are.
 */
#include "io-internal.h"
#include "../nn/nn.h"

#define INT8_FORMAT "libresnet-int8"
#define INT8_VERSION "1"

/* ---- writing ----------------------------------------------------------------------- */
static rn_status add_f32(rn_safetensors_writer *w, const char *name, int32_t ndim,
                         const int64_t *dims, const float *v) {
    return rn_safetensors_writer_add(w, name, RN_DTYPE_F32, ndim, dims, v);
}

static rn_status int8_writer(const rn_model *m, rn_safetensors_writer **out) {
    rn_ctx *ctx = rn__model_ctx(m);
    rn_safetensors_writer *w = NULL;
    char arch[2048], name[80];
    rn_status s = rn_safetensors_writer_create(ctx, &w);
    if (s) return s;
    rn__model_arch_string(m, arch, sizeof arch);
    if (!s) s = rn_safetensors_writer_set_metadata(w, "format", INT8_FORMAT);
    if (!s) s = rn_safetensors_writer_set_metadata(w, "version", INT8_VERSION);
    if (!s) s = rn_safetensors_writer_set_metadata(w, "arch", arch);
    if (!s) s = rn_safetensors_writer_set_metadata(w, "weight_layout", "OHWI");
    if (!s)
        s = rn_safetensors_writer_set_metadata(
            w, "scheme", "int8 symmetric: weights per output channel, activations per tensor");
    if (!s && rn__model_int8_note(m)[0])
        s = rn_safetensors_writer_set_metadata(w, "calibration", rn__model_int8_note(m));
    float in_scale = rn__model_input_scale(m);
    int64_t one = 1;
    if (!s) s = add_f32(w, "input_scale", 1, &one, &in_scale);
    int32_t n = rn__model_conv_count(m);
    /* the 4-byte tensors first, the int8 weights after them */
    for (int32_t i = 0; s == RN_OK && i < n; i++) {
        rn_conv_view v;
        rn__model_conv_view(m, i, &v);
        int64_t oc = v.out;
        rn__concat(name, sizeof name, v.name, ".bias");
        s = rn_safetensors_writer_add(w, name, RN_DTYPE_I32, 1, &oc, v.bias);
        rn__concat(name, sizeof name, v.name, ".weight_scale");
        if (!s) s = add_f32(w, name, 1, &oc, v.w_scale);
        rn__concat(name, sizeof name, v.name, ".output_scale");
        if (!s) s = add_f32(w, name, 1, &one, &v.out_scale);
    }
    int32_t classes = 0, fi = -1;
    const char *fname;
    int32_t ndim;
    int64_t dims[4];
    rn_model_classes(m, &classes);
    if (!s) s = rn_model_tensor_find(m, "fc.weight", &fi);
    if (!s) s = rn_model_tensor_info(m, fi, &fname, &ndim, dims, NULL);
    size_t fc = (size_t)dims[0] * (size_t)dims[1];
    float *f = s ? NULL : (float *)rn__alloc(ctx, (fc + (size_t)classes) * sizeof(float));
    if (!s && !f) s = rn__error(ctx, RN_E_NO_MEMORY, "rn_model_save_safetensors: out of memory");
    if (!s) s = rn_model_get_tensor(m, "fc.weight", f, fc);
    if (!s) s = rn_model_get_tensor(m, "fc.bias", f + fc, (size_t)classes);
    if (!s) s = add_f32(w, "fc.weight", 2, dims, f);
    int64_t cdim = classes;
    if (!s) s = add_f32(w, "fc.bias", 1, &cdim, f + fc);
    rn__free(ctx, f);
    for (int32_t i = 0; s == RN_OK && i < n; i++) {
        rn_conv_view v;
        rn__model_conv_view(m, i, &v);
        int64_t wd[4] = {v.out, v.k, v.k, v.in};
        rn__concat(name, sizeof name, v.name, ".weight");
        s = rn_safetensors_writer_add(w, name, RN_DTYPE_I8, 4, wd, v.w);
    }
    if (s) {
        rn_safetensors_writer_destroy(w);
        return s;
    }
    *out = w;
    return RN_OK;
}

rn_status rn__int8_save_mem(const rn_model *m, void *buf, size_t cap, size_t *written) {
    rn_safetensors_writer *w = NULL;
    rn_status s = int8_writer(m, &w);
    if (s) return s;
    s = rn_safetensors_writer_save_mem(w, buf, cap, written);
    rn_safetensors_writer_destroy(w);
    return s;
}

rn_status rn__int8_save_file(const rn_model *m, const char *path) {
    rn_safetensors_writer *w = NULL;
    rn_status s = int8_writer(m, &w);
    if (s) return s;
    s = rn_safetensors_writer_save_file(w, path);
    rn_safetensors_writer_destroy(w);
    return s;
}

/* ---- reading ------------------------------------------------------------------------ */
typedef struct want {
    const char *src;
    rn_ctx *ctx;
    const rn_safetensors *st;
    unsigned char *seen; /* per file tensor: claimed by the model */
} want;

/* The tensor `name` with dtype and dims, or a sentence. */
static rn_status expect(want *k, const char *name, int32_t dtype, int32_t ndim, const int64_t *dims,
                        int32_t *index) {
    int32_t i, fd, fn;
    int64_t d[8];
    if (rn_safetensors_find(k->st, name, &i) != RN_OK)
        return rn__error(k->ctx, RN_E_BAD_FORMAT, "%s: int8 model: tensor '%s' is missing", k->src,
                         name);
    rn_safetensors_info(k->st, i, NULL, &fd, &fn, d);
    if (fd != dtype)
        return rn__error(k->ctx, RN_E_BAD_FORMAT, "%s: int8 model: tensor '%s' is %s, expected %s",
                         k->src, name, rn__dtype_name(fd), rn__dtype_name(dtype));
    int same = fn == ndim;
    for (int32_t j = 0; same && j < ndim; j++) same = d[j] == dims[j];
    if (!same) {
        char a[120], b[120];
        return rn__error(k->ctx, RN_E_BAD_FORMAT,
                         "%s: int8 model: tensor '%s' has shape %s, the "
                         "architecture needs %s",
                         k->src, name, rn__dims_str(fn, d, a, sizeof a),
                         rn__dims_str(ndim, dims, b, sizeof b));
    }
    k->seen[i] = 1;
    *index = i;
    return RN_OK;
}

static float le_f32(const unsigned char *p, size_t i) {
    return rn__f32_from_bits(rn__le32(p + 4 * i));
}

/* count scales at tensor i into dst: finite and > 0 */
static rn_status read_scales(want *k, const char *name, int32_t i, size_t count, float *dst) {
    const unsigned char *p = rn__safetensors_data(k->st, i);
    for (size_t j = 0; j < count; j++) {
        float v = le_f32(p, j);
        if (!(v > 0.0f) || !(v <= 3.4028234663852886e38f))
            return rn__error(k->ctx, RN_E_BAD_FORMAT,
                             "%s: int8 model: tensor '%s' element %zu "
                             "is %g: scales must be finite and > 0",
                             k->src, name, j, (double)v);
        dst[j] = v;
    }
    return RN_OK;
}

/* The metadata every pass checks: format, version, weight layout; the
 * architecture's line into *arch. */
static rn_status read_meta(rn_ctx *ctx, const char *src, const rn_safetensors *st,
                           const char **arch) {
    const char *fmt = NULL, *ver = NULL, *layout = NULL;
    if (rn_safetensors_metadata(st, "format", &fmt) != RN_OK || rn_strcmp(fmt, INT8_FORMAT))
        return rn__error(ctx, RN_E_BAD_FORMAT,
                         "%s: not an int8 model file (its metadata \"format\" "
                         "is not \"" INT8_FORMAT "\")",
                         src);
    if (rn_safetensors_metadata(st, "version", &ver) != RN_OK || rn_strcmp(ver, INT8_VERSION))
        return rn__error(ctx, RN_E_VERSION,
                         "%s: int8 model: metadata \"version\" is %s%s%s, this "
                         "library reads \"" INT8_VERSION "\"",
                         src, ver ? "\"" : "", ver ? ver : "missing", ver ? "\"" : "");
    if (rn_safetensors_metadata(st, "arch", arch) != RN_OK)
        return rn__error(ctx, RN_E_BAD_FORMAT, "%s: int8 model: no metadata \"arch\"", src);
    if (rn_safetensors_metadata(st, "weight_layout", &layout) == RN_OK && rn_strcmp(layout, "OHWI"))
        return rn__error(ctx, RN_E_UNSUPPORTED,
                         "%s: int8 model: weight_layout \"%s\" (this library "
                         "reads OHWI)",
                         src, layout);
    return RN_OK;
}

/* The model described by the metadata, with its int8 arrays reserved, and
 * nothing else left allocated but a copy of the architecture's line under
 * it. A context in a caller's buffer (a bump arena: frees give memory back
 * only in reverse order) would otherwise keep the parsed header (names,
 * tensor table, strings) under the model for its whole life, so the header
 * is parsed once to size the line and once more to copy it. */
static rn_status model_from_meta(rn_ctx *ctx, const char *src, const void *buf, size_t size,
                                 int32_t in_place, rn_model **out, struct nn_qnet **reserved) {
    rn__arena_mark mark = rn__arena_save(ctx);
    rn_safetensors *st = NULL;
    const char *arch = NULL;
    size_t len = 0;
    rn_status s = rn__safetensors_open_view(ctx, src, buf, size, &st);
    if (s) return s;
    s = read_meta(ctx, src, st, &arch);
    if (!s) len = rn_strlen(arch);
    rn_safetensors_close(st);
    rn__arena_restore(ctx, mark);
    if (s) return s;
    char *line = (char *)rn__alloc(ctx, len + 1);
    if (!line) return rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory", src);
    rn__arena_mark after_line = rn__arena_save(ctx);
    st = NULL;
    s = rn__safetensors_open_view(ctx, src, buf, size, &st);
    if (!s) s = read_meta(ctx, src, st, &arch);
    if (!s) {
        size_t n = rn_strlen(arch);
        n = n < len ? n : len;
        rn_memcpy(line, arch, n);
        line[n] = '\0';
    }
    rn_safetensors_close(st);
    rn__arena_restore(ctx, after_line);
    rn_model *m = NULL;
    if (!s) s = rn__model_from_arch_string(ctx, line, src, size, 1, &m);
    rn__free(ctx, line); /* in an arena: left where it is, under the model */
    if (!s) s = rn__model_reserve_int8(m, in_place, reserved, src);
    if (s) {
        rn_model_destroy(m);
        rn__arena_restore(ctx, mark);
        return s;
    }
    *out = m;
    return RN_OK;
}

rn_status rn__int8_read(rn_ctx *ctx, const char *src, const void *buf, size_t size,
                        int32_t in_place, rn_model **out) {
    rn__arena_mark mark = rn__arena_save(ctx);
    rn_safetensors *st = NULL;
    rn_model *m = NULL;
    struct nn_qnet *reserved = NULL;
    rn_conv_view *views = NULL;
    void *tmp = NULL;
    float *fc = NULL;
    size_t fw = 0;
    unsigned char *seen = NULL;
    const char *note = NULL;
    rn_status s = model_from_meta(ctx, src, buf, size, in_place, &m, &reserved);
    if (s) return s;
    /* the last parse, checked tensor by tensor and copied into the reserved
     * arrays; it and every temporary are given back at the end */
    rn__arena_mark after_model = rn__arena_save(ctx);
    if ((s = rn__safetensors_open_view(ctx, src, buf, size, &st))) goto done;
    int32_t n = rn__model_conv_count(m), nt = rn_safetensors_count(st);
    size_t chans = 0;
    for (int32_t i = 0; i < n; i++) {
        rn_conv_view v;
        rn__model_conv_view(m, i, &v);
        chans += (size_t)v.out;
    }
    views = (rn_conv_view *)rn__calloc(ctx, (size_t)n, sizeof *views);
    tmp = rn__alloc(ctx, (chans ? chans : 1) * 8);
    seen = (unsigned char *)rn__calloc(ctx, (size_t)nt + 1, 1);
    if (!views || !tmp || !seen) {
        s = rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory", src);
        goto done;
    }
    want k = {src, ctx, st, seen};
    int32_t idx;
    int64_t one = 1;
    float in_scale = 0;
    if ((s = expect(&k, "input_scale", RN_DTYPE_F32, 1, &one, &idx)) ||
        (s = read_scales(&k, "input_scale", idx, 1, &in_scale)))
        goto done;
    int32_t *bias = (int32_t *)tmp;
    float *wsc = (float *)(bias + chans);
    for (int32_t i = 0; i < n; i++) {
        rn_conv_view *v = &views[i];
        rn__model_conv_view(m, i, v);
        char name[80];
        int64_t oc = v->out, wd[4] = {v->out, v->k, v->k, v->in};
        size_t per = (size_t)v->k * (size_t)v->k * (size_t)v->in;
        rn__concat(name, sizeof name, v->name, ".weight");
        if ((s = expect(&k, name, RN_DTYPE_I8, 4, wd, &idx))) goto done;
        const int8_t *w = (const int8_t *)rn__safetensors_data(st, idx);
        for (size_t j = 0; j < (size_t)v->out * per; j++)
            if (w[j] == -128) {
                s = rn__error(ctx, RN_E_BAD_FORMAT,
                              "%s: int8 model: tensor '%s' element %zu is "
                              "-128: int8 weights are in [-127, 127]",
                              src, name, j);
                goto done;
            }
        v->w = w;
        rn__concat(name, sizeof name, v->name, ".bias");
        if ((s = expect(&k, name, RN_DTYPE_I32, 1, &oc, &idx))) goto done;
        const unsigned char *bp = rn__safetensors_data(st, idx);
        int64_t lim = rn__model_conv_bias_limit(m, i);
        for (int32_t j = 0; j < v->out; j++) {
            int32_t b = (int32_t)rn__le32(bp + 4 * (size_t)j);
            if ((int64_t)b > lim || (int64_t)b < -lim) {
                s = rn__error(ctx, RN_E_BAD_FORMAT,
                              "%s: int8 model: tensor '%s' element %d is "
                              "%ld: beyond +-%lld the int32 accumulator could overflow",
                              src, name, (int)j, (long)b, (long long)lim);
                goto done;
            }
            bias[j] = b;
        }
        v->bias = bias;
        rn__concat(name, sizeof name, v->name, ".weight_scale");
        if ((s = expect(&k, name, RN_DTYPE_F32, 1, &oc, &idx)) ||
            (s = read_scales(&k, name, idx, (size_t)v->out, wsc)))
            goto done;
        v->w_scale = wsc;
        rn__concat(name, sizeof name, v->name, ".output_scale");
        if ((s = expect(&k, name, RN_DTYPE_F32, 1, &one, &idx)) ||
            (s = read_scales(&k, name, idx, 1, &v->out_scale)))
            goto done;
        bias += v->out, wsc += v->out;
    }
    /* the fc layer, float */
    int32_t classes = 0, fi;
    const char *fname;
    int32_t fnd;
    int64_t fdims[4];
    rn_model_classes(m, &classes);
    rn_model_tensor_find(m, "fc.weight", &fi);
    rn_model_tensor_info(m, fi, &fname, &fnd, fdims, NULL);
    fw = (size_t)fdims[0] * (size_t)fdims[1];
    fc = (float *)rn__alloc(ctx, (fw + (size_t)classes) * sizeof(float));
    if (!fc) {
        s = rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory", src);
        goto done;
    }
    for (int t = 0; t < 2; t++) {
        const char *name = t ? "fc.bias" : "fc.weight";
        int64_t cd = classes;
        if ((s = expect(&k, name, RN_DTYPE_F32, t ? 1 : 2, t ? &cd : fdims, &idx))) goto done;
        size_t cnt = t ? (size_t)classes : fw;
        float *f = t ? fc + fw : fc;
        const unsigned char *p = rn__safetensors_data(st, idx);
        for (size_t j = 0; j < cnt; j++) {
            f[j] = le_f32(p, j);
            if (!(f[j] - f[j] == 0.0f)) {
                s = rn__error(ctx, RN_E_BAD_FORMAT,
                              "%s: int8 model: tensor '%s' element %zu is "
                              "not finite",
                              src, name, j);
                goto done;
            }
        }
    }
    for (int32_t i = 0; i < nt; i++)
        if (!seen[i]) {
            const char *name = NULL;
            rn_safetensors_info(st, i, &name, NULL, NULL, NULL);
            s = rn__error(ctx, RN_E_BAD_FORMAT,
                          "%s: int8 model: unexpected tensor '%s' (not "
                          "part of the architecture in its metadata)",
                          src, name);
            goto done;
        }
    if ((s = rn__model_make_int8(m, in_scale, views, in_place, fc, fc + fw, reserved,
                                 "rn_model_load_int8")))
        goto done;
    reserved = NULL; /* the model's now */
    if (rn_safetensors_metadata(st, "calibration", &note) == RN_OK)
        rn__model_set_int8_note(m, note);
    *out = m;
    m = NULL;
done:
    rn__free(ctx, fc);
    rn__free(ctx, seen);
    rn__free(ctx, tmp);
    rn__free(ctx, views);
    rn_safetensors_close(st);
    rn__arena_restore(ctx, after_model);
    if (m) { /* failed: nothing is kept */
        if (reserved) rn__model_unreserve_int8(m, reserved);
        rn_model_destroy(m);
        rn__arena_restore(ctx, mark);
    }
    return s;
}

rn_status rn_model_load_int8_mem(rn_ctx *ctx, const void *buf, size_t size, int32_t in_place,
                                 rn_model **out) {
    if (!ctx) return RN_E_INVALID_ARG;
    if (!buf || !out)
        return rn__error(ctx, RN_E_INVALID_ARG, "rn_model_load_int8_mem: %s is NULL",
                         !buf ? "buf" : "out");
    if (in_place != 0 && in_place != 1)
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "rn_model_load_int8_mem: in_place must be 0 or 1, "
                         "got %d",
                         (int)in_place);
    rn_status s = rn__int8_read(ctx, RN_IO_MEMORY_NAME, buf, size, in_place, out);
    if (s == RN_OK) rn__clear_error(ctx);
    return s;
}

#ifndef RN_NO_IO
rn_status rn_model_load_int8_file(rn_ctx *ctx, const char *path, rn_model **out) {
    if (!ctx) return RN_E_INVALID_ARG;
    if (!path || !out)
        return rn__error(ctx, RN_E_INVALID_ARG, "rn_model_load_int8_file: %s is NULL",
                         !path ? "path" : "out");
    void *data;
    size_t size;
    rn_status s = rn__read_file(ctx, path, (size_t)1 << 31, &data, &size);
    if (s) return s;
    s = rn__int8_read(ctx, path, data, size, 0, out);
    rn__free(ctx, data);
    if (s == RN_OK) rn__clear_error(ctx);
    return s;
}
#else
rn_status rn_model_load_int8_file(rn_ctx *ctx, const char *path, rn_model **out) {
    (void)path, (void)out;
    if (!ctx) return RN_E_INVALID_ARG;
    return rn__error(ctx, RN_E_UNSUPPORTED, "rn_model_load_int8_file: built without file I/O");
}
#endif

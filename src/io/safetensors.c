/*
 * safetensors files: the reader (rn_safetensors) and the writer
 * (rn_safetensors_writer).
 *
 * Layout (the format's specification, huggingface/safetensors README): an
 * unsigned little-endian 64-bit header length N, N bytes of UTF-8 JSON
 * {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]},
 *  ..., "__metadata__": {"key": "value"}} padded with spaces, then the data
 * buffer; offsets are relative to its start. The reader caps N at 100 MB as
 * the reference implementation does, refuses duplicate names and every
 * offset, shape or dtype that does not agree with the data, and keeps the
 * header's tensor order. It accepts overlapping or gappy offsets as long as
 * each tensor lies inside the data (the reference writer never makes them,
 * and they are harmless to a reader that bounds-checks each tensor). The
 * writer stores tensors back to back in the order added, as the reference
 * loader requires (no holes, the last tensor ends the file).
 */
#include "json.h"

#define ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000)
#define ST_MAX_DIMS 8
#define ST_METADATA_KEY "__metadata__"
/* Files are read whole: 16 GiB covers ResNet-152 many times over. */
#define ST_MAX_FILE ((size_t)1 << (sizeof(size_t) > 4 ? 34 : 31))

typedef struct st_tensor {
    const char *name;
    int32_t dtype, ndim;
    int64_t dims[ST_MAX_DIMS];
    size_t count, begin, end; /* elements; byte range in the data buffer */
} st_tensor;

typedef struct st_meta {
    const char *key, *value;
} st_meta;

struct rn_safetensors {
    rn_ctx *ctx;
    unsigned char *owned; /* the whole file (open_file) or a copy of the data */
    const unsigned char *data;
    size_t data_size;
    char *strings; /* decoded names, keys and values */
    st_tensor *tensors;
    int32_t count;
    st_meta *meta;
    size_t meta_count;
    uint32_t *index; /* hash of tensor names -> index + 1 (0: empty slot) */
    size_t index_mask;
};

/* ---- dtype names --------------------------------------------------------- */
static const struct {
    const char *name;
    int32_t dtype;
} st_dtypes[] = {{"F32", RN_DTYPE_F32}, {"F16", RN_DTYPE_F16}, {"BF16", RN_DTYPE_BF16},
                 {"I64", RN_DTYPE_I64}, {"I32", RN_DTYPE_I32}, {"U8", RN_DTYPE_U8},
                 {"I8", RN_DTYPE_I8},   {"I16", RN_DTYPE_I16}, {"F64", RN_DTYPE_F64}};
#define ST_NUM_DTYPES (sizeof st_dtypes / sizeof st_dtypes[0])

static int32_t st_dtype_from_name(const char *s) {
    for (size_t i = 0; i < ST_NUM_DTYPES; i++)
        if (!rn_strcmp(s, st_dtypes[i].name)) return st_dtypes[i].dtype;
    return -1;
}

static const char *st_dtype_name(int32_t dtype) {
    for (size_t i = 0; i < ST_NUM_DTYPES; i++)
        if (st_dtypes[i].dtype == dtype) return st_dtypes[i].name;
    return NULL;
}

/* ---- name hashing (duplicate detection and find) ------------------------- */
static uint32_t hash_name(const char *s) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* Slot mask for n names: a power of two >= 2n. */
static int index_size(size_t n, size_t *slots) {
    size_t s = 16;
    while (s < 2 * n) {
        if (s > SIZE_MAX / 4) return 0;
        s *= 2;
    }
    *slots = s;
    return 1;
}

/* Insert names[i] (stride bytes apart) into table; returns the index of an
 * earlier equal name, or -1. */
static long index_insert(uint32_t *table, size_t mask, const char *const *names_at, size_t stride,
                         size_t i) {
    const char *name = *(const char *const *)((const unsigned char *)names_at + i * stride);
    for (size_t s = hash_name(name) & mask;; s = (s + 1) & mask) {
        if (!table[s]) {
            table[s] = (uint32_t)(i + 1);
            return -1;
        }
        const char *other =
            *(const char *const *)((const unsigned char *)names_at + (table[s] - 1) * stride);
        if (!rn_strcmp(other, name)) return (long)(table[s] - 1);
    }
}

/* ---- header parsing ------------------------------------------------------ */
typedef struct st_parse {
    rn_json j;
    rn_safetensors *st;
    size_t tensor_cap, meta_cap;
    size_t str_used, str_cap;
} st_parse;

static rn_status parse_string(st_parse *p, const char **out) {
    size_t len;
    rn_status s =
        rn__json_string(&p->j, p->st->strings + p->str_used, p->str_cap - p->str_used, &len);
    if (s) return s;
    *out = p->st->strings + p->str_used;
    p->str_used += len + 1;
    return RN_OK;
}

/* Grow an array of elem-byte entries from cap to at least cap + 1. */
static int grow(rn_ctx *ctx, void **arr, size_t *cap, size_t used, size_t elem) {
    size_t ncap = *cap ? *cap * 2 : 64, bytes;
    if (!rn__mul_size(ncap, elem, &bytes)) return 0;
    void *n = rn__alloc(ctx, bytes);
    if (!n) return 0;
    if (used) rn_memcpy(n, *arr, used * elem);
    rn__free(ctx, *arr);
    *arr = n;
    *cap = ncap;
    return 1;
}

static rn_status parse_metadata(st_parse *p) {
    rn_safetensors *st = p->st;
    rn_status s = rn__json_expect(&p->j, '{', "expected '{' to open __metadata__");
    if (s) return s;
    if (rn__json_accept(&p->j, '}')) return RN_OK;
    do {
        if (st->meta_count == p->meta_cap &&
            !grow(st->ctx, (void **)&st->meta, &p->meta_cap, st->meta_count, sizeof(st_meta)))
            return rn__error(st->ctx, RN_E_NO_MEMORY, "%s: out of memory reading the header",
                             p->j.src);
        st_meta *m = &st->meta[st->meta_count];
        if ((s = parse_string(p, &m->key))) return s;
        if ((s = rn__json_expect(&p->j, ':', "expected ':' after a metadata key"))) return s;
        if (rn__json_peek(&p->j) != '"')
            return rn__json_error(&p->j, "__metadata__ values must be strings");
        if ((s = parse_string(p, &m->value))) return s;
        st->meta_count++;
    } while (rn__json_accept(&p->j, ','));
    return rn__json_expect(&p->j, '}', "expected ',' or '}' in __metadata__");
}

/* One tensor entry: {"dtype": ..., "shape": [...], "data_offsets": [b, e]}
 * in any order, each key exactly once. */
static rn_status parse_tensor(st_parse *p, st_tensor *t, size_t *offsets_at) {
    rn_json *j = &p->j;
    int seen_dtype = 0, seen_shape = 0, seen_offsets = 0;
    uint64_t begin = 0, end = 0;
    rn_status s = rn__json_expect(j, '{', "expected '{' to open a tensor entry");
    if (s) return s;
    do {
        char key[64];
        size_t len;
        rn__json_peek(j);
        size_t key_at = j->pos;
        if ((s = rn__json_string(j, key, sizeof key, &len))) return s;
        if ((s = rn__json_expect(j, ':', "expected ':' after a key"))) return s;
        if (!rn_strcmp(key, "dtype")) {
            if (seen_dtype++) {
                j->pos = key_at;
                return rn__json_error(j, "repeated key \"dtype\"");
            }
            char name[64];
            rn__json_peek(j);
            size_t at = j->pos;
            if ((s = rn__json_string(j, name, sizeof name, &len))) return s;
            t->dtype = st_dtype_from_name(name);
            if (t->dtype < 0)
                return rn__error(p->st->ctx, RN_E_UNSUPPORTED,
                                 "%s: tensor '%s': dtype \"%s\" at "
                                 "offset %zu+%zu is not supported (F32, F16, BF16, I64, I32, "
                                 "U8, I8, I16, F64)",
                                 j->src, t->name, name, j->base, at);
        } else if (!rn_strcmp(key, "shape")) {
            if (seen_shape++) {
                j->pos = key_at;
                return rn__json_error(j, "repeated key \"shape\"");
            }
            if ((s = rn__json_expect(j, '[', "expected '[' to open the shape"))) return s;
            t->ndim = 0;
            if (!rn__json_accept(j, ']')) {
                do {
                    if (t->ndim == ST_MAX_DIMS)
                        return rn__error(p->st->ctx, RN_E_UNSUPPORTED,
                                         "%s: tensor '%s': more "
                                         "than %d dims (offset %zu+%zu)",
                                         j->src, t->name, ST_MAX_DIMS, j->base, j->pos);
                    uint64_t d;
                    if ((s = rn__json_uint(j, (uint64_t)INT64_MAX, &d))) return s;
                    t->dims[t->ndim++] = (int64_t)d;
                } while (rn__json_accept(j, ','));
                if ((s = rn__json_expect(j, ']', "expected ',' or ']' in the shape"))) return s;
            }
        } else if (!rn_strcmp(key, "data_offsets")) {
            if (seen_offsets++) {
                j->pos = key_at;
                return rn__json_error(j, "repeated key \"data_offsets\"");
            }
            rn__json_peek(j);
            *offsets_at = j->pos;
            if ((s = rn__json_expect(j, '[', "expected '[' to open data_offsets"))) return s;
            if ((s = rn__json_uint(j, UINT64_MAX, &begin))) return s;
            if ((s = rn__json_expect(j, ',', "data_offsets needs exactly two integers"))) return s;
            if ((s = rn__json_uint(j, UINT64_MAX, &end))) return s;
            if ((s = rn__json_expect(j, ']', "data_offsets needs exactly two integers"))) return s;
        } else {
            j->pos = key_at;
            return rn__json_error(j, "unknown key in a tensor entry");
        }
    } while (rn__json_accept(j, ','));
    if ((s = rn__json_expect(j, '}', "expected ',' or '}' in a tensor entry"))) return s;
    if (!seen_dtype || !seen_shape || !seen_offsets) {
        j->pos--;
        return rn__error(p->st->ctx, RN_E_BAD_FORMAT,
                         "%s: tensor '%s': the entry ending at offset "
                         "%zu+%zu has no \"%s\"",
                         j->src, t->name, j->base, j->pos,
                         !seen_dtype   ? "dtype"
                         : !seen_shape ? "shape"
                                       : "data_offsets");
    }

    /* the entry against the data it names */
    size_t count = 1, bytes;
    for (int32_t i = 0; i < t->ndim; i++)
        if ((uint64_t)t->dims[i] > (uint64_t)SIZE_MAX ||
            !rn__mul_size(count, (size_t)t->dims[i], &count))
            return rn__error(p->st->ctx, RN_E_OVERFLOW,
                             "%s: tensor '%s': the element count of "
                             "the shape overflows at dim %d",
                             j->src, t->name, (int)i);
    if (!rn__mul_size(count, rn__dtype_size(t->dtype), &bytes))
        return rn__error(p->st->ctx, RN_E_OVERFLOW,
                         "%s: tensor '%s': the byte size of the shape "
                         "overflows",
                         j->src, t->name);
    size_t data_size = p->st->data_size;
    if (begin > end || end > data_size)
        return rn__error(p->st->ctx, RN_E_BAD_FORMAT,
                         "%s: tensor '%s': data_offsets [%llu, %llu] "
                         "%s the %zu bytes of data (offset %zu+%zu)",
                         j->src, t->name, (unsigned long long)begin, (unsigned long long)end,
                         begin > end ? "are reversed within" : "exceed", data_size, j->base,
                         *offsets_at);
    if (end - begin != bytes) {
        char dbuf[200];
        return rn__error(p->st->ctx, RN_E_BAD_FORMAT,
                         "%s: tensor '%s': data_offsets [%llu, %llu] "
                         "hold %llu bytes, shape %s of %s needs %zu (offset %zu+%zu)",
                         j->src, t->name, (unsigned long long)begin, (unsigned long long)end,
                         (unsigned long long)(end - begin),
                         rn__dims_str(t->ndim, t->dims, dbuf, sizeof dbuf), st_dtype_name(t->dtype),
                         bytes, j->base, *offsets_at);
    }
    t->count = count;
    t->begin = (size_t)begin;
    t->end = (size_t)end;
    return RN_OK;
}

static rn_status parse_header(st_parse *p) {
    rn_safetensors *st = p->st;
    rn_json *j = &p->j;
    rn_status s = rn__json_expect(j, '{', "expected '{' to open the header");
    if (s) return s;
    int seen_meta = 0;
    if (!rn__json_accept(j, '}')) {
        do {
            const char *name;
            rn__json_peek(j);
            size_t name_at = j->pos;
            if ((s = parse_string(p, &name))) return s;
            if ((s = rn__json_expect(j, ':', "expected ':' after a tensor name"))) return s;
            if (!rn_strcmp(name, ST_METADATA_KEY)) {
                if (seen_meta++) {
                    j->pos = name_at;
                    return rn__json_error(j, "repeated \"__metadata__\"");
                }
                if ((s = parse_metadata(p))) return s;
                continue;
            }
            if (!name[0]) {
                j->pos = name_at;
                return rn__json_error(j, "empty tensor name");
            }
            if ((size_t)st->count == p->tensor_cap) {
                if (st->count == INT32_MAX) return rn__json_error(j, "too many tensors");
                if (!grow(st->ctx, (void **)&st->tensors, &p->tensor_cap, (size_t)st->count,
                          sizeof(st_tensor)))
                    return rn__error(st->ctx, RN_E_NO_MEMORY,
                                     "%s: out of memory reading the "
                                     "header",
                                     j->src);
            }
            st_tensor *t = &st->tensors[st->count];
            rn_memset(t, 0, sizeof *t);
            t->name = name;
            size_t offsets_at = 0;
            if ((s = parse_tensor(p, t, &offsets_at))) return s;
            st->count++;
        } while (rn__json_accept(j, ','));
        if ((s = rn__json_expect(j, '}', "expected ',' or '}' after a header entry"))) return s;
    }
    if (rn__json_peek(j) != -1) return rn__json_error(j, "expected only padding after the header");

    /* duplicates: tensor names, then metadata keys */
    size_t slots;
    if (!index_size((size_t)st->count, &slots) ||
        !(st->index = (uint32_t *)rn__calloc(st->ctx, slots, sizeof(uint32_t))))
        return rn__error(st->ctx, RN_E_NO_MEMORY, "%s: out of memory indexing the header", j->src);
    st->index_mask = slots - 1;
    for (int32_t i = 0; i < st->count; i++) {
        long prev = index_insert(st->index, st->index_mask, &st->tensors[0].name, sizeof(st_tensor),
                                 (size_t)i);
        if (prev >= 0)
            return rn__error(st->ctx, RN_E_BAD_FORMAT,
                             "%s: tensor '%s' appears twice in the "
                             "header (entries %ld and %d)",
                             j->src, st->tensors[i].name, prev, (int)i);
    }
    if (st->meta_count > 1) {
        if (!index_size(st->meta_count, &slots))
            return rn__error(st->ctx, RN_E_NO_MEMORY, "%s: out of memory", j->src);
        uint32_t *table = (uint32_t *)rn__calloc(st->ctx, slots, sizeof(uint32_t));
        if (!table) return rn__error(st->ctx, RN_E_NO_MEMORY, "%s: out of memory", j->src);
        for (size_t i = 0; i < st->meta_count; i++) {
            if (index_insert(table, slots - 1, &st->meta[0].key, sizeof(st_meta), i) >= 0) {
                rn__free(st->ctx, table);
                return rn__error(st->ctx, RN_E_BAD_FORMAT,
                                 "%s: __metadata__ key '%s' appears "
                                 "twice",
                                 j->src, st->meta[i].key);
            }
        }
        rn__free(st->ctx, table);
    }
    return RN_OK;
}

void rn_safetensors_close(rn_safetensors *st) {
    if (!st) return;
    rn_ctx *ctx = st->ctx;
    rn__free(ctx, st->index);
    rn__free(ctx, st->meta);
    rn__free(ctx, st->tensors);
    rn__free(ctx, st->strings);
    rn__free(ctx, st->owned);
    rn__free(ctx, st);
}

/* Parse buf. With `file` set, buf is that allocation and the handle takes
 * it over (even on failure it is freed here); with `view` the handle reads
 * the data section where it is (the caller keeps buf alive); otherwise the
 * data section is copied. */
static rn_status st_open(rn_ctx *ctx, const char *src, const unsigned char *buf, size_t size,
                         unsigned char *file, int view, rn_safetensors **out) {
    rn_safetensors *st = (rn_safetensors *)rn__calloc(ctx, 1, sizeof *st);
    if (!st) {
        rn__free(ctx, file);
        return rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory", src);
    }
    st->ctx = ctx;
    st->owned = file;
    rn_status s = RN_OK;
    uint64_t n = 0;
    if (size < 8)
        s = rn__error(ctx, RN_E_BAD_FORMAT,
                      "%s: safetensors: truncated: %zu bytes, the header "
                      "length needs 8",
                      src, size);
    else if ((n = rn__le64(buf)) > ST_MAX_HEADER)
        s = rn__error(ctx, RN_E_BAD_FORMAT,
                      "%s: safetensors: header length %llu at offset 0 "
                      "exceeds the 100 MB limit",
                      src, (unsigned long long)n);
    else if (n > size - 8)
        s = rn__error(ctx, RN_E_BAD_FORMAT,
                      "%s: safetensors: header length %llu at offset 0 "
                      "runs past the end of the %zu-byte file",
                      src, (unsigned long long)n, size);
    else if (n < 2)
        s = rn__error(ctx, RN_E_BAD_FORMAT,
                      "%s: safetensors: header length %llu at offset 0 is "
                      "too short for a JSON object",
                      src, (unsigned long long)n);
    if (s == RN_OK) {
        size_t hlen = (size_t)n;
        st->data_size = size - 8 - hlen;
        if (file || view) {
            st->data = buf + 8 + hlen;
        } else {
            st->owned = (unsigned char *)rn__alloc(ctx, st->data_size);
            if (!st->owned)
                s = rn__error(ctx, RN_E_NO_MEMORY, "%s: cannot allocate %zu bytes for the data",
                              src, st->data_size);
            else {
                if (st->data_size) rn_memcpy(st->owned, buf + 8 + hlen, st->data_size);
                st->data = st->owned;
            }
        }
        st_parse p;
        rn_memset(&p, 0, sizeof p);
        p.st = st;
        p.str_cap = hlen + 8; /* decoded strings and their NULs never outgrow the text */
        if (s == RN_OK && !(st->strings = (char *)rn__alloc(ctx, p.str_cap)))
            s = rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory for the header", src);
        if (s == RN_OK) {
            rn__json_init(&p.j, ctx, src, buf + 8, hlen, 8);
            s = parse_header(&p);
        }
    }
    if (s) {
        rn_safetensors_close(st);
        return s;
    }
    *out = st;
    return RN_OK;
}

rn_status rn_safetensors_open_mem(rn_ctx *ctx, const void *buf, size_t size, rn_safetensors **out) {
    if (!ctx) return RN_E_INVALID_ARG;
    if (!buf || !out)
        return rn__error(ctx, RN_E_INVALID_ARG, "rn_safetensors_open_mem: %s is NULL",
                         !buf ? "buf" : "out");
    rn__clear_error(ctx);
    return st_open(ctx, RN_IO_MEMORY_NAME, (const unsigned char *)buf, size, NULL, 0, out);
}

#ifndef RN_NO_IO
rn_status rn_safetensors_open_file(rn_ctx *ctx, const char *path, rn_safetensors **out) {
    if (!ctx) return RN_E_INVALID_ARG;
    if (!path || !out)
        return rn__error(ctx, RN_E_INVALID_ARG, "rn_safetensors_open_file: %s is NULL",
                         !path ? "path" : "out");
    rn__clear_error(ctx);
    void *data;
    size_t size;
    rn_status s = rn__read_file(ctx, path, ST_MAX_FILE, &data, &size);
    if (s) return s;
    return st_open(ctx, path, (const unsigned char *)data, size, (unsigned char *)data, 0, out);
}
#else
rn_status rn_safetensors_open_file(rn_ctx *ctx, const char *path, rn_safetensors **out) {
    (void)path, (void)out;
    return rn__no_file_io(ctx, "rn_safetensors_open_file");
}
#endif

int32_t rn_safetensors_count(const rn_safetensors *st) { return st ? st->count : 0; }

static rn_status check_index(const rn_safetensors *st, const char *fn, int32_t index) {
    if (index < 0 || index >= st->count)
        return rn__error(st->ctx, RN_E_INVALID_ARG, "%s: index %d is outside [0, %d)", fn,
                         (int)index, (int)st->count);
    return RN_OK;
}

rn_status rn_safetensors_info(const rn_safetensors *st, int32_t index, const char **name,
                              int32_t *dtype, int32_t *ndim, int64_t dims[8]) {
    if (!st) return RN_E_INVALID_ARG;
    rn_status s = check_index(st, "rn_safetensors_info", index);
    if (s) return s;
    const st_tensor *t = &st->tensors[index];
    if (name) *name = t->name;
    if (dtype) *dtype = t->dtype;
    if (ndim) *ndim = t->ndim;
    if (dims)
        for (int i = 0; i < 8; i++) dims[i] = i < t->ndim ? t->dims[i] : 0;
    return RN_OK;
}

rn_status rn_safetensors_find(const rn_safetensors *st, const char *name, int32_t *index) {
    if (!st) return RN_E_INVALID_ARG;
    if (!name || !index)
        return rn__error(st->ctx, RN_E_INVALID_ARG, "rn_safetensors_find: %s is NULL",
                         !name ? "name" : "index");
    for (size_t s = hash_name(name) & st->index_mask; st->index[s]; s = (s + 1) & st->index_mask) {
        if (!rn_strcmp(st->tensors[st->index[s] - 1].name, name)) {
            *index = (int32_t)(st->index[s] - 1);
            return RN_OK;
        }
    }
    return rn__error(st->ctx, RN_E_NOT_FOUND, "rn_safetensors_find: no tensor named '%s'", name);
}

/* rn_safetensors_read_f32 (raw 0: n elements converted to float) and
 * rn_safetensors_read_raw (raw 1: n bytes as they are), once the index is
 * valid, dst is not NULL (unless n is 0) and n is the tensor's size. */
static rn_status read_tensor(const rn_safetensors *st, const char *fn, int32_t index, void *dst,
                             size_t n, int raw) {
    if (!st) return RN_E_INVALID_ARG;
    rn_status s = check_index(st, fn, index);
    if (s) return s;
    if (!dst && n > 0) return rn__error(st->ctx, RN_E_INVALID_ARG, "%s: dst is NULL", fn);
    const st_tensor *t = &st->tensors[index];
    size_t have = raw ? t->end - t->begin : t->count;
    if (n != have)
        return rn__error(st->ctx, RN_E_INVALID_ARG, "%s: tensor '%s' has %zu %s, %s is %zu", fn,
                         t->name, have, raw ? "bytes" : "elements", raw ? "bytes" : "count", n);
    if (!raw)
        rn__convert_to_f32(t->dtype, st->data + t->begin, t->count, (float *)dst);
    else if (n)
        rn_memcpy(dst, st->data + t->begin, n);
    return RN_OK;
}

rn_status rn_safetensors_read_f32(const rn_safetensors *st, int32_t index, float *dst,
                                  size_t count) {
    return read_tensor(st, "rn_safetensors_read_f32", index, dst, count, 0);
}

rn_status rn_safetensors_read_raw(const rn_safetensors *st, int32_t index, void *dst,
                                  size_t bytes) {
    return read_tensor(st, "rn_safetensors_read_raw", index, dst, bytes, 1);
}

rn_status rn__safetensors_open_view(rn_ctx *ctx, const char *src, const void *buf, size_t size,
                                    rn_safetensors **out) {
    return st_open(ctx, src, (const unsigned char *)buf, size, NULL, 1, out);
}

const unsigned char *rn__safetensors_data(const rn_safetensors *st, int32_t index) {
    return st->data + st->tensors[index].begin;
}

rn_status rn_safetensors_metadata(const rn_safetensors *st, const char *key, const char **value) {
    if (!st) return RN_E_INVALID_ARG;
    if (!key || !value)
        return rn__error(st->ctx, RN_E_INVALID_ARG, "rn_safetensors_metadata: %s is NULL",
                         !key ? "key" : "value");
    for (size_t i = 0; i < st->meta_count; i++) {
        if (!rn_strcmp(st->meta[i].key, key)) {
            *value = st->meta[i].value;
            return RN_OK;
        }
    }
    return rn__error(st->ctx, RN_E_NOT_FOUND, "rn_safetensors_metadata: no key '%s'", key);
}

/* A tensor by torchvision name, with or without the "module." prefix that
 * torch.nn.DataParallel adds. */
static const st_tensor *find_model_tensor(const rn_safetensors *st, const char *name) {
    char prefixed[128];
    int32_t i;
    if (rn_safetensors_find(st, name, &i) == RN_OK) return &st->tensors[i];
    rn__concat(prefixed, sizeof prefixed, "module.", name);
    if (rn_safetensors_find(st, prefixed, &i) == RN_OK) return &st->tensors[i];
    return NULL;
}

rn_status rn_safetensors_model_dims(const rn_safetensors *st, int32_t *classes,
                                    int32_t *in_channels) {
    if (!st) return RN_E_INVALID_ARG;
    const st_tensor *fc = find_model_tensor(st, "fc.weight");
    const st_tensor *conv = find_model_tensor(st, "conv1.weight");
    if (!fc || !conv)
        return rn__error(st->ctx, RN_E_NOT_FOUND,
                         "rn_safetensors_model_dims: the file has no "
                         "'%s' tensor (nor 'module.%s'): not a ResNet weight file",
                         !fc ? "fc.weight" : "conv1.weight", !fc ? "fc.weight" : "conv1.weight");
    if (fc->ndim != 2 || fc->dims[0] < 1 || fc->dims[0] > INT32_MAX)
        return rn__error(st->ctx, RN_E_BAD_FORMAT,
                         "rn_safetensors_model_dims: '%s' must have "
                         "dims [classes, features] with 1 <= classes < 2^31",
                         fc->name);
    if (conv->ndim != 4 || conv->dims[1] < 1 || conv->dims[1] > INT32_MAX)
        return rn__error(st->ctx, RN_E_BAD_FORMAT,
                         "rn_safetensors_model_dims: '%s' must have "
                         "dims [out, in, kh, kw] with 1 <= in < 2^31",
                         conv->name);
    rn__clear_error(st->ctx);
    if (classes) *classes = (int32_t)fc->dims[0];
    if (in_channels) *in_channels = (int32_t)conv->dims[1];
    return RN_OK;
}

/* ---- writer ---------------------------------------------------------------- */
typedef struct stw_tensor {
    char *name;
    int32_t dtype, ndim;
    int64_t dims[ST_MAX_DIMS];
    unsigned char *data; /* little-endian bytes */
    size_t bytes;
} stw_tensor;

struct rn_safetensors_writer {
    rn_ctx *ctx;
    stw_tensor *tensors;
    size_t count, cap;
    st_meta *meta; /* key and value are writer-owned copies */
    size_t meta_count, meta_cap;
};

rn_status rn_safetensors_writer_create(rn_ctx *ctx, rn_safetensors_writer **out) {
    if (!ctx) return RN_E_INVALID_ARG;
    if (!out) return rn__error(ctx, RN_E_INVALID_ARG, "rn_safetensors_writer_create: out is NULL");
    rn_safetensors_writer *w = (rn_safetensors_writer *)rn__calloc(ctx, 1, sizeof *w);
    if (!w) return rn__error(ctx, RN_E_NO_MEMORY, "rn_safetensors_writer_create: out of memory");
    w->ctx = ctx;
    rn__clear_error(ctx);
    *out = w;
    return RN_OK;
}

void rn_safetensors_writer_destroy(rn_safetensors_writer *w) {
    if (!w) return;
    rn_ctx *ctx = w->ctx;
    for (size_t i = 0; i < w->count; i++) {
        rn__free(ctx, w->tensors[i].data);
        rn__free(ctx, w->tensors[i].name);
    }
    for (size_t i = 0; i < w->meta_count; i++) {
        rn__free(ctx, (void *)w->meta[i].key);
        rn__free(ctx, (void *)w->meta[i].value);
    }
    rn__free(ctx, w->tensors);
    rn__free(ctx, w->meta);
    rn__free(ctx, w);
}

static char *dup_string(rn_ctx *ctx, const char *s) {
    size_t n = rn_strlen(s);
    char *d = (char *)rn__alloc(ctx, n + 1);
    if (d) rn_memcpy(d, s, n + 1);
    return d;
}

static rn_status check_text(rn_ctx *ctx, const char *fn, const char *what, const char *s) {
    if (!s) return rn__error(ctx, RN_E_INVALID_ARG, "%s: %s is NULL", fn, what);
    if (!rn__utf8_valid((const unsigned char *)s, rn_strlen(s)))
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: %s is not valid UTF-8", fn, what);
    return RN_OK;
}

/* Checks shared by add and adopt; *bytes receives the tensor's byte size. */
static rn_status writer_check(rn_safetensors_writer *w, const char *fn, const char *name,
                              int32_t dtype, int32_t ndim, const int64_t *dims, size_t *bytes) {
    rn_ctx *ctx = w->ctx;
    rn_status s = check_text(ctx, fn, "name", name);
    if (s) return s;
    if (!name[0] || !rn_strcmp(name, ST_METADATA_KEY))
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: the name '%s' is reserved or empty", fn, name);
    if (!st_dtype_name(dtype))
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: tensor '%s': dtype %d is not an RN_DTYPE_*",
                         fn, name, (int)dtype);
    if (ndim < 0 || ndim > ST_MAX_DIMS)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: tensor '%s': ndim %d is outside [0, %d]", fn,
                         name, (int)ndim, ST_MAX_DIMS);
    if (ndim > 0 && !dims)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: tensor '%s': dims is NULL", fn, name);
    size_t count = 1;
    for (int32_t i = 0; i < ndim; i++) {
        if (dims[i] < 0)
            return rn__error(ctx, RN_E_INVALID_ARG, "%s: tensor '%s': dims[%d] is %lld", fn, name,
                             (int)i, (long long)dims[i]);
        if ((uint64_t)dims[i] > (uint64_t)SIZE_MAX || !rn__mul_size(count, (size_t)dims[i], &count))
            return rn__error(ctx, RN_E_OVERFLOW, "%s: tensor '%s': the element count overflows", fn,
                             name);
    }
    if (!rn__mul_size(count, rn__dtype_size(dtype), bytes))
        return rn__error(ctx, RN_E_OVERFLOW, "%s: tensor '%s': the byte size overflows", fn, name);
    for (size_t i = 0; i < w->count; i++)
        if (!rn_strcmp(w->tensors[i].name, name))
            return rn__error(ctx, RN_E_INVALID_ARG, "%s: tensor '%s' was already added", fn, name);
    return RN_OK;
}

/* Append a checked entry that owns `data` (little-endian bytes, or NULL for
 * a writer that is only sized). On failure data is freed. */
static rn_status writer_append(rn_safetensors_writer *w, const char *fn, const char *name,
                               int32_t dtype, int32_t ndim, const int64_t *dims,
                               unsigned char *data, size_t bytes) {
    rn_ctx *ctx = w->ctx;
    char *copy = dup_string(ctx, name);
    if (!copy || (w->count == w->cap &&
                  !grow(ctx, (void **)&w->tensors, &w->cap, w->count, sizeof(stw_tensor)))) {
        rn__free(ctx, copy);
        rn__free(ctx, data);
        return rn__error(ctx, RN_E_NO_MEMORY, "%s: tensor '%s': out of memory", fn, name);
    }
    stw_tensor *t = &w->tensors[w->count++];
    rn_memset(t, 0, sizeof *t);
    t->name = copy;
    t->data = data;
    t->dtype = dtype;
    t->ndim = ndim;
    for (int32_t i = 0; i < ndim; i++) t->dims[i] = dims[i];
    t->bytes = bytes;
    return RN_OK;
}

rn_status rn_safetensors_writer_add(rn_safetensors_writer *w, const char *name, int32_t dtype,
                                    int32_t ndim, const int64_t *dims, const void *data) {
    static const char fn[] = "rn_safetensors_writer_add";
    if (!w) return RN_E_INVALID_ARG;
    rn_ctx *ctx = w->ctx;
    size_t bytes = 0;
    rn_status s = writer_check(w, fn, name, dtype, ndim, dims, &bytes);
    if (s) return s;
    if (!data && bytes > 0)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: tensor '%s': data is NULL", fn, name);
    unsigned char *le = (unsigned char *)rn__alloc(ctx, bytes);
    if (!le)
        return rn__error(ctx, RN_E_NO_MEMORY, "%s: tensor '%s': cannot copy %zu bytes", fn, name,
                         bytes);
    rn__put_le_array(dtype, data, bytes, le);
    s = writer_append(w, fn, name, dtype, ndim, dims, le, bytes);
    if (s == RN_OK) rn__clear_error(ctx);
    return s;
}

rn_status rn__safetensors_writer_adopt(rn_safetensors_writer *w, const char *name, int32_t dtype,
                                       int32_t ndim, const int64_t *dims, unsigned char *data) {
    static const char fn[] = "rn_safetensors_writer_add";
    size_t bytes = 0;
    rn_status s = writer_check(w, fn, name, dtype, ndim, dims, &bytes);
    if (s) {
        rn__free(w->ctx, data);
        return s;
    }
    return writer_append(w, fn, name, dtype, ndim, dims, data, bytes);
}

rn_status rn_safetensors_writer_set_metadata(rn_safetensors_writer *w, const char *key,
                                             const char *value) {
    static const char fn[] = "rn_safetensors_writer_set_metadata";
    if (!w) return RN_E_INVALID_ARG;
    rn_ctx *ctx = w->ctx;
    rn_status s = check_text(ctx, fn, "key", key);
    if (s == RN_OK) s = check_text(ctx, fn, "value", value);
    if (s) return s;
    char *v = dup_string(ctx, value);
    if (!v) return rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory", fn);
    for (size_t i = 0; i < w->meta_count; i++) {
        if (!rn_strcmp(w->meta[i].key, key)) {
            rn__free(ctx, (void *)w->meta[i].value);
            w->meta[i].value = v;
            rn__clear_error(ctx);
            return RN_OK;
        }
    }
    char *k = dup_string(ctx, key);
    if (!k || (w->meta_count == w->meta_cap &&
               !grow(ctx, (void **)&w->meta, &w->meta_cap, w->meta_count, sizeof(st_meta)))) {
        rn__free(ctx, k);
        rn__free(ctx, v);
        return rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory", fn);
    }
    w->meta[w->meta_count].key = k;
    w->meta[w->meta_count].value = v;
    w->meta_count++;
    rn__clear_error(ctx);
    return RN_OK;
}

/* Appends bytes to out (when there is room) and counts them always, so one
 * pass sizes the header and a second writes it. */
typedef struct emitter {
    unsigned char *out;
    size_t len, cap;
} emitter;

static void emit(emitter *e, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++, e->len++)
        if (e->out && e->len < e->cap) e->out[e->len] = (unsigned char)s[i];
}
static void emit_str(emitter *e, const char *s) { emit(e, s, rn_strlen(s)); }
static void emit_u64(emitter *e, uint64_t v) {
    char d[24];
    emit(e, d, rn__fmt_u64(v, d));
}
static void emit_json_string(emitter *e, const char *s) {
    static const char hex[] = "0123456789abcdef";
    emit(e, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"')
            emit(e, "\\\"", 2);
        else if (c == '\\')
            emit(e, "\\\\", 2);
        else if (c == '\n')
            emit(e, "\\n", 2);
        else if (c == '\r')
            emit(e, "\\r", 2);
        else if (c == '\t')
            emit(e, "\\t", 2);
        else if (c < 0x20) {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            emit(e, u, 6);
        } else {
            emit(e, (const char *)&c, 1);
        }
    }
    emit(e, "\"", 1);
}

/* Data placement: the header lists tensors in the order added, but their
 * bytes go by decreasing element size (8, 4, 2, 1 bytes), in the order
 * added within a size. With the header padded to 8 bytes, every tensor's
 * data then starts at a multiple of its element size in the file, so a
 * reader may use it where it lies (rn_model_create_from_blob), and the data
 * stays gapless as the format's reference loader requires. Files of one
 * dtype keep the order added. */
static size_t elem_size(int32_t dtype) {
    switch (dtype) {
    case RN_DTYPE_I64:
    case RN_DTYPE_F64: return 8;
    case RN_DTYPE_F32:
    case RN_DTYPE_I32: return 4;
    case RN_DTYPE_F16:
    case RN_DTYPE_BF16:
    case RN_DTYPE_I16: return 2;
    default: return 1;
    }
}

/* Index of the k-th tensor in data order. */
static size_t data_order(const rn_safetensors_writer *w, size_t k) {
    for (size_t sz = 8; sz >= 1; sz /= 2)
        for (size_t i = 0; i < w->count; i++)
            if (elem_size(w->tensors[i].dtype) == sz && k-- == 0) return i;
    return 0; /* not reached for k < count */
}

/* Offset of tensor i's data in the data section. */
static size_t data_offset(const rn_safetensors_writer *w, size_t i) {
    size_t off = 0, mine = elem_size(w->tensors[i].dtype);
    for (size_t j = 0; j < w->count; j++) {
        size_t sz = elem_size(w->tensors[j].dtype);
        if (sz > mine || (sz == mine && j < i)) off += w->tensors[j].bytes;
    }
    return off;
}

/* The JSON header padded with spaces to a multiple of 8 bytes. */
static void emit_header(const rn_safetensors_writer *w, emitter *e) {
    size_t offset = 0;
    emit(e, "{", 1);
    int first = 1;
    if (w->meta_count) {
        emit_str(e, "\"" ST_METADATA_KEY "\":{");
        for (size_t i = 0; i < w->meta_count; i++) {
            if (i) emit(e, ",", 1);
            emit_json_string(e, w->meta[i].key);
            emit(e, ":", 1);
            emit_json_string(e, w->meta[i].value);
        }
        emit(e, "}", 1);
        first = 0;
    }
    for (size_t i = 0; i < w->count; i++) {
        const stw_tensor *t = &w->tensors[i];
        if (!first) emit(e, ",", 1);
        first = 0;
        emit_json_string(e, t->name);
        emit_str(e, ":{\"dtype\":\"");
        emit_str(e, st_dtype_name(t->dtype));
        emit_str(e, "\",\"shape\":[");
        for (int32_t d = 0; d < t->ndim; d++) {
            if (d) emit(e, ",", 1);
            emit_u64(e, (uint64_t)t->dims[d]);
        }
        emit_str(e, "],\"data_offsets\":[");
        offset = data_offset(w, i);
        emit_u64(e, offset);
        emit(e, ",", 1);
        emit_u64(e, offset + t->bytes);
        emit_str(e, "]}");
    }
    emit(e, "}", 1);
    while (e->len % 8) emit(e, " ", 1);
}

/* Header length and total file size, overflow-checked. */
static rn_status writer_sizes(const rn_safetensors_writer *w, const char *fn, size_t *hlen,
                              size_t *total) {
    emitter e = {NULL, 0, 0};
    emit_header(w, &e);
    size_t sum = 8;
    if (!rn__add_size(sum, e.len, &sum))
        return rn__error(w->ctx, RN_E_OVERFLOW, "%s: the file size overflows", fn);
    for (size_t i = 0; i < w->count; i++)
        if (!rn__add_size(sum, w->tensors[i].bytes, &sum))
            return rn__error(w->ctx, RN_E_OVERFLOW, "%s: the file size overflows", fn);
    if (e.len > ST_MAX_HEADER)
        return rn__error(w->ctx, RN_E_UNSUPPORTED,
                         "%s: the header would be %zu bytes, over the "
                         "format's 100 MB limit",
                         fn, e.len);
    *hlen = e.len;
    *total = sum;
    return RN_OK;
}

rn_status rn_safetensors_writer_save_mem(rn_safetensors_writer *w, void *buf, size_t cap,
                                         size_t *written) {
    static const char fn[] = "rn_safetensors_writer_save_mem";
    if (!w) return RN_E_INVALID_ARG;
    if (!written) return rn__error(w->ctx, RN_E_INVALID_ARG, "%s: written is NULL", fn);
    size_t hlen = 0, total = 0;
    rn_status s = writer_sizes(w, fn, &hlen, &total);
    if (s) return s;
    rn__clear_error(w->ctx);
    if (!buf) {
        *written = total;
        return RN_OK;
    }
    if (cap < total)
        return rn__error(w->ctx, RN_E_BUFFER_TOO_SMALL, "%s: the file needs %zu bytes, cap is %zu",
                         fn, total, cap);
    unsigned char *out = (unsigned char *)buf;
    rn__put_le64(out, hlen);
    emitter e = {out + 8, 0, hlen};
    emit_header(w, &e);
    size_t at = 8 + hlen;
    for (size_t k = 0; k < w->count; k++) {
        const stw_tensor *t = &w->tensors[data_order(w, k)];
        if (t->bytes) rn_memcpy(out + at, t->data, t->bytes);
        at += t->bytes;
    }
    *written = total;
    return RN_OK;
}

#ifndef RN_NO_IO
rn_status rn_safetensors_writer_save_file(rn_safetensors_writer *w, const char *path) {
    static const char fn[] = "rn_safetensors_writer_save_file";
    if (!w) return RN_E_INVALID_ARG;
    rn_ctx *ctx = w->ctx;
    if (!path) return rn__error(ctx, RN_E_INVALID_ARG, "%s: path is NULL", fn);
    size_t hlen = 0, total = 0, nchunks = w->count + 1, bytes;
    rn_status s = writer_sizes(w, fn, &hlen, &total);
    if (s) return s;
    rn__clear_error(ctx);
    unsigned char *head = (unsigned char *)rn__alloc(ctx, 8 + hlen);
    const void **chunks = NULL;
    size_t *sizes = NULL;
    if (rn__mul_size(nchunks, sizeof(void *) + sizeof(size_t), &bytes)) {
        chunks = (const void **)rn__alloc(ctx, nchunks * sizeof(void *));
        sizes = (size_t *)rn__alloc(ctx, nchunks * sizeof(size_t));
    }
    if (!head || !chunks || !sizes) {
        rn__free(ctx, sizes);
        rn__free(ctx, chunks);
        rn__free(ctx, head);
        return rn__error(ctx, RN_E_NO_MEMORY, "%s: %s: out of memory", fn, path);
    }
    rn__put_le64(head, hlen);
    emitter e = {head + 8, 0, hlen};
    emit_header(w, &e);
    chunks[0] = head;
    sizes[0] = 8 + hlen;
    for (size_t k = 0; k < w->count; k++) {
        const stw_tensor *t = &w->tensors[data_order(w, k)];
        chunks[k + 1] = t->data;
        sizes[k + 1] = t->bytes;
    }
    s = rn__write_file_atomic(ctx, path, chunks, sizes, nchunks);
    rn__free(ctx, sizes);
    rn__free(ctx, chunks);
    rn__free(ctx, head);
    return s;
}
#else
rn_status rn_safetensors_writer_save_file(rn_safetensors_writer *w, const char *path) {
    (void)path;
    if (!w) return RN_E_INVALID_ARG;
    return rn__error(w->ctx, RN_E_UNSUPPORTED,
                     "rn_safetensors_writer_save_file: built without "
                     "file I/O");
}
#endif

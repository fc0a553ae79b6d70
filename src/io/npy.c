/*
 * NumPy .npy files (format versions 1.0, 2.0 and 3.0): reading and writing
 * little-endian, C-order arrays of float32, int64, int32 and uint8.
 *
 * Layout (numpy/lib/format.py documents it): the magic "\x93NUMPY", major
 * and minor version bytes, the header length (u16 LE in 1.0, u32 LE in 2.0
 * and 3.0), then a Python dict literal such as
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * padded with spaces and a newline so the data starts 64-byte aligned, then
 * the raw elements. The header is parsed by a small strict scanner rather
 * than evaluated; every field is checked against the bytes that follow.
 */
#include "io-internal.h"

#define NPY_MAGIC_LEN 6
#define NPY_MAX_DIMS 8
/* numpy itself refuses headers over 10000 bytes unless told otherwise; a
 * header of 8 dims never needs more than a few hundred. */
#define NPY_MAX_HEADER 65536
#define NPY_ALIGN 64
/* numpy pads the header with room for the first dim to grow to 21 digits */
#define NPY_GROWTH_DIGITS 21

typedef rn__array_header npy_header;

typedef struct npy_scan {
    const rn_ctx *ctx;
    const char *src;
    const unsigned char *p; /* header text */
    size_t n, pos;
    size_t base; /* file offset of p[0] */
} npy_scan;

static void skip_ws(npy_scan *s) {
    while (s->pos < s->n && (s->p[s->pos] == ' ' || s->p[s->pos] == '\t' || s->p[s->pos] == '\n' ||
                             s->p[s->pos] == '\r'))
        s->pos++;
}

static rn_status scan_error(npy_scan *s, const char *what) {
    if (s->pos >= s->n)
        return rn__error(s->ctx, RN_E_BAD_FORMAT,
                         "%s: .npy header: %s, found the end of the "
                         "header (offset %zu)",
                         s->src, what, s->base + s->pos);
    unsigned c = s->p[s->pos];
    if (c >= 0x20 && c < 0x7F)
        return rn__error(s->ctx, RN_E_BAD_FORMAT, "%s: .npy header: %s, found '%c' at offset %zu",
                         s->src, what, (char)c, s->base + s->pos);
    return rn__error(s->ctx, RN_E_BAD_FORMAT,
                     "%s: .npy header: %s, found byte 0x%02x at offset "
                     "%zu",
                     s->src, what, c, s->base + s->pos);
}

static int accept_char(npy_scan *s, char c) {
    skip_ws(s);
    if (s->pos < s->n && s->p[s->pos] == (unsigned char)c) {
        s->pos++;
        return 1;
    }
    return 0;
}

/* A Python string literal in ' or " quotes, without escapes (numpy never
 * writes any in the three keys or simple dtypes). */
static rn_status scan_string(npy_scan *s, const unsigned char **str, size_t *len) {
    skip_ws(s);
    if (s->pos >= s->n || (s->p[s->pos] != '\'' && s->p[s->pos] != '"'))
        return scan_error(s, "expected a quoted string");
    unsigned char q = s->p[s->pos];
    size_t start = ++s->pos;
    while (s->pos < s->n && s->p[s->pos] != q) {
        if (s->p[s->pos] == '\\' || s->p[s->pos] < 0x20)
            return scan_error(s, "unexpected character in a string");
        s->pos++;
    }
    if (s->pos >= s->n) return scan_error(s, "unterminated string");
    *str = s->p + start;
    *len = s->pos - start;
    s->pos++;
    return RN_OK;
}

static int str_is(const unsigned char *str, size_t len, const char *lit) {
    size_t n = rn_strlen(lit);
    return n == len && rn_memcmp(str, lit, n) == 0;
}

/* A non-negative Python int, optionally with the Python 2 'L' suffix. */
static rn_status scan_dim(npy_scan *s, int64_t *out) {
    skip_ws(s);
    if (s->pos >= s->n || s->p[s->pos] < '0' || s->p[s->pos] > '9')
        return scan_error(s, "expected a non-negative integer dimension");
    size_t start = s->pos;
    int64_t v = 0;
    while (s->pos < s->n && s->p[s->pos] >= '0' && s->p[s->pos] <= '9') {
        int d = s->p[s->pos] - '0';
        if (v > (INT64_MAX - d) / 10) {
            s->pos = start;
            return scan_error(s, "dimension does not fit in 64 bits");
        }
        v = v * 10 + d;
        s->pos++;
    }
    if (s->pos < s->n && s->p[s->pos] == 'L') s->pos++;
    *out = v;
    return RN_OK;
}

static rn_status scan_descr(npy_scan *s, npy_header *h) {
    size_t at = s->pos;
    const unsigned char *str;
    size_t len;
    rn_status st = scan_string(s, &str, &len);
    if (st) return st;
    if (str_is(str, len, "<f4"))
        h->dtype = RN_DTYPE_F32;
    else if (str_is(str, len, "<i8"))
        h->dtype = RN_DTYPE_I64;
    else if (str_is(str, len, "<i4"))
        h->dtype = RN_DTYPE_I32;
    else if (str_is(str, len, "|u1") || str_is(str, len, "<u1"))
        h->dtype = RN_DTYPE_U8;
    else {
        skip_ws(s);
        return rn__error(s->ctx, RN_E_UNSUPPORTED,
                         "%s: .npy header: descr '%.*s' at offset %zu is not supported (only "
                         "'<f4', '<i8', '<i4' and '|u1')",
                         s->src, (int)(len > 32 ? 32 : len), (const char *)str, s->base + at);
    }
    return RN_OK;
}

static rn_status scan_shape(npy_scan *s, npy_header *h) {
    if (!accept_char(s, '(')) return scan_error(s, "expected '(' to open the shape");
    h->ndim = 0;
    if (accept_char(s, ')')) return RN_OK;
    for (;;) {
        int64_t d = 0;
        rn_status st = scan_dim(s, &d);
        if (st) return st;
        if (h->ndim == NPY_MAX_DIMS)
            return rn__error(s->ctx, RN_E_UNSUPPORTED,
                             "%s: .npy header: more than %d dims "
                             "(offset %zu)",
                             s->src, NPY_MAX_DIMS, s->base + s->pos);
        h->dims[h->ndim++] = d;
        if (accept_char(s, ')')) {
            /* Python needs the trailing comma for a 1-tuple: "(3)" is an int */
            if (h->ndim == 1) {
                s->pos--;
                return scan_error(s, "a 1-d shape is written (n,)");
            }
            return RN_OK;
        }
        if (!accept_char(s, ',')) return scan_error(s, "expected ',' or ')' in the shape");
        if (accept_char(s, ')')) return RN_OK;
    }
}

static rn_status parse_dict(npy_scan *s, npy_header *h) {
    int have_descr = 0, have_order = 0, have_shape = 0;
    if (!accept_char(s, '{')) return scan_error(s, "expected '{' to open the header dict");
    for (;;) {
        if (accept_char(s, '}')) break;
        skip_ws(s);
        size_t key_at = s->pos;
        const unsigned char *key;
        size_t key_len;
        rn_status st = scan_string(s, &key, &key_len);
        if (st) return st;
        if (!accept_char(s, ':')) return scan_error(s, "expected ':' after a key");
        int *seen;
        if (str_is(key, key_len, "descr"))
            seen = &have_descr;
        else if (str_is(key, key_len, "fortran_order"))
            seen = &have_order;
        else if (str_is(key, key_len, "shape"))
            seen = &have_shape;
        else
            return rn__error(s->ctx, RN_E_BAD_FORMAT,
                             "%s: .npy header: unknown key '%.*s' at "
                             "offset %zu",
                             s->src, (int)(key_len > 32 ? 32 : key_len), (const char *)key,
                             s->base + key_at);
        if (*seen)
            return rn__error(s->ctx, RN_E_BAD_FORMAT,
                             "%s: .npy header: key '%.*s' repeated at "
                             "offset %zu",
                             s->src, (int)key_len, (const char *)key, s->base + key_at);
        *seen = 1;
        skip_ws(s);
        if (seen == &have_descr) {
            st = scan_descr(s, h);
        } else if (seen == &have_shape) {
            st = scan_shape(s, h);
        } else if (s->n - s->pos >= 5 && rn_memcmp(s->p + s->pos, "False", 5) == 0) {
            s->pos += 5;
        } else if (s->n - s->pos >= 4 && rn_memcmp(s->p + s->pos, "True", 4) == 0) {
            return rn__error(s->ctx, RN_E_UNSUPPORTED,
                             "%s: .npy header: fortran_order True "
                             "(offset %zu): only C-order arrays are read",
                             s->src, s->base + s->pos);
        } else {
            st = scan_error(s, "expected True or False for fortran_order");
        }
        if (st) return st;
        if (accept_char(s, '}')) break;
        if (!accept_char(s, ',')) return scan_error(s, "expected ',' or '}' after a value");
    }
    skip_ws(s);
    if (s->pos != s->n) return scan_error(s, "expected only padding after the header dict");
    if (!have_descr || !have_order || !have_shape)
        return rn__error(s->ctx, RN_E_BAD_FORMAT, "%s: .npy header: the '%s' key is missing",
                         s->src,
                         !have_descr   ? "descr"
                         : !have_order ? "fortran_order"
                                       : "shape");
    return RN_OK;
}

/* Parse and check the header of the whole buffer: on success the data is
 * exactly h->count elements at h->data_offset, ending at the buffer's end. */
static rn_status npy_parse(const rn_ctx *ctx, const char *src, const unsigned char *b, size_t size,
                           npy_header *h) {
    static const unsigned char magic[NPY_MAGIC_LEN] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
    if (size < NPY_MAGIC_LEN + 2 || rn_memcmp(b, magic, NPY_MAGIC_LEN) != 0)
        return rn__error(ctx, RN_E_BAD_FORMAT,
                         "%s: not a .npy file (%zu bytes; the magic "
                         "\\x93NUMPY is missing at offset 0)",
                         src, size);
    int major = b[6], minor = b[7];
    if (major < 1 || major > 3 || minor != 0)
        return rn__error(ctx, RN_E_VERSION,
                         "%s: .npy format version %d.%d at offset 6 is not "
                         "1.0, 2.0 or 3.0",
                         src, major, minor);
    size_t len_bytes = major == 1 ? 2 : 4;
    size_t text_at = NPY_MAGIC_LEN + 2 + len_bytes;
    if (size < text_at)
        return rn__error(ctx, RN_E_BAD_FORMAT,
                         "%s: .npy header length truncated: the file has "
                         "%zu bytes, the length field ends at offset %zu",
                         src, size, text_at);
    size_t hlen = major == 1 ? rn__le16(b + 8) : rn__le32(b + 8);
    if (hlen > NPY_MAX_HEADER)
        return rn__error(ctx, RN_E_BAD_FORMAT,
                         "%s: .npy header length %zu (offset 8) exceeds "
                         "the %d-byte limit",
                         src, hlen, NPY_MAX_HEADER);
    if (hlen > size - text_at)
        return rn__error(ctx, RN_E_BAD_FORMAT,
                         "%s: .npy header of %zu bytes at offset %zu runs "
                         "past the end of the %zu-byte file",
                         src, hlen, text_at, size);
    for (size_t i = 0; i < hlen; i++) {
        unsigned c = b[text_at + i];
        /* 1.0/2.0 headers are latin-1, 3.0 UTF-8; the dict we read is ASCII */
        if ((c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c >= 0x7F)
            return rn__error(ctx, RN_E_BAD_FORMAT,
                             "%s: .npy header: byte 0x%02x at offset %zu "
                             "is not printable ASCII",
                             src, c, text_at + i);
    }
    npy_scan s = {ctx, src, b + text_at, hlen, 0, text_at};
    rn_memset(h, 0, sizeof *h);
    rn_status st = parse_dict(&s, h);
    if (st) return st;

    size_t count = 1;
    for (int32_t i = 0; i < h->ndim; i++) {
        if ((uint64_t)h->dims[i] > (uint64_t)SIZE_MAX ||
            !rn__mul_size(count, (size_t)h->dims[i], &count))
            return rn__error(ctx, RN_E_OVERFLOW,
                             "%s: .npy shape: the element count overflows "
                             "at dim %d (%lld)",
                             src, (int)i, (long long)h->dims[i]);
    }
    size_t data_at = text_at + hlen;
    st = rn__check_data_size(ctx, src, ".npy", h->dtype, h->ndim, h->dims, count, data_at, size);
    if (st) return st;
    h->count = count;
    h->data_offset = data_at;
    return RN_OK;
}

/* .npy files are read whole; 16 GiB covers any array this library uses. */
#define NPY_MAX_FILE ((size_t)1 << (sizeof(size_t) > 4 ? 34 : 31))

static rn_status npy_decode(rn_ctx *ctx, const char *src, const void *buf, size_t size,
                            int32_t want, void *dst, size_t dst_count) {
    npy_header h;
    rn_status st = npy_parse(ctx, src, (const unsigned char *)buf, size, &h);
    if (st) return st;
    if (dst_count != h.count) {
        char dbuf[200];
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: the array of shape %s has %zu elements, "
                         "dst_count is %zu",
                         src, rn__dims_str(h.ndim, h.dims, dbuf, sizeof dbuf), h.count, dst_count);
    }
    const unsigned char *d = (const unsigned char *)buf + h.data_offset;
    if (want == RN_DTYPE_F32) {
        rn__convert_to_f32(h.dtype, d, h.count, (float *)dst);
        return RN_OK;
    }
    /* want == RN_DTYPE_I32 */
    int32_t *out = (int32_t *)dst;
    switch (h.dtype) {
    case RN_DTYPE_F32:
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: the array holds float32; reading it as "
                         "int32 is refused (it would drop fractions)",
                         src);
    case RN_DTYPE_I64:
        /* check every element first so dst is untouched on failure */
        for (size_t i = 0; i < h.count; i++) {
            int64_t v = (int64_t)rn__le64(d + 8 * i);
            if (v < INT32_MIN || v > INT32_MAX)
                return rn__error(ctx, RN_E_OVERFLOW,
                                 "%s: int64 element %zu (offset %zu) is %lld, "
                                 "outside the int32 range",
                                 src, i, h.data_offset + 8 * i, (long long)v);
        }
        for (size_t i = 0; i < h.count; i++) out[i] = (int32_t)(int64_t)rn__le64(d + 8 * i);
        return RN_OK;
    case RN_DTYPE_I32:
        for (size_t i = 0; i < h.count; i++) out[i] = (int32_t)rn__le32(d + 4 * i);
        return RN_OK;
    default: /* RN_DTYPE_U8 */
        for (size_t i = 0; i < h.count; i++) out[i] = d[i];
        return RN_OK;
    }
}

static rn_status check_dtype_want(rn_ctx *ctx, const char *fn, int32_t want) {
    if (want != RN_DTYPE_F32 && want != RN_DTYPE_I32)
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: want is %d; only RN_DTYPE_F32 (%d) and "
                         "RN_DTYPE_I32 (%d) are read",
                         fn, (int)want, RN_DTYPE_F32, RN_DTYPE_I32);
    return RN_OK;
}

/* rn_npy_read_mem and _file (fn): the arguments checked, then path (from_file)
 * or buf[0, size) read. */
static rn_status npy_read(rn_ctx *ctx, const char *fn, int from_file, const char *path,
                          const void *buf, size_t size, int32_t want, void *dst, size_t dst_count) {
    if (!ctx) return RN_E_INVALID_ARG;
    RN_TRY(rn__check_read(ctx, fn, from_file, path, buf, dst, dst_count));
    RN_TRY(check_dtype_want(ctx, fn, want));
    rn__clear_error(ctx);
    rn__input in;
    rn_status st = rn__input_open(ctx, path, buf, size, NPY_MAX_FILE, 0, &in);
    if (st) return st;
    st = npy_decode(ctx, in.name, in.data, in.size, want, dst, dst_count);
    rn__input_free(ctx, &in);
    return st;
}

rn_status rn_npy_info_mem(rn_ctx *ctx, const void *buf, size_t size, int32_t *dtype, int32_t *ndim,
                          int64_t dims[8]) {
    return rn__array_info(ctx, "rn_npy_info_mem", 0, NULL, buf, size, NPY_MAX_FILE, 0, npy_parse,
                          dtype, ndim, dims);
}

rn_status rn_npy_read_mem(rn_ctx *ctx, const void *buf, size_t size, int32_t want, void *dst,
                          size_t dst_count) {
    return npy_read(ctx, "rn_npy_read_mem", 0, NULL, buf, size, want, dst, dst_count);
}

/* Append a string to text[*n] if it fits in cap (keeping room for the
 * final newline); returns 0 when it does not. */
static int put_str(char *text, size_t cap, size_t *n, const char *s) {
    size_t len = rn_strlen(s);
    if (len >= cap - *n) return 0;
    rn_memcpy(text + *n, s, len);
    *n += len;
    return 1;
}

/* The exact header numpy.save writes (numpy/lib/format.py): keys sorted,
 * repr() of the shape tuple, spare spaces for the first dim to grow, then
 * spaces and a newline to a 64-byte boundary. Returns the header text
 * length (without the 10-byte prefix), or 0 if it does not fit in cap. */
static size_t npy_header_text(int32_t dtype, int32_t ndim, const int64_t *dims, char *text,
                              size_t cap) {
    const char *descr = dtype == RN_DTYPE_F32   ? "<f4"
                        : dtype == RN_DTYPE_I64 ? "<i8"
                        : dtype == RN_DTYPE_I32 ? "<i4"
                                                : "|u1";
    size_t n = 0;
    char digits[24];
    if (!put_str(text, cap, &n, "{'descr': '") || !put_str(text, cap, &n, descr) ||
        !put_str(text, cap, &n, "', 'fortran_order': False, 'shape': ("))
        return 0;
    for (int32_t i = 0; i < ndim; i++) {
        rn__fmt_u64((uint64_t)dims[i], digits);
        if ((i > 0 && !put_str(text, cap, &n, ", ")) || !put_str(text, cap, &n, digits)) return 0;
    }
    if (!put_str(text, cap, &n, ndim == 1 ? ",), }" : "), }")) return 0;
    if (ndim > 0) {
        for (size_t i = rn__fmt_u64((uint64_t)dims[0], digits); i < NPY_GROWTH_DIGITS; i++)
            if (!put_str(text, cap, &n, " ")) return 0;
    }
    /* magic (6) + version (2) + u16 length (2) + text + '\n' */
    size_t pad = NPY_ALIGN - ((NPY_MAGIC_LEN + 4 + n + 1) % NPY_ALIGN);
    if (n + pad + 1 > cap) return 0;
    for (size_t i = 0; i < pad; i++) text[n++] = ' ';
    text[n++] = '\n';
    return n;
}

static rn_status npy_validate_write(rn_ctx *ctx, const char *fn, int32_t dtype, int32_t ndim,
                                    const int64_t *dims, const void *data, size_t *bytes) {
    if (dtype != RN_DTYPE_F32 && dtype != RN_DTYPE_I64 && dtype != RN_DTYPE_I32 &&
        dtype != RN_DTYPE_U8)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: dtype %d is not F32, I64, I32 or U8", fn,
                         (int)dtype);
    if (ndim < 0 || ndim > NPY_MAX_DIMS)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: ndim %d is outside [0, %d]", fn, (int)ndim,
                         NPY_MAX_DIMS);
    if (ndim > 0 && !dims) return rn__error(ctx, RN_E_INVALID_ARG, "%s: dims is NULL", fn);
    size_t count = 1;
    for (int32_t i = 0; i < ndim; i++) {
        if (dims[i] < 0)
            return rn__error(ctx, RN_E_INVALID_ARG, "%s: dims[%d] is %lld (negative)", fn, (int)i,
                             (long long)dims[i]);
        if ((uint64_t)dims[i] > (uint64_t)SIZE_MAX || !rn__mul_size(count, (size_t)dims[i], &count))
            return rn__error(ctx, RN_E_OVERFLOW, "%s: the element count overflows at dims[%d]", fn,
                             (int)i);
    }
    if (!rn__mul_size(count, rn__dtype_size(dtype), bytes))
        return rn__error(ctx, RN_E_OVERFLOW, "%s: %zu elements overflow the byte size", fn, count);
    if (!data && *bytes > 0) return rn__error(ctx, RN_E_INVALID_ARG, "%s: data is NULL", fn);
    return RN_OK;
}

/* Data bytes in file order (little-endian) into out. */
rn_status rn_npy_write_mem(rn_ctx *ctx, int32_t dtype, int32_t ndim, const int64_t *dims,
                           const void *data, void *buf, size_t cap, size_t *written) {
    if (!ctx) return RN_E_INVALID_ARG;
    if (!written) return rn__error(ctx, RN_E_INVALID_ARG, "rn_npy_write_mem: written is NULL");
    size_t bytes = 0;
    rn_status st = npy_validate_write(ctx, "rn_npy_write_mem", dtype, ndim, dims, data, &bytes);
    if (st) return st;
    char text[512];
    size_t hlen = npy_header_text(dtype, ndim, dims, text, sizeof text);
    if (hlen == 0) return rn__error(ctx, RN_E_INTERNAL, "rn_npy_write_mem: header overflow");
    size_t total;
    if (!rn__add_size(10 + hlen, bytes, &total))
        return rn__error(ctx, RN_E_OVERFLOW, "rn_npy_write_mem: the file size overflows");
    rn__clear_error(ctx);
    if (!buf) {
        *written = total;
        return RN_OK;
    }
    if (cap < total)
        return rn__error(ctx, RN_E_BUFFER_TOO_SMALL,
                         "rn_npy_write_mem: the .npy needs %zu bytes, "
                         "cap is %zu",
                         total, cap);
    unsigned char *out = (unsigned char *)buf;
    rn_memcpy(out, "\x93NUMPY\x01\x00", 8);
    rn__put_le16(out + 8, (uint16_t)hlen);
    rn_memcpy(out + 10, text, hlen);
    rn__put_le_array(dtype, data, bytes, out + 10 + hlen);
    *written = total;
    return RN_OK;
}

#ifndef RN_NO_IO

rn_status rn_npy_info_file(rn_ctx *ctx, const char *path, int32_t *dtype, int32_t *ndim,
                           int64_t dims[8]) {
    return rn__array_info(ctx, "rn_npy_info_file", 1, path, NULL, 0, NPY_MAX_FILE, 0, npy_parse,
                          dtype, ndim, dims);
}

rn_status rn_npy_read_file(rn_ctx *ctx, const char *path, int32_t want, void *dst,
                           size_t dst_count) {
    return npy_read(ctx, "rn_npy_read_file", 1, path, NULL, 0, want, dst, dst_count);
}

rn_status rn_npy_write_file(rn_ctx *ctx, const char *path, int32_t dtype, int32_t ndim,
                            const int64_t *dims, const void *data) {
    if (!ctx) return RN_E_INVALID_ARG;
    if (!path) return rn__error(ctx, RN_E_INVALID_ARG, "rn_npy_write_file: path is NULL");
    size_t bytes = 0;
    rn_status st = npy_validate_write(ctx, "rn_npy_write_file", dtype, ndim, dims, data, &bytes);
    if (st) return st;
    rn__clear_error(ctx);
    char text[512];
    unsigned char prefix[10];
    size_t hlen = npy_header_text(dtype, ndim, dims, text, sizeof text);
    if (hlen == 0) return rn__error(ctx, RN_E_INTERNAL, "rn_npy_write_file: header overflow");
    rn_memcpy(prefix, "\x93NUMPY\x01\x00", 8);
    rn__put_le16(prefix + 8, (uint16_t)hlen);
    /* On a little-endian host the caller's array is already the file's data;
     * elsewhere it is converted into a temporary copy first. */
    const void *payload = data;
    unsigned char *conv = NULL;
    uint32_t one = 1;
    unsigned char first;
    rn_memcpy(&first, &one, 1);
    if (first != 1 && bytes > 0) {
        conv = (unsigned char *)rn__alloc(ctx, bytes);
        if (!conv)
            return rn__error(ctx, RN_E_NO_MEMORY, "%s: cannot allocate %zu bytes", path, bytes);
        rn__put_le_array(dtype, data, bytes, conv);
        payload = conv;
    }
    const void *chunks[3] = {prefix, text, payload};
    size_t sizes[3] = {sizeof prefix, hlen, bytes};
    st = rn__write_file_atomic(ctx, path, chunks, sizes, 3);
    rn__free(ctx, conv);
    return st;
}

#else  /* RN_NO_IO: the path-based functions exist but refuse */

rn_status rn_npy_info_file(rn_ctx *ctx, const char *path, int32_t *dtype, int32_t *ndim,
                           int64_t dims[8]) {
    (void)path, (void)dtype, (void)ndim, (void)dims;
    return rn__no_file_io(ctx, "rn_npy_info_file");
}
rn_status rn_npy_read_file(rn_ctx *ctx, const char *path, int32_t want, void *dst,
                           size_t dst_count) {
    (void)path, (void)want, (void)dst, (void)dst_count;
    return rn__no_file_io(ctx, "rn_npy_read_file");
}
rn_status rn_npy_write_file(rn_ctx *ctx, const char *path, int32_t dtype, int32_t ndim,
                            const int64_t *dims, const void *data) {
    (void)path, (void)dtype, (void)ndim, (void)dims, (void)data;
    return rn__no_file_io(ctx, "rn_npy_write_file");
}
#endif /* RN_NO_IO */

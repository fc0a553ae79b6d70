/*
 * IDX files (the MNIST / Fashion-MNIST format), raw or gzip-compressed.
 *
 * Layout (from the MNIST page by LeCun, Cortes and Burges): two zero bytes,
 * a type code (0x08 ubyte, 0x09 sbyte, 0x0B short, 0x0C int, 0x0D float,
 * 0x0E double), the number of dims, each dim as a big-endian u32, then the
 * elements in row-major order. All types are recognised and reported; only
 * ubyte (what the image and label files use) is read.
 */
#include "io-internal.h"

#define IDX_MAX_DIMS 8
/* The largest decompressed or raw IDX file read: 2 GiB (1 GiB on 32-bit
 * hosts); Fashion-MNIST's largest is 47 MB. */
#define IDX_MAX_BYTES ((size_t)1 << (sizeof(size_t) > 4 ? 31 : 30))

typedef rn__array_header idx_header;

static int32_t idx_dtype(int code) {
    switch (code) {
    case 0x08: return RN_DTYPE_U8;
    case 0x09: return RN_DTYPE_I8;
    case 0x0B: return RN_DTYPE_I16;
    case 0x0C: return RN_DTYPE_I32;
    case 0x0D: return RN_DTYPE_F32;
    case 0x0E: return RN_DTYPE_F64;
    default: return -1;
    }
}

static rn_status idx_parse(const rn_ctx *ctx, const char *src, const unsigned char *b, size_t size,
                           idx_header *h) {
    if (size < 4)
        return rn__error(ctx, RN_E_BAD_FORMAT,
                         "%s: IDX: truncated: %zu bytes, the header needs "
                         "at least 4",
                         src, size);
    if (b[0] != 0 || b[1] != 0)
        return rn__error(ctx, RN_E_BAD_FORMAT,
                         "%s: IDX: magic bytes %02x %02x at offset 0 are "
                         "not 00 00",
                         src, b[0], b[1]);
    h->dtype = idx_dtype(b[2]);
    if (h->dtype < 0)
        return rn__error(ctx, RN_E_BAD_FORMAT,
                         "%s: IDX: type code 0x%02x at offset 2 is not an "
                         "IDX type",
                         src, b[2]);
    h->ndim = b[3];
    if (h->ndim == 0)
        return rn__error(ctx, RN_E_BAD_FORMAT, "%s: IDX: the dim count at offset 3 is 0", src);
    if (h->ndim > IDX_MAX_DIMS)
        return rn__error(ctx, RN_E_UNSUPPORTED, "%s: IDX: %d dims (offset 3); at most %d are read",
                         src, (int)h->ndim, IDX_MAX_DIMS);
    size_t hdr = 4 + 4 * (size_t)h->ndim;
    if (size < hdr)
        return rn__error(ctx, RN_E_BAD_FORMAT,
                         "%s: IDX: truncated: %zu bytes, the %d dims end at "
                         "offset %zu",
                         src, size, (int)h->ndim, hdr);
    size_t count = 1;
    for (int32_t i = 0; i < h->ndim; i++) {
        uint32_t d = rn__be32(b + 4 + 4 * i);
        h->dims[i] = d;
        if (!rn__mul_size(count, d, &count))
            return rn__error(ctx, RN_E_OVERFLOW,
                             "%s: IDX: the element count overflows at dim %d "
                             "(%lu, offset %zu)",
                             src, (int)i, (unsigned long)d, (size_t)(4 + 4 * i));
    }
    rn_status st =
        rn__check_data_size(ctx, src, "IDX", h->dtype, h->ndim, h->dims, count, hdr, size);
    if (st) return st;
    h->count = count;
    h->data_offset = hdr;
    return RN_OK;
}

/* rn_idx_read_mem and _file (fn): the arguments checked, then path (from_file)
 * or buf[0, size) read. */
static rn_status idx_read(rn_ctx *ctx, const char *fn, int from_file, const char *path,
                          const void *buf, size_t size, uint8_t *dst, size_t dst_count) {
    if (!ctx) return RN_E_INVALID_ARG;
    RN_TRY(rn__check_read(ctx, fn, from_file, path, buf, dst, dst_count));
    rn__clear_error(ctx);
    rn__input in;
    rn_status st = rn__input_open(ctx, path, buf, size, IDX_MAX_BYTES, 1, &in);
    if (st) return st;
    idx_header h;
    st = idx_parse(ctx, in.name, in.data, in.size, &h);
    if (st == RN_OK && h.dtype != RN_DTYPE_U8)
        st = rn__error(ctx, RN_E_UNSUPPORTED,
                       "%s: IDX: type code 0x%02x (%s) at offset 2: only "
                       "ubyte (0x08) data is read",
                       in.name, (unsigned)in.data[2], rn__dtype_name(h.dtype));
    if (st == RN_OK && dst_count != h.count) {
        char dbuf[200];
        st =
            rn__error(ctx, RN_E_INVALID_ARG,
                      "%s: IDX: the array of shape %s has %zu elements, "
                      "dst_count is %zu",
                      in.name, rn__dims_str(h.ndim, h.dims, dbuf, sizeof dbuf), h.count, dst_count);
    }
    if (st == RN_OK && h.count) rn_memcpy(dst, in.data + h.data_offset, h.count);
    rn__input_free(ctx, &in);
    return st;
}

rn_status rn_idx_info_mem(rn_ctx *ctx, const void *buf, size_t size, int32_t *dtype, int32_t *ndim,
                          int64_t dims[8]) {
    return rn__array_info(ctx, "rn_idx_info_mem", 0, NULL, buf, size, IDX_MAX_BYTES, 1, idx_parse,
                          dtype, ndim, dims);
}

rn_status rn_idx_read_mem(rn_ctx *ctx, const void *buf, size_t size, uint8_t *dst,
                          size_t dst_count) {
    return idx_read(ctx, "rn_idx_read_mem", 0, NULL, buf, size, dst, dst_count);
}

#ifndef RN_NO_IO
rn_status rn_idx_info_file(rn_ctx *ctx, const char *path, int32_t *dtype, int32_t *ndim,
                           int64_t dims[8]) {
    return rn__array_info(ctx, "rn_idx_info_file", 1, path, NULL, 0, IDX_MAX_BYTES, 1, idx_parse,
                          dtype, ndim, dims);
}

rn_status rn_idx_read_file(rn_ctx *ctx, const char *path, uint8_t *dst, size_t dst_count) {
    return idx_read(ctx, "rn_idx_read_file", 1, path, NULL, 0, dst, dst_count);
}
#else
rn_status rn_idx_info_file(rn_ctx *ctx, const char *path, int32_t *dtype, int32_t *ndim,
                           int64_t dims[8]) {
    (void)path, (void)dtype, (void)ndim, (void)dims;
    return rn__no_file_io(ctx, "rn_idx_info_file");
}
rn_status rn_idx_read_file(rn_ctx *ctx, const char *path, uint8_t *dst, size_t dst_count) {
    (void)path, (void)dst, (void)dst_count;
    return rn__no_file_io(ctx, "rn_idx_read_file");
}
#endif

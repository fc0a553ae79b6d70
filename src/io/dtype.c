/*
 * Element types of arrays in files: sizes, names, and the conversion of
 * stored little-endian elements to float that every reader shares.
 */
#include "io-internal.h"

size_t rn__dtype_size(int32_t dtype) {
    switch (dtype) {
    case RN_DTYPE_F32: return 4;
    case RN_DTYPE_I64: return 8;
    case RN_DTYPE_I32: return 4;
    case RN_DTYPE_U8: return 1;
    case RN_DTYPE_F16: return 2;
    case RN_DTYPE_BF16: return 2;
    case RN_DTYPE_I8: return 1;
    case RN_DTYPE_I16: return 2;
    case RN_DTYPE_F64: return 8;
    default: return 0;
    }
}

const char *rn__dtype_name(int32_t dtype) {
    switch (dtype) {
    case RN_DTYPE_F32: return "F32";
    case RN_DTYPE_I64: return "I64";
    case RN_DTYPE_I32: return "I32";
    case RN_DTYPE_U8: return "U8";
    case RN_DTYPE_F16: return "F16";
    case RN_DTYPE_BF16: return "BF16";
    case RN_DTYPE_I8: return "I8";
    case RN_DTYPE_I16: return "I16";
    case RN_DTYPE_F64: return "F64";
    default: return "?";
    }
}

float rn__f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1Fu;
    uint32_t man = h & 0x3FFu;
    if (exp == 0x1F) /* Inf or NaN: keep the payload's top bits */
        return rn__f32_from_bits(sign | 0x7F800000u | (man << 13));
    if (exp == 0) {
        if (man == 0) return rn__f32_from_bits(sign);
        /* subnormal half: man * 2^-24, exact in float */
        float v = (float)man * (1.0f / 16777216.0f);
        return sign ? -v : v;
    }
    return rn__f32_from_bits(sign | ((exp + 112u) << 23) | (man << 13));
}

void rn__convert_to_f32(int32_t dtype, const unsigned char *src, size_t count, float *dst) {
    switch (dtype) {
    case RN_DTYPE_F32:
        for (size_t i = 0; i < count; i++) dst[i] = rn__f32_from_bits(rn__le32(src + 4 * i));
        break;
    case RN_DTYPE_F16:
        for (size_t i = 0; i < count; i++) dst[i] = rn__f16_to_f32(rn__le16(src + 2 * i));
        break;
    case RN_DTYPE_BF16:
        for (size_t i = 0; i < count; i++) dst[i] = rn__bf16_to_f32(rn__le16(src + 2 * i));
        break;
    case RN_DTYPE_I64:
        for (size_t i = 0; i < count; i++) dst[i] = (float)(int64_t)rn__le64(src + 8 * i);
        break;
    case RN_DTYPE_I32:
        for (size_t i = 0; i < count; i++) dst[i] = (float)(int32_t)rn__le32(src + 4 * i);
        break;
    case RN_DTYPE_I16:
        for (size_t i = 0; i < count; i++) dst[i] = (float)(int16_t)rn__le16(src + 2 * i);
        break;
    case RN_DTYPE_U8:
        for (size_t i = 0; i < count; i++) dst[i] = (float)src[i];
        break;
    case RN_DTYPE_I8:
        for (size_t i = 0; i < count; i++) dst[i] = (float)(int8_t)src[i];
        break;
    case RN_DTYPE_F64:
        for (size_t i = 0; i < count; i++) {
            uint64_t u = rn__le64(src + 8 * i);
            double d;
            rn_memcpy(&d, &u, sizeof d);
            dst[i] = (float)d;
        }
        break;
    default: break;
    }
}

int rn__same_dims(int32_t na, const int64_t *a, int32_t nb, const int64_t *b) {
    if (na != nb) return 0;
    for (int32_t d = 0; d < na; d++)
        if (a[d] != b[d]) return 0;
    return 1;
}

const char *rn__dims_str(int32_t ndim, const int64_t *dims, char *buf, size_t cap) {
    size_t used = 0;
    if (cap == 0) return buf;
    buf[0] = '\0';
#ifdef RN_HAVE_VSNPRINTF
    int n = snprintf(buf, cap, "[");
    used = n > 0 ? (size_t)n : 0;
    for (int32_t i = 0; i < ndim && used < cap; i++) {
        n = snprintf(buf + used, cap - used, i ? ",%lld" : "%lld", (long long)dims[i]);
        if (n < 0) break;
        used += (size_t)n;
    }
    if (used < cap) snprintf(buf + used, cap - used, "]");
#else
    (void)ndim;
    (void)dims;
    (void)used;
#endif
    return buf;
}

const char *rn__concat(char *buf, size_t cap, const char *a, const char *b) {
    size_t n = 0;
    if (cap == 0) return buf;
    for (const char *p = a; *p && n + 1 < cap; p++) buf[n++] = *p;
    for (const char *p = b; *p && n + 1 < cap; p++) buf[n++] = *p;
    buf[n] = '\0';
    return buf;
}

size_t rn__fmt_u64(uint64_t v, char out[24]) {
    char rev[24];
    size_t n = 0;
    do {
        rev[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++) out[i] = rev[n - 1 - i];
    out[n] = '\0';
    return n;
}

void rn__put_le_array(int32_t dtype, const void *host, size_t bytes, unsigned char *le) {
    size_t es = rn__dtype_size(dtype);
    const unsigned char *in = (const unsigned char *)host;
    if (es == 1 && bytes) rn_memcpy(le, in, bytes);
    for (size_t i = 0; es > 1 && i < bytes; i += es) {
        if (es == 2) {
            uint16_t v;
            rn_memcpy(&v, in + i, 2);
            rn__put_le16(le + i, v);
        } else if (es == 4) {
            uint32_t v;
            rn_memcpy(&v, in + i, 4);
            rn__put_le32(le + i, v);
        } else {
            uint64_t v;
            rn_memcpy(&v, in + i, 8);
            rn__put_le64(le + i, v);
        }
    }
}

rn_status rn__check_data_size(const rn_ctx *ctx, const char *src, const char *format, int32_t dtype,
                              int32_t ndim, const int64_t *dims, size_t count, size_t at,
                              size_t size) {
    size_t bytes;
    if (!rn__mul_size(count, rn__dtype_size(dtype), &bytes))
        return rn__error(ctx, RN_E_OVERFLOW, "%s: %s: %zu elements of %s overflow the byte size",
                         src, format, count, rn__dtype_name(dtype));
    if (size - at != bytes) {
        char dbuf[200];
        return rn__error(ctx, RN_E_BAD_FORMAT,
                         "%s: %s: shape %s of %s needs %zu data bytes at "
                         "offset %zu, the file has %zu",
                         src, format, rn__dims_str(ndim, dims, dbuf, sizeof dbuf),
                         rn__dtype_name(dtype), bytes, at, size - at);
    }
    return RN_OK;
}

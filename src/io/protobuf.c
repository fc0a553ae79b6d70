/*
 * Protocol-buffers wire format, bounded (see protobuf.h).
 */
#include "protobuf.h"

int rn__pb_varint(const unsigned char **p, const unsigned char *end, uint64_t *v) {
    const unsigned char *q = *p;
    uint64_t x = 0;
    for (int i = 0; i < 10; i++) {
        if (q >= end) return 0;
        unsigned char b = *q++;
        if (i == 9 && b > 1) return 0; /* beyond 64 bits */
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *p = q;
            *v = x;
            return 1;
        }
    }
    return 0;
}

int rn__pb_next(rn__pb *r, rn__pb_field *f, const char **why, size_t *at) {
    if (r->p >= r->end) return 0;
    *at = (size_t)(r->p - r->base);
    f->offset = *at;
    uint64_t tag;
    if (!rn__pb_varint(&r->p, r->end, &tag)) {
        *why = "truncated or overlong field tag";
        return -1;
    }
    uint64_t num = tag >> 3;
    f->wire = (uint32_t)(tag & 7);
    if (num == 0 || num > 536870911u) {
        *why = "field number 0 or out of range";
        return -1;
    }
    f->num = (uint32_t)num;
    f->data = NULL;
    f->len = 0;
    f->u = 0;
    switch (f->wire) {
    case RN_PB_VARINT:
        if (!rn__pb_varint(&r->p, r->end, &f->u)) {
            *why = "truncated or overlong varint";
            return -1;
        }
        return 1;
    case RN_PB_FIXED64:
    case RN_PB_FIXED32: {
        size_t n = f->wire == RN_PB_FIXED64 ? 8 : 4;
        if ((size_t)(r->end - r->p) < n) {
            *why = n == 8 ? "truncated 64-bit value" : "truncated 32-bit value";
            return -1;
        }
        f->u = n == 8 ? rn__le64(r->p) : rn__le32(r->p);
        r->p += n;
        return 1;
    }
    case RN_PB_BYTES: {
        uint64_t len;
        if (!rn__pb_varint(&r->p, r->end, &len)) {
            *why = "truncated or overlong length";
            return -1;
        }
        if (len > (uint64_t)(r->end - r->p)) {
            *why = "length runs past the end of the enclosing message";
            return -1;
        }
        f->data = r->p;
        f->len = (size_t)len;
        r->p += len;
        return 1;
    }
    default: *why = "unsupported wire type (groups or reserved)"; return -1;
    }
}

int64_t rn__pb_packed_count(const rn__pb_field *f, uint32_t elem_wire) {
    if (f->wire != RN_PB_BYTES) return f->wire == elem_wire ? 1 : -1;
    if (elem_wire == RN_PB_FIXED32) return f->len % 4 ? -1 : (int64_t)(f->len / 4);
    if (elem_wire == RN_PB_FIXED64) return f->len % 8 ? -1 : (int64_t)(f->len / 8);
    const unsigned char *p = f->data, *end = f->data + f->len;
    int64_t n = 0;
    while (p < end) {
        uint64_t v;
        if (!rn__pb_varint(&p, end, &v)) return -1;
        n++;
    }
    return n;
}

uint64_t rn__pb_packed_get(const rn__pb_field *f, uint32_t elem_wire, int64_t i,
                           const unsigned char **cursor) {
    if (f->wire != RN_PB_BYTES) return f->u;
    if (elem_wire == RN_PB_FIXED32) return rn__le32(f->data + 4 * (size_t)i);
    if (elem_wire == RN_PB_FIXED64) return rn__le64(f->data + 8 * (size_t)i);
    /* varints are read in order through *cursor (start it at NULL) */
    if (*cursor == NULL) *cursor = f->data;
    uint64_t v = 0;
    if (!rn__pb_varint(cursor, f->data + f->len, &v)) return 0; /* counted before: cannot fail */
    return v;
}

/* ---- writer ------------------------------------------------------------------ */
void rn__pbw_init(rn__pbw *w, rn_ctx *ctx) {
    w->ctx = ctx;
    w->buf = NULL;
    w->len = w->cap = 0;
    w->failed = 0;
}

void rn__pbw_free(rn__pbw *w) {
    rn__free(w->ctx, w->buf);
    w->buf = NULL;
    w->len = w->cap = 0;
}

static int reserve(rn__pbw *w, size_t more) {
    if (w->failed) return 0;
    if (more <= w->cap - w->len) return 1;
    size_t need = rn__sat_add(w->len, more), cap = w->cap ? w->cap : 256;
    while (cap < need) cap = rn__sat_mul(cap, 2);
    unsigned char *b = cap == SIZE_MAX ? NULL : rn__alloc(w->ctx, cap);
    if (!b) {
        w->failed = 1;
        return 0;
    }
    if (w->len) rn_memcpy(b, w->buf, w->len);
    rn__free(w->ctx, w->buf);
    w->buf = b;
    w->cap = cap;
    return 1;
}

static void put_varint(rn__pbw *w, uint64_t v) {
    if (!reserve(w, 10)) return;
    do {
        unsigned char b = (unsigned char)(v & 0x7f);
        v >>= 7;
        w->buf[w->len++] = (unsigned char)(b | (v ? 0x80 : 0));
    } while (v);
}

void rn__pbw_varint_field(rn__pbw *w, uint32_t num, uint64_t v) {
    put_varint(w, ((uint64_t)num << 3) | RN_PB_VARINT);
    put_varint(w, v);
}

void rn__pbw_fixed32_field(rn__pbw *w, uint32_t num, uint32_t v) {
    put_varint(w, ((uint64_t)num << 3) | RN_PB_FIXED32);
    if (!reserve(w, 4)) return;
    rn__put_le32(w->buf + w->len, v);
    w->len += 4;
}

void rn__pbw_bytes_field(rn__pbw *w, uint32_t num, const void *data, size_t len) {
    put_varint(w, ((uint64_t)num << 3) | RN_PB_BYTES);
    put_varint(w, len);
    if (!len || !reserve(w, len)) return;
    rn_memcpy(w->buf + w->len, data, len);
    w->len += len;
}

void rn__pbw_string_field(rn__pbw *w, uint32_t num, const char *s) {
    rn__pbw_bytes_field(w, num, s, rn_strlen(s));
}

void rn__pbw_message_field(rn__pbw *w, uint32_t num, rn__pbw *sub) {
    if (sub->failed) w->failed = 1;
    rn__pbw_bytes_field(w, num, sub->buf, sub->len);
    sub->len = 0;
}

/*
 * A bounded protocol-buffers wire-format reader and writer (the subset ONNX
 * files use), written for hostile input: every varint is at most 10 bytes,
 * every length is checked against the end of its enclosing message before
 * anything is read, groups (wire types 3 and 4) are refused, and nothing
 * recurses: a caller walks one message at a time and decides itself which
 * sub-messages to enter, so nesting depth is fixed by the schema it knows.
 */
#ifndef RN_PROTOBUF_H
#define RN_PROTOBUF_H

#include "io-internal.h"

#define RN_PB_VARINT 0
#define RN_PB_FIXED64 1
#define RN_PB_BYTES 2
#define RN_PB_FIXED32 5

/* A message being read: [p, end) of the buffer that starts at base (for
 * byte offsets in sentences). */
typedef struct rn__pb {
    const unsigned char *p, *end, *base;
} rn__pb;

typedef struct rn__pb_field {
    uint32_t num;              /* field number, >= 1 */
    uint32_t wire;             /* RN_PB_* */
    uint64_t u;                /* varint or fixed value */
    const unsigned char *data; /* RN_PB_BYTES payload */
    size_t len;
    size_t offset; /* of the field's tag, from base */
} rn__pb_field;

static inline rn__pb rn__pb_sub(const rn__pb *parent, const rn__pb_field *f) {
    rn__pb r;
    r.p = f->data;
    r.end = f->data + f->len;
    r.base = parent->base;
    return r;
}

/* Read one varint from [*p, end): 1 on success (advances *p), 0 when it is
 * truncated or longer than 10 bytes / 64 bits. */
int rn__pb_varint(const unsigned char **p, const unsigned char *end, uint64_t *v);

/* The next field of r: 1 read, 0 at the end of the message, -1 malformed
 * (*why gets a static phrase, *at the byte offset). */
int rn__pb_next(rn__pb *r, rn__pb_field *f, const char **why, size_t *at);

/* Elements of a repeated scalar field as stored in one occurrence: a
 * packed RN_PB_BYTES payload holds several, any other wire type one.
 * elem_wire is the scalar's own wire type (RN_PB_VARINT, RN_PB_FIXED32 or
 * RN_PB_FIXED64). Returns the count, or -1 when the packed payload is not a
 * whole number of elements / holds a bad varint. */
int64_t rn__pb_packed_count(const rn__pb_field *f, uint32_t elem_wire);
/* The i-th element (i < the count above) as raw 64 bits. */
uint64_t rn__pb_packed_get(const rn__pb_field *f, uint32_t elem_wire, int64_t i,
                           const unsigned char **cursor);

/* ---- writer: a growable buffer on the context ------------------------------ */
typedef struct rn__pbw {
    rn_ctx *ctx;
    unsigned char *buf;
    size_t len, cap;
    int failed; /* set once an allocation fails; later calls do nothing */
} rn__pbw;

void rn__pbw_init(rn__pbw *w, rn_ctx *ctx);
void rn__pbw_free(rn__pbw *w);
void rn__pbw_varint_field(rn__pbw *w, uint32_t num, uint64_t v);
void rn__pbw_fixed32_field(rn__pbw *w, uint32_t num, uint32_t v);
void rn__pbw_bytes_field(rn__pbw *w, uint32_t num, const void *data, size_t len);
void rn__pbw_string_field(rn__pbw *w, uint32_t num, const char *s);
/* A sub-message field holding what another writer built (then reset). */
void rn__pbw_message_field(rn__pbw *w, uint32_t num, rn__pbw *sub);

#endif /* RN_PROTOBUF_H */

/*
 * A strict JSON scanner (RFC 8259) for the safetensors header: the caller
 * drives it by the grammar it expects (object, string, integer...), so
 * nesting is bounded by that grammar and no document tree is built. Strings
 * are decoded (escapes, surrogate pairs) and checked to be valid UTF-8;
 * numbers are limited to non-negative integers, which is all safetensors
 * uses. Every error names the source and the byte offset.
 */
#ifndef RN_IO_JSON_H
#define RN_IO_JSON_H

#include "io-internal.h"

typedef struct rn_json {
    const rn_ctx *ctx;
    const char *src;        /* file name for messages */
    const unsigned char *p; /* the JSON text */
    size_t n, pos;
    size_t base; /* file offset of p[0], for messages */
} rn_json;

void rn__json_init(rn_json *j, const rn_ctx *ctx, const char *src, const void *text, size_t n,
                   size_t base);
/* Skip whitespace; then the next byte, or -1 at the end. */
int rn__json_peek(rn_json *j);
/* Skip whitespace and consume c if it is next; returns 1 if consumed. */
int rn__json_accept(rn_json *j, char c);
/* Like accept, but an error naming `what` when c is not next. */
rn_status rn__json_expect(rn_json *j, char c, const char *what);
/* A string value decoded into out (NUL-terminated). The decoded length
 * never exceeds the encoded one, so cap >= the remaining text + 1 always
 * suffices. \u0000 is refused (names are C strings). */
rn_status rn__json_string(rn_json *j, char *out, size_t cap, size_t *len);
/* A non-negative integer without sign, fraction or exponent, <= max. */
rn_status rn__json_uint(rn_json *j, uint64_t max, uint64_t *value);
/* An error at the current position: "<src>: safetensors header: <what> at offset 8+<pos>". */
rn_status rn__json_error(const rn_json *j, const char *what);

/* 1 when p[0, n) is valid UTF-8 (no overlong forms, surrogates or values
 * beyond U+10FFFF). */
int rn__utf8_valid(const unsigned char *p, size_t n);

#endif /* RN_IO_JSON_H */

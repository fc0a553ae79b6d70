/*
 * libFuzzer harness: the strict JSON scanner (src/io/json.h) on its own,
 * driven over any document it can read (objects, arrays, strings,
 * non-negative integers, nested up to 32 deep), with the integer limit taken
 * from the input's first 8 bytes. Checks against independent rules written
 * here: a decoded string is valid UTF-8 without NUL and no longer than its
 * encoding; an accepted integer is at most the limit and equals the digits
 * the scanner consumed (compared as decimal strings); refused digits are
 * too large, have a leading zero or a fraction; the position never passes the
 * end. Built and run by tools/ci/fuzz.sh.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static rn_ctx *ctx;
static uint64_t limit;
static char *buf;

/* The value of the digits p[0, n), or 0 with *over set when above max:
 * decided by comparing decimal strings (length, then digits), so it cannot
 * share an arithmetic slip with the scanner. */
static uint64_t digits_value(const unsigned char *p, size_t n, uint64_t max, int *over) {
    char m[24];
    size_t mn = 0;
    uint64_t x = max;
    do m[mn++] = (char)('0' + x % 10), x /= 10;
    while (x);
    for (size_t i = 0; i < mn / 2; i++) {
        char c = m[i];
        m[i] = m[mn - 1 - i], m[mn - 1 - i] = c;
    }
    while (n > 1 && p[0] == '0') p++, n--;
    *over = n > mn || (n == mn && memcmp(p, m, n) > 0);
    if (*over) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v = v * 10 + (uint64_t)(p[i] - '0');
    return v;
}

static void walk(rn_json *j, int depth) {
    if (depth > 32 || j->pos > j->n) return;
    int c = rn__json_peek(j);
    if (j->pos > j->n) __builtin_trap();
    if (c == '{' || c == '[') {
        const char close = c == '{' ? '}' : ']';
        j->pos++;
        if (rn__json_accept(j, close)) return;
        do {
            if (close == '}') {
                size_t len = 0, before = j->pos;
                if (rn__json_string(j, buf, j->n + 1, &len) != RN_OK) return;
                if (len > j->pos - before || memchr(buf, 0, len) ||
                    !rn__utf8_valid((const unsigned char *)buf, len))
                    __builtin_trap();
                if (rn__json_expect(j, ':', "expected ':'") != RN_OK) return;
            }
            walk(j, depth + 1);
        } while (rn__json_accept(j, ','));
        (void)rn__json_expect(j, close, "expected the end");
    } else if (c == '"') {
        size_t len = 0, before = j->pos;
        if (rn__json_string(j, buf, j->n + 1, &len) == RN_OK &&
            (len > j->pos - before || strlen(buf) != len ||
             !rn__utf8_valid((const unsigned char *)buf, len)))
            __builtin_trap();
    } else {
        size_t before = j->pos;
        uint64_t v = 0;
        if (rn__json_uint(j, limit, &v) == RN_OK) {
            int over = 0;
            uint64_t ref = digits_value(j->p + before, j->pos - before, limit, &over);
            if (v > limit || over || ref != v) __builtin_trap();
        } else if (j->pos < j->n && j->p[j->pos] >= '0' && j->p[j->pos] <= '9') {
            /* refused digits: too large, a leading zero, or a fraction after them */
            size_t e = j->pos;
            while (e < j->n && j->p[e] >= '0' && j->p[e] <= '9') e++;
            int over = 0;
            (void)digits_value(j->p + j->pos, e - j->pos, limit, &over);
            const int leading_zero = j->p[j->pos] == '0' && e - j->pos > 1;
            const int fraction = e < j->n && (j->p[e] == '.' || j->p[e] == 'e' || j->p[e] == 'E');
            if (!over && !leading_zero && !fraction) __builtin_trap();
        }
    }
    if (j->pos > j->n) __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!ctx && rn_ctx_create(&ctx) != RN_OK) return 0;
    if (size < 8) return 0;
    limit = 0;
    for (int i = 0; i < 8; i++) limit |= (uint64_t)data[i] << (8 * i);
    /* small limits matter most (the bug this target was written for was
     * there): use the low byte alone when the top bit of byte 7 is clear */
    if (!(data[7] & 0x80)) limit &= 0xFF;
    buf = (char *)malloc(size + 1);
    if (!buf) return 0;
    rn_json j;
    rn__json_init(&j, ctx, "<fuzz>", data + 8, size - 8, 8);
    walk(&j, 0);
    free(buf);
    return 0;
}

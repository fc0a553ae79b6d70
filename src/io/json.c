/*
 * The strict JSON scanner behind the safetensors header (see json.h).
 * Strictness is the point: the header comes from untrusted files, and every
 * accepted oddity is one more way for two readers to disagree about a file.
 */
#include "json.h"

void rn__json_init(rn_json *j, const rn_ctx *ctx, const char *src, const void *text, size_t n,
                   size_t base) {
    j->ctx = ctx;
    j->src = src;
    j->p = (const unsigned char *)text;
    j->n = n;
    j->pos = 0;
    j->base = base;
}

rn_status rn__json_error(const rn_json *j, const char *what) {
    if (j->pos >= j->n)
        return rn__error(j->ctx, RN_E_BAD_FORMAT,
                         "%s: JSON header: %s, found the end of the "
                         "header (offset %zu+%zu)",
                         j->src, what, j->base, j->pos);
    unsigned c = j->p[j->pos];
    if (c > 0x20 && c < 0x7F)
        return rn__error(j->ctx, RN_E_BAD_FORMAT,
                         "%s: JSON header: %s, found '%c' (offset "
                         "%zu+%zu)",
                         j->src, what, (char)c, j->base, j->pos);
    return rn__error(j->ctx, RN_E_BAD_FORMAT,
                     "%s: JSON header: %s, found byte 0x%02x (offset "
                     "%zu+%zu)",
                     j->src, what, c, j->base, j->pos);
}

static void skip_ws(rn_json *j) {
    while (j->pos < j->n) {
        unsigned char c = j->p[j->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        j->pos++;
    }
}

int rn__json_peek(rn_json *j) {
    skip_ws(j);
    return j->pos < j->n ? j->p[j->pos] : -1;
}

int rn__json_accept(rn_json *j, char c) {
    if (rn__json_peek(j) == (unsigned char)c) {
        j->pos++;
        return 1;
    }
    return 0;
}

rn_status rn__json_expect(rn_json *j, char c, const char *what) {
    return rn__json_accept(j, c) ? RN_OK : rn__json_error(j, what);
}

/* Length of the UTF-8 sequence at p (at most n bytes), 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, size_t n) {
    unsigned c = p[0];
    if (c < 0x80) return 1;
    size_t len;
    uint32_t cp, min;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, cp = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, cp = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, cp = c & 0x07, min = 0x10000;
    else
        return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

int rn__utf8_valid(const unsigned char *p, size_t n) {
    size_t i = 0;
    while (i < n) {
        size_t len = utf8_seq(p + i, n - i);
        if (!len) return 0;
        i += len;
    }
    return 1;
}

static int hex4(const unsigned char *p, uint32_t *v) {
    uint32_t r = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i];
        uint32_t d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return 0;
        r = (r << 4) | d;
    }
    *v = r;
    return 1;
}

static size_t put_utf8(char *out, uint32_t cp) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

rn_status rn__json_string(rn_json *j, char *out, size_t cap, size_t *len) {
    if (cap < 5) return rn__json_error(j, "string too long");
    if (rn__json_peek(j) != '"') return rn__json_error(j, "expected a string");
    j->pos++;
    size_t o = 0;
    for (;;) {
        if (j->pos >= j->n) return rn__json_error(j, "unterminated string");
        unsigned c = j->p[j->pos];
        /* no branch writes more than 4 bytes (plus the final NUL) */
        if (cap - o < 5) return rn__json_error(j, "string too long");
        if (c == '"') {
            j->pos++;
            break;
        }
        if (c < 0x20) return rn__json_error(j, "control character in a string");
        if (c != '\\') {
            size_t l = utf8_seq(j->p + j->pos, j->n - j->pos);
            if (!l) return rn__json_error(j, "invalid UTF-8 in a string");
            rn_memcpy(out + o, j->p + j->pos, l);
            o += l;
            j->pos += l;
            continue;
        }
        if (j->pos + 1 >= j->n) {
            j->pos++;
            return rn__json_error(j, "unterminated escape");
        }
        unsigned e = j->p[j->pos + 1];
        char simple = 0;
        switch (e) {
        case '"': simple = '"'; break;
        case '\\': simple = '\\'; break;
        case '/': simple = '/'; break;
        case 'b': simple = '\b'; break;
        case 'f': simple = '\f'; break;
        case 'n': simple = '\n'; break;
        case 'r': simple = '\r'; break;
        case 't': simple = '\t'; break;
        case 'u': break;
        default: j->pos++; return rn__json_error(j, "invalid escape");
        }
        if (simple) {
            out[o++] = simple;
            j->pos += 2;
            continue;
        }
        uint32_t cp;
        if (j->n - j->pos < 6 || !hex4(j->p + j->pos + 2, &cp)) {
            j->pos += 2;
            return rn__json_error(j, "\\u needs four hex digits");
        }
        if (cp >= 0xDC00 && cp <= 0xDFFF) return rn__json_error(j, "lone low surrogate");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t lo;
            if (j->n - j->pos < 12 || j->p[j->pos + 6] != '\\' || j->p[j->pos + 7] != 'u' ||
                !hex4(j->p + j->pos + 8, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                return rn__json_error(j, "high surrogate without a low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            j->pos += 6;
        }
        if (cp == 0) return rn__json_error(j, "\\u0000 in a string");
        o += put_utf8(out + o, cp);
        j->pos += 6;
    }
    out[o] = '\0';
    *len = o;
    return RN_OK;
}

rn_status rn__json_uint(rn_json *j, uint64_t max, uint64_t *value) {
    int c = rn__json_peek(j);
    if (c == '-') return rn__json_error(j, "expected a non-negative integer");
    if (c < '0' || c > '9') return rn__json_error(j, "expected an integer");
    size_t start = j->pos;
    uint64_t v = 0;
    while (j->pos < j->n && j->p[j->pos] >= '0' && j->p[j->pos] <= '9') {
        uint64_t d = (uint64_t)(j->p[j->pos] - '0');
        if (d > max || v > (max - d) / 10) { /* v * 10 + d > max, without wrapping */
            j->pos = start;
            return rn__json_error(j, "integer too large");
        }
        v = v * 10 + d;
        j->pos++;
    }
    if (j->p[start] == '0' && j->pos - start > 1) {
        j->pos = start;
        return rn__json_error(j, "integer with a leading zero");
    }
    if (j->pos < j->n && (j->p[j->pos] == '.' || j->p[j->pos] == 'e' || j->p[j->pos] == 'E'))
        return rn__json_error(j, "expected an integer without fraction or exponent");
    *value = v;
    return RN_OK;
}

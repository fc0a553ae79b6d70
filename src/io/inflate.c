/*
 * DEFLATE decoding (RFC 1951) and the gzip wrapper (RFC 1952), so the IDX
 * and CIFAR readers take compressed files without zlib.
 *
 * The input is hostile. The decoder never reads outside the input (a bit
 * buffer is refilled with zero bytes past the end, and consuming any of
 * those is reported as truncation), never writes past the output capacity,
 * refuses over-subscribed and (with the exceptions RFC 1951 implies)
 * incomplete Huffman codes, back-references before the start of the output,
 * and the reserved block type and symbols. gzip adds the header checks, the
 * CRC-32 and the ISIZE length, and a cap on the memory a small file can make
 * us allocate.
 *
 * Huffman decoding: canonical codes (RFC 1951 3.2.2) decoded through a
 * 2^HUFF_FAST_BITS lookup table indexed by the next input bits (bit-reversed
 * codes, since DEFLATE packs codes MSB first into an LSB-first stream); the
 * rare longer codes are decoded one bit at a time from the per-length counts.
 */
#include "io-internal.h"

#define HUFF_MAX_BITS 15
#define HUFF_FAST_BITS 10
#define HUFF_MAX_SYMBOLS 288
#define MAX_LITLEN_CODES 286 /* 257 + 29 length codes are all HLIT can name usefully */
#define MAX_DIST_CODES 30
/* A length-258 match costs at least 2 bits (two 1-bit codes), so DEFLATE
 * never expands a byte of input into more than 4 * 258 bytes. */
#define DEFLATE_MAX_RATIO 1032

typedef struct huff {
    /* fast[bits] = (length << 9) | symbol for codes of <= HUFF_FAST_BITS bits,
     * 0 where a longer (or no) code starts with those bits */
    uint16_t fast[1 << HUFF_FAST_BITS];
    uint16_t count[HUFF_MAX_BITS + 1]; /* codes of each length */
    uint16_t symbol[HUFF_MAX_SYMBOLS]; /* symbols ordered by code */
} huff;

typedef struct inflater {
    const rn_ctx *ctx;
    const char *src;
    size_t base; /* offset of in[0] in the file, for messages */
    const unsigned char *in;
    size_t in_size, pos; /* next input byte to load */
    size_t over;         /* zero bytes loaded past the end of the input */
    uint64_t bits;       /* bit buffer, next bit in bit 0 */
    int nbits;
    unsigned char *out;
    size_t out_cap, out_len;
} inflater;

static void refill(inflater *s) {
    while (s->nbits <= 56) {
        uint64_t byte = 0;
        if (s->pos < s->in_size)
            byte = s->in[s->pos++];
        else
            s->over++;
        s->bits |= byte << s->nbits;
        s->nbits += 8;
    }
}

/* Input bytes consumed so far (a partly used byte counts), possibly beyond
 * the real input when padding was consumed. */
static size_t consumed_bytes(const inflater *s) {
    return s->pos + s->over - (size_t)(s->nbits / 8);
}

/* 1 when the decoder has used bits that the input does not have. */
static int past_end(const inflater *s) { return s->over > 0 && consumed_bytes(s) > s->in_size; }

static uint32_t getbits(inflater *s, int n) {
    if (s->nbits < n) refill(s);
    uint32_t v = (uint32_t)(s->bits & ((((uint64_t)1) << n) - 1));
    s->bits >>= n;
    s->nbits -= n;
    return v;
}

static rn_status fail(const inflater *s, const char *what) {
    size_t at = consumed_bytes(s);
    if (at > s->in_size) at = s->in_size;
    return rn__error(s->ctx, RN_E_BAD_FORMAT,
                     "%s: deflate stream: %s (input offset %zu, %zu "
                     "bytes decoded)",
                     s->src, what, s->base + at, s->out_len);
}

static rn_status truncated(const inflater *s) {
    return rn__error(s->ctx, RN_E_BAD_FORMAT,
                     "%s: deflate stream: truncated: the %zu-byte "
                     "input ends inside a block (offset %zu, %zu bytes decoded)",
                     s->src, s->in_size, s->base + s->in_size, s->out_len);
}

static uint32_t reverse_bits(uint32_t code, int len) {
    uint32_t r = 0;
    for (int i = 0; i < len; i++) {
        r = (r << 1) | (code & 1);
        code >>= 1;
    }
    return r;
}

/* Build the decoder for n code lengths. Returns 0, or -1 for an
 * over-subscribed set, -2 for an incomplete one. RFC 1951 only needs
 * incomplete codes for a lone 1-bit code (a block with a single distance,
 * or a single literal/length besides nothing), so `allow_single` permits
 * exactly that case; an all-zero set is accepted and fails when used. */
static int huff_build(huff *h, const unsigned char *lens, int n, int allow_single) {
    uint16_t offs[HUFF_MAX_BITS + 2];
    rn_memset(h->count, 0, sizeof h->count);
    for (int i = 0; i < n; i++) h->count[lens[i]]++;
    int left = 1;
    for (int len = 1; len <= HUFF_MAX_BITS; len++) {
        left <<= 1;
        left -= h->count[len];
        if (left < 0) return -1;
    }
    int used = n - h->count[0];
    h->count[0] = 0;
    if (left > 0 && used > 0 && !(allow_single && used == 1 && h->count[1] == 1)) return -2;
    offs[1] = 0;
    for (int len = 1; len <= HUFF_MAX_BITS; len++)
        offs[len + 1] = (uint16_t)(offs[len] + h->count[len]);
    for (int i = 0; i < n; i++)
        if (lens[i]) h->symbol[offs[lens[i]]++] = (uint16_t)i;

    /* canonical codes, first code of each length (RFC 1951 3.2.2 step 2) */
    uint32_t next[HUFF_MAX_BITS + 1];
    uint32_t code = 0;
    next[0] = 0;
    for (int len = 1; len <= HUFF_MAX_BITS; len++) {
        code = (code + h->count[len - 1]) << 1;
        next[len] = code;
    }
    rn_memset(h->fast, 0, sizeof h->fast);
    for (int i = 0; i < n; i++) {
        int len = lens[i];
        if (!len) continue;
        uint32_t c = next[len]++;
        if (len > HUFF_FAST_BITS) continue;
        for (uint32_t j = reverse_bits(c, len); j < (1u << HUFF_FAST_BITS); j += 1u << len)
            h->fast[j] = (uint16_t)((len << 9) | i);
    }
    return 0;
}

/* Next symbol, or -1 for bits that are no code of h. */
static int decode(inflater *s, const huff *h) {
    if (s->nbits < HUFF_MAX_BITS) refill(s);
    uint16_t e = h->fast[s->bits & ((1u << HUFF_FAST_BITS) - 1)];
    if (e) {
        s->bits >>= e >> 9;
        s->nbits -= e >> 9;
        return e & 0x1FF;
    }
    /* canonical decoding: codes of each length are consecutive integers */
    uint64_t b = s->bits;
    int code = 0, first = 0, index = 0;
    for (int len = 1; len <= HUFF_MAX_BITS; len++) {
        code |= (int)(b & 1);
        b >>= 1;
        int count = h->count[len];
        if (code - first < count) {
            s->bits >>= len;
            s->nbits -= len;
            return h->symbol[index + (code - first)];
        }
        index += count;
        first = (first + count) << 1;
        code <<= 1;
    }
    return -1;
}

/* RFC 1951 3.2.5: base lengths and distances and their extra bits. */
static const uint16_t len_base[29] = {3,  4,  5,  6,   7,   8,   9,   10,  11, 13,
                                      15, 17, 19, 23,  27,  31,  35,  43,  51, 59,
                                      67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t dist_base[30] = {
    1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
    193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                       6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

static rn_status out_full(const inflater *s) {
    return rn__error(s->ctx, RN_E_BUFFER_TOO_SMALL,
                     "%s: deflate stream: the decompressed data "
                     "exceeds its %zu-byte limit (input offset %zu)",
                     s->src, s->out_cap, s->base + consumed_bytes(s));
}

/* Decode literal/length and distance codes until end of block. */
static rn_status inflate_codes(inflater *s, const huff *lit, const huff *dist) {
    for (;;) {
        refill(s); /* one refill covers the 15+5+15+13 bits of a match */
        if (past_end(s)) return truncated(s);
        int sym = decode(s, lit);
        if (sym < 0) return fail(s, "invalid literal/length code");
        if (sym < 256) {
            if (s->out_len == s->out_cap) return out_full(s);
            s->out[s->out_len++] = (unsigned char)sym;
            continue;
        }
        if (sym == 256) return past_end(s) ? truncated(s) : RN_OK;
        sym -= 257;
        if (sym >= 29) return fail(s, "length symbol 286 or 287 (reserved)");
        size_t len = len_base[sym] + getbits(s, len_extra[sym]);
        int ds = decode(s, dist);
        if (ds < 0) return fail(s, "invalid distance code");
        if (ds >= MAX_DIST_CODES) return fail(s, "distance symbol 30 or 31 (reserved)");
        size_t d = dist_base[ds] + getbits(s, dist_extra[ds]);
        if (past_end(s)) return truncated(s);
        if (d > s->out_len) return fail(s, "distance reaches before the start of the data");
        if (len > s->out_cap - s->out_len) return out_full(s);
        unsigned char *o = s->out + s->out_len;
        const unsigned char *from = o - d;
        /* byte by byte: a distance shorter than the length repeats the tail */
        for (size_t i = 0; i < len; i++) o[i] = from[i];
        s->out_len += len;
    }
}

static rn_status inflate_stored(inflater *s) {
    /* the rest of the current byte is padding; whole bytes in the bit buffer
     * go back to the input so the block can be copied directly */
    s->bits >>= s->nbits & 7;
    s->nbits -= s->nbits & 7;
    uint32_t len = getbits(s, 16);
    uint32_t nlen = getbits(s, 16);
    if (past_end(s)) return truncated(s);
    if ((len ^ 0xFFFFu) != nlen)
        return fail(s, "stored block length does not match its complement");
    size_t at = consumed_bytes(s);
    s->pos = at;
    s->over = 0;
    s->bits = 0;
    s->nbits = 0;
    if (len > s->in_size - at) {
        s->pos = s->in_size;
        return truncated(s);
    }
    if (len > s->out_cap - s->out_len) return out_full(s);
    if (len) rn_memcpy(s->out + s->out_len, s->in + at, len);
    s->out_len += len;
    s->pos += len;
    return RN_OK;
}

static rn_status inflate_dynamic(inflater *s, huff *lit, huff *dist) {
    static const uint8_t order[19] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                      11, 4,  12, 3, 13, 2, 14, 1, 15};
    unsigned char lens[MAX_LITLEN_CODES + MAX_DIST_CODES + 3];
    int nlen = (int)getbits(s, 5) + 257;
    int ndist = (int)getbits(s, 5) + 1;
    int ncode = (int)getbits(s, 4) + 4;
    if (nlen > MAX_LITLEN_CODES || ndist > MAX_DIST_CODES)
        return fail(s, "dynamic block header names more than 286 length or 30 distance codes");
    unsigned char cl[19];
    rn_memset(cl, 0, sizeof cl);
    for (int i = 0; i < ncode; i++) cl[order[i]] = (unsigned char)getbits(s, 3);
    if (past_end(s)) return truncated(s);
    /* the code-length code must be complete: no single-code exception */
    int r = huff_build(lit, cl, 19, 0);
    if (r == -1) return fail(s, "over-subscribed code-length code");
    if (r == -2) return fail(s, "incomplete code-length code");
    int i = 0;
    while (i < nlen + ndist) {
        refill(s);
        if (past_end(s)) return truncated(s);
        int sym = decode(s, lit);
        if (sym < 0) return fail(s, "invalid code-length code");
        if (sym < 16) {
            lens[i++] = (unsigned char)sym;
            continue;
        }
        unsigned char value = 0;
        int repeat;
        if (sym == 16) {
            if (i == 0) return fail(s, "code length repeat with no previous length");
            value = lens[i - 1];
            repeat = 3 + (int)getbits(s, 2);
        } else if (sym == 17) {
            repeat = 3 + (int)getbits(s, 3);
        } else {
            repeat = 11 + (int)getbits(s, 7);
        }
        if (i + repeat > nlen + ndist)
            return fail(s, "code length repeat runs past the code count");
        while (repeat--) lens[i++] = value;
    }
    if (lens[256] == 0) return fail(s, "the end-of-block code has no length");
    r = huff_build(lit, lens, nlen, 1);
    if (r == -1) return fail(s, "over-subscribed literal/length code");
    if (r == -2) return fail(s, "incomplete literal/length code");
    r = huff_build(dist, lens + nlen, ndist, 1);
    if (r == -1) return fail(s, "over-subscribed distance code");
    if (r == -2) return fail(s, "incomplete distance code");
    return inflate_codes(s, lit, dist);
}

static void build_fixed(huff *lit, huff *dist) {
    unsigned char lens[HUFF_MAX_SYMBOLS];
    int i = 0;
    for (; i < 144; i++) lens[i] = 8;
    for (; i < 256; i++) lens[i] = 9;
    for (; i < 280; i++) lens[i] = 7;
    for (; i < 288; i++) lens[i] = 8;
    (void)huff_build(lit, lens, 288, 0);
    /* 32 five-bit codes; 30 and 31 are refused when decoded */
    for (i = 0; i < 32; i++) lens[i] = 5;
    (void)huff_build(dist, lens, 32, 0);
}

rn_status rn__inflate(const rn_ctx *ctx, const char *src, size_t base, const unsigned char *in,
                      size_t in_size, unsigned char *out, size_t out_cap, size_t *out_size,
                      size_t *in_used) {
    inflater s;
    rn_memset(&s, 0, sizeof s);
    s.ctx = ctx;
    s.src = src;
    s.base = base;
    s.in = in;
    s.in_size = in_size;
    s.out = out;
    s.out_cap = out_cap;
    huff lit, dist;
    int fixed_built = 0;
    huff fixed_lit, fixed_dist;
    int last;
    do {
        refill(&s);
        if (past_end(&s)) return truncated(&s);
        last = (int)getbits(&s, 1);
        int type = (int)getbits(&s, 2);
        rn_status st;
        if (type == 0) {
            st = inflate_stored(&s);
        } else if (type == 1) {
            if (!fixed_built) {
                build_fixed(&fixed_lit, &fixed_dist);
                fixed_built = 1;
            }
            st = inflate_codes(&s, &fixed_lit, &fixed_dist);
        } else if (type == 2) {
            st = inflate_dynamic(&s, &lit, &dist);
        } else {
            st = fail(&s, "block type 3 (reserved)");
        }
        if (st) return st;
    } while (!last);
    if (past_end(&s)) return truncated(&s);
    *out_size = s.out_len;
    *in_used = consumed_bytes(&s);
    return RN_OK;
}

uint32_t rn__crc32(uint32_t crc, const unsigned char *p, size_t n) {
    /* The table costs 2048 steps to build: nothing next to the data, and it
     * keeps the library free of global state. */
    uint32_t table[256];
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    crc = ~crc;
    for (size_t i = 0; i < n; i++) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

int rn__is_gzip(const void *buf, size_t size) {
    const unsigned char *b = (const unsigned char *)buf;
    return size >= 2 && b[0] == 0x1F && b[1] == 0x8B;
}

/* Offset just past the NUL ending a string field that starts at pos, or 0. */
static size_t skip_zstring(const unsigned char *b, size_t pos, size_t end) {
    for (size_t i = pos; i < end; i++)
        if (b[i] == 0) return i + 1;
    return 0;
}

rn_status rn__gunzip(rn_ctx *ctx, const char *src, const void *buf, size_t size, size_t max_out,
                     unsigned char **out, size_t *out_size) {
    const unsigned char *b = (const unsigned char *)buf;
    /* 10-byte header, at least a 2-byte deflate stream, 8-byte trailer */
    if (size < 20)
        return rn__error(ctx, RN_E_BAD_FORMAT,
                         "%s: gzip: truncated: %zu bytes, a gzip member "
                         "has at least 20",
                         src, size);
    if (b[0] != 0x1F || b[1] != 0x8B)
        return rn__error(ctx, RN_E_BAD_FORMAT, "%s: gzip: bad magic %02x %02x at offset 0", src,
                         b[0], b[1]);
    if (b[2] != 8)
        return rn__error(ctx, RN_E_BAD_FORMAT,
                         "%s: gzip: compression method %d at offset 2 is "
                         "not deflate (8)",
                         src, b[2]);
    unsigned flags = b[3];
    if (flags & 0xE0)
        return rn__error(ctx, RN_E_BAD_FORMAT,
                         "%s: gzip: reserved flag bits 0x%02x set at "
                         "offset 3",
                         src, flags & 0xE0);
    size_t end = size - 8; /* the trailer */
    size_t pos = 10;
    if (flags & 0x04) { /* FEXTRA */
        if (end - pos < 2)
            return rn__error(ctx, RN_E_BAD_FORMAT,
                             "%s: gzip: extra field length truncated at "
                             "offset %zu",
                             src, pos);
        size_t xlen = rn__le16(b + pos);
        pos += 2;
        if (xlen > end - pos)
            return rn__error(ctx, RN_E_BAD_FORMAT,
                             "%s: gzip: extra field of %zu bytes at offset "
                             "%zu runs into the trailer",
                             src, xlen, pos);
        pos += xlen;
    }
    for (unsigned f = 0x08; f <= 0x10; f <<= 1) { /* FNAME, then FCOMMENT */
        if (!(flags & f)) continue;
        size_t next = skip_zstring(b, pos, end);
        if (!next)
            return rn__error(ctx, RN_E_BAD_FORMAT,
                             "%s: gzip: the %s at offset %zu has no "
                             "terminating NUL",
                             src, f == 0x08 ? "file name" : "comment", pos);
        pos = next;
    }
    if (flags & 0x02) { /* FHCRC: low 16 bits of the CRC-32 of the header */
        if (end - pos < 2)
            return rn__error(ctx, RN_E_BAD_FORMAT, "%s: gzip: header CRC truncated at offset %zu",
                             src, pos);
        uint32_t want = rn__le16(b + pos);
        uint32_t got = rn__crc32(0, b, pos) & 0xFFFFu;
        if (want != got)
            return rn__error(ctx, RN_E_BAD_FORMAT,
                             "%s: gzip: header CRC %04x at offset %zu does "
                             "not match the header (%04x)",
                             src, (unsigned)want, pos, (unsigned)got);
        pos += 2;
    }
    uint32_t want_crc = rn__le32(b + end);
    uint32_t isize = rn__le32(b + end + 4);
    if (max_out > 0xFFFFFFFFu) max_out = 0xFFFFFFFFu; /* ISIZE is the length mod 2^32 */
    /* a lying ISIZE (or a truncated file, whose last bytes are no trailer)
     * is a format error; an honest one over the limit is a size we refuse */
    size_t bound;
    if (rn__mul_size(end - pos, DEFLATE_MAX_RATIO, &bound) && (size_t)isize > bound)
        return rn__error(ctx, RN_E_BAD_FORMAT,
                         "%s: gzip: ISIZE at offset %zu announces %lu "
                         "bytes, more than %zu compressed bytes can hold",
                         src, end + 4, (unsigned long)isize, end - pos);
    if ((size_t)isize > max_out)
        return rn__error(ctx, RN_E_UNSUPPORTED,
                         "%s: gzip: ISIZE at offset %zu announces %lu "
                         "bytes, more than the %zu-byte limit",
                         src, end + 4, (unsigned long)isize, max_out);
    unsigned char *data = (unsigned char *)rn__alloc(ctx, isize);
    if (!data)
        return rn__error(ctx, RN_E_NO_MEMORY, "%s: gzip: cannot allocate %lu bytes", src,
                         (unsigned long)isize);
    size_t got = 0, used = 0;
    rn_status st = rn__inflate(ctx, src, pos, b + pos, end - pos, data, isize, &got, &used);
    if (st == RN_E_BUFFER_TOO_SMALL)
        st = rn__error(ctx, RN_E_BAD_FORMAT,
                       "%s: gzip: the data decompresses to more than the "
                       "%lu bytes ISIZE (offset %zu) announces",
                       src, (unsigned long)isize, end + 4);
    else if (st == RN_OK && used != end - pos)
        st = rn__error(ctx, RN_E_BAD_FORMAT,
                       "%s: gzip: %zu unexpected bytes after the deflate "
                       "stream at offset %zu (only single-member files are read)",
                       src, end - pos - used, pos + used);
    else if (st == RN_OK && got != isize)
        st = rn__error(ctx, RN_E_BAD_FORMAT,
                       "%s: gzip: ISIZE at offset %zu announces %lu bytes, "
                       "the data decompresses to %zu",
                       src, end + 4, (unsigned long)isize, got);
    if (st == RN_OK) {
        uint32_t crc = rn__crc32(0, data, got);
        if (crc != want_crc)
            st = rn__error(ctx, RN_E_BAD_FORMAT,
                           "%s: gzip: CRC-32 %08lx at offset %zu does not "
                           "match the data (%08lx)",
                           src, (unsigned long)want_crc, end, (unsigned long)crc);
    }
    if (st) {
        rn__free(ctx, data);
        return st;
    }
    *out = data;
    *out_size = got;
    return RN_OK;
}

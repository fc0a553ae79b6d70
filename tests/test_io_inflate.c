/*
 * The library's own DEFLATE and gzip decoder: streams made by zlib (stored,
 * fixed and dynamic Huffman blocks) and Python's gzip decode to the bytes
 * they were made from; hand-assembled hostile streams (bad Huffman tables,
 * reserved symbols, distances before the start), truncations, bad CRCs and
 * lying ISIZE trailers are refused without reading or writing out of bounds.
 */
#define _POSIX_C_SOURCE 200809L
#include "test_io_common.h"
#include "io/io-internal.h"

static rn_ctx *new_ctx(void) {
    rn_ctx *ctx = NULL;
    if (rn_ctx_create(&ctx) != RN_OK) rn_test_failed_checks++;
    return ctx;
}

/* Inflate a copy of exactly n bytes (so ASan catches any over-read). */
static rn_status inflate_copy(rn_ctx *ctx, const unsigned char *in, size_t n, unsigned char *out,
                              size_t cap, size_t *got, size_t *used) {
    unsigned char *copy = (unsigned char *)malloc(n ? n : 1);
    memcpy(copy, in, n);
    rn_status st = rn__inflate(ctx, "<test>", 0, copy, n, out, cap, got, used);
    free(copy);
    return st;
}

static void test_inflate_decodes_zlib_stored_fixed_and_dynamic_blocks(void) {
    rn_ctx *ctx = new_ctx();
    size_t plain_n;
    unsigned char *plain = load_fixture("inflate_plain.bin", &plain_n);
    const char *names[3] = {"inflate_stored.deflate", "inflate_fixed.deflate",
                            "inflate_dynamic.deflate"};
    for (int k = 0; k < 3 && plain; k++) {
        size_t n;
        unsigned char *in = load_fixture(names[k], &n);
        if (!in) continue;
        unsigned char *out = (unsigned char *)malloc(plain_n);
        size_t got = 0, used = 0;
        CHECK_OK(inflate_copy(ctx, in, n, out, plain_n, &got, &used), ctx);
        CHECK(got == plain_n && used == n);
        CHECK(memcmp(out, plain, plain_n) == 0);
        /* one byte less room: refused, never written past */
        CHECK_STATUS(inflate_copy(ctx, in, n, out, plain_n - 1, &got, &used), RN_E_BUFFER_TOO_SMALL,
                     ctx);
        free(out);
        free(in);
    }
    free(plain);
    rn_ctx_destroy(ctx);
}

static void test_inflate_refuses_every_truncation(void) {
    rn_ctx *ctx = new_ctx();
    const char *names[3] = {"inflate_stored.deflate", "inflate_fixed.deflate",
                            "inflate_dynamic.deflate"};
    unsigned char *out = (unsigned char *)malloc(8192);
    for (int k = 0; k < 3; k++) {
        size_t n;
        unsigned char *in = load_fixture(names[k], &n);
        if (!in) continue;
        for (size_t cut = 0; cut < n; cut++) {
            size_t got, used;
            rn_status st = inflate_copy(ctx, in, cut, out, 8192, &got, &used);
            if (st != RN_E_BAD_FORMAT) {
                fprintf(stderr, "  %s cut to %zu bytes: status %d\n", names[k], cut, (int)st);
                rn_test_failed_checks++;
                break;
            }
        }
        free(in);
    }
    free(out);
    rn_ctx_destroy(ctx);
}

static void test_gunzip_python_gzip_file_checks_crc_and_isize(void) {
    rn_ctx *ctx = new_ctx();
    size_t plain_n = 0, n = 0;
    unsigned char *plain = load_fixture("inflate_plain.bin", &plain_n);
    unsigned char *gz = load_fixture("inflate_plain.gz", &n);
    if (!plain || !gz) goto done;
    CHECK(rn__is_gzip(gz, n) && (gz[3] & 0x08)); /* Python wrote the FNAME field */
    unsigned char *out = NULL;
    size_t got = 0;
    CHECK_OK(rn__gunzip(ctx, "<test>", gz, n, 1 << 20, &out, &got), ctx);
    CHECK(got == plain_n && out && memcmp(out, plain, plain_n) == 0);
    rn__free(ctx, out);

    unsigned char *bad = (unsigned char *)malloc(n);
    /* CRC-32 off by one bit */
    memcpy(bad, gz, n);
    bad[n - 8] ^= 1;
    CHECK_STATUS(rn__gunzip(ctx, "x.gz", bad, n, 1 << 20, &out, &got), RN_E_BAD_FORMAT, ctx);
    CHECK(strstr(rn_last_error(ctx), "CRC-32") && strstr(rn_last_error(ctx), "x.gz"));
    /* ISIZE one more than the data: the stream ends early */
    memcpy(bad, gz, n);
    bad[n - 4]++;
    CHECK_STATUS(rn__gunzip(ctx, "x.gz", bad, n, 1 << 20, &out, &got), RN_E_BAD_FORMAT, ctx);
    CHECK(strstr(rn_last_error(ctx), "ISIZE") != NULL);
    /* ISIZE one less: the data would overflow the allocation */
    memcpy(bad, gz, n);
    bad[n - 4]--;
    CHECK_STATUS(rn__gunzip(ctx, "x.gz", bad, n, 1 << 20, &out, &got), RN_E_BAD_FORMAT, ctx);
    CHECK(strstr(rn_last_error(ctx), "more than") != NULL);
    /* ISIZE of 4 GiB - 1 from a 2 KB file: refused before any allocation */
    memcpy(bad, gz, n);
    memset(bad + n - 4, 0xFF, 4);
    CHECK_STATUS(rn__gunzip(ctx, "x.gz", bad, n, (size_t)1 << 40, &out, &got), RN_E_BAD_FORMAT,
                 ctx);
    CHECK(strstr(rn_last_error(ctx), "compressed bytes can hold") != NULL);
    /* a limit below the real size */
    CHECK_STATUS(rn__gunzip(ctx, "x.gz", gz, n, 100, &out, &got), RN_E_UNSUPPORTED, ctx);
    /* method, reserved flags, unterminated name */
    memcpy(bad, gz, n);
    bad[2] = 7;
    CHECK_STATUS(rn__gunzip(ctx, "x.gz", bad, n, 1 << 20, &out, &got), RN_E_BAD_FORMAT, ctx);
    memcpy(bad, gz, n);
    bad[3] |= 0x80;
    CHECK_STATUS(rn__gunzip(ctx, "x.gz", bad, n, 1 << 20, &out, &got), RN_E_BAD_FORMAT, ctx);
    memcpy(bad, gz, n);
    bad[3] |= 0x10; /* FCOMMENT: the comment would swallow the stream */
    memset(bad + 10, 'a', n - 10);
    CHECK_STATUS(rn__gunzip(ctx, "x.gz", bad, n, 1 << 20, &out, &got), RN_E_BAD_FORMAT, ctx);
    CHECK(strstr(rn_last_error(ctx), "NUL") != NULL);
    free(bad);
    /* two members back to back: only single-member files are read */
    unsigned char *two = (unsigned char *)malloc(2 * n);
    memcpy(two, gz, n);
    memcpy(two + n, gz, n);
    CHECK_STATUS(rn__gunzip(ctx, "x.gz", two, 2 * n, 1 << 20, &out, &got), RN_E_BAD_FORMAT, ctx);
    free(two);
done:
    free(plain);
    free(gz);
    rn_ctx_destroy(ctx);
}

/* A gzip member around a stored block, with optional header fields. */
static size_t make_gzip(unsigned char *b, unsigned flags, const char *payload, int header_crc_ok) {
    size_t n = 0, len = strlen(payload);
    const unsigned char head[10] = {0x1F, 0x8B, 8, (unsigned char)flags, 0, 0, 0, 0, 0, 255};
    memcpy(b, head, 10);
    n = 10;
    if (flags & 0x04) { /* FEXTRA: 4 bytes */
        b[n++] = 4;
        b[n++] = 0;
        memcpy(b + n, "ab\0\0", 4);
        n += 4;
    }
    if (flags & 0x08) {
        memcpy(b + n, "name", 5);
        n += 5;
    }
    if (flags & 0x10) {
        memcpy(b + n, "comment", 8);
        n += 8;
    }
    if (flags & 0x02) {
        uint32_t c = rn__crc32(0, b, n) & 0xFFFF;
        if (!header_crc_ok) c ^= 1;
        b[n++] = (unsigned char)c;
        b[n++] = (unsigned char)(c >> 8);
    }
    b[n++] = 1; /* final stored block */
    b[n++] = (unsigned char)len;
    b[n++] = 0;
    b[n++] = (unsigned char)~len;
    b[n++] = 0xFF;
    memcpy(b + n, payload, len);
    n += len;
    uint32_t crc = rn__crc32(0, (const unsigned char *)payload, len);
    for (int i = 0; i < 4; i++) b[n++] = (unsigned char)(crc >> (8 * i));
    for (int i = 0; i < 4; i++) b[n++] = (unsigned char)(len >> (8 * i));
    return n;
}

static void test_gunzip_header_fields_and_header_crc(void) {
    rn_ctx *ctx = new_ctx();
    unsigned char b[256];
    unsigned char *out;
    size_t got;
    size_t n = make_gzip(b, 0x04 | 0x08 | 0x10 | 0x02, "hello gzip", 1);
    CHECK_OK(rn__gunzip(ctx, "<t>", b, n, 1000, &out, &got), ctx);
    CHECK(got == 10 && memcmp(out, "hello gzip", 10) == 0);
    rn__free(ctx, out);
    n = make_gzip(b, 0x02, "hello gzip", 0);
    CHECK_STATUS(rn__gunzip(ctx, "<t>", b, n, 1000, &out, &got), RN_E_BAD_FORMAT, ctx);
    CHECK(strstr(rn_last_error(ctx), "header CRC") != NULL);
    /* an empty payload is a valid file */
    n = make_gzip(b, 0, "", 1);
    CHECK_OK(rn__gunzip(ctx, "<t>", b, n, 1000, &out, &got), ctx);
    CHECK(got == 0);
    rn__free(ctx, out);
    rn_ctx_destroy(ctx);
}

/* Every single-bit flip of a gzip file is refused or (in fields without a
 * check, like MTIME) decodes to the same data; nothing crashes. */
static void test_gunzip_single_bit_flips_never_give_wrong_data(void) {
    rn_ctx *ctx = new_ctx();
    size_t plain_n = 0, n = 0;
    unsigned char *plain = load_fixture("inflate_plain.bin", &plain_n);
    unsigned char *gz = load_fixture("inflate_plain.gz", &n);
    if (!plain || !gz) goto done;
    unsigned char *bad = (unsigned char *)malloc(n);
    size_t accepted = 0;
    for (size_t bit = 0; bit < 8 * n; bit++) {
        memcpy(bad, gz, n);
        bad[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        unsigned char *out = NULL;
        size_t got = 0;
        rn_status st = rn__gunzip(ctx, "<t>", bad, n, 1 << 20, &out, &got);
        if (st == RN_OK) {
            accepted++;
            if (got != plain_n || memcmp(out, plain, plain_n) != 0) {
                fprintf(stderr, "  bit %zu flipped: wrong data accepted\n", bit);
                rn_test_failed_checks++;
            }
            rn__free(ctx, out);
        }
    }
    /* FTEXT, MTIME, XFL, OS and FNAME bytes carry no check: 1+32+8+8+... */
    CHECK(accepted < 8 * 40);
    free(bad);
done:
    free(plain);
    free(gz);
    rn_ctx_destroy(ctx);
}

/* ---- hand-assembled streams ---------------------------------------------- */
typedef struct {
    unsigned char b[512];
    size_t bit;
} bitw;

static void put_bits(bitw *w, uint32_t v, int n) { /* LSB first, as DEFLATE packs values */
    for (int i = 0; i < n; i++, w->bit++)
        if ((v >> i) & 1) w->b[w->bit / 8] |= (unsigned char)(1u << (w->bit % 8));
}
static void put_code(bitw *w, uint32_t code, int len) { /* Huffman codes go MSB first */
    for (int i = len - 1; i >= 0; i--) put_bits(w, (code >> i) & 1, 1);
}
static void fixed_lit(bitw *w, int sym) {
    if (sym < 144)
        put_code(w, 0x30 + sym, 8);
    else if (sym < 256)
        put_code(w, 0x190 + sym - 144, 9);
    else if (sym < 280)
        put_code(w, sym - 256, 7);
    else
        put_code(w, 0xC0 + sym - 280, 8);
}

static void expect_refused(rn_ctx *ctx, const bitw *w, const char *fragment) {
    unsigned char out[64];
    size_t got, used;
    /* 8 spare zero bytes so the error is the one aimed at, not truncation */
    rn_status st = inflate_copy(ctx, w->b, w->bit / 8 + 9, out, sizeof out, &got, &used);
    if (st != RN_E_BAD_FORMAT || !strstr(rn_last_error(ctx), fragment)) {
        fprintf(stderr, "  expected \"%s\", got %d: %s\n", fragment, (int)st, rn_last_error(ctx));
        rn_test_failed_checks++;
    }
}

/* Dynamic block header whose code-length code gives symbols 0, 1, 2 and 18
 * two bits each (codes 00, 01, 10, 11), followed by the given lengths. */
static void dyn_header(bitw *w, int hlit, int hdist) {
    put_bits(w, 1, 1);
    put_bits(w, 2, 2);
    put_bits(w, (uint32_t)(hlit - 257), 5);
    put_bits(w, (uint32_t)(hdist - 1), 5);
    put_bits(w, 18 - 4, 4);
    /* order: 16 17 18 0 8 7 9 6 10 5 11 4 12 3 13 2 14 1 */
    const int len_of[18] = {0, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2};
    for (int i = 0; i < 18; i++) put_bits(w, (uint32_t)len_of[i], 3);
}
static void dyn_len(bitw *w, int len) { put_code(w, (uint32_t)len, 2); } /* 0, 1 or 2 */
static void dyn_zeros(bitw *w, int count) {                              /* 11..138 zeros */
    put_code(w, 3, 2);
    put_bits(w, (uint32_t)(count - 11), 7);
}

static void test_inflate_refuses_bad_huffman_tables(void) {
    rn_ctx *ctx = new_ctx();
    bitw w;
    /* code-length code over-subscribed: all 19 lengths 1 */
    memset(&w, 0, sizeof w);
    put_bits(&w, 1, 1);
    put_bits(&w, 2, 2);
    put_bits(&w, 0, 5);
    put_bits(&w, 0, 5);
    put_bits(&w, 15, 4);
    for (int i = 0; i < 19; i++) put_bits(&w, 1, 3);
    expect_refused(ctx, &w, "over-subscribed code-length code");
    /* code-length code incomplete: a lone 1-bit code */
    memset(&w, 0, sizeof w);
    put_bits(&w, 1, 1);
    put_bits(&w, 2, 2);
    put_bits(&w, 0, 5);
    put_bits(&w, 0, 5);
    put_bits(&w, 0, 4);
    put_bits(&w, 1, 3);
    put_bits(&w, 0, 9);
    expect_refused(ctx, &w, "incomplete code-length code");
    /* literal/length code over-subscribed: three 1-bit codes */
    memset(&w, 0, sizeof w);
    dyn_header(&w, 257, 1);
    dyn_len(&w, 1), dyn_len(&w, 1), dyn_zeros(&w, 138), dyn_zeros(&w, 116), dyn_len(&w, 1);
    dyn_len(&w, 1);
    expect_refused(ctx, &w, "over-subscribed literal/length code");
    /* literal/length code incomplete: two 2-bit codes */
    memset(&w, 0, sizeof w);
    dyn_header(&w, 257, 1);
    dyn_len(&w, 2), dyn_zeros(&w, 138), dyn_zeros(&w, 117), dyn_len(&w, 2), dyn_len(&w, 1);
    expect_refused(ctx, &w, "incomplete literal/length code");
    /* distance code over-subscribed: three 1-bit codes */
    memset(&w, 0, sizeof w);
    dyn_header(&w, 257, 3);
    dyn_len(&w, 1), dyn_zeros(&w, 138), dyn_zeros(&w, 117), dyn_len(&w, 1);
    dyn_len(&w, 1), dyn_len(&w, 1), dyn_len(&w, 1);
    expect_refused(ctx, &w, "over-subscribed distance code");
    /* no code for end-of-block */
    memset(&w, 0, sizeof w);
    dyn_header(&w, 257, 1);
    dyn_len(&w, 1), dyn_len(&w, 1), dyn_zeros(&w, 138), dyn_zeros(&w, 117), dyn_len(&w, 1);
    expect_refused(ctx, &w, "end-of-block");
    /* a repeat count running past HLIT + HDIST */
    memset(&w, 0, sizeof w);
    dyn_header(&w, 257, 1);
    dyn_zeros(&w, 138), dyn_zeros(&w, 138);
    expect_refused(ctx, &w, "runs past");
    /* HLIT of 287 names reserved codes */
    memset(&w, 0, sizeof w);
    put_bits(&w, 1, 1);
    put_bits(&w, 2, 2);
    put_bits(&w, 30, 5);
    expect_refused(ctx, &w, "more than 286");
    /* a lone 1-bit code (only end-of-block) is valid: '0' ends the block... */
    memset(&w, 0, sizeof w);
    dyn_header(&w, 257, 1);
    dyn_zeros(&w, 138), dyn_zeros(&w, 118), dyn_len(&w, 1), dyn_len(&w, 0);
    size_t mark = w.bit;
    put_bits(&w, 0, 1);
    unsigned char out[8];
    size_t got = 9, used;
    CHECK_OK(inflate_copy(ctx, w.b, w.bit / 8 + 1, out, sizeof out, &got, &used), ctx);
    CHECK(got == 0);
    /* ...and '1' is no code at all */
    w.bit = mark;
    put_bits(&w, 1, 1);
    expect_refused(ctx, &w, "invalid literal/length code");
    rn_ctx_destroy(ctx);
}

static void test_inflate_refuses_reserved_symbols_and_bad_distances(void) {
    rn_ctx *ctx = new_ctx();
    bitw w;
    /* block type 3 */
    memset(&w, 0, sizeof w);
    put_bits(&w, 1, 1);
    put_bits(&w, 3, 2);
    expect_refused(ctx, &w, "block type 3");
    /* stored block whose NLEN is not ~LEN */
    memset(&w, 0, sizeof w);
    put_bits(&w, 1, 1);
    put_bits(&w, 0, 2);
    w.bit = 8;
    put_bits(&w, 5, 16);
    put_bits(&w, 0, 16);
    expect_refused(ctx, &w, "complement");
    /* a match reaching before the first byte: 'a' then (length 3, distance 2) */
    memset(&w, 0, sizeof w);
    put_bits(&w, 1, 1);
    put_bits(&w, 1, 2);
    fixed_lit(&w, 'a');
    fixed_lit(&w, 257);
    put_code(&w, 1, 5);
    expect_refused(ctx, &w, "before the start");
    /* length symbol 286 */
    memset(&w, 0, sizeof w);
    put_bits(&w, 1, 1);
    put_bits(&w, 1, 2);
    fixed_lit(&w, 286);
    expect_refused(ctx, &w, "286 or 287");
    /* distance symbol 30 */
    memset(&w, 0, sizeof w);
    put_bits(&w, 1, 1);
    put_bits(&w, 1, 2);
    fixed_lit(&w, 'a');
    fixed_lit(&w, 'a');
    fixed_lit(&w, 257);
    put_code(&w, 30, 5);
    expect_refused(ctx, &w, "distance symbol 30");
    /* an overlapping match (distance 1, length 10) is fine: "a" x 11 */
    memset(&w, 0, sizeof w);
    put_bits(&w, 1, 1);
    put_bits(&w, 1, 2);
    fixed_lit(&w, 'a');
    fixed_lit(&w, 264); /* length 10 */
    put_code(&w, 0, 5); /* distance 1 */
    fixed_lit(&w, 256);
    unsigned char out[16];
    size_t got = 0, used = 0;
    CHECK_OK(inflate_copy(ctx, w.b, (w.bit + 7) / 8, out, sizeof out, &got, &used), ctx);
    CHECK(got == 11 && memcmp(out, "aaaaaaaaaaa", 11) == 0 && used == (w.bit + 7) / 8);
    rn_ctx_destroy(ctx);
}

static void test_crc32_matches_the_standard_check_value(void) {
    /* CRC-32/ISO-HDLC of "123456789" is CBF43926 (the catalogue's check value) */
    CHECK(rn__crc32(0, (const unsigned char *)"123456789", 9) == 0xCBF43926u);
    CHECK(rn__crc32(rn__crc32(0, (const unsigned char *)"1234", 4), (const unsigned char *)"56789",
                    5) == 0xCBF43926u);
}

static const rn_test_case cases[] = {
    {"inflate_decodes_zlib_stored_fixed_and_dynamic_blocks",
     test_inflate_decodes_zlib_stored_fixed_and_dynamic_blocks},
    {"inflate_refuses_every_truncation", test_inflate_refuses_every_truncation},
    {"gunzip_python_gzip_file_checks_crc_and_isize",
     test_gunzip_python_gzip_file_checks_crc_and_isize},
    {"gunzip_header_fields_and_header_crc", test_gunzip_header_fields_and_header_crc},
    {"gunzip_single_bit_flips_never_give_wrong_data",
     test_gunzip_single_bit_flips_never_give_wrong_data},
    {"inflate_refuses_bad_huffman_tables", test_inflate_refuses_bad_huffman_tables},
    {"inflate_refuses_reserved_symbols_and_bad_distances",
     test_inflate_refuses_reserved_symbols_and_bad_distances},
    {"crc32_matches_the_standard_check_value", test_crc32_matches_the_standard_check_value},
};
RN_TEST_MAIN(cases)

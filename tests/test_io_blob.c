/*
 * Weights in place (rn_model_create_from_blob): a resnet8 blob gives the
 * logits PyTorch computes in float64 for the same weights
 * (tests/gen/gen_resnet8_fixtures.py), reads its weights where they lie
 * (changing a byte of the blob changes the logits; the library allocates a
 * small fraction of the weights' size, counted through the context's
 * allocator), refuses everything that would write them, and refuses
 * misaligned, foreign and malformed blobs with a sentence. Also the
 * writer's rule that places every tensor's data at a multiple of its
 * element size.
 */
#define _POSIX_C_SOURCE 200112L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "resnet.h"

#ifndef RN_TEST_DATA_DIR
#define RN_TEST_DATA_DIR "tests/data"
#endif

#define IMAGES 4
#define CLASSES 10
/* max |logit - ref| <= LOGIT_TOL * max |ref|: float32 PyTorch is 2.8e-7 of
 * it off on these images (the generator prints it); the direct and
 * Winograd paths stay within 1e-6 and 3e-6 of the largest output per layer */
#define LOGIT_TOL 1e-5

static unsigned char *read_all(const char *name, size_t *size) {
    char path[1024];
    snprintf(path, sizeof path, "%s/firmware/%s", RN_TEST_DATA_DIR, name);
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = (unsigned char *)malloc(n > 0 ? (size_t)n : 1);
    size_t got = buf ? fread(buf, 1, (size_t)n, f) : 0;
    fclose(f);
    CHECK(buf && got == (size_t)n);
    *size = (size_t)n;
    return buf;
}

static float images[IMAGES * 3 * 32 * 32], reference[IMAGES * CLASSES];

static void load_images_and_reference(rn_ctx *ctx) {
    char path[1024];
    snprintf(path, sizeof path, "%s/firmware/resnet8_images.npy", RN_TEST_DATA_DIR);
    CHECK_OK(rn_npy_read_file(ctx, path, RN_DTYPE_F32, images, IMAGES * 3 * 32 * 32), ctx);
    snprintf(path, sizeof path, "%s/firmware/resnet8_logits.npy", RN_TEST_DATA_DIR);
    CHECK_OK(rn_npy_read_file(ctx, path, RN_DTYPE_F32, reference, IMAGES * CLASSES), ctx);
}

/* The fixture's weights (a PyTorch file: OIHW) as a blob of our writer, in a
 * malloc'd (so 16-byte aligned) buffer. */
static unsigned char *fixture_blob(rn_ctx *ctx, size_t *size) {
    rn_model *m = NULL;
    char path[1024];
    snprintf(path, sizeof path, "%s/firmware/resnet8.safetensors", RN_TEST_DATA_DIR);
    CHECK_OK(rn_model_create_preset(ctx, "resnet8", 0, 0, RN_SHORTCUT_DEFAULT, 0, 0, &m), ctx);
    CHECK_OK(rn_model_load_safetensors_file(m, path), ctx);
    size_t n = 0;
    CHECK_OK(rn_model_save_blob_mem(m, NULL, 0, &n), ctx);
    unsigned char *buf = (unsigned char *)malloc(n);
    CHECK_OK(rn_model_save_blob_mem(m, buf, n, size), ctx);
    CHECK(*size == n);
    rn_model_destroy(m);
    return buf;
}

static void forward(rn_ctx *ctx, rn_model *m, float *logits) {
    rn_plan *plan = NULL;
    CHECK_OK(rn_plan_create(m, IMAGES, 32, 32, RN_MODE_INFER, &plan), ctx);
    if (plan)
        CHECK_OK(rn_plan_forward(plan, images, sizeof images / sizeof images[0], RN_LAYOUT_NCHW,
                                 logits, IMAGES * CLASSES),
                 ctx);
    rn_plan_destroy(plan);
}

static double rel_err(const float *got, const float *ref, size_t n) {
    double worst = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)got[i] - (double)ref[i];
        if (d < 0) d = -d;
        if (d > worst) worst = d;
        if ((double)ref[i] > scale) scale = (double)ref[i];
        if (-(double)ref[i] > scale) scale = -(double)ref[i];
    }
    return worst / scale;
}

static void test_blob_logits_equal_pytorch_float64_with_and_without_derived_weights(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    load_images_and_reference(ctx);
    size_t size = 0;
    unsigned char *blob = fixture_blob(ctx, &size);
    for (uint32_t flags = 0; flags <= RN_BLOB_NO_DERIVED; flags++) {
        for (int32_t winograd = 0; winograd <= 1; winograd++) {
            CHECK_OK(rn_ctx_set_int(ctx, RN_OPT_WINOGRAD, winograd), ctx);
            rn_model *m = NULL;
            CHECK_OK(rn_model_create_from_blob(ctx, blob, size, flags, &m), ctx);
            float logits[IMAGES * CLASSES];
            memset(logits, 0, sizeof logits);
            forward(ctx, m, logits);
            double err = rel_err(logits, reference, IMAGES * CLASSES);
            printf("  flags %u winograd %d: max |logit - float64 ref| = %.3g of max |ref|\n",
                   (unsigned)flags, (int)winograd, err);
            CHECK(err <= LOGIT_TOL);
            int64_t params = 0;
            CHECK_OK(rn_model_num_parameters(m, &params), ctx);
            CHECK(params == 78042);
            rn_model_destroy(m);
        }
    }
    free(blob);
    rn_ctx_destroy(ctx);
}

static void test_blob_logits_equal_the_loaded_models_bit_for_bit(void) {
    /* the same weights copied into RAM by the loader and read in place give
     * the same plan and so the same bits (derived weights on, the default) */
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    load_images_and_reference(ctx);
    size_t size = 0;
    unsigned char *blob = fixture_blob(ctx, &size);
    rn_model *loaded = NULL, *inplace = NULL;
    char path[1024];
    snprintf(path, sizeof path, "%s/firmware/resnet8.safetensors", RN_TEST_DATA_DIR);
    CHECK_OK(rn_model_create_preset(ctx, "resnet8", 0, 0, RN_SHORTCUT_DEFAULT, 0, 0, &loaded), ctx);
    CHECK_OK(rn_model_load_safetensors_file(loaded, path), ctx);
    CHECK_OK(rn_model_create_from_blob(ctx, blob, size, 0, &inplace), ctx);
    float a[IMAGES * CLASSES], b[IMAGES * CLASSES];
    forward(ctx, loaded, a);
    forward(ctx, inplace, b);
    CHECK(memcmp(a, b, sizeof a) == 0);
    /* tensors read back in PyTorch's layout equal the file's */
    float w1[16 * 3 * 3 * 3], w2[16 * 3 * 3 * 3];
    CHECK_OK(rn_model_get_tensor(loaded, "conv1.weight", w1, 432), ctx);
    CHECK_OK(rn_model_get_tensor(inplace, "conv1.weight", w2, 432), ctx);
    CHECK(memcmp(w1, w2, sizeof w1) == 0);
    rn_model_destroy(inplace);
    rn_model_destroy(loaded);
    free(blob);
    rn_ctx_destroy(ctx);
}

static void test_weights_are_read_where_they_lie(void) {
    /* fc.bias is the last float32 tensor of the blob: adding 1 to its first
     * value in the caller's bytes adds 1 to class 0's logit of every image */
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    load_images_and_reference(ctx);
    size_t size = 0;
    unsigned char *blob = fixture_blob(ctx, &size);
    rn_model *m = NULL;
    CHECK_OK(rn_model_create_from_blob(ctx, blob, size, RN_BLOB_NO_DERIVED, &m), ctx);
    float before[IMAGES * CLASSES], after[IMAGES * CLASSES], bias[CLASSES];
    forward(ctx, m, before);
    CHECK_OK(rn_model_get_tensor(m, "fc.bias", bias, CLASSES), ctx);
    float *p = (float *)(void *)(blob + size - CLASSES * sizeof(float));
    CHECK(memcmp(p, bias, sizeof bias) == 0);
    p[0] += 1.0f;
    forward(ctx, m, after);
    for (int i = 0; i < IMAGES; i++) {
        CHECK_CLOSE(after[i * CLASSES], before[i * CLASSES] + 1.0f, 1e-5);
        CHECK(after[i * CLASSES + 1] == before[i * CLASSES + 1]);
    }
    rn_model_destroy(m);
    free(blob);
    rn_ctx_destroy(ctx);
}

/* ---- RAM through the allocator callbacks ----------------------------------------- */
typedef struct counter {
    size_t live, peak, total;
} counter;

typedef struct header {
    size_t size;
    void *raw;
} header;

static void *count_alloc(void *user, size_t size, size_t align) {
    counter *c = (counter *)user;
    if (align < sizeof(header)) align = sizeof(header);
    unsigned char *raw = (unsigned char *)malloc(size + align + sizeof(header));
    if (!raw) return NULL;
    uintptr_t at = ((uintptr_t)raw + sizeof(header) + align - 1) / align * align;
    header *h = (header *)(void *)((unsigned char *)at - sizeof(header));
    h->size = size;
    h->raw = raw;
    c->live += size;
    c->total += size;
    if (c->live > c->peak) c->peak = c->live;
    return (void *)at;
}

static void count_free(void *user, void *ptr) {
    if (!ptr) return;
    counter *c = (counter *)user;
    header *h = (header *)(void *)((unsigned char *)ptr - sizeof(header));
    c->live -= h->size;
    free(h->raw);
}

static void test_blob_allocates_a_small_fraction_of_what_loading_does(void) {
    /* resnet20, fp32: 269,722 parameters + 1,376 BN statistics = 1.08 MB of
     * floats. Loading copies them into the model (and reads the file into a
     * buffer on the way); a blob model holds only its description. Counted
     * from the context's creation to the model's, live bytes after. */
    counter ca = {0, 0, 0}, cb = {0, 0, 0};
    rn_ctx *ctx = NULL, *a = NULL, *b = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_model *src = NULL;
    CHECK_OK(rn_model_create_preset(ctx, "resnet20", 0, 0, RN_SHORTCUT_DEFAULT, 0, 0, &src), ctx);
    CHECK_OK(rn_model_init(src, 7), ctx);
    size_t fsize = 0, bsize = 0;
    CHECK_OK(rn_model_save_safetensors_mem(src, NULL, 0, &fsize), ctx);
    CHECK_OK(rn_model_save_blob_mem(src, NULL, 0, &bsize), ctx);
    unsigned char *file = (unsigned char *)malloc(fsize), *blob = (unsigned char *)malloc(bsize);
    CHECK_OK(rn_model_save_safetensors_mem(src, file, fsize, &fsize), ctx);
    CHECK_OK(rn_model_save_blob_mem(src, blob, bsize, &bsize), ctx);

    CHECK_OK(rn_ctx_create_with_allocator(count_alloc, count_free, &ca, &a), a);
    rn_model *loaded = NULL;
    CHECK_OK(rn_model_create_preset(a, "resnet20", 0, 0, RN_SHORTCUT_DEFAULT, 0, 0, &loaded), a);
    CHECK_OK(rn_model_load_safetensors_mem(loaded, file, fsize), a);

    CHECK_OK(rn_ctx_create_with_allocator(count_alloc, count_free, &cb, &b), b);
    rn_model *inplace = NULL;
    CHECK_OK(rn_model_create_from_blob(b, blob, bsize, RN_BLOB_NO_DERIVED, &inplace), b);
    int64_t params = 0;
    CHECK_OK(rn_model_num_parameters(inplace, &params), b);
    const size_t weights = (size_t)(params + 1376) * sizeof(float);
    printf("  resnet20 fp32, %zu bytes of weights: load: %zu bytes live, %zu peak; "
           "blob: %zu bytes live, %zu peak (%.1f%% / %.1f%% of load's)\n",
           weights, ca.live, ca.peak, cb.live, cb.peak, 100.0 * (double)cb.live / (double)ca.live,
           100.0 * (double)cb.peak / (double)ca.peak);
    CHECK(ca.live >= weights);
    CHECK(cb.live < weights / 20);
    CHECK(cb.peak < weights / 10);

    /* the same logits from both */
    float x[3 * 32 * 32], la[10], lb[10];
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
        x[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
    rn_plan *pa = NULL, *pb = NULL;
    CHECK_OK(rn_plan_create(loaded, 1, 32, 32, RN_MODE_INFER, &pa), a);
    CHECK_OK(rn_plan_create(inplace, 1, 32, 32, RN_MODE_INFER, &pb), b);
    CHECK_OK(rn_plan_forward(pa, x, 3072, RN_LAYOUT_NCHW, la, 10), a);
    CHECK_OK(rn_plan_forward(pb, x, 3072, RN_LAYOUT_NCHW, lb, 10), b);
    for (int i = 0; i < 10; i++) CHECK_CLOSE(la[i], lb[i], 1e-5 * (1.0 + fabs((double)la[i])));
    rn_plan_destroy(pa);
    rn_plan_destroy(pb);
    rn_model_destroy(loaded);
    rn_model_destroy(inplace);
    rn_ctx_destroy(a);
    rn_ctx_destroy(b);
    CHECK(ca.live == 0 && cb.live == 0);
    rn_model_destroy(src);
    free(file);
    free(blob);
    rn_ctx_destroy(ctx);
}

static void test_a_bump_arena_keeps_only_the_model_after_creation(void) {
    /* in a caller's buffer (a bump arena), the header's parse is given back:
     * what stays is the model's description, a few KB for resnet8, and the
     * parse's space is reused by the plan */
    static unsigned char arena[1 << 20] __attribute__((aligned(64)));
    rn_ctx *ctx = NULL, *a = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    size_t size = 0;
    unsigned char *blob = fixture_blob(ctx, &size);
    CHECK_OK(rn_ctx_create_in_buffer(arena, sizeof arena, &a), a);
    size_t used0 = 0, peak0 = 0, used1 = 0, peak1 = 0;
    CHECK_OK(rn_ctx_arena_usage(a, &used0, &peak0), a);
    rn_model *m = NULL;
    CHECK_OK(rn_model_create_from_blob(a, blob, size, RN_BLOB_NO_DERIVED, &m), a);
    CHECK_OK(rn_ctx_arena_usage(a, &used1, &peak1), a);
    printf("  resnet8 in a bump arena: the model keeps %zu bytes, %zu at the peak of creation "
           "(blob %zu bytes)\n",
           used1 - used0, peak1 - used0, size);
    CHECK(used1 < peak1);
    CHECK(used1 - used0 < 32768);
    rn_model_destroy(m);
    rn_ctx_destroy(a);
    free(blob);
    rn_ctx_destroy(ctx);
}

/* ---- refusals ---------------------------------------------------------------------- */

static void check_in_place_sentence(rn_ctx *ctx, const char *fn) {
    const char *e = rn_last_error(ctx);
    CHECK(strstr(e, fn) != NULL);
    CHECK(strstr(e, "in place") != NULL);
}

static void test_what_would_write_the_weights_is_refused_with_a_sentence(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    size_t size = 0;
    unsigned char *blob = fixture_blob(ctx, &size);
    rn_model *m = NULL;
    CHECK_OK(rn_model_create_from_blob(ctx, blob, size, 0, &m), ctx);
    unsigned char *copy = (unsigned char *)malloc(size);
    memcpy(copy, blob, size);
    float bias[CLASSES] = {0};
    CHECK_STATUS(rn_model_set_tensor(m, "fc.bias", bias, CLASSES), RN_E_BAD_STATE, ctx);
    check_in_place_sentence(ctx, "rn_model_set_tensor");
    CHECK_STATUS(rn_model_init(m, 1), RN_E_BAD_STATE, ctx);
    check_in_place_sentence(ctx, "rn_model_init");
    CHECK_STATUS(rn_model_fold_batchnorm(m), RN_E_BAD_STATE, ctx);
    check_in_place_sentence(ctx, "rn_model_fold_batchnorm");
    rn_plan *plan = NULL;
    CHECK_STATUS(rn_plan_create(m, 2, 32, 32, RN_MODE_TRAIN, &plan), RN_E_BAD_STATE, ctx);
    check_in_place_sentence(ctx, "rn_plan_create");
    CHECK(plan == NULL);
    rn_optimizer *opt = NULL;
    CHECK_STATUS(rn_sgd_create(m, &opt), RN_E_BAD_STATE, ctx);
    check_in_place_sentence(ctx, "rn_sgd_create");
    CHECK(opt == NULL);
    char path[1024];
    snprintf(path, sizeof path, "%s/firmware/resnet8.safetensors", RN_TEST_DATA_DIR);
    CHECK_STATUS(rn_model_load_safetensors_file(m, path), RN_E_BAD_STATE, ctx);
    check_in_place_sentence(ctx, "rn_model_load_safetensors_file");
    CHECK_STATUS(rn_model_load_safetensors_partial_file(m, path, NULL, NULL, 0), RN_E_BAD_STATE,
                 ctx);
    CHECK(memcmp(copy, blob, size) == 0); /* nothing touched the caller's bytes */
    /* inference still works after every refusal */
    CHECK_OK(rn_plan_create(m, 1, 32, 32, RN_MODE_INFER, &plan), ctx);
    rn_plan_destroy(plan);
    rn_model_destroy(m);
    free(copy);
    free(blob);
    rn_ctx_destroy(ctx);
}

static void test_misaligned_foreign_and_malformed_blobs_are_refused(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    size_t size = 0;
    unsigned char *blob = fixture_blob(ctx, &size);
    rn_model *m = NULL;
    /* the blob one byte off a 4-byte boundary */
    unsigned char *shifted = (unsigned char *)malloc(size + 4);
    memcpy(shifted + 1, blob, size);
    CHECK_STATUS(rn_model_create_from_blob(ctx, shifted + 1, size, 0, &m), RN_E_INVALID_ARG, ctx);
    CHECK(strstr(rn_last_error(ctx), "4-byte aligned") != NULL);
    CHECK(m == NULL);
    /* an aligned start whose data is not: two more spaces in the header
     * move every tensor by 2 bytes */
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | blob[i];
    unsigned char *moved = (unsigned char *)malloc(size + 2);
    uint64_t h2 = hlen + 2;
    for (int i = 0; i < 8; i++) moved[i] = (unsigned char)(h2 >> (8 * i));
    memcpy(moved + 8, blob + 8, (size_t)hlen);
    moved[8 + hlen] = ' ', moved[9 + hlen] = ' ';
    memcpy(moved + 10 + hlen, blob + 8 + hlen, size - 8 - (size_t)hlen);
    CHECK_STATUS(rn_model_create_from_blob(ctx, moved, size + 2, 0, &m), RN_E_BAD_FORMAT, ctx);
    CHECK(strstr(rn_last_error(ctx), "conv1.weight") != NULL);
    CHECK(strstr(rn_last_error(ctx), "4-byte aligned") != NULL);
    /* PyTorch's own file (OIHW, no blob metadata) */
    char path[1024];
    snprintf(path, sizeof path, "%s/firmware/resnet8.safetensors", RN_TEST_DATA_DIR);
    size_t tsize = 0;
    unsigned char *torch_file = read_all("resnet8.safetensors", &tsize);
    CHECK_STATUS(rn_model_create_from_blob(ctx, torch_file, tsize, 0, &m), RN_E_BAD_FORMAT, ctx);
    CHECK(strstr(rn_last_error(ctx), "libresnet.blob") != NULL);
    CHECK(strstr(rn_last_error(ctx), "OHWI") != NULL);
    /* truncated: every prefix is refused without a crash */
    for (size_t n = 0; n < size; n += n < 600 ? 1 : 997)
        CHECK(rn_model_create_from_blob(ctx, blob, n, 0, &m) != RN_OK);
    CHECK(m == NULL);
    /* a blob that lacks a tensor, or has a wrong shape, names it */
    rn_safetensors_writer *w = NULL;
    CHECK_OK(rn_safetensors_writer_create(ctx, &w), ctx);
    const char *keys[][2] = {{"libresnet.blob", "1"}, {"preset", "resnet8"}, {"classes", "10"},
                             {"in_channels", "3"},    {"width", "16"},       {"shortcut", "B"},
                             {"flags", "0"}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        CHECK_OK(rn_safetensors_writer_set_metadata(w, keys[i][0], keys[i][1]), ctx);
    static float conv1[16 * 3 * 3 * 3];
    int64_t oihw[4] = {16, 3, 3, 3};
    CHECK_OK(rn_safetensors_writer_add(w, "conv1.weight", RN_DTYPE_F32, 4, oihw, conv1), ctx);
    size_t n = 0;
    CHECK_OK(rn_safetensors_writer_save_mem(w, NULL, 0, &n), ctx);
    unsigned char *small = (unsigned char *)malloc(n);
    CHECK_OK(rn_safetensors_writer_save_mem(w, small, n, &n), ctx);
    /* [16,3,3,3] is both OIHW and OHWI here: conv1 passes, bn1 is missing */
    CHECK_STATUS(rn_model_create_from_blob(ctx, small, n, 0, &m), RN_E_BAD_FORMAT, ctx);
    CHECK(strstr(rn_last_error(ctx), "'bn1.weight': missing") != NULL);
    free(small);
    CHECK_OK(rn_safetensors_writer_set_metadata(w, "preset", "resnet20"), ctx);
    CHECK_OK(rn_safetensors_writer_set_metadata(w, "shortcut", "diagonal"), ctx);
    CHECK_OK(rn_safetensors_writer_save_mem(w, NULL, 0, &n), ctx);
    small = (unsigned char *)malloc(n);
    CHECK_OK(rn_safetensors_writer_save_mem(w, small, n, &n), ctx);
    CHECK_STATUS(rn_model_create_from_blob(ctx, small, n, 0, &m), RN_E_BAD_FORMAT, ctx);
    CHECK(strstr(rn_last_error(ctx), "'shortcut'") != NULL);
    free(small);
    rn_safetensors_writer_destroy(w);
    /* flags and arguments */
    CHECK_STATUS(rn_model_create_from_blob(ctx, blob, size, 2u, &m), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_model_create_from_blob(ctx, NULL, size, 0, &m), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_model_create_from_blob(ctx, blob, size, 0, NULL), RN_E_INVALID_ARG, ctx);
    CHECK(m == NULL);
    /* a builder-made model names no preset: no blob */
    rn_model *built = NULL;
    CHECK_OK(rn_model_create(ctx, 3, &built), ctx);
    CHECK_OK(rn_model_add_stem(built, 4, 3, 1, 1, 0), ctx);
    CHECK_OK(rn_model_add_head(built, 2), ctx);
    CHECK_STATUS(rn_model_save_blob_mem(built, NULL, 0, &n), RN_E_UNSUPPORTED, ctx);
    rn_model_destroy(built);
    free(torch_file);
    free(moved);
    free(shifted);
    free(blob);
    rn_ctx_destroy(ctx);
}

static void test_writer_aligns_each_tensor_to_its_element_size(void) {
    /* a 3-byte U8 tensor added first would put the floats after it at odd
     * offsets; the writer places 8-, then 4-, 2- and 1-byte dtypes */
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    rn_safetensors_writer *w = NULL;
    CHECK_OK(rn_safetensors_writer_create(ctx, &w), ctx);
    const uint8_t u8[3] = {1, 2, 3};
    const float f[2] = {1.5f, -2.25f};
    const uint16_t h[3] = {0x3c00, 0x4000, 0x4200};
    const int64_t i64[1] = {-5};
    int64_t d3[1] = {3}, d2[1] = {2}, d1[1] = {1};
    CHECK_OK(rn_safetensors_writer_add(w, "a_u8", RN_DTYPE_U8, 1, d3, u8), ctx);
    CHECK_OK(rn_safetensors_writer_add(w, "b_f32", RN_DTYPE_F32, 1, d2, f), ctx);
    CHECK_OK(rn_safetensors_writer_add(w, "c_f16", RN_DTYPE_F16, 1, d3, h), ctx);
    CHECK_OK(rn_safetensors_writer_add(w, "d_i64", RN_DTYPE_I64, 1, d1, i64), ctx);
    size_t n = 0;
    CHECK_OK(rn_safetensors_writer_save_mem(w, NULL, 0, &n), ctx);
    unsigned char *buf = (unsigned char *)malloc(n);
    CHECK_OK(rn_safetensors_writer_save_mem(w, buf, n, &n), ctx);
    rn_safetensors_writer_destroy(w);
    /* 8 + header + 8 (i64) + 8 (f32) + 6 (f16) + 3 (u8), no gap */
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | buf[i];
    CHECK(hlen % 8 == 0);
    CHECK(n == 8 + hlen + 8 + 8 + 6 + 3);
    const unsigned char *data = buf + 8 + hlen;
    int64_t got_i64;
    float got_f[2];
    memcpy(&got_i64, data, 8);
    memcpy(got_f, data + 8, 8);
    CHECK(got_i64 == -5 && got_f[0] == 1.5f && got_f[1] == -2.25f);
    CHECK(data[22] == 1 && data[23] == 2 && data[24] == 3);
    /* and the header, in the order added, points at them: read back */
    rn_safetensors *st = NULL;
    CHECK_OK(rn_safetensors_open_mem(ctx, buf, n, &st), ctx);
    const char *name = NULL;
    CHECK_OK(rn_safetensors_info(st, 0, &name, NULL, NULL, NULL), ctx);
    CHECK(strcmp(name, "a_u8") == 0);
    uint8_t ru8[3];
    float rf[2];
    uint16_t rh[3];
    CHECK_OK(rn_safetensors_read_raw(st, 0, ru8, 3), ctx);
    CHECK_OK(rn_safetensors_read_f32(st, 1, rf, 2), ctx);
    CHECK_OK(rn_safetensors_read_raw(st, 2, rh, 6), ctx);
    CHECK(memcmp(ru8, u8, 3) == 0 && rf[0] == 1.5f && rf[1] == -2.25f && memcmp(rh, h, 6) == 0);
    rn_safetensors_close(st);
    free(buf);
    rn_ctx_destroy(ctx);
}

static const rn_test_case cases[] = {
    {"blob_logits_equal_pytorch_float64_with_and_without_derived_weights",
     test_blob_logits_equal_pytorch_float64_with_and_without_derived_weights},
    {"blob_logits_equal_the_loaded_models_bit_for_bit",
     test_blob_logits_equal_the_loaded_models_bit_for_bit},
    {"weights_are_read_where_they_lie", test_weights_are_read_where_they_lie},
    {"blob_allocates_a_small_fraction_of_what_loading_does",
     test_blob_allocates_a_small_fraction_of_what_loading_does},
    {"a_bump_arena_keeps_only_the_model_after_creation",
     test_a_bump_arena_keeps_only_the_model_after_creation},
    {"what_would_write_the_weights_is_refused_with_a_sentence",
     test_what_would_write_the_weights_is_refused_with_a_sentence},
    {"misaligned_foreign_and_malformed_blobs_are_refused",
     test_misaligned_foreign_and_malformed_blobs_are_refused},
    {"writer_aligns_each_tensor_to_its_element_size",
     test_writer_aligns_each_tensor_to_its_element_size},
};

RN_TEST_MAIN(cases)

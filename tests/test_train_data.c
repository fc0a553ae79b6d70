/*
 * The data side of training: the random generator against a Python
 * transcription of the xoshiro256** reference (tests/data/train/rng.txt),
 * unbiased draws and shuffles, the validation split, datasets and their
 * normalisation against values computed by hand, augmentation against a
 * naive pad-crop-flip written here, and metrics on hand-made logits.
 */
#define _POSIX_C_SOURCE 200112L
#include "harness.h"
#include "resnet.h"

static void test_rng_matches_reference_outputs(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/train/rng.txt", RN_TEST_DATA_DIR);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (!f) return;
    char line[256];
    uint64_t s[4] = {0, 0, 0, 0};
    int checked = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        unsigned long long a, b, c, d, v;
        if (sscanf(line, "state %llu %llu %llu %llu", &a, &b, &c, &d) == 4) {
            s[0] = a, s[1] = b, s[2] = c, s[3] = d;
        } else if (sscanf(line, "seed %llu", &a) == 1) {
            CHECK(rn_rng_seed(s, a) == RN_OK);
        } else if (sscanf(line, "%llu", &v) == 1) {
            uint64_t got = 0;
            CHECK(rn_rng_next(s, &got) == RN_OK);
            CHECK(got == v);
            checked++;
        }
    }
    fclose(f);
    CHECK(checked == 24);
}

static void test_rng_refuses_null_and_the_all_zero_state(void) {
    uint64_t s[4] = {0, 0, 0, 0}, v;
    double u;
    CHECK(rn_rng_next(s, &v) == RN_E_INVALID_ARG);
    CHECK(rn_rng_uniform(s, &u) == RN_E_INVALID_ARG);
    CHECK(rn_rng_seed(NULL, 1) == RN_E_INVALID_ARG);
    CHECK(rn_rng_seed(s, 1) == RN_OK);
    CHECK(rn_rng_below(s, 0, &v) == RN_E_INVALID_ARG);
    CHECK(rn_rng_shuffle(s, NULL, 3) == RN_E_INVALID_ARG);
    CHECK(rn_rng_shuffle(s, NULL, 0) == RN_OK);
}

/* 60000 draws below 6: each face 10000 +- 5 sigma (sigma = sqrt(60000 * 1/6 * 5/6) = 91);
 * uniform doubles in [0, 1) with mean 0.5 +- 5 * 0.289 / sqrt(60000). */
static void test_rng_draws_are_uniform(void) {
    uint64_t s[4];
    rn_rng_seed(s, 7);
    int64_t counts[6] = {0};
    double sum = 0;
    for (int i = 0; i < 60000; i++) {
        uint64_t v = 99;
        double u = -1;
        CHECK(rn_rng_below(s, 6, &v) == RN_OK);
        CHECK(v < 6);
        if (v < 6) counts[v]++;
        CHECK(rn_rng_uniform(s, &u) == RN_OK);
        CHECK(u >= 0.0 && u < 1.0);
        sum += u;
    }
    for (int k = 0; k < 6; k++) CHECK(llabs(counts[k] - 10000) < 5 * 91);
    CHECK(fabs(sum / 60000 - 0.5) < 5 * 0.2887 / sqrt(60000.0));
}

/* Shuffles of 3 items: each of the 6 orders 1/6 of 30000 times (sigma 65). */
static void test_shuffle_gives_every_permutation_equally_often(void) {
    uint64_t s[4];
    rn_rng_seed(s, 11);
    int64_t counts[6] = {0};
    for (int t = 0; t < 30000; t++) {
        int64_t it[3] = {0, 1, 2};
        CHECK(rn_rng_shuffle(s, it, 3) == RN_OK);
        CHECK(it[0] + it[1] + it[2] == 3 && it[0] != it[1] && it[1] != it[2] && it[0] != it[2]);
        int code = (int)(it[0] * 2 + (it[1] > it[2])); /* 0..5, one per permutation */
        counts[code]++;
    }
    for (int k = 0; k < 6; k++) CHECK(llabs(counts[k] - 5000) < 5 * 65);
    /* the same seed gives the same order */
    int64_t a[50], b[50];
    uint64_t s1[4], s2[4];
    for (int i = 0; i < 50; i++) a[i] = b[i] = i;
    rn_rng_seed(s1, 5);
    rn_rng_seed(s2, 5);
    rn_rng_shuffle(s1, a, 50);
    rn_rng_shuffle(s2, b, 50);
    CHECK(memcmp(a, b, sizeof a) == 0);
}

static void test_split_is_a_sorted_partition_fixed_by_the_seed(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    enum { N = 1000, V = 100 };
    int64_t tr[N - V], va[V], tr2[N - V], va2[V];
    CHECK_OK(rn_data_split(ctx, 3, N, V, tr, va), ctx);
    CHECK_OK(rn_data_split(ctx, 3, N, V, tr2, va2), ctx);
    CHECK(memcmp(tr, tr2, sizeof tr) == 0 && memcmp(va, va2, sizeof va) == 0);
    int seen[N] = {0};
    for (int i = 0; i < N - V; i++) seen[tr[i]]++;
    for (int i = 0; i < V; i++) seen[va[i]]++;
    for (int i = 0; i < N; i++) CHECK(seen[i] == 1);
    for (int i = 1; i < N - V; i++) CHECK(tr[i] > tr[i - 1]);
    for (int i = 1; i < V; i++) CHECK(va[i] > va[i - 1]);
    /* random, not the last 100 */
    CHECK(va[0] < N - V);
    CHECK_OK(rn_data_split(ctx, 4, N, V, tr2, va2), ctx);
    CHECK(memcmp(va, va2, sizeof va) != 0);
    CHECK_STATUS(rn_data_split(ctx, 3, N, N, tr, va), RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_data_split(ctx, 3, N, V, tr, NULL), RN_E_INVALID_ARG, ctx);
    int64_t everything[N];
    CHECK_OK(rn_data_split(ctx, 3, N, 0, everything, NULL), ctx);
    for (int i = 0; i < N; i++) CHECK(everything[i] == i);
    rn_ctx_destroy(ctx);
}

/* 2 images of 1x2x2 (NHWC): pixel values chosen so every statistic is exact. */
static void test_dataset_normalisations_by_hand(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    const uint8_t img[2 * 1 * 2 * 2] = {0,   255, 51,  102, /* image 0: (x0: c0 c1) (x1: c0 c1) */
                                        255, 255, 153, 102};
    const int32_t lab[2] = {1, 0};
    rn_dataset *ds = NULL;
    CHECK_OK(rn_dataset_create(ctx, img, lab, 2, 1, 2, 2, 2, &ds), ctx);
    float x[8];
    int64_t idx[2] = {1, 0};
    int32_t got[2];
    /* none: x / 255 */
    CHECK_OK(rn_dataset_get_batch(ds, idx, 2, x, 8, got), ctx);
    CHECK(got[0] == 0 && got[1] == 1);
    CHECK_CLOSE(x[0], 1.0, 1e-7);
    CHECK_CLOSE(x[6], 0.2, 1e-7);
    /* per pixel: mean over the 2 images of each (h, w, c) */
    CHECK_OK(rn_dataset_compute_normalization(ds, RN_NORM_PIXEL_MEAN), ctx);
    float mean[4];
    int32_t norm = -1;
    CHECK_OK(rn_dataset_get_normalization(ds, &norm, mean, 4, NULL, 0), ctx);
    CHECK(norm == RN_NORM_PIXEL_MEAN);
    CHECK_CLOSE(mean[0], 0.5, 1e-7);
    CHECK_CLOSE(mean[1], 1.0, 1e-7);
    CHECK_CLOSE(mean[2], 0.4, 1e-7);
    CHECK_CLOSE(mean[3], 0.4, 1e-7);
    CHECK_OK(rn_dataset_get_batch(ds, idx, 2, x, 8, NULL), ctx);
    CHECK_CLOSE(x[0], 0.5, 1e-7);  /* image 1, c0 at x0: 1.0 - 0.5 */
    CHECK_CLOSE(x[2], 0.2, 1e-7);  /* 0.6 - 0.4 */
    CHECK_CLOSE(x[4], -0.5, 1e-7); /* image 0: 0 - 0.5 */
    /* per channel: c0 values {0, 0.2, 1, 0.6}: mean 0.45, population std
     * sqrt(mean of squares 0.35 - 0.2025) = sqrt(0.1475); c1 {1, 0.4, 1, 0.4}: 0.7, 0.3 */
    CHECK_OK(rn_dataset_compute_normalization(ds, RN_NORM_CHANNEL), ctx);
    float cm[2], cs[2];
    CHECK_OK(rn_dataset_get_normalization(ds, &norm, cm, 2, cs, 2), ctx);
    CHECK(norm == RN_NORM_CHANNEL);
    CHECK_CLOSE(cm[0], 0.45, 1e-6);
    CHECK_CLOSE(cs[0], sqrt(0.1475), 1e-6);
    CHECK_CLOSE(cm[1], 0.7, 1e-6);
    CHECK_CLOSE(cs[1], 0.3, 1e-6);
    CHECK_OK(rn_dataset_get_batch(ds, idx, 1, x, 4, NULL), ctx);
    CHECK_CLOSE(x[1], (1.0 - 0.7) / 0.3, 1e-5);
    /* set: counts and values checked */
    float m1[2] = {0.5f, 0.5f}, s1[2] = {0.25f, 0.0f};
    CHECK_STATUS(rn_dataset_set_normalization(ds, RN_NORM_CHANNEL, m1, 2, s1, 2), RN_E_INVALID_ARG,
                 ctx);
    CHECK_STATUS(rn_dataset_set_normalization(ds, RN_NORM_PIXEL_MEAN, m1, 2, NULL, 0),
                 RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_dataset_set_normalization(ds, 9, NULL, 0, NULL, 0), RN_E_INVALID_ARG, ctx);
    /* a failed set kept the channel statistics */
    CHECK_OK(rn_dataset_get_normalization(ds, &norm, cm, 2, cs, 2), ctx);
    CHECK(norm == RN_NORM_CHANNEL && cs[1] > 0.29f);
    CHECK_STATUS(rn_dataset_get_batch(ds, idx, 2, x, 7, NULL), RN_E_INVALID_ARG, ctx);
    int64_t badidx[1] = {2};
    CHECK_STATUS(rn_dataset_get_batch(ds, badidx, 1, x, 4, NULL), RN_E_INVALID_ARG, ctx);
    rn_dataset_destroy(ds);
    rn_ctx_destroy(ctx);
}

static void test_dataset_views_select_images_and_keep_normalisation(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    uint8_t img[5];
    int32_t lab[5];
    for (int i = 0; i < 5; i++) img[i] = (uint8_t)(50 * i), lab[i] = i % 3;
    rn_dataset *ds = NULL, *v = NULL, *vv = NULL;
    CHECK_STATUS(rn_dataset_create(ctx, img, lab, 5, 1, 1, 1, 2, &ds), RN_E_INVALID_ARG, ctx);
    CHECK(strstr(rn_last_error(ctx), "label 2") != NULL);
    CHECK_OK(rn_dataset_create(ctx, img, lab, 5, 1, 1, 1, 3, &ds), ctx);
    float m = 0.25f;
    CHECK_OK(rn_dataset_set_normalization(ds, RN_NORM_PIXEL_MEAN, &m, 1, NULL, 0), ctx);
    int64_t pick[3] = {4, 1, 4};
    CHECK_OK(rn_dataset_create_view(ds, pick, 3, &v), ctx);
    int64_t pick2[2] = {1, 0};
    CHECK_OK(rn_dataset_create_view(v, pick2, 2, &vv), ctx);
    int64_t dims[4];
    int32_t classes;
    CHECK_OK(rn_dataset_info(vv, dims, &classes), ctx);
    CHECK(dims[0] == 2 && dims[3] == 1 && classes == 3);
    int32_t l;
    CHECK_OK(rn_dataset_label(vv, 0, &l), ctx);
    CHECK(l == 1); /* view of view: image 1 */
    float x[2];
    int64_t all[2] = {0, 1};
    CHECK_OK(rn_dataset_get_batch(vv, all, 2, x, 2, NULL), ctx);
    CHECK_CLOSE(x[0], 50.0 / 255 - 0.25, 1e-7);
    CHECK_CLOSE(x[1], 200.0 / 255 - 0.25, 1e-7);
    int64_t bad[1] = {5};
    CHECK_STATUS(rn_dataset_create_view(ds, bad, 1, &v), RN_E_INVALID_ARG, ctx);
    rn_dataset_destroy(vv);
    rn_dataset_destroy(v);
    rn_dataset_destroy(ds);
    rn_ctx_destroy(ctx);
}

/* Pad with zeros, crop at (dy, dx), flip the crop: written out directly. */
static float naive_pixel(const float *img, int h, int w, int c, int pad, int dy, int dx, int flip,
                         int y, int x, int k) {
    int cx = flip ? w - 1 - x : x; /* column in the crop before flipping */
    int py = y + dy, px = cx + dx; /* in the padded image */
    int sy = py - pad, sx = px - pad;
    if (sy < 0 || sy >= h || sx < 0 || sx >= w) return 0.0f;
    return img[(sy * w + sx) * c + k];
}

static void test_augmentation_crops_within_the_padding_and_flips_like_the_naive_version(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    enum { N = 64, H = 5, W = 7, C = 3, PAD = 2 };
    static float src[N * H * W * C], dst[N * H * W * C];
    for (int i = 0; i < N * H * W * C; i++) src[i] = (float)(i + 1);
    uint64_t s[4];
    rn_rng_seed(s, 99);
    int32_t params[3 * N];
    CHECK(rn_augment_draw(s, N, PAD, 1, params, 3 * N) == RN_OK);
    int hits_dy[2 * PAD + 1] = {0}, flips = 0;
    for (int i = 0; i < N; i++) {
        CHECK(params[3 * i] >= 0 && params[3 * i] <= 2 * PAD);
        CHECK(params[3 * i + 1] >= 0 && params[3 * i + 1] <= 2 * PAD);
        CHECK(params[3 * i + 2] == 0 || params[3 * i + 2] == 1);
        if (params[3 * i] >= 0 && params[3 * i] <= 2 * PAD) hits_dy[params[3 * i]]++;
        flips += params[3 * i + 2];
    }
    for (int k = 0; k <= 2 * PAD; k++) CHECK(hits_dy[k] > 0); /* every offset occurs in 64 draws */
    CHECK(flips > 8 && flips < 56);
    CHECK_OK(rn_augment_apply(ctx, src, dst, N, H, W, C, PAD, params, 3 * N), ctx);
    int bad = 0;
    for (int i = 0; i < N; i++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                for (int k = 0; k < C; k++) {
                    const int32_t *p = params + 3 * i;
                    float want =
                        naive_pixel(src + i * H * W * C, H, W, C, PAD, p[0], p[1], p[2], y, x, k);
                    bad += dst[((i * H + y) * W + x) * C + k] != want;
                }
    CHECK(bad == 0);
    /* the centre crop without flip is the identity; pad 0 too */
    int32_t centre[3] = {PAD, PAD, 0};
    CHECK_OK(rn_augment_apply(ctx, src, dst, 1, H, W, C, PAD, centre, 3), ctx);
    CHECK(memcmp(src, dst, sizeof(float) * H * W * C) == 0);
    /* flip twice is the identity */
    int32_t flip[3] = {PAD, PAD, 1};
    static float back[H * W * C];
    CHECK_OK(rn_augment_apply(ctx, src, dst, 1, H, W, C, PAD, flip, 3), ctx);
    CHECK_OK(rn_augment_apply(ctx, dst, back, 1, H, W, C, PAD, flip, 3), ctx);
    CHECK(memcmp(src, back, sizeof back) == 0);
    /* without flip requested, no flips are drawn */
    CHECK(rn_augment_draw(s, N, PAD, 0, params, 3 * N) == RN_OK);
    for (int i = 0; i < N; i++) CHECK(params[3 * i + 2] == 0);
    /* bounds */
    int32_t out_of_range[3] = {2 * PAD + 1, 0, 0};
    CHECK_STATUS(rn_augment_apply(ctx, src, dst, 1, H, W, C, PAD, out_of_range, 3),
                 RN_E_INVALID_ARG, ctx);
    CHECK_STATUS(rn_augment_apply(ctx, src, src, 1, H, W, C, PAD, centre, 3), RN_E_INVALID_ARG,
                 ctx);
    CHECK(rn_augment_draw(s, N, PAD, 1, params, 3 * N - 1) == RN_E_INVALID_ARG);
    rn_ctx_destroy(ctx);
}

static void test_metrics_count_errors_and_fill_the_confusion_matrix(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    const float logits[4 * 3] = {
        0.1f, 0.9f, 0.0f,  /* predicts 1 */
        2.0f, 2.0f, 1.0f,  /* tie: the first maximum, 0 */
        -1.f, -2.f, -0.5f, /* 2 */
        NAN,  0.0f, -1.0f, /* a NaN never wins: 1 */
    };
    const int32_t labels[4] = {1, 1, 2, 0};
    int64_t conf[9] = {0}, errors = -1;
    CHECK_OK(rn_metrics_update(ctx, logits, labels, 4, 3, conf, 9, &errors), ctx);
    CHECK(errors == 2);
    const int64_t want[9] = {0, 1, 0, /* true 0 */ 1, 1, 0, /* true 1 */ 0, 0, 1};
    CHECK(memcmp(conf, want, sizeof want) == 0);
    /* counts add up over calls */
    CHECK_OK(rn_metrics_update(ctx, logits, labels, 1, 3, conf, 9, NULL), ctx);
    CHECK(conf[4] == 2);
    const int32_t bad[1] = {3};
    CHECK_STATUS(rn_metrics_update(ctx, logits, bad, 1, 3, conf, 9, &errors), RN_E_INVALID_ARG,
                 ctx);
    CHECK_STATUS(rn_metrics_update(ctx, logits, labels, 4, 3, conf, 8, &errors), RN_E_INVALID_ARG,
                 ctx);
    rn_ctx_destroy(ctx);
}

static const rn_test_case cases[] = {
    {"rng_matches_reference_outputs", test_rng_matches_reference_outputs},
    {"rng_refuses_null_and_the_all_zero_state", test_rng_refuses_null_and_the_all_zero_state},
    {"rng_draws_are_uniform", test_rng_draws_are_uniform},
    {"shuffle_gives_every_permutation_equally_often",
     test_shuffle_gives_every_permutation_equally_often},
    {"split_is_a_sorted_partition_fixed_by_the_seed",
     test_split_is_a_sorted_partition_fixed_by_the_seed},
    {"dataset_normalisations_by_hand", test_dataset_normalisations_by_hand},
    {"dataset_views_select_images_and_keep_normalisation",
     test_dataset_views_select_images_and_keep_normalisation},
    {"augmentation_crops_within_the_padding_and_flips_like_the_naive_version",
     test_augmentation_crops_within_the_padding_and_flips_like_the_naive_version},
    {"metrics_count_errors_and_fill_the_confusion_matrix",
     test_metrics_count_errors_and_fill_the_confusion_matrix},
};

RN_TEST_MAIN(cases)

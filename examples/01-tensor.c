/*
 * Example 1, the bottom of the API: a context, tensors (created and
 * wrapped), PyTorch's NCHW order against libresnet's NHWC, context options,
 * and what a failed call tells you. Walked through in docs/api.md.
 *
 * Every example is also a test (ctest runs it): it prints what it does,
 * ends with "1 passed, 0 failed", and exits non-zero when a check fails.
 */
#include <resnet.h>

#include <stdio.h>
#include <string.h>

static int finish(int ok) {
    printf("%d passed, %d failed\n", ok ? 1 : 0, ok ? 0 : 1);
    return ok ? 0 : 1;
}

/* A call that must succeed: on failure print the library's sentence and stop. */
#define TRY(call)                                                             \
    do {                                                                      \
        rn_status st_ = (call);                                               \
        if (st_ != RN_OK) {                                                   \
            fprintf(stderr, "%s:%d: %s: %s: %s\n", __FILE__, __LINE__, #call, \
                    rn_status_string(st_), rn_last_error(ctx));               \
            return finish(0);                                                 \
        }                                                                     \
    } while (0)

/* A property the example relies on. */
#define EXPECT(cond)                                                            \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond); \
            return finish(0);                                                   \
        }                                                                       \
    } while (0)

/* The log callback sees every error sentence as it is made (and, at a higher
 * RN_OPT_LOG_LEVEL, warnings and information). The library itself never
 * prints: this is the caller choosing to. */
static int errors_logged;
static void log_to_stdout(void *user, int32_t level, const char *message) {
    (void)user;
    if (level == RN_LOG_ERROR) errors_logged++;
    printf("  [log %d] %s\n", (int)level, message);
}

int main(void) {
    rn_ctx *ctx = NULL;
    printf("libresnet %s (header %d.%d.%d)\n", rn_version_string(), RN_VERSION_MAJOR,
           RN_VERSION_MINOR, RN_VERSION_PATCH);
    /* Same major version = same ABI (docs/abi.md). */
    EXPECT(rn_version_number() / 10000 == RN_VERSION_MAJOR);

    /* ---- the context: allocator, threads, ISA cap, last error ---------------- */
    TRY(rn_ctx_create(&ctx));
    int64_t lo = 0, hi = 0, isa = 0;
    TRY(rn_option_bounds(RN_OPT_NUM_THREADS, &lo, &hi));
    TRY(rn_ctx_set_int(ctx, RN_OPT_NUM_THREADS, 2)); /* the default is 1 thread */
    TRY(rn_ctx_get_int(ctx, RN_OPT_ACTIVE_ISA, &isa));
    printf("context: threads may be %lld..%lld, kernels in use: %s\n", (long long)lo, (long long)hi,
           rn_isa_name((int32_t)isa));

    /* ---- tensors: 4-D float32, stored NHWC (channels innermost) -------------- */
    /* An image batch of N=1, C=2, H=2, W=3 as PyTorch holds it (NCHW). */
    enum { N = 1, C = 2, H = 2, W = 3, COUNT = N * C * H * W };
    const float nchw[COUNT] = {
        /* channel 0 */ 0,   1,   2,   10,  11,  12,
        /* channel 1 */ 100, 101, 102, 110, 111, 112,
    };
    rn_tensor *t = NULL;
    TRY(rn_tensor_create(ctx, N, H, W, C, &t)); /* dims are always n, h, w, c */
    TRY(rn_tensor_read(t, nchw, COUNT, RN_LAYOUT_NCHW));
    int64_t dims[4];
    TRY(rn_tensor_shape(t, dims));
    printf("tensor (n,h,w,c) = (%lld,%lld,%lld,%lld), NHWC storage:", (long long)dims[0],
           (long long)dims[1], (long long)dims[2], (long long)dims[3]);
    const float *d = rn_tensor_data_const(t);
    for (int i = 0; i < COUNT; i++) printf(" %g", (double)d[i]);
    printf("\n");
    /* Element (n, c, y, x) of the NCHW array sits at ((n*H + y)*W + x)*C + c. */
    for (int c = 0; c < C; c++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) EXPECT(d[(y * W + x) * C + c] == nchw[(c * H + y) * W + x]);

    /* Written back out as NCHW it is the array we started from. */
    float back[COUNT];
    TRY(rn_tensor_write(t, back, COUNT, RN_LAYOUT_NCHW));
    EXPECT(memcmp(back, nchw, sizeof back) == 0);

    /* The same conversion on raw buffers (note the argument order: each
     * function takes the dims in its source's order). */
    float nhwc[COUNT], again[COUNT];
    TRY(rn_nchw_to_nhwc(nchw, nhwc, N, C, H, W));
    TRY(rn_nhwc_to_nchw(nhwc, again, N, H, W, C));
    EXPECT(memcmp(nhwc, d, sizeof nhwc) == 0 && memcmp(again, nchw, sizeof again) == 0);

    /* rn_tensor_wrap borrows the caller's array: no copy, no ownership. The
     * array must outlive the tensor; destroying the tensor leaves it alone. */
    float storage[N * H * W * C] = {0};
    rn_tensor *view = NULL;
    TRY(rn_tensor_wrap(ctx, N, H, W, C, storage, &view));
    TRY(rn_tensor_copy(view, t)); /* shapes must match */
    EXPECT(storage[1] == 100.0f); /* pixel (0,0), channel 1 */
    TRY(rn_tensor_fill(view, 0.5f));
    EXPECT(storage[COUNT - 1] == 0.5f);
    printf("wrapped a caller array of %lld floats; copy and fill wrote straight into it\n",
           (long long)rn_tensor_numel(view));

    /* ---- errors: a status, a sentence, outputs untouched --------------------- */
    TRY(rn_ctx_set_log_callback(ctx, log_to_stdout, NULL));
    rn_tensor *bad = NULL, *other = NULL;
    rn_status st = rn_tensor_create(ctx, 1, 0, 3, 2, &bad);
    printf("rn_tensor_create(1,0,3,2) -> %s\n  \"%s\"\n", rn_status_string(st), rn_last_error(ctx));
    EXPECT(st == RN_E_INVALID_ARG && bad == NULL);           /* *out untouched */
    EXPECT(strstr(rn_last_error(ctx), "(1,0,3,2)") != NULL); /* the sentence names the shape */

    TRY(rn_tensor_create(ctx, 1, 3, 2, 2, &other));
    st = rn_tensor_copy(other, t); /* same element count, different shape */
    printf("rn_tensor_copy with shapes (1,3,2,2) and (1,2,3,2) -> %s\n  \"%s\"\n",
           rn_status_string(st), rn_last_error(ctx));
    EXPECT(st == RN_E_INVALID_ARG && rn_tensor_data(other)[0] == 0.0f);

    st = rn_ctx_set_int(ctx, RN_OPT_NUM_THREADS, 0);
    EXPECT(st == RN_E_INVALID_ARG);
    st = rn_ctx_set_int(ctx, 12345, 1); /* unknown keys can be probed for */
    EXPECT(st == RN_E_NOT_FOUND);
    EXPECT(errors_logged == 4);

    /* Destroy in reverse order of creation; the context goes last. */
    rn_tensor_destroy(other);
    rn_tensor_destroy(view);
    rn_tensor_destroy(t);
    rn_ctx_destroy(ctx);
    return finish(1);
}

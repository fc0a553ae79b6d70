/*
 * Example 3, residual blocks: the paper's basic block y = ReLU(F(x) + s(x))
 * where the channels double and the image halves (16 -> 32 channels,
 * stride 2), with the option-A shortcut (subsample, zero-pad the new
 * channels: no parameters) and the option-B shortcut (a 1x1 convolution
 * and BN). Shows tensors by torchvision name, forward in both modes, and
 * backward: input and weight gradients checked against finite differences.
 * Walked through in docs/api.md.
 */
#include <resnet.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

static int finish(int ok) {
    printf("%d passed, %d failed\n", ok ? 1 : 0, ok ? 0 : 1);
    return ok ? 0 : 1;
}

#define TRY(call)                                                             \
    do {                                                                      \
        rn_status st_ = (call);                                               \
        if (st_ != RN_OK) {                                                   \
            fprintf(stderr, "%s:%d: %s: %s: %s\n", __FILE__, __LINE__, #call, \
                    rn_status_string(st_), rn_last_error(ctx));               \
            return finish(0);                                                 \
        }                                                                     \
    } while (0)

#define EXPECT(cond)                                                            \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond); \
            return finish(0);                                                   \
        }                                                                       \
    } while (0)

#define N 2
#define H 8
#define W 8
#define IN 16
#define OUT 32
#define OH 4 /* ceil(8 / 2) */
#define OW 4
#define X_COUNT (N * H * W * IN)
#define Y_COUNT (N * OH * OW * OUT)

static unsigned long long seed = 1512;
static float uniform(void) { /* [-1, 1) */
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((seed >> 40) & 0xFFFFFF) / 8388608.0f - 1.0f;
}

/* L = sum(r * block(x)) in train mode (batch statistics), in double. */
static rn_status loss_at(rn_block *b, const rn_tensor *x, rn_tensor *y, const float *r,
                         double *loss) {
    rn_status st = rn_block_forward(b, x, RN_MODE_TRAIN, y);
    if (st) return st;
    double sum = 0.0;
    for (int i = 0; i < Y_COUNT; i++) sum += (double)r[i] * rn_tensor_data(y)[i];
    *loss = sum;
    return RN_OK;
}

/* (L(v + h) - L(v - h)) / 2h for one float v, restored after. With a
 * float32 forward, h trades rounding noise (about 1e-6 in L, divided by 2h)
 * against ReLU kinks: when some unit's input crosses zero inside +-h the
 * difference is spoilt. h = 1e-3, and entries whose units stay clear of
 * their kinks within that range, give differences good to about 1e-3. */
static rn_status slope_of(rn_block *b, const rn_tensor *x, rn_tensor *y, const float *r, float *v,
                          double *slope) {
    const float keep = *v;
    const double h = 1e-3;
    double plus = 0.0, minus = 0.0;
    rn_status st;
    const float up = (float)(keep + h), down = (float)(keep - h);
    *v = up;
    if ((st = loss_at(b, x, y, r, &plus))) return st;
    *v = down;
    if ((st = loss_at(b, x, y, r, &minus))) return st;
    *v = keep;
    *slope = (plus - minus) / ((double)up - (double)down); /* the step actually taken */
    return RN_OK;
}

/* 1e-2 of max(1, |slope|): float32 rounding and the O(h^2) truncation stay
 * well below it; a wrong gradient (a missing shortcut term, a mask in the
 * wrong place) is off by far more. */
static int agrees(const char *what, double analytic, double numeric) {
    const int ok = fabs(analytic - numeric) <= 1e-2 * fmax(1.0, fabs(numeric));
    printf("  %-26s backward %10.6f, finite difference %10.6f%s\n", what, analytic, numeric,
           ok ? "" : "  <-- differs");
    return ok;
}

static void print_tensors(const rn_block *b, const char *title) {
    printf("%s: %d tensors\n", title, (int)rn_block_tensor_count(b));
    for (int32_t i = 0; i < rn_block_tensor_count(b); i++) {
        const char *name = NULL;
        int32_t ndim = 0, kind = 0;
        int64_t d[4];
        if (rn_block_tensor_info(b, i, &name, &ndim, d, &kind) != RN_OK) continue;
        printf("  %-28s %s (", name, kind == RN_TENSOR_PARAM ? "param " : "buffer");
        for (int32_t k = 0; k < ndim; k++) printf(k ? ", %lld" : "%lld", (long long)d[k]);
        printf(")\n");
    }
}

int main(void) {
    static float xv[X_COUNT], r[Y_COUNT], dxv[X_COUNT], yv[Y_COUNT], sv[Y_COUNT];
    rn_ctx *ctx = NULL;
    rn_block *a = NULL, *b = NULL, *z = NULL;
    rn_tensor *x = NULL, *y = NULL, *dy = NULL, *dx = NULL, *s = NULL;
    TRY(rn_ctx_create(&ctx));
    for (int i = 0; i < X_COUNT; i++) xv[i] = uniform();
    for (int i = 0; i < Y_COUNT; i++) r[i] = uniform();
    /* Tensors over the caller's arrays: NHWC, no copies. */
    TRY(rn_tensor_wrap(ctx, N, H, W, IN, xv, &x));
    TRY(rn_tensor_wrap(ctx, N, OH, OW, OUT, yv, &y));
    TRY(rn_tensor_wrap(ctx, N, OH, OW, OUT, r, &dy));
    TRY(rn_tensor_wrap(ctx, N, H, W, IN, dxv, &dx));
    TRY(rn_tensor_wrap(ctx, N, OH, OW, OUT, sv, &s));

    /* ---- two blocks, two shortcuts ------------------------------------------ */
    TRY(rn_block_create(ctx, RN_BLOCK_BASIC, IN, OUT, 2, RN_SHORTCUT_A, 0, &a));
    TRY(rn_block_create(ctx, RN_BLOCK_BASIC, IN, OUT, 2, RN_SHORTCUT_B, 0, &b));
    TRY(rn_block_init(a, 1)); /* He init; without it conv weights are zero */
    TRY(rn_block_init(b, 1));
    print_tensors(a, "option A (identity, subsampled and zero-padded)");
    print_tensors(b, "option B (projection where the shape changes)");
    EXPECT(rn_block_tensor_count(a) == 10 && rn_block_tensor_count(b) == 15);

    /* ---- tensors by name, in PyTorch's layout -------------------------------- */
    /* "downsample.0.weight" is (32, 16, 1, 1) OIHW, as in torchvision. Set it
     * to a plain channel copy: output channel o takes input channel o % 16. */
    static float proj[OUT * IN];
    for (int o = 0; o < OUT; o++)
        for (int i = 0; i < IN; i++) proj[o * IN + i] = (o % IN == i) ? 1.0f : 0.0f;
    TRY(rn_block_set_tensor(b, "downsample.0.weight", proj, OUT * IN));
    float check[OUT * IN];
    TRY(rn_block_get_tensor(b, "downsample.0.weight", check, OUT * IN));
    EXPECT(memcmp(check, proj, sizeof check) == 0);
    /* A wrong count is refused with a sentence that gives the right one. */
    rn_status st = rn_block_get_tensor(b, "conv1.weight", check, 10);
    printf("get conv1.weight with room for 10 floats -> %s\n  \"%s\"\n", rn_status_string(st),
           rn_last_error(ctx));
    EXPECT(st == RN_E_INVALID_ARG);

    /* ---- option A is what the layers API computes ------------------------------
     * With RN_MODEL_ZERO_INIT_RESIDUAL the last BN of F starts with weight 0,
     * so F(x) = 0 and the block is exactly ReLU(shortcut_A(x)). */
    TRY(rn_block_create(ctx, RN_BLOCK_BASIC, IN, OUT, 2, RN_SHORTCUT_A, RN_MODEL_ZERO_INIT_RESIDUAL,
                        &z));
    TRY(rn_block_init(z, 7));
    TRY(rn_block_forward(z, x, RN_MODE_INFER, y));
    TRY(rn_shortcut_a_forward(ctx, x, 2, s));
    TRY(rn_relu_forward(ctx, s, s));
    EXPECT(memcmp(yv, sv, sizeof yv) == 0);
    printf("zero-initialised option-A block == ReLU(rn_shortcut_a_forward(x)): yes\n");

    /* ---- forward and backward, checked by finite differences -------------------
     * For L = sum(r * y), dL/dy = r: backward gives dL/dx and, kept in the
     * block by name, dL/dp for every parameter p. A few entries of each are
     * checked against central differences of L. */
    rn_block *blocks[2] = {a, b};
    const char *names[2] = {"A", "B"};
    int ok = 1;
    for (int k = 0; k < 2; k++) {
        double loss = 0.0, slope = 0.0;
        TRY(loss_at(blocks[k], x, y, r, &loss));
        TRY(rn_block_backward(blocks[k], dy, dx)); /* once after each train forward */
        printf("option %s: L = %.5f\n", names[k], loss);
        /* input pixels (n, y, x, c) in NHWC: two inside, one on the border */
        const int at[3][4] = {{0, 3, 4, 5}, {1, 6, 1, 12}, {1, 0, 7, 0}};
        for (int i = 0; i < 3; i++) {
            const int idx = ((at[i][0] * H + at[i][1]) * W + at[i][2]) * IN + at[i][3];
            char what[32];
            snprintf(what, sizeof what, "dL/dx[%d,%d,%d,%d]", at[i][0], at[i][1], at[i][2],
                     at[i][3]);
            TRY(slope_of(blocks[k], x, y, r, &xv[idx], &slope));
            ok &= agrees(what, dxv[idx], slope);
        }
        /* a parameter by name: read it, nudge one entry, write it back */
        static float wv[OUT * IN * 9], gv[OUT * IN * 9];
        const int widx = ((7 * IN + 2) * 3 + 2) * 3 + 1; /* OIHW (7, 2, 2, 1) */
        TRY(rn_block_get_grad(blocks[k], "conv1.weight", gv, OUT * IN * 9));
        TRY(rn_block_get_tensor(blocks[k], "conv1.weight", wv, OUT * IN * 9));
        const float keep = wv[widx], up = keep + 1e-3f, down = keep - 1e-3f;
        double lp = 0.0, lm = 0.0;
        wv[widx] = up;
        TRY(rn_block_set_tensor(blocks[k], "conv1.weight", wv, OUT * IN * 9));
        TRY(loss_at(blocks[k], x, y, r, &lp));
        wv[widx] = down;
        TRY(rn_block_set_tensor(blocks[k], "conv1.weight", wv, OUT * IN * 9));
        TRY(loss_at(blocks[k], x, y, r, &lm));
        wv[widx] = keep;
        TRY(rn_block_set_tensor(blocks[k], "conv1.weight", wv, OUT * IN * 9));
        ok &=
            agrees("dL/d conv1.weight[7,2,2,1]", gv[widx], (lp - lm) / ((double)up - (double)down));
    }
    EXPECT(ok);

    /* Backward needs a train-mode forward first: the order is checked. */
    TRY(rn_block_forward(a, x, RN_MODE_INFER, y));
    st = rn_block_backward(a, dy, dx);
    printf("backward after an inference forward -> %s\n  \"%s\"\n", rn_status_string(st),
           rn_last_error(ctx));
    EXPECT(st == RN_E_BAD_STATE);

    rn_block_destroy(z);
    rn_block_destroy(b);
    rn_block_destroy(a);
    rn_tensor_destroy(s);
    rn_tensor_destroy(dx);
    rn_tensor_destroy(dy);
    rn_tensor_destroy(y);
    rn_tensor_destroy(x);
    rn_ctx_destroy(ctx);
    return finish(1);
}

/*
 * Example 2, the layers API: conv2d -> batch norm (train mode) -> ReLU, run
 * forward and backward by hand, one stateless call per layer, and one
 * weight-gradient entry and one input-gradient entry checked against a
 * central finite difference of the loss. Walked through in docs/api.md.
 *
 * The loss is L = sum(r * y) for a fixed random r, so dL/dy = r: a simple
 * way to give every output a different weight in the gradient.
 */
#include <resnet.h>

#include <math.h>
#include <stdio.h>

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

/* Shapes: a batch of 2 images 6x5 with 3 channels, a 3x3 convolution to 4
 * channels, stride 1, padding 1 (so the output is 6x5 as well). */
#define N 2
#define H 6
#define W 5
#define C 3
#define OC 4
#define K 3
#define BN_MOMENTUM 0.1f /* PyTorch's defaults */
#define BN_EPS 1e-5f

/* Deterministic values in [-1, 1) (an LCG), so every run sees the same data. */
static unsigned long long seed = 2015;
static float uniform(void) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((seed >> 40) & 0xFFFFFF) / 8388608.0f - 1.0f;
}

/* Every tensor of the three layers. */
typedef struct net {
    rn_tensor *x, *w, *conv, *gamma, *beta, *rmean, *rvar, *bn, *smean, *sinvstd, *y;
    rn_tensor *r; /* dL/dy */
} net;

/* Forward through the three layers and the loss L = sum(r * y), in double. */
static rn_status forward(rn_ctx *ctx, net *n, double *loss) {
    rn_status st;
    if ((st = rn_conv2d_forward(ctx, n->x, n->w, NULL, 1, 1, 1, 1, n->conv))) return st;
    /* Train mode: normalise with this batch's statistics, update the running
     * ones, and save the batch mean and 1/std for backward. */
    if ((st = rn_batchnorm_forward_train(ctx, n->conv, n->gamma, n->beta, n->rmean, n->rvar,
                                         BN_MOMENTUM, BN_EPS, n->bn, n->smean, n->sinvstd)))
        return st;
    if ((st = rn_relu_forward(ctx, n->bn, n->y))) return st;
    const float *y = rn_tensor_data_const(n->y), *r = rn_tensor_data_const(n->r);
    double sum = 0.0;
    for (int64_t i = 0; i < rn_tensor_numel(n->y); i++) sum += (double)r[i] * y[i];
    *loss = sum;
    return RN_OK;
}

/* (L(v + h) - L(v - h)) / 2h for one float v of the network, restored after. */
static rn_status finite_difference(rn_ctx *ctx, net *n, float *v, double h, double *slope) {
    const float keep = *v;
    double plus, minus;
    rn_status st;
    const float up = (float)(keep + h), down = (float)(keep - h);
    *v = up;
    if ((st = forward(ctx, n, &plus))) return st;
    *v = down;
    if ((st = forward(ctx, n, &minus))) return st;
    *v = keep;
    *slope = (plus - minus) / ((double)up - (double)down); /* the step actually taken */
    return RN_OK;
}

int main(void) {
    rn_ctx *ctx = NULL;
    net n;
    rn_tensor *dy = NULL, *dbn = NULL, *dconv = NULL, *dx = NULL, *dw = NULL, *dgamma = NULL,
              *dbeta = NULL;
    TRY(rn_ctx_create(&ctx));

    /* Activations are (N,H,W,C). A conv weight is OHWI: (OC, KH, KW, C).
     * Per-channel vectors are (1,1,1,C). */
    TRY(rn_tensor_create(ctx, N, H, W, C, &n.x));
    TRY(rn_tensor_create(ctx, OC, K, K, C, &n.w));
    TRY(rn_tensor_create(ctx, N, H, W, OC, &n.conv));
    TRY(rn_tensor_create(ctx, 1, 1, 1, OC, &n.gamma));
    TRY(rn_tensor_create(ctx, 1, 1, 1, OC, &n.beta));
    TRY(rn_tensor_create(ctx, 1, 1, 1, OC, &n.rmean));
    TRY(rn_tensor_create(ctx, 1, 1, 1, OC, &n.rvar));
    TRY(rn_tensor_create(ctx, N, H, W, OC, &n.bn));
    TRY(rn_tensor_create(ctx, 1, 1, 1, OC, &n.smean));
    TRY(rn_tensor_create(ctx, 1, 1, 1, OC, &n.sinvstd));
    TRY(rn_tensor_create(ctx, N, H, W, OC, &n.y));
    TRY(rn_tensor_create(ctx, N, H, W, OC, &n.r));
    float *x = rn_tensor_data(n.x), *w = rn_tensor_data(n.w);
    for (int64_t i = 0; i < rn_tensor_numel(n.x); i++) x[i] = uniform();
    for (int64_t i = 0; i < rn_tensor_numel(n.w); i++) w[i] = 0.3f * uniform();
    for (int64_t i = 0; i < OC; i++) {
        rn_tensor_data(n.gamma)[i] = 1.0f + 0.25f * uniform();
        rn_tensor_data(n.beta)[i] = 0.2f * uniform();
    }
    TRY(rn_tensor_fill(n.rvar, 1.0f)); /* running statistics start at mean 0, var 1 */
    for (int64_t i = 0; i < rn_tensor_numel(n.r); i++) rn_tensor_data(n.r)[i] = uniform();

    double loss = 0.0;
    TRY(forward(ctx, &n, &loss));
    printf("forward: x (%d,%d,%d,%d) -> conv 3x3 -> BN -> ReLU -> y (%d,%d,%d,%d), L = %.6f\n", N,
           H, W, C, N, H, W, OC, loss);
    printf("BN running mean after one train step (momentum 0.1): %.5f %.5f %.5f %.5f\n",
           (double)rn_tensor_data(n.rmean)[0], (double)rn_tensor_data(n.rmean)[1],
           (double)rn_tensor_data(n.rmean)[2], (double)rn_tensor_data(n.rmean)[3]);

    /* ---- backward, layer by layer, in reverse ------------------------------- */
    TRY(rn_tensor_create(ctx, N, H, W, OC, &dbn));
    TRY(rn_tensor_create(ctx, N, H, W, OC, &dconv));
    TRY(rn_tensor_create(ctx, N, H, W, C, &dx));
    TRY(rn_tensor_create(ctx, OC, K, K, C, &dw));
    TRY(rn_tensor_create(ctx, 1, 1, 1, OC, &dgamma));
    TRY(rn_tensor_create(ctx, 1, 1, 1, OC, &dbeta));
    dy = n.r; /* dL/dy = r */
    /* ReLU's backward needs only its output: dx = dy where y > 0. */
    TRY(rn_relu_backward(ctx, n.y, dy, dbn));
    /* Batch norm's backward uses the batch statistics the forward saved. */
    TRY(rn_batchnorm_backward(ctx, n.conv, dbn, n.gamma, n.smean, n.sinvstd, dconv, dgamma, dbeta));
    /* A convolution has two backward passes: weights (from x) and data. */
    TRY(rn_conv2d_backward_weights(ctx, n.x, dconv, 1, 1, 1, 1, dw, NULL));
    TRY(rn_conv2d_backward_data(ctx, dconv, n.w, 1, 1, 1, 1, dx));

    /* ---- one entry of each gradient against a finite difference ----------- */
    /* Weight (o=2, kh=1, kw=0, c=1) in OHWI, and input pixel (n=1, y=3, x=2, c=0). */
    const int64_t wi = ((2 * K + 1) * K + 0) * C + 1;
    const int64_t xi = ((1 * H + 3) * W + 2) * C + 0;
    double slope_w = 0.0, slope_x = 0.0;
    /* h = 1e-2: large enough that float rounding of L (about 1e-6) stays far
     * below the slope's tolerance, small enough for the curvature. */
    TRY(finite_difference(ctx, &n, &w[wi], 1e-2, &slope_w));
    TRY(finite_difference(ctx, &n, &x[xi], 1e-2, &slope_x));
    const double gw = rn_tensor_data(dw)[wi], gx = rn_tensor_data(dx)[xi];
    printf("dL/dw[2,1,0,1]: backward %.6f, finite difference %.6f\n", gw, slope_w);
    printf("dL/dx[1,3,2,0]: backward %.6f, finite difference %.6f\n", gx, slope_x);
    /* Tolerance 1e-2 of max(1, |g|): the float32 forward and the O(h^2)
     * truncation of the central difference are both well below it, while a
     * wrong gradient (another entry, a missing BN term) is off by far more. */
    const int ok = fabs(gw - slope_w) <= 1e-2 * fmax(1.0, fabs(slope_w)) &&
                   fabs(gx - slope_x) <= 1e-2 * fmax(1.0, fabs(slope_x)) && fabs(slope_w) > 1e-3 &&
                   fabs(slope_x) > 1e-3; /* not a trivial zero */

    rn_tensor *all[] = {n.x,       n.w, n.conv, n.gamma, n.beta, n.rmean, n.rvar, n.bn,   n.smean,
                        n.sinvstd, n.y, n.r,    dbn,     dconv,  dx,      dw,     dgamma, dbeta};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) rn_tensor_destroy(all[i]);
    rn_ctx_destroy(ctx);
    return finish(ok);
}

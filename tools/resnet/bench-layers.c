/*
 * resnet bench ARCH --layers: where a network's time goes, convolution by
 * convolution, so the next bottleneck is visible.
 *
 * The list of convolutions comes from the model itself: rn_model_layer_info
 * gives each layer's output and MACs, the model's 4-D parameters give each
 * convolution's channels and kernel. Strides are not stored anywhere
 * public, so each layer's stride (and which convolution of the main path
 * carries it: conv2 in torchvision's v1.5 bottleneck, conv1 in the paper's
 * v1 and in basic blocks) is the one whose shapes reproduce the layer's
 * output size and its reported MACs exactly; a layer that no placement
 * explains is reported as an error rather than guessed. Padding is k / 2,
 * as in every preset.
 *
 * Each distinct shape is then timed alone through the public layer API
 * (rn_conv2d_forward, and for --train rn_conv2d_backward_data and
 * rn_conv2d_backward_weights) on random data with the context's threads.
 * These are the layer API's figures: an inference plan may run other
 * kernels (pre-packed weights, Winograd), which the whole-network time
 * printed beside them includes; which algorithm the plan runs for each
 * pass is printed beside each shape, from the lines the plan logs at
 * RN_LOG_INFO when it is created (for a shape that several layers share,
 * the first layer's: an inference plan's derived-weight budget can leave
 * later ones on the plain algorithm).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench-layers.h"

#define MAX_SHAPES 256    /* distinct convolution shapes in one network */
#define MAX_LAYER_CONVS 8 /* convolutions in one stem or block */
#define MAX_REPS 200      /* timed calls per pass and shape */

typedef struct conv_ref {
    const char *name;
    int64_t oc, c, kh, kw;
    int shortcut; /* the projection ("downsample.0"), beside the main path */
} conv_ref;

typedef struct conv_shape {
    int64_t n, h, w, c, oc, kh, kw, stride, pad_h, pad_w, oh, ow;
    int backward_data; /* 0 for the first convolution: a training step needs no input gradient */
    int count;
    char first[48];
    double ms[3]; /* forward, backward-data, backward-weights: median ms per call */
} conv_shape;

void bench_layers_log(void *user, int32_t level, const char *message) {
    bench_log *l = (bench_log *)user;
    size_t n = strlen(message);
    (void)level;
    if (l->len + n + 2 > l->cap) {
        size_t cap = (l->cap ? 2 * l->cap : 4096) + n + 2;
        char *t = realloc(l->text, cap);
        if (!t) return;
        l->text = t, l->cap = cap;
    }
    memcpy(l->text + l->len, message, n);
    l->len += n;
    l->text[l->len++] = '\n';
    l->text[l->len] = '\0';
}

/* The plan's algorithm for one pass of a shape: the text after
 * "conv <shape> <pass>: " on the first log line that names them, or "-". */
static void plan_algo(const bench_log *log, const conv_shape *s, const char *pass, char *out,
                      size_t cap) {
    char key[160];
    snprintf(key, sizeof key,
             "conv %lldx%lldx%lldx%lld>%lld k%lldx%lld s%lld p%lld %s: ", (long long)s->n,
             (long long)s->h, (long long)s->w, (long long)s->c, (long long)s->oc, (long long)s->kh,
             (long long)s->kw, (long long)s->stride, (long long)s->pad_h, pass);
    snprintf(out, cap, "-");
    const char *at = log && log->text ? strstr(log->text, key) : NULL;
    if (!at) return;
    at += strlen(key);
    size_t n = strcspn(at, "\n");
    if (n >= cap) n = cap - 1;
    memcpy(out, at, n);
    out[n] = '\0';
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The convolution weights of one layer: for the stem the 4-D parameters
 * outside every "layerK." stage, for a block those named "<block>.*". The
 * main path is put in name order (conv1, conv2, conv3). Returns the count,
 * or -1 when there are more than cap. */
static int layer_convs(const rn_model *m, const char *layer, int is_stem, conv_ref *out, int cap) {
    int32_t count = rn_model_tensor_count(m);
    size_t plen = strlen(layer);
    int n = 0;
    for (int32_t i = 0; i < count; i++) {
        const char *name = NULL;
        int32_t ndim = 0, kind = 0;
        int64_t d[4];
        if (rn_model_tensor_info(m, i, &name, &ndim, d, &kind) || ndim != 4 ||
            kind != RN_TENSOR_PARAM)
            continue;
        if (is_stem ? strncmp(name, "layer", 5) == 0
                    : strncmp(name, layer, plen) != 0 || name[plen] != '.')
            continue;
        if (n == cap) return -1;
        out[n].name = name;
        out[n].oc = d[0];
        out[n].c = d[1];
        out[n].kh = d[2];
        out[n].kw = d[3];
        out[n].shortcut = !is_stem && strstr(name + plen, ".downsample.") != NULL;
        n++;
    }
    for (int i = 1; i < n; i++) /* insertion sort by name: a handful of entries */
        for (int j = i; j > 0 && strcmp(out[j - 1].name, out[j].name) > 0; j--) {
            conv_ref t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    return n;
}

static int64_t conv_macs(const conv_shape *s) {
    return s->oc * s->c * s->kh * s->kw * s->oh * s->ow;
}

/* Shapes of a layer's convolutions for an input of c x h x w per image when
 * the main path's stride s sits on its convolution number `at` (the
 * projection, if any, has stride s too). Returns the MACs per image, or -1
 * when the channels do not chain or a window does not fit. *oc, *oh, *ow
 * receive the main path's output. */
static int64_t place(const conv_ref *cv, int n, int64_t batch, int64_t c, int64_t h, int64_t w,
                     int at, int64_t s, conv_shape *sh, int64_t *oc, int64_t *oh, int64_t *ow) {
    int64_t macs = 0, cc = c, ch = h, cw = w;
    int main_index = 0;
    for (int i = 0; i < n; i++) {
        conv_shape *x = &sh[i];
        memset(x, 0, sizeof *x);
        x->n = batch;
        x->kh = cv[i].kh;
        x->kw = cv[i].kw;
        x->oc = cv[i].oc;
        x->pad_h = cv[i].kh / 2;
        x->pad_w = cv[i].kw / 2;
        if (cv[i].shortcut) {
            x->c = c, x->h = h, x->w = w, x->stride = s;
        } else {
            x->c = cc, x->h = ch, x->w = cw, x->stride = main_index++ == at ? s : 1;
        }
        if (x->c != cv[i].c) return -1;
        x->oh = rn_conv_out_size(x->h, x->kh, x->stride, x->pad_h);
        x->ow = rn_conv_out_size(x->w, x->kw, x->stride, x->pad_w);
        if (x->oh < 1 || x->ow < 1) return -1;
        if (!cv[i].shortcut) cc = x->oc, ch = x->oh, cw = x->ow;
        macs += conv_macs(x);
    }
    for (int i = 0; i < n; i++) /* a projection must land on the main path's output */
        if (cv[i].shortcut && (sh[i].oc != cc || sh[i].oh != ch || sh[i].ow != cw)) return -1;
    *oc = cc, *oh = ch, *ow = cw;
    return macs;
}

/* Every convolution of the network, grouped by shape, in network order. */
static int collect(const rn_model *m, int64_t batch, int64_t h, int64_t w, conv_shape *shapes,
                   int *nshapes, int *nconvs) {
    int32_t layers = 0, cin = 0;
    rn_model_layer_count(m, &layers);
    rn_model_in_channels(m, &cin);
    int64_t c = cin, ih = h, iw = w;
    *nshapes = *nconvs = 0;
    for (int32_t li = 0; li < layers; li++) {
        char name[64];
        int64_t out[4], macs = 0;
        if (rn_model_layer_info(m, li, h, w, name, sizeof name, out, NULL, &macs)) {
            cli_fail("layer %d of the model has no info for a %lldx%lld input", (int)li,
                     (long long)h, (long long)w);
            return CLI_EXIT_FAIL;
        }
        int is_stem = li == 0;
        conv_ref cv[MAX_LAYER_CONVS];
        int n = layer_convs(m, name, is_stem, cv, MAX_LAYER_CONVS);
        if (n < 0) {
            cli_fail("%s has more than %d convolutions", name, MAX_LAYER_CONVS);
            return CLI_EXIT_FAIL;
        }
        if (n > 0) {
            int mains = 0;
            for (int i = 0; i < n; i++) mains += !cv[i].shortcut;
            conv_shape sh[MAX_LAYER_CONVS];
            int found = 0;
            /* The stem's max pool shrinks its output further: only its
             * channels and MACs pin the stride down. */
            for (int64_t s = 1; s <= 8 && !found; s++)
                for (int at = 0; at < mains && !found; at++) {
                    int64_t oc = 0, oh = 0, ow = 0;
                    int64_t got = place(cv, n, batch, c, ih, iw, at, s, sh, &oc, &oh, &ow);
                    found =
                        got == macs && oc == out[1] && (is_stem || (oh == out[2] && ow == out[3]));
                }
            if (!found) {
                cli_fail("no stride placement of %s's %d convolutions gives its %lld MACs and "
                         "%lldx%lldx%lld output",
                         name, n, (long long)macs, (long long)out[1], (long long)out[2],
                         (long long)out[3]);
                return CLI_EXIT_FAIL;
            }
            for (int i = 0; i < n; i++) {
                sh[i].backward_data = !(is_stem && sh[i].c == cin && sh[i].h == h);
                int k = 0;
                for (; k < *nshapes; k++) {
                    const conv_shape *a = &shapes[k], *b = &sh[i];
                    if (a->h == b->h && a->w == b->w && a->c == b->c && a->oc == b->oc &&
                        a->kh == b->kh && a->kw == b->kw && a->stride == b->stride &&
                        a->backward_data == b->backward_data)
                        break;
                }
                if (k == *nshapes) {
                    if (k == MAX_SHAPES) {
                        cli_fail("more than %d distinct convolution shapes", MAX_SHAPES);
                        return CLI_EXIT_FAIL;
                    }
                    shapes[k] = sh[i];
                    /* "layer3.0.conv2.weight" -> "layer3.0.conv2" */
                    const char *nm = cv[i].name;
                    size_t len = strlen(nm);
                    if (len > 7 && strcmp(nm + len - 7, ".weight") == 0) len -= 7;
                    if (len >= sizeof shapes[k].first) len = sizeof shapes[k].first - 1;
                    memcpy(shapes[k].first, nm, len);
                    shapes[k].first[len] = 0;
                    (*nshapes)++;
                }
                shapes[k].count++;
                (*nconvs)++;
            }
        }
        c = out[1], ih = out[2], iw = out[3];
    }
    return CLI_EXIT_OK;
}

static void fill_random(rn_tensor *t, uint64_t seed, double scale) {
    uint64_t s[4];
    rn_rng_seed(s, seed);
    float *p = rn_tensor_data(t);
    for (int64_t i = 0, n = rn_tensor_numel(t); i < n; i++) {
        double u;
        rn_rng_uniform(s, &u);
        p[i] = (float)(scale * (2 * u - 1));
    }
}

/* Median ms of one pass (0 forward, 1 backward-data, 2 backward-weights)
 * after a warm-up call. */
static rn_status time_pass(rn_ctx *ctx, int pass, const conv_shape *s, const rn_tensor *x,
                           const rn_tensor *wt, rn_tensor *y, rn_tensor *dx, rn_tensor *dw,
                           double seconds, double *ms) {
    double times[MAX_REPS], total = 0;
    int reps = 0;
    int32_t st = (int32_t)s->stride, ph = (int32_t)s->pad_h, pw = (int32_t)s->pad_w;
    for (int it = -1; it < MAX_REPS; it++) {
        double t0 = cli_now();
        rn_status r;
        if (pass == 0)
            r = rn_conv2d_forward(ctx, x, wt, NULL, st, st, ph, pw, y);
        else if (pass == 1)
            r = rn_conv2d_backward_data(ctx, y, wt, st, st, ph, pw, dx);
        else
            r = rn_conv2d_backward_weights(ctx, x, y, st, st, ph, pw, dw, NULL);
        if (r) return r;
        double dt = cli_now() - t0;
        if (it < 0) continue;
        times[reps++] = dt;
        total += dt;
        if (reps >= 3 && total >= seconds) break;
    }
    qsort(times, (size_t)reps, sizeof(double), cmp_double);
    *ms = 1e3 * (reps % 2 ? times[reps / 2] : 0.5 * (times[reps / 2 - 1] + times[reps / 2]));
    return RN_OK;
}

static rn_status time_shape(rn_ctx *ctx, conv_shape *s, int train, double seconds) {
    rn_tensor *x = NULL, *wt = NULL, *y = NULL, *dx = NULL, *dw = NULL;
    rn_status st = rn_tensor_create(ctx, s->n, s->h, s->w, s->c, &x);
    if (!st) st = rn_tensor_create(ctx, s->oc, s->kh, s->kw, s->c, &wt);
    if (!st) st = rn_tensor_create(ctx, s->n, s->oh, s->ow, s->oc, &y);
    if (!st && train && s->backward_data) st = rn_tensor_create(ctx, s->n, s->h, s->w, s->c, &dx);
    if (!st && train) st = rn_tensor_create(ctx, s->oc, s->kh, s->kw, s->c, &dw);
    if (!st) {
        /* He-like scale keeps outputs near unit size: no overflow, no denormals */
        fill_random(x, 1, 1.0);
        fill_random(wt, 2, sqrt(3.0 / (double)(s->c * s->kh * s->kw)));
        s->ms[0] = s->ms[1] = s->ms[2] = 0;
        st = time_pass(ctx, 0, s, x, wt, y, dx, dw, seconds, &s->ms[0]);
        if (!st && train && s->backward_data)
            st = time_pass(ctx, 1, s, x, wt, y, dx, dw, seconds, &s->ms[1]);
        if (!st && train) st = time_pass(ctx, 2, s, x, wt, y, dx, dw, seconds, &s->ms[2]);
    }
    rn_tensor_destroy(dw);
    rn_tensor_destroy(dx);
    rn_tensor_destroy(y);
    rn_tensor_destroy(wt);
    rn_tensor_destroy(x);
    return st;
}

int bench_layers(rn_ctx *ctx, const rn_model *m, int64_t batch, int64_t h, int64_t w, int train,
                 int64_t threads, double seconds, double network_ms, const bench_log *plan_log) {
    /* a twentieth of the whole-network time per pass and shape (at least 3 calls) */
    double pass_seconds = seconds / 20 < 0.25 ? seconds / 20 : 0.25;
    conv_shape *shapes = malloc(MAX_SHAPES * sizeof *shapes);
    if (!shapes) {
        cli_fail("out of memory for the layer list");
        return CLI_EXIT_FAIL;
    }
    int nshapes = 0, nconvs = 0;
    int rc = collect(m, batch, h, w, shapes, &nshapes, &nconvs);
    for (int i = 0; !rc && i < nshapes; i++) {
        rn_status st = time_shape(ctx, &shapes[i], train, pass_seconds);
        if (st) rc = cli_lib_error(ctx, st, shapes[i].first);
    }
    if (!rc) {
        double total_ms = 0, total_flop = 0;
        for (int i = 0; i < nshapes; i++) {
            const conv_shape *s = &shapes[i];
            total_ms += s->count * (s->ms[0] + s->ms[1] + s->ms[2]);
            total_flop += s->count * 2.0 * (double)conv_macs(s) * (double)s->n *
                          (train ? 2.0 + s->backward_data : 1.0);
        }
        printf("\nper-layer breakdown: the %d convolutions of the model (%d distinct shapes), "
               "batch %lld, %lldx%lld, %d thread%s\n",
               nconvs, nshapes, (long long)batch, (long long)h, (long long)w, (int)threads,
               threads == 1 ? "" : "s");
        printf("figures of the public layer API (%s on random data, each shape alone, median of "
               ">= 3 calls), not of the plan's own kernels\n",
               train ? "rn_conv2d_forward + rn_conv2d_backward_data + rn_conv2d_backward_weights"
                     : "rn_conv2d_forward");
        printf("shape: N x H x W x C > out, kernel, stride; ms per call; total = ms x layers; "
               "share of the convolutions' total\n");
        if (train)
            printf("%-30s %6s  %-22s %9s %9s %9s %10s %6s %8s  %s\n", "shape", "layers",
                   "first layer", "fwd ms", "bwd-d ms", "bwd-w ms", "total ms", "share", "GFLOP/s",
                   "plan's algorithm (fwd / bwd-d / bwd-w)");
        else
            printf("%-30s %6s  %-22s %9s %10s %6s %8s  %s\n", "shape", "layers", "first layer",
                   "ms", "total ms", "share", "GFLOP/s", "plan's algorithm");
        for (int i = 0; i < nshapes; i++) {
            const conv_shape *s = &shapes[i];
            char desc[64];
            snprintf(desc, sizeof desc, "%lldx%lldx%lldx%lld>%lld %lldx%lld s%lld", (long long)s->n,
                     (long long)s->h, (long long)s->w, (long long)s->c, (long long)s->oc,
                     (long long)s->kh, (long long)s->kw, (long long)s->stride);
            double each = s->ms[0] + s->ms[1] + s->ms[2];
            double flop = 2.0 * (double)conv_macs(s) * (double)s->n;
            double passes = train ? 2.0 + s->backward_data : 1.0;
            double gflops = each > 0 ? flop * passes / each * 1e-6 : 0;
            double share = total_ms > 0 ? 100.0 * s->count * each / total_ms : 0;
            char a_fwd[32], a_bd[32], a_bw[32];
            plan_algo(plan_log, s, "forward", a_fwd, sizeof a_fwd);
            plan_algo(plan_log, s, "backward-data", a_bd, sizeof a_bd);
            plan_algo(plan_log, s, "backward-weights", a_bw, sizeof a_bw);
            if (train) {
                char bwd_data[32] = "-"; /* the first convolution has none */
                if (s->backward_data) snprintf(bwd_data, sizeof bwd_data, "%.3f", s->ms[1]);
                printf("%-30s %6d  %-22s %9.3f %9s %9.3f %10.3f %5.1f%% %8.1f  %s / %s / %s\n",
                       desc, s->count, s->first, s->ms[0], bwd_data, s->ms[2], s->count * each,
                       share, gflops, a_fwd, a_bd, a_bw);
            } else
                printf("%-30s %6d  %-22s %9.3f %10.3f %5.1f%% %8.1f  %s\n", desc, s->count,
                       s->first, s->ms[0], s->count * each, share, gflops, a_fwd);
        }
        printf("convolutions, sum over the %d layers: %.3f ms per batch, %.1f GFLOP/s\n", nconvs,
               total_ms, total_ms > 0 ? total_flop / total_ms * 1e-6 : 0.0);
        printf("whole network through the plan (median above): %.3f ms per batch; the "
               "convolutions' sum is %.0f%% of it\n",
               network_ms, network_ms > 0 ? 100.0 * total_ms / network_ms : 0.0);
    }
    free(shapes);
    return rc;
}

/*
 * resnet bench ARCH: throughput of inference (or of a training step with
 * --train: forward, backward and an SGD update) on random input. After a
 * warm-up it runs for a few seconds and reports images/s, the median time of
 * a batch, GFLOP/s (2 x MACs per image; x3 for training, whose backward
 * costs about twice the forward), that figure as a share of the FMA peak it
 * measures on this machine (single core x threads), the peak resident
 * memory of the process beside the bytes of the weights (so "RSS at most
 * the weights plus N MB" can be checked), and the plan's arena.
 *
 * --layers then times every distinct convolution shape of the network
 * through the public layer API (bench-layers.c), after the peak RSS above
 * was read, so that it does not count the layer buffers.
 *
 * --int8 quantizes the (random) float model first: its scales come from
 * --data's first --calib training images when given, else from two random
 * batches, and the output says which. Its weights line counts the int8
 * model's file (int8 convolution weights, their int32 biases and float32
 * scales, the float32 fc), and its peak RSS is read twice: over the whole
 * run (the float model and the calibration included) and, on Linux, from
 * after quantizing on (the peak reset through /proc/self/clear_refs).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench-layers.h"
#include "cli.h"

static void help(FILE *f) {
    fprintf(f, "usage: resnet bench ARCH [--batch B] [--threads T] [--train] [--size HxW]\n"
               "                         [--seconds S] [--width W] [--classes K]\n"
               "                         [--in-channels C] [--shortcut A|B|C|none] [--layers]\n"
               "                         [--winograd 0|1] [--bf16] [--fold] [--packed] [--int8]\n\n"
               "Time inference (or training steps with --train) on random input for about S\n"
               "seconds (default 3) after a warm-up. Defaults: batch 1 (inference) or 128\n"
               "(training), the CPU count as threads, 224x224 (ImageNet) or 32x32 (CIFAR).\n"
               "Prints images/s, the median ms per batch, GFLOP/s and its share of the FMA\n"
               "peak measured here, the weights' bytes, the peak RSS and the plan's arena.\n"
               "--layers adds the time and GFLOP/s of every distinct convolution shape, run\n"
               "alone through the layer API (forward, and both backward passes with --train),\n"
               "and the algorithm the network's plan runs for each pass of it.\n"
               "--winograd 0 runs every convolution direct (RN_OPT_WINOGRAD; default 1).\n"
               "--bf16 (with --train) runs the 3x3 convolutions' forward passes with bf16\n"
               "products and fp32 sums (RN_OPT_TRAIN_BF16; AVX512_BF16).\n"
               "--fold folds every batch norm into its convolution first, as a deployment\n"
               "would (rn_model_fold_batchnorm; inference only).\n"
               "--packed keeps the convolution weights only in the packed form the plan\n"
               "reads (rn_model_pack_for_inference; inference only; after --fold).\n"
               "--int8 times the int8 model (docs/int8.md) quantized from the random weights\n"
               "(inference only), its scales calibrated on the first N (--calib, default 500)\n"
               "training images of --data fashion-mnist|cifar10 (normalised per channel;\n"
               "--data-dir DIR; the data's size, channels and classes apply), else on two\n"
               "random batches, which times the same work but says nothing of accuracy.\n");
    cli_arch_help(f);
}

/* Peak resident bytes of this program. Linux's VmHWM belongs to the address
 * space, which exec replaces; getrusage's ru_maxrss survives exec, so under
 * a parent that forked it (Python's subprocess) it reports the parent's
 * size. ru_maxrss is the fallback elsewhere. */
static double peak_rss_bytes(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        char line[256];
        long long kib = -1;
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "VmHWM:", 6) == 0 && sscanf(line + 6, "%lld", &kib) == 1) break;
        fclose(f);
        if (kib >= 0) return (double)kib * 1024.0;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss * 1024.0; /* KiB on Linux and the BSDs */
}

/* Linux: the peak RSS (VmHWM) set back to the current RSS; 0 if it was. */
static int reset_peak_rss(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f) return -1;
    int ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* The int8 model's scales from the first `calib` training images of
 * `data` (normalised per channel), else from two random batches. */
static int calibrate_int8(rn_ctx *ctx, rn_model **m, const cli_images *img, int64_t h, int64_t w,
                          int32_t cin) {
    rn_calibrator *cal = NULL;
    rn_model *q = NULL;
    rn_dataset *ds = NULL;
    int64_t count = img->images ? img->n : 2, chunk = count < 100 ? count : 100;
    size_t image = (size_t)cin * (size_t)(h * w), n = (size_t)chunk * image;
    float *cx = malloc(n * sizeof(float));
    int64_t *idx = malloc((size_t)chunk * sizeof(int64_t));
    rn_status st = RN_OK;
    int rc = 0;
    if (!cx || !idx) {
        cli_fail("out of memory");
        rc = CLI_EXIT_FAIL;
    }
    if (!rc && (st = rn_calibrator_create(*m, &cal))) rc = cli_lib_error(ctx, st, "--int8");
    if (!rc && img->images) {
        if ((st = rn_dataset_create(ctx, img->images, img->labels, img->n, img->h, img->w, img->c,
                                    img->classes, &ds)) ||
            (st = rn_dataset_compute_normalization(ds, RN_NORM_CHANNEL)))
            rc = cli_lib_error(ctx, st, "--data");
        for (int64_t start = 0; !rc && start < count; start += chunk) {
            int64_t k = count - start < chunk ? count - start : chunk;
            for (int64_t i = 0; i < k; i++) idx[i] = start + i;
            if ((st = rn_dataset_get_batch(ds, idx, k, cx, (size_t)k * image, NULL)) ||
                (st = rn_calibrator_add_batch(cal, cx, (size_t)k * image, k, h, w, RN_LAYOUT_NHWC)))
                rc = cli_lib_error(ctx, st, "--int8 calibration");
        }
    } else if (!rc) {
        uint64_t rng[4];
        rn_rng_seed(rng, 3);
        for (size_t i = 0; i < n; i++) {
            double u = 0;
            rn_rng_uniform(rng, &u);
            cx[i] = (float)(2 * u - 1);
        }
        if ((st = rn_calibrator_add_batch(cal, cx, n, 2, h, w, RN_LAYOUT_NCHW)))
            rc = cli_lib_error(ctx, st, "--int8");
    }
    if (!rc && (st = rn_calibrator_quantize(cal, RN_CALIB_MAX, 0, &q)))
        rc = cli_lib_error(ctx, st, "--int8");
    if (!rc) {
        rn_model_destroy(*m);
        *m = q;
    }
    rn_calibrator_destroy(cal);
    rn_dataset_destroy(ds);
    free(idx);
    free(cx);
    return rc;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int cmd_bench(int argc, char **argv) {
    cli_arch arch;
    cli_arch_defaults(&arch);
    int64_t batch = 0, threads = cli_default_threads(), h = 0, w = 0, calib = 0;
    const char *data = NULL, *data_dir = NULL;
    double seconds = 3.0;
    int train = 0, layers = 0, fold = 0, packed = 0, int8 = 0, bf16 = 0;
    int64_t winograd = 1;
    cli_args args;
    cli_args_begin(&args, argc, argv, help);
    while (cli_next(&args)) {
        if (cli_take_arch(&args, &arch)) {
        } else if (cli_take(&args, "--batch")) {
            cli_require(&args, cli_parse_i64("--batch", args.value, 1, 65536, &batch));
        } else if (cli_take(&args, "--threads")) {
            cli_require(&args, cli_parse_i64("--threads", args.value, 1, 1024, &threads));
        } else if (cli_take(&args, "--size")) {
            cli_require(&args, cli_parse_size("--size", args.value, &h, &w));
        } else if (cli_take(&args, "--seconds")) {
            cli_require(&args, cli_parse_f64("--seconds", args.value, 0, 3600, &seconds));
        } else if (cli_take(&args, "--winograd")) {
            cli_require(&args, cli_parse_i64("--winograd", args.value, 0, 1, &winograd));
        } else if (cli_flag(args.arg, "--train")) {
            train = 1;
        } else if (cli_flag(args.arg, "--bf16")) {
            bf16 = 1;
        } else if (cli_flag(args.arg, "--layers")) {
            layers = 1;
        } else if (cli_flag(args.arg, "--fold")) {
            fold = 1;
        } else if (cli_flag(args.arg, "--packed")) {
            packed = 1;
        } else if (cli_flag(args.arg, "--int8")) {
            int8 = 1;
        } else if (cli_take(&args, "--data")) {
            data = args.value;
        } else if (cli_take(&args, "--data-dir")) {
            data_dir = args.value;
        } else if (cli_take(&args, "--calib")) {
            cli_require(&args, cli_parse_i64("--calib", args.value, 1, INT64_MAX, &calib));
        } else {
            cli_positional(&args, &arch.name);
        }
    }
    if (args.exit >= 0) return args.exit;
    if (!arch.name) {
        cli_usage_error("missing ARCH");
        return CLI_EXIT_USAGE;
    }
    if (bf16 && !train) {
        cli_usage_error("--bf16 is for training (--train): inference plans stay fp32");
        return CLI_EXIT_USAGE;
    }
    if (int8 && train) {
        cli_usage_error("--int8 is for inference: int8 models do not train");
        return CLI_EXIT_USAGE;
    }
    if (fold && train) {
        cli_usage_error("--fold is for inference: a model with folded batch norms cannot train");
        return CLI_EXIT_USAGE;
    }
    if (packed && (train || int8)) {
        cli_usage_error("--packed is for float inference: a packed model neither trains nor "
                        "quantizes");
        return CLI_EXIT_USAGE;
    }
    if ((data || data_dir || calib) && !int8) {
        cli_usage_error("--data, --data-dir and --calib calibrate --int8's scales; add --int8");
        return CLI_EXIT_USAGE;
    }
    if ((data_dir || calib) && !data) {
        cli_usage_error("--data-dir and --calib need --data");
        return CLI_EXIT_USAGE;
    }
    if (data && !cli_dataset_known(data)) {
        cli_usage_error("--data: unknown dataset '%s' (fashion-mnist or cifar10)", data);
        return CLI_EXIT_USAGE;
    }
    if (!calib) calib = 500;
    if (!batch) batch = train ? 128 : 1;
    rn_ctx *ctx = cli_context();
    if (!ctx) return CLI_EXIT_FAIL;
    rn_model *m = NULL;
    rn_plan *plan = NULL;
    rn_optimizer *opt = NULL;
    float *x = NULL, *logits = NULL;
    int32_t *labels = NULL;
    double *times = NULL;
    bench_log plan_log = {NULL, 0, 0};
    cli_images img;
    memset(&img, 0, sizeof img);
    rn_status st;
    int rc = cli_set_threads(ctx, threads);
    if (!rc && data) {
        /* the data decide the input: its size, channels and classes */
        rc = cli_load_dataset(ctx, data, data_dir, 0, calib, &img);
        if (!rc && h && (h != img.h || w != img.w)) {
            cli_usage_error("--size %lldx%lld: the %s images are %lldx%lld", (long long)h,
                            (long long)w, data, (long long)img.h, (long long)img.w);
            rc = CLI_EXIT_USAGE;
        }
        if (!rc) {
            h = img.h, w = img.w;
            arch.classes = img.classes;
            arch.in_channels = (int32_t)img.c;
        }
    }
    if (!rc && (st = rn_ctx_set_int(ctx, RN_OPT_WINOGRAD, winograd)) != RN_OK)
        rc = cli_lib_error(ctx, st, "set RN_OPT_WINOGRAD");
    if (!rc && bf16 && (st = rn_ctx_set_int(ctx, RN_OPT_TRAIN_BF16, 1)) != RN_OK)
        rc = cli_lib_error(ctx, st, "--bf16");
    if (!rc) rc = cli_create_model(ctx, &arch, &m);
    if (!rc && (st = rn_model_init(m, 1)) != RN_OK) rc = cli_lib_error(ctx, st, "init");
    if (!rc && fold && (st = rn_model_fold_batchnorm(m)) != RN_OK)
        rc = cli_lib_error(ctx, st, "--fold");
    if (!rc && packed && (st = rn_model_pack_for_inference(m)) != RN_OK)
        rc = cli_lib_error(ctx, st, "--packed");
    int32_t classes = 0, cin = 0;
    if (!rc) {
        rn_model_classes(m, &classes);
        rn_model_in_channels(m, &cin);
        if (!h) h = w = cli_model_is_cifar(m) ? 32 : 224;
    }
    double rss_before_int8 = 0;
    int rss_reset = -1;
    int64_t calibrated = img.n;
    if (!rc && int8) {
        rc = calibrate_int8(ctx, &m, &img, h, w, cin);
        cli_images_free(&img);
        /* what follows holds the int8 model only: its own peak from here */
        rss_before_int8 = peak_rss_bytes();
        rss_reset = rc ? -1 : reset_peak_rss();
    }
    if (!rc) {
        /* --layers: the plan names each convolution's algorithm at RN_LOG_INFO */
        if (layers) {
            rn_ctx_set_int(ctx, RN_OPT_LOG_LEVEL, RN_LOG_INFO);
            rn_ctx_set_log_callback(ctx, bench_layers_log, &plan_log);
        }
        if ((st = rn_plan_create(m, batch, h, w, train ? RN_MODE_TRAIN : RN_MODE_INFER, &plan)))
            rc = cli_lib_error(ctx, st, "plan");
        if (layers) {
            rn_ctx_set_log_callback(ctx, NULL, NULL);
            rn_ctx_set_int(ctx, RN_OPT_LOG_LEVEL, RN_LOG_WARN);
        }
    }
    if (!rc && train) {
        /* lr 0: the update's cost without drifting the random network */
        st = rn_sgd_create(m, &opt);
        if (!st) st = rn_optimizer_set_float(opt, RN_SGD_LR, 0.0);
        if (st) rc = cli_lib_error(ctx, st, "optimiser");
    }
    size_t nx = (size_t)(batch * cin * h * w), nl = (size_t)batch * (size_t)classes;
    if (!rc) {
        x = malloc(nx * sizeof(float));
        logits = malloc(nl * sizeof(float));
        labels = malloc((size_t)batch * sizeof(int32_t));
        times = malloc(100000 * sizeof(double));
        if (!x || !logits || !labels || !times) {
            cli_fail("out of memory for a batch of %lld", (long long)batch);
            rc = CLI_EXIT_FAIL;
        } else {
            uint64_t s[4];
            rn_rng_seed(s, 42);
            for (size_t i = 0; i < nx; i++) {
                double u;
                rn_rng_uniform(s, &u);
                x[i] = (float)(2 * u - 1);
            }
            for (int64_t i = 0; i < batch; i++) labels[i] = (int32_t)(i % classes);
        }
    }
    int64_t iters = 0;
    double total = 0;
    for (int64_t it = -2; !rc && it < 100000; it++) { /* two warm-up runs */
        double t0 = cli_now();
        st = rn_plan_forward(plan, x, nx, RN_LAYOUT_NHWC, logits, nl);
        if (!st && train) st = rn_plan_backward(plan, labels, (size_t)batch, NULL);
        if (!st && train) st = rn_optimizer_step(opt);
        if (st) {
            rc = cli_lib_error(ctx, st, "run");
            break;
        }
        double dt = cli_now() - t0;
        if (it < 0) continue;
        times[iters++] = dt;
        total += dt;
        if (total >= seconds && iters >= 3) break;
    }
    if (!rc) {
        qsort(times, (size_t)iters, sizeof(double), cmp_double);
        double median =
            iters % 2 ? times[iters / 2] : 0.5 * (times[iters / 2 - 1] + times[iters / 2]);
        double ips = (double)batch / median;
        int64_t macs = 0;
        rn_model_macs(m, h, w, &macs);
        double gflops = 2.0 * (double)macs * ips * (train ? 3.0 : 1.0) * 1e-9;
        const char *isa = "";
        double peak1 = cli_fma_peak_gflops(&isa);
        int cores = cli_default_threads();
        double peak = peak1 * (double)(threads < cores ? threads : cores);
        int64_t active = 0;
        rn_ctx_get_int(ctx, RN_OPT_ACTIVE_ISA, &active);
        printf("%s %s, batch %lld, %lldx%lld, %d threads, kernels %s%s%s\n", arch.name,
               train ? "training (forward + backward + SGD)" : "inference", (long long)batch,
               (long long)h, (long long)w, (int)threads, rn_isa_name((int32_t)active),
               int8   ? ", int8"
               : fold ? ", batch norms folded"
                      : "",
               packed ? ", weights packed for inference" : "");
        printf("iterations: %lld in %.2f s\n", (long long)iters, total);
        printf("images/s: %.1f\n", ips);
        printf("ms per batch (median): %.3f\n", median * 1e3);
        printf("%s: %.2f (%s MACs per image x 2%s)\n", int8 ? "GOP/s (int8)" : "GFLOP/s", gflops,
               cli_thousands(macs, (char[32]){0}, 32), train ? " x 3" : "");
        if (int8) /* int8 multiply-adds are not bounded by the float32 FMA peak */
            printf("FMA peak: %.1f GFLOP/s (%s, %.1f per core x %d), float32's: no bound on "
                   "int8\n",
                   peak, isa, peak1, (int)(threads < cores ? threads : cores));
        else
            printf("FMA peak: %.1f GFLOP/s (%s, %.1f per core x %d): %.1f%% of peak\n", peak, isa,
                   peak1, (int)(threads < cores ? threads : cores),
                   peak > 0 ? 100.0 * gflops / peak : 0.0);
        /* weights = every parameter and BN statistic, float32; int8: the
         * int8 model's file (int8 convolution weights, int32 biases, float32
         * scales and fc) */
        int64_t params = 0, buffers = 0, qweights = 0;
        for (int32_t i = 0, n = rn_model_tensor_count(m); i < n; i++) {
            int32_t ndim = 0, kind = 0;
            int64_t d[4], count = 1;
            if (rn_model_tensor_info(m, i, NULL, &ndim, d, &kind)) continue;
            for (int32_t k = 0; k < ndim; k++) count *= d[k];
            if (kind == RN_TENSOR_PARAM)
                params += count;
            else
                buffers += count;
            if (ndim == 4) qweights += count;
        }
        double mib = 1024.0 * 1024.0, weights = 4.0 * (double)(params + buffers);
        size_t qfile = 0;
        if (int8 && rn_model_save_safetensors_mem(m, NULL, 0, &qfile) == RN_OK)
            weights = (double)qfile;
        double rss = peak_rss_bytes();
        size_t arena = 0;
        rn_plan_memory_size(plan, &arena);
        if (int8) {
            if (data)
                printf("int8 scales: calibrated (max) on the first %lld %s training images\n",
                       (long long)calibrated, data);
            else
                printf("int8 scales: calibrated on 2 random batches (no --data): the timing "
                       "holds, accuracy does not\n");
            printf("weights: %.2f MiB (the int8 model's file: %s int8 convolution weights, their "
                   "int32 biases and float32 scales, the float32 fc)\n",
                   weights / mib, cli_thousands(qweights, (char[32]){0}, 32));
        } else {
            printf("weights: %.1f MiB (%s parameters + %s BN statistics, float32)\n", weights / mib,
                   cli_thousands(params, (char[32]){0}, 32),
                   cli_thousands(buffers, (char[32]){0}, 32));
        }
        printf("plan memory: %.1f MiB (activations, saved state and scratch)\n",
               (double)arena / mib);
        if (int8 && rss_reset == 0) {
            printf("peak RSS: %.1f MiB over the whole run (the float model and the calibration "
                   "included); %.1f MiB from after quantizing on\n",
                   rss_before_int8 > rss ? rss_before_int8 / mib : rss / mib, rss / mib);
        } else if (int8) {
            printf("peak RSS: %.1f MiB over the whole run, the float model it was quantized "
                   "from and the calibration included (no /proc/self/clear_refs to reset it)\n",
                   rss / mib);
        } else {
            printf("peak RSS: %.1f MiB\n", rss / mib);
        }
        printf("peak RSS above the weights: %.1f MiB (%.1f MB)\n", (rss - weights) / mib,
               (rss - weights) * 1e-6);
        if (layers)
            rc =
                bench_layers(ctx, m, batch, h, w, train, threads, seconds, median * 1e3, &plan_log);
    }
    cli_images_free(&img);
    free(times);
    free(labels);
    free(logits);
    free(plan_log.text);
    free(x);
    rn_optimizer_destroy(opt);
    rn_plan_destroy(plan);
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
    return rc;
}

/*
 * resnet quantize ARCH --weights W --data NAME -o Q: post-training int8
 * quantization (docs/int8.md). The first --calib training images,
 * normalised as for training (--norm, the checkpoint, or
 * normalization.safetensors beside W), run through the float model in
 * batches; the calibrator's scales (--method) and the per-channel weights
 * make the int8 model, written to Q (the int8 safetensors file). When Q's
 * directory has no normalization.safetensors, the normalisation used is
 * written there, so `resnet eval ARCH --weights Q` finds it as it does for W;
 * one there that holds another normalisation is refused before calibrating.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* Whether the file at a holds the same bytes as the file at b. */
static int same_bytes(const char *a, const char *b) {
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        if (ca != cb) same = 0;
        if (ca == EOF || cb == EOF) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

/* Q's normalisation goes beside it, where `resnet eval ARCH --weights Q`
 * looks. A file already there is kept when it holds the normalisation used
 * here; one that holds another would make every later eval of Q normalise
 * its images wrongly, so it is refused before any work is done. */
static int check_normalization_beside(rn_ctx *ctx, const rn_dataset *ds, const char *beside,
                                      int *write) {
    *write = access(beside, F_OK) != 0;
    if (*write) return 0;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.check", beside);
    int rc = cli_save_normalization(ctx, ds, tmp);
    if (rc) return rc;
    int same = same_bytes(tmp, beside);
    remove(tmp);
    if (same) return 0;
    cli_fail("%s already holds another normalisation than the one these weights were trained "
             "with; `resnet eval` of the int8 file would read it. Write the int8 file into "
             "another folder (-o), or remove that file",
             beside);
    return CLI_EXIT_FAIL;
}

static void help(FILE *f) {
    fprintf(f, "usage: resnet quantize ARCH --weights W.safetensors --data fashion-mnist|cifar10\n"
               "                           -o Q.safetensors [--calib N] [--method M]\n"
               "                           [--percentile P] [--data-dir DIR] [--norm FILE|none]\n"
               "                           [--batch B] [--threads T] [--width W] [--shortcut X]\n\n"
               "Post-training int8 quantization: batch norms folded, weights int8 per output\n"
               "channel, activations int8 per tensor with scales calibrated on the first N\n"
               "training images (default 1000). --method percentile (the default; --percentile\n"
               "P, default 99.99), max or entropy; docs/int8.md has the measurements.\n"
               "Q is an int8 model file that `resnet infer`, `eval` and the library read.\n");
    cli_arch_help(f);
}

int cmd_quantize(int argc, char **argv) {
    cli_arch arch;
    cli_arch_defaults(&arch);
    const char *weights = NULL, *data = NULL, *dir = NULL, *norm = NULL, *out = NULL;
    const char *method_name = "percentile";
    int64_t calib = 1000, batch = 100, threads = cli_default_threads();
    double pct = 99.99;
    cli_args args;
    cli_args_begin(&args, argc, argv, help);
    while (cli_next(&args)) {
        if (cli_take_arch(&args, &arch)) {
        } else if (cli_take(&args, "--weights")) {
            weights = args.value;
        } else if (cli_take(&args, "--data")) {
            data = args.value;
        } else if (cli_take(&args, "--data-dir")) {
            dir = args.value;
        } else if (cli_take(&args, "--norm")) {
            norm = args.value;
        } else if (cli_take(&args, "--output") || cli_take(&args, "-o")) {
            out = args.value;
        } else if (cli_take(&args, "--method")) {
            method_name = args.value;
        } else if (cli_take(&args, "--percentile")) {
            cli_require(&args, cli_parse_f64("--percentile", args.value, 50.0001, 100, &pct));
        } else if (cli_take(&args, "--calib")) {
            cli_require(&args, cli_parse_i64("--calib", args.value, 1, INT64_MAX, &calib));
        } else if (cli_take(&args, "--batch")) {
            cli_require(&args, cli_parse_i64("--batch", args.value, 1, 65536, &batch));
        } else if (cli_take(&args, "--threads")) {
            cli_require(&args, cli_parse_i64("--threads", args.value, 1, 1024, &threads));
        } else {
            cli_positional(&args, &arch.name);
        }
    }
    if (args.exit >= 0) return args.exit;
    if (!arch.name || !weights || !data || !out) {
        cli_usage_error("needs ARCH, --weights, --data and -o");
        return CLI_EXIT_USAGE;
    }
    int32_t method = !strcmp(method_name, "max")          ? RN_CALIB_MAX
                     : !strcmp(method_name, "percentile") ? RN_CALIB_PERCENTILE
                     : !strcmp(method_name, "entropy")    ? RN_CALIB_ENTROPY
                                                          : -1;
    if (method < 0) {
        cli_usage_error("--method: '%s' is not max, percentile or entropy", method_name);
        return CLI_EXIT_USAGE;
    }
    if (!cli_arch_known(arch.name)) return CLI_EXIT_USAGE;
    if (cli_check_dataset(data)) return CLI_EXIT_USAGE;
    rn_ctx *ctx = cli_context();
    if (!ctx) return CLI_EXIT_FAIL;
    cli_images img;
    memset(&img, 0, sizeof img);
    rn_model *m = NULL, *q = NULL;
    rn_dataset *ds = NULL;
    rn_calibrator *cal = NULL;
    float *x = NULL;
    int64_t *idx = NULL;
    char used[4096] = "";
    rn_status st;
    int rc = cli_set_threads(ctx, threads);
    if (!rc)
        rc = cli_trained_model_and_data(ctx, &arch, weights, 0, data, dir, 0, calib, norm, used,
                                        sizeof used, &img, &m, &ds);
    char beside[4096];
    int write_beside = 0, keep_norm = !(norm && strcmp(norm, "none") == 0);
    if (keep_norm) {
        const char *slash = strrchr(out, '/');
        if (slash)
            snprintf(beside, sizeof beside, "%.*s/normalization.safetensors", (int)(slash - out),
                     out);
        else
            snprintf(beside, sizeof beside, "normalization.safetensors");
        if (!rc) rc = check_normalization_beside(ctx, ds, beside, &write_beside);
    }
    if (!rc && (st = rn_calibrator_create(m, &cal)) != RN_OK)
        rc = cli_lib_error(ctx, st, "calibrator");
    size_t image = (size_t)(img.h * img.w * img.c);
    if (!rc) {
        if (batch > img.n) batch = img.n;
        x = malloc((size_t)batch * image * sizeof(float));
        idx = malloc((size_t)batch * sizeof(int64_t));
        if (!x || !idx) {
            cli_fail("out of memory");
            rc = CLI_EXIT_FAIL;
        }
    }
    int tty = isatty(STDERR_FILENO);
    double t0 = cli_now(), last = t0;
    for (int64_t start = 0; !rc && start < img.n; start += batch) {
        int64_t count = img.n - start < batch ? img.n - start : batch;
        for (int64_t i = 0; i < count; i++) idx[i] = start + i;
        if ((st = rn_dataset_get_batch(ds, idx, count, x, (size_t)count * image, NULL)) ||
            (st = rn_calibrator_add_batch(cal, x, (size_t)count * image, count, img.h, img.w,
                                          RN_LAYOUT_NHWC))) {
            rc = cli_lib_error(ctx, st, "calibration");
            break;
        }
        double now = cli_now();
        if (tty || now - last >= 10 || start + count == img.n) {
            fprintf(stderr,
                    tty ? "\r\033[Kcalibrating: %lld/%lld images, %.0f img/s"
                        : "calibrating: %lld/%lld images, %.0f img/s\n",
                    (long long)(start + count), (long long)img.n,
                    (double)(start + count) / (now - t0 > 0 ? now - t0 : 1e-9));
            last = now;
        }
    }
    if (tty) fprintf(stderr, "\r\033[K");
    if (!rc && (st = rn_calibrator_quantize(cal, method, pct, &q)) != RN_OK)
        rc = cli_lib_error(ctx, st, "quantize");
    if (!rc && (st = rn_model_save_safetensors_file(q, out)) != RN_OK)
        rc = cli_lib_error(ctx, st, out);
    if (!rc && keep_norm && write_beside) {
        rc = cli_save_normalization(ctx, ds, beside);
        if (!rc)
            printf("normalisation (from %s) written to %s\n", used[0] ? used : weights, beside);
    }
    if (!rc) {
        if (method == RN_CALIB_PERCENTILE)
            printf("quantized %s: %s %g over %lld images -> %s\n", arch.name, method_name, pct,
                   (long long)img.n, out);
        else
            printf("quantized %s: %s over %lld images -> %s\n", arch.name, method_name,
                   (long long)img.n, out);
    }
    free(idx);
    free(x);
    rn_calibrator_destroy(cal);
    rn_dataset_destroy(ds);
    rn_model_destroy(q);
    rn_model_destroy(m);
    cli_images_free(&img);
    rn_ctx_destroy(ctx);
    return rc;
}

/*
 * resnet infer ARCH --weights W --input X.npy --output Y.npy: eval-mode
 * logits (N, classes) float32 of a batch, classes and input channels (and
 * width and shortcut kind) taken from the weight file. A path ending in
 * .onnx in place of ARCH reads the network and its weights from that ONNX
 * graph instead (rn_model_load_onnx_file; no --weights). The input is float32
 * (or integer, converted) NCHW like PyTorch, or NHWC with --layout nhwc.
 * Large inputs run in chunks of --batch images.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void help(FILE *f) {
    fprintf(f, "usage: resnet infer ARCH --weights W.safetensors --input X.npy --output Y.npy\n"
               "       resnet infer MODEL.onnx --input X.npy --output Y.npy\n"
               "                         [--layout nchw|nhwc] [--fold] [--packed] [--threads T]\n"
               "                         [--batch B]\n\n"
               "Eval-mode logits (N, classes) as float32 .npy. MODEL.onnx is a ResNet graph as\n"
               "torch.onnx.export writes it (opsets 11-17). X is (N, C, H, W) (nchw, the\n"
               "default) or (N, H, W, C). --fold folds every BN into its conv first. --packed\n"
               "then keeps the convolution weights only in the packed form the plans read\n"
               "(rn_model_pack_for_inference: less memory, no packing per call). --batch\n"
               "(default 64) bounds the images run at once. --threads defaults to the CPUs.\n");
    cli_arch_help(f);
}

int cmd_infer(int argc, char **argv) {
    cli_arch arch;
    cli_arch_defaults(&arch);
    const char *weights = NULL, *input = NULL, *output = NULL;
    int32_t layout = RN_LAYOUT_NCHW;
    int fold = 0, packed = 0;
    int64_t threads = cli_default_threads(), batch = 64;
    cli_args args;
    cli_args_begin(&args, argc, argv, help);
    while (cli_next(&args)) {
        if (cli_take(&args, "--weights")) {
            weights = args.value;
        } else if (cli_take(&args, "--input")) {
            input = args.value;
        } else if (cli_take(&args, "--output") || cli_take(&args, "-o")) {
            output = args.value;
        } else if (cli_take(&args, "--layout")) {
            cli_require(&args, cli_parse_layout(args.value, &layout));
        } else if (cli_take(&args, "--threads")) {
            cli_require(&args, cli_parse_i64("--threads", args.value, 1, 1024, &threads));
        } else if (cli_take(&args, "--batch")) {
            cli_require(&args, cli_parse_i64("--batch", args.value, 1, 65536, &batch));
        } else if (cli_flag(args.arg, "--fold")) {
            fold = 1;
        } else if (cli_flag(args.arg, "--packed")) {
            packed = 1;
        } else {
            cli_positional(&args, &arch.name);
        }
    }
    if (args.exit >= 0) return args.exit;
    size_t alen = arch.name ? strlen(arch.name) : 0;
    int onnx = alen > 5 && strcmp(arch.name + alen - 5, ".onnx") == 0;
    if (onnx && weights) {
        cli_usage_error("an ONNX model carries its weights: leave out --weights");
        return CLI_EXIT_USAGE;
    }
    if (!arch.name || (!weights && !onnx) || !input || !output) {
        cli_usage_error("needs ARCH, --weights, --input and --output (or MODEL.onnx, --input "
                        "and --output)");
        return CLI_EXIT_USAGE;
    }
    rn_ctx *ctx = cli_context();
    if (!ctx) return CLI_EXIT_FAIL;
    rn_model *m = NULL;
    rn_plan *plan = NULL, *tail = NULL;
    float *x = NULL, *y = NULL;
    int rc = cli_set_threads(ctx, threads);
    rn_status st;
    if (!rc && onnx) {
        if ((st = rn_model_load_onnx_file(ctx, arch.name, &m)) != RN_OK ||
            (st = rn_model_classes(m, &arch.classes)) != RN_OK ||
            (st = rn_model_in_channels(m, &arch.in_channels)) != RN_OK)
            rc = cli_lib_error(ctx, st, "model");
    } else if (!rc) {
        rc = cli_model_from_weights(ctx, &arch, weights, &m);
    }
    int32_t dtype, ndim;
    int64_t dims[8];
    if (!rc && (st = rn_npy_info_file(ctx, input, &dtype, &ndim, dims)) != RN_OK)
        rc = cli_lib_error(ctx, st, "--input");
    int64_t n = 0, c = 0, h = 0, w = 0;
    if (!rc) {
        if (ndim != 4) {
            cli_fail("--input %s: %d dims, expected 4 (%s)", input, (int)ndim,
                     layout == RN_LAYOUT_NCHW ? "N, C, H, W" : "N, H, W, C");
            rc = CLI_EXIT_FAIL;
        } else {
            n = dims[0];
            c = layout == RN_LAYOUT_NCHW ? dims[1] : dims[3];
            h = layout == RN_LAYOUT_NCHW ? dims[2] : dims[1];
            w = layout == RN_LAYOUT_NCHW ? dims[3] : dims[2];
            if (c != arch.in_channels || n < 1) {
                cli_fail("--input %s: %lld images of %lld channels; the weights take %d channels",
                         input, (long long)n, (long long)c, (int)arch.in_channels);
                rc = CLI_EXIT_FAIL;
            }
        }
    }
    if (!rc && fold && (st = rn_model_fold_batchnorm(m)) != RN_OK)
        rc = cli_lib_error(ctx, st, "--fold");
    if (!rc && packed && (st = rn_model_pack_for_inference(m)) != RN_OK)
        rc = cli_lib_error(ctx, st, "--packed");
    size_t image = (size_t)(c * h * w), classes = (size_t)arch.classes;
    if (!rc) {
        x = malloc((size_t)n * image * sizeof(float));
        y = malloc((size_t)n * classes * sizeof(float));
        if (!x || !y) {
            cli_fail("out of memory for %lld images", (long long)n);
            rc = CLI_EXIT_FAIL;
        } else if ((st = rn_npy_read_file(ctx, input, RN_DTYPE_F32, x, (size_t)n * image)) !=
                   RN_OK) {
            rc = cli_lib_error(ctx, st, "--input");
        }
    }
    if (!rc) {
        if (batch > n) batch = n;
        if ((st = rn_plan_create(m, batch, h, w, RN_MODE_INFER, &plan)) != RN_OK)
            rc = cli_lib_error(ctx, st, "plan");
    }
    for (int64_t start = 0; !rc && start < n; start += batch) {
        int64_t count = n - start < batch ? n - start : batch;
        rn_plan *p = plan;
        if (count < batch) {
            if ((st = rn_plan_create(m, count, h, w, RN_MODE_INFER, &tail)) != RN_OK) {
                rc = cli_lib_error(ctx, st, "plan");
                break;
            }
            p = tail;
        }
        /* a chunk of NCHW or NHWC images is contiguous in either layout */
        st = rn_plan_forward(p, x + (size_t)start * image, (size_t)count * image, layout,
                             y + (size_t)start * classes, (size_t)count * classes);
        if (st) rc = cli_lib_error(ctx, st, "forward");
    }
    if (!rc) {
        int64_t odims[2] = {n, (int64_t)classes};
        if ((st = rn_npy_write_file(ctx, output, RN_DTYPE_F32, 2, odims, y)) != RN_OK)
            rc = cli_lib_error(ctx, st, "--output");
    }
    free(y);
    free(x);
    rn_plan_destroy(tail);
    rn_plan_destroy(plan);
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
    return rc;
}

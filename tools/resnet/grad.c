/*
 * resnet grad ARCH --weights W --input X.npy --labels L.npy --output G:
 * one train-mode forward and backward (batch statistics, mean cross-entropy,
 * as model.train(); F.cross_entropy(model(x), y).backward() in PyTorch) and
 * a safetensors file with every parameter's gradient under the parameter's
 * own name (PyTorch layout) plus "loss" (1 element).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void help(FILE *f) {
    fprintf(f,
            "usage: resnet grad ARCH --weights W.safetensors --input X.npy --labels L.npy\n"
            "                        --output G.safetensors [--layout nchw|nhwc] [--threads T]\n\n"
            "One train-mode forward + backward of the batch X ((N, C, H, W), or (N, H, W, C)\n"
            "with --layout nhwc) against labels L (N int64 or int32 class indices): writes\n"
            "each parameter's gradient under its name and \"loss\" (shape [1]).\n");
    cli_arch_help(f);
}

int cmd_grad(int argc, char **argv) {
    cli_arch arch;
    cli_arch_defaults(&arch);
    const char *weights = NULL, *input = NULL, *labels_path = NULL, *output = NULL;
    int32_t layout = RN_LAYOUT_NCHW;
    int64_t threads = cli_default_threads();
    cli_args args;
    cli_args_begin(&args, argc, argv, help);
    while (cli_next(&args)) {
        if (cli_take(&args, "--weights")) {
            weights = args.value;
        } else if (cli_take(&args, "--input")) {
            input = args.value;
        } else if (cli_take(&args, "--labels")) {
            labels_path = args.value;
        } else if (cli_take(&args, "--output") || cli_take(&args, "-o")) {
            output = args.value;
        } else if (cli_take(&args, "--layout")) {
            cli_require(&args, cli_parse_layout(args.value, &layout));
        } else if (cli_take(&args, "--threads")) {
            cli_require(&args, cli_parse_i64("--threads", args.value, 1, 1024, &threads));
        } else {
            cli_positional(&args, &arch.name);
        }
    }
    if (args.exit >= 0) return args.exit;
    if (!arch.name || !weights || !input || !labels_path || !output) {
        cli_usage_error("needs ARCH, --weights, --input, --labels and --output");
        return CLI_EXIT_USAGE;
    }
    rn_ctx *ctx = cli_context();
    if (!ctx) return CLI_EXIT_FAIL;
    rn_model *m = NULL;
    rn_plan *plan = NULL;
    rn_safetensors_writer *wr = NULL;
    float *x = NULL, *logits = NULL, *g = NULL;
    int32_t *labels = NULL;
    int rc = cli_set_threads(ctx, threads);
    if (!rc) rc = cli_model_from_weights(ctx, &arch, weights, &m);
    rn_status st;
    int32_t dtype, ndim, lndim;
    int64_t dims[8], ldims[8], n = 0, c = 0, h = 0, w = 0;
    if (!rc && (st = rn_npy_info_file(ctx, input, &dtype, &ndim, dims)) != RN_OK)
        rc = cli_lib_error(ctx, st, "--input");
    if (!rc) {
        n = dims[0];
        c = layout == RN_LAYOUT_NCHW ? dims[1] : dims[3];
        h = layout == RN_LAYOUT_NCHW ? dims[2] : dims[1];
        w = layout == RN_LAYOUT_NCHW ? dims[3] : dims[2];
        if (ndim != 4 || c != arch.in_channels || n < 1) {
            cli_fail("--input %s: expected 4 dims with %d channels", input, (int)arch.in_channels);
            rc = CLI_EXIT_FAIL;
        }
    }
    if (!rc && (st = rn_npy_info_file(ctx, labels_path, &dtype, &lndim, ldims)) != RN_OK)
        rc = cli_lib_error(ctx, st, "--labels");
    if (!rc && (lndim != 1 || ldims[0] != n ||
                (dtype != RN_DTYPE_I64 && dtype != RN_DTYPE_I32 && dtype != RN_DTYPE_U8))) {
        cli_fail("--labels %s: expected %lld integer class indices (int64 or int32, 1 dim)",
                 labels_path, (long long)n);
        rc = CLI_EXIT_FAIL;
    }
    size_t image = (size_t)(c * h * w);
    if (!rc) {
        x = malloc((size_t)n * image * sizeof(float));
        logits = malloc((size_t)n * (size_t)arch.classes * sizeof(float));
        labels = malloc((size_t)n * sizeof(int32_t));
        if (!x || !logits || !labels) {
            cli_fail("out of memory");
            rc = CLI_EXIT_FAIL;
        }
    }
    if (!rc && (st = rn_npy_read_file(ctx, input, RN_DTYPE_F32, x, (size_t)n * image)) != RN_OK)
        rc = cli_lib_error(ctx, st, "--input");
    if (!rc && (st = rn_npy_read_file(ctx, labels_path, RN_DTYPE_I32, labels, (size_t)n)) != RN_OK)
        rc = cli_lib_error(ctx, st, "--labels");
    for (int64_t i = 0; !rc && i < n; i++)
        if (labels[i] < 0 || labels[i] >= arch.classes) {
            cli_fail("--labels %s: label %lld is %d, outside [0, %d)", labels_path, (long long)i,
                     (int)labels[i], (int)arch.classes);
            rc = CLI_EXIT_FAIL;
        }
    float loss = 0;
    if (!rc && (st = rn_plan_create(m, n, h, w, RN_MODE_TRAIN, &plan)) != RN_OK)
        rc = cli_lib_error(ctx, st, "plan");
    if (!rc && (st = rn_plan_forward(plan, x, (size_t)n * image, layout, logits,
                                     (size_t)n * (size_t)arch.classes)) != RN_OK)
        rc = cli_lib_error(ctx, st, "forward");
    if (!rc && (st = rn_plan_backward(plan, labels, (size_t)n, &loss)) != RN_OK)
        rc = cli_lib_error(ctx, st, "backward");
    if (!rc && (st = rn_safetensors_writer_create(ctx, &wr)) != RN_OK)
        rc = cli_lib_error(ctx, st, "writer");
    for (int32_t i = 0; !rc && i < rn_model_tensor_count(m); i++) {
        const char *name;
        int32_t tndim, kind;
        int64_t tdims[4];
        rn_model_tensor_info(m, i, &name, &tndim, tdims, &kind);
        if (kind != RN_TENSOR_PARAM) continue;
        size_t count = 1;
        for (int32_t k = 0; k < tndim; k++) count *= (size_t)tdims[k];
        free(g);
        g = malloc(count * sizeof(float));
        if (!g) {
            cli_fail("out of memory");
            rc = CLI_EXIT_FAIL;
            break;
        }
        st = rn_model_get_grad(m, name, g, count);
        if (!st) st = rn_safetensors_writer_add(wr, name, RN_DTYPE_F32, tndim, tdims, g);
        if (st) rc = cli_lib_error(ctx, st, name);
    }
    if (!rc) {
        int64_t one = 1;
        st = rn_safetensors_writer_add(wr, "loss", RN_DTYPE_F32, 1, &one, &loss);
        if (!st) st = rn_safetensors_writer_set_metadata(wr, "format", "pt");
        if (!st) st = rn_safetensors_writer_save_file(wr, output);
        if (st)
            rc = cli_lib_error(ctx, st, "--output");
        else
            printf("loss %.9g; gradients of %lld images written to %s\n", (double)loss,
                   (long long)n, output);
    }
    free(g);
    free(labels);
    free(logits);
    free(x);
    rn_safetensors_writer_destroy(wr);
    rn_plan_destroy(plan);
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
    return rc;
}

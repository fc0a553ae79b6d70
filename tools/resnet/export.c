/*
 * resnet export ARCH --weights W.safetensors --onnx -o M.onnx: the network
 * with its weights as an ONNX graph (opset 13, batch norms kept; see
 * rn_model_save_onnx_file), readable by onnxruntime, PyTorch's tools and
 * `resnet infer M.onnx`. Classes, input channels, width and shortcut come
 * from the weight file unless given.
 */
#include "cli.h"

static void help(FILE *f) {
    fprintf(f, "usage: resnet export ARCH --weights W.safetensors --onnx -o M.onnx\n"
               "                          [--fold] [--classes K] [--in-channels C] [--width W]\n"
               "                          [--shortcut A|B|C|none]\n\n"
               "Write ARCH with the weights of W as an ONNX graph (opset 13; input \"input\"\n"
               "float [batch, C, height, width], output \"logits\" [batch, classes]). --fold\n"
               "folds every batch norm into its convolution first (inference only).\n");
    cli_arch_help(f);
}

int cmd_export(int argc, char **argv) {
    cli_arch arch;
    cli_arch_defaults(&arch);
    const char *weights = NULL, *out = NULL;
    int onnx = 0, fold = 0;
    cli_args args;
    cli_args_begin(&args, argc, argv, help);
    while (cli_next(&args)) {
        if (cli_take_arch(&args, &arch)) {
        } else if (cli_take(&args, "--weights")) {
            weights = args.value;
        } else if (cli_take(&args, "-o") || cli_take(&args, "--output")) {
            out = args.value;
        } else if (cli_flag(args.arg, "--onnx")) {
            onnx = 1;
        } else if (cli_flag(args.arg, "--fold")) {
            fold = 1;
        } else {
            cli_positional(&args, &arch.name);
        }
    }
    if (args.exit >= 0) return args.exit;
    if (!arch.name || !weights || !out || !onnx) {
        cli_usage_error("needs ARCH, --weights, --onnx (the one format) and -o FILE");
        return CLI_EXIT_USAGE;
    }
    rn_ctx *ctx = NULL;
    if (rn_ctx_create(&ctx)) {
        cli_fail("cannot create a context");
        return CLI_EXIT_FAIL;
    }
    rn_model *m = NULL;
    int rc = cli_model_from_weights(ctx, &arch, weights, &m);
    rn_status st;
    if (!rc && fold && (st = rn_model_fold_batchnorm(m)) != RN_OK) rc = cli_lib_error(ctx, st, "--fold");
    if (!rc && (st = rn_model_save_onnx_file(m, out)) != RN_OK) rc = cli_lib_error(ctx, st, out);
    if (!rc) printf("wrote %s (%s, ONNX opset 13)\n", out, arch.name);
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
    return rc;
}

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
    for (int i = 1; i < argc; i++) {
        const char *v;
        int r;
        if (cli_is_help(argv[i])) {
            help(stdout);
            return CLI_EXIT_OK;
        }
        if ((r = cli_arch_option(&arch, argc, argv, &i)) != 0) {
            if (r < 0) return CLI_EXIT_USAGE;
        } else if ((r = cli_option(argc, argv, &i, "--weights", &v)) != 0) {
            if (r < 0) return CLI_EXIT_USAGE;
            weights = v;
        } else if ((r = cli_option(argc, argv, &i, "-o", &v)) != 0 ||
                   (r = cli_option(argc, argv, &i, "--output", &v)) != 0) {
            if (r < 0) return CLI_EXIT_USAGE;
            out = v;
        } else if (cli_flag(argv[i], "--onnx")) {
            onnx = 1;
        } else if (cli_flag(argv[i], "--fold")) {
            fold = 1;
        } else if (argv[i][0] == '-') {
            cli_usage_error("unknown option '%s'", argv[i]);
            return CLI_EXIT_USAGE;
        } else if (!arch.name) {
            arch.name = argv[i];
        } else {
            cli_usage_error("unexpected argument '%s'", argv[i]);
            return CLI_EXIT_USAGE;
        }
    }
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

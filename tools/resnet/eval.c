/*
 * resnet eval ARCH --weights W --data NAME: the test accuracy, mean loss
 * and confusion matrix of trained weights. The images are normalised as in
 * training: from --norm FILE, from W itself when it is a checkpoint
 * (data.mean / data.std), or from normalization.safetensors beside W
 * (what `resnet train` writes).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static void help(FILE *f) {
    fprintf(f, "usage: resnet eval ARCH --weights W.safetensors --data fashion-mnist|cifar10\n"
               "                        [--data-dir DIR] [--norm FILE|none] [--subset N]\n"
               "                        [--batch B] [--threads T] [--width W] [--shortcut X]\n\n"
               "Test-set accuracy, loss and confusion matrix. W is a weight file or a training\n"
               "checkpoint. The normalisation comes from --norm, the checkpoint, or\n"
               "normalization.safetensors in W's directory; --norm none uses x/255 as is.\n");
    cli_arch_help(f);
}

int cmd_eval(int argc, char **argv) {
    cli_arch arch;
    cli_arch_defaults(&arch);
    const char *weights = NULL, *data = NULL, *dir = NULL, *norm = NULL;
    int64_t subset = 0, batch = 100, threads = cli_default_threads();
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
        } else if (cli_take(&args, "--subset")) {
            cli_require(&args, cli_parse_i64("--subset", args.value, 1, INT64_MAX, &subset));
        } else if (cli_take(&args, "--batch")) {
            cli_require(&args, cli_parse_i64("--batch", args.value, 1, 65536, &batch));
        } else if (cli_take(&args, "--threads")) {
            cli_require(&args, cli_parse_i64("--threads", args.value, 1, 1024, &threads));
        } else {
            cli_positional(&args, &arch.name);
        }
    }
    if (args.exit >= 0) return args.exit;
    if (!arch.name || !weights || !data) {
        cli_usage_error("needs ARCH, --weights and --data");
        return CLI_EXIT_USAGE;
    }
    if (!cli_arch_known(arch.name)) return CLI_EXIT_USAGE;
    if (cli_check_dataset(data)) return CLI_EXIT_USAGE;
    rn_ctx *ctx = cli_context();
    if (!ctx) return CLI_EXIT_FAIL;
    cli_images img;
    memset(&img, 0, sizeof img);
    rn_model *m = NULL;
    rn_dataset *ds = NULL;
    int64_t *conf = NULL;
    rn_status st;
    int rc = cli_set_threads(ctx, threads);
    if (!rc)
        rc = cli_trained_model_and_data(ctx, &arch, weights, 1, data, dir, 1, subset, norm, NULL, 0,
                                        &img, &m, &ds);
    double loss = 0;
    int64_t errors = 0;
    if (!rc) {
        conf = calloc((size_t)img.classes * (size_t)img.classes, sizeof(int64_t));
        st = rn_evaluate(m, ds, batch, &loss, &errors, conf,
                         (size_t)img.classes * (size_t)img.classes);
        if (st) rc = cli_lib_error(ctx, st, "evaluation");
    }
    if (!rc) {
        printf("test images: %lld\nmean loss: %.4f\ntest accuracy: %.2f%%\n", (long long)img.n,
               loss, 100.0 * (double)(img.n - errors) / (double)img.n);
        cli_print_confusion(stdout, conf, img.classes);
    }
    free(conf);
    rn_dataset_destroy(ds);
    rn_model_destroy(m);
    cli_images_free(&img);
    rn_ctx_destroy(ctx);
    return rc;
}

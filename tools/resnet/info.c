/*
 * resnet info ARCH: each layer (stem, blocks, head) with its output shape,
 * parameters and multiply-accumulates, then the totals as plain integers and
 * with thousands separators (the paper quotes 0.27M parameters for
 * ResNet-20, 1.8 GFLOPs for ResNet-18).
 */
#include <string.h>

#include "cli.h"

static void help(FILE *f) {
    fprintf(f, "usage: resnet info ARCH [--classes K] [--in-channels C] [--size HxW]\n"
               "                        [--width W] [--shortcut A|B|C|none]\n\n"
               "Print each layer of ARCH with its output shape (C x H x W for one image),\n"
               "trainable parameters and multiply-accumulates (convolutions and fc), then\n"
               "the totals. --size defaults to 224x224 (ImageNet networks) or 32x32 (CIFAR).\n"
               "--width scales every stage (base filters: 64 ImageNet, 16 CIFAR).\n");
    cli_arch_help(f);
}

int cmd_info(int argc, char **argv) {
    cli_arch arch;
    cli_arch_defaults(&arch);
    int64_t h = 0, w = 0;
    cli_args args;
    cli_args_begin(&args, argc, argv, help);
    while (cli_next(&args)) {
        if (cli_take_arch(&args, &arch)) {
        } else if (cli_take(&args, "--size")) {
            cli_require(&args, cli_parse_size("--size", args.value, &h, &w));
        } else {
            cli_positional(&args, &arch.name);
        }
    }
    if (args.exit >= 0) return args.exit;
    if (!arch.name) {
        cli_usage_error("missing ARCH");
        return CLI_EXIT_USAGE;
    }
    rn_ctx *ctx = cli_context();
    if (!ctx) return CLI_EXIT_FAIL;
    rn_model *m = NULL;
    int rc = cli_create_model(ctx, &arch, &m);
    if (rc) {
        rn_ctx_destroy(ctx);
        return rc;
    }
    if (!h) h = w = cli_model_is_cifar(m) ? 32 : 224;
    int32_t nlayers = 0, classes = 0, cin = 0;
    rn_model_classes(m, &classes);
    rn_model_in_channels(m, &cin);
    rn_status st = rn_model_layer_count(m, &nlayers);
    if (st) rc = cli_lib_error(ctx, st, "layers");
    printf("%s: %lldx%lld input, %d channels, %d classes\n", arch.name, (long long)h, (long long)w,
           (int)cin, (int)classes);
    printf("%-12s %-22s %14s %18s\n", "layer", "output (C x H x W)", "params", "MACs");
    int64_t total_p = 0, total_m = 0;
    for (int32_t i = 0; i < nlayers && rc == CLI_EXIT_OK; i++) {
        char name[64], shape[64], pb[32], mb[32];
        int64_t dims[4], params = 0, macs = 0;
        st = rn_model_layer_info(m, i, h, w, name, sizeof name, dims, &params, &macs);
        if (st) {
            rc = cli_lib_error(ctx, st, "--size");
            break;
        }
        snprintf(shape, sizeof shape, "%lld x %lld x %lld", (long long)dims[1], (long long)dims[2],
                 (long long)dims[3]);
        printf("%-12s %-22s %14s %18s\n", name, shape, cli_thousands(params, pb, sizeof pb),
               cli_thousands(macs, mb, sizeof mb));
        total_p += params;
        total_m += macs;
    }
    if (rc == CLI_EXIT_OK) {
        int64_t np = 0, nm = 0;
        char b1[32], b2[32];
        rn_model_num_parameters(m, &np);
        st = rn_model_macs(m, h, w, &nm);
        if (st) {
            rc = cli_lib_error(ctx, st, "MACs");
        } else {
            if (np != total_p || nm != total_m)
                fprintf(stderr,
                        "resnet info: warning: layer sums (%lld params, %lld MACs) differ "
                        "from the model totals\n",
                        (long long)total_p, (long long)total_m);
            printf("total parameters: %lld (%s)\n", (long long)np,
                   cli_thousands(np, b1, sizeof b1));
            printf("total MACs: %lld (%s)\n", (long long)nm, cli_thousands(nm, b2, sizeof b2));
            printf("total FLOPs (2 x MACs): %.3g\n", 2.0 * (double)nm);
        }
    }
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
    return rc;
}

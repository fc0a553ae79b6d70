/*
 * resnet init ARCH -o W.safetensors: a freshly He-initialised network (the
 * library's rn_model_init, deterministic for a seed) saved with torchvision's
 * names, loadable by `resnet infer` and by PyTorch's load_state_dict.
 */
#include "cli.h"

static void help(FILE *f) {
    fprintf(f, "usage: resnet init ARCH -o W.safetensors [--seed N] [--classes K]\n"
               "                        [--in-channels C] [--width W] [--shortcut A|B|C|none]\n\n"
               "Initialise ARCH (Kaiming-normal convs, BN weight 1 bias 0, torchvision's fc\n"
               "init; deterministic for --seed, default 0) and save it as safetensors.\n");
    cli_arch_help(f);
}

int cmd_init(int argc, char **argv) {
    cli_arch arch;
    cli_arch_defaults(&arch);
    const char *out = NULL;
    int64_t seed = 0;
    cli_args args;
    cli_args_begin(&args, argc, argv, help);
    while (cli_next(&args)) {
        if (cli_take_arch(&args, &arch)) {
        } else if (cli_take(&args, "-o") || cli_take(&args, "--output")) {
            out = args.value;
        } else if (cli_take(&args, "--seed")) {
            cli_require(&args, cli_parse_i64("--seed", args.value, 0, INT64_MAX, &seed));
        } else {
            cli_positional(&args, &arch.name);
        }
    }
    if (args.exit >= 0) return args.exit;
    if (!arch.name || !out) {
        cli_usage_error(!arch.name ? "missing ARCH" : "missing -o FILE");
        return CLI_EXIT_USAGE;
    }
    rn_ctx *ctx = cli_context();
    if (!ctx) return CLI_EXIT_FAIL;
    rn_model *m = NULL;
    int rc = cli_create_model(ctx, &arch, &m);
    if (rc == CLI_EXIT_OK) {
        rn_status st = rn_model_init(m, (uint64_t)seed);
        if (!st) st = rn_model_save_safetensors_file(m, out);
        if (st)
            rc = cli_lib_error(ctx, st, out);
        else {
            int64_t np = 0;
            rn_model_num_parameters(m, &np);
            printf("wrote %s (%s, %lld parameters, seed %lld)\n", out, arch.name, (long long)np,
                   (long long)seed);
        }
    }
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
    return rc;
}

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
    for (int i = 1; i < argc; i++) {
        const char *v;
        int r;
        if (cli_is_help(argv[i])) {
            help(stdout);
            return CLI_EXIT_OK;
        }
        if ((r = cli_arch_option(&arch, argc, argv, &i)) != 0) {
            if (r < 0) return CLI_EXIT_USAGE;
        } else if ((r = cli_option(argc, argv, &i, "-o", &v)) != 0 ||
                   (r = cli_option(argc, argv, &i, "--output", &v)) != 0) {
            if (r < 0) return CLI_EXIT_USAGE;
            out = v;
        } else if ((r = cli_option(argc, argv, &i, "--seed", &v)) != 0) {
            if (r < 0 || !cli_parse_i64("--seed", v, 0, INT64_MAX, &seed)) return CLI_EXIT_USAGE;
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
    if (!arch.name || !out) {
        cli_usage_error(!arch.name ? "missing ARCH" : "missing -o FILE");
        return CLI_EXIT_USAGE;
    }
    rn_ctx *ctx = NULL;
    if (rn_ctx_create(&ctx)) {
        cli_fail("cannot create a context");
        return CLI_EXIT_FAIL;
    }
    rn_model *m = NULL;
    int rc = cli_create_model(ctx, &arch, &m);
    if (rc == CLI_EXIT_OK) {
        rn_status st = rn_model_init(m, (uint64_t)seed);
        if (!st) st = rn_model_save_safetensors_file(m, out);
        if (st) rc = cli_lib_error(ctx, st, out);
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

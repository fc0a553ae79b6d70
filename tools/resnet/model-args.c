/*
 * Models in the `resnet` program: the architecture options shared by the
 * subcommands (--classes, --in-channels, --width, --shortcut), preset
 * creation, and models shaped after a weight file. A weight file carries
 * its classes (fc.weight), input channels and width (conv1.weight) and its
 * shortcut kind (which downsample tensors exist), so `infer` and `grad`
 * need nothing but the architecture name besides it.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void cli_arch_defaults(cli_arch *a) {
    memset(a, 0, sizeof *a);
    a->shortcut = RN_SHORTCUT_DEFAULT;
}

int cli_arch_option(cli_arch *a, int argc, char **argv, int *i) {
    const char *v = NULL;
    int64_t x;
    int r;
    if ((r = cli_option(argc, argv, i, "--classes", &v)) != 0) {
        if (r < 0 || !cli_parse_i64("--classes", v, 1, 1000000, &x)) return -1;
        a->classes = (int32_t)x;
        return 1;
    }
    if ((r = cli_option(argc, argv, i, "--in-channels", &v)) != 0) {
        if (r < 0 || !cli_parse_i64("--in-channels", v, 1, 65536, &x)) return -1;
        a->in_channels = (int32_t)x;
        return 1;
    }
    if ((r = cli_option(argc, argv, i, "--width", &v)) != 0) {
        if (r < 0 || !cli_parse_i64("--width", v, 1, 65536, &x)) return -1;
        a->width = (int32_t)x;
        return 1;
    }
    if ((r = cli_option(argc, argv, i, "--shortcut", &v)) != 0) {
        if (r < 0) return -1;
        if (strcmp(v, "A") == 0 || strcmp(v, "a") == 0)
            a->shortcut = RN_SHORTCUT_A;
        else if (strcmp(v, "B") == 0 || strcmp(v, "b") == 0)
            a->shortcut = RN_SHORTCUT_B;
        else if (strcmp(v, "C") == 0 || strcmp(v, "c") == 0)
            a->shortcut = RN_SHORTCUT_C;
        else if (strcmp(v, "none") == 0)
            a->shortcut = RN_SHORTCUT_NONE;
        else {
            cli_usage_error("--shortcut: '%s' is not A, B, C or none", v);
            return -1;
        }
        return 1;
    }
    return 0;
}

int cli_arch_known(const char *name) {
    for (int32_t i = 0; i < rn_preset_count(); i++)
        if (strcmp(rn_preset_name(i), name) == 0) return 1;
    fprintf(stderr, "resnet %s: unknown architecture '%s'; known:", cli_cmd, name);
    for (int32_t i = 0; i < rn_preset_count(); i++) fprintf(stderr, " %s", rn_preset_name(i));
    fputc('\n', stderr);
    return 0;
}

void cli_arch_help(FILE *f) {
    fprintf(f, "ARCH is one of the paper's networks:");
    for (int32_t i = 0; i < rn_preset_count(); i++) fprintf(f, " %s", rn_preset_name(i));
    fprintf(f, "\n");
}

int cli_create_model(rn_ctx *ctx, const cli_arch *a, rn_model **out) {
    rn_status st = rn_model_create_preset(ctx, a->name, a->classes, a->in_channels, a->shortcut,
                                          a->width, 0, out);
    if (st == RN_E_NOT_FOUND) {
        cli_arch_known(a->name);
        return CLI_EXIT_USAGE;
    }
    if (st) return cli_lib_error(ctx, st, a->name);
    return CLI_EXIT_OK;
}

int cli_model_is_cifar(const rn_model *m) {
    int32_t idx, ndim;
    int64_t dims[4];
    if (rn_model_tensor_find(m, "conv1.weight", &idx) != RN_OK) return 0;
    rn_model_tensor_info(m, idx, NULL, &ndim, dims, NULL);
    return dims[2] == 3;
}

static int has_tensor(const rn_safetensors *st, const char *name) {
    int32_t idx;
    char prefixed[256];
    snprintf(prefixed, sizeof prefixed, "module.%s", name);
    return rn_safetensors_find(st, name, &idx) == RN_OK ||
           rn_safetensors_find(st, prefixed, &idx) == RN_OK;
}

int cli_arch_from_file(rn_ctx *ctx, cli_arch *a, const char *path) {
    rn_safetensors *st = NULL;
    rn_status s = rn_safetensors_open_file(ctx, path, &st);
    if (s) return cli_lib_error(ctx, s, "--weights");
    int32_t classes = 0, in_channels = 0;
    s = rn_safetensors_model_dims(st, &classes, &in_channels);
    if (s) {
        rn_safetensors_close(st);
        return cli_lib_error(ctx, s, path);
    }
    if (!a->classes) a->classes = classes;
    if (!a->in_channels) a->in_channels = in_channels;
    if (!a->width) {
        int32_t idx, ndim;
        int64_t dims[8];
        if (rn_safetensors_find(st, "conv1.weight", &idx) == RN_OK ||
            rn_safetensors_find(st, "module.conv1.weight", &idx) == RN_OK) {
            rn_safetensors_info(st, idx, NULL, NULL, &ndim, dims);
            a->width = (int32_t)dims[0];
        }
    }
    if (a->shortcut == RN_SHORTCUT_DEFAULT) {
        /* option C projects on every block, B only where the shape changes
         * (never in layer1.1), A never */
        if (has_tensor(st, "layer1.1.downsample.0.weight"))
            a->shortcut = RN_SHORTCUT_C;
        else if (has_tensor(st, "layer2.0.downsample.0.weight"))
            a->shortcut = RN_SHORTCUT_B;
        else if (strncmp(a->name, "plain", 5) != 0)
            a->shortcut = RN_SHORTCUT_A;
    }
    rn_safetensors_close(st);
    return CLI_EXIT_OK;
}

int cli_weights_are_int8(rn_ctx *ctx, const char *path) {
    rn_safetensors *st = NULL;
    const char *fmt = NULL;
    int yes = rn_safetensors_open_file(ctx, path, &st) == RN_OK &&
              rn_safetensors_metadata(st, "format", &fmt) == RN_OK &&
              strcmp(fmt, "libresnet-int8") == 0;
    rn_safetensors_close(st);
    return yes;
}

int cli_load_int8(rn_ctx *ctx, cli_arch *a, const char *path, rn_model **out) {
    rn_model *m = NULL;
    rn_status s = rn_model_load_int8_file(ctx, path, &m);
    if (s) return cli_lib_error(ctx, s, "--weights");
    int32_t classes = 0, cin = 0;
    rn_model_classes(m, &classes);
    rn_model_in_channels(m, &cin);
    if ((a->classes && a->classes != classes) || (a->in_channels && a->in_channels != cin)) {
        cli_fail("%s: the int8 model takes %d channels and has %d classes; the data has %d "
                 "and %d",
                 path, (int)cin, (int)classes, (int)a->in_channels, (int)a->classes);
        rn_model_destroy(m);
        return CLI_EXIT_FAIL;
    }
    a->classes = classes;
    a->in_channels = cin;
    *out = m;
    return CLI_EXIT_OK;
}

int cli_model_from_weights(rn_ctx *ctx, cli_arch *a, const char *path, rn_model **out) {
    if (!cli_arch_known(a->name)) return CLI_EXIT_USAGE;
    if (cli_weights_are_int8(ctx, path)) return cli_load_int8(ctx, a, path, out);
    int rc = cli_arch_from_file(ctx, a, path);
    if (!rc) rc = cli_create_model(ctx, a, out);
    if (rc) return rc;
    rn_status s = rn_model_load_safetensors_file(*out, path);
    if (s) {
        rn_model_destroy(*out);
        *out = NULL;
        return cli_lib_error(ctx, s, "--weights");
    }
    return CLI_EXIT_OK;
}

int cli_load_tensors(rn_ctx *ctx, rn_model *m, const char *path) {
    rn_safetensors *st = NULL;
    rn_status s = rn_safetensors_open_file(ctx, path, &st);
    if (s) return cli_lib_error(ctx, s, "--weights");
    int rc = CLI_EXIT_OK;
    for (int32_t i = 0; i < rn_model_tensor_count(m) && rc == CLI_EXIT_OK; i++) {
        const char *name;
        int32_t ndim, idx, fndim;
        int64_t dims[4], fdims[8];
        rn_model_tensor_info(m, i, &name, &ndim, dims, NULL);
        size_t n = 1;
        for (int32_t k = 0; k < ndim; k++) n *= (size_t)dims[k];
        if (rn_safetensors_find(st, name, &idx) != RN_OK) {
            cli_fail("%s: tensor '%s' is missing (another architecture or width?)", path, name);
            rc = CLI_EXIT_FAIL;
            break;
        }
        rn_safetensors_info(st, idx, NULL, NULL, &fndim, fdims);
        size_t fn = 1;
        for (int32_t k = 0; k < fndim; k++) fn *= (size_t)fdims[k];
        if (fn != n) {
            cli_fail("%s: tensor '%s' has %zu values, the model expects %zu", path, name, fn, n);
            rc = CLI_EXIT_FAIL;
            break;
        }
        float *v = malloc(n * sizeof(float));
        if (!v) {
            cli_fail("out of memory");
            rc = CLI_EXIT_FAIL;
            break;
        }
        s = rn_safetensors_read_f32(st, idx, v, n);
        if (!s) s = rn_model_set_tensor(m, name, v, n);
        if (s) rc = cli_lib_error(ctx, s, path);
        free(v);
    }
    rn_safetensors_close(st);
    return rc;
}

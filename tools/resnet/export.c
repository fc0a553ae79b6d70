/*
 * resnet export ARCH --weights W.safetensors --onnx -o M.onnx: the network
 * with its weights as an ONNX graph (opset 13, batch norms kept; see
 * rn_model_save_onnx_file), readable by onnxruntime, PyTorch's tools and
 * `resnet infer M.onnx`.
 * resnet export ARCH --weights W.safetensors --c-array -o model.c: the
 * weights as a blob (rn_model_save_blob_mem) in a const, aligned C array for
 * a firmware build, read in place by rn_model_create_from_blob.
 * Classes, input channels, width and shortcut come from the weight file
 * unless given.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The blob as C99 source: a const union (its uint64_t member aligns the
 * bytes to 8 without compiler extensions; const data lands in flash), a
 * pointer to its bytes and their count. */
static int write_c_array(const unsigned char *blob, size_t size, const char *arch, const char *name,
                         const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) {
        cli_fail("%s: cannot create the file", path);
        return CLI_EXIT_FAIL;
    }
    fprintf(f,
            "/* %s weights as a libresnet blob (%zu bytes), written by `resnet export\n"
            " * --c-array`. Read in place, without a copy:\n"
            " *   extern const unsigned char *const %s;\n"
            " *   extern const size_t %s_size;\n"
            " *   rn_model_create_from_blob(ctx, %s, %s_size, RN_BLOB_NO_DERIVED, &model);\n"
            " * The bytes are const (flash on a microcontroller) and 8-byte aligned. */\n"
            "#include <stddef.h>\n#include <stdint.h>\n\n"
            "static const union {\n    unsigned char bytes[%zu];\n    uint64_t align;\n"
            "} %s_storage = {{\n",
            arch, size, name, name, name, name, size, name);
    for (size_t i = 0; i < size; i++)
        fprintf(f, "%s0x%02x,%s", i % 16 == 0 ? "    " : "", blob[i],
                i % 16 == 15 || i + 1 == size ? "\n" : " ");
    fprintf(f,
            "}};\n\nconst unsigned char *const %s = %s_storage.bytes;\n"
            "const size_t %s_size = %zu;\n",
            name, name, name, size);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        cli_fail("%s: write failed", path);
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

/* A whole file in a malloc'd buffer (aligned for any type), or NULL. */
static unsigned char *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *buf = NULL;
    long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc(n > 0 ? (size_t)n : 1)) != NULL &&
        fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *size = n > 0 ? (size_t)n : 0;
    return buf;
}

static int is_c_identifier(const char *s) {
    if (!*s || isdigit((unsigned char)*s)) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_') return 0;
    return 1;
}

static void help(FILE *f) {
    fprintf(f,
            "usage: resnet export ARCH --weights W.safetensors --onnx -o M.onnx\n"
            "       resnet export ARCH --weights W.safetensors --c-array [--name SYMBOL] -o M.c\n"
            "                          [--fold] [--classes K] [--in-channels C] [--width W]\n"
            "                          [--shortcut A|B|C|none]\n\n"
            "Write ARCH with the weights of W as an ONNX graph (opset 13; input \"input\"\n"
            "float [batch, C, height, width], output \"logits\" [batch, classes]), or as a\n"
            "blob in a const, aligned C array for a firmware build: SYMBOL (default\n"
            "resnet_blob) points at its bytes, SYMBOL_size counts them, and\n"
            "rn_model_create_from_blob reads the weights in place (a file it reads as it is\n"
            "goes into the array unchanged; others are converted). --fold folds every batch\n"
            "norm into its convolution first (inference only).\n");
    cli_arch_help(f);
}

int cmd_export(int argc, char **argv) {
    cli_arch arch;
    cli_arch_defaults(&arch);
    const char *weights = NULL, *out = NULL, *name = "resnet_blob";
    int onnx = 0, c_array = 0, fold = 0;
    cli_args args;
    cli_args_begin(&args, argc, argv, help);
    while (cli_next(&args)) {
        if (cli_take_arch(&args, &arch)) {
        } else if (cli_take(&args, "--weights")) {
            weights = args.value;
        } else if (cli_take(&args, "-o") || cli_take(&args, "--output")) {
            out = args.value;
        } else if (cli_take(&args, "--name")) {
            name = args.value;
            if (!is_c_identifier(name)) cli_usage_error("--name: '%s' is not a C identifier", name);
            cli_require(&args, is_c_identifier(name));
        } else if (cli_flag(args.arg, "--onnx")) {
            onnx = 1;
        } else if (cli_flag(args.arg, "--c-array")) {
            c_array = 1;
        } else if (cli_flag(args.arg, "--fold")) {
            fold = 1;
        } else {
            cli_positional(&args, &arch.name);
        }
    }
    if (args.exit >= 0) return args.exit;
    if (!arch.name || !weights || !out || onnx + c_array != 1) {
        cli_usage_error("needs ARCH, --weights, one of --onnx and --c-array, and -o FILE");
        return CLI_EXIT_USAGE;
    }
    rn_ctx *ctx = cli_context();
    if (!ctx) return CLI_EXIT_FAIL;
    rn_model *m = NULL;
    int rc = CLI_EXIT_OK;
    rn_status st;
    if (c_array && !fold) {
        /* a file rn_model_create_from_blob reads as it is (a blob, an int8
         * model file) goes into the array unchanged */
        size_t size = 0;
        unsigned char *bytes = read_file(weights, &size);
        if (bytes && rn_model_create_from_blob(ctx, bytes, size, RN_BLOB_NO_DERIVED, &m) == RN_OK) {
            rn_model_destroy(m);
            m = NULL;
            rc = write_c_array(bytes, size, arch.name, name, out);
            if (!rc)
                printf("wrote %s (%s, %s as it is, in the C array %s)\n", out, arch.name, weights,
                       name);
            free(bytes);
            rn_ctx_destroy(ctx);
            return rc;
        }
        free(bytes);
    }
    rc = cli_model_from_weights(ctx, &arch, weights, &m);
    if (!rc && fold && (st = rn_model_fold_batchnorm(m)) != RN_OK)
        rc = cli_lib_error(ctx, st, "--fold");
    if (c_array) {
        size_t size = 0;
        unsigned char *blob = NULL;
        if (!rc && (st = rn_model_save_blob_mem(m, NULL, 0, &size)) != RN_OK)
            rc = cli_lib_error(ctx, st, "--c-array");
        if (!rc && !(blob = malloc(size))) {
            cli_fail("out of memory for a %zu-byte blob", size);
            rc = CLI_EXIT_FAIL;
        }
        if (!rc && (st = rn_model_save_blob_mem(m, blob, size, &size)) != RN_OK)
            rc = cli_lib_error(ctx, st, "--c-array");
        if (!rc) rc = write_c_array(blob, size, arch.name, name, out);
        if (!rc) printf("wrote %s (%s, a blob in the C array %s)\n", out, arch.name, name);
        free(blob);
    } else {
        if (!rc && (st = rn_model_save_onnx_file(m, out)) != RN_OK)
            rc = cli_lib_error(ctx, st, out);
        if (!rc) printf("wrote %s (%s, ONNX opset 13)\n", out, arch.name);
    }
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
    return rc;
}

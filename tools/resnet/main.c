/*
 * The `resnet` program: dispatch to one subcommand per file (info.c,
 * init.c, infer.c, grad.c, train.c, eval.c, bench.c). Each subcommand
 * parses its own options and answers --help.
 */
#include <string.h>

#include "cli.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} commands[] = {
    {"info", cmd_info, "layers, output shapes, parameters and MACs of an architecture"},
    {"init", cmd_init, "write He-initialised weights to a safetensors file"},
    {"infer", cmd_infer, "eval-mode logits of a .npy batch (ARCH + weights, or an ONNX file)"},
    {"export", cmd_export, "write an architecture with its weights as an ONNX graph"},
    {"grad", cmd_grad, "one train-mode forward + backward: every parameter's gradient"},
    {"train", cmd_train, "train on Fashion-MNIST or CIFAR-10 with the paper's recipe"},
    {"eval", cmd_eval, "test accuracy and confusion matrix of trained weights"},
    {"bench", cmd_bench, "images/s, ms per batch, GFLOP/s and peak memory"},
    {"quantize", cmd_quantize, "post-training int8 quantization of trained weights"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f) {
    fprintf(f,
            "usage: resnet COMMAND [options]   (resnet COMMAND --help for each)\n\n"
            "Residual networks of He et al. 2015 with libresnet %s.\n\ncommands:\n",
            rn_version_string());
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nexit status: 0 success, 1 failure (file, data, library), 2 bad usage,\n"
               "3 training diverged (NaN or Inf loss)\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("resnet (libresnet) %s\n", rn_version_string());
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            cli_cmd = commands[i].name;
            return commands[i].fn(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "resnet: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return CLI_EXIT_USAGE;
}

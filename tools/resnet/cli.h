/*
 * Shared pieces of the `resnet` program: the subcommands, argument parsing
 * helpers, model construction from an architecture name or a weight file,
 * dataset loading, number formatting and progress display. The program
 * uses only the public API (include/resnet.h).
 *
 * Exit codes: 0 success, 1 a failure while working (a file missing or
 * malformed, a library error), 2 bad usage (unknown option, bad value,
 * unknown architecture), 3 training diverged (NaN or Inf loss).
 */
#ifndef RESNET_CLI_H
#define RESNET_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "resnet.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2
#define CLI_EXIT_DIVERGED 3

/* ---- subcommands (one file each) ------------------------------------------ */
int cmd_info(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_infer(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_grad(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_quantize(int argc, char **argv);

typedef struct cli_arch cli_arch;

/* ---- arguments (args.c) ------------------------------------------------------
 * Options are "--name value" or "--name=value". The helpers print their own
 * message (prefixed "resnet CMD: ") and return 0 on bad input. */
extern const char *cli_cmd; /* the subcommand, for messages */
int cli_is_help(const char *arg);
/* 1 when argv[*i] is the option `name`: *value receives its value (the next
 * argument, which is then consumed, or the text after '='). A missing value
 * is reported and gives -1. */
int cli_option(int argc, char **argv, int *i, const char *name, const char **value);
int cli_flag(const char *arg, const char *name); /* a boolean option without value */
int cli_parse_i64(const char *opt, const char *text, int64_t lo, int64_t hi, int64_t *out);
int cli_parse_f64(const char *opt, const char *text, double lo, double hi, double *out);
int cli_parse_size(const char *opt, const char *text, int64_t *h, int64_t *w); /* "HxW" or "N" */
int cli_parse_layout(const char *text, int32_t *layout); /* "nchw" | "nhwc" for --layout */
void cli_usage_error(const char *fmt, ...);

/* An option loop. Every subcommand ends its loop the same way (--help,
 * a missing value, an unknown option, one positional argument), so the
 * helpers below do that part:
 *
 *     cli_args args;
 *     cli_args_begin(&args, argc, argv, help);
 *     while (cli_next(&args)) {
 *         if (cli_take_arch(&args, &arch)) {
 *         } else if (cli_take(&args, "--weights")) {
 *             weights = args.value;
 *         } else if (cli_take(&args, "--batch")) {
 *             cli_require(&args, cli_parse_i64("--batch", args.value, 1, 65536, &batch));
 *         } else if (cli_flag(args.arg, "--fold")) {
 *             fold = 1;
 *         } else {
 *             cli_positional(&args, &arch.name);
 *         }
 *     }
 *     if (args.exit >= 0) return args.exit;
 *
 * cli_next stops at the end, after --help or -h (help(stdout) printed, exit
 * CLI_EXIT_OK) and after any bad argument (reported, exit CLI_EXIT_USAGE).
 * Once exit is set the other helpers do nothing and give 0. */
typedef struct cli_args {
    int argc;
    char **argv;
    int i;             /* index of the argument at hand */
    const char *arg;   /* argv[i] */
    const char *value; /* the value of the option cli_take matched */
    int exit;          /* -1 while parsing, else the exit code to return */
    void (*help)(FILE *);
} cli_args;

void cli_args_begin(cli_args *p, int argc, char **argv, void (*help)(FILE *));
int cli_next(cli_args *p);
/* 1 when the argument is option `name` with its value in p->value; a
 * missing value is reported, sets exit and gives 0. */
int cli_take(cli_args *p, const char *name);
/* 1 when the argument is one of cli_arch_option's (a bad value sets exit). */
int cli_take_arch(cli_args *p, cli_arch *a);
/* Sets exit to CLI_EXIT_USAGE when !ok (the parser reported why); gives ok. */
int cli_require(cli_args *p, int ok);
/* An argument no option took: "unknown option" when it starts with '-',
 * else it fills *slot when empty, else "unexpected argument". */
void cli_positional(cli_args *p, const char **slot);
void cli_fail(const char *fmt, ...);
/* Report a library failure: "resnet CMD: what: <last error>". Returns CLI_EXIT_FAIL. */
int cli_lib_error(rn_ctx *ctx, rn_status st, const char *what);

/* ---- models (model-args.c) -------------------------------------------------- */
struct cli_arch {
    const char *name;    /* preset name */
    int32_t classes;     /* 0: the preset's */
    int32_t in_channels; /* 0: the preset's */
    int32_t width;       /* base width, 0: the preset's */
    int32_t shortcut;    /* RN_SHORTCUT_*, RN_SHORTCUT_DEFAULT: the paper's */
};

void cli_arch_defaults(cli_arch *a);
/* Consumes --classes, --in-channels, --width, --shortcut at argv[*i];
 * returns 1 if consumed, 0 if not one of them, -1 on a bad value. */
int cli_arch_option(cli_arch *a, int argc, char **argv, int *i);
/* Check the name against the presets (prints the list when unknown). */
int cli_arch_known(const char *name);
void cli_arch_help(FILE *f);
int cli_create_model(rn_ctx *ctx, const cli_arch *a, rn_model **out);
/* Fill what is not set yet (classes, input channels, width, shortcut) from a
 * weight file or checkpoint. */
int cli_arch_from_file(rn_ctx *ctx, cli_arch *a, const char *path);
/* A model shaped like a weight file (classes, input channels, width and
 * shortcut read from it unless given) with the file's weights. */
int cli_model_from_weights(rn_ctx *ctx, cli_arch *a, const char *path, rn_model **out);
/* 1 when path is an int8 model file (metadata "format" libresnet-int8). */
int cli_weights_are_int8(rn_ctx *ctx, const char *path);
/* An int8 model from its file; a->classes / a->in_channels are checked
 * against it when set (from the data) and filled otherwise. */
int cli_load_int8(rn_ctx *ctx, cli_arch *a, const char *path, rn_model **out);
/* 1 for the CIFAR presets (3x3 stem: default input 32x32), 0 for ImageNet. */
int cli_model_is_cifar(const rn_model *m);
/* Set every model tensor from a safetensors file (a weight file or a
 * checkpoint; other tensors are ignored). */
int cli_load_tensors(rn_ctx *ctx, rn_model *m, const char *path);

/* ---- datasets (data.c) ------------------------------------------------------- */
typedef struct cli_images {
    uint8_t *images; /* n x h x w x c */
    int32_t *labels;
    int64_t n, h, w, c;
    int32_t classes;
} cli_images;

/* "fashion-mnist" or "cifar10"; dir NULL = the default one. split 0 =
 * training set, 1 = test set. limit > 0 keeps the first `limit` images. */
int cli_load_dataset(rn_ctx *ctx, const char *name, const char *dir, int split, int64_t limit,
                     cli_images *out);
const char *cli_default_data_dir(const char *name);
int cli_dataset_known(const char *name);
/* CLI_EXIT_OK for a known dataset, else CLI_EXIT_USAGE after the usage error. */
int cli_check_dataset(const char *name);
void cli_images_free(cli_images *d);
/* The normalisation of trained weights into ds: from `norm` (a file, or
 * "none" for x/255), else from `weights` when it is a checkpoint, else from
 * normalization.safetensors beside it. used (may be NULL) receives the
 * normalisation file read ("" for none or a checkpoint). */
int cli_apply_normalization(rn_ctx *ctx, rn_dataset *ds, const char *weights, const char *norm,
                            char *used, size_t used_cap);
/* eval and quantize: the images of dataset `data` (split, limit as
 * cli_load_dataset), the model of `weights` for them (an int8 file when
 * allow_int8, else refused), and a dataset over the images normalised as
 * cli_apply_normalization says. The caller frees img, m and ds. */
int cli_trained_model_and_data(rn_ctx *ctx, cli_arch *arch, const char *weights, int allow_int8,
                               const char *data, const char *dir, int split, int64_t limit,
                               const char *norm, char *used, size_t used_cap, cli_images *img,
                               rn_model **m, rn_dataset **ds);
/* The dataset's normalisation as a normalization.safetensors file. */
int cli_save_normalization(rn_ctx *ctx, const rn_dataset *ds, const char *path);

/* ---- output helpers (format.c) -------------------------------------------------- */
/* "1,234,567" into buf; returns buf. */
const char *cli_thousands(int64_t v, char *buf, size_t cap);
double cli_now(void); /* monotonic seconds */
void cli_print_confusion(FILE *f, const int64_t *conf, int32_t classes);
int cli_default_threads(void);
int cli_set_threads(rn_ctx *ctx, int64_t threads);
/* A subcommand's context, or NULL after saying so (the command exits CLI_EXIT_FAIL). */
rn_ctx *cli_context(void);

/* ---- progress display (progress.c) ------------------------------------------------ */
typedef struct cli_progress {
    int tty; /* redraw one line in place on stderr */
    double start, last_draw;
    int64_t total, done_at_start;
    int64_t last_line_batch;
} cli_progress;

void cli_progress_begin(cli_progress *p, int64_t total_batches);
/* After each batch: loss, images per second so far, batches done. */
void cli_progress_update(cli_progress *p, int64_t epoch, int64_t epochs, int64_t batch, double loss,
                         double images_per_s, double eta_s);
void cli_progress_end(cli_progress *p);

/* ---- the machine's FMA peak (fma-peak.c) --------------------------------------------- */
/* Measured single-core peak of fused multiply-adds in GFLOP/s (2 flops per
 * FMA per lane) with the widest vectors the CPU has; *isa names them. */
double cli_fma_peak_gflops(const char **isa);

#endif /* RESNET_CLI_H */

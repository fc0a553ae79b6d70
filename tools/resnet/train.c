/*
 * resnet train ARCH --data fashion-mnist|cifar10: the paper's recipe
 * (section 4.2) with the library's trainer: SGD with momentum 0.9, weight
 * decay 1e-4, lr 0.1 divided by 10 at 50% and 75% of the run (the paper's
 * 32k and 48k of 64k iterations), batch 128, pad-4 random crops and flips,
 * per-pixel mean subtraction. By default the run lasts as many images as
 * the paper's (64k iterations of 128), expressed in epochs of the dataset.
 *
 * Each epoch: a progress display, a line on stdout, a row appended to
 * OUT/log.csv, and OUT/checkpoint.safetensors written atomically, from which
 * --resume continues bit-identically (same arguments and thread count). At
 * the end: the test accuracy, a confusion matrix, OUT/weights.safetensors
 * (loadable by `resnet infer`) and OUT/normalization.safetensors (what
 * `resnet eval` subtracts). A NaN or Inf loss stops the run with exit 3;
 * the checkpoint of the last finished epoch is left as it was.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#ifdef RN_WITH_MPI
#include "resnet-mpi.h"
#endif

#define MAX_MILESTONES 64

typedef struct train_opts {
    cli_arch arch;
    const char *data, *data_dir, *out, *resume, *schedule, *warmup;
    int64_t epochs, batch, subset, test_subset, val, threads, seed, pad, winograd, bf16;
    int flip, nesterov, decay_all;
    int64_t shards, sync_bn;
    double lr, momentum, wd, gamma, mpi_timeout;
    int32_t norm;
    const char *weights;    /* fine-tuning: start from these weights, fresh head */
    const char *freeze[16]; /* parameter name prefixes kept frozen */
    int32_t nfreeze;
} train_opts;

static void help(FILE *f) {
    fprintf(
        f,
        "usage: resnet train ARCH --data fashion-mnist|cifar10 [options]\n"
        "       resnet train ARCH --data ... --weights W.safetensors [--freeze PREFIX]... ...\n\n"
        "--weights starts from W (what fits by name and shape; a fresh head sized for the\n"
        "data's classes, which also set the class count: --classes is refused), --freeze\n"
        "PREFIX (repeatable, e.g. conv1. bn1. layer1. layer2.) keeps those parameters\n"
        "fixed: fine-tuning.\n\n"
        "Train ARCH with the paper's recipe (He et al. 2015, section 4.2) and the library's\n"
        "trainer. Every epoch prints a summary, appends to OUT/log.csv and writes\n"
        "OUT/checkpoint.safetensors atomically; the end prints the test accuracy and a\n"
        "confusion matrix and writes OUT/weights.safetensors and OUT/normalization.safetensors.\n\n"
        "data:\n"
        "  --data NAME         fashion-mnist (1x28x28, IDX, raw or .gz) or cifar10 (binary version)\n"
        "  --data-dir DIR      default /usr/share/datasets/fashion-mnist or /usr/share/datasets/cifar10\n"
        "  --subset N          use the first N training images\n"
        "  --test-subset N     evaluate on the first N test images\n"
        "  --val N             hold out N random training images for validation (the paper: 5000)\n"
        "  --norm MODE         pixel (per-pixel mean, the paper's; default), channel (mean/std), none\n"
        "  --pad N             zero padding of the random crop (default 4; 0 = no crop)\n"
        "  --no-flip           no random horizontal flips\n"
        "optimisation:\n"
        "  --epochs N          default: the paper's 64k iterations of 128 images, in epochs\n"
        "  --batch B           default 128\n"
        "  --lr X              default 0.1\n"
        "  --momentum X        default 0.9\n"
        "  --wd X              weight decay, default 1e-4 (all parameters, as the paper)\n"
        "  --no-decay-bn       no weight decay on 1-D tensors (BN weight and bias, fc bias)\n"
        "  --nesterov          Nesterov momentum\n"
        "  --schedule SPEC     step:E1,E2,...  divide by --gamma at those epochs\n"
        "                      step-iter:I1,I2 the same at iterations (the paper: 32000,48000)\n"
        "                      cosine[:MIN]    cosine annealing over the run to MIN (default 0)\n"
        "                      constant\n"
        "                      default: step at 50%% and 75%% of the epochs\n"
        "  --gamma X           step factor, default 0.1\n"
        "  --warmup SPEC       iters:N[@LR]     LR (default 0.01) for the first N iterations\n"
        "                      linear:N[@LR]    rising linearly from LR over N iterations\n"
        "                      error:E[@LR]     LR until the training error is below E (e.g. 0.8,\n"
        "                                       the paper's ResNet-110 warm-up)\n"
        "run:\n"
        "  --seed S            data order, augmentation and initialisation (default 0)\n"
        "  --threads T         default: the number of CPUs\n"
        "  --winograd 0|1      3x3 convolutions as Winograd where faster (default 1;\n"
        "                      0: all direct, the arithmetic of the layer API)\n"
        "  --bf16              mixed precision: the 3x3 convolutions' forward passes\n"
        "                      with bf16 products, fp32 sums\n"
        "                      (RN_OPT_TRAIN_BF16; needs AVX512_BF16)\n"
        "  --out DIR           default runs/ARCH-DATA\n"
        "  --resume FILE       continue from a checkpoint (same options as the first run)\n"
        "data parallelism (mpirun -np N resnet train ..., a build with -DRESNET_MPI=ON):\n"
        "  --sync-bn           batch-norm statistics over the global batch (N ranks then give\n"
        "                      the weights of one process run with --shards N, bit for bit)\n"
        "  --shards N          sum each batch as N fixed shards of images (default: one per\n"
        "                      rank; a single process with --shards N reproduces N ranks)\n"
        "  --mpi-timeout S     give up on a rank silent for S seconds (default 60)\n"
        "model:\n"
        "  --width W           base width (default 16 for CIFAR networks, 64 for ImageNet)\n"
        "  --shortcut A|B|C|none\n");
    cli_arch_help(f);
}

/* "a,b,c" into ascending integers; returns the count or -1. */
static int parse_list(const char *opt, const char *text, int64_t *out, int cap) {
    int n = 0;
    const char *p = text;
    while (*p) {
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || errno || v < 1 || (*end && *end != ',') || n == cap ||
            (n > 0 && v <= out[n - 1])) {
            cli_usage_error("%s: '%s' is not an increasing list of positive integers", opt, text);
            return -1;
        }
        out[n++] = v;
        p = *end ? end + 1 : end;
    }
    if (n == 0) cli_usage_error("%s: empty list", opt);
    return n ? n : -1;
}

static int parse_args(int argc, char **argv, train_opts *o) {
    memset(o, 0, sizeof *o);
    cli_arch_defaults(&o->arch);
    o->batch = 128;
    o->lr = 0.1;
    o->momentum = 0.9;
    o->wd = 1e-4;
    o->gamma = 0.1;
    o->pad = 4;
    o->flip = 1;
    o->decay_all = 1;
    o->norm = RN_NORM_PIXEL_MEAN;
    o->threads = cli_default_threads();
    o->winograd = 1;
    o->mpi_timeout = 60;
    cli_args args;
    cli_args_begin(&args, argc, argv, help);
    while (cli_next(&args)) {
        if (cli_take_arch(&args, &o->arch)) {
        } else if (cli_take(&args, "--weights")) {
            o->weights = args.value;
        } else if (cli_take(&args, "--freeze")) {
            if (o->nfreeze < 16) {
                o->freeze[o->nfreeze++] = args.value;
            } else {
                cli_usage_error("--freeze: at most 16 prefixes");
                cli_require(&args, 0);
            }
        } else if (cli_take(&args, "--data")) {
            o->data = args.value;
        } else if (cli_take(&args, "--data-dir")) {
            o->data_dir = args.value;
        } else if (cli_take(&args, "--out")) {
            o->out = args.value;
        } else if (cli_take(&args, "--resume")) {
            o->resume = args.value;
        } else if (cli_take(&args, "--schedule")) {
            o->schedule = args.value;
        } else if (cli_take(&args, "--warmup")) {
            o->warmup = args.value;
        } else if (cli_take(&args, "--epochs")) {
            cli_require(&args, cli_parse_i64("--epochs", args.value, 1, 1000000, &o->epochs));
        } else if (cli_take(&args, "--batch")) {
            cli_require(&args, cli_parse_i64("--batch", args.value, 1, 65536, &o->batch));
        } else if (cli_take(&args, "--subset")) {
            cli_require(&args, cli_parse_i64("--subset", args.value, 1, INT64_MAX, &o->subset));
        } else if (cli_take(&args, "--test-subset")) {
            cli_require(&args,
                        cli_parse_i64("--test-subset", args.value, 1, INT64_MAX, &o->test_subset));
        } else if (cli_take(&args, "--val")) {
            cli_require(&args, cli_parse_i64("--val", args.value, 0, INT64_MAX, &o->val));
        } else if (cli_take(&args, "--threads")) {
            cli_require(&args, cli_parse_i64("--threads", args.value, 1, 1024, &o->threads));
        } else if (cli_take(&args, "--winograd")) {
            cli_require(&args, cli_parse_i64("--winograd", args.value, 0, 1, &o->winograd));
        } else if (cli_take(&args, "--shards")) {
            cli_require(&args, cli_parse_i64("--shards", args.value, 1, 256, &o->shards));
        } else if (cli_take(&args, "--mpi-timeout")) {
            cli_require(&args,
                        cli_parse_f64("--mpi-timeout", args.value, 0.1, 1e6, &o->mpi_timeout));
        } else if (cli_take(&args, "--seed")) {
            cli_require(&args, cli_parse_i64("--seed", args.value, 0, INT64_MAX, &o->seed));
        } else if (cli_take(&args, "--pad")) {
            cli_require(&args, cli_parse_i64("--pad", args.value, 0, 64, &o->pad));
        } else if (cli_take(&args, "--lr")) {
            cli_require(&args, cli_parse_f64("--lr", args.value, 0, 1e6, &o->lr));
        } else if (cli_take(&args, "--momentum")) {
            cli_require(&args, cli_parse_f64("--momentum", args.value, 0, 1, &o->momentum));
        } else if (cli_take(&args, "--wd")) {
            cli_require(&args, cli_parse_f64("--wd", args.value, 0, 1, &o->wd));
        } else if (cli_take(&args, "--gamma")) {
            cli_require(&args, cli_parse_f64("--gamma", args.value, 1e-12, 1, &o->gamma));
        } else if (cli_take(&args, "--norm")) {
            if (strcmp(args.value, "pixel") == 0)
                o->norm = RN_NORM_PIXEL_MEAN;
            else if (strcmp(args.value, "channel") == 0)
                o->norm = RN_NORM_CHANNEL;
            else if (strcmp(args.value, "none") == 0)
                o->norm = RN_NORM_NONE;
            else {
                cli_usage_error("--norm: '%s' is not pixel, channel or none", args.value);
                cli_require(&args, 0);
            }
        } else if (cli_flag(args.arg, "--bf16")) {
            o->bf16 = 1;
        } else if (cli_flag(args.arg, "--no-flip")) {
            o->flip = 0;
        } else if (cli_flag(args.arg, "--sync-bn")) {
            o->sync_bn = 1;
        } else if (cli_flag(args.arg, "--nesterov")) {
            o->nesterov = 1;
        } else if (cli_flag(args.arg, "--no-decay-bn")) {
            o->decay_all = 0;
        } else {
            cli_positional(&args, &o->arch.name);
        }
    }
    if (args.exit == CLI_EXIT_OK) return -1; /* --help */
    if (args.exit >= 0) return args.exit;
    if (!o->arch.name) {
        cli_usage_error("missing ARCH");
        return CLI_EXIT_USAGE;
    }
    if (!cli_arch_known(o->arch.name)) return CLI_EXIT_USAGE;
    if (!o->data) {
        cli_usage_error("missing --data (fashion-mnist or cifar10)");
        return CLI_EXIT_USAGE;
    }
    if (cli_check_dataset(o->data)) return CLI_EXIT_USAGE;
    if (o->arch.classes || o->arch.in_channels) {
        cli_usage_error("--classes and --in-channels come from the dataset");
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

/* The schedule and warm-up from their specs (the epochs are known by now). */
static int build_schedule(rn_ctx *ctx, const train_opts *o, int64_t bpe, rn_lr_schedule *s,
                          char *desc, size_t cap) {
    int64_t ms[MAX_MILESTONES];
    int n;
    rn_status st = RN_OK;
    const char *spec = o->schedule;
    if (!spec) {
        /* 32k and 48k of the paper's 64k iterations */
        n = 0;
        int64_t half = o->epochs / 2, three_q = (3 * o->epochs) / 4;
        if (half >= 1) ms[n++] = half;
        if (three_q > half) ms[n++] = three_q;
        st = n ? rn_lr_schedule_set_step(s, RN_SCHED_UNIT_EPOCH, ms, n, o->gamma) : RN_OK;
        if (n == 2)
            snprintf(desc, cap, "/%g at epochs %lld and %lld", 1 / o->gamma, (long long)ms[0],
                     (long long)ms[1]);
        else if (n == 1)
            snprintf(desc, cap, "/%g at epoch %lld", 1 / o->gamma, (long long)ms[0]);
        else
            snprintf(desc, cap, "constant");
    } else if (strncmp(spec, "step:", 5) == 0) {
        if ((n = parse_list("--schedule", spec + 5, ms, MAX_MILESTONES)) < 0) return CLI_EXIT_USAGE;
        st = rn_lr_schedule_set_step(s, RN_SCHED_UNIT_EPOCH, ms, n, o->gamma);
        snprintf(desc, cap, "/%g at epochs %s", 1 / o->gamma, spec + 5);
    } else if (strncmp(spec, "step-iter:", 10) == 0) {
        if ((n = parse_list("--schedule", spec + 10, ms, MAX_MILESTONES)) < 0)
            return CLI_EXIT_USAGE;
        st = rn_lr_schedule_set_step(s, RN_SCHED_UNIT_ITER, ms, n, o->gamma);
        snprintf(desc, cap, "/%g at iterations %s", 1 / o->gamma, spec + 10);
    } else if (strcmp(spec, "cosine") == 0 || strncmp(spec, "cosine:", 7) == 0) {
        double min_lr = 0;
        if (spec[6] == ':' && !cli_parse_f64("--schedule cosine:MIN", spec + 7, 0, o->lr, &min_lr))
            return CLI_EXIT_USAGE;
        st = rn_lr_schedule_set_cosine(s, RN_SCHED_UNIT_ITER, o->epochs * bpe, min_lr);
        snprintf(desc, cap, "cosine to %g over %lld iterations", min_lr,
                 (long long)(o->epochs * bpe));
    } else if (strcmp(spec, "constant") == 0) {
        snprintf(desc, cap, "constant");
    } else {
        cli_usage_error("--schedule: '%s' is not step:E1,E2, step-iter:I1,I2, cosine[:MIN] or "
                        "constant",
                        spec);
        return CLI_EXIT_USAGE;
    }
    if (st) return cli_lib_error(ctx, st, "--schedule");
    if (o->warmup && strcmp(o->warmup, "none") != 0) {
        const char *w = o->warmup;
        int32_t kind;
        size_t skip;
        if (strncmp(w, "iters:", 6) == 0)
            kind = RN_WARMUP_ITERS, skip = 6;
        else if (strncmp(w, "linear:", 7) == 0)
            kind = RN_WARMUP_LINEAR, skip = 7;
        else if (strncmp(w, "error:", 6) == 0)
            kind = RN_WARMUP_TRAIN_ERROR, skip = 6;
        else {
            cli_usage_error("--warmup: '%s' is not iters:N[@LR], linear:N[@LR] or error:E[@LR]", w);
            return CLI_EXIT_USAGE;
        }
        char value[64];
        double wlr = 0.01, x;
        const char *at = strchr(w + skip, '@');
        size_t len = at ? (size_t)(at - (w + skip)) : strlen(w + skip);
        if (len >= sizeof value) len = sizeof value - 1;
        memcpy(value, w + skip, len);
        value[len] = '\0';
        if (at && !cli_parse_f64("--warmup LR", at + 1, 0, 1e6, &wlr)) return CLI_EXIT_USAGE;
        if (!cli_parse_f64("--warmup", value, 0, 1e15, &x)) return CLI_EXIT_USAGE;
        st = rn_lr_schedule_set_warmup(s, kind, x, wlr);
        if (st) return cli_lib_error(ctx, st, "--warmup");
        size_t k = strlen(desc);
        snprintf(desc + k, cap - k, ", warm-up %s", w);
    }
    return CLI_EXIT_OK;
}

/* mkdir -p */
static int make_dirs(const char *path) {
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return 0;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char saved = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) return 0;
            buf[i] = saved;
        }
    }
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

typedef struct run {
    rn_ctx *ctx;
    cli_images train_img, test_img;
    rn_dataset *all, *train, *val, *test;
    rn_model *model;
    rn_optimizer *opt;
    rn_lr_schedule *sched;
    rn_trainer *tr;
    int64_t *train_idx, *val_idx;
    FILE *log;
} run;

static void run_free(run *r) {
    if (r->log) fclose(r->log);
    rn_trainer_destroy(r->tr);
    rn_lr_schedule_destroy(r->sched);
    rn_optimizer_destroy(r->opt);
    rn_model_destroy(r->model);
    rn_dataset_destroy(r->test);
    rn_dataset_destroy(r->val);
    rn_dataset_destroy(r->train);
    rn_dataset_destroy(r->all);
    free(r->val_idx);
    free(r->train_idx);
    cli_images_free(&r->test_img);
    cli_images_free(&r->train_img);
    rn_ctx_destroy(r->ctx);
}

/* Give `dst` the normalisation of `src` (the training set's statistics). */
static rn_status copy_normalization(const rn_dataset *src, rn_dataset *dst) {
    int32_t norm;
    int64_t dims[4];
    rn_dataset_info(src, dims, NULL);
    rn_dataset_get_normalization(src, &norm, NULL, 0, NULL, 0);
    size_t nmean = norm == RN_NORM_PIXEL_MEAN ? (size_t)(dims[1] * dims[2] * dims[3])
                   : norm == RN_NORM_CHANNEL  ? (size_t)dims[3]
                                              : 0;
    size_t nstd = norm == RN_NORM_CHANNEL ? (size_t)dims[3] : 0;
    float *mean = malloc((nmean + 1) * sizeof(float)), *std = malloc((nstd + 1) * sizeof(float));
    rn_status st = rn_dataset_get_normalization(src, &norm, nmean ? mean : NULL, nmean,
                                                nstd ? std : NULL, nstd);
    if (!st)
        st = rn_dataset_set_normalization(dst, norm, nmean ? mean : NULL, nmean, nstd ? std : NULL,
                                          nstd);
    free(std);
    free(mean);
    return st;
}

static int setup_data(run *r, const train_opts *o) {
    rn_ctx *ctx = r->ctx;
    int rc = cli_load_dataset(ctx, o->data, o->data_dir, 0, o->subset, &r->train_img);
    if (!rc) rc = cli_load_dataset(ctx, o->data, o->data_dir, 1, o->test_subset, &r->test_img);
    if (rc) return rc;
    cli_images *ti = &r->train_img, *te = &r->test_img;
    if (o->val >= ti->n) {
        cli_usage_error("--val %lld leaves no training images (%lld in all)", (long long)o->val,
                        (long long)ti->n);
        return CLI_EXIT_USAGE;
    }
    rn_status st = rn_dataset_create(ctx, ti->images, ti->labels, ti->n, ti->h, ti->w, ti->c,
                                     ti->classes, &r->all);
    if (!st)
        st = rn_dataset_create(ctx, te->images, te->labels, te->n, te->h, te->w, te->c, te->classes,
                               &r->test);
    if (!st && o->val > 0) {
        r->train_idx = malloc((size_t)(ti->n - o->val) * sizeof(int64_t));
        r->val_idx = malloc((size_t)o->val * sizeof(int64_t));
        if (!r->train_idx || !r->val_idx) {
            cli_fail("out of memory");
            return CLI_EXIT_FAIL;
        }
        st = rn_data_split(ctx, (uint64_t)o->seed, ti->n, o->val, r->train_idx, r->val_idx);
        if (!st) st = rn_dataset_create_view(r->all, r->train_idx, ti->n - o->val, &r->train);
        if (!st) st = rn_dataset_create_view(r->all, r->val_idx, o->val, &r->val);
    }
    rn_dataset *train = r->train ? r->train : r->all;
    if (!st) st = rn_dataset_compute_normalization(train, o->norm);
    if (!st && r->val) st = copy_normalization(train, r->val);
    if (!st) st = copy_normalization(train, r->test);
    if (st) return cli_lib_error(ctx, st, "datasets");
    return CLI_EXIT_OK;
}

static int evaluate(run *r, rn_dataset *ds, int64_t batch, double *error_pct, int64_t *conf,
                    int32_t classes) {
    int64_t errors = 0, dims[4];
    rn_dataset_info(ds, dims, NULL);
    if (conf) memset(conf, 0, (size_t)classes * (size_t)classes * sizeof(int64_t));
    rn_status st = rn_evaluate(r->model, ds, batch, NULL, &errors, conf,
                               conf ? (size_t)classes * (size_t)classes : 0);
    if (st) return cli_lib_error(r->ctx, st, "evaluation");
    *error_pct = 100.0 * (double)errors / (double)dims[0];
    return CLI_EXIT_OK;
}

/* One rank's run (rank 0 of 1 without MPI). `engine` is the rn_mpi of
 * an MPI run, NULL otherwise: only rank 0 writes files and draws progress. */
static int train_run(train_opts o, void *engine, int32_t rank) {
    int rc;
    run r;
    memset(&r, 0, sizeof r);
    r.ctx = cli_context();
    if (!r.ctx) return CLI_EXIT_FAIL;
    rn_ctx *ctx = r.ctx;
    char outdir[2048], path[4096], desc[512];
    if (o.out)
        snprintf(outdir, sizeof outdir, "%s", o.out);
    else
        snprintf(outdir, sizeof outdir, "runs/%s-%s", o.arch.name, o.data);
    rc = cli_set_threads(ctx, o.threads);
    rn_status wst;
    if (!rc && (wst = rn_ctx_set_int(ctx, RN_OPT_WINOGRAD, o.winograd)) != RN_OK)
        rc = cli_lib_error(ctx, wst, "set RN_OPT_WINOGRAD");
    if (!rc && o.bf16 && (wst = rn_ctx_set_int(ctx, RN_OPT_TRAIN_BF16, 1)) != RN_OK)
        rc = cli_lib_error(ctx, wst, "--bf16");
    if (!rc) rc = setup_data(&r, &o);
    if (rc) {
        run_free(&r);
        return rc;
    }
    rn_dataset *train = r.train ? r.train : r.all;
    int64_t dims[4];
    int32_t classes;
    rn_dataset_info(train, dims, &classes);
    int64_t ntrain = dims[0];
    int64_t bpe = (ntrain + o.batch - 1) / o.batch;
    if (!o.epochs) {
        /* as many images as the paper's 64k iterations of 128 */
        o.epochs = (int64_t)llround(64000.0 * 128.0 / (double)ntrain);
        if (o.epochs < 1) o.epochs = 1;
    }
    o.arch.classes = classes;
    o.arch.in_channels = (int32_t)dims[3];
    rn_status st;
    rc = cli_create_model(ctx, &o.arch, &r.model);
    if (!rc && (st = rn_model_init(r.model, (uint64_t)o.seed)) != RN_OK)
        rc = cli_lib_error(ctx, st, "init");
    if (!rc && o.weights) {
        /* fine-tuning: every tensor that fits by name and shape, then the
         * initialised head back (a fresh head for this data's classes) */
        size_t nw = 0, nb = 0;
        int32_t idx, counts[3];
        int64_t dims[4];
        int32_t ndim;
        float *fw = NULL, *fb = NULL;
        static char report[1 << 14];
        if (rn_model_tensor_find(r.model, "fc.weight", &idx) == RN_OK) {
            rn_model_tensor_info(r.model, idx, NULL, &ndim, dims, NULL);
            nw = (size_t)(dims[0] * dims[1]);
            nb = (size_t)dims[0];
        }
        fw = malloc(nw * sizeof *fw);
        fb = malloc(nb * sizeof *fb);
        if (!fw || !fb) {
            cli_fail("out of memory");
            rc = CLI_EXIT_FAIL;
        }
        if (!rc && ((st = rn_model_get_tensor(r.model, "fc.weight", fw, nw)) != RN_OK ||
                    (st = rn_model_get_tensor(r.model, "fc.bias", fb, nb)) != RN_OK ||
                    (st = rn_model_load_safetensors_partial_file(r.model, o.weights, counts, report,
                                                                 sizeof report)) != RN_OK ||
                    (st = rn_model_set_tensor(r.model, "fc.weight", fw, nw)) != RN_OK ||
                    (st = rn_model_set_tensor(r.model, "fc.bias", fb, nb)) != RN_OK))
            rc = cli_lib_error(ctx, st, "--weights");
        if (!rc)
            printf("weights from %s: %d tensors loaded, %d skipped, %d kept; fresh head\n%s",
                   o.weights, (int)counts[0], (int)counts[1], (int)counts[2], report);
        free(fw);
        free(fb);
    }
    for (int32_t k = 0; !rc && k < o.nfreeze; k++)
        if ((st = rn_model_set_frozen(r.model, o.freeze[k], 1)) != RN_OK)
            rc = cli_lib_error(ctx, st, "--freeze");
    if (!rc && o.nfreeze) printf("frozen: parameters under %d prefix(es)\n", (int)o.nfreeze);
    if (!rc) {
        st = rn_sgd_create(r.model, &r.opt);
        if (!st) st = rn_optimizer_set_float(r.opt, RN_SGD_MOMENTUM, o.momentum);
        if (!st) st = rn_optimizer_set_float(r.opt, RN_SGD_WEIGHT_DECAY, o.wd);
        if (!st) st = rn_optimizer_set_int(r.opt, RN_SGD_NESTEROV, o.nesterov);
        if (!st) st = rn_optimizer_set_int(r.opt, RN_SGD_DECAY_ALL_PARAMS, o.decay_all);
        if (st) rc = cli_lib_error(ctx, st, "optimiser");
    }
    if (!rc && (st = rn_lr_schedule_create(ctx, o.lr, &r.sched)) != RN_OK)
        rc = cli_lib_error(ctx, st, "--lr");
    if (!rc) rc = build_schedule(ctx, &o, bpe, r.sched, desc, sizeof desc);
    if (!rc) {
        st = rn_trainer_create(r.model, r.opt, r.sched, train, &r.tr);
        if (!st) st = rn_trainer_set_int(r.tr, RN_TRAIN_BATCH, o.batch);
        if (!st) st = rn_trainer_set_int(r.tr, RN_TRAIN_SEED, o.seed);
        if (!st) st = rn_trainer_set_int(r.tr, RN_TRAIN_AUG_PAD, o.pad);
        if (!st) st = rn_trainer_set_int(r.tr, RN_TRAIN_AUG_FLIP, o.flip);
        if (!st) st = rn_trainer_set_int(r.tr, RN_TRAIN_SHARDS, o.shards);
        if (!st) st = rn_trainer_set_int(r.tr, RN_TRAIN_SYNC_BN, o.sync_bn);
#ifdef RN_WITH_MPI
        /* bit-identity needs the tree order only with synchronised BN */
        if (!st && engine) rn_mpi_set_ordered((rn_mpi *)engine, (int32_t)o.sync_bn);
        if (!st && engine) st = rn_mpi_attach((rn_mpi *)engine, r.tr);
#else
        (void)engine;
#endif
        if (st) rc = cli_lib_error(ctx, st, "trainer");
    }
    if (!rc && o.resume && (st = rn_checkpoint_load_file(r.tr, o.resume)) != RN_OK)
        rc = cli_lib_error(ctx, st, "--resume");
    if (!rc && rank == 0 && !make_dirs(outdir)) {
        cli_fail("--out %s: cannot create the directory: %s", outdir, strerror(errno));
        rc = CLI_EXIT_FAIL;
    }
    int64_t epoch = 0, step = 0, cursor = 0;
    rn_trainer_progress(r.tr, &epoch, &step, &cursor, NULL);
    if (!rc && rank == 0) {
        snprintf(path, sizeof path, "%s/log.csv", outdir);
        int append = o.resume && access(path, F_OK) == 0;
        r.log = fopen(path, append ? "a" : "w");
        if (!r.log) {
            cli_fail("%s: %s", path, strerror(errno));
            rc = CLI_EXIT_FAIL;
        } else if (!append) {
            fprintf(r.log, "epoch,lr,train_loss,train_error_pct,test_error_pct,seconds,"
                           "images_per_s,val_error_pct,iterations\n");
            fflush(r.log);
        }
    }
    if (rc) {
        run_free(&r);
        return rc;
    }
    int64_t nval = 0, ntest = 0;
    if (r.val) rn_dataset_info(r.val, dims, NULL), nval = dims[0];
    rn_dataset_info(r.test, dims, NULL);
    ntest = dims[0];
    printf("training %s on %s: %lld training, %lld validation, %lld test images\n", o.arch.name,
           o.data, (long long)ntrain, (long long)nval, (long long)ntest);
    printf("%lld epochs of %lld batches of %lld, lr %g %s, momentum %g, weight decay %g, "
           "%d threads\n",
           (long long)o.epochs, (long long)bpe, (long long)o.batch, o.lr, desc, o.momentum, o.wd,
           (int)o.threads);
    if (o.shards > 1 || o.sync_bn || engine) {
        int64_t ranks = engine ? 0 : 1;
#ifdef RN_WITH_MPI
        if (engine) ranks = rn_mpi_size((rn_mpi *)engine);
#endif
        printf("data-parallel: %lld rank%s of %lld images per batch, %lld shards, batch norm %s\n",
               (long long)ranks, ranks == 1 ? "" : "s", (long long)o.batch,
               (long long)(o.shards ? o.shards : ranks), o.sync_bn ? "synchronised" : "per rank");
    }
    if (o.resume)
        printf("resumed from %s after epoch %lld (iteration %lld)\n", o.resume, (long long)epoch,
               (long long)step);
    fflush(stdout);

    int64_t *conf = calloc((size_t)classes * (size_t)classes, sizeof(int64_t));
    double test_err = 100.0;
    int have_test = 0;
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", outdir);
    double comm_wait = 0, comm_bytes = 0; /* the engine's totals at the epoch's start */
    (void)comm_wait, (void)comm_bytes;
    while (epoch < o.epochs && rc == CLI_EXIT_OK) {
        double lr = 0;
        rn_trainer_lr(r.tr, &lr, NULL);
        cli_progress p;
        if (rank == 0) cli_progress_begin(&p, bpe);
        double t0 = cli_now();
        int64_t batches_run = 0;
        int32_t end = 0;
        while (!end) {
            float loss = 0;
            st = rn_trainer_step(r.tr, &loss, &end);
            if (st) break;
            batches_run++;
            int64_t cur = 0, seen = 0;
            rn_trainer_progress(r.tr, NULL, NULL, &cur, NULL);
            rn_trainer_epoch_stats(r.tr, NULL, NULL, &seen);
            if (end) cur = bpe;
            double dt = cli_now() - t0;
            double per_batch = dt / (double)batches_run;
            /* every step is a global batch: the rate is the job's */
            if (rank == 0)
                cli_progress_update(&p, epoch + 1, o.epochs, cur, loss,
                                    (double)batches_run * (double)o.batch / (dt > 0 ? dt : 1e-9),
                                    per_batch * (double)(bpe - cur));
        }
        if (rank == 0) cli_progress_end(&p);
        if (st == RN_E_NUMERIC) {
            cli_fail("%s", rn_last_error(ctx));
            if (rank == 0 && access(path, F_OK) == 0)
                fprintf(stderr, "resnet train: the last good checkpoint is %s (epoch %lld)\n", path,
                        (long long)epoch);
            rc = CLI_EXIT_DIVERGED;
            break;
        }
        if (st) {
            rc = cli_lib_error(ctx, st, "training");
#ifdef RN_WITH_MPI
            if (engine && st == RN_E_IO) cli_fail("%s", rn_mpi_last_error((rn_mpi *)engine));
#endif
            break;
        }
        double seconds = cli_now() - t0;
        double train_loss = 0;
        int64_t errors = 0, seen = 0;
        rn_trainer_epoch_stats(r.tr, &train_loss, &errors, &seen);
        rn_trainer_progress(r.tr, &epoch, &step, NULL, NULL);
        double ips = seen / (seconds > 0 ? seconds : 1e-9);
        double train_err = seen ? 100.0 * (double)errors / (double)seen : 0.0, val_err = -1;
        if (r.val && (rc = evaluate(&r, r.val, o.batch, &val_err, NULL, classes))) break;
        if ((rc = evaluate(&r, r.test, o.batch, &test_err, conf, classes))) break;
        have_test = 1;
#ifdef RN_WITH_MPI
        if (engine) {
            /* how much of the reduction the backward pass did not hide */
            double wait_s = 0, bytes = 0;
            rn_mpi_stats((rn_mpi *)engine, &wait_s, &bytes);
            printf("communication: %.1f MB reduced, %.2f s waited for (%.1f%% of the epoch's "
                   "training time)\n",
                   (bytes - comm_bytes) / 1e6, wait_s - comm_wait,
                   100.0 * (wait_s - comm_wait) / (seconds > 0 ? seconds : 1e-9));
            comm_wait = wait_s, comm_bytes = bytes;
        }
#endif
        printf("epoch %lld/%lld  lr %.4g  train loss %.4f  train err %.2f%%  ", (long long)epoch,
               (long long)o.epochs, lr, train_loss, train_err);
        if (r.val) printf("val err %.2f%%  ", val_err);
        printf("test err %.2f%%  %.1f s  %.0f img/s\n", test_err, seconds, ips);
        fflush(stdout);
        if (rank != 0) continue;
        fprintf(r.log, "%lld,%.9g,%.6f,%.4f,%.4f,%.3f,%.1f,", (long long)epoch, lr, train_loss,
                train_err, test_err, seconds, ips);
        if (r.val) fprintf(r.log, "%.4f", val_err);
        fprintf(r.log, ",%lld\n", (long long)step);
        fflush(r.log);
        if ((st = rn_checkpoint_save_file(r.tr, path)) != RN_OK)
            rc = cli_lib_error(ctx, st, "checkpoint");
    }
    if (rc == CLI_EXIT_OK && !have_test)
        rc = evaluate(&r, r.test, o.batch, &test_err, conf, classes);
    if (rc == CLI_EXIT_OK && rank == 0) {
        printf("test accuracy: %.2f%%\n", 100.0 - test_err);
        cli_print_confusion(stdout, conf, classes);
        snprintf(path, sizeof path, "%s/weights.safetensors", outdir);
        if ((st = rn_model_save_safetensors_file(r.model, path)) != RN_OK)
            rc = cli_lib_error(ctx, st, path);
        else
            printf("weights: %s\n", path);
        snprintf(path, sizeof path, "%s/normalization.safetensors", outdir);
        if (rc == CLI_EXIT_OK) rc = cli_save_normalization(ctx, train, path);
    }
    free(conf);
    run_free(&r);
    return rc;
}

int cmd_train(int argc, char **argv) {
    train_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
#ifdef RN_WITH_MPI
    if (rn_mpi_launched()) {
        rn_mpi *mpi = NULL;
        if (rn_mpi_create(NULL, NULL, NULL, o.mpi_timeout, &mpi) != RN_OK) {
            cli_fail("cannot start MPI");
            return CLI_EXIT_FAIL;
        }
        int32_t rank = rn_mpi_rank(mpi), ranks = rn_mpi_size(mpi);
        /* one voice: rank 0 prints, logs and writes every file */
        if (rank != 0 && !freopen("/dev/null", "w", stdout)) {
            cli_fail("rank %d: cannot silence stdout", (int)rank);
            rn_mpi_abort(mpi, CLI_EXIT_FAIL);
        }
        rc = train_run(o, mpi, rank);
        if (rc != CLI_EXIT_OK && ranks > 1) {
            /* the other ranks may be waiting on this one: end the job */
            fprintf(stderr, "resnet train: rank %d of %d failed (exit %d); ending the job\n",
                    (int)rank, (int)ranks, rc);
            fflush(stdout);
            fflush(stderr);
            rn_mpi_abort(mpi, rc);
        }
        rn_mpi_destroy(mpi);
        return rc;
    }
#endif
    return train_run(o, NULL, 0);
}

/*
 * The `resnet` program, run as a user would: every subcommand answers
 * --help with exit 0; bad usage exits 2 with a message naming the command;
 * missing or malformed files exit 1; `info` prints the exact parameter and
 * MAC counts of torchvision's models and of the paper's CIFAR networks
 * (tests/data/train/model_counts.txt, made by tests/gen/gen_train_fixtures.py
 * with PyTorch); init -> infer -> grad work together; and `train` on a tiny
 * CIFAR-10-format dataset written here runs end to end, resumes from its
 * checkpoint to bit-identical weights, and stops with exit 3 on divergence
 * leaving the last checkpoint as it was.
 *
 * The program is found through RN_RESNET_EXE (set by tests/CMakeLists.txt)
 * or beside the test's build directory.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>

#include "harness.h"
#include "resnet.h"
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char exe[1024];
static char tmpdir[256];
static char out_text[1 << 16];

/* Run `resnet ARGS`, capturing stdout and stderr; returns the exit status. */
static int run(const char *fmt, ...) {
    char args[4096], cmd[8192], outfile[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(outfile, sizeof outfile, "%s/out.txt", tmpdir);
    snprintf(cmd, sizeof cmd, "'%s' %s > '%s' 2>&1", exe, args, outfile);
    int st = system(cmd);
    out_text[0] = '\0';
    FILE *f = fopen(outfile, "r");
    if (f) {
        size_t n = fread(out_text, 1, sizeof out_text - 1, f);
        out_text[n] = '\0';
        fclose(f);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define CHECK_RUN(want, ...)                                                                    \
    do {                                                                                        \
        int rc_ = run(__VA_ARGS__);                                                             \
        if (rc_ != (want)) {                                                                    \
            fprintf(stderr, "  %s:%d: exit %d, expected %d; output:\n%s\n", __FILE__, __LINE__, \
                    rc_, (want), out_text);                                                     \
            rn_test_failed_checks++;                                                            \
        }                                                                                       \
    } while (0)

#define CHECK_OUTPUT_HAS(text)                                                                 \
    do {                                                                                       \
        if (!strstr(out_text, (text))) {                                                       \
            fprintf(stderr, "  %s:%d: output lacks \"%s\":\n%s\n", __FILE__, __LINE__, (text), \
                    out_text);                                                                 \
            rn_test_failed_checks++;                                                           \
        }                                                                                      \
    } while (0)

static const char *tmp(const char *name) {
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static int same_file(const char *a, const char *b) {
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    while (same) {
        int x = fgetc(fa), y = fgetc(fb);
        if (x != y) same = 0;
        if (x == EOF || y == EOF) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

static void test_every_subcommand_answers_help(void) {
    const char *cmds[] = {"info",  "init", "infer", "export",  "grad",
                          "train", "eval", "bench", "quantize"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        CHECK_RUN(0, "%s --help", cmds[i]);
        char want[64];
        snprintf(want, sizeof want, "usage: resnet %s", cmds[i]);
        CHECK_OUTPUT_HAS(want);
    }
    CHECK_RUN(0, "--help");
    CHECK_OUTPUT_HAS("commands:");
    CHECK_RUN(0, "--version");
    CHECK_OUTPUT_HAS(rn_version_string());
}

static void test_bad_usage_exits_2_with_a_message(void) {
    CHECK_RUN(2, "");
    CHECK_RUN(2, "frobnicate");
    CHECK_OUTPUT_HAS("unknown command 'frobnicate'");
    CHECK_RUN(2, "info");
    CHECK_OUTPUT_HAS("resnet info: missing ARCH");
    CHECK_RUN(2, "info resnet21");
    CHECK_OUTPUT_HAS("unknown architecture 'resnet21'");
    CHECK_RUN(2, "info resnet20 --frobnicate");
    CHECK_OUTPUT_HAS("unknown option '--frobnicate'");
    CHECK_RUN(2, "info resnet20 --size 0x5");
    CHECK_RUN(2, "info resnet20 --classes");
    CHECK_OUTPUT_HAS("needs a value");
    CHECK_RUN(2, "info resnet20 --shortcut D");
    CHECK_RUN(2, "init resnet20");
    CHECK_OUTPUT_HAS("missing -o");
    CHECK_RUN(2, "init resnet20 -o x --seed -4");
    CHECK_RUN(2, "infer resnet20 --weights w");
    CHECK_RUN(2, "infer resnet20 --weights w --input x --output y --layout nwhc");
    CHECK_RUN(2, "grad resnet20 --weights w --input x");
    CHECK_RUN(2, "train resnet20");
    CHECK_OUTPUT_HAS("missing --data");
    CHECK_RUN(2, "train resnet20 --data imagenet");
    CHECK_OUTPUT_HAS("unknown dataset 'imagenet'");
    CHECK_RUN(2, "train resnet20 --data cifar10 --epochs 0");
    CHECK_OUTPUT_HAS("--epochs");
    CHECK_RUN(2, "train resnet20 --data cifar10 --batch many");
    CHECK_OUTPUT_HAS("not an integer");
    CHECK_RUN(2, "train resnet20 --data cifar10 --lr -1");
    CHECK_RUN(2, "train nosuchnet --data cifar10");
    CHECK_RUN(2, "eval resnet20 --data cifar10");
    CHECK_RUN(2, "bench resnet20 --batch 0");
    CHECK_RUN(2, "bench resnet20 --seconds x");
    CHECK_RUN(2, "bench resnet20 --train --fold");
    CHECK_OUTPUT_HAS("--fold is for inference");
}

static void test_missing_or_malformed_files_exit_1(void) {
    CHECK_RUN(1, "infer resnet20 --weights %s --input %s --output %s", tmp("absent.safetensors"),
              tmp("x.npy"), tmp("y.npy"));
    CHECK_OUTPUT_HAS("absent.safetensors");
    FILE *f = fopen(tmp("garbage.safetensors"), "wb");
    fputs("this is not a safetensors file at all", f);
    fclose(f);
    CHECK_RUN(1, "infer resnet20 --weights %s --input %s --output %s", tmp("garbage.safetensors"),
              tmp("x.npy"), tmp("y.npy"));
    CHECK_RUN(1, "eval resnet20 --weights %s --data fashion-mnist --data-dir %s",
              tmp("garbage.safetensors"), tmp("no-such-dir"));
    CHECK_RUN(1, "train resnet20 --data cifar10 --data-dir %s --epochs 1", tmp("no-such-dir"));
    CHECK_OUTPUT_HAS("data_batch_1.bin");
}

/* The counts of every preset in a listing "arch H W parameters MACs"; the
 * number of rows checked. */
static int check_counts_listing(const char *file) {
    char path[512], line[256];
    snprintf(path, sizeof path, "%s/%s", RN_TEST_DATA_DIR, file);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    int checked = 0;
    while (f && fgets(line, sizeof line, f)) {
        char arch[64];
        long long h, w, params, macs;
        if (line[0] == '#' ||
            sscanf(line, "%63s %lld %lld %lld %lld", arch, &h, &w, &params, &macs) != 5)
            continue;
        CHECK_RUN(0, "info %s --size %lldx%lld", arch, h, w);
        char want[128];
        snprintf(want, sizeof want, "total parameters: %lld (", params);
        CHECK_OUTPUT_HAS(want);
        snprintf(want, sizeof want, "total MACs: %lld (", macs);
        CHECK_OUTPUT_HAS(want);
        checked++;
    }
    if (f) fclose(f);
    return checked;
}

static void test_info_prints_the_exact_parameter_and_mac_counts(void) {
    /* torchvision's and the paper's networks (tests/gen/gen_train_fixtures.py)
     * and resnet8 (tests/gen/gen_resnet8_fixtures.py), counted by PyTorch */
    CHECK(check_counts_listing("train/model_counts.txt") == 15);
    CHECK(check_counts_listing("nn/resnet8_counts.txt") == 1);
    /* the v1 bottleneck (stride on the first 1x1): ResNet-50 as the paper's
     * Table 1 (3.8 x 10^9) and ncnn's model count it, the weights of torchvision's */
    CHECK_RUN(0, "info resnet50v1");
    CHECK_OUTPUT_HAS("total MACs: 3857973248 (");
    CHECK_OUTPUT_HAS("total parameters: 25557032 (");
    /* thousands separators, and a per-layer row */
    CHECK_RUN(0, "info resnet20");
    CHECK_OUTPUT_HAS("(269,722)");
    CHECK_OUTPUT_HAS("layer3.2");
    CHECK_RUN(0, "info resnet18 --classes 10 --in-channels 1 --size 28");
    CHECK_OUTPUT_HAS("10 x 1 x 1");
}

/* bench --layers finds every convolution from the model alone: the paper's
 * ResNet-20 has 6n + 1 = 19 (n = 3), ResNet-50 49 plus 4 projections = 53,
 * and torchvision's v1.5 bottleneck (the preset) strides its 3x3 conv2.
 * Width 4 keeps it quick; no time is checked. */
static void test_bench_layers_lists_every_convolution_with_its_stride(void) {
    CHECK_RUN(0, "bench resnet20 --width 4 --batch 2 --seconds 0 --threads 1 --train --layers");
    CHECK_OUTPUT_HAS("the 19 convolutions of the model");
    CHECK_OUTPUT_HAS("2x32x32x4>8 3x3 s2"); /* layer2.0.conv1 */
    /* and the plan's algorithm per pass: a stride-2 window takes im2col in
     * both backward passes, 8 output channels keep it off the taps */
    CHECK_OUTPUT_HAS("indirect-gemm / im2col-gemm / im2col-gemm");
    CHECK_OUTPUT_HAS("peak RSS above the weights: ");
    CHECK_RUN(0, "bench resnet50 --width 4 --size 64 --seconds 0 --threads 1 --layers");
    CHECK_OUTPUT_HAS("the 53 convolutions of the model");
    CHECK_OUTPUT_HAS("1x16x16x8>8 3x3 s2");   /* layer2.0.conv2 */
    CHECK_OUTPUT_HAS("1x16x16x16>32 1x1 s2"); /* layer2.0.downsample.0 */
    CHECK_OUTPUT_HAS("packed-indirect");      /* 64 output pixels: packed once */
    CHECK_RUN(0, "bench resnet20 --width 4 --seconds 0 --threads 1 --fold");
    CHECK_OUTPUT_HAS("inference, batch 1, 32x32, 1 threads, kernels ");
    CHECK_OUTPUT_HAS(", batch norms folded");
    CHECK_RUN(0, "bench resnet20 --width 4 --seconds 0 --threads 1 --fold --packed");
    CHECK_OUTPUT_HAS(", batch norms folded, weights packed for inference");
    CHECK_RUN(2, "bench resnet20 --train --packed");
    CHECK_OUTPUT_HAS("--packed is for float inference");
}

static void test_init_infer_and_grad_work_together(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    CHECK_RUN(0, "init resnet20 --width 4 --classes 5 --seed 7 -o %s", tmp("w.safetensors"));
    /* 3 images, NCHW and the same in NHWC */
    enum { N = 3, C = 3, H = 12, W = 10 };
    static float x[N * C * H * W], xh[N * H * W * C];
    rn_test_fill_uniform(x, N * C * H * W, -1, 1);
    CHECK_OK(rn_nchw_to_nhwc(x, xh, N, C, H, W), ctx);
    int64_t d1[4] = {N, C, H, W}, d2[4] = {N, H, W, C}, dl[1] = {N};
    int64_t labels[N] = {4, 0, 2};
    CHECK_OK(rn_npy_write_file(ctx, tmp("x.npy"), RN_DTYPE_F32, 4, d1, x), ctx);
    CHECK_OK(rn_npy_write_file(ctx, tmp("xh.npy"), RN_DTYPE_F32, 4, d2, xh), ctx);
    CHECK_OK(rn_npy_write_file(ctx, tmp("l.npy"), RN_DTYPE_I64, 1, dl, labels), ctx);
    CHECK_RUN(0, "infer resnet20 --weights %s --input %s --output %s --threads 1 --batch 2",
              tmp("w.safetensors"), tmp("x.npy"), tmp("y.npy"));
    CHECK_RUN(0, "infer resnet20 --weights %s --input %s --output %s --layout nhwc --fold",
              tmp("w.safetensors"), tmp("xh.npy"), tmp("yh.npy"));
    CHECK_RUN(0, "infer resnet20 --weights %s --input %s --output %s --fold --packed",
              tmp("w.safetensors"), tmp("x.npy"), tmp("yp.npy"));
    int32_t dtype, ndim;
    int64_t dims[8];
    CHECK_OK(rn_npy_info_file(ctx, tmp("y.npy"), &dtype, &ndim, dims), ctx);
    CHECK(dtype == RN_DTYPE_F32 && ndim == 2 && dims[0] == N && dims[1] == 5);
    float y[N * 5], yh[N * 5], yp[N * 5], want[N * 5];
    CHECK_OK(rn_npy_read_file(ctx, tmp("y.npy"), RN_DTYPE_F32, y, N * 5), ctx);
    CHECK_OK(rn_npy_read_file(ctx, tmp("yh.npy"), RN_DTYPE_F32, yh, N * 5), ctx);
    CHECK_OK(rn_npy_read_file(ctx, tmp("yp.npy"), RN_DTYPE_F32, yp, N * 5), ctx);
    /* the same weights through the library directly */
    rn_model *m = NULL;
    rn_plan *p = NULL;
    CHECK_OK(rn_model_create_preset(ctx, "resnet20", 5, 3, RN_SHORTCUT_DEFAULT, 4, 0, &m), ctx);
    CHECK_OK(rn_model_load_safetensors_file(m, tmp("w.safetensors")), ctx);
    CHECK_OK(rn_plan_create(m, N, H, W, RN_MODE_INFER, &p), ctx);
    CHECK_OK(rn_plan_forward(p, x, sizeof x / sizeof x[0], RN_LAYOUT_NCHW, want, N * 5), ctx);
    for (int i = 0; i < N * 5; i++) {
        CHECK_CLOSE(y[i], want[i], 1e-5);
        CHECK_CLOSE(yh[i], want[i], 1e-4); /* folded BN: another rounding */
        CHECK_CLOSE(yp[i], want[i], 1e-4); /* folded and packed */
    }
    rn_plan_destroy(p);
    /* grad: every parameter and the loss */
    CHECK_RUN(0, "grad resnet20 --weights %s --input %s --labels %s --output %s",
              tmp("w.safetensors"), tmp("x.npy"), tmp("l.npy"), tmp("g.safetensors"));
    rn_safetensors *st = NULL;
    CHECK_OK(rn_safetensors_open_file(ctx, tmp("g.safetensors"), &st), ctx);
    int32_t nparams = 0, idx;
    for (int32_t i = 0; i < rn_model_tensor_count(m); i++) {
        const char *name;
        int32_t kind;
        rn_model_tensor_info(m, i, &name, NULL, NULL, &kind);
        if (kind != RN_TENSOR_PARAM) continue;
        nparams++;
        CHECK_OK(rn_safetensors_find(st, name, &idx), ctx);
    }
    CHECK(rn_safetensors_count(st) == nparams + 1);
    float loss = -1;
    CHECK_OK(rn_safetensors_find(st, "loss", &idx), ctx);
    CHECK_OK(rn_safetensors_read_f32(st, idx, &loss, 1), ctx);
    CHECK(loss > 0 && loss < 10);
    rn_safetensors_close(st);
    /* labels out of range and a wrong channel count are refused */
    labels[1] = 5;
    CHECK_OK(rn_npy_write_file(ctx, tmp("lbad.npy"), RN_DTYPE_I64, 1, dl, labels), ctx);
    CHECK_RUN(1, "grad resnet20 --weights %s --input %s --labels %s --output %s",
              tmp("w.safetensors"), tmp("x.npy"), tmp("lbad.npy"), tmp("g2.safetensors"));
    CHECK_OUTPUT_HAS("label 1 is 5");
    CHECK_RUN(1, "infer resnet20 --weights %s --input %s --output %s --layout nhwc",
              tmp("w.safetensors"), tmp("x.npy"), tmp("y2.npy"));
    CHECK_OUTPUT_HAS("channels");
    rn_model_destroy(m);
    rn_ctx_destroy(ctx);
}

/* A CIFAR-10 binary dataset: records of a label byte and 3 planes of 32x32,
 * the class drawn as a bright quadrant over noise. */
static void write_cifar(const char *dir) {
    mkdir(dir, 0777);
    const char *files[6] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                            "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};
    rn_test_rng_state = 99;
    for (int f = 0; f < 6; f++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", dir, files[f]);
        FILE *out = fopen(path, "wb");
        for (int r = 0; r < 12; r++) {
            unsigned char rec[3073];
            int label = (f * 12 + r) % 4;
            rec[0] = (unsigned char)label;
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < 32; y++)
                    for (int x = 0; x < 32; x++) {
                        int q = (y >= 16) * 2 + (x >= 16);
                        rec[1 + c * 1024 + y * 32 + x] =
                            (unsigned char)(60 * rn_test_uniform() + (q == label ? 150 : 20));
                    }
            fwrite(rec, 1, sizeof rec, out);
        }
        fclose(out);
    }
}

static void test_train_runs_end_to_end_and_resumes_bit_identically(void) {
    const char *data = tmp("cifar");
    char datadir[512];
    snprintf(datadir, sizeof datadir, "%s", data);
    write_cifar(datadir);
    const char *common =
        "resnet20 --width 4 --data cifar10 --batch 8 --threads 1 --schedule step:2 "
        "--val 12 --seed 3";
    CHECK_RUN(0, "train %s --data-dir %s --epochs 3 --out %s", common, datadir, tmp("straight"));
    CHECK_OUTPUT_HAS("test accuracy: ");
    CHECK_OUTPUT_HAS("confusion matrix");
    CHECK_OUTPUT_HAS("epoch 3/3");
    /* the log: a header and one row per epoch */
    char path[600], line[512];
    snprintf(path, sizeof path, "%s/log.csv", tmp("straight"));
    FILE *f = fopen(path, "r");
    int rows = 0;
    while (f && fgets(line, sizeof line, f)) rows++;
    if (f) fclose(f);
    CHECK(rows == 4);
    /* interrupted after epoch 1, resumed with the same arguments */
    CHECK_RUN(0, "train %s --data-dir %s --epochs 1 --out %s", common, datadir, tmp("resumed"));
    char ckpt[600];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", tmp("resumed"));
    CHECK_RUN(0, "train %s --data-dir %s --epochs 3 --out %s --resume %s", common, datadir,
              tmp("resumed"), ckpt);
    CHECK_OUTPUT_HAS("resumed from");
    char wa[600], wb[600];
    snprintf(wa, sizeof wa, "%s/weights.safetensors", tmp("straight"));
    snprintf(wb, sizeof wb, "%s/weights.safetensors", tmp("resumed"));
    CHECK(same_file(wa, wb));
    /* the weights serve `resnet infer` and `resnet eval` */
    CHECK_RUN(0, "eval resnet20 --width 4 --weights %s --data cifar10 --data-dir %s", wa, datadir);
    CHECK_OUTPUT_HAS("test accuracy: ");
    CHECK_RUN(0, "eval resnet20 --weights %s --data cifar10 --data-dir %s", ckpt, datadir);
    CHECK_OUTPUT_HAS("test accuracy: ");
    /* int8: quantize the trained weights, then eval, infer and bench the int8 file */
    char q8[600], x8[600], y8[600];
    mkdir(tmp("int8"), 0755);
    snprintf(q8, sizeof q8, "%s/q.safetensors", tmp("int8"));
    snprintf(x8, sizeof x8, "%s/x.npy", tmp("int8"));
    snprintf(y8, sizeof y8, "%s/y.npy", tmp("int8"));
    CHECK_RUN(0,
              "quantize resnet20 --width 4 --weights %s --data cifar10 --data-dir %s --calib 20 "
              "--batch 8 --threads 1 -o %s",
              wa, datadir, q8);
    CHECK_OUTPUT_HAS("quantized resnet20: percentile 99.99 over 20 images");
    CHECK_OUTPUT_HAS("normalization.safetensors");
    CHECK_RUN(0, "eval resnet20 --weights %s --data cifar10 --data-dir %s --threads 1", q8,
              datadir);
    CHECK_OUTPUT_HAS("test accuracy: ");
    CHECK_RUN(0,
              "quantize resnet20 --width 4 --weights %s --data cifar10 --data-dir %s --calib 20 "
              "--method percentile --percentile 99.9 -o %s",
              wa, datadir, q8);
    CHECK_OUTPUT_HAS("percentile 99.9 over 20 images");
    {
        rn_ctx *ctx = NULL;
        rn_model *q = NULL;
        rn_plan *p = NULL;
        rn_ctx_create(&ctx);
        static float x[2 * 3 * 32 * 32], want[20], got[20];
        for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) x[i] = (float)((int)(i % 17) - 8) / 5;
        int64_t xd[4] = {2, 3, 32, 32}, yd[8];
        int32_t dt, nd;
        CHECK_OK(rn_npy_write_file(ctx, x8, RN_DTYPE_F32, 4, xd, x), ctx);
        CHECK_RUN(0, "infer resnet20 --weights %s --input %s --output %s --threads 2", q8, x8, y8);
        CHECK_OK(rn_model_load_int8_file(ctx, q8, &q), ctx);
        CHECK_OK(rn_plan_create(q, 2, 32, 32, RN_MODE_INFER, &p), ctx);
        CHECK_OK(rn_plan_forward(p, x, sizeof x / sizeof x[0], RN_LAYOUT_NCHW, want, 20), ctx);
        CHECK_OK(rn_npy_info_file(ctx, y8, &dt, &nd, yd), ctx);
        CHECK(nd == 2 && yd[0] == 2 && yd[1] == 10);
        CHECK_OK(rn_npy_read_file(ctx, y8, RN_DTYPE_F32, got, 20), ctx);
        CHECK(memcmp(got, want, sizeof got) == 0);
        rn_plan_destroy(p);
        rn_model_destroy(q);
        rn_ctx_destroy(ctx);
    }
    {
        /* a normalization.safetensors of other contents beside Q: refused before
         * any work, Q not written (eval of Q would read that file) */
        char other[600], qo[600];
        mkdir(tmp("int8-other"), 0755);
        snprintf(other, sizeof other, "%s/normalization.safetensors", tmp("int8-other"));
        snprintf(qo, sizeof qo, "%s/q.safetensors", tmp("int8-other"));
        FILE *f = fopen(other, "wb");
        CHECK(f != NULL);
        if (f) {
            fputs("not this run's normalisation", f);
            fclose(f);
        }
        CHECK_RUN(1,
                  "quantize resnet20 --width 4 --weights %s --data cifar10 --data-dir %s "
                  "--calib 20 --batch 8 --threads 1 -o %s",
                  wa, datadir, qo);
        CHECK_OUTPUT_HAS("already holds another normalisation");
        CHECK(access(qo, F_OK) != 0);
    }
    CHECK_RUN(2,
              "quantize resnet20 --weights %s --data cifar10 --data-dir %s --method median -o %s",
              wa, datadir, q8);
    CHECK_OUTPUT_HAS("--method");
    CHECK_RUN(1, "quantize resnet20 --weights %s --data cifar10 --data-dir %s -o %s", q8, datadir,
              tmp("again.safetensors"));
    CHECK_OUTPUT_HAS("already an int8 model");
    {
        /* a truncated int8 file is refused by eval */
        FILE *in = fopen(q8, "rb"), *out = fopen(tmp("cut.safetensors"), "wb");
        char buf[4096];
        size_t n = in ? fread(buf, 1, sizeof buf, in) : 0;
        if (out) fwrite(buf, 1, n / 2, out), fclose(out);
        if (in) fclose(in);
    }
    CHECK_RUN(1, "eval resnet20 --weights %s --data cifar10 --data-dir %s", tmp("cut.safetensors"),
              datadir);
    CHECK_RUN(0, "bench resnet20 --width 4 --int8 --seconds 0 --threads 1");
    CHECK_OUTPUT_HAS(", int8");
    CHECK_OUTPUT_HAS("int8 scales: calibrated on 2 random batches (no --data)");
    /* resnet20 at width 4: 3*9*4 + 6*4*4*9 + (4*8 + 5*8*8)*9 + (8*16 + 5*16*16)*9 */
    CHECK_OUTPUT_HAS("the int8 model's file: 16,812 int8 convolution weights");
    CHECK_RUN(0,
              "bench resnet20 --width 4 --int8 --data cifar10 --data-dir %s --calib 8 "
              "--seconds 0 --threads 1",
              datadir);
    CHECK_OUTPUT_HAS("int8 scales: calibrated (max) on the first 8 cifar10 training images");
    CHECK_RUN(2, "bench resnet20 --int8 --train --seconds 0");
    CHECK_RUN(2, "bench resnet20 --data cifar10 --seconds 0");
    CHECK_OUTPUT_HAS("add --int8");
    CHECK_RUN(2, "bench resnet20 --int8 --data cifar10 --data-dir %s --size 28x28 --seconds 0",
              datadir);
    CHECK_OUTPUT_HAS("the cifar10 images are 32x32");
    /* fine-tuning: start from the trained weights, stem and layer1 frozen */
    CHECK_RUN(0,
              "train %s --data-dir %s --epochs 1 --out %s --weights %s --freeze conv1. "
              "--freeze bn1. --freeze layer1.",
              common, datadir, tmp("tuned"), wa);
    CHECK_OUTPUT_HAS("tensors loaded, 0 skipped, 0 kept; fresh head");
    CHECK_OUTPUT_HAS("frozen: parameters under 3 prefix(es)");
    {
        char wt[600];
        snprintf(wt, sizeof wt, "%s/weights.safetensors", tmp("tuned"));
        rn_ctx *c = NULL;
        rn_model *ma = NULL, *mt = NULL;
        CHECK_OK(rn_ctx_create(&c), c);
        CHECK_OK(rn_model_create_preset(c, "resnet20", 10, 3, RN_SHORTCUT_DEFAULT, 4, 0, &ma), c);
        CHECK_OK(rn_model_create_preset(c, "resnet20", 10, 3, RN_SHORTCUT_DEFAULT, 4, 0, &mt), c);
        CHECK_OK(rn_model_load_safetensors_file(ma, wa), c);
        CHECK_OK(rn_model_load_safetensors_file(mt, wt), c);
        static float a1[4 * 3 * 9], t1[4 * 3 * 9], a2[16 * 16 * 9], t2[16 * 16 * 9];
        CHECK_OK(rn_model_get_tensor(ma, "conv1.weight", a1, 108), c);
        CHECK_OK(rn_model_get_tensor(mt, "conv1.weight", t1, 108), c);
        CHECK(memcmp(a1, t1, sizeof a1) == 0); /* frozen */
        CHECK_OK(rn_model_get_tensor(ma, "layer3.1.conv1.weight", a2, 2304), c);
        CHECK_OK(rn_model_get_tensor(mt, "layer3.1.conv1.weight", t2, 2304), c);
        CHECK(memcmp(a2, t2, sizeof a2) != 0); /* trained */
        rn_model_destroy(ma);
        rn_model_destroy(mt);
        rn_ctx_destroy(c);
    }
    CHECK_RUN(1, "train %s --data-dir %s --epochs 1 --out %s --freeze layer9.", common, datadir,
              tmp("bad"));
    /* a resume with other data settings is refused */
    CHECK_RUN(1, "train %s --data-dir %s --epochs 3 --out %s --resume %s --batch 4", common,
              datadir, tmp("other"), ckpt);
    CHECK_OUTPUT_HAS("batch size");
}

static void test_divergence_exits_3_naming_the_step_and_keeps_the_checkpoint(void) {
    const char *data = tmp("cifar");
    char datadir[512];
    snprintf(datadir, sizeof datadir, "%s", data);
    write_cifar(datadir);
    const char *common = "resnet20 --width 4 --data cifar10 --batch 8 --threads 1 --seed 1";
    CHECK_RUN(0, "train %s --data-dir %s --epochs 1 --out %s", common, datadir, tmp("div"));
    char ckpt[600], copy[600];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", tmp("div"));
    snprintf(copy, sizeof copy, "%s/before.safetensors", tmpdir);
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", ckpt, copy);
    CHECK(system(cmd) == 0);
    CHECK_RUN(3, "train %s --data-dir %s --epochs 3 --lr 1000000 --out %s --resume %s", common,
              datadir, tmp("div"), ckpt);
    CHECK_OUTPUT_HAS("step ");
    CHECK_OUTPUT_HAS("the last good checkpoint is");
    CHECK(same_file(ckpt, copy));
}

/* export --c-array: the C file holds the blob's bytes (parsed back here), and
 * a model over them gives PyTorch's float64 logits for resnet8's fixture. */
static void test_export_c_array_holds_a_blob_that_infers_like_pytorch(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
    CHECK_RUN(0,
              "export resnet8 --weights %s/firmware/resnet8.safetensors --c-array --name fw8 "
              "-o %s",
              RN_TEST_DATA_DIR, tmp("m.c"));
    FILE *f = fopen(tmp("m.c"), "r");
    CHECK(f != NULL);
    size_t cap = 1 << 20, n = 0, declared = 0;
    unsigned char *bytes = (unsigned char *)malloc(cap);
    char line[256];
    int in_array = 0, has_const = 0, has_pointer = 0;
    while (f && fgets(line, sizeof line, f)) {
        if (strstr(line, "static const union")) has_const = 1;
        if (strstr(line, "const unsigned char *const fw8 = fw8_storage.bytes;")) has_pointer = 1;
        if (sscanf(line, "const size_t fw8_size = %zu;", &declared) == 1) continue;
        if (strstr(line, "fw8_storage = {{")) {
            in_array = 1;
            continue;
        }
        if (strncmp(line, "}};", 3) == 0) in_array = 0;
        if (!in_array) continue;
        for (char *p = strstr(line, "0x"); p && n < cap; p = strstr(p + 2, "0x"))
            bytes[n++] = (unsigned char)strtoul(p, NULL, 16);
    }
    if (f) fclose(f);
    CHECK(has_const && has_pointer);
    CHECK(n == declared && n > 78042 * 4);
    rn_model *m = NULL;
    CHECK_OK(rn_model_create_from_blob(ctx, bytes, n, RN_BLOB_NO_DERIVED, &m), ctx);
    float x[4 * 3 * 32 * 32], y[40], want[40];
    CHECK_OK(rn_npy_read_file(ctx, RN_TEST_DATA_DIR "/firmware/resnet8_images.npy", RN_DTYPE_F32, x,
                              sizeof x / sizeof x[0]),
             ctx);
    CHECK_OK(rn_npy_read_file(ctx, RN_TEST_DATA_DIR "/firmware/resnet8_logits.npy", RN_DTYPE_F32,
                              want, 40),
             ctx);
    rn_plan *plan = NULL;
    if (m) CHECK_OK(rn_plan_create(m, 4, 32, 32, RN_MODE_INFER, &plan), ctx);
    if (plan)
        CHECK_OK(rn_plan_forward(plan, x, sizeof x / sizeof x[0], RN_LAYOUT_NCHW, y, 40), ctx);
    double big = 0;
    for (int i = 0; i < 40; i++) big = fmax(big, fabs(want[i]));
    for (int i = 0; plan && i < 40; i++) CHECK(fabs(y[i] - want[i]) <= 1e-5 * big);
    rn_plan_destroy(plan);
    /* a file that is already a blob goes into the array byte for byte */
    CHECK_OK(rn_model_save_blob_file(m, tmp("b.safetensors")), ctx);
    CHECK_RUN(0, "export resnet8 --weights %s --c-array --name fw8 -o %s", tmp("b.safetensors"),
              tmp("m3.c"));
    CHECK_OUTPUT_HAS("as it is");
    f = fopen(tmp("m3.c"), "r");
    size_t n3 = 0;
    unsigned char *bytes3 = (unsigned char *)malloc(cap);
    in_array = 0;
    while (f && fgets(line, sizeof line, f)) {
        if (strstr(line, "fw8_storage = {{")) {
            in_array = 1;
            continue;
        }
        if (strncmp(line, "}};", 3) == 0) in_array = 0;
        if (!in_array) continue;
        for (char *p = strstr(line, "0x"); p && n3 < cap; p = strstr(p + 2, "0x"))
            bytes3[n3++] = (unsigned char)strtoul(p, NULL, 16);
    }
    if (f) fclose(f);
    CHECK(n3 == n && memcmp(bytes3, bytes, n) == 0);
    free(bytes3);
    rn_model_destroy(m);
    free(bytes);
    /* one format at a time, and a C name */
    CHECK_RUN(2, "export resnet8 --weights %s/firmware/resnet8.safetensors --c-array --onnx -o %s",
              RN_TEST_DATA_DIR, tmp("m2.c"));
    CHECK_RUN(2,
              "export resnet8 --weights %s/firmware/resnet8.safetensors --c-array --name 9x "
              "-o %s",
              RN_TEST_DATA_DIR, tmp("m2.c"));
    CHECK_OUTPUT_HAS("C identifier");
    rn_ctx_destroy(ctx);
}

/* infer MODEL.onnx: a graph torch.onnx.export wrote, against PyTorch's float64 logits. */
static void test_infer_reads_an_onnx_graph(void) {
    rn_ctx *ctx = NULL;
    CHECK_OK(rn_ctx_create(&ctx), ctx);
#define ONNX_CASE RN_TEST_DATA_DIR "/onnx/cifar20a_w2_folded_op13"
    CHECK_RUN(0, "infer %s.onnx --input %s_input.npy --output %s", ONNX_CASE, ONNX_CASE,
              tmp("onnx_y.npy"));
    float y[2 * 10], want[2 * 10];
    CHECK_OK(rn_npy_read_file(ctx, tmp("onnx_y.npy"), RN_DTYPE_F32, y, 20), ctx);
    CHECK_OK(rn_npy_read_file(ctx, ONNX_CASE "_logits.npy", RN_DTYPE_F32, want, 20), ctx);
    double big = 0;
    for (int i = 0; i < 20; i++) big = fmax(big, fabs(want[i]));
    for (int i = 0; i < 20; i++) CHECK(fabs(y[i] - want[i]) <= 1e-4 * big);
    CHECK_RUN(2, "infer %s.onnx --weights w --input a --output b", ONNX_CASE);
    CHECK_OUTPUT_HAS("carries its weights");
    CHECK_RUN(1, "infer %s --input %s_input.npy --output %s", tmp("absent.onnx"), ONNX_CASE,
              tmp("onnx_y.npy"));
    CHECK_OUTPUT_HAS("absent.onnx");
    /* export --onnx, then the graph infers what the safetensors weights do */
    CHECK_RUN(0, "init resnet20 --width 4 --classes 10 --seed 5 -o %s", tmp("e.safetensors"));
    CHECK_RUN(0, "export resnet20 --weights %s --onnx -o %s", tmp("e.safetensors"), tmp("e.onnx"));
    CHECK_RUN(0, "infer %s --input %s_input.npy --output %s", tmp("e.onnx"), ONNX_CASE,
              tmp("e_onnx.npy"));
    CHECK_RUN(0, "infer resnet20 --weights %s --input %s_input.npy --output %s",
              tmp("e.safetensors"), ONNX_CASE, tmp("e_st.npy"));
    CHECK_OK(rn_npy_read_file(ctx, tmp("e_onnx.npy"), RN_DTYPE_F32, y, 20), ctx);
    CHECK_OK(rn_npy_read_file(ctx, tmp("e_st.npy"), RN_DTYPE_F32, want, 20), ctx);
    CHECK(memcmp(y, want, sizeof y) == 0);
    CHECK_RUN(2, "export resnet20 --weights %s -o %s", tmp("e.safetensors"), tmp("e2.onnx"));
    CHECK_OUTPUT_HAS("--onnx");
#undef ONNX_CASE
    rn_ctx_destroy(ctx);
}

static const rn_test_case cases[] = {
    {"infer_reads_an_onnx_graph", test_infer_reads_an_onnx_graph},
    {"every_subcommand_answers_help", test_every_subcommand_answers_help},
    {"bad_usage_exits_2_with_a_message", test_bad_usage_exits_2_with_a_message},
    {"missing_or_malformed_files_exit_1", test_missing_or_malformed_files_exit_1},
    {"export_c_array_holds_a_blob_that_infers_like_pytorch",
     test_export_c_array_holds_a_blob_that_infers_like_pytorch},
    {"info_prints_the_exact_parameter_and_mac_counts",
     test_info_prints_the_exact_parameter_and_mac_counts},
    {"bench_layers_lists_every_convolution_with_its_stride",
     test_bench_layers_lists_every_convolution_with_its_stride},
    {"init_infer_and_grad_work_together", test_init_infer_and_grad_work_together},
    {"train_runs_end_to_end_and_resumes_bit_identically",
     test_train_runs_end_to_end_and_resumes_bit_identically},
    {"divergence_exits_3_naming_the_step_and_keeps_the_checkpoint",
     test_divergence_exits_3_naming_the_step_and_keeps_the_checkpoint},
};

int main(int argc, char **argv) {
#ifdef RN_RESNET_EXE
    snprintf(exe, sizeof exe, "%s", RN_RESNET_EXE);
#else
    /* tests/<this> beside the build root's resnet */
    const char *slash = strrchr(argv[0], '/');
    snprintf(exe, sizeof exe, "%.*s../resnet", slash ? (int)(slash - argv[0] + 1) : 0, argv[0]);
#endif
    if (access(exe, X_OK) != 0) {
        printf("the resnet program is not at %s (built with RESNET_BUILD_TOOLS=OFF?)\n", exe);
        printf("0 passed, 1 failed\n");
        return 1;
    }
    snprintf(tmpdir, sizeof tmpdir, "/tmp/rn_test_cli_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    int rc = rn_test_main(cases, sizeof cases / sizeof cases[0], argc, argv);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) rc = 1;
    return rc;
}

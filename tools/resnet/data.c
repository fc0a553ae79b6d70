/*
 * The datasets `resnet train` and `resnet eval` know, read through the
 * library's own readers (its gzip decoder included) into uint8 NHWC images:
 *
 *  fashion-mnist  IDX files train-images-idx3-ubyte, train-labels-idx1-ubyte,
 *                 t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each raw or
 *                 with .gz; 60000 + 10000 images of 1x28x28 (Debian package
 *                 dataset-fashion-mnist installs them gzipped in
 *                 /usr/share/datasets/fashion-mnist)
 *  cifar10        the binary version: data_batch_1.bin .. data_batch_5.bin
 *                 and test_batch.bin (in DIR or DIR/cifar-10-batches-bin);
 *                 50000 + 10000 images of 3x32x32, stored channel-major
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int cli_dataset_known(const char *name) {
    return strcmp(name, "fashion-mnist") == 0 || strcmp(name, "cifar10") == 0;
}

int cli_check_dataset(const char *name) {
    if (cli_dataset_known(name)) return CLI_EXIT_OK;
    cli_usage_error("--data: unknown dataset '%s' (fashion-mnist or cifar10)", name);
    return CLI_EXIT_USAGE;
}

const char *cli_default_data_dir(const char *name) {
    return strcmp(name, "cifar10") == 0 ? "/usr/share/datasets/cifar10"
                                        : "/usr/share/datasets/fashion-mnist";
}

void cli_images_free(cli_images *d) {
    free(d->images);
    free(d->labels);
    memset(d, 0, sizeof *d);
}

/* DIR/base + suffix into out; an over-long path is cut (and then not found). */
static void join(char *out, size_t cap, const char *dir, const char *base, const char *suffix) {
    int n = snprintf(out, cap, "%s/%s%s", dir, base, suffix);
    if (n < 0 || (size_t)n >= cap) out[cap - 1] = '\0';
}

/* DIR/base or DIR/base.gz, whichever exists (the first if neither). */
static void find_file(const char *dir, const char *base, char *out, size_t cap) {
    join(out, cap, dir, base, "");
    if (access(out, R_OK) == 0) return;
    join(out, cap, dir, base, ".gz");
    if (access(out, R_OK) == 0) return;
    join(out, cap, dir, base, "");
}

static int load_fmnist(rn_ctx *ctx, const char *dir, int split, int64_t limit, cli_images *out) {
    char ipath[4096], lpath[4096];
    find_file(dir, split ? "t10k-images-idx3-ubyte" : "train-images-idx3-ubyte", ipath,
              sizeof ipath);
    find_file(dir, split ? "t10k-labels-idx1-ubyte" : "train-labels-idx1-ubyte", lpath,
              sizeof lpath);
    int32_t dtype, ndim;
    int64_t dims[8], ldims[8];
    rn_status st = rn_idx_info_file(ctx, ipath, &dtype, &ndim, dims);
    if (st) return cli_lib_error(ctx, st, "reading the images");
    if (dtype != RN_DTYPE_U8 || ndim != 3) {
        cli_fail("%s: expected unsigned-byte images of 3 dims (n, rows, cols)", ipath);
        return CLI_EXIT_FAIL;
    }
    st = rn_idx_info_file(ctx, lpath, &dtype, &ndim, ldims);
    if (st) return cli_lib_error(ctx, st, "reading the labels");
    if (dtype != RN_DTYPE_U8 || ndim != 1 || ldims[0] != dims[0]) {
        cli_fail("%s: expected %lld unsigned-byte labels", lpath, (long long)dims[0]);
        return CLI_EXIT_FAIL;
    }
    size_t n = (size_t)dims[0], hw = (size_t)(dims[1] * dims[2]);
    uint8_t *img = malloc(n * hw), *lab = malloc(n);
    if (!img || !lab) {
        free(img);
        free(lab);
        cli_fail("out of memory for %zu images", n);
        return CLI_EXIT_FAIL;
    }
    st = rn_idx_read_file(ctx, ipath, img, n * hw);
    if (!st) st = rn_idx_read_file(ctx, lpath, lab, n);
    if (st) {
        free(img);
        free(lab);
        return cli_lib_error(ctx, st, "reading the dataset");
    }
    if (limit > 0 && (size_t)limit < n) n = (size_t)limit;
    out->labels = malloc(n * sizeof(int32_t));
    if (!out->labels) {
        free(img);
        free(lab);
        cli_fail("out of memory");
        return CLI_EXIT_FAIL;
    }
    for (size_t i = 0; i < n; i++) {
        if (lab[i] > 9) {
            cli_fail("%s: label %zu is %d, outside 0..9", lpath, i, lab[i]);
            free(img);
            free(lab);
            free(out->labels);
            out->labels = NULL;
            return CLI_EXIT_FAIL;
        }
        out->labels[i] = lab[i];
    }
    free(lab);
    out->images = img; /* rows x cols x 1 is already NHWC */
    out->n = (int64_t)n;
    out->h = dims[1];
    out->w = dims[2];
    out->c = 1;
    out->classes = 10;
    return CLI_EXIT_OK;
}

static int load_cifar(rn_ctx *ctx, const char *dir, int split, int64_t limit, cli_images *out) {
    const char *train_files[5] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                  "data_batch_4.bin", "data_batch_5.bin"};
    const char *test_files[1] = {"test_batch.bin"};
    const char *const *files = split ? test_files : train_files;
    int nfiles = split ? 1 : 5;
    char base[4096], path[4096];
    join(base, sizeof base, dir, "cifar-10-batches-bin", "");
    find_file(base, files[0], path, sizeof path);
    if (access(path, R_OK) != 0) join(base, sizeof base, dir, ".", "");
    size_t total = 0, counts[5];
    for (int f = 0; f < nfiles; f++) {
        find_file(base, files[f], path, sizeof path);
        rn_status st = rn_cifar10_info_file(ctx, path, &counts[f]);
        if (st) return cli_lib_error(ctx, st, "reading CIFAR-10");
        total += counts[f];
    }
    if (limit > 0 && (size_t)limit < total) total = (size_t)limit;
    const size_t rec = 3072;
    uint8_t *chw = malloc(total * rec + 1), *lab = malloc(total + 1);
    out->images = malloc(total * rec + 1);
    out->labels = malloc((total + 1) * sizeof(int32_t));
    if (!chw || !lab || !out->images || !out->labels) {
        free(chw);
        free(lab);
        cli_images_free(out);
        cli_fail("out of memory for %zu images", total);
        return CLI_EXIT_FAIL;
    }
    size_t have = 0;
    for (int f = 0; f < nfiles && have < total; f++) {
        find_file(base, files[f], path, sizeof path);
        size_t got = 0;
        rn_status st =
            rn_cifar10_read_file(ctx, path, chw + have * rec, lab + have, total - have, &got);
        if (st) {
            free(chw);
            free(lab);
            cli_images_free(out);
            return cli_lib_error(ctx, st, "reading CIFAR-10");
        }
        have += got;
    }
    /* channel-major planes of 32x32 -> NHWC */
    for (size_t i = 0; i < have; i++) {
        const uint8_t *src = chw + i * rec;
        uint8_t *dst = out->images + i * rec;
        for (size_t p = 0; p < 1024; p++)
            for (size_t c = 0; c < 3; c++) dst[p * 3 + c] = src[c * 1024 + p];
        out->labels[i] = lab[i];
    }
    free(chw);
    free(lab);
    out->n = (int64_t)have;
    out->h = out->w = 32;
    out->c = 3;
    out->classes = 10;
    return CLI_EXIT_OK;
}

int cli_load_dataset(rn_ctx *ctx, const char *name, const char *dir, int split, int64_t limit,
                     cli_images *out) {
    memset(out, 0, sizeof *out);
    if (!dir) dir = cli_default_data_dir(name);
    if (strcmp(name, "fashion-mnist") == 0) return load_fmnist(ctx, dir, split, limit, out);
    if (strcmp(name, "cifar10") == 0) return load_cifar(ctx, dir, split, limit, out);
    cli_usage_error("--data: unknown dataset '%s' (fashion-mnist or cifar10)", name);
    return CLI_EXIT_USAGE;
}

/* Read the normalisation (tensors named `mean_name`/`std_name`) of a file into ds. */
static int apply_norm_file(rn_ctx *ctx, rn_dataset *ds, const char *path, const char *mean_name,
                           const char *std_name) {
    rn_safetensors *st = NULL;
    rn_status s = rn_safetensors_open_file(ctx, path, &st);
    if (s) return cli_lib_error(ctx, s, "normalisation");
    const char *kind = NULL;
    int32_t norm = RN_NORM_NONE;
    if (rn_safetensors_metadata(st, "normalization", &kind) != RN_OK) {
        rn_safetensors_close(st);
        cli_fail("%s: no 'normalization' metadata", path);
        return CLI_EXIT_FAIL;
    }
    if (strcmp(kind, "pixel_mean") == 0)
        norm = RN_NORM_PIXEL_MEAN;
    else if (strcmp(kind, "channel") == 0)
        norm = RN_NORM_CHANNEL;
    float *mean = NULL, *std = NULL;
    size_t nmean = 0, nstd = 0;
    int rc = CLI_EXIT_OK;
    for (int k = 0; k < 2 && norm != RN_NORM_NONE; k++) {
        if (k == 1 && norm != RN_NORM_CHANNEL) break;
        int32_t idx, ndim;
        int64_t dims[8];
        s = rn_safetensors_find(st, k ? std_name : mean_name, &idx);
        if (s) {
            rc = cli_lib_error(ctx, s, path);
            break;
        }
        rn_safetensors_info(st, idx, NULL, NULL, &ndim, dims);
        size_t n = 1;
        for (int32_t d = 0; d < ndim; d++) n *= (size_t)dims[d];
        float *v = malloc(n * sizeof(float));
        if (!v || (s = rn_safetensors_read_f32(st, idx, v, n)) != RN_OK) {
            free(v);
            rc = cli_lib_error(ctx, s, path);
            break;
        }
        if (k)
            std = v, nstd = n;
        else
            mean = v, nmean = n;
    }
    if (!rc && (s = rn_dataset_set_normalization(ds, norm, mean, nmean, std, nstd)) != RN_OK)
        rc = cli_lib_error(ctx, s, path);
    free(std);
    free(mean);
    rn_safetensors_close(st);
    return rc;
}

int cli_apply_normalization(rn_ctx *ctx, rn_dataset *ds, const char *weights, const char *norm,
                            char *used, size_t used_cap) {
    /* where the training statistics are */
    rn_safetensors *wst = NULL;
    const char *ver = NULL;
    int is_ckpt = rn_safetensors_open_file(ctx, weights, &wst) == RN_OK &&
                  rn_safetensors_metadata(wst, "libresnet.checkpoint", &ver) == RN_OK;
    rn_safetensors_close(wst);
    char beside[4096];
    const char *slash = strrchr(weights, '/');
    if (slash)
        snprintf(beside, sizeof beside, "%.*s/normalization.safetensors", (int)(slash - weights),
                 weights);
    else
        snprintf(beside, sizeof beside, "normalization.safetensors");
    const char *from = NULL;
    int rc = CLI_EXIT_OK;
    if (norm && strcmp(norm, "none") == 0) {
        /* x / 255 as is */
    } else if (norm) {
        rc = apply_norm_file(ctx, ds, from = norm, "mean", "std");
    } else if (is_ckpt) {
        rc = apply_norm_file(ctx, ds, weights, "data.mean", "data.std");
    } else if (access(beside, R_OK) == 0) {
        rc = apply_norm_file(ctx, ds, from = beside, "mean", "std");
    } else {
        cli_fail("no normalisation found: pass --norm FILE (normalization.safetensors from "
                 "`resnet train`), a checkpoint as --weights, or --norm none");
        rc = CLI_EXIT_FAIL;
    }
    if (used && used_cap) snprintf(used, used_cap, "%s", from ? from : "");
    return rc;
}

int cli_save_normalization(rn_ctx *ctx, const rn_dataset *ds, const char *path) {
    int32_t norm;
    int64_t dims[4];
    rn_dataset_info(ds, dims, NULL);
    rn_dataset_get_normalization(ds, &norm, NULL, 0, NULL, 0);
    size_t nmean = norm == RN_NORM_PIXEL_MEAN ? (size_t)(dims[1] * dims[2] * dims[3])
                   : norm == RN_NORM_CHANNEL  ? (size_t)dims[3]
                                              : 0;
    size_t nstd = norm == RN_NORM_CHANNEL ? (size_t)dims[3] : 0;
    float *mean = malloc((nmean + 1) * sizeof(float)), *std = malloc((nstd + 1) * sizeof(float));
    rn_safetensors_writer *w = NULL;
    rn_status st = rn_dataset_get_normalization(ds, &norm, nmean ? mean : NULL, nmean,
                                                nstd ? std : NULL, nstd);
    if (!st) st = rn_safetensors_writer_create(ctx, &w);
    if (!st && nmean) {
        int64_t d[3] = {dims[1], dims[2], dims[3]};
        if (norm == RN_NORM_CHANNEL) d[0] = dims[3];
        st = rn_safetensors_writer_add(w, "mean", RN_DTYPE_F32, norm == RN_NORM_CHANNEL ? 1 : 3, d,
                                       mean);
    }
    if (!st && nstd) st = rn_safetensors_writer_add(w, "std", RN_DTYPE_F32, 1, &dims[3], std);
    if (!st)
        st = rn_safetensors_writer_set_metadata(w, "normalization",
                                                norm == RN_NORM_PIXEL_MEAN ? "pixel_mean"
                                                : norm == RN_NORM_CHANNEL  ? "channel"
                                                                           : "none");
    if (!st) st = rn_safetensors_writer_save_file(w, path);
    rn_safetensors_writer_destroy(w);
    free(std);
    free(mean);
    return st ? cli_lib_error(ctx, st, path) : CLI_EXIT_OK;
}

int cli_trained_model_and_data(rn_ctx *ctx, cli_arch *arch, const char *weights, int allow_int8,
                               const char *data, const char *dir, int split, int64_t limit,
                               const char *norm, char *used, size_t used_cap, cli_images *img,
                               rn_model **m, rn_dataset **ds) {
    int rc = cli_load_dataset(ctx, data, dir, split, limit, img);
    if (!rc) {
        arch->classes = img->classes;
        arch->in_channels = (int32_t)img->c;
        if (!cli_weights_are_int8(ctx, weights)) {
            rc = cli_arch_from_file(ctx, arch, weights);
            if (!rc) rc = cli_create_model(ctx, arch, m);
            if (!rc) rc = cli_load_tensors(ctx, *m, weights);
        } else if (allow_int8) {
            rc = cli_load_int8(ctx, arch, weights, m);
        } else {
            cli_fail("%s is already an int8 model; quantize its float weights", weights);
            rc = CLI_EXIT_FAIL;
        }
    }
    rn_status st;
    if (!rc && (st = rn_dataset_create(ctx, img->images, img->labels, img->n, img->h, img->w,
                                       img->c, img->classes, ds)) != RN_OK)
        rc = cli_lib_error(ctx, st, "dataset");
    if (!rc) rc = cli_apply_normalization(ctx, *ds, weights, norm, used, used_cap);
    return rc;
}

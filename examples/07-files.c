/*
 * Example 7, file formats (io.h), all in memory (every reader and writer
 * has a _file twin taking a path): a model's weights as safetensors with
 * torchvision's names, loaded into a second model; a safetensors file
 * written tensor by tensor; an array as .npy. Walked through in docs/api.md.
 */
#include <resnet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int finish(int ok) {
    printf("%d passed, %d failed\n", ok ? 1 : 0, ok ? 0 : 1);
    return ok ? 0 : 1;
}

#define TRY(call)                                                             \
    do {                                                                      \
        rn_status st_ = (call);                                               \
        if (st_ != RN_OK) {                                                   \
            fprintf(stderr, "%s:%d: %s: %s: %s\n", __FILE__, __LINE__, #call, \
                    rn_status_string(st_), rn_last_error(ctx));               \
            return finish(0);                                                 \
        }                                                                     \
    } while (0)

#define EXPECT(cond)                                                            \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond); \
            return finish(0);                                                   \
        }                                                                       \
    } while (0)

#define CLASSES 10
#define INPUT_COUNT (3 * 32 * 32)

static const char *dtype_name(int32_t dtype) {
    switch (dtype) {
    case RN_DTYPE_F32: return "F32";
    case RN_DTYPE_F16: return "F16";
    case RN_DTYPE_BF16: return "BF16";
    case RN_DTYPE_I64: return "I64";
    case RN_DTYPE_I32: return "I32";
    case RN_DTYPE_U8: return "U8";
    default: return "other";
    }
}

/* Logits of one fixed image. */
static rn_status logits_of(rn_model *model, float *logits) {
    static float image[INPUT_COUNT];
    for (int i = 0; i < INPUT_COUNT; i++) image[i] = (float)(i % 17) / 8.0f - 1.0f;
    rn_plan *plan = NULL;
    rn_status st = rn_plan_create(model, 1, 32, 32, RN_MODE_INFER, &plan);
    if (st == RN_OK)
        st = rn_plan_forward(plan, image, INPUT_COUNT, RN_LAYOUT_NCHW, logits, CLASSES);
    rn_plan_destroy(plan);
    return st;
}

int main(void) {
    rn_ctx *ctx = NULL;
    rn_model *model = NULL, *copy = NULL, *other = NULL;
    rn_safetensors *reader = NULL;
    rn_safetensors_writer *writer = NULL;
    float a[CLASSES], b[CLASSES];
    TRY(rn_ctx_create(&ctx));
    TRY(rn_model_create_preset(ctx, "resnet20", CLASSES, 3, RN_SHORTCUT_DEFAULT, 8, 0, &model));
    TRY(rn_model_init(model, 5));

    /* ---- a model as safetensors ------------------------------------------------
     * Writers that fill the caller's memory answer a NULL buffer with the
     * size needed. The file holds F32 tensors in state_dict order, in
     * PyTorch's layout and under torchvision's names, so
     * model.load_state_dict(safetensors.torch.load_file(path)) reads it. */
    size_t size = 0, written = 0;
    TRY(rn_model_save_safetensors_mem(model, NULL, 0, &size));
    unsigned char *file = malloc(size);
    EXPECT(file != NULL);
    TRY(rn_model_save_safetensors_mem(model, file, size, &written));
    EXPECT(written == size);

    TRY(rn_safetensors_open_mem(ctx, file, size, &reader)); /* copies what it needs */
    const char *format = NULL;
    int32_t classes = 0, channels = 0;
    TRY(rn_safetensors_metadata(reader, "format", &format));
    TRY(rn_safetensors_model_dims(reader, &classes, &channels));
    printf("weights: %zu bytes, %d tensors, format \"%s\", %d classes, %d input channels\n", size,
           (int)rn_safetensors_count(reader), format, (int)classes, (int)channels);
    for (int32_t i = 0; i < 3; i++) {
        const char *name = NULL;
        int32_t dtype = 0, ndim = 0;
        int64_t dims[8];
        TRY(rn_safetensors_info(reader, i, &name, &dtype, &ndim, dims));
        printf("  %-20s %s [", name, dtype_name(dtype));
        for (int32_t k = 0; k < ndim; k++) printf(k ? ", %lld" : "%lld", (long long)dims[k]);
        printf("]\n");
    }
    rn_safetensors_close(reader);

    /* Into a second model of the same architecture: every tensor must be
     * there with its exact shape, and then the two compute the same. */
    TRY(rn_model_create_preset(ctx, "resnet20", CLASSES, 3, RN_SHORTCUT_DEFAULT, 8, 0, &copy));
    TRY(rn_model_load_safetensors_mem(copy, file, size));
    TRY(logits_of(model, a));
    TRY(logits_of(copy, b));
    EXPECT(memcmp(a, b, sizeof a) == 0);
    printf("loaded into a second resnet20: the same logits, bit for bit\n");

    /* Into a different architecture: refused before anything is changed,
     * with the first tensor that does not fit named. */
    TRY(rn_model_create_preset(ctx, "resnet32", CLASSES, 3, RN_SHORTCUT_DEFAULT, 8, 0, &other));
    rn_status st = rn_model_load_safetensors_mem(other, file, size);
    printf("loaded into a resnet32 -> %s\n  \"%s\"\n", rn_status_string(st), rn_last_error(ctx));
    EXPECT(st == RN_E_BAD_FORMAT);
    free(file);

    /* ---- any tensors as safetensors ---------------------------------------------- */
    TRY(rn_safetensors_writer_create(ctx, &writer));
    const int64_t logit_dims[2] = {1, CLASSES};
    TRY(rn_safetensors_writer_add(writer, "logits", RN_DTYPE_F32, 2, logit_dims, a));
    TRY(rn_safetensors_writer_set_metadata(writer, "model", "resnet20"));
    TRY(rn_safetensors_writer_save_mem(writer, NULL, 0, &size));
    unsigned char *st_file = malloc(size);
    EXPECT(st_file != NULL);
    TRY(rn_safetensors_writer_save_mem(writer, st_file, size, &written));
    rn_safetensors_writer_destroy(writer);
    int32_t index = -1;
    TRY(rn_safetensors_open_mem(ctx, st_file, size, &reader));
    free(st_file); /* the reader keeps its own copy */
    TRY(rn_safetensors_find(reader, "logits", &index));
    TRY(rn_safetensors_read_f32(reader, index, b, CLASSES));
    rn_safetensors_close(reader);
    EXPECT(memcmp(a, b, sizeof a) == 0);
    printf("a safetensors file of one tensor: %zu bytes, read back unchanged\n", size);

    /* ---- .npy ---------------------------------------------------------------------- */
    TRY(rn_npy_write_mem(ctx, RN_DTYPE_F32, 2, logit_dims, a, NULL, 0, &size));
    unsigned char *npy = malloc(size);
    EXPECT(npy != NULL);
    TRY(rn_npy_write_mem(ctx, RN_DTYPE_F32, 2, logit_dims, a, npy, size, &written));
    int32_t dtype = -1, ndim = 0;
    int64_t dims[8];
    TRY(rn_npy_info_mem(ctx, npy, size, &dtype, &ndim, dims));
    TRY(rn_npy_read_mem(ctx, npy, size, RN_DTYPE_F32, b, CLASSES));
    printf(".npy: %zu bytes, %s of shape (%lld, %lld), numpy.load reads it\n", size,
           dtype_name(dtype), (long long)dims[0], (long long)dims[1]);
    EXPECT(dtype == RN_DTYPE_F32 && ndim == 2 && dims[1] == CLASSES);
    EXPECT(memcmp(a, b, sizeof a) == 0);
    /* Reading as int32 what holds floats would lose them: refused. */
    int32_t ints[CLASSES];
    st = rn_npy_read_mem(ctx, npy, size, RN_DTYPE_I32, ints, CLASSES);
    printf("float32 .npy read as int32 -> %s\n", rn_status_string(st));
    EXPECT(st == RN_E_INVALID_ARG);
    free(npy);

    rn_model_destroy(other);
    rn_model_destroy(copy);
    rn_model_destroy(model);
    rn_ctx_destroy(ctx);
    return finish(1);
}

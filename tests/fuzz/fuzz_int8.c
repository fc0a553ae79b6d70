/*
 * libFuzzer harness: int8 model files through rn_model_load_int8_mem, both
 * copying and in place. A file that loads must save again, load again and
 * save to the same bytes, and run one inference (no sanitizer report: every
 * scale, bias and weight it accepted is one the plan can run). Built and run
 * by tools/ci/fuzz.sh; with -DRN_FUZZ_SEED_MAIN it writes a seed instead
 * (an int8 model calibrated from the tiny fuzz model).
 */
#include "fuzz_common.h"

FZ_SAVE_FN(save, rn_model, rn_model_save_safetensors_mem)

#ifdef RN_FUZZ_SEED_MAIN
int main(int argc, char **argv) {
    rn_ctx *ctx = NULL;
    rn_model *m = NULL, *q = NULL;
    rn_calibrator *cal = NULL;
    static float x[2 * FZ_C * FZ_H * FZ_W];
    size_t n = 0;
    unsigned char *p = NULL;
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) x[i] = (float)((int)(i * 7 % 13) - 6) / 4;
    if (rn_ctx_create(&ctx) != RN_OK || !(m = fz_model(ctx)) ||
        rn_calibrator_create(m, &cal) != RN_OK ||
        rn_calibrator_add_batch(cal, x, sizeof x / sizeof x[0], 2, FZ_H, FZ_W, RN_LAYOUT_NCHW) ||
        rn_calibrator_quantize(cal, RN_CALIB_MAX, 0, &q) != RN_OK || !(p = save(q, &n)))
        return 1;
    return fz_write_seed(argc, argv, p, n);
}
#else
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static rn_ctx *ctx;
    if (!ctx && rn_ctx_create(&ctx) != RN_OK) __builtin_trap();
    for (int32_t in_place = 0; in_place < 2; in_place++) {
        rn_model *m = NULL, *again = NULL;
        if (rn_model_load_int8_mem(ctx, data, size, in_place, &m) != RN_OK) {
            if (m) __builtin_trap();
            continue;
        }
        size_t n1 = 0, n2 = 0;
        unsigned char *s1 = save(m, &n1);
        if (!s1 || rn_model_load_int8_mem(ctx, s1, n1, 0, &again) != RN_OK) __builtin_trap();
        unsigned char *s2 = save(again, &n2);
        if (!s2 || n1 != n2 || memcmp(s1, s2, n1)) __builtin_trap();
        /* one small inference, if the architecture is small enough to afford */
        int32_t c = 0, k = 0;
        int64_t macs = 0;
        rn_model_in_channels(m, &c);
        rn_model_classes(m, &k);
        if (rn_model_macs(m, 8, 8, &macs) == RN_OK && macs < 2000000 && k <= 1000) {
            rn_plan *p = NULL;
            if (rn_plan_create(m, 1, 8, 8, RN_MODE_INFER, &p) == RN_OK) {
                float *x = (float *)calloc((size_t)c * 64, sizeof(float));
                float *y = (float *)malloc((size_t)k * sizeof(float));
                for (int32_t i = 0; x && i < c * 64; i++) x[i] = (float)(i % 5) - 2;
                if (x && y) rn_plan_forward(p, x, (size_t)c * 64, RN_LAYOUT_NCHW, y, (size_t)k);
                free(x);
                free(y);
            }
            rn_plan_destroy(p);
        }
        free(s1);
        free(s2);
        rn_model_destroy(again);
        rn_model_destroy(m);
    }
    return 0;
}
#endif

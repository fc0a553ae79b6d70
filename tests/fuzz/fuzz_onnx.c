/*
 * libFuzzer harness: ONNX bytes through rn_model_load_onnx_mem. A graph
 * that loads must be a complete model: its queries answer and a small
 * inference plan runs (when the input size suits its layers), and its
 * export (rn_model_save_onnx_mem) reads back to a model of the same tensors. Seeds are
 * real torch.onnx.export graphs (tests/gen/gen_onnx_fixtures.py --seeds).
 * Built and run by tools/ci/fuzz.sh.
 */
#include <stdlib.h>
#include <string.h>

#include "resnet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static rn_ctx *ctx;
    if (!ctx && rn_ctx_create(&ctx) != RN_OK) return 0;
    rn_model *m = NULL;
    if (rn_model_load_onnx_mem(ctx, data, size, &m) != RN_OK) {
        if (m || !rn_last_error(ctx)[0]) __builtin_trap(); /* refused: a sentence, no model */
        return 0;
    }
    int32_t classes, in_ch;
    int64_t params;
    if (rn_model_classes(m, &classes) != RN_OK || rn_model_in_channels(m, &in_ch) != RN_OK ||
        rn_model_num_parameters(m, &params) != RN_OK)
        __builtin_trap();
    /* differential: what loads exports, and the export reads back to a model
     * with the same tensors */
    size_t need = 0;
    if (rn_model_save_onnx_mem(m, NULL, 0, &need) != RN_OK) __builtin_trap();
    unsigned char *buf = (unsigned char *)malloc(need);
    rn_model *back = NULL;
    if (!buf || rn_model_save_onnx_mem(m, buf, need, &need) != RN_OK ||
        rn_model_load_onnx_mem(ctx, buf, need, &back) != RN_OK ||
        rn_model_tensor_count(back) != rn_model_tensor_count(m))
        __builtin_trap();
    free(buf);
    rn_model_destroy(back);
    rn_plan *plan = NULL;
    /* small inputs only: the fuzzer's time goes to the reader */
    if ((int64_t)in_ch * 32 * 32 <= 65536 && classes <= 4096 &&
        rn_plan_create(m, 1, 32, 32, RN_MODE_INFER, &plan) == RN_OK) {
        size_t n = (size_t)in_ch * 32 * 32;
        float *x = (float *)calloc(n, sizeof(float)), *y = (float *)calloc((size_t)classes, 4);
        if (x && y) (void)rn_plan_forward(plan, x, n, RN_LAYOUT_NCHW, y, (size_t)classes);
        free(x);
        free(y);
    }
    rn_plan_destroy(plan);
    rn_model_destroy(m);
    return 0;
}

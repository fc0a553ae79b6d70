/*
 * libFuzzer harness: safetensors bytes through rn_model_load_safetensors_mem
 * (every weight load) into a tiny model. Weights that load are saved again,
 * loaded into a second model and saved once more: both saves must be byte
 * for byte the same. A load that fails must leave the model as it was.
 * Built and run by tools/ci/fuzz.sh; with -DRN_FUZZ_SEED_MAIN it writes a
 * seed instead (the model's own save).
 */
#include "fuzz_common.h"

FZ_SAVE_FN(save, rn_model, rn_model_save_safetensors_mem)

#ifdef RN_FUZZ_SEED_MAIN
int main(int argc, char **argv) {
    rn_ctx *ctx = NULL;
    rn_model *m = NULL;
    size_t n = 0;
    unsigned char *p = NULL;
    if (rn_ctx_create(&ctx) != RN_OK || !(m = fz_model(ctx)) || !(p = save(m, &n))) return 1;
    return fz_write_seed(argc, argv, p, n);
}
#else
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static rn_ctx *ctx;
    static rn_model *a, *b;
    static unsigned char *fresh;
    static size_t fresh_n;
    if (!ctx) {
        if (rn_ctx_create(&ctx) != RN_OK || !(a = fz_model(ctx)) || !(b = fz_model(ctx)))
            __builtin_trap();
        fresh = save(a, &fresh_n);
        if (!fresh) __builtin_trap();
    }
    size_t n1 = 0, n2 = 0;
    if (rn_model_load_safetensors_mem(a, data, size) != RN_OK) {
        unsigned char *same = save(a, &n1);
        if (!same || n1 != fresh_n || memcmp(same, fresh, n1)) __builtin_trap();
        free(same);
        return 0;
    }
    unsigned char *s1 = save(a, &n1);
    if (!s1 || rn_model_load_safetensors_mem(b, s1, n1) != RN_OK) __builtin_trap();
    unsigned char *s2 = save(b, &n2);
    if (!s2 || n1 != n2 || memcmp(s1, s2, n1)) __builtin_trap();
    free(s1);
    free(s2);
    if (rn_model_load_safetensors_mem(a, fresh, fresh_n) != RN_OK) __builtin_trap();
    return 0;
}
#endif

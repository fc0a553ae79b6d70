/*
 * libFuzzer harness: checkpoint bytes through rn_checkpoint_load_mem (the
 * resnet program's --resume) into a trainer of a tiny model. A checkpoint
 * that loads is saved again, loaded into a second trainer and saved once
 * more: both saves must be byte for byte the same (load and save agree on
 * every field). A load that fails must leave the trainer as it was (its
 * save unchanged). Built and run by tools/ci/fuzz.sh; with
 * -DRN_FUZZ_SEED_MAIN it writes a seed instead (a checkpoint after 2 steps).
 */
#include "fuzz_common.h"

FZ_SAVE_FN(save, rn_trainer, rn_checkpoint_save_mem)

#ifdef RN_FUZZ_SEED_MAIN
int main(int argc, char **argv) {
    rn_ctx *ctx = NULL;
    fz_trainer t;
    size_t n = 0;
    unsigned char *p = NULL;
    if (rn_ctx_create(&ctx) != RN_OK || !fz_trainer_make(ctx, &t) ||
        rn_trainer_step(t.tr, NULL, NULL) != RN_OK || rn_trainer_step(t.tr, NULL, NULL) != RN_OK ||
        !(p = save(t.tr, &n)))
        return 1;
    return fz_write_seed(argc, argv, p, n);
}
#else
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static rn_ctx *ctx;
    static fz_trainer a, b;
    static unsigned char *fresh; /* a's save before any load */
    static size_t fresh_n;
    if (!ctx) {
        if (rn_ctx_create(&ctx) != RN_OK || !fz_trainer_make(ctx, &a) || !fz_trainer_make(ctx, &b))
            __builtin_trap();
        fresh = save(a.tr, &fresh_n);
        if (!fresh) __builtin_trap();
    }
    size_t n1 = 0, n2 = 0;
    if (rn_checkpoint_load_mem(a.tr, data, size) != RN_OK) {
        unsigned char *same = save(a.tr, &n1);
        if (!same || n1 != fresh_n || memcmp(same, fresh, n1)) __builtin_trap();
        free(same);
        return 0;
    }
    unsigned char *s1 = save(a.tr, &n1);
    if (!s1 || rn_checkpoint_load_mem(b.tr, s1, n1) != RN_OK) __builtin_trap();
    unsigned char *s2 = save(b.tr, &n2);
    if (!s2 || n1 != n2 || memcmp(s1, s2, n1)) __builtin_trap();
    free(s1);
    free(s2);
    /* back to the fresh state for the next input */
    if (rn_checkpoint_load_mem(a.tr, fresh, fresh_n) != RN_OK) __builtin_trap();
    return 0;
}
#endif

/*
 * The training layer's random numbers: xoshiro256** (Blackman and Vigna,
 * 2018) seeded through splitmix64, as the authors recommend. The whole state
 * is four integers the caller owns, so checkpoints store it as is and a
 * resumed run draws exactly the numbers the uninterrupted one would have.
 */
#include "train-internal.h"

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void rn__rng_seed(uint64_t s[4], uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) s[i] = splitmix64(&x);
    /* splitmix64 is a bijection of its counter, so four consecutive outputs
     * are never all zero; keep the invariant explicit anyway */
    if (!rn__rng_state_valid(s)) s[0] = 1;
}

uint64_t rn__rng_next(uint64_t s[4]) {
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Rejection of the 2^64 mod bound lowest values makes every residue equally
 * likely (the remaining range is a multiple of bound). */
uint64_t rn__rng_below(uint64_t s[4], uint64_t bound) {
    uint64_t threshold = (0 - bound) % bound;
    for (;;) {
        uint64_t r = rn__rng_next(s);
        if (r >= threshold) return r % bound;
    }
}

void rn__rng_shuffle(uint64_t s[4], int64_t *items, size_t count) {
    for (size_t i = count; i > 1; i--) {
        size_t j = (size_t)rn__rng_below(s, (uint64_t)i);
        int64_t t = items[i - 1];
        items[i - 1] = items[j];
        items[j] = t;
    }
}

int rn__rng_state_valid(const uint64_t s[4]) { return (s[0] | s[1] | s[2] | s[3]) != 0; }

/* ---- public wrappers: no context, so a bad argument is only a status ------ */

rn_status rn_rng_seed(uint64_t state[4], uint64_t seed) {
    if (!state) return RN_E_INVALID_ARG;
    rn__rng_seed(state, seed);
    return RN_OK;
}

rn_status rn_rng_next(uint64_t state[4], uint64_t *value) {
    if (!state || !value || !rn__rng_state_valid(state)) return RN_E_INVALID_ARG;
    *value = rn__rng_next(state);
    return RN_OK;
}

rn_status rn_rng_below(uint64_t state[4], uint64_t bound, uint64_t *value) {
    if (!state || !value || bound == 0 || !rn__rng_state_valid(state)) return RN_E_INVALID_ARG;
    *value = rn__rng_below(state, bound);
    return RN_OK;
}

rn_status rn_rng_uniform(uint64_t state[4], double *value) {
    if (!state || !value || !rn__rng_state_valid(state)) return RN_E_INVALID_ARG;
    *value = (double)(rn__rng_next(state) >> 11) * (1.0 / 9007199254740992.0);
    return RN_OK;
}

rn_status rn_rng_shuffle(uint64_t state[4], int64_t *items, size_t count) {
    if (!state || (!items && count > 0) || !rn__rng_state_valid(state)) return RN_E_INVALID_ARG;
    rn__rng_shuffle(state, items, count);
    return RN_OK;
}

rn_status rn_data_split(rn_ctx *ctx, uint64_t seed, int64_t n, int64_t val_count,
                        int64_t *train_idx, int64_t *val_idx) {
    static const char fn[] = "rn_data_split";
    if (!ctx) return RN_E_INVALID_ARG;
    if (n < 1 || val_count < 0 || val_count >= n)
        return rn__error(ctx, RN_E_INVALID_ARG,
                         "%s: val_count %lld must be in [0, n) with n = %lld >= 1", fn,
                         (long long)val_count, (long long)n);
    if (!train_idx || (val_count > 0 && !val_idx))
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: NULL output array", fn);
    if ((uint64_t)n > SIZE_MAX / sizeof(int64_t))
        return rn__error(ctx, RN_E_OVERFLOW, "%s: n = %lld is too large", fn, (long long)n);
    int64_t *perm = (int64_t *)rn__calloc(ctx, (size_t)n, sizeof(int64_t));
    uint8_t *is_val = (uint8_t *)rn__calloc(ctx, (size_t)n, 1);
    if (!perm || !is_val) {
        rn__free(ctx, is_val);
        rn__free(ctx, perm);
        return rn__error(ctx, RN_E_NO_MEMORY, "%s: out of memory for %lld indices", fn,
                         (long long)n);
    }
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    uint64_t s[4];
    rn__rng_seed(s, seed);
    rn__rng_shuffle(s, perm, (size_t)n);
    for (int64_t i = n - val_count; i < n; i++) is_val[perm[i]] = 1;
    /* both lists come out sorted: a membership pass in index order */
    int64_t t = 0, v = 0;
    for (int64_t i = 0; i < n; i++) {
        if (is_val[i])
            val_idx[v++] = i;
        else
            train_idx[t++] = i;
    }
    rn__free(ctx, is_val);
    rn__free(ctx, perm);
    rn__clear_error(ctx);
    return RN_OK;
}

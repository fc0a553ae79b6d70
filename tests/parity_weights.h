/*
 * Deterministic weights and inputs for the whole-network parity test: the C
 * twin of tests/gen/weights_rng.py (keep the two identical). Weights are not
 * committed; the fixture script and the test regenerate them from a seed:
 *
 *   stream key   k = mix(seed + G * (index + 1))            (mod 2^64)
 *   element i    z = mix(k + G * (i + 1))                   (splitmix64's i-th output)
 *   value        lo + (hi - lo) * ((z >> 40) / 2^24)        in double, rounded to float
 *
 * with G = 0x9E3779B97F4A7C15 and mix the splitmix64 finaliser; `index` is
 * the tensor's position in state_dict order (num_batches_tracked left out),
 * which is rn_model_tensor_info order. Every step is exact or a single
 * correctly rounded IEEE operation, so C and numpy give the same bits.
 */
#ifndef RN_TEST_PARITY_WEIGHTS_H
#define RN_TEST_PARITY_WEIGHTS_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "resnet.h"

#define RN_PW_GOLDEN 0x9E3779B97F4A7C15ULL
#define RN_PW_INPUT_STREAM 1000000u /* stream index of generated inputs */

static uint64_t rn_pw_mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* count floats of stream (seed, index), uniform in [lo, hi). */
static void rn_pw_uniform(uint64_t seed, uint64_t index, float *dst, size_t count, double lo,
                          double hi) {
    uint64_t key = rn_pw_mix(seed + RN_PW_GOLDEN * (index + 1));
    double span = hi - lo;
    for (size_t i = 0; i < count; i++) {
        uint64_t z = rn_pw_mix(key + RN_PW_GOLDEN * (uint64_t)(i + 1));
        double u = (double)(z >> 40) * (1.0 / 16777216.0);
        double v = span * u; /* separate statements: no fused multiply-add */
        v = lo + v;
        dst[i] = (float)v;
    }
}

static int rn_pw_ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The range of a state_dict tensor by name and PyTorch dims (weights_rng.tensor_range). */
static void rn_pw_range(const char *name, int32_t ndim, const int64_t *dims, double *lo,
                        double *hi) {
    if (rn_pw_ends_with(name, "running_mean")) {
        *lo = -0.2, *hi = 0.2;
    } else if (rn_pw_ends_with(name, "running_var")) {
        *lo = 0.5, *hi = 2.0;
    } else if (ndim == 1 && rn_pw_ends_with(name, ".weight")) { /* batch norm scale */
        *lo = 0.5, *hi = 1.5;
    } else if (rn_pw_ends_with(name, ".bias")) { /* batch norm shift and fc bias */
        *lo = -0.2, *hi = 0.2;
    } else {
        int64_t fan_in = 1;
        for (int32_t d = 1; d < ndim; d++) fan_in *= dims[d];
        double a = sqrt(3.0 / (double)fan_in);
        *lo = -a, *hi = a;
    }
}

/* Fill every tensor of the model in rn_model_tensor_info order. */
static rn_status rn_pw_fill_model(rn_model *model, uint64_t seed) {
    int32_t count = rn_model_tensor_count(model);
    for (int32_t t = 0; t < count; t++) {
        const char *name = NULL;
        int32_t ndim = 0, kind = 0;
        int64_t dims[4] = {0, 0, 0, 0};
        rn_status st = rn_model_tensor_info(model, t, &name, &ndim, dims, &kind);
        if (st != RN_OK) return st;
        size_t n = 1;
        for (int32_t d = 0; d < ndim; d++) n *= (size_t)dims[d];
        float *v = (float *)malloc(n * sizeof *v);
        if (!v) return RN_E_NO_MEMORY;
        double lo = 0, hi = 0;
        rn_pw_range(name, ndim, dims, &lo, &hi);
        rn_pw_uniform(seed, (uint64_t)t, v, n, lo, hi);
        st = rn_model_set_tensor(model, name, v, n);
        free(v);
        if (st != RN_OK) return st;
    }
    return RN_OK;
}

#endif /* RN_TEST_PARITY_WEIGHTS_H */

/*
 * The test harness: a table of named test functions per executable, CHECK
 * macros that record failures without stopping, and a closing line
 * "N passed, N failed". Include once per test program.
 */
#ifndef RN_TEST_HARNESS_H
#define RN_TEST_HARNESS_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*rn_test_fn)(void);
typedef struct {
    const char *name;
    rn_test_fn fn;
} rn_test_case;

static int rn_test_failed_checks;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "  %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            rn_test_failed_checks++;                                                  \
        }                                                                             \
    } while (0)

/* |a - b| <= tol * max(1, |b|): mixed absolute/relative tolerance. */
#define CHECK_CLOSE(a, b, tol)                                                          \
    do {                                                                                \
        double a_ = (double)(a), b_ = (double)(b), t_ = (double)(tol);                  \
        double s_ = fabs(b_) > 1.0 ? fabs(b_) : 1.0;                                    \
        if (!(fabs(a_ - b_) <= t_ * s_)) {                                              \
            fprintf(stderr, "  %s:%d: CHECK_CLOSE failed: %s = %.9g, %s = %.9g, tol %g\n", \
                    __FILE__, __LINE__, #a, a_, #b, b_, t_);                            \
            rn_test_failed_checks++;                                                    \
        }                                                                               \
    } while (0)

/* The call must return `status`; when it is an error, the context's last
 * error must be a non-empty sentence. */
#define CHECK_STATUS(call, status, ctx)                                                   \
    do {                                                                                  \
        int st_ = (int)(call);                                                            \
        if (st_ != (int)(status)) {                                                       \
            fprintf(stderr, "  %s:%d: %s returned %d, expected %d (%s)\n", __FILE__,      \
                    __LINE__, #call, st_, (int)(status), rn_last_error(ctx));             \
            rn_test_failed_checks++;                                                      \
        } else if (st_ != 0 && (ctx) != NULL && rn_last_error(ctx)[0] == '\0') {          \
            fprintf(stderr, "  %s:%d: %s failed without a message\n", __FILE__, __LINE__, \
                    #call);                                                               \
            rn_test_failed_checks++;                                                      \
        }                                                                                 \
    } while (0)

#define CHECK_OK(call, ctx) CHECK_STATUS(call, 0, ctx)

/* Run the tests (all, or those whose name contains argv[1]). */
static int rn_test_main(const rn_test_case *cases, size_t count, int argc, char **argv) {
    int passed = 0, failed = 0;
    for (size_t i = 0; i < count; i++) {
        if (argc > 1 && !strstr(cases[i].name, argv[1])) continue;
        rn_test_failed_checks = 0;
        cases[i].fn();
        if (rn_test_failed_checks) {
            printf("FAIL %s (%d checks)\n", cases[i].name, rn_test_failed_checks);
            failed++;
        } else {
            printf("ok   %s\n", cases[i].name);
            passed++;
        }
        fflush(stdout);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

#define RN_TEST_MAIN(cases) \
    int main(int argc, char **argv) { \
        return rn_test_main(cases, sizeof(cases) / sizeof(cases[0]), argc, argv); \
    }

/* Deterministic pseudo-random floats for inputs (splitmix64). */
static unsigned long long rn_test_rng_state = 0x9E3779B97F4A7C15ULL;
static inline double rn_test_uniform(void) { /* [0, 1) */
    unsigned long long z = (rn_test_rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0;
}
static inline void rn_test_fill_uniform(float *p, size_t n, double lo, double hi) {
    for (size_t i = 0; i < n; i++) p[i] = (float)(lo + (hi - lo) * rn_test_uniform());
}

#endif /* RN_TEST_HARNESS_H */

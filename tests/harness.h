/*
 * The test harness: a table of named test functions per executable, CHECK
 * macros that record failures without stopping, SKIP for a test that cannot
 * run here (an ISA this CPU or build lacks, a missing data set), and a closing
 * line "N passed, N failed, N skipped". The program exits 1 when a test
 * failed, RN_TEST_SKIP_CODE (77, ctest's SKIP_RETURN_CODE, set in
 * tests/CMakeLists.txt) when none passed (every selected test skipped, or
 * none was selected), else 0. Include once
 * per test program.
 */
#ifndef RN_TEST_HARNESS_H
#define RN_TEST_HARNESS_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*rn_test_fn)(void);
typedef struct {
    const char *name;
    rn_test_fn fn;
} rn_test_case;

static int rn_test_failed_checks;
static int rn_test_skipped; /* the running test called SKIP */

#define RN_TEST_SKIP_CODE 77

/* Marks the running test skipped and says why; the test returns right after.
 * A test that also failed a check counts as failed. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 1, 2)))
#endif
static inline void
rn_test_skip(const char *fmt, ...) {
    va_list ap;
    printf("     skipped: ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    rn_test_skipped = 1;
}
#define SKIP rn_test_skip

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "  %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            rn_test_failed_checks++;                                                   \
        }                                                                              \
    } while (0)

/* |a - b| <= tol * max(1, |b|): mixed absolute/relative tolerance. */
#define CHECK_CLOSE(a, b, tol)                                                             \
    do {                                                                                   \
        double a_ = (double)(a), b_ = (double)(b), t_ = (double)(tol);                     \
        double s_ = fabs(b_) > 1.0 ? fabs(b_) : 1.0;                                       \
        if (!(fabs(a_ - b_) <= t_ * s_)) {                                                 \
            fprintf(stderr, "  %s:%d: CHECK_CLOSE failed: %s = %.9g, %s = %.9g, tol %g\n", \
                    __FILE__, __LINE__, #a, a_, #b, b_, t_);                               \
            rn_test_failed_checks++;                                                       \
        }                                                                                  \
    } while (0)

/* The call must return `status`; when it is an error, the context's last
 * error must be a non-empty sentence. */
#define CHECK_STATUS(call, status, ctx)                                                           \
    do {                                                                                          \
        int st_ = (int)(call);                                                                    \
        if (st_ != (int)(status)) {                                                               \
            fprintf(stderr, "  %s:%d: %s returned %d, expected %d (%s)\n", __FILE__, __LINE__,    \
                    #call, st_, (int)(status), rn_last_error(ctx));                               \
            rn_test_failed_checks++;                                                              \
        } else if (st_ != 0 && (ctx) != NULL && rn_last_error(ctx)[0] == '\0') {                  \
            fprintf(stderr, "  %s:%d: %s failed without a message\n", __FILE__, __LINE__, #call); \
            rn_test_failed_checks++;                                                              \
        }                                                                                         \
    } while (0)

#define CHECK_OK(call, ctx) CHECK_STATUS(call, 0, ctx)

/* Per-ISA tests are named NAME_scalar, NAME_avx2, NAME_avx512, NAME_neon. */
static const char *const rn_test_isa_suffixes[] = {"_scalar", "_avx2", "_avx512", "_neon"};
static int rn_test_has_suffix(const char *name, const char *suffix) {
    size_t n = strlen(name), s = strlen(suffix);
    return n >= s && !strcmp(name + n - s, suffix);
}

/* Does `name` pass the filter? "isa=X" selects the tests named ..._X,
 * "isa=none" those without an ISA suffix; anything else is a substring. */
static int rn_test_selected(const char *name, const char *filter) {
    if (!filter) return 1;
    if (!strncmp(filter, "isa=", 4)) {
        const size_t k = sizeof rn_test_isa_suffixes / sizeof rn_test_isa_suffixes[0];
        if (!strcmp(filter + 4, "none")) {
            for (size_t i = 0; i < k; i++)
                if (rn_test_has_suffix(name, rn_test_isa_suffixes[i])) return 0;
            return 1;
        }
        char suffix[32];
        snprintf(suffix, sizeof suffix, "_%s", filter + 4);
        return rn_test_has_suffix(name, suffix);
    }
    return strstr(name, filter) != NULL;
}

/* Run the tests (all, or those argv[1] selects: see rn_test_selected). */
static int rn_test_main(const rn_test_case *cases, size_t count, int argc, char **argv) {
    int passed = 0, failed = 0, skipped = 0;
    for (size_t i = 0; i < count; i++) {
        if (!rn_test_selected(cases[i].name, argc > 1 ? argv[1] : NULL)) continue;
        rn_test_failed_checks = 0;
        rn_test_skipped = 0;
        cases[i].fn();
        if (rn_test_failed_checks) {
            printf("FAIL %s (%d checks)\n", cases[i].name, rn_test_failed_checks);
            failed++;
        } else if (rn_test_skipped) {
            printf("skip %s\n", cases[i].name);
            skipped++;
        } else {
            printf("ok   %s\n", cases[i].name);
            passed++;
        }
        fflush(stdout);
    }
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    if (failed) return 1;
    return passed ? 0 : RN_TEST_SKIP_CODE; /* nothing ran: not a pass */
}

#define RN_TEST_MAIN(cases)                                                       \
    int main(int argc, char **argv) {                                             \
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

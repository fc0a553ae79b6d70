/*
 * The clock and the sorting every benchmark program here uses (each is its
 * own executable, so these are static).
 */
#ifndef RN_BENCH_UTIL_H
#define RN_BENCH_UTIL_H

#include <stdlib.h>
#include <time.h>

/* Wall-clock seconds (monotonic). */
static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* qsort order for doubles, ascending. */
static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#endif

/*
 * A neighbour for bench/neighbours.sh: an OpenMP program whose threads do a
 * little arithmetic and meet at a barrier, thousands of times a second, until
 * it is killed (or for argv[1] seconds). It stands for the other OpenMP
 * programs an embedded library shares a machine with: while one of its
 * threads is off the CPU the others spin at the barrier, and that spinning
 * takes the CPU from everything else. Prints the barrier rate at the end.
 *
 *   cc -O2 -fopenmp bench/neighbour-omp.c -o neighbour-omp && ./neighbour-omp 10
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    const double seconds = argc > 1 ? atof(argv[1]) : 1e9;
    const double start = omp_get_wtime();
    long barriers = 0;
    volatile double sink = 0.0;
#pragma omp parallel
    {
        double acc = omp_get_thread_num();
        for (;;) {
            /* about 10-40 microseconds of work between barriers */
            for (int i = 0; i < 10000; i++) acc = acc * 0.999999 + 1e-7;
#pragma omp barrier
#pragma omp single
            {
                barriers++;
                if (omp_get_wtime() - start > seconds) sink = -1.0;
            }
            if (sink < 0.0) break;
        }
        sink += acc * 0.0;
    }
    fprintf(stderr, "neighbour-omp: %ld barriers in %.1f s (%.0f per second)\n", barriers,
            omp_get_wtime() - start, barriers / (omp_get_wtime() - start));
    return 0;
}

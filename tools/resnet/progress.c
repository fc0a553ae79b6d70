/*
 * Training progress. On a terminal: one line on stderr redrawn in place
 * (at most ten times a second) with a bar, the loss, images per second and
 * the time left in the epoch. Otherwise (a log file, a pipe, CI): a plain
 * line about every tenth of the epoch, nothing redrawn.
 */
#define _POSIX_C_SOURCE 200809L
#include <unistd.h>

#include "cli.h"

void cli_progress_begin(cli_progress *p, int64_t total_batches) {
    p->tty = isatty(STDERR_FILENO);
    p->start = p->last_draw = cli_now();
    p->total = total_batches;
    p->done_at_start = 0;
    p->last_line_batch = 0;
}

static void fmt_eta(double s, char *buf, size_t cap) {
    if (!(s >= 0) || s > 1e7) {
        snprintf(buf, cap, "--:--");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
    else
        snprintf(buf, cap, "%02ld:%02ld", t / 60, t % 60);
}

void cli_progress_update(cli_progress *p, int64_t epoch, int64_t epochs, int64_t batch, double loss,
                         double images_per_s, double eta_s) {
    double now = cli_now();
    char eta[32];
    fmt_eta(eta_s, eta, sizeof eta);
    if (p->tty) {
        if (batch < p->total && now - p->last_draw < 0.1) return;
        p->last_draw = now;
        enum { WIDTH = 24 };
        char bar[WIDTH + 1];
        int filled = p->total ? (int)(WIDTH * batch / p->total) : 0;
        for (int i = 0; i < WIDTH; i++) bar[i] = i < filled ? '#' : '.';
        bar[WIDTH] = '\0';
        fprintf(stderr, "\r\033[Kepoch %lld/%lld [%s] %lld/%lld  loss %.4f  %.0f img/s  ETA %s",
                (long long)epoch, (long long)epochs, bar, (long long)batch, (long long)p->total,
                loss, images_per_s, eta);
        fflush(stderr);
        return;
    }
    int64_t every = p->total >= 10 ? p->total / 10 : 1;
    if (batch - p->last_line_batch < every && batch < p->total) return;
    p->last_line_batch = batch;
    fprintf(stderr, "epoch %lld/%lld batch %lld/%lld loss %.4f %.0f img/s ETA %s\n",
            (long long)epoch, (long long)epochs, (long long)batch, (long long)p->total, loss,
            images_per_s, eta);
    fflush(stderr);
}

void cli_progress_end(cli_progress *p) {
    if (p->tty) {
        fprintf(stderr, "\r\033[K");
        fflush(stderr);
    }
}

/*
 * Shared by the io tests: loading fixtures from tests/data/io (written by
 * tests/gen/gen_io_fixtures.py), a scratch directory for file tests, and the
 * truncation sweep every reader must survive.
 */
#ifndef RN_TEST_IO_COMMON_H
#define RN_TEST_IO_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "resnet.h"

#ifndef RN_TEST_DATA_DIR
#define RN_TEST_DATA_DIR "tests/data"
#endif

/* Path of a fixture, in a static buffer (one at a time). */
static inline const char *fixture_path(const char *name) {
    static char path[1024];
    snprintf(path, sizeof path, "%s/io/%s", RN_TEST_DATA_DIR, name);
    return path;
}

/* Whole fixture in a malloc'd buffer; NULL (and a failed check) if absent. */
static inline unsigned char *load_fixture(const char *name, size_t *size) {
    const char *path = fixture_path(name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "  missing fixture %s (run tests/gen/gen_io_fixtures.py)\n", path);
        rn_test_failed_checks++;
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = (unsigned char *)malloc(n > 0 ? (size_t)n : 1);
    size_t got = buf ? fread(buf, 1, (size_t)n, f) : 0;
    fclose(f);
    if (!buf || got != (size_t)n) {
        free(buf);
        rn_test_failed_checks++;
        return NULL;
    }
    *size = (size_t)n;
    return buf;
}

#include <dirent.h>
static char scratch_dir_name[512];

/* Remove the scratch directory and what the tests left in it (one level,
 * plus one level of subdirectories). */
static inline void remove_tree(const char *dir, int depth) {
    DIR *d = opendir(dir);
    if (!d) return;
    for (struct dirent *e = readdir(d); e; e = readdir(d)) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char p[4096];
        int len = snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (len < 0 || (size_t)len >= sizeof p) continue;
        if (remove(p) != 0 && depth < 2) remove_tree(p, depth + 1);
    }
    closedir(d);
    remove(dir);
}
static inline void remove_scratch_dir(void) { remove_tree(scratch_dir_name, 0); }

/* A fresh scratch directory under TMPDIR (or /tmp) for this test program,
 * removed at exit. */
static inline const char *scratch_dir(void) {
    if (!scratch_dir_name[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(scratch_dir_name, sizeof scratch_dir_name, "%s/rn_io_test_XXXXXX",
                 base && base[0] ? base : "/tmp");
        if (!mkdtemp(scratch_dir_name)) {
            fprintf(stderr, "  cannot create a scratch directory\n");
            rn_test_failed_checks++;
        } else {
            atexit(remove_scratch_dir);
        }
    }
    return scratch_dir_name;
}

static inline const char *scratch_path(const char *name) {
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", scratch_dir(), name);
    return path;
}

static inline int write_whole(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    size_t w = fwrite(data, 1, size, f);
    return fclose(f) == 0 && w == size;
}

/* Number of entries in the scratch directory whose name contains `part`. */
static inline int count_scratch_entries(const char *part) {
    DIR *d = opendir(scratch_dir());
    int n = 0;
    if (!d) return -1;
    for (struct dirent *e = readdir(d); e; e = readdir(d))
        if (strstr(e->d_name, part)) n++;
    closedir(d);
    return n;
}

#endif /* RN_TEST_IO_COMMON_H */

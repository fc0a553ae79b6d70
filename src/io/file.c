/*
 * The file system seam of libresnet: reading a whole file into memory and
 * replacing a file atomically. Every path-based function of the library goes
 * through these two, so the readers above only ever see memory buffers.
 *
 * Atomic replacement follows the usual POSIX recipe: write a temporary file
 * in the target's directory (rename is only atomic within one file system),
 * fsync it so the data is on disk before the name points at it, rename over
 * the target, then fsync the directory so the rename itself survives a
 * power cut. A failure at any step removes the temporary.
 */
#define _POSIX_C_SOURCE 200809L
#include "io-internal.h"

#ifndef RN_NO_IO

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

rn_status rn__read_file(rn_ctx *ctx, const char *path, size_t max_size, void **data, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        return rn__error(ctx, RN_E_IO, "%s: cannot open for reading: %s", path, strerror(e));
    }
    /* fstat, unlike fseek/ftell, reports sizes beyond LONG_MAX and tells a
     * directory (which fopen happily opens on Linux) from a regular file. */
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        int e = errno;
        fclose(f);
        return rn__error(ctx, RN_E_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        fclose(f);
        return rn__error(ctx, RN_E_IO, "%s: not a regular file", path);
    }
    if (st.st_size < 0 || (uint64_t)st.st_size > (uint64_t)max_size) {
        fclose(f);
        return rn__error(ctx, RN_E_UNSUPPORTED,
                         "%s: the file has %lld bytes, more than the %llu bytes read for this "
                         "format",
                         path, (long long)st.st_size, (unsigned long long)max_size);
    }
    size_t n = (size_t)st.st_size;
    unsigned char *buf = (unsigned char *)rn__alloc(ctx, n);
    if (!buf) {
        fclose(f);
        return rn__error(ctx, RN_E_NO_MEMORY, "%s: cannot allocate %zu bytes to read the file",
                         path, n);
    }
    size_t got = fread(buf, 1, n, f);
    int read_errno = errno;
    int failed = ferror(f);
    /* a file that grew since fstat would be read only in part: refuse it */
    int extra = (got == n && !failed) ? fgetc(f) : EOF;
    fclose(f);
    if (failed || got != n || extra != EOF) {
        rn__free(ctx, buf);
        if (failed)
            return rn__error(ctx, RN_E_IO, "%s: read failed after %zu of %zu bytes: %s", path, got,
                             n, strerror(read_errno));
        return rn__error(ctx, RN_E_IO,
                         "%s: the file changed size while being read (%zu bytes "
                         "expected, %s)",
                         path, n, got != n ? "fewer found" : "more found");
    }
    *data = buf;
    *size = n;
    return RN_OK;
}

/* write(2) until everything is written, retrying interrupted calls. */
static int write_all(int fd, const unsigned char *p, size_t n) {
    while (n > 0) {
        size_t step = n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n;
        ssize_t w = write(fd, p, step);
        if (w < 0) {
            if (errno == EINTR) continue;
            return 0;
        }
        if (w == 0) {
            errno = EIO;
            return 0;
        }
        p += w;
        n -= (size_t)w;
    }
    return 1;
}

/* Make the rename durable. Some file systems refuse fsync on directories;
 * the data itself is already safe, so failures here are not errors. */
static void sync_parent_dir(const char *tmp_path, size_t dir_len) {
    char dir[4096];
    if (dir_len == 0) {
        dir[0] = '.';
        dir[1] = '\0';
    } else {
        if (dir_len >= sizeof dir) return;
        rn_memcpy(dir, tmp_path, dir_len);
        dir[dir_len] = '\0';
    }
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd);
        (void)close(fd);
    }
}

rn_status rn__write_file_atomic(rn_ctx *ctx, const char *path, const void *const *chunks,
                                const size_t *sizes, size_t nchunks) {
    if (!ctx) return RN_E_INVALID_ARG;
    if (!path || !path[0])
        return rn__error(ctx, RN_E_INVALID_ARG, "write: the file path is NULL or empty");
    if (nchunks > 0 && (!chunks || !sizes))
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: write: chunks or sizes is NULL", path);
    for (size_t i = 0; i < nchunks; i++)
        if (sizes[i] > 0 && !chunks[i])
            return rn__error(ctx, RN_E_INVALID_ARG, "%s: write: chunk %zu is NULL", path, i);

    /* "<path>.tmp<pid>-<n>": O_EXCL makes the name ours; the pid keeps
     * concurrent writers of the same target apart. */
    size_t path_len = rn_strlen(path);
    size_t tmp_cap;
    if (!rn__add_size(path_len, 48, &tmp_cap))
        return rn__error(ctx, RN_E_OVERFLOW, "write: the file path is too long");
    char *tmp = (char *)rn__alloc(ctx, tmp_cap);
    if (!tmp) return rn__error(ctx, RN_E_NO_MEMORY, "%s: write: out of memory", path);
    int fd = -1;
    int open_errno = 0;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        snprintf(tmp, tmp_cap, "%s.tmp%ld-%d", path, (long)getpid(), attempt);
        /* 0666 lets the umask decide the final permissions, as for any new file */
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd < 0) {
            open_errno = errno;
            if (open_errno != EEXIST) break;
        }
    }
    if (fd < 0) {
        rn__free(ctx, tmp);
        return rn__error(ctx, RN_E_IO, "%s: cannot create a temporary file beside it: %s", path,
                         strerror(open_errno));
    }

    const char *step = NULL;
    int err = 0;
    for (size_t i = 0; i < nchunks && !step; i++) {
        if (sizes[i] > 0 && !write_all(fd, (const unsigned char *)chunks[i], sizes[i])) {
            err = errno;
            step = "write";
        }
    }
    if (!step && fsync(fd) != 0) {
        err = errno;
        step = "fsync";
    }
    if (close(fd) != 0 && !step) {
        err = errno;
        step = "close";
    }
    if (!step && rename(tmp, path) != 0) {
        err = errno;
        step = "rename over the target";
    }
    if (step) {
        (void)unlink(tmp);
        rn__free(ctx, tmp);
        return rn__error(ctx, RN_E_IO, "%s: %s failed: %s (the file was left as it was)", path,
                         step, strerror(err));
    }
    const char *slash = strrchr(path, '/');
    sync_parent_dir(path, slash ? (size_t)(slash - path) + (slash == path) : 0);
    rn__free(ctx, tmp);
    return RN_OK;
}

#endif /* RN_NO_IO */

rn_status rn__input_open(rn_ctx *ctx, const char *path, const void *buf, size_t size, size_t max,
                         int gunzip, rn__input *in) {
    rn_memset(in, 0, sizeof *in);
    in->name = path ? path : RN_IO_MEMORY_NAME;
    if (path) {
#ifndef RN_NO_IO
        rn_status st = rn__read_file(ctx, path, max, &in->file, &size);
        if (st) return st;
        buf = in->file;
#else
        return rn__error(ctx, RN_E_UNSUPPORTED, "%s: built without file I/O", path);
#endif
    }
    in->data = (const unsigned char *)buf;
    in->size = size;
    if (gunzip && rn__is_gzip(buf, size)) {
        rn_status st = rn__gunzip(ctx, in->name, buf, size, max, &in->owned, &in->size);
        if (st) {
            rn__input_free(ctx, in);
            return st;
        }
        in->data = in->owned;
        in->name = rn__concat(in->name_buf, sizeof in->name_buf, in->name, " (decompressed)");
    }
    return RN_OK;
}

void rn__input_free(rn_ctx *ctx, rn__input *in) {
    rn__free(ctx, in->owned);
    rn__free(ctx, in->file);
}

rn_status rn__no_file_io(const rn_ctx *ctx, const char *fn) {
    if (!ctx) return RN_E_INVALID_ARG;
    return rn__error(ctx, RN_E_UNSUPPORTED, "%s: built without file I/O", fn);
}

rn_status rn__check_read(const rn_ctx *ctx, const char *fn, int from_file, const char *path,
                         const void *buf, const void *dst, size_t count) {
    const void *src = from_file ? (const void *)path : buf;
    if (src && (dst || count == 0)) return RN_OK;
    return rn__error(ctx, RN_E_INVALID_ARG, "%s: %s is NULL", fn,
                     src         ? "dst"
                     : from_file ? "path"
                                 : "buf");
}

rn_status rn__array_info(rn_ctx *ctx, const char *fn, int from_file, const char *path,
                         const void *buf, size_t size, size_t max, int gunzip,
                         rn__array_parse_fn parse, int32_t *dtype, int32_t *ndim, int64_t dims[8]) {
    if (!ctx) return RN_E_INVALID_ARG;
    const void *src = from_file ? (const void *)path : buf;
    if (!src || !dtype || !ndim || !dims)
        return rn__error(ctx, RN_E_INVALID_ARG, "%s: %s is NULL", fn,
                         !src     ? (from_file ? "path" : "buf")
                         : !dtype ? "dtype"
                         : !ndim  ? "ndim"
                                  : "dims");
    rn__clear_error(ctx);
    rn__input in;
    rn_status st = rn__input_open(ctx, path, buf, size, max, gunzip, &in);
    if (st) return st;
    rn__array_header h;
    st = parse(ctx, in.name, in.data, in.size, &h);
    rn__input_free(ctx, &in);
    if (st) return st;
    *dtype = h.dtype;
    *ndim = h.ndim;
    for (int i = 0; i < 8; i++) dims[i] = i < h.ndim ? h.dims[i] : 0;
    return RN_OK;
}

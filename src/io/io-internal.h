/*
 * Internal io layer: whole-file reading and atomic writing (the only code
 * that touches the file system), byte-order helpers for the little- and
 * big-endian formats, half-float conversion, and the gzip/DEFLATE decoder
 * shared by the readers. Other layers that write files (checkpoints) call
 * rn__write_file_atomic so a crash never leaves a half-written target.
 */
#ifndef RN_IO_INTERNAL_H
#define RN_IO_INTERNAL_H

#include "../core/internal.h"
#include "resnet/io.h"

/* A build without stdio cannot open files either. */
#if defined(RN_NO_STDIO) && !defined(RN_NO_IO)
#define RN_NO_IO
#endif

/* The name readers put at the start of their error sentences when they work
 * on a caller's buffer rather than a file. */
#define RN_IO_MEMORY_NAME "<memory>"

/* Read a whole file into one context allocation (freed with rn__free).
 * Files larger than max_size are refused with RN_E_UNSUPPORTED; the
 * operating system's reason (errno text) is in the error for RN_E_IO. An
 * empty file gives *data non-NULL and *size 0. */
rn_status rn__read_file(rn_ctx *ctx, const char *path, size_t max_size, void **data, size_t *size);

/* Write the concatenation of nchunks buffers to path atomically: a temporary
 * file in the same directory is written, flushed, fsync'd and renamed over
 * the target. On any failure the temporary is removed, the target is left as
 * it was, and RN_E_IO names the step and the errno text. */
rn_status rn__write_file_atomic(rn_ctx *ctx, const char *path, const void *const *chunks,
                                const size_t *sizes, size_t nchunks);

/* ---- byte order (the formats fix it; the host may differ) ------------------ */
static inline uint16_t rn__le16(const unsigned char *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t rn__le32(const unsigned char *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t rn__le64(const unsigned char *p) {
    return (uint64_t)rn__le32(p) | ((uint64_t)rn__le32(p + 4) << 32);
}
static inline uint32_t rn__be32(const unsigned char *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}
static inline void rn__put_le16(unsigned char *p, uint16_t v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}
static inline void rn__put_le32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static inline void rn__put_le64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static inline float rn__f32_from_bits(uint32_t u) {
    float f;
    rn_memcpy(&f, &u, sizeof f);
    return f;
}
static inline uint32_t rn__f32_bits(float f) {
    uint32_t u;
    rn_memcpy(&u, &f, sizeof u);
    return u;
}

/* IEEE binary16 -> float (exact: every half is a float). */
float rn__f16_to_f32(uint16_t h);
/* bfloat16 is the top half of a float. */
static inline float rn__bf16_to_f32(uint16_t h) { return rn__f32_from_bits((uint32_t)h << 16); }

/* Byte size of one element of an RN_DTYPE_*, 0 for an unknown dtype. */
size_t rn__dtype_size(int32_t dtype);
/* Name of an RN_DTYPE_* for sentences ("F32", "U8"...), "?" if unknown. */
const char *rn__dtype_name(int32_t dtype);
/* An array of count elements of dtype (shape ndim, dims) stored from offset
 * `at` to the end of a buffer of `size` bytes: RN_E_OVERFLOW when its byte
 * size overflows, RN_E_BAD_FORMAT when the buffer holds more or fewer bytes.
 * The errors start "src: format:". */
rn_status rn__check_data_size(const rn_ctx *ctx, const char *src, const char *format, int32_t dtype,
                              int32_t ndim, const int64_t *dims, size_t count, size_t at,
                              size_t size);
/* bytes of host-order elements of dtype -> little-endian (the file order). */
void rn__put_le_array(int32_t dtype, const void *host, size_t bytes, unsigned char *le);
/* Convert count little-endian elements of dtype (any RN_DTYPE_*) to floats. */
void rn__convert_to_f32(int32_t dtype, const unsigned char *src, size_t count, float *dst);

/* Decimal digits of v into out (NUL-terminated, no stdio); returns the length. */
size_t rn__fmt_u64(uint64_t v, char out[24]);

/* a followed by b into buf (truncated to cap, always terminated); returns buf.
 * Used to name decompressed data in messages without stdio. */
const char *rn__concat(char *buf, size_t cap, const char *a, const char *b);

/* "[d0,d1,...]" into buf (for error sentences); returns buf. */
const char *rn__dims_str(int32_t ndim, const int64_t *dims, char *buf, size_t cap);
/* 1 when the shapes (na, a) and (nb, b) are the same, else 0. */
int rn__same_dims(int32_t na, const int64_t *a, int32_t nb, const int64_t *b);

/* A reader over buf that copies nothing: rn__safetensors_data gives each
 * tensor's bytes where they are in buf, which must outlive the handle (and
 * whatever points into it). src names buf in errors. */
rn_status rn__safetensors_open_view(rn_ctx *ctx, const char *src, const void *buf, size_t size,
                                    rn_safetensors **out);
const unsigned char *rn__safetensors_data(const rn_safetensors *st, int32_t index);

/* Add a tensor to a safetensors writer, taking over `data` (its
 * little-endian bytes, a context allocation freed with the writer, or on
 * failure at once). data NULL makes an entry that only sizes the file: such
 * a writer may be measured (save_mem with buf NULL) but not saved. */
rn_status rn__safetensors_writer_adopt(rn_safetensors_writer *w, const char *name, int32_t dtype,
                                       int32_t ndim, const int64_t *dims, unsigned char *data);

/* A model's file written through a safetensors writer (safetensors-model.c):
 * the arguments checked, the writer made by `make` (sizes_only: entries that
 * only size the file, when buf is NULL), then saved to `path` (path_mode) or
 * to buf/cap as rn_safetensors_writer_save_mem does, and destroyed. fn names
 * the public function in errors. */
typedef rn_status (*rn__model_writer_fn)(const rn_model *model, const char *fn, int sizes_only,
                                         rn_safetensors_writer **out);
rn_status rn__model_save(const rn_model *model, const char *fn, rn__model_writer_fn make,
                         int path_mode, const char *path, void *buf, size_t cap, size_t *written);

/* The int8 model file (int8-model.c), written by rn_model_save_safetensors_*
 * for int8 models. */
rn_status rn__int8_save_mem(const rn_model *m, void *buf, size_t cap, size_t *written);
rn_status rn__int8_save_file(const rn_model *m, const char *path);
/* Read an int8 model file (rn_model_load_int8_mem's work; src names it). */
rn_status rn__int8_read(rn_ctx *ctx, const char *src, const void *buf, size_t size,
                        int32_t in_place, rn_model **out);

/* ---- DEFLATE (RFC 1951) and gzip (RFC 1952) ------------------------------- */
/* CRC-32 (ISO 3309, the gzip one) of n bytes, continuing from crc (0 to start). */
uint32_t rn__crc32(uint32_t crc, const unsigned char *p, size_t n);

/* Decode one raw DEFLATE stream from in[0, in_size) into out[0, out_cap).
 * *out_size receives the bytes produced and *in_used the bytes consumed
 * (through the byte holding the final block's last bit). Output beyond
 * out_cap is an error (RN_E_BAD_FORMAT); so is any malformed input. Errors
 * name `src` and the byte offset base + position in the stream. */
rn_status rn__inflate(const rn_ctx *ctx, const char *src, size_t base, const unsigned char *in,
                      size_t in_size, unsigned char *out, size_t out_cap, size_t *out_size,
                      size_t *in_used);

/* 1 when the buffer starts with the gzip magic bytes 1f 8b. */
int rn__is_gzip(const void *buf, size_t size);

/* Decompress a single-member gzip file into a new context allocation (freed
 * with rn__free). The header, CRC-32 and ISIZE are checked; the output is
 * refused beyond max_out bytes and when ISIZE promises more than DEFLATE can
 * expand the input to, so a tiny file cannot make us allocate gigabytes. */
rn_status rn__gunzip(rn_ctx *ctx, const char *src, const void *buf, size_t size, size_t max_out,
                     unsigned char **out, size_t *out_size);

/* ---- the bytes a reader parses ---------------------------------------------- */
/* A caller's buffer or a whole file (at most max bytes), and with gunzip set,
 * their gunzipped content when they start with the gzip magic (then at most
 * max bytes decompressed). name names them in messages: the path or
 * RN_IO_MEMORY_NAME, followed by " (decompressed)" after a gunzip. */
typedef struct rn__input {
    const unsigned char *data;
    size_t size;
    const char *name;
    void *file;           /* the file's bytes, NULL for a caller's buffer */
    unsigned char *owned; /* the decompressed bytes, NULL without */
    char name_buf[512];
} rn__input;

/* What the header of a one-array file (IDX, .npy) says: the element type,
 * the shape, the element count and the offset of the data, which runs to
 * the end of the bytes. */
typedef struct rn__array_header {
    int32_t dtype;
    int32_t ndim;
    int64_t dims[8];
    size_t count;
    size_t data_offset;
} rn__array_header;
typedef rn_status (*rn__array_parse_fn)(const rn_ctx *ctx, const char *src, const unsigned char *b,
                                        size_t size, rn__array_header *h);

/* What a file function of a build without file I/O (RN_NO_IO) returns:
 * RN_E_UNSUPPORTED with "fn: built without file I/O" (RN_E_INVALID_ARG for
 * a NULL ctx). */
rn_status rn__no_file_io(const rn_ctx *ctx, const char *fn);

/* The source of a read call (path when from_file, else buf) and its
 * destination (NULL only for count 0): RN_OK, or RN_E_INVALID_ARG with
 * "fn: <which> is NULL". */
rn_status rn__check_read(const rn_ctx *ctx, const char *fn, int from_file, const char *path,
                         const void *buf, const void *dst, size_t count);

/* The info functions of the one-array readers (fn names the one called):
 * the arguments checked (path when from_file, else buf, and the outputs
 * not NULL), then the bytes of path or buf (as rn__input_open opens them)
 * parsed by `parse`; gives the dtype, ndim and dims (0 past ndim). */
rn_status rn__array_info(rn_ctx *ctx, const char *fn, int from_file, const char *path,
                         const void *buf, size_t size, size_t max, int gunzip,
                         rn__array_parse_fn parse, int32_t *dtype, int32_t *ndim, int64_t dims[8]);

/* From path when it is not NULL, else from buf[0, size). Nothing to free
 * on failure; on success, rn__input_free. */
rn_status rn__input_open(rn_ctx *ctx, const char *path, const void *buf, size_t size, size_t max,
                         int gunzip, rn__input *in);
void rn__input_free(rn_ctx *ctx, rn__input *in);

#endif /* RN_IO_INTERNAL_H */

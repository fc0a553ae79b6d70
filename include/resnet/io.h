/*
 * libresnet io: the only layer that reads and writes files. Every reader
 * also works on a memory buffer (the file function is a thin wrapper), and
 * treats its input as hostile: every size, offset, shape and dtype is checked
 * against the data and against overflow, and a failure names the file (or
 * "<memory>"), the tensor or record, and the byte offset.
 *
 * Builds without file I/O (CMake RESNET_WITH_IO=OFF, lib/sources.mk
 * RESNET_WITH_IO=0, tools/amalgamate.py --no-io) leave this whole layer out;
 * io sources compiled by hand with RN_NO_IO defined keep the path-based
 * functions, which then return RN_E_UNSUPPORTED.
 *
 * Errors shared by the readers (sentences on ctx, or on the handle's
 * context): RN_E_BAD_FORMAT for malformed input, RN_E_UNSUPPORTED for valid
 * input this library does not read (the sentence says which feature),
 * RN_E_VERSION for an unknown format version, RN_E_OVERFLOW for sizes that
 * overflow, RN_E_NO_MEMORY, and for the _file versions RN_E_IO with the
 * system's reason. A _file reader reads the whole file into one allocation
 * from the context, parses it as the _mem version does and frees it. A
 * writer given a path replaces the file atomically (temporary file, fsync,
 * rename): on failure the old file is intact. Destination arrays and *out
 * handles are untouched on failure. Handles follow their context's rule of
 * one thread at a time; functions taking ctx run on it.
 */
#ifndef RESNET_IO_H
#define RESNET_IO_H

#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Element types of arrays in files. */
#define RN_DTYPE_F32  0
#define RN_DTYPE_I64  1
#define RN_DTYPE_I32  2
#define RN_DTYPE_U8   3
#define RN_DTYPE_F16  4
#define RN_DTYPE_BF16 5
/* Recognised in IDX headers (and reported by rn_idx_info_*), not read. */
#define RN_DTYPE_I8   6
#define RN_DTYPE_I16  7
#define RN_DTYPE_F64  8

/* ---- .npy (version 1.0/2.0/3.0, little-endian, C order; f4, i8, i4, u1) ----
 * Header: dtype, number of dims (<= 8) and dims (unused ones 0). Any output
 * may be NULL. Big-endian, Fortran-order, f8 and other dtypes give
 * RN_E_UNSUPPORTED. */
RN_API rn_status rn_npy_info_mem(rn_ctx *ctx, const void *buf, size_t size, int32_t *dtype,
                                 int32_t *ndim, int64_t dims[8]);
/* Read the array converted to `want` (RN_DTYPE_F32 or RN_DTYPE_I32; integer
 * -> float allowed, float -> integer refused, i64 -> i32 checked for range)
 * into dst of dst_count elements (must equal the array's element count).
 * dst is float* for RN_DTYPE_F32 and int32_t* for RN_DTYPE_I32. A refused
 * conversion or wrong count is RN_E_INVALID_ARG, an int64 value out of int32
 * range RN_E_OVERFLOW naming the element; dst is then untouched. */
RN_API rn_status rn_npy_read_mem(rn_ctx *ctx, const void *buf, size_t size, int32_t want,
                                 void *dst, size_t dst_count);
/* Write an array (RN_DTYPE_F32, RN_DTYPE_I64, RN_DTYPE_I32 or RN_DTYPE_U8) to
 * buf; *written receives the size. With buf NULL only *written is set (the
 * size needed); a too-small cap gives RN_E_BUFFER_TOO_SMALL. data holds the
 * product of dims elements in C order (may be NULL when that is 0); ndim in
 * [0, 8]. The _file versions below read or write a path; same rules. */
RN_API rn_status rn_npy_write_mem(rn_ctx *ctx, int32_t dtype, int32_t ndim,
                                  const int64_t *dims, const void *data, void *buf, size_t cap,
                                  size_t *written);
RN_API rn_status rn_npy_info_file(rn_ctx *ctx, const char *path, int32_t *dtype, int32_t *ndim,
                                  int64_t dims[8]);
RN_API rn_status rn_npy_read_file(rn_ctx *ctx, const char *path, int32_t want, void *dst,
                                  size_t dst_count);
RN_API rn_status rn_npy_write_file(rn_ctx *ctx, const char *path, int32_t dtype, int32_t ndim,
                                   const int64_t *dims, const void *data);

/* ---- safetensors ------------------------------------------------------------
 * An 8-byte little-endian header length N, N bytes of JSON naming each
 * tensor's dtype ("F32", "F16", "BF16", "I64", "I32", "U8"), shape and
 * data_offsets, an optional "__metadata__" map of strings, then the data.
 * The reader copies what it needs: the caller's buffer may be freed after
 * rn_safetensors_open_mem returns. Tensors keep the file's header order.
 * open: the whole header and every tensor's dtype, shape and byte range are
 * checked here (dtypes other than those six are RN_E_UNSUPPORTED); *out
 * belongs to the caller: release it with rn_safetensors_close (NULL
 * accepted), before the context. */
typedef struct rn_safetensors rn_safetensors;
RN_API rn_status rn_safetensors_open_mem(rn_ctx *ctx, const void *buf, size_t size,
                                         rn_safetensors **out);
RN_API rn_status rn_safetensors_open_file(rn_ctx *ctx, const char *path, rn_safetensors **out);
RN_API void rn_safetensors_close(rn_safetensors *st);
/* Number of tensors (0 for NULL). */
RN_API int32_t rn_safetensors_count(const rn_safetensors *st);
/* name stays valid until close; dims beyond ndim are 0. Any output may be NULL. */
RN_API rn_status rn_safetensors_info(const rn_safetensors *st, int32_t index, const char **name,
                                     int32_t *dtype, int32_t *ndim, int64_t dims[8]);
/* Index of a tensor by exact name (no "module." stripping), or RN_E_NOT_FOUND. */
RN_API rn_status rn_safetensors_find(const rn_safetensors *st, const char *name, int32_t *index);
/* The tensor converted to float (any dtype); count must equal its element
 * count (RN_E_INVALID_ARG giving both otherwise), index in [0, count). */
RN_API rn_status rn_safetensors_read_f32(const rn_safetensors *st, int32_t index, float *dst,
                                         size_t count);
/* The tensor's bytes as stored (little-endian); bytes must equal its byte size. */
RN_API rn_status rn_safetensors_read_raw(const rn_safetensors *st, int32_t index, void *dst,
                                         size_t bytes);
/* A "__metadata__" value by key (valid until close), or RN_E_NOT_FOUND. */
RN_API rn_status rn_safetensors_metadata(const rn_safetensors *st, const char *key,
                                         const char **value);
/* Classes and input channels of a ResNet weight file, from "fc.weight"
 * [classes, features] and "conv1.weight" [out, in, kh, kw] ("module." prefix
 * accepted). Either output may be NULL. */
RN_API rn_status rn_safetensors_model_dims(const rn_safetensors *st, int32_t *classes,
                                           int32_t *in_channels);

/* Writer: the header lists tensors in the order added; their data is stored
 * back to back (no holes, as the format's reference loader requires) by
 * decreasing element size (8-, 4-, 2-, then 1-byte dtypes, each in the
 * order added), and the JSON header is padded with spaces to a multiple of
 * 8 bytes, so every tensor's data starts at a multiple of its element size
 * in the file. The writer holds copies of everything
 * added until rn_safetensors_writer_destroy (NULL accepted); *out of create
 * belongs to the caller. */
typedef struct rn_safetensors_writer rn_safetensors_writer;
RN_API rn_status rn_safetensors_writer_create(rn_ctx *ctx, rn_safetensors_writer **out);
/* Copies data (the tensor's elements in C order, host representation). dims
 * may be NULL when ndim is 0. Names are unique, non-empty, not "__metadata__",
 * and valid UTF-8. dtype RN_DTYPE_F32, F16, BF16, I64, I32 or U8
 * (F16/BF16 as raw 16-bit words); ndim in [0, 8]. RN_E_INVALID_ARG
 * otherwise, RN_E_OVERFLOW, RN_E_NO_MEMORY. */
RN_API rn_status rn_safetensors_writer_add(rn_safetensors_writer *w, const char *name,
                                           int32_t dtype, int32_t ndim, const int64_t *dims,
                                           const void *data);
/* Set (or replace) a "__metadata__" string; key and value are copied and
 * must be valid UTF-8 (RN_E_INVALID_ARG otherwise). */
RN_API rn_status rn_safetensors_writer_set_metadata(rn_safetensors_writer *w, const char *key,
                                                    const char *value);
/* The file into buf; buf NULL sets only *written (the size needed). A cap
 * below that size gives RN_E_BUFFER_TOO_SMALL naming it. The writer stays
 * usable (add more, save again). */
RN_API rn_status rn_safetensors_writer_save_mem(rn_safetensors_writer *w, void *buf, size_t cap,
                                                size_t *written);
/* Atomic: a temporary file is renamed over path only once complete. */
RN_API rn_status rn_safetensors_writer_save_file(rn_safetensors_writer *w, const char *path);
RN_API void rn_safetensors_writer_destroy(rn_safetensors_writer *w);

/* ---- models as safetensors (torchvision state_dict names) ---------------------
 * Load: a "module." prefix is stripped and "*.num_batches_tracked" ignored;
 * F32, F16 and BF16 are accepted. Every model tensor must be present with its
 * exact dims and nothing else may be: the first tensor that does not fit is
 * named with the reason. Everything is checked before anything is set; on
 * failure the model is unchanged. Save writes F32 tensors in state_dict
 * order with metadata {"format": "pt"}, loadable by torch's
 * load_state_dict after safetensors.torch.load_file. A mismatch is
 * RN_E_BAD_FORMAT naming the tensor ("missing", "unexpected", the two
 * shapes). save_mem with buf NULL sets only *written (the size needed).
 * Loading changes values only: plans of the model see them at their next
 * run; it is a modification of the model (not while other threads run it). */
RN_API rn_status rn_model_load_safetensors_mem(rn_model *model, const void *buf, size_t size);
RN_API rn_status rn_model_load_safetensors_file(rn_model *model, const char *path);
RN_API rn_status rn_model_save_safetensors_mem(const rn_model *model, void *buf, size_t cap,
                                               size_t *written);
RN_API rn_status rn_model_save_safetensors_file(const rn_model *model, const char *path);
/* Non-strict load, for fine-tuning (e.g. a file whose head has another class
 * count): every file tensor whose name (after "module.") and shape match a
 * model tensor is loaded (F32, F16 or BF16); the others are skipped, and the
 * model tensors not loaded keep their values (initialised or not: call
 * rn_model_init first for a fresh head). counts (may be NULL) receives
 * {loaded, skipped file tensors, model tensors kept}; report (may be NULL;
 * always NUL-terminated when report_cap > 0) one line per tensor not loaded:
 * "skipped NAME: shape [..] in the file, [..] in the model", "skipped NAME:
 * not in the model", "kept NAME: not loaded (left as it was)", ending with
 * "...\n" when it does not fit. num_batches_tracked is ignored. Only a
 * malformed file (or memory) fails; nothing is set then. */
RN_API rn_status rn_model_load_safetensors_partial_mem(rn_model *model, const void *buf,
                                                       size_t size, int32_t counts[3],
                                                       char *report, size_t report_cap);
RN_API rn_status rn_model_load_safetensors_partial_file(rn_model *model, const char *path,
                                                        int32_t counts[3], char *report,
                                                        size_t report_cap);

/* ---- weights in place: models over a constant blob -------------------------------
 * For firmware that keeps its weights in flash (docs/embedding.md). A blob
 * is a safetensors file that names its architecture in its metadata
 * ("libresnet.blob": "1", "preset", "classes", "in_channels", "width",
 * "shortcut" A|B|C|none, "flags": what rn_model_create_preset was given)
 * and holds float32 tensors with torchvision's names in the library's
 * layout: convolution weights OHWI, shape [out, kh, kw, in]; every other
 * tensor as PyTorch has it. The writer places each tensor's data at a
 * multiple of its element size (safetensors.h writer rule), so a blob that
 * starts at a 4-byte aligned address has every float aligned.
 * create_from_blob: a model whose tensors point into `data` (no copy of the
 * weights: the library allocates only the model's description, a few KB);
 * data must start at a 4-byte aligned address (RN_E_INVALID_ARG otherwise,
 * saying so), stay unchanged and outlive the model. Every tensor is checked
 * first (the first missing, unexpected, misshapen, non-F32 or misaligned
 * one is named, RN_E_BAD_FORMAT); a safetensors file without the blob
 * metadata (PyTorch's OIHW files) is refused with a sentence saying how to
 * make a blob. Inference plans work as for any model. Anything that would
 * change the weights refuses with RN_E_BAD_STATE and a sentence: training
 * plans (and so optimisers and trainers), rn_model_init,
 * rn_model_fold_batchnorm, rn_model_set_tensor and the rn_model_load_*
 * functions. flags: 0, or RN_BLOB_NO_DERIVED: its plans keep no packed or
 * Winograd-transformed copy of the weights (less RAM, slower; for
 * firmware), whereas by default inference plans derive them in RAM as for
 * any model. RN_E_UNSUPPORTED on a big-endian host.
 * save_blob: the model (made by rn_model_create_preset, else
 * RN_E_UNSUPPORTED; folded or not) as such a blob; save_blob_mem with buf
 * NULL sets only *written (the size needed), a smaller cap gives
 * RN_E_BUFFER_TOO_SMALL; the file is replaced atomically. `resnet export
 * --c-array` writes one as a C array for a firmware build.
 * create_from_blob also takes an int8 model file (metadata "format" =
 * "libresnet-int8", docs/int8.md): it is read as rn_model_load_int8_mem
 * with in_place = 1 reads it (the int8 weights stay in `data`; its plans run
 * the portable convolution on them and pack nothing). */
#define RN_BLOB_NO_DERIVED 1u
RN_API rn_status rn_model_create_from_blob(rn_ctx *ctx, const void *data, size_t size,
                                           uint32_t flags, rn_model **out);
RN_API rn_status rn_model_save_blob_mem(const rn_model *model, void *buf, size_t cap,
                                        size_t *written);
RN_API rn_status rn_model_save_blob_file(const rn_model *model, const char *path);

/* ---- int8 models (docs/int8.md) ----------------------------------------------------
 * rn_model_save_safetensors_* write an int8 model (rn_model_precision) as
 * an int8 file: metadata "format" = "libresnet-int8", "version", "arch"
 * (the architecture), "weight_layout" = "OHWI", "calibration"; per
 * convolution NAME (torchvision's module name: "conv1", "layer1.0.conv2",
 * "layer2.0.downsample.0") the tensors NAME.weight (I8 [out, k, k, in]),
 * NAME.bias (I32 [out]), NAME.weight_scale (F32 [out]) and
 * NAME.output_scale (F32 [1]); "input_scale" (F32 [1]); "fc.weight" and
 * "fc.bias" (F32, PyTorch's shapes).
 * Load: a new int8 model on ctx built from the file's architecture (*out
 * belongs to the caller). Every tensor is checked before anything is
 * built; RN_E_BAD_FORMAT with a sentence naming the tensor for a missing
 * or unexpected tensor, a wrong dtype or shape, a scale that is zero,
 * negative, NaN or Inf, a weight of -128, a bias beyond what the int32
 * accumulator holds, a non-finite fc value, or an unreadable "arch";
 * RN_E_VERSION for another format version. With in_place = 1 the model
 * keeps pointers to the int8 weights inside buf instead of copying them
 * (buf must then stay unchanged until the model is destroyed; weights in
 * flash stay there): biases, scales and the fc layer are still copied, and
 * plans run the portable convolution on those weights rather than packing
 * a copy. in_place = 0 copies everything (buf may be freed on return). */
RN_API rn_status rn_model_load_int8_mem(rn_ctx *ctx, const void *buf, size_t size,
                                        int32_t in_place, rn_model **out);
RN_API rn_status rn_model_load_int8_file(rn_ctx *ctx, const char *path, rn_model **out);

/* ---- models as ONNX -----------------------------------------------------------------
 * Import: a ResNet graph as torch.onnx.export writes it (opsets 11 to 17) is
 * read with the library's own bounded protobuf reader and mapped onto the
 * builder: a Conv stem (+ BatchNormalization or a bias folded in) + Relu
 * (+ a 3x3 stride-2 MaxPool), basic or bottleneck blocks whose main path and
 * shortcut (identity or a 1x1 projection) meet in an Add + Relu, grouped into
 * stages, then GlobalAveragePool or ReduceMean over [2, 3], Flatten or
 * Reshape, and Gemm or MatMul (+ Add). Identity and Constant nodes are
 * followed; weights may be FLOAT, DOUBLE, FLOAT16 or BFLOAT16 (raw_data or
 * typed fields). Batch norms keep their parameters (their epsilon is
 * absorbed into the running variance); a convolution with a folded bias and
 * no batch norm gets an identity batch norm carrying the bias, as
 * rn_model_fold_batchnorm makes. Any other node, op, attribute or shape is
 * refused with a sentence naming the node and its op (RN_E_UNSUPPORTED),
 * malformed protobuf (truncated varints, lengths past the end, wrong
 * initializer sizes, unknown data types) with RN_E_BAD_FORMAT naming the
 * byte offset or tensor; nothing is built until the whole graph matched.
 * *out is a new complete model on ctx (release with rn_model_destroy). */
RN_API rn_status rn_model_load_onnx_mem(rn_ctx *ctx, const void *buf, size_t size,
                                        rn_model **out);
RN_API rn_status rn_model_load_onnx_file(rn_ctx *ctx, const char *path, rn_model **out);
/* Export: the model as an ONNX graph of opset 13 (IR version 7) with its
 * batch norms kept: input "input" float [batch, C, height, width] (batch and
 * spatial dims symbolic), output "logits" float [batch, classes];
 * initializers under the torchvision state_dict names (float32, raw_data);
 * nodes Conv, BatchNormalization (epsilon 1e-5), Relu, MaxPool, Add,
 * option-A shortcuts as Slice (axes 2 and 3, step = stride) + Pad (zero
 * channels half before, half after), GlobalAveragePool, Flatten, Gemm.
 * The ONNX checker accepts it and rn_model_load_onnx_* reads it back to the
 * same logits (plain networks, which have no Add, are written but not read
 * back). save_mem with buf NULL sets only *written (the size needed); a
 * smaller cap gives RN_E_BUFFER_TOO_SMALL. RN_E_BAD_STATE for an incomplete
 * model. The file is replaced atomically. */
RN_API rn_status rn_model_save_onnx_mem(const rn_model *model, void *buf, size_t cap,
                                        size_t *written);
RN_API rn_status rn_model_save_onnx_file(const rn_model *model, const char *path);

/* ---- IDX (MNIST, Fashion-MNIST), raw or gzip-compressed ----------------------
 * Header: dtype (RN_DTYPE_U8 for ubyte; sbyte, short, int, float and double
 * are reported as RN_DTYPE_I8/I16/I32/F32/F64), 1..8 dims. Reading needs
 * ubyte data (others give RN_E_UNSUPPORTED) and dst_count equal to the
 * element count. gzip input (magic 1f 8b) is decompressed by the library
 * itself (no zlib), its CRC-32 and length checked. Header outputs may be
 * NULL; dims beyond ndim are 0. */
RN_API rn_status rn_idx_info_mem(rn_ctx *ctx, const void *buf, size_t size, int32_t *dtype,
                                 int32_t *ndim, int64_t dims[8]);
RN_API rn_status rn_idx_read_mem(rn_ctx *ctx, const void *buf, size_t size, uint8_t *dst,
                                 size_t dst_count);
RN_API rn_status rn_idx_info_file(rn_ctx *ctx, const char *path, int32_t *dtype, int32_t *ndim,
                                  int64_t dims[8]);
RN_API rn_status rn_idx_read_file(rn_ctx *ctx, const char *path, uint8_t *dst, size_t dst_count);

/* ---- CIFAR-10 binary batches, raw or gzip-compressed ---------------------------
 * Records of 1 label byte (0..9) + 3072 image bytes (3x32x32, channel-major
 * as stored). The whole input is checked (complete records, labels in
 * range); read copies the first min(records, max_records) records: images
 * receives 3072 bytes and labels 1 byte per record, *records how many.
 * Images stay channel-major (C, H, W) as stored: convert to NHWC before
 * rn_dataset_create. */
RN_API rn_status rn_cifar10_info_mem(rn_ctx *ctx, const void *buf, size_t size, size_t *records);
RN_API rn_status rn_cifar10_read_mem(rn_ctx *ctx, const void *buf, size_t size, uint8_t *images,
                                     uint8_t *labels, size_t max_records, size_t *records);
RN_API rn_status rn_cifar10_info_file(rn_ctx *ctx, const char *path, size_t *records);
RN_API rn_status rn_cifar10_read_file(rn_ctx *ctx, const char *path, uint8_t *images,
                                      uint8_t *labels, size_t max_records, size_t *records);

#ifdef __cplusplus
}
#endif
#endif /* RESNET_IO_H */

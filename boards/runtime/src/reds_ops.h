/* SPDX-License-Identifier: Apache-2.0
 * The op kernel interface (internal). Each op kernel file (kernels/<op>.c) exports one
 * reds_op_kernel_t with its parts, as TFLM's TFLMRegistration {prepare, invoke}:
 *   options  read the op's BuiltinOptions (flatbuffer) into its record      (model.c)
 *   prepare  check types, shapes (the output shape is what the op writes) and quantization;
 *            precompute per-channel / per-op constants                       (reds_init)
 *   check    active shapes of subnet k agree; add the op's MACs at subnet k  (reds_init)
 *   eval     run the op on the active subnet                                 (reds_invoke)
 * src/ops.c is the one list of ops: builtin code, name and kernel of each (docs/runtime.md,
 * "Adding an op"). Kernel files reach this header as "../src/reds_ops.h" so the firmware build
 * needs no extra include path. */
#ifndef REDS_OPS_H
#define REDS_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "flatbuffer.h"
#include "reds_internal.h"
#include "reds_kernels.h"

/* BuiltinOptions union tags of schema.fbs: the options table an op may carry. */
typedef enum {
  REDS_OPTIONS_NONE = 0,
  REDS_OPTIONS_CONV_2D = 1,           /* Conv2DOptions */
  REDS_OPTIONS_DEPTHWISE_CONV_2D = 2, /* DepthwiseConv2DOptions */
  REDS_OPTIONS_POOL_2D = 5,           /* Pool2DOptions */
  REDS_OPTIONS_FULLY_CONNECTED = 8,   /* FullyConnectedOptions */
  REDS_OPTIONS_SOFTMAX = 9,           /* SoftmaxOptions */
  REDS_OPTIONS_ADD = 11,              /* AddOptions */
  REDS_OPTIONS_RESHAPE = 17,          /* ReshapeOptions */
  REDS_OPTIONS_PAD = 22,              /* PadOptions */
  REDS_OPTIONS_REDUCER = 27           /* ReducerOptions (MEAN) */
} reds_options_tag_t;

/* One op's parts. Define it with designated initializers (.options_type = ..., .prepare = ...);
 * ops.c gives its builtin code and name. */
typedef struct {
  reds_options_tag_t options_type; /* the one options tag the op accepts; NONE: no options */
  reds_status_t (*options)(reds_ctx_t *ctx, uint32_t oi, const reds_fb_t *fb,
                           const reds_fb_table_t *opt); /* NULL: no options to read */
  reds_status_t (*prepare)(reds_ctx_t *ctx, uint32_t oi);
  reds_status_t (*check)(reds_ctx_t *ctx, uint32_t oi, const uint32_t *adim, uint32_t k,
                         uint64_t *macs);
  reds_status_t (*eval)(reds_ctx_t *ctx, const reds_op_rec_t *op);
  /* 1: prepare fills per-channel requantization (reds_fill_channel_quant), one entry of
   * ctx->qmult / ctx->qshift per output channel (the last dimension of its output) */
  uint8_t per_channel_quant;
} reds_op_kernel_t;

/* ops.c: the table index of a builtin code (-1: unsupported) and the kernel at an index (the
 * op record's `kind`, set by the parser). reds_op_name() is in reds_internal.h, the public
 * reds_op_count() / reds_op_code_at() in reds.h. */
int reds_op_index(int code);
const reds_op_kernel_t *reds_op_kernel_at(uint8_t kind);

#define MAX_DOT_DEPTH 65793 /* 255 * 128 * depth < 2^31 */

#define TRY(x)                                                                                     \
  do {                                                                                             \
    reds_status_t s_ = (x);                                                                        \
    if (s_ != REDS_OK) return s_;                                                                  \
  } while (0)

/* Reading options: a field out of range is a truncated model. */
#define REDS_OPT_I32(field, dst, def)                                                              \
  do {                                                                                             \
    if (reds_fb_i32(fb, opt, (field), (def), (dst)) < 0)                                           \
      return reds_err(ctx, REDS_ERR_TRUNCATED, "option out of range");                             \
  } while (0)
#define REDS_OPT_U8(field, dst, def)                                                               \
  do {                                                                                             \
    if (reds_fb_u8(fb, opt, (field), (def), (dst)) < 0)                                            \
      return reds_err(ctx, REDS_ERR_TRUNCATED, "option out of range");                             \
  } while (0)

/* op_common.c: shapes at the active widths adim (a subnet's row of ctx->active_dim) */
int32_t reds_act_dim(const reds_ctx_t *ctx, const uint32_t *adim, int t, int d);
void reds_dims4(const reds_ctx_t *ctx, const uint32_t *adim, int t, reds_dims_t *out);
uint64_t reds_elems_at(const reds_ctx_t *ctx, const uint32_t *adim, int t);
int32_t reds_last_dim(const reds_ctx_t *ctx, const uint32_t *adim, int t);
uint64_t reds_full_elems(const reds_tensor_t *t);
const void *reds_in_ptr(const reds_ctx_t *ctx, int t);
void *reds_out_ptr(reds_ctx_t *ctx, int t);

/* op_common.c: prepare checks, each returning a status that names op and problem */
int reds_valid_scale(float s);
reds_status_t reds_act_range(reds_ctx_t *ctx, uint32_t oi, const reds_tensor_t *out);
reds_status_t reds_need_type(reds_ctx_t *ctx, uint32_t oi, int t, int type, const char *what);
reds_status_t reds_need_act(reds_ctx_t *ctx, uint32_t oi, int t);
reds_status_t reds_need_weights(reds_ctx_t *ctx, uint32_t oi, int t, uint64_t elems);
reds_status_t reds_need_bias(reds_ctx_t *ctx, uint32_t oi, int t, int32_t n);
reds_status_t reds_fill_channel_quant(reds_ctx_t *ctx, uint32_t oi, int in, int filt, int out,
                                      int32_t n, int per_tensor_float_product);
int reds_padding_for(int padding, int32_t in, int32_t filter, int32_t stride, int32_t out,
                     int32_t *pad);
reds_status_t reds_prepare_spatial(reds_ctx_t *ctx, uint32_t oi, int in, int out, int32_t kh,
                                   int32_t kw);
reds_status_t reds_same_count(reds_ctx_t *ctx, uint32_t oi);
reds_status_t reds_prepare_weighted(reds_ctx_t *ctx, uint32_t oi, int ndims,
                                    const char *shape_error);
reds_status_t reds_prepare_conv(reds_ctx_t *ctx, uint32_t oi, int depthwise);

/* op_common.c: subnet checks */
reds_status_t reds_check_same_count(reds_ctx_t *ctx, uint32_t oi, const uint32_t *ad, uint32_t k,
                                    uint64_t *macs);
reds_status_t reds_check_channel_axis(reds_ctx_t *ctx, uint32_t oi);
reds_status_t reds_err_inconsistent(reds_ctx_t *ctx, uint32_t oi);
reds_status_t reds_check_same_channels(reds_ctx_t *ctx, uint32_t oi, const uint32_t *ad, uint32_t k,
                                       uint64_t *macs);

/* op_common.c: the pools' options and prepare */
reds_status_t reds_pool_options(reds_ctx_t *ctx, uint32_t oi, const reds_fb_t *fb,
                                const reds_fb_table_t *opt);
reds_status_t reds_prepare_pool(reds_ctx_t *ctx, uint32_t oi);

/* op_common.c: the arguments of the conv and pool kernels (reds_kernels.h) for one op */
typedef struct {
  reds_conv_params_t p;
  reds_channel_quant_t q;
  reds_dims_t in, filt, out;
  const int8_t *x, *w;
  const int32_t *bias;
  int8_t *y;
} reds_conv_args_t;
typedef struct {
  reds_pool_params_t p;
  reds_dims_t in, out;
  const int8_t *x;
  int8_t *y;
} reds_pool_args_t;
void reds_conv_args(reds_ctx_t *ctx, const reds_op_rec_t *op, reds_conv_args_t *a);
void reds_pool_args(reds_ctx_t *ctx, const reds_op_rec_t *op, reds_pool_args_t *a);

#endif /* REDS_OPS_H */

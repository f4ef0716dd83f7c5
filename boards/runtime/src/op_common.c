/* SPDX-License-Identifier: Apache-2.0
 * Helpers the op kernels' prepare / check / eval parts share (reds_ops.h): active shapes,
 * type / quantization checks, per-channel requantization tables, TFLM padding. */
#include <string.h>

#include "flatbuffer.h"
#include "reds_ops.h"
#include "../kernels/reds_quant.h"

/* ---------------------------------------------------------------- shapes */

int32_t reds_act_dim(const reds_ctx_t *ctx, const uint32_t *adim, int t, int d) {
  const reds_tensor_t *tt = &ctx->tensors[t];
  return (d == tt->axis) ? (int32_t)adim[t] : tt->dims[d];
}

/* Right-aligned [N, H, W, C] view of tensor t at the widths in adim. */
void reds_dims4(const reds_ctx_t *ctx, const uint32_t *adim, int t, reds_dims_t *out) {
  const reds_tensor_t *tt = &ctx->tensors[t];
  int32_t v[4] = {1, 1, 1, 1};
  const int n = tt->ndims;
  for (int i = 0; i < n && i < 4; ++i) v[3 - i] = reds_act_dim(ctx, adim, t, n - 1 - i);
  for (int i = 4; i < n; ++i) v[0] *= reds_act_dim(ctx, adim, t, n - 1 - i);
  out->n = v[0];
  out->h = v[1];
  out->w = v[2];
  out->c = v[3];
}

uint64_t reds_elems_at(const reds_ctx_t *ctx, const uint32_t *adim, int t) {
  uint64_t e = 1;
  for (int d = 0; d < ctx->tensors[t].ndims; ++d) e *= (uint64_t)reds_act_dim(ctx, adim, t, d);
  return e;
}

/* Last dimension of tensor t (its channel axis) at the widths in adim. */
int32_t reds_last_dim(const reds_ctx_t *ctx, const uint32_t *adim, int t) {
  const reds_tensor_t *tt = &ctx->tensors[t];
  return tt->ndims ? reds_act_dim(ctx, adim, t, tt->ndims - 1) : 1;
}

/* ------------------------------------------------------------ validation */

int reds_valid_scale(float s) { return s > 0.0f && s < 3.0e38f; } /* rejects NaN, inf, <= 0 */

reds_status_t reds_act_range(reds_ctx_t *ctx, uint32_t oi, const reds_tensor_t *out) {
  reds_op_rec_t *op = &ctx->ops[oi];
  int32_t lo = -128, hi = 127;
  if (op->fused != 0) {
    const float s = out->scale;
    const int32_t zp = out->zero_point;
    /* TFLM CalculateActivationRangeQuantized: zp + (int)round(f / scale) in float */
    const float q0 = reds_roundf(0.0f / s), q6 = reds_roundf(6.0f / s);
    const float qm1 = reds_roundf(-1.0f / s), q1 = reds_roundf(1.0f / s);
    if (op->fused == 1) {
      lo = zp + (int32_t)q0 > lo ? zp + (int32_t)q0 : lo;
    } else if (op->fused == 3) {
      lo = zp + (int32_t)q0 > lo ? zp + (int32_t)q0 : lo;
      if (q6 < 1.0e6f && zp + (int32_t)q6 < hi) hi = zp + (int32_t)q6;
    } else if (op->fused == 2) {
      if (qm1 > -1.0e6f && zp + (int32_t)qm1 > lo) lo = zp + (int32_t)qm1;
      if (q1 < 1.0e6f && zp + (int32_t)q1 < hi) hi = zp + (int32_t)q1;
    } else {
      return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, op->code,
                         "fused activation (supported: NONE, RELU, RELU_N1_TO_1, RELU6)");
    }
  }
  op->act_min = lo;
  op->act_max = hi;
  return REDS_OK;
}

reds_status_t reds_need_type(reds_ctx_t *ctx, uint32_t oi, int t, int type, const char *what) {
  if (t < 0 || ctx->tensors[t].type != type)
    return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, ctx->ops[oi].code, what);
  return REDS_OK;
}

reds_status_t reds_need_act(reds_ctx_t *ctx, uint32_t oi, int t) {
  const reds_tensor_t *tt = &ctx->tensors[t];
  if (tt->data != NULL)
    return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, ctx->ops[oi].code,
                       "constant activation input or output");
  if (tt->type == REDS_TYPE_INT8) {
    if (!reds_valid_scale(tt->scale) || tt->zero_point < -128 || tt->zero_point > 127)
      return reds_err_op(ctx, REDS_ERR_QUANT, oi, ctx->ops[oi].code,
                         "int8 activation without a valid scale / zero point");
  }
  return REDS_OK;
}

/* Weights: constant int8, symmetric, data at least `elems` bytes. */
reds_status_t reds_need_weights(reds_ctx_t *ctx, uint32_t oi, int t, uint64_t elems) {
  const reds_tensor_t *tt = &ctx->tensors[t];
  if (tt->data == NULL || tt->type != REDS_TYPE_INT8)
    return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, ctx->ops[oi].code,
                       "weights must be constant int8");
  if (tt->data_len < elems)
    return reds_err_op(ctx, REDS_ERR_TRUNCATED, oi, ctx->ops[oi].code, "weight buffer too short");
  if (tt->zero_point != 0)
    return reds_err_op(ctx, REDS_ERR_QUANT, oi, ctx->ops[oi].code, "weight zero point is not 0");
  return REDS_OK;
}

reds_status_t reds_need_bias(reds_ctx_t *ctx, uint32_t oi, int t, int32_t n) {
  if (t < 0) return REDS_OK;
  const reds_tensor_t *tt = &ctx->tensors[t];
  if (tt->data == NULL || tt->type != REDS_TYPE_INT32)
    return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, ctx->ops[oi].code,
                       "bias must be constant int32");
  if (tt->data_len < 4u * (uint32_t)n || tt->ndims != 1 || tt->dims[0] != n)
    return reds_err_op(ctx, REDS_ERR_SHAPE, oi, ctx->ops[oi].code,
                       "bias length differs from outputs");
  if (((uintptr_t)tt->data & 3u) != 0)
    return reds_err_op(ctx, REDS_ERR_MODEL, oi, ctx->ops[oi].code,
                       "bias buffer not 4-byte aligned (load the model at an aligned address)");
  return REDS_OK;
}

/* Per-channel requantization table for n output channels (TFLM conv / FC Prepare). */
reds_status_t reds_fill_channel_quant(reds_ctx_t *ctx, uint32_t oi, int in, int filt, int out,
                                      int32_t n, int per_tensor_float_product) {
  reds_op_rec_t *op = &ctx->ops[oi];
  const reds_tensor_t *w = &ctx->tensors[filt];
  if (w->num_scales != 1 && w->num_scales != (uint32_t)n)
    return reds_err_op(ctx, REDS_ERR_QUANT, oi, op->code,
                       "weight scales count differs from outputs");
  if ((uint64_t)ctx->qused + (uint64_t)n > ctx->qcap) /* qcap counted the same outputs */
    return reds_err_op(ctx, REDS_ERR_SHAPE, oi, op->code,
                       "output channels differ from the output shape");
  op->qoff = ctx->qused;
  const float in_s = ctx->tensors[in].scale, out_s = ctx->tensors[out].scale;
  for (int32_t c = 0; c < n; ++c) {
    const float ws = reds_ld_f32(w->scales + 4u * (w->num_scales == 1 ? 0u : (uint32_t)c));
    if (!reds_valid_scale(ws))
      return reds_err_op(ctx, REDS_ERR_QUANT, oi, op->code, "weight scale not positive and finite");
    double real;
    if (per_tensor_float_product) /* FC per-tensor: GetQuantizedConvolutionMultipler */
      real = (double)(float)(in_s * ws) / (double)out_s;
    else
      real = (double)in_s * (double)ws / (double)out_s;
    int32_t m;
    int sh;
    if (reds_quantize_multiplier(real, &m, &sh) != 0 || sh > 30)
      return reds_err_op(ctx, REDS_ERR_QUANT, oi, op->code,
                         "requantization multiplier out of range");
    ctx->qmult[ctx->qused + (uint32_t)c] = m;
    ctx->qshift[ctx->qused + (uint32_t)c] = (int8_t)sh;
  }
  ctx->qused += (uint32_t)n;
  return REDS_OK;
}

/* TFLM ComputePaddingHeightWidth for one axis (dilation 1); returns -1 on a shape mismatch. */
int reds_padding_for(int padding, int32_t in, int32_t filter, int32_t stride, int32_t out,
                     int32_t *pad) {
  int64_t expect;
  if (padding == 0)
    expect = ((int64_t)in + stride - 1) / stride;
  else if (padding == 1)
    expect = ((int64_t)in - filter + stride) / stride;
  else
    return -1;
  if (expect != out || out < 1) return -1;
  const int64_t total = (int64_t)(out - 1) * stride + filter - in;
  if (total > 2 * (int64_t)filter) return -1; /* padding larger than the filter */
  *pad = total > 0 ? (int32_t)(total / 2) : 0;
  return 0;
}

reds_status_t reds_prepare_spatial(reds_ctx_t *ctx, uint32_t oi, int in, int out, int32_t kh,
                                   int32_t kw) {
  reds_op_rec_t *op = &ctx->ops[oi];
  if (ctx->tensors[in].ndims != 4 || ctx->tensors[out].ndims != 4)
    return reds_err_op(ctx, REDS_ERR_SHAPE, oi, op->code, "input and output must be 4-D [N,H,W,C]");
  if (op->stride_w < 1 || op->stride_h < 1 || op->stride_w > 4096 || op->stride_h > 4096)
    return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, op->code, "stride below 1");
  if (kh < 1 || kw < 1 || kh > 4096 || kw > 4096)
    return reds_err_op(ctx, REDS_ERR_SHAPE, oi, op->code, "filter size below 1");
  const int32_t *di = ctx->tensors[in].dims, *dout = ctx->tensors[out].dims;
  if (di[0] != dout[0]) return reds_err_op(ctx, REDS_ERR_SHAPE, oi, op->code, "batch differs");
  if (reds_padding_for(op->padding, di[1], kh, op->stride_h, dout[1], &op->pad_h) < 0 ||
      reds_padding_for(op->padding, di[2], kw, op->stride_w, dout[2], &op->pad_w) < 0)
    return reds_err_op(ctx, REDS_ERR_SHAPE, oi, op->code,
                       "output size does not match padding / stride (or unknown padding)");
  return REDS_OK;
}

const void *reds_in_ptr(const reds_ctx_t *ctx, int t) {
  if (t < 0) return NULL;
  const reds_tensor_t *tt = &ctx->tensors[t];
  return tt->data != NULL ? (const void *)tt->data
                          : (const void *)(ctx->arena + ctx->cur_offset[t]);
}

void *reds_out_ptr(reds_ctx_t *ctx, int t) { return ctx->arena + ctx->cur_offset[t]; }

uint64_t reds_full_elems(const reds_tensor_t *t) {
  uint64_t n = 1;
  for (int d = 0; d < t->ndims; ++d) n *= (uint64_t)t->dims[d];
  return n;
}

reds_status_t reds_same_count(reds_ctx_t *ctx, uint32_t oi) {
  const reds_op_rec_t *op = &ctx->ops[oi];
  if (reds_full_elems(&ctx->tensors[op->in[0]]) != reds_full_elems(&ctx->tensors[op->out]))
    return reds_err_op(ctx, REDS_ERR_SHAPE, oi, op->code, "element counts differ");
  return REDS_OK;
}

/* Default subnet check (RESHAPE, QUANTIZE, DEQUANTIZE): same active element count, sliced (if at
 * all) on the channel-fastest last axis on both sides. */
reds_status_t reds_check_same_count(reds_ctx_t *ctx, uint32_t oi, const uint32_t *ad, uint32_t k,
                                    uint64_t *macs) {
  const reds_op_rec_t *op = &ctx->ops[oi];
  const reds_tensor_t *ti = &ctx->tensors[op->in[0]], *to = &ctx->tensors[op->out];
  (void)k;
  (void)macs;
  const int ok = reds_elems_at(ctx, ad, op->in[0]) == reds_elems_at(ctx, ad, op->out) &&
                 (ti->axis < 0 || ti->axis == ti->ndims - 1) &&
                 (to->axis < 0 || to->axis == to->ndims - 1) && ((ti->axis < 0) == (to->axis < 0));
  return ok ? REDS_OK : reds_err_inconsistent(ctx, oi);
}

reds_status_t reds_err_inconsistent(reds_ctx_t *ctx, uint32_t oi) {
  return reds_err_op(ctx, REDS_ERR_METADATA, oi, ctx->ops[oi].code,
                     "channel groups give inconsistent active widths to this op's tensors");
}

/* Spatial ops (conv, depthwise, pools, mean): a sliced tensor must be sliced on its channels. */
reds_status_t reds_check_channel_axis(reds_ctx_t *ctx, uint32_t oi) {
  const reds_op_rec_t *op = &ctx->ops[oi];
  const reds_tensor_t *ti = &ctx->tensors[op->in[0]], *to = &ctx->tensors[op->out];
  if ((ti->axis >= 0 && ti->axis != ti->ndims - 1) || (to->axis >= 0 && to->axis != to->ndims - 1))
    return reds_err_op(ctx, REDS_ERR_METADATA, oi, op->code,
                       "group member sliced on a non-channel axis");
  return REDS_OK;
}

/* Ops with weights (conv, depthwise, fully connected): int8 input and output, and a weights
 * tensor as input 1 with `ndims` dims (else `shape_error`). */
reds_status_t reds_prepare_weighted(reds_ctx_t *ctx, uint32_t oi, int ndims,
                                    const char *shape_error) {
  const reds_op_rec_t *op = &ctx->ops[oi];
  TRY(reds_need_type(ctx, oi, op->in[0], REDS_TYPE_INT8, "input type (int8 only)"));
  TRY(reds_need_type(ctx, oi, op->out, REDS_TYPE_INT8, "output type (int8 only)"));
  if (op->num_in < 2 || ctx->tensors[op->in[1]].ndims != ndims)
    return reds_err_op(ctx, REDS_ERR_SHAPE, oi, op->code, shape_error);
  return REDS_OK;
}

/* CONV_2D and DEPTHWISE_CONV_2D prepare (TFLM conv_common / depthwise_conv_common): int8 in/out,
 * 4-D symmetric int8 filter, int32 bias, output size from padding and stride, per-channel
 * requantization, accumulator bound. */
reds_status_t reds_prepare_conv(reds_ctx_t *ctx, uint32_t oi, int depthwise) {
  reds_op_rec_t *op = &ctx->ops[oi];
  const int in = op->in[0], out = op->out, code = op->code;
  const reds_tensor_t *ti = &ctx->tensors[in], *to = &ctx->tensors[out];
  TRY(reds_prepare_weighted(ctx, oi, 4, "filter must be 4-D"));
  const int f = op->in[1], bias = op->num_in >= 3 ? op->in[2] : -1;
  const int32_t *fd = ctx->tensors[f].dims;
  TRY(reds_need_weights(ctx, oi, f, (uint64_t)fd[0] * fd[1] * fd[2] * fd[3]));
  TRY(reds_prepare_spatial(ctx, oi, in, out, fd[1], fd[2]));
  const int32_t cin = ti->dims[3], cout = to->dims[3];
  if (!depthwise) {
    if (fd[3] != cin || fd[0] != cout)
      return reds_err_op(ctx, REDS_ERR_SHAPE, oi, code,
                         "filter [O,kh,kw,I] does not match input/output channels");
    if ((int64_t)fd[1] * fd[2] * cin > MAX_DOT_DEPTH)
      return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, code,
                         "kernel depth could overflow the int32 accumulator");
  } else {
    if (fd[0] != 1 || fd[3] != cin || cout != cin)
      return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, code, "depth multiplier other than 1");
    if ((int64_t)fd[1] * fd[2] > MAX_DOT_DEPTH)
      return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, code,
                         "kernel could overflow the int32 accumulator");
  }
  TRY(reds_need_bias(ctx, oi, bias, cout));
  TRY(reds_fill_channel_quant(ctx, oi, in, f, out, cout, 0));
  return reds_act_range(ctx, oi, to);
}

/* ------------------------------------------------------------------ shared by several kernels */

/* Ops whose output has the input's channels (pools, MEAN, PAD): the same active last dim. */
reds_status_t reds_check_same_channels(reds_ctx_t *ctx, uint32_t oi, const uint32_t *ad, uint32_t k,
                                       uint64_t *macs) {
  const reds_op_rec_t *op = &ctx->ops[oi];
  (void)k;
  (void)macs;
  TRY(reds_check_channel_axis(ctx, oi));
  return reds_last_dim(ctx, ad, op->in[0]) == reds_last_dim(ctx, ad, op->out)
             ? REDS_OK
             : reds_err_inconsistent(ctx, oi);
}

/* Pool2DOptions (AVERAGE_POOL_2D, MAX_POOL_2D). */
reds_status_t reds_pool_options(reds_ctx_t *ctx, uint32_t oi, const reds_fb_t *fb,
                                const reds_fb_table_t *opt) {
  reds_op_rec_t *op = &ctx->ops[oi];
  REDS_OPT_U8(0, &op->padding, 0);
  REDS_OPT_I32(1, &op->stride_w, 0);
  REDS_OPT_I32(2, &op->stride_h, 0);
  REDS_OPT_I32(3, &op->filter_w, 0);
  REDS_OPT_I32(4, &op->filter_h, 0);
  REDS_OPT_U8(5, &op->fused, 0);
  return REDS_OK;
}

/* CONV_2D / DEPTHWISE_CONV_2D eval: the kernel's arguments at the current widths. (Filled in
 * here and called directly by each kernel file: an indirect call would hide the kernel's stack
 * frame from reds.runtime.stack_usage.) */
void reds_conv_args(reds_ctx_t *ctx, const reds_op_rec_t *op, reds_conv_args_t *a) {
  const reds_tensor_t *ti = &ctx->tensors[op->in[0]], *to = &ctx->tensors[op->out];
  const reds_conv_params_t p = {op->stride_w,
                                op->stride_h,
                                op->pad_w,
                                op->pad_h,
                                -ti->zero_point,
                                to->zero_point,
                                {op->act_min, op->act_max}};
  a->p = p;
  a->q.multiplier = ctx->qmult + op->qoff;
  a->q.shift = ctx->qshift + op->qoff;
  reds_dims4(ctx, ctx->cur_dim, op->in[0], &a->in);
  reds_dims4(ctx, ctx->cur_dim, op->in[1], &a->filt); /* constant: full dims */
  reds_dims4(ctx, ctx->cur_dim, op->out, &a->out);
  a->x = (const int8_t *)reds_in_ptr(ctx, op->in[0]);
  a->w = (const int8_t *)reds_in_ptr(ctx, op->in[1]);
  a->bias = op->num_in >= 3 ? (const int32_t *)reds_in_ptr(ctx, op->in[2]) : NULL;
  a->y = (int8_t *)reds_out_ptr(ctx, op->out);
}

/* AVERAGE_POOL_2D / MAX_POOL_2D eval arguments. */
void reds_pool_args(reds_ctx_t *ctx, const reds_op_rec_t *op, reds_pool_args_t *a) {
  const reds_pool_params_t p = {op->stride_w,
                                op->stride_h,
                                op->filter_w,
                                op->filter_h,
                                op->pad_w,
                                op->pad_h,
                                {op->act_min, op->act_max}};
  a->p = p;
  reds_dims4(ctx, ctx->cur_dim, op->in[0], &a->in);
  reds_dims4(ctx, ctx->cur_dim, op->out, &a->out);
  a->x = (const int8_t *)reds_in_ptr(ctx, op->in[0]);
  a->y = (int8_t *)reds_out_ptr(ctx, op->out);
}

/* Pools: int8 in/out, same channels, output size from padding / stride / window. */
reds_status_t reds_prepare_pool(reds_ctx_t *ctx, uint32_t oi) {
  reds_op_rec_t *op = &ctx->ops[oi];
  const int in = op->in[0], out = op->out, code = op->code;
  TRY(reds_need_type(ctx, oi, in, REDS_TYPE_INT8, "input type (int8 only)"));
  TRY(reds_need_type(ctx, oi, out, REDS_TYPE_INT8, "output type (int8 only)"));
  TRY(reds_prepare_spatial(ctx, oi, in, out, op->filter_h, op->filter_w));
  if (ctx->tensors[in].dims[3] != ctx->tensors[out].dims[3])
    return reds_err_op(ctx, REDS_ERR_SHAPE, oi, code, "channels differ");
  if ((int64_t)op->filter_h * op->filter_w > (1 << 22)) /* window sum must fit int32 */
    return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, code, "pooling window too large");
  return reds_act_range(ctx, oi, &ctx->tensors[out]);
}

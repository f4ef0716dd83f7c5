/* SPDX-License-Identifier: Apache-2.0
 * reds_init (parse, validate, precompute requantization, plan every subnet), reds_select (O(1)),
 * reds_invoke (run the operators of the active subnet) and the small accessors of reds.h. */
#include <string.h>

#include "flatbuffer.h"
#include "reds.h"
#include "reds_ctx.h"
#include "reds_internal.h"
#include "reds_kernels.h"
#include "reds_quant.h"
#include "validate.h"

#define MAX_DOT_DEPTH 65793 /* 255 * 128 * depth < 2^31 */

/* ---------------------------------------------------------------- shapes */

static int32_t act_dim(const reds_ctx_t *ctx, const uint32_t *adim, int t, int d) {
  const reds_tensor_t *tt = &ctx->tensors[t];
  return (d == tt->axis) ? (int32_t)adim[t] : tt->dims[d];
}

/* Right-aligned [N, H, W, C] view of tensor t at the widths in adim. */
static void dims4(const reds_ctx_t *ctx, const uint32_t *adim, int t, reds_dims_t *out) {
  const reds_tensor_t *tt = &ctx->tensors[t];
  int32_t v[4] = {1, 1, 1, 1};
  const int n = tt->ndims;
  for (int i = 0; i < n && i < 4; ++i) v[3 - i] = act_dim(ctx, adim, t, n - 1 - i);
  for (int i = 4; i < n; ++i) v[0] *= act_dim(ctx, adim, t, n - 1 - i);
  out->n = v[0];
  out->h = v[1];
  out->w = v[2];
  out->c = v[3];
}

static uint64_t elems_at(const reds_ctx_t *ctx, const uint32_t *adim, int t) {
  uint64_t e = 1;
  for (int d = 0; d < ctx->tensors[t].ndims; ++d) e *= (uint64_t)act_dim(ctx, adim, t, d);
  return e;
}

/* Last dimension of tensor t (its channel axis) at the widths in adim. */
static int32_t last_dim(const reds_ctx_t *ctx, const uint32_t *adim, int t) {
  const reds_tensor_t *tt = &ctx->tensors[t];
  return tt->ndims ? act_dim(ctx, adim, t, tt->ndims - 1) : 1;
}

/* ------------------------------------------------------------ validation */

static int valid_scale(float s) { return s > 0.0f && s < 3.0e38f; } /* rejects NaN, inf, <= 0 */

static reds_status_t act_range(reds_ctx_t *ctx, uint32_t oi, const reds_tensor_t *out) {
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

static reds_status_t need_type(reds_ctx_t *ctx, uint32_t oi, int t, int type, const char *what) {
  if (t < 0 || ctx->tensors[t].type != type)
    return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, ctx->ops[oi].code, what);
  return REDS_OK;
}

static reds_status_t need_act(reds_ctx_t *ctx, uint32_t oi, int t) {
  const reds_tensor_t *tt = &ctx->tensors[t];
  if (tt->data != NULL)
    return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, ctx->ops[oi].code,
                       "constant activation input or output");
  if (tt->type == REDS_TYPE_INT8) {
    if (!valid_scale(tt->scale) || tt->zero_point < -128 || tt->zero_point > 127)
      return reds_err_op(ctx, REDS_ERR_QUANT, oi, ctx->ops[oi].code,
                         "int8 activation without a valid scale / zero point");
  }
  return REDS_OK;
}

/* Weights: constant int8, symmetric, data at least `elems` bytes. */
static reds_status_t need_weights(reds_ctx_t *ctx, uint32_t oi, int t, uint64_t elems) {
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

static reds_status_t need_bias(reds_ctx_t *ctx, uint32_t oi, int t, int32_t n) {
  if (t < 0) return REDS_OK;
  const reds_tensor_t *tt = &ctx->tensors[t];
  if (tt->data == NULL || tt->type != REDS_TYPE_INT32)
    return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, ctx->ops[oi].code,
                       "bias must be constant int32");
  if (tt->data_len < 4u * (uint32_t)n || tt->ndims != 1 || tt->dims[0] != n)
    return reds_err_op(ctx, REDS_ERR_SHAPE, oi, ctx->ops[oi].code, "bias length differs from outputs");
  if (((uintptr_t)tt->data & 3u) != 0)
    return reds_err_op(ctx, REDS_ERR_MODEL, oi, ctx->ops[oi].code,
                       "bias buffer not 4-byte aligned (load the model at an aligned address)");
  return REDS_OK;
}

/* Per-channel requantization table for n output channels (TFLM conv / FC Prepare). */
static reds_status_t fill_channel_quant(reds_ctx_t *ctx, uint32_t oi, int in, int filt, int out,
                                        int32_t n, int per_tensor_float_product) {
  reds_op_rec_t *op = &ctx->ops[oi];
  const reds_tensor_t *w = &ctx->tensors[filt];
  if (w->num_scales != 1 && w->num_scales != (uint32_t)n)
    return reds_err_op(ctx, REDS_ERR_QUANT, oi, op->code, "weight scales count differs from outputs");
  if (ctx->qused + (uint32_t)n > REDS_MAX_QCHANNELS)
    return reds_err_op(ctx, REDS_ERR_CAPACITY, oi, op->code,
                       "more output channels in total than REDS_MAX_QCHANNELS");
  op->qoff = ctx->qused;
  const float in_s = ctx->tensors[in].scale, out_s = ctx->tensors[out].scale;
  for (int32_t c = 0; c < n; ++c) {
    const float ws = reds_ld_f32(w->scales + 4u * (w->num_scales == 1 ? 0u : (uint32_t)c));
    if (!valid_scale(ws))
      return reds_err_op(ctx, REDS_ERR_QUANT, oi, op->code, "weight scale not positive and finite");
    double real;
    if (per_tensor_float_product) /* FC per-tensor: GetQuantizedConvolutionMultipler */
      real = (double)(float)(in_s * ws) / (double)out_s;
    else
      real = (double)in_s * (double)ws / (double)out_s;
    int32_t m;
    int sh;
    if (reds_quantize_multiplier(real, &m, &sh) != 0 || sh > 30)
      return reds_err_op(ctx, REDS_ERR_QUANT, oi, op->code, "requantization multiplier out of range");
    ctx->qmult[ctx->qused + (uint32_t)c] = m;
    ctx->qshift[ctx->qused + (uint32_t)c] = (int8_t)sh;
  }
  ctx->qused += (uint32_t)n;
  return REDS_OK;
}

/* TFLM ComputePaddingHeightWidth for one axis (dilation 1); returns -1 on a shape mismatch. */
static int padding_for(int padding, int32_t in, int32_t filter, int32_t stride, int32_t out,
                       int32_t *pad) {
  int64_t expect;
  if (padding == 0) expect = ((int64_t)in + stride - 1) / stride;
  else if (padding == 1) expect = ((int64_t)in - filter + stride) / stride;
  else return -1;
  if (expect != out || out < 1) return -1;
  const int64_t total = (int64_t)(out - 1) * stride + filter - in;
  if (total > 2 * (int64_t)filter) return -1; /* padding larger than the filter */
  *pad = total > 0 ? (int32_t)(total / 2) : 0;
  return 0;
}

static reds_status_t prepare_spatial(reds_ctx_t *ctx, uint32_t oi, int in, int out, int32_t kh,
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
  if (padding_for(op->padding, di[1], kh, op->stride_h, dout[1], &op->pad_h) < 0 ||
      padding_for(op->padding, di[2], kw, op->stride_w, dout[2], &op->pad_w) < 0)
    return reds_err_op(ctx, REDS_ERR_SHAPE, oi, op->code,
                       "output size does not match padding / stride (or unknown padding)");
  return REDS_OK;
}

#define TRY(x)                       \
  do {                               \
    reds_status_t s_ = (x);          \
    if (s_ != REDS_OK) return s_;    \
  } while (0)

static reds_status_t prepare_op(reds_ctx_t *ctx, uint32_t oi) {
  reds_op_rec_t *op = &ctx->ops[oi];
  const int in = op->in[0], out = op->out;
  const int code = op->code;
  if (op->num_in < 1 || in < 0) return reds_err_op(ctx, REDS_ERR_MODEL, oi, code, "missing input");
  TRY(need_act(ctx, oi, out));
  reds_tensor_t *ti = &ctx->tensors[in], *to = &ctx->tensors[out];
  if (code != REDS_OP_QUANTIZE) TRY(need_act(ctx, oi, in));
  switch (code) {
    case REDS_OP_CONV_2D:
    case REDS_OP_DEPTHWISE_CONV_2D: {
      const int f = op->num_in >= 2 ? op->in[1] : -1;
      const int bias = op->num_in >= 3 ? op->in[2] : -1;
      TRY(need_type(ctx, oi, in, REDS_TYPE_INT8, "input type (int8 only)"));
      TRY(need_type(ctx, oi, out, REDS_TYPE_INT8, "output type (int8 only)"));
      if (f < 0 || ctx->tensors[f].ndims != 4)
        return reds_err_op(ctx, REDS_ERR_SHAPE, oi, code, "filter must be 4-D");
      const int32_t *fd = ctx->tensors[f].dims;
      TRY(need_weights(ctx, oi, f, (uint64_t)fd[0] * fd[1] * fd[2] * fd[3]));
      TRY(prepare_spatial(ctx, oi, in, out, fd[1], fd[2]));
      const int32_t cin = ti->dims[3], cout = to->dims[3];
      if (code == REDS_OP_CONV_2D) {
        if (fd[3] != cin || fd[0] != cout)
          return reds_err_op(ctx, REDS_ERR_SHAPE, oi, code, "filter [O,kh,kw,I] does not match input/output channels");
        if ((int64_t)fd[1] * fd[2] * cin > MAX_DOT_DEPTH)
          return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, code, "kernel depth could overflow the int32 accumulator");
      } else {
        if (fd[0] != 1 || fd[3] != cin || cout != cin)
          return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, code, "depth multiplier other than 1");
        if ((int64_t)fd[1] * fd[2] > MAX_DOT_DEPTH)
          return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, code, "kernel could overflow the int32 accumulator");
      }
      TRY(need_bias(ctx, oi, bias, cout));
      TRY(fill_channel_quant(ctx, oi, in, f, out, cout, 0));
      return act_range(ctx, oi, to);
    }
    case REDS_OP_FULLY_CONNECTED: {
      const int f = op->num_in >= 2 ? op->in[1] : -1;
      const int bias = op->num_in >= 3 ? op->in[2] : -1;
      TRY(need_type(ctx, oi, in, REDS_TYPE_INT8, "input type (int8 only)"));
      TRY(need_type(ctx, oi, out, REDS_TYPE_INT8, "output type (int8 only)"));
      if (f < 0 || ctx->tensors[f].ndims != 2)
        return reds_err_op(ctx, REDS_ERR_SHAPE, oi, code, "weights must be 2-D [O, I]");
      const int32_t O = ctx->tensors[f].dims[0], I = ctx->tensors[f].dims[1];
      TRY(need_weights(ctx, oi, f, (uint64_t)O * I));
      if (I > MAX_DOT_DEPTH)
        return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, code, "input depth could overflow the int32 accumulator");
      uint64_t full_in = 1, full_out = 1;
      for (int d = 0; d < ti->ndims; ++d) full_in *= (uint64_t)ti->dims[d];
      for (int d = 0; d < to->ndims; ++d) full_out *= (uint64_t)to->dims[d];
      if (to->ndims < 1 || full_in % (uint64_t)I != 0 ||
          full_out != (full_in / (uint64_t)I) * (uint64_t)O || to->dims[to->ndims - 1] != O)
        return reds_err_op(ctx, REDS_ERR_SHAPE, oi, code, "input/output sizes do not match weights [O, I]");
      if (ti->axis >= 0) {
        if (ti->axis != ti->ndims - 1 || (uint32_t)I % ctx->full_width[ti->group] != 0)
          return reds_err_op(ctx, REDS_ERR_METADATA, oi, code,
                             "sliced input must be sliced on its last axis, a divisor of the weight depth");
      }
      TRY(need_bias(ctx, oi, bias, O));
      const int per_channel = ctx->tensors[f].num_scales > 1;
      TRY(fill_channel_quant(ctx, oi, in, f, out, O, !per_channel));
      return act_range(ctx, oi, to);
    }
    case REDS_OP_AVERAGE_POOL_2D:
    case REDS_OP_MAX_POOL_2D:
      TRY(need_type(ctx, oi, in, REDS_TYPE_INT8, "input type (int8 only)"));
      TRY(need_type(ctx, oi, out, REDS_TYPE_INT8, "output type (int8 only)"));
      TRY(prepare_spatial(ctx, oi, in, out, op->filter_h, op->filter_w));
      if (ti->dims[3] != to->dims[3]) return reds_err_op(ctx, REDS_ERR_SHAPE, oi, code, "channels differ");
      if ((int64_t)op->filter_h * op->filter_w > (1 << 22)) /* window sum must fit int32 */
        return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, code, "pooling window too large");
      return act_range(ctx, oi, to);
    case REDS_OP_MEAN: {
      const int ax = op->num_in >= 2 ? op->in[1] : -1;
      TRY(need_type(ctx, oi, in, REDS_TYPE_INT8, "input type (int8 only)"));
      TRY(need_type(ctx, oi, out, REDS_TYPE_INT8, "output type (int8 only)"));
      if (ax < 0 || ctx->tensors[ax].type != REDS_TYPE_INT32 || ctx->tensors[ax].data == NULL ||
          ctx->tensors[ax].data_len < 8 || ctx->tensors[ax].ndims > 1 ||
          (ctx->tensors[ax].ndims == 1 && ctx->tensors[ax].dims[0] != 2))
        return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, code, "axis must be a constant int32 pair");
      int32_t a0 = reds_ld_i32(ctx->tensors[ax].data), a1 = reds_ld_i32(ctx->tensors[ax].data + 4);
      if (a0 < 0) a0 += 4;
      if (a1 < 0) a1 += 4;
      if (ti->ndims != 4 || !((a0 == 1 && a1 == 2) || (a0 == 2 && a1 == 1)))
        return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, code, "only the mean over H and W of a 4-D input");
      const int32_t N = ti->dims[0], C = ti->dims[3];
      const int ok = op->keep_dims
                         ? (to->ndims == 4 && to->dims[0] == N && to->dims[1] == 1 && to->dims[2] == 1 && to->dims[3] == C)
                         : (to->ndims == 2 && to->dims[0] == N && to->dims[1] == C);
      if (!ok) return reds_err_op(ctx, REDS_ERR_SHAPE, oi, code, "output shape does not match keep_dims");
      const int64_t hw = (int64_t)ti->dims[1] * ti->dims[2];
      if (hw > (1 << 22)) return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, code, "window too large");
      op->same_quant = (ti->zero_point == to->zero_point && ti->scale == to->scale);
      int32_t m;
      int sh;
      if (reds_quantize_multiplier((double)ti->scale / (double)to->scale, &m, &sh) != 0 || sh > 30)
        return reds_err_op(ctx, REDS_ERR_QUANT, oi, code, "requantization multiplier out of range");
      /* QuantizedMeanOrSum folds 1/HW: shift = min(floor(log2 HW), 32, 31 + shift) */
      int s = 0;
      while (((int64_t)1 << (s + 1)) <= hw) ++s;
      if (s > 32) s = 32;
      if (s > 31 + sh) s = 31 + sh;
      op->m[0] = (int32_t)(((int64_t)m << s) / hw);
      op->s[0] = sh - s;
      return REDS_OK;
    }
    case REDS_OP_ADD: {
      const int in2 = op->num_in >= 2 ? op->in[1] : -1;
      if (in2 < 0) return reds_err_op(ctx, REDS_ERR_MODEL, oi, code, "missing second input");
      TRY(need_act(ctx, oi, in2));
      TRY(need_type(ctx, oi, in, REDS_TYPE_INT8, "input type (int8 only)"));
      TRY(need_type(ctx, oi, in2, REDS_TYPE_INT8, "input type (int8 only)"));
      TRY(need_type(ctx, oi, out, REDS_TYPE_INT8, "output type (int8 only)"));
      const reds_tensor_t *t2 = &ctx->tensors[in2];
      if (ti->ndims != t2->ndims || ti->ndims != to->ndims ||
          memcmp(ti->dims, t2->dims, sizeof(int32_t) * ti->ndims) != 0 ||
          memcmp(ti->dims, to->dims, sizeof(int32_t) * ti->ndims) != 0)
        return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, code, "broadcasting ADD (shapes differ)");
      const float s1 = ti->scale, s2 = t2->scale;
      const double twice_max = 2.0 * (double)(s1 > s2 ? s1 : s2);
      int32_t m[3];
      int sh[3];
      const double real[3] = {(double)s1 / twice_max, (double)s2 / twice_max,
                              twice_max / ((double)(1 << 20) * (double)to->scale)};
      for (int j = 0; j < 3; ++j) {
        if (!(real[j] > 0.0 && real[j] < 1.0) || reds_quantize_multiplier(real[j], &m[j], &sh[j]) != 0 || sh[j] > 0)
          return reds_err_op(ctx, REDS_ERR_QUANT, oi, code, "rescale multiplier not in (0, 1)");
        op->m[j] = m[j];
        op->s[j] = sh[j];
      }
      return act_range(ctx, oi, to);
    }
    case REDS_OP_RESHAPE: {
      if (ti->type != to->type || reds_type_size(ti->type) == 0)
        return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, code, "input and output types differ");
      uint64_t a = 1, b = 1;
      for (int d = 0; d < ti->ndims; ++d) a *= (uint64_t)ti->dims[d];
      for (int d = 0; d < to->ndims; ++d) b *= (uint64_t)to->dims[d];
      if (a != b) return reds_err_op(ctx, REDS_ERR_SHAPE, oi, code, "element counts differ");
      return REDS_OK;
    }
    case REDS_OP_SOFTMAX: {
      TRY(need_type(ctx, oi, in, REDS_TYPE_INT8, "input type (int8 only)"));
      TRY(need_type(ctx, oi, out, REDS_TYPE_INT8, "output type (int8 only)"));
      if (ti->ndims < 1 || ti->ndims != to->ndims || memcmp(ti->dims, to->dims, sizeof(int32_t) * ti->ndims) != 0)
        return reds_err_op(ctx, REDS_ERR_SHAPE, oi, code, "input and output shapes differ");
      if (ti->dims[ti->ndims - 1] > 4095)
        return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, code, "softmax depth above 4095");
      if (to->zero_point != -128 || to->scale != 1.0f / 256.0f)
        return reds_err_op(ctx, REDS_ERR_QUANT, oi, code, "int8 output must have scale 1/256, zero point -128");
      /* PreprocessSoftmaxScaling(beta, input_scale, 5) and CalculateInputRadius(5, shift, 31) */
      double real = (double)op->beta * (double)ti->scale * (double)(1 << 26);
      if (real > 2147483647.0) real = 2147483647.0;
      int32_t m;
      int sh;
      if (!(real > 1.0) || reds_quantize_multiplier(real, &m, &sh) != 0 || sh < 0 || sh > 30)
        return reds_err_op(ctx, REDS_ERR_QUANT, oi, code, "beta * input scale out of range");
      op->m[0] = m;
      op->s[0] = sh;
      op->s[1] = -(int32_t)(((int64_t)31 << 26) >> sh); /* diff_min */
      return REDS_OK;
    }
    case REDS_OP_QUANTIZE:
      TRY(need_type(ctx, oi, in, REDS_TYPE_FLOAT32, "input type (float32 -> int8 only)"));
      TRY(need_type(ctx, oi, out, REDS_TYPE_INT8, "output type (float32 -> int8 only)"));
      if (ti->data != NULL) return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, code, "constant input");
      goto same_count;
    case REDS_OP_DEQUANTIZE:
      TRY(need_type(ctx, oi, in, REDS_TYPE_INT8, "input type (int8 -> float32 only)"));
      TRY(need_type(ctx, oi, out, REDS_TYPE_FLOAT32, "output type (int8 -> float32 only)"));
    same_count: {
      uint64_t a = 1, b = 1;
      for (int d = 0; d < ti->ndims; ++d) a *= (uint64_t)ti->dims[d];
      for (int d = 0; d < to->ndims; ++d) b *= (uint64_t)to->dims[d];
      if (a != b) return reds_err_op(ctx, REDS_ERR_SHAPE, oi, code, "element counts differ");
      return REDS_OK;
    }
    default:
      return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, code, "not supported");
  }
}

/* ------------------------------------------------------------- subnets */

/* Active shapes of every op at subnet k must fit together; returns the MACs (metadata.md). */
static reds_status_t check_subnet(reds_ctx_t *ctx, uint32_t k, uint64_t *macs_out) {
  const uint32_t *ad = ctx->active_dim[k];
  uint64_t macs = 0;
  for (uint32_t oi = 0; oi < ctx->num_ops; ++oi) {
    const reds_op_rec_t *op = &ctx->ops[oi];
    const int in = op->in[0], out = op->out, code = op->code;
    const reds_tensor_t *ti = &ctx->tensors[in], *to = &ctx->tensors[out];
    reds_dims_t di, dout;
    dims4(ctx, ad, in, &di);
    dims4(ctx, ad, out, &dout);
    int ok = 1;
    switch (code) {
      case REDS_OP_CONV_2D:
      case REDS_OP_DEPTHWISE_CONV_2D:
      case REDS_OP_AVERAGE_POOL_2D:
      case REDS_OP_MAX_POOL_2D:
      case REDS_OP_MEAN: {
        /* the sliced axis of a spatial op's tensors must be the channel axis */
        if ((ti->axis >= 0 && ti->axis != ti->ndims - 1) || (to->axis >= 0 && to->axis != to->ndims - 1))
          return reds_err_op(ctx, REDS_ERR_METADATA, oi, code, "group member sliced on a non-channel axis");
        if (code == REDS_OP_CONV_2D) {
          const int32_t *fd = ctx->tensors[op->in[1]].dims;
          macs += (uint64_t)dout.h * dout.w * fd[1] * fd[2] * (uint64_t)di.c * dout.c;
        } else {
          ok = (di.c == dout.c);
          if (code == REDS_OP_DEPTHWISE_CONV_2D) {
            const int32_t *fd = ctx->tensors[op->in[1]].dims;
            macs += (uint64_t)dout.h * dout.w * fd[1] * fd[2] * (uint64_t)dout.c;
          }
        }
        break;
      }
      case REDS_OP_FULLY_CONNECTED: {
        const int32_t I = ctx->tensors[op->in[1]].dims[1];
        uint64_t full_in = 1;
        for (int d = 0; d < ti->ndims; ++d) full_in *= (uint64_t)ti->dims[d];
        const uint64_t batches = full_in / (uint64_t)I;
        uint64_t in_active = (uint64_t)I;
        if (ti->axis >= 0) {
          const uint32_t fw = ctx->full_width[ti->group];
          in_active = (uint64_t)(I / (int32_t)fw) * ctx->width[k][ti->group];
        }
        if (to->axis >= 0 && to->axis != to->ndims - 1)
          return reds_err_op(ctx, REDS_ERR_METADATA, oi, code, "output sliced on a non-channel axis");
        const uint64_t o_act = (uint64_t)last_dim(ctx, ad, out);
        ok = elems_at(ctx, ad, in) == batches * in_active && elems_at(ctx, ad, out) == batches * o_act;
        macs += in_active * o_act;
        break;
      }
      case REDS_OP_ADD: {
        const int in2 = op->in[1];
        const reds_tensor_t *t2 = &ctx->tensors[in2];
        ok = ti->axis == t2->axis && ti->axis == to->axis;
        for (int d = 0; ok && d < ti->ndims; ++d)
          ok = act_dim(ctx, ad, in, d) == act_dim(ctx, ad, in2, d) &&
               act_dim(ctx, ad, in, d) == act_dim(ctx, ad, out, d);
        break;
      }
      case REDS_OP_SOFTMAX:
        ok = ti->axis == to->axis;
        for (int d = 0; ok && d < ti->ndims; ++d) ok = act_dim(ctx, ad, in, d) == act_dim(ctx, ad, out, d);
        break;
      default: /* RESHAPE, QUANTIZE, DEQUANTIZE: same active element count, channel-fastest */
        ok = elems_at(ctx, ad, in) == elems_at(ctx, ad, out) &&
             (ti->axis < 0 || ti->axis == ti->ndims - 1) && (to->axis < 0 || to->axis == to->ndims - 1) &&
             ((ti->axis < 0) == (to->axis < 0));
        break;
    }
    if (!ok)
      return reds_err_op(ctx, REDS_ERR_METADATA, oi, code,
                         "channel groups give inconsistent active widths to this op's tensors");
  }
  *macs_out = macs;
  return REDS_OK;
}

/* ------------------------------------------------------------------ API */

size_t reds_ctx_size(void) { return sizeof(reds_ctx_t); }

reds_status_t reds_init(reds_ctx_t *ctx, const uint8_t *model, size_t model_len, uint8_t *arena,
                        size_t arena_len) {
  uint32_t meta_macs[REDS_MAX_SUBNETS], meta_arena[REDS_MAX_SUBNETS];
  reds_blob_ref_t blob;
  if (ctx == NULL) return REDS_ERR_ARG;
  memset(ctx, 0, sizeof *ctx);
  if (model == NULL) return reds_err(ctx, REDS_ERR_ARG, "model is NULL");
  if (arena == NULL && arena_len != 0) return reds_err(ctx, REDS_ERR_ARG, "arena is NULL");
  ctx->model = model;
  ctx->model_len = model_len;
  /* 16-byte align the arena start (float and int32 tensors, DSP loads) */
  const size_t skip = arena ? (size_t)((16u - ((uintptr_t)arena & 15u)) & 15u) : 0;
  ctx->arena = arena ? arena + (skip < arena_len ? skip : arena_len) : NULL;
  ctx->arena_len = arena_len > skip ? arena_len - skip : 0;

  TRY(reds_model_parse(ctx, &blob));
  TRY(reds_validate_graph(ctx)); /* data flow: every read is defined (validate.c) */

  /* lifetimes (arena.md rule 3) */
  const int32_t last_op = (int32_t)ctx->num_ops - 1;
  for (uint32_t oi = 0; oi < ctx->num_ops; ++oi) {
    const reds_op_rec_t *op = &ctx->ops[oi];
    int16_t ts[4] = {op->in[0], op->in[1], op->in[2], op->out};
    for (int j = 0; j < 4; ++j) {
      if (ts[j] < 0 || (j < 3 && j >= op->num_in)) continue;
      reds_tensor_t *t = &ctx->tensors[ts[j]];
      if (t->first < 0 || (int32_t)oi < t->first) t->first = (int32_t)oi;
      if ((int32_t)oi > t->last) t->last = (int32_t)oi;
      if (t->data == NULL) t->planned = 1;
    }
  }
  for (uint32_t i = 0; i < ctx->num_inputs; ++i) {
    reds_tensor_t *t = &ctx->tensors[ctx->inputs[i]];
    if (t->data != NULL) return reds_err(ctx, REDS_ERR_MODEL, "a subgraph input is a constant tensor");
    t->first = 0;
    if (t->last < 0) t->last = 0;
    t->planned = 1;
  }
  for (uint32_t i = 0; i < ctx->num_outputs; ++i) {
    reds_tensor_t *t = &ctx->tensors[ctx->outputs[i]];
    if (t->data != NULL) return reds_err(ctx, REDS_ERR_MODEL, "a subgraph output is a constant tensor");
    if (t->first < 0) t->first = 0;
    t->last = last_op;
    t->planned = 1;
  }

  /* REDS metadata, or one subnet of a plain TFLite model */
  if (blob.found) {
    TRY(reds_metadata_parse(ctx, blob.data, blob.len, meta_macs, meta_arena));
  } else {
    ctx->num_subnets = 1;
    ctx->num_groups = 0;
    meta_macs[0] = meta_arena[0] = 0;
  }

  for (uint32_t oi = 0; oi < ctx->num_ops; ++oi) TRY(prepare_op(ctx, oi));

  size_t smallest = (size_t)-1;
  uint32_t smallest_k = 0;
  for (uint32_t k = 0; k < ctx->num_subnets; ++k) {
    for (uint32_t t = 0; t < ctx->num_tensors; ++t) {
      const reds_tensor_t *tt = &ctx->tensors[t];
      ctx->active_dim[k][t] =
          tt->axis >= 0 ? tt->positions * ctx->width[k][tt->group] : (uint32_t)0;
    }
    TRY(check_subnet(ctx, k, &ctx->macs[k]));
    reds_arena_plan(ctx, k);
    if (ctx->arena_bytes[k] == 0xffffffffu)
      return reds_err2(ctx, REDS_ERR_CAPACITY, "subnet ", k, " needs more than 4 GB of arena", 0, NULL);
    if (meta_macs[k] != 0 && (uint64_t)meta_macs[k] != ctx->macs[k])
      return reds_err2(ctx, REDS_ERR_METADATA, "REDS metadata says macs=", meta_macs[k],
                       " but the runtime counts macs=", (int64_t)ctx->macs[k], " (subnet above)");
    if (meta_arena[k] != 0 && meta_arena[k] != ctx->arena_bytes[k])
      return reds_err2(ctx, REDS_ERR_METADATA, "REDS metadata says arena_bytes=", meta_arena[k],
                       " but the runtime plans arena_bytes=", ctx->arena_bytes[k], "");
    if (ctx->arena_bytes[k] > ctx->max_arena) ctx->max_arena = ctx->arena_bytes[k];
    if (ctx->arena_bytes[k] < smallest) {
      smallest = ctx->arena_bytes[k];
      smallest_k = k;
    }
  }
  /* select subnet 0 if it fits, else the first (largest) that does */
  for (uint32_t k = 0; k < ctx->num_subnets; ++k) {
    if (ctx->arena_bytes[k] <= ctx->arena_len) {
      ctx->active = k;
      ctx->cur_offset = ctx->offset[k];
      ctx->cur_dim = ctx->active_dim[k];
      ctx->magic = REDS_CTX_MAGIC;
      ctx->planned_ok = 1;
      ctx->error[0] = '\0';
      return REDS_OK;
    }
  }
  (void)smallest_k;
  ctx->planned_ok = 1;
  return reds_err2(ctx, REDS_ERR_ARENA, "arena too small: the smallest subnet needs ", (int64_t)smallest,
                   " bytes, available ", (int64_t)ctx->arena_len, " bytes (after 16-byte alignment)");
}

reds_status_t reds_select(reds_ctx_t *ctx, uint32_t subnet) {
  if (ctx == NULL) return REDS_ERR_ARG;
  if (ctx->magic != REDS_CTX_MAGIC) return reds_err(ctx, REDS_ERR_STATE, "reds_init did not succeed");
  if (subnet >= ctx->num_subnets)
    return reds_err2(ctx, REDS_ERR_SUBNET, "subnet ", subnet, " out of range (model has ",
                     ctx->num_subnets, " subnets)");
  if (ctx->arena_bytes[subnet] > ctx->arena_len)
    return reds_err2(ctx, REDS_ERR_ARENA, "arena too small for this subnet: needs ",
                     ctx->arena_bytes[subnet], " bytes, available ", (int64_t)ctx->arena_len, " bytes");
  ctx->active = subnet;
  ctx->cur_offset = ctx->offset[subnet];
  ctx->cur_dim = ctx->active_dim[subnet];
  return REDS_OK;
}

static const void *in_ptr(const reds_ctx_t *ctx, int t) {
  if (t < 0) return NULL;
  const reds_tensor_t *tt = &ctx->tensors[t];
  return tt->data != NULL ? (const void *)tt->data : (const void *)(ctx->arena + ctx->cur_offset[t]);
}

static void *out_ptr(reds_ctx_t *ctx, int t) { return ctx->arena + ctx->cur_offset[t]; }

reds_status_t reds_invoke(reds_ctx_t *ctx) {
  if (ctx == NULL) return REDS_ERR_ARG;
  if (ctx->magic != REDS_CTX_MAGIC) return reds_err(ctx, REDS_ERR_STATE, "reds_init did not succeed");
  const uint32_t *ad = ctx->cur_dim;
  for (uint32_t oi = 0; oi < ctx->num_ops; ++oi) {
    const reds_op_rec_t *op = &ctx->ops[oi];
    const int in = op->in[0], out = op->out;
    const reds_tensor_t *ti = &ctx->tensors[in], *to = &ctx->tensors[out];
    reds_dims_t di, dout;
    reds_status_t s = REDS_OK;
    dims4(ctx, ad, in, &di);
    dims4(ctx, ad, out, &dout);
    const reds_act_t act = {op->act_min, op->act_max};
    const reds_channel_quant_t q = {ctx->qmult + op->qoff, ctx->qshift + op->qoff};
    switch (op->code) {
      case REDS_OP_CONV_2D:
      case REDS_OP_DEPTHWISE_CONV_2D: {
        const reds_conv_params_t p = {op->stride_w, op->stride_h, op->pad_w, op->pad_h,
                                      -ti->zero_point, to->zero_point, act};
        reds_dims_t df;
        dims4(ctx, ad, op->in[1], &df); /* constant: full dims */
        const int32_t *bias = op->num_in >= 3 ? (const int32_t *)in_ptr(ctx, op->in[2]) : NULL;
        if (op->code == REDS_OP_CONV_2D)
          s = reds_conv2d_s8(&p, &q, &di, (const int8_t *)in_ptr(ctx, in), &df,
                             (const int8_t *)in_ptr(ctx, op->in[1]), bias, &dout, (int8_t *)out_ptr(ctx, out));
        else
          s = reds_depthwise_conv2d_s8(&p, &q, &di, (const int8_t *)in_ptr(ctx, in), &df,
                                       (const int8_t *)in_ptr(ctx, op->in[1]), bias, &dout,
                                       (int8_t *)out_ptr(ctx, out));
        break;
      }
      case REDS_OP_FULLY_CONNECTED: {
        const reds_tensor_t *tw = &ctx->tensors[op->in[1]];
        const int32_t I = tw->dims[1];
        uint64_t full_in = 1;
        for (int d = 0; d < ti->ndims; ++d) full_in *= (uint64_t)ti->dims[d];
        reds_fc_params_t p;
        p.batches = (int32_t)(full_in / (uint64_t)I);
        if (ti->axis >= 0) {
          p.in_stride = (int32_t)ctx->full_width[ti->group];
          p.in_width = (int32_t)ctx->width[ctx->active][ti->group];
          p.in_positions = I / p.in_stride;
        } else {
          p.in_stride = p.in_width = I;
          p.in_positions = 1;
        }
        p.weights_cols = I;
        p.out_width = last_dim(ctx, ad, out);
        p.input_offset = -ti->zero_point;
        p.output_offset = to->zero_point;
        p.act = act;
        const int32_t *bias = op->num_in >= 3 ? (const int32_t *)in_ptr(ctx, op->in[2]) : NULL;
        s = reds_fully_connected_s8(&p, &q, (const int8_t *)in_ptr(ctx, in),
                                    (const int8_t *)in_ptr(ctx, op->in[1]), bias, (int8_t *)out_ptr(ctx, out));
        break;
      }
      case REDS_OP_AVERAGE_POOL_2D:
      case REDS_OP_MAX_POOL_2D: {
        const reds_pool_params_t p = {op->stride_w, op->stride_h, op->filter_w, op->filter_h,
                                      op->pad_w, op->pad_h, act};
        if (op->code == REDS_OP_AVERAGE_POOL_2D)
          s = reds_avg_pool2d_s8(&p, &di, (const int8_t *)in_ptr(ctx, in), &dout, (int8_t *)out_ptr(ctx, out));
        else
          s = reds_max_pool2d_s8(&p, &di, (const int8_t *)in_ptr(ctx, in), &dout, (int8_t *)out_ptr(ctx, out));
        break;
      }
      case REDS_OP_MEAN: {
        const reds_mean_params_t p = {op->same_quant, ti->zero_point, to->zero_point, op->m[0], op->s[0]};
        s = reds_mean_s8(&p, &di, (const int8_t *)in_ptr(ctx, in), (int8_t *)out_ptr(ctx, out));
        break;
      }
      case REDS_OP_ADD: {
        const reds_tensor_t *t2 = &ctx->tensors[op->in[1]];
        const reds_add_params_t p = {-ti->zero_point, -t2->zero_point, to->zero_point, 20,
                                     op->m[0], op->m[1], op->m[2], op->s[0], op->s[1], op->s[2], act};
        s = reds_add_s8(&p, (size_t)elems_at(ctx, ad, out), (const int8_t *)in_ptr(ctx, in),
                        (const int8_t *)in_ptr(ctx, op->in[1]), (int8_t *)out_ptr(ctx, out));
        break;
      }
      case REDS_OP_RESHAPE:
        s = reds_reshape((size_t)(elems_at(ctx, ad, out) * reds_type_size(to->type)), in_ptr(ctx, in),
                         out_ptr(ctx, out));
        break;
      case REDS_OP_SOFTMAX: {
        const reds_softmax_params_t p = {op->m[0], op->s[0], op->s[1]};
        const int32_t depth = last_dim(ctx, ad, in);
        s = reds_softmax_s8(&p, (int32_t)(elems_at(ctx, ad, in) / (uint64_t)depth), depth,
                            (const int8_t *)in_ptr(ctx, in), (int8_t *)out_ptr(ctx, out));
        break;
      }
      case REDS_OP_QUANTIZE:
        s = reds_quantize_f32_s8(to->scale, to->zero_point, (size_t)elems_at(ctx, ad, out),
                                 (const float *)in_ptr(ctx, in), (int8_t *)out_ptr(ctx, out));
        break;
      case REDS_OP_DEQUANTIZE:
        s = reds_dequantize_s8_f32(ti->scale, ti->zero_point, (size_t)elems_at(ctx, ad, out),
                                   (const int8_t *)in_ptr(ctx, in), (float *)out_ptr(ctx, out));
        break;
      default:
        s = reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, op->code, "not supported");
        break;
    }
    if (s != REDS_OK) return s;
  }
  return REDS_OK;
}

/* ------------------------------------------------------------ accessors */

static int ready(const reds_ctx_t *ctx) { return ctx != NULL && ctx->magic == REDS_CTX_MAGIC; }

uint32_t reds_num_subnets(const reds_ctx_t *ctx) { return ready(ctx) ? ctx->num_subnets : 0; }
uint32_t reds_active_subnet(const reds_ctx_t *ctx) { return ready(ctx) ? ctx->active : 0; }
uint32_t reds_num_groups(const reds_ctx_t *ctx) { return ready(ctx) ? ctx->num_groups : 0; }
uint32_t reds_group_width(const reds_ctx_t *ctx, uint32_t subnet, uint32_t group) {
  if (!ready(ctx) || subnet >= ctx->num_subnets || group >= ctx->num_groups) return 0;
  return ctx->width[subnet][group];
}
uint32_t reds_group_full_width(const reds_ctx_t *ctx, uint32_t group) {
  return ready(ctx) && group < ctx->num_groups ? ctx->full_width[group] : 0;
}
uint64_t reds_subnet_macs(const reds_ctx_t *ctx, uint32_t subnet) {
  return ready(ctx) && subnet < ctx->num_subnets ? ctx->macs[subnet] : 0;
}
size_t reds_subnet_arena_bytes(const reds_ctx_t *ctx, uint32_t subnet) {
  return ready(ctx) && subnet < ctx->num_subnets ? ctx->arena_bytes[subnet] : 0;
}
size_t reds_max_arena_bytes(const reds_ctx_t *ctx) {
  return ctx != NULL && ctx->planned_ok ? ctx->max_arena : 0;
}
size_t reds_arena_used_bytes(const reds_ctx_t *ctx) {
  return ready(ctx) ? ctx->arena_bytes[ctx->active] : 0;
}
uint32_t reds_num_inputs(const reds_ctx_t *ctx) { return ready(ctx) ? ctx->num_inputs : 0; }
uint32_t reds_num_outputs(const reds_ctx_t *ctx) { return ready(ctx) ? ctx->num_outputs : 0; }

static int io_tensor(const reds_ctx_t *ctx, uint32_t i, int output) {
  if (!ready(ctx)) return -1;
  if (output) return i < ctx->num_outputs ? ctx->outputs[i] : -1;
  return i < ctx->num_inputs ? ctx->inputs[i] : -1;
}

void *reds_input_data(reds_ctx_t *ctx, uint32_t i) {
  const int t = io_tensor(ctx, i, 0);
  return t < 0 ? NULL : out_ptr(ctx, t);
}
const void *reds_output_data(const reds_ctx_t *ctx, uint32_t i) {
  const int t = io_tensor(ctx, i, 1);
  return t < 0 ? NULL : (const void *)(ctx->arena + ctx->cur_offset[t]);
}
size_t reds_input_bytes(const reds_ctx_t *ctx, uint32_t i) {
  const int t = io_tensor(ctx, i, 0);
  return t < 0 ? 0 : (size_t)(elems_at(ctx, ctx->cur_dim, t) * reds_type_size(ctx->tensors[t].type));
}
size_t reds_output_bytes(const reds_ctx_t *ctx, uint32_t i) {
  const int t = io_tensor(ctx, i, 1);
  return t < 0 ? 0 : (size_t)(elems_at(ctx, ctx->cur_dim, t) * reds_type_size(ctx->tensors[t].type));
}
int reds_input_type(const reds_ctx_t *ctx, uint32_t i) {
  const int t = io_tensor(ctx, i, 0);
  return t < 0 ? -1 : ctx->tensors[t].type;
}
int reds_output_type(const reds_ctx_t *ctx, uint32_t i) {
  const int t = io_tensor(ctx, i, 1);
  return t < 0 ? -1 : ctx->tensors[t].type;
}
static int shape_of(const reds_ctx_t *ctx, int t, int32_t *dims, int max_dims) {
  if (t < 0 || dims == NULL) return -1;
  const int n = ctx->tensors[t].ndims;
  for (int d = 0; d < n && d < max_dims; ++d) dims[d] = act_dim(ctx, ctx->cur_dim, t, d);
  return n;
}
int reds_input_shape(const reds_ctx_t *ctx, uint32_t i, int32_t *dims, int max_dims) {
  return shape_of(ctx, io_tensor(ctx, i, 0), dims, max_dims);
}
int reds_output_shape(const reds_ctx_t *ctx, uint32_t i, int32_t *dims, int max_dims) {
  return shape_of(ctx, io_tensor(ctx, i, 1), dims, max_dims);
}
float reds_input_scale(const reds_ctx_t *ctx, uint32_t i) {
  const int t = io_tensor(ctx, i, 0);
  return t < 0 ? 0.0f : ctx->tensors[t].scale;
}
int32_t reds_input_zero_point(const reds_ctx_t *ctx, uint32_t i) {
  const int t = io_tensor(ctx, i, 0);
  return t < 0 ? 0 : ctx->tensors[t].zero_point;
}
float reds_output_scale(const reds_ctx_t *ctx, uint32_t i) {
  const int t = io_tensor(ctx, i, 1);
  return t < 0 ? 0.0f : ctx->tensors[t].scale;
}
int32_t reds_output_zero_point(const reds_ctx_t *ctx, uint32_t i) {
  const int t = io_tensor(ctx, i, 1);
  return t < 0 ? 0 : ctx->tensors[t].zero_point;
}
const char *reds_last_error(const reds_ctx_t *ctx) {
  if (ctx == NULL) return "context is NULL";
  return ctx->error;
}

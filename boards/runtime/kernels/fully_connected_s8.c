/* SPDX-License-Identifier: Apache-2.0
 * FULLY_CONNECTED int8 (per-channel or per-tensor) with width slicing (docs in reds_kernels.h):
 * the portable path and the op table entry. On hosts with SIMD registers the 4-row dot products
 * run in fully_connected_s8_simd.c. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "reds_kernels.h"
#include "reds_quant.h"
#include "reds_dot.h"
#include "../src/reds_ops.h"
#include "reds_kernels_dsp.h"

/* acc[j] += the dot product of the active input row x with weight row j (wr + j * ws), j < 4:
 * four output units share each input load (reds_dot4_s8). */
static void fc_dot4(const reds_fc_params_t *p, const int8_t *x, const int8_t *wr, int32_t acc[4]) {
  const int32_t P = p->in_positions, w = p->in_width, stride = p->in_stride, ws = p->weights_cols;
  if (P == 1 || w == stride) {
    reds_dot4_s8(x, wr, ws, P * w, p->input_offset, acc);
  } else { /* flattened [P, C_full] input sliced to [P, w]: column p*C_full + c */
    for (int32_t pos = 0; pos < P; ++pos)
      reds_dot4_s8(x + (size_t)pos * w, wr + (size_t)pos * stride, ws, w, p->input_offset, acc);
  }
}

/* Requantized accumulator + output offset (unclamped), equal to reds_requantize(acc) + out_off:
 * reds_rqf (offset folded in) for shifts in [-22, -2], else reds_rq (both exact, reds_dot.h). */
static inline int32_t fc_rq(int32_t acc, int32_t mult, int shift, int32_t out_off) {
  reds_rqf_t f;
  if (reds_rqf_init(&f, mult, shift, out_off)) return reds_rqf(acc, &f);
  reds_rq_t r;
  reds_rq_init(&r, mult, shift);
  return reds_rq(acc, &r) + out_off;
}

reds_status_t reds_fully_connected_s8(const reds_fc_params_t *p, const reds_channel_quant_t *q,
                                      const int8_t *in_data, const int8_t *weights,
                                      const int32_t *bias, int8_t *out_data) {
  const int32_t P = p->in_positions, w = p->in_width, stride = p->in_stride;
  const int32_t row = P * w; /* active input elements per batch row */
  const int contiguous = (P == 1 || w == stride);
  const uint32_t lo4 = REDS_BYTES4(p->act.act_min), hi4 = REDS_BYTES4(p->act.act_max);
#ifdef REDS_KERNELS_SIMD
  int16_t
      xo[REDS_FC_SIMD_MAX_ROW]; /* the SIMD path's int16 input row (fully_connected_s8_simd.c) */
  const int simd = (row <= REDS_FC_SIMD_MAX_ROW);
#endif
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *x = in_data + (size_t)b * row;
    int8_t *o = out_data + (size_t)b * p->out_width;
    const int32_t ws = p->weights_cols;
#ifdef REDS_KERNELS_SIMD
    if (simd) reds_fully_connected_input_s16_simd(x, row, p->input_offset, xo);
#endif
    int32_t oc = 0;
    for (; oc + 4 <= p->out_width; oc += 4) { /* four output units share each input load */
      const int8_t *wr = weights + (size_t)oc * ws;
      int32_t acc[4] = {0, 0, 0, 0};
#ifdef REDS_KERNELS_SIMD
      if (simd)
        reds_fully_connected_dot4_s8_simd(p, xo, wr, acc);
      else
#endif
        fc_dot4(p, x, wr, acc);
      int32_t v[4];
      for (int32_t j = 0; j < 4; ++j) {
        int32_t a = acc[j];
        if (bias != NULL) a = reds_add_wrap(a, bias[oc + j]);
        v[j] = fc_rq(a, q->multiplier[oc + j], q->shift[oc + j], p->output_offset);
      }
      const uint32_t packed = reds_pack4_s8(v[0], v[1], v[2], v[3], lo4, hi4);
      memcpy(o + oc, &packed, 4);
    }
    for (; oc < p->out_width; ++oc) {
      const int8_t *wr = weights + (size_t)oc * ws;
      int32_t acc;
      if (contiguous) {
        acc = reds_dot_s8(x, wr, row, p->input_offset);
      } else {
        acc = 0;
        for (int32_t pos = 0; pos < P; ++pos)
          acc += reds_dot_s8(x + (size_t)pos * w, wr + (size_t)pos * stride, w, p->input_offset);
      }
      if (bias != NULL) acc = reds_add_wrap(acc, bias[oc]);
      int32_t v = fc_rq(acc, q->multiplier[oc], q->shift[oc], p->output_offset);
      if (v < p->act.act_min) v = p->act.act_min;
      if (v > p->act.act_max) v = p->act.act_max;
      o[oc] = (int8_t)v;
    }
  }
  return REDS_OK;
}

/* ------------------------------------------------------------------ op table entry (reds_ops.h) */

static reds_status_t fc_options(reds_ctx_t *ctx, uint32_t oi, const reds_fb_t *fb,
                                const reds_fb_table_t *opt) {
  reds_op_rec_t *op = &ctx->ops[oi];
  uint8_t format = 0;
  REDS_OPT_U8(0, &op->fused, 0);
  REDS_OPT_U8(1, &format, 0);
  if (format != 0)
    return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, op->code, "shuffled weights format");
  REDS_OPT_U8(2, &op->keep_dims, 0);
  return REDS_OK;
}

/* TFLM fully_connected_common: int8 in/out, 2-D [O, I] symmetric weights, output [.., O] with
 * (input elements / I) rows; per-channel or per-tensor requantization. */
static reds_status_t fc_prepare(reds_ctx_t *ctx, uint32_t oi) {
  reds_op_rec_t *op = &ctx->ops[oi];
  const int in = op->in[0], out = op->out, code = op->code;
  const reds_tensor_t *ti = &ctx->tensors[in], *to = &ctx->tensors[out];
  TRY(reds_prepare_weighted(ctx, oi, 2, "weights must be 2-D [O, I]"));
  const int f = op->in[1], bias = op->num_in >= 3 ? op->in[2] : -1;
  const int32_t O = ctx->tensors[f].dims[0], I = ctx->tensors[f].dims[1];
  TRY(reds_need_weights(ctx, oi, f, (uint64_t)O * I));
  if (I > MAX_DOT_DEPTH)
    return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, code,
                       "input depth could overflow the int32 accumulator");
  const uint64_t full_in = reds_full_elems(ti), full_out = reds_full_elems(to);
  if (to->ndims < 1 || full_in % (uint64_t)I != 0 ||
      full_out != (full_in / (uint64_t)I) * (uint64_t)O || to->dims[to->ndims - 1] != O)
    return reds_err_op(ctx, REDS_ERR_SHAPE, oi, code,
                       "input/output sizes do not match weights [O, I]");
  if (ti->axis >= 0) {
    if (ti->axis != ti->ndims - 1 || (uint32_t)I % ctx->full_width[ti->group] != 0)
      return reds_err_op(
          ctx, REDS_ERR_METADATA, oi, code,
          "sliced input must be sliced on its last axis, a divisor of the weight depth");
  }
  TRY(reds_need_bias(ctx, oi, bias, O));
  const int per_channel = ctx->tensors[f].num_scales > 1;
  TRY(reds_fill_channel_quant(ctx, oi, in, f, out, O, !per_channel));
  return reds_act_range(ctx, oi, to);
}

/* Active input depth: P positions of the active width of the input's group (flatten). */
static uint64_t fc_in_active(const reds_ctx_t *ctx, const reds_op_rec_t *op,
                             const uint32_t *width) {
  const reds_tensor_t *ti = &ctx->tensors[op->in[0]];
  const int32_t I = ctx->tensors[op->in[1]].dims[1];
  if (ti->axis < 0) return (uint64_t)I;
  return (uint64_t)(I / (int32_t)ctx->full_width[ti->group]) * width[ti->group];
}

static reds_status_t fc_check(reds_ctx_t *ctx, uint32_t oi, const uint32_t *ad, uint32_t k,
                              uint64_t *macs) {
  const reds_op_rec_t *op = &ctx->ops[oi];
  const reds_tensor_t *ti = &ctx->tensors[op->in[0]], *to = &ctx->tensors[op->out];
  const int32_t I = ctx->tensors[op->in[1]].dims[1];
  const uint64_t batches = reds_full_elems(ti) / (uint64_t)I;
  const uint64_t in_active = fc_in_active(ctx, op, ctx->width + (size_t)k * ctx->num_groups);
  if (to->axis >= 0 && to->axis != to->ndims - 1)
    return reds_err_op(ctx, REDS_ERR_METADATA, oi, op->code, "output sliced on a non-channel axis");
  const uint64_t o_act = (uint64_t)reds_last_dim(ctx, ad, op->out);
  if (reds_elems_at(ctx, ad, op->in[0]) != batches * in_active ||
      reds_elems_at(ctx, ad, op->out) != batches * o_act)
    return reds_err_inconsistent(ctx, oi);
  *macs += in_active * o_act;
  return REDS_OK;
}

static reds_status_t fc_eval(reds_ctx_t *ctx, const reds_op_rec_t *op) {
  const reds_tensor_t *ti = &ctx->tensors[op->in[0]], *to = &ctx->tensors[op->out];
  const int32_t I = ctx->tensors[op->in[1]].dims[1];
  const reds_channel_quant_t q = {ctx->qmult + op->qoff, ctx->qshift + op->qoff};
  reds_fc_params_t p;
  p.batches = (int32_t)(reds_full_elems(ti) / (uint64_t)I);
  if (ti->axis >= 0) {
    p.in_stride = (int32_t)ctx->full_width[ti->group];
    p.in_width = (int32_t)ctx->cur_width[ti->group];
    p.in_positions = I / p.in_stride;
  } else {
    p.in_stride = p.in_width = I;
    p.in_positions = 1;
  }
  p.weights_cols = I;
  p.out_width = reds_last_dim(ctx, ctx->cur_dim, op->out);
  p.input_offset = -ti->zero_point;
  p.output_offset = to->zero_point;
  p.act.act_min = op->act_min;
  p.act.act_max = op->act_max;
  const int32_t *bias = op->num_in >= 3 ? (const int32_t *)reds_in_ptr(ctx, op->in[2]) : NULL;
  return reds_fully_connected_s8(&p, &q, (const int8_t *)reds_in_ptr(ctx, op->in[0]),
                                 (const int8_t *)reds_in_ptr(ctx, op->in[1]), bias,
                                 (int8_t *)reds_out_ptr(ctx, op->out));
}

const reds_op_kernel_t reds_op_fully_connected = {
    .options_type = REDS_OPTIONS_FULLY_CONNECTED,
    .options = fc_options,
    .prepare = fc_prepare,
    .check = fc_check,
    .eval = fc_eval,
    .per_channel_quant = 1,
};

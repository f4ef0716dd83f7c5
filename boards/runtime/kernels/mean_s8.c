/* SPDX-License-Identifier: Apache-2.0
 * MEAN over H, W int8, as TFLM's reduce kernel (docs in reds_kernels.h): the portable path and
 * the op table entry. The DSP channel sums (REDS_USE_DSP) are in mean_s8_dsp.c. */
#include <stddef.h>
#include <stdint.h>

#include "reds_kernels.h"
#include "reds_quant.h"
#include "../src/reds_ops.h"
#include "reds_kernels_dsp.h"

/* The channel's sum to output, as TFLM (sum is exact: |sum| <= 128 * HW). */
static int8_t mean_finish(const reds_mean_params_t *p, int32_t sum, int32_t HW) {
  int32_t v;
  if (p->same_quant) {
    v = sum / HW; /* TFLM reference_ops::Mean: truncating division, no rounding */
  } else {
    /* QuantizedMeanOrSum: 1/HW is folded into multiplier and shift at load */
    v = reds_requantize(sum - p->input_zp * HW, p->multiplier, p->shift) + p->output_zp;
    if (v < -128) v = -128;
    if (v > 127) v = 127;
  }
  return (int8_t)v;
}

reds_status_t reds_mean_s8(const reds_mean_params_t *p, const reds_dims_t *in,
                           const int8_t *in_data, int8_t *out_data) {
  const int32_t HW = in->h * in->w, C = in->c;
  for (int32_t b = 0; b < in->n; ++b) {
    const int8_t *x = in_data + (size_t)b * HW * C;
    int8_t *o = out_data + (size_t)b * C;
    int32_t c = 0;
#ifdef REDS_KERNELS_DSP
    int32_t sum4[4]; /* four channels per load (mean_s8_dsp.c) */
    for (; c + 4 <= C && reds_mean_sum4_s8_dsp(x + c, HW, C, sum4); c += 4)
      for (int32_t j = 0; j < 4; ++j) o[c + j] = mean_finish(p, sum4[j], HW);
#endif
    for (; c < C; ++c) {
      int32_t sum = 0;
      for (int32_t i = 0; i < HW; ++i) sum += x[(size_t)i * C + c];
      o[c] = mean_finish(p, sum, HW);
    }
  }
  return REDS_OK;
}

/* ------------------------------------------------------------------ op table entry (reds_ops.h) */

static reds_status_t mean_options(reds_ctx_t *ctx, uint32_t oi, const reds_fb_t *fb,
                                  const reds_fb_table_t *opt) {
  REDS_OPT_U8(0, &ctx->ops[oi].keep_dims, 0);
  return REDS_OK;
}

/* TFLM reduce Prepare: mean over H and W of a 4-D int8 input, output [N, C] or [N, 1, 1, C]. */
static reds_status_t mean_prepare(reds_ctx_t *ctx, uint32_t oi) {
  reds_op_rec_t *op = &ctx->ops[oi];
  const int in = op->in[0], out = op->out, code = op->code;
  const reds_tensor_t *ti = &ctx->tensors[in], *to = &ctx->tensors[out];
  const int ax = op->num_in >= 2 ? op->in[1] : -1;
  TRY(reds_need_type(ctx, oi, in, REDS_TYPE_INT8, "input type (int8 only)"));
  TRY(reds_need_type(ctx, oi, out, REDS_TYPE_INT8, "output type (int8 only)"));
  if (ax < 0 || ctx->tensors[ax].type != REDS_TYPE_INT32 || ctx->tensors[ax].data == NULL ||
      ctx->tensors[ax].data_len < 8 || ctx->tensors[ax].ndims > 1 ||
      (ctx->tensors[ax].ndims == 1 && ctx->tensors[ax].dims[0] != 2))
    return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, code,
                       "axis must be a constant int32 pair");
  int32_t a0 = reds_ld_i32(ctx->tensors[ax].data), a1 = reds_ld_i32(ctx->tensors[ax].data + 4);
  if (a0 < 0) a0 += 4;
  if (a1 < 0) a1 += 4;
  if (ti->ndims != 4 || !((a0 == 1 && a1 == 2) || (a0 == 2 && a1 == 1)))
    return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, code,
                       "only the mean over H and W of a 4-D input");
  const int32_t N = ti->dims[0], C = ti->dims[3];
  const int ok = op->keep_dims ? (to->ndims == 4 && to->dims[0] == N && to->dims[1] == 1 &&
                                  to->dims[2] == 1 && to->dims[3] == C)
                               : (to->ndims == 2 && to->dims[0] == N && to->dims[1] == C);
  if (!ok)
    return reds_err_op(ctx, REDS_ERR_SHAPE, oi, code, "output shape does not match keep_dims");
  const int64_t hw = (int64_t)ti->dims[1] * ti->dims[2];
  if (hw > (1 << 22))
    return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, code, "window too large");
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

static reds_status_t mean_eval(reds_ctx_t *ctx, const reds_op_rec_t *op) {
  const reds_tensor_t *ti = &ctx->tensors[op->in[0]], *to = &ctx->tensors[op->out];
  const reds_mean_params_t p = {op->same_quant, ti->zero_point, to->zero_point, op->m[0], op->s[0]};
  reds_dims_t di;
  reds_dims4(ctx, ctx->cur_dim, op->in[0], &di);
  return reds_mean_s8(&p, &di, (const int8_t *)reds_in_ptr(ctx, op->in[0]),
                      (int8_t *)reds_out_ptr(ctx, op->out));
}

const reds_op_kernel_t reds_op_mean = {
    .options_type = REDS_OPTIONS_REDUCER,
    .options = mean_options,
    .prepare = mean_prepare,
    .check = reds_check_same_channels,
    .eval = mean_eval,
};

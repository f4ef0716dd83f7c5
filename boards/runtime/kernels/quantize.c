/* SPDX-License-Identifier: Apache-2.0
 * QUANTIZE float32 -> int8 (docs in reds_kernels.h). */
#include <stddef.h>
#include <stdint.h>

#include "reds_kernels.h"
#include "reds_quant.h"
#include "../src/reds_ops.h"

reds_status_t reds_quantize_f32_s8(float scale, int32_t zero_point, size_t count,
                                   const float *in_data, int8_t *out_data) {
  for (size_t i = 0; i < count; ++i) {
    const float r = reds_roundf(in_data[i] / scale);
    int32_t v;
    /* clamp in float first: converting an out-of-range float to int is undefined in C */
    if (!(r == r))
      v = zero_point; /* NaN */
    else if (r >= 2147483648.0f)
      v = INT32_MAX;
    else if (r < -2147483648.0f)
      v = INT32_MIN;
    else
      v = (int32_t)r;
    v = (v > 0 && zero_point > INT32_MAX - v)   ? INT32_MAX
        : (v < 0 && zero_point < INT32_MIN - v) ? INT32_MIN
                                                : v + zero_point;
    if (v < -128) v = -128;
    if (v > 127) v = 127;
    out_data[i] = (int8_t)v;
  }
  return REDS_OK;
}

/* ------------------------------------------------------------------ op table entry (reds_ops.h) */

static reds_status_t quantize_prepare(reds_ctx_t *ctx, uint32_t oi) {
  const reds_op_rec_t *op = &ctx->ops[oi];
  TRY(reds_need_type(ctx, oi, op->in[0], REDS_TYPE_FLOAT32, "input type (float32 -> int8 only)"));
  TRY(reds_need_type(ctx, oi, op->out, REDS_TYPE_INT8, "output type (float32 -> int8 only)"));
  return reds_same_count(ctx, oi);
}

static reds_status_t quantize_eval(reds_ctx_t *ctx, const reds_op_rec_t *op) {
  const reds_tensor_t *to = &ctx->tensors[op->out];
  return reds_quantize_f32_s8(
      to->scale, to->zero_point, (size_t)reds_elems_at(ctx, ctx->cur_dim, op->out),
      (const float *)reds_in_ptr(ctx, op->in[0]), (int8_t *)reds_out_ptr(ctx, op->out));
}

const reds_op_kernel_t reds_op_quantize = {
    .options_type = REDS_OPTIONS_NONE,
    .prepare = quantize_prepare,
    .check = reds_check_same_count,
    .eval = quantize_eval,
};

/* SPDX-License-Identifier: Apache-2.0
 * DEQUANTIZE int8 -> float32 (docs in reds_kernels.h). */
#include <stddef.h>
#include <stdint.h>

#include "reds_kernels.h"
#include "../src/reds_ops.h"

reds_status_t reds_dequantize_s8_f32(float scale, int32_t zero_point, size_t count,
                                     const int8_t *in_data, float *out_data) {
  for (size_t i = 0; i < count; ++i) out_data[i] = scale * (float)(in_data[i] - zero_point);
  return REDS_OK;
}

/* ------------------------------------------------------------------ op table entry (reds_ops.h) */

static reds_status_t dequantize_prepare(reds_ctx_t *ctx, uint32_t oi) {
  const reds_op_rec_t *op = &ctx->ops[oi];
  TRY(reds_need_type(ctx, oi, op->in[0], REDS_TYPE_INT8, "input type (int8 -> float32 only)"));
  TRY(reds_need_type(ctx, oi, op->out, REDS_TYPE_FLOAT32, "output type (int8 -> float32 only)"));
  return reds_same_count(ctx, oi);
}

static reds_status_t dequantize_eval(reds_ctx_t *ctx, const reds_op_rec_t *op) {
  const reds_tensor_t *ti = &ctx->tensors[op->in[0]];
  return reds_dequantize_s8_f32(
      ti->scale, ti->zero_point, (size_t)reds_elems_at(ctx, ctx->cur_dim, op->out),
      (const int8_t *)reds_in_ptr(ctx, op->in[0]), (float *)reds_out_ptr(ctx, op->out));
}

const reds_op_kernel_t reds_op_dequantize = {
    .options_type = REDS_OPTIONS_NONE,
    .prepare = dequantize_prepare,
    .check = reds_check_same_count,
    .eval = dequantize_eval,
};

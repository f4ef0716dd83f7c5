/* SPDX-License-Identifier: Apache-2.0
 * PAD int8 (Keras ZeroPadding2D): zero-point rows and columns around an NHWC image.
 *
 * TFLM pads int8 with the output zero point (PAD has no constant-value input) and requires the
 * output to share the input's quantization, so the copy needs no requantization. Only H and W
 * may be padded: padding the batch or the channel axis would break width slicing. */
#include <stddef.h>
#include <string.h>

#include "reds_kernels.h"
#include "../src/flatbuffer.h"
#include "../src/reds_ops.h"

reds_status_t reds_pad_s8(const reds_dims_t *in, const int8_t *in_data, int32_t top, int32_t left,
                          int8_t pad_value, const reds_dims_t *out, int8_t *out_data) {
  const size_t C = (size_t)in->c;
  const size_t out_row = (size_t)out->w * C;
  for (int32_t b = 0; b < in->n; ++b) {
    int8_t *o = out_data + (size_t)b * out->h * out_row;
    const int8_t *x = in_data + (size_t)b * in->h * in->w * C;
    memset(o, pad_value, (size_t)out->h * out_row);
    for (int32_t y = 0; y < in->h; ++y)
      memcpy(o + (size_t)(y + top) * out_row + (size_t)left * C, x + (size_t)y * in->w * C,
             (size_t)in->w * C);
  }
  return REDS_OK;
}

/* ------------------------------------------------------------------ op table entry (reds_ops.h) */

/* Paddings: a constant int32 [4, 2] tensor; only H (row 1) and W (row 2) may be non-zero. The
 * top and left amounts are kept in the op record; bottom and right follow from the shapes. */
static reds_status_t pad_prepare(reds_ctx_t *ctx, uint32_t oi) {
  reds_op_rec_t *op = &ctx->ops[oi];
  const int in = op->in[0], out = op->out, code = op->code;
  if (op->num_in < 2 || op->in[1] < 0)
    return reds_err_op(ctx, REDS_ERR_MODEL, oi, code, "paddings input missing");
  const reds_tensor_t *ti = &ctx->tensors[in], *to = &ctx->tensors[out],
                      *tp = &ctx->tensors[op->in[1]];
  TRY(reds_need_type(ctx, oi, in, REDS_TYPE_INT8, "input type (int8 only)"));
  TRY(reds_need_type(ctx, oi, out, REDS_TYPE_INT8, "output type (int8 only)"));
  if (ti->ndims != 4 || to->ndims != 4)
    return reds_err_op(ctx, REDS_ERR_SHAPE, oi, code, "input and output must be NHWC");
  if (tp->data == NULL || tp->type != REDS_TYPE_INT32 || tp->ndims != 2 || tp->dims[0] != 4 ||
      tp->dims[1] != 2 || tp->data_len < 32)
    return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, code,
                       "paddings must be a constant int32 [4, 2]");
  int32_t p[8];
  for (int i = 0; i < 8; ++i) {
    p[i] = reds_ld_i32(tp->data + 4 * i);
    if (p[i] < 0 || p[i] > (1 << 16))
      return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, code,
                         "padding amount out of range 0..65536");
  }
  if (p[0] || p[1] || p[6] || p[7])
    return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, code, "only H and W may be padded");
  for (int d = 0; d < 4; ++d)
    if ((int64_t)ti->dims[d] + p[2 * d] + p[2 * d + 1] != to->dims[d])
      return reds_err_op(ctx, REDS_ERR_SHAPE, oi, code, "output shape is not input + paddings");
  if (ti->zero_point != to->zero_point || ti->scale != to->scale)
    return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, code,
                       "output quantization differs from the input's");
  op->pad_h = p[2];
  op->pad_w = p[4];
  return REDS_OK;
}

static reds_status_t pad_eval(reds_ctx_t *ctx, const reds_op_rec_t *op) {
  reds_dims_t di, dout;
  reds_dims4(ctx, ctx->cur_dim, op->in[0], &di);
  reds_dims4(ctx, ctx->cur_dim, op->out, &dout);
  return reds_pad_s8(&di, (const int8_t *)reds_in_ptr(ctx, op->in[0]), op->pad_h, op->pad_w,
                     (int8_t)ctx->tensors[op->out].zero_point, &dout,
                     (int8_t *)reds_out_ptr(ctx, op->out));
}

/* PadOptions (union tag 22) has no fields */
const reds_op_kernel_t reds_op_pad = {
    .options_type = REDS_OPTIONS_PAD,
    .prepare = pad_prepare,
    .check = reds_check_same_channels,
    .eval = pad_eval,
};

/* SPDX-License-Identifier: Apache-2.0
 * RESHAPE: a copy of the active bytes (docs in reds_kernels.h). */
#include <stddef.h>
#include <string.h>

#include "reds_kernels.h"
#include "../src/reds_ops.h"

reds_status_t reds_reshape(size_t bytes, const void *in_data, void *out_data) {
  if (in_data != out_data) memmove(out_data, in_data, bytes);
  return REDS_OK;
}

/* ------------------------------------------------------------------ op table entry (reds_ops.h) */

/* Same type; same element count (the shape input, if any, is not read: TFLM uses the output's). */
static reds_status_t reshape_prepare(reds_ctx_t *ctx, uint32_t oi) {
  const reds_op_rec_t *op = &ctx->ops[oi];
  const reds_tensor_t *ti = &ctx->tensors[op->in[0]], *to = &ctx->tensors[op->out];
  if (ti->type != to->type || reds_type_size(ti->type) == 0)
    return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, op->code, "input and output types differ");
  return reds_same_count(ctx, oi);
}

static reds_status_t reshape_eval(reds_ctx_t *ctx, const reds_op_rec_t *op) {
  const size_t bytes = (size_t)(reds_elems_at(ctx, ctx->cur_dim, op->out) *
                                reds_type_size(ctx->tensors[op->out].type));
  return reds_reshape(bytes, reds_in_ptr(ctx, op->in[0]), reds_out_ptr(ctx, op->out));
}

/* options (new_shape) are not needed: the output tensor carries the shape */
const reds_op_kernel_t reds_op_reshape = {
    .options_type = REDS_OPTIONS_RESHAPE,
    .prepare = reshape_prepare,
    .check = reds_check_same_count,
    .eval = reshape_eval,
};

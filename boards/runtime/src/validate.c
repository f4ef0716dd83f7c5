/* SPDX-License-Identifier: Apache-2.0
 * Graph data-flow validation: an op may read only bytes that are defined when it runs. */
#include <string.h>

#include "validate.h"

/* "op <oi> (<NAME>): <what> <t><tail>", with "<extra_op>" appended when extra_op >= 0.
 * reds_err2 formats at most two numbers, so a third is added by formatting twice. */
static reds_status_t op_tensor_error(reds_ctx_t *ctx, uint32_t oi, const char *what, int t,
                                     const char *tail, int extra_op) {
  char mid[REDS_ERROR_LEN];
  const char *name = reds_op_name(ctx->ops[oi].code);
  size_t n = 0;
  const char *parts[4] = {" (", name != NULL ? name : "unknown op", "): ", what};
  for (int p = 0; p < 4; ++p) {
    const size_t len = strlen(parts[p]);
    const size_t room = sizeof mid - 1 - n;
    memcpy(mid + n, parts[p], len < room ? len : room);
    n += len < room ? len : room;
  }
  mid[n] = '\0';
  reds_status_t s = reds_err2(ctx, REDS_ERR_MODEL, "op ", oi, mid, t, tail);
  if (extra_op < 0) return s;
  char first[REDS_ERROR_LEN];
  memcpy(first, ctx->error, sizeof first);
  return reds_err2(ctx, REDS_ERR_MODEL, first, extra_op, "", 0, NULL);
}

static int is_subgraph_input(const reds_ctx_t *ctx, int t) {
  for (uint32_t i = 0; i < ctx->num_inputs; ++i)
    if (ctx->inputs[i] == t) return 1;
  return 0;
}

/* Index of the first op before `before` that writes t, or -1. */
static int32_t writer_before(const reds_ctx_t *ctx, int t, uint32_t before) {
  for (uint32_t j = 0; j < before; ++j)
    if (ctx->ops[j].out == t) return (int32_t)j;
  return -1;
}

/* Defined before op `oi` runs: a constant, a subgraph input, or written by an earlier op. */
static int defined_before(const reds_ctx_t *ctx, int t, uint32_t oi) {
  return ctx->tensors[t].data != NULL || is_subgraph_input(ctx, t) ||
         writer_before(ctx, t, oi) >= 0;
}

/* Scans instead of per-tensor tables: no memory beyond the context, O(ops^2) once at init. */
reds_status_t reds_validate_graph(reds_ctx_t *ctx) {
  const uint32_t nt = ctx->num_tensors;
  for (uint32_t i = 0; i < ctx->num_inputs; ++i) {
    const int t = ctx->inputs[i];
    if (t < 0 || (uint32_t)t >= nt)
      return reds_err2(ctx, REDS_ERR_MODEL, "subgraph input ", i, " names tensor ", t,
                       " which does not exist");
  }
  for (uint32_t oi = 0; oi < ctx->num_ops; ++oi) {
    const reds_op_rec_t *op = &ctx->ops[oi];
    const int out = op->out;
    const int num_in = op->num_in < 3 ? op->num_in : 3; /* in[] holds 3 */
    for (int j = 0; j < num_in; ++j) {
      const int t = op->in[j];
      if (t < 0) continue; /* absent optional input (e.g. no bias) */
      if ((uint32_t)t >= nt)
        return op_tensor_error(ctx, oi, "reads tensor ", t, " which does not exist", -1);
      if (!defined_before(ctx, t, oi))
        return op_tensor_error(ctx, oi, "reads tensor ", t,
                               " before any op writes it (not a constant, not a subgraph input)",
                               -1);
    }
    if (out < 0 || (uint32_t)out >= nt)
      return op_tensor_error(ctx, oi, "writes tensor ", out, " which does not exist", -1);
    for (int j = 0; j < num_in; ++j)
      if (op->in[j] == out)
        return op_tensor_error(ctx, oi, "writes tensor ", out, ", one of its own inputs", -1);
    if (is_subgraph_input(ctx, out))
      return op_tensor_error(ctx, oi, "writes tensor ", out, ", a subgraph input", -1);
    const int32_t prev = writer_before(ctx, out, oi);
    if (prev >= 0)
      return op_tensor_error(ctx, oi, "writes tensor ", out, ", already written by op ", prev);
    /* writing a constant is refused by the op's own checks ("constant activation input or output")
     */
  }
  for (uint32_t i = 0; i < ctx->num_outputs; ++i) {
    const int t = ctx->outputs[i];
    if (t < 0 || (uint32_t)t >= nt)
      return reds_err2(ctx, REDS_ERR_MODEL, "subgraph output ", i, " names tensor ", t,
                       " which does not exist");
    if (!defined_before(ctx, t, ctx->num_ops))
      return reds_err2(ctx, REDS_ERR_MODEL, "subgraph output ", i, " (tensor ", t,
                       ") is never written by an op");
  }
  return REDS_OK;
}

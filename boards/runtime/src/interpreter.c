/* SPDX-License-Identifier: Apache-2.0
 * reds_init (parse, validate, precompute requantization, plan every subnet), reds_select (O(1)),
 * reds_invoke (run the operators of the active subnet) and the small accessors of reds.h. */
#include <string.h>

#include "flatbuffer.h"
#include "reds.h"
#include "reds_ctx.h"
#include "reds_internal.h"
#include "reds_kernels.h"
#include "reds_ops.h"
#include "../kernels/reds_quant.h"
#include "validate.h"

/* Generic checks of every op, then the kernel's own prepare (reds_ops.h). */
static reds_status_t prepare_op(reds_ctx_t *ctx, uint32_t oi) {
  const reds_op_rec_t *op = &ctx->ops[oi];
  if (op->num_in < 1 || op->in[0] < 0)
    return reds_err_op(ctx, REDS_ERR_MODEL, oi, op->code, "missing input");
  TRY(reds_need_act(ctx, oi, op->out));
  TRY(reds_need_act(ctx, oi, op->in[0]));
  return reds_op_kernel_at(op->kind)->prepare(ctx, oi);
}

/* Active shapes of every op at subnet k must fit together; sums the MACs (metadata.md). */
static reds_status_t check_subnet(reds_ctx_t *ctx, uint32_t k, uint64_t *macs_out) {
  const uint32_t *ad = ctx->active_dim + (size_t)k * ctx->num_tensors;
  uint64_t macs = 0;
  for (uint32_t oi = 0; oi < ctx->num_ops; ++oi)
    TRY(reds_op_kernel_at(ctx->ops[oi].kind)->check(ctx, oi, ad, k, &macs));
  *macs_out = macs;
  return REDS_OK;
}

/* ------------------------------------------------------------------ API */

size_t reds_ctx_size(void) { return sizeof(reds_ctx_t); }

/* Output channels of the ops that keep per-channel requantization (sizes ctx->qmult). */
static uint64_t count_qchannels(const reds_ctx_t *ctx) {
  uint64_t n = 0;
  for (uint32_t oi = 0; oi < ctx->num_ops; ++oi) {
    const reds_op_rec_t *op = &ctx->ops[oi];
    if (!reds_op_kernel_at(op->kind)->per_channel_quant) continue;
    const reds_tensor_t *to = &ctx->tensors[op->out];
    if (to->ndims > 0) n += (uint64_t)to->dims[to->ndims - 1];
  }
  return n;
}

static void set_active(reds_ctx_t *ctx, uint32_t k) {
  ctx->active = k;
  ctx->cur_offset = ctx->offset + (size_t)k * ctx->num_tensors;
  ctx->cur_dim = ctx->active_dim + (size_t)k * ctx->num_tensors;
  ctx->cur_width = ctx->width + (size_t)k * ctx->num_groups;
}

reds_status_t reds_init(reds_ctx_t *ctx, const uint8_t *model, size_t model_len, uint8_t *arena,
                        size_t arena_len) {
  const uint8_t *meta_rows = NULL;
  reds_blob_ref_t blob;
  if (ctx == NULL) return REDS_ERR_ARG;
  memset(ctx, 0, sizeof *ctx);
  if (model == NULL) return reds_err(ctx, REDS_ERR_ARG, "model is NULL");
  if (arena == NULL && arena_len != 0) return reds_err(ctx, REDS_ERR_ARG, "arena is NULL");
  ctx->model = model;
  ctx->model_len = model_len;
  /* 16-byte align both ends: activations (float, int32, DSP loads) at the head, 8-byte aligned
   * tables at the tail */
  const size_t skip = arena ? (size_t)((16u - ((uintptr_t)arena & 15u)) & 15u) : 0;
  ctx->arena = arena ? arena + (skip < arena_len ? skip : arena_len) : NULL;
  ctx->arena_len = (arena_len > skip ? arena_len - skip : 0) & ~(size_t)15u;
  ctx->act_len = ctx->arena_len;

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
    if (t->data != NULL)
      return reds_err(ctx, REDS_ERR_MODEL, "a subgraph input is a constant tensor");
    t->first = 0;
    if (t->last < 0) t->last = 0;
    t->planned = 1;
  }
  for (uint32_t i = 0; i < ctx->num_outputs; ++i) {
    reds_tensor_t *t = &ctx->tensors[ctx->outputs[i]];
    if (t->data != NULL)
      return reds_err(ctx, REDS_ERR_MODEL, "a subgraph output is a constant tensor");
    if (t->first < 0) t->first = 0;
    t->last = last_op;
    t->planned = 1;
  }

  /* REDS metadata, or one subnet of a plain TFLite model */
  if (blob.found) {
    TRY(reds_metadata_parse(ctx, blob.data, blob.len, &meta_rows));
  } else {
    ctx->num_subnets = 1;
    ctx->num_groups = 0;
    ctx->full_width = ctx->width = (uint32_t *)reds_persist(ctx, 0);
    if (ctx->width == NULL) return reds_err_persist(ctx);
  }

  /* per-channel requantization and per-subnet tables, sized for this model */
  const uint64_t qcap = count_qchannels(ctx);
  if (qcap > 0xffffffffu)
    return reds_err2(ctx, REDS_ERR_CAPACITY, "model has ", (int64_t)qcap,
                     " output channels, above 4294967295 (uint32 table index)", 0, NULL);
  const uint64_t K = ctx->num_subnets, T = ctx->num_tensors;
  ctx->qcap = (uint32_t)qcap;
  ctx->qmult = (int32_t *)reds_persist(ctx, 4u * qcap);
  ctx->qshift = (int8_t *)reds_persist(ctx, qcap);
  ctx->offset = (uint32_t *)reds_persist(ctx, 4u * K * T);
  ctx->active_dim = (uint32_t *)reds_persist(ctx, 4u * K * T);
  ctx->arena_bytes = (uint32_t *)reds_persist(ctx, 4u * K);
  ctx->macs = (uint64_t *)reds_persist(ctx, 8u * K);
  if (ctx->qmult == NULL || ctx->qshift == NULL || ctx->offset == NULL || ctx->active_dim == NULL ||
      ctx->arena_bytes == NULL || ctx->macs == NULL)
    return reds_err_persist(ctx);

  for (uint32_t oi = 0; oi < ctx->num_ops; ++oi) TRY(prepare_op(ctx, oi));

  size_t smallest = (size_t)-1;
  const uint32_t G = ctx->num_groups;
  for (uint32_t k = 0; k < ctx->num_subnets; ++k) {
    uint32_t *adim = ctx->active_dim + (size_t)k * T;
    for (uint32_t t = 0; t < ctx->num_tensors; ++t) {
      const reds_tensor_t *tt = &ctx->tensors[t];
      adim[t] = tt->axis >= 0 ? tt->positions * ctx->width[(size_t)k * G + tt->group] : (uint32_t)0;
    }
    TRY(check_subnet(ctx, k, &ctx->macs[k]));
    reds_arena_plan(ctx, k);
    if (ctx->arena_bytes[k] == 0xffffffffu)
      return reds_err2(ctx, REDS_ERR_CAPACITY, "subnet ", k,
                       " needs 4 GB of activations or more, above 4294967295 (uint32 offsets)", 0,
                       NULL);
    if (meta_rows != NULL) {
      const uint8_t *row = meta_rows + (size_t)k * (8u + 4u * G);
      const uint32_t meta_macs = reds_ld_u32(row), meta_arena = reds_ld_u32(row + 4);
      if (meta_macs != 0 && (uint64_t)meta_macs != ctx->macs[k])
        return reds_err2(ctx, REDS_ERR_METADATA, "REDS metadata says macs=", meta_macs,
                         " but the runtime counts macs=", (int64_t)ctx->macs[k], " (subnet above)");
      if (meta_arena != 0 && meta_arena != ctx->arena_bytes[k])
        return reds_err2(ctx, REDS_ERR_METADATA, "REDS metadata says arena_bytes=", meta_arena,
                         " but the runtime plans arena_bytes=", ctx->arena_bytes[k], "");
    }
    if (ctx->arena_bytes[k] > ctx->max_arena) ctx->max_arena = ctx->arena_bytes[k];
    if (ctx->arena_bytes[k] < smallest) smallest = ctx->arena_bytes[k];
  }
  ctx->planned_ok = 1;
  /* select subnet 0 if it fits, else the first (largest) that does */
  for (uint32_t k = 0; k < ctx->num_subnets; ++k) {
    if (ctx->arena_bytes[k] <= ctx->act_len) {
      set_active(ctx, k);
      ctx->magic = REDS_CTX_MAGIC;
      ctx->error[0] = '\0';
      return REDS_OK;
    }
  }
  return reds_err2(ctx, REDS_ERR_ARENA,
                   "arena too small: persistent tables + the smallest subnet need ",
                   (int64_t)(ctx->persistent + smallest), " bytes, available ",
                   (int64_t)ctx->arena_len, " bytes (after 16-byte alignment)");
}

reds_status_t reds_err_persist(reds_ctx_t *ctx) {
  return reds_err2(ctx, REDS_ERR_ARENA,
                   "arena too small for the model's tables: they need more than ",
                   (int64_t)ctx->persistent, " bytes, available ", (int64_t)ctx->arena_len,
                   " (reds_arena_bytes_needed tells the total)");
}

reds_status_t reds_arena_bytes_needed(const uint8_t *model, size_t model_len, uint8_t *work,
                                      size_t work_len, size_t *bytes) {
  reds_ctx_t tmp;
  if (bytes == NULL) return REDS_ERR_ARG;
  *bytes = 0;
  const reds_status_t s = reds_init(&tmp, model, model_len, work, work_len);
  if (s != REDS_OK && !(s == REDS_ERR_ARENA && tmp.planned_ok)) return s;
  *bytes = reds_max_arena_bytes(&tmp);
  return REDS_OK;
}

reds_status_t reds_select(reds_ctx_t *ctx, uint32_t subnet) {
  if (ctx == NULL) return REDS_ERR_ARG;
  if (ctx->magic != REDS_CTX_MAGIC)
    return reds_err(ctx, REDS_ERR_STATE, "reds_init did not succeed");
  if (subnet >= ctx->num_subnets)
    return reds_err2(ctx, REDS_ERR_SUBNET, "subnet ", subnet, " out of range (model has ",
                     ctx->num_subnets, " subnets)");
  if (ctx->arena_bytes[subnet] > ctx->act_len)
    return reds_err2(ctx, REDS_ERR_ARENA, "arena too small for this subnet: needs ",
                     (int64_t)(ctx->persistent + ctx->arena_bytes[subnet]), " bytes, available ",
                     (int64_t)ctx->arena_len, " bytes");
  set_active(ctx, subnet);
  return REDS_OK;
}

reds_status_t reds_invoke(reds_ctx_t *ctx) {
  if (ctx == NULL) return REDS_ERR_ARG;
  if (ctx->magic != REDS_CTX_MAGIC)
    return reds_err(ctx, REDS_ERR_STATE, "reds_init did not succeed");
  for (uint32_t oi = 0; oi < ctx->num_ops; ++oi) {
    const reds_op_rec_t *op = &ctx->ops[oi];
    TRY(reds_op_kernel_at(op->kind)->eval(ctx, op));
  }
  return REDS_OK;
}

#ifdef REDS_PROFILE
/* reds_invoke with one clock read between ops: ticks[oi] is op oi's share, so the entries sum to
 * the whole invoke. A separate function keeps reds_invoke itself unchanged by the profiler. */
reds_status_t reds_invoke_profiled(reds_ctx_t *ctx, reds_clock_fn now, uint64_t *ticks,
                                   uint32_t max_ops) {
  if (ctx == NULL || now == NULL || ticks == NULL) return REDS_ERR_ARG;
  if (ctx->magic != REDS_CTX_MAGIC)
    return reds_err(ctx, REDS_ERR_STATE, "reds_init did not succeed");
  if (max_ops < ctx->num_ops)
    return reds_err2(ctx, REDS_ERR_CAPACITY, "profile array holds ", max_ops,
                     " ops, the model has ", ctx->num_ops, "");
  uint64_t t0 = now();
  for (uint32_t oi = 0; oi < ctx->num_ops; ++oi) {
    const reds_op_rec_t *op = &ctx->ops[oi];
    TRY(reds_op_kernel_at(op->kind)->eval(ctx, op));
    const uint64_t t1 = now();
    ticks[oi] = t1 - t0;
    t0 = t1;
  }
  return REDS_OK;
}

uint32_t reds_num_ops(const reds_ctx_t *ctx) {
  return ctx != NULL && ctx->magic == REDS_CTX_MAGIC ? ctx->num_ops : 0;
}

const char *reds_op_name_at(const reds_ctx_t *ctx, uint32_t op) {
  if (ctx == NULL || ctx->magic != REDS_CTX_MAGIC || op >= ctx->num_ops) return "?";
  return reds_op_name(ctx->ops[op].code);
}

uint64_t reds_op_macs(reds_ctx_t *ctx, uint32_t subnet, uint32_t op) {
  uint64_t macs = 0;
  if (ctx == NULL || ctx->magic != REDS_CTX_MAGIC || op >= ctx->num_ops ||
      subnet >= ctx->num_subnets)
    return 0;
  const uint32_t *ad = ctx->active_dim + (size_t)subnet * ctx->num_tensors;
  if (reds_op_kernel_at(ctx->ops[op].kind)->check(ctx, op, ad, subnet, &macs) != REDS_OK) return 0;
  return macs;
}
#endif

/* ------------------------------------------------------------ accessors */

static int ready(const reds_ctx_t *ctx) { return ctx != NULL && ctx->magic == REDS_CTX_MAGIC; }

uint32_t reds_num_subnets(const reds_ctx_t *ctx) { return ready(ctx) ? ctx->num_subnets : 0; }
uint32_t reds_active_subnet(const reds_ctx_t *ctx) { return ready(ctx) ? ctx->active : 0; }
uint32_t reds_num_groups(const reds_ctx_t *ctx) { return ready(ctx) ? ctx->num_groups : 0; }
uint32_t reds_group_width(const reds_ctx_t *ctx, uint32_t subnet, uint32_t group) {
  if (!ready(ctx) || subnet >= ctx->num_subnets || group >= ctx->num_groups) return 0;
  return ctx->width[(size_t)subnet * ctx->num_groups + group];
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
  return ctx != NULL && ctx->planned_ok ? (size_t)ctx->persistent + ctx->max_arena : 0;
}
size_t reds_arena_used_bytes(const reds_ctx_t *ctx) {
  return ready(ctx) ? (size_t)ctx->persistent + ctx->arena_bytes[ctx->active] : 0;
}
size_t reds_persistent_bytes(const reds_ctx_t *ctx) {
  return ready(ctx) || (ctx != NULL && ctx->planned_ok) ? (size_t)ctx->persistent : 0;
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
  return t < 0 ? NULL : reds_out_ptr((reds_ctx_t *)ctx, t);
}
const void *reds_output_data(const reds_ctx_t *ctx, uint32_t i) {
  const int t = io_tensor(ctx, i, 1);
  return t < 0 ? NULL : (const void *)(ctx->arena + ctx->cur_offset[t]);
}
size_t reds_input_bytes(const reds_ctx_t *ctx, uint32_t i) {
  const int t = io_tensor(ctx, i, 0);
  return t < 0
             ? 0
             : (size_t)(reds_elems_at(ctx, ctx->cur_dim, t) * reds_type_size(ctx->tensors[t].type));
}
size_t reds_output_bytes(const reds_ctx_t *ctx, uint32_t i) {
  const int t = io_tensor(ctx, i, 1);
  return t < 0
             ? 0
             : (size_t)(reds_elems_at(ctx, ctx->cur_dim, t) * reds_type_size(ctx->tensors[t].type));
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
  for (int d = 0; d < n && d < max_dims; ++d) dims[d] = reds_act_dim(ctx, ctx->cur_dim, t, d);
  return n;
}
int reds_input_shape(const reds_ctx_t *ctx, uint32_t i, int32_t *dims, int max_dims) {
  return shape_of(ctx, io_tensor(ctx, i, 0), dims, max_dims);
}
int reds_output_shape(const reds_ctx_t *ctx, uint32_t i, int32_t *dims, int max_dims) {
  return shape_of(ctx, io_tensor(ctx, i, 1), dims, max_dims);
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

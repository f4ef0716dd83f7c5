/* SPDX-License-Identifier: Apache-2.0
 * TFLite flatbuffer -> reds_ctx_t tables (subgraph 0): tensors, buffers, quantization, operators
 * with their builtin options, and the location of the REDS metadata buffer. Every offset, length
 * and index read from the model is checked before use. */
#include <string.h>

#include "flatbuffer.h"
#include "reds_internal.h"
#include "reds_ops.h"

/* Field numbers of schema.fbs (vtable slot i is at byte 4 + 2 i). */
enum { M_OPCODES = 1, M_SUBGRAPHS = 2, M_BUFFERS = 4, M_METADATA = 6 };
enum { SG_TENSORS = 0, SG_INPUTS = 1, SG_OUTPUTS = 2, SG_OPERATORS = 3 };
enum { T_SHAPE = 0, T_TYPE = 1, T_BUFFER = 2, T_QUANT = 4 };
enum { Q_SCALE = 2, Q_ZERO_POINT = 3, Q_DIM = 6 };
enum { OP_OPCODE = 0, OP_INPUTS = 1, OP_OUTPUTS = 2, OP_OPT_TYPE = 3, OP_OPT = 4 };
enum { OC_DEPRECATED = 0, OC_BUILTIN = 3 };
enum { B_DATA = 0, B_OFFSET = 1, B_SIZE = 2 };
enum { MD_NAME = 0, MD_BUFFER = 1 };

uint32_t reds_type_size(int type) {
  switch (type) {
  case REDS_TYPE_FLOAT32: return 4;
  case REDS_TYPE_INT32: return 4;
  case REDS_TYPE_UINT8: return 1;
  case REDS_TYPE_INT16: return 2;
  case REDS_TYPE_INT8: return 1;
  default: return 0;
  }
}

#define FB_TRY(expr, what)                                                                         \
  do {                                                                                             \
    if ((expr) < 0) return reds_err(ctx, REDS_ERR_TRUNCATED, (what));                              \
  } while (0)

static reds_status_t parse_buffer(reds_ctx_t *ctx, const reds_fb_t *fb, const reds_fb_vec_t *bufs,
                                  uint32_t index, const uint8_t **data, uint32_t *len) {
  reds_fb_table_t b;
  reds_fb_vec_t v;
  uint64_t off = 0, size = 0;
  *data = NULL;
  *len = 0;
  if (index >= bufs->count)
    return reds_err2(ctx, REDS_ERR_MODEL, "buffer index ", index, " out of range (", bufs->count,
                     " buffers)");
  FB_TRY(reds_fb_vec_table(fb, bufs, index, &b), "buffer table out of range");
  int r = reds_fb_vector(fb, &b, B_DATA, 1, &v);
  FB_TRY(r, "buffer data out of range");
  if (r == 0 && v.count > 0) {
    *data = fb->buf + v.data;
    *len = v.count;
    return REDS_OK;
  }
  FB_TRY(reds_fb_u64(fb, &b, B_OFFSET, 0, &off), "buffer offset out of range");
  FB_TRY(reds_fb_u64(fb, &b, B_SIZE, 0, &size), "buffer size out of range");
  if (off > 1) { /* data stored after the flatbuffer (models > 2 GB layout) */
    if (off > fb->len || size > fb->len - off)
      return reds_err2(ctx, REDS_ERR_TRUNCATED, "buffer ", index,
                       " points past the end of the model", 0, NULL);
    *data = fb->buf + off;
    *len = (uint32_t)size;
  }
  return REDS_OK;
}

static reds_status_t parse_tensor(reds_ctx_t *ctx, const reds_fb_t *fb, const reds_fb_vec_t *bufs,
                                  const reds_fb_table_t *tt, uint32_t ti, int32_t **dims_pool) {
  reds_tensor_t *t = &ctx->tensors[ti];
  reds_fb_vec_t shape;
  uint32_t buffer = 0;
  memset(t, 0, sizeof *t);
  t->axis = -1;
  t->first = -1;
  t->last = -1;
  int r = reds_fb_vector(fb, tt, T_SHAPE, 4, &shape);
  FB_TRY(r, "tensor shape out of range");
  t->dims = *dims_pool;
  if (r == 0) {
    if (shape.count > 255)
      return reds_err2(ctx, REDS_ERR_CAPACITY, "tensor ", ti, " has rank ", shape.count,
                       ", above 255 (uint8 rank)");
    t->ndims = (uint8_t)shape.count;
    *dims_pool += shape.count;
    uint64_t elems = 1;
    for (uint32_t d = 0; d < shape.count; ++d) {
      const int32_t dim = reds_ld_i32(fb->buf + shape.data + 4u * d);
      if (dim < 1)
        return reds_err2(ctx, REDS_ERR_SHAPE, "tensor ", ti,
                         " has a dimension below 1 (dynamic shapes are not supported)", 0, NULL);
      t->dims[d] = dim;
      elems *= (uint64_t)dim;
      if (elems > ((uint64_t)1 << 28))
        return reds_err2(ctx, REDS_ERR_CAPACITY, "tensor ", ti, " has too many elements", 0, NULL);
    }
  }
  FB_TRY(reds_fb_u8(fb, tt, T_TYPE, 0, &t->type), "tensor type out of range");
  FB_TRY(reds_fb_u32(fb, tt, T_BUFFER, 0, &buffer), "tensor buffer out of range");
  reds_status_t s = parse_buffer(ctx, fb, bufs, buffer, &t->data, &t->data_len);
  if (s != REDS_OK) return s;

  reds_fb_table_t q;
  r = reds_fb_subtable(fb, tt, T_QUANT, &q);
  FB_TRY(r, "tensor quantization out of range");
  if (r == 0) {
    reds_fb_vec_t sc, zp;
    int rs = reds_fb_vector(fb, &q, Q_SCALE, 4, &sc);
    int rz = reds_fb_vector(fb, &q, Q_ZERO_POINT, 8, &zp);
    FB_TRY(rs, "quantization scales out of range");
    FB_TRY(rz, "quantization zero points out of range");
    int32_t qdim = 0;
    FB_TRY(reds_fb_i32(fb, &q, Q_DIM, 0, &qdim), "quantized dimension out of range");
    if (rs == 0 && sc.count > 0) {
      t->scales = fb->buf + sc.data;
      t->num_scales = sc.count;
      t->scale = reds_ld_f32(t->scales);
    }
    if (rz == 0 && zp.count > 0) {
      const uint64_t z = reds_ld_u64(fb->buf + zp.data);
      const int64_t zs = (int64_t)z;
      if (zs < INT32_MIN || zs > INT32_MAX)
        return reds_err2(ctx, REDS_ERR_QUANT, "tensor ", ti, " zero point out of int32 range", 0,
                         NULL);
      t->zero_point = (int32_t)zs;
      t->num_zero_points = zp.count;
      /* per-channel zero points must all equal the first (0 for symmetric weights) */
      for (uint32_t j = 1; j < zp.count; ++j)
        if (reds_ld_u64(fb->buf + zp.data + 8u * j) != z)
          return reds_err2(ctx, REDS_ERR_QUANT, "tensor ", ti,
                           " has differing per-channel zero points", 0, NULL);
    }
    (void)qdim;
  }
  return REDS_OK;
}

/* BuiltinOptions: the union tag must be the one the op's kernel reads; the kernel reads them. */
static reds_status_t parse_options(reds_ctx_t *ctx, const reds_fb_t *fb, const reds_fb_table_t *ot,
                                   uint32_t oi) {
  reds_op_rec_t *op = &ctx->ops[oi];
  const reds_op_kernel_t *kernel = reds_op_kernel_at(op->kind);
  uint8_t opt_type = 0;
  reds_fb_table_t o;
  FB_TRY(reds_fb_u8(fb, ot, OP_OPT_TYPE, 0, &opt_type), "builtin options type out of range");
  int r = reds_fb_subtable(fb, ot, OP_OPT, &o);
  FB_TRY(r, "builtin options out of range");
  op->beta = 1.0f;
  if (r != 0) return REDS_OK; /* absent: defaults, validated by prepare */
  if (kernel->options_type == REDS_OPTIONS_NONE || opt_type != kernel->options_type)
    return reds_err_op(ctx, REDS_ERR_MODEL, oi, op->code, "builtin options of the wrong type");
  return kernel->options != NULL ? kernel->options(ctx, oi, fb, &o) : REDS_OK;
}

static reds_status_t parse_index_vec(reds_ctx_t *ctx, const reds_fb_t *fb, const reds_fb_vec_t *v,
                                     uint32_t max, int16_t *dst, int allow_optional, uint32_t oi,
                                     int code) {
  if (v->count > max)
    return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, code, "too many inputs or outputs");
  for (uint32_t j = 0; j < v->count; ++j) {
    const int32_t ix = reds_ld_i32(fb->buf + v->data + 4u * j);
    if (ix == -1 && allow_optional) {
      dst[j] = -1;
      continue;
    }
    if (ix < 0 || (uint32_t)ix >= ctx->num_tensors)
      return reds_err2(ctx, REDS_ERR_MODEL, "tensor index ", ix, " out of range (",
                       ctx->num_tensors, " tensors)");
    dst[j] = (int16_t)ix;
  }
  return REDS_OK;
}

reds_status_t reds_model_parse(reds_ctx_t *ctx, reds_blob_ref_t *blob) {
  reds_fb_t fb;
  reds_fb_table_t root, sg, t;
  reds_fb_vec_t codes, subgraphs, buffers, tensors, ops, v;
  reds_status_t s;
  int r;

  blob->found = 0;
  blob->data = NULL;
  blob->len = 0;
  if (ctx->model_len < 8) return reds_err(ctx, REDS_ERR_TRUNCATED, "model shorter than 8 bytes");
  if (ctx->model_len > 0x7fffffffu) return reds_err(ctx, REDS_ERR_MODEL, "model larger than 2 GB");
  if (memcmp(ctx->model + 4, "TFL3", 4) != 0)
    return reds_err(ctx, REDS_ERR_MODEL, "file identifier is not TFL3 (not a TFLite model)");
  fb.buf = ctx->model;
  fb.len = (uint32_t)ctx->model_len;
  FB_TRY(reds_fb_root(&fb, &root), "root table out of range");

  r = reds_fb_vector(&fb, &root, M_OPCODES, 4, &codes);
  FB_TRY(r, "operator codes out of range");
  if (r) codes.count = 0;
  r = reds_fb_vector(&fb, &root, M_BUFFERS, 4, &buffers);
  FB_TRY(r, "buffers out of range");
  if (r) buffers.count = 0;
  r = reds_fb_vector(&fb, &root, M_SUBGRAPHS, 4, &subgraphs);
  FB_TRY(r, "subgraphs out of range");
  if (r || subgraphs.count == 0) return reds_err(ctx, REDS_ERR_MODEL, "model has no subgraph");
  FB_TRY(reds_fb_vec_table(&fb, &subgraphs, 0, &sg), "subgraph 0 out of range");

  /* tensors */
  r = reds_fb_vector(&fb, &sg, SG_TENSORS, 4, &tensors);
  FB_TRY(r, "tensors out of range");
  if (r) tensors.count = 0;
  if (tensors.count > 32767)
    return reds_err2(ctx, REDS_ERR_CAPACITY, "model has ", tensors.count,
                     " tensors, above 32767 (int16 tensor index)", 0, NULL);
  reds_fb_vec_t ins, outs;
  r = reds_fb_vector(&fb, &sg, SG_INPUTS, 4, &ins);
  FB_TRY(r, "subgraph inputs out of range");
  if (r || ins.count == 0) return reds_err(ctx, REDS_ERR_MODEL, "subgraph has no inputs");
  r = reds_fb_vector(&fb, &sg, SG_OUTPUTS, 4, &outs);
  FB_TRY(r, "subgraph outputs out of range");
  if (r || outs.count == 0) return reds_err(ctx, REDS_ERR_MODEL, "subgraph has no outputs");
  r = reds_fb_vector(&fb, &sg, SG_OPERATORS, 4, &ops);
  FB_TRY(r, "operators out of range");
  if (r) ops.count = 0;
  if (ops.count == 0) return reds_err(ctx, REDS_ERR_MODEL, "subgraph has no operators");

  /* persistent records, sized for this model (ranks summed first: dims live in one pool) */
  uint64_t total_dims = 0;
  for (uint32_t i = 0; i < tensors.count; ++i) {
    FB_TRY(reds_fb_vec_table(&fb, &tensors, i, &t), "tensor table out of range");
    r = reds_fb_vector(&fb, &t, T_SHAPE, 4, &v);
    FB_TRY(r, "tensor shape out of range");
    if (r == 0) total_dims += v.count;
  }
  ctx->tensors =
      (reds_tensor_t *)reds_persist(ctx, (uint64_t)tensors.count * sizeof(reds_tensor_t));
  int32_t *dims_pool = (int32_t *)reds_persist(ctx, total_dims * sizeof(int32_t));
  ctx->ops = (reds_op_rec_t *)reds_persist(ctx, (uint64_t)ops.count * sizeof(reds_op_rec_t));
  ctx->inputs = (int16_t *)reds_persist(ctx, (uint64_t)ins.count * sizeof(int16_t));
  ctx->outputs = (int16_t *)reds_persist(ctx, (uint64_t)outs.count * sizeof(int16_t));
  if (ctx->tensors == NULL || dims_pool == NULL || ctx->ops == NULL || ctx->inputs == NULL ||
      ctx->outputs == NULL)
    return reds_err_persist(ctx);

  ctx->num_tensors = tensors.count;
  for (uint32_t i = 0; i < tensors.count; ++i) {
    FB_TRY(reds_fb_vec_table(&fb, &tensors, i, &t), "tensor table out of range");
    s = parse_tensor(ctx, &fb, &buffers, &t, i, &dims_pool);
    if (s != REDS_OK) return s;
  }

  /* subgraph inputs and outputs */
  ctx->num_inputs = ins.count;
  s = parse_index_vec(ctx, &fb, &ins, ins.count, ctx->inputs, 0, 0, -1);
  if (s != REDS_OK) return s;
  ctx->num_outputs = outs.count;
  s = parse_index_vec(ctx, &fb, &outs, outs.count, ctx->outputs, 0, 0, -1);
  if (s != REDS_OK) return s;

  /* operators */
  ctx->num_ops = ops.count;
  for (uint32_t i = 0; i < ops.count; ++i) {
    reds_op_rec_t *op = &ctx->ops[i];
    reds_fb_table_t ot, ct;
    uint32_t opcode_index = 0;
    uint8_t dep = 0;
    int32_t builtin = 0;
    memset(op, 0, sizeof *op);
    op->in[0] = op->in[1] = op->in[2] = -1;
    op->out = -1;
    FB_TRY(reds_fb_vec_table(&fb, &ops, i, &ot), "operator table out of range");
    FB_TRY(reds_fb_u32(&fb, &ot, OP_OPCODE, 0, &opcode_index), "opcode index out of range");
    if (opcode_index >= codes.count)
      return reds_err2(ctx, REDS_ERR_MODEL, "operator ", i, " has opcode index out of range", 0,
                       NULL);
    FB_TRY(reds_fb_vec_table(&fb, &codes, opcode_index, &ct), "operator code out of range");
    FB_TRY(reds_fb_u8(&fb, &ct, OC_DEPRECATED, 0, &dep), "operator code out of range");
    FB_TRY(reds_fb_i32(&fb, &ct, OC_BUILTIN, 0, &builtin), "operator code out of range");
    const int32_t code = builtin > (int8_t)dep ? builtin : (int8_t)dep;
    const int kind = reds_op_index(code);
    if (kind < 0) return reds_err_unsupported_op(ctx, i, code);
    op->kind = (uint8_t)kind;
    op->code = (uint8_t)code;
    r = reds_fb_vector(&fb, &ot, OP_INPUTS, 4, &v);
    FB_TRY(r, "operator inputs out of range");
    if (r) v.count = 0;
    s = parse_index_vec(ctx, &fb, &v, 3, op->in, 1, i, code);
    if (s != REDS_OK) return s;
    op->num_in = (uint8_t)v.count;
    r = reds_fb_vector(&fb, &ot, OP_OUTPUTS, 4, &v);
    FB_TRY(r, "operator outputs out of range");
    if (r || v.count != 1)
      return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, i, code,
                         "operator must have exactly one output");
    s = parse_index_vec(ctx, &fb, &v, 1, &op->out, 0, i, code);
    if (s != REDS_OK) return s;
    s = parse_options(ctx, &fb, &ot, i);
    if (s != REDS_OK) return s;
  }

  /* Model.metadata: find the entry named "REDS" */
  r = reds_fb_vector(&fb, &root, M_METADATA, 4, &v);
  FB_TRY(r, "metadata out of range");
  if (r == 0) {
    for (uint32_t i = 0; i < v.count; ++i) {
      reds_fb_table_t md;
      reds_fb_vec_t name;
      uint32_t buf_index = 0;
      FB_TRY(reds_fb_vec_table(&fb, &v, i, &md), "metadata entry out of range");
      int rn = reds_fb_vector(&fb, &md, MD_NAME, 1, &name);
      FB_TRY(rn, "metadata name out of range");
      if (rn != 0 || name.count != 4 || memcmp(fb.buf + name.data, "REDS", 4) != 0) continue;
      FB_TRY(reds_fb_u32(&fb, &md, MD_BUFFER, 0, &buf_index), "metadata buffer out of range");
      s = parse_buffer(ctx, &fb, &buffers, buf_index, &blob->data, &blob->len);
      if (s != REDS_OK) return s;
      blob->found = 1;
      break;
    }
  }
  return REDS_OK;
}

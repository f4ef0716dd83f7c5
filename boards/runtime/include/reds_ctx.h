/* SPDX-License-Identifier: Apache-2.0
 * The REDS context: everything reds_init() derives from a model, in fixed arrays sized by the
 * REDS_MAX_* limits of reds.h (no heap). Allocate one statically; treat the fields as private.
 *
 * Size with the defaults: about 40 KB on a 32-bit target (tensors ~9 KB, per-subnet tables
 * ~12 KB, per-channel requantization ~10 KB). Lower REDS_MAX_* for small boards.
 */
#ifndef REDS_CTX_H
#define REDS_CTX_H

#include <stddef.h>
#include <stdint.h>

#include "reds.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef REDS_MAX_DIMS
#define REDS_MAX_DIMS 6
#endif
#ifndef REDS_MAX_IO
#define REDS_MAX_IO 4 /* subgraph inputs / outputs */
#endif
#ifndef REDS_MAX_QCHANNELS
#define REDS_MAX_QCHANNELS 2048 /* sum of output channels of all conv / dw / fc ops */
#endif
#ifndef REDS_ERROR_LEN
#define REDS_ERROR_LEN 160
#endif

typedef struct {
  const uint8_t *data; /* constant data inside the model; NULL for arena tensors */
  uint32_t data_len;
  int32_t dims[REDS_MAX_DIMS];
  uint8_t ndims;
  uint8_t type;    /* TFLite TensorType */
  uint8_t planned; /* 1: lives in the arena (arena.md rule 1) */
  int8_t axis;     /* sliced axis, -1 if the tensor is in no channel group */
  uint16_t group;
  uint32_t positions; /* dims[axis] / full width of the group (P, flatten) */
  float scale;        /* per-tensor scale (first entry) */
  int32_t zero_point; /* per-tensor zero point (first entry) */
  const uint8_t *scales; /* per-channel float32 scales in the model (little-endian) */
  uint32_t num_scales;
  uint32_t num_zero_points;
  int32_t first, last; /* lifetime in operator indices; -1 if unused */
} reds_tensor_t;

typedef struct {
  uint8_t code;     /* reds_op_t code (TFLite BuiltinOperator subset) */
  uint8_t num_in;
  int16_t in[3];    /* tensor indices, -1 for an absent optional input */
  int16_t out;
  uint8_t padding;  /* 0 SAME, 1 VALID */
  uint8_t keep_dims;
  uint8_t fused;    /* fused activation: 0 NONE, 1 RELU, 2 RELU_N1_TO_1, 3 RELU6 */
  int32_t stride_w, stride_h, filter_w, filter_h;
  int32_t pad_w, pad_h;
  int32_t act_min, act_max;
  float beta;
  uint32_t qoff;    /* first entry of this op in ctx->qmult / ctx->qshift */
  /* op-specific precomputed requantization (ADD, MEAN, SOFTMAX, per-tensor scalars) */
  int32_t m[3];
  int32_t s[3];
  int32_t same_quant;
} reds_op_rec_t;

struct reds_ctx {
  uint32_t magic; /* set by a successful reds_init */
  const uint8_t *model;
  size_t model_len;
  uint8_t *arena; /* 16-byte aligned start inside the caller's buffer */
  size_t arena_len;

  uint32_t num_tensors, num_ops, num_inputs, num_outputs;
  int16_t inputs[REDS_MAX_IO], outputs[REDS_MAX_IO];
  reds_tensor_t tensors[REDS_MAX_TENSORS];
  reds_op_rec_t ops[REDS_MAX_OPS];
  int32_t qmult[REDS_MAX_QCHANNELS];
  int8_t qshift[REDS_MAX_QCHANNELS];
  uint32_t qused;

  /* REDS metadata (one subnet and no groups for a plain model) */
  uint32_t num_subnets, num_groups;
  uint32_t full_width[REDS_MAX_GROUPS];
  uint32_t width[REDS_MAX_SUBNETS][REDS_MAX_GROUPS];
  int has_metadata;

  /* per-subnet tables computed at init; reds_select() only swaps the pointers below */
  uint32_t offset[REDS_MAX_SUBNETS][REDS_MAX_TENSORS];     /* arena offset, planned tensors */
  uint32_t active_dim[REDS_MAX_SUBNETS][REDS_MAX_TENSORS]; /* size of the sliced axis */
  uint32_t arena_bytes[REDS_MAX_SUBNETS];
  uint64_t macs[REDS_MAX_SUBNETS];
  uint32_t max_arena; /* arena bytes of the widest subnet */
  int planned_ok;     /* tables valid (reds_init returned REDS_OK or REDS_ERR_ARENA) */

  uint32_t active;
  const uint32_t *cur_offset;
  const uint32_t *cur_dim;

  char error[REDS_ERROR_LEN];
};

#ifdef __cplusplus
}
#endif

#endif /* REDS_CTX_H */

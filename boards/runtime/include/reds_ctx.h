/* SPDX-License-Identifier: Apache-2.0
 * The REDS context: a small fixed header (400 bytes on Cortex-M, 496 on a 64-bit host). Everything
 * reds_init() derives from a model (tensor and op records, per-channel requantization, per-subnet
 * offset / width tables) lives in the persistent region at the tail of the caller's arena, sized
 * exactly for that model, as TFLM does. Allocate the header statically; treat fields as private.
 */
#ifndef REDS_CTX_H
#define REDS_CTX_H

#include <stddef.h>
#include <stdint.h>

#include "reds.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes of the last error's text (reds_last_error), NUL included. The longest message is the
 * unsupported-op one with the whole list of supported ops, 212 characters with today's 12 ops
 * (src/error.c, reds_err_unsupported_op): keep this above it when adding ops. */
#ifndef REDS_ERROR_LEN
#define REDS_ERROR_LEN 256
#endif

typedef struct {
  const uint8_t *data; /* constant data inside the model; NULL for arena tensors */
  uint32_t data_len;
  int32_t *dims; /* ndims entries, in the persistent region */
  uint8_t ndims;
  uint8_t type;    /* TFLite TensorType */
  uint8_t planned; /* 1: lives in the arena (arena.md rule 1) */
  int8_t axis;     /* sliced axis, -1 if the tensor is in no channel group */
  uint16_t group;
  uint32_t positions;    /* dims[axis] / full width of the group (P, flatten) */
  float scale;           /* per-tensor scale (first entry) */
  int32_t zero_point;    /* per-tensor zero point (first entry) */
  const uint8_t *scales; /* per-channel float32 scales in the model (little-endian) */
  uint32_t num_scales;
  uint32_t num_zero_points;
  int32_t first, last; /* lifetime in operator indices; -1 if unused */
} reds_tensor_t;

typedef struct {
  uint8_t code; /* TFLite BuiltinOperator code (one of the op table's, src/ops.c) */
  uint8_t num_in;
  uint8_t padding; /* 0 SAME, 1 VALID */
  uint8_t keep_dims;
  uint8_t fused; /* fused activation: 0 NONE, 1 RELU, 2 RELU_N1_TO_1, 3 RELU6 */
  uint8_t kind;  /* index of the op's entry in the kernel table (ops.c) */
  int16_t out;
  int16_t in[3]; /* tensor indices, -1 for an absent optional input */
  int32_t stride_w, stride_h, filter_w, filter_h;
  int32_t pad_w, pad_h;
  int32_t act_min, act_max;
  float beta;
  uint32_t qoff; /* first entry of this op in ctx->qmult / ctx->qshift */
  /* op-specific precomputed requantization (ADD, MEAN, SOFTMAX, per-tensor scalars) */
  int32_t m[3];
  int32_t s[3];
  int32_t same_quant;
} reds_op_rec_t;

/* The fixed header. Every table below points into the persistent region at the tail of the
 * caller's arena (docs/arena.md "Layout"), sized for the model by reds_init. */
struct reds_ctx {
  uint32_t magic; /* set by a successful reds_init */
  const uint8_t *model;
  size_t model_len;
  uint8_t *arena;      /* 16-byte aligned start inside the caller's buffer */
  size_t arena_len;    /* bytes from arena to the end of the caller's buffer, 16-byte multiple */
  size_t act_len;      /* head: bytes available to activations (persistent region starts here) */
  uint64_t persistent; /* tail: bytes of the persistent region (counted on even if they failed) */
  int persist_failed;  /* the arena could not hold the tables */

  uint32_t num_tensors, num_ops, num_inputs, num_outputs;
  int16_t *inputs, *outputs; /* [num_inputs], [num_outputs] */
  reds_tensor_t *tensors;    /* [num_tensors] */
  reds_op_rec_t *ops;        /* [num_ops] */
  int32_t *qmult;            /* [qcap] per-channel requantization of conv / dw / fc */
  int8_t *qshift;            /* [qcap] */
  uint32_t qused, qcap;

  /* REDS metadata (one subnet and no groups for a plain model) */
  uint32_t num_subnets, num_groups;
  uint32_t *full_width; /* [G] */
  uint32_t *width;      /* [K][G]: width of group g at subnet k is width[k * G + g] */
  int has_metadata;

  /* per-subnet tables computed at init; reds_select() only swaps the pointers below */
  uint32_t *offset;      /* [K][T] arena offset of planned tensors */
  uint32_t *active_dim;  /* [K][T] size of the sliced axis */
  uint32_t *arena_bytes; /* [K] */
  uint64_t *macs;        /* [K] */
  uint32_t max_arena;    /* arena bytes of the widest subnet (activations only) */
  int planned_ok;        /* tables valid (reds_init returned REDS_OK or REDS_ERR_ARENA) */

  uint32_t active;
  const uint32_t *cur_offset; /* offset + active * T */
  const uint32_t *cur_dim;    /* active_dim + active * T */
  const uint32_t *cur_width;  /* width + active * G */

  char error[REDS_ERROR_LEN];
};

#ifdef __cplusplus
}
#endif

#endif /* REDS_CTX_H */

/* SPDX-License-Identifier: Apache-2.0
 * Internal declarations shared by the runtime's source files. */
#ifndef REDS_INTERNAL_H
#define REDS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "reds.h"
#include "reds_ctx.h"

#define REDS_CTX_MAGIC 0x53444552u /* "REDS" */

/* TFLite TensorType codes. */
enum {
  REDS_TYPE_FLOAT32 = 0,
  REDS_TYPE_INT32 = 2,
  REDS_TYPE_UINT8 = 3,
  REDS_TYPE_INT64 = 4,
  REDS_TYPE_INT16 = 7,
  REDS_TYPE_INT8 = 9
};

/* Buffer holding the REDS metadata blob, found by the model parser. */
typedef struct {
  const uint8_t *data;
  uint32_t len;
  int found;
} reds_blob_ref_t;

/* Model parser (model.c): tensors, operators, options, metadata location. */
reds_status_t reds_model_parse(reds_ctx_t *ctx, reds_blob_ref_t *blob);
uint32_t reds_type_size(int type); /* 0 for types the arena cannot hold */

/* REDS metadata (metadata.c): parse, CRC, validation against the tensors. */
/* Allocates full_width / width and sets *rows to the K subnet rows { u32 macs; u32 arena_bytes;
 * u32 width[G] } inside the blob (read again when checking the runtime's own numbers). */
reds_status_t reds_metadata_parse(reds_ctx_t *ctx, const uint8_t *blob, uint32_t len,
                                  const uint8_t **rows);

/* Arena planner (arena.c): arena.md rule for subnet k from its row of ctx->active_dim. */
void reds_arena_plan(reds_ctx_t *ctx, uint32_t k);
/* Persistent region (arena.c): `bytes` from the tail of the arena, 8-byte aligned; NULL if the
 * arena cannot hold them (then reds_err_persist() gives the error). */
void *reds_persist(reds_ctx_t *ctx, uint64_t bytes);
reds_status_t reds_err_persist(reds_ctx_t *ctx);
uint64_t reds_tensor_bytes(const reds_ctx_t *ctx, uint32_t k, uint32_t t); /* unpadded */

/* Element count of tensor t at subnet k's widths. */
uint64_t reds_tensor_elems(const reds_ctx_t *ctx, uint32_t k, uint32_t t);

/* Error text helpers: set ctx->error and return code. Strings may be NULL. */
reds_status_t reds_err(reds_ctx_t *ctx, reds_status_t code, const char *s1);
reds_status_t reds_err2(reds_ctx_t *ctx, reds_status_t code, const char *s1, int64_t n1,
                        const char *s2, int64_t n2, const char *s3);
reds_status_t reds_err_op(reds_ctx_t *ctx, reds_status_t code, uint32_t op_index, int op_code,
                          const char *what);
/* "op N (NAME): not supported by the REDS runtime (supported: ADD, ...)", REDS_ERR_UNSUPPORTED_OP;
 * the list comes from the op table (ops.c) and is written whole: REDS_ERROR_LEN (reds_ctx.h)
 * holds it. */
reds_status_t reds_err_unsupported_op(reds_ctx_t *ctx, uint32_t op_index, int op_code);

/* Op table (ops.c): name of a TFLite builtin code for messages (every supported op and some
 * common others), NULL if it has none. */
const char *reds_op_name(int code);

#endif /* REDS_INTERNAL_H */

/* SPDX-License-Identifier: Apache-2.0
 * REDS runtime public API: load a TFLite flatbuffer in place, plan the arena for every
 * subnetwork, switch subnetwork in O(1), run inference. C99, no heap.
 *
 * Typical use:
 *   static reds_ctx_t ctx;  static uint8_t arena[N] __attribute__((aligned(16)));
 *   (N: reds_arena_bytes_needed(); the arena holds the model's persistent tables at its tail
 *   and the activations of the selected subnet at its head, see docs/arena.md)
 *   reds_status_t s = reds_init(&ctx, model_data, model_len, arena, sizeof arena);
 *   s = reds_select(&ctx, 2);               // O(1)
 *   memcpy(reds_input_data(&ctx, 0), x, reds_input_bytes(&ctx, 0));
 *   s = reds_invoke(&ctx);
 *   const int8_t *y = reds_output_data(&ctx, 0);
 */
#ifndef REDS_H
#define REDS_H

#include <stddef.h>
#include <stdint.h>

#include "reds_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct reds_ctx reds_ctx_t; /* defined in reds_ctx.h; allocate it statically */

/* Common rules of every function below:
 * - Status returns: REDS_OK (0) or a negative reds_status_t (reds_status.h); after an error,
 *   reds_last_error(ctx) gives the detail (op index and name, bytes needed, ...).
 * - "Ready" means the last reds_init on this context returned REDS_OK. On a context that is
 *   NULL or not ready, the status functions return REDS_ERR_ARG (NULL) or REDS_ERR_STATE, the
 *   accessors return 0, NULL or -1 as stated, never touching memory through a NULL pointer.
 * - Index arguments (subnet, group, input, output, op) are checked: out of range gives the same
 *   0 / NULL / -1 (accessors) or REDS_ERR_SUBNET (reds_select).
 * - Nothing allocates; nothing blocks; no function keeps a pointer it was given except
 *   reds_init (the model and the arena, for the life of the context). */

/* Loads `model` (a TFLite flatbuffer, used in place) and plans every subnet in `arena`.
 * Preconditions: ctx points to a reds_ctx_t (its old contents are cleared); model stays valid
 * and unchanged while the context is used, at an address aligned as the flatbuffer asks
 * (16 bytes is always enough; int32 biases are read in place); arena is any buffer (up to 15
 * bytes are skipped to align it to 16) that the context owns until the next reds_init, or NULL
 * with arena_len 0 (then only the tables are sized, see reds_max_arena_bytes).
 * Selects subnet 0 if it fits the arena, else the first (widest) that does.
 * Returns REDS_OK; REDS_ERR_ARG (ctx or model NULL, arena NULL with arena_len > 0);
 * REDS_ERR_MODEL, REDS_ERR_TRUNCATED, REDS_ERR_UNSUPPORTED_OP, REDS_ERR_SHAPE, REDS_ERR_QUANT,
 * REDS_ERR_CAPACITY (the model), REDS_ERR_METADATA, REDS_ERR_CRC, REDS_ERR_VERSION (its REDS
 * metadata); REDS_ERR_ARENA (the persistent tables or even the smallest subnet do not fit: the
 * message names the bytes needed and available). */
reds_status_t reds_init(reds_ctx_t *ctx, const uint8_t *model, size_t model_len, uint8_t *arena,
                        size_t arena_len);
/* Makes `subnet` the active one. O(1): no loop over layers, no planning, no parsing. Inputs and
 * outputs move with the subnet: fetch reds_input_data / reds_output_data again after it.
 * Returns REDS_OK; REDS_ERR_ARG, REDS_ERR_STATE; REDS_ERR_SUBNET (subnet >= reds_num_subnets);
 * REDS_ERR_ARENA (the arena given to reds_init is too small for this subnet). On error the
 * active subnet is unchanged. */
reds_status_t reds_select(reds_ctx_t *ctx, uint32_t subnet);
/* Runs the active subnet on the bytes in its inputs (written through reds_input_data); the
 * outputs are then in reds_output_data until the next reds_invoke, reds_select or reds_init.
 * Returns REDS_OK; REDS_ERR_ARG, REDS_ERR_STATE (kernels do not fail on a ready context). */
reds_status_t reds_invoke(reds_ctx_t *ctx);

/* Model description (0 when not ready or out of range). Subnet 0 is the full model; a model
 * without REDS metadata has one subnet and no groups. */
uint32_t reds_num_subnets(const reds_ctx_t *ctx);
uint32_t reds_active_subnet(const reds_ctx_t *ctx);
uint32_t reds_num_groups(const reds_ctx_t *ctx);
uint32_t reds_group_width(const reds_ctx_t *ctx, uint32_t subnet, uint32_t group);
uint32_t reds_group_full_width(const reds_ctx_t *ctx, uint32_t group);
uint64_t reds_subnet_macs(const reds_ctx_t *ctx, uint32_t subnet); /* computed by the runtime */
size_t reds_subnet_arena_bytes(const reds_ctx_t *ctx, uint32_t subnet); /* activations, arena.md */

/* Inputs and outputs of the active subnet (0 / NULL when not ready or i out of range). The data
 * pointers point into the arena; the byte counts are those of the active widths. */
uint32_t reds_num_inputs(const reds_ctx_t *ctx);
uint32_t reds_num_outputs(const reds_ctx_t *ctx);
void *reds_input_data(reds_ctx_t *ctx, uint32_t i);
size_t reds_input_bytes(const reds_ctx_t *ctx, uint32_t i);
const void *reds_output_data(const reds_ctx_t *ctx, uint32_t i);
size_t reds_output_bytes(const reds_ctx_t *ctx, uint32_t i);

/* Readable text for the last error of this context: never NULL; "" after a success of
 * reds_init, "context is NULL" for ctx == NULL, "" for every error under
 * -DREDS_STRIP_ERROR_STRINGS. Valid until the next call on the context. */
const char *reds_last_error(const reds_ctx_t *ctx);

/* --- introspection for bindings and the firmware --- */
/* sizeof(reds_ctx_t), for FFI callers that allocate the context themselves (16-byte aligned). */
size_t reds_ctx_size(void);
/* Arena bytes in use with the active subnet: persistent tables + its activations (0: not
 * ready). */
size_t reds_arena_used_bytes(const reds_ctx_t *ctx);
/* Bytes of the persistent region (tail of the arena) of the loaded model (0: not ready and
 * not planned). */
size_t reds_persistent_bytes(const reds_ctx_t *ctx);
/* Arena bytes that hold every subnet (persistent + the largest subnet's activations); valid after
 * reds_init returned REDS_OK, or REDS_ERR_ARENA once the persistent tables fitted. When the
 * arena could not even hold the tables it is 0 and reds_last_error() names the shortfall. */
size_t reds_max_arena_bytes(const reds_ctx_t *ctx);
/* Arena bytes `model` needs (persistent tables + the largest subnet's activations), asked before
 * the real init. The tables must be built to plan the activations, so the call uses `work` (any
 * 8-byte aligned scratch; it may be the arena that reds_init will get next) and a context of its
 * own on the stack. Returns REDS_OK with *bytes set; REDS_ERR_ARG (bytes NULL, or as reds_init);
 * reds_init's model errors; REDS_ERR_ARENA when `work` cannot hold the tables: *bytes is then 0
 * and a bigger work buffer is needed (doubling converges fast; the tables are a few KB per
 * model). */
reds_status_t reds_arena_bytes_needed(const uint8_t *model, size_t model_len, uint8_t *work,
                                      size_t work_len, size_t *bytes);
/* IEEE 802.3 CRC-32 (reflected 0xEDB88320), as zlib.crc32; the REDS metadata uses it. `data`
 * may be NULL only when len is 0. */
uint32_t reds_crc32(const uint8_t *data, uint32_t len);
/* TFLite TensorType of input/output i (9 int8, 0 float32), or -1 (not ready, out of range). */
int reds_input_type(const reds_ctx_t *ctx, uint32_t i);
int reds_output_type(const reds_ctx_t *ctx, uint32_t i);
/* Active shape (active subnet) of input/output i: the first min(rank, max_dims) dimensions into
 * dims; returns the rank, or -1 (not ready, out of range, dims NULL). */
int reds_input_shape(const reds_ctx_t *ctx, uint32_t i, int32_t *dims, int max_dims);
int reds_output_shape(const reds_ctx_t *ctx, uint32_t i, int32_t *dims, int max_dims);
/* Quantization of output i (scale 0 and zero point 0 when not quantized, not ready or out of
 * range). */
float reds_output_scale(const reds_ctx_t *ctx, uint32_t i);
int32_t reds_output_zero_point(const reds_ctx_t *ctx, uint32_t i);

/* --- the ops the runtime supports (its op table; no context needed) --- */
/* Number of supported TFLite builtin operators (> 0). */
int reds_op_count(void);
/* TFLite BuiltinOperator code of the i-th supported op, i in [0, reds_op_count()), in the order
 * of their names; -1 for any other i. */
int reds_op_code_at(int i);

#ifdef REDS_PROFILE
/* --- per-op profile (built only with -DREDS_PROFILE; reds_invoke is the same either way) --- */
typedef uint64_t (*reds_clock_fn)(void); /* any monotonic counter: ticks, cycles, ns */
/* One inference of the active subnet; ticks[i] = clock difference across op i (clock reads
 * included, so the entries sum to the whole call). Returns REDS_OK; REDS_ERR_ARG (ctx, now or
 * ticks NULL), REDS_ERR_STATE; REDS_ERR_CAPACITY when max_ops < reds_num_ops(ctx). */
reds_status_t reds_invoke_profiled(reds_ctx_t *ctx, reds_clock_fn now, uint64_t *ticks,
                                   uint32_t max_ops);
uint32_t reds_num_ops(const reds_ctx_t *ctx);                    /* 0 when not ready */
const char *reds_op_name_at(const reds_ctx_t *ctx, uint32_t op); /* "CONV_2D", "?" if none */
/* MACs of op `op` at that subnet's widths; 0 when not ready or out of range. */
uint64_t reds_op_macs(reds_ctx_t *ctx, uint32_t subnet, uint32_t op);
#endif

#ifdef __cplusplus
}
#endif

#endif /* REDS_H */

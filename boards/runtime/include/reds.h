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

reds_status_t reds_init(reds_ctx_t *ctx, const uint8_t *model, size_t model_len,
                        uint8_t *arena, size_t arena_len);
/* O(1): no loop over layers, no planning, no parsing. */
reds_status_t reds_select(reds_ctx_t *ctx, uint32_t subnet);
reds_status_t reds_invoke(reds_ctx_t *ctx);

uint32_t reds_num_subnets(const reds_ctx_t *ctx);
uint32_t reds_active_subnet(const reds_ctx_t *ctx);
uint32_t reds_num_groups(const reds_ctx_t *ctx);
uint32_t reds_group_width(const reds_ctx_t *ctx, uint32_t subnet, uint32_t group);
uint32_t reds_group_full_width(const reds_ctx_t *ctx, uint32_t group);
uint64_t reds_subnet_macs(const reds_ctx_t *ctx, uint32_t subnet);     /* computed by the runtime */
size_t reds_subnet_arena_bytes(const reds_ctx_t *ctx, uint32_t subnet); /* arena.md rule */

uint32_t reds_num_inputs(const reds_ctx_t *ctx);
uint32_t reds_num_outputs(const reds_ctx_t *ctx);
void *reds_input_data(reds_ctx_t *ctx, uint32_t i);
size_t reds_input_bytes(const reds_ctx_t *ctx, uint32_t i);   /* active subnet */
const void *reds_output_data(const reds_ctx_t *ctx, uint32_t i);
size_t reds_output_bytes(const reds_ctx_t *ctx, uint32_t i);  /* active subnet */

/* Readable text for the last error of this context (op index and name, bytes needed, ...). */
const char *reds_last_error(const reds_ctx_t *ctx);

/* --- additions (introspection for bindings and the firmware) --- */
size_t reds_ctx_size(void);                          /* sizeof(reds_ctx_t), for FFI callers */
/* Arena bytes in use with the active subnet: persistent tables + its activations. */
size_t reds_arena_used_bytes(const reds_ctx_t *ctx);
/* Bytes of the persistent region (tail of the arena) of the loaded model. */
size_t reds_persistent_bytes(const reds_ctx_t *ctx);
/* Arena bytes that hold every subnet (persistent + the largest subnet's activations); valid after
 * reds_init returned REDS_OK, or REDS_ERR_ARENA once the persistent tables fitted. When the
 * arena could not even hold the tables it is 0 and reds_last_error() names the shortfall. */
size_t reds_max_arena_bytes(const reds_ctx_t *ctx);
/* Arena bytes `model` needs (persistent tables + the largest subnet's activations), asked before
 * the real init. The tables must be built to plan the activations, so the call uses `work` (any
 * 8-byte aligned scratch; it may be the arena that reds_init will get next) and a context of its
 * own on the stack. REDS_ERR_ARENA when `work` cannot hold the tables: *bytes is then 0 and a
 * bigger work buffer is needed (doubling converges fast; the tables are a few KB per model). */
reds_status_t reds_arena_bytes_needed(const uint8_t *model, size_t model_len, uint8_t *work,
                                      size_t work_len, size_t *bytes);
/* IEEE 802.3 CRC-32 (reflected 0xEDB88320), as zlib.crc32; the REDS metadata uses it. */
uint32_t reds_crc32(const uint8_t *data, uint32_t len);
/* TFLite TensorType of input/output i (9 int8, 0 float32), or -1. */
int reds_input_type(const reds_ctx_t *ctx, uint32_t i);
int reds_output_type(const reds_ctx_t *ctx, uint32_t i);
/* Active shape (active subnet) of input/output i into dims[max_dims]; returns the rank or -1. */
int reds_input_shape(const reds_ctx_t *ctx, uint32_t i, int32_t *dims, int max_dims);
int reds_output_shape(const reds_ctx_t *ctx, uint32_t i, int32_t *dims, int max_dims);
/* Quantization of input/output i (scale 0 and zero point 0 when not quantized). */
float reds_input_scale(const reds_ctx_t *ctx, uint32_t i);
int32_t reds_input_zero_point(const reds_ctx_t *ctx, uint32_t i);
float reds_output_scale(const reds_ctx_t *ctx, uint32_t i);
int32_t reds_output_zero_point(const reds_ctx_t *ctx, uint32_t i);

#ifdef REDS_PROFILE
/* --- per-op profile (built only with -DREDS_PROFILE; reds_invoke is the same either way) --- */
typedef uint64_t (*reds_clock_fn)(void); /* any monotonic counter: ticks, cycles, ns */
/* One inference of the active subnet; ticks[i] = clock difference across op i (clock reads
 * included, so the entries sum to the whole call). REDS_ERR_CAPACITY when max_ops < ops. */
reds_status_t reds_invoke_profiled(reds_ctx_t *ctx, reds_clock_fn now, uint64_t *ticks,
                                   uint32_t max_ops);
uint32_t reds_num_ops(const reds_ctx_t *ctx);
const char *reds_op_name_at(const reds_ctx_t *ctx, uint32_t op); /* "CONV_2D", "?" if none */
uint64_t reds_op_macs(reds_ctx_t *ctx, uint32_t subnet, uint32_t op); /* at that subnet's widths */
#endif

#ifdef __cplusplus
}
#endif

#endif /* REDS_H */

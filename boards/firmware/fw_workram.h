/* SPDX-License-Identifier: Apache-2.0
 * The board's work RAM (hal_work_ram) split once at boot, in this order: the runtime context,
 * the `db` input buffer (FW_INPUT_SIXTEENTHS), two model upload slots (FW_SLOT_SIXTEENTHS each)
 * and the arena (the rest). Two slots, used in turn, keep the model in use intact while another
 * one arrives, so a rejected upload changes nothing. Pure: no HAL, no state.
 */
#ifndef REDS_FW_WORKRAM_H
#define REDS_FW_WORKRAM_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  size_t work_bytes; /* usable bytes (after aligning the start to 16) */
  uint8_t *ctx;      /* the runtime context: ctx_bytes rounded up to 16 */
  uint8_t *input;
  size_t input_cap;
  uint8_t *slot[2];
  size_t slot_bytes; /* each; 0: uploads disabled */
  uint8_t *arena;
  size_t arena_bytes;
} fw_workram_t;

/* Carves `len` bytes at `ram` (any alignment) into *out; every part starts 16-byte aligned and
 * is a multiple of 16 bytes. FW_INPUT_MAX / FW_MODEL_SLOT_BYTES (fw_config.h) pin sizes instead
 * of the shares; the slots never take more than 3/8 of what is left, so the arena keeps at
 * least a quarter. Parts that do not fit get 0 bytes. */
void fw_workram_carve(uint8_t *ram, size_t len, size_t ctx_bytes, fw_workram_t *out);

#endif /* REDS_FW_WORKRAM_H */

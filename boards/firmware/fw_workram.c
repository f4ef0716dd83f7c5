/* SPDX-License-Identifier: Apache-2.0
 * Work RAM carving. See fw_workram.h. */
#include "fw_workram.h"

#include "fw_config.h"

static size_t align16(size_t n) { return n & ~(size_t)15u; }

/* Takes *n bytes (rounded down to 16, at most what is left) from the front of the free
 * region [*p, *p + *left); *n becomes what was taken. */
static uint8_t *carve(uint8_t **p, size_t *left, size_t *n) {
  uint8_t *at = *p;
  *n = align16(*n < *left ? *n : *left);
  *p += *n;
  *left -= *n;
  return at;
}

void fw_workram_carve(uint8_t *ram, size_t len, size_t ctx_bytes, fw_workram_t *out) {
  uint8_t *p = ram;
  size_t left = len;
  size_t skew = (size_t)((uintptr_t)p & 15u); /* the HAL promises 16; stay safe anyway */
  if (skew) {
    p += 16u - skew;
    left = left > 16u - skew ? left - (16u - skew) : 0;
  }
  out->work_bytes = left;
  const size_t sixteenth = (left / 16u) & ~(size_t)1023u; /* whole KB: readable sizes */
  (void)sixteenth; /* unused when both sizes are fixed (-DFW_INPUT_MAX, -DFW_MODEL_SLOT_BYTES) */
  size_t n = ctx_bytes + 15u;
  out->ctx = carve(&p, &left, &n);
#ifdef FW_INPUT_MAX
  out->input_cap = FW_INPUT_MAX;
#else
  out->input_cap = FW_INPUT_SIXTEENTHS * sixteenth;
#endif
  out->input = carve(&p, &left, &out->input_cap);
#ifdef FW_MODEL_SLOT_BYTES
  out->slot_bytes = FW_MODEL_SLOT_BYTES;
#else
  out->slot_bytes = FW_SLOT_SIXTEENTHS * sixteenth;
#endif
  if (out->slot_bytes > left / 8u * 3u) { /* the arena keeps at least a quarter */
    out->slot_bytes = left / 8u * 3u;
  }
  n = out->slot_bytes;
  out->slot[0] = carve(&p, &left, &n);
  out->slot[1] = carve(&p, &left, &out->slot_bytes);
  out->arena_bytes = left;
  out->arena = carve(&p, &left, &out->arena_bytes);
}

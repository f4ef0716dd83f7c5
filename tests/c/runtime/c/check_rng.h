/* SPDX-License-Identifier: Apache-2.0
 * Deterministic xorshift64 for the C check programs (same sequence on host and target). */
#ifndef CHECK_RNG_H
#define CHECK_RNG_H

#include <stdint.h>

static uint64_t state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return (uint32_t)(state >> 16);
}

#endif

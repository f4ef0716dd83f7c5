/* SPDX-License-Identifier: Apache-2.0
 * MEAN int8, the DSP channel sums (REDS_USE_DSP on Armv7E-M: Cortex-M4 / M7 / M33), kept apart
 * from the portable kernel in mean_s8.c, which turns the sums into outputs and sums what this
 * path declines itself. Exact integer sums: the same results as the portable loop. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "reds_kernels.h"
#include "reds_dot.h"
#include "reds_kernels_dsp.h"

#ifdef REDS_KERNELS_DSP

/* Four channels per load, summed in int16 halves (SXTB16 + SADD16): exact while
 * |sum| <= 128 * hw <= 2^15. */
int reds_mean_sum4_s8_dsp(const int8_t *x, int32_t hw, int32_t c, int32_t sum[4]) {
  if (hw > 256) return 0;
  uint32_t s02 = 0, s13 = 0;
  for (int32_t i = 0; i < hw; ++i, x += c) {
    uint32_t v;
    memcpy(&v, x, 4);
    s02 = reds_sadd16(s02, reds_sxtb16(v));
    s13 = reds_sadd16(s13, reds_sxtb16_ror8(v));
  }
  sum[0] = (int16_t)(s02 & 0xffffu);
  sum[1] = (int16_t)(s13 & 0xffffu);
  sum[2] = (int16_t)(s02 >> 16);
  sum[3] = (int16_t)(s13 >> 16);
  return 1;
}
#endif /* REDS_KERNELS_DSP */

/* SPDX-License-Identifier: Apache-2.0
 * MEAN over H, W int8, as TFLM's reduce kernel (docs in reds_kernels.h). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "reds_kernels.h"
#include "reds_quant.h"
#include "reds_dot.h"

/* The channel's sum to output, as TFLM (sum is exact: |sum| <= 128 * HW). */
static int8_t mean_finish(const reds_mean_params_t *p, int32_t sum, int32_t HW) {
  int32_t v;
  if (p->same_quant) {
    v = sum / HW; /* TFLM reference_ops::Mean: truncating division, no rounding */
  } else {
    /* QuantizedMeanOrSum: 1/HW is folded into multiplier and shift at load */
    v = reds_requantize(sum - p->input_zp * HW, p->multiplier, p->shift) + p->output_zp;
    if (v < -128) v = -128;
    if (v > 127) v = 127;
  }
  return (int8_t)v;
}

reds_status_t reds_mean_s8(const reds_mean_params_t *p, const reds_dims_t *in,
                           const int8_t *in_data, int8_t *out_data) {
  const int32_t HW = in->h * in->w, C = in->c;
  for (int32_t b = 0; b < in->n; ++b) {
    const int8_t *x = in_data + (size_t)b * HW * C;
    int8_t *o = out_data + (size_t)b * C;
    int32_t c = 0;
#if defined(REDS_USE_DSP) && defined(__ARM_FEATURE_DSP)
    /* four channels per load, summed in int16 halves: exact while |sum| <= 128 * HW <= 2^15 */
    if (HW <= 256) {
      for (; c + 4 <= C; c += 4) {
        uint32_t s02 = 0, s13 = 0;
        const int8_t *xp = x + c;
        for (int32_t i = 0; i < HW; ++i, xp += C) {
          uint32_t v;
          memcpy(&v, xp, 4);
          s02 = reds_sadd16(s02, reds_sxtb16(v));
          s13 = reds_sadd16(s13, reds_sxtb16_ror8(v));
        }
        o[c] = mean_finish(p, (int16_t)(s02 & 0xffffu), HW);
        o[c + 1] = mean_finish(p, (int16_t)(s13 & 0xffffu), HW);
        o[c + 2] = mean_finish(p, (int16_t)(s02 >> 16), HW);
        o[c + 3] = mean_finish(p, (int16_t)(s13 >> 16), HW);
      }
    }
#endif
    for (; c < C; ++c) {
      int32_t sum = 0;
      for (int32_t i = 0; i < HW; ++i) sum += x[(size_t)i * C + c];
      o[c] = mean_finish(p, sum, HW);
    }
  }
  return REDS_OK;
}

size_t reds_mean_s8_scratch_size(void) { return 0; }

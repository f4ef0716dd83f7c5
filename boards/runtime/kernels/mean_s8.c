/* SPDX-License-Identifier: Apache-2.0
 * MEAN over H, W int8, as TFLM's reduce kernel (docs in reds_kernels.h). */
#include <stddef.h>
#include <stdint.h>

#include "reds_kernels.h"
#include "reds_quant.h"

reds_status_t reds_mean_s8(const reds_mean_params_t *p, const reds_dims_t *in,
                           const int8_t *in_data, int8_t *out_data) {
  const int32_t HW = in->h * in->w, C = in->c;
  for (int32_t b = 0; b < in->n; ++b) {
    const int8_t *x = in_data + (size_t)b * HW * C;
    for (int32_t c = 0; c < C; ++c) {
      int32_t sum = 0;
      for (int32_t i = 0; i < HW; ++i) sum += x[(size_t)i * C + c];
      int32_t v;
      if (p->same_quant) {
        v = sum / HW; /* TFLM reference_ops::Mean: truncating division, no rounding */
      } else {
        /* QuantizedMeanOrSum: 1/HW is folded into multiplier and shift at load */
        v = reds_requantize(sum - p->input_zp * HW, p->multiplier, p->shift) + p->output_zp;
        if (v < -128) v = -128;
        if (v > 127) v = 127;
      }
      out_data[(size_t)b * C + c] = (int8_t)v;
    }
  }
  return REDS_OK;
}

size_t reds_mean_s8_scratch_size(void) { return 0; }

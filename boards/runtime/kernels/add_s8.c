/* SPDX-License-Identifier: Apache-2.0
 * ADD int8, same shapes, TFLM rescaling with left_shift 20 (docs in reds_kernels.h). */
#include <stddef.h>
#include <stdint.h>

#include "reds_kernels.h"
#include "reds_quant.h"

reds_status_t reds_add_s8(const reds_add_params_t *p, size_t count, const int8_t *in1,
                          const int8_t *in2, int8_t *out_data) {
  for (size_t i = 0; i < count; ++i) {
    const int32_t a = (in1[i] + p->input1_offset) * (1 << p->left_shift);
    const int32_t b = (in2[i] + p->input2_offset) * (1 << p->left_shift);
    const int32_t sa = reds_requantize(a, p->input1_multiplier, p->input1_shift);
    const int32_t sb = reds_requantize(b, p->input2_multiplier, p->input2_shift);
    int32_t v = reds_requantize(sa + sb, p->output_multiplier, p->output_shift) + p->output_offset;
    if (v < p->act.act_min) v = p->act.act_min;
    if (v > p->act.act_max) v = p->act.act_max;
    out_data[i] = (int8_t)v;
  }
  return REDS_OK;
}

size_t reds_add_s8_scratch_size(void) { return 0; }

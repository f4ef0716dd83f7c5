/* SPDX-License-Identifier: Apache-2.0
 * DEQUANTIZE int8 -> float32 (docs in reds_kernels.h). */
#include <stddef.h>
#include <stdint.h>

#include "reds_kernels.h"

reds_status_t reds_dequantize_s8_f32(float scale, int32_t zero_point, size_t count,
                                     const int8_t *in_data, float *out_data) {
  for (size_t i = 0; i < count; ++i) out_data[i] = scale * (float)(in_data[i] - zero_point);
  return REDS_OK;
}

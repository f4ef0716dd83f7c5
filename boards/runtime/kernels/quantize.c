/* SPDX-License-Identifier: Apache-2.0
 * QUANTIZE float32 -> int8 (docs in reds_kernels.h). */
#include <stddef.h>
#include <stdint.h>

#include "reds_kernels.h"
#include "reds_quant.h"

reds_status_t reds_quantize_f32_s8(float scale, int32_t zero_point, size_t count,
                                   const float *in_data, int8_t *out_data) {
  for (size_t i = 0; i < count; ++i) {
    const float r = reds_roundf(in_data[i] / scale);
    int32_t v;
    /* clamp in float first: converting an out-of-range float to int is undefined in C */
    if (!(r == r)) v = zero_point; /* NaN */
    else if (r >= 2147483648.0f) v = INT32_MAX;
    else if (r < -2147483648.0f) v = INT32_MIN;
    else v = (int32_t)r;
    v = (v > 0 && zero_point > INT32_MAX - v) ? INT32_MAX
        : (v < 0 && zero_point < INT32_MIN - v) ? INT32_MIN : v + zero_point;
    if (v < -128) v = -128;
    if (v > 127) v = 127;
    out_data[i] = (int8_t)v;
  }
  return REDS_OK;
}

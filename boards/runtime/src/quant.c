/* SPDX-License-Identifier: Apache-2.0
 * Quantization helpers that TFLM computes with libm (frexp, round), done on IEEE bits here. */
#include <stdint.h>
#include <string.h>

#include "../kernels/reds_quant.h"

int reds_quantize_multiplier(double m, int32_t *multiplier, int *shift) {
  uint64_t bits;
  memcpy(&bits, &m, sizeof bits);
  const int exp_bits = (int)((bits >> 52) & 0x7ff);
  const uint64_t frac = bits & (((uint64_t)1 << 52) - 1);
  if (bits >> 63) {
    if ((bits << 1) == 0) { /* -0.0 */
      *multiplier = 0;
      *shift = 0;
      return 0;
    }
    return -1;
  }
  if (exp_bits == 0x7ff) return -1;
  if (exp_bits == 0) {
    /* zero, or subnormal (< 2^-1022): TFLM flushes anything below 2^-32 to zero */
    *multiplier = 0;
    *shift = 0;
    return 0;
  }
  /* frexp: m = q * 2^e with q = (2^52 + frac) / 2^53 in [0.5, 1) */
  int e = exp_bits - 1022;
  /* round(q * 2^31) = round((2^52 + frac) / 2^22), half away from zero (value is positive) */
  int64_t q_fixed = (int64_t)((((uint64_t)1 << 52) + frac + ((uint64_t)1 << 21)) >> 22);
  if (q_fixed == ((int64_t)1 << 31)) {
    q_fixed /= 2;
    ++e;
  }
  if (e < -31) {
    e = 0;
    q_fixed = 0;
  }
  *multiplier = (int32_t)q_fixed;
  *shift = e;
  return 0;
}

float reds_roundf(float x) {
  /* |x| >= 2^23 is already an integer (or inf/NaN) */
  uint32_t bits;
  memcpy(&bits, &x, sizeof bits);
  const uint32_t exp_bits = (bits >> 23) & 0xff;
  if (exp_bits >= 127 + 23) return x;
  if (exp_bits < 126) { /* |x| < 0.5 */
    const uint32_t zero = bits & 0x80000000u;
    float z;
    memcpy(&z, &zero, sizeof z);
    return z;
  }
  /* 0.5 <= |x| < 2^23: truncate |x| + 0.5 exactly via integer math on the mantissa */
  const int sh = (int)(127 + 23 - exp_bits); /* fraction bits, 1..24 */
  const uint32_t mant = (bits & 0x7fffffu) | 0x800000u;
  uint32_t r = (mant + ((uint32_t)1 << (sh - 1))) >> sh; /* integer part, rounded half up */
  float f = (float)r;
  return (bits >> 31) ? -f : f;
}

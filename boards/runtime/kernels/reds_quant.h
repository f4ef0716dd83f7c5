/* SPDX-License-Identifier: Apache-2.0
 * The one requantize helper of the REDS runtime, bit-exact with TFLM's double-rounding
 * MultiplyByQuantizedMultiplier (tensorflow/lite/kernels/internal/common.cc, gemmlowp).
 *
 * A real multiplier M > 0 is stored as (multiplier, shift) with
 *     M = multiplier * 2^(shift - 31),   multiplier in [2^30, 2^31), shift in [-31, 30]
 * (reds_quantize_multiplier; multiplier == 0 encodes M == 0 or M < 2^-32).
 *
 *   reds_requantize(x, m, s) = RDBPOT(SRDHM(x * 2^max(s,0), m), max(-s,0))
 *   SRDHM(a, b)  = round_half_away(a * b / 2^31), saturating INT32_MIN*INT32_MIN to INT32_MAX
 *   RDBPOT(x, e) = x / 2^e rounded to nearest, ties away from zero
 *
 * Two roundings (SRDHM, then RDBPOT): this differs from TFLite's single-rounding builds by
 * +-1 LSB on some values; TFLM (our reference) uses the double-rounding form.
 * Range: x * 2^max(s,0) must fit int32 (callers keep |x| < 2^31 / 2^s); the left shift is done in
 * uint32 so a corrupt model can never trigger signed-overflow UB (it wraps like TFLM on Arm).
 */
#ifndef REDS_QUANT_H
#define REDS_QUANT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* SaturatingRoundingDoublingHighMul (gemmlowp), the Q31 product of a and b. */
static inline int32_t reds_srdhm(int32_t a, int32_t b) {
  if (a == b && a == INT32_MIN) return INT32_MAX;
  const int64_t ab = (int64_t)a * (int64_t)b;
  const int64_t nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
  /* C99 division truncates toward zero, as gemmlowp's does. */
  return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* RoundingDivideByPOT (gemmlowp): x / 2^e, round half away from zero; e in [0, 31]. */
static inline int32_t reds_rdbpot(int32_t x, int e) {
  const int32_t mask = (int32_t)(((int64_t)1 << e) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> e) + (remainder > threshold ? 1 : 0);
}

/* x * 2^k in int32 with wrap-around (k in [0, 31]); defined behaviour for any input. */
static inline int32_t reds_shl_wrap(int32_t x, int k) { return (int32_t)((uint32_t)x << k); }

/* The requantize helper: x * M rounded as TFLM does (see the file comment). */
static inline int32_t reds_requantize(int32_t x, int32_t multiplier, int shift) {
  const int left = shift > 0 ? shift : 0;
  const int right = shift > 0 ? 0 : -shift;
  return reds_rdbpot(reds_srdhm(reds_shl_wrap(x, left), multiplier), right);
}

/* a + b in int32 with wrap-around (bias addition on corrupt data must not be UB). */
static inline int32_t reds_add_wrap(int32_t a, int32_t b) {
  return (int32_t)((uint32_t)a + (uint32_t)b);
}

/* TFLM QuantizeMultiplier: real multiplier -> (multiplier, shift). Returns 0 on success, -1 if
 * m is negative, NaN or infinite. Bit-exact with frexp + round-half-away of TFLM on IEEE doubles.
 */
int reds_quantize_multiplier(double m, int32_t *multiplier, int *shift);

/* round-half-away-from-zero of a float (TfLiteRound / roundf), without libm. */
float reds_roundf(float x);

#ifdef __cplusplus
}
#endif

#endif /* REDS_QUANT_H */

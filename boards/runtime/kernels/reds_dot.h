/* SPDX-License-Identifier: Apache-2.0
 * int8 dot product with input offset, the inner MAC loop of conv / fully connected:
 *   sum_i (x[i] + x_off) * w[i]   (|x + x_off| <= 255, |w| <= 128, int32 accumulation)
 * Portable C, or with -DREDS_USE_DSP on cores with the Armv7E-M DSP extension: SXTB16 + SADD16
 * + SMLAD on 4 values at a time (ACLE __sxtb16/__sadd16/__smlad, written as inline asm so the
 * runtime needs no header beyond stdint/stddef/string). Both are exact integer arithmetic,
 * hence bit-identical. */
#ifndef REDS_DOT_H
#define REDS_DOT_H

#include <stdint.h>
#include <string.h>

#include "reds_quant.h" /* reds_add_wrap */

#if defined(REDS_USE_DSP) && defined(__ARM_FEATURE_DSP)
static inline uint32_t reds_sxtb16(uint32_t x) {
  uint32_t r;
  __asm__("sxtb16 %0, %1" : "=r"(r) : "r"(x));
  return r;
}
static inline uint32_t reds_sxtb16_ror8(uint32_t x) {
  uint32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
  return r;
}
static inline uint32_t reds_sadd16(uint32_t a, uint32_t b) {
  uint32_t r;
  __asm__("sadd16 %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
static inline int32_t reds_smlad(uint32_t a, uint32_t b, int32_t acc) {
  int32_t r;
  __asm__("smlad %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
  return r;
}

static inline int32_t reds_dot_s8(const int8_t *x, const int8_t *w, int32_t n, int32_t x_off) {
  const uint32_t off2 = ((uint32_t)x_off & 0xffffu) * 0x00010001u;
  int32_t acc = 0;
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) {
    uint32_t xv, wv;
    memcpy(&xv, x + i, 4); /* unaligned LDR on Cortex-M4 */
    memcpy(&wv, w + i, 4);
    const uint32_t x02 = reds_sadd16(reds_sxtb16(xv), off2);
    const uint32_t x13 = reds_sadd16(reds_sxtb16_ror8(xv), off2);
    acc = reds_smlad(x02, reds_sxtb16(wv), acc);
    acc = reds_smlad(x13, reds_sxtb16_ror8(wv), acc);
  }
  for (; i < n; ++i) acc += (x[i] + x_off) * w[i];
  return acc;
}

/* Four dot products of one input run against four weight rows (stride ws): the input is
 * loaded and offset once for four output channels. acc[j] += dot(x, w + j * ws). */
static inline void reds_dot4_s8(const int8_t *x, const int8_t *w, int32_t ws, int32_t n,
                                int32_t x_off, int32_t acc[4]) {
  const uint32_t off2 = ((uint32_t)x_off & 0xffffu) * 0x00010001u;
  const int8_t *w0 = w, *w1 = w + ws, *w2 = w + 2 * ws, *w3 = w + 3 * ws;
  int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) {
    uint32_t xv, v;
    memcpy(&xv, x + i, 4);
    const uint32_t x02 = reds_sadd16(reds_sxtb16(xv), off2);
    const uint32_t x13 = reds_sadd16(reds_sxtb16_ror8(xv), off2);
    memcpy(&v, w0 + i, 4);
    a0 = reds_smlad(x13, reds_sxtb16_ror8(v), reds_smlad(x02, reds_sxtb16(v), a0));
    memcpy(&v, w1 + i, 4);
    a1 = reds_smlad(x13, reds_sxtb16_ror8(v), reds_smlad(x02, reds_sxtb16(v), a1));
    memcpy(&v, w2 + i, 4);
    a2 = reds_smlad(x13, reds_sxtb16_ror8(v), reds_smlad(x02, reds_sxtb16(v), a2));
    memcpy(&v, w3 + i, 4);
    a3 = reds_smlad(x13, reds_sxtb16_ror8(v), reds_smlad(x02, reds_sxtb16(v), a3));
  }
  for (; i < n; ++i) {
    const int32_t xv = x[i] + x_off;
    a0 += xv * w0[i];
    a1 += xv * w1[i];
    a2 += xv * w2[i];
    a3 += xv * w3[i];
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}

/* Sum of n int8 weights (for folding the input offset: sum (x + off) w = sum x w + off sum w). */
static inline int32_t reds_sum_s8(const int8_t *w, int32_t n) {
  int32_t s = 0;
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) {
    uint32_t v;
    memcpy(&v, w + i, 4);
    s = reds_smlad(reds_sxtb16(v), 0x00010001u, reds_smlad(reds_sxtb16_ror8(v), 0x00010001u, s));
  }
  for (; i < n; ++i) s += w[i];
  return s;
}

/* The 2x2 GEMM micro-kernel: two input runs (pixels) x0, x1 against two weight rows w0, w1,
 * without input offset (folded into the accumulator's start value by the caller):
 *   acc[0] += x0.w0, acc[1] += x0.w1, acc[2] += x1.w0, acc[3] += x1.w1.
 * Per 4 channels: 4 LDR, 8 SXTB16, 8 SMLAD for 16 MACs. Integer sums wrap (SMLAD), so the
 * result is exact whenever the true sum fits int32 (the loader's depth bound). */
static inline void reds_mac2x2_s8(const int8_t *x0, const int8_t *x1, const int8_t *w0,
                                  const int8_t *w1, int32_t n, int32_t acc[4]) {
  int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) {
    uint32_t xa, xb, v;
    memcpy(&xa, x0 + i, 4);
    memcpy(&xb, x1 + i, 4);
    const uint32_t xa02 = reds_sxtb16(xa), xa13 = reds_sxtb16_ror8(xa);
    const uint32_t xb02 = reds_sxtb16(xb), xb13 = reds_sxtb16_ror8(xb);
    memcpy(&v, w0 + i, 4);
    uint32_t v02 = reds_sxtb16(v), v13 = reds_sxtb16_ror8(v);
    a00 = reds_smlad(xa13, v13, reds_smlad(xa02, v02, a00));
    a10 = reds_smlad(xb13, v13, reds_smlad(xb02, v02, a10));
    memcpy(&v, w1 + i, 4);
    v02 = reds_sxtb16(v);
    v13 = reds_sxtb16_ror8(v);
    a01 = reds_smlad(xa13, v13, reds_smlad(xa02, v02, a01));
    a11 = reds_smlad(xb13, v13, reds_smlad(xb02, v02, a11));
  }
  for (; i < n; ++i) {
    const int32_t xa = x0[i], xb = x1[i], va = w0[i], vb = w1[i];
    a00 += xa * va;
    a01 += xa * vb;
    a10 += xb * va;
    a11 += xb * vb;
  }
  acc[0] = a00;
  acc[1] = a01;
  acc[2] = a10;
  acc[3] = a11;
}

/* Depthwise, 4 channels of one tap: acc[j] += (x[j] + off) * w[j], j < 4 (SXTB16 + SADD16 +
 * SMLABB/SMLATT: per-channel products, no cross-channel sums). */
static inline uint32_t reds_smlabb(uint32_t a, uint32_t b, uint32_t acc) {
  uint32_t r;
  __asm__("smlabb %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
  return r;
}
static inline uint32_t reds_smlatt(uint32_t a, uint32_t b, uint32_t acc) {
  uint32_t r;
  __asm__("smlatt %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
  return r;
}
typedef uint32_t reds_off2_t; /* input offset as the depthwise tap wants it */
static inline void reds_dw_tap4_s8(const int8_t *x, const int8_t *w, reds_off2_t off2,
                                   int32_t acc[4]) {
  uint32_t xv, wv;
  memcpy(&xv, x, 4);
  memcpy(&wv, w, 4);
  const uint32_t x02 = reds_sadd16(reds_sxtb16(xv), off2),
                 x13 = reds_sadd16(reds_sxtb16_ror8(xv), off2);
  const uint32_t w02 = reds_sxtb16(wv), w13 = reds_sxtb16_ror8(wv);
  acc[0] = (int32_t)reds_smlabb(x02, w02, (uint32_t)acc[0]);
  acc[2] = (int32_t)reds_smlatt(x02, w02, (uint32_t)acc[2]);
  acc[1] = (int32_t)reds_smlabb(x13, w13, (uint32_t)acc[1]);
  acc[3] = (int32_t)reds_smlatt(x13, w13, (uint32_t)acc[3]);
}
#define REDS_OFF2(off) ((0xffffu & (uint32_t)(off)) * 0x00010001u)

#else
static inline int32_t reds_dot_s8(const int8_t *x, const int8_t *w, int32_t n, int32_t x_off) {
  /* four independent accumulators: integer sums are exact, so the order does not matter */
  int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) {
    a0 += (x[i] + x_off) * w[i];
    a1 += (x[i + 1] + x_off) * w[i + 1];
    a2 += (x[i + 2] + x_off) * w[i + 2];
    a3 += (x[i + 3] + x_off) * w[i + 3];
  }
  for (; i < n; ++i) a0 += (x[i] + x_off) * w[i];
  return (a0 + a1) + (a2 + a3);
}

/* Four dot products of one input run against four weight rows (stride ws): the input is
 * loaded and offset once for four output channels. acc[j] += dot(x, w + j * ws). */
static inline void reds_dot4_s8(const int8_t *x, const int8_t *w, int32_t ws, int32_t n,
                                int32_t x_off, int32_t acc[4]) {
  const int8_t *w0 = w, *w1 = w + ws, *w2 = w + 2 * ws, *w3 = w + 3 * ws;
  int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
  for (int32_t i = 0; i < n; ++i) {
    const int32_t xv = x[i] + x_off;
    a0 += xv * w0[i];
    a1 += xv * w1[i];
    a2 += xv * w2[i];
    a3 += xv * w3[i];
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}
/* Sum of n int8 weights (for folding the input offset: sum (x + off) w = sum x w + off sum w). */
static inline int32_t reds_sum_s8(const int8_t *w, int32_t n) {
  int32_t s = 0;
  for (int32_t i = 0; i < n; ++i) s += w[i];
  return s;
}

/* The 2x2 GEMM micro-kernel (see the DSP version): acc[0] += x0.w0, acc[1] += x0.w1,
 * acc[2] += x1.w0, acc[3] += x1.w1, no input offset. Unsigned accumulators: wrap-around is
 * defined, and the result is exact whenever the true sum fits int32. */
static inline void reds_mac2x2_s8(const int8_t *x0, const int8_t *x1, const int8_t *w0,
                                  const int8_t *w1, int32_t n, int32_t acc[4]) {
  uint32_t a00 = (uint32_t)acc[0], a01 = (uint32_t)acc[1], a10 = (uint32_t)acc[2],
           a11 = (uint32_t)acc[3];
  for (int32_t i = 0; i < n; ++i) {
    const int32_t xa = x0[i], xb = x1[i], va = w0[i], vb = w1[i];
    a00 += (uint32_t)(xa * va);
    a01 += (uint32_t)(xa * vb);
    a10 += (uint32_t)(xb * va);
    a11 += (uint32_t)(xb * vb);
  }
  acc[0] = (int32_t)a00;
  acc[1] = (int32_t)a01;
  acc[2] = (int32_t)a10;
  acc[3] = (int32_t)a11;
}

/* Depthwise, 4 channels of one tap: acc[j] += (x[j] + off) * w[j], j < 4. The accumulator may
 * start at any int32 bias, so the sum wraps in uint32 as TFLM's int32 addition does on hardware
 * (a signed overflow would be undefined behaviour); the product itself fits 16 bits. */
typedef int32_t reds_off2_t; /* input offset as the depthwise tap wants it */
static inline void reds_dw_tap4_s8(const int8_t *x, const int8_t *w, reds_off2_t off,
                                   int32_t acc[4]) {
  for (int j = 0; j < 4; ++j) acc[j] = reds_add_wrap(acc[j], (x[j] + off) * w[j]);
}
#define REDS_OFF2(off) (off)
#endif

/* reds_requantize() for the kernels' hot loops, the same value for every input it accepts
 * (multiplier in [0, 2^31) as reds_quantize_multiplier produces, shift in [-31, 30]):
 *  - SRDHM(a, m) = trunc((a*m + nudge) / 2^31) with nudge = 2^30 (a*m >= 0) or 1 - 2^30 (< 0).
 *    For a*m < 0, trunc(v / 2^31) = floor((v + 2^31 - 1) / 2^31) = floor((a*m + 2^30) / 2^31),
 *    the same expression as for a*m >= 0, so SRDHM = (a*m + 2^30) >> 31 (arithmetic shift; one
 *    SMLAL). The saturating case a = m = INT32_MIN cannot occur since m >= 0.
 *  - RDBPOT(x, e) = (x >> e) + ((x & mask) > (mask >> 1) + (x < 0)), mask = 2^e - 1 in 32 bits.
 * ~12 instructions on Cortex-M4 instead of ~40 (int64 division, branches). */
static inline int32_t reds_requantize_fast(int32_t x, int32_t multiplier, int shift) {
  const int32_t ns = -shift;
  const int left = shift & ~(shift >> 31); /* max(shift, 0), branch-free */
  const int right = ns & ~(ns >> 31);      /* max(-shift, 0) */
  const int32_t a = (int32_t)((uint32_t)x << left);
  const int32_t r = (int32_t)(((int64_t)a * multiplier + ((int64_t)1 << 30)) >> 31);
  const int32_t mask = (int32_t)((1u << right) - 1u);
  const int32_t threshold = (mask >> 1) - (r >> 31); /* r >> 31 is -1 for r < 0 */
  return (r >> right) + ((r & mask) > threshold ? 1 : 0);
}

/* Requantize an accumulator, add the output offset and clamp to the activation range. */
static inline int8_t reds_finish_s8(int32_t acc, int32_t mult, int shift, int32_t out_off,
                                    int32_t act_min, int32_t act_max) {
  int32_t v = reds_requantize_fast(acc, mult, shift) + out_off;
  if (v < act_min) v = act_min;
  if (v > act_max) v = act_max;
  return (int8_t)v;
}

/* ---- Per-channel requantization in 7 instructions (two SMLAL), exact for every input ----
 * reds_requantize(x, m, s) = RDBPOT(SRDHM(a, m), e) with a = x << max(s, 0), e = max(-s, 0).
 * With Q = a*m + 2^30, SRDHM = floor(Q / 2^31) (see reds_requantize_fast) and, for e >= 1,
 * RDBPOT(r, e) = floor((r + 2^(e-1) - [r < 0]) / 2^e) (round half away from zero: a tie moves
 * up unless r < 0). Nested floors of integers compose, so for e >= 1
 *     result = floor((a*m + 2^30 + 2^(e+30) - [a < 0] * 2^31) / 2^(31+e))
 *            = ((a*m + K - [a < 0] * 2^31) >> 32) >> (e - 1),      K = 2^30 + 2^(e+30),
 * in 64 bits (|a*m| < 2^62, no overflow). [a < 0] may replace [r < 0]: they differ only when
 * r = 0 (a < 0 but a*m >= -2^30), where both give 0 (the sum stays in [0, 2^(31+e))).
 * For e = 0: result = (a*m + 2^30) >> 31 = (a*m + a*m + 2^31) >> 32.
 * Both are  (K + a*m + b*n) >> 32 >> sh  with b = (uint32)a >> c:
 *     e >= 1: c = 31 (b = [a < 0]), n = INT32_MIN, K = 2^30 + 2^(e+30), sh = e - 1
 *     e = 0:  c = 0  (b = a),       n = m,         K = 2^31,             sh = 0
 * Checked equal to reds_requantize for all shifts -31..30 on edge and random inputs
 * (tests/c/runtime/c/rq_check.c). */
typedef struct {
  int64_t k;
  int32_t m, n;
  uint8_t left, c, sh;
} reds_rq_t;

static inline void reds_rq_init(reds_rq_t *r, int32_t multiplier, int shift) {
  const int e = shift < 0 ? -shift : 0;
  r->m = multiplier;
  r->left = (uint8_t)(shift > 0 ? shift : 0);
  if (e >= 1) {
    r->k = ((int64_t)1 << 30) + ((int64_t)1 << (e + 30));
    r->n = INT32_MIN;
    r->c = 31;
    r->sh = (uint8_t)(e - 1);
  } else {
    r->k = (int64_t)1 << 31;
    r->n = multiplier;
    r->c = 0;
    r->sh = 0;
  }
}

static inline int32_t reds_rq(int32_t acc, const reds_rq_t *r) {
  const uint32_t a = (uint32_t)acc << r->left;
  const int32_t b = (int32_t)(a >> r->c);
  const int64_t P = r->k + (int64_t)(int32_t)a * r->m + (int64_t)b * r->n;
  return (int32_t)(P >> 32) >> r->sh;
}

/* Four requantized values (output offset added) -> four int8 lanes of one word, clamped to
 * [lo, hi] (lo4 / hi4: the bounds repeated in four bytes). DSP: SSAT to int8 (exact, since
 * [lo, hi] lies inside [-128, 127]), then SSUB8 + SEL per bound on all four lanes. */
#if defined(REDS_USE_DSP) && defined(__ARM_FEATURE_DSP)
static inline uint32_t reds_ssat8(int32_t v) {
  uint32_t r;
  __asm__("ssat %0, #8, %1" : "=r"(r) : "r"(v));
  return r;
}
static inline uint32_t reds_pack4_s8(int32_t v0, int32_t v1, int32_t v2, int32_t v3, uint32_t lo4,
                                     uint32_t hi4) {
  uint32_t r, t;
  __asm__("ssat %0, #8, %2\n\t"
          "ssat %1, #8, %3\n\t"
          "uxtb %0, %0\n\t"
          "bfi %0, %1, #8, #8\n\t"
          "ssat %1, #8, %4\n\t"
          "bfi %0, %1, #16, #8\n\t"
          "ssat %1, #8, %5\n\t"
          "bfi %0, %1, #24, #8\n\t"
          "ssub8 %1, %0, %6\n\t"
          "sel %0, %0, %6\n\t"
          "ssub8 %1, %7, %0\n\t"
          "sel %0, %0, %7"
          : "=&r"(r), "=&r"(t)
          : "r"(v0), "r"(v1), "r"(v2), "r"(v3), "r"(lo4), "r"(hi4));
  return r;
}
#else
static inline uint32_t reds_clamp_u8(int32_t v, int32_t lo, int32_t hi) {
  if (v < lo) v = lo;
  if (v > hi) v = hi;
  return (uint32_t)v & 0xffu;
}
static inline uint32_t reds_pack4_s8(int32_t v0, int32_t v1, int32_t v2, int32_t v3, uint32_t lo4,
                                     uint32_t hi4) {
  const int32_t lo = (int8_t)(lo4 & 0xffu), hi = (int8_t)(hi4 & 0xffu);
  return reds_clamp_u8(v0, lo, hi) | (reds_clamp_u8(v1, lo, hi) << 8) |
         (reds_clamp_u8(v2, lo, hi) << 16) | (reds_clamp_u8(v3, lo, hi) << 24);
}
#endif
#define REDS_BYTES4(v) ((0xffu & (uint32_t)(v)) * 0x01010101u)

/* The common case 2 <= e <= 22 (shift in [-22, -2]) with the output offset folded in: a = acc,
 * P0 = a*m + 2^30 - [a < 0] * 2^31 (64-bit start value -2^30 or 2^30 from the sign of a, one
 * SMLAL), then, adding 2^(e+30) = 2^(e-2) * 2^32 and out_off * 2^(31+e) exactly:
 *     reds_rq(a) + out_off = ((P0 >> 32) + c1) >> (e - 1),  c1 = 2^(e-2) + out_off * 2^(e-1).
 * No overflow: |P0 >> 32| <= 2^30, |c1| < 2^29 for e <= 22. */
typedef struct {
  int32_t m, c1, sh;
} reds_rqf_t;

static inline int reds_rqf_init(reds_rqf_t *r, int32_t multiplier, int shift, int32_t out_off) {
  const int e = -shift;
  if (e < 2 || e > 22) return 0;
  r->m = multiplier;
  r->c1 = (int32_t)(((uint32_t)1 << (e - 2)) + (uint32_t)out_off * ((uint32_t)1 << (e - 1)));
  r->sh = e - 1;
  return 1;
}

#if defined(REDS_USE_DSP) && defined(__ARM_FEATURE_DSP)
static inline int32_t reds_rqf(int32_t a, const reds_rqf_t *r) {
  uint32_t lo;
  int32_t hi;
  __asm__("asr %1, %2, #31\n\t"
          "and %0, %2, #0x80000000\n\t"
          "orr %0, %0, #0x40000000\n\t"
          "smlal %0, %1, %2, %3"
          : "=&r"(lo), "=&r"(hi)
          : "r"(a), "r"(r->m));
  return (hi + r->c1) >> r->sh;
}
#else
static inline int32_t reds_rqf(int32_t a, const reds_rqf_t *r) {
  const int64_t p0 = (int64_t)a * r->m + (a < 0 ? -((int64_t)1 << 30) : ((int64_t)1 << 30));
  return ((int32_t)(p0 >> 32) + r->c1) >> r->sh;
}
#endif

/* One value: requantize, add the output offset, clamp. */
static inline int8_t reds_rq_finish(int32_t acc, const reds_rq_t *r, int32_t out_off, int32_t lo,
                                    int32_t hi) {
  int32_t v = reds_rq(acc, r) + out_off;
  if (v < lo) v = lo;
  if (v > hi) v = hi;
  return (int8_t)v;
}

/* Rounding high multiply: reds_smmlar(a, b, acc) = acc + floor((a*b + 2^31) / 2^32) (Armv7E-M
 * SMMLAR, one instruction; SMMULR without acc). Exact whenever the true result fits int32 (the
 * caller's bound). For m >= 0 and |2x| < 2^31: reds_smmulr(2x, m) = floor((x*m + 2^30) / 2^31),
 * which is SRDHM(x, m) (see reds_requantize_fast). */
#if defined(REDS_USE_DSP) && defined(__ARM_FEATURE_DSP)
static inline int32_t reds_smmulr(int32_t a, int32_t b) {
  int32_t r;
  __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
static inline int32_t reds_smmlar(int32_t a, int32_t b, int32_t acc) {
  int32_t r;
  __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
  return r;
}
#else
static inline int32_t reds_smmulr(int32_t a, int32_t b) {
  return (int32_t)(((int64_t)a * b + ((int64_t)1 << 31)) >> 32);
}
static inline int32_t reds_smmlar(int32_t a, int32_t b, int32_t acc) {
  /* acc as the high word of the 64-bit start value: one SMLAL on Armv7-M */
  return (int32_t)(((int64_t)acc * 4294967296LL + (int64_t)a * b + ((int64_t)1 << 31)) >> 32);
}
#endif

/* Four values saturated to int8 -> four lanes of one word (reds_pack4_s8 for the full range
 * [-128, 127]: no SSUB8 / SEL bound steps). */
#if defined(REDS_USE_DSP) && defined(__ARM_FEATURE_DSP)
static inline uint32_t reds_sat4_s8(int32_t v0, int32_t v1, int32_t v2, int32_t v3) {
  uint32_t r, t;
  __asm__("ssat %0, #8, %2\n\t"
          "ssat %1, #8, %3\n\t"
          "uxtb %0, %0\n\t"
          "bfi %0, %1, #8, #8\n\t"
          "ssat %1, #8, %4\n\t"
          "bfi %0, %1, #16, #8\n\t"
          "ssat %1, #8, %5\n\t"
          "bfi %0, %1, #24, #8"
          : "=&r"(r), "=&r"(t)
          : "r"(v0), "r"(v1), "r"(v2), "r"(v3));
  return r;
}
#else
static inline uint32_t reds_sat4_s8(int32_t v0, int32_t v1, int32_t v2, int32_t v3) {
  return reds_clamp_u8(v0, -128, 127) | (reds_clamp_u8(v1, -128, 127) << 8) |
         (reds_clamp_u8(v2, -128, 127) << 16) | (reds_clamp_u8(v3, -128, 127) << 24);
}
#endif

/* Depthwise interior tap of four channels, no offset (folded into the start value):
 * a_j += x[j] * w[j] in uint32 accumulators (acc_t), wrap-around as TFLM's int32 sum. */
#if defined(REDS_USE_DSP) && defined(__ARM_FEATURE_DSP)
#define DW_TAP(xp, wp, a0, a1, a2, a3)                                                             \
  do {                                                                                             \
    uint32_t xv_, wv_;                                                                             \
    memcpy(&xv_, (xp), 4);                                                                         \
    memcpy(&wv_, (wp), 4);                                                                         \
    const uint32_t x02_ = reds_sxtb16(xv_), x13_ = reds_sxtb16_ror8(xv_);                          \
    const uint32_t w02_ = reds_sxtb16(wv_), w13_ = reds_sxtb16_ror8(wv_);                          \
    a0 = reds_smlabb(x02_, w02_, a0);                                                              \
    a2 = reds_smlatt(x02_, w02_, a2);                                                              \
    a1 = reds_smlabb(x13_, w13_, a1);                                                              \
    a3 = reds_smlatt(x13_, w13_, a3);                                                              \
  } while (0)
typedef uint32_t acc_t;
#else
#define DW_TAP(xp, wp, a0, a1, a2, a3)                                                             \
  do {                                                                                             \
    const int8_t *x_ = (xp), *w_ = (wp);                                                           \
    a0 += (uint32_t)(x_[0] * w_[0]);                                                               \
    a1 += (uint32_t)(x_[1] * w_[1]);                                                               \
    a2 += (uint32_t)(x_[2] * w_[2]);                                                               \
    a3 += (uint32_t)(x_[3] * w_[3]);                                                               \
  } while (0)
typedef uint32_t acc_t;
#endif

#endif /* REDS_DOT_H */

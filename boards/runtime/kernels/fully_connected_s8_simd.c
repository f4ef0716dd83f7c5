/* SPDX-License-Identifier: Apache-2.0
 * FULLY_CONNECTED int8, the host-SIMD path (a compiler with SSE2, NEON or wasm SIMD), kept apart
 * from the portable kernel in fully_connected_s8.c, which calls it for input rows up to
 * REDS_FC_SIMD_MAX_ROW elements.
 *
 * The 4-row dot product keeps FC_LANES partial sums per row in a fixed-length inner loop over
 * an int16 copy of the offset input (x + in_off fits int16): gcc's -O2 vectorizer (very-cheap
 * cost model) only takes loops whose trip count is a multiple of the vector length, and then
 * turns this one into widening int16 multiply-adds, ~3x faster than the scalar loop on x86-64
 * for DNN-L's 436x436 layers. On scalar cores (Cortex-M, with or without the DSP extension) the
 * lane arrays would live in memory: the portable kernel uses reds_dot4_s8 there.
 * Exact either way: every partial sum is a sum of some of the terms, so |partial| <= 255 * 128 *
 * depth < 2^31 (MAX_DOT_DEPTH) and the int32 total is the same in any order. */
#include <stddef.h>
#include <stdint.h>

#include "reds_kernels.h"
#include "reds_kernels_dsp.h"

#ifdef REDS_KERNELS_SIMD
#define FC_LANES 16

/* acc[j] += sum_{i < n} xo[i] * w[j * ws + i], j < 4. */
static void fc_dot4_lanes(const int16_t *xo, const int8_t *w, int32_t ws, int32_t n,
                          int32_t acc[4]) {
  const int8_t *w0 = w, *w1 = w + ws, *w2 = w + 2 * (size_t)ws, *w3 = w + 3 * (size_t)ws;
  int32_t l0[FC_LANES] = {0}, l1[FC_LANES] = {0}, l2[FC_LANES] = {0}, l3[FC_LANES] = {0};
  int32_t i = 0;
  for (; i + FC_LANES <= n; i += FC_LANES) {
    for (int k = 0; k < FC_LANES; ++k) {
      const int32_t xv = xo[i + k];
      l0[k] += xv * w0[i + k];
      l1[k] += xv * w1[i + k];
      l2[k] += xv * w2[i + k];
      l3[k] += xv * w3[i + k];
    }
  }
  int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
  for (int k = 0; k < FC_LANES; ++k) {
    a0 += l0[k];
    a1 += l1[k];
    a2 += l2[k];
    a3 += l3[k];
  }
  for (; i < n; ++i) {
    const int32_t xv = xo[i];
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

void reds_fully_connected_input_s16_simd(const int8_t *x, int32_t n, int32_t input_offset,
                                         int16_t *xo) {
  for (int32_t i = 0; i < n; ++i) xo[i] = (int16_t)(x[i] + input_offset);
}

void reds_fully_connected_dot4_s8_simd(const reds_fc_params_t *p, const int16_t *xo,
                                       const int8_t *w, int32_t acc[4]) {
  const int32_t P = p->in_positions, width = p->in_width, stride = p->in_stride;
  if (P == 1 || width == stride) {
    fc_dot4_lanes(xo, w, p->weights_cols, P * width, acc);
  } else { /* flattened [P, C_full] input sliced to [P, width]: column p*C_full + c */
    for (int32_t pos = 0; pos < P; ++pos)
      fc_dot4_lanes(xo + (size_t)pos * width, w + (size_t)pos * stride, p->weights_cols, width,
                    acc);
  }
}
#endif /* REDS_KERNELS_SIMD */

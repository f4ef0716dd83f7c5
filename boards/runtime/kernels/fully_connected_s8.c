/* SPDX-License-Identifier: Apache-2.0
 * FULLY_CONNECTED int8 (per-channel or per-tensor) with width slicing (docs in reds_kernels.h). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "reds_kernels.h"
#include "reds_quant.h"
#include "reds_dot.h"

/* Requantized accumulator + output offset (unclamped), equal to reds_requantize(acc) + out_off:
 * reds_rqf (offset folded in) for shifts in [-22, -2], else reds_rq (both exact, reds_dot.h). */
static inline int32_t fc_rq(int32_t acc, int32_t mult, int shift, int32_t out_off) {
  reds_rqf_t f;
  if (reds_rqf_init(&f, mult, shift, out_off)) return reds_rqf(acc, &f);
  reds_rq_t r;
  reds_rq_init(&r, mult, shift);
  return reds_rq(acc, &r) + out_off;
}

reds_status_t reds_fully_connected_s8(const reds_fc_params_t *p, const reds_channel_quant_t *q,
                                      const int8_t *in_data, const int8_t *weights,
                                      const int32_t *bias, int8_t *out_data) {
  const int32_t P = p->in_positions, w = p->in_width, stride = p->in_stride;
  const int32_t row = P * w; /* active input elements per batch row */
  const int contiguous = (P == 1 || w == stride);
  const uint32_t lo4 = REDS_BYTES4(p->act.act_min), hi4 = REDS_BYTES4(p->act.act_max);
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t *x = in_data + (size_t)b * row;
    int8_t *o = out_data + (size_t)b * p->out_width;
    const int32_t ws = p->weights_cols;
    int32_t oc = 0;
    for (; oc + 4 <= p->out_width; oc += 4) { /* four output units share each input load */
      const int8_t *wr = weights + (size_t)oc * ws;
      int32_t acc[4] = {0, 0, 0, 0};
      if (contiguous) {
        reds_dot4_s8(x, wr, ws, row, p->input_offset, acc);
      } else { /* flattened [P, C_full] input sliced to [P, w]: column p*C_full + c */
        for (int32_t pos = 0; pos < P; ++pos)
          reds_dot4_s8(x + (size_t)pos * w, wr + (size_t)pos * stride, ws, w, p->input_offset, acc);
      }
      int32_t v[4];
      for (int32_t j = 0; j < 4; ++j) {
        int32_t a = acc[j];
        if (bias != NULL) a = reds_add_wrap(a, bias[oc + j]);
        v[j] = fc_rq(a, q->multiplier[oc + j], q->shift[oc + j], p->output_offset);
      }
      const uint32_t packed = reds_pack4_s8(v[0], v[1], v[2], v[3], lo4, hi4);
      memcpy(o + oc, &packed, 4);
    }
    for (; oc < p->out_width; ++oc) {
      const int8_t *wr = weights + (size_t)oc * ws;
      int32_t acc;
      if (contiguous) {
        acc = reds_dot_s8(x, wr, row, p->input_offset);
      } else {
        acc = 0;
        for (int32_t pos = 0; pos < P; ++pos)
          acc += reds_dot_s8(x + (size_t)pos * w, wr + (size_t)pos * stride, w, p->input_offset);
      }
      if (bias != NULL) acc = reds_add_wrap(acc, bias[oc]);
      int32_t v = fc_rq(acc, q->multiplier[oc], q->shift[oc], p->output_offset);
      if (v < p->act.act_min) v = p->act.act_min;
      if (v > p->act.act_max) v = p->act.act_max;
      o[oc] = (int8_t)v;
    }
  }
  return REDS_OK;
}

size_t reds_fully_connected_s8_scratch_size(void) { return 0; }

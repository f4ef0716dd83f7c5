/* SPDX-License-Identifier: Apache-2.0
 * DEPTHWISE_CONV_2D int8, depth multiplier 1, with width slicing (docs in reds_kernels.h).
 * Per output pixel, four channels at a time accumulate in registers over the in-image taps
 * (reds_dw_tap4_s8: one 32-bit load of input and of weights per tap; SXTB16 / SADD16 /
 * SMLABB / SMLATT on the DSP path), then the 1-3 remaining channels one by one.
 * Accumulator: |sum| <= 255 * 128 * kh*kw < 2^31 (loader bound). */
#include <stddef.h>
#include <stdint.h>

#include "reds_kernels.h"
#include "reds_quant.h"
#include "reds_dot.h"

reds_status_t reds_depthwise_conv2d_s8(const reds_conv_params_t *p, const reds_channel_quant_t *q,
                                       const reds_dims_t *in, const int8_t *in_data,
                                       const reds_dims_t *filt, const int8_t *filter_data,
                                       const int32_t *bias, const reds_dims_t *out,
                                       int8_t *out_data) {
  const int32_t H = in->h, W = in->w, C = in->c;
  const int32_t kh = filt->h, kw = filt->w, c_full = filt->c;
  const int32_t Ho = out->h, Wo = out->w;
  const int32_t in_off = p->input_offset;
  const reds_off2_t off2 = REDS_OFF2(in_off);
  const int32_t out_off = p->output_offset, lo = p->act.act_min, hi = p->act.act_max;
  const size_t row_step = (size_t)W * C; /* input row to row */
  for (int32_t b = 0; b < in->n; ++b) {
    const int8_t *img = in_data + (size_t)b * H * W * C;
    for (int32_t oy = 0; oy < Ho; ++oy) {
      const int32_t y0 = oy * p->stride_h - p->pad_h;
      const int32_t ky0 = y0 < 0 ? -y0 : 0;
      const int32_t ky1 = (H - y0) < kh ? (H - y0) : kh;
      for (int32_t ox = 0; ox < Wo; ++ox) {
        const int32_t x0 = ox * p->stride_w - p->pad_w;
        const int32_t kx0 = x0 < 0 ? -x0 : 0;
        const int32_t kx1 = (W - x0) < kw ? (W - x0) : kw;
        int8_t *o = out_data + (((size_t)b * Ho + oy) * Wo + ox) * C;
        /* first in-image tap of channel 0: input and weights */
        const int8_t *xt = img + ((size_t)(y0 + ky0) * W + (x0 + kx0)) * C;
        const int8_t *wt = filter_data + ((size_t)ky0 * kw + kx0) * c_full;
        int32_t c = 0;
        for (; c + 4 <= C; c += 4) {
          int32_t acc[4] = {0, 0, 0, 0};
          const int8_t *xr = xt + c, *wr = wt + c;
          for (int32_t ky = ky0; ky < ky1; ++ky, xr += row_step, wr += (size_t)kw * c_full) {
            const int8_t *xp = xr, *wp = wr;
            for (int32_t kx = kx0; kx < kx1; ++kx, xp += C, wp += c_full)
              reds_dw_tap4_s8(xp, wp, off2, acc);
          }
          for (int32_t j = 0; j < 4; ++j) {
            int32_t a = acc[j];
            if (bias != NULL) a = reds_add_wrap(a, bias[c + j]);
            o[c + j] = reds_finish_s8(a, q->multiplier[c + j], q->shift[c + j], out_off, lo, hi);
          }
        }
        for (; c < C; ++c) {
          int32_t acc = 0;
          const int8_t *xr = xt + c, *wr = wt + c;
          for (int32_t ky = ky0; ky < ky1; ++ky, xr += row_step, wr += (size_t)kw * c_full) {
            const int8_t *xp = xr, *wp = wr;
            for (int32_t kx = kx0; kx < kx1; ++kx, xp += C, wp += c_full) acc += (*xp + in_off) * *wp;
          }
          if (bias != NULL) acc = reds_add_wrap(acc, bias[c]);
          o[c] = reds_finish_s8(acc, q->multiplier[c], q->shift[c], out_off, lo, hi);
        }
      }
    }
  }
  return REDS_OK;
}

size_t reds_depthwise_conv2d_s8_scratch_size(void) { return 0; }

/* SPDX-License-Identifier: Apache-2.0
 * CONV_2D int8 with width slicing (docs in reds_kernels.h). */
#include <stddef.h>
#include <stdint.h>

#include "reds_kernels.h"
#include "reds_quant.h"
#include "reds_dot.h"

reds_status_t reds_conv2d_s8(const reds_conv_params_t *p, const reds_channel_quant_t *q,
                             const reds_dims_t *in, const int8_t *in_data,
                             const reds_dims_t *filt, const int8_t *filter_data,
                             const int32_t *bias, const reds_dims_t *out, int8_t *out_data) {
  const int32_t H = in->h, W = in->w, ci = in->c;
  const int32_t kh = filt->h, kw = filt->w, ci_full = filt->c;
  const int32_t Ho = out->h, Wo = out->w, co = out->c;
  const int32_t w_per_out = kh * kw * ci_full;
  const int contiguous = (ci == ci_full); /* a kernel row of kw taps is one contiguous run */
  const int32_t in_off = p->input_offset;
  for (int32_t b = 0; b < in->n; ++b) {
    const int8_t *img = in_data + (size_t)b * H * W * ci;
    for (int32_t oy = 0; oy < Ho; ++oy) {
      const int32_t y0 = oy * p->stride_h - p->pad_h;
      const int32_t ky0 = y0 < 0 ? -y0 : 0;
      const int32_t ky1 = (H - y0) < kh ? (H - y0) : kh;
      for (int32_t ox = 0; ox < Wo; ++ox) {
        const int32_t x0 = ox * p->stride_w - p->pad_w;
        const int32_t kx0 = x0 < 0 ? -x0 : 0;
        const int32_t kx1 = (W - x0) < kw ? (W - x0) : kw;
        const int32_t run = kx1 - kx0;
        int8_t *o = out_data + (((size_t)b * Ho + oy) * Wo + ox) * co;
        int32_t oc = 0;
        for (; oc + 4 <= co; oc += 4) { /* four output channels share each input load */
          const int8_t *wo = filter_data + (size_t)oc * w_per_out;
          int32_t acc[4] = {0, 0, 0, 0};
          for (int32_t ky = ky0; ky < ky1; ++ky) {
            const int8_t *xr = img + ((size_t)(y0 + ky) * W + (x0 + kx0)) * ci;
            const int8_t *wr = wo + ((size_t)ky * kw + kx0) * ci_full;
            if (contiguous) {
              if (run > 0) reds_dot4_s8(xr, wr, w_per_out, run * ci, in_off, acc);
            } else {
              for (int32_t kx = 0; kx < run; ++kx)
                reds_dot4_s8(xr + (size_t)kx * ci, wr + (size_t)kx * ci_full, w_per_out, ci, in_off, acc);
            }
          }
          for (int32_t j = 0; j < 4; ++j) {
            int32_t a = acc[j];
            if (bias != NULL) a = reds_add_wrap(a, bias[oc + j]);
            o[oc + j] = reds_finish_s8(a, q->multiplier[oc + j], q->shift[oc + j], p->output_offset,
                                       p->act.act_min, p->act.act_max);
          }
        }
        for (; oc < co; ++oc) {
          const int8_t *wo = filter_data + (size_t)oc * w_per_out;
          int32_t acc = 0;
          for (int32_t ky = ky0; ky < ky1; ++ky) {
            const int8_t *xr = img + ((size_t)(y0 + ky) * W + (x0 + kx0)) * ci;
            const int8_t *wr = wo + ((size_t)ky * kw + kx0) * ci_full;
            if (contiguous) {
              if (run > 0) acc += reds_dot_s8(xr, wr, run * ci, in_off);
            } else {
              for (int32_t kx = 0; kx < run; ++kx)
                acc += reds_dot_s8(xr + (size_t)kx * ci, wr + (size_t)kx * ci_full, ci, in_off);
            }
          }
          if (bias != NULL) acc = reds_add_wrap(acc, bias[oc]);
          o[oc] = reds_finish_s8(acc, q->multiplier[oc], q->shift[oc], p->output_offset,
                                 p->act.act_min, p->act.act_max);
        }
      }
    }
  }
  return REDS_OK;
}

size_t reds_conv2d_s8_scratch_size(void) { return 0; }

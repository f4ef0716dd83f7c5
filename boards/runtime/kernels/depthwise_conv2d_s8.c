/* SPDX-License-Identifier: Apache-2.0
 * DEPTHWISE_CONV_2D int8, depth multiplier 1, with width slicing (docs in reds_kernels.h). */
#include <stddef.h>
#include <stdint.h>

#include "reds_kernels.h"
#include "reds_quant.h"
#include "reds_dot.h"

#define CHUNK 32 /* channels accumulated together: contiguous inner loops, 128 B of stack */

reds_status_t reds_depthwise_conv2d_s8(const reds_conv_params_t *p, const reds_channel_quant_t *q,
                                       const reds_dims_t *in, const int8_t *in_data,
                                       const reds_dims_t *filt, const int8_t *filter_data,
                                       const int32_t *bias, const reds_dims_t *out,
                                       int8_t *out_data) {
  const int32_t H = in->h, W = in->w, C = in->c;
  const int32_t kh = filt->h, kw = filt->w, c_full = filt->c;
  const int32_t Ho = out->h, Wo = out->w;
  const int32_t in_off = p->input_offset;
  int32_t acc[CHUNK];
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
        for (int32_t c0 = 0; c0 < C; c0 += CHUNK) {
          const int32_t cn = (C - c0) < CHUNK ? (C - c0) : CHUNK;
          for (int32_t c = 0; c < cn; ++c) acc[c] = 0;
          for (int32_t ky = ky0; ky < ky1; ++ky) {
            for (int32_t kx = kx0; kx < kx1; ++kx) {
              const int8_t *xp = img + ((size_t)(y0 + ky) * W + (x0 + kx)) * C + c0;
              const int8_t *wp = filter_data + ((size_t)ky * kw + kx) * c_full + c0;
              for (int32_t c = 0; c < cn; ++c) acc[c] += (xp[c] + in_off) * wp[c];
            }
          }
          for (int32_t c = 0; c < cn; ++c) {
            int32_t a = acc[c];
            if (bias != NULL) a = reds_add_wrap(a, bias[c0 + c]);
            o[c0 + c] = reds_finish_s8(a, q->multiplier[c0 + c], q->shift[c0 + c],
                                       p->output_offset, p->act.act_min, p->act.act_max);
          }
        }
      }
    }
  }
  return REDS_OK;
}

size_t reds_depthwise_conv2d_s8_scratch_size(void) { return 0; }

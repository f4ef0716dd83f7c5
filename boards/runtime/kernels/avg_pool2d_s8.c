/* SPDX-License-Identifier: Apache-2.0
 * AVERAGE_POOL_2D int8 (docs in reds_kernels.h). */
#include <stddef.h>
#include <stdint.h>

#include "reds_kernels.h"
#include "../src/reds_ops.h"

reds_status_t reds_avg_pool2d_s8(const reds_pool_params_t *p, const reds_dims_t *in,
                                 const int8_t *in_data, const reds_dims_t *out, int8_t *out_data) {
  const int32_t H = in->h, W = in->w, C = in->c;
  for (int32_t b = 0; b < in->n; ++b) {
    for (int32_t oy = 0; oy < out->h; ++oy) {
      const int32_t y0 = oy * p->stride_h - p->pad_h;
      const int32_t ky0 = y0 < 0 ? -y0 : 0;
      const int32_t ky1 = (H - y0) < p->filter_h ? (H - y0) : p->filter_h;
      for (int32_t ox = 0; ox < out->w; ++ox) {
        const int32_t x0 = ox * p->stride_w - p->pad_w;
        const int32_t kx0 = x0 < 0 ? -x0 : 0;
        const int32_t kx1 = (W - x0) < p->filter_w ? (W - x0) : p->filter_w;
        const int32_t count = (ky1 - ky0) * (kx1 - kx0);
        int8_t *o = out_data + (((size_t)b * out->h + oy) * out->w + ox) * C;
        for (int32_t c = 0; c < C; ++c) {
          int32_t acc = 0;
          for (int32_t ky = ky0; ky < ky1; ++ky)
            for (int32_t kx = kx0; kx < kx1; ++kx)
              acc += in_data[(((size_t)b * H + y0 + ky) * W + (x0 + kx)) * C + c];
          if (count <= 0) { /* window entirely in the padding: TFLM fails the op */
            o[c] = 0;
            continue;
          }
          /* round half away from zero, C division truncates toward zero */
          acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
          if (acc < p->act.act_min) acc = p->act.act_min;
          if (acc > p->act.act_max) acc = p->act.act_max;
          o[c] = (int8_t)acc;
        }
      }
    }
  }
  return REDS_OK;
}

/* ------------------------------------------------------------------ op table entry (reds_ops.h) */

static reds_status_t avgp_eval(reds_ctx_t *ctx, const reds_op_rec_t *op) {
  reds_pool_args_t a;
  reds_pool_args(ctx, op, &a);
  return reds_avg_pool2d_s8(&a.p, &a.in, a.x, &a.out, a.y);
}

const reds_op_kernel_t reds_op_avg_pool2d = {
    .options_type = REDS_OPTIONS_POOL_2D,
    .options = reds_pool_options,
    .prepare = reds_prepare_pool,
    .check = reds_check_same_channels,
    .eval = avgp_eval,
};

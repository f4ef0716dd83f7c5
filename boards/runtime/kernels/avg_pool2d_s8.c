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

size_t reds_avg_pool2d_s8_scratch_size(void) { return 0; }

/* ------------------------------------------------------------------ op table entry (reds_ops.h) */

static reds_status_t avgp_options(reds_ctx_t *ctx, uint32_t oi, const reds_fb_t *fb,
                                  const reds_fb_table_t *opt) {
  reds_op_rec_t *op = &ctx->ops[oi];
  REDS_OPT_U8(0, &op->padding, 0);
  REDS_OPT_I32(1, &op->stride_w, 0);
  REDS_OPT_I32(2, &op->stride_h, 0);
  REDS_OPT_I32(3, &op->filter_w, 0);
  REDS_OPT_I32(4, &op->filter_h, 0);
  REDS_OPT_U8(5, &op->fused, 0);
  return REDS_OK;
}

/* int8 in/out, same channels, output size from padding / stride / window. */
static reds_status_t avgp_prepare(reds_ctx_t *ctx, uint32_t oi) {
  reds_op_rec_t *op = &ctx->ops[oi];
  const int in = op->in[0], out = op->out, code = op->code;
  TRY(reds_need_type(ctx, oi, in, REDS_TYPE_INT8, "input type (int8 only)"));
  TRY(reds_need_type(ctx, oi, out, REDS_TYPE_INT8, "output type (int8 only)"));
  TRY(reds_prepare_spatial(ctx, oi, in, out, op->filter_h, op->filter_w));
  if (ctx->tensors[in].dims[3] != ctx->tensors[out].dims[3])
    return reds_err_op(ctx, REDS_ERR_SHAPE, oi, code, "channels differ");
  if ((int64_t)op->filter_h * op->filter_w > (1 << 22)) /* window sum must fit int32 */
    return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, code, "pooling window too large");
  return reds_act_range(ctx, oi, &ctx->tensors[out]);
}

static reds_status_t avgp_check(reds_ctx_t *ctx, uint32_t oi, const uint32_t *ad, uint32_t k,
                                uint64_t *macs) {
  const reds_op_rec_t *op = &ctx->ops[oi];
  (void)k;
  (void)macs;
  TRY(reds_check_channel_axis(ctx, oi));
  return reds_last_dim(ctx, ad, op->in[0]) == reds_last_dim(ctx, ad, op->out) ? REDS_OK
                                                                              : reds_err_inconsistent(ctx, oi);
}

static reds_status_t avgp_eval(reds_ctx_t *ctx, const reds_op_rec_t *op) {
  const reds_pool_params_t p = {op->stride_w, op->stride_h, op->filter_w, op->filter_h,
                                op->pad_w, op->pad_h, {op->act_min, op->act_max}};
  reds_dims_t di, dout;
  reds_dims4(ctx, ctx->cur_dim, op->in[0], &di);
  reds_dims4(ctx, ctx->cur_dim, op->out, &dout);
  return reds_avg_pool2d_s8(&p, &di, (const int8_t *)reds_in_ptr(ctx, op->in[0]), &dout,
                    (int8_t *)reds_out_ptr(ctx, op->out));
}

const reds_op_kernel_t reds_op_avg_pool2d = {REDS_OP_AVERAGE_POOL_2D, 5, avgp_options, avgp_prepare, avgp_check, avgp_eval};

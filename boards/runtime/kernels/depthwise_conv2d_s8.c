/* SPDX-License-Identifier: Apache-2.0
 * DEPTHWISE_CONV_2D int8, depth multiplier 1, with width slicing (docs in reds_kernels.h).
 *
 * DSP path (depthwise_conv2d_s8_dsp.c, REDS_USE_DSP on Armv7E-M): per 4-channel block the input
 * rows are sign-extended once into a ring of zero-point-padded rows, so every window (interior or
 * border) is the same branch-free loop; 3x3 windows run as one asm loop per output row.
 * Generic path (portable C, and DSP shapes the ring does not fit): channels in blocks of four
 * (outer loop): the block's bias, requantization constants (reds_rq_init) and in_off * sum of
 * its kh*kw weights are set up once, then every output pixel accumulates the four channels in
 * registers and stores them as one clamped word (reds_pack4_s8).
 *  - interior pixels (window inside the image): no bounds checks, the input offset folded into
 *    the start value base = bias + in_off * sum w (exact: sum (x + off) w = sum x w + off sum w);
 *    3x3 gets constant trip counts.
 *  - border pixels: only the in-image taps, the offset added per tap, as TFLM skips padding
 *    taps.
 * The remaining 1-3 channels run one at a time.
 * Accumulator: |sum| <= 255 * 128 * kh*kw < 2^31 (loader bound); the folded form equals it
 * modulo 2^32 (wrap-around), hence the same int32. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "reds_kernels.h"
#include "reds_quant.h"
#include "reds_dot.h"
#include "../src/reds_ops.h"

#include "reds_kernels_dsp.h"

/* Interior window of four channels: x at the window's top-left tap, w at tap 0. */
static inline void dw_window4(const int8_t *x, const int8_t *w, size_t xrow, int32_t C,
                              int32_t c_full, int32_t kh, int32_t kw, acc_t acc[4]) {
  acc_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
  for (int32_t ky = 0; ky < kh; ++ky, x += xrow) {
    const int8_t *xp = x;
    for (int32_t kx = 0; kx < kw; ++kx, xp += C, w += c_full) DW_TAP(xp, w, a0, a1, a2, a3);
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}

reds_status_t reds_depthwise_conv2d_s8(const reds_conv_params_t *p, const reds_channel_quant_t *q,
                                       const reds_dims_t *in, const int8_t *in_data,
                                       const reds_dims_t *filt, const int8_t *filter_data,
                                       const int32_t *bias, const reds_dims_t *out,
                                       int8_t *out_data) {
#ifdef REDS_KERNELS_DSP
  if (reds_depthwise_conv2d_s8_dsp(p, q, in, in_data, filt, filter_data, bias, out, out_data))
    return REDS_OK;
#endif
  const int32_t H = in->h, W = in->w, C = in->c;
  const int32_t kh = filt->h, kw = filt->w, c_full = filt->c;
  const int32_t Ho = out->h, Wo = out->w;
  const int32_t in_off = p->input_offset;
  const reds_off2_t off2 = REDS_OFF2(in_off);
  const int32_t out_off = p->output_offset, lo = p->act.act_min, hi = p->act.act_max;
  const uint32_t lo4 = REDS_BYTES4(lo), hi4 = REDS_BYTES4(hi);
  const size_t xrow = (size_t)W * C; /* input row to row */
  const int is3x3 = (kh == 3 && kw == 3);
  int32_t c = 0;
  for (; c + 4 <= C; c += 4) {
    reds_rq_t rq[4];
    reds_rqf_t rqf[4];
    int fast = 1;
    int32_t bias4[4], base4[4];
    for (int32_t j = 0; j < 4; ++j) {
      int32_t wsum = 0;
      for (int32_t t = 0; t < kh * kw; ++t) wsum += filter_data[(size_t)t * c_full + c + j];
      bias4[j] = bias != NULL ? bias[c + j] : 0;
      base4[j] = reds_add_wrap(bias4[j], (int32_t)((uint32_t)in_off * (uint32_t)wsum));
      reds_rq_init(&rq[j], q->multiplier[c + j], q->shift[c + j]);
      fast &= reds_rqf_init(&rqf[j], q->multiplier[c + j], q->shift[c + j], out_off);
    }
    const int8_t *wc = filter_data + c;
    for (int32_t b = 0; b < in->n; ++b) {
      const int8_t *img = in_data + (size_t)b * H * W * C + c;
      int8_t *o = out_data + (size_t)b * Ho * Wo * C + c;
      for (int32_t oy = 0; oy < Ho; ++oy) {
        const int32_t y0 = oy * p->stride_h - p->pad_h;
        const int row_in = (y0 >= 0 && y0 + kh <= H);
        const int32_t ky0 = y0 < 0 ? -y0 : 0;
        const int32_t ky1 = (H - y0) < kh ? (H - y0) : kh;
        for (int32_t ox = 0; ox < Wo; ++ox, o += C) {
          const int32_t x0 = ox * p->stride_w - p->pad_w;
          acc_t acc[4];
          if (row_in && x0 >= 0 && x0 + kw <= W) {
            const int8_t *x = img + ((size_t)y0 * W + x0) * C;
            acc[0] = (acc_t)base4[0];
            acc[1] = (acc_t)base4[1];
            acc[2] = (acc_t)base4[2];
            acc[3] = (acc_t)base4[3];
            if (is3x3)
              dw_window4(x, wc, xrow, C, c_full, 3, 3, acc); /* constant trip counts */
            else
              dw_window4(x, wc, xrow, C, c_full, kh, kw, acc);
          } else {
            const int32_t kx0 = x0 < 0 ? -x0 : 0;
            const int32_t kx1 = (W - x0) < kw ? (W - x0) : kw;
            int32_t a[4] = {bias4[0], bias4[1], bias4[2], bias4[3]};
            const int8_t *xr = img + ((size_t)(y0 + ky0) * W + (x0 + kx0)) * C;
            const int8_t *wr = wc + ((size_t)ky0 * kw + kx0) * c_full;
            for (int32_t ky = ky0; ky < ky1; ++ky, xr += xrow, wr += (size_t)kw * c_full) {
              const int8_t *xp = xr, *wp = wr;
              for (int32_t kx = kx0; kx < kx1; ++kx, xp += C, wp += c_full)
                reds_dw_tap4_s8(xp, wp, off2, a);
            }
            for (int32_t j = 0; j < 4; ++j) acc[j] = (acc_t)a[j];
          }
          uint32_t v;
          if (fast) {
            v = reds_pack4_s8(
                reds_rqf((int32_t)acc[0], &rqf[0]), reds_rqf((int32_t)acc[1], &rqf[1]),
                reds_rqf((int32_t)acc[2], &rqf[2]), reds_rqf((int32_t)acc[3], &rqf[3]), lo4, hi4);
          } else {
            v = reds_pack4_s8(reds_rq((int32_t)acc[0], &rq[0]) + out_off,
                              reds_rq((int32_t)acc[1], &rq[1]) + out_off,
                              reds_rq((int32_t)acc[2], &rq[2]) + out_off,
                              reds_rq((int32_t)acc[3], &rq[3]) + out_off, lo4, hi4);
          }
          memcpy(o, &v, 4);
        }
      }
    }
  }
  for (; c < C; ++c) { /* the last 1-3 channels */
    reds_rq_t rq;
    reds_rq_init(&rq, q->multiplier[c], q->shift[c]);
    const int32_t bc = bias != NULL ? bias[c] : 0;
    for (int32_t b = 0; b < in->n; ++b) {
      const int8_t *img = in_data + (size_t)b * H * W * C + c;
      int8_t *o = out_data + (size_t)b * Ho * Wo * C + c;
      for (int32_t oy = 0; oy < Ho; ++oy) {
        const int32_t y0 = oy * p->stride_h - p->pad_h;
        const int32_t ky0 = y0 < 0 ? -y0 : 0;
        const int32_t ky1 = (H - y0) < kh ? (H - y0) : kh;
        for (int32_t ox = 0; ox < Wo; ++ox, o += C) {
          const int32_t x0 = ox * p->stride_w - p->pad_w;
          const int32_t kx0 = x0 < 0 ? -x0 : 0;
          const int32_t kx1 = (W - x0) < kw ? (W - x0) : kw;
          int32_t acc = 0;
          const int8_t *xr = img + ((size_t)(y0 + ky0) * W + (x0 + kx0)) * C;
          const int8_t *wr = filter_data + ((size_t)ky0 * kw + kx0) * c_full + c;
          for (int32_t ky = ky0; ky < ky1; ++ky, xr += xrow, wr += (size_t)kw * c_full) {
            const int8_t *xp = xr, *wp = wr;
            for (int32_t kx = kx0; kx < kx1; ++kx, xp += C, wp += c_full)
              acc += (*xp + in_off) * *wp;
          }
          *o = reds_rq_finish(reds_add_wrap(acc, bc), &rq, out_off, lo, hi);
        }
      }
    }
  }
  return REDS_OK;
}

/* ------------------------------------------------------------------ op table entry (reds_ops.h) */

static reds_status_t dw_options(reds_ctx_t *ctx, uint32_t oi, const reds_fb_t *fb,
                                const reds_fb_table_t *opt) {
  reds_op_rec_t *op = &ctx->ops[oi];
  int32_t dil_w = 1, dil_h = 1, depth_mult = 1;
  REDS_OPT_U8(0, &op->padding, 0);
  REDS_OPT_I32(1, &op->stride_w, 0);
  REDS_OPT_I32(2, &op->stride_h, 0);
  REDS_OPT_I32(3, &depth_mult, 1);
  REDS_OPT_U8(4, &op->fused, 0);
  REDS_OPT_I32(5, &dil_w, 1);
  REDS_OPT_I32(6, &dil_h, 1);
  if (dil_w != 1 || dil_h != 1)
    return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, op->code, "dilation other than 1");
  (void)depth_mult; /* derived from the shapes, checked in prepare */
  return REDS_OK;
}

static reds_status_t dw_prepare(reds_ctx_t *ctx, uint32_t oi) {
  return reds_prepare_conv(ctx, oi, 1);
}

static reds_status_t dw_check(reds_ctx_t *ctx, uint32_t oi, const uint32_t *ad, uint32_t k,
                              uint64_t *macs) {
  const reds_op_rec_t *op = &ctx->ops[oi];
  reds_dims_t di, dout;
  (void)k;
  TRY(reds_check_channel_axis(ctx, oi));
  reds_dims4(ctx, ad, op->in[0], &di);
  reds_dims4(ctx, ad, op->out, &dout);
  if (di.c != dout.c) return reds_err_inconsistent(ctx, oi);
  const int32_t *fd = ctx->tensors[op->in[1]].dims;
  *macs += (uint64_t)dout.h * dout.w * fd[1] * fd[2] * (uint64_t)dout.c;
  return REDS_OK;
}

static reds_status_t dw_eval(reds_ctx_t *ctx, const reds_op_rec_t *op) {
  reds_conv_args_t a;
  reds_conv_args(ctx, op, &a);
  return reds_depthwise_conv2d_s8(&a.p, &a.q, &a.in, a.x, &a.filt, a.w, a.bias, &a.out, a.y);
}

const reds_op_kernel_t reds_op_depthwise_conv2d = {
    .options_type = REDS_OPTIONS_DEPTHWISE_CONV_2D,
    .options = dw_options,
    .prepare = dw_prepare,
    .check = dw_check,
    .eval = dw_eval,
    .per_channel_quant = 1,
};

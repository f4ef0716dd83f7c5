/* SPDX-License-Identifier: Apache-2.0
 * CONV_2D int8 with width slicing (docs in reds_kernels.h), the portable path and the op table
 * entry. The DSP GEMM (REDS_USE_DSP on a core with the DSP extension) is in conv2d_s8_dsp.c:
 * tried first, it returns 0 for layers it does not take and this file's code runs them.
 *
 * Both fast paths are one GEMM, out[pixel][o] = base[o] + sum_k x[pixel][k] * w[o][k]:
 *  - 1x1 without padding (pointwise): the pixel rows are the input itself (any stride).
 *  - kh x kw (or padding) with the full input depth active (ci == ci_full, e.g. a first conv
 *    with 1-3 input channels): two pixels' patches (kh*kw*ci bytes each, padding taps = the
 *    input zero point, which contributes (zp + in_off) * w = 0) against the filter rows.
 *  - DSP only: kh x kw with sliced input depth (ci < ci_full): the in-slice weights gathered
 *    per tap into contiguous rows (conv2d_s8_dsp.c), then the same GEMM.
 * The input offset is folded into base[o] = bias[o] + in_off * sum_k w[o][k] (exact integer
 * identity sum (x + off) w = sum x w + off sum w), computed per call.
 * Portable GEMM: tiles of 2 pixels x 2 output channels (reds_mac2x2_s8: every load used twice),
 * im2col into a small stack buffer, constants per chunk of CHUNK output channels (reds_rq_init /
 * reds_rqf_init), the four results requantized and clamped as one word (reds_pack4_s8).
 * Other shapes (sliced input depth with kh*kw > 1 on the portable path, very deep patches): per
 * output pixel, four output channels share each input load (reds_dot4_s8), the offset added
 * per element (padding taps skipped, as TFLM).
 * Accumulator: |sum| <= 255 * 128 * kh*kw*Ci < 2^31 (loader bound); the folded form computes
 * the same value modulo 2^32 (wrap-around), hence the same int32. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "reds_kernels.h"
#include "reds_quant.h"

/* The im2col GEMM pays off for deep inputs only with SMLAD; without it (e.g. x86 hosts, where
 * the compiler vectorises the per-pixel loop) it is used for shallow first convs only. */
#if defined(REDS_USE_DSP) && defined(__ARM_FEATURE_DSP)
#define IM2COL_ANY_DEPTH 1
#else
#define IM2COL_ANY_DEPTH 0
#endif
#include "reds_dot.h"
#include "../src/reds_ops.h"
#include "reds_kernels_dsp.h"

enum {
  CHUNK = 32,      /* output channels whose base / requantization constants live on the stack */
  PATCH_MAX = 288, /* im2col bytes per pixel (e.g. 3x3x32, 5x5x11); deeper: generic path */
  BATCH = 16       /* pixel rows per call of the strided pointwise path */
};

/* Per-call constants of one chunk of output channels (oc0 .. oc0 + n - 1). */
typedef struct {
  int32_t n, oc0;
  int fast; /* every channel has reds_rqf constants (output offset folded in) */
  int32_t base[CHUNK];
  reds_rqf_t rqf[CHUNK];
  reds_rq_t rq[CHUNK];
} chunk_t;

static void chunk_init(chunk_t *ch, const reds_conv_params_t *p, const reds_channel_quant_t *q,
                       const int8_t *filter_data, int32_t wstride, int32_t depth,
                       const int32_t *bias, int32_t oc0, int32_t n) {
  ch->n = n;
  ch->oc0 = oc0;
  ch->fast = 1;
  for (int32_t j = 0; j < n; ++j) {
    const int32_t o = oc0 + j;
    int32_t b = (int32_t)((uint32_t)p->input_offset *
                          (uint32_t)reds_sum_s8(filter_data + (size_t)o * wstride, depth));
    if (bias != NULL) b = reds_add_wrap(b, bias[o]);
    ch->base[j] = b;
    reds_rq_init(&ch->rq[j], q->multiplier[o], q->shift[o]);
    ch->fast &= reds_rqf_init(&ch->rqf[j], q->multiplier[o], q->shift[o], p->output_offset);
  }
}

/* Two pixels (xa, xb; xb == xa when `two` is 0) against the chunk's output channels: outputs
 * at oa[oc0 + j] and ob[oc0 + j]. w: filter rows (stride wstride), depth bytes each. */
static void gemm_2px(const chunk_t *ch, const int8_t *xa, const int8_t *xb, int two,
                     const int8_t *filter_data, int32_t wstride, int32_t depth, int8_t *oa,
                     int8_t *ob, int32_t out_off, uint32_t lo4, uint32_t hi4) {
  const int32_t n = ch->n;
  const int8_t *w = filter_data + (size_t)ch->oc0 * wstride;
  oa += ch->oc0;
  ob += ch->oc0;
  int32_t j = 0;
  for (; j + 2 <= n; j += 2, w += 2 * (size_t)wstride) {
    int32_t acc[4] = {ch->base[j], ch->base[j + 1], ch->base[j], ch->base[j + 1]};
    reds_mac2x2_s8(xa, xb, w, w + wstride, depth, acc);
    uint32_t v;
    if (ch->fast) {
      const reds_rqf_t *f = &ch->rqf[j];
      v = reds_pack4_s8(reds_rqf(acc[0], f), reds_rqf(acc[1], f + 1), reds_rqf(acc[2], f),
                        reds_rqf(acc[3], f + 1), lo4, hi4);
    } else {
      v = reds_pack4_s8(reds_rq(acc[0], &ch->rq[j]) + out_off,
                        reds_rq(acc[1], &ch->rq[j + 1]) + out_off,
                        reds_rq(acc[2], &ch->rq[j]) + out_off,
                        reds_rq(acc[3], &ch->rq[j + 1]) + out_off, lo4, hi4);
    }
    const uint16_t va = (uint16_t)v, vb = (uint16_t)(v >> 16);
    memcpy(oa + j, &va, 2);
    if (two) memcpy(ob + j, &vb, 2);
  }
  if (j < n) { /* odd channel count: the last channel twice */
    int32_t acc[4] = {ch->base[j], ch->base[j], ch->base[j], ch->base[j]};
    reds_mac2x2_s8(xa, xb, w, w, depth, acc);
    const uint32_t v = reds_pack4_s8(reds_rq(acc[0], &ch->rq[j]) + out_off, 0,
                                     reds_rq(acc[2], &ch->rq[j]) + out_off, 0, lo4, hi4);
    oa[j] = (int8_t)(v & 0xffu);
    if (two) ob[j] = (int8_t)((v >> 16) & 0xffu);
  }
}

static void pointwise_rows(const reds_conv_params_t *p, const reds_channel_quant_t *q,
                           const reds_pw_row_t *rows, int32_t nrows, int32_t ci, int32_t ci_full,
                           const int8_t *filter_data, const int32_t *bias, int32_t co) {
#ifdef REDS_KERNELS_DSP
  if (reds_conv2d_pointwise_s8_dsp(p, q, rows, nrows, ci, ci_full, filter_data, bias, co)) return;
#endif
  const uint32_t lo4 = REDS_BYTES4(p->act.act_min), hi4 = REDS_BYTES4(p->act.act_max);
  chunk_t ch;
  for (int32_t oc0 = 0; oc0 < co; oc0 += CHUNK) {
    chunk_init(&ch, p, q, filter_data, ci_full, ci, bias, oc0,
               (co - oc0) < CHUNK ? co - oc0 : CHUNK);
    for (int32_t r = 0; r < nrows; ++r) {
      const int8_t *x = rows[r].x;
      const int32_t xstep = rows[r].xstep, n = rows[r].n;
      for (int32_t j = 0; j < n; j += 2) {
        const int two = (j + 1 < n);
        const int8_t *xa = x + (size_t)j * xstep;
        int8_t *oa = rows[r].o + (size_t)j * co;
        gemm_2px(&ch, xa, two ? xa + xstep : xa, two, filter_data, ci_full, ci, oa, oa + co,
                 p->output_offset, lo4, hi4);
      }
    }
  }
}

static void pointwise(const reds_conv_params_t *p, const reds_channel_quant_t *q,
                      const reds_dims_t *in, const int8_t *in_data, int32_t ci_full,
                      const int8_t *filter_data, const int32_t *bias, const reds_dims_t *out,
                      int8_t *out_data) {
  const int32_t ci = in->c, co = out->c;
  if (p->stride_w == 1 && p->stride_h == 1 && in->h == out->h && in->w == out->w) {
    /* every input pixel maps to the output pixel of the same index: one row of N*H*W */
    const reds_pw_row_t row = {in_data, ci, in->n * in->h * in->w, out_data};
    pointwise_rows(p, q, &row, 1, ci, ci_full, filter_data, bias, co);
    return;
  }
  reds_pw_row_t rows[BATCH]; /* bounded stack, weights reused across 16 rows */
  int32_t nrows = 0;
  for (int32_t b = 0; b < in->n; ++b) {
    for (int32_t oy = 0; oy < out->h; ++oy) {
      rows[nrows].x = in_data + (((size_t)b * in->h + (size_t)oy * p->stride_h) * in->w) * ci;
      rows[nrows].xstep = p->stride_w * ci;
      rows[nrows].n = out->w;
      rows[nrows].o = out_data + (((size_t)b * out->h + oy) * out->w) * co;
      if (++nrows == BATCH) {
        pointwise_rows(p, q, rows, nrows, ci, ci_full, filter_data, bias, co);
        nrows = 0;
      }
    }
  }
  if (nrows > 0) pointwise_rows(p, q, rows, nrows, ci, ci_full, filter_data, bias, co);
}

/* The kh x kw x ci patch of output pixel (oy, ox) into buf, padding taps = input zero point.
 * Inlined (via im2col_pair) into conv_im2col: a call per pixel costs ~13 instructions,
 * measurable on small first convs. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline void
im2col(const int8_t *img, int32_t H, int32_t W, int32_t ci, int32_t kh, int32_t kw, int32_t y0,
       int32_t x0, int8_t zp, int8_t *buf) {
  const size_t run = (size_t)kw * ci;
  if (y0 >= 0 && x0 >= 0 && y0 + kh <= H && x0 + kw <= W) {
    const int8_t *src = img + ((size_t)y0 * W + x0) * ci;
    for (int32_t ky = 0; ky < kh; ++ky, src += (size_t)W * ci, buf += run) memcpy(buf, src, run);
    return;
  }
  for (int32_t ky = 0; ky < kh; ++ky, buf += run) {
    const int32_t y = y0 + ky;
    if (y < 0 || y >= H) {
      memset(buf, zp, run);
      continue;
    }
    for (int32_t kx = 0; kx < kw; ++kx) {
      const int32_t x = x0 + kx;
      if (x < 0 || x >= W)
        memset(buf + (size_t)kx * ci, zp, (size_t)ci);
      else
        memcpy(buf + (size_t)kx * ci, img + ((size_t)y * W + x) * ci, (size_t)ci);
    }
  }
}

/* The patches of output pixels i and, when `two`, i + 1 (row-major over Wo) into p0 / p1. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline void
im2col_pair(const reds_conv_params_t *p, const int8_t *img, int32_t H, int32_t W, int32_t ci,
            int32_t kh, int32_t kw, int32_t Wo, int32_t i, int two, int8_t zp, int8_t *p0,
            int8_t *p1) {
  for (int32_t t = 0; t <= two; ++t) {
    const int32_t oy = (i + t) / Wo, ox = (i + t) - oy * Wo;
    im2col(img, H, W, ci, kh, kw, oy * p->stride_h - p->pad_h, ox * p->stride_w - p->pad_w, zp,
           t ? p1 : p0);
  }
}

static void conv_im2col(const reds_conv_params_t *p, const reds_channel_quant_t *q,
                        const reds_dims_t *in, const int8_t *in_data, const reds_dims_t *filt,
                        const int8_t *filter_data, const int32_t *bias, const reds_dims_t *out,
                        int8_t *out_data) {
  const int32_t H = in->h, W = in->w, ci = in->c, kh = filt->h, kw = filt->w;
  const int32_t Ho = out->h, Wo = out->w, co = out->c;
  const int32_t depth = kh * kw * ci;
  const int8_t zp = (int8_t)(-p->input_offset);
  const uint32_t lo4 = REDS_BYTES4(p->act.act_min), hi4 = REDS_BYTES4(p->act.act_max);
  int8_t patch[2][PATCH_MAX];
  chunk_t ch;
  const int32_t npix = Ho * Wo;
  for (int32_t oc0 = 0; oc0 < co; oc0 += CHUNK) {
    chunk_init(&ch, p, q, filter_data, depth, depth, bias, oc0,
               (co - oc0) < CHUNK ? co - oc0 : CHUNK);
    for (int32_t b = 0; b < in->n; ++b) {
      const int8_t *img = in_data + (size_t)b * H * W * ci;
      int8_t *obase = out_data + (size_t)b * npix * co;
      for (int32_t i = 0; i < npix; i += 2) {
        const int two = (i + 1 < npix);
        im2col_pair(p, img, H, W, ci, kh, kw, Wo, i, two, zp, patch[0], patch[1]);
        int8_t *oa = obase + (size_t)i * co;
        gemm_2px(&ch, patch[0], two ? patch[1] : patch[0], two, filter_data, depth, depth, oa,
                 oa + co, p->output_offset, lo4, hi4);
      }
    }
  }
}

reds_status_t reds_conv2d_s8(const reds_conv_params_t *p, const reds_channel_quant_t *q,
                             const reds_dims_t *in, const int8_t *in_data, const reds_dims_t *filt,
                             const int8_t *filter_data, const int32_t *bias, const reds_dims_t *out,
                             int8_t *out_data) {
  const int32_t H = in->h, W = in->w, ci = in->c;
  const int32_t kh = filt->h, kw = filt->w, ci_full = filt->c;
  const int32_t Ho = out->h, Wo = out->w, co = out->c;
  /* A single output pixel (e.g. a 1x1 conv after global pooling): the GEMM would compute it
   * twice and fold the offset with a weight sum as long as the conv itself; the per-pixel
   * path below does neither. */
  const int one_pixel = (in->n * Ho * Wo == 1);
  if (kh == 1 && kw == 1 && p->pad_h == 0 && p->pad_w == 0 && !one_pixel) {
    pointwise(p, q, in, in_data, ci_full, filter_data, bias, out, out_data);
    return REDS_OK;
  }
#ifdef REDS_KERNELS_DSP
  if (!one_pixel && reds_conv2d_s8_dsp(p, q, in, in_data, filt, filter_data, bias, out, out_data))
    return REDS_OK;
#endif
  if (!one_pixel && ci == ci_full && (int64_t)kh * kw * ci <= PATCH_MAX &&
      (IM2COL_ANY_DEPTH || ci <= 3)) {
    conv_im2col(p, q, in, in_data, filt, filter_data, bias, out, out_data);
    return REDS_OK;
  }
  const int32_t w_per_out = kh * kw * ci_full;
  const int contiguous = (ci == ci_full); /* a kernel row of kw taps is one contiguous run */
  const int32_t in_off = p->input_offset;
  const int32_t out_off = p->output_offset, lo = p->act.act_min, hi = p->act.act_max;
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
        for (int32_t oc = 0; oc < co; oc += 4) { /* four output channels share each input load */
          const int32_t nc = (co - oc) < 4 ? (co - oc) : 4;
          const int8_t *wo = filter_data + (size_t)oc * w_per_out;
          int32_t acc[4] = {0, 0, 0, 0};
          if (nc == 4) {
            for (int32_t ky = ky0; ky < ky1; ++ky) {
              const int8_t *xr = img + ((size_t)(y0 + ky) * W + (x0 + kx0)) * ci;
              const int8_t *wr = wo + ((size_t)ky * kw + kx0) * ci_full;
              if (contiguous) {
                if (run > 0) reds_dot4_s8(xr, wr, w_per_out, run * ci, in_off, acc);
              } else {
                for (int32_t kx = 0; kx < run; ++kx)
                  reds_dot4_s8(xr + (size_t)kx * ci, wr + (size_t)kx * ci_full, w_per_out, ci,
                               in_off, acc);
              }
            }
          } else {
            for (int32_t j = 0; j < nc; ++j) {
              const int8_t *wj = wo + (size_t)j * w_per_out;
              for (int32_t ky = ky0; ky < ky1; ++ky) {
                const int8_t *xr = img + ((size_t)(y0 + ky) * W + (x0 + kx0)) * ci;
                const int8_t *wr = wj + ((size_t)ky * kw + kx0) * ci_full;
                if (contiguous) {
                  if (run > 0) acc[j] += reds_dot_s8(xr, wr, run * ci, in_off);
                } else {
                  for (int32_t kx = 0; kx < run; ++kx)
                    acc[j] +=
                        reds_dot_s8(xr + (size_t)kx * ci, wr + (size_t)kx * ci_full, ci, in_off);
                }
              }
            }
          }
          for (int32_t j = 0; j < nc; ++j) {
            int32_t a = acc[j];
            if (bias != NULL) a = reds_add_wrap(a, bias[oc + j]);
            o[oc + j] = reds_finish_s8(a, q->multiplier[oc + j], q->shift[oc + j], out_off, lo, hi);
          }
        }
      }
    }
  }
  return REDS_OK;
}

/* ------------------------------------------------------------------ op table entry (reds_ops.h) */

static reds_status_t conv_options(reds_ctx_t *ctx, uint32_t oi, const reds_fb_t *fb,
                                  const reds_fb_table_t *opt) {
  reds_op_rec_t *op = &ctx->ops[oi];
  int32_t dil_w = 1, dil_h = 1;
  REDS_OPT_U8(0, &op->padding, 0);
  REDS_OPT_I32(1, &op->stride_w, 0);
  REDS_OPT_I32(2, &op->stride_h, 0);
  REDS_OPT_U8(3, &op->fused, 0);
  REDS_OPT_I32(4, &dil_w, 1);
  REDS_OPT_I32(5, &dil_h, 1);
  if (dil_w != 1 || dil_h != 1)
    return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, op->code, "dilation other than 1");
  return REDS_OK;
}

static reds_status_t conv_prepare(reds_ctx_t *ctx, uint32_t oi) {
  return reds_prepare_conv(ctx, oi, 0);
}

static reds_status_t conv_check(reds_ctx_t *ctx, uint32_t oi, const uint32_t *ad, uint32_t k,
                                uint64_t *macs) {
  const reds_op_rec_t *op = &ctx->ops[oi];
  reds_dims_t di, dout;
  (void)k;
  TRY(reds_check_channel_axis(ctx, oi));
  reds_dims4(ctx, ad, op->in[0], &di);
  reds_dims4(ctx, ad, op->out, &dout);
  const int32_t *fd = ctx->tensors[op->in[1]].dims;
  *macs += (uint64_t)dout.h * dout.w * fd[1] * fd[2] * (uint64_t)di.c * dout.c;
  return REDS_OK;
}

static reds_status_t conv_eval(reds_ctx_t *ctx, const reds_op_rec_t *op) {
  reds_conv_args_t a;
  reds_conv_args(ctx, op, &a);
  return reds_conv2d_s8(&a.p, &a.q, &a.in, a.x, &a.filt, a.w, a.bias, &a.out, a.y);
}

const reds_op_kernel_t reds_op_conv2d = {
    .options_type = REDS_OPTIONS_CONV_2D,
    .options = conv_options,
    .prepare = conv_prepare,
    .check = conv_check,
    .eval = conv_eval,
    .per_channel_quant = 1,
};

/* SPDX-License-Identifier: Apache-2.0
 * CONV_2D int8 with width slicing (docs in reds_kernels.h).
 *
 * 1x1 without padding (pointwise: the dominant op of DS-CNN / MobileNet) is a GEMM
 * out[pixel][o] = sum_i x[pixel][i] * w[o][i]: output channels in pairs (outer loop) and pixels
 * in pairs (inner loop), the 2x2 micro-kernel reds_mac2x2_s8 reusing every load twice. The input
 * offset is folded into the accumulator's start value, bias[o] + in_off * sum_i w[o][i]
 * (exact integer identity sum (x + off) w = sum x w + off sum w), so the inner loop has no
 * offset arithmetic. Other shapes: per output pixel, four output channels share each input
 * load (reds_dot4_s8), the input offset added per element (padding taps are skipped, as TFLM).
 * Accumulator: |sum| <= 255 * 128 * kh*kw*Ci < 2^31 (loader bound); the folded form computes
 * the same value modulo 2^32 (wrap-around), hence the same int32. */
#include <stddef.h>
#include <stdint.h>

#include "reds_kernels.h"
#include "reds_quant.h"
#include "reds_dot.h"

/* One row of pixels for the pointwise GEMM: n pixels at x + j * xstep, outputs at o + j * co. */
typedef struct {
  const int8_t *x;
  int32_t xstep, n;
  int8_t *o;
} pw_row_t;

static void pointwise_rows(const reds_conv_params_t *p, const reds_channel_quant_t *q,
                           const pw_row_t *rows, int32_t nrows, int32_t ci, int32_t ci_full,
                           const int8_t *filter_data, const int32_t *bias, int32_t co) {
  const int32_t out_off = p->output_offset, lo = p->act.act_min, hi = p->act.act_max;
  for (int32_t oc = 0; oc < co; oc += 2) {
    const int32_t oc1 = (oc + 1 < co) ? oc + 1 : oc; /* odd count: the last pair repeats oc */
    const int8_t *w0 = filter_data + (size_t)oc * ci_full;
    const int8_t *w1 = filter_data + (size_t)oc1 * ci_full;
    int32_t base0 = (int32_t)((uint32_t)p->input_offset * (uint32_t)reds_sum_s8(w0, ci));
    int32_t base1 = (int32_t)((uint32_t)p->input_offset * (uint32_t)reds_sum_s8(w1, ci));
    if (bias != NULL) {
      base0 = reds_add_wrap(base0, bias[oc]);
      base1 = reds_add_wrap(base1, bias[oc1]);
    }
    const int32_t m0 = q->multiplier[oc], m1 = q->multiplier[oc1];
    const int s0 = q->shift[oc], s1 = q->shift[oc1];
    for (int32_t r = 0; r < nrows; ++r) {
      const int8_t *x = rows[r].x;
      const int32_t xstep = rows[r].xstep, n = rows[r].n;
      int8_t *o = rows[r].o + oc;
      for (int32_t j = 0; j < n; j += 2) {
        const int two = (j + 1 < n);
        const int8_t *xa = x + (size_t)j * xstep;
        const int8_t *xb = two ? xa + xstep : xa; /* odd count: the last pair repeats pixel j */
        int32_t acc[4] = {base0, base1, base0, base1};
        reds_mac2x2_s8(xa, xb, w0, w1, ci, acc);
        int8_t *oa = o + (size_t)j * co;
        oa[0] = reds_finish_s8(acc[0], m0, s0, out_off, lo, hi);
        if (oc1 != oc) oa[1] = reds_finish_s8(acc[1], m1, s1, out_off, lo, hi);
        if (two) {
          oa[co] = reds_finish_s8(acc[2], m0, s0, out_off, lo, hi);
          if (oc1 != oc) oa[co + 1] = reds_finish_s8(acc[3], m1, s1, out_off, lo, hi);
        }
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
    const pw_row_t row = {in_data, ci, in->n * in->h * in->w, out_data};
    pointwise_rows(p, q, &row, 1, ci, ci_full, filter_data, bias, co);
    return;
  }
  enum { BATCH = 16 }; /* rows per call: bounded stack, weights reused across 16 rows */
  pw_row_t rows[BATCH];
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

reds_status_t reds_conv2d_s8(const reds_conv_params_t *p, const reds_channel_quant_t *q,
                             const reds_dims_t *in, const int8_t *in_data,
                             const reds_dims_t *filt, const int8_t *filter_data,
                             const int32_t *bias, const reds_dims_t *out, int8_t *out_data) {
  const int32_t H = in->h, W = in->w, ci = in->c;
  const int32_t kh = filt->h, kw = filt->w, ci_full = filt->c;
  const int32_t Ho = out->h, Wo = out->w, co = out->c;
  if (kh == 1 && kw == 1 && p->pad_h == 0 && p->pad_w == 0) {
    pointwise(p, q, in, in_data, ci_full, filter_data, bias, out, out_data);
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
                  reds_dot4_s8(xr + (size_t)kx * ci, wr + (size_t)kx * ci_full, w_per_out, ci, in_off, acc);
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
                    acc[j] += reds_dot_s8(xr + (size_t)kx * ci, wr + (size_t)kx * ci_full, ci, in_off);
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

size_t reds_conv2d_s8_scratch_size(void) { return 0; }

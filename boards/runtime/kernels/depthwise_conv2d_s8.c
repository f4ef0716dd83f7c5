/* SPDX-License-Identifier: Apache-2.0
 * DEPTHWISE_CONV_2D int8, depth multiplier 1, with width slicing (docs in reds_kernels.h).
 *
 * Channels in blocks of four (outer loop): the block's bias, requantization constants
 * (reds_rq_init) and in_off * sum of its kh*kw weights are set up once, then every output
 * pixel accumulates the four channels in registers (one 32-bit load of input and of weights
 * per tap; SXTB16 + SMLABB / SMLATT on the DSP path) and stores them as one clamped word
 * (reds_pack4_s8).
 *  - interior pixels (window inside the image): no bounds checks, the input offset folded into
 *    the start value base = bias + in_off * sum w (exact: sum (x + off) w = sum x w + off sum w);
 *    3x3 gets constant trip counts.
 *  - border pixels: only the in-image taps, the offset added per tap (SADD16), as TFLM skips
 *    padding taps.
 * The remaining 1-3 channels run one at a time.
 * Accumulator: |sum| <= 255 * 128 * kh*kw < 2^31 (loader bound); the folded form equals it
 * modulo 2^32 (wrap-around), hence the same int32. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "reds_kernels.h"
#include "reds_quant.h"
#include "reds_dot.h"

#if defined(REDS_USE_DSP) && defined(__ARM_FEATURE_DSP)
/* acc[j] += x[j] * w[j], j < 4, no offset (interior taps). */
#define DW_TAP(xp, wp, a0, a1, a2, a3)                                      \
  do {                                                                      \
    uint32_t xv_, wv_;                                                      \
    memcpy(&xv_, (xp), 4);                                                  \
    memcpy(&wv_, (wp), 4);                                                  \
    const uint32_t x02_ = reds_sxtb16(xv_), x13_ = reds_sxtb16_ror8(xv_);   \
    const uint32_t w02_ = reds_sxtb16(wv_), w13_ = reds_sxtb16_ror8(wv_);   \
    a0 = reds_smlabb(x02_, w02_, a0);                                       \
    a2 = reds_smlatt(x02_, w02_, a2);                                       \
    a1 = reds_smlabb(x13_, w13_, a1);                                       \
    a3 = reds_smlatt(x13_, w13_, a3);                                       \
  } while (0)
typedef uint32_t acc_t;
/* Weights pre-expanded per 4-channel block (SXTB16 once per block, not per pixel): tap t is
 * wx[2t] = {w0, w2}, wx[2t + 1] = {w1, w3}. The tap then costs LDR + 2 SXTB16 + LDRD + 4 SMLAxy;
 * off2 (border taps) adds the input offset to the expanded input with SADD16. */
#define DW_WX 1
enum { DW_KMAX = 25 }; /* taps per window with pre-expanded weights (up to 5x5) */
#define DWX_TAP(xp, wq, a0, a1, a2, a3)                                     \
  do {                                                                      \
    uint32_t xv_;                                                           \
    memcpy(&xv_, (xp), 4);                                                  \
    const uint32_t x02_ = reds_sxtb16(xv_), x13_ = reds_sxtb16_ror8(xv_);   \
    a0 = reds_smlabb(x02_, (wq)[0], a0);                                    \
    a2 = reds_smlatt(x02_, (wq)[0], a2);                                    \
    a1 = reds_smlabb(x13_, (wq)[1], a1);                                    \
    a3 = reds_smlatt(x13_, (wq)[1], a3);                                    \
  } while (0)
#define DWX_TAP_OFF(xp, wq, off2, a0, a1, a2, a3)                           \
  do {                                                                      \
    uint32_t xv_;                                                           \
    memcpy(&xv_, (xp), 4);                                                  \
    const uint32_t x02_ = reds_sadd16(reds_sxtb16(xv_), off2);              \
    const uint32_t x13_ = reds_sadd16(reds_sxtb16_ror8(xv_), off2);         \
    a0 = reds_smlabb(x02_, (wq)[0], a0);                                    \
    a2 = reds_smlatt(x02_, (wq)[0], a2);                                    \
    a1 = reds_smlabb(x13_, (wq)[1], a1);                                    \
    a3 = reds_smlatt(x13_, (wq)[1], a3);                                    \
  } while (0)

/* Interior window, pre-expanded weights. */
static inline void dwx_window4(const int8_t *x, const uint32_t *wq, size_t xrow, int32_t C,
                               int32_t kh, int32_t kw, acc_t acc[4]) {
  acc_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
  for (int32_t ky = 0; ky < kh; ++ky, x += xrow) {
    const int8_t *xp = x;
    for (int32_t kx = 0; kx < kw; ++kx, xp += C, wq += 2) DWX_TAP(xp, wq, a0, a1, a2, a3);
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}
/* 3x3 interior window as one asm block (GCC would hoist all 18 loads and spill): per tap LDR
 * of 4 input channels ([xp], [xp + C], [xp + 2C]), LDRD of the expanded weights, 2 SXTB16,
 * 4 SMLAxy; 74 instructions for 36 MACs. */
#define DWX_T(xaddr, off)                              \
  "ldr    %[t0], " xaddr "\n\t"                        \
  "ldrd   %[w0], %[w1], [%[wq], #" off "]\n\t"         \
  "sxtb16 %[t1], %[t0]\n\t"                            \
  "sxtb16 %[t0], %[t0], ror #8\n\t"                    \
  "smlabb %[a0], %[t1], %[w0], %[a0]\n\t"              \
  "smlatt %[a2], %[t1], %[w0], %[a2]\n\t"              \
  "smlabb %[a1], %[t0], %[w1], %[a1]\n\t"              \
  "smlatt %[a3], %[t0], %[w1], %[a3]\n\t"
#define DWX_ROW(o0, o1, o2) \
  DWX_T("[%[xp]]", o0) DWX_T("[%[xp], %[c]]", o1) DWX_T("[%[xp], %[c], lsl #1]", o2)
static inline void dwx_window3x3(const int8_t *x, const uint32_t *wq, size_t xrow, int32_t C,
                                 acc_t acc[4]) {
  acc_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
  uint32_t t0, t1, w0, w1;
  __asm__ volatile(DWX_ROW("0", "8", "16")
                   "add    %[xp], %[xp], %[xr]\n\t"
                   DWX_ROW("24", "32", "40")
                   "add    %[xp], %[xp], %[xr]\n\t"
                   DWX_ROW("48", "56", "64")
                   : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [xp] "+r"(x),
                     [t0] "=&r"(t0), [t1] "=&r"(t1), [w0] "=&r"(w0), [w1] "=&r"(w1)
                   : [wq] "r"(wq), [c] "r"(C), [xr] "r"(xrow)
                   : "memory");
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}
#else
#define DW_TAP(xp, wp, a0, a1, a2, a3)                                      \
  do {                                                                      \
    const int8_t *x_ = (xp), *w_ = (wp);                                    \
    a0 += (uint32_t)(x_[0] * w_[0]);                                        \
    a1 += (uint32_t)(x_[1] * w_[1]);                                        \
    a2 += (uint32_t)(x_[2] * w_[2]);                                        \
    a3 += (uint32_t)(x_[3] * w_[3]);                                        \
  } while (0)
typedef uint32_t acc_t;
#endif

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
#ifdef DW_WX
    uint32_t wx[2 * DW_KMAX];
    const int use_wx = (kh * kw <= DW_KMAX);
    if (use_wx) {
      for (int32_t t = 0; t < kh * kw; ++t) {
        uint32_t wv;
        memcpy(&wv, wc + (size_t)t * c_full, 4);
        wx[2 * t] = reds_sxtb16(wv);
        wx[2 * t + 1] = reds_sxtb16_ror8(wv);
      }
    }
#endif
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
#ifdef DW_WX
            if (use_wx) {
              if (is3x3) dwx_window3x3(x, wx, xrow, C, acc);
              else dwx_window4(x, wx, xrow, C, kh, kw, acc);
            } else
#endif
            if (is3x3) dw_window4(x, wc, xrow, C, c_full, 3, 3, acc); /* constant trip counts */
            else dw_window4(x, wc, xrow, C, c_full, kh, kw, acc);
#ifdef DW_WX
          } else if (use_wx) {
            const int32_t kx0 = x0 < 0 ? -x0 : 0;
            const int32_t kx1 = (W - x0) < kw ? (W - x0) : kw;
            acc_t a0 = (acc_t)bias4[0], a1 = (acc_t)bias4[1], a2 = (acc_t)bias4[2], a3 = (acc_t)bias4[3];
            const int8_t *xr = img + ((size_t)(y0 + ky0) * W + (x0 + kx0)) * C;
            const uint32_t *wr = wx + 2 * (ky0 * kw + kx0);
            for (int32_t ky = ky0; ky < ky1; ++ky, xr += xrow, wr += 2 * kw) {
              const int8_t *xp = xr;
              const uint32_t *wq = wr;
              for (int32_t kx = kx0; kx < kx1; ++kx, xp += C, wq += 2)
                DWX_TAP_OFF(xp, wq, off2, a0, a1, a2, a3);
            }
            acc[0] = a0;
            acc[1] = a1;
            acc[2] = a2;
            acc[3] = a3;
#endif
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
            v = reds_pack4_s8(reds_rqf((int32_t)acc[0], &rqf[0]), reds_rqf((int32_t)acc[1], &rqf[1]),
                              reds_rqf((int32_t)acc[2], &rqf[2]), reds_rqf((int32_t)acc[3], &rqf[3]),
                              lo4, hi4);
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
            for (int32_t kx = kx0; kx < kx1; ++kx, xp += C, wp += c_full) acc += (*xp + in_off) * *wp;
          }
          *o = reds_rq_finish(reds_add_wrap(acc, bc), &rq, out_off, lo, hi);
        }
      }
    }
  }
  return REDS_OK;
}

size_t reds_depthwise_conv2d_s8_scratch_size(void) { return 0; }

/* SPDX-License-Identifier: Apache-2.0
 * DEPTHWISE_CONV_2D int8, the DSP path (REDS_USE_DSP on Armv7E-M: Cortex-M4 / M7 / M33), kept
 * apart from the portable kernel in depthwise_conv2d_s8.c, which calls it first and falls back
 * to the portable code for shapes it does not take. Same results bit for bit (tests/c/runtime
 * compare both against tflite_micro; build without -DREDS_USE_DSP for the reference path).
 * Inline assembly reads struct fields through offsetof / sizeof operands ("i"), never literal
 * offsets. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "reds_kernels.h"
#include "reds_quant.h"
#include "reds_dot.h"
#include "reds_kernels_dsp.h"

#if defined(REDS_USE_DSP) && defined(__ARM_FEATURE_DSP)

/* ---- DSP path: the channel block's input pre-expanded into a ring of padded rows ----
 * Per 4-channel block, every input row the windows touch is sign-extended once into int16
 * pairs ({x0, x2}, {x1, x3} per pixel, 8 bytes) and padded left / right / above / below with
 * the input zero point zp = -in_off. A padding tap then adds zp * w = -in_off * w, which
 * cancels the in_off * w folded into the start value base = bias + in_off * sum w: the sum
 * equals TFLM's, which skips padding taps. So interior and border pixels run the same
 * branch-free window: per tap LDRD (input) + LDRD (weights) + 4 SMLAxy, 1.5 instructions per
 * MAC. The ring holds kh rows (slot = row mod kh; the kh rows of a window are consecutive, so
 * they never share a slot), each input row is expanded once per block for any stride. A tail
 * block (1-3 channels) loads only its bytes and has zero weights in the unused lanes. */
enum {
  DW_KMAX = 25,        /* taps per window (up to 5x5) */
  DW_RING_BYTES = 3072 /* kh * (padded row width) * 8 bytes: 3x3 up to ~125 columns */
};

/* Constants of one 4-channel block, at the offsets the 3x3 asm reads them. */
typedef struct {
  int32_t base[4];          /*  0: bias + in_off * sum of the block's kh*kw weights */
  reds_rqf_t rqf[4];        /* 16: {m, c1, sh} per channel (12 bytes each) */
  uint32_t lo4, hi4;        /* 64: activation bounds in four bytes */
  uint32_t out_step;        /* 72: bytes between output pixels (C) */
  uint32_t row_bytes;       /* 76: bytes between ring rows */
  uint32_t win_step;        /* 80: bytes between windows (8 * stride_w) */
  uint32_t unused;          /* 84 */
  uint32_t wx[2 * DW_KMAX]; /* 88: tap t: {w0, w2}, {w1, w3} sign-extended */
} dw_block_t;
REDS_STATIC_ASSERT(dw_block_layout, offsetof(dw_block_t, rqf) == 16 && sizeof(reds_rqf_t) == 12 &&
                                        offsetof(dw_block_t, lo4) == 64 &&
                                        offsetof(dw_block_t, wx) == 88);

/* clang-format off: hand-laid assembly (one instruction per line) */
/* One tap: input pair at [row + xo], weights at [k + wo]. */
#define DWR_T(row, xo, wo)                                                                         \
  "ldrd   %[x0], %[x1], [%[" row "], #" xo "]\n\t"                                                 \
  "ldrd   %[w0], %[w1], [%[k], #(%c[o_wx]+" wo ")]\n\t"                                            \
  "smlabb %[a0], %[x0], %[w0], %[a0]\n\t"                                                          \
  "smlatt %[a2], %[x0], %[w0], %[a2]\n\t"                                                          \
  "smlabb %[a1], %[x1], %[w1], %[a1]\n\t"                                                          \
  "smlatt %[a3], %[x1], %[w1], %[a3]\n\t"
/* reds_rqf of channel j in place, the constant c1 folded into the 64-bit start value (t holds
 * 2^30): {hi, lo} = {c1 - [a < 0], 2^30 - [a < 0] * 2^31} = c1 * 2^32 + (a < 0 ? -2^30 : 2^30),
 * then SMLAL adds a*m and a = hi >> sh, the same value as reds_rqf. */
#define DWR_RQF(a, j)                                                                              \
  "ldrd   %[w0], %[w1], [%[k], #(%c[o_rqf]+%c[rqf_size]*" j ")]\n\t"                               \
  "asr    %[x1], %[" a "], #31\n\t"                                                                \
  "add    %[x0], %[t], %[x1], lsl #31\n\t"                                                         \
  "add    %[x1], %[x1], %[w1]\n\t"                                                                 \
  "smlal  %[x0], %[x1], %[" a "], %[w0]\n\t"                                                       \
  "ldr    %[w0], [%[k], #(%c[o_rqf]+%c[rqf_size]*" j "+%c[o_sh])]\n\t"                             \
  "asr    %[" a "], %[x1], %[w0]\n\t"

/* One output row of 3x3 windows for a full 4-channel block, as one register-resident asm loop:
 * r = the first window's top-left pixel in the ring (rows k->row_bytes apart), n >= 1 windows
 * k->win_step bytes apart, outputs k->out_step bytes apart from o. Per window: start values,
 * 9 taps (54), requantize (28), saturate + pack + clamp (12), store and loop (~10): ~110
 * instructions for 36 MACs. */
static void dw_row3x3(const dw_block_t *k, const uint32_t *r, int32_t n, int8_t *o) {
  uint32_t a0, a1, a2, a3, x0, x1, w0, w1;
  const uint32_t *t;
  __asm__ volatile(
      "1:\n\t"
      "ldrd   %[a0], %[a1], [%[k], #%c[o_base]]\n\t"
      "ldrd   %[a2], %[a3], [%[k], #(%c[o_base]+8)]\n\t" DWR_T("r", "0", "0") DWR_T("r", "8", "8")
          DWR_T("r", "16",
                "16") "ldr    %[w0], [%[k], #%c[o_row_bytes]]\n\t"
                      "add    %[t], %[r], %[w0]\n\t" DWR_T("t", "0", "24") DWR_T("t", "8", "32")
                          DWR_T(
                              "t", "16",
                              "40") "ldr    %[w0], [%[k], #%c[o_row_bytes]]\n\t"
                                    "add    %[t], %[t], %[w0]\n\t" DWR_T("t", "0", "48")
                                        DWR_T("t", "8", "56") DWR_T(
                                            "t", "16",
                                            "64") "mov    %[t], #0x40000000\n\t" DWR_RQF("a0", "0")
                                            DWR_RQF("a1", "1") DWR_RQF("a2", "2") DWR_RQF("a3", "3")
      /* saturate to int8, four lanes into a0 (the BFIs overwrite a0's upper bits) */
      "ssat   %[a0], #8, %[a0]\n\t"
      "ssat   %[a1], #8, %[a1]\n\t"
      "ssat   %[a2], #8, %[a2]\n\t"
      "ssat   %[a3], #8, %[a3]\n\t"
      "bfi    %[a0], %[a1], #8, #8\n\t"
      "bfi    %[a0], %[a2], #16, #8\n\t"
      "bfi    %[a0], %[a3], #24, #8\n\t"
      /* clamp to [lo, hi] in all four lanes */
      "ldrd   %[w0], %[w1], [%[k], #%c[o_lo4]]\n\t"
      "ssub8  %[x0], %[a0], %[w0]\n\t"
      "sel    %[a0], %[a0], %[w0]\n\t"
      "ssub8  %[x0], %[w1], %[a0]\n\t"
      "sel    %[a0], %[a0], %[w1]\n\t"
      "str    %[a0], [%[o]]\n\t"
      "ldrd   %[w0], %[w1], [%[k], #%c[o_out_step]]\n\t"
      "add    %[o], %[o], %[w0]\n\t"
      "ldr    %[w0], [%[k], #%c[o_win_step]]\n\t"
      "add    %[r], %[r], %[w0]\n\t"
      "subs   %[n], %[n], #1\n\t"
      "bne    1b"
      : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [x0] "=&r"(x0),
        [x1] "=&r"(x1), [w0] "=&r"(w0), [w1] "=&r"(w1), [t] "=&r"(t), [r] "+r"(r), [n] "+r"(n),
        [o] "+r"(o)
      : [k] "r"(k), [o_base] "i"(offsetof(dw_block_t, base)),
        [o_rqf] "i"(offsetof(dw_block_t, rqf)), [rqf_size] "i"(sizeof(reds_rqf_t)),
        [o_sh] "i"(offsetof(reds_rqf_t, sh)), [o_lo4] "i"(offsetof(dw_block_t, lo4)),
        [o_out_step] "i"(offsetof(dw_block_t, out_step)),
        [o_row_bytes] "i"(offsetof(dw_block_t, row_bytes)),
        [o_win_step] "i"(offsetof(dw_block_t, win_step)), [o_wx] "i"(offsetof(dw_block_t, wx))
      : "cc", "memory");
}

/* clang-format on */

/* Any kh x kw window over the ring rows rp[ky] (at the window's first column). */
static inline uint32_t dw_px(const dw_block_t *k, const uint32_t *const *rp, int32_t kh,
                             int32_t kw) {
  acc_t a0 = (acc_t)k->base[0], a1 = (acc_t)k->base[1], a2 = (acc_t)k->base[2],
        a3 = (acc_t)k->base[3];
  const uint32_t *wq = k->wx;
  for (int32_t ky = 0; ky < kh; ++ky) {
    const uint32_t *xp = rp[ky];
    for (int32_t kx = 0; kx < kw; ++kx, xp += 2, wq += 2) {
      a0 = reds_smlabb(xp[0], wq[0], a0);
      a2 = reds_smlatt(xp[0], wq[0], a2);
      a1 = reds_smlabb(xp[1], wq[1], a1);
      a3 = reds_smlatt(xp[1], wq[1], a3);
    }
  }
  return reds_pack4_s8(reds_rqf((int32_t)a0, &k->rqf[0]), reds_rqf((int32_t)a1, &k->rqf[1]),
                       reds_rqf((int32_t)a2, &k->rqf[2]), reds_rqf((int32_t)a3, &k->rqf[3]), k->lo4,
                       k->hi4);
}

/* Where the padded rows of a block go: padded row r (input row r + y_first) into ring slot
 * r % nslots, columns x_lo .. x_lo + L - 1 (8 bytes each). */
typedef struct {
  int32_t H, W, C, y_first, x_lo, L, nslots, nrows; /* nrows: padded rows the windows read */
  size_t slot_words;
  uint32_t zp2; /* the input zero point, sign-extended into both halves */
  uint32_t *ring;
} dw_rows_t;

/* The padded columns holding image columns: i0 .. i1 - 1 of a ring row. */
static inline void dw_image_cols(const dw_rows_t *g, int32_t *i0, int32_t *i1) {
  *i0 = g->x_lo < 0 ? -g->x_lo : 0;
  *i1 = (g->W - g->x_lo) < g->L ? (g->W - g->x_lo) : g->L;
}

/* Padded row r's slot, or NULL if r is outside the image: its slot then holds zp (refilled when
 * the ring is smaller than the padded image, since the slot may hold an image row of an earlier
 * block; in whole-image mode it only ever holds this padding row, filled at the start). */
static inline uint32_t *dw_image_slot(const dw_rows_t *g, int32_t r, int32_t slot) {
  uint32_t *dst = g->ring + (size_t)slot * g->slot_words;
  const int32_t y = r + g->y_first;
  if (y >= 0 && y < g->H) return dst;
  if (g->nslots < g->nrows)
    for (size_t i = 0; i < g->slot_words; ++i) dst[i] = g->zp2;
  return NULL;
}

/* Padded rows r_begin .. r_end - 1 of the block (channels c .. c + n - 1: img points at
 * channel c) into their slots. The caller fills the ring with zp once per call: in-image rows
 * write only their image columns (the padding columns of every slot stay zp); rows outside the
 * image: dw_image_slot. */
#if defined(__GNUC__)
__attribute__((noinline)) /* inlined, its loops share dw_ring's registers and spill */
#endif
static void
dw_expand_rows(const dw_rows_t *g, const int8_t *img, int32_t n, int32_t r_begin, int32_t r_end) {
  const int32_t C = g->C;
  int32_t i0, i1;
  dw_image_cols(g, &i0, &i1);
  int32_t slot = r_begin % g->nslots;
  for (int32_t r = r_begin; r < r_end; ++r, slot = (slot + 1 == g->nslots) ? 0 : slot + 1) {
    uint32_t *dst = dw_image_slot(g, r, slot);
    if (dst == NULL) continue;
    const int8_t *src = img + ((size_t)(r + g->y_first) * g->W + (g->x_lo + i0)) * C;
    uint32_t *d = dst + 2 * i0, *end = dst + 2 * i1;
    if (n == 4) {
      for (; d < end; src += C, d += 2) {
        uint32_t v;
        memcpy(&v, src, 4);
        d[0] = reds_sxtb16(v);
        d[1] = reds_sxtb16_ror8(v);
      }
    } else {
      for (; d < end; src += C, d += 2) {
        uint32_t v = 0;
        memcpy(&v, src, (size_t)n); /* the unused lanes stay 0 (their weights are 0) */
        d[0] = reds_sxtb16(v);
        d[1] = reds_sxtb16_ror8(v);
      }
    }
  }
}

/* The block's weights (zero in unused lanes), start values and requantization constants. */
static void dw_block_init(dw_block_t *k, const reds_conv_params_t *p, const reds_channel_quant_t *q,
                          const int8_t *filter_data, int32_t c_full, int32_t ntaps,
                          const int32_t *bias, int32_t c, int32_t n) {
  /* weight sums per lane in int16 halves (|sum| <= 25 * 128): SADD16 of the expanded taps */
  uint32_t s02 = 0, s13 = 0;
  const int8_t *w = filter_data + c;
  for (int32_t t = 0; t < ntaps; ++t, w += c_full) {
    uint32_t v = 0;
    if (n == 4)
      memcpy(&v, w, 4);
    else
      memcpy(&v, w, (size_t)n); /* the unused lanes stay 0 */
    const uint32_t x02 = reds_sxtb16(v), x13 = reds_sxtb16_ror8(v);
    k->wx[2 * t] = x02;
    k->wx[2 * t + 1] = x13;
    s02 = reds_sadd16(s02, x02);
    s13 = reds_sadd16(s13, x13);
  }
  const int32_t wsum[4] = {(int16_t)(s02 & 0xffffu), (int16_t)(s13 & 0xffffu), (int16_t)(s02 >> 16),
                           (int16_t)(s13 >> 16)};
  for (int32_t j = 0; j < 4; ++j) {
    const int32_t cj = j < n ? c + j : c; /* unused lanes: any valid constants */
    const int32_t b = (bias != NULL && j < n) ? bias[cj] : 0;
    k->base[j] = reds_add_wrap(b, (int32_t)((uint32_t)p->input_offset * (uint32_t)wsum[j]));
    reds_rqf_init(&k->rqf[j], q->multiplier[cj], q->shift[cj], p->output_offset);
  }
}

/* ---- 3x3 stride-1 full blocks: pair layout, 2 windows x 2 channels per register tile ----
 * Per ring row and even padded column 2e, four words E[e][j] = {c_j[2e], c_j[2e+1]} (int16
 * halves, channel j = 0..3; the padded row width is made even). Windows A at even column x0 and
 * B at x0 + 1 take, per row and channel, P0 = {x0, x1}, P2 = {x2, x3} and the weight words
 * Wa = {w0, w1}, Wb = {w1, w2}:
 *   A += SMLAD(P0, Wa) + SMLABT(P2, Wb)   (x0 w0 + x1 w1, x2 w2)
 *   B += SMLATB(P0, Wa) + SMLAD(P2, Wb)   (x1 w0, x2 w1 + x3 w2)
 * 4 MAC instructions for 6 MACs. Weights and start values are stored doubled, so the tile holds
 * A = 2a (exact: the layer check keeps |a| < 2^29) and requantizes in 3 instructions,
 * SMMLAR(A, m, 2*c1 + (A >> 31)) >> e (the identity above GX_RQ in conv2d_s8_dsp.c). */
typedef struct {
  int32_t base2[4];    /*  0: 2 * (bias + in_off * sum w) */
  int32_t rq[4][3];    /* 16: per channel {m, 2*c1, e = sh + 1} */
  uint32_t lo4, hi4;   /* 64 */
  uint32_t o_step;     /* 72: 2 * C (output bytes per window pair) */
  uint32_t d1, d2;     /* 76, 80: bytes from ring row 0 to row 1, row 1 to row 2 */
  uint32_t boff[2];    /* 84, 88: window B's output relative to A's (C, C + 2; a scratch word
                          for the last window of an odd row) */
  uint32_t o_end;      /* 92: o after the last window pair of the call */
  uint32_t w[4][3][2]; /* 96: channel j, row ky: {2w0, 2w1}, {2w1, 2w2} */
  uint32_t rows_left;  /* 192: output rows the call still runs (the current one included) */
  uint32_t o_row;      /* 196: output bytes per row (Wo * C) */
  uint32_t o_fix;      /* 200: o at a row's end -> next row's start (Wo * C - pairs * 2C) */
  uint32_t r_skip;     /* 204: r at a row's end -> next ring row's start */
} dw_pair_t;
/* The asm takes offsets as operands; it relies only on base2 first, lo4 / hi4, boff[0] / boff[1]
 * and o_fix / r_skip adjacent (LDRD pairs). */
REDS_STATIC_ASSERT(dw_pair_layout,
                   offsetof(dw_pair_t, base2) == 0 &&
                       offsetof(dw_pair_t, hi4) == offsetof(dw_pair_t, lo4) + 4 &&
                       offsetof(dw_pair_t, r_skip) == offsetof(dw_pair_t, o_fix) + 4);

/* clang-format off: hand-laid assembly (one instruction per line) */
/* One row of channel j: its P0 / P2 words in P0 / P2, its weights {Wa, Wb} at [k + wo]. */
#define DWP_CH(P0, P2, wo, A, B)                                                                   \
  "ldrd   %[w0], %[w1], [%[k], #(" wo ")]\n\t"                                                     \
  "smlad  %[" A "], %[" P0 "], %[w0], %[" A "]\n\t"                                                \
  "smlabt %[" A "], %[" P2 "], %[w1], %[" A "]\n\t"                                                \
  "smlatb %[" B "], %[" P0 "], %[w0], %[" B "]\n\t"                                                \
  "smlad  %[" B "], %[" P2 "], %[w1], %[" B "]\n\t"
/* Row ky of half h (channels 2h, 2h + 1 at ring row r): LDRD the two channels' P0, P2. */
#define DWP_ROW(h, ky)                                                                             \
  "ldrd   %[p0], %[p1], [%[r], #(8*" h ")]\n\t"                                                    \
  "ldrd   %[q0], %[q1], [%[r], #(8*" h                                                             \
  "+16)]\n\t" DWP_CH("p0", "q0", "%c[o_w]+%c[w_row]*(3*(2*" h ")+" ky ")", "A0", "B0")             \
      DWP_CH("p1", "q1", "%c[o_w]+%c[w_row]*(3*(2*" h "+1)+" ky ")", "A1", "B1")
/* Requantize A and B of channel j (constants at [k + 16 + 12 j]). */
#define DWP_RQ(j, A, B)                                                                            \
  "ldrd   %[w0], %[w1], [%[k], #(%c[o_rq]+%c[rq_size]*(" j "))]\n\t"                               \
  "ldr    %[p0], [%[k], #(%c[o_rq]+%c[rq_size]*(" j ")+%c[rq_e])]\n\t"                             \
  "add    %[p1], %[w1], %[" A "], asr #31\n\t"                                                     \
  "smmlar %[" A "], %[" A "], %[w0], %[p1]\n\t"                                                    \
  "asr    %[" A "], %[" A "], %[p0]\n\t"                                                           \
  "add    %[p1], %[w1], %[" B "], asr #31\n\t"                                                     \
  "smmlar %[" B "], %[" B "], %[w0], %[p1]\n\t"                                                    \
  "asr    %[" B "], %[" B "], %[p0]\n\t"
#define DWP_CLAMP                                                                                  \
  "ldrd   %[p0], %[p1], [%[k], #%c[o_lo4]]\n\t"                                                    \
  "ssub8  %[w0], %[A0], %[p0]\n\t"                                                                 \
  "sel    %[A0], %[A0], %[p0]\n\t"                                                                 \
  "ssub8  %[w0], %[p1], %[A0]\n\t"                                                                 \
  "sel    %[A0], %[A0], %[p1]\n\t"
/* Half h: start values, 3 rows (`rows`: half 0 walks r down rows 0, 1, 2, half 1 back up),
 * requantize, saturate, pack {A_2h, A_2h+1, B_2h, B_2h+1}, optional clamp, two STRH. */
#define DWP_HALF(h, rows, clamp)                                                                   \
  "ldrd   %[A0], %[A1], [%[k], #(8*" h ")]\n\t" /* base2 is at 0 */                                \
  "mov    %[B0], %[A0]\n\t"                                                                        \
  "mov    %[B1], %[A1]\n\t" rows DWP_RQ("2*" h, "A0", "B0")                                        \
      DWP_RQ("2*" h "+1", "A1", "B1") "ssat   %[A0], #8, %[A0]\n\t"                                \
                                      "ssat   %[A1], #8, %[A1]\n\t"                                \
                                      "ssat   %[B0], #8, %[B0]\n\t"                                \
                                      "ssat   %[B1], #8, %[B1]\n\t"                                \
                                      "bfi    %[A0], %[A1], #8, #8\n\t"                            \
                                      "bfi    %[A0], %[B0], #16, #8\n\t"                           \
                                      "bfi    %[A0], %[B1], #24, #8\n\t" clamp                     \
                                      "ldr    %[p0], [%[k], #(%c[o_boff]+4*" h ")]\n\t"            \
                                      "strh   %[A0], [%[o], #(2*" h ")]\n\t"                       \
                                      "lsr    %[A0], %[A0], #16\n\t"                               \
                                      "strh   %[A0], [%[o], %[p0]]\n\t"
#define DWP_ROWS_DOWN                                                                              \
  DWP_ROW("0", "0")                                                                                \
  "ldr    %[w0], [%[k], #%c[o_d1]]\n\t"                                                            \
  "add    %[r], %[r], %[w0]\n\t" DWP_ROW("0", "1") "ldr    %[w0], [%[k], #%c[o_d2]]\n\t"           \
                                                   "add    %[r], %[r], %[w0]\n\t" DWP_ROW("0",     \
                                                                                          "2")
#define DWP_ROWS_UP                                                                                \
  DWP_ROW("1", "2")                                                                                \
  "ldr    %[w0], [%[k], #%c[o_d2]]\n\t"                                                            \
  "sub    %[r], %[r], %[w0]\n\t" DWP_ROW("1", "1") "ldr    %[w0], [%[k], #%c[o_d1]]\n\t"           \
                                                   "sub    %[r], %[r], %[w0]\n\t" DWP_ROW("1",     \
                                                                                          "0")
/* Window pairs of k->rows_left output rows, each until o reaches k->o_end: r = the first pair's
 * row-0 words in the ring, outputs from o (window pairs 2C bytes apart); between rows r, o and
 * o_end step by r_skip, o_fix and o_row. 13 registers: 4 accumulators, 4 pixel words, 2 weight
 * words, k, r, o. */
#define DWP_ROW_FN(name, clamp)                                                                    \
  static void name(dw_pair_t *k, const uint32_t *r, int8_t *o) {                                   \
    uint32_t A0, A1, B0, B1, p0, p1, q0, q1, w0, w1;                                               \
    __asm__ volatile(                                                                              \
        "1:\n\t" DWP_HALF("0", DWP_ROWS_DOWN, clamp)                                               \
            DWP_HALF("1", DWP_ROWS_UP,                                                             \
                     clamp) "ldr    %[w0], [%[k], #%c[o_o_step]]\n\t"                              \
                            "add    %[o], %[o], %[w0]\n\t"                                         \
                            "add    %[r], %[r], #16\n\t"                                           \
                            "ldr    %[w0], [%[k], #%c[o_o_end]]\n\t"                               \
                            "cmp    %[o], %[w0]\n\t"                                               \
                            "bne    1b\n\t"                                                        \
                            "ldr    %[w0], [%[k], #%c[o_rows_left]]\n\t"                           \
                            "subs   %[w0], %[w0], #1\n\t"                                          \
                            "beq    2f\n\t"                                                        \
                            "str    %[w0], [%[k], #%c[o_rows_left]]\n\t"                           \
                            "ldrd   %[w0], %[w1], [%[k], #%c[o_o_fix]]\n\t" /* o_fix, r_skip */    \
                            "add    %[r], %[r], %[w1]\n\t"                                         \
                            "add    %[o], %[o], %[w0]\n\t"                                         \
                            "ldr    %[w0], [%[k], #%c[o_o_end]]\n\t"                               \
                            "ldr    %[w1], [%[k], #%c[o_o_row]]\n\t"                               \
                            "add    %[w0], %[w0], %[w1]\n\t"                                       \
                            "str    %[w0], [%[k], #%c[o_o_end]]\n\t"                               \
                            "b      1b\n\t"                                                        \
                            "2:"                                                                   \
        : [A0] "=&r"(A0), [A1] "=&r"(A1), [B0] "=&r"(B0), [B1] "=&r"(B1), [p0] "=&r"(p0),          \
          [p1] "=&r"(p1), [q0] "=&r"(q0), [q1] "=&r"(q1), [w0] "=&r"(w0), [w1] "=&r"(w1),          \
          [r] "+r"(r), [o] "+r"(o)                                                                 \
        : [k] "r"(k), [o_rq] "i"(offsetof(dw_pair_t, rq)), [rq_size] "i"(sizeof k->rq[0]),         \
          [rq_e] "i"(2 * sizeof(int32_t)), [o_lo4] "i"(offsetof(dw_pair_t, lo4)),                  \
          [o_o_step] "i"(offsetof(dw_pair_t, o_step)), [o_d1] "i"(offsetof(dw_pair_t, d1)),        \
          [o_d2] "i"(offsetof(dw_pair_t, d2)), [o_boff] "i"(offsetof(dw_pair_t, boff)),            \
          [o_o_end] "i"(offsetof(dw_pair_t, o_end)), [o_w] "i"(offsetof(dw_pair_t, w)),            \
          [w_row] "i"(sizeof k->w[0][0]), [o_rows_left] "i"(offsetof(dw_pair_t, rows_left)),       \
          [o_o_row] "i"(offsetof(dw_pair_t, o_row)), [o_o_fix] "i"(offsetof(dw_pair_t, o_fix))     \
        : "cc", "memory");                                                                         \
  }
DWP_ROW_FN(dw_pair_run_clamp, DWP_CLAMP)
DWP_ROW_FN(dw_pair_run_noclamp, "")
/* clang-format on */

/* n >= 1 window pairs from (r, o). */
static inline void dw_pair_n(dw_pair_t *k, const uint32_t *r, int32_t n, int8_t *o, int clamp) {
  k->o_end = (uint32_t)(uintptr_t)(o + (size_t)n * k->o_step);
  k->rows_left = 1;
  if (clamp)
    dw_pair_run_clamp(k, r, o);
  else
    dw_pair_run_noclamp(k, r, o);
}

/* nrows >= 1 output rows of n window pairs each, from ring row r (rows slot_bytes apart). */
static void dw_pair_rows(dw_pair_t *k, const uint32_t *r, int32_t nrows, int32_t n, int32_t Wo,
                         uint32_t slot_bytes, int8_t *o, int clamp) {
  k->o_end = (uint32_t)(uintptr_t)(o + (size_t)n * k->o_step);
  k->rows_left = (uint32_t)nrows;
  k->o_row = (uint32_t)Wo * (k->o_step >> 1);
  k->o_fix = k->o_row - (uint32_t)n * k->o_step;
  k->r_skip = slot_bytes - 16u * (uint32_t)n;
  if (clamp)
    dw_pair_run_clamp(k, r, o);
  else
    dw_pair_run_noclamp(k, r, o);
}

/* One output row (Wo windows). An odd last window is computed with a B past the row (over the
 * extra padding column): B's bytes go to the next output row's first pixel, which that row
 * rewrites later, or, in the last row (`last`), to a scratch word. */
static void dw_pair_row(dw_pair_t *k, const uint32_t *r, int32_t Wo, int8_t *o, int clamp,
                        int last) {
  if (!last || !(Wo & 1)) {
    dw_pair_n(k, r, (Wo + 1) >> 1, o, clamp);
    return;
  }
  const int32_t np = Wo >> 1;
  if (np > 0) dw_pair_n(k, r, np, o, clamp);
  uint32_t scratch;
  int8_t *ol = o + (size_t)np * k->o_step;
  const uint32_t b0 = k->boff[0], b1 = k->boff[1];
  k->boff[0] = (uint32_t)((uintptr_t)&scratch - (uintptr_t)ol);
  k->boff[1] = k->boff[0] + 2u;
  dw_pair_n(k, r + 4 * np, 1, ol, clamp);
  k->boff[0] = b0;
  k->boff[1] = b1;
}

/* Column pair of a pair-layout row from the 4-byte input words of its two columns:
 * E0 = PKHBT(a02, b02), E1 = PKHBT(a13, b13), E2 = PKHTB(b02, a02), E3 = PKHTB(b13, a13). */
static inline void dw_pair_put(uint32_t *d, uint32_t va, uint32_t vb) {
  uint32_t a02, a13, b02, b13, e0, e1, e2, e3;
  __asm__("sxtb16 %[a02], %[va]\n\t"
          "sxtb16 %[a13], %[va], ror #8\n\t"
          "sxtb16 %[b02], %[vb]\n\t"
          "sxtb16 %[b13], %[vb], ror #8\n\t"
          "pkhbt  %[e0], %[a02], %[b02], lsl #16\n\t"
          "pkhtb  %[e2], %[b02], %[a02], asr #16\n\t"
          "pkhbt  %[e1], %[a13], %[b13], lsl #16\n\t"
          "pkhtb  %[e3], %[b13], %[a13], asr #16"
          : [a02] "=&r"(a02), [a13] "=&r"(a13), [b02] "=&r"(b02), [b13] "=&r"(b13), [e0] "=&r"(e0),
            [e1] "=&r"(e1), [e2] "=&r"(e2), [e3] "=&r"(e3)
          : [va] "r"(va), [vb] "r"(vb));
  d[0] = e0;
  d[1] = e1;
  d[2] = e2;
  d[3] = e3;
}

/* dw_expand_rows for a full block in the pair layout (g->L even). Pairs wholly outside the
 * image keep the zp words of the ring fill; a pair with one padding column (at most one per
 * side) gets zp in that half. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void
dw_expand_pairs(const dw_rows_t *g, const int8_t *img, int32_t r_begin, int32_t r_end,
                uint32_t zp4) {
  const int32_t C = g->C;
  int32_t i0, i1;
  dw_image_cols(g, &i0, &i1);
  const int32_t f0 = (i0 + 1) >> 1, f1 = i1 >> 1; /* pairs with two image columns */
  const size_t rowstep = (size_t)g->W * C;
  int32_t slot = r_begin % g->nslots;
  for (int32_t r = r_begin; r < r_end; ++r, slot = (slot + 1 == g->nslots) ? 0 : slot + 1) {
    uint32_t *dst = dw_image_slot(g, r, slot);
    if (dst == NULL) continue;
    const int8_t *s = img + (size_t)(r + g->y_first) * rowstep; /* image column 0 = padded i0 */
    uint32_t va, vb;
    if (i0 & 1) { /* padding column i0 - 1, image column i0 */
      memcpy(&vb, s, 4);
      dw_pair_put(dst + 2 * (i0 - 1), zp4, vb);
      s += C;
    }
    uint32_t *d = dst + 4 * f0;
    for (int32_t e = f0; e < f1; ++e, s += 2 * C, d += 4) {
      memcpy(&va, s, 4);
      memcpy(&vb, s + C, 4);
      dw_pair_put(d, va, vb);
    }
    if ((i1 & 1) && i1 - 1 >= i0) { /* image column i1 - 1, padding column i1 */
      memcpy(&va, s, 4);
      dw_pair_put(dst + 2 * (i1 - 1), va, zp4);
    }
  }
}

/* The pair kernel's constants for the full block at channel c. */
static void dw_pair_init(dw_pair_t *k, const reds_conv_params_t *p, const reds_channel_quant_t *q,
                         const int8_t *filter_data, int32_t c_full, const int32_t *bias,
                         int32_t c) {
  for (int32_t j = 0; j < 4; ++j) {
    int32_t wt[9], wsum = 0;
    for (int32_t t = 0; t < 9; ++t) {
      wt[t] = filter_data[(size_t)t * c_full + c + j];
      wsum += wt[t];
    }
    for (int32_t ky = 0; ky < 3; ++ky) {
      const uint32_t w0 = (uint32_t)(2 * wt[3 * ky]) & 0xffffu,
                     w1 = (uint32_t)(2 * wt[3 * ky + 1]) & 0xffffu,
                     w2 = (uint32_t)(2 * wt[3 * ky + 2]) & 0xffffu;
      k->w[j][ky][0] = w0 | (w1 << 16);
      k->w[j][ky][1] = w1 | (w2 << 16);
    }
    const int32_t b = bias != NULL ? bias[c + j] : 0;
    const uint32_t base =
        (uint32_t)reds_add_wrap(b, (int32_t)((uint32_t)p->input_offset * (uint32_t)wsum));
    k->base2[j] = (int32_t)(2u * base);
    reds_rqf_t f = {0, 0, 0};
    (void)reds_rqf_init(&f, q->multiplier[c + j], q->shift[c + j], p->output_offset); /* checked */
    k->rq[j][0] = f.m;
    k->rq[j][1] = (int32_t)((uint32_t)f.c1 * 2u);
    k->rq[j][2] = f.sh + 1;
  }
}

/* The pair kernel applies: 3x3, stride 1, and |bias| + 255 * 128 * 9 < 2^29 for every channel
 * (so |a| < 2^29 and the doubled accumulator is exact). */
static int dw_pair_usable(const reds_conv_params_t *p, const reds_dims_t *filt, const int32_t *bias,
                          int32_t C) {
  if (filt->h != 3 || filt->w != 3 || p->stride_w != 1 || p->stride_h != 1 || C < 4) return 0;
  const int64_t lim = ((int64_t)1 << 29) - 1 - (int64_t)255 * 128 * 9;
  if (bias != NULL)
    for (int32_t c = 0; c < C; ++c) {
      const int64_t b = bias[c];
      if (b > lim || -b > lim) return 0;
    }
  return 1;
}

/* All Ho x Wo windows over a fully expanded padded image: padded rows `slot` words apart,
 * `sh` rows per output row; the outputs of one block are C bytes apart. */
static void dw_image3x3(const dw_block_t *k, const uint32_t *ring, size_t slot, int32_t sh,
                        int32_t Ho, int32_t Wo, int32_t C, int8_t *o) {
  const size_t rstep = slot * (size_t)sh;
  for (int32_t oy = 0; oy < Ho; ++oy, ring += rstep, o += (size_t)Wo * C) dw_row3x3(k, ring, Wo, o);
}

/* The DSP depthwise over the ring; returns 0 (generic path) when the window or the padded rows
 * do not fit, or a channel's requantization has no reds_rqf form. The ring has as many slots
 * as fit (at least kh; all padded rows of the image when they fit, so small maps are expanded
 * once per block); rows are expanded in order as the output rows advance. */
int reds_depthwise_conv2d_s8_dsp(const reds_conv_params_t *p, const reds_channel_quant_t *q,
                                 const reds_dims_t *in, const int8_t *in_data,
                                 const reds_dims_t *filt, const int8_t *filter_data,
                                 const int32_t *bias, const reds_dims_t *out, int8_t *out_data) {
  const int32_t H = in->h, W = in->w, C = in->c;
  const int32_t kh = filt->h, kw = filt->w, c_full = filt->c;
  const int32_t Ho = out->h, Wo = out->w, sw = p->stride_w, sh = p->stride_h;
  const int32_t ntaps = kh * kw, x_lo = -p->pad_w, y_first = -p->pad_h;
  int32_t L = (Wo - 1) * sw + kw; /* padded row: columns x_lo .. x_lo + L - 1 */
  if (ntaps > DW_KMAX || (int64_t)kh * L * 8 > DW_RING_BYTES) return 0;
  /* full blocks of 3x3 stride-1 layers: the pair layout, rows of even width */
  const int pair =
      dw_pair_usable(p, filt, bias, C) && (int64_t)kh * (L + (L & 1)) * 8 <= DW_RING_BYTES;
  if (pair) L += L & 1;
  {
    reds_rqf_t f;
    for (int32_t c = 0; c < C; ++c)
      if (!reds_rqf_init(&f, q->multiplier[c], q->shift[c], p->output_offset)) return 0;
  }
  const int32_t nrows = (Ho - 1) * sh + kh; /* padded rows the windows read */
  uint32_t ring[DW_RING_BYTES / 4];
  dw_rows_t g;
  g.H = H;
  g.W = W;
  g.C = C;
  g.y_first = y_first;
  g.x_lo = x_lo;
  g.L = L;
  g.nrows = nrows;
  g.nslots = DW_RING_BYTES / (8 * L);
  if (g.nslots > nrows) g.nslots = nrows;
  g.slot_words = (size_t)2 * L;
  g.zp2 = REDS_OFF2(-p->input_offset);
  g.ring = ring;
  for (size_t i = 0; i < (size_t)g.nslots * g.slot_words; ++i) ring[i] = g.zp2; /* padding */
  const int32_t nslots = g.nslots;
  const size_t slot_words = g.slot_words;
  dw_block_t k;
  k.lo4 = REDS_BYTES4(p->act.act_min);
  k.hi4 = REDS_BYTES4(p->act.act_max);
  k.out_step = (uint32_t)C;
  k.row_bytes = (uint32_t)(4 * slot_words);
  k.win_step = (uint32_t)(8 * sw);
  k.unused = 0;
  if (pair) {
    dw_pair_t kp;
    const uint32_t zp4 = REDS_BYTES4(-p->input_offset);
    const int clamp = !(p->act.act_min <= -128 && p->act.act_max >= 127);
    kp.lo4 = k.lo4;
    kp.hi4 = k.hi4;
    kp.o_step = (uint32_t)(2 * C);
    kp.boff[0] = (uint32_t)C;
    kp.boff[1] = (uint32_t)C + 2u;
    kp.o_end = 0;
    for (int32_t c0 = 0; c0 < C && C >= 4; c0 += 4) {
      /* a last partial block runs as the full block of the last 4 channels: its first channels
       * are computed again, to the same values (cheaper than a 1-3 channel path) */
      const int32_t c = (c0 + 4 > C) ? C - 4 : c0;
      dw_pair_init(&kp, p, q, filter_data, c_full, bias, c);
      for (int32_t b = 0; b < in->n; ++b) {
        const int8_t *img = in_data + (size_t)b * H * W * C + c;
        int8_t *o = out_data + (size_t)b * Ho * Wo * C + c;
        if (nslots == nrows) { /* the whole padded image fits: expand it once */
          dw_expand_pairs(&g, img, 0, nrows, zp4);
          kp.d1 = kp.d2 = k.row_bytes;
          /* all rows in one call; with odd Wo the last row apart (its B goes to scratch) */
          const int32_t nr = (Wo & 1) ? Ho - 1 : Ho;
          if (nr > 0) dw_pair_rows(&kp, ring, nr, (Wo + 1) >> 1, Wo, k.row_bytes, o, clamp);
          if (nr < Ho)
            dw_pair_row(&kp, ring + (size_t)nr * slot_words, Wo, o + (size_t)nr * Wo * C, clamp, 1);
          continue;
        }
        for (int32_t oy = 0; oy < Ho; ++oy, o += (size_t)Wo * C) {
          if (oy == 0)
            dw_expand_pairs(&g, img, 0, 3, zp4);
          else
            dw_expand_pairs(&g, img, oy + 2, oy + 3, zp4);
          const uint32_t *r0 = ring + (size_t)(oy % nslots) * slot_words;
          const uint32_t *r1 = ring + (size_t)((oy + 1) % nslots) * slot_words;
          const uint32_t *r2 = ring + (size_t)((oy + 2) % nslots) * slot_words;
          kp.d1 = (uint32_t)((uintptr_t)r1 - (uintptr_t)r0);
          kp.d2 = (uint32_t)((uintptr_t)r2 - (uintptr_t)r1);
          dw_pair_row(&kp, r0, Wo, o, clamp, oy == Ho - 1);
        }
      }
    }
    if (C >= 4) return 1;
    /* fewer than 4 channels: the other layout; padding words back to zp */
    for (size_t i = 0; i < (size_t)nslots * slot_words; ++i) ring[i] = g.zp2;
  }
  for (int32_t c0 = 0; c0 < C; c0 += 4) {
    const int32_t c = (c0 + 4 > C && C >= 4) ? C - 4 : c0; /* last partial block: see above */
    const int32_t n = (C - c) < 4 ? C - c : 4;
    dw_block_init(&k, p, q, filter_data, c_full, ntaps, bias, c, n);
    for (int32_t b = 0; b < in->n; ++b) {
      const int8_t *img = in_data + (size_t)b * H * W * C + c;
      int8_t *o = out_data + (size_t)b * Ho * Wo * C + c;
      if (nslots == nrows && kh == 3 && kw == 3 && n == 4) {
        /* the whole padded image fits: expand it once, then one loop over all pixels */
        dw_expand_rows(&g, img, n, 0, nrows);
        dw_image3x3(&k, ring, slot_words, sh, Ho, Wo, C, o);
        continue;
      }
      int32_t next = 0; /* next padded row (y - y_first) to expand */
      for (int32_t oy = 0; oy < Ho; ++oy) {
        const int32_t r0 = oy * sh; /* first padded row of the window */
        if (next < r0) next = r0;   /* stride > kh: rows no window reads */
        dw_expand_rows(&g, img, n, next, r0 + kh);
        next = r0 + kh;
        const uint32_t *rp[DW_KMAX];
        for (int32_t ky = 0; ky < kh; ++ky)
          rp[ky] = ring + (size_t)((r0 + ky) % nslots) * slot_words;
        if (kh == 3 && kw == 3 && n == 4 && rp[1] == rp[0] + slot_words &&
            rp[2] == rp[1] + slot_words) { /* the window's rows are consecutive slots */
          dw_row3x3(&k, rp[0], Wo, o);
          o += (size_t)Wo * C;
        } else {
          for (int32_t ox = 0; ox < Wo; ++ox, o += C) {
            const uint32_t v = dw_px(&k, rp, kh, kw);
            memcpy(o, &v, (size_t)n);
            for (int32_t ky = 0; ky < kh; ++ky) rp[ky] += 2 * sw;
          }
        }
      }
    }
  }
  return 1;
}
#endif /* REDS_USE_DSP && __ARM_FEATURE_DSP */

/* SPDX-License-Identifier: Apache-2.0
 * CONV_2D int8, the DSP GEMM (REDS_USE_DSP on Armv7E-M: Cortex-M4 / M7 / M33), kept apart from
 * the portable kernel in conv2d_s8.c, which calls it first (reds_conv2d_s8_dsp for kh x kw,
 * reds_conv2d_pointwise_s8_dsp for 1x1) and falls back to its own code for layers it does not
 * take (gx_usable). Same results bit for bit (tests/c/runtime compare both against tflite_micro;
 * build without -DREDS_USE_DSP for the reference path).
 * reds_gx22: weights and pixels sign-extended once, 2 pixels x 2 output channels per tile in
 * registers, 10 instructions per 16 MACs plus ~24 per tile (requantize, clamp, store); stack
 * <= 9 KB (docs/runtime.md "Stack"). Its data are word arrays (weight stream, pixel stream) and
 * its own stack frame; the layouts of both are described by the structs below (gx_rec_head_t,
 * gx_rec_tail_t, gx_frame_t), whose offsets give the named word indices the C code writes and
 * the frame offsets the assembly reads, tied to the assembly's register lists by static
 * asserts. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "reds_kernels.h"
#include "reds_quant.h"
#include "reds_dot.h"
#include "reds_kernels_dsp.h"

#if defined(REDS_USE_DSP) && defined(__ARM_FEATURE_DSP)

/* ---- DSP GEMM: 2 pixels x 2 output channels, both operands pre-sign-extended (gx) ----
 * Per call of a conv, the output channels are taken in chunks whose weights are sign-extended
 * (and doubled, see below) once into a stack "stream" of per channel-pair records; per pixel
 * pair the two pixels are sign-extended once (gx_xexp), then one call of the asm routine
 * reds_gx22 runs every channel pair of the chunk. Per 4 depth bytes a tile is 2 LDM (pixel pair,
 * weight pair: 4 words each) + 8 SMLAD = 10 instructions for 16 MACs.
 *
 * The routine keeps 4 accumulators, 4 pixel words, 4 weight words and the two stream pointers
 * in r0-r12 + lr, so it has no register for a counter or a branch condition. Everything that
 * only depends on the chunk is therefore data in the weight stream and is consumed by
 * LDM/LDR into pc:
 *   record of a channel pair (words):
 *     2*base0, 2*base1, 2*base0, 2*base1, entry    LDM {r8-r11, pc}: accumulators + jump into
 *                                                  the unrolled k block (Duff: the first block
 *                                                  runs (S - 1) % 16 + 1 steps, the others 16)
 *     per step: w0[0,2], w0[1,3], w1[0,2], w1[1,3] (int16 pairs, doubled), after each block of
 *       steps the address of the next block or of the finish (LDR pc): no loop counter
 *     m0, m1, 2*c1_0, 2*c1_1, e0, e1, j            requantization constants, channel index
 *   then the next record (the finish ends with the LDM above) or 4 dummies + the exit address.
 * The finish variant (pair / single last channel of an odd count, with / without the
 * [act_min, act_max] clamp) is the address stored after the last block, so it costs nothing
 * per tile either. The depth tail (depth % 4) is zero-padded in both streams.
 *
 * Requantization in 3 instructions (ADD, SMMLAR, ASR) instead of reds_rqf's 6: the weights and
 * the base are stored doubled, so the tile accumulates A = 2a (exact: |a| < 2^30, checked per
 * layer from the bias bound below). With reds_rqf's P0 = a*m + 2^30 - [a<0]*2^31 and
 * result = ((P0 >> 32) + c1) >> (e - 1), nested floors give
 *   result = floor((2*P0 + c1 * 2^33) / 2^(33 + e - 1))
 *          = floor((A*m + 2^31 + (2*c1 - [a<0]) * 2^32) / 2^32) >> e
 *          = SMMLAR(A, m, 2*c1 + (A >> 31)) >> e.
 * (SMMLAR: (Ra * 2^32 + Rn * Rm + 2^31) >> 32 in 64 bits; |2*c1| < 2^30 and |A*m| < 2^62, no
 * overflow.) The same constraints as reds_rqf (2 <= e <= 22) apply.
 *
 * Why 2 x 2: with both operands in registers it takes all 14 usable registers; a 2 x 4 or 4 x 2
 * tile needs 8 accumulators + >= 6 operand registers + 2 pointers, i.e. reloading operands or
 * going back to SXTB16 in the k loop (2x4 with raw weights: 30 instructions per 32 MACs vs 20
 * here), which costs more than the per-tile finish it would amortize.
 * Stack: stream GX_WORDS words (6 KB) + pixel pair GX_XWORDS words (1 KB) + conv_gx's padded
 * image / patches (1 KB) + 56 bytes in reds_gx22: <= 8.3 KB with the frames. reds_gx22 never
 * uses sp as a data pointer (interrupt-safe) and keeps no static state. Code: ~1 KB. */
enum {
  XEXP_DEPTH = 256,       /* GEMM depth (bytes) whose sign-extended pixel pair fits the stack */
  GX_XWORDS = XEXP_DEPTH, /* pixel pair stream: 4 words per 4 depth bytes */
  GX_WORDS = 1536,        /* weight stream (6 KB): e.g. 38 channels of depth 64 */
  GX_PADIMG = 1024,       /* conv_gx: zero-point-padded input image */
  GX_MIN_CO = 2           /* fewer output channels: the plain 2x2 GEMM (gemm_2px) */
};
/* Numbers the assembly reads too (as text: file-scope asm takes no operands), hence macros. */
#define GX_STR_(x)    #x
#define GX_STR(x)     GX_STR_(x)
#define GX_U          16 /* k steps (4 bytes each) per unrolled block */
#define GX_STEP_BYTES 40 /* code bytes per k step (2 x LDM.W + 8 x SMLAD, 32-bit each) */

/* The weight stream, in the order reds_gx22 loads its words:
 *   gx_stream_head_t, then per channel pair: gx_rec_head_t, the k steps (GX_STEP_WORDS each,
 *   one block-end address word after every block), gx_rec_tail_t; then a gx_rec_head_t whose
 *   entry is the exit. */
typedef struct {
  uint32_t lo4, hi4; /* activation bounds: LDMIA r0!, {r4, r5}, then pushed into the frame */
} gx_stream_head_t;
typedef struct {
  uint32_t base2[2][2]; /* [pixel a, b][channel 0, 1]: 2 * start value, a00 a01 a10 a11 */
  uint32_t entry;       /* code address in the first block (Thumb bit set) */
} gx_rec_head_t;        /* LDMIA lr!, {r8-r11, pc} */
typedef struct {
  uint32_t m[2];  /* reds_rqf multipliers of channels 0, 1 */
  uint32_t c2[2]; /* 2 * c1 */
  uint32_t e[2];  /* sh + 1 */
  uint32_t j;     /* output index of channel 0 */
} gx_rec_tail_t;  /* LDMIA lr!, {r0-r6} (GX_FIN2_HEAD: m in r0 r1, c in r2 r3, e in r4 r5, j r6) */
/* reds_gx22's own frame at sp: push {r4, r5} (lo4, hi4), then push {r2, r3, r12}. */
typedef struct {
  int8_t *oa, *ob; /* LDM sp, {r0, r1, r12} at every finish */
  const uint32_t *xbuf;
  uint32_t lo4, hi4; /* LDRD r2, r3, [sp, #GX_FRAME_LO4] (GX_CLAMP4) */
} gx_frame_t;
#define GX_FRAME_LO4   12 /* offsetof(gx_frame_t, lo4) */
#define GX_FRAME_BYTES 20 /* sizeof(gx_frame_t): dropped at exit */

enum {
  GX_STREAM_LO4 = offsetof(gx_stream_head_t, lo4) / 4,
  GX_STREAM_HI4 = offsetof(gx_stream_head_t, hi4) / 4,
  GX_STREAM_HEAD = sizeof(gx_stream_head_t) / 4,
  GX_REC_BASE_A = offsetof(gx_rec_head_t, base2[0]) / 4, /* + channel: pixel a */
  GX_REC_BASE_B = offsetof(gx_rec_head_t, base2[1]) / 4, /* + channel: pixel b */
  GX_REC_ENTRY = offsetof(gx_rec_head_t, entry) / 4,
  GX_REC_HEAD = sizeof(gx_rec_head_t) / 4,
  GX_STEP_WORDS = 4,      /* w0[0,2], w0[1,3], w1[0,2], w1[1,3]: LDMIA.W lr!, {r4-r7} */
  GX_STEP_CH_WORDS = 2,   /* channel c's words of a step start at 2 * c */
  GX_BLOCK_END_WORDS = 1, /* the address word after each block of steps */
  GX_TAIL_M = offsetof(gx_rec_tail_t, m) / 4,
  GX_TAIL_C2 = offsetof(gx_rec_tail_t, c2) / 4,
  GX_TAIL_E = offsetof(gx_rec_tail_t, e) / 4,
  GX_TAIL_J = offsetof(gx_rec_tail_t, j) / 4,
  GX_REC_TAIL = sizeof(gx_rec_tail_t) / 4,
  GX_STREAM_END = GX_REC_HEAD /* 4 dummies and the exit address */
};
/* The register lists of the assembly below, word by word. */
REDS_STATIC_ASSERT(gx_stream_head, GX_STREAM_LO4 == 0 && GX_STREAM_HI4 == 1 && GX_STREAM_HEAD == 2);
REDS_STATIC_ASSERT(gx_rec_head, GX_REC_BASE_A == 0 && GX_REC_BASE_B == 2 && GX_REC_ENTRY == 4 &&
                                    GX_REC_HEAD == 5);
REDS_STATIC_ASSERT(gx_rec_tail, GX_TAIL_M == 0 && GX_TAIL_C2 == 2 && GX_TAIL_E == 4 &&
                                    GX_TAIL_J == 6 && GX_REC_TAIL == 7);
REDS_STATIC_ASSERT(gx_step, GX_STEP_WORDS == 2 * GX_STEP_CH_WORDS);
REDS_STATIC_ASSERT(gx_frame, offsetof(gx_frame_t, oa) == 0 && offsetof(gx_frame_t, ob) == 4 &&
                                 offsetof(gx_frame_t, xbuf) == 8 &&
                                 offsetof(gx_frame_t, lo4) == GX_FRAME_LO4 &&
                                 offsetof(gx_frame_t, hi4) == GX_FRAME_LO4 + 4 &&
                                 sizeof(gx_frame_t) == GX_FRAME_BYTES);

/* clang-format off: hand-laid assembly (one instruction per line) */
#define GX_STEP                                                                                    \
  "ldmia.w r12!, {r0-r3}\n\t"                                                                      \
  "ldmia.w lr!, {r4-r7}\n\t"                                                                       \
  "smlad r8, r0, r4, r8\n\t"                                                                       \
  "smlad r8, r1, r5, r8\n\t"                                                                       \
  "smlad r9, r0, r6, r9\n\t"                                                                       \
  "smlad r9, r1, r7, r9\n\t"                                                                       \
  "smlad r10, r2, r4, r10\n\t"                                                                     \
  "smlad r10, r3, r5, r10\n\t"                                                                     \
  "smlad r11, r2, r6, r11\n\t"                                                                     \
  "smlad r11, r3, r7, r11\n\t"
#define GX_STEP4 GX_STEP GX_STEP GX_STEP GX_STEP
/* acc (2a) -> requantized value with the output offset: c = 2*c1, m, e (see above) */
#define GX_RQ(acc, m, c, e)                                                                        \
  "add r7, " c ", " acc ", asr #31\n\t"                                                            \
  "smmlar r7, " acc ", " m ", r7\n\t"                                                              \
  "asr " acc ", r7, " e "\n\t"

/* Finish heads: the record's constants (m0 m1 c0 c1 e0 e1, output index) into r0-r6, then the
 * accumulators of two channels (or of the last odd one) requantized and saturated to int8. */
#define GX_FIN2_HEAD                                                                               \
  "ldmia lr!, {r0-r6}\n\t" GX_RQ("r8", "r0", "r2", "r4") GX_RQ("r10", "r0", "r2", "r4")            \
      GX_RQ("r9", "r1", "r3", "r5") GX_RQ("r11", "r1", "r3", "r5") "ssat r8, #8, r8\n\t"           \
                                                                   "ssat r9, #8, r9\n\t"           \
                                                                   "ssat r10, #8, r10\n\t"         \
                                                                   "ssat r11, #8, r11\n\t"
#define GX_FIN1_HEAD                                                                               \
  "ldmia lr!, {r0-r6}\n\t" GX_RQ("r8", "r0", "r2", "r4")                                           \
      GX_RQ("r10", "r0", "r2", "r4") "ssat r8, #8, r8\n\t"                                         \
                                     "ssat r10, #8, r10\n\t"
/* r8's int8 lanes clamped to [lo4, hi4] (from the frame, gx_frame_t), as reds_pack4_s8. */
#define GX_CLAMP4                                                                                  \
  "ldrd r2, r3, [sp, #" GX_STR(GX_FRAME_LO4) "]\n\t"                                               \
                                             "ssub8 r7, r8, r2\n\t"                                \
                                             "sel r8, r8, r2\n\t"                                  \
                                             "ssub8 r7, r3, r8\n\t"                                \
                                             "sel r8, r8, r3\n\t"

/* void reds_gx22(const uint32_t *stream, const uint32_t *xbuf, int8_t *oa, int8_t *ob)
 * stream: lo4, hi4, records..., end; outputs oa[j], oa[j + 1], ob[j], ob[j + 1] per record.
 * Frame at sp: oa, ob, xbuf, lo4, hi4. Registers: r0-r3 pixel words, r4-r7 weight words,
 * r8-r11 accumulators a00 a01 a10 a11, r12 pixel pointer, lr stream pointer. */
__asm__("\t.pushsection .text.reds_gx22,\"ax\",%progbits\n\t"
        ".syntax unified\n\t"
        ".thumb\n\t"
        ".p2align 2\n\t"
        ".global reds_gx22\n\t"
        ".type reds_gx22, %function\n\t"
        ".thumb_func\n"
        "reds_gx22:\n\t"
        "push {r4-r11, lr}\n\t"
        "ldmia r0!, {r4, r5}\n\t"
        "mov r12, r1\n\t"
        "push {r4, r5}\n\t"
        "push {r2, r3, r12}\n\t"
        "mov lr, r0\n\t"
        "ldmia lr!, {r8-r11, pc}\n"
        ".global reds_gx22_exit\n"
        "reds_gx22_exit:\n\t"
        "add sp, #" GX_STR(
            GX_FRAME_BYTES) "\n\t"
                            "pop {r4-r11, pc}\n\t"
                            ".p2align 2\n"
                            ".global reds_gx22_blk\n"
                            "reds_gx22_blk:\n\t" GX_STEP4 GX_STEP4 GX_STEP4 GX_STEP4 "1:\n\t"
                            ".if (1b - reds_gx22_blk) != " GX_STR(GX_U) " * " GX_STR(
                                GX_STEP_BYTES) "\n\t"
                                               ".error \"reds_gx22: k step is not 40 bytes\"\n\t"
                                               ".endif\n\t"
                                               "ldr pc, [lr], #4\n"
                                               /* two channels, no clamp (act range [-128, 127]) */
                                               ".global reds_gx22_fin2\n"
                                               "reds_gx22_fin2:\n\t" GX_FIN2_HEAD
                                               "ldm sp, {r0, r1, r12}\n\t"
                                               "bfi r8, r9, #8, #8\n\t"
                                               "bfi r10, r11, #8, #8\n\t"
                                               "strh r10, [r1, r6]\n\t"
                                               "strh r8, [r0, r6]\n\t"
                                               "ldmia lr!, {r8-r11, pc}\n"
                                               /* two channels, clamped to [lo, hi] in four lanes
                                                  (SSUB8 + SEL, as reds_pack4_s8) */
                                               ".global reds_gx22_fin2c\n"
                                               "reds_gx22_fin2c:\n\t" GX_FIN2_HEAD
                                               "bfi r8, r9, #8, #8\n\t"
                                               "bfi r8, r10, #16, #8\n\t"
                                               "bfi r8, r11, #24, #8\n\t" GX_CLAMP4
                                               "ldm sp, {r0, r1, r12}\n\t"
                                               "lsr r7, r8, #16\n\t"
                                               "strh r7, [r1, r6]\n\t"
                                               "strh r8, [r0, r6]\n\t"
                                               "ldmia lr!, {r8-r11, pc}\n"
                                               /* last channel of an odd count (a00, a10 only), no
                                                  clamp */
                                               ".global reds_gx22_fin1\n"
                                               "reds_gx22_fin1:\n\t" GX_FIN1_HEAD
                                               "ldm sp, {r0, r1, r12}\n\t"
                                               "strb r10, [r1, r6]\n\t"
                                               "strb r8, [r0, r6]\n\t"
                                               "ldmia lr!, {r8-r11, pc}\n"
                                               /* last channel of an odd count, clamped */
                                               ".global reds_gx22_fin1c\n"
                                               "reds_gx22_fin1c:\n\t" GX_FIN1_HEAD
                                               "bfi r8, r10, #8, #8\n\t" GX_CLAMP4
                                               "ldm sp, {r0, r1, r12}\n\t"
                                               "lsr r7, r8, #8\n\t"
                                               "strb r7, [r1, r6]\n\t"
                                               "strb r8, [r0, r6]\n\t"
                                               "ldmia lr!, {r8-r11, pc}\n\t"
                                               ".size reds_gx22, .-reds_gx22\n\t"
                                               ".popsection\n");
/* clang-format on */
void reds_gx22(const uint32_t *stream, const uint32_t *xbuf, int8_t *oa, int8_t *ob);
extern const char reds_gx22_exit[], reds_gx22_blk[], reds_gx22_fin2[], reds_gx22_fin2c[],
    reds_gx22_fin1[], reds_gx22_fin1c[];
#define GX_CODE(label) (((uint32_t)(uintptr_t)(label)) | 1u) /* Thumb bit for LDR/LDM pc */

/* Short runs without a library call (a memcpy / memset call costs ~25 instructions for the
 * 1-16 byte rows of first convs); the empty asm keeps GCC from turning the loops back into
 * calls. */
static inline void run_copy(int8_t *d, const int8_t *s, int32_t n) {
  if (n > 16) {
    memcpy(d, s, (size_t)n);
    return;
  }
  for (; n >= 4; n -= 4, d += 4, s += 4) {
    uint32_t v;
    memcpy(&v, s, 4);
    __asm__("" : "+r"(v));
    memcpy(d, &v, 4);
  }
  for (; n > 0; --n, ++d, ++s) {
    int8_t b = *s;
    __asm__("" : "+r"(b));
    *d = b;
  }
}
static inline void run_fill(int8_t *d, int8_t zp, int32_t n) {
  if (n > 16) {
    memset(d, zp, (size_t)n);
    return;
  }
  uint32_t v = REDS_BYTES4(zp);
  for (; n >= 4; n -= 4, d += 4) {
    __asm__("" : "+r"(v));
    memcpy(d, &v, 4);
  }
  for (; n > 0; --n, ++d) {
    __asm__("" : "+r"(v));
    *d = (int8_t)v;
  }
}

/* How a conv's weight rows are read for the gx streams. */
typedef struct {
  const int8_t *filter;
  int32_t wstride;            /* bytes between two output channels' rows */
  int32_t ntaps, ci, ci_full; /* a row: ntaps runs of ci bytes, ci_full apart (gathered) */
  int32_t kw, run4;           /* run4 > 0: each kernel row (kw taps) zero-padded to run4 */
  int32_t depth;              /* GEMM depth: ntaps * ci, or kh * run4 (padded kernel rows) */
  const int32_t *bias;
  const reds_channel_quant_t *q;
  int32_t in_off, out_off;
  uint32_t lo4, hi4;
  int clamp; /* act range narrower than [-128, 127] */
} gx_layer_t;

static void gx_layer(gx_layer_t *L, const reds_conv_params_t *p, const reds_channel_quant_t *q,
                     const int8_t *filter, int32_t wstride, int32_t ntaps, int32_t ci,
                     int32_t ci_full, const int32_t *bias) {
  L->filter = filter;
  L->wstride = wstride;
  L->ntaps = ntaps;
  L->ci = ci;
  L->ci_full = ci_full;
  L->kw = ntaps;
  L->run4 = 0;
  L->depth = ntaps * ci;
  L->bias = bias;
  L->q = q;
  L->in_off = p->input_offset;
  L->out_off = p->output_offset;
  L->lo4 = REDS_BYTES4(p->act.act_min);
  L->hi4 = REDS_BYTES4(p->act.act_max);
  L->clamp = !(p->act.act_min <= -128 && p->act.act_max >= 127);
}

/* Every output channel has reds_rqf constants and |accumulator| < 2^30 for any input
 * (|bias| + 255 * 128 * depth), so the doubled accumulator of reds_gx22 is exact. */
static int gx_usable(const gx_layer_t *L, int32_t co) {
  if (L->depth < 1 || L->depth > XEXP_DEPTH) return 0;
  const int64_t lim = ((int64_t)1 << 30) - 1 - (int64_t)255 * 128 * L->depth;
  for (int32_t o = 0; o < co; ++o) {
    reds_rqf_t f;
    if (!reds_rqf_init(&f, L->q->multiplier[o], L->q->shift[o], L->out_off)) return 0;
    const int64_t b = L->bias != NULL ? L->bias[o] : 0;
    if (b > lim || -b > lim) return 0;
  }
  return 1;
}

static int32_t gx_steps(const gx_layer_t *L) { return (L->depth + 3) >> 2; }
static int32_t gx_blocks(int32_t steps) { return (steps + GX_U - 1) / GX_U; }
static int32_t gx_rec_words(int32_t steps) {
  return (GX_REC_HEAD + GX_REC_TAIL) + GX_STEP_WORDS * steps +
         GX_BLOCK_END_WORDS * gx_blocks(steps);
}

/* Output channels per chunk: as many pairs as fit GX_WORDS, spread evenly over the chunks. */
static int32_t gx_chunk(const gx_layer_t *L, int32_t co) {
  const int32_t maxc =
      2 * ((GX_WORDS - GX_STREAM_HEAD - GX_STREAM_END) / gx_rec_words(gx_steps(L)));
  const int32_t nchunks = (co + maxc - 1) / maxc;
  const int32_t c = (co + nchunks - 1) / nchunks;
  return (c + 1) & ~1;
}

/* Row o of the filter as depth contiguous bytes (gathered into tmp for sliced kh x kw). */
static const int8_t *gx_row(const gx_layer_t *L, int32_t o, int8_t *tmp) {
  const int8_t *w = L->filter + (size_t)o * L->wstride;
  if (L->run4 > 0 && !(L->run4 == L->kw * L->ci && L->ci == L->ci_full)) {
    /* kernel rows of kw * ci bytes, each zero-padded to run4 */
    const int32_t run = L->kw * L->ci;
    for (int32_t r = 0; r < L->ntaps / L->kw; ++r) {
      int8_t *d = tmp + (size_t)r * L->run4;
      if (L->ci == L->ci_full) {
        run_copy(d, w + (size_t)r * run, run);
      } else {
        for (int32_t kx = 0; kx < L->kw; ++kx)
          run_copy(d + (size_t)kx * L->ci, w + ((size_t)r * L->kw + kx) * L->ci_full, L->ci);
      }
      run_fill(d + run, 0, L->run4 - run);
    }
    return tmp;
  }
  if (L->ntaps == 1 || L->ci == L->ci_full) return w;
  for (int32_t t = 0; t < L->ntaps; ++t)
    run_copy(tmp + (size_t)t * L->ci, w + (size_t)t * L->ci_full, L->ci);
  return tmp;
}

/* Little-endian word of the n < 4 bytes at p, zero-padded. */
static uint32_t gx_tail(const int8_t *p, int32_t n) {
  uint32_t v = 0;
  for (int32_t i = 0; i < n; ++i) v |= (uint32_t)(uint8_t)p[i] << (8 * i);
  return v;
}

/* One weight row (depth bytes) into a record: doubled int16 pairs {w[0,2], w[1,3]} every
 * GX_STEP_WORDS words from w, the block-end word skipped after each block (first: steps of the
 * first block). Returns the row's sum (for the input offset). */
static int32_t gx_wexp(uint32_t *w, const int8_t *row, int32_t depth, int32_t first) {
  int32_t sum = 0, i = 0, left = first;
  const int32_t full = depth & ~3;
  while (i < full) {
    int32_t k = (full - i) >> 2;
    if (k > left) k = left;
    left -= k;
    for (; k > 0; --k, i += 4, w += GX_STEP_WORDS) {
      uint32_t v;
      memcpy(&v, row + i, 4);
      const uint32_t lo = reds_sxtb16(v), hi = reds_sxtb16_ror8(v);
      sum = reds_smlad(lo, 0x00010001u, reds_smlad(hi, 0x00010001u, sum));
      w[0] = reds_sadd16(lo, lo); /* doubled: int16 lanes in [-256, 254] */
      w[1] = reds_sadd16(hi, hi);
    }
    if (left == 0) { /* skip the block-end address slot */
      w += GX_BLOCK_END_WORDS;
      left = GX_U;
    }
  }
  if (i < depth) { /* zero-padded last step (the last of its block) */
    const uint32_t v = gx_tail(row + i, depth - i);
    const uint32_t lo = reds_sxtb16(v), hi = reds_sxtb16_ror8(v);
    sum = reds_smlad(lo, 0x00010001u, reds_smlad(hi, 0x00010001u, sum));
    w[0] = reds_sadd16(lo, lo);
    w[1] = reds_sadd16(hi, hi);
  }
  return sum;
}

/* The stream of output channels oc0 .. oc0 + n - 1 (layout: gx_stream_head_t and the records
 * above, see reds_gx22). tmp: depth bytes. */
static void gx_build(uint32_t *s, const gx_layer_t *L, int32_t oc0, int32_t n, int8_t *tmp) {
  const int32_t steps = gx_steps(L), nb = gx_blocks(steps);
  const int32_t first = steps - (nb - 1) * GX_U; /* steps of the first (partial) block */
  const uint32_t blk = (uint32_t)(uintptr_t)reds_gx22_blk & ~1u;
  const uint32_t fin = n & 1 ? GX_CODE(L->clamp ? reds_gx22_fin1c : reds_gx22_fin1)
                             : GX_CODE(L->clamp ? reds_gx22_fin2c : reds_gx22_fin2);
  s[GX_STREAM_LO4] = L->lo4;
  s[GX_STREAM_HI4] = L->hi4;
  s += GX_STREAM_HEAD;
  for (int32_t j = 0; j < n; j += 2) {
    const int single = (j + 1 == n);
    uint32_t *const steps0 = s + GX_REC_HEAD; /* the first k step */
    uint32_t *const cst = steps0 + GX_STEP_WORDS * steps + GX_BLOCK_END_WORDS * nb;
    s[GX_REC_ENTRY] = (blk + (uint32_t)(GX_U - first) * GX_STEP_BYTES) | 1u;
    for (int c = 0; c < 2; ++c) {
      const int32_t o = oc0 + j + (single ? 0 : c);
      int32_t sum = 0;
      if (c == 1 && single) { /* the odd last channel: zero weights in the second lane pair */
        uint32_t *w = steps0 + GX_STEP_CH_WORDS;
        for (int32_t t = 0, len = first; t < steps; len = GX_U, w += GX_BLOCK_END_WORDS)
          for (int32_t k = 0; k < len && t < steps; ++k, ++t, w += GX_STEP_WORDS) w[0] = w[1] = 0;
      } else {
        sum = gx_wexp(steps0 + GX_STEP_CH_WORDS * c, gx_row(L, o, tmp), L->depth, first);
      }
      int32_t base = (int32_t)((uint32_t)L->in_off * (uint32_t)sum);
      if (L->bias != NULL) base = reds_add_wrap(base, L->bias[o]);
      s[GX_REC_BASE_A + c] = s[GX_REC_BASE_B + c] = (uint32_t)base * 2u;
      reds_rqf_t f = {0, 0, 0};
      (void)reds_rqf_init(&f, L->q->multiplier[o], L->q->shift[o], L->out_off); /* gx_usable */
      cst[GX_TAIL_M + c] = (uint32_t)f.m;
      cst[GX_TAIL_C2 + c] = (uint32_t)f.c1 * 2u;
      cst[GX_TAIL_E + c] = (uint32_t)f.sh + 1u;
    }
    /* block ends: next block, then the finish */
    uint32_t *a = steps0 + GX_STEP_WORDS * first;
    for (int32_t b = 1; b < nb; ++b, a += GX_BLOCK_END_WORDS + GX_STEP_WORDS * GX_U) *a = blk | 1u;
    *a = single ? fin : GX_CODE(L->clamp ? reds_gx22_fin2c : reds_gx22_fin2);
    cst[GX_TAIL_J] = (uint32_t)(oc0 + j);
    s = cst + GX_REC_TAIL;
  }
  /* the end: a record head of dummies whose entry is the exit */
  s[GX_REC_BASE_A] = s[GX_REC_BASE_A + 1] = s[GX_REC_BASE_B] = s[GX_REC_BASE_B + 1] = 0;
  s[GX_REC_ENTRY] = GX_CODE(reds_gx22_exit);
}

/* n >= 1 steps of both pixels sign-extended: per 4 bytes {xa[0,2], xa[1,3], xb[0,2], xb[1,3]}.
 * Returns the next output word. */
static inline uint32_t *gx_xsteps(const int8_t *xa, const int8_t *xb, int32_t n, uint32_t *buf) {
  uint32_t va, vb, t0, t1, t2, t3;
  __asm__ volatile("1:\n\t"
                   "ldr    %[va], [%[xa]], #4\n\t"
                   "ldr    %[vb], [%[xb]], #4\n\t"
                   "sxtb16 %[t0], %[va]\n\t"
                   "sxtb16 %[t1], %[va], ror #8\n\t"
                   "sxtb16 %[t2], %[vb]\n\t"
                   "sxtb16 %[t3], %[vb], ror #8\n\t"
                   "strd   %[t0], %[t1], [%[buf]], #16\n\t"
                   "strd   %[t2], %[t3], [%[buf], #-8]\n\t"
                   "subs   %[n], %[n], #1\n\t"
                   "bne    1b"
                   : [xa] "+r"(xa), [xb] "+r"(xb), [buf] "+r"(buf), [n] "+r"(n), [va] "=&r"(va),
                     [vb] "=&r"(vb), [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3)
                   :
                   : "cc", "memory");
  return buf;
}

/* Both pixels of a pair (depth contiguous bytes each) into the pixel stream, tail zero-padded. */
static void gx_xexp(const int8_t *xa, const int8_t *xb, int32_t depth, uint32_t *buf) {
  const int32_t n = depth >> 2, i = depth & ~3;
  if (n > 0) buf = gx_xsteps(xa, xb, n, buf);
  if (i < depth) {
    const uint32_t va = gx_tail(xa + i, depth - i), vb = gx_tail(xb + i, depth - i);
    buf[0] = reds_sxtb16(va);
    buf[1] = reds_sxtb16_ror8(va);
    buf[2] = reds_sxtb16(vb);
    buf[3] = reds_sxtb16_ror8(vb);
  }
}

/* The same for patches given as `rows` kernel rows of run bytes (run % 4 == 0), pixel a's at
 * xa + r * sa and b's at xb + r * sb: interior pixels are read straight from the image. */
static void gx_xexp_rows(const int8_t *xa, int32_t sa, const int8_t *xb, int32_t sb, int32_t rows,
                         int32_t run, uint32_t *buf) {
  for (int32_t r = 0; r < rows; ++r, xa += sa, xb += sb) buf = gx_xsteps(xa, xb, run >> 2, buf);
}

/* The pointwise GEMM on reds_gx22 (see gx_build); separate function: its stack buffers are not
 * added to the fallback's. */
static void pointwise_gx(const gx_layer_t *L, const reds_pw_row_t *rows, int32_t nrows,
                         int32_t co) {
  uint32_t ws[GX_WORDS], xbuf[GX_XWORDS];
  const int32_t cc = gx_chunk(L, co);
  for (int32_t oc0 = 0; oc0 < co; oc0 += cc) {
    gx_build(ws, L, oc0, (co - oc0) < cc ? co - oc0 : cc, NULL);
    for (int32_t r = 0; r < nrows; ++r) {
      const int8_t *x = rows[r].x;
      const int32_t xstep = rows[r].xstep, n = rows[r].n;
      for (int32_t j = 0; j < n; j += 2) {
        const int two = (j + 1 < n);
        const int8_t *xa = x + (size_t)j * xstep;
        int8_t *oa = rows[r].o + (size_t)j * co;
        gx_xexp(xa, two ? xa + xstep : xa, L->depth, xbuf);
        reds_gx22(ws, xbuf, oa, two ? oa + co : oa);
      }
    }
  }
}

/* im2col (same result) for the DSP GEMM: per kernel row one run copy plus the padding fills,
 * instead of a copy or fill per tap. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline void
im2col_gx(const int8_t *img, int32_t H, int32_t W, int32_t ci, int32_t kh, int32_t kw, int32_t y0,
          int32_t x0, int8_t zp, int8_t *buf) {
  const int32_t run = kw * ci;
  const int32_t kx0 = x0 < 0 ? -x0 : 0, kx1 = (W - x0) < kw ? (W - x0) : kw;
  const int32_t pre = kx0 * ci, mid = (kx1 - kx0) * ci, post = run - pre - mid;
  for (int32_t ky = 0; ky < kh; ++ky, buf += run) {
    const int32_t y = y0 + ky;
    if (y < 0 || y >= H || mid <= 0) {
      run_fill(buf, zp, run);
      continue;
    }
    if (pre > 0) run_fill(buf, zp, pre);
    run_copy(buf + pre, img + ((size_t)y * W + (size_t)(x0 + kx0)) * ci, mid);
    if (post > 0) run_fill(buf + pre + mid, zp, post);
  }
}

/* kh x kw conv on reds_gx22 (ci input channels; the weight rows read through L, gathered per
 * tap when the input depth is sliced).
 * If the input image with its padding fits GX_PADIMG bytes, it is copied once with the padding
 * filled with the input zero point (which contributes (zp + in_off) * w = 0), and each kernel row
 * of the weight stream is zero-padded to whole 4-byte steps: a pixel's patch is then kh rows read
 * straight from the padded image (up to 3 bytes past a row meet zero weights), no im2col.
 * Otherwise: im2col per pixel (interior pixels straight from the image when kw * ci % 4 == 0). */
static void conv_gx(const reds_conv_params_t *p, gx_layer_t *L, const reds_dims_t *in,
                    const int8_t *in_data, int32_t kh, int32_t kw, const reds_dims_t *out,
                    int8_t *out_data) {
  const int32_t H = in->h, W = in->w, ci = in->c, Ho = out->h, Wo = out->w, co = out->c;
  const int32_t sh = p->stride_h, sw = p->stride_w, npix = Ho * Wo, run = kw * ci;
  const int32_t run4 = (run + 3) & ~3, Hp = (Ho - 1) * sh + kh, Wp = (Wo - 1) * sw + kw;
  const int8_t zp = (int8_t)(-p->input_offset);
  uint32_t ws[GX_WORDS], xbuf[GX_XWORDS];
  union {
    int8_t patch[2][XEXP_DEPTH];
    int8_t img[GX_PADIMG];
  } u;
  const int padded = (int64_t)Hp * Wp * ci + 4 <= GX_PADIMG && kh * run4 <= XEXP_DEPTH;
  if (padded) {
    L->kw = kw;
    L->run4 = run4;
    L->depth = kh * run4;
  }
  const int rows_ok = padded || (run & 3) == 0; /* kernel rows are whole k steps */
  const int32_t cc = gx_chunk(L, co);
  for (int32_t oc0 = 0; oc0 < co; oc0 += cc) {
    gx_build(ws, L, oc0, (co - oc0) < cc ? co - oc0 : cc, (int8_t *)xbuf);
    for (int32_t b = 0; b < in->n; ++b) {
      const int8_t *img = in_data + (size_t)b * H * W * ci;
      int8_t *obase = out_data + (size_t)b * npix * co;
      if (padded) { /* rows -pad_h .. Hp - 1 - pad_h, columns -pad_w .. Wp - 1 - pad_w */
        const int32_t rowp = Wp * ci;
        const int32_t pre = p->pad_w * ci, x1 = (W + p->pad_w) < Wp ? (W + p->pad_w) : Wp;
        const int32_t mid = x1 * ci - pre;
        for (int32_t yp = 0; yp < Hp; ++yp) {
          int8_t *d = u.img + (size_t)yp * rowp;
          const int32_t y = yp - p->pad_h;
          if (y < 0 || y >= H || mid <= 0) {
            run_fill(d, zp, rowp);
            continue;
          }
          if (pre > 0) run_fill(d, zp, pre);
          run_copy(d + pre, img + (size_t)y * W * ci, mid);
          if (pre + mid < rowp) run_fill(d + pre + mid, zp, rowp - pre - mid);
        }
        memset(u.img + (size_t)Hp * rowp, 0, 4); /* the last row's over-read */
      }
      int32_t oy = 0, ox = 0;
      for (int32_t i = 0; i < npix; i += 2) {
        const int two = (i + 1 < npix);
        const int8_t *x[2];
        int32_t xs[2];
        for (int t = 0; t <= two; ++t) {
          const int32_t y0 = oy * sh - p->pad_h, x0 = ox * sw - p->pad_w;
          if (padded) {
            x[t] = u.img + ((size_t)oy * sh * Wp + (size_t)ox * sw) * ci;
            xs[t] = Wp * ci;
          } else if (rows_ok && y0 >= 0 && x0 >= 0 && y0 + kh <= H && x0 + kw <= W) {
            x[t] = img + ((size_t)y0 * W + (size_t)x0) * ci;
            xs[t] = W * ci;
          } else {
            im2col_gx(img, H, W, ci, kh, kw, y0, x0, zp, u.patch[t]);
            x[t] = u.patch[t];
            xs[t] = run;
          }
          if (++ox == Wo) {
            ox = 0;
            ++oy;
          }
        }
        if (!two) {
          x[1] = x[0];
          xs[1] = xs[0];
        }
        if (rows_ok)
          gx_xexp_rows(x[0], xs[0], x[1], xs[1], kh, padded ? run4 : run, xbuf);
        else
          gx_xexp(x[0], x[1], L->depth, xbuf);
        int8_t *oa = obase + (size_t)i * co;
        reds_gx22(ws, xbuf, oa, two ? oa + co : oa);
      }
    }
  }
}

/* DSP: a kh x kw conv (or padded 1x1) on reds_gx22, with the full input depth or a sliced one
 * (ci < ci_full: the in-slice weights, per tap the ci bytes of w[o][t * ci_full ..], are
 * gathered row by row while the gx stream is built, so there is no per-tap overhead). Called
 * from reds_conv2d_s8 directly so that conv_im2col's patch buffers are not on the stack below
 * conv_gx's. Returns 0 (not handled) if the layer does not fit reds_gx22 (gx_usable) or has a
 * single output channel at full depth (the plain 2x2 GEMM, GX_MIN_CO). */
int reds_conv2d_s8_dsp(const reds_conv_params_t *p, const reds_channel_quant_t *q,
                       const reds_dims_t *in, const int8_t *in_data, const reds_dims_t *filt,
                       const int8_t *filter_data, const int32_t *bias, const reds_dims_t *out,
                       int8_t *out_data) {
  const int32_t kh = filt->h, kw = filt->w, ci = in->c, ci_full = filt->c;
  if ((int64_t)kh * kw * ci > XEXP_DEPTH) return 0;
  if (ci == ci_full && out->c < GX_MIN_CO) return 0;
  gx_layer_t L;
  gx_layer(&L, p, q, filter_data, kh * kw * ci_full, kh * kw, ci, ci_full, bias);
  if (!gx_usable(&L, out->c)) return 0;
  conv_gx(p, &L, in, in_data, kh, kw, out, out_data);
  return 1;
}

/* DSP: the pointwise GEMM (1x1, no padding) over rows of pixels, as pointwise_rows in
 * conv2d_s8.c. Returns 0 (not handled) if the layer does not fit reds_gx22 or has fewer than
 * GX_MIN_CO output channels. */
int reds_conv2d_pointwise_s8_dsp(const reds_conv_params_t *p, const reds_channel_quant_t *q,
                                 const reds_pw_row_t *rows, int32_t nrows, int32_t ci,
                                 int32_t ci_full, const int8_t *filter_data, const int32_t *bias,
                                 int32_t co) {
  gx_layer_t L;
  gx_layer(&L, p, q, filter_data, ci_full, 1, ci, ci_full, bias);
  if (co < GX_MIN_CO || !gx_usable(&L, co)) return 0;
  pointwise_gx(&L, rows, nrows, co);
  return 1;
}
#endif /* REDS_USE_DSP && __ARM_FEATURE_DSP */

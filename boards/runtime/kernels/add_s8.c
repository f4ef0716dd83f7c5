/* SPDX-License-Identifier: Apache-2.0
 * ADD int8, same shapes, TFLM rescaling with left_shift 20 (docs in reds_kernels.h).
 *
 * TFLM: sa = RQ((x1 + off1) << 20, m1, s1), sb likewise, out = RQ(sa + sb, mo, so) + out_off,
 * clamped, with RQ = RDBPOT(SRDHM(a, m), e), e = -s (reds_requantize). The fast path computes
 * the same values with one rounding multiply (SMMLAR) per rescale, exactly:
 *  - Input side, v = x + off (|v| <= 256), a = v << 20. For m >= 0, SRDHM(a, m) =
 *    floor((a*m + 2^30) / 2^31) (reds_requantize_fast) = floor((2a*m + 2^31) / 2^32)
 *    = reds_smmulr(v21, m), v21 = 2a = x * 2^21 + off * 2^21 (|v21| <= 2^29, |r| <= 2^28).
 *    For e >= 1, RDBPOT(r, e) = floor((r + 2^(e-1) - [r < 0]) / 2^e) (see reds_rq), and
 *    [v < 0] may stand for [r < 0]: they differ only when r = 0, where both give 0. So
 *        sa = (reds_smmlar(v21, m, 2^(e-1)) + (v21 >> 31)) >> e        (v21 >> 31 = -[v < 0])
 *    with every term below 2^31 (|r| <= 2^28, 2^(e-1) <= 2^30), and sa = reds_smmulr(v21, m)
 *    for e = 0 (the larger-scale input always has m = 2^30, e = 0).
 *  - Output side: |sa|, |sb| <= 2^28, so s2 = 2 (sa + sb) fits and the same steps give, with
 *    the output offset folded in (floor(y / 2^e) + off = floor((y + off * 2^e) / 2^e)):
 *        out = (reds_smmlar(s2, mo, 2^(eo-1) + out_off * 2^eo) + (s2 >> 31)) >> eo
 *    for 1 <= eo <= 22 (|SRDHM| <= 2^29, |constant| < 2^29 + 2^21: no overflow).
 * Parameters outside these ranges (never produced by the interpreter) take the reference loop.
 * tests/c/runtime/c/add_check.c compares both against reds_requantize. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "reds_kernels.h"
#include "reds_quant.h"
#include "reds_dot.h"

/* How an input is rescaled (the proofs above):
 *  HALF    m = 2^30, e = 0 (the larger-scale input, real multiplier 0.5): SRDHM(v << 20, 2^30)
 *          = floor(v * 2^19 + 1/2) = v * 2^19 exactly, so 2 sa = x * 2^20 + off * 2^20;
 *  ROUND2  e >= 1: sa = (reds_smmlar(v21, m, 2^(e-1)) + (v21 >> 31)) >> e;
 *  ANY     any e: the same with the sign term masked off for e = 0 (then sa = reds_smmulr). */
enum { HALF, ROUND2, ANY };

typedef struct {
  int32_t off20, off21, m, c, mask, e; /* off * 2^20, off * 2^21, m, 2^(e-1), -[e >= 1], e */
} side_t;

typedef struct {
  side_t a, b;
  int32_t m, c, e;   /* output: mo, 2^(eo-1) + out_off * 2^eo, eo */
  uint32_t lo4, hi4; /* activation bounds, four bytes each */
} add_k_t;

/* 2 sa for one input value x (kind: a compile-time constant after inlining). */
static inline int32_t rescale_in2(int32_t x, const side_t *s, int kind) {
  if (kind == HALF) return x * (1 << 20) + s->off20;
  const int32_t v21 = x * (1 << 21) + s->off21;
  const int32_t sign = kind == ROUND2 ? (v21 >> 31) : ((v21 >> 31) & s->mask);
  return ((reds_smmlar(v21, s->m, s->c) + sign) >> s->e) * 2;
}

/* Output value + offset (unclamped) from s2 = 2 (sa + sb). */
static inline int32_t rescale_out(int32_t s2, const add_k_t *k) {
  return (reds_smmlar(s2, k->m, k->c) + (s2 >> 31)) >> k->e;
}

/* The fast loop, specialised on ka / kb / full: 4 outputs per step packed into one word
 * (reds_sat4_s8 when the activation range is all of int8, else reds_pack4_s8), the count % 4
 * tail one at a time. The constants stay behind k: the byte stores may alias *k, so they are
 * loaded next to their use (some as LDRD pairs) rather than kept as 13 loop invariants in
 * too few registers. Each step reads its 4 inputs before storing, so out may equal in1 or in2. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline void
add_fast(const add_k_t *k, size_t count, const int8_t *in1, const int8_t *in2, int8_t *out, int ka,
         int kb, int full) {
  const int8_t *const end1 = in1 + (count & ~(size_t)3);
  while (in1 != end1) {
    const int32_t s0 = rescale_in2(in1[0], &k->a, ka) + rescale_in2(in2[0], &k->b, kb);
    const int32_t s1 = rescale_in2(in1[1], &k->a, ka) + rescale_in2(in2[1], &k->b, kb);
    const int32_t s2 = rescale_in2(in1[2], &k->a, ka) + rescale_in2(in2[2], &k->b, kb);
    const int32_t s3 = rescale_in2(in1[3], &k->a, ka) + rescale_in2(in2[3], &k->b, kb);
    in1 += 4;
    in2 += 4;
    const int32_t v0 = rescale_out(s0, k), v1 = rescale_out(s1, k), v2 = rescale_out(s2, k),
                  v3 = rescale_out(s3, k);
    const uint32_t w =
        full ? reds_sat4_s8(v0, v1, v2, v3) : reds_pack4_s8(v0, v1, v2, v3, k->lo4, k->hi4);
    memcpy(out, &w, 4);
    out += 4;
  }
  for (size_t i = 0; i < (count & 3); ++i) {
    int32_t v = rescale_out(rescale_in2(in1[i], &k->a, ka) + rescale_in2(in2[i], &k->b, kb), k);
    const int32_t lo = (int8_t)(k->lo4 & 0xffu), hi = (int8_t)(k->hi4 & 0xffu);
    if (v < lo) v = lo;
    if (v > hi) v = hi;
    out[i] = (int8_t)v;
  }
}

/* One function per case: separate register allocation for each loop. */
#if defined(__GNUC__)
#define ADD_CASE static __attribute__((noinline)) void
#else
#define ADD_CASE static void
#endif
ADD_CASE add_s8_hh_sat(const add_k_t *k, size_t n, const int8_t *a, const int8_t *b, int8_t *o) {
  add_fast(k, n, a, b, o, HALF, HALF, 1);
}
ADD_CASE add_s8_hr_sat(const add_k_t *k, size_t n, const int8_t *a, const int8_t *b, int8_t *o) {
  add_fast(k, n, a, b, o, HALF, ROUND2, 1);
}
ADD_CASE add_s8_hr(const add_k_t *k, size_t n, const int8_t *a, const int8_t *b, int8_t *o) {
  add_fast(k, n, a, b, o, HALF, ROUND2, 0);
}
ADD_CASE add_s8_any(const add_k_t *k, size_t n, const int8_t *a, const int8_t *b, int8_t *o) {
  add_fast(k, n, a, b, o, ANY, ANY, 0);
}

/* Input side constants and kind; -1 if off / m / shift are outside the proven ranges. */
static int side_in(side_t *s, int32_t off, int32_t m, int32_t shift) {
  if (off < -128 || off > 128 || m < 0 || shift > 0 || shift < -31) return -1;
  s->off20 = off * (1 << 20);
  s->off21 = off * (1 << 21);
  s->m = m;
  s->e = -shift;
  s->c = s->e >= 1 ? (int32_t)((uint32_t)1 << (s->e - 1)) : 0;
  s->mask = s->e >= 1 ? -1 : 0;
  if (m == (1 << 30) && s->e == 0) return HALF;
  return s->e >= 1 ? ROUND2 : ANY;
}

static void add_ref(const reds_add_params_t *p, size_t count, const int8_t *in1, const int8_t *in2,
                    int8_t *out_data) {
  for (size_t i = 0; i < count; ++i) {
    const int32_t a = (in1[i] + p->input1_offset) * (1 << p->left_shift);
    const int32_t b = (in2[i] + p->input2_offset) * (1 << p->left_shift);
    const int32_t sa = reds_requantize(a, p->input1_multiplier, p->input1_shift);
    const int32_t sb = reds_requantize(b, p->input2_multiplier, p->input2_shift);
    int32_t v = reds_requantize(sa + sb, p->output_multiplier, p->output_shift) + p->output_offset;
    if (v < p->act.act_min) v = p->act.act_min;
    if (v > p->act.act_max) v = p->act.act_max;
    out_data[i] = (int8_t)v;
  }
}

reds_status_t reds_add_s8(const reds_add_params_t *p, size_t count, const int8_t *in1,
                          const int8_t *in2, int8_t *out_data) {
  add_k_t k;
  const int32_t lo = p->act.act_min, hi = p->act.act_max, eo = -p->output_shift;
  int ka = p->left_shift == 20
               ? side_in(&k.a, p->input1_offset, p->input1_multiplier, p->input1_shift)
               : -1;
  int kb = p->left_shift == 20
               ? side_in(&k.b, p->input2_offset, p->input2_multiplier, p->input2_shift)
               : -1;
  if (ka < 0 || kb < 0 || p->output_multiplier < 0 || eo < 1 || eo > 22 ||
      p->output_offset < -128 || p->output_offset > 127 || lo < -128 || hi > 127 || lo > hi) {
    add_ref(p, count, in1, in2, out_data);
    return REDS_OK;
  }
  k.m = p->output_multiplier;
  k.e = eo;
  k.c = (int32_t)(((uint32_t)1 << (eo - 1)) + (uint32_t)p->output_offset * ((uint32_t)1 << eo));
  k.lo4 = REDS_BYTES4(lo);
  k.hi4 = REDS_BYTES4(hi);
  if (kb < ka) { /* sa + sb = sb + sa: the HALF input (if any) goes first */
    const side_t t = k.a;
    const int8_t *tp = in1;
    const int tk = ka;
    k.a = k.b;
    k.b = t;
    in1 = in2;
    in2 = tp;
    ka = kb;
    kb = tk;
  }
  /* the interpreter's cases (larger-scale input HALF, no clamp inside int8) get their own loops */
  const int full = lo == -128 && hi == 127;
  if (full && ka == HALF && kb == HALF)
    add_s8_hh_sat(&k, count, in1, in2, out_data);
  else if (full && ka == HALF && kb == ROUND2)
    add_s8_hr_sat(&k, count, in1, in2, out_data);
  else if (ka == HALF && kb == ROUND2)
    add_s8_hr(&k, count, in1, in2, out_data);
  else
    add_s8_any(&k, count, in1, in2, out_data);
  return REDS_OK;
}

/* ------------------------------------------------------------------ op table entry (reds_ops.h)
 * REDS_KERNEL_MATH_ONLY: tests/c/runtime/c/add_check.c includes this file for its static math. */
#ifndef REDS_KERNEL_MATH_ONLY
#include "../src/reds_ops.h"

static reds_status_t add_options(reds_ctx_t *ctx, uint32_t oi, const reds_fb_t *fb,
                                 const reds_fb_table_t *opt) {
  REDS_OPT_U8(0, &ctx->ops[oi].fused, 0);
  return REDS_OK;
}

/* TFLM add Prepare (int8, no broadcast): equal shapes, rescale multipliers with left_shift 20. */
static reds_status_t add_prepare(reds_ctx_t *ctx, uint32_t oi) {
  reds_op_rec_t *op = &ctx->ops[oi];
  const int in = op->in[0], out = op->out, code = op->code;
  const reds_tensor_t *ti = &ctx->tensors[in], *to = &ctx->tensors[out];
  const int in2 = op->num_in >= 2 ? op->in[1] : -1;
  if (in2 < 0) return reds_err_op(ctx, REDS_ERR_MODEL, oi, code, "missing second input");
  TRY(reds_need_act(ctx, oi, in2));
  TRY(reds_need_type(ctx, oi, in, REDS_TYPE_INT8, "input type (int8 only)"));
  TRY(reds_need_type(ctx, oi, in2, REDS_TYPE_INT8, "input type (int8 only)"));
  TRY(reds_need_type(ctx, oi, out, REDS_TYPE_INT8, "output type (int8 only)"));
  const reds_tensor_t *t2 = &ctx->tensors[in2];
  if (ti->ndims != t2->ndims || ti->ndims != to->ndims ||
      memcmp(ti->dims, t2->dims, sizeof(int32_t) * ti->ndims) != 0 ||
      memcmp(ti->dims, to->dims, sizeof(int32_t) * ti->ndims) != 0)
    return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, code, "broadcasting ADD (shapes differ)");
  const float s1 = ti->scale, s2 = t2->scale;
  const double twice_max = 2.0 * (double)(s1 > s2 ? s1 : s2);
  int32_t m[3];
  int sh[3];
  const double real[3] = {(double)s1 / twice_max, (double)s2 / twice_max,
                          twice_max / ((double)(1 << 20) * (double)to->scale)};
  for (int j = 0; j < 3; ++j) {
    if (!(real[j] > 0.0 && real[j] < 1.0) ||
        reds_quantize_multiplier(real[j], &m[j], &sh[j]) != 0 || sh[j] > 0)
      return reds_err_op(ctx, REDS_ERR_QUANT, oi, code, "rescale multiplier not in (0, 1)");
    op->m[j] = m[j];
    op->s[j] = sh[j];
  }
  return reds_act_range(ctx, oi, to);
}

static reds_status_t add_check(reds_ctx_t *ctx, uint32_t oi, const uint32_t *ad, uint32_t k,
                               uint64_t *macs) {
  const reds_op_rec_t *op = &ctx->ops[oi];
  const int in = op->in[0], in2 = op->in[1], out = op->out;
  const reds_tensor_t *ti = &ctx->tensors[in];
  (void)k;
  (void)macs;
  int ok = ti->axis == ctx->tensors[in2].axis && ti->axis == ctx->tensors[out].axis;
  for (int d = 0; ok && d < ti->ndims; ++d)
    ok = reds_act_dim(ctx, ad, in, d) == reds_act_dim(ctx, ad, in2, d) &&
         reds_act_dim(ctx, ad, in, d) == reds_act_dim(ctx, ad, out, d);
  return ok ? REDS_OK : reds_err_inconsistent(ctx, oi);
}

static reds_status_t add_eval(reds_ctx_t *ctx, const reds_op_rec_t *op) {
  const reds_tensor_t *t1 = &ctx->tensors[op->in[0]], *t2 = &ctx->tensors[op->in[1]];
  const reds_add_params_t p = {-t1->zero_point,
                               -t2->zero_point,
                               ctx->tensors[op->out].zero_point,
                               20,
                               op->m[0],
                               op->m[1],
                               op->m[2],
                               op->s[0],
                               op->s[1],
                               op->s[2],
                               {op->act_min, op->act_max}};
  return reds_add_s8(&p, (size_t)reds_elems_at(ctx, ctx->cur_dim, op->out),
                     (const int8_t *)reds_in_ptr(ctx, op->in[0]),
                     (const int8_t *)reds_in_ptr(ctx, op->in[1]),
                     (int8_t *)reds_out_ptr(ctx, op->out));
}

const reds_op_kernel_t reds_op_add = {
    .options_type = REDS_OPTIONS_ADD,
    .options = add_options,
    .prepare = add_prepare,
    .check = add_check,
    .eval = add_eval,
};
#endif /* REDS_KERNEL_MATH_ONLY */

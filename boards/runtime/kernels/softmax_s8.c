/* SPDX-License-Identifier: Apache-2.0
 * SOFTMAX int8 -> int8, TFLM's gemmlowp fixed-point arithmetic (docs in reds_kernels.h).
 * Fixed-point formats: Qm means m integer bits of an int32 (raw / 2^(31 - m)). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "reds_kernels.h"
#include "reds_quant.h"
#include "../src/reds_ops.h"

/* x * 2^e with saturation (gemmlowp SaturatingRoundingMultiplyByPOT, e > 0) */
static int32_t sat_shl(int32_t x, int e) {
  const int32_t threshold = (int32_t)(((int64_t)1 << (31 - e)) - 1);
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return reds_shl_wrap(x, e);
}

/* exp(a) for a in [-1/4, 0), Q0 -> Q0: Taylor expansion around -1/8 */
static int32_t exp_quarter(int32_t a) {
  const int32_t exp_m1_8 = 1895147668; /* exp(-1/8) in Q0 */
  const int32_t one_third = 715827883; /* 1/3 in Q0 */
  const int32_t x = a + (1 << 28);     /* a + 1/8 */
  const int32_t x2 = reds_srdhm(x, x);
  const int32_t x3 = reds_srdhm(x2, x);
  const int32_t x4 = reds_srdhm(x2, x2);
  const int32_t x4_over_4 = reds_rdbpot(x4, 2);
  const int32_t poly = reds_rdbpot(reds_srdhm(x4_over_4 + x3, one_third) + x2, 1);
  return exp_m1_8 + reds_srdhm(exp_m1_8, x + poly);
}

/* exp(a) for a <= 0 given in Q5, result in Q0 (gemmlowp exp_on_negative_values<5>) */
static int32_t exp_neg_q5(int32_t a) {
  const int frac = 26; /* 31 - 5 */
  const int32_t quarter = (int32_t)1 << (frac - 2);
  const int32_t a_mod = (a & (quarter - 1)) - quarter;
  int32_t result = exp_quarter(sat_shl(a_mod, 5)); /* Rescale Q5 -> Q0 */
  const int32_t remainder = a_mod - a;
  /* exp(-2^k) for k = -2 .. 4 in Q0 */
  static const int32_t mult[7] = {1672461947, 1302514674, 790015084, 290630308,
                                  39332535,   720401,     242};
  for (int k = 0; k < 7; ++k)
    if (remainder & ((int32_t)1 << (frac - 2 + k))) result = reds_srdhm(result, mult[k]);
  if (a == 0) result = INT32_MAX;
  return result;
}

/* 1 / (1 + x) for x in [0, 1) in Q0 (Newton-Raphson, gemmlowp one_over_one_plus_x_for_x_in_0_1) */
static int32_t one_over_one_plus_x(int32_t a) {
  const int64_t s = (int64_t)a + INT32_MAX;
  const int32_t half_denom = (int32_t)((s + (s >= 0 ? 1 : -1)) / 2); /* RoundingHalfSum(a, 1) */
  const int32_t c48_17 = 1515870810;                                 /* 48/17 in Q2 */
  const int32_t cm32_17 = -1010580540;                               /* -32/17 in Q2 */
  int32_t x = c48_17 + reds_srdhm(half_denom, cm32_17);
  for (int i = 0; i < 3; ++i) {
    const int32_t hdx = reds_srdhm(half_denom, x);
    const int32_t one_minus = (1 << 29) - hdx; /* 1 in Q2 */
    x = x + sat_shl(reds_srdhm(x, one_minus), 2);
  }
  return sat_shl(x, 1); /* Q2 -> Q1 exactly, then Rescale Q1 -> Q0 */
}

/* exp of the scaled difference diff = x - max in [-255, 0] (Q0): within one call it depends on
 * diff alone, so each distinct value is computed once (both passes, all rows) and looked up
 * after; TFLM's reference evaluates it twice per element. 1 KB of stack. */
typedef struct {
  int32_t value[256];
  uint32_t have[8]; /* bit -diff set: value[-diff] computed */
} exp_memo_t;

static int32_t exp_of(exp_memo_t *m, const reds_softmax_params_t *p, int32_t diff) {
  const uint32_t i = (uint32_t)(-diff), bit = 1u << (i & 31u);
  if (!(m->have[i >> 5] & bit)) {
    const int32_t scaled =
        reds_srdhm(reds_shl_wrap(diff, p->input_left_shift), p->input_multiplier); /* Q5 */
    m->value[i] = exp_neg_q5(scaled);
    m->have[i >> 5] |= bit;
  }
  return m->value[i];
}

reds_status_t reds_softmax_s8(const reds_softmax_params_t *p, int32_t rows, int32_t depth,
                              const int8_t *in_data, int8_t *out_data) {
  exp_memo_t memo;
  memset(memo.have, 0, sizeof memo.have);
  for (int32_t r = 0; r < rows; ++r) {
    const int8_t *x = in_data + (size_t)r * depth;
    int8_t *o = out_data + (size_t)r * depth;
    int32_t max_in = -128;
    for (int32_t c = 0; c < depth; ++c)
      if (x[c] > max_in) max_in = x[c];

    int32_t sum = 0; /* Q12 */
    for (int32_t c = 0; c < depth; ++c) {
      const int32_t diff = x[c] - max_in;
      if (diff >= p->diff_min) sum += reds_rdbpot(exp_of(&memo, p, diff), 12); /* Q0 -> Q12 */
    }
    /* reciprocal of sum (GetReciprocal): sum = 2^bits_over_unit * (1 + f) */
    const uint32_t usum = (uint32_t)sum;
    int headroom = 0;
    while (headroom < 32 && !(usum & (0x80000000u >> headroom))) ++headroom;
    const int bits_over_unit = 12 - headroom;
    const int32_t shifted_minus_one =
        (int32_t)((headroom < 32 ? (usum << headroom) : 0u) - 0x80000000u);
    const int32_t scale = one_over_one_plus_x(shifted_minus_one);
    const int exponent = bits_over_unit + 31 - 8;

    for (int32_t c = 0; c < depth; ++c) {
      const int32_t diff = x[c] - max_in;
      int32_t v = -128;
      if (diff >= p->diff_min) {
        v = reds_rdbpot(reds_srdhm(scale, exp_of(&memo, p, diff)), exponent) - 128;
        if (v < -128) v = -128;
        if (v > 127) v = 127;
      }
      o[c] = (int8_t)v;
    }
  }
  return REDS_OK;
}

/* ------------------------------------------------------------------ op table entry (reds_ops.h) */

static reds_status_t softmax_options(reds_ctx_t *ctx, uint32_t oi, const reds_fb_t *fb,
                                     const reds_fb_table_t *opt) {
  if (reds_fb_f32(fb, opt, 0, 0.0f, &ctx->ops[oi].beta) < 0)
    return reds_err(ctx, REDS_ERR_TRUNCATED, "option out of range");
  return REDS_OK;
}

/* TFLM softmax Prepare (int8 -> int8): equal shapes, output scale 1/256 zero point -128. */
static reds_status_t softmax_prepare(reds_ctx_t *ctx, uint32_t oi) {
  reds_op_rec_t *op = &ctx->ops[oi];
  const int in = op->in[0], out = op->out, code = op->code;
  const reds_tensor_t *ti = &ctx->tensors[in], *to = &ctx->tensors[out];
  TRY(reds_need_type(ctx, oi, in, REDS_TYPE_INT8, "input type (int8 only)"));
  TRY(reds_need_type(ctx, oi, out, REDS_TYPE_INT8, "output type (int8 only)"));
  if (ti->ndims < 1 || ti->ndims != to->ndims ||
      memcmp(ti->dims, to->dims, sizeof(int32_t) * ti->ndims) != 0)
    return reds_err_op(ctx, REDS_ERR_SHAPE, oi, code, "input and output shapes differ");
  if (ti->dims[ti->ndims - 1] > 4095)
    return reds_err_op(ctx, REDS_ERR_UNSUPPORTED_OP, oi, code, "softmax depth above 4095");
  if (to->zero_point != -128 || to->scale != 1.0f / 256.0f)
    return reds_err_op(ctx, REDS_ERR_QUANT, oi, code,
                       "int8 output must have scale 1/256, zero point -128");
  /* PreprocessSoftmaxScaling(beta, input_scale, 5) and CalculateInputRadius(5, shift, 31) */
  double real = (double)op->beta * (double)ti->scale * (double)(1 << 26);
  if (real > 2147483647.0) real = 2147483647.0;
  int32_t m;
  int sh;
  if (!(real > 1.0) || reds_quantize_multiplier(real, &m, &sh) != 0 || sh < 0 || sh > 30)
    return reds_err_op(ctx, REDS_ERR_QUANT, oi, code, "beta * input scale out of range");
  op->m[0] = m;
  op->s[0] = sh;
  op->s[1] = -(int32_t)(((int64_t)31 << 26) >> sh); /* diff_min */
  return REDS_OK;
}

static reds_status_t softmax_check(reds_ctx_t *ctx, uint32_t oi, const uint32_t *ad, uint32_t k,
                                   uint64_t *macs) {
  const reds_op_rec_t *op = &ctx->ops[oi];
  const reds_tensor_t *ti = &ctx->tensors[op->in[0]];
  (void)k;
  (void)macs;
  int ok = ti->axis == ctx->tensors[op->out].axis;
  for (int d = 0; ok && d < ti->ndims; ++d)
    ok = reds_act_dim(ctx, ad, op->in[0], d) == reds_act_dim(ctx, ad, op->out, d);
  return ok ? REDS_OK : reds_err_inconsistent(ctx, oi);
}

static reds_status_t softmax_eval(reds_ctx_t *ctx, const reds_op_rec_t *op) {
  const reds_softmax_params_t p = {op->m[0], op->s[0], op->s[1]};
  const int32_t depth = reds_last_dim(ctx, ctx->cur_dim, op->in[0]);
  return reds_softmax_s8(
      &p, (int32_t)(reds_elems_at(ctx, ctx->cur_dim, op->in[0]) / (uint64_t)depth), depth,
      (const int8_t *)reds_in_ptr(ctx, op->in[0]), (int8_t *)reds_out_ptr(ctx, op->out));
}

const reds_op_kernel_t reds_op_softmax = {
    .options_type = REDS_OPTIONS_SOFTMAX,
    .options = softmax_options,
    .prepare = softmax_prepare,
    .check = softmax_check,
    .eval = softmax_eval,
};

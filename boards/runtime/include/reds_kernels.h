/* SPDX-License-Identifier: Apache-2.0
 * REDS int8 kernels: the single home of their documentation. Each kernel lives in its own file in
 * boards/runtime/kernels/<name>.c; a board may replace a file with a same-named one that passes
 * the same bit-exact tests (tests/c/runtime).
 *
 * Conventions for every kernel
 * - Layout: activations [N, H, W, C], channel fastest, stored compact at their *active* width
 *   (the channel count in the reds_dims_t passed in). Constant weights keep their full TFLite
 *   layout; the kernel uses the full width as the row stride and reads only the active prefix.
 * - Offsets: input_offset = -input_zero_point, in [-127, 128]; output_offset = output zero
 *   point, in [-128, 127]; weight zero points are 0 (symmetric int8, checked at load).
 * - Requantization: reds_requantize() (reds_quant.h), per output channel multiplier/shift.
 * - Arithmetic is TFLM's reference arithmetic bit for bit; accumulators are int32.
 *   Accumulator bound: |sum (x + in_off) * w| <= 255 * 128 * depth, below 2^31 for
 *   depth <= 65,793; the loader rejects deeper dot products (REDS_ERR_UNSUPPORTED_OP).
 * - Returns: REDS_OK; kernels trust shapes validated at load (reds_init) and only check
 *   what depends on data. No kernel needs scratch memory (arena.md rule 6).
 * - Direction: "in" parameters are read only, "out" are written, nothing else is touched.
 */
#ifndef REDS_KERNELS_H
#define REDS_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "reds_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Shape of a 4-D activation [N, H, W, C]; lower-rank tensors are right-aligned (N=H=W=1). */
typedef struct {
  int32_t n, h, w, c;
} reds_dims_t;

/* Fused activation as an int8 clamp range [act_min, act_max] (NONE: [-128, 127];
 * RELU: [max(-128, zp), 127]; RELU6: [.., min(127, zp + round(6 / scale))]). */
typedef struct {
  int32_t act_min, act_max;
} reds_act_t;

/* Per output channel requantization: multiplier[c], shift[c] for c < active output channels. */
typedef struct {
  const int32_t *multiplier; /* in, [C_out_full], Q31 in [2^30, 2^31) or 0 */
  const int8_t *shift;       /* in, [C_out_full], in [-31, 30] */
} reds_channel_quant_t;

typedef struct {
  int32_t stride_w, stride_h; /* >= 1 */
  int32_t pad_w, pad_h;       /* leading padding (TFLM ComputePadding), >= 0 */
  int32_t input_offset;       /* -input zero point, [-127, 128] */
  int32_t output_offset;      /* output zero point, [-128, 127] */
  reds_act_t act;
} reds_conv_params_t;

/* CONV_2D, int8 per-channel (per-tensor models repeat one multiplier per channel).
 * in      [N, H, W, Ci]       int8, Ci = active input channels
 * filter  [Co_full, kh, kw, Ci_full] int8 (TFLite layout), filt->n = Co_full, filt->c = Ci_full
 * bias    [Co_full]           int32 or NULL
 * out     [N, Ho, Wo, Co]     int8, Co = active output channels
 * Accumulator: depth = kh * kw * Ci. */
reds_status_t reds_conv2d_s8(const reds_conv_params_t *p, const reds_channel_quant_t *q,
                             const reds_dims_t *in, const int8_t *in_data, const reds_dims_t *filt,
                             const int8_t *filter_data, const int32_t *bias, const reds_dims_t *out,
                             int8_t *out_data);

/* DEPTHWISE_CONV_2D, int8 per-channel, depth multiplier 1.
 * in [N, H, W, C], filter [1, kh, kw, C_full] (filt->c = C_full), bias [C_full] or NULL,
 * out [N, Ho, Wo, C] with the same active C. Accumulator depth = kh * kw. */
reds_status_t reds_depthwise_conv2d_s8(const reds_conv_params_t *p, const reds_channel_quant_t *q,
                                       const reds_dims_t *in, const int8_t *in_data,
                                       const reds_dims_t *filt, const int8_t *filter_data,
                                       const int32_t *bias, const reds_dims_t *out,
                                       int8_t *out_data);

typedef struct {
  int32_t batches;       /* rows of the input, >= 1 */
  int32_t in_positions;  /* P: input row = P blocks of in_width channels (flatten), >= 1 */
  int32_t in_width;      /* active channels per position */
  int32_t in_stride;     /* full channels per position: weight column of (p, c) = p*stride + c */
  int32_t weights_cols;  /* full input depth of the weight matrix (row stride) */
  int32_t out_width;     /* active output units */
  int32_t input_offset;  /* -input zero point, [-127, 128] */
  int32_t output_offset; /* output zero point, [-128, 127] */
  reds_act_t act;
} reds_fc_params_t;

/* FULLY_CONNECTED, int8, per-channel or per-tensor (repeated multiplier).
 * in [batches, P * in_width] int8; weights [O_full, weights_cols] int8; bias [O_full] or NULL;
 * out [batches, out_width] int8. Accumulator depth = P * in_width. */
reds_status_t reds_fully_connected_s8(const reds_fc_params_t *p, const reds_channel_quant_t *q,
                                      const int8_t *in_data, const int8_t *weights,
                                      const int32_t *bias, int8_t *out_data);

typedef struct {
  int32_t stride_w, stride_h, filter_w, filter_h; /* >= 1 */
  int32_t pad_w, pad_h;                           /* >= 0 */
  reds_act_t act;
} reds_pool_params_t;

/* AVERAGE_POOL_2D int8: mean of the in-image window, rounded half away from zero; no zero-point
 * arithmetic (TFLM assumes input and output share quantization). in [N,H,W,C], out [N,Ho,Wo,C]. */
reds_status_t reds_avg_pool2d_s8(const reds_pool_params_t *p, const reds_dims_t *in,
                                 const int8_t *in_data, const reds_dims_t *out, int8_t *out_data);

/* PAD int8 (H and W only): out = in placed at row `top`, column `left`, every other element
 * `pad_value` (TFLM: the output zero point; input and output share quantization).
 * in [N,H,W,C], out [N,H+top+bottom,W+left+right,C]. */
reds_status_t reds_pad_s8(const reds_dims_t *in, const int8_t *in_data, int32_t top, int32_t left,
                          int8_t pad_value, const reds_dims_t *out, int8_t *out_data);

/* MAX_POOL_2D int8: max of the in-image window, then the activation clamp. */
reds_status_t reds_max_pool2d_s8(const reds_pool_params_t *p, const reds_dims_t *in,
                                 const int8_t *in_data, const reds_dims_t *out, int8_t *out_data);

typedef struct {
  int32_t same_quant; /* 1: input and output share scale and zero point (plain int division) */
  int32_t input_zp;   /* input zero point [-128, 127] */
  int32_t output_zp;  /* output zero point [-128, 127] */
  int32_t multiplier; /* input_scale / output_scale / (H*W) folded as TFLM does */
  int32_t shift;
} reds_mean_params_t;

/* MEAN over H and W of [N, H, W, C] int8 -> [N, C] int8 (keep_dims only changes the shape).
 * Sum bound: |sum| <= 255 * H * W < 2^31. */
reds_status_t reds_mean_s8(const reds_mean_params_t *p, const reds_dims_t *in,
                           const int8_t *in_data, int8_t *out_data);

typedef struct {
  int32_t input1_offset, input2_offset; /* -zero points, [-127, 128] */
  int32_t output_offset;                /* [-128, 127] */
  int32_t left_shift;                   /* 20 for int8 */
  int32_t input1_multiplier, input2_multiplier, output_multiplier;
  int32_t input1_shift, input2_shift, output_shift; /* <= 0 */
  reds_act_t act;
} reds_add_params_t;

/* ADD int8, same shapes (no broadcast): TFLM's rescale-to-common-scale scheme with
 * left_shift = 20: (x + off) << 20 fits int32 since |x + off| <= 255 < 2^11. */
reds_status_t reds_add_s8(const reds_add_params_t *p, size_t count, const int8_t *in1,
                          const int8_t *in2, int8_t *out_data);

/* RESHAPE: copy the active bytes (the constant shape input is ignored). */
reds_status_t reds_reshape(size_t bytes, const void *in_data, void *out_data);

typedef struct {
  int32_t input_multiplier; /* beta * input_scale * 2^26 quantized (> 1, left shift) */
  int32_t input_left_shift; /* >= 0 */
  int32_t diff_min;         /* inputs this far below the row max contribute 0 */
} reds_softmax_params_t;

/* SOFTMAX int8 -> int8 (output scale 1/256, zero point -128), over the last axis of
 * [rows, depth], gemmlowp fixed-point exp as TFLM; depth <= 4096. */
reds_status_t reds_softmax_s8(const reds_softmax_params_t *p, int32_t rows, int32_t depth,
                              const int8_t *in_data, int8_t *out_data);

/* QUANTIZE float32 -> int8: clamp(round(x / scale) + zp, -128, 127), the division in float. */
reds_status_t reds_quantize_f32_s8(float scale, int32_t zero_point, size_t count,
                                   const float *in_data, int8_t *out_data);

/* DEQUANTIZE int8 -> float32: (float)((double)scale * (x - zp)). */
reds_status_t reds_dequantize_s8_f32(float scale, int32_t zero_point, size_t count,
                                     const int8_t *in_data, float *out_data);

#ifdef __cplusplus
}
#endif

#endif /* REDS_KERNELS_H */

/* SPDX-License-Identifier: Apache-2.0
 * The optimized paths of the kernels (internal), each in its own file beside the portable
 * kernel that calls it: <op>_dsp.c for cores with the Armv7E-M DSP extension (REDS_USE_DSP on
 * Cortex-M4 / M7 / M33), <op>_simd.c for hosts whose compiler vectorizes (SSE2, NEON, wasm
 * SIMD). Every such file compiles to nothing elsewhere, so build lists can glob the folder.
 * The portable kernel calls a path only where its macro below is defined; a path that returns
 * 0 declines the layer (shapes or constants it does not take) and the portable code runs it.
 * Parameters as the portable kernel's in reds_kernels.h; results are the same bit for bit. */
#ifndef REDS_KERNELS_DSP_H
#define REDS_KERNELS_DSP_H

#include <stddef.h>
#include <stdint.h>

#include "reds_kernels.h"

/* Compile-time check of a layout the assembly relies on (C99: a negative array size fails). */
#define REDS_STATIC_ASSERT(name, cond) typedef char reds_static_assert_##name[(cond) ? 1 : -1]

/* One row of pixels for the pointwise (1x1, unpadded) GEMM of conv2d_s8.c and its DSP path: n
 * pixels at x + j * xstep, outputs at o + j * co. */
typedef struct {
  const int8_t *x;
  int32_t xstep, n;
  int8_t *o;
} reds_pw_row_t;

#if defined(REDS_USE_DSP) && defined(__ARM_FEATURE_DSP)
#define REDS_KERNELS_DSP 1

/* DEPTHWISE_CONV_2D, depthwise_conv2d_s8_dsp.c. */
int reds_depthwise_conv2d_s8_dsp(const reds_conv_params_t *p, const reds_channel_quant_t *q,
                                 const reds_dims_t *in, const int8_t *in_data,
                                 const reds_dims_t *filt, const int8_t *filter_data,
                                 const int32_t *bias, const reds_dims_t *out, int8_t *out_data);

/* CONV_2D kh x kw (or padded 1x1), conv2d_s8_dsp.c. */
int reds_conv2d_s8_dsp(const reds_conv_params_t *p, const reds_channel_quant_t *q,
                       const reds_dims_t *in, const int8_t *in_data, const reds_dims_t *filt,
                       const int8_t *filter_data, const int32_t *bias, const reds_dims_t *out,
                       int8_t *out_data);

/* CONV_2D 1x1 without padding over nrows rows of pixels (ci of the filter's ci_full input
 * channels active), conv2d_s8_dsp.c. */
int reds_conv2d_pointwise_s8_dsp(const reds_conv_params_t *p, const reds_channel_quant_t *q,
                                 const reds_pw_row_t *rows, int32_t nrows, int32_t ci,
                                 int32_t ci_full, const int8_t *filter_data, const int32_t *bias,
                                 int32_t co);

/* MEAN, mean_s8_dsp.c: the sums over hw pixels of channels 0..3 of x (pixel i at x + i * c,
 * c >= 4) into sum[4]. Declines hw > 256 (its int16 lanes hold |sum| <= 128 * hw <= 2^15). */
int reds_mean_sum4_s8_dsp(const int8_t *x, int32_t hw, int32_t c, int32_t sum[4]);
#endif /* REDS_USE_DSP && __ARM_FEATURE_DSP */

#if defined(__SSE2__) || defined(__ARM_NEON) || defined(__wasm_simd128__)
#define REDS_KERNELS_SIMD 1

/* FULLY_CONNECTED, fully_connected_s8_simd.c: input rows up to this many elements take the
 * SIMD path (their int16 copy lives on the caller's stack: 2 KB). */
enum { REDS_FC_SIMD_MAX_ROW = 1024 };
/* xo[i] = x[i] + input_offset (fits int16), i < n: the SIMD path's copy of one input row. */
void reds_fully_connected_input_s16_simd(const int8_t *x, int32_t n, int32_t input_offset,
                                         int16_t *xo);
/* acc[j] += the dot product of the input row (as xo) with weight row j (at w + j *
 * p->weights_cols), j < 4, over the active input (p->in_positions blocks of p->in_width). */
void reds_fully_connected_dot4_s8_simd(const reds_fc_params_t *p, const int16_t *xo,
                                       const int8_t *w, int32_t acc[4]);
#endif /* SSE2 || NEON || wasm SIMD */

#endif /* REDS_KERNELS_DSP_H */

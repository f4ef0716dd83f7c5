/* SPDX-License-Identifier: Apache-2.0
 * The DSP paths of the kernels (internal; REDS_USE_DSP on a core with __ARM_FEATURE_DSP). Each
 * returns 1 when it ran the layer, 0 when the portable kernel must (shapes or constants it does
 * not take). Parameters as the portable kernel's in reds_kernels.h. */
#ifndef REDS_KERNELS_DSP_H
#define REDS_KERNELS_DSP_H

#include <stdint.h>

#include "reds_kernels.h"

int reds_depthwise_conv2d_s8_dsp(const reds_conv_params_t *p, const reds_channel_quant_t *q,
                                 const reds_dims_t *in, const int8_t *in_data,
                                 const reds_dims_t *filt, const int8_t *filter_data,
                                 const int32_t *bias, const reds_dims_t *out, int8_t *out_data);

/* CONV_2D kh x kw (or padded 1x1), conv2d_s8_dsp.c. */
int reds_conv2d_s8_dsp(const reds_conv_params_t *p, const reds_channel_quant_t *q,
                       const reds_dims_t *in, const int8_t *in_data, const reds_dims_t *filt,
                       const int8_t *filter_data, const int32_t *bias, const reds_dims_t *out,
                       int8_t *out_data);

/* One row of pixels for the pointwise (1x1, unpadded) GEMM: n pixels at x + j * xstep, outputs
 * at o + j * co. */
typedef struct {
  const int8_t *x;
  int32_t xstep, n;
  int8_t *o;
} reds_pw_row_t;

/* CONV_2D 1x1 without padding over nrows rows of pixels (ci of the filter's ci_full input
 * channels active), conv2d_s8_dsp.c. */
int reds_conv2d_pointwise_s8_dsp(const reds_conv_params_t *p, const reds_channel_quant_t *q,
                                 const reds_pw_row_t *rows, int32_t nrows, int32_t ci,
                                 int32_t ci_full, const int8_t *filter_data, const int32_t *bias,
                                 int32_t co);

#endif /* REDS_KERNELS_DSP_H */

/* SPDX-License-Identifier: Apache-2.0
 * The one table of ops: builtin code -> the kernel's parts (reds_ops.h). */
#include <stddef.h>
#include <stdint.h>

#include "reds_ops.h"

static const reds_op_kernel_t *const kOps[] = {
    &reds_op_add,        &reds_op_avg_pool2d, &reds_op_conv2d,  &reds_op_depthwise_conv2d,
    &reds_op_dequantize, &reds_op_fully_connected, &reds_op_max_pool2d, &reds_op_reshape,
    &reds_op_softmax,    &reds_op_mean,       &reds_op_quantize, &reds_op_pad,
};

int reds_op_index(int code) {
  for (size_t i = 0; i < sizeof kOps / sizeof kOps[0]; ++i)
    if (kOps[i]->code == code) return (int)i;
  return -1;
}

const reds_op_kernel_t *reds_op_kernel_at(uint8_t kind) { return kOps[kind]; }

/* SPDX-License-Identifier: Apache-2.0
 * The one list of ops: each supported TFLite builtin's code, name and kernel (reds_ops.h). The
 * parser looks codes up here, error messages take names and the "supported: ..." list from here,
 * and reds_op_count() / reds_op_code_at() (reds.h) publish the codes. Adding an op: its kernel
 * file, one declaration and one entry below (docs/runtime.md, "Adding an op"). */
#include <stddef.h>
#include <stdint.h>

#include "reds_ops.h"

/* Defined in kernels/<op>.c. */
extern const reds_op_kernel_t reds_op_add, reds_op_avg_pool2d, reds_op_conv2d,
    reds_op_depthwise_conv2d, reds_op_dequantize, reds_op_fully_connected, reds_op_max_pool2d,
    reds_op_mean, reds_op_pad, reds_op_quantize, reds_op_reshape, reds_op_softmax;

typedef struct {
  int code;         /* TFLite BuiltinOperator value (schema.fbs) */
  const char *name; /* its name there */
  const reds_op_kernel_t *kernel;
} op_entry_t;

/* Sorted by name: the order of the "supported: ..." list. An op record's `kind` is its index. */
static const op_entry_t kOps[] = {
    {.code = 0, .name = "ADD", .kernel = &reds_op_add},
    {.code = 1, .name = "AVERAGE_POOL_2D", .kernel = &reds_op_avg_pool2d},
    {.code = 3, .name = "CONV_2D", .kernel = &reds_op_conv2d},
    {.code = 4, .name = "DEPTHWISE_CONV_2D", .kernel = &reds_op_depthwise_conv2d},
    {.code = 6, .name = "DEQUANTIZE", .kernel = &reds_op_dequantize},
    {.code = 9, .name = "FULLY_CONNECTED", .kernel = &reds_op_fully_connected},
    {.code = 17, .name = "MAX_POOL_2D", .kernel = &reds_op_max_pool2d},
    {.code = 40, .name = "MEAN", .kernel = &reds_op_mean},
    {.code = 34, .name = "PAD", .kernel = &reds_op_pad},
    {.code = 114, .name = "QUANTIZE", .kernel = &reds_op_quantize},
    {.code = 22, .name = "RESHAPE", .kernel = &reds_op_reshape},
    {.code = 25, .name = "SOFTMAX", .kernel = &reds_op_softmax},
};
#define NUM_OPS ((int)(sizeof kOps / sizeof kOps[0]))

/* Builtins the runtime refuses that converters often emit: named in the error all the same. */
static const struct {
  int code;
  const char *name;
} kOthers[] = {
    {.code = 2, .name = "CONCATENATION"}, {.code = 14, .name = "LOGISTIC"},
    {.code = 18, .name = "MUL"},          {.code = 19, .name = "RELU"},
    {.code = 21, .name = "RELU6"},        {.code = 28, .name = "TANH"},
    {.code = 39, .name = "TRANSPOSE"},    {.code = 41, .name = "SUB"},
    {.code = 43, .name = "SQUEEZE"},      {.code = 45, .name = "STRIDED_SLICE"},
    {.code = 77, .name = "SHAPE"},        {.code = 83, .name = "PACK"},
    {.code = 117, .name = "HARD_SWISH"},
};

int reds_op_index(int code) {
  for (int i = 0; i < NUM_OPS; ++i)
    if (kOps[i].code == code) return i;
  return -1;
}

const reds_op_kernel_t *reds_op_kernel_at(uint8_t kind) { return kOps[kind].kernel; }

const char *reds_op_name(int code) {
  const int i = reds_op_index(code);
  if (i >= 0) return kOps[i].name;
  for (size_t j = 0; j < sizeof kOthers / sizeof kOthers[0]; ++j)
    if (kOthers[j].code == code) return kOthers[j].name;
  return NULL;
}

int reds_op_count(void) { return NUM_OPS; }

int reds_op_code_at(int i) { return i >= 0 && i < NUM_OPS ? kOps[i].code : -1; }

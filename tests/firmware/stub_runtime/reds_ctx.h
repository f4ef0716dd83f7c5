/* SPDX-License-Identifier: Apache-2.0
 * TEST STAND-IN for boards/runtime/include/reds_ctx.h (see reds_status.h here). */
#ifndef REDS_CTX_H
#define REDS_CTX_H
#include <stddef.h>
#include <stdint.h>
#include "reds.h"
struct reds_ctx {
    const uint8_t *model;
    size_t model_len;
    uint32_t active;
    int8_t in[16];
    int8_t out[4];
    const char *err;
};
#endif

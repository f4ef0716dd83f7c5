/* SPDX-License-Identifier: Apache-2.0
 * Status code strings (designated initializers, indexed by -status). */
#include "reds_status.h"

#include <stddef.h>

static const char *const kText[REDS_STATUS_COUNT] = {
    [-REDS_OK] = "ok",
    [-REDS_ERR_ARG] = "bad argument",
    [-REDS_ERR_MODEL] = "invalid model",
    [-REDS_ERR_TRUNCATED] = "model truncated or offset out of range",
    [-REDS_ERR_UNSUPPORTED_OP] = "unsupported operator or type",
    [-REDS_ERR_SHAPE] = "shape mismatch",
    [-REDS_ERR_QUANT] = "invalid quantization parameters",
    [-REDS_ERR_CAPACITY] = "model exceeds an integer limit of the runtime",
    [-REDS_ERR_ARENA] = "arena too small",
    [-REDS_ERR_METADATA] = "invalid REDS metadata",
    [-REDS_ERR_CRC] = "REDS metadata CRC mismatch",
    [-REDS_ERR_VERSION] = "unsupported REDS metadata version",
    [-REDS_ERR_SUBNET] = "subnet out of range",
    [-REDS_ERR_STATE] = "context not initialised",
};

static const char *const kName[REDS_STATUS_COUNT] = {
    [-REDS_OK] = "REDS_OK",
    [-REDS_ERR_ARG] = "REDS_ERR_ARG",
    [-REDS_ERR_MODEL] = "REDS_ERR_MODEL",
    [-REDS_ERR_TRUNCATED] = "REDS_ERR_TRUNCATED",
    [-REDS_ERR_UNSUPPORTED_OP] = "REDS_ERR_UNSUPPORTED_OP",
    [-REDS_ERR_SHAPE] = "REDS_ERR_SHAPE",
    [-REDS_ERR_QUANT] = "REDS_ERR_QUANT",
    [-REDS_ERR_CAPACITY] = "REDS_ERR_CAPACITY",
    [-REDS_ERR_ARENA] = "REDS_ERR_ARENA",
    [-REDS_ERR_METADATA] = "REDS_ERR_METADATA",
    [-REDS_ERR_CRC] = "REDS_ERR_CRC",
    [-REDS_ERR_VERSION] = "REDS_ERR_VERSION",
    [-REDS_ERR_SUBNET] = "REDS_ERR_SUBNET",
    [-REDS_ERR_STATE] = "REDS_ERR_STATE",
};

static const char *lookup(const char *const *table, int status) {
  if (status > 0 || status <= REDS_STATUS_MIN) return "unknown";
  const char *s = table[-status];
  return s != NULL ? s : "unknown"; /* a code added without a string */
}

const char *reds_status_str(int status) { return lookup(kText, status); }
const char *reds_status_name(int status) { return lookup(kName, status); }

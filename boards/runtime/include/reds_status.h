/* SPDX-License-Identifier: Apache-2.0
 * Status codes of the REDS runtime: REDS_OK = 0, errors negative. reds_status_str() gives a short
 * fixed text per code; reds_last_error() (reds.h) gives the detail of the last failure.
 */
#ifndef REDS_STATUS_H
#define REDS_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  REDS_OK = 0,
  REDS_ERR_ARG = -1,            /* NULL pointer or bad argument from the caller */
  REDS_ERR_MODEL = -2,          /* not a valid TFLite flatbuffer (identifier, offsets, sizes) */
  REDS_ERR_TRUNCATED = -3,      /* an offset or length points past the end of the model */
  REDS_ERR_UNSUPPORTED_OP = -4, /* operator, its data type or one of its options */
  REDS_ERR_SHAPE = -5,          /* tensor shapes do not match what the operator needs */
  REDS_ERR_QUANT = -6,          /* missing or invalid quantization parameters */
  REDS_ERR_CAPACITY = -7, /* a count exceeds its integer type (message names limit and value) */
  REDS_ERR_ARENA = -8,    /* arena too small for the (smallest / selected) subnet */
  REDS_ERR_METADATA = -9, /* REDS metadata blob malformed or inconsistent */
  REDS_ERR_CRC = -10,     /* REDS metadata CRC-32 mismatch */
  REDS_ERR_VERSION = -11, /* REDS metadata version not supported */
  REDS_ERR_SUBNET = -12,  /* subnet index out of range */
  REDS_ERR_STATE = -13,   /* context not initialised */
  REDS_STATUS_MIN = -14   /* one below the lowest code; not a status */
} reds_status_t;

/* Number of status codes (REDS_OK and every error). */
#define REDS_STATUS_COUNT (-(int)REDS_STATUS_MIN)

/* Short fixed text of a status; "unknown" for anything that is not a status. */
const char *reds_status_str(int status);
/* Stable identifier of a status ("REDS_ERR_ARENA"); "unknown" for anything else. */
const char *reds_status_name(int status);

#ifdef __cplusplus
}
#endif

#endif /* REDS_STATUS_H */

/* SPDX-License-Identifier: Apache-2.0
 * Error text of a context, formatted without stdio (REDS_STRIP_ERROR_STRINGS drops the text). */
#include <string.h>

#include "reds_internal.h"

#ifndef REDS_STRIP_ERROR_STRINGS
static void put_str(char *buf, size_t *len, const char *s) {
  if (s == NULL) return;
  while (*s != '\0' && *len + 1 < REDS_ERROR_LEN) buf[(*len)++] = *s++;
  buf[*len] = '\0';
}

static void put_num(char *buf, size_t *len, int64_t v) {
  char tmp[24];
  int n = 0;
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  do {
    tmp[n++] = (char)('0' + (int)(u % 10u));
    u /= 10u;
  } while (u != 0 && n < 22);
  if (v < 0) tmp[n++] = '-';
  while (n > 0 && *len + 1 < REDS_ERROR_LEN) buf[(*len)++] = tmp[--n];
  buf[*len] = '\0';
}

/* "op N (NAME): " or "op N (builtin C): " */
static void put_op(char *buf, size_t *len, uint32_t op_index, int op_code) {
  put_str(buf, len, "op ");
  put_num(buf, len, op_index);
  put_str(buf, len, " (");
  const char *name = reds_op_name(op_code);
  if (name != NULL) {
    put_str(buf, len, name);
  } else {
    put_str(buf, len, "builtin ");
    put_num(buf, len, op_code);
  }
  put_str(buf, len, "): ");
}
#endif

reds_status_t reds_err2(reds_ctx_t *ctx, reds_status_t code, const char *s1, int64_t n1,
                        const char *s2, int64_t n2, const char *s3) {
#ifndef REDS_STRIP_ERROR_STRINGS
  size_t len = 0;
  ctx->error[0] = '\0';
  put_str(ctx->error, &len, s1);
  if (s2 != NULL) {
    put_num(ctx->error, &len, n1);
    put_str(ctx->error, &len, s2);
  }
  if (s3 != NULL) {
    put_num(ctx->error, &len, n2);
    put_str(ctx->error, &len, s3);
  }
#else
  (void)s1;
  (void)n1;
  (void)s2;
  (void)n2;
  (void)s3;
  ctx->error[0] = '\0';
#endif
  return code;
}

reds_status_t reds_err(reds_ctx_t *ctx, reds_status_t code, const char *s1) {
  return reds_err2(ctx, code, s1, 0, NULL, 0, NULL);
}

reds_status_t reds_err_op(reds_ctx_t *ctx, reds_status_t code, uint32_t op_index, int op_code,
                          const char *what) {
#ifndef REDS_STRIP_ERROR_STRINGS
  size_t len = 0;
  ctx->error[0] = '\0';
  put_op(ctx->error, &len, op_index, op_code);
  put_str(ctx->error, &len, what);
#else
  (void)op_index;
  (void)op_code;
  (void)what;
  ctx->error[0] = '\0';
#endif
  return code;
}

/* The supported names come from the op table (reds_op_count / reds_op_code_at). Longest text
 * today: "op 4294967295 (builtin 2147483647): not supported by the REDS runtime (supported: "
 * (82) + the 12 names with their separators (129) + ")" = 212 characters, within
 * REDS_ERROR_LEN - 1. A name that would not fit whole is left out with the rest, so the text
 * never ends mid-name. */
reds_status_t reds_err_unsupported_op(reds_ctx_t *ctx, uint32_t op_index, int op_code) {
#ifndef REDS_STRIP_ERROR_STRINGS
  size_t len = 0;
  ctx->error[0] = '\0';
  put_op(ctx->error, &len, op_index, op_code);
  put_str(ctx->error, &len, "not supported by the REDS runtime (supported: ");
  for (int i = 0; i < reds_op_count(); ++i) {
    const char *name = reds_op_name(reds_op_code_at(i));
    const size_t need = (i > 0 ? 2u : 0u) + strlen(name) + 1u; /* ", NAME" and a ')' */
    if (len + need + 1u > REDS_ERROR_LEN) break;
    if (i > 0) put_str(ctx->error, &len, ", ");
    put_str(ctx->error, &len, name);
  }
  put_str(ctx->error, &len, ")");
#else
  (void)op_index;
  (void)op_code;
  ctx->error[0] = '\0';
#endif
  return REDS_ERR_UNSUPPORTED_OP;
}

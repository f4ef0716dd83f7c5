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
  (void)s1; (void)n1; (void)s2; (void)n2; (void)s3;
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
  put_str(ctx->error, &len, "op ");
  put_num(ctx->error, &len, op_index);
  put_str(ctx->error, &len, " (");
  const char *name = reds_op_name(op_code);
  if (name != NULL) {
    put_str(ctx->error, &len, name);
  } else {
    put_str(ctx->error, &len, "builtin ");
    put_num(ctx->error, &len, op_code);
  }
  put_str(ctx->error, &len, "): ");
  put_str(ctx->error, &len, what);
#else
  (void)op_index; (void)op_code; (void)what;
  ctx->error[0] = '\0';
#endif
  return code;
}

/* SPDX-License-Identifier: Apache-2.0
 * Reply writer. See fw_out.h. */
#include "fw_out.h"

#include "hal.h"

#define OUT_BUF 128
static char out_buf[OUT_BUF];
static size_t out_len;

void out_flush(void) {
  if (out_len > 0) {
    hal_write(out_buf, out_len);
    out_len = 0;
  }
}

void out_char(char c) {
  if (out_len >= OUT_BUF) {
    out_flush();
  }
  out_buf[out_len++] = c;
}

void out_str(const char *s) {
  while (*s) {
    out_char(*s++);
  }
}

void out_u64(uint64_t v) {
  char tmp[21];
  int n = 0;
  do {
    tmp[n++] = (char)('0' + (v % 10u));
    v /= 10u;
  } while (v != 0u);
  while (n > 0) {
    out_char(tmp[--n]);
  }
}

void out_i64(int64_t v) {
  if (v < 0) {
    out_char('-');
    out_u64((uint64_t)0 - (uint64_t)v);
  } else {
    out_u64((uint64_t)v);
  }
}

static const char hexdig[] = "0123456789abcdef";

void out_hex32(uint32_t v) {
  for (int s = 28; s >= 0; s -= 4) {
    out_char(hexdig[(v >> s) & 0xfu]);
  }
}

void out_hex_bytes(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    out_char(hexdig[p[i] >> 4]);
    out_char(hexdig[p[i] & 0xfu]);
  }
}

void out_kv_u64(const char *key, uint64_t v) {
  out_char(' ');
  out_str(key);
  out_char('=');
  out_u64(v);
}

void out_kv_str(const char *key, const char *v) {
  out_char(' ');
  out_str(key);
  out_char('=');
  out_str(v);
}

void out_kv_hex32(const char *key, uint32_t v) {
  out_char(' ');
  out_str(key);
  out_char('=');
  out_hex32(v);
}

void out_kv_milli(const char *key, uint64_t thousandths) {
  uint64_t frac = thousandths % 1000u;
  out_char(' ');
  out_str(key);
  out_char('=');
  out_u64(thousandths / 1000u);
  out_char('.');
  out_char((char)('0' + frac / 100u));
  out_char((char)('0' + (frac / 10u) % 10u));
  out_char((char)('0' + frac % 10u));
}

void out_eol(void) {
  out_char('\r');
  out_char('\n');
  out_flush();
}

void out_error(const char *msg) {
  out_str("e-[");
  out_str(msg);
  out_str("]");
  out_eol();
}

void out_ready(void) {
  out_str("m-ready");
  out_eol();
}

void out_error_kv(const char *msg, const char *key, uint64_t v, const char *key2, uint64_t v2) {
  out_str("e-[");
  out_str(msg);
  if (key) {
    out_kv_u64(key, v);
  }
  if (key2) {
    out_kv_u64(key2, v2);
  }
  out_str("]");
  out_eol();
}

/* Scientific notation by scaling with powers of ten in double: a float32 has at most 39
 * decimal exponents, so the scaling error stays far below the 9th digit. */
void out_f32(float f) {
  double v = (double)f;
  if (v != v) {
    out_str("nan");
    return;
  }
  if (v < 0) {
    out_char('-');
    v = -v;
  }
  if (v > 3.5e38) {
    out_str("inf");
    return;
  }
  if (v == 0.0) {
    out_str("0.0");
    return;
  }
  int e = 0;
  while (v >= 10.0) {
    v /= 10.0;
    e++;
  }
  while (v < 1.0) {
    v *= 10.0;
    e--;
  }
  uint64_t digits = (uint64_t)(v * 1e8 + 0.5); /* 9 significant digits */
  if (digits >= 1000000000u) {                 /* rounding carried: 9.99999999x -> 10 */
    digits /= 10u;
    e++;
  }
  out_u64(digits / 100000000u);
  out_char('.');
  uint64_t frac = digits % 100000000u;
  for (uint64_t d = 10000000u; d > 0; d /= 10u) {
    out_char((char)('0' + (frac / d) % 10u));
  }
  out_char('e');
  out_char(e < 0 ? '-' : '+');
  uint32_t ae = (uint32_t)(e < 0 ? -e : e);
  out_char((char)('0' + ae / 10u));
  out_char((char)('0' + ae % 10u));
}

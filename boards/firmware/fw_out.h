/* SPDX-License-Identifier: Apache-2.0
 * Reply writer: builds `m-...` / `e-[...]` lines through a small static buffer and
 * hal_write(). Own number formatting (no printf: newlib-nano lacks %llu and may malloc).
 */
#ifndef REDS_FW_OUT_H
#define REDS_FW_OUT_H

#include <stddef.h>
#include <stdint.h>

void out_str(const char *s);
void out_char(char c);
void out_u64(uint64_t v);
void out_i64(int64_t v);
void out_hex32(uint32_t v); /* 8 lowercase hex digits */
void out_hex_bytes(const uint8_t *p, size_t n);
/* " key=value" pieces of the key=value payloads */
void out_kv_u64(const char *key, uint64_t v);
void out_kv_str(const char *key, const char *v);
void out_kv_hex32(const char *key, uint32_t v);
/* value with three decimals from thousandths, e.g. 1234 -> "1.234" */
void out_kv_milli(const char *key, uint64_t thousandths);
/* a float as d.dddddddde+XX, e.g. -1.25000000e-03 (9 significant digits read back as the
 * same float32); nan, inf, 0.0 */
void out_f32(float v);
void out_eol(void); /* "\r\n" and flush */
void out_flush(void);

/* Whole lines */
void out_error(const char *msg); /* e-[msg] */
void out_ready(void);            /* m-ready */
/* e-[msg key=v key2=v2] (key or key2 NULL: left out) */
void out_error_kv(const char *msg, const char *key, uint64_t v, const char *key2, uint64_t v2);

#endif /* REDS_FW_OUT_H */

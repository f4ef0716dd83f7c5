/* SPDX-License-Identifier: Apache-2.0
 * Command words, numbers and hex. See fw_args.h. */
#include "fw_args.h"

#include <string.h>

int fw_split_args(char *line, char **argv) {
  int argc = 0;
  char *p = line;
  while (*p) {
    while (*p == ' ') {
      *p++ = '\0';
    }
    if (*p == '\0') {
      break;
    }
    if (argc == FW_MAX_ARGS) {
      return -1;
    }
    argv[argc++] = p;
    while (*p && *p != ' ') {
      p++;
    }
  }
  return argc;
}

int fw_parse_u32(const char *s, uint32_t *out) {
  uint64_t v = 0;
  if (s == NULL || *s == '\0') {
    return 0;
  }
  for (; *s; s++) {
    if (*s < '0' || *s > '9') {
      return 0;
    }
    v = v * 10u + (uint64_t)(*s - '0');
    if (v > 0xffffffffu) {
      return 0;
    }
  }
  *out = (uint32_t)v;
  return 1;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

long fw_hex_bytes(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || (n & 1u) != 0) {
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    if (hexval(s[i]) < 0) {
      return -1;
    }
  }
  return (long)(n / 2);
}

void fw_hex_decode(const char *s, uint8_t *dst, size_t nbytes) {
  for (size_t i = 0; i < nbytes; i++) {
    dst[i] = (uint8_t)((hexval(s[2 * i]) << 4) | hexval(s[2 * i + 1]));
  }
}

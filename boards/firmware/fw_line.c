/* SPDX-License-Identifier: Apache-2.0
 * Command framing: bytes to '%'-terminated lines. See fw_line.h. */
#include "fw_line.h"

void fw_line_init(fw_line_t *l, char *buf, size_t cap) {
  l->buf = buf;
  l->cap = cap;
  l->len = 0;
  l->overflow = 0;
  l->bad_byte = 0;
  l->buf[0] = '\0';
}

static fw_line_event_t finish(fw_line_t *l) {
  fw_line_event_t ev = FW_LINE_READY;
  if (l->overflow) {
    ev = FW_LINE_TOO_LONG;
  } else if (l->bad_byte) {
    ev = FW_LINE_BAD_BYTE;
  }
  /* trim trailing blanks */
  while (l->len > 0 && l->buf[l->len - 1] == ' ') {
    l->len--;
  }
  l->buf[l->len] = '\0';
  if (ev != FW_LINE_READY) {
    l->buf[0] = '\0';
  }
  l->len = 0;
  l->overflow = 0;
  l->bad_byte = 0;
  return ev;
}

fw_line_event_t fw_line_feed(fw_line_t *l, uint8_t c) {
  if (c == '%') {
    return finish(l);
  }
  if (c == '\r' || c == '\n' || c == '\t') {
    return FW_LINE_PENDING;
  }
  if (c < 0x20 || c > 0x7e) {
    l->bad_byte = 1;
    return FW_LINE_PENDING;
  }
  if (c == ' ' && l->len == 0) {
    return FW_LINE_PENDING; /* leading blanks */
  }
  if (l->overflow || l->bad_byte) {
    return FW_LINE_PENDING; /* discarding to the next '%' */
  }
  if (l->len >= l->cap) {
    l->overflow = 1;
    return FW_LINE_PENDING;
  }
  l->buf[l->len++] = (char)c;
  return FW_LINE_PENDING;
}

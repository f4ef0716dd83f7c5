/* SPDX-License-Identifier: Apache-2.0
 * Command framing of the serial link (EEMBC EnergyRunner / MLPerf Tiny style): a command is
 * every byte up to a '%'. CR, LF and TAB are dropped; any other byte outside printable ASCII
 * marks the line as garbage; a line longer than the buffer is discarded up to the next '%'.
 * Pure state machine: no I/O, so the host tests and the fuzzer drive it directly.
 */
#ifndef REDS_FW_LINE_H
#define REDS_FW_LINE_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
  FW_LINE_PENDING = 0, /* need more bytes */
  FW_LINE_READY,       /* a complete line is in buf (NUL-terminated, trimmed) */
  FW_LINE_TOO_LONG,    /* the line overflowed; it was discarded up to this '%' */
  FW_LINE_BAD_BYTE     /* the line held a non-printable byte; discarded up to this '%' */
} fw_line_event_t;

typedef struct {
  char *buf;  /* caller-owned, cap + 1 bytes */
  size_t cap; /* longest line kept */
  size_t len;
  uint8_t overflow;
  uint8_t bad_byte;
} fw_line_t;

void fw_line_init(fw_line_t *l, char *buf, size_t cap);
/* Feed one byte; returns what the byte completed. After READY/TOO_LONG/BAD_BYTE the state is
 * reset for the next line (the READY text stays in buf until the next byte is fed). */
fw_line_event_t fw_line_feed(fw_line_t *l, uint8_t byte);

#endif /* REDS_FW_LINE_H */

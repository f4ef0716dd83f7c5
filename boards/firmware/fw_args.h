/* SPDX-License-Identifier: Apache-2.0
 * Words of a command line (after fw_line framing): splitting, strict decimal numbers, hex.
 * Pure functions, no I/O.
 */
#ifndef REDS_FW_ARGS_H
#define REDS_FW_ARGS_H

#include <stddef.h>
#include <stdint.h>

/* Most words per command (the command word included). */
#define FW_MAX_ARGS 6

/* Splits `line` in place at blanks into argv[FW_MAX_ARGS]; returns argc, or -1 when there are
 * more than FW_MAX_ARGS words. */
int fw_split_args(char *line, char **argv);

/* Strict decimal u32: digits only, no sign, no overflow. Returns 1 on success. */
int fw_parse_u32(const char *s, uint32_t *out);

/* Byte count of a hex string, or -1 (empty, odd length, a non-hex digit). */
long fw_hex_bytes(const char *s);

/* Decodes `nbytes` bytes of a string that fw_hex_bytes accepted. */
void fw_hex_decode(const char *s, uint8_t *dst, size_t nbytes);

#endif /* REDS_FW_ARGS_H */

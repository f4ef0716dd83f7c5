/* SPDX-License-Identifier: Apache-2.0
 * CRC-32 (IEEE 802.3, reflected 0xEDB88320), identical to Python's zlib.crc32. */
#ifndef REDS_FW_CRC32_H
#define REDS_FW_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Start with crc = 0; feed chunks by passing the previous result. */
uint32_t fw_crc32_update(uint32_t crc, const uint8_t *data, size_t len);

#endif /* REDS_FW_CRC32_H */

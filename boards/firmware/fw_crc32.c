/* SPDX-License-Identifier: Apache-2.0
 * Bitwise CRC-32, no table: small flash, and speed is irrelevant at serial rates. */
#include "fw_crc32.h"

uint32_t fw_crc32_update(uint32_t crc, const uint8_t *data, size_t len)
{
    crc = ~crc;
    for (size_t i = 0; i < len; i++) {
        crc ^= data[i];
        for (int b = 0; b < 8; b++) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}

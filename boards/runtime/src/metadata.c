/* SPDX-License-Identifier: Apache-2.0
 * REDS metadata blob (docs/metadata.md, version 1): parse, CRC-32 and validation. */
#include <string.h>

#include "flatbuffer.h"
#include "reds_internal.h"

#define HEADER_BYTES 32u

uint32_t reds_crc32(const uint8_t *data, uint32_t len) {
  /* IEEE 802.3 (reflected 0xEDB88320), nibble table: 64 bytes of flash instead of 1 KB */
  static const uint32_t tab[16] = {0x00000000u, 0x1db71064u, 0x3b6e20c8u, 0x26d930acu,
                                   0x76dc4190u, 0x6b6b51f4u, 0x4db26158u, 0x5005713cu,
                                   0xedb88320u, 0xf00f9344u, 0xd6d6a3e8u, 0xcb61b38cu,
                                   0x9b64c2b0u, 0x86d3d2d4u, 0xa00ae278u, 0xbdbdf21cu};
  uint32_t crc = 0xffffffffu;
  for (uint32_t i = 0; i < len; ++i) {
    crc ^= data[i];
    crc = (crc >> 4) ^ tab[crc & 15u];
    crc = (crc >> 4) ^ tab[crc & 15u];
  }
  return crc ^ 0xffffffffu;
}

reds_status_t reds_metadata_parse(reds_ctx_t *ctx, const uint8_t *b, uint32_t len,
                                  const uint8_t **rows) {
  if (b == NULL || len < HEADER_BYTES)
    return reds_err2(ctx, REDS_ERR_METADATA, "REDS blob has ", len,
                     " bytes, less than its 32-byte header", 0, NULL);
  if (memcmp(b, "REDS", 4) != 0)
    return reds_err(ctx, REDS_ERR_METADATA, "REDS blob magic is not \"REDS\"");
  const uint32_t version = reds_ld_u16(b + 4);
  if (version != 1)
    return reds_err2(ctx, REDS_ERR_VERSION, "REDS metadata version ", version,
                     " not supported (runtime reads 1)", 0, NULL);
  if (reds_ld_u16(b + 6) != HEADER_BYTES)
    return reds_err(ctx, REDS_ERR_METADATA, "REDS header_bytes is not 32");
  const uint32_t total = reds_ld_u32(b + 8);
  if (total > len || (total & 3u) != 0 || total < HEADER_BYTES)
    return reds_err2(ctx, REDS_ERR_METADATA, "REDS total_bytes ", total,
                     " invalid for a buffer of ", len, " bytes");
  const uint32_t G = reds_ld_u16(b + 16), K = reds_ld_u16(b + 18), M = reds_ld_u16(b + 20);
  const uint64_t expect = HEADER_BYTES + 4ull * G + 8ull * M + (uint64_t)K * (8ull + 4ull * G);
  if (expect != total)
    return reds_err2(ctx, REDS_ERR_METADATA, "REDS total_bytes ", total,
                     " does not match the table sizes (", (int64_t)expect, ")");
  const uint32_t crc = reds_crc32(b + 16, total - 16);
  if (crc != reds_ld_u32(b + 12))
    return reds_err2(ctx, REDS_ERR_CRC, "REDS CRC-32 mismatch: stored ", reds_ld_u32(b + 12),
                     ", computed ", crc, "");
  if (reds_ld_u32(b + 24) != 0) return reds_err(ctx, REDS_ERR_METADATA, "REDS subgraph is not 0");
  if (K < 1) return reds_err(ctx, REDS_ERR_METADATA, "REDS metadata has no subnets");
  ctx->full_width = (uint32_t *)reds_persist(ctx, 4ull * G);
  ctx->width = (uint32_t *)reds_persist(ctx, 4ull * G * K);
  if (ctx->full_width == NULL || ctx->width == NULL) return reds_err_persist(ctx);

  const uint8_t *p = b + HEADER_BYTES;
  for (uint32_t g = 0; g < G; ++g) {
    ctx->full_width[g] = reds_ld_u32(p + 4u * g);
    if (ctx->full_width[g] < 1 || ctx->full_width[g] > 0xffffu)
      return reds_err2(ctx, REDS_ERR_METADATA, "REDS group ", g, " has full width ",
                       ctx->full_width[g], " (must be 1..65535)");
  }
  p += 4u * G;
  for (uint32_t m = 0; m < M; ++m, p += 8) {
    const uint32_t ti = reds_ld_u32(p);
    const uint32_t axis = reds_ld_u16(p + 4), g = reds_ld_u16(p + 6);
    if (ti >= ctx->num_tensors)
      return reds_err2(ctx, REDS_ERR_METADATA, "REDS member ", m, " names tensor ", ti,
                       " which does not exist");
    reds_tensor_t *t = &ctx->tensors[ti];
    if (t->data != NULL)
      return reds_err2(ctx, REDS_ERR_METADATA, "REDS member ", m, " names constant tensor ", ti,
                       "");
    if (axis >= t->ndims)
      return reds_err2(ctx, REDS_ERR_METADATA, "REDS member ", m, " axis ", axis, " out of range");
    if (g >= G)
      return reds_err2(ctx, REDS_ERR_METADATA, "REDS member ", m, " group ", g, " out of range");
    if (t->axis >= 0)
      return reds_err2(ctx, REDS_ERR_METADATA, "REDS tensor ", ti, " is listed twice", 0, NULL);
    const uint32_t dim = (uint32_t)t->dims[axis];
    if (dim % ctx->full_width[g] != 0)
      return reds_err2(ctx, REDS_ERR_METADATA, "REDS tensor ", ti,
                       " dimension is not a multiple of group ", g, "'s full width");
    t->axis = (int8_t)axis;
    t->group = (uint16_t)g;
    t->positions = dim / ctx->full_width[g];
  }
  *rows = p;
  for (uint32_t k = 0; k < K; ++k, p += 8u + 4u * G) {
    for (uint32_t g = 0; g < G; ++g) {
      const uint32_t w = reds_ld_u32(p + 8u + 4u * g);
      if (w < 1 || w > ctx->full_width[g])
        return reds_err2(ctx, REDS_ERR_METADATA, "REDS subnet ", k,
                         " has a width out of range in group ", g, "");
      if (k > 0 && w > ctx->width[(k - 1) * G + g])
        return reds_err2(ctx, REDS_ERR_METADATA, "REDS subnets not nested: subnet ", k,
                         " is wider than the previous one in group ", g, "");
      ctx->width[k * G + g] = w;
    }
  }
  ctx->num_groups = G;
  ctx->num_subnets = K;
  ctx->has_metadata = 1;
  return REDS_OK;
}

/* SPDX-License-Identifier: Apache-2.0
 * Minimal bounds-checked flatbuffer reader (internal). Every accessor checks that what it reads
 * lies inside [0, len) before touching it; positions are byte offsets from the buffer start. */
#ifndef REDS_FLATBUFFER_H
#define REDS_FLATBUFFER_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  const uint8_t *buf;
  uint32_t len;
} reds_fb_t;

/* A table: its position and its vtable (validated). */
typedef struct {
  uint32_t pos;
  uint32_t vt;
  uint16_t vt_len;
  uint16_t obj_len;
} reds_fb_table_t;

/* A vector: position of its first element and its element count (bounds-checked). */
typedef struct {
  uint32_t data;
  uint32_t count;
} reds_fb_vec_t;

/* All return 0 on success, 1 "field absent" where noted, or -1 when out of bounds/malformed. */
int reds_fb_root(const reds_fb_t *fb, reds_fb_table_t *root);
int reds_fb_table_at(const reds_fb_t *fb, uint32_t pos, reds_fb_table_t *t);
/* Scalar fields: absent -> *out = def, returns 0. */
int reds_fb_u8(const reds_fb_t *fb, const reds_fb_table_t *t, int field, uint8_t def, uint8_t *out);
int reds_fb_i32(const reds_fb_t *fb, const reds_fb_table_t *t, int field, int32_t def,
                int32_t *out);
int reds_fb_u32(const reds_fb_t *fb, const reds_fb_table_t *t, int field, uint32_t def,
                uint32_t *out);
int reds_fb_u64(const reds_fb_t *fb, const reds_fb_table_t *t, int field, uint64_t def,
                uint64_t *out);
int reds_fb_f32(const reds_fb_t *fb, const reds_fb_table_t *t, int field, float def, float *out);
/* Offset fields: returns 1 if absent. */
int reds_fb_subtable(const reds_fb_t *fb, const reds_fb_table_t *t, int field,
                     reds_fb_table_t *out);
int reds_fb_vector(const reds_fb_t *fb, const reds_fb_table_t *t, int field, uint32_t elem_size,
                   reds_fb_vec_t *out);
/* Element j of a vector of tables. */
int reds_fb_vec_table(const reds_fb_t *fb, const reds_fb_vec_t *v, uint32_t j,
                      reds_fb_table_t *out);

/* Unchecked little-endian loads: callers have validated the range. */
static inline uint32_t reds_ld_u32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint16_t reds_ld_u16(const uint8_t *p) {
  return (uint16_t)((uint32_t)p[0] | ((uint32_t)p[1] << 8));
}
static inline int32_t reds_ld_i32(const uint8_t *p) { return (int32_t)reds_ld_u32(p); }
static inline uint64_t reds_ld_u64(const uint8_t *p) {
  return (uint64_t)reds_ld_u32(p) | ((uint64_t)reds_ld_u32(p + 4) << 32);
}
float reds_ld_f32(const uint8_t *p);

#endif /* REDS_FLATBUFFER_H */

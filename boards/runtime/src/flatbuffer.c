/* SPDX-License-Identifier: Apache-2.0
 * Bounds-checked flatbuffer access for the TFLite reader (see flatbuffer.h). */
#include "flatbuffer.h"

#include <string.h>

/* [pos, pos + size) inside the buffer, computed without overflow */
static int in_range(const reds_fb_t *fb, uint64_t pos, uint64_t size) {
  return pos <= fb->len && size <= (uint64_t)fb->len - pos;
}

float reds_ld_f32(const uint8_t *p) {
  uint32_t u = reds_ld_u32(p);
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

int reds_fb_table_at(const reds_fb_t *fb, uint32_t pos, reds_fb_table_t *t) {
  if (!in_range(fb, pos, 4)) return -1;
  const int64_t vt = (int64_t)pos - (int64_t)reds_ld_i32(fb->buf + pos);
  if (vt < 0 || !in_range(fb, (uint64_t)vt, 4) || (vt & 1) != 0) return -1;
  const uint16_t vt_len = reds_ld_u16(fb->buf + vt);
  const uint16_t obj_len = reds_ld_u16(fb->buf + vt + 2);
  if (vt_len < 4 || (vt_len & 1u) != 0 || !in_range(fb, (uint64_t)vt, vt_len)) return -1;
  if (obj_len < 4 || !in_range(fb, pos, obj_len)) return -1;
  t->pos = pos;
  t->vt = (uint32_t)vt;
  t->vt_len = vt_len;
  t->obj_len = obj_len;
  return 0;
}

int reds_fb_root(const reds_fb_t *fb, reds_fb_table_t *root) {
  if (fb->buf == NULL || fb->len < 8) return -1;
  return reds_fb_table_at(fb, reds_ld_u32(fb->buf), root);
}

static int field(const reds_fb_t *fb, const reds_fb_table_t *t, int field_idx, uint32_t size,
                 uint32_t *pos) {
  if (field_idx < 0 || 4u + 2u * (uint32_t)field_idx + 2u > t->vt_len) return 1; /* old schema */
  const uint16_t off = reds_ld_u16(fb->buf + t->vt + 4u + 2u * (uint32_t)field_idx);
  if (off == 0) return 1;
  if ((uint32_t)off + size > t->obj_len) return -1;
  *pos = t->pos + off; /* inside the object, which is inside the buffer */
  return 0;
}

int reds_fb_u8(const reds_fb_t *fb, const reds_fb_table_t *t, int f, uint8_t def, uint8_t *out) {
  uint32_t p;
  int r = field(fb, t, f, 1, &p);
  if (r < 0) return -1;
  *out = r ? def : fb->buf[p];
  return 0;
}

int reds_fb_u32(const reds_fb_t *fb, const reds_fb_table_t *t, int f, uint32_t def, uint32_t *out) {
  uint32_t p;
  int r = field(fb, t, f, 4, &p);
  if (r < 0) return -1;
  *out = r ? def : reds_ld_u32(fb->buf + p);
  return 0;
}

int reds_fb_i32(const reds_fb_t *fb, const reds_fb_table_t *t, int f, int32_t def, int32_t *out) {
  uint32_t u;
  if (reds_fb_u32(fb, t, f, (uint32_t)def, &u) < 0) return -1;
  *out = (int32_t)u;
  return 0;
}

int reds_fb_u64(const reds_fb_t *fb, const reds_fb_table_t *t, int f, uint64_t def, uint64_t *out) {
  uint32_t p;
  int r = field(fb, t, f, 8, &p);
  if (r < 0) return -1;
  *out = r ? def : reds_ld_u64(fb->buf + p);
  return 0;
}

int reds_fb_f32(const reds_fb_t *fb, const reds_fb_table_t *t, int f, float def, float *out) {
  uint32_t p;
  int r = field(fb, t, f, 4, &p);
  if (r < 0) return -1;
  *out = r ? def : reds_ld_f32(fb->buf + p);
  return 0;
}

/* Follow a uoffset stored at pos. */
static int deref(const reds_fb_t *fb, uint32_t pos, uint32_t *target) {
  const uint64_t t = (uint64_t)pos + reds_ld_u32(fb->buf + pos);
  if (t >= fb->len) return -1;
  *target = (uint32_t)t;
  return 0;
}

int reds_fb_subtable(const reds_fb_t *fb, const reds_fb_table_t *t, int f, reds_fb_table_t *out) {
  uint32_t p, target;
  int r = field(fb, t, f, 4, &p);
  if (r != 0) return r;
  if (deref(fb, p, &target) < 0) return -1;
  return reds_fb_table_at(fb, target, out);
}

int reds_fb_vector(const reds_fb_t *fb, const reds_fb_table_t *t, int f, uint32_t elem_size,
                   reds_fb_vec_t *out) {
  uint32_t p, v;
  int r = field(fb, t, f, 4, &p);
  if (r != 0) return r;
  if (deref(fb, p, &v) < 0 || !in_range(fb, v, 4)) return -1;
  const uint32_t count = reds_ld_u32(fb->buf + v);
  if (!in_range(fb, (uint64_t)v + 4, (uint64_t)count * elem_size)) return -1;
  out->data = v + 4;
  out->count = count;
  return 0;
}

int reds_fb_vec_table(const reds_fb_t *fb, const reds_fb_vec_t *v, uint32_t j,
                      reds_fb_table_t *out) {
  uint32_t target;
  if (j >= v->count) return -1;
  if (deref(fb, v->data + 4u * j, &target) < 0) return -1;
  return reds_fb_table_at(fb, target, out);
}

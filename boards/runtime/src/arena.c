/* SPDX-License-Identifier: Apache-2.0
 * Arena planner, docs/arena.md version 1 (the Python toolkit mirrors this rule exactly):
 * greedy first fit of the planned tensors, sorted by size desc, first use asc, index asc, at
 * 16-byte aligned offsets; two tensors may share bytes only if their lifetimes are disjoint.
 *
 *   arena (16-byte aligned)
 *   +--------------------------------------------------------------+
 *   | t3 [0, 4096)           | t5 [4096, 4608)  | ...               |  subnet 0
 *   | t1 [0, 1024) | t2 [1024, 2048) ...                           |  (t1, t3 disjoint in time)
 *   +--------------------------------------------------------------+
 *   0                                         arena_bytes[k] = max(offset + size)
 * One offset table per subnet; activations are compact at active width, so smaller subnets
 * need fewer bytes. Activations use the head of the arena; the tables (this plan included) live
 * in the persistent region at its tail (reds_persist below, docs/arena.md "Layout"). */
#include "reds_internal.h"

static uint64_t round16(uint64_t x) { return (x + 15u) & ~(uint64_t)15u; }

uint64_t reds_tensor_elems(const reds_ctx_t *ctx, uint32_t k, uint32_t t) {
  const reds_tensor_t *tt = &ctx->tensors[t];
  const uint32_t *adim = ctx->active_dim + (size_t)k * ctx->num_tensors;
  uint64_t n = 1;
  for (uint32_t d = 0; d < tt->ndims; ++d)
    n *= ((int)d == tt->axis) ? (uint64_t)adim[t] : (uint64_t)tt->dims[d];
  return n;
}

uint64_t reds_tensor_bytes(const reds_ctx_t *ctx, uint32_t k, uint32_t t) {
  return reds_tensor_elems(ctx, k, t) * reds_type_size(ctx->tensors[t].type);
}

static int conflict(const reds_tensor_t *a, const reds_tensor_t *b) {
  return a->first <= b->last && b->first <= a->last;
}

/* Rule 4 order: a (size sa) comes before b (size sb). Keys are unique (index breaks ties). */
static int before(const reds_ctx_t *ctx, uint32_t a, uint64_t sa, uint32_t b, uint64_t sb) {
  if (sa != sb) return sa > sb;
  if (ctx->tensors[a].first != ctx->tensors[b].first)
    return ctx->tensors[a].first < ctx->tensors[b].first;
  return a < b;
}

#define UNPLACED 0xffffffffu

/* The plan needs no memory beyond subnet k's offset table: tensors are visited in rule-4 order
 * by repeated selection, sizes are recomputed, and UNPLACED marks tensors not yet placed. */
void reds_arena_plan(reds_ctx_t *ctx, uint32_t k) {
  const uint32_t T = ctx->num_tensors;
  uint32_t *off = ctx->offset + (size_t)k * T;
  uint32_t n = 0;
  for (uint32_t t = 0; t < T; ++t) {
    off[t] = ctx->tensors[t].planned ? UNPLACED : 0;
    n += ctx->tensors[t].planned;
  }
  uint64_t total = 0;
  int32_t prev = -1;
  uint64_t prev_size = 0;
  for (uint32_t i = 0; i < n; ++i) {
    /* next tensor in order: the first one after prev */
    int32_t t = -1;
    uint64_t st = 0;
    for (uint32_t u = 0; u < T; ++u) {
      if (!ctx->tensors[u].planned || off[u] != UNPLACED) continue;
      const uint64_t su = round16(reds_tensor_bytes(ctx, k, u));
      if (prev >= 0 && !before(ctx, (uint32_t)prev, prev_size, u, su)) continue;
      if (t < 0 || before(ctx, u, su, (uint32_t)t, st)) {
        t = (int32_t)u;
        st = su;
      }
    }
    /* lowest fitting candidate: 0 or the end of a placed conflicting tensor */
    const reds_tensor_t *tt = &ctx->tensors[t];
    uint64_t best = UINT64_MAX;
    for (uint32_t c = 0; c <= T; ++c) {
      uint64_t cand = 0;
      if (c < T) {
        if (off[c] == UNPLACED || !ctx->tensors[c].planned || !conflict(tt, &ctx->tensors[c]))
          continue;
        cand = off[c] + round16(reds_tensor_bytes(ctx, k, c));
      }
      if (cand >= best) continue;
      int fits = 1;
      for (uint32_t u = 0; u < T && fits; ++u) {
        if (off[u] == UNPLACED || !ctx->tensors[u].planned || !conflict(tt, &ctx->tensors[u]))
          continue;
        const uint64_t su = round16(reds_tensor_bytes(ctx, k, u));
        if (cand < off[u] + su && off[u] < cand + st) fits = 0;
      }
      if (fits) best = cand;
    }
    if (best + st >= UNPLACED) { /* a plan at or above 4 GB: init rejects it */
      ctx->arena_bytes[k] = UNPLACED;
      for (uint32_t u = 0; u < T; ++u)
        if (off[u] == UNPLACED) off[u] = 0;
      return;
    }
    off[t] = (uint32_t)best;
    if (best + st > total) total = best + st;
    prev = t;
    prev_size = st;
  }
  ctx->arena_bytes[k] = (uint32_t)total;
}

/* Tail allocator of the persistent region: 16-byte aligned blocks, growing down from the end of
 * the (16-byte rounded) arena. NULL when the arena cannot hold the block; ctx->persistent then
 * still counts it, so the error can say how many bytes the tables needed so far. */
void *reds_persist(reds_ctx_t *ctx, uint64_t bytes) {
  const uint64_t need = round16(bytes); /* keeps the head a 16-byte multiple */
  const int fits = ctx->arena != NULL && !ctx->persist_failed && need <= ctx->arena_len &&
                   ctx->persistent <= ctx->arena_len - need;
  ctx->persistent += need < ((uint64_t)1 << 40) ? need : ((uint64_t)1 << 40);
  if (!fits) {
    ctx->persist_failed = 1;
    return NULL;
  }
  ctx->act_len = ctx->arena_len - (size_t)ctx->persistent;
  return ctx->arena + ctx->act_len;
}

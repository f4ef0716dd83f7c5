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
 * need fewer bytes. No scratch, no persistent data: the context holds the tables. */
#include "reds_internal.h"

static uint64_t round16(uint64_t x) { return (x + 15u) & ~(uint64_t)15u; }

uint64_t reds_tensor_elems(const reds_ctx_t *ctx, uint32_t k, uint32_t t) {
  const reds_tensor_t *tt = &ctx->tensors[t];
  uint64_t n = 1;
  for (uint32_t d = 0; d < tt->ndims; ++d)
    n *= ((int)d == tt->axis) ? (uint64_t)ctx->active_dim[k][t] : (uint64_t)tt->dims[d];
  return n;
}

uint64_t reds_tensor_bytes(const reds_ctx_t *ctx, uint32_t k, uint32_t t) {
  return reds_tensor_elems(ctx, k, t) * reds_type_size(ctx->tensors[t].type);
}

static int conflict(const reds_tensor_t *a, const reds_tensor_t *b) {
  return a->first <= b->last && b->first <= a->last;
}

void reds_arena_plan(reds_ctx_t *ctx, uint32_t k) {
  uint16_t order[REDS_MAX_TENSORS];
  uint64_t size[REDS_MAX_TENSORS], off[REDS_MAX_TENSORS];
  uint32_t n = 0;
  for (uint32_t t = 0; t < ctx->num_tensors; ++t) {
    ctx->offset[k][t] = 0;
    if (!ctx->tensors[t].planned) continue;
    size[t] = round16(reds_tensor_bytes(ctx, k, t));
    /* insertion sort: size desc, first asc, index asc (n <= REDS_MAX_TENSORS) */
    uint32_t j = n++;
    while (j > 0) {
      const uint32_t u = order[j - 1];
      const int before = size[t] > size[u] ||
                         (size[t] == size[u] && ctx->tensors[t].first < ctx->tensors[u].first);
      if (!before) break; /* equal keys keep ascending index: t > u */
      order[j] = order[j - 1];
      --j;
    }
    order[j] = (uint16_t)t;
  }
  uint64_t total = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t t = order[i];
    uint64_t best = UINT64_MAX;
    /* candidates: 0 and the end of every placed conflicting tensor; keep the lowest that fits */
    for (uint32_t c = 0; c <= i; ++c) {
      uint64_t cand;
      if (c == i) {
        cand = 0;
      } else {
        const uint32_t u = order[c];
        if (!conflict(&ctx->tensors[t], &ctx->tensors[u])) continue;
        cand = off[u] + size[u];
      }
      if (cand >= best) continue;
      int fits = 1;
      for (uint32_t j = 0; j < i && fits; ++j) {
        const uint32_t u = order[j];
        if (conflict(&ctx->tensors[t], &ctx->tensors[u]) && cand < off[u] + size[u] &&
            off[u] < cand + size[t])
          fits = 0;
      }
      if (fits) best = cand;
    }
    off[t] = best;
    ctx->offset[k][t] = (uint32_t)best; /* init rejects plans above 2^32 via arena_bytes */
    if (best + size[t] > total) total = best + size[t];
  }
  ctx->arena_bytes[k] = total > 0xffffffffu ? 0xffffffffu : (uint32_t)total;
}

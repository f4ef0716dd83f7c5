/* SPDX-License-Identifier: Apache-2.0
 * Fuzz target for the REDS runtime on model bytes: reds_init, then reds_select + reds_invoke on
 * every subnet. Built with libFuzzer (clang -fsanitize=fuzzer,address,undefined) or with gcc and
 * the mutation driver in driver.c; both call LLVMFuzzerTestOneInput.
 *
 * Only the public API and the context fields ops[]/tensors[]/inputs[]/outputs[] are used, so the
 * target works whether the context's tables are fixed arrays or live in the arena's tail: the
 * checks fill and inspect only the activation head of the arena, [0, max_k arena_bytes(k)).
 *
 * Beyond the sanitizers, each model that loads (and needs at most RUN_MACS_MAX MACs) is checked for:
 *   - reads of bytes this inference did not write: every subnet runs twice, with the arena and
 *     its guard bytes filled 0x7f and then 0x80; the outputs (and statuses) must be equal;
 *   - writes outside the planned tensors: after an inference every arena byte that belongs to no
 *     planned tensor of the subnet, and the guard bytes around the arena, still hold the fill;
 *   - writes outside the op's own output (one input in four): the ops run one prefix at a time
 *     and the bytes that op i changes must lie inside op i's output tensor;
 *   - errors that are one readable line; reds_select(num_subnets) refused.
 * A finding prints "REDS-FUZZ FINDING: <what>" and aborts, so both drivers keep the input.
 *
 * The REDS metadata blob carries a CRC-32: the target recomputes it (unless the input length is
 * 15 mod 16, which keeps the CRC check itself reachable) so mutations reach the tables behind it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reds.h"
#include "reds_ctx.h"

uint32_t reds_crc32(const uint8_t *data, uint32_t len); /* the runtime's CRC of the REDS blob */

#define MAX_MODEL (1u << 18)
#define MAX_ARENA (1u << 20)
#define GUARD 64u
#define FILL_A 0x7f
#define FILL_B 0x80
#define MAX_OUT (1u << 16)
#define TYPE_FLOAT32 0 /* TFLite TensorType */
/* Models are run only up to this many MACs (all subnets, or the per-op check's prefixes), so
 * that a mutated shape asking for billions of MACs stays a legal slow model, not a "hang". */
#define RUN_MACS_MAX 8000000ull

static reds_ctx_t ctx;

/* Read by the drivers for their summary: inputs that loaded and ran, and invocations. */
unsigned long long reds_fuzz_models_run, reds_fuzz_invokes;

/* The arena under test: GUARD bytes | arena (need bytes) | GUARD bytes; the activations of every
 * subnet live in [0, act) of the arena. */
typedef struct {
  uint8_t *buf;
  uint8_t *arena;
  size_t need, act;
} arena_t;

static void finding(const char *what, uint32_t a, uint32_t b) {
  fprintf(stderr, "REDS-FUZZ FINDING: %s (%u, %u)\n", what, (unsigned)a, (unsigned)b);
  abort();
}

static uint32_t ld16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t ld32(const uint8_t *p) { return ld16(p) | ld16(p + 2) << 16; }

static void fix_blob_crc(uint8_t *m, size_t len) {
  if (len % 16u == 15u) return;
  for (size_t off = 0; off + 32u <= len; ++off) {
    if (memcmp(m + off, "REDS", 4) != 0 || ld16(m + off + 4) != 1 || ld16(m + off + 6) != 32) continue;
    const uint32_t total = ld32(m + off + 8);
    if (total < 32u || total > len - off) continue;
    const uint32_t crc = reds_crc32(m + off + 16, total - 16u);
    for (int i = 0; i < 4; ++i) m[off + 12 + (size_t)i] = (uint8_t)(crc >> (8 * i));
  }
}

static void check_error_text(reds_status_t s) {
  if (s == REDS_OK) return;
  const char *e = reds_last_error(&ctx);
  const size_t n = strlen(e);
  if (n == 0 || n >= REDS_ERROR_LEN) finding("error text empty or unterminated", (uint32_t)-s, (uint32_t)n);
  for (size_t i = 0; i < n; ++i)
    if (e[i] < 0x20 || e[i] > 0x7e) finding("error text not one printable line", (uint32_t)-s, (uint32_t)i);
}

/* Arena region of tensor t at the active subnet, through the public output accessors. */
static void tensor_region(const arena_t *a, int t, size_t *off, size_t *len) {
  const int16_t saved = ctx.outputs[0];
  ctx.outputs[0] = (int16_t)t;
  const uint8_t *p = (const uint8_t *)reds_output_data(&ctx, 0);
  *len = reds_output_bytes(&ctx, 0);
  ctx.outputs[0] = saved;
  if (p < a->arena || (size_t)(p - a->arena) > a->act || *len > a->act - (size_t)(p - a->arena))
    finding("planned tensor outside the activation arena", (uint32_t)t, (uint32_t)*len);
  *off = (size_t)(p - a->arena);
}

static int is_activation(int t) {
  if (t < 0 || (uint32_t)t >= ctx.num_tensors || ctx.tensors[t].data != NULL) return 0;
  for (uint32_t i = 0; i < ctx.num_inputs; ++i)
    if (ctx.inputs[i] == t) return 1;
  for (uint32_t i = 0; i < ctx.num_outputs; ++i)
    if (ctx.outputs[i] == t) return 1;
  for (uint32_t o = 0; o < ctx.num_ops; ++o) {
    if (ctx.ops[o].out == t) return 1;
    for (int j = 0; j < ctx.ops[o].num_in && j < 3; ++j)
      if (ctx.ops[o].in[j] == t) return 1;
  }
  return 0;
}

/* Fill the activation head and the guards, then write the inputs (a pattern from `seed`; floats
 * stay finite). The persistent tail of the arena, if any, is left alone. */
static void stage(const arena_t *a, uint8_t fill, uint32_t seed) {
  memset(a->buf, fill, GUARD + a->act);
  memset(a->arena + a->need, fill, GUARD);
  for (uint32_t i = 0; i < reds_num_inputs(&ctx); ++i) {
    uint8_t *in = (uint8_t *)reds_input_data(&ctx, i);
    const size_t nb = reds_input_bytes(&ctx, i);
    uint32_t x = seed * 2654435761u + i;
    if (reds_input_type(&ctx, i) == TYPE_FLOAT32) {
      for (size_t e = 0; e + 4 <= nb; e += 4) {
        x = x * 1103515245u + 12345u;
        const float f = (float)((int32_t)(x >> 8) % 2000) / 100.0f;
        memcpy(in + e, &f, 4);
      }
    } else {
      for (size_t e = 0; e < nb; ++e) {
        x = x * 1103515245u + 12345u;
        in[e] = (uint8_t)(x >> 16);
      }
    }
  }
}

/* Bytes outside every planned tensor of the active subnet, and the guards, must hold `fill`. */
static void check_untouched(const arena_t *a, uint8_t fill, uint8_t *mask) {
  memset(mask, 0, a->act);
  for (uint32_t t = 0; t < ctx.num_tensors; ++t) {
    if (!is_activation((int)t)) continue;
    size_t off, len;
    tensor_region(a, (int)t, &off, &len);
    memset(mask + off, 1, len);
  }
  for (size_t i = 0; i < GUARD; ++i)
    if (a->buf[i] != fill || a->arena[a->need + i] != fill) finding("write into the guard bytes", (uint32_t)i, 0);
  for (size_t i = 0; i < a->act; ++i)
    if (!mask[i] && a->arena[i] != fill) finding("write outside the planned tensors", (uint32_t)i, 0);
}

/* Run ops [0, i] for every i: the bytes op i changes must lie in op i's output tensor. */
static void check_per_op(const arena_t *a, uint32_t seed, uint8_t *prev, uint8_t *cur) {
  const uint32_t n = ctx.num_ops;
  stage(a, FILL_B, seed);
  memcpy(prev, a->arena, a->act);
  for (uint32_t i = 0; i < n; ++i) {
    ctx.num_ops = i + 1;
    stage(a, FILL_B, seed);
    const reds_status_t s = reds_invoke(&ctx);
    ctx.num_ops = n;
    if (s != REDS_OK) return;
    memcpy(cur, a->arena, a->act);
    size_t off, len;
    tensor_region(a, ctx.ops[i].out, &off, &len);
    for (size_t b = 0; b < a->act; ++b)
      if (cur[b] != prev[b] && (b < off || b >= off + len)) finding("op writes outside its output tensor", i, (uint32_t)b);
    memcpy(prev, cur, a->act);
  }
}

/* Every subnet once with the activations filled `fill`; outputs concatenated into out. */
static size_t run_all(const uint8_t *model, size_t size, arena_t *a, uint8_t fill, uint32_t seed,
                      uint8_t *out, int *statuses, uint8_t *mask) {
  reds_status_t s = reds_init(&ctx, model, size, a->arena, a->need);
  if (s != REDS_OK) finding("init fails with reds_max_arena_bytes", (uint32_t)-s, (uint32_t)a->need);
  const uint32_t k_n = reds_num_subnets(&ctx);
  if (reds_select(&ctx, k_n) != REDS_ERR_SUBNET) finding("select past the last subnet accepted", k_n, 0);
  size_t n = 0;
  for (uint32_t k = 0; k < k_n; ++k) {
    s = reds_select(&ctx, k);
    if (s != REDS_OK) finding("select of a planned subnet fails", k, (uint32_t)-s);
    stage(a, fill, seed + k);
    s = reds_invoke(&ctx);
    ++reds_fuzz_invokes;
#ifdef REDS_FUZZ_INJECT_STRAY_WRITE /* test of the checks: an inference that writes past the arena */
    a->arena[a->need + (size_t)REDS_FUZZ_INJECT_STRAY_WRITE] ^= 1;
#endif
    check_error_text(s);
    statuses[k] = s;
    check_untouched(a, fill, mask);
    for (uint32_t o = 0; o < reds_num_outputs(&ctx) && s == REDS_OK; ++o) {
      const size_t nb = reds_output_bytes(&ctx, o);
      if (nb > MAX_OUT - n) return n;
      memcpy(out + n, reds_output_data(&ctx, o), nb);
      n += nb;
    }
  }
  return n;
}

static uint32_t fnv1a(const uint8_t *d, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; ++i) h = (h ^ d[i]) * 16777619u;
  return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static uint8_t probe[MAX_ARENA] __attribute__((aligned(16)));
  static uint8_t out_a[MAX_OUT], out_b[MAX_OUT];
  static int st_a[256], st_b[256];
  if (size > MAX_MODEL) return 0;
  uint8_t *model = (uint8_t *)malloc(size ? size : 1); /* exactly `size` bytes: ASan sees overreads */
  memcpy(model, data, size);
  fix_blob_crc(model, size);
  /* first init in a large arena: how many bytes this model needs (tables + activations) */
  reds_status_t s = reds_init(&ctx, model, size, probe, sizeof probe);
  check_error_text(s);
  const uint32_t k_n = s == REDS_OK ? reds_num_subnets(&ctx) : 0;
  arena_t a = {NULL, NULL, s == REDS_OK ? reds_max_arena_bytes(&ctx) : 0, 0};
  unsigned long long macs = 0;
  for (uint32_t k = 0; k < k_n; ++k) {
    if (reds_subnet_arena_bytes(&ctx, k) > a.act) a.act = reds_subnet_arena_bytes(&ctx, k);
    macs += reds_subnet_macs(&ctx, k);
  }
  if (k_n > 0 && k_n <= 256 && a.need > 0 && a.act <= a.need && macs <= RUN_MACS_MAX) {
    const uint32_t seed = fnv1a(data, size);
    a.buf = (uint8_t *)malloc(a.need + 2u * GUARD); /* an exact-size arena between two guards */
    a.arena = a.buf + GUARD;
    uint8_t *scratch = (uint8_t *)malloc(3u * a.act + 1u);
    const size_t na = run_all(model, size, &a, FILL_A, seed, out_a, st_a, scratch);
    const size_t nb = run_all(model, size, &a, FILL_B, seed, out_b, st_b, scratch);
    ++reds_fuzz_models_run;
    for (uint32_t k = 0; k < k_n; ++k)
      if (st_a[k] != st_b[k]) finding("invoke status depends on the arena contents", k, 0);
    if (na != nb || memcmp(out_a, out_b, na) != 0)
      finding("output depends on arena bytes the inference did not write", (uint32_t)na, (uint32_t)nb);
    if ((seed & 3u) == 0) {
      const uint32_t k = (seed >> 2) % k_n;
      if ((unsigned long long)reds_subnet_macs(&ctx, k) * ctx.num_ops <= RUN_MACS_MAX &&
          reds_select(&ctx, k) == REDS_OK)
        check_per_op(&a, seed + k, scratch + a.act, scratch + 2u * a.act);
    }
    free(scratch);
    free(a.buf);
  }
  free(model);
  return 0;
}

/* SPDX-License-Identifier: Apache-2.0
 * Test harness for the REDS runtime, built with -fsanitize=address,undefined by
 * tests/c/runtime/test_robustness.py. Any out-of-bounds access or UB aborts the process.
 *   harness status                 every status has a text and a name; unknown codes fall back
 *   harness load FILE...           init + select/invoke every subnet; prints one status per file
 *   harness mutate FILE SEED N     N random mutations (byte flips, truncation, word overwrites)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reds.h"
#include "reds_ctx.h"

static reds_ctx_t ctx;

static unsigned char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
  if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
    fclose(f);
    free(buf);
    return NULL;
  }
  fclose(f);
  *len = (size_t)n;
  return buf;
}

/* Run one model image (exactly `len` bytes of heap, so ASan sees any overread). */
static int run_model(const unsigned char *img, size_t len, size_t arena_len) {
  unsigned char *model = malloc(len ? len : 1);
  memcpy(model, img, len);
  unsigned char *arena = malloc(arena_len ? arena_len : 1);
  int s = reds_init(&ctx, model, len, arena, arena_len);
  if (s == REDS_OK) {
    const uint32_t k_n = reds_num_subnets(&ctx);
    for (uint32_t k = 0; k <= k_n; ++k) {
      int ss = reds_select(&ctx, k);
      if (k == k_n && ss != REDS_ERR_SUBNET) {
        fprintf(stderr, "select(%u) out of range returned %d\n", k, ss);
        abort();
      }
      if (ss != REDS_OK) continue;
      unsigned char *in = reds_input_data(&ctx, 0);
      size_t nb = reds_input_bytes(&ctx, 0);
      for (size_t i = 0; i < nb; ++i) in[i] = (unsigned char)(i * 37u + k);
      int si = reds_invoke(&ctx);
      if (si != REDS_OK) s = si;
      (void)reds_output_data(&ctx, 0);
    }
  }
  const char *msg = reds_last_error(&ctx);
  if (s != REDS_OK && (msg == NULL || strlen(msg) >= REDS_ERROR_LEN)) abort();
  free(arena);
  free(model);
  return s;
}

static uint64_t rng_state;
static uint32_t rnd(void) {
  rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (uint32_t)(rng_state >> 33);
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "status") == 0) {
    int bad = 0;
    for (int s = 0; s > -REDS_STATUS_COUNT; --s) {
      if (strcmp(reds_status_str(s), "unknown") == 0 || strcmp(reds_status_name(s), "unknown") == 0) {
        printf("missing string for status %d\n", s);
        bad = 1;
      }
    }
    if (strcmp(reds_status_str(1), "unknown") != 0 || strcmp(reds_status_str(-REDS_STATUS_COUNT), "unknown") != 0 ||
        strcmp(reds_status_str(-1000), "unknown") != 0)
      bad = 1;
    printf("%d statuses %s\n", REDS_STATUS_COUNT, bad ? "FAIL" : "ok");
    return bad;
  }
  if (argc >= 3 && strcmp(argv[1], "load") == 0) {
    for (int i = 2; i < argc; ++i) {
      size_t len = 0;
      unsigned char *img = read_file(argv[i], &len);
      if (!img) return 2;
      int s = run_model(img, len, 1 << 20);
      printf("%s %s\n", reds_status_name(s), s ? reds_last_error(&ctx) : "");
      free(img);
    }
    return 0;
  }
  if (argc == 5 && strcmp(argv[1], "mutate") == 0) {
    size_t len = 0;
    unsigned char *img = read_file(argv[2], &len);
    if (!img || len < 8) return 2;
    rng_state = strtoull(argv[3], NULL, 10) * 2654435761u + 1;
    const long n = strtol(argv[4], NULL, 10);
    unsigned char *work = malloc(len);
    long counts[REDS_STATUS_COUNT] = {0};
    for (long it = 0; it < n; ++it) {
      memcpy(work, img, len);
      size_t wlen = len;
      switch (rnd() % 4) {
        case 0: /* truncation */
          wlen = rnd() % len;
          break;
        case 1: { /* a few byte flips */
          int flips = 1 + (int)(rnd() % 8);
          for (int f = 0; f < flips; ++f) work[rnd() % len] ^= (unsigned char)(1u << (rnd() % 8));
          break;
        }
        case 2: { /* overwrite an aligned word: big, negative, small or off-by-one values */
          static const uint32_t vals[] = {0xffffffffu, 0x7fffffffu, 0x80000000u, 0, 1, 2, 3, 255, 65535, 0x10000u};
          size_t pos = (rnd() % (len / 4)) * 4;
          uint32_t v = (rnd() & 1) ? vals[rnd() % 10] : rnd();
          memcpy(work + pos, &v, 4);
          break;
        }
        default: { /* bump a 16-bit value (vtable entries, small counts) */
          size_t pos = (rnd() % (len / 2)) * 2;
          work[pos] = (unsigned char)(work[pos] + 1 + rnd() % 4);
          break;
        }
      }
      int s = run_model(work, wlen, (rnd() & 1) ? (size_t)(rnd() % 4096) : (size_t)(1 << 20));
      if (s <= 0 && s > -REDS_STATUS_COUNT) counts[-s]++;
      else abort(); /* not a status */
    }
    for (int s = 0; s < REDS_STATUS_COUNT; ++s)
      if (counts[s]) printf("%s=%ld ", reds_status_name(-s), counts[s]);
    printf("\n");
    free(work);
    free(img);
    return 0;
  }
  fprintf(stderr, "usage: harness status | load FILE... | mutate FILE SEED N\n");
  return 2;
}

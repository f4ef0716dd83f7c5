/* SPDX-License-Identifier: Apache-2.0
 * Host driver of the scheduler for tests/c/runtime/test_sched_c.py: reads one command per line on
 * stdin and prints the scheduler's answer and state, so the test compares every step with
 * the Python model of the same rules.
 *   init POLICY WIDEST NARROWEST MARGIN SHIFT UP_AFTER HZ RATE CAP RESERVE N LAT0 E0 ...
 *   d NOW DEADLINE      -> d K BUCKET SLACK_JOBS
 *   o K LATENCY         -> o SLOWDOWN PRED0 PRED1 ...
 *   l LOAD_Q16          -> o SLOWDOWN PRED0 PRED1 ...
 *   e MV UA_PER_MHZ CYCLES -> e NJ
 *   model PATH          -> model STATUS NUM_SUBNETS   (a real context for reds_sched_next)
 *   n NOW DEADLINE      -> n STATUS K ACTIVE_SUBNET   (reds_sched_next on that context)
 *   t WINDOW L0 L1 ...  -> t N            (the interference trace, loads in percent)
 *   a T WORK            -> a END          (fw_sched_advance)
 *   r NOW               -> r LOAD_Q16     (fw_sched_recent_load_q16)
 *   O START DEADLINE N LAT0 SCORE0 ...    -> O K   (fw_sched_oracle)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_sched_model.h"
#include "reds_sched.h"

static reds_sched_t sched;
static uint8_t loads[4096];
static fw_sched_trace_t trace = {loads, 0, 1};

/* Up to max numbers after the command letter into v; returns the count. */
static int numbers(const char *s, unsigned long long *v, int max)
{
  int pos = 1, used = 0, count = 0;
  while (count < max && sscanf(s + pos, "%llu%n", &v[count], &used) == 1) {
    pos += used;
    count++;
  }
  return count;
}
enum { ARENA_BYTES = 1 << 20 };
static reds_ctx_t *ctx;
static uint8_t *model_bytes;
static uint8_t arena[ARENA_BYTES] __attribute__((aligned(16)));

/* Load PATH into a fresh context with a generous arena; returns reds_init's status. */
static int load_model(const char *path, uint32_t *num_subnets)
{
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    return -1000;
  }
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  model_bytes = malloc((size_t)len);
  if (model_bytes == NULL || fread(model_bytes, 1, (size_t)len, f) != (size_t)len) {
    fclose(f);
    return -1001;
  }
  fclose(f);
  ctx = malloc(reds_ctx_size()); /* malloc's alignment suits any object */
  reds_status_t st = reds_init(ctx, model_bytes, (size_t)len, arena, ARENA_BYTES);
  *num_subnets = st == REDS_OK ? reds_num_subnets(ctx) : 0;
  return (int)st;
}

int main(void)
{
  char line[4096];
  while (fgets(line, sizeof line, stdin) != NULL) {
    if (strncmp(line, "init ", 5) == 0) {
      reds_sched_config_t c;
      reds_sched_cost_t table[REDS_SCHED_MAX_SUBNETS + 1];
      unsigned long long v[12 + 2 * (REDS_SCHED_MAX_SUBNETS + 1)];
      int pos = 5, used = 0, count = 0;
      while (count < (int)(sizeof v / sizeof v[0]) &&
             sscanf(line + pos, "%llu%n", &v[count], &used) == 1) {
        pos += used;
        count++;
      }
      if (count < 11) {
        printf("init bad\n");
        continue;
      }
      c.policy = (uint32_t)v[0];
      c.widest = (uint32_t)v[1];
      c.narrowest = (uint32_t)v[2];
      c.margin_q16 = (uint32_t)v[3];
      c.ewma_shift = (uint32_t)v[4];
      c.up_after = (uint32_t)v[5];
      c.timer_hz = (uint32_t)v[6];
      c.energy_rate_uj_per_s = (uint32_t)v[7];
      c.energy_capacity_nj = (uint32_t)v[8];
      c.energy_reserve_nj = (uint32_t)v[9];
      uint32_t n = (uint32_t)v[10];
      for (uint32_t k = 0; k < n && k <= REDS_SCHED_MAX_SUBNETS && 12 + 2 * k < (uint32_t)count;
           k++) {
        table[k].latency_ticks = (uint32_t)v[11 + 2 * k];
        table[k].energy_nj = (uint32_t)v[12 + 2 * k];
      }
      printf("init %d\n", (int)reds_sched_init(&sched, &c, table, n));
    } else if (line[0] == 'd') {
      unsigned long now, deadline;
      if (sscanf(line + 1, "%lu %lu", &now, &deadline) != 2) {
        printf("d bad\n");
        continue;
      }
      uint32_t k = reds_sched_decide(&sched, (uint32_t)now, (uint32_t)deadline);
      printf("d %" PRIu32 " %" PRId32 " %" PRIu32 "\n", k, sched.bucket_nj, sched.slack_jobs);
    } else if (line[0] == 'o') {
      unsigned long k, lat;
      if (sscanf(line + 1, "%lu %lu", &k, &lat) != 2) {
        printf("o bad\n");
        continue;
      }
      reds_sched_observe(&sched, (uint32_t)k, (uint32_t)lat);
      printf("o %" PRIu32, sched.slowdown_q16);
      for (uint32_t i = 0; i < sched.n; i++) {
        printf(" %" PRIu32, sched.predicted[i]);
      }
      printf("\n");
    } else if (line[0] == 'l') {
      unsigned long load;
      if (sscanf(line + 1, "%lu", &load) != 1) {
        printf("l bad\n");
        continue;
      }
      reds_sched_observe_load(&sched, (uint32_t)load);
      printf("o %" PRIu32, sched.slowdown_q16);
      for (uint32_t i = 0; i < sched.n; i++) {
        printf(" %" PRIu32, sched.predicted[i]);
      }
      printf("\n");
    } else if (strncmp(line, "model ", 6) == 0) {
      char path[4000];
      uint32_t num = 0;
      if (sscanf(line + 6, "%3999s", path) != 1) {
        printf("model bad\n");
        continue;
      }
      int st = load_model(path, &num);
      printf("model %d %" PRIu32 "\n", st, num);
    } else if (line[0] == 'n') {
      unsigned long now, deadline;
      if (ctx == NULL || sscanf(line + 1, "%lu %lu", &now, &deadline) != 2) {
        printf("n bad\n");
        continue;
      }
      uint32_t k = 0xFFFFFFFFu;
      reds_status_t st = reds_sched_next(&sched, ctx, (uint32_t)now, (uint32_t)deadline, &k);
      printf("n %d %" PRIu32 " %" PRIu32 "\n", (int)st, k, reds_active_subnet(ctx));
    } else if (line[0] == 't') {
      unsigned long long v[1 + sizeof loads];
      int n = numbers(line, v, (int)(sizeof v / sizeof v[0]));
      if (n < 2 || v[0] == 0) {
        printf("t bad\n");
        continue;
      }
      trace.window = v[0];
      trace.n = (uint32_t)(n - 1);
      for (int i = 1; i < n; i++) {
        loads[i - 1] = (uint8_t)v[i];
      }
      printf("t %" PRIu32 "\n", trace.n);
    } else if (line[0] == 'a') {
      unsigned long long v[2];
      if (numbers(line, v, 2) != 2 || trace.n == 0) {
        printf("a bad\n");
        continue;
      }
      printf("a %llu\n", (unsigned long long)fw_sched_advance(&trace, v[0], v[1]));
    } else if (line[0] == 'r') {
      unsigned long long v[1];
      if (numbers(line, v, 1) != 1 || v[0] == 0 || trace.n == 0) {
        printf("r bad\n");
        continue;
      }
      printf("r %" PRIu32 "\n", fw_sched_recent_load_q16(&trace, v[0]));
    } else if (line[0] == 'O') {
      unsigned long long v[3 + 2 * REDS_SCHED_MAX_SUBNETS];
      int count = numbers(line, v, (int)(sizeof v / sizeof v[0]));
      uint32_t n = count >= 3 ? (uint32_t)v[2] : 0;
      if (n == 0 || n > REDS_SCHED_MAX_SUBNETS || count != 3 + 2 * (int)n || trace.n == 0) {
        printf("O bad\n");
        continue;
      }
      reds_sched_cost_t table[REDS_SCHED_MAX_SUBNETS];
      uint32_t score[REDS_SCHED_MAX_SUBNETS];
      for (uint32_t k = 0; k < n; k++) {
        table[k].latency_ticks = (uint32_t)v[3 + 2 * k];
        table[k].energy_nj = 0;
        score[k] = (uint32_t)v[4 + 2 * k];
      }
      printf("O %" PRIu32 "\n", fw_sched_oracle(&trace, table, score, n, v[0], v[1]));
    } else if (line[0] == 'e') {
      unsigned long mv, ua;
      unsigned long long cycles;
      if (sscanf(line + 1, "%lu %lu %llu", &mv, &ua, &cycles) != 3) {
        printf("e bad\n");
        continue;
      }
      reds_sched_board_t b = {(uint32_t)mv, (uint32_t)ua};
      printf("e %" PRIu32 "\n", reds_sched_energy_nj(&b, (uint64_t)cycles));
    }
    fflush(stdout);
  }
  return 0;
}

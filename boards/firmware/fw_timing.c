/* SPDX-License-Identifier: Apache-2.0
 * Timing and the command time budget. See fw_timing.h. */
#include "fw_timing.h"

#include "fw_config.h"
#include "fw_out.h"
#include "fw_store.h"
#include "hal.h"

static uint64_t g_times[FW_MAX_RUNS];
static uint64_t g_budget_start;

uint64_t fw_ticks_to_ns(uint64_t t) {
  uint64_t hz = hal_timer_hz();
  if (hz == 0) {
    return 0;
  }
  return (t / hz) * 1000000000u + ((t % hz) * 1000000000u) / hz;
}

static uint32_t gcd32(uint32_t a, uint32_t b) {
  while (b) {
    uint32_t r = a % b;
    a = b;
    b = r;
  }
  return a;
}

/* hal_instructions_per_tick in lowest terms; num = 0 when ticks are not instructions. */
static void ipt_reduced(uint32_t *num, uint32_t *den) {
  hal_instructions_per_tick(num, den);
  if (*num == 0 || *den == 0) {
    *num = 0;
    *den = 1;
    return;
  }
  uint32_t g = gcd32(*num, *den);
  *num /= g;
  *den /= g;
}

int fw_ticks_are_instr(void) {
  uint32_t num, den;
  ipt_reduced(&num, &den);
  return num != 0;
}

uint64_t fw_ticks_to_instr(uint64_t ticks, uint32_t scale) {
  uint32_t num, den;
  ipt_reduced(&num, &den);
  /* ticks * scale * num / den without overflow for any count a command can produce: split
   * off whole multiples of den first. */
  uint64_t q = ticks / den, r = ticks % den;
  return q * num * scale + (r * num * scale + den / 2u) / den;
}

void fw_out_instructions_per_tick(void) {
  uint32_t num, den;
  ipt_reduced(&num, &den);
  out_kv_u64("instructions_per_tick", num);
  if (den != 1u) {
    out_char('/');
    out_u64(den);
  }
}

uint64_t fw_timer_overhead_mticks(uint32_t n) {
  uint64_t sum = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint64_t t0 = hal_timer_now();
    uint64_t t1 = hal_timer_now();
    sum += t1 - t0;
  }
  return n ? (sum * 1000u) / n : 0;
}

void fw_budget_start(void) { g_budget_start = hal_timer_now(); }

int fw_budget_spent(void) {
  uint64_t elapsed = hal_timer_now() - g_budget_start;
  return fw_ticks_to_ns(elapsed) / 1000000u > FW_COMMAND_BUDGET_MS;
}

int fw_budget_over(const char *what, uint64_t done, uint64_t total) {
  if (!fw_budget_spent()) {
    return 0;
  }
  out_str("e-[time budget exceeded: ");
  out_str(what);
  out_kv_u64("done", done);
  out_kv_u64("of", total);
  out_kv_u64("budget_ms", FW_COMMAND_BUDGET_MS);
  out_str("]");
  out_eol();
  return 1;
}

static void sort_u64(uint64_t *a, uint32_t n) {
  for (uint32_t i = 1; i < n; i++) {
    uint64_t v = a[i];
    uint32_t j = i;
    while (j > 0 && a[j - 1] > v) {
      a[j] = a[j - 1];
      j--;
    }
    a[j] = v;
  }
}

static void tag_u64(const char *tag, uint64_t v) {
  out_str(tag);
  out_u64(v);
  out_eol();
}

int fw_time_invokes(fw_timed_t *t) {
  reds_status_t s;
  uint64_t ovh = fw_timer_overhead_mticks(16) / 1000u;
  fw.have_results = 0;
  if (t->eembc_lines) {
    tag_u64("m-warmup-start-", t->warmup);
  }
  for (uint32_t i = 0; i < t->warmup; i++) {
    if (fw_budget_over("warm-up runs", i, t->warmup)) {
      return -1;
    }
    t->input = fw_stage_input();
    s = reds_invoke(fw.ctx);
    if (s != REDS_OK) {
      fw_error_status("invoke", s);
      return -1;
    }
  }
  if (t->eembc_lines) {
    out_str("m-warmup-done");
    out_eol();
    tag_u64("m-infer-start-", t->runs);
  }
  /* laps are read around the runs and printed after them: no serial output is timed */
  uint64_t lap0 = hal_timer_now();
  for (uint32_t i = 0; i < t->runs; i++) {
    if (fw_budget_over("timed runs", i, t->runs)) {
      return -1;
    }
    t->input = fw_stage_input();
    uint64_t t0 = hal_timer_now();
    s = reds_invoke(fw.ctx);
    uint64_t t1 = hal_timer_now();
    if (s != REDS_OK) {
      fw_error_status("invoke", s);
      return -1;
    }
    uint64_t d = t1 - t0;
    g_times[i] = d > ovh ? d - ovh : 0;
  }
  uint64_t lap1 = hal_timer_now();
  if (t->eembc_lines) {
    tag_u64("m-lap-us-", fw_ticks_to_ns(lap0) / 1000u);
    tag_u64("m-lap-us-", fw_ticks_to_ns(lap1) / 1000u);
    out_str("m-infer-done");
    out_eol();
  }
  fw.have_results = 1;
  sort_u64(g_times, t->runs);
  t->overhead = ovh;
  return 0;
}

void fw_timing_payload(const fw_timed_t *t) {
  uint32_t runs = t->runs;
  uint64_t sum = 0;
  for (uint32_t i = 0; i < runs; i++) {
    sum += g_times[i];
  }
  uint64_t mn = g_times[0], mx = g_times[runs - 1];
  uint64_t med = (runs & 1u) ? g_times[runs / 2] : (g_times[runs / 2 - 1] + g_times[runs / 2]) / 2u;
  out_kv_u64("min", mn);
  out_kv_u64("median", med);
  out_kv_u64("max", mx);
  out_kv_u64("mean", sum / runs);
  out_kv_u64("overhead", t->overhead);
  out_kv_str("unit", hal_timer_unit());
  out_kv_u64("hz", hal_timer_hz());
  out_kv_u64("ns_min", fw_ticks_to_ns(mn));
  out_kv_u64("ns_median", fw_ticks_to_ns(med));
  out_kv_u64("ns_max", fw_ticks_to_ns(mx));
  if (fw_ticks_are_instr()) {
    out_kv_u64("instr_median", fw_ticks_to_instr(med, 1u));
  }
}

/* SPDX-License-Identifier: Apache-2.0
 * REDS commands: board and model description, subnet switch, timing (docs/protocol.md). */
#include "fw_args.h"
#include "fw_cmds.h"
#include "fw_config.h"
#include "fw_out.h"
#include "fw_store.h"
#include "fw_timing.h"
#include "hal.h"

static void kv_flag(const char *key, int on) { out_kv_u64(key, on ? 1u : 0u); }

static void info_model(void) {
  uint32_t k = fw.ok ? reds_num_subnets(fw.ctx) : 0;
  out_str("m-reds-info");
  out_kv_u64("protocol", FW_PROTOCOL_VERSION);
  out_kv_str("target", hal_target_name());
  out_kv_u64("model_ok", (uint64_t)fw.ok);
  out_kv_str("model_source", fw_source_name(fw.source));
  out_kv_hex32("model_crc32", fw.ok ? fw.model_crc : 0u);
  out_kv_u64("model_bytes", fw.ok ? fw.model_len : 0u);
  out_kv_u64("subnets", k);
  if (fw.ok) {
    out_kv_u64("groups", reds_num_groups(fw.ctx));
    out_kv_u64("active", reds_active_subnet(fw.ctx));
    out_kv_u64("inputs", reds_num_inputs(fw.ctx));
    out_kv_u64("input_bytes", reds_input_bytes(fw.ctx, 0));
    out_kv_u64("outputs", reds_num_outputs(fw.ctx));
    out_kv_u64("output_bytes", reds_output_bytes(fw.ctx, 0));
    /* The runtime's RAM as this build lays it out (32-bit tables on a board, 64-bit on the
     * host): what a firmware with this model compiled in must leave for it. */
    out_kv_u64("ctx_bytes", reds_ctx_size());
    out_kv_u64("persistent_bytes", reds_persistent_bytes(fw.ctx));
    out_kv_u64("arena_used", reds_arena_used_bytes(fw.ctx));
    out_kv_u64("arena_max", reds_max_arena_bytes(fw.ctx));
    out_str(" full_widths=");
    for (uint32_t g = 0; g < reds_num_groups(fw.ctx); g++) {
      if (g) {
        out_char(',');
      }
      out_u64(reds_group_full_width(fw.ctx, g));
    }
  } else {
    out_kv_u64("status", (uint64_t)(int64_t)fw.status);
  }
  out_eol();
}

static void info_build(void) {
  out_str("m-reds-build");
#if defined(__ARM_FEATURE_DSP)
  kv_flag("dsp", 1);
#else
  kv_flag("dsp", 0);
#endif
#if defined(__ARM_FP)
  kv_flag("fpu", 1);
#else
  kv_flag("fpu", 0);
#endif
#if defined(__ARM_FEATURE_MVE)
  kv_flag("mve", 1);
#else
  kv_flag("mve", 0);
#endif
#if defined(__OPTIMIZE__)
  kv_flag("opt", 1);
#else
  kv_flag("opt", 0);
#endif
#if defined(REDS_DEBUG)
  kv_flag("debug", 1);
#else
  kv_flag("debug", 0);
#endif
  out_kv_u64("work_ram_bytes", fw.work_bytes);
  out_kv_u64("arena_capacity", fw.arena_bytes);
  out_kv_u64("model_slot_bytes", fw.slot_bytes);
  out_kv_u64("input_max", fw.input_cap);
  out_kv_u64("line_max", FW_LINE_MAX);
  out_kv_u64("max_runs", FW_MAX_RUNS);
  out_kv_u64("max_warmup", FW_MAX_WARMUP);
  out_kv_u64("max_switch_runs", FW_MAX_SWITCH_RUNS);
  out_kv_u64("budget_ms", FW_COMMAND_BUDGET_MS);
  out_eol();
}

void fw_cmd_info(int argc, char **argv) {
  (void)argc;
  (void)argv;
  info_model();
  out_str("m-reds-timer");
  out_kv_str("unit", hal_timer_unit());
  out_kv_u64("hz", hal_timer_hz());
  fw_out_instructions_per_tick();
  out_kv_str("source", hal_timer_source());
  out_eol();
  info_build();
  uint32_t k = fw.ok ? reds_num_subnets(fw.ctx) : 0;
  for (uint32_t s = 0; s < k; s++) {
    out_str("m-reds-subnet");
    out_kv_u64("index", s);
    out_kv_u64("macs", reds_subnet_macs(fw.ctx, s));
    out_kv_u64("arena_bytes", reds_subnet_arena_bytes(fw.ctx, s));
    out_str(" widths=");
    for (uint32_t g = 0; g < reds_num_groups(fw.ctx); g++) {
      if (g) {
        out_char(',');
      }
      out_u64(reds_group_width(fw.ctx, s, g));
    }
    out_eol();
  }
}

static int parse_subnet(const char *arg, uint32_t *k) {
  if (!fw_parse_u32(arg, k)) {
    out_error("subnet must be a number");
    return 0;
  }
  if (*k >= reds_num_subnets(fw.ctx)) {
    out_error_kv("subnet out of range", "subnet", *k, "subnets", reds_num_subnets(fw.ctx));
    return 0;
  }
  return 1;
}

void fw_cmd_select(int argc, char **argv) {
  uint32_t k;
  if (argc != 2) {
    out_error("usage: reds-select K");
    return;
  }
  if (!fw_require_model() || !parse_subnet(argv[1], &k)) {
    return;
  }
  uint64_t t0 = hal_timer_now();
  reds_status_t s = reds_select(fw.ctx, k);
  uint64_t t1 = hal_timer_now();
  if (s != REDS_OK) {
    fw_error_status("select", s);
    return;
  }
  fw.have_results = 0;
  out_str("m-reds-select");
  out_kv_u64("subnet", k);
  out_kv_u64("macs", reds_subnet_macs(fw.ctx, k));
  out_kv_u64("arena_bytes", reds_subnet_arena_bytes(fw.ctx, k));
  out_kv_u64("ticks", t1 - t0);
  out_eol();
}

void fw_cmd_bench(int argc, char **argv) {
  uint32_t k;
  fw_timed_t t = {0, 1, 0, 0, "none"};
  if (argc < 3 || argc > 4) {
    out_error("usage: reds-bench K N [W]");
    return;
  }
  if (!fw_parse_u32(argv[2], &t.runs) || (argc == 4 && !fw_parse_u32(argv[3], &t.warmup))) {
    out_error_kv("runs out of range: usage reds-bench K N [W]", NULL, 0, "max", FW_MAX_RUNS);
    return;
  }
  if (!fw_check_run_counts(t.runs, t.warmup)) {
    return;
  }
  if (!fw_require_model() || !parse_subnet(argv[1], &k)) {
    return;
  }
  reds_status_t s = reds_select(fw.ctx, k);
  if (s != REDS_OK) {
    fw_error_status("select", s);
    return;
  }
  if (fw_time_invokes(&t) != 0) {
    return;
  }
  out_str("m-reds-bench");
  out_kv_u64("subnet", k);
  out_kv_u64("runs", t.runs);
  out_kv_u64("warmup", t.warmup);
  out_kv_u64("macs", reds_subnet_macs(fw.ctx, k));
  out_kv_str("input", t.input);
  fw_timing_payload(&t);
  out_eol();
}

/* Ticks of `runs` iterations of { select(i); select(j) } (j == NONE: select(i) only). */
#define SWITCH_NONE 0xffffffffu
static int time_select_loop(uint32_t i, uint32_t j, uint32_t runs, uint64_t *ticks) {
  reds_status_t s = REDS_OK;
  (void)reds_select(fw.ctx, i);
  uint64_t t0 = hal_timer_now();
  for (uint32_t r = 0; r < runs; r++) {
    s |= reds_select(fw.ctx, i);
    if (j != SWITCH_NONE) {
      s |= reds_select(fw.ctx, j);
    }
  }
  uint64_t t1 = hal_timer_now();
  if (s != REDS_OK) {
    fw_error_status("select", s);
    return -1;
  }
  *ticks = t1 - t0;
  return 0;
}

static void out_milli(uint64_t thousandths) {
  out_u64(thousandths / 1000u);
  out_char('.');
  out_char((char)('0' + (thousandths % 1000u) / 100u));
  out_char((char)('0' + (thousandths % 100u) / 10u));
  out_char((char)('0' + thousandths % 10u));
}

/* Switch matrix. A single reds_select() is shorter than one SysTick tick under QEMU, so each
 * entry is measured in bulk: cost(i -> j) = (T[select(i); select(j)] - T[select(i)]) / runs,
 * two loops of `runs` iterations whose loop and timer-read overheads cancel. Reported as mean
 * ticks per switch with three decimals. The budget is checked between entries. */
void fw_cmd_switch(int argc, char **argv) {
  uint32_t runs;
  if (argc != 2 || !fw_parse_u32(argv[1], &runs) || runs == 0 || runs > FW_MAX_SWITCH_RUNS) {
    out_error_kv("usage: reds-switch N with 1 <= N <=", NULL, 0, "max", FW_MAX_SWITCH_RUNS);
    return;
  }
  if (!fw_require_model()) {
    return;
  }
  uint32_t n = reds_num_subnets(fw.ctx);
  uint32_t prev = reds_active_subnet(fw.ctx);
  uint64_t ovh = fw_timer_overhead_mticks(16);
  fw.have_results = 0;
  out_str("m-reds-switch");
  out_kv_u64("subnets", n);
  out_kv_u64("runs", runs);
  out_kv_milli("overhead_ticks", ovh);
  out_kv_str("unit", hal_timer_unit());
  out_kv_u64("hz", hal_timer_hz());
  fw_out_instructions_per_tick();
  out_str(" method=bulk");
  out_eol();
  for (uint32_t i = 0; i < n; i++) {
    uint64_t base;
    if (fw_budget_over("switch matrix rows", i, n) ||
        time_select_loop(i, SWITCH_NONE, runs, &base) != 0) {
      (void)reds_select(fw.ctx, prev);
      return;
    }
    out_str("m-reds-switch-row");
    out_kv_u64("from", i);
    out_str(" ticks=");
    for (uint32_t j = 0; j < n; j++) {
      uint64_t pair;
      if (fw_budget_spent()) {
        out_eol(); /* the row so far, then the error */
        (void)fw_budget_over("switch matrix entries", (uint64_t)i * n + j, (uint64_t)n * n);
        (void)reds_select(fw.ctx, prev);
        return;
      }
      if (time_select_loop(i, j, runs, &pair) != 0) {
        out_eol();
        (void)reds_select(fw.ctx, prev);
        return;
      }
      uint64_t mean = pair > base ? ((pair - base) * 1000u) / runs : 0;
      if (j) {
        out_char(',');
      }
      out_milli(mean);
    }
    out_eol();
  }
  (void)reds_select(fw.ctx, prev);
}

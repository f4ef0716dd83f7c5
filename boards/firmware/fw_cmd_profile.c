/* SPDX-License-Identifier: Apache-2.0
 * `reds-profile K`: where the time of one inference of subnet K goes, op by op
 * (docs/protocol.md). Needs a build with -DREDS_PROFILE (reds_invoke_profiled). */
#include "fw_args.h"
#include "fw_cmds.h"
#include "fw_config.h"
#include "fw_out.h"
#include "fw_timing.h"
#include "fw_store.h"
#include "hal.h"

#ifdef REDS_PROFILE

#ifndef FW_PROFILE_MAX_OPS
#define FW_PROFILE_MAX_OPS 256
#endif

static uint64_t g_op_ticks[FW_PROFILE_MAX_OPS];

static uint64_t g_op_sum[FW_PROFILE_MAX_OPS];

/* One warm-up reds_invoke (same state as reds-bench's timed runs), then R profiled runs whose
 * per-op ticks are summed: a timer tick is coarse (40 instructions under QEMU), and the clock's
 * phase moves between runs, so the sum over R runs resolves an op R times finer. */
void fw_cmd_reds_profile(int argc, char **argv) {
  uint32_t k, runs = 1;
  if (argc < 2 || argc > 3 || !fw_parse_u32(argv[1], &k) ||
      (argc == 3 && (!fw_parse_u32(argv[2], &runs) || runs == 0 || runs > FW_MAX_RUNS))) {
    out_error_kv("usage: reds-profile K [R] with 1 <= R <=", NULL, 0, "max", FW_MAX_RUNS);
    return;
  }
  if (!fw_require_model()) {
    return;
  }
  if (k >= reds_num_subnets(fw.ctx)) {
    out_error_kv("subnet out of range", "subnet", k, "subnets", reds_num_subnets(fw.ctx));
    return;
  }
  reds_status_t s = reds_select(fw.ctx, k);
  fw.have_results = 0;
  if (s == REDS_OK) {
    (void)fw_stage_input();
    s = reds_invoke(fw.ctx);
  }
  const uint32_t n = reds_num_ops(fw.ctx);
  for (uint32_t i = 0; i < n && i < FW_PROFILE_MAX_OPS; i++) {
    g_op_sum[i] = 0;
  }
  for (uint32_t r = 0; r < runs && s == REDS_OK; r++) {
    if (fw_budget_over("profiled runs", r, runs)) {
      return;
    }
    (void)fw_stage_input();
    s = reds_invoke_profiled(fw.ctx, hal_timer_now, g_op_ticks, FW_PROFILE_MAX_OPS);
    for (uint32_t i = 0; s == REDS_OK && i < n; i++) {
      g_op_sum[i] += g_op_ticks[i];
    }
  }
  if (s != REDS_OK) {
    fw_error_status("profile", s);
    return;
  }
  out_str("m-reds-profile");
  out_kv_u64("subnet", k);
  out_kv_u64("ops", n);
  out_kv_u64("runs", runs);
  out_kv_str("unit", hal_timer_unit());
  out_kv_u64("hz", hal_timer_hz());
  fw_out_instructions_per_tick();
  out_eol();
  uint64_t total = 0;
  for (uint32_t i = 0; i < n; i++) {
    total += g_op_sum[i];
    out_str("m-reds-profile-op");
    out_kv_u64("index", i);
    out_kv_str("op", reds_op_name_at(fw.ctx, i));
    out_kv_u64("macs", reds_op_macs(fw.ctx, k, i));
    out_kv_u64("ticks", g_op_sum[i]);
    out_eol();
  }
  out_str("m-reds-profile-total");
  out_kv_u64("subnet", k);
  out_kv_u64("macs", reds_subnet_macs(fw.ctx, k));
  out_kv_u64("ticks", total);
  out_eol();
}

#else

void fw_cmd_reds_profile(int argc, char **argv) {
  (void)argc;
  (void)argv;
  out_error("profiling not built in: build the firmware with -DREDS_PROFILE");
}

#endif

/* SPDX-License-Identifier: Apache-2.0
 * `reds-profile K`: where the time of one inference of subnet K goes, op by op
 * (docs/protocol.md). Needs a build with -DREDS_PROFILE (reds_invoke_profiled). */
#include "fw_args.h"
#include "fw_cmds.h"
#include "fw_out.h"
#include "fw_store.h"
#include "hal.h"

#ifdef REDS_PROFILE

#ifndef FW_PROFILE_MAX_OPS
#define FW_PROFILE_MAX_OPS 256
#endif

static uint64_t g_op_ticks[FW_PROFILE_MAX_OPS];

/* One warm-up reds_invoke (same state as reds-bench's timed runs), then one profiled run. */
void fw_cmd_reds_profile(int argc, char **argv)
{
    uint32_t k;
    if (argc != 2 || !fw_parse_u32(argv[1], &k)) {
        out_error("usage: reds-profile K");
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
    if (s == REDS_OK) {
        (void)fw_stage_input();
        s = reds_invoke_profiled(fw.ctx, hal_timer_now, g_op_ticks, FW_PROFILE_MAX_OPS);
    }
    if (s != REDS_OK) {
        fw_error_status("profile", s);
        return;
    }
    const uint32_t n = reds_num_ops(fw.ctx);
    out_str("m-reds-profile");
    out_kv_u64("subnet", k);
    out_kv_u64("ops", n);
    out_kv_str("unit", hal_timer_unit());
    out_kv_u64("hz", hal_timer_hz());
    out_kv_u64("instructions_per_tick", hal_instructions_per_tick());
    out_eol();
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        total += g_op_ticks[i];
        out_str("m-reds-profile-op");
        out_kv_u64("index", i);
        out_kv_str("op", reds_op_name_at(fw.ctx, i));
        out_kv_u64("macs", reds_op_macs(fw.ctx, k, i));
        out_kv_u64("ticks", g_op_ticks[i]);
        out_eol();
    }
    out_str("m-reds-profile-total");
    out_kv_u64("subnet", k);
    out_kv_u64("macs", reds_subnet_macs(fw.ctx, k));
    out_kv_u64("ticks", total);
    out_eol();
}

#else

void fw_cmd_reds_profile(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    out_error("profiling not built in: build the firmware with -DREDS_PROFILE");
}

#endif

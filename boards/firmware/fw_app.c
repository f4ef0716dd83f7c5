/* SPDX-License-Identifier: Apache-2.0
 * Command dispatch of the serial protocol (docs/protocol.md): one table names every command,
 * runs it and produces `help`. Handlers live by concern: fw_cmd_eembc.c (runner commands),
 * fw_cmd_reds.c (REDS commands), fw_cmd_profile.c (per-op profile), fw_cmd_upload.c (input and
 * model upload), fw_sched.c (the scheduler). */
#include "fw_app.h"

#include <string.h>

#include "fw_args.h"
#include "fw_cmds.h"
#include "fw_config.h"
#include "fw_line.h"
#include "fw_out.h"
#include "fw_sched.h"
#include "fw_store.h"
#include "fw_timing.h"
#include "hal.h"

typedef struct {
  const char *name;
  const char *usage; /* arguments, for `help` */
  void (*run)(int argc, char **argv);
} fw_command_t;

static void cmd_help(int argc, char **argv);

static const fw_command_t commands[] = {
    {"name", "", fw_cmd_name},
    {"profile", "", fw_cmd_profile},
    {"help", "", cmd_help},
    {"db", "load N | <hex>", fw_cmd_db},
    {"infer", "N W", fw_cmd_infer},
    {"results", "", fw_cmd_results},
    {"reds-info", "", fw_cmd_info},
    {"reds-select", "K", fw_cmd_select},
    {"reds-bench", "K N [W]", fw_cmd_bench},
    {"reds-switch", "N", fw_cmd_switch},
    {"reds-profile", "K", fw_cmd_reds_profile},
    {"model-load", "N", fw_cmd_model_load},
    {"model-data", "<hex>", fw_cmd_model_data},
    {"model-commit", "<crc32>", fw_cmd_model_commit},
    {"model-reset", "", fw_cmd_model_reset},
    {"reds-sched-trace", "clear | add <hex load % per window>", fw_cmd_sched_trace},
    {"reds-sched-table", "L0,L1,.. [E0,E1,..]", fw_cmd_sched_table},
    {"reds-sched-acc", "S0,S1,..", fw_cmd_sched_acc},
    {"reds-sched-cal", "R", fw_cmd_sched_cal},
    {"reds-sched-set", "key=value ...", fw_cmd_sched_set},
    {"reds-sched-run", "JOBS", fw_cmd_sched_run},
    {"reds-sched-cost", "R", fw_cmd_sched_cost},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static char g_line_buf[FW_LINE_MAX + 1];
static fw_line_t g_line;

/* `m-help name profile ...` (the words), then one `m-help-<name> <usage>` line per command
 * that takes arguments. */
static void cmd_help(int argc, char **argv) {
  (void)argc;
  (void)argv;
  out_str("m-help");
  for (size_t i = 0; i < N_COMMANDS; i++) {
    out_char(' ');
    out_str(commands[i].name);
  }
  out_eol();
  for (size_t i = 0; i < N_COMMANDS; i++) {
    if (commands[i].usage[0] != '\0') {
      out_str("m-help-");
      out_str(commands[i].name);
      out_char(' ');
      out_str(commands[i].usage);
      out_eol();
    }
  }
}

static void run_command(char *line) {
  char *argv[FW_MAX_ARGS];
  int argc = fw_split_args(line, argv);
  if (argc < 0) {
    out_error("too many arguments");
    return;
  }
  if (argc == 0) {
    return; /* empty command: just m-ready (used to resynchronise) */
  }
  for (size_t i = 0; i < N_COMMANDS; i++) {
    if (strcmp(argv[0], commands[i].name) == 0) {
      fw_budget_start();
      commands[i].run(argc, argv);
      return;
    }
  }
  out_error("unknown command");
}

void fw_app_feed(uint8_t byte) {
  switch (fw_line_feed(&g_line, byte)) {
  case FW_LINE_PENDING: return;
  case FW_LINE_READY: run_command(g_line.buf); break;
  case FW_LINE_TOO_LONG: out_error_kv("line too long", NULL, 0, "max", FW_LINE_MAX); break;
  case FW_LINE_BAD_BYTE: out_error("bad character"); break;
  }
  out_ready();
}

void fw_app_init(void) {
  fw_line_init(&g_line, g_line_buf, FW_LINE_MAX);
  fw_store_init();
  fw_upload_cancel();
  out_str("m-boot-reds");
  out_kv_str("target", hal_target_name());
  out_kv_u64("protocol", FW_PROTOCOL_VERSION);
  out_kv_u64("model_ok", (uint64_t)fw.ok);
  out_kv_hex32("model_crc32", fw.ok ? fw.model_crc : 0u);
  out_eol();
  out_ready();
}

int fw_app_run(void) {
  fw_app_init();
  for (;;) {
    int c = hal_read_byte();
    if (c < 0) {
      return 0;
    }
    fw_app_feed((uint8_t)c);
  }
}

/* SPDX-License-Identifier: Apache-2.0
 * Command handlers, dispatched by the table in fw_app.c (one entry per command word). Each
 * prints its reply lines (or one e-[...] line); fw_app prints the closing m-ready.
 */
#ifndef REDS_FW_CMDS_H
#define REDS_FW_CMDS_H

#include <stdint.h>

/* EEMBC / MLPerf Tiny runner commands (fw_cmd_eembc.c) */
void fw_cmd_name(int argc, char **argv);
void fw_cmd_profile(int argc, char **argv);
void fw_cmd_infer(int argc, char **argv);
void fw_cmd_results(int argc, char **argv);

/* REDS commands (fw_cmd_reds.c) */
void fw_cmd_info(int argc, char **argv);
void fw_cmd_select(int argc, char **argv);
void fw_cmd_bench(int argc, char **argv);
void fw_cmd_switch(int argc, char **argv);
/* per-op profile (fw_cmd_profile.c) */
void fw_cmd_reds_profile(int argc, char **argv);

/* input and model upload (fw_cmd_upload.c) */
void fw_cmd_db(int argc, char **argv);
void fw_cmd_model_load(int argc, char **argv);
void fw_cmd_model_data(int argc, char **argv);
void fw_cmd_model_commit(int argc, char **argv);
void fw_cmd_model_reset(int argc, char **argv);
/* Drops an unfinished model upload (e.g. at boot). */
void fw_upload_cancel(void);

/* the scheduler's commands: fw_sched.h */

/* Bounds shared by infer and reds-bench: 1 <= runs <= FW_MAX_RUNS, warmup <= FW_MAX_WARMUP.
 * Returns 1, or prints the error line and returns 0. */
int fw_check_run_counts(uint32_t runs, uint32_t warmup);

#endif /* REDS_FW_CMDS_H */

/* SPDX-License-Identifier: Apache-2.0
 * `reds-sched-*` commands: a periodic inference task driven by the subnetwork scheduler
 * (boards/runtime/include/reds_sched.h) under an uploaded interference trace. See
 * docs/scheduler.md and docs/protocol.md.
 */
#ifndef REDS_FW_SCHED_H
#define REDS_FW_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "reds.h"

/* Windows of the interference trace (one byte each: percent of the window, 0..90). */
#ifndef FW_SCHED_TRACE_MAX
#define FW_SCHED_TRACE_MAX 2048
#endif
/* Most jobs of one `reds-sched-run`. */
#ifndef FW_SCHED_MAX_JOBS
#define FW_SCHED_MAX_JOBS 100000u
#endif
/* Calibration runs per subnet: R x subnets inferences in one command must stay within the
 * command time budget (20 s) on a slow board too. */
#ifndef FW_SCHED_MAX_CAL_RUNS
#define FW_SCHED_MAX_CAL_RUNS 32u
#endif
/* Interference windows are at least period / this long (bounds the work per job). */
#define FW_SCHED_WINDOWS_PER_PERIOD 256u
/* The interference never takes more than this percent of a window (the task always runs). */
#define FW_SCHED_MAX_LOAD 90u

/* Runs one `reds-sched-*` command (argv[0] names it). `ctx` is NULL when no model is loaded;
 * `input`/`input_len` are the bytes loaded with `db` (a set of samples, each of the model's
 * input size; 0 bytes: every job runs the input the context already holds). */
void fw_sched_command(reds_ctx_t *ctx, int argc, char **argv, const uint8_t *input,
                      size_t input_len);

/* The command table's entry for every `reds-sched-*` word: the loaded model and samples. */
void fw_cmd_sched(int argc, char **argv);

#endif /* REDS_FW_SCHED_H */

/* SPDX-License-Identifier: Apache-2.0
 * `reds-sched-*` commands: a periodic inference task driven by the subnetwork scheduler
 * (boards/runtime/include/reds_sched.h) under an uploaded interference trace; the task model
 * itself is fw_sched_model.h. See docs/scheduler.md and docs/protocol.md.
 */
#ifndef REDS_FW_SCHED_H
#define REDS_FW_SCHED_H

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
#define FW_SCHED_MAX_LOAD           90u

/* The command table's entries (fw_app.c), one per command word; each prints its reply lines or
 * one e-[...] line. The ones that run inferences take the samples loaded with `db` (a set of
 * samples, each of the model's input size; none: every job runs the input the context already
 * holds) and overwrite the outputs of the last `infer`. */
void fw_cmd_sched_trace(int argc, char **argv); /* clear | add <hex percent per window> */
void fw_cmd_sched_table(int argc, char **argv); /* L0,L1,... [E0,E1,...]: the cost table */
void fw_cmd_sched_acc(int argc, char **argv);   /* S0,S1,...: accuracy scores (oracle) */
void fw_cmd_sched_cal(int argc, char **argv);   /* R: the cost table measured on the board */
void fw_cmd_sched_set(int argc, char **argv);   /* key=value ...: policy and numbers */
void fw_cmd_sched_run(int argc, char **argv);   /* N: run N jobs, one line per job */
void fw_cmd_sched_cost(int argc, char **argv);  /* R: instructions of a decision */

#endif /* REDS_FW_SCHED_H */

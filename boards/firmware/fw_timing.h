/* SPDX-License-Identifier: Apache-2.0
 * Timing of inferences and the command time budget (FW_COMMAND_BUDGET_MS).
 */
#ifndef REDS_FW_TIMING_H
#define REDS_FW_TIMING_H

#include <stdint.h>

uint64_t fw_ticks_to_ns(uint64_t ticks);
/* Ticks as executed instructions (rounded to nearest), exact for the board's ratio of
 * instructions per tick (hal_instructions_per_tick, reduced); 0 when ticks are not
 * instruction counts. `scale` multiplies before the division (e.g. 1000 for thousandths). */
uint64_t fw_ticks_to_instr(uint64_t ticks, uint32_t scale);
/* 1 when timer ticks are instruction counts (QEMU with -icount). */
int fw_ticks_are_instr(void);
/* " instructions_per_tick=N", or "=NUM/DEN" when a tick is not a whole number of them. */
void fw_out_instructions_per_tick(void);
/* Mean cost of two back-to-back timer reads over n pairs, in thousandths of a tick. */
uint64_t fw_timer_overhead_mticks(uint32_t n);

/* Starts the budget of the current command. */
void fw_budget_start(void);
/* 1 when the command has run longer than FW_COMMAND_BUDGET_MS (prints nothing). */
int fw_budget_spent(void);
/* 1 (and prints `e-[time budget exceeded ...]` naming `what` and how many of `total` were
 * done) when the command has run longer than FW_COMMAND_BUDGET_MS. */
int fw_budget_over(const char *what, uint64_t done, uint64_t total);

typedef struct {
  uint32_t runs;
  uint32_t warmup;
  int eembc_lines;   /* print m-warmup-*, m-infer-start-N, two m-lap-us-, m-infer-done */
  uint64_t overhead; /* out: timer overhead in ticks, subtracted from every run */
  const char *input; /* out: what fw_stage_input staged */
} fw_timed_t;

/* `warmup` untimed then `runs` timed invocations of the active subnet; per-run times are kept
 * (sorted) for fw_timing_payload. Returns 0, or -1 after printing the error line. */
int fw_time_invokes(fw_timed_t *t);
/* " min=.. median=.. max=.. mean=.. overhead=.. unit=.. hz=.. ns_*=.. [instr_median=..]" */
void fw_timing_payload(const fw_timed_t *t);

#endif /* REDS_FW_TIMING_H */

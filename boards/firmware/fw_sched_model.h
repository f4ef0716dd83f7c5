/* SPDX-License-Identifier: Apache-2.0
 * The task model behind the `reds-sched-*` commands (fw_sched.c): a periodic inference task
 * under an interference trace, on one timeline in timer ticks. Pure functions: no I/O, no HAL,
 * no state of their own, so a host program tests them against the Python model of the same
 * rules (reds.sched.model: advance, recent_load_q16, oracle_choice), value for value.
 *
 * Window i covers [i*W, (i+1)*W); an interrupt takes its first loads[i % n] * W / 100 ticks.
 * Job j is released at j*P, starts at max(release, end of job j-1) and must end by
 * release + D; the task runs whenever the interrupt does not.
 */
#ifndef REDS_FW_SCHED_MODEL_H
#define REDS_FW_SCHED_MODEL_H

#include <stdint.h>

#include "reds_sched.h"

/* An interference trace: loads[i] percent (0..90) of window i, repeated; n > 0, window > 0. */
typedef struct {
  const uint8_t *loads;
  uint32_t n;
  uint64_t window; /* ticks */
} fw_sched_trace_t;

/* When `work` ticks of the task, started at t, are done. */
uint64_t fw_sched_advance(const fw_sched_trace_t *tr, uint64_t t, uint64_t work);

/* The interrupt's share of the window before `now` (now > 0), Q16: what an ISR busy counter
 * would report before a decision. */
uint32_t fw_sched_recent_load_q16(const fw_sched_trace_t *tr, uint64_t now);

/* The oracle policy: it knows the trace, so it takes, among the subnets whose table latency
 * started at `start` ends by `deadline`, the most accurate one: the highest score[k], the
 * lowest index among equal scores; when none ends in time, the fastest (the lowest index
 * among equal latencies). score may be NULL: all equal, so the widest that fits. n >= 1. */
uint32_t fw_sched_oracle(const fw_sched_trace_t *tr, const reds_sched_cost_t *table,
                         const uint32_t *score, uint32_t n, uint64_t start, uint64_t deadline);

#endif /* REDS_FW_SCHED_MODEL_H */

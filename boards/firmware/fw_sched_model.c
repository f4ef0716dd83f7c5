/* SPDX-License-Identifier: Apache-2.0
 * The task model of the scheduler commands. See fw_sched_model.h. */
#include "fw_sched_model.h"

#include <stddef.h>

/* Ticks the interrupt takes at the start of window i. */
static uint64_t busy_ticks(const fw_sched_trace_t *tr, uint64_t i) {
  return (uint64_t)tr->loads[i % tr->n] * tr->window / 100u;
}

uint64_t fw_sched_advance(const fw_sched_trace_t *tr, uint64_t t, uint64_t work) {
  for (;;) {
    uint64_t i = t / tr->window, start = i * tr->window;
    uint64_t busy_end = start + busy_ticks(tr, i);
    if (t < busy_end) {
      t = busy_end;
    }
    uint64_t avail = start + tr->window - t;
    if (work <= avail) {
      return t + work;
    }
    work -= avail;
    t = start + tr->window;
  }
}

uint32_t fw_sched_recent_load_q16(const fw_sched_trace_t *tr, uint64_t now) {
  uint64_t a = now > tr->window ? now - tr->window : 0, total = 0;
  for (uint64_t t = a; t < now;) {
    uint64_t i = t / tr->window, start = i * tr->window;
    uint64_t busy_end = start + busy_ticks(tr, i);
    uint64_t stop = busy_end < now ? busy_end : now;
    total += stop > t ? stop - t : 0;
    t = start + tr->window;
  }
  return (uint32_t)((total << 16) / (now - a));
}

uint32_t fw_sched_oracle(const fw_sched_trace_t *tr, const reds_sched_cost_t *table,
                         const uint32_t *score, uint32_t n, uint64_t start, uint64_t deadline) {
  uint32_t best = n, fastest = 0;
  for (uint32_t k = 0; k < n; k++) {
    if (table[k].latency_ticks < table[fastest].latency_ticks) {
      fastest = k;
    }
    if (fw_sched_advance(tr, start, table[k].latency_ticks) <= deadline &&
        (best == n || (score != NULL && score[k] > score[best]))) {
      best = k;
    }
  }
  return best < n ? best : fastest;
}

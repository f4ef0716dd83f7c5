/* SPDX-License-Identifier: Apache-2.0
 * REDS subnetwork scheduler: decides before each inference which subnet to run, from the job's
 * deadline, an online estimate of CPU interference and an energy budget. Optional to link: it
 * only calls the public API of reds.h. C99, no heap, integer arithmetic only (fixed point Q16,
 * 1.0 == 65536), so a host model (src/reds/sched/model.py) reproduces every decision.
 *
 * Periodic task (see docs/scheduler.md):
 *   static reds_sched_t sched;
 *   reds_sched_config_t cfg;  reds_sched_config_default(&cfg, REDS_SCHED_DEADLINE);
 *   reds_sched_init(&sched, &cfg, table, reds_num_subnets(&ctx));   // table: calibrate or load
 *   for (;;) {                                   // one job per period
 *       uint32_t release = wait_for_period(), deadline = release + D;
 *       uint32_t k;
 *       reds_sched_next(&sched, &ctx, now(), deadline, &k);          // decide + reds_select
 *       uint32_t t0 = now();  reds_invoke(&ctx);  reds_sched_observe(&sched, k, now() - t0);
 *   }
 *
 * Rules (all in integers):
 *   predicted[k] = table_latency[k] * factor >> 16,  factor = slowdown * (65536 + margin) >> 16
 *   deadline:  subnet k fits when predicted[k] <= deadline - now
 *   energy:    a token bucket filled at rate µJ/s (nJ per tick in Q16, remainder kept), capped at
 *              capacity; subnet k fits when bucket - energy[k] >= reserve; the chosen subnet's
 *              energy is taken from the bucket at the decision.
 *   allowed  = the widest subnet in [widest, narrowest] that every active constraint lets
 *              through, else `narrowest` (subnets are sorted widest first, index 0 = full).
 *   hysteresis: allowed narrower than current -> switch at once; allowed wider -> count a job
 *              with slack, switch to `allowed` when up_after consecutive jobs had slack.
 *   slowdown: ratio = observed * inv[k] >> 16 with inv[k] = floor(2^32 / table_latency[k]);
 *              a ratio above the estimate is taken at once (interference arrives suddenly), a
 *              lower one is blended in with weight 2^-ewma_shift (acc = acc - acc>>s + ratio).
 */
#ifndef REDS_SCHED_H
#define REDS_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "reds.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The scheduler's cost table lives in its caller-allocated state (no heap). A model with more
 * subnets than this is refused by reds_sched_init (REDS_ERR_CAPACITY); override with -D. */
#ifndef REDS_SCHED_MAX_SUBNETS
#define REDS_SCHED_MAX_SUBNETS 16
#endif

#define REDS_SCHED_ONE            65536u      /* 1.0 in Q16 */
#define REDS_SCHED_MAX_RATIO      (64u << 16) /* observed/table ratios are clamped at 64.0 */
#define REDS_SCHED_MAX_EWMA_SHIFT 8u
#define REDS_SCHED_MAX_MARGIN     (4u << 16) /* margin at most +400 % */

/* Active constraints (bit set). 0 = fixed: always `widest` (set widest = narrowest = K). */
enum { REDS_SCHED_FIXED = 0u, REDS_SCHED_DEADLINE = 1u, REDS_SCHED_ENERGY = 2u };

/* Cost of one inference of a subnet on this target. */
typedef struct {
  uint32_t latency_ticks; /* caller's timer ticks, measured without interference (> 0) */
  uint32_t energy_nj;     /* nanojoules per inference (measured, or reds_sched_energy_nj) */
} reds_sched_cost_t;

typedef struct {
  uint32_t policy;     /* REDS_SCHED_DEADLINE | REDS_SCHED_ENERGY, or REDS_SCHED_FIXED */
  uint32_t widest;     /* widest subnet the scheduler may choose (0 = full model) */
  uint32_t narrowest;  /* narrowest subnet; also the fallback when nothing fits */
  uint32_t margin_q16; /* safety margin on predicted latency (6554 = +10 %) */
  uint32_t ewma_shift; /* slowdown decay weight 2^-shift per observation, 0..8 */
  uint32_t up_after;   /* consecutive jobs with slack before stepping up (0 or 1: at once) */
  uint32_t timer_hz;   /* ticks per second of the caller's timer (energy refill) */
  uint32_t energy_rate_uj_per_s; /* bucket refill rate: average power budget in µW */
  uint32_t energy_capacity_nj;   /* bucket size (< 2^30); starts full */
  uint32_t energy_reserve_nj;    /* never plan below this level (< 2^30) */
} reds_sched_config_t;

typedef struct {
  reds_sched_config_t cfg;
  uint32_t n;                                   /* subnets in the table */
  uint32_t latency[REDS_SCHED_MAX_SUBNETS];     /* table latency, ticks */
  uint32_t inv_latency[REDS_SCHED_MAX_SUBNETS]; /* floor(2^32 / latency) */
  int32_t energy[REDS_SCHED_MAX_SUBNETS];       /* nJ per inference */
  uint32_t predicted[REDS_SCHED_MAX_SUBNETS];   /* latency * factor >> 16, kept current */
  uint32_t slowdown_acc;                        /* slowdown (Q16) << ewma_shift */
  uint32_t slowdown_q16;                        /* current estimate, >= 0 */
  uint32_t current;                             /* subnet of the last decision */
  uint32_t slack_jobs;  /* consecutive decisions that allowed a wider subnet */
  int32_t bucket_nj;    /* energy tokens; may go below zero down to -capacity */
  uint32_t refill_q16;  /* nJ per tick, Q16 */
  uint32_t refill_frac; /* Q16 remainder of the refill */
  uint32_t last_now;    /* timer value of the last decision */
  uint32_t started;     /* 0 until the first decision (no refill before it) */
} reds_sched_t;

/* Board profile for energy estimates when nothing measures it (docs/boards.md per target). */
typedef struct {
  uint32_t supply_mv;         /* supply voltage, millivolts */
  uint32_t active_ua_per_mhz; /* active run current per MHz of core clock, µA/MHz */
} reds_sched_board_t;

/* Defaults: given policy, widest 0, narrowest REDS_SCHED_MAX_SUBNETS-1 (set it to the model's
 * subnet count - 1), margin +10 %, ewma_shift 3, up_after 4, timer_hz 1000000, no energy budget
 * (rate 0, capacity 0). */
void reds_sched_config_default(reds_sched_config_t *cfg, uint32_t policy);

/* Copies the table (n subnets, widest first) and the configuration. REDS_ERR_ARG for a NULL
 * pointer, n == 0 or > REDS_SCHED_MAX_SUBNETS, a zero latency, widest > narrowest or
 * narrowest >= n, margin (> 4.0) or ewma_shift (> 8) out of range, unknown policy bits, an
 * energy field (capacity, reserve, table entry) >= 2^30 nJ, or an energy policy with
 * timer_hz == 0 or a rate above 65535 nJ per tick. Slowdown starts at 1.0, the bucket full,
 * current = widest. */
reds_status_t reds_sched_init(reds_sched_t *s, const reds_sched_config_t *cfg,
                              const reds_sched_cost_t *table, uint32_t n);

/* Subnet for a job that starts at `now` and must finish by `deadline` (same timer, wrap-safe:
 * deadline - now is read as a signed 32-bit difference; a past deadline leaves 0 ticks).
 * O(K), no division. Updates hysteresis state and takes the energy of the chosen subnet. */
uint32_t reds_sched_decide(reds_sched_t *s, uint32_t now, uint32_t deadline);

/* reds_sched_decide + reds_select(ctx, k). *subnet gets k; returns reds_select's status. */
reds_status_t reds_sched_next(reds_sched_t *s, reds_ctx_t *ctx, uint32_t now, uint32_t deadline,
                              uint32_t *subnet);

/* After a job: `subnet` ran and took `latency_ticks` (interference included). Updates the
 * slowdown estimate and the predictions; O(K). Ignored for subnet >= n. */
void reds_sched_observe(reds_sched_t *s, uint32_t subnet, uint32_t latency_ticks);

/* Interrupt load seen just before a job (e.g. the share of the last window spent in other
 * handlers, from an idle hook or an ISR busy counter), Q16 fraction 0..65536. Feeds the same
 * slowdown estimate with ratio = (2^32 - 1) / (65536 - load), so a burst that began while the
 * task was idle is known before the next decision. */
void reds_sched_observe_load(reds_sched_t *s, uint32_t load_q16);

/* Timer read callback of the calibration (e.g. wraps hal_timer_now). */
typedef uint32_t (*reds_sched_timer_fn)(void *user);

/* Self-calibration: for each subnet k < n, select it, run `runs` inferences (after one untimed
 * warm-up) on whatever input the context holds, and store the longest in table[k].latency_ticks.
 * When `board` is not NULL, table[k].energy_nj = reds_sched_energy_nj(board, ticks *
 * cycles_per_tick). Restores the previously active subnet. Returns the first failing status. */
reds_status_t reds_sched_calibrate(reds_ctx_t *ctx, reds_sched_cost_t *table, uint32_t n,
                                   uint32_t runs, reds_sched_timer_fn now, void *user,
                                   const reds_sched_board_t *board, uint32_t cycles_per_tick);

/* Energy of `cycles` core cycles: supply_mv * active_ua_per_mhz * cycles / 10^6 nJ
 * (E = V * I/MHz * f * cycles/f), saturated at UINT32_MAX. */
uint32_t reds_sched_energy_nj(const reds_sched_board_t *board, uint64_t cycles);

#ifdef __cplusplus
}
#endif

#endif /* REDS_SCHED_H */

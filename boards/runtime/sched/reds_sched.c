/* SPDX-License-Identifier: Apache-2.0
 * Subnetwork scheduler: deadline / energy / fixed policies with hysteresis (reds_sched.h). */
#include "reds_sched.h"

#include <string.h>

#define SCHED_I32_LIMIT 0x3fffffffu /* energy fields stay far from INT32 overflow */

/* Predictions follow the slowdown estimate: predicted = latency * slowdown * (1 + margin). */
static void update_predictions(reds_sched_t *s) {
  uint64_t factor = ((uint64_t)s->slowdown_q16 * (REDS_SCHED_ONE + s->cfg.margin_q16)) >> 16;
  for (uint32_t k = 0; k < s->n; k++) {
    uint64_t p = ((uint64_t)s->latency[k] * factor) >> 16;
    s->predicted[k] = p > 0xffffffffu ? 0xffffffffu : (uint32_t)p;
  }
}

/* A new slowdown sample: taken at once when higher (interference arrives suddenly), blended in
 * with weight 2^-shift when lower. */
static void blend_ratio(reds_sched_t *s, uint32_t ratio) {
  const uint32_t sh = s->cfg.ewma_shift;
  if (ratio > s->slowdown_q16) {
    s->slowdown_acc = ratio << sh;
  } else {
    s->slowdown_acc = s->slowdown_acc - (s->slowdown_acc >> sh) + ratio;
  }
  s->slowdown_q16 = s->slowdown_acc >> sh;
  update_predictions(s);
}

void reds_sched_config_default(reds_sched_config_t *cfg, uint32_t policy) {
  if (cfg == NULL) {
    return;
  }
  memset(cfg, 0, sizeof *cfg);
  cfg->policy = policy;
  cfg->widest = 0;
  cfg->narrowest = REDS_SCHED_MAX_SUBNETS - 1u;
  cfg->margin_q16 = 6554u; /* +10 % */
  cfg->ewma_shift = 3u;
  cfg->up_after = 4u;
  cfg->timer_hz = 1000000u;
}

reds_status_t reds_sched_init(reds_sched_t *s, const reds_sched_config_t *cfg,
                              const reds_sched_cost_t *table, uint32_t n) {
  if (n > REDS_SCHED_MAX_SUBNETS) {
    return REDS_ERR_CAPACITY; /* more subnets than the table holds: raise REDS_SCHED_MAX_SUBNETS */
  }
  if (s == NULL || cfg == NULL || table == NULL || n == 0 || cfg->widest > cfg->narrowest ||
      cfg->narrowest >= n || cfg->margin_q16 > REDS_SCHED_MAX_MARGIN ||
      cfg->ewma_shift > REDS_SCHED_MAX_EWMA_SHIFT || cfg->energy_capacity_nj > SCHED_I32_LIMIT ||
      cfg->energy_reserve_nj > SCHED_I32_LIMIT ||
      (cfg->policy & ~(uint32_t)(REDS_SCHED_DEADLINE | REDS_SCHED_ENERGY)) != 0) {
    return REDS_ERR_ARG;
  }
  uint64_t refill = 0;
  if (cfg->policy & REDS_SCHED_ENERGY) {
    if (cfg->timer_hz == 0) {
      return REDS_ERR_ARG;
    }
    /* nJ per tick in Q16: rate [µJ/s] * 1000 [nJ/µJ] / hz [ticks/s] */
    refill = ((uint64_t)cfg->energy_rate_uj_per_s * 1000u << 16) / cfg->timer_hz;
    if (refill > 0xffffffffu) {
      return REDS_ERR_ARG;
    }
  }
  for (uint32_t k = 0; k < n; k++) {
    if (table[k].latency_ticks == 0 || table[k].energy_nj > SCHED_I32_LIMIT) {
      return REDS_ERR_ARG;
    }
  }
  memset(s, 0, sizeof *s);
  s->cfg = *cfg;
  s->n = n;
  for (uint32_t k = 0; k < n; k++) {
    uint64_t inv = ((uint64_t)1 << 32) / table[k].latency_ticks;
    s->latency[k] = table[k].latency_ticks;
    s->inv_latency[k] = inv > 0xffffffffu ? 0xffffffffu : (uint32_t)inv;
    s->energy[k] = (int32_t)table[k].energy_nj;
  }
  s->slowdown_q16 = REDS_SCHED_ONE;
  s->slowdown_acc = REDS_SCHED_ONE << cfg->ewma_shift;
  s->current = cfg->widest;
  s->bucket_nj = (int32_t)cfg->energy_capacity_nj;
  s->refill_q16 = (uint32_t)refill;
  update_predictions(s);
  return REDS_OK;
}

uint32_t reds_sched_decide(reds_sched_t *s, uint32_t now, uint32_t deadline) {
  const uint32_t policy = s->cfg.policy;
  const uint32_t last = s->cfg.narrowest;
  uint32_t k = s->cfg.widest;
  uint32_t left = 0xffffffffu;
  if (policy & REDS_SCHED_DEADLINE) {
    int32_t d = (int32_t)(deadline - now); /* wrap-safe time left */
    left = d > 0 ? (uint32_t)d : 0u;
  }
  if (policy & REDS_SCHED_ENERGY) {
    if (s->started) {
      uint64_t add = (uint64_t)(now - s->last_now) * s->refill_q16 + s->refill_frac;
      int64_t b = (int64_t)s->bucket_nj + (int64_t)(add >> 16);
      s->refill_frac = (uint32_t)(add & 0xffffu);
      s->bucket_nj =
          b > (int64_t)s->cfg.energy_capacity_nj ? (int32_t)s->cfg.energy_capacity_nj : (int32_t)b;
    }
    s->started = 1u;
    s->last_now = now;
    const int32_t budget = s->bucket_nj - (int32_t)s->cfg.energy_reserve_nj;
    /* widest subnet that every active constraint lets through; costs fall with k */
    while (k < last && (s->predicted[k] > left || s->energy[k] > budget)) {
      k++;
    }
  } else if (policy != REDS_SCHED_FIXED) {
    while (k < last && s->predicted[k] > left) {
      k++;
    }
  }
  /* hysteresis: down at once, up after up_after consecutive jobs with slack */
  if (k >= s->current) {
    s->current = k;
    s->slack_jobs = 0;
  } else if (++s->slack_jobs >= s->cfg.up_after) {
    s->current = k;
    s->slack_jobs = 0;
  }
  k = s->current;
  if (policy & REDS_SCHED_ENERGY) {
    int32_t floor = -(int32_t)s->cfg.energy_capacity_nj;
    int32_t b = s->bucket_nj - s->energy[k];
    s->bucket_nj = b < floor ? floor : b;
  }
  return k;
}

reds_status_t reds_sched_next(reds_sched_t *s, reds_ctx_t *ctx, uint32_t now, uint32_t deadline,
                              uint32_t *subnet) {
  uint32_t k = reds_sched_decide(s, now, deadline);
  if (subnet != NULL) {
    *subnet = k;
  }
  return reds_select(ctx, k);
}

void reds_sched_observe(reds_sched_t *s, uint32_t subnet, uint32_t latency_ticks) {
  if (subnet >= s->n) {
    return;
  }
  uint64_t r = ((uint64_t)latency_ticks * s->inv_latency[subnet]) >> 16;
  blend_ratio(s, r > REDS_SCHED_MAX_RATIO ? REDS_SCHED_MAX_RATIO : (uint32_t)r);
}

void reds_sched_observe_load(reds_sched_t *s, uint32_t load_q16) {
  uint32_t free = load_q16 >= REDS_SCHED_ONE ? 0u : REDS_SCHED_ONE - load_q16;
  uint32_t ratio = free == 0 ? REDS_SCHED_MAX_RATIO : 0xffffffffu / free; /* ~ 1 / (1 - load) */
  blend_ratio(s, ratio > REDS_SCHED_MAX_RATIO ? REDS_SCHED_MAX_RATIO : ratio);
}

uint32_t reds_sched_energy_nj(const reds_sched_board_t *board, uint64_t cycles) {
  if (board == NULL) {
    return 0;
  }
  uint64_t p = (uint64_t)board->supply_mv * board->active_ua_per_mhz; /* < 2^64 */
  uint64_t q = cycles / 1000000u, r = cycles % 1000000u;
  if ((q != 0 && p > UINT64_MAX / q) || (r != 0 && p > UINT64_MAX / r)) {
    return 0xffffffffu;
  }
  uint64_t e = p * q + (p * r) / 1000000u;
  return e > 0xffffffffu ? 0xffffffffu : (uint32_t)e;
}

reds_status_t reds_sched_calibrate(reds_ctx_t *ctx, reds_sched_cost_t *table, uint32_t n,
                                   uint32_t runs, reds_sched_timer_fn now, void *user,
                                   const reds_sched_board_t *board, uint32_t cycles_per_tick) {
  if (ctx == NULL || table == NULL || now == NULL || runs == 0 || n == 0 ||
      n > reds_num_subnets(ctx)) {
    return REDS_ERR_ARG;
  }
  const uint32_t prev = reds_active_subnet(ctx);
  reds_status_t st = REDS_OK;
  for (uint32_t k = 0; k < n && st == REDS_OK; k++) {
    uint32_t worst = 0;
    st = reds_select(ctx, k);
    if (st == REDS_OK) {
      st = reds_invoke(ctx); /* warm-up */
    }
    for (uint32_t r = 0; r < runs && st == REDS_OK; r++) {
      uint32_t t0 = now(user);
      st = reds_invoke(ctx);
      uint32_t d = now(user) - t0;
      worst = d > worst ? d : worst;
    }
    table[k].latency_ticks = worst > 0 ? worst : 1u;
    if (board != NULL) {
      table[k].energy_nj = reds_sched_energy_nj(board, (uint64_t)worst * cycles_per_tick);
    }
  }
  reds_status_t back = reds_select(ctx, prev);
  return st != REDS_OK ? st : back;
}

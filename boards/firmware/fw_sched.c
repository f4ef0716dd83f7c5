/* SPDX-License-Identifier: Apache-2.0
 * `reds-sched-*` commands (fw_sched.h): a periodic inference task under an interference trace,
 * its subnet chosen per job by the scheduler of boards/runtime/sched (or by the oracle).
 *
 * Interference is accounted in virtual time, not produced by a busy-waiting interrupt: the job
 * timeline (release j*P, start, end) lives in timer ticks, each inference's own ticks are
 * measured on the board around reds_invoke(), and the ticks an interrupt would take (the first
 * load% of every window) are added by fw_sched_advance() (fw_sched_model.c). Why: on QEMU the
 * SysTick is the board's only timer and also its clock (reds_hal), so a second periodic
 * interrupt would have to reprogram it; and the same arithmetic runs in the host simulator, so
 * simulated and measured runs differ only by what the board really does (inference ticks,
 * predictions, decisions). On a real board a timer ISR would steal the same share of each
 * window; the scheduler sees either the same way (through the latency it observes and the load
 * probe).
 *
 * `tablework=1` makes the timeline take each job's work from the cost table instead of the
 * ticks just measured (which are still reported as `work`). Under QEMU a measurement is
 * quantized to a SysTick tick (40 instructions) at a phase set by how long the UART was polled,
 * so two runs may differ by a tick per job; with the table the whole run is deterministic.
 */
#include "fw_sched.h"

#include <string.h>

#include "fw_args.h"
#include "fw_out.h"
#include "fw_sched_model.h"
#include "fw_store.h"
#include "fw_timing.h"
#include "hal.h"
#include "reds_sched.h"

typedef enum { POL_FIXED, POL_DEADLINE, POL_ENERGY, POL_BOTH, POL_ORACLE, POL_COUNT } policy_t;
static const char *const g_policy_names[POL_COUNT] = {
    [POL_FIXED] = "fixed",          [POL_DEADLINE] = "deadline", [POL_ENERGY] = "energy",
    [POL_BOTH] = "deadline+energy", [POL_ORACLE] = "oracle",
};
/* The scheduler's constraints per policy (the oracle decides without the scheduler). */
static const uint32_t g_policy_bits[POL_COUNT] = {
    [POL_FIXED] = REDS_SCHED_FIXED,   [POL_DEADLINE] = REDS_SCHED_DEADLINE,
    [POL_ENERGY] = REDS_SCHED_ENERGY, [POL_BOTH] = REDS_SCHED_DEADLINE | REDS_SCHED_ENERGY,
    [POL_ORACLE] = REDS_SCHED_FIXED,
};

static uint8_t g_trace[FW_SCHED_TRACE_MAX];
static uint32_t g_trace_n;
static reds_sched_cost_t g_table[REDS_SCHED_MAX_SUBNETS];
static uint32_t g_table_n;
static uint32_t g_score[REDS_SCHED_MAX_SUBNETS]; /* accuracy scores for the oracle */
static uint32_t g_score_n;                       /* 0: none given, all subnets score the same */
static reds_sched_t g_sched;

static struct {
  uint32_t policy; /* policy_t */
  uint32_t fixed, period, deadline, window, margin, up_after, shift, rate, cap, reserve;
  uint32_t quiet;     /* 1: summary only, no per-job lines */
  uint32_t tablework; /* 1: the timeline takes the table latency as each job's work */
} g_set = {POL_DEADLINE, 0, 0, 0, 0, 6554, 4, 3, 0, 0, 0, 0, 0};

/* ------------------------------------------------------------------ helpers */

/* "a,b,c" into vals[max]; returns the count or -1. */
static int parse_list(char *s, uint32_t *vals, int max) {
  int n = 0;
  while (s != NULL) {
    char *comma = strchr(s, ',');
    if (comma != NULL) {
      *comma = '\0';
    }
    if (n == max || !fw_parse_u32(s, &vals[n])) {
      return -1;
    }
    n++;
    s = comma != NULL ? comma + 1 : NULL;
  }
  return n;
}

/* " key=v0,v1,..." */
static void out_kv_list(const char *key, const uint32_t *vals, uint32_t n) {
  out_char(' ');
  out_str(key);
  out_char('=');
  for (uint32_t k = 0; k < n; k++) {
    if (k) {
      out_char(',');
    }
    out_u64(vals[k]);
  }
}

static void err_kv(const char *msg, const char *key, uint64_t v) {
  out_str("e-[");
  out_str(msg);
  if (key != NULL) {
    out_kv_u64(key, v);
  }
  out_str("]");
  out_eol();
}

static fw_sched_trace_t the_trace(void) {
  fw_sched_trace_t tr = {g_trace, g_trace_n, g_set.window};
  return tr;
}

/* The `db` samples: only a complete set counts. */
static size_t samples_bytes(void) {
  return fw.input_received == fw.input_expected ? fw.input_received : 0;
}

/* Sample j of the loaded set (cycling) into input 0 of the active subnet. */
static void stage_sample(uint32_t j) {
  size_t need = reds_input_bytes(fw.ctx, 0), len = samples_bytes();
  uint8_t *dst = (uint8_t *)reds_input_data(fw.ctx, 0);
  if (dst != NULL && need > 0 && len >= need) {
    memcpy(dst, fw.input + (j % (len / need)) * need, need);
  }
}

static int32_t argmax_output(void) {
  const int8_t *y = (const int8_t *)reds_output_data(fw.ctx, 0);
  size_t n = reds_output_bytes(fw.ctx, 0);
  if (y == NULL || n == 0 || reds_output_type(fw.ctx, 0) != 9) {
    return -1;
  }
  size_t best = 0;
  for (size_t i = 1; i < n; i++) {
    best = y[i] > y[best] ? i : best;
  }
  return (int32_t)best;
}

static void table_line(void) {
  uint32_t lat[REDS_SCHED_MAX_SUBNETS], en[REDS_SCHED_MAX_SUBNETS];
  for (uint32_t k = 0; k < g_table_n; k++) {
    lat[k] = g_table[k].latency_ticks;
    en[k] = g_table[k].energy_nj;
  }
  out_str("m-reds-sched-table");
  out_kv_u64("subnets", g_table_n);
  out_kv_list("latency", lat, g_table_n);
  out_kv_list("energy_nj", en, g_table_n);
  out_kv_str("unit", hal_timer_unit());
  out_kv_u64("hz", hal_timer_hz());
  out_eol();
}

/* ------------------------------------------------------------------ trace, table, scores */

void fw_cmd_sched_trace(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "clear") == 0) {
    g_trace_n = 0;
  } else if (argc == 3 && strcmp(argv[1], "add") == 0) {
    long n = fw_hex_bytes(argv[2]);
    uint8_t loads[FW_SCHED_TRACE_MAX];
    if (n <= 0) {
      out_error("trace: hex of one byte per window expected");
      return;
    }
    if (g_trace_n + (size_t)n > FW_SCHED_TRACE_MAX) {
      err_kv("trace too long:", "max_windows", FW_SCHED_TRACE_MAX);
      return;
    }
    fw_hex_decode(argv[2], loads, (size_t)n);
    for (long i = 0; i < n; i++) { /* validate all before keeping any */
      if (loads[i] > FW_SCHED_MAX_LOAD) {
        err_kv("trace: load above 90 percent at", "window", g_trace_n + (size_t)i);
        return;
      }
    }
    memcpy(&g_trace[g_trace_n], loads, (size_t)n);
    g_trace_n += (size_t)n;
  } else {
    out_error("usage: reds-sched-trace clear | reds-sched-trace add <hex percent per window>");
    return;
  }
  out_str("m-reds-sched-trace");
  out_kv_u64("windows", g_trace_n);
  out_eol();
}

void fw_cmd_sched_table(int argc, char **argv) {
  uint32_t lat[REDS_SCHED_MAX_SUBNETS], en[REDS_SCHED_MAX_SUBNETS] = {0};
  if (!fw_require_model()) {
    return;
  }
  int n = argc >= 2 ? parse_list(argv[1], lat, REDS_SCHED_MAX_SUBNETS) : -1;
  int ne = argc == 3 ? parse_list(argv[2], en, REDS_SCHED_MAX_SUBNETS) : n;
  if (argc < 2 || argc > 3 || n <= 0 || ne != n) {
    out_error("usage: reds-sched-table L0,L1,... [E0,E1,...] (ticks, nJ; one per subnet)");
    return;
  }
  if ((uint32_t)n != reds_num_subnets(fw.ctx)) {
    err_kv("table needs one entry per subnet:", "subnets", reds_num_subnets(fw.ctx));
    return;
  }
  for (int k = 0; k < n; k++) {
    if (lat[k] == 0) {
      err_kv("table: zero latency for", "subnet", (uint64_t)k);
      return;
    }
  }
  for (int k = 0; k < n; k++) {
    g_table[k].latency_ticks = lat[k];
    g_table[k].energy_nj = en[k];
  }
  g_table_n = (uint32_t)n;
  table_line();
}

/* The oracle's per-subnet accuracy: any integer scale that orders the subnets as their accuracy
 * does (ppm, correct answers, ranks); equal scores prefer the wider subnet. */
void fw_cmd_sched_acc(int argc, char **argv) {
  uint32_t score[REDS_SCHED_MAX_SUBNETS];
  if (!fw_require_model()) {
    return;
  }
  int n = argc == 2 ? parse_list(argv[1], score, REDS_SCHED_MAX_SUBNETS) : -1;
  if (n <= 0) {
    out_error("usage: reds-sched-acc S0,S1,... (one accuracy score per subnet, higher is better)");
    return;
  }
  if ((uint32_t)n != reds_num_subnets(fw.ctx)) {
    err_kv("accuracy scores need one entry per subnet:", "subnets", reds_num_subnets(fw.ctx));
    return;
  }
  memcpy(g_score, score, (size_t)n * sizeof score[0]);
  g_score_n = (uint32_t)n;
  out_str("m-reds-sched-acc");
  out_kv_u64("subnets", g_score_n);
  out_kv_list("scores", g_score, g_score_n);
  out_eol();
}

static uint32_t timer32(void *user) {
  (void)user;
  return (uint32_t)hal_timer_now();
}

void fw_cmd_sched_cal(int argc, char **argv) {
  uint32_t runs;
  if (!fw_require_model()) {
    return;
  }
  if (argc != 2 || !fw_parse_u32(argv[1], &runs) || runs == 0 || runs > FW_SCHED_MAX_CAL_RUNS) {
    out_error("usage: reds-sched-cal R (1 <= R <= 32 timed runs per subnet)");
    return;
  }
  uint32_t n = reds_num_subnets(fw.ctx);
  if (n > REDS_SCHED_MAX_SUBNETS) {
    err_kv("too many subnets for the scheduler:", "max", REDS_SCHED_MAX_SUBNETS);
    return;
  }
  /* Energy from cycles and the datasheet profile (nRF52840: 3.0 V, 52 µA/MHz); under QEMU an
   * instruction counts as a cycle. */
  const reds_sched_board_t board = {3000u, 52u};
  /* Whole instructions per tick for the energy estimate (exact on the MPS2 machines; the
   * emulated STM32's 125/21 rounds to 6). */
  uint32_t ipt = (uint32_t)fw_ticks_to_instr(1u, 1u);
  fw.have_results = 0; /* the calibration overwrites the outputs of the last `infer` */
  stage_sample(0);
  reds_status_t s =
      reds_sched_calibrate(fw.ctx, g_table, n, runs, timer32, NULL, &board, ipt ? ipt : 1u);
  if (s != REDS_OK) {
    out_str("e-[calibration failed: ");
    out_str(reds_status_str(s));
    out_str("]");
    out_eol();
    g_table_n = 0;
    return;
  }
  g_table_n = n;
  table_line();
}

/* ------------------------------------------------------------------ settings */

/* The numeric settings by their key in `reds-sched-set` (parsed and echoed in this order). */
static const struct {
  const char *key;
  uint32_t *field;
} g_settings[] = {
    {"fixed", &g_set.fixed},     {"period", &g_set.period}, {"deadline", &g_set.deadline},
    {"window", &g_set.window},   {"margin", &g_set.margin}, {"up", &g_set.up_after},
    {"shift", &g_set.shift},     {"rate", &g_set.rate},     {"cap", &g_set.cap},
    {"reserve", &g_set.reserve}, {"quiet", &g_set.quiet},   {"tablework", &g_set.tablework}};
#define NUM_SETTINGS (sizeof g_settings / sizeof g_settings[0])

static int set_one(char *kv) {
  char *eq = strchr(kv, '=');
  if (eq == NULL) {
    return 0;
  }
  *eq = '\0';
  if (strcmp(kv, "policy") == 0) {
    for (uint32_t p = 0; p < POL_COUNT; p++) {
      if (strcmp(eq + 1, g_policy_names[p]) == 0) {
        g_set.policy = p;
        return 1;
      }
    }
    return 0;
  }
  for (size_t i = 0; i < NUM_SETTINGS; i++) {
    if (strcmp(kv, g_settings[i].key) == 0) {
      return fw_parse_u32(eq + 1, g_settings[i].field);
    }
  }
  return 0;
}

void fw_cmd_sched_set(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    char *name = argv[i];
    if (!set_one(argv[i])) {
      out_str("e-[bad setting ");
      out_str(name); /* the key (cut at '=') names the problem */
      out_str(": use policy=fixed|deadline|energy|deadline+energy|oracle or fixed|period|"
              "deadline|window|margin|up|shift|rate|cap|reserve|quiet|tablework=<u32>]");
      out_eol();
      return;
    }
  }
  out_str("m-reds-sched-set");
  out_kv_str("policy", g_policy_names[g_set.policy]);
  for (size_t i = 0; i < NUM_SETTINGS; i++) {
    out_kv_u64(g_settings[i].key, *g_settings[i].field);
  }
  out_eol();
}

/* The settings reds_sched_init would reject, each with its own message. */
static int settings_ok(void) {
  const char *msg = NULL;
  uint64_t v = 0;
  if (g_set.policy == POL_FIXED && g_set.fixed >= g_table_n) {
    msg = "fixed subnet out of range: subnets=";
    v = g_table_n;
  } else if (g_set.shift > REDS_SCHED_MAX_EWMA_SHIFT) {
    msg = "shift too large: max=";
    v = REDS_SCHED_MAX_EWMA_SHIFT;
  } else if (g_set.margin > REDS_SCHED_MAX_MARGIN) {
    msg = "margin too large (Q16): max=";
    v = REDS_SCHED_MAX_MARGIN;
  } else if (g_set.cap > 0x3fffffffu || g_set.reserve > 0x3fffffffu) {
    msg = "cap and reserve must stay below 2^30 nJ: max=";
    v = 0x3fffffffu;
  } else if (((uint64_t)g_set.rate * 1000u << 16) / hal_timer_hz() > 0xffffffffu) {
    msg = "energy rate above 65535 nJ per tick: rate=";
    v = g_set.rate;
  } else if (g_set.policy == POL_ORACLE && g_score_n != 0 && g_score_n != g_table_n) {
    msg = "accuracy scores are for another model (reds-sched-acc again): subnets=";
    v = g_score_n;
  }
  if (msg != NULL) {
    out_str("e-[");
    out_str(msg);
    out_u64(v);
    out_str("]");
    out_eol();
    return 0;
  }
  return 1;
}

static reds_status_t init_sched(void) {
  reds_sched_config_t cfg;
  reds_sched_config_default(&cfg, g_policy_bits[g_set.policy]);
  cfg.narrowest = g_table_n - 1u;
  if (g_set.policy == POL_FIXED) {
    cfg.widest = cfg.narrowest = g_set.fixed;
  }
  cfg.margin_q16 = g_set.margin;
  cfg.ewma_shift = g_set.shift;
  cfg.up_after = g_set.up_after;
  cfg.timer_hz = (uint32_t)hal_timer_hz();
  cfg.energy_rate_uj_per_s = g_set.rate;
  cfg.energy_capacity_nj = g_set.cap;
  cfg.energy_reserve_nj = g_set.reserve;
  return reds_sched_init(&g_sched, &cfg, g_table, g_table_n);
}

/* ------------------------------------------------------------------ cost of a decision */

typedef enum {
  COST_DECIDE,      /* deadlines from 1/2 to all of D ahead */
  COST_OBSERVE,     /* one observation */
  COST_DECIDE_WORST /* deadline already reached: the longest walk, to the narrowest subnet */
} cost_mode_t;

/* Instructions (thousandths) of one call of `mode`, in bulk on a copy of the scheduler: a loop
 * with the call minus the same loop without it. */
static uint64_t cost_milli_instr(uint32_t runs, cost_mode_t mode) {
  static reds_sched_t s;
  volatile uint32_t sink = 0;
  uint32_t now = 0, t;
  s = g_sched;
  uint64_t t0 = hal_timer_now();
  for (t = 0; t < runs; t++) {
    switch (mode) {
    case COST_DECIDE:
      sink += reds_sched_decide(&s, now, now + g_set.deadline - (t & 7u) * (g_set.deadline >> 4));
      break;
    case COST_DECIDE_WORST: sink += reds_sched_decide(&s, now, now); break;
    case COST_OBSERVE:
      reds_sched_observe(&s, t % g_table_n, g_table[t % g_table_n].latency_ticks + (t & 255u));
      break;
    }
    now += g_set.period;
  }
  uint64_t t1 = hal_timer_now();
  for (t = 0; t < runs; t++) { /* the same loop and arguments, without the call */
    switch (mode) {
    case COST_DECIDE: sink += now + g_set.deadline - (t & 7u) * (g_set.deadline >> 4); break;
    case COST_DECIDE_WORST: sink += now; break;
    case COST_OBSERVE:
      sink += (t % g_table_n) + g_table[t % g_table_n].latency_ticks + (t & 255u);
      break;
    }
    now += g_set.period;
  }
  uint64_t t2 = hal_timer_now();
  (void)sink;
  uint64_t with = t1 - t0, without = t2 - t1;
  uint64_t d = with > without ? with - without : 0;
  return fw_ticks_to_instr(d, 1000u) / runs;
}

void fw_cmd_sched_cost(int argc, char **argv) {
  uint32_t runs;
  if (!fw_require_model()) {
    return;
  }
  if (argc != 2 || !fw_parse_u32(argv[1], &runs) || runs == 0 || runs > 1000000u) {
    out_error("usage: reds-sched-cost R (1 <= R <= 1000000)");
    return;
  }
  if (g_table_n == 0 || g_set.period == 0 || g_set.deadline == 0) {
    out_error("scheduler not configured: reds-sched-table/cal and reds-sched-set first");
    return;
  }
  if (!settings_ok()) {
    return;
  }
  if (init_sched() != REDS_OK) {
    out_error("scheduler rejected the settings");
    return;
  }
  out_str("m-reds-sched-cost");
  out_kv_str("policy", g_policy_names[g_set.policy]);
  out_kv_u64("runs", runs);
  out_kv_milli("decide_instr", cost_milli_instr(runs, COST_DECIDE));
  out_kv_milli("decide_worst_instr", cost_milli_instr(runs, COST_DECIDE_WORST));
  out_kv_milli("observe_instr", cost_milli_instr(runs, COST_OBSERVE));
  fw_out_instructions_per_tick();
  out_eol();
}

/* ------------------------------------------------------------------ the run */

/* The checks before a run; prints the error line and returns 0 when one fails. */
static int run_ready(uint32_t jobs, size_t need, size_t len) {
  if (g_table_n == 0) {
    out_error("no cost table: reds-sched-table or reds-sched-cal first");
  } else if (g_trace_n == 0) {
    out_error("no trace: reds-sched-trace add <hex> first");
  } else if (g_set.period == 0 || g_set.deadline == 0 || g_set.window == 0) {
    out_error("period, deadline and window must be > 0: reds-sched-set period=P deadline=D "
              "window=W");
  } else if ((uint64_t)jobs * g_set.period >= ((uint64_t)1 << 32)) {
    out_error("jobs x period does not fit the 32-bit timeline");
  } else if ((uint64_t)g_set.window * FW_SCHED_WINDOWS_PER_PERIOD < g_set.period) {
    err_kv("window too short: at most 256 windows per period, need window >=", "ticks",
           (g_set.period + FW_SCHED_WINDOWS_PER_PERIOD - 1u) / FW_SCHED_WINDOWS_PER_PERIOD);
  } else if (!settings_ok()) {
    /* settings_ok printed it */
  } else if (len > 0 && (need == 0 || len % need != 0)) {
    err_kv("db input is not a whole number of samples:", "sample_bytes", need);
  } else {
    return 1;
  }
  return 0;
}

static void job_line(uint32_t j, uint32_t k, uint64_t start, uint64_t end, uint64_t work, int met) {
  out_str("m-reds-sched-job");
  out_kv_u64("j", j);
  out_kv_u64("subnet", k);
  out_kv_u64("start", start);
  out_kv_u64("latency", end - start);
  out_kv_u64("work", work);
  out_kv_u64("met", (uint64_t)met);
  out_str(" pred=");
  out_i64(argmax_output());
  out_eol();
}

void fw_cmd_sched_run(int argc, char **argv) {
  uint32_t jobs;
  if (!fw_require_model()) {
    return;
  }
  if (argc != 2 || !fw_parse_u32(argv[1], &jobs) || jobs == 0 || jobs > FW_SCHED_MAX_JOBS) {
    err_kv("usage: reds-sched-run N with 1 <= N <=", NULL, 0);
    return;
  }
  const size_t need = reds_input_bytes(fw.ctx, 0), len = samples_bytes();
  if (!run_ready(jobs, need, len)) {
    return;
  }
  reds_status_t st = init_sched();
  if (st != REDS_OK) {
    out_str("e-[scheduler rejected the settings: ");
    out_str(reds_status_str(st));
    out_str("]");
    out_eol();
    return;
  }
  const fw_sched_trace_t tr = the_trace();
  const uint32_t *score = g_score_n == g_table_n ? g_score : NULL;
  const uint64_t ovh = 0; /* two timer reads under QEMU: below one tick */
  uint64_t end = 0;
  uint32_t misses = 0, switches = 0, prev = 0xffffffffu;
  uint64_t subnet_sum = 0;
  fw.have_results = 0; /* the jobs overwrite the outputs of the last `infer` */
  out_str("m-reds-sched-start");
  out_kv_str("policy", g_policy_names[g_set.policy]);
  out_kv_u64("jobs", jobs);
  out_kv_u64("samples", need ? len / need : 0);
  out_eol();
  for (uint32_t j = 0; j < jobs; j++) {
    if (fw_budget_over("reds-sched-run jobs", j, jobs)) {
      return; /* the board answers again within the command budget (docs/protocol.md) */
    }
    uint64_t release = (uint64_t)j * g_set.period, deadline = release + g_set.deadline;
    uint64_t start = end > release ? end : release;
    uint32_t k;
    if (g_set.policy == POL_ORACLE) {
      k = fw_sched_oracle(&tr, g_table, score, g_table_n, start, deadline);
    } else {
      if (start > 0) {
        reds_sched_observe_load(&g_sched, fw_sched_recent_load_q16(&tr, start));
      }
      k = reds_sched_decide(&g_sched, (uint32_t)start, (uint32_t)deadline);
    }
    st = reds_select(fw.ctx, k);
    stage_sample(j);
    uint64_t t0 = hal_timer_now();
    if (st == REDS_OK) {
      st = reds_invoke(fw.ctx);
    }
    uint64_t t1 = hal_timer_now();
    if (st != REDS_OK) {
      err_kv("invoke failed at", "job", j);
      return;
    }
    uint64_t work = t1 - t0 > ovh ? t1 - t0 - ovh : 1u;
    end = fw_sched_advance(&tr, start, g_set.tablework ? g_table[k].latency_ticks : work);
    if (g_set.policy != POL_ORACLE) {
      reds_sched_observe(&g_sched, k, (uint32_t)(end - start));
    }
    int met = end <= deadline;
    misses += (uint32_t)!met;
    switches += (uint32_t)(prev != 0xffffffffu && prev != k);
    prev = k;
    subnet_sum += k;
    if (!g_set.quiet) {
      job_line(j, k, start, end, work, met);
    }
  }
  out_str("m-reds-sched-summary");
  out_kv_str("policy", g_policy_names[g_set.policy]);
  out_kv_u64("jobs", jobs);
  out_kv_u64("misses", misses);
  out_kv_u64("switches", switches);
  out_kv_milli("mean_subnet", subnet_sum * 1000u / jobs);
  out_kv_u64("end", end);
  out_kv_str("unit", hal_timer_unit());
  out_kv_u64("hz", hal_timer_hz());
  out_eol();
}

/* SPDX-License-Identifier: Apache-2.0
 * `reds-sched-*` commands (fw_sched.h): a periodic inference task under an interference trace,
 * its subnet chosen per job by the scheduler of boards/runtime/sched.
 *
 * Interference is accounted in virtual time, not produced by a busy-waiting interrupt: the job
 * timeline (release j*P, start, end) lives in timer ticks, each inference's own ticks are
 * measured on the board around reds_invoke(), and the ticks an interrupt would take (the first
 * load% of every window) are added by advance(). Why: on QEMU the SysTick is the board's only
 * timer and also its clock (reds_hal), so a second periodic interrupt would have to reprogram
 * it; and the same arithmetic runs in the host simulator, so simulated and measured runs differ
 * only by what the board really does (inference ticks, predictions, decisions). On a real board
 * a timer ISR would steal the same share of each window; the scheduler sees either the same way
 * (through the latency it observes and the load probe).
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
#include "fw_store.h"
#include "fw_timing.h"
#include "hal.h"
#include "reds_sched.h"

enum { POL_FIXED, POL_DEADLINE, POL_ENERGY, POL_BOTH, POL_ORACLE };
static const char *const g_policy_names[] = {"fixed", "deadline", "energy", "deadline+energy",
                                             "oracle"};

static uint8_t g_trace[FW_SCHED_TRACE_MAX];
static uint32_t g_trace_n;
static reds_sched_cost_t g_table[REDS_SCHED_MAX_SUBNETS];
static uint32_t g_table_n;
static reds_sched_t g_sched;

static struct {
  uint32_t policy, fixed, period, deadline, window, margin, up_after, shift, rate, cap, reserve;
  uint32_t quiet;     /* 1: summary only, no per-job lines */
  uint32_t tablework; /* 1: the timeline takes the table latency as each job's work */
} g_set = {POL_DEADLINE, 0, 0, 0, 0, 6554, 4, 3, 0, 0, 0, 0, 0};

/* ------------------------------------------------------------------ parsing */

/* "a,b,c" into vals[max]; returns the count or -1. */
static int parse_list(char *s, uint32_t *vals, int max)
{
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

static void err_kv(const char *msg, const char *key, uint64_t v)
{
  out_str("e-[");
  out_str(msg);
  if (key != NULL) {
    out_kv_u64(key, v);
  }
  out_str("]");
  out_eol();
}

/* ------------------------------------------------------------------ the task model */

/* Ticks an interrupt takes at the start of window i. */
static uint64_t busy_ticks(uint64_t i)
{
  return (uint64_t)g_trace[i % g_trace_n] * g_set.window / 100u;
}

/* When `work` ticks of the task, started at t, are done (bench/reds_bench/scheduler.advance). */
static uint64_t advance(uint64_t t, uint64_t work)
{
  for (;;) {
    uint64_t i = t / g_set.window, start = i * g_set.window;
    uint64_t busy_end = start + busy_ticks(i);
    if (t < busy_end) {
      t = busy_end;
    }
    uint64_t avail = start + g_set.window - t;
    if (work <= avail) {
      return t + work;
    }
    work -= avail;
    t = start + g_set.window;
  }
}

/* Interrupt share of the window before `now`, Q16 (scheduler.recent_load_q16). */
static uint32_t recent_load_q16(uint64_t now)
{
  uint64_t a = now > g_set.window ? now - g_set.window : 0, total = 0;
  for (uint64_t t = a; t < now;) {
    uint64_t i = t / g_set.window, start = i * g_set.window;
    uint64_t busy_end = start + busy_ticks(i);
    uint64_t stop = busy_end < now ? busy_end : now;
    total += stop > t ? stop - t : 0;
    t = start + g_set.window;
  }
  return (uint32_t)((total << 16) / (now - a));
}

/* The most accurate subnet is the widest: the widest one that ends by the deadline. */
static uint32_t oracle_choice(uint64_t start, uint64_t deadline)
{
  uint32_t best = 0;
  for (uint32_t k = 0; k < g_table_n; k++) {
    if (advance(start, g_table[k].latency_ticks) <= deadline) {
      return k;
    }
    if (g_table[k].latency_ticks < g_table[best].latency_ticks) {
      best = k;
    }
  }
  return best;
}

static int32_t argmax_output(const reds_ctx_t *ctx)
{
  const int8_t *y = (const int8_t *)reds_output_data(ctx, 0);
  size_t n = reds_output_bytes(ctx, 0);
  if (y == NULL || n == 0 || reds_output_type(ctx, 0) != 9) {
    return -1;
  }
  size_t best = 0;
  for (size_t i = 1; i < n; i++) {
    best = y[i] > y[best] ? i : best;
  }
  return (int32_t)best;
}

/* ------------------------------------------------------------------ commands */

static void table_line(void)
{
  out_str("m-reds-sched-table");
  out_kv_u64("subnets", g_table_n);
  out_str(" latency=");
  for (uint32_t k = 0; k < g_table_n; k++) {
    if (k) {
      out_char(',');
    }
    out_u64(g_table[k].latency_ticks);
  }
  out_str(" energy_nj=");
  for (uint32_t k = 0; k < g_table_n; k++) {
    if (k) {
      out_char(',');
    }
    out_u64(g_table[k].energy_nj);
  }
  out_kv_str("unit", hal_timer_unit());
  out_kv_u64("hz", hal_timer_hz());
  out_eol();
}

static void cmd_trace(int argc, char **argv)
{
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

static void cmd_table(reds_ctx_t *ctx, int argc, char **argv)
{
  uint32_t lat[REDS_SCHED_MAX_SUBNETS], en[REDS_SCHED_MAX_SUBNETS] = {0};
  int n = argc >= 2 ? parse_list(argv[1], lat, REDS_SCHED_MAX_SUBNETS) : -1;
  int ne = argc == 3 ? parse_list(argv[2], en, REDS_SCHED_MAX_SUBNETS) : n;
  if (argc < 2 || argc > 3 || n <= 0 || ne != n) {
    out_error("usage: reds-sched-table L0,L1,... [E0,E1,...] (ticks, nJ; one per subnet)");
    return;
  }
  if ((uint32_t)n != reds_num_subnets(ctx)) {
    err_kv("table needs one entry per subnet:", "subnets", reds_num_subnets(ctx));
    return;
  }
  for (int k = 0; k < n; k++) {
    if (lat[k] == 0) {
      err_kv("table: zero latency for", "subnet", (uint64_t)k);
      return;
    }
    g_table[k].latency_ticks = lat[k];
    g_table[k].energy_nj = en[k];
  }
  g_table_n = (uint32_t)n;
  table_line();
}

static uint32_t timer32(void *user)
{
  (void)user;
  return (uint32_t)hal_timer_now();
}

static void stage_sample(reds_ctx_t *ctx, const uint8_t *input, size_t input_len, uint32_t j)
{
  size_t need = reds_input_bytes(ctx, 0);
  uint8_t *dst = (uint8_t *)reds_input_data(ctx, 0);
  if (dst != NULL && need > 0 && input_len >= need) {
    memcpy(dst, input + (j % (input_len / need)) * need, need);
  }
}

static void cmd_cal(reds_ctx_t *ctx, int argc, char **argv, const uint8_t *input, size_t len)
{
  uint32_t runs;
  if (argc != 2 || !fw_parse_u32(argv[1], &runs) || runs == 0 || runs > FW_SCHED_MAX_CAL_RUNS) {
    out_error("usage: reds-sched-cal R (1 <= R <= 32 timed runs per subnet)");
    return;
  }
  uint32_t n = reds_num_subnets(ctx);
  if (n > REDS_SCHED_MAX_SUBNETS) {
    err_kv("too many subnets for the scheduler:", "max", REDS_SCHED_MAX_SUBNETS);
    return;
  }
  /* Energy from cycles and the datasheet profile (nRF52840: 3.0 V, 52 µA/MHz); under QEMU an
   * instruction counts as a cycle. */
  const reds_sched_board_t board = {3000u, 52u};
  uint32_t ipt = hal_instructions_per_tick();
  stage_sample(ctx, input, len, 0);
  reds_status_t s = reds_sched_calibrate(ctx, g_table, n, runs, timer32, NULL, &board,
                                         ipt ? ipt : 1u);
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

/* The numeric settings by their key in `reds-sched-set` (parsed and echoed in this order). */
static const struct {
  const char *key;
  uint32_t *field;
} g_settings[] = {{"fixed", &g_set.fixed},     {"period", &g_set.period}, {"deadline", &g_set.deadline},
                  {"window", &g_set.window},   {"margin", &g_set.margin}, {"up", &g_set.up_after},
                  {"shift", &g_set.shift},     {"rate", &g_set.rate},     {"cap", &g_set.cap},
                  {"reserve", &g_set.reserve}, {"quiet", &g_set.quiet},   {"tablework", &g_set.tablework}};
#define NUM_SETTINGS (sizeof g_settings / sizeof g_settings[0])

static int set_one(char *kv)
{
  char *eq = strchr(kv, '=');
  if (eq == NULL) {
    return 0;
  }
  *eq = '\0';
  if (strcmp(kv, "policy") == 0) {
    for (uint32_t p = 0; p < sizeof g_policy_names / sizeof g_policy_names[0]; p++) {
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

static void cmd_set(int argc, char **argv)
{
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
static int settings_ok(void)
{
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

static reds_status_t init_sched(void)
{
  static const uint32_t bits[] = {REDS_SCHED_FIXED, REDS_SCHED_DEADLINE, REDS_SCHED_ENERGY,
                                  REDS_SCHED_DEADLINE | REDS_SCHED_ENERGY, REDS_SCHED_FIXED};
  reds_sched_config_t cfg;
  reds_sched_config_default(&cfg, bits[g_set.policy]);
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

/* Instructions (thousandths) of one decide (what = 0: deadlines from 1/2 to all of D ahead;
 * 2: deadline already reached, the longest walk) or one observe (1), in bulk on a copy of the
 * scheduler: a loop with the call minus the same loop without it. */
static uint64_t cost_milli_instr(uint32_t runs, int what)
{
  static reds_sched_t s;
  volatile uint32_t sink = 0;
  uint32_t now = 0, t;
  s = g_sched;
  uint64_t t0 = hal_timer_now();
  for (t = 0; t < runs; t++) {
    if (what == 0) {
      sink += reds_sched_decide(&s, now, now + g_set.deadline - (t & 7u) * (g_set.deadline >> 4));
    } else if (what == 2) { /* no time left: the loop walks to the narrowest subnet */
      sink += reds_sched_decide(&s, now, now);
    } else {
      reds_sched_observe(&s, t % g_table_n, g_table[t % g_table_n].latency_ticks + (t & 255u));
    }
    now += g_set.period;
  }
  uint64_t t1 = hal_timer_now();
  for (t = 0; t < runs; t++) { /* the same loop and arguments, without the call */
    if (what == 0) {
      sink += now + g_set.deadline - (t & 7u) * (g_set.deadline >> 4);
    } else if (what == 2) {
      sink += now;
    } else {
      sink += (t % g_table_n) + g_table[t % g_table_n].latency_ticks + (t & 255u);
    }
    now += g_set.period;
  }
  uint64_t t2 = hal_timer_now();
  (void)sink;
  uint64_t with = t1 - t0, without = t2 - t1;
  uint64_t d = with > without ? with - without : 0;
  return d * hal_instructions_per_tick() * 1000u / runs;
}

static void cmd_cost(int argc, char **argv)
{
  uint32_t runs;
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
  out_kv_milli("decide_instr", cost_milli_instr(runs, 0));
  out_kv_milli("decide_worst_instr", cost_milli_instr(runs, 2));
  out_kv_milli("observe_instr", cost_milli_instr(runs, 1));
  out_kv_u64("instructions_per_tick", hal_instructions_per_tick());
  out_eol();
}

static void cmd_run(reds_ctx_t *ctx, int argc, char **argv, const uint8_t *input, size_t len)
{
  uint32_t jobs;
  if (argc != 2 || !fw_parse_u32(argv[1], &jobs) || jobs == 0 || jobs > FW_SCHED_MAX_JOBS) {
    err_kv("usage: reds-sched-run N with 1 <= N <=", NULL, 0);
    return;
  }
  if (g_table_n == 0) {
    out_error("no cost table: reds-sched-table or reds-sched-cal first");
    return;
  }
  if (g_trace_n == 0) {
    out_error("no trace: reds-sched-trace add <hex> first");
    return;
  }
  if (g_set.period == 0 || g_set.deadline == 0 || g_set.window == 0) {
    out_error("period, deadline and window must be > 0: reds-sched-set period=P deadline=D "
              "window=W");
    return;
  }
  if ((uint64_t)jobs * g_set.period >= ((uint64_t)1 << 32)) {
    out_error("jobs x period does not fit the 32-bit timeline");
    return;
  }
  if ((uint64_t)g_set.window * FW_SCHED_WINDOWS_PER_PERIOD < g_set.period) {
    err_kv("window too short: at most 256 windows per period, need window >=", "ticks",
           (g_set.period + FW_SCHED_WINDOWS_PER_PERIOD - 1u) / FW_SCHED_WINDOWS_PER_PERIOD);
    return;
  }
  if (!settings_ok()) {
    return;
  }
  size_t need = reds_input_bytes(ctx, 0);
  if (len > 0 && (need == 0 || len % need != 0)) {
    err_kv("db input is not a whole number of samples:", "sample_bytes", need);
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
  const uint64_t ovh = 0; /* two timer reads under QEMU: below one tick */
  uint64_t end = 0;
  uint32_t misses = 0, switches = 0, prev = 0xffffffffu;
  uint64_t subnet_sum = 0;
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
      k = oracle_choice(start, deadline);
    } else {
      if (start > 0) {
        reds_sched_observe_load(&g_sched, recent_load_q16(start));
      }
      k = reds_sched_decide(&g_sched, (uint32_t)start, (uint32_t)deadline);
    }
    st = reds_select(ctx, k);
    stage_sample(ctx, input, len, j);
    uint64_t t0 = hal_timer_now();
    if (st == REDS_OK) {
      st = reds_invoke(ctx);
    }
    uint64_t t1 = hal_timer_now();
    if (st != REDS_OK) {
      err_kv("invoke failed at", "job", j);
      return;
    }
    uint64_t work = t1 - t0 > ovh ? t1 - t0 - ovh : 1u;
    end = advance(start, g_set.tablework ? g_table[k].latency_ticks : work);
    if (g_set.policy != POL_ORACLE) {
      reds_sched_observe(&g_sched, k, (uint32_t)(end - start));
    }
    int met = end <= deadline;
    misses += (uint32_t)!met;
    switches += (uint32_t)(prev != 0xffffffffu && prev != k);
    prev = k;
    subnet_sum += k;
    if (!g_set.quiet) {
      out_str("m-reds-sched-job");
      out_kv_u64("j", j);
      out_kv_u64("subnet", k);
      out_kv_u64("start", start);
      out_kv_u64("latency", end - start);
      out_kv_u64("work", work);
      out_kv_u64("met", (uint64_t)met);
      out_str(" pred=");
      out_i64(argmax_output(ctx));
      out_eol();
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

void fw_sched_command(reds_ctx_t *ctx, int argc, char **argv, const uint8_t *input,
                      size_t input_len)
{
  const char *c = argv[0];
  if (strcmp(c, "reds-sched-trace") == 0) {
    cmd_trace(argc, argv);
  } else if (strcmp(c, "reds-sched-set") == 0) {
    cmd_set(argc, argv);
  } else if (ctx == NULL) {
    out_error("no model loaded");
  } else if (strcmp(c, "reds-sched-table") == 0) {
    cmd_table(ctx, argc, argv);
  } else if (strcmp(c, "reds-sched-cal") == 0) {
    cmd_cal(ctx, argc, argv, input, input_len);
  } else if (strcmp(c, "reds-sched-run") == 0) {
    cmd_run(ctx, argc, argv, input, input_len);
  } else if (strcmp(c, "reds-sched-cost") == 0) {
    cmd_cost(argc, argv);
  } else {
    out_error("unknown command");
  }
}

void fw_cmd_sched(int argc, char **argv)
{
  /* a set of samples only counts once it is complete */
  size_t loaded = fw.input_received == fw.input_expected ? fw.input_received : 0;
  fw_sched_command(fw.ok ? fw.ctx : NULL, argc, argv, fw.input, loaded);
  fw.have_results = 0; /* the jobs overwrote the outputs of the last `infer` */
}

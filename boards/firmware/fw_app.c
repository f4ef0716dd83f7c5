/* SPDX-License-Identifier: Apache-2.0
 * Serial protocol commands (EEMBC framing + REDS commands); see docs/protocol.md. */
#include "fw_app.h"

#include <string.h>

#include "fw_config.h"
#include "fw_crc32.h"
#include "fw_line.h"
#include "fw_out.h"
#include "fw_sched.h"
#include "hal.h"
#include "model_data.h"
#include "reds.h"
#include "reds_ctx.h"

#define FW_ALIGN16 __attribute__((aligned(16)))
#define FW_MAX_ARGS 6

/* ------------------------------------------------------------------ state (all static) */

static char g_line_buf[FW_LINE_MAX + 1];
static fw_line_t g_line;

static reds_ctx_t g_ctx;
static uint8_t g_arena[FW_ARENA_BYTES] FW_ALIGN16;

enum { SRC_NONE = 0, SRC_DEFAULT, SRC_SLOT0, SRC_SLOT1 };
static const uint8_t *g_model;
static size_t g_model_len;
static uint32_t g_model_crc;
static int g_model_src;
static int g_model_ok;
static reds_status_t g_model_status;

#if FW_MODEL_SLOT_BYTES > 0
static uint8_t g_slots[2][FW_MODEL_SLOT_BYTES] FW_ALIGN16;
#endif
static int g_up_active;
static int g_up_slot;
static uint32_t g_up_expected;
static uint32_t g_up_received;

static uint8_t g_input[FW_INPUT_MAX] FW_ALIGN16;
static uint32_t g_input_expected;
static uint32_t g_input_received;
static int g_have_results;

static uint64_t g_times[FW_MAX_RUNS];

/* ------------------------------------------------------------------ small helpers */

/* Strict decimal u32: digits only, no overflow. */
static int parse_u32(const char *s, uint32_t *out)
{
    uint64_t v = 0;
    if (s == NULL || *s == '\0') {
        return 0;
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9') {
            return 0;
        }
        v = v * 10u + (uint64_t)(*s - '0');
        if (v > 0xffffffffu) {
            return 0;
        }
    }
    *out = (uint32_t)v;
    return 1;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Checks a hex string; returns its byte count or -1 (odd length, bad digit). */
static long hex_bytes(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || (n & 1u) != 0) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (hexval(s[i]) < 0) {
            return -1;
        }
    }
    return (long)(n / 2);
}

static void hex_decode(const char *s, uint8_t *dst, size_t nbytes)
{
    for (size_t i = 0; i < nbytes; i++) {
        dst[i] = (uint8_t)((hexval(s[2 * i]) << 4) | hexval(s[2 * i + 1]));
    }
}

static uint64_t ticks_to_ns(uint64_t t)
{
    uint64_t hz = hal_timer_hz();
    if (hz == 0) {
        return 0;
    }
    return (t / hz) * 1000000000u + ((t % hz) * 1000000000u) / hz;
}

static void sort_u64(uint64_t *a, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++) {
        uint64_t v = a[i];
        uint32_t j = i;
        while (j > 0 && a[j - 1] > v) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = v;
    }
}

/* Mean cost of two back-to-back timer reads, in thousandths of a tick. */
static uint64_t timer_overhead_mticks(uint32_t n)
{
    uint64_t sum = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t t0 = hal_timer_now();
        uint64_t t1 = hal_timer_now();
        sum += t1 - t0;
    }
    return n ? (sum * 1000u) / n : 0;
}

static void err_status(const char *what, reds_status_t s)
{
    out_str("e-[");
    out_str(what);
    out_str(" failed: status=");
    out_i64((int64_t)s);
    out_char(' ');
    out_str(reds_last_error(&g_ctx));
    out_str("]");
    out_eol();
}

static void err_u32(const char *msg, const char *key, uint32_t v, const char *key2, uint32_t v2)
{
    out_str("e-[");
    out_str(msg);
    if (key) {
        out_kv_u64(key, v);
    }
    if (key2) {
        out_kv_u64(key2, v2);
    }
    out_str("]");
    out_eol();
}

static const char *src_name(int src)
{
    switch (src) {
    case SRC_DEFAULT: return "default";
    case SRC_SLOT0:
    case SRC_SLOT1: return "upload";
    default: return "none";
    }
}

static int require_model(void)
{
    if (!g_model_ok) {
        out_str("e-[no model loaded: status=");
        out_i64((int64_t)g_model_status);
        out_str("]");
        out_eol();
        return 0;
    }
    return 1;
}

/* Load a model into the runtime; on success it becomes the current model. */
static reds_status_t use_model(const uint8_t *model, size_t len, int src)
{
    reds_status_t s = reds_init(&g_ctx, model, len, g_arena, sizeof g_arena);
    g_have_results = 0;
    if (s != REDS_OK) {
        g_model_ok = 0;
        g_model_status = s;
        return s;
    }
    g_model = model;
    g_model_len = len;
    g_model_crc = fw_crc32_update(0, model, len);
    g_model_src = src;
    g_model_ok = 1;
    g_model_status = REDS_OK;
    return s;
}

/* Copy the loaded `db` input (or zeros) into input 0 of the active subnet. */
static const char *stage_input(void)
{
    uint8_t *dst = (uint8_t *)reds_input_data(&g_ctx, 0);
    size_t need = reds_input_bytes(&g_ctx, 0);
    if (dst == NULL) {
        return "none";
    }
    if (g_input_expected > 0 && g_input_received == g_input_expected &&
        g_input_received == need) {
        memcpy(dst, g_input, need);
        return "loaded";
    }
    memset(dst, 0, need);
    return "zeros";
}

static void model_line(const char *tag)
{
    out_str(tag);
    out_kv_str("source", src_name(g_model_src));
    out_kv_hex32("crc32", g_model_crc);
    out_kv_u64("bytes", g_model_len);
    out_kv_u64("subnets", reds_num_subnets(&g_ctx));
    out_eol();
}

/* Times `runs` invocations of the active subnet after `warmup` untimed ones.
 * Fills g_times (sorted) and returns 0 on success, or prints the error. */
static int time_invokes(uint32_t runs, uint32_t warmup, uint64_t *overhead_ticks, const char **input)
{
    reds_status_t s;
    uint64_t ovh = timer_overhead_mticks(16) / 1000u;
    for (uint32_t i = 0; i < warmup; i++) {
        *input = stage_input();
        s = reds_invoke(&g_ctx);
        if (s != REDS_OK) {
            err_status("invoke", s);
            return -1;
        }
    }
    for (uint32_t i = 0; i < runs; i++) {
        *input = stage_input();
        uint64_t t0 = hal_timer_now();
        s = reds_invoke(&g_ctx);
        uint64_t t1 = hal_timer_now();
        if (s != REDS_OK) {
            err_status("invoke", s);
            return -1;
        }
        uint64_t d = t1 - t0;
        g_times[i] = d > ovh ? d - ovh : 0;
    }
    g_have_results = 1;
    sort_u64(g_times, runs);
    *overhead_ticks = ovh;
    return 0;
}

static void timing_payload(uint32_t runs, uint64_t ovh)
{
    uint64_t sum = 0;
    for (uint32_t i = 0; i < runs; i++) {
        sum += g_times[i];
    }
    uint64_t mn = g_times[0], mx = g_times[runs - 1];
    uint64_t med = (runs & 1u) ? g_times[runs / 2] : (g_times[runs / 2 - 1] + g_times[runs / 2]) / 2u;
    out_kv_u64("min", mn);
    out_kv_u64("median", med);
    out_kv_u64("max", mx);
    out_kv_u64("mean", sum / runs);
    out_kv_u64("overhead", ovh);
    out_kv_str("unit", hal_timer_unit());
    out_kv_u64("hz", hal_timer_hz());
    out_kv_u64("ns_min", ticks_to_ns(mn));
    out_kv_u64("ns_median", ticks_to_ns(med));
    out_kv_u64("ns_max", ticks_to_ns(mx));
    if (hal_instructions_per_tick() > 0) {
        out_kv_u64("instr_median", med * hal_instructions_per_tick());
    }
}

/* ------------------------------------------------------------------ commands */

static void cmd_name(void)
{
    out_str("m-name-reds-");
    out_str(hal_target_name());
    out_eol();
}

static void cmd_profile(void)
{
    out_str("m-profile-[reds firmware protocol ");
    out_u64(FW_PROTOCOL_VERSION);
    out_str("]");
    out_eol();
    out_str("m-model-[");
    if (g_model_ok) {
        out_hex32(g_model_crc);
    } else {
        out_str("none");
    }
    out_str("]");
    out_eol();
}

static void cmd_help(void)
{
    out_str("m-help name profile help db infer results reds-info reds-select reds-bench "
            "reds-switch model-load model-data model-commit model-reset");
    out_eol();
}

static void cmd_db(int argc, char **argv)
{
    uint32_t n;
    if (argc == 3 && strcmp(argv[1], "load") == 0) {
        if (!parse_u32(argv[2], &n) || n == 0) {
            out_error("db load needs a byte count > 0");
            return;
        }
        if (n > FW_INPUT_MAX) {
            err_u32("input too large", "bytes", n, "max", FW_INPUT_MAX);
            return;
        }
        g_input_expected = n;
        g_input_received = 0;
        out_str("m-[Expecting ");
        out_u64(n);
        out_str(" bytes]");
        out_eol();
        return;
    }
    if (argc != 2) {
        out_error("usage: db load N | db <hex>");
        return;
    }
    long nb = hex_bytes(argv[1]);
    if (nb < 0) {
        out_error("bad hex");
        return;
    }
    if (g_input_expected == 0) {
        out_error("no db load in progress");
        return;
    }
    if ((uint32_t)nb > g_input_expected - g_input_received) {
        err_u32("db overflow", "loaded", g_input_received, "expected", g_input_expected);
        return;
    }
    hex_decode(argv[1], g_input + g_input_received, (size_t)nb);
    g_input_received += (uint32_t)nb;
    if (g_input_received == g_input_expected) {
        out_str("m-load-done");
        out_kv_u64("bytes", g_input_received);
        out_eol();
    }
}

static void cmd_infer(int argc, char **argv)
{
    uint32_t runs = 1, warmup = 0;
    if (argc > 3 || (argc >= 2 && !parse_u32(argv[1], &runs)) ||
        (argc == 3 && !parse_u32(argv[2], &warmup))) {
        out_error("usage: infer N W");
        return;
    }
    if (!require_model()) {
        return;
    }
    if (runs == 0 || runs > FW_MAX_RUNS) {
        err_u32("runs out of range", "runs", runs, "max", FW_MAX_RUNS);
        return;
    }
    if (g_input_expected == 0 || g_input_received != g_input_expected) {
        out_error("no input loaded: use db load N then db <hex>");
        return;
    }
    if (g_input_received != reds_input_bytes(&g_ctx, 0)) {
        err_u32("input size mismatch", "loaded", g_input_received, "need",
                (uint32_t)reds_input_bytes(&g_ctx, 0));
        return;
    }
    uint64_t ovh;
    const char *input = "none";
    out_str("m-infer-start");
    out_eol();
    if (time_invokes(runs, warmup, &ovh, &input) != 0) {
        return;
    }
    out_str("m-reds-infer");
    out_kv_u64("subnet", reds_active_subnet(&g_ctx));
    out_kv_u64("runs", runs);
    out_kv_u64("warmup", warmup);
    timing_payload(runs, ovh);
    out_eol();
    out_str("m-infer-done");
    out_eol();
}

static void cmd_results(void)
{
    if (!require_model()) {
        return;
    }
    if (!g_have_results) {
        out_error("no results: run infer first");
        return;
    }
    const int8_t *y = (const int8_t *)reds_output_data(&g_ctx, 0);
    size_t n = reds_output_bytes(&g_ctx, 0);
    out_str("m-results-[");
    for (size_t i = 0; i < n && y != NULL; i++) {
        if (i) {
            out_char(',');
        }
        out_i64(y[i]);
    }
    out_str("]");
    out_eol();
    for (uint32_t o = 0; o < reds_num_outputs(&g_ctx); o++) {
        const uint8_t *p = (const uint8_t *)reds_output_data(&g_ctx, o);
        size_t nb = reds_output_bytes(&g_ctx, o);
        out_str("m-reds-output");
        out_kv_u64("index", o);
        out_kv_u64("subnet", reds_active_subnet(&g_ctx));
        out_kv_u64("bytes", nb);
        out_str(" hex=");
        if (p != NULL) {
            out_hex_bytes(p, nb);
        }
        out_eol();
    }
}

static void cmd_info(void)
{
    uint32_t k = g_model_ok ? reds_num_subnets(&g_ctx) : 0;
    out_str("m-reds-info");
    out_kv_u64("protocol", FW_PROTOCOL_VERSION);
    out_kv_str("target", hal_target_name());
    out_kv_u64("model_ok", (uint64_t)g_model_ok);
    out_kv_str("model_source", src_name(g_model_src));
    out_kv_hex32("model_crc32", g_model_ok ? g_model_crc : 0u);
    out_kv_u64("model_bytes", g_model_ok ? g_model_len : 0u);
    out_kv_u64("subnets", k);
    if (g_model_ok) {
        out_kv_u64("groups", reds_num_groups(&g_ctx));
        out_kv_u64("active", reds_active_subnet(&g_ctx));
        out_kv_u64("inputs", reds_num_inputs(&g_ctx));
        out_kv_u64("input_bytes", reds_input_bytes(&g_ctx, 0));
        out_kv_u64("outputs", reds_num_outputs(&g_ctx));
        out_kv_u64("output_bytes", reds_output_bytes(&g_ctx, 0));
        out_str(" full_widths=");
        for (uint32_t g = 0; g < reds_num_groups(&g_ctx); g++) {
            if (g) {
                out_char(',');
            }
            out_u64(reds_group_full_width(&g_ctx, g));
        }
    } else {
        out_kv_u64("status", (uint64_t)(int64_t)g_model_status);
    }
    out_eol();

    out_str("m-reds-timer");
    out_kv_str("unit", hal_timer_unit());
    out_kv_u64("hz", hal_timer_hz());
    out_kv_u64("instructions_per_tick", hal_instructions_per_tick());
    out_eol();

    out_str("m-reds-build");
#if defined(__ARM_FEATURE_DSP)
    out_kv_u64("dsp", 1);
#else
    out_kv_u64("dsp", 0);
#endif
#if defined(__ARM_FP)
    out_kv_u64("fpu", 1);
#else
    out_kv_u64("fpu", 0);
#endif
#if defined(__ARM_FEATURE_MVE)
    out_kv_u64("mve", 1);
#else
    out_kv_u64("mve", 0);
#endif
#if defined(__OPTIMIZE__)
    out_kv_u64("opt", 1);
#else
    out_kv_u64("opt", 0);
#endif
#if defined(REDS_DEBUG)
    out_kv_u64("debug", 1);
#else
    out_kv_u64("debug", 0);
#endif
    out_kv_u64("arena_capacity", FW_ARENA_BYTES);
    out_kv_u64("model_slot_bytes", FW_MODEL_SLOT_BYTES);
    out_kv_u64("input_max", FW_INPUT_MAX);
    out_kv_u64("line_max", FW_LINE_MAX);
    out_kv_u64("max_runs", FW_MAX_RUNS);
    out_eol();

    for (uint32_t s = 0; s < k; s++) {
        out_str("m-reds-subnet");
        out_kv_u64("index", s);
        out_kv_u64("macs", reds_subnet_macs(&g_ctx, s));
        out_kv_u64("arena_bytes", reds_subnet_arena_bytes(&g_ctx, s));
        out_str(" widths=");
        uint32_t g_count = reds_num_groups(&g_ctx);
        for (uint32_t g = 0; g < g_count; g++) {
            if (g) {
                out_char(',');
            }
            out_u64(reds_group_width(&g_ctx, s, g));
        }
        out_eol();
    }
}

static int parse_subnet(const char *arg, uint32_t *k)
{
    if (!parse_u32(arg, k)) {
        out_error("subnet must be a number");
        return 0;
    }
    if (*k >= reds_num_subnets(&g_ctx)) {
        err_u32("subnet out of range", "subnet", *k, "subnets", reds_num_subnets(&g_ctx));
        return 0;
    }
    return 1;
}

static void cmd_select(int argc, char **argv)
{
    uint32_t k;
    if (argc != 2) {
        out_error("usage: reds-select K");
        return;
    }
    if (!require_model() || !parse_subnet(argv[1], &k)) {
        return;
    }
    uint64_t t0 = hal_timer_now();
    reds_status_t s = reds_select(&g_ctx, k);
    uint64_t t1 = hal_timer_now();
    if (s != REDS_OK) {
        err_status("select", s);
        return;
    }
    g_have_results = 0;
    out_str("m-reds-select");
    out_kv_u64("subnet", k);
    out_kv_u64("macs", reds_subnet_macs(&g_ctx, k));
    out_kv_u64("arena_bytes", reds_subnet_arena_bytes(&g_ctx, k));
    out_kv_u64("ticks", t1 - t0);
    out_eol();
}

static void cmd_bench(int argc, char **argv)
{
    uint32_t k, runs, warmup = 1;
    if (argc < 3 || argc > 4) {
        out_error("usage: reds-bench K N [W]");
        return;
    }
    if (!require_model() || !parse_subnet(argv[1], &k)) {
        return;
    }
    if (!parse_u32(argv[2], &runs) || runs == 0 || runs > FW_MAX_RUNS ||
        (argc == 4 && !parse_u32(argv[3], &warmup))) {
        err_u32("runs out of range", NULL, 0, "max", FW_MAX_RUNS);
        return;
    }
    reds_status_t s = reds_select(&g_ctx, k);
    if (s != REDS_OK) {
        err_status("select", s);
        return;
    }
    uint64_t ovh;
    const char *input = "none";
    if (time_invokes(runs, warmup, &ovh, &input) != 0) {
        return;
    }
    out_str("m-reds-bench");
    out_kv_u64("subnet", k);
    out_kv_u64("runs", runs);
    out_kv_u64("warmup", warmup);
    out_kv_u64("macs", reds_subnet_macs(&g_ctx, k));
    out_kv_str("input", input);
    timing_payload(runs, ovh);
    out_eol();
}

/* Ticks of `runs` iterations of { select(i); select(j) } (j == NONE: select(i) only). */
#define SWITCH_NONE 0xffffffffu
static int time_select_loop(uint32_t i, uint32_t j, uint32_t runs, uint64_t *ticks)
{
    reds_status_t s = REDS_OK;
    (void)reds_select(&g_ctx, i);
    uint64_t t0 = hal_timer_now();
    for (uint32_t r = 0; r < runs; r++) {
        s |= reds_select(&g_ctx, i);
        if (j != SWITCH_NONE) {
            s |= reds_select(&g_ctx, j);
        }
    }
    uint64_t t1 = hal_timer_now();
    if (s != REDS_OK) {
        err_status("select", s);
        return -1;
    }
    *ticks = t1 - t0;
    return 0;
}

/* Switch matrix. A single reds_select() is shorter than one SysTick tick under QEMU, so each
 * entry is measured in bulk: cost(i -> j) = (T[select(i); select(j)] - T[select(i)]) / runs,
 * two loops of `runs` iterations whose loop and timer-read overheads cancel. Reported as mean
 * ticks per switch with three decimals. */
static void cmd_switch(int argc, char **argv)
{
    uint32_t runs;
    if (argc != 2 || !parse_u32(argv[1], &runs) || runs == 0 || runs > FW_MAX_SWITCH_RUNS) {
        err_u32("usage: reds-switch N with 1 <= N <=", NULL, 0, "max", FW_MAX_SWITCH_RUNS);
        return;
    }
    if (!require_model()) {
        return;
    }
    uint32_t n = reds_num_subnets(&g_ctx);
    uint32_t prev = reds_active_subnet(&g_ctx);
    uint64_t ovh = timer_overhead_mticks(16);
    out_str("m-reds-switch");
    out_kv_u64("subnets", n);
    out_kv_u64("runs", runs);
    out_kv_milli("overhead_ticks", ovh);
    out_kv_str("unit", hal_timer_unit());
    out_kv_u64("hz", hal_timer_hz());
    out_kv_u64("instructions_per_tick", hal_instructions_per_tick());
    out_str(" method=bulk");
    out_eol();
    for (uint32_t i = 0; i < n; i++) {
        uint64_t base;
        if (time_select_loop(i, SWITCH_NONE, runs, &base) != 0) {
            (void)reds_select(&g_ctx, prev);
            return;
        }
        out_str("m-reds-switch-row");
        out_kv_u64("from", i);
        out_str(" ticks=");
        for (uint32_t j = 0; j < n; j++) {
            uint64_t pair;
            if (time_select_loop(i, j, runs, &pair) != 0) {
                (void)reds_select(&g_ctx, prev);
                return;
            }
            uint64_t mean = pair > base ? ((pair - base) * 1000u) / runs : 0;
            if (j) {
                out_char(',');
            }
            out_u64(mean / 1000u);
            out_char('.');
            out_char((char)('0' + (mean % 1000u) / 100u));
            out_char((char)('0' + (mean % 100u) / 10u));
            out_char((char)('0' + mean % 10u));
        }
        out_eol();
    }
    (void)reds_select(&g_ctx, prev);
    g_have_results = 0;
}

static void cmd_model_load(int argc, char **argv)
{
    uint32_t n;
    if (argc != 2 || !parse_u32(argv[1], &n) || n == 0) {
        out_error("usage: model-load N");
        return;
    }
    if (n > FW_MODEL_SLOT_BYTES) {
        err_u32("model too large", "bytes", n, "max", FW_MODEL_SLOT_BYTES);
        return;
    }
    g_up_active = 1;
    g_up_slot = (g_model_src == SRC_SLOT0) ? 1 : 0;
    g_up_expected = n;
    g_up_received = 0;
    out_str("m-reds-model-load");
    out_kv_u64("bytes", n);
    out_kv_u64("slot", (uint64_t)g_up_slot);
    out_eol();
}

static void cmd_model_data(int argc, char **argv)
{
    if (argc != 2) {
        out_error("usage: model-data <hex>");
        return;
    }
    if (!g_up_active) {
        out_error("no model upload in progress: use model-load N");
        return;
    }
    long nb = hex_bytes(argv[1]);
    if (nb < 0) {
        out_error("bad hex");
        return;
    }
    if ((uint32_t)nb > g_up_expected - g_up_received) {
        g_up_active = 0;
        err_u32("model data beyond announced size, upload aborted", "received", g_up_received,
                "expected", g_up_expected);
        return;
    }
#if FW_MODEL_SLOT_BYTES > 0
    hex_decode(argv[1], g_slots[g_up_slot] + g_up_received, (size_t)nb);
#endif
    g_up_received += (uint32_t)nb;
    out_str("m-reds-model-data");
    out_kv_u64("received", g_up_received);
    out_kv_u64("expected", g_up_expected);
    out_eol();
}

static void cmd_model_commit(int argc, char **argv)
{
    uint32_t want = 0;
    long nb = (argc == 2 && strlen(argv[1]) == 8) ? hex_bytes(argv[1]) : -1;
    if (nb != 4) {
        out_error("usage: model-commit <crc32 as 8 hex digits>");
        return;
    }
    for (int i = 0; i < 8; i++) {
        want = (want << 4) | (uint32_t)hexval(argv[1][i]);
    }
    if (!g_up_active) {
        out_error("no model upload in progress: use model-load N");
        return;
    }
    g_up_active = 0;
    if (g_up_received != g_up_expected) {
        err_u32("model incomplete, previous model kept", "received", g_up_received, "expected",
                g_up_expected);
        return;
    }
#if FW_MODEL_SLOT_BYTES > 0
    const uint8_t *m = g_slots[g_up_slot];
    uint32_t got = fw_crc32_update(0, m, g_up_received);
    if (got != want) {
        out_str("e-[model crc mismatch, previous model kept");
        out_kv_hex32("expected", want);
        out_kv_hex32("got", got);
        out_str("]");
        out_eol();
        return;
    }
    const uint8_t *prev = g_model;
    size_t prev_len = g_model_len;
    int prev_src = g_model_src;
    int prev_ok = g_model_ok;
    reds_status_t s = use_model(m, g_up_received, g_up_slot == 0 ? SRC_SLOT0 : SRC_SLOT1);
    if (s != REDS_OK) {
        out_str("e-[model rejected, previous model kept: status=");
        out_i64((int64_t)s);
        out_char(' ');
        out_str(reds_last_error(&g_ctx));
        out_str("]");
        out_eol();
        if (prev_ok) {
            (void)use_model(prev, prev_len, prev_src);
        }
        return;
    }
    model_line("m-reds-model");
#else
    (void)want;
    out_error("model upload disabled (FW_MODEL_SLOT_BYTES=0)");
#endif
}

static void cmd_model_reset(void)
{
    g_up_active = 0;
    reds_status_t s = use_model(reds_default_model, reds_default_model_len, SRC_DEFAULT);
    if (s != REDS_OK) {
        err_status("default model init", s);
        return;
    }
    model_line("m-reds-model");
}

/* ------------------------------------------------------------------ dispatch */

static int split_args(char *line, char **argv)
{
    int argc = 0;
    char *p = line;
    while (*p) {
        while (*p == ' ') {
            *p++ = '\0';
        }
        if (*p == '\0') {
            break;
        }
        if (argc == FW_MAX_ARGS) {
            return -1;
        }
        argv[argc++] = p;
        while (*p && *p != ' ') {
            p++;
        }
    }
    return argc;
}

static void run_command(char *line)
{
    char *argv[FW_MAX_ARGS];
    int argc = split_args(line, argv);
    if (argc < 0) {
        out_error("too many arguments");
        return;
    }
    if (argc == 0) {
        return; /* empty command: just m-ready (used to resynchronise) */
    }
    const char *c = argv[0];
    if (strcmp(c, "name") == 0) {
        cmd_name();
    } else if (strcmp(c, "profile") == 0) {
        cmd_profile();
    } else if (strcmp(c, "help") == 0) {
        cmd_help();
    } else if (strcmp(c, "db") == 0) {
        cmd_db(argc, argv);
    } else if (strcmp(c, "infer") == 0) {
        cmd_infer(argc, argv);
    } else if (strcmp(c, "results") == 0) {
        cmd_results();
    } else if (strcmp(c, "reds-info") == 0) {
        cmd_info();
    } else if (strcmp(c, "reds-select") == 0) {
        cmd_select(argc, argv);
    } else if (strcmp(c, "reds-bench") == 0) {
        cmd_bench(argc, argv);
    } else if (strcmp(c, "reds-switch") == 0) {
        cmd_switch(argc, argv);
    } else if (strcmp(c, "model-load") == 0) {
        cmd_model_load(argc, argv);
    } else if (strcmp(c, "model-data") == 0) {
        cmd_model_data(argc, argv);
    } else if (strcmp(c, "model-commit") == 0) {
        cmd_model_commit(argc, argv);
    } else if (strcmp(c, "model-reset") == 0) {
        cmd_model_reset();
    } else if (strncmp(c, "reds-sched-", 11) == 0) {
        fw_sched_command(g_model_ok ? &g_ctx : NULL, argc, argv, g_input,
                         g_input_received == g_input_expected ? g_input_received : 0);
        g_have_results = 0;
    } else {
        out_error("unknown command");
    }
}

void fw_app_feed(uint8_t byte)
{
    switch (fw_line_feed(&g_line, byte)) {
    case FW_LINE_PENDING:
        return;
    case FW_LINE_READY:
        run_command(g_line.buf);
        break;
    case FW_LINE_TOO_LONG:
        err_u32("line too long", NULL, 0, "max", FW_LINE_MAX);
        break;
    case FW_LINE_BAD_BYTE:
        out_error("bad character");
        break;
    }
    out_ready();
}

void fw_app_init(void)
{
    fw_line_init(&g_line, g_line_buf, FW_LINE_MAX);
    g_up_active = 0;
    g_input_expected = 0;
    g_input_received = 0;
    (void)use_model(reds_default_model, reds_default_model_len, SRC_DEFAULT);
    out_str("m-boot-reds");
    out_kv_str("target", hal_target_name());
    out_kv_u64("protocol", FW_PROTOCOL_VERSION);
    out_kv_u64("model_ok", (uint64_t)g_model_ok);
    out_kv_hex32("model_crc32", g_model_ok ? g_model_crc : 0u);
    out_eol();
    out_ready();
}

int fw_app_run(void)
{
    fw_app_init();
    for (;;) {
        int c = hal_read_byte();
        if (c < 0) {
            return 0;
        }
        fw_app_feed((uint8_t)c);
    }
}

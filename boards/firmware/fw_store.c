/* SPDX-License-Identifier: Apache-2.0
 * Model store and upload. See fw_store.h and docs/protocol.md ("model-load").
 *
 * Memory: the board's work RAM is split once at boot, in this order: the runtime context,
 * the input buffer (FW_INPUT_SIXTEENTHS), two upload slots (FW_SLOT_SIXTEENTHS each), and the
 * arena (the rest). Two slots, used in turn, keep the model in use intact while another one
 * arrives, so a rejected upload changes nothing.
 */
#include "fw_store.h"

#include <string.h>

#include "fw_args.h"
#include "fw_config.h"
#include "fw_out.h"
#include "hal.h"
#include "model_data.h"

fw_state_t fw;

static struct {
    int active;
    int slot;
    uint32_t expected;
    uint32_t received;
} upload;

/* ------------------------------------------------------------------ memory */

static size_t align16(size_t n) { return n & ~(size_t)15u; }

/* Takes *n bytes (rounded down to 16, at most what is left) from the front of the free
 * region [*p, *p + *left); *n becomes what was taken. */
static uint8_t *carve(uint8_t **p, size_t *left, size_t *n)
{
    uint8_t *at = *p;
    *n = align16(*n < *left ? *n : *left);
    *p += *n;
    *left -= *n;
    return at;
}

static void carve_work_ram(void)
{
    size_t left = 0;
    uint8_t *p = hal_work_ram(&left);
    size_t skew = (size_t)((uintptr_t)p & 15u); /* the HAL promises 16; stay safe anyway */
    if (skew) {
        p += 16u - skew;
        left = left > 16u - skew ? left - (16u - skew) : 0;
    }
    fw.work_bytes = left;
    const size_t sixteenth = (left / 16u) & ~(size_t)1023u; /* whole KB: readable sizes */
    size_t n = reds_ctx_size() + 15u;
    fw.ctx = (reds_ctx_t *)(void *)carve(&p, &left, &n);
#ifdef FW_INPUT_MAX
    fw.input_cap = FW_INPUT_MAX;
#else
    fw.input_cap = FW_INPUT_SIXTEENTHS * sixteenth;
#endif
    fw.input = carve(&p, &left, &fw.input_cap);
#ifdef FW_MODEL_SLOT_BYTES
    fw.slot_bytes = FW_MODEL_SLOT_BYTES;
#else
    fw.slot_bytes = FW_SLOT_SIXTEENTHS * sixteenth;
#endif
    if (fw.slot_bytes > left / 8u * 3u) { /* the arena keeps at least a quarter */
        fw.slot_bytes = left / 8u * 3u;
    }
    n = fw.slot_bytes;
    fw.slot[0] = carve(&p, &left, &n);
    fw.slot[1] = carve(&p, &left, &fw.slot_bytes);
    fw.arena_bytes = left;
    fw.arena = carve(&p, &left, &fw.arena_bytes);
}

/* ------------------------------------------------------------------ the model in use */

const char *fw_source_name(int source)
{
    switch (source) {
    case FW_SRC_DEFAULT: return "default";
    case FW_SRC_SLOT0:
    case FW_SRC_SLOT1: return "upload";
    default: return "none";
    }
}

int fw_require_model(void)
{
    if (!fw.ok) {
        out_str("e-[no model loaded: status=");
        out_i64((int64_t)fw.status);
        out_str("]");
        out_eol();
        return 0;
    }
    return 1;
}

void fw_error_status(const char *what, reds_status_t s)
{
    out_str("e-[");
    out_str(what);
    out_str(" failed: status=");
    out_i64((int64_t)s);
    out_char(' ');
    out_str(reds_last_error(fw.ctx));
    out_str("]");
    out_eol();
}

/* Loads a model into the runtime; on success it becomes the model in use. */
static reds_status_t use_model(const uint8_t *model, size_t len, int source)
{
    reds_status_t s = reds_init(fw.ctx, model, len, fw.arena, fw.arena_bytes);
    fw.have_results = 0;
    if (s != REDS_OK) {
        fw.ok = 0;
        fw.status = s;
        return s;
    }
    fw.model = model;
    fw.model_len = len;
    fw.model_crc = reds_crc32(model, (uint32_t)len);
    fw.source = source;
    fw.ok = 1;
    fw.status = REDS_OK;
    return s;
}

const char *fw_stage_input(void)
{
    uint8_t *dst = (uint8_t *)reds_input_data(fw.ctx, 0);
    size_t need = reds_input_bytes(fw.ctx, 0);
    fw.results_gen = fw.input_gen;
    if (dst == NULL) {
        return "none";
    }
    if (fw.input_expected > 0 && fw.input_received == fw.input_expected &&
        fw.input_received == need) {
        memcpy(dst, fw.input, need);
        return "loaded";
    }
    memset(dst, 0, need);
    return "zeros";
}

/* After a rejected model: the previous model again, with its subnet, and its last results
 * recomputed when they came from the input still loaded (the arena held them). */
static void restore_model(const fw_state_t *prev, uint32_t prev_subnet)
{
    if (!prev->ok) { /* use_model changed only these two */
        fw.ok = 0;
        fw.status = prev->status;
        return;
    }
    if (use_model(prev->model, prev->model_len, prev->source) != REDS_OK ||
        reds_select(fw.ctx, prev_subnet) != REDS_OK) {
        fw.ok = 0; /* cannot happen: the same bytes and arena were accepted before */
        return;
    }
    if (prev->have_results && prev->results_gen == fw.input_gen) {
        (void)fw_stage_input();
        fw.have_results = reds_invoke(fw.ctx) == REDS_OK;
    }
}

void fw_store_init(void)
{
    carve_work_ram();
    fw_upload_cancel();
    fw.input_expected = 0;
    fw.input_received = 0;
    (void)use_model(reds_default_model, reds_default_model_len, FW_SRC_DEFAULT);
}

/* ------------------------------------------------------------------ db: input data */

void fw_cmd_db(int argc, char **argv)
{
    uint32_t n;
    if (argc == 3 && strcmp(argv[1], "load") == 0) {
        if (!fw_parse_u32(argv[2], &n) || n == 0) {
            out_error("db load needs a byte count > 0");
            return;
        }
        if (n > fw.input_cap) {
            out_error_kv("input too large", "bytes", n, "max", fw.input_cap);
            return;
        }
        fw.input_expected = n;
        fw.input_received = 0;
        fw.input_gen++;
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
    long nb = fw_hex_bytes(argv[1]);
    if (nb < 0) {
        out_error("bad hex");
        return;
    }
    if (fw.input_expected == 0) {
        out_error("no db load in progress");
        return;
    }
    if ((uint32_t)nb > fw.input_expected - fw.input_received) {
        out_error_kv("db overflow", "loaded", fw.input_received, "expected", fw.input_expected);
        return;
    }
    fw_hex_decode(argv[1], fw.input + fw.input_received, (size_t)nb);
    fw.input_received += (uint32_t)nb;
    fw.input_gen++;
    if (fw.input_received == fw.input_expected) {
        out_str("m-load-done");
        out_kv_u64("bytes", fw.input_received);
        out_eol();
    }
}

/* ------------------------------------------------------------------ model upload */

void fw_upload_cancel(void) { upload.active = 0; }

static void model_line(void)
{
    out_str("m-reds-model");
    out_kv_str("source", fw_source_name(fw.source));
    out_kv_hex32("crc32", fw.model_crc);
    out_kv_u64("bytes", fw.model_len);
    out_kv_u64("subnets", reds_num_subnets(fw.ctx));
    out_eol();
}

void fw_cmd_model_load(int argc, char **argv)
{
    uint32_t n;
    if (argc != 2 || !fw_parse_u32(argv[1], &n) || n == 0) {
        out_error("usage: model-load N");
        return;
    }
    if (fw.slot_bytes == 0) {
        out_error("model upload disabled (no RAM slot on this board)");
        return;
    }
    if (n > fw.slot_bytes) {
        out_error_kv("model too large", "bytes", n, "max", fw.slot_bytes);
        return;
    }
    upload.active = 1;
    upload.slot = (fw.source == FW_SRC_SLOT0) ? 1 : 0;
    upload.expected = n;
    upload.received = 0;
    out_str("m-reds-model-load");
    out_kv_u64("bytes", n);
    out_kv_u64("slot", (uint64_t)upload.slot);
    out_eol();
}

void fw_cmd_model_data(int argc, char **argv)
{
    if (argc != 2) {
        out_error("usage: model-data <hex>");
        return;
    }
    if (!upload.active) {
        out_error("no model upload in progress: use model-load N");
        return;
    }
    long nb = fw_hex_bytes(argv[1]);
    if (nb < 0) {
        out_error("bad hex");
        return;
    }
    if ((uint32_t)nb > upload.expected - upload.received) {
        upload.active = 0;
        out_error_kv("model data beyond announced size, upload aborted", "received",
                     upload.received, "expected", upload.expected);
        return;
    }
    fw_hex_decode(argv[1], fw.slot[upload.slot] + upload.received, (size_t)nb);
    upload.received += (uint32_t)nb;
    out_str("m-reds-model-data");
    out_kv_u64("received", upload.received);
    out_kv_u64("expected", upload.expected);
    out_eol();
}

void fw_cmd_model_commit(int argc, char **argv)
{
    uint32_t want = 0;
    long nb = (argc == 2 && strlen(argv[1]) == 8) ? fw_hex_bytes(argv[1]) : -1;
    uint8_t be[4];
    if (nb != 4) {
        out_error("usage: model-commit <crc32 as 8 hex digits>");
        return;
    }
    fw_hex_decode(argv[1], be, 4);
    want = ((uint32_t)be[0] << 24) | ((uint32_t)be[1] << 16) | ((uint32_t)be[2] << 8) | be[3];
    if (!upload.active) {
        out_error("no model upload in progress: use model-load N");
        return;
    }
    upload.active = 0;
    if (upload.received != upload.expected) {
        out_error_kv("model incomplete, previous model kept", "received", upload.received,
                     "expected", upload.expected);
        return;
    }
    /* one CRC over the finished slot (the runtime's), not a running one per chunk */
    const uint8_t *m = fw.slot[upload.slot];
    uint32_t got = reds_crc32(m, upload.received);
    if (got != want) {
        out_str("e-[model crc mismatch, previous model kept");
        out_kv_hex32("expected", want);
        out_kv_hex32("got", got);
        out_str("]");
        out_eol();
        return;
    }
    fw_state_t prev = fw;
    uint32_t prev_subnet = fw.ok ? reds_active_subnet(fw.ctx) : 0;
    reds_status_t s = use_model(m, upload.received, upload.slot == 0 ? FW_SRC_SLOT0 : FW_SRC_SLOT1);
    if (s != REDS_OK) {
        out_str("e-[model rejected, previous model kept: status=");
        out_i64((int64_t)s);
        out_char(' ');
        out_str(reds_last_error(fw.ctx));
        out_str("]");
        out_eol();
        restore_model(&prev, prev_subnet);
        return;
    }
    model_line();
}

void fw_cmd_model_reset(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    upload.active = 0;
    reds_status_t s = use_model(reds_default_model, reds_default_model_len, FW_SRC_DEFAULT);
    if (s != REDS_OK) {
        fw_error_status("default model init", s);
        return;
    }
    model_line();
}

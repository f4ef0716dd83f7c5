/* SPDX-License-Identifier: Apache-2.0
 * The firmware's state: the model in use and the `db` input. See fw_store.h; the work RAM's
 * layout is fw_workram.c, the upload commands fw_cmd_upload.c. */
#include "fw_store.h"

#include <string.h>

#include "fw_out.h"
#include "fw_workram.h"
#include "hal.h"
#include "model_data.h"

fw_state_t fw;

const char *fw_source_name(int source) {
  switch (source) {
  case FW_SRC_DEFAULT: return "default";
  case FW_SRC_SLOT0:
  case FW_SRC_SLOT1: return "upload";
  default: return "none";
  }
}

int fw_require_model(void) {
  if (!fw.ok) {
    out_str("e-[no model loaded: status=");
    out_i64((int64_t)fw.status);
    out_str("]");
    out_eol();
    return 0;
  }
  return 1;
}

void fw_error_status(const char *what, reds_status_t s) {
  out_str("e-[");
  out_str(what);
  out_str(" failed: status=");
  out_i64((int64_t)s);
  out_char(' ');
  out_str(reds_last_error(fw.ctx));
  out_str("]");
  out_eol();
}

reds_status_t fw_use_model(const uint8_t *model, size_t len, int source) {
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

const char *fw_stage_input(void) {
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

/* The last results are recomputed when they came from the input still loaded (the arena held
 * them). */
void fw_restore_model(const fw_state_t *prev, uint32_t prev_subnet) {
  if (!prev->ok) { /* fw_use_model changed only these two */
    fw.ok = 0;
    fw.status = prev->status;
    return;
  }
  if (fw_use_model(prev->model, prev->model_len, prev->source) != REDS_OK ||
      reds_select(fw.ctx, prev_subnet) != REDS_OK) {
    fw.ok = 0; /* cannot happen: the same bytes and arena were accepted before */
    return;
  }
  if (prev->have_results && prev->results_gen == fw.input_gen) {
    (void)fw_stage_input();
    fw.have_results = reds_invoke(fw.ctx) == REDS_OK;
  }
}

void fw_store_init(void) {
  size_t len = 0;
  uint8_t *ram = hal_work_ram(&len);
  fw_workram_t w;
  fw_workram_carve(ram, len, reds_ctx_size(), &w);
  fw.work_bytes = w.work_bytes;
  fw.ctx = (reds_ctx_t *)(void *)w.ctx;
  fw.input = w.input;
  fw.input_cap = w.input_cap;
  fw.slot[0] = w.slot[0];
  fw.slot[1] = w.slot[1];
  fw.slot_bytes = w.slot_bytes;
  fw.arena = w.arena;
  fw.arena_bytes = w.arena_bytes;
  fw.input_expected = 0;
  fw.input_received = 0;
  (void)fw_use_model(reds_default_model, reds_default_model_len, FW_SRC_DEFAULT);
}

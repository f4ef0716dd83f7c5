/* SPDX-License-Identifier: Apache-2.0
 * The firmware's state: the work RAM's parts (fw_workram.h), the model in use (compiled in or
 * uploaded) and the `db` input. The commands that change it are in fw_cmd_upload.c.
 */
#ifndef REDS_FW_STORE_H
#define REDS_FW_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "reds.h"

enum { FW_SRC_NONE = 0, FW_SRC_DEFAULT, FW_SRC_SLOT0, FW_SRC_SLOT1 };

typedef struct {
  /* carved from hal_work_ram() once at boot (fw_workram.h) */
  size_t work_bytes;
  uint8_t *slot[2];
  size_t slot_bytes; /* each; 0: uploads disabled */
  uint8_t *input;
  size_t input_cap;
  reds_ctx_t *ctx; /* reds_ctx_size() bytes: the firmware never looks inside */
  uint8_t *arena;
  size_t arena_bytes;
  /* the model in use */
  const uint8_t *model;
  size_t model_len;
  uint32_t model_crc;
  int source;
  int ok;
  reds_status_t status; /* of the last reds_init when !ok */
  /* `db` input: bytes announced and received; input_gen counts changes so results can be
   * recomputed only from the input they came from */
  uint32_t input_expected;
  uint32_t input_received;
  uint32_t input_gen;
  /* outputs in the arena come from the last run (and from input_gen == results_gen) */
  int have_results;
  uint32_t results_gen;
} fw_state_t;

extern fw_state_t fw;

/* Carve the work RAM and load the compiled-in model. */
void fw_store_init(void);
const char *fw_source_name(int source);
/* 1 when a model is loaded, else prints the error line and returns 0. */
int fw_require_model(void);
/* e-[<what> failed: status=N <runtime's message>] */
void fw_error_status(const char *what, reds_status_t s);
/* Copies the loaded `db` input (when complete and of the right size) or zeros into input 0
 * of the active subnet; returns "loaded", "zeros" or "none". Marks the results' input. */
const char *fw_stage_input(void);
/* Loads a model into the runtime (reds_init over the arena); on success it becomes the model in
 * use. On failure no model is loaded (fw.ok 0, fw.status the error) until fw_restore_model. */
reds_status_t fw_use_model(const uint8_t *model, size_t len, int source);
/* After a rejected model: the model of `prev` (a copy of fw taken before) again, with its
 * subnet, and its last results recomputed when they came from the input still loaded. */
void fw_restore_model(const fw_state_t *prev, uint32_t prev_subnet);

#endif /* REDS_FW_STORE_H */

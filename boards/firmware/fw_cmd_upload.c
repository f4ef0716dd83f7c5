/* SPDX-License-Identifier: Apache-2.0
 * Input and model upload commands: `db` (the input samples) and `model-load`, `model-data`,
 * `model-commit`, `model-reset` (docs/protocol.md, "model-load"). A model arrives in the upload
 * slot the model in use does not occupy (fw_workram.h), so a rejected upload changes nothing. */
#include <string.h>

#include "fw_args.h"
#include "fw_cmds.h"
#include "fw_out.h"
#include "fw_store.h"
#include "model_data.h"

static struct {
  int active;
  int slot;
  uint32_t expected;
  uint32_t received;
} upload;

/* ------------------------------------------------------------------ db: input data */

void fw_cmd_db(int argc, char **argv) {
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

static void model_line(void) {
  out_str("m-reds-model");
  out_kv_str("source", fw_source_name(fw.source));
  out_kv_hex32("crc32", fw.model_crc);
  out_kv_u64("bytes", fw.model_len);
  out_kv_u64("subnets", reds_num_subnets(fw.ctx));
  out_eol();
}

void fw_cmd_model_load(int argc, char **argv) {
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

void fw_cmd_model_data(int argc, char **argv) {
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
    out_error_kv("model data beyond announced size, upload aborted", "received", upload.received,
                 "expected", upload.expected);
    return;
  }
  fw_hex_decode(argv[1], fw.slot[upload.slot] + upload.received, (size_t)nb);
  upload.received += (uint32_t)nb;
  out_str("m-reds-model-data");
  out_kv_u64("received", upload.received);
  out_kv_u64("expected", upload.expected);
  out_eol();
}

void fw_cmd_model_commit(int argc, char **argv) {
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
    out_error_kv("model incomplete, previous model kept", "received", upload.received, "expected",
                 upload.expected);
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
  reds_status_t s =
      fw_use_model(m, upload.received, upload.slot == 0 ? FW_SRC_SLOT0 : FW_SRC_SLOT1);
  if (s != REDS_OK) {
    out_str("e-[model rejected, previous model kept: status=");
    out_i64((int64_t)s);
    out_char(' ');
    out_str(reds_last_error(fw.ctx));
    out_str("]");
    out_eol();
    fw_restore_model(&prev, prev_subnet);
    return;
  }
  model_line();
}

void fw_cmd_model_reset(int argc, char **argv) {
  (void)argc;
  (void)argv;
  upload.active = 0;
  reds_status_t s = fw_use_model(reds_default_model, reds_default_model_len, FW_SRC_DEFAULT);
  if (s != REDS_OK) {
    fw_error_status("default model init", s);
    return;
  }
  model_line();
}

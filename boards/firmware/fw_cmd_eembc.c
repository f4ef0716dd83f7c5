/* SPDX-License-Identifier: Apache-2.0
 * The commands of the MLPerf Tiny / EEMBC benchmark runner (docs/protocol.md): their replies
 * match the runner's regular expressions exactly, so it drives the board unmodified. */
#include <string.h>

#include "fw_args.h"
#include "fw_cmds.h"
#include "fw_config.h"
#include "fw_out.h"
#include "fw_store.h"
#include "fw_timing.h"
#include "hal.h"

enum { TFLITE_FLOAT32 = 0, TFLITE_INT32 = 2, TFLITE_UINT8 = 3, TFLITE_INT16 = 7, TFLITE_INT8 = 9 };

void fw_cmd_name(int argc, char **argv) {
  (void)argc;
  (void)argv;
  out_str("m-name-dut-[reds-");
  out_str(hal_target_name());
  out_str("]");
  out_eol();
}

void fw_cmd_profile(int argc, char **argv) {
  (void)argc;
  (void)argv;
  out_str("m-profile-[reds firmware protocol ");
  out_u64(FW_PROTOCOL_VERSION);
  out_str("]");
  out_eol();
  out_str("m-model-[");
  if (fw.ok) {
    out_hex32(fw.model_crc);
  } else {
    out_str("none");
  }
  out_str("]");
  out_eol();
}

int fw_check_run_counts(uint32_t runs, uint32_t warmup) {
  if (runs == 0 || runs > FW_MAX_RUNS) {
    out_error_kv("runs out of range", "runs", runs, "max", FW_MAX_RUNS);
    return 0;
  }
  if (warmup > FW_MAX_WARMUP) {
    out_error_kv("warm-ups out of range", "warmup", warmup, "max", FW_MAX_WARMUP);
    return 0;
  }
  return 1;
}

/* Output 0 of the last run as floats: dequantized (q - zero_point) * scale for integer
 * outputs (int8, uint8, int16, int32; the raw value when the tensor has no scale), as is for
 * float outputs. */
static void results_line(void) {
  const uint8_t *p = (const uint8_t *)reds_output_data(fw.ctx, 0);
  size_t nb = reds_output_bytes(fw.ctx, 0);
  int type = reds_output_type(fw.ctx, 0);
  float scale = reds_output_scale(fw.ctx, 0);
  int32_t zp = reds_output_zero_point(fw.ctx, 0);
  size_t size = (type == TFLITE_FLOAT32 || type == TFLITE_INT32) ? 4u
                : type == TFLITE_INT16                           ? 2u
                                                                 : 1u;
  out_str("m-results-[");
  for (size_t i = 0; p != NULL && i + size <= nb; i += size) {
    float v;
    int32_t q;
    if (type == TFLITE_FLOAT32) {
      memcpy(&v, p + i, sizeof v);
    } else {
      if (type == TFLITE_INT32) {
        memcpy(&q, p + i, sizeof q);
      } else if (type == TFLITE_INT16) {
        int16_t h;
        memcpy(&h, p + i, sizeof h);
        q = h;
      } else {
        q = type == TFLITE_UINT8 ? (int32_t)p[i] : (int32_t)(int8_t)p[i];
      }
      v = scale != 0.0f ? (float)((int64_t)q - zp) * scale : (float)q;
    }
    if (i) {
      out_char(',');
    }
    out_f32(v);
  }
  out_str("]");
  out_eol();
}

void fw_cmd_infer(int argc, char **argv) {
  fw_timed_t t = {1, 0, 1, 0, "none"};
  if (argc > 3 || (argc >= 2 && !fw_parse_u32(argv[1], &t.runs)) ||
      (argc == 3 && !fw_parse_u32(argv[2], &t.warmup))) {
    out_error("usage: infer N W");
    return;
  }
  if (!fw_check_run_counts(t.runs, t.warmup) || !fw_require_model()) {
    return;
  }
  if (fw.input_expected == 0 || fw.input_received != fw.input_expected) {
    out_error("no input loaded: use db load N then db <hex>");
    return;
  }
  if (fw.input_received != reds_input_bytes(fw.ctx, 0)) {
    out_error_kv("input size mismatch", "loaded", fw.input_received, "need",
                 reds_input_bytes(fw.ctx, 0));
    return;
  }
  if (fw_time_invokes(&t) != 0) {
    return;
  }
  results_line();
  out_str("m-reds-infer");
  out_kv_u64("subnet", reds_active_subnet(fw.ctx));
  out_kv_u64("runs", t.runs);
  out_kv_u64("warmup", t.warmup);
  fw_timing_payload(&t);
  out_eol();
}

void fw_cmd_results(int argc, char **argv) {
  (void)argc;
  (void)argv;
  if (!fw_require_model()) {
    return;
  }
  if (!fw.have_results) {
    out_error("no results: run infer first");
    return;
  }
  results_line();
  for (uint32_t o = 0; o < reds_num_outputs(fw.ctx); o++) {
    const uint8_t *p = (const uint8_t *)reds_output_data(fw.ctx, o);
    size_t nb = reds_output_bytes(fw.ctx, o);
    out_str("m-reds-output");
    out_kv_u64("index", o);
    out_kv_u64("subnet", reds_active_subnet(fw.ctx));
    out_kv_u64("bytes", nb);
    out_str(" hex=");
    if (p != NULL) {
      out_hex_bytes(p, nb);
    }
    out_eol();
  }
}

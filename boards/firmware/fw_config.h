/* SPDX-License-Identifier: Apache-2.0
 * Compile-time capacities of the firmware application. Every buffer is static (no heap);
 * override any of these with -D in the PlatformIO env (build_flags) of a small board.
 */
#ifndef REDS_FW_CONFIG_H
#define REDS_FW_CONFIG_H

/* Longest command line in bytes, without the terminating '%'. A `model-data` chunk of
 * 256 bytes is 512 hex characters plus the command word. */
#ifndef FW_LINE_MAX
#define FW_LINE_MAX 600
#endif

/* Bytes of input data that `db load N` may announce. */
#ifndef FW_INPUT_MAX
#define FW_INPUT_MAX 16384
#endif

/* Bytes of one RAM model slot for `model-load`. Two slots are kept (ping-pong) so a failed
 * upload never destroys the model in use. 0 disables uploads. */
#ifndef FW_MODEL_SLOT_BYTES
#define FW_MODEL_SLOT_BYTES 65536
#endif

/* Tensor arena for the runtime (16-byte aligned). */
#ifndef FW_ARENA_BYTES
#define FW_ARENA_BYTES 65536
#endif

/* Most timed runs per `reds-bench` / `infer` that keep per-run times (for the median). */
#ifndef FW_MAX_RUNS
#define FW_MAX_RUNS 256
#endif

/* Most switches per pair for `reds-switch`. */
#ifndef FW_MAX_SWITCH_RUNS
#define FW_MAX_SWITCH_RUNS 100000
#endif

/* Protocol version reported by `profile` and `reds-info`. */
#define FW_PROTOCOL_VERSION 1

#endif /* REDS_FW_CONFIG_H */

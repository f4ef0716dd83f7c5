/* SPDX-License-Identifier: Apache-2.0
 * Capacities and bounds of the firmware application (docs/protocol.md, "Bounds").
 *
 * Buffers that hold models, inputs and activations are not sized here: fw_workram.c carves them
 * at boot from the board's work RAM (hal_work_ram), so they follow each target's RAM
 * (docs/boards.md). A board may still pin a size with -D in its PlatformIO env.
 */
#ifndef REDS_FW_CONFIG_H
#define REDS_FW_CONFIG_H

/* Longest command line in bytes, without the terminating '%'. A `model-data` chunk of
 * 256 bytes is 512 hex characters plus the command word. */
#ifndef FW_LINE_MAX
#define FW_LINE_MAX 600
#endif

/* Shares of the work RAM, in sixteenths: each of the two upload slots (ping-pong, so a
 * rejected upload never touches the model in use) and the `db` input buffer. The runtime's
 * context and arena get everything left (about 5/16). */
#ifndef FW_SLOT_SIXTEENTHS
#define FW_SLOT_SIXTEENTHS 5
#endif
#ifndef FW_INPUT_SIXTEENTHS
#define FW_INPUT_SIXTEENTHS 1
#endif
/* Optional fixed sizes instead of the shares (bytes; FW_MODEL_SLOT_BYTES=0 disables uploads):
 * FW_MODEL_SLOT_BYTES, FW_INPUT_MAX. */

/* Most timed runs per `infer` / `reds-bench` (per-run times are kept for the median). */
#ifndef FW_MAX_RUNS
#define FW_MAX_RUNS 256
#endif

/* Most untimed warm-up runs per `infer` / `reds-bench`. */
#ifndef FW_MAX_WARMUP
#define FW_MAX_WARMUP 256
#endif

/* Most switches per pair for `reds-switch`. */
#ifndef FW_MAX_SWITCH_RUNS
#define FW_MAX_SWITCH_RUNS 100000
#endif

/* Longest a command may keep the board busy, in milliseconds of the board's timer (virtual
 * time under QEMU -icount: 1 ms = 10^6 instructions). Commands that repeat work check it
 * between repetitions and stop with `e-[time budget exceeded ...]`, so the board answers
 * again after at most this plus one inference (or one row of `reds-switch`). */
#ifndef FW_COMMAND_BUDGET_MS
#define FW_COMMAND_BUDGET_MS 20000u
#endif

/* Protocol version reported by `profile` and `reds-info`. */
#define FW_PROTOCOL_VERSION 2

#endif /* REDS_FW_CONFIG_H */

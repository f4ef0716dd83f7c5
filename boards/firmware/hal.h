/* SPDX-License-Identifier: Apache-2.0
 * Board glue the firmware application needs. Each target under boards/targets/<name>/
 * implements these; the application (boards/firmware/) uses nothing else from the board.
 */
#ifndef REDS_HAL_H
#define REDS_HAL_H

#include <stddef.h>
#include <stdint.h>

/* Bring up clocks, serial link and timer. Native passes argc/argv (e.g. --port N). */
void hal_init(int argc, char **argv);

/* Blocking read of one byte from the serial link; -1 when the link is closed for good. */
int hal_read_byte(void);

/* Write bytes to the serial link (blocking until queued). */
void hal_write(const char *data, size_t len);

/* Free-running 64-bit timer in hal_timer_unit() units. */
uint64_t hal_timer_now(void);
/* Timer ticks per second (e.g. 25000000 for SysTick at 25 MHz, 1000000000 for ns). */
uint64_t hal_timer_hz(void);
/* Unit name reported to the bench: "ns", "systick", "cycles", "us". */
const char *hal_timer_unit(void);
/* What the timer was found to count, reported to the bench (one word, e.g. "cyccnt" on an
 * STM32 chip, "systick_emulated" when the same image runs in QEMU). */
const char *hal_timer_source(void);
/* Target name, e.g. "qemu_m4"; also the PlatformIO env. */
const char *hal_target_name(void);
/* RAM the application carves its buffers from (upload slots, input, runtime context and
 * arena; see fw_workram.c): the region the linker leaves free between .bss and the stack on
 * bare-metal targets, a static block sized for the board elsewhere. 16-byte aligned. */
uint8_t *hal_work_ram(size_t *len);

/* Instructions per timer tick as the exact fraction *num / *den when a tick is a fixed number of
 * executed instructions (QEMU with -icount: 1 instruction = 1 ns, so a 25 MHz SysTick is 40/1,
 * a 168 MHz one 125/21); *num = 0 when it is not (silicon, host). */
void hal_instructions_per_tick(uint32_t *num, uint32_t *den);

#endif /* REDS_HAL_H */

/* SPDX-License-Identifier: Apache-2.0
 * QEMU MPS2 glue: CMSDK APB UART0 as the serial link, SysTick as the timer.
 * Run QEMU with -icount shift=0,sleep=off: one instruction is 1 ns of virtual time, so a
 * SysTick tick at REDS_SYSCLK_HZ is a fixed number of instructions and timing is repeatable.
 * Build defines: REDS_UART0_BASE, REDS_SYSCLK_HZ, REDS_TARGET_NAME.
 */
#include <stdint.h>

#include "hal.h"

#define UART_DATA          (*(volatile uint32_t *)(REDS_UART0_BASE + 0x000u))
#define UART_STATE         (*(volatile uint32_t *)(REDS_UART0_BASE + 0x004u))
#define UART_CTRL          (*(volatile uint32_t *)(REDS_UART0_BASE + 0x008u))
#define UART_BAUDDIV       (*(volatile uint32_t *)(REDS_UART0_BASE + 0x010u))
#define UART_STATE_TX_FULL 1u
#define UART_STATE_RX_FULL 2u

#define SYST_CSR       (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR       (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR       (*(volatile uint32_t *)0xE000E018u)
#define SYSTICK_PERIOD (1u << 24)

static volatile uint32_t systick_wraps;

void SysTick_Handler(void) { systick_wraps++; }

void hal_init(int argc, char **argv) {
  (void)argc;
  (void)argv;
  UART_BAUDDIV = 16; /* the smallest divisor the CMSDK UART accepts */
  UART_CTRL = 3u;    /* TX and RX enable */
  SYST_RVR = SYSTICK_PERIOD - 1u;
  SYST_CVR = 0;
  SYST_CSR = 7u; /* enable, interrupt on wrap, processor clock */
}

int hal_read_byte(void) {
  while (!(UART_STATE & UART_STATE_RX_FULL)) {
  }
  return (int)(UART_DATA & 0xFFu);
}

void hal_write(const char *data, size_t len) {
  for (size_t i = 0; i < len; ++i) {
    while (UART_STATE & UART_STATE_TX_FULL) {
    }
    UART_DATA = (uint8_t)data[i];
  }
}

uint64_t hal_timer_now(void) {
  uint32_t wraps, value;
  do { /* re-read if the counter wrapped between the two loads */
    wraps = systick_wraps;
    value = SYST_CVR;
  } while (wraps != systick_wraps);
  return (uint64_t)wraps * SYSTICK_PERIOD + (SYSTICK_PERIOD - 1u - value);
}

extern uint8_t __work_start[], __work_end[]; /* sections.ld */

uint8_t *hal_work_ram(size_t *len) {
  *len = (size_t)(__work_end - __work_start);
  return __work_start;
}

uint64_t hal_timer_hz(void) { return REDS_SYSCLK_HZ; }
const char *hal_timer_unit(void) { return "systick"; }
const char *hal_target_name(void) { return REDS_TARGET_NAME; }
/* Under -icount shift=0 virtual time advances 1 ns per instruction. */
uint32_t hal_instructions_per_tick(void) { return 1000000000u / REDS_SYSCLK_HZ; }

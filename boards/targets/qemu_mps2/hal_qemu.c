/* SPDX-License-Identifier: Apache-2.0
 * QEMU MPS2 glue: CMSDK APB UART0 as the serial link (receive interrupt feeding the shared
 * ring, so the firmware sleeps in WFI while it waits), SysTick as the timer
 * (boards/targets/cortex_m). Run QEMU with -icount shift=0,sleep=off: one instruction is 1 ns
 * of virtual time, so a SysTick tick at REDS_SYSCLK_HZ is a fixed number of instructions and
 * timing is repeatable.
 * Build defines: REDS_UART0_BASE, REDS_UART0_RX_IRQ, REDS_SYSCLK_HZ, REDS_TARGET_NAME.
 */
#include <stdint.h>

#include "cm.h"
#include "hal.h"

#define UART_DATA          CM_REG(REDS_UART0_BASE + 0x000u)
#define UART_STATE         CM_REG(REDS_UART0_BASE + 0x004u)
#define UART_CTRL          CM_REG(REDS_UART0_BASE + 0x008u)
#define UART_INTCLEAR      CM_REG(REDS_UART0_BASE + 0x00Cu) /* INTSTATUS, write 1 to clear */
#define UART_BAUDDIV       CM_REG(REDS_UART0_BASE + 0x010u)
#define UART_STATE_TX_FULL 1u
#define UART_STATE_RX_FULL 2u
#define UART_CTRL_TX_EN    1u
#define UART_CTRL_RX_EN    2u
#define UART_CTRL_RX_IRQ   8u
#define UART_INT_RX        2u

void hal_init(int argc, char **argv) {
  (void)argc;
  (void)argv;
  UART_BAUDDIV = 16; /* the smallest divisor the CMSDK UART accepts */
  UART_CTRL = UART_CTRL_TX_EN | UART_CTRL_RX_EN | UART_CTRL_RX_IRQ;
  cm_timer_init(0);
  cm_nvic_enable(REDS_UART0_RX_IRQ);
  cm_timer_busy(1);
}

void cm_uart_rx_irq(int on) {
  if (on) {
    UART_CTRL |= UART_CTRL_RX_IRQ;
  } else {
    UART_CTRL &= ~UART_CTRL_RX_IRQ;
  }
}

void cm_uart_rx_drain(void) {
  while (UART_STATE & UART_STATE_RX_FULL) {
    if (!cm_rx_room()) return;
    cm_rx_put((uint8_t)UART_DATA);
  }
}

/* The CMSDK UART raises its RX interrupt status on each received byte (while the interrupt is
 * enabled) and keeps it until cleared. Clear first, then drain: a byte arriving after the
 * drain sets it again. */
void Uart0_IRQHandler(void) {
  UART_INTCLEAR = UART_INT_RX;
  cm_uart_rx_drain();
}

int hal_read_byte(void) { return cm_rx_read(); }

void hal_write(const char *data, size_t len) {
  for (size_t i = 0; i < len; ++i) {
    while (UART_STATE & UART_STATE_TX_FULL) {
    }
    UART_DATA = (uint8_t)data[i];
  }
}

uint64_t hal_timer_now(void) { return cm_timer_now(); }

extern uint8_t __work_start[], __work_end[]; /* sections.ld */

uint8_t *hal_work_ram(size_t *len) {
  *len = (size_t)(__work_end - __work_start);
  return __work_start;
}

uint64_t hal_timer_hz(void) { return REDS_SYSCLK_HZ; }
const char *hal_timer_unit(void) { return "systick"; }
const char *hal_timer_source(void) { return "systick"; }
const char *hal_target_name(void) { return REDS_TARGET_NAME; }
/* Under -icount shift=0 virtual time advances 1 ns per instruction. */
void hal_instructions_per_tick(uint32_t *num, uint32_t *den) {
  *num = 1000000000u;
  *den = REDS_SYSCLK_HZ;
}

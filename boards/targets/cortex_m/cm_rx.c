/* SPDX-License-Identifier: Apache-2.0
 * Interrupt-fed serial receive ring and the sleeping read (see cm.h). */
#include "cm.h"

#ifndef CM_RX_RING_BYTES
#define CM_RX_RING_BYTES 256u /* a power of two */
#endif

static volatile uint8_t g_ring[CM_RX_RING_BYTES];
static volatile uint32_t g_head, g_tail; /* written by the ISR / by the reader */
static volatile int g_paused;            /* the UART receive interrupt is off: ring was full */

int cm_rx_room(void) {
  if (g_head - g_tail < CM_RX_RING_BYTES) return 1;
  if (!g_paused) { /* stop draining: the UART keeps its byte and the sender waits */
    g_paused = 1;
    cm_uart_rx_irq(0);
  }
  return 0;
}

void cm_rx_put(uint8_t byte) {
  g_ring[g_head % CM_RX_RING_BYTES] = byte;
  g_head++;
}

int cm_rx_read(void) {
  int waited = 0;
  for (;;) {
    /* Interrupts masked between the check and WFI: a byte arriving in between leaves its
     * interrupt pending, and WFI returns at once instead of sleeping past it. */
    cm_irq_off();
    if (g_head != g_tail) {
      uint8_t b = g_ring[g_tail % CM_RX_RING_BYTES];
      g_tail++;
      if (g_paused) { /* room again: listen again, then take what the UART holds (in this
                       * order, so a byte arriving in between still raises the interrupt) */
        g_paused = 0;
        cm_uart_rx_irq(1);
        cm_uart_rx_drain();
      }
      cm_irq_on();
      if (waited) cm_timer_busy(1);
      return b;
    }
    if (!waited) {
      waited = 1;
      cm_timer_busy(0); /* no periodic interrupt while asleep */
    }
    __asm volatile("wfi" ::: "memory");
    cm_irq_on(); /* the pending interrupt runs here */
  }
}

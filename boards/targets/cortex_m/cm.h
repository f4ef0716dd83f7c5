/* SPDX-License-Identifier: Apache-2.0
 * Code shared by the Cortex-M targets: core registers, reset, the 64-bit timer and the
 * interrupt-driven serial receive ring the firmware sleeps on (WFI) while it waits for input.
 *
 * A target provides the vector table (its IRQ numbers differ), the UART driver and these hooks:
 *   cm_uart_rx_irq(on)  enable/disable the UART receive interrupt. While it is off the UART keeps
 *                       its byte, so the sender is held back (QEMU stops reading the socket)
 *                       instead of bytes being dropped.
 *   cm_uart_rx_drain()  move received bytes from the UART into the ring: while the UART holds
 *                       a byte and cm_rx_room(), cm_rx_put(it). Called by the target's UART
 *                       interrupt handler and, with interrupts masked, when the ring has room
 *                       again.
 */
#ifndef REDS_CM_H
#define REDS_CM_H

#include <stdint.h>

#define CM_REG(addr) (*(volatile uint32_t *)(addr))

#define CM_SYST_CSR     CM_REG(0xE000E010u)
#define CM_SYST_RVR     CM_REG(0xE000E014u)
#define CM_SYST_CVR     CM_REG(0xE000E018u)
#define CM_NVIC_ISER(n) CM_REG(0xE000E100u + 4u * (n))
#define CM_SCB_VTOR     CM_REG(0xE000ED08u)
#define CM_SCB_CPACR    CM_REG(0xE000ED88u)
#define CM_DEMCR        CM_REG(0xE000EDFCu)
#define CM_DWT_CTRL     CM_REG(0xE0001000u)
#define CM_DWT_CYCCNT   CM_REG(0xE0001004u)

static inline void cm_irq_off(void) { __asm volatile("cpsid i" ::: "memory"); }
static inline void cm_irq_on(void) { __asm volatile("cpsie i" ::: "memory"); }
static inline uint32_t cm_primask(void) {
  uint32_t v;
  __asm volatile("mrs %0, primask" : "=r"(v));
  return v;
}
static inline void cm_primask_set(uint32_t v) {
  __asm volatile("msr primask, %0" ::"r"(v) : "memory");
}
static inline void cm_nvic_enable(unsigned irq) { CM_NVIC_ISER(irq / 32u) = 1u << (irq % 32u); }

/* ---- timer (cm_timer.c) ----
 * A free-running 64-bit count: DWT CYCCNT when it advances (silicon), else SysTick counting
 * down from 2^24 at the core clock. Both are extended to 64 bits on read. While the firmware
 * works on a command the SysTick wrap interrupt reads the timer once per 2^24 ticks, so long
 * work never loses a wrap; while it waits for input SysTick is stopped (a running timer keeps
 * the emulator busy), so a SysTick count leaves the idle time out (CYCCNT keeps it, up to one
 * 2^32 wrap). Nothing the firmware measures spans a wait for input. */
typedef enum { CM_TIMER_SYSTICK, CM_TIMER_CYCCNT } cm_timer_source_t;

/* Starts the counters; prefer_cyccnt lets the DWT cycle counter be used when it runs. */
cm_timer_source_t cm_timer_init(int prefer_cyccnt);
uint64_t cm_timer_now(void);
cm_timer_source_t cm_timer_source(void);
/* busy=1: SysTick and its wrap interrupt on (working on a command); busy=0: SysTick stopped
 * (about to sleep: under QEMU a running timer costs host CPU even without its interrupt). */
void cm_timer_busy(int busy);

/* ---- serial receive ring (cm_rx.c) ---- */
/* 1 when the ring has room for a byte; else turns the UART receive interrupt off and returns 0. */
int cm_rx_room(void);
/* Stores a byte (after cm_rx_room() said there is room). */
void cm_rx_put(uint8_t byte);
/* The next received byte; sleeps in WFI while there is none. */
int cm_rx_read(void);

/* Target hooks (see the top of this file). */
void cm_uart_rx_irq(int on);
void cm_uart_rx_drain(void);

/* ---- reset (cm_reset.c) ---- */
typedef void (*cm_vector_t)(void); /* an entry of a target's vector table */
void Reset_Handler(void);
void SysTick_Handler(void);
void cm_fault_handler(void);

#endif /* REDS_CM_H */

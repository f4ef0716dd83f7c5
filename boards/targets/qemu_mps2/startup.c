/* SPDX-License-Identifier: Apache-2.0
 * Vector table for QEMU MPS2 machines (Cortex-M4/M7/M33): core exceptions, SysTick and the
 * UART0 receive interrupt, whose number differs per machine (REDS_UART0_RX_IRQ: 0 on AN386 and
 * AN500, 32 on AN505). Reset is shared (boards/targets/cortex_m/cm_reset.c). */
#include "cm.h"

extern uint32_t __stack_top;
/* hal_qemu.c and cm_timer.c; weak, so test programs can link this table without the firmware's
 * HAL (an interrupt nobody enables may stay 0). */
void Uart0_IRQHandler(void) __attribute__((weak));
void SysTick_Handler(void) __attribute__((weak));

/* The vector table, laid out by exception number. */
#define VECTORS (16 + REDS_UART0_RX_IRQ + 1)
__attribute__((section(".isr_vector"), used)) static const cm_vector_t vectors[VECTORS] = {
    [0] = (cm_vector_t)&__stack_top, /* initial stack pointer */
    [1] = Reset_Handler,
    [2] = cm_fault_handler,  /* NMI */
    [3] = cm_fault_handler,  /* HardFault */
    [4] = cm_fault_handler,  /* MemManage */
    [5] = cm_fault_handler,  /* BusFault */
    [6] = cm_fault_handler,  /* UsageFault */
    [7] = cm_fault_handler,  /* SecureFault (M33) */
    [11] = cm_fault_handler, /* SVCall */
    [12] = cm_fault_handler, /* DebugMon */
    [14] = cm_fault_handler, /* PendSV */
    [15] = SysTick_Handler,
    [16 + REDS_UART0_RX_IRQ] = Uart0_IRQHandler, /* UART0 receive */
};

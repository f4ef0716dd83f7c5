/* SPDX-License-Identifier: Apache-2.0
 * Vector table of the STM32F405/407: 16 core exceptions + 82 peripheral interrupts, of which
 * the firmware uses SysTick and the receive interrupt of its USART (USART1 = IRQ 37,
 * USART2 = IRQ 38). */
#include "cm.h"

extern uint32_t __stack_top;
void Usart_IRQHandler(void); /* hal_stm32f4.c */

#define STM32F4_IRQS 82
#define IRQ_USART1   37
#define IRQ_USART2   38

#if defined(REDS_STM32_USART2)
#define IRQ_CONSOLE IRQ_USART2
#else
#define IRQ_CONSOLE IRQ_USART1
#endif

/* The vector table, laid out by exception number. */
#define VECTORS (16 + STM32F4_IRQS)
__attribute__((section(".isr_vector"), used)) static const cm_vector_t vectors[VECTORS] = {
    [0] = (cm_vector_t)&__stack_top, /* initial stack pointer */
    [1] = Reset_Handler,
    [2] = cm_fault_handler,  /* NMI */
    [3] = cm_fault_handler,  /* HardFault (also taken by an interrupt left at 0 here) */
    [4] = cm_fault_handler,  /* MemManage */
    [5] = cm_fault_handler,  /* BusFault */
    [6] = cm_fault_handler,  /* UsageFault */
    [11] = cm_fault_handler, /* SVCall */
    [12] = cm_fault_handler, /* DebugMon */
    [14] = cm_fault_handler, /* PendSV */
    [15] = SysTick_Handler,
    [16 + IRQ_CONSOLE] = Usart_IRQHandler, /* the serial link's USART */
};

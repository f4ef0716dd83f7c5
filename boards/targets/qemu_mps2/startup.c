/* SPDX-License-Identifier: Apache-2.0
 * Reset and vector table for QEMU MPS2 machines (Cortex-M4/M7/M33). */
#include <stdint.h>

extern uint32_t __stack_top, __data_load, __data_start, __data_end, __bss_start, __bss_end;
extern int main(int argc, char **argv);
void Reset_Handler(void);
void SysTick_Handler(void);

static void Fault_Handler(void) {
  for (;;) {
  }
}

/* clang-format off: the vector table, laid out by exception number */
__attribute__((section(".isr_vector"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void)) & __stack_top,
    Reset_Handler,
    Fault_Handler, /* NMI */
    Fault_Handler, /* HardFault */
    Fault_Handler, /* MemManage */
    Fault_Handler, /* BusFault */
    Fault_Handler, /* UsageFault */
    Fault_Handler, /* SecureFault (M33) */
    0,
    0,
    0,
    Fault_Handler, /* SVCall */
    Fault_Handler, /* DebugMon */
    0,
    Fault_Handler, /* PendSV */
    SysTick_Handler,
};
/* clang-format on */

void Reset_Handler(void) {
  uint32_t *src = &__data_load;
  for (uint32_t *dst = &__data_start; dst < &__data_end;) *dst++ = *src++;
  for (uint32_t *dst = &__bss_start; dst < &__bss_end;) *dst++ = 0;
#if defined(__ARM_FP)
  /* Grant full access to CP10/CP11 so float code (QUANTIZE, reports) doesn't fault. */
  *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
  __asm volatile("dsb\n\tisb");
#endif
  main(0, 0);
  for (;;) {
  }
}

/* SPDX-License-Identifier: Apache-2.0
 * Reset handler shared by the Cortex-M targets: C runtime set-up, FPU access, then main. */
#include "cm.h"

extern uint32_t __data_load, __data_start, __data_end, __bss_start, __bss_end; /* linker */
extern uint32_t __isr_vector_start;
extern int main(int argc, char **argv);

/* Faults stop here; a debugger finds the faulting frame on the stack. */
void cm_fault_handler(void) {
  for (;;) {
  }
}

void Reset_Handler(void) {
  CM_SCB_VTOR = (uint32_t)&__isr_vector_start; /* the table may not be at address 0 */
  uint32_t *src = &__data_load;
  for (uint32_t *dst = &__data_start; dst < &__data_end;) *dst++ = *src++;
  for (uint32_t *dst = &__bss_start; dst < &__bss_end;) *dst++ = 0;
#if defined(__ARM_FP)
  /* Grant full access to CP10/CP11 so float code (QUANTIZE, reports) doesn't fault. */
  CM_SCB_CPACR |= 0xFu << 20;
  __asm volatile("dsb\n\tisb");
#endif
  main(0, 0);
  for (;;) {
  }
}

/* SPDX-License-Identifier: Apache-2.0
 * The 64-bit timer of the Cortex-M targets (see cm.h). */
#include "cm.h"

#define SYST_PERIOD      (1u << 24)
#define SYST_CSR_ENABLE  1u
#define SYST_CSR_TICKINT 2u
#define SYST_CSR_CORECLK 4u
#define SYST_CSR_COUNTED (1u << 16) /* COUNTFLAG: reloaded since CSR was last read */
#define DEMCR_TRCENA     (1u << 24)

static cm_timer_source_t g_source;
static uint64_t g_acc;  /* ticks up to the last read */
static uint32_t g_last; /* the counter at the last read (CYCCNT, or SysTick counting up) */

cm_timer_source_t cm_timer_init(int prefer_cyccnt) {
  CM_SYST_RVR = SYST_PERIOD - 1u;
  CM_SYST_CVR = 0;
  /* Clock source first, then enable: QEMU applies a clock source change only in a write that
   * does not also toggle ENABLE. For the same reason a stopped SysTick keeps CORECLK set. */
  CM_SYST_CSR = SYST_CSR_CORECLK;
  CM_SYST_CSR = SYST_CSR_ENABLE | SYST_CSR_CORECLK | SYST_CSR_TICKINT;
  g_source = CM_TIMER_SYSTICK;
  if (prefer_cyccnt) {
    /* The cycle counter exists on silicon; QEMU reads it as 0 and ignores writes. */
    CM_DEMCR |= DEMCR_TRCENA;
    CM_DWT_CYCCNT = 0;
    CM_DWT_CTRL |= 1u;
    uint32_t a = CM_DWT_CYCCNT;
    for (volatile int i = 0; i < 16; i++) {
    }
    if (CM_DWT_CYCCNT != a) g_source = CM_TIMER_CYCCNT;
  }
  g_last = g_source == CM_TIMER_CYCCNT ? CM_DWT_CYCCNT : 0;
  (void)cm_timer_now(); /* settle g_last on the running counter */
  g_acc = 0;
  return g_source;
}

cm_timer_source_t cm_timer_source(void) { return g_source; }

/* SysTick counts down and reloads at 0: up = ticks since its last reload. A reload is seen
 * through COUNTFLAG (cleared by reading CSR), checked again after reading the counter so a
 * reload between the two reads is neither lost nor counted twice; a count that went backwards
 * is a reload too. Between two reads at most
 * one reload may occur (the wrap interrupt guarantees it while busy); after a longer sleep the
 * count stays monotone but short by the missed periods. */
static uint64_t systick_now(void) {
  uint32_t reloads = (CM_SYST_CSR & SYST_CSR_COUNTED) ? 1u : 0u;
  uint32_t up = SYST_PERIOD - 1u - CM_SYST_CVR;
  if (CM_SYST_CSR & SYST_CSR_COUNTED) {
    reloads++;
    up = SYST_PERIOD - 1u - CM_SYST_CVR;
  }
  if (reloads == 0 && up < g_last) {
    reloads = 1; /* the load after CVR was cleared (start-up) wraps without COUNTFLAG */
  }
  if (reloads) {
    g_acc += (SYST_PERIOD - g_last) + (uint64_t)(reloads - 1u) * SYST_PERIOD + up;
  } else {
    g_acc += up - g_last;
  }
  g_last = up;
  return g_acc;
}

/* CYCCNT is 32 bits: the delta since the last read is exact while reads are less than 2^32
 * cycles apart (25 s at 168 MHz; the wrap interrupt reads far more often while busy). */
static uint64_t cyccnt_now(void) {
  uint32_t c = CM_DWT_CYCCNT;
  g_acc += (uint32_t)(c - g_last);
  g_last = c;
  return g_acc;
}

uint64_t cm_timer_now(void) {
  uint32_t pm = cm_primask();
  cm_irq_off();
  uint64_t t = g_source == CM_TIMER_CYCCNT ? cyccnt_now() : systick_now();
  cm_primask_set(pm);
  return t;
}

void SysTick_Handler(void) { (void)cm_timer_now(); }

/* Idle: SysTick stops altogether. Even without its interrupt, a running SysTick is a timer
 * deadline every 2^24 ticks, and QEMU with -icount sleep=off races its virtual clock from one
 * deadline to the next while the CPU sleeps, burning host CPU for nothing. So the SysTick
 * count covers busy time only; CYCCNT keeps running through the sleep. */
void cm_timer_busy(int busy) {
  uint32_t pm = cm_primask();
  cm_irq_off();
  if (busy) {
    CM_SYST_CSR = SYST_CSR_ENABLE | SYST_CSR_CORECLK | SYST_CSR_TICKINT;
    if (g_source == CM_TIMER_SYSTICK) { /* resume counting from where SysTick now stands */
      uint64_t keep = g_acc;
      (void)systick_now();
      g_acc = keep;
    }
  } else {
    (void)cm_timer_now();           /* fold the time up to now in */
    CM_SYST_CSR = SYST_CSR_CORECLK; /* stopped (keeps the clock source bit) */
  }
  cm_primask_set(pm);
}

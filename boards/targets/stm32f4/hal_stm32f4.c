/* SPDX-License-Identifier: Apache-2.0
 * STM32F405/407 glue, written against the reference manual (RM0090), no vendor files:
 * clock (HSI 16 MHz, or HSE -> PLL 168 MHz), USART1 on PA9/PA10 (USART2 on PA2/PA3 with
 * REDS_STM32_USART2, the ST-LINK virtual COM port of Nucleo boards), 115200 8N1, and the
 * shared Cortex-M timer and sleeping receive path (boards/targets/cortex_m).
 *
 * The same image runs in QEMU's netduinoplus2, which implements the core, the USARTs and
 * SysTick but not RCC, GPIO, PWR or the flash interface: their writes are dropped and reads
 * return 0. So every wait on a ready bit is bounded and falls back to HSI, and the timer is
 * chosen by whether DWT CYCCNT advances (silicon) or not (emulator).
 *
 * Build defines: REDS_TARGET_NAME; REDS_STM32_HSE_HZ (crystal frequency in Hz, a whole number
 * of MHz from 4 to 26; enables HSE -> PLL 168 MHz); REDS_STM32_HSE_BYPASS (HSE is a clock
 * signal, not a crystal); REDS_STM32_USART2; REDS_EMU_SYSTICK_HZ (the emulator's SysTick rate,
 * 168 MHz).
 */
#include <stdint.h>

#include "cm.h"
#include "hal.h"

#define RCC_BASE                  0x40023800u
#define RCC_CR                    CM_REG(RCC_BASE + 0x00u)
#define RCC_PLLCFGR               CM_REG(RCC_BASE + 0x04u)
#define RCC_CFGR                  CM_REG(RCC_BASE + 0x08u)
#define RCC_AHB1ENR               CM_REG(RCC_BASE + 0x30u)
#define RCC_APB1ENR               CM_REG(RCC_BASE + 0x40u)
#define RCC_APB2ENR               CM_REG(RCC_BASE + 0x44u)
#define RCC_CR_HSION              (1u << 0)
#define RCC_CR_HSIRDY             (1u << 1)
#define RCC_CR_HSEON              (1u << 16)
#define RCC_CR_HSERDY             (1u << 17)
#define RCC_CR_HSEBYP             (1u << 18)
#define RCC_CR_PLLON              (1u << 24)
#define RCC_CR_PLLRDY             (1u << 25)
#define FLASH_ACR                 CM_REG(0x40023C00u)
#define FLASH_ACR_CACHES_PREFETCH ((1u << 8) | (1u << 9) | (1u << 10)) /* PRFTEN ICEN DCEN */
#define PWR_CR                    CM_REG(0x40007000u)
#define PWR_CR_VOS                (1u << 14) /* regulator scale 1: needed above 144 MHz */
#define GPIOA_BASE                0x40020000u
#define GPIOA_MODER               CM_REG(GPIOA_BASE + 0x00u)
#define GPIOA_PUPDR               CM_REG(GPIOA_BASE + 0x0Cu)
#define GPIOA_AFR(n)              CM_REG(GPIOA_BASE + 0x20u + 4u * (n))

#if defined(REDS_STM32_USART2)
#define USART_BASE   0x40004400u /* APB1 */
#define USART_PIN_TX 2u
#define USART_PIN_RX 3u
#else
#define USART_BASE   0x40011000u /* APB2 */
#define USART_PIN_TX 9u
#define USART_PIN_RX 10u
#endif
#define USART_SR         CM_REG(USART_BASE + 0x00u)
#define USART_DR         CM_REG(USART_BASE + 0x04u)
#define USART_BRR        CM_REG(USART_BASE + 0x08u)
#define USART_CR1        CM_REG(USART_BASE + 0x0Cu)
#define USART_SR_ORE     (1u << 3)
#define USART_SR_RXNE    (1u << 5)
#define USART_SR_TXE     (1u << 7)
#define USART_CR1_RE     (1u << 2)
#define USART_CR1_TE     (1u << 3)
#define USART_CR1_RXNEIE (1u << 5)
#define USART_CR1_UE     (1u << 13)
#define USART_BAUD       115200u

#ifndef REDS_EMU_SYSTICK_HZ
#define REDS_EMU_SYSTICK_HZ 168000000u /* QEMU's netduinoplus2 CPU clock, whatever RCC says */
#endif
#define HSI_HZ     16000000u
#define READY_SPIN 200000u /* bound on every ready-bit wait: a few ms on silicon */

static uint32_t g_core_hz = HSI_HZ, g_apb1_hz = HSI_HZ, g_apb2_hz = HSI_HZ;
static const char *g_clock = "cyccnt_hsi16";

static int wait_set(volatile uint32_t *reg, uint32_t mask, uint32_t want) {
  for (uint32_t i = 0; i < READY_SPIN; i++) {
    if ((*reg & mask) == want) return 1;
  }
  return 0;
}

#if defined(REDS_STM32_HSE_HZ)
/* HSE -> PLL -> 168 MHz: VCO input 1 MHz (PLLM = HSE in MHz), VCO 336 MHz (PLLN 336), SYSCLK
 * = VCO / 2, 48 MHz domain = VCO / 7; AHB 168, APB1 42 (/4), APB2 84 (/2) MHz; 5 flash wait
 * states at 3.3 V, set (and read back) before the switch. Any step that does not complete
 * leaves the chip on HSI 16 MHz. */
static void clock_pll168(void) {
  const uint32_t pllm = REDS_STM32_HSE_HZ / 1000000u;
  RCC_APB1ENR |= 1u << 28; /* PWREN */
  PWR_CR |= PWR_CR_VOS;
#if defined(REDS_STM32_HSE_BYPASS)
  RCC_CR |= RCC_CR_HSEBYP; /* an external clock signal (e.g. a Nucleo's ST-LINK MCO), no crystal */
#endif
  RCC_CR |= RCC_CR_HSEON;
  if (!wait_set(&RCC_CR, RCC_CR_HSERDY, RCC_CR_HSERDY)) goto fail_hse;
  RCC_CR &= ~RCC_CR_PLLON;
  RCC_PLLCFGR = pllm | (336u << 6) | (0u << 16) /* P = 2 */ | (1u << 22) /* HSE */ | (7u << 24);
  RCC_CR |= RCC_CR_PLLON;
  if (!wait_set(&RCC_CR, RCC_CR_PLLRDY, RCC_CR_PLLRDY)) goto fail_pll;
  FLASH_ACR = FLASH_ACR_CACHES_PREFETCH | 5u;
  if ((FLASH_ACR & 7u) != 5u) goto fail_pll; /* never run 168 MHz on too few wait states */
  RCC_CFGR = (RCC_CFGR & ~0xFCF3u) | (5u << 10) /* APB1 /4 */ | (4u << 13) /* APB2 /2 */;
  RCC_CFGR = (RCC_CFGR & ~3u) | 2u; /* SW = PLL */
  if (!wait_set(&RCC_CFGR, 0xCu, 0x8u)) {
    RCC_CFGR &= ~3u; /* back to HSI */
    (void)wait_set(&RCC_CFGR, 0xCu, 0x0u);
    goto fail_pll;
  }
  g_core_hz = 168000000u;
  g_apb1_hz = 42000000u;
  g_apb2_hz = 84000000u;
  g_clock = "cyccnt_pll168";
  return;
fail_pll:
  RCC_CFGR &= ~0xFCF3u;
  RCC_CR &= ~RCC_CR_PLLON;
  FLASH_ACR = FLASH_ACR_CACHES_PREFETCH;
fail_hse:
  RCC_CR &= ~(RCC_CR_HSEON | RCC_CR_HSEBYP);
  g_clock = "cyccnt_hsi16_fallback";
}
#endif

static void clock_init(void) {
  RCC_CR |= RCC_CR_HSION; /* on after reset; make sure */
  (void)wait_set(&RCC_CR, RCC_CR_HSIRDY, RCC_CR_HSIRDY);
  FLASH_ACR = FLASH_ACR_CACHES_PREFETCH; /* 0 wait states are enough at 16 MHz */
#if defined(REDS_STM32_HSE_HZ)
  clock_pll168();
#endif
}

static void usart_init(void) {
  RCC_AHB1ENR |= 1u << 0; /* GPIOA */
#if defined(REDS_STM32_USART2)
  RCC_APB1ENR |= 1u << 17;
  const uint32_t pclk = g_apb1_hz;
  (void)g_apb2_hz;
#else
  RCC_APB2ENR |= 1u << 4;
  const uint32_t pclk = g_apb2_hz;
  (void)g_apb1_hz;
#endif
  /* TX and RX pins: alternate function 7, RX pulled up so an open line reads idle. */
  GPIOA_AFR(USART_PIN_TX / 8u) =
      (GPIOA_AFR(USART_PIN_TX / 8u) & ~(0xFu << (4u * (USART_PIN_TX % 8u)))) |
      (7u << (4u * (USART_PIN_TX % 8u)));
  GPIOA_AFR(USART_PIN_RX / 8u) =
      (GPIOA_AFR(USART_PIN_RX / 8u) & ~(0xFu << (4u * (USART_PIN_RX % 8u)))) |
      (7u << (4u * (USART_PIN_RX % 8u)));
  GPIOA_MODER = (GPIOA_MODER & ~((3u << (2u * USART_PIN_TX)) | (3u << (2u * USART_PIN_RX)))) |
                (2u << (2u * USART_PIN_TX)) | (2u << (2u * USART_PIN_RX));
  GPIOA_PUPDR = (GPIOA_PUPDR & ~(3u << (2u * USART_PIN_RX))) | (1u << (2u * USART_PIN_RX));
  /* Oversampling by 16: BRR = pclk / baud, rounded (mantissa and 4-bit fraction in one). */
  USART_BRR = (pclk + USART_BAUD / 2u) / USART_BAUD;
  USART_CR1 = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE | USART_CR1_RXNEIE; /* 8N1 */
}

void cm_uart_rx_irq(int on) {
  if (on) {
    USART_CR1 |= USART_CR1_RXNEIE;
  } else {
    USART_CR1 &= ~USART_CR1_RXNEIE;
  }
}

void cm_uart_rx_drain(void) {
  uint32_t sr;
  while ((sr = USART_SR) & (USART_SR_RXNE | USART_SR_ORE)) {
    if (!(sr & USART_SR_RXNE)) { /* overrun without data: reading DR clears it */
      (void)USART_DR;
      continue;
    }
    if (!cm_rx_room()) return;
    cm_rx_put((uint8_t)USART_DR);
  }
}

void Usart_IRQHandler(void) { cm_uart_rx_drain(); }

void hal_init(int argc, char **argv) {
  (void)argc;
  (void)argv;
  clock_init();
  usart_init();
  cm_timer_init(1);
#if defined(REDS_STM32_USART2)
  cm_nvic_enable(38u);
#else
  cm_nvic_enable(37u);
#endif
  cm_timer_busy(1);
}

int hal_read_byte(void) { return cm_rx_read(); }

void hal_write(const char *data, size_t len) {
  for (size_t i = 0; i < len; ++i) {
    while (!(USART_SR & USART_SR_TXE)) {
    }
    USART_DR = (uint8_t)data[i];
  }
}

uint64_t hal_timer_now(void) { return cm_timer_now(); }

static int on_silicon(void) { return cm_timer_source() == CM_TIMER_CYCCNT; }

uint64_t hal_timer_hz(void) { return on_silicon() ? g_core_hz : REDS_EMU_SYSTICK_HZ; }
const char *hal_timer_unit(void) { return on_silicon() ? "cycles" : "systick"; }
const char *hal_target_name(void) { return REDS_TARGET_NAME; }

/* "cyccnt_<clock>" on silicon (the clock actually running: hsi16, pll168, or hsi16_fallback
 * when the HSE/PLL start-up failed); "systick_emulated" when CYCCNT does not run (QEMU). */
const char *hal_timer_source(void) { return on_silicon() ? g_clock : "systick_emulated"; }

extern uint8_t __work_start[], __work_end[]; /* stm32f405.ld */

uint8_t *hal_work_ram(size_t *len) {
  *len = (size_t)(__work_end - __work_start);
  return __work_start;
}

/* Emulator: -icount shift=0 makes one instruction 1 ns, so a tick of the 168 MHz SysTick is
 * 10^9 / 168e6 = 125/21 instructions. Silicon: cycles are not instruction counts. */
void hal_instructions_per_tick(uint32_t *num, uint32_t *den) {
  *num = on_silicon() ? 0u : 1000000000u;
  *den = REDS_EMU_SYSTICK_HZ;
}

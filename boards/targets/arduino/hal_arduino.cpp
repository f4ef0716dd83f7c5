/* SPDX-License-Identifier: Apache-2.0
 * Real boards through the Arduino framework (PlatformIO envs nano33ble, nucleo_f446re,
 * esp32dev, pico). Serial link: the USB/ST-Link serial port. Timer: the finest free-running
 * counter each chip has. Needs PlatformIO's registry to build (see docs/boards.md).
 */
#include <Arduino.h>

extern "C" {
#include "fw_app.h"
#include "hal.h"
}

#if defined(ARDUINO_ARCH_ESP32)
#include "esp_cpu.h"
#endif

#if defined(__ARM_ARCH_7EM__) /* Cortex-M4/M7: DWT cycle counter */
#define DEMCR      (*(volatile uint32_t *)0xE000EDFCu)
#define DWT_CTRL   (*(volatile uint32_t *)0xE0001000u)
#define DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)
static uint32_t last_cycles, cycle_wraps;
#endif

extern "C" void hal_init(int argc, char **argv) {
  (void)argc;
  (void)argv;
  Serial.begin(115200);
  while (!Serial) {
  } /* USB CDC boards: wait for the host to open the port */
#if defined(__ARM_ARCH_7EM__)
  DEMCR |= 1u << 24; /* TRCENA */
  DWT_CYCCNT = 0;
  DWT_CTRL |= 1u;
#endif
}

extern "C" int hal_read_byte(void) {
  while (Serial.available() <= 0) {
  }
  return Serial.read();
}

extern "C" void hal_write(const char *data, size_t len) {
  Serial.write((const uint8_t *)data, len);
}

extern "C" uint64_t hal_timer_now(void) {
#if defined(__ARM_ARCH_7EM__)
  uint32_t now = DWT_CYCCNT; /* 32-bit: extend, valid when read at least once per wrap */
  if (now < last_cycles) cycle_wraps++;
  last_cycles = now;
  return ((uint64_t)cycle_wraps << 32) | now;
#elif defined(ARDUINO_ARCH_ESP32)
  return esp_cpu_get_cycle_count();
#elif defined(ARDUINO_ARCH_RP2040)
  return time_us_64();
#else
  return micros();
#endif
}

extern "C" uint64_t hal_timer_hz(void) {
#if defined(__ARM_ARCH_7EM__) || defined(ARDUINO_ARCH_ESP32)
  return F_CPU;
#else
  return 1000000u;
#endif
}

extern "C" const char *hal_timer_unit(void) {
#if defined(__ARM_ARCH_7EM__) || defined(ARDUINO_ARCH_ESP32)
  return "cycles";
#else
  return "us";
#endif
}

/* Work RAM per board from its datasheet, minus what the core, stack and the firmware's static
 * buffers need (platformio.ini sets -DREDS_WORK_RAM_BYTES per env; docs/boards.md). */
#ifndef REDS_WORK_RAM_BYTES
#error "set -DREDS_WORK_RAM_BYTES for this board in platformio.ini"
#endif
static uint8_t work_ram[REDS_WORK_RAM_BYTES] __attribute__((aligned(16)));

extern "C" uint8_t *hal_work_ram(size_t *len) {
  *len = sizeof work_ram;
  return work_ram;
}

extern "C" const char *hal_target_name(void) { return REDS_TARGET_NAME; }
extern "C" const char *hal_timer_source(void) {
#if defined(__ARM_ARCH_7EM__)
  return "cyccnt";
#elif defined(ARDUINO_ARCH_ESP32)
  return "ccount";
#elif defined(ARDUINO_ARCH_RP2040)
  return "timer_us";
#else
  return "micros";
#endif
}
extern "C" void hal_instructions_per_tick(uint32_t *num, uint32_t *den) {
  *num = 0;
  *den = 1;
}

void setup() { hal_init(0, nullptr); }
void loop() { fw_app_run(); }

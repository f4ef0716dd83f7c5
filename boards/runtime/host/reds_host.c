/* SPDX-License-Identifier: Apache-2.0
 * Host-only helpers for the Python binding (not part of the portable runtime): timing with
 * clock_gettime, so Python overhead is not measured. */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "reds.h"

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Copy `input` into input 0, invoke `repeat` times; writes per-run nanoseconds into
 * times_ns[repeat] (may be NULL) and returns the total, or a negative status. */
int64_t reds_host_time_invoke(reds_ctx_t *ctx, const void *input, size_t input_bytes, int repeat,
                              int64_t *times_ns) {
  void *dst = reds_input_data(ctx, 0);
  if (dst == NULL || input_bytes != reds_input_bytes(ctx, 0) || repeat < 1) return REDS_ERR_ARG;
  memcpy(dst, input, input_bytes);
  int64_t total = 0;
  for (int r = 0; r < repeat; ++r) {
    const int64_t t0 = now_ns();
    const reds_status_t s = reds_invoke(ctx);
    const int64_t dt = now_ns() - t0;
    if (s != REDS_OK) return s;
    if (times_ns != NULL) times_ns[r] = dt;
    total += dt;
  }
  return total;
}

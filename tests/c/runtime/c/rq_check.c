/* SPDX-License-Identifier: Apache-2.0
 * reds_rq (kernels/reds_dot.h, two-SMLAL requantization) and reds_pack4_s8 equal the reference
 * reds_requantize + clamp for every shift in [-31, 30], multipliers at the ends of [2^30, 2^31)
 * and 0, edge and random accumulators. Prints "ok <count>" or the first mismatch. */
#include <stdint.h>
#include <stdio.h>

#include "reds_quant.h"
#include "reds_dot.h"

#include "check_rng.h"

int main(void) {
  static const int32_t edges[] = {0, 1, -1, 2, -2, 3, -3, 127, -128, 255, -255, 1 << 15, -(1 << 15),
                                  (1 << 30) - 1, 1 << 30, -(1 << 30), INT32_MAX, INT32_MIN,
                                  INT32_MAX - 1, INT32_MIN + 1};
  const int32_t mults[] = {0, 1 << 30, (1 << 30) + 1, INT32_MAX, INT32_MAX - 1, 1518500250};
  uint64_t n = 0;
  for (int shift = -31; shift <= 30; ++shift) {
    for (int mi = 0; mi < 6 + 64; ++mi) {
      const int32_t m = mi < 6 ? mults[mi] : (int32_t)((1u << 30) | (rnd() & 0x3fffffffu));
      reds_rq_t r;
      reds_rq_init(&r, m, shift);
      const int32_t foff = (int32_t)(rnd() % 256) - 128;
      reds_rqf_t f;
      const int fast = reds_rqf_init(&f, m, shift, foff);
      if (fast != (shift <= -2 && shift >= -22)) {
        printf("rqf_init shift=%d\n", shift);
        return 1;
      }
      for (int i = 0; i < 20 + 4000; ++i) {
        int32_t x;
        if (i < 20) x = edges[i];
        else if (i & 1) x = (int32_t)rnd() >> (rnd() & 31); /* all magnitudes */
        else {
          /* small accumulators: many ties of the second rounding for small e */
          x = (int32_t)(rnd() & 0xffffu) - 0x8000;
        }
        const int32_t want = reds_requantize(x, m, shift), got = reds_rq(x, &r);
        if (want != got) {
          printf("mismatch x=%ld m=%ld shift=%d want=%ld got=%ld\n", (long)x, (long)m, shift,
                 (long)want, (long)got);
          return 1;
        }
        const int32_t off = (int32_t)(rnd() % 256) - 128, lo = -128 + (int32_t)(rnd() % 100);
        const int32_t hi = 127 - (int32_t)(rnd() % 100);
        if (fast && reds_rqf(x, &f) != (int32_t)((uint32_t)want + (uint32_t)foff)) {
          printf("rqf mismatch x=%ld m=%ld shift=%d off=%ld want=%ld got=%ld\n", (long)x, (long)m,
                 shift, (long)foff, (long)want, (long)reds_rqf(x, &f));
          return 1;
        }
        if (want > 1000000 || want < -1000000) { ++n; continue; } /* offset add would overflow */
        int32_t ref = want + off;
        ref = ref < lo ? lo : ref > hi ? hi : ref;
        const uint32_t w = reds_pack4_s8(got + off, lo, hi, got + off, REDS_BYTES4(lo), REDS_BYTES4(hi));
        if ((int8_t)(w & 0xffu) != ref || (int8_t)(w >> 24) != ref || (int8_t)((w >> 8) & 0xffu) != lo ||
            (int8_t)((w >> 16) & 0xffu) != hi || reds_rq_finish(x, &r, off, lo, hi) != ref) {
          printf("pack mismatch x=%ld shift=%d off=%ld lo=%ld hi=%ld w=%08lx\n", (long)x, shift,
                 (long)off, (long)lo, (long)hi, (unsigned long)w);
          return 1;
        }
        ++n;
      }
    }
  }
  printf("ok %llu\n", (unsigned long long)n);
  return 0;
}

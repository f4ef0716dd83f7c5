/* SPDX-License-Identifier: Apache-2.0
 * The ADD kernel's fast rescaling (kernels/add_s8.c, included here to reach its static helpers)
 * equals TFLM's arithmetic, written with the reference reds_requantize:
 *  1. rescale_in2 (all kinds that apply, and ANY): every input value v = x + off in [-256, 255] (all x, the extreme offsets and
 *     random ones), every input shift 0..-31, edge and random multipliers;
 *  2. rescale_out: every output shift -1..-22, edge and random multipliers and offsets, sums
 *     of all magnitudes up to 2^29 and small (tie-prone) ones;
 *  3. reds_add_s8 against the TFLM loop: random and interpreter-like parameters (including
 *     ones that must take the reference path), counts 0..13 and all 65536 input pairs,
 *     misaligned buffers, out == in1, out == in2, in1 == in2.
 * Host: compiled with UBSan (portable C). -DADD_CHECK_SEMIHOST: Cortex-M4 firmware for QEMU
 * (with -DREDS_USE_DSP: the SMMLAR / SSAT paths), reporting and exiting via semihosting.
 * Prints "ok <count>" or the first mismatch. */
#define REDS_KERNEL_MATH_ONLY /* the kernel math, without its op table entry */
#include "add_s8.c"

#ifndef CHECK_SCALE
#define CHECK_SCALE 8 /* random multipliers / parameter sets, in units */
#endif

#ifdef ADD_CHECK_SEMIHOST
void SysTick_Handler(void); /* boards/targets/qemu_mps2/startup.c's vector table wants one */
void SysTick_Handler(void) {}
static int semihost(int op, const void *arg) {
  register int r0 __asm__("r0") = op;
  register const void *r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}
static void say(const char *s) { semihost(0x04, s); } /* SYS_WRITE0 */
static void finish(int ok) {
  semihost(0x18, (const void *)(ok ? 0x20026 : 0x20023)); /* SYS_EXIT: ApplicationExit / error */
  for (;;) {
  }
}
#else
#include <stdio.h>
static void say(const char *s) { fputs(s, stdout); }
static void finish(int ok) { (void)ok; }
#endif

static char buf[256];
static size_t blen;
static void put_s(const char *s) {
  while (*s && blen + 1 < sizeof buf) buf[blen++] = *s++;
  buf[blen] = 0;
}
static void put_i(const char *name, long long v) {
  char t[24];
  int n = 0;
  unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
  do t[n++] = (char)('0' + (int)(u % 10u)); while ((u /= 10u) != 0);
  put_s(" ");
  put_s(name);
  put_s("=");
  if (v < 0) put_s("-");
  while (n > 0) {
    const char c[2] = {t[--n], 0};
    put_s(c);
  }
}
static int fail(void) {
  put_s("\n");
  say(buf);
  return 1;
}

#include "check_rng.h"

static const int32_t edge_mults[] = {0, 1, 2, 12345, 1 << 30, (1 << 30) + 1, 1518500250,
                                     INT32_MAX - 1, INT32_MAX};
#define N_EDGE ((int)(sizeof edge_mults / sizeof edge_mults[0]))

static int32_t pick_mult(int i) {
  if (i < N_EDGE) return edge_mults[i];
  return (i & 3) ? (int32_t)((1u << 30) | (rnd() & 0x3fffffffu)) : (int32_t)(rnd() & 0x7fffffffu);
}

static uint64_t count;

static int check_in(void) {
  for (int shift = 0; shift >= -31; --shift) {
    for (int mi = 0; mi < N_EDGE + 16 * CHECK_SCALE; ++mi) {
      const int32_t m = pick_mult(mi);
      const int32_t offs[3] = {-128, 128, (int32_t)(rnd() % 257u) - 128};
      for (int k = 0; k < 3; ++k) {
        side_t s;
        const int kind = side_in(&s, offs[k], m, shift);
        if (kind != (m == (1 << 30) && shift == 0 ? HALF : shift < 0 ? ROUND2 : ANY)) {
          put_s("side_in kind");
          put_i("shift", shift);
          put_i("m", m);
          return fail();
        }
        for (int32_t x = -128; x < 128; ++x) {
          const int32_t want = reds_requantize((x + offs[k]) * (1 << 20), m, shift);
          for (int kd = kind; kd <= ANY; kd += kd == HALF ? 2 : 1) { /* kind itself, and ANY */
            const int32_t got = rescale_in2(x, &s, kd);
            ++count;
            if (want * 2 != got) {
              put_s("rescale_in2 mismatch");
              put_i("kind", kd);
              put_i("x", x);
              put_i("off", offs[k]);
              put_i("m", m);
              put_i("shift", shift);
              put_i("want2", want * 2);
              put_i("got2", got);
              return fail();
            }
          }
        }
      }
    }
  }
  return 0;
}

static int32_t pick_sum(int i) {
  const int32_t lim = 1 << 29;
  switch (i & 3) {
    case 0: return (int32_t)(rnd() & 0xffffu) - 0x8000; /* small: ties of both roundings */
    case 1: return (int32_t)(rnd() % (2u * (uint32_t)lim + 1u)) - lim;
    case 2: return ((int32_t)(rnd() & 0x3fffffffu) - lim) >> (rnd() % 30u); /* all magnitudes */
    default: {
      static const int32_t e[] = {0, 1, -1, 2, -2, 3, -3, (1 << 29), -(1 << 29), (1 << 29) - 1,
                                  -(1 << 29) + 1, 1 << 20, -(1 << 20)};
      return e[(i >> 2) % (int)(sizeof e / sizeof e[0])];
    }
  }
}

static int check_out(void) {
  for (int eo = 1; eo <= 22; ++eo) {
    for (int mi = 0; mi < N_EDGE + 8 * CHECK_SCALE; ++mi) {
      const int32_t m = pick_mult(mi);
      for (int i = 0; i < 256 * CHECK_SCALE; ++i) {
        const int32_t off = (int32_t)(rnd() % 256u) - 128;
        add_k_t k;
        k.m = m;
        k.c = (int32_t)(((uint32_t)1 << (eo - 1)) + (uint32_t)off * ((uint32_t)1 << eo));
        k.e = eo;
        const int32_t sum = pick_sum(i);
        const int32_t want = reds_requantize(sum, m, -eo) + off;
        const int32_t got = rescale_out(sum * 2, &k);
        ++count;
        if (want != got) {
          put_s("rescale_out mismatch");
          put_i("sum", sum);
          put_i("m", m);
          put_i("eo", eo);
          put_i("off", off);
          put_i("want", want);
          put_i("got", got);
          return fail();
        }
      }
    }
  }
  return 0;
}

/* TFLM AddElementwise, int8. */
static void add_tflm(const reds_add_params_t *p, size_t n, const int8_t *in1, const int8_t *in2,
                     int8_t *out) {
  for (size_t i = 0; i < n; ++i) {
    const int32_t sa = reds_requantize((in1[i] + p->input1_offset) * (1 << p->left_shift),
                                       p->input1_multiplier, p->input1_shift);
    const int32_t sb = reds_requantize((in2[i] + p->input2_offset) * (1 << p->left_shift),
                                       p->input2_multiplier, p->input2_shift);
    int32_t v = reds_requantize(sa + sb, p->output_multiplier, p->output_shift) + p->output_offset;
    v = v < p->act.act_min ? p->act.act_min : v;
    v = v > p->act.act_max ? p->act.act_max : v;
    out[i] = (int8_t)v;
  }
}

/* Parameters: kind 0 interpreter-like (first input the larger scale: m = 2^30, shift 0),
 * 1 the same swapped, 2 equal scales, 3 any in-range values, 4 ones for the reference path. */
static void pick_params(reds_add_params_t *p, int kind) {
  p->input1_offset = (int32_t)(rnd() % 256u) - 127;
  p->input2_offset = (int32_t)(rnd() % 256u) - 127;
  p->output_offset = (int32_t)(rnd() % 256u) - 128;
  p->left_shift = 20;
  p->input1_multiplier = 1 << 30;
  p->input1_shift = 0;
  p->input2_multiplier = (int32_t)((1u << 30) | (rnd() & 0x3fffffffu));
  p->input2_shift = -(int32_t)(1u + rnd() % 12u);
  p->output_multiplier = (int32_t)((1u << 30) | (rnd() & 0x3fffffffu));
  p->output_shift = -(int32_t)(12u + rnd() % 11u);
  if (kind == 2) {
    p->input2_multiplier = 1 << 30;
    p->input2_shift = 0;
  } else if (kind >= 3) {
    p->input1_multiplier = pick_mult((int)(rnd() % 40u));
    p->input2_multiplier = pick_mult((int)(rnd() % 40u));
    p->input1_shift = -(int32_t)(rnd() % 32u);
    p->input2_shift = -(int32_t)(rnd() % 32u);
    p->output_multiplier = pick_mult((int)(rnd() % 40u));
    p->output_shift = -(int32_t)(1u + rnd() % 22u);
  }
  if (kind == 4) {
    switch (rnd() % 4u) {
      case 0: p->output_shift = 0; break;
      case 1: p->output_shift = -(int32_t)(23u + rnd() % 9u); break;
      case 2: p->left_shift = 19; break;
      default: p->input1_offset = 129; break;
    }
  }
  if (kind == 1) {
    const int32_t m = p->input1_multiplier, s = p->input1_shift;
    p->input1_multiplier = p->input2_multiplier;
    p->input1_shift = p->input2_shift;
    p->input2_multiplier = m;
    p->input2_shift = s;
  }
  const uint32_t r = rnd() % 3u;
  p->act.act_min = r == 0 ? -128 : r == 1 ? p->output_offset : -100;
  p->act.act_max = r == 2 ? 90 : 127;
}

#define BIG 65536
static int8_t x1[BIG + 8], x2[BIG + 8], got[BIG + 8], want[BIG + 8];

static int check_kernel(void) {
  for (int t = 0; t < 64 * CHECK_SCALE; ++t) {
    reds_add_params_t p;
    pick_params(&p, t % 5);
    const int big = (t % 8) == 0;
    const size_t n = big ? BIG : (size_t)(rnd() % 14u);
    const int a1 = (int)(rnd() % 4u), a2 = (int)(rnd() % 4u), ao = (int)(rnd() % 4u);
    const int alias = big ? 0 : (int)(rnd() % 4u); /* 1: out = in1, 2: out = in2, 3: in1 = in2 */
    for (size_t i = 0; i < n; ++i) {
      x1[a1 + i] = big ? (int8_t)(i & 0xffu) : (int8_t)rnd();
      x2[a2 + i] = big ? (int8_t)(i >> 8) : (int8_t)rnd();
    }
    const int8_t *i1 = x1 + a1, *i2 = alias == 3 ? x1 + a1 : x2 + a2;
    add_tflm(&p, n, i1, i2, want);
    int8_t *o = alias == 1 ? x1 + a1 : alias == 2 ? x2 + a2 : got + ao;
    got[ao + n] = 0x5a;
    if (reds_add_s8(&p, n, i1, i2, o) != REDS_OK) {
      put_s("status");
      return fail();
    }
    if (alias == 0 && got[ao + n] != 0x5a) {
      put_s("wrote past the end");
      return fail();
    }
    for (size_t i = 0; i < n; ++i) {
      ++count;
      if (o[i] != want[i]) {
        put_s("reds_add_s8 mismatch");
        put_i("t", t);
        put_i("i", (long long)i);
        put_i("n", (long long)n);
        put_i("m1", p.input1_multiplier);
        put_i("s1", p.input1_shift);
        put_i("m2", p.input2_multiplier);
        put_i("s2", p.input2_shift);
        put_i("mo", p.output_multiplier);
        put_i("so", p.output_shift);
        put_i("want", want[i]);
        put_i("got", o[i]);
        return fail();
      }
    }
  }
  return 0;
}

int main(void) {
  const int bad = check_in() || check_out() || check_kernel();
  if (!bad) {
    put_s("ok");
    put_i("checked", (long long)count);
    put_s("\n");
    say(buf);
  }
  finish(!bad);
  return bad;
}

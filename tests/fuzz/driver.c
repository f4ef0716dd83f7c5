/* SPDX-License-Identifier: Apache-2.0
 * Coverage-guided mutation driver for LLVMFuzzerTestOneInput when libFuzzer (clang) is not
 * installed: the target is compiled by gcc with -fsanitize-coverage=trace-pc and
 * -fsanitize=address,undefined; this file (compiled without coverage) counts edges
 * (AFL-style hashed pairs of blocks with hit-count buckets) and keeps every input that
 * reaches a new one. Flags follow libFuzzer's spelling, so one command line serves both:
 *
 *   driver [-max_total_time=S] [-runs=N] [-seed=N] [-dict=FILE] [-artifact_prefix=DIR/]
 *          [-timeout=S] [-max_len=N] [-slow_dir=DIR] CORPUS_DIR...
 *                                                    fuzz; new inputs go to the first dir
 *   driver FILE...                                     replay each file once
 *
 * A crash, sanitizer report or hang (an input using more than -timeout of CPU time, default
 * 1 s; CPU time, so a loaded machine does not make slow inputs look hung) writes the input to <artifact_prefix>crash-<hash> or timeout-<hash> and exits non-zero.
 * The last line of a finished run is "#REDS-FUZZ done execs=... edges=... ...".
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));
extern unsigned long long reds_fuzz_models_run __attribute__((weak)); /* fuzz_model.c */
extern unsigned long long reds_fuzz_invokes __attribute__((weak));

/* ---------------------------------------------------------------- coverage */

#define MAP_SIZE (1u << 16)
static uint8_t hits[MAP_SIZE];   /* hit counts of this execution (saturating) */
static uint8_t virgin[MAP_SIZE]; /* buckets seen so far, one bit per bucket */
static uintptr_t prev_block;
static int tracing;

void __sanitizer_cov_trace_pc(void) {
  if (!tracing) return;
  uintptr_t pc = (uintptr_t)__builtin_return_address(0);
  uint32_t cur = (uint32_t)((pc ^ (pc >> 15)) * 2654435761u) >> 16;
  uint32_t idx = (cur ^ (uint32_t)prev_block) & (MAP_SIZE - 1);
  if (hits[idx] != 255) hits[idx]++;
  prev_block = cur >> 1;
}

static uint8_t bucket(uint8_t n) {
  return n == 0 ? 0 : n == 1 ? 1 : n == 2 ? 2 : n == 3 ? 4 : n < 8 ? 8 : n < 16 ? 16 : n < 128 ? 32 : 64;
}

/* Merge this execution's hits; returns the number of new (edge, bucket) features. */
static unsigned merge_hits(void) {
  unsigned fresh = 0;
  for (uint32_t i = 0; i < MAP_SIZE; ++i) {
    if (!hits[i]) continue;
    const uint8_t b = bucket(hits[i]);
    if (!(virgin[i] & b)) {
      virgin[i] |= b;
      ++fresh;
    }
    hits[i] = 0;
  }
  return fresh;
}

static void count_map(unsigned *edges, unsigned *features) {
  *edges = *features = 0;
  for (uint32_t i = 0; i < MAP_SIZE; ++i) {
    if (virgin[i]) ++*edges;
    for (uint8_t v = virgin[i]; v; v &= (uint8_t)(v - 1)) ++*features;
  }
}

/* ------------------------------------------------------------------ inputs */

typedef struct {
  uint8_t *data;
  size_t len;
} unit_t;

#define MAX_UNITS 20000
#define MAX_TOKENS 512
static unit_t corpus[MAX_UNITS];
static size_t n_corpus;
static unit_t tokens[MAX_TOKENS];
static size_t n_tokens;
static size_t max_len = 1u << 16;
static const char *artifact_prefix = "./";
static const char *out_dir;
static const char *slow_dir; /* -slow_dir=DIR: keep inputs that ran longer than 0.1 s */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 11);
}

static uint32_t fnv1a(const uint8_t *d, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; ++i) h = (h ^ d[i]) * 16777619u;
  return h;
}

static int read_file(const char *path, unit_t *u) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  u->data = (uint8_t *)malloc(n > 0 ? (size_t)n : 1);
  u->len = n > 0 ? (size_t)n : 0;
  const int ok = fread(u->data, 1, u->len, f) == u->len;
  fclose(f);
  return ok ? 0 : -1;
}

static void add_unit(const uint8_t *d, size_t n, int save) {
  if (n_corpus == MAX_UNITS) return;
  unit_t *u = &corpus[n_corpus++];
  u->data = (uint8_t *)malloc(n ? n : 1);
  memcpy(u->data, d, n);
  u->len = n;
  if (save && out_dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%08x-%zu", out_dir, fnv1a(d, n), n);
    FILE *f = fopen(path, "wb");
    if (f) {
      fwrite(d, 1, n, f);
      fclose(f);
    }
  }
}

/* libFuzzer / AFL dictionary lines: name="value" with \xNN and \\ \" escapes. */
static void load_dict(const char *path) {
  FILE *f = fopen(path, "r");
  char line[1024];
  if (!f) {
    fprintf(stderr, "cannot read dictionary %s\n", path);
    exit(2);
  }
  while (fgets(line, sizeof line, f) && n_tokens < MAX_TOKENS) {
    char *q = strchr(line, '"');
    if (line[0] == '#' || !q) continue;
    uint8_t buf[256];
    size_t n = 0;
    for (char *p = q + 1; *p && *p != '"' && n < sizeof buf; ++p) {
      if (p[0] == '\\' && p[1] == 'x' && p[2] && p[3]) {
        char hex[3] = {p[2], p[3], 0};
        buf[n++] = (uint8_t)strtoul(hex, NULL, 16);
        p += 3;
      } else if (p[0] == '\\' && p[1]) {
        buf[n++] = (uint8_t)*++p;
      } else {
        buf[n++] = (uint8_t)*p;
      }
    }
    if (n == 0) continue;
    tokens[n_tokens].data = (uint8_t *)malloc(n);
    memcpy(tokens[n_tokens].data, buf, n);
    tokens[n_tokens++].len = n;
  }
  fclose(f);
}

/* ----------------------------------------------------------------- mutation */

static const uint32_t kInteresting[] = {0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 64, 127, 128, 255, 256,
                                        1023, 1024, 4096, 32767, 32768, 65535, 65536, 0x7fffffffu,
                                        0x80000000u, 0xffffffffu, 0xfffffffeu, 0xffff8000u};

static void put_le(uint8_t *p, uint32_t v, int width) {
  for (int i = 0; i < width; ++i) p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le(const uint8_t *p, int width) {
  uint32_t v = 0;
  for (int i = 0; i < width; ++i) v |= (uint32_t)p[i] << (8 * i);
  return v;
}

static size_t mutate(uint8_t *b, size_t len, size_t cap) {
  const int steps = 1 + (int)(rnd() % 4);
  for (int s = 0; s < steps; ++s) {
    const uint32_t op = rnd() % 12;
    const size_t pos = len ? rnd() % len : 0;
    const int width = 1 << (rnd() % 3);
    const size_t wpos = (rnd() & 1) ? pos & ~(size_t)(width - 1) : pos;
    switch (op) {
      case 0: if (len) b[pos] ^= (uint8_t)(1u << (rnd() % 8)); break;
      case 1: if (len) b[pos] = (uint8_t)rnd(); break;
      case 2: case 3: /* an interesting value, little-endian, at an aligned or any offset */
        if (wpos + (size_t)width <= len)
          put_le(b + wpos, kInteresting[rnd() % (sizeof kInteresting / sizeof kInteresting[0])], width);
        break;
      case 4: /* add or subtract a small delta (counts, offsets, vtable entries) */
        if (wpos + (size_t)width <= len) {
          const uint32_t d = 1 + rnd() % 16;
          put_le(b + wpos, get_le(b + wpos, width) + ((rnd() & 1) ? d : (uint32_t)0 - d), width);
        }
        break;
      case 5: { /* insert random bytes */
        const size_t n = 1 + rnd() % 16;
        if (len + n > cap) break;
        memmove(b + pos + n, b + pos, len - pos);
        for (size_t i = 0; i < n; ++i) b[pos + i] = (uint8_t)rnd();
        len += n;
        break;
      }
      case 6: { /* erase bytes */
        const size_t n = 1 + rnd() % 16;
        if (pos + n > len) break;
        memmove(b + pos, b + pos + n, len - pos - n);
        len -= n;
        break;
      }
      case 7: { /* copy a chunk within the input */
        if (len < 2) break;
        const size_t src = rnd() % len, n = 1 + rnd() % 64;
        if (src + n <= len && pos + n <= len) memmove(b + pos, b + src, n);
        break;
      }
      case 8: case 9: /* dictionary token: overwrite or insert */
        if (n_tokens) {
          const unit_t *t = &tokens[rnd() % n_tokens];
          if (op == 8 && pos + t->len <= len) {
            memcpy(b + pos, t->data, t->len);
          } else if (op == 9 && len + t->len <= cap) {
            memmove(b + pos + t->len, b + pos, len - pos);
            memcpy(b + pos, t->data, t->len);
            len += t->len;
          }
        }
        break;
      case 10: { /* splice the same range of another corpus input */
        const unit_t *o = &corpus[rnd() % n_corpus];
        const size_t n = 1 + rnd() % 256;
        if (pos + n <= len && pos + n <= o->len) memcpy(b + pos, o->data + pos, n);
        break;
      }
      default: /* truncate */
        if (len) len = pos + (len - pos) / 2;
        break;
    }
  }
  return len;
}

/* -------------------------------------------------------------- findings */

static const uint8_t *volatile cur_data;
static volatile size_t cur_len;
static volatile int dumped;
static volatile uint64_t exec_id;
static volatile uint64_t watched_id;
static volatile int watched_ticks;
static double timeout_s = 1.0;
#define TICK_MS 100

static void dump(const char *kind) {
  if (dumped || cur_data == NULL) return;
  dumped = 1;
  char path[4096];
  const uint32_t h = fnv1a((const uint8_t *)cur_data, cur_len);
  snprintf(path, sizeof path, "%s%s-%08x", artifact_prefix, kind, h);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    ssize_t w = write(fd, (const void *)cur_data, cur_len);
    (void)w;
    close(fd);
  }
  char msg[4200];
  int n = snprintf(msg, sizeof msg, "#REDS-FUZZ %s artifact=%s\n", kind, path);
  ssize_t w = write(2, msg, (size_t)n);
  (void)w;
}

static void on_death(void) { dump("crash"); }

static void on_signal(int sig) {
  dump("crash");
  signal(sig, SIG_DFL);
  raise(sig);
}

static void on_tick(int sig) {
  (void)sig;
  if (cur_data == NULL) return;
  if (exec_id != watched_id) {
    watched_id = exec_id;
    watched_ticks = 0;
    return;
  }
  if (++watched_ticks * TICK_MS > (int)(timeout_s * 1000.0)) {
    dump("timeout");
    _exit(70);
  }
}

static void on(int sig, void (*handler)(int)) { /* sigaction: signal() may reset on delivery */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(sig, &sa, NULL);
}

static double clock_s(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now_s(void) { return clock_s(CLOCK_MONOTONIC); }
static double cpu_s(void) { return clock_s(CLOCK_PROCESS_CPUTIME_ID); }

static double max_exec_s;
static uint64_t slow_execs; /* above 0.1 s of CPU time */

static unsigned execute(const uint8_t *d, size_t n) {
  cur_len = n;
  cur_data = d;
  ++exec_id;
  const double t0 = cpu_s();
  tracing = 1;
  prev_block = 0;
  LLVMFuzzerTestOneInput(d, n);
  tracing = 0;
  const double dt = cpu_s() - t0;
  if (dt > max_exec_s) max_exec_s = dt;
  if (dt > 0.1) {
    ++slow_execs;
    if (slow_dir) {
      char path[4096];
      snprintf(path, sizeof path, "%s/slow-%08x-%.0fms", slow_dir, fnv1a(d, n), dt * 1e3);
      FILE *f = fopen(path, "wb");
      if (f) {
        fwrite(d, 1, n, f);
        fclose(f);
      }
    }
  }
  cur_data = NULL;
  return merge_hits();
}

/* ------------------------------------------------------------------- main */

static int is_dir(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void load_dir(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  if (!d) return;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char path[4096];
    unit_t u;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (is_dir(path) || read_file(path, &u) != 0) continue;
    if (u.len <= max_len) add_unit(u.data, u.len, 0);
    free(u.data);
  }
  closedir(d);
}

static const char *flag(const char *arg, const char *name) {
  const size_t n = strlen(name);
  return strncmp(arg, name, n) == 0 && arg[n] == '=' ? arg + n + 1 : NULL;
}

int main(int argc, char **argv) {
  double max_time = 0;
  uint64_t max_runs = 0;
  const char *v;
  int n_paths = 0, n_dirs = 0;
  for (int i = 1; i < argc; ++i) {
    if ((v = flag(argv[i], "-max_total_time"))) max_time = atof(v);
    else if ((v = flag(argv[i], "-runs"))) max_runs = strtoull(v, NULL, 10);
    else if ((v = flag(argv[i], "-seed"))) rng = strtoull(v, NULL, 10) * 0x9e3779b97f4a7c15ull + 1;
    else if ((v = flag(argv[i], "-dict"))) load_dict(v);
    else if ((v = flag(argv[i], "-artifact_prefix"))) artifact_prefix = v;
    else if ((v = flag(argv[i], "-timeout"))) timeout_s = atof(v);
    else if ((v = flag(argv[i], "-max_len"))) max_len = strtoull(v, NULL, 10);
    else if ((v = flag(argv[i], "-slow_dir"))) slow_dir = v;
    else if (argv[i][0] == '-') fprintf(stderr, "ignoring flag %s\n", argv[i]);
    else {
      ++n_paths;
      n_dirs += is_dir(argv[i]);
    }
  }
  if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(on_death);
  const int fatal[] = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL};
  for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; ++i) on(fatal[i], on_signal);
  on(SIGPROF, on_tick); /* ticks of process CPU time */
  struct itimerval tick = {{0, TICK_MS * 1000}, {0, TICK_MS * 1000}};
  setitimer(ITIMER_PROF, &tick, NULL);

  if (n_paths > 0 && n_dirs == 0) { /* replay */
    for (int i = 1; i < argc; ++i) {
      unit_t u;
      if (argv[i][0] == '-') continue;
      if (read_file(argv[i], &u) != 0) {
        fprintf(stderr, "cannot read %s\n", argv[i]);
        return 2;
      }
      execute(u.data, u.len);
      free(u.data);
    }
    printf("#REDS-FUZZ replayed %d inputs max_exec_cpu_ms=%.2f\n", n_paths, max_exec_s * 1e3);
    return 0;
  }
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] == '-' || !is_dir(argv[i])) continue;
    if (!out_dir) out_dir = argv[i];
    load_dir(argv[i]);
  }
  if (n_corpus == 0) add_unit((const uint8_t *)"", 0, 0);
  const size_t n_seeds = n_corpus;
  for (size_t i = 0; i < n_seeds; ++i) execute(corpus[i].data, corpus[i].len);

  uint8_t *work = (uint8_t *)malloc(max_len);
  const double t0 = now_s();
  double last_report = t0;
  uint64_t execs = n_seeds;
  for (;;) {
    const double t = now_s();
    if ((max_time > 0 && t - t0 >= max_time) || (max_runs > 0 && execs >= max_runs)) break;
    if (max_time == 0 && max_runs == 0) break;
    const unit_t *parent = &corpus[rnd() % n_corpus];
    size_t n = parent->len < max_len ? parent->len : max_len;
    memcpy(work, parent->data, n);
    n = mutate(work, n, max_len);
    /* an exact-size heap copy, so the target's overreads of the input are visible to ASan */
    uint8_t *in = (uint8_t *)malloc(n ? n : 1);
    memcpy(in, work, n);
    if (execute(in, n) > 0) add_unit(in, n, 1);
    free(in);
    ++execs;
    if (t - last_report >= 10.0) {
      unsigned edges, features;
      count_map(&edges, &features);
      fprintf(stderr, "#%llu t=%.0fs corpus=%zu edges=%u features=%u exec/s=%.0f\n",
              (unsigned long long)execs, t - t0, n_corpus, edges, features, (double)execs / (t - t0));
      last_report = t;
    }
  }
  unsigned edges, features;
  count_map(&edges, &features);
  printf("#REDS-FUZZ done execs=%llu seconds=%.1f corpus=%zu seeds=%zu edges=%u features=%u "
         "max_exec_cpu_ms=%.2f slow_execs=%llu models_run=%llu invokes=%llu\n",
         (unsigned long long)execs, now_s() - t0, n_corpus, n_seeds, edges, features,
         max_exec_s * 1e3, (unsigned long long)slow_execs,
         &reds_fuzz_models_run ? reds_fuzz_models_run : 0ull, &reds_fuzz_invokes ? reds_fuzz_invokes : 0ull);
  free(work);
  return 0;
}

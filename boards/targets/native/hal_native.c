/* SPDX-License-Identifier: Apache-2.0
 * Host "board": the serial link is a TCP socket on 127.0.0.1 (pyserial socket://), or
 * stdin/stdout with --stdio (fuzzing, pipes). Timer: CLOCK_MONOTONIC in ns.
 *   program [--port N] [--stdio]     N = 0 picks a free port; the chosen one is printed.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "hal.h"

static int listen_fd = -1;
static int client_fd = -1;
static int use_stdio;
static unsigned char rx_buf[4096];
static size_t rx_len, rx_pos;

static void fail(const char *what) {
  perror(what);
  exit(2);
}

static void accept_client(void) {
  client_fd = accept(listen_fd, NULL, NULL);
  if (client_fd < 0) fail("accept");
  int one = 1;
  setsockopt(client_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void hal_init(int argc, char **argv) {
  long port = 0;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
      port = strtol(argv[++i], NULL, 10);
    } else if (strcmp(argv[i], "--stdio") == 0) {
      use_stdio = 1;
    } else {
      fprintf(stderr, "usage: %s [--port N] [--stdio]\n", argv[0]);
      exit(2);
    }
  }
  signal(SIGPIPE, SIG_IGN); /* a client that goes away must not kill the board */
  if (use_stdio) return;
  listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  if (listen_fd < 0) fail("socket");
  int one = 1;
  setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons((unsigned short)port);
  if (bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) < 0) fail("bind");
  if (listen(listen_fd, 1) < 0) fail("listen");
  socklen_t len = sizeof addr;
  getsockname(listen_fd, (struct sockaddr *)&addr, &len);
  printf("listening on 127.0.0.1:%u\n", (unsigned)ntohs(addr.sin_port));
  fflush(stdout);
  accept_client();
}

int hal_read_byte(void) {
  while (rx_pos == rx_len) {
    ssize_t n =
        use_stdio ? read(0, rx_buf, sizeof rx_buf) : recv(client_fd, rx_buf, sizeof rx_buf, 0);
    if (n > 0) {
      rx_len = (size_t)n;
      rx_pos = 0;
    } else if (use_stdio) {
      return -1;
    } else {
      /* Client left: like a board whose USB cable was replugged, serve the next one. */
      close(client_fd);
      accept_client();
    }
  }
  return rx_buf[rx_pos++];
}

void hal_write(const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = use_stdio ? write(1, data, len) : send(client_fd, data, len, 0);
    if (n <= 0) return; /* peer gone: drop output, the next client gets a fresh session */
    data += n;
    len -= (size_t)n;
  }
}

uint64_t hal_timer_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The host build stands in for a board with as much RAM as the QEMU MPS2 machines (4 MB of
 * SSRAM), so a model that fits here fits there. -DREDS_WORK_RAM_BYTES=N changes it. */
#ifndef REDS_WORK_RAM_BYTES
#define REDS_WORK_RAM_BYTES (4u * 1024u * 1024u)
#endif
static uint8_t work_ram[REDS_WORK_RAM_BYTES] __attribute__((aligned(16)));

uint8_t *hal_work_ram(size_t *len) {
  *len = sizeof work_ram;
  return work_ram;
}

uint64_t hal_timer_hz(void) { return 1000000000u; }
const char *hal_timer_unit(void) { return "ns"; }
const char *hal_target_name(void) { return "native"; }
const char *hal_timer_source(void) { return "clock_monotonic"; }
void hal_instructions_per_tick(uint32_t *num, uint32_t *den) {
  *num = 0;
  *den = 1;
}

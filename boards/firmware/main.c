/* SPDX-License-Identifier: Apache-2.0
 * Firmware entry: bring up the board, then serve the serial protocol until the link closes.
 * The same file is the entry of every env (native passes argc/argv, e.g. --port N). */
#include "fw_app.h"
#include "hal.h"

#ifndef REDS_NO_MAIN /* Arduino targets call hal_init + fw_app_run from setup() */
int main(int argc, char **argv) {
  hal_init(argc, argv);
  return fw_app_run();
}
#endif

/* SPDX-License-Identifier: Apache-2.0
 * The firmware application: command loop of the serial protocol (docs/protocol.md).
 * Shared by every target; talks to the board only through hal.h.
 */
#ifndef REDS_FW_APP_H
#define REDS_FW_APP_H

#include <stdint.h>

/* Load the compiled-in model and print the boot banner (`m-boot-reds ...`, `m-ready`). */
void fw_app_init(void);
/* Feed one received byte; runs a command when it completes one. */
void fw_app_feed(uint8_t byte);
/* init, then feed hal_read_byte() until the link closes for good. */
int fw_app_run(void);

#endif /* REDS_FW_APP_H */

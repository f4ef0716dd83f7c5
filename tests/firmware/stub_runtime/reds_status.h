/* SPDX-License-Identifier: Apache-2.0
 * TEST STAND-IN for boards/runtime/include/reds_status.h, used only by tests/firmware when
 * the real runtime sources (boards/runtime/src) are not present yet. */
#ifndef REDS_STATUS_H
#define REDS_STATUS_H
typedef enum {
    REDS_OK = 0,
    REDS_ERR_MODEL = -1,
    REDS_ERR_ARG = -2,
    REDS_ERR_ARENA = -3,
    REDS_STATUS_COUNT = 4
} reds_status_t;
#endif

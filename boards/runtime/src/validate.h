/* SPDX-License-Identifier: Apache-2.0
 * Graph data-flow validation (internal), run once by reds_init after the model is parsed. */
#ifndef REDS_VALIDATE_H
#define REDS_VALIDATE_H

#include "reds_internal.h"

/* Checks that every byte an operator reads is defined before it runs, so no output can depend
 * on what the arena held before the inference:
 *   - every op input is a constant, a subgraph input, or the output of an earlier op;
 *   - no op writes a tensor it reads, a subgraph input, or a tensor an earlier op wrote;
 *   - every subgraph output is written by an op (or is a constant / subgraph input, which
 *     reds_init judges separately).
 * Returns REDS_OK or REDS_ERR_MODEL with an error naming the op (index and name) and tensor. */
reds_status_t reds_validate_graph(reds_ctx_t *ctx);

#endif /* REDS_VALIDATE_H */

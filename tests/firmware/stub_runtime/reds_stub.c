/* SPDX-License-Identifier: Apache-2.0
 * TEST STAND-IN runtime: 4 fake subnets, 16 input bytes, 4 output bytes,
 * out[i] = (int8)(sum(in) * (k + 1) + i). Only to exercise the firmware's protocol layer while
 * the real runtime is not there; the bench's bit-exact checks need the real one. */
#include <string.h>
#include "reds.h"
#include "reds_ctx.h"

#define NSUB 4u
static const uint32_t widths[NSUB][2] = {{12, 8}, {9, 6}, {6, 4}, {3, 2}};

reds_status_t reds_init(reds_ctx_t *c, const uint8_t *m, size_t n, uint8_t *arena, size_t alen)
{
    (void)arena;
    memset(c, 0, sizeof *c);
    if (n < 8 || memcmp(m + 4, "TFL3", 4) != 0) {
        c->err = "not a TFLite flatbuffer (no TFL3 identifier)";
        return REDS_ERR_MODEL;
    }
    if (alen < 64) {
        c->err = "arena too small";
        return REDS_ERR_ARENA;
    }
    c->model = m;
    c->model_len = n;
    c->err = "ok";
    return REDS_OK;
}
reds_status_t reds_select(reds_ctx_t *c, uint32_t k)
{
    if (k >= NSUB) {
        c->err = "subnet out of range";
        return REDS_ERR_ARG;
    }
    c->active = k;
    return REDS_OK;
}
reds_status_t reds_invoke(reds_ctx_t *c)
{
    int32_t s = 0;
    for (uint32_t r = 0; r < (1000u >> c->active); r++) {
        for (int i = 0; i < 16; i++) {
            s += c->in[i];
        }
    }
    s /= (int32_t)(1000u >> c->active);
    for (int i = 0; i < 4; i++) {
        c->out[i] = (int8_t)(s * (int32_t)(c->active + 1) + i);
    }
    return REDS_OK;
}
uint32_t reds_num_subnets(const reds_ctx_t *c) { (void)c; return NSUB; }
uint32_t reds_active_subnet(const reds_ctx_t *c) { return c->active; }
uint32_t reds_num_groups(const reds_ctx_t *c) { (void)c; return 2; }
uint32_t reds_group_width(const reds_ctx_t *c, uint32_t k, uint32_t g)
{
    (void)c;
    return (k < NSUB && g < 2) ? widths[k][g] : 0;
}
uint32_t reds_group_full_width(const reds_ctx_t *c, uint32_t g) { return reds_group_width(c, 0, g); }
uint64_t reds_subnet_macs(const reds_ctx_t *c, uint32_t k) { (void)c; return 1000u >> k; }
size_t reds_subnet_arena_bytes(const reds_ctx_t *c, uint32_t k) { (void)c; return 64u - 8u * k; }
uint32_t reds_num_inputs(const reds_ctx_t *c) { (void)c; return 1; }
uint32_t reds_num_outputs(const reds_ctx_t *c) { (void)c; return 1; }
void *reds_input_data(reds_ctx_t *c, uint32_t i) { return i == 0 ? c->in : NULL; }
size_t reds_input_bytes(const reds_ctx_t *c, uint32_t i) { (void)c; return i == 0 ? 16u : 0u; }
const void *reds_output_data(const reds_ctx_t *c, uint32_t i) { return i == 0 ? c->out : NULL; }
size_t reds_output_bytes(const reds_ctx_t *c, uint32_t i) { (void)c; return i == 0 ? 4u : 0u; }
const char *reds_last_error(const reds_ctx_t *c) { return c->err ? c->err : ""; }

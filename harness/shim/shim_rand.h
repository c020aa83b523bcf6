/*
 * The instruments' one pseudo-random generator: xorshift32 (13, 17, 5).
 * Deterministic from its seed, so a failing run or a fuzz input replays the
 * same sequence. Header-only and inline: the stress child draws from it on
 * its hot path, and the fuzz targets use it without linking the shim.
 */
#ifndef DLLMEM_SHIM_RAND_H
#define DLLMEM_SHIM_RAND_H

#include <stdint.h>

/* Advances *state (never 0: 0 stays 0) and returns the new value. */
static inline uint32_t shim_rand(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

#endif

/*
 * UTF-16 unit primitives used by the core: surrogate tests and the
 * surrogate-safe cut (and, through scan.h, the NUL scan).
 */
#ifndef DLLMEM_UNITS_H
#define DLLMEM_UNITS_H

#include "dllmem.h"
#include "scan.h"

#include <stdbool.h>
#include <stddef.h>

static inline bool dllmem_is_high(dllmem_unit u) { return (u & 0xFC00u) == 0xD800u; }
static inline bool dllmem_is_low(dllmem_unit u) { return (u & 0xFC00u) == 0xDC00u; }

/* Largest k <= limit such that cutting s (length len) at k splits no
 * surrogate pair. s[limit] must be readable when limit < len. */
static inline size_t dllmem_pair_safe_cut(const dllmem_unit *s, size_t len, size_t limit)
{
    if (limit >= len)
        return len;
    if (limit > 0 && dllmem_is_high(s[limit - 1]) && dllmem_is_low(s[limit]))
        return limit - 1;
    return limit;
}

#endif /* DLLMEM_UNITS_H */

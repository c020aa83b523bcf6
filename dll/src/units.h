/*
 * UTF-16 unit primitives used by the core: a word-at-a-time NUL scan, the
 * surrogate-safe cut, and the copies to and from shared memory.
 */
#ifndef DLLMEM_UNITS_H
#define DLLMEM_UNITS_H

#include "dllmem.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#if defined(__has_feature)
#    if __has_feature(thread_sanitizer)
#        define DLLMEM_TSAN 1
#    endif
#endif
#if defined(__SANITIZE_THREAD__)
#    define DLLMEM_TSAN 1
#endif

static inline bool dllmem_is_high(dllmem_unit u) { return (u & 0xFC00u) == 0xD800u; }
static inline bool dllmem_is_low(dllmem_unit u) { return (u & 0xFC00u) == 0xDC00u; }

/* Index of the first NUL in s[0..max), or max. Reads s only up to its
 * terminator, plus at most the rest of that aligned 16-byte block. */
size_t dllmem_scan_nul(const dllmem_unit *s, size_t max);

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

/*
 * Copies that touch the shared areas. A seqlock reader may copy while a writer
 * writes; the reader then sees a changed sequence and discards what it copied.
 * The plain build uses memcpy for that discarded racy copy (as kernels do);
 * under TSan every unit goes through a relaxed atomic, which makes the
 * protocol race-free in the C11 model and lets TSan check the rest of it.
 */
static inline void dllmem_copy_shared(dllmem_unit *dst, const dllmem_unit *src, size_t n)
{
#if defined(DLLMEM_TSAN)
    for (size_t i = 0; i < n; i++)
        __atomic_store_n(&dst[i], __atomic_load_n(&src[i], __ATOMIC_RELAXED), __ATOMIC_RELAXED);
#else
    memcpy(dst, src, n * sizeof *dst);
#endif
}

static inline dllmem_unit dllmem_load_shared(const dllmem_unit *p)
{
#if defined(DLLMEM_TSAN)
    return __atomic_load_n(p, __ATOMIC_RELAXED);
#else
    return *(const volatile dllmem_unit *)p;
#endif
}

static inline void dllmem_store_shared(dllmem_unit *p, dllmem_unit v)
{
#if defined(DLLMEM_TSAN)
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
#else
    *(volatile dllmem_unit *)p = v;
#endif
}

#endif /* DLLMEM_UNITS_H */

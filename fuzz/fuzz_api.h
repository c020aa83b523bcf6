/*
 * What the fuzz targets call: the hardened core (fuzz_api_dllmem.c) or the
 * original example's algorithm (fuzz_api_canary.c), chosen at link time, so
 * the same targets prove they can fail.
 */
#ifndef DLLMEM_FUZZ_API_H
#define DLLMEM_FUZZ_API_H

#include "dllmem.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Always on, whatever NDEBUG says: a broken property is a crash to report.
 * The segment's name goes first: abort() ends the process, and libFuzzer's
 * crash path exits without atexit handlers, so the name would outlive it. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: property violated: %s\n", __FILE__, __LINE__, #cond);          \
            fz_remove_object();                                                                    \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Removes the name of this process's segment (DLLMEM_NAME as it is now).
 * What a sanitizer's crash leaves, its driver removes (ci/fuzz, ci/canary,
 * tools/report/triage.py: the dead pid in the name). */
void fz_remove_object(void);

/* Gives this process its own segment name (DLLMEM_NAME=dllmem-fuzz-PID-TAG),
 * default size, and attaches. Detaches (and so removes the segment) at exit. */
void fz_init(const char *tag);
void fz_attach(void);
void fz_detach(void);

/* The contract's capacity in units for the configured DLLMEM_SIZE (what the
 * model expects), 0 if DLLMEM_SIZE is invalid. */
size_t fz_contract_capacity(void);

void fz_set(dllmem_unit *s);
void fz_get(dllmem_unit *buf, uint32_t cch);

/* The extended API, where the build has it. */
extern const bool fz_extended;
dllmem_status fz_xset(const dllmem_unit *s, size_t len, size_t *stored);
dllmem_status fz_xget(dllmem_unit *buf, size_t cch, size_t *full);
dllmem_status fz_attach_status(void);
const char *fz_attach_reason(void);
dllmem_status fz_info(dllmem_info *info);

/* The raw mapping, as a peer sees it; NULL when not attached. */
unsigned char *fz_raw(size_t *len);
/* The object name in use ("/name" form for shm_open). */
const char *fz_object_name(void);

/* Model helpers: the contract's truncation. */
static inline bool fz_high(dllmem_unit u) { return (u & 0xFC00u) == 0xD800u; }
static inline bool fz_low(dllmem_unit u) { return (u & 0xFC00u) == 0xDC00u; }
/* Units kept when s (len units) is cut to at most limit units, pair-safe. */
static inline size_t fz_cut(const dllmem_unit *s, size_t len, size_t limit)
{
    if (len <= limit)
        return len;
    if (limit > 0 && fz_high(s[limit - 1]) && fz_low(s[limit]))
        return limit - 1;
    return limit;
}

#endif

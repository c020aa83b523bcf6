/* The fuzz API over the hardened core, compiled into the target. */
#define _GNU_SOURCE
#include "backend.h"
#include "entry.h"
#include "fuzz_api.h"
#include "fuzz_clock.h" /* the prototypes of the virtual-time calls below */

#include <stdatomic.h>
#include <time.h>

#undef clock_gettime /* the real calls here, whatever was forced in */
#undef nanosleep
#undef sched_yield

const bool fz_extended = true;

void fz_attach(void) { dllmem_core_attach(); }
void fz_detach(void) { dllmem_core_detach(); }
void fz_set(dllmem_unit *s) { SetSharedMem(s); }
void fz_get(dllmem_unit *buf, uint32_t cch) { GetSharedMem(buf, cch); }

dllmem_status fz_xset(const dllmem_unit *s, size_t len, size_t *stored)
{
    return dllmem_set(s, len, stored);
}

dllmem_status fz_xget(dllmem_unit *buf, size_t cch, size_t *full)
{
    return dllmem_get(buf, cch, full);
}

dllmem_status fz_attach_status(void) { return dllmem_attach_status(); }
const char *fz_attach_reason(void) { return dllmem_attach_reason(); }
dllmem_status fz_info(dllmem_info *info) { return dllmem_get_info(info); }

unsigned char *fz_raw(size_t *len)
{
    struct dllmem_segment *seg = dllmem_core_segment();
    if (seg == NULL)
        return NULL;
    *len = (size_t)seg->mapping_bytes;
    return seg->base;
}

/* ---- virtual time for the backend (fuzz_clock.h) ---------------------------- */

static _Atomic long long g_skipped_ns; /* sleeps skipped so far */

int fz_clock_gettime(clockid_t clock, struct timespec *ts)
{
    if (clock_gettime(clock, ts) != 0)
        return -1;
    long long ns = (long long)ts->tv_nsec + atomic_load(&g_skipped_ns);
    ts->tv_sec += (time_t)(ns / 1000000000LL);
    ts->tv_nsec = (long)(ns % 1000000000LL);
    return 0;
}

int fz_nanosleep(const struct timespec *req, struct timespec *rem)
{
    if (rem != NULL)
        rem->tv_sec = 0, rem->tv_nsec = 0;
    atomic_fetch_add(&g_skipped_ns, (long long)req->tv_sec * 1000000000LL + req->tv_nsec);
    return 0;
}

int fz_sched_yield(void) { return 0; }

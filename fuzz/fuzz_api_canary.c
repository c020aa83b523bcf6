/* The fuzz API over the original example's algorithm: the canary DLL's own
 * source, compiled in. It has no extended API and ignores DLLMEM_SIZE. */
#define DLLMEM_EMBEDDED 1
#include "../harness/canary/canary.c"

#include "fuzz_api.h"

const bool fz_extended = false;

void fz_attach(void) { DllMain_attach(); }
void fz_detach(void)
{
    DllMain_detach();
    fz_remove_object(); /* the example never removes it; keep the machine clean */
}
void fz_set(dllmem_unit *s) { SetSharedMem(s); }
void fz_get(dllmem_unit *buf, uint32_t cch) { GetSharedMem(buf, cch); }

dllmem_status fz_xset(const dllmem_unit *s, size_t len, size_t *stored)
{
    (void)s, (void)len, (void)stored;
    return DLLMEM_INVALID_ARGUMENT;
}

dllmem_status fz_xget(dllmem_unit *buf, size_t cch, size_t *full)
{
    (void)buf, (void)cch, (void)full;
    return DLLMEM_INVALID_ARGUMENT;
}

dllmem_status fz_attach_status(void) { return lpvMem != NULL ? DLLMEM_OK : DLLMEM_OS_ERROR; }
const char *fz_attach_reason(void) { return lpvMem != NULL ? "attached" : "not attached"; }
dllmem_status fz_info(dllmem_info *info)
{
    (void)info;
    return DLLMEM_INVALID_ARGUMENT;
}

unsigned char *fz_raw(size_t *len)
{
    *len = SHMEMSIZE;
    return lpvMem;
}

/* The fuzz API over the hardened core, compiled into the target. */
#include "backend.h"
#include "entry.h"
#include "fuzz_api.h"

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

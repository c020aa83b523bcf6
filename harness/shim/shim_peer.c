/* A peer's read-only view of a dllmem segment's control words, as
 * docs/layout.md describes them: for instruments that aim at the write window
 * or count reads that overlapped a write. */
#include "shim.h"

#include <string.h>

bool shim_peer_open(shim_peer *p, const char *name, size_t capacity)
{
    memset(p, 0, sizeof *p);
    uint64_t data = 2u * (uint64_t)capacity;
    uint64_t ctl = (data + 63u) / 64u * 64u;
    p->map = shim_segment_map(name, &p->size);
    if (p->map == NULL)
        return false;
    const unsigned char *b = (const unsigned char *)p->map;
    /* Windows reports the view rounded up to whole pages: at least the size. */
    if (p->size < ctl + 128u + data || memcmp(b + ctl, "DLMM", 4) != 0)
        return false;
    p->seq = (const uint32_t *)(const void *)(b + ctl + 16u);
    p->shadow = (const dllmem_unit *)(const void *)(b + ctl + 128u);
    return true;
}

void shim_peer_close(shim_peer *p)
{
    if (p->map != NULL)
        shim_segment_unmap(p->map, p->size);
    memset(p, 0, sizeof *p);
}

uint32_t shim_peer_seq(const shim_peer *p) { return __atomic_load_n(p->seq, __ATOMIC_ACQUIRE); }

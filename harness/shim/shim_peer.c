/* A peer's view of a dllmem segment: where its parts lie (from layout.h,
 * the one source) and a read-only view of its control words, for
 * instruments that aim at the write window or count reads that overlapped a
 * write. */
#include "shim.h"

#include "layout.h"
#include "object_name.h"

#include <string.h>

bool shim_object_name(char *out, size_t len, const char *name, const char *suffix)
{
    return dllmem_object_name(out, len, name, suffix);
}

shim_layout shim_layout_of(uint32_t data_bytes)
{
    shim_layout l;
    memset(&l, 0, sizeof l);
    l.ctl = dllmem_ctl_offset(data_bytes);
    l.shadow = dllmem_shadow_offset(data_bytes);
    l.mapping = dllmem_mapping_bytes(data_bytes);
    l.ctl_bytes = DLLMEM_CTL_BYTES;
    l.magic_at = (uint32_t)offsetof(struct dllmem_ctl, magic);
    l.version_at = (uint32_t)offsetof(struct dllmem_ctl, layout_version);
    l.ctl_bytes_at = (uint32_t)offsetof(struct dllmem_ctl, ctl_bytes);
    l.data_bytes_at = (uint32_t)offsetof(struct dllmem_ctl, data_bytes);
    l.seq_at = (uint32_t)offsetof(struct dllmem_ctl, seq);
    l.magic = DLLMEM_MAGIC;
    l.version = DLLMEM_LAYOUT_VERSION;
    return l;
}

void shim_layout_put_header(unsigned char *base, const shim_layout *l, uint32_t magic,
                            uint16_t version, uint32_t data_bytes_field)
{
    unsigned char *c = base + l->ctl;
    uint16_t ctl_bytes = (uint16_t)l->ctl_bytes;
    if (magic != 0)
        memcpy(c + l->magic_at, &magic, sizeof magic); /* fields are little-endian */
    memcpy(c + l->version_at, &version, sizeof version);
    memcpy(c + l->ctl_bytes_at, &ctl_bytes, sizeof ctl_bytes);
    memcpy(c + l->data_bytes_at, &data_bytes_field, sizeof data_bytes_field);
}

bool shim_peer_open(shim_peer *p, const char *name, size_t capacity)
{
    memset(p, 0, sizeof *p);
    shim_layout l = shim_layout_of((uint32_t)(2u * capacity));
    p->map = shim_segment_map(name, &p->size);
    if (p->map == NULL)
        return false;
    const unsigned char *b = (const unsigned char *)p->map;
    uint32_t magic = 0;
    /* Windows reports the view rounded up to whole pages: at least the size. */
    if (p->size < l.mapping)
        return false;
    memcpy(&magic, b + l.ctl + l.magic_at, sizeof magic);
    if (magic != l.magic)
        return false;
    p->seq = (const uint32_t *)(const void *)(b + l.ctl + l.seq_at);
    p->shadow = (const dllmem_unit *)(const void *)(b + l.shadow);
    return true;
}

void shim_peer_close(shim_peer *p)
{
    if (p->map != NULL)
        shim_segment_unmap(p->map, p->size);
    memset(p, 0, sizeof *p);
}

uint32_t shim_peer_seq(const shim_peer *p) { return __atomic_load_n(p->seq, __ATOMIC_ACQUIRE); }

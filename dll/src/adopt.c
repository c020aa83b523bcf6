/*
 * The core's decision about an object a backend has opened and mapped: use
 * it, initialize it, go round, or refuse it. The backend supplies the OS facts
 * (who else may be attached, the object's size or its view's, the page size);
 * this file alone says what the bytes mean. docs/layout.md has the table.
 *
 * Nothing read here is trusted: a size record or control block is a snapshot
 * checked field by field before any size or offset taken from it is used.
 */
#include "backend.h"

#include <stdatomic.h>
#include <string.h>

/* Points seg's area pointers into a mapping of data_bytes' layout. */
static void segment_bind(struct dllmem_segment *seg, unsigned char *base, uint32_t data_bytes)
{
    seg->base = base;
    seg->data_bytes = data_bytes;
    seg->capacity = data_bytes / 2u;
    seg->mapping_bytes = dllmem_mapping_bytes(data_bytes);
    seg->data = (dllmem_unit *)(void *)base;
    seg->ctl = (struct dllmem_ctl *)(void *)(base + dllmem_ctl_offset(data_bytes));
    seg->shadow = (dllmem_unit *)(void *)(base + dllmem_shadow_offset(data_bytes));
}

/* Writes a fresh control block into a zero-filled mapping: empty string. */
static void ctl_init(struct dllmem_segment *seg)
{
    struct dllmem_ctl *c = seg->ctl;
    c->layout_version = DLLMEM_LAYOUT_VERSION;
    c->ctl_bytes = DLLMEM_CTL_BYTES;
    c->data_bytes = seg->data_bytes;
    atomic_store_explicit(&c->seq, 0u, memory_order_relaxed);
    atomic_store_explicit(&c->len_d, 0u, memory_order_relaxed);
    atomic_store_explicit(&c->len_s, 0u, memory_order_relaxed);
    atomic_store_explicit(&c->writer, 0u, memory_order_relaxed);
    /* D and S are already zero (the mapping is fresh or was truncated to 0):
     * writing their terminators would only fault in their pages. */
    /* Magic last: a block with a magic is whole. */
    atomic_thread_fence(memory_order_release);
    c->magic = DLLMEM_MAGIC;
}

/* The data size whose mapping is exactly mapping_bytes, if there is one. */
static bool data_bytes_for_mapping(uint64_t mapping_bytes, uint32_t *data_bytes)
{
    if (mapping_bytes < dllmem_mapping_bytes(DLLMEM_MIN_SIZE) ||
        mapping_bytes > dllmem_mapping_bytes(DLLMEM_MAX_SIZE))
        return false;
    /* mapping = round64(d) + CTL + d, so d is within 64 of (mapping - CTL) / 2. */
    uint64_t guess = (mapping_bytes - DLLMEM_CTL_BYTES) / 2u;
    uint64_t lo = guess > 64u ? guess - 64u : 0u;
    for (uint64_t d = lo & ~(uint64_t)1u; d <= guess + 64u; d += 2u) {
        if (d >= DLLMEM_MIN_SIZE && d <= DLLMEM_MAX_SIZE &&
            dllmem_mapping_bytes((uint32_t)d) == mapping_bytes) {
            *data_bytes = (uint32_t)d;
            return true;
        }
    }
    return false;
}

/* True for a block our own initialization left unfinished: the magic (written
 * last) is missing and every other field is zero or what ctl_init writes.
 * Such a block is ours and safe to initialize again; anything else without
 * the magic belongs to something else. */
static bool ctl_unfinished(const struct dllmem_segment *seg)
{
    const struct dllmem_ctl *c = seg->ctl;
    bool zero_tail = true;
    for (size_t i = 0; i < sizeof c->reserved; i++)
        zero_tail = zero_tail && c->reserved[i] == 0;
    return c->magic == 0 &&
           (c->layout_version == 0 || c->layout_version == DLLMEM_LAYOUT_VERSION) &&
           (c->ctl_bytes == 0 || c->ctl_bytes == DLLMEM_CTL_BYTES) &&
           (c->data_bytes == 0 || c->data_bytes == seg->data_bytes) && c->reserved0 == 0 &&
           atomic_load_explicit(&c->seq, memory_order_relaxed) == 0 &&
           atomic_load_explicit(&c->len_d, memory_order_relaxed) == 0 &&
           atomic_load_explicit(&c->len_s, memory_order_relaxed) == 0 &&
           atomic_load_explicit(&c->writer, memory_order_relaxed) == 0 && zero_tail;
}

/* Classifies a mapped control block: OK, or BAD_CONTROL_BLOCK / SIZE_MISMATCH
 * with the reason; *unfinished for a block ctl_unfinished() accepts. */
static dllmem_status ctl_check(const struct dllmem_segment *seg, uint64_t object_bytes,
                               bool *unfinished, struct dllmem_reason *why)
{
    const struct dllmem_ctl *c = seg->ctl;
    *unfinished = ctl_unfinished(seg);
    if (*unfinished) {
        dllmem_reason_set(why, "segment \"%s\" was never fully initialized", seg->config.name);
        return DLLMEM_BAD_CONTROL_BLOCK;
    }
    if (c->magic != DLLMEM_MAGIC) {
        dllmem_reason_set(why, "segment \"%s\" has no dllmem control block (magic 0x%08x)",
                          seg->config.name, (unsigned)c->magic);
        return DLLMEM_BAD_CONTROL_BLOCK;
    }
    if (c->layout_version != DLLMEM_LAYOUT_VERSION || c->ctl_bytes != DLLMEM_CTL_BYTES) {
        dllmem_reason_set(why,
                          "segment \"%s\" has layout version %u (%u-byte block), "
                          "this library speaks version %u",
                          seg->config.name, (unsigned)c->layout_version, (unsigned)c->ctl_bytes,
                          DLLMEM_LAYOUT_VERSION);
        return DLLMEM_BAD_CONTROL_BLOCK;
    }
    if (c->data_bytes != seg->data_bytes || object_bytes != seg->mapping_bytes) {
        dllmem_reason_set(why,
                          "segment \"%s\" holds %u data bytes (%llu in all), "
                          "DLLMEM_SIZE asks for %u",
                          seg->config.name, (unsigned)c->data_bytes,
                          (unsigned long long)object_bytes, (unsigned)seg->data_bytes);
        return DLLMEM_SIZE_MISMATCH;
    }
    return DLLMEM_OK;
}

static enum dllmem_adopt_verdict refuse(dllmem_status st, dllmem_status *refusal)
{
    *refusal = st;
    return DLLMEM_ADOPT_REFUSE;
}

static void record_write(unsigned char *base, uint64_t object_bytes, uint32_t data_bytes)
{
    struct dllmem_size_record r = {DLLMEM_RECORD_MAGIC, DLLMEM_LAYOUT_VERSION, DLLMEM_RECORD_BYTES,
                                   data_bytes, 0u};
    memcpy(base + object_bytes - DLLMEM_RECORD_BYTES, &r, sizeof r);
}

/* The data size a page-granular object's record names, if the record is whole
 * and agrees with the size of the view it ends. */
static bool record_read(const unsigned char *base, uint64_t object_bytes, uint64_t page_size,
                        uint32_t *data_bytes)
{
    struct dllmem_size_record r;
    if (object_bytes < DLLMEM_RECORD_BYTES)
        return false;
    memcpy(&r, base + object_bytes - DLLMEM_RECORD_BYTES, sizeof r); /* one snapshot */
    if (r.magic != DLLMEM_RECORD_MAGIC || r.layout_version != DLLMEM_LAYOUT_VERSION ||
        r.record_bytes != DLLMEM_RECORD_BYTES || r.reserved != 0u)
        return false;
    if (r.data_bytes < DLLMEM_MIN_SIZE || r.data_bytes > DLLMEM_MAX_SIZE ||
        (r.data_bytes & 1u) != 0u || dllmem_object_bytes(r.data_bytes, page_size) != object_bytes)
        return false;
    *data_bytes = r.data_bytes;
    return true;
}

/* The original example's mapping: the data area alone, no protocol. */
static void bind_legacy(struct dllmem_segment *seg, unsigned char *base, uint32_t data_bytes)
{
    seg->base = base;
    seg->ctl = NULL;
    seg->data = (dllmem_unit *)(void *)base;
    seg->shadow = NULL;
    seg->data_bytes = data_bytes;
    seg->capacity = data_bytes / 2u;
    seg->mapping_bytes = data_bytes;
}

static enum dllmem_adopt_verdict adopt_created(struct dllmem_segment *seg, unsigned char *base,
                                               uint64_t object_bytes, uint64_t page_size,
                                               dllmem_status *refusal, struct dllmem_reason *why)
{
    const uint32_t want = seg->config.data_bytes;
    if (base == NULL || object_bytes != dllmem_object_bytes(want, page_size)) {
        dllmem_reason_set(why, "\"%s\" was created with %llu bytes, not the %llu asked for",
                          seg->config.name, (unsigned long long)object_bytes,
                          (unsigned long long)dllmem_object_bytes(want, page_size));
        return refuse(DLLMEM_OS_ERROR, refusal);
    }
    segment_bind(seg, base, want);
    if (page_size != 0u)
        record_write(base, object_bytes, want); /* before the block's magic (a fence) */
    ctl_init(seg);
    return DLLMEM_ADOPT_USE;
}

static enum dllmem_adopt_verdict adopt_alone(struct dllmem_segment *seg, unsigned char *base,
                                             uint64_t object_bytes, uint64_t page_size,
                                             dllmem_status *refusal, struct dllmem_reason *why)
{
    const uint32_t want = seg->config.data_bytes;
    if (page_size != 0u) {
        /* A backend that cannot resize its objects cannot reset one either. */
        dllmem_reason_set(why, "\"%s\": internal error, ALONE needs the object's exact size",
                          seg->config.name);
        return refuse(DLLMEM_OS_ERROR, refusal);
    }
    if (object_bytes == 0u)
        return DLLMEM_ADOPT_INIT; /* created by someone who died before sizing it */
    uint32_t have;
    if (!data_bytes_for_mapping(object_bytes, &have)) {
        dllmem_reason_set(why,
                          "\"%s\" is %llu bytes, which is no dllmem segment's size "
                          "(DLLMEM_SIZE %u needs %llu)",
                          seg->config.name, (unsigned long long)object_bytes, (unsigned)want,
                          (unsigned long long)dllmem_mapping_bytes(want));
        return refuse(DLLMEM_SIZE_MISMATCH, refusal);
    }
    /* Ours and nobody's now, at any size: valid, or its initializer died. */
    struct dllmem_segment probe;
    memset(&probe, 0, sizeof probe);
    probe.config = seg->config;
    segment_bind(&probe, base, have);
    bool unfinished = false;
    dllmem_status st = ctl_check(&probe, object_bytes, &unfinished, why);
    if (st == DLLMEM_OK || unfinished)
        return DLLMEM_ADOPT_INIT;
    return refuse(st, refusal);
}

static enum dllmem_adopt_verdict adopt_joining(struct dllmem_segment *seg, unsigned char *base,
                                               uint64_t object_bytes, uint64_t page_size,
                                               dllmem_status *refusal, struct dllmem_reason *why)
{
    const uint32_t want = seg->config.data_bytes;
    if (object_bytes == 0u) {
        dllmem_reason_set(why, "\"%s\" is empty: its creator has not sized it", seg->config.name);
        return DLLMEM_ADOPT_RETRY;
    }
    uint32_t have = 0;
    bool sized = page_size == 0u ? data_bytes_for_mapping(object_bytes, &have)
                                 : record_read(base, object_bytes, page_size, &have);
    if (!sized && page_size != 0u) {
        uint64_t legacy = ((uint64_t)want + page_size - 1u) / page_size * page_size;
        if (object_bytes == legacy) {
            bind_legacy(seg, base, want);
            return DLLMEM_ADOPT_USE;
        }
        if (object_bytes == dllmem_object_bytes(want, page_size)) {
            /* Our size, and no record yet: only an initializer that died
             * before writing it leaves that (and an unfinished block). */
            segment_bind(seg, base, want);
            bool unfinished = false;
            (void)ctl_check(seg, dllmem_mapping_bytes(want), &unfinished, why);
            seg->base = NULL;
            if (unfinished)
                return DLLMEM_ADOPT_RETRY;
        }
    }
    if (!sized) {
        dllmem_reason_set(why,
                          "\"%s\" is a %llu-byte object, not a dllmem segment of %u data bytes",
                          seg->config.name, (unsigned long long)object_bytes, (unsigned)want);
        return refuse(DLLMEM_SIZE_MISMATCH, refusal);
    }
    if (have != want) {
        dllmem_reason_set(why, "\"%s\" holds %u data bytes, DLLMEM_SIZE asks for %u",
                          seg->config.name, (unsigned)have, (unsigned)want);
        return refuse(DLLMEM_SIZE_MISMATCH, refusal);
    }
    segment_bind(seg, base, want);
    bool unfinished = false;
    dllmem_status st = ctl_check(seg, dllmem_mapping_bytes(want), &unfinished, why);
    if (st == DLLMEM_OK)
        return DLLMEM_ADOPT_USE;
    seg->base = NULL;
    return unfinished ? DLLMEM_ADOPT_RETRY : refuse(st, refusal);
}

enum dllmem_adopt_verdict dllmem_adopt(struct dllmem_segment *seg, unsigned char *base,
                                       uint64_t object_bytes, enum dllmem_adopt_role role,
                                       uint64_t page_size, dllmem_status *refusal,
                                       struct dllmem_reason *why)
{
    *refusal = DLLMEM_OK;
    seg->base = NULL;
    if (base == NULL && object_bytes != 0u) {
        dllmem_reason_set(why, "\"%s\": internal error, no mapping to adopt", seg->config.name);
        return refuse(DLLMEM_OS_ERROR, refusal);
    }
    switch (role) {
    case DLLMEM_ROLE_CREATED:
        return adopt_created(seg, base, object_bytes, page_size, refusal, why);
    case DLLMEM_ROLE_ALONE: return adopt_alone(seg, base, object_bytes, page_size, refusal, why);
    case DLLMEM_ROLE_JOINING:
        return adopt_joining(seg, base, object_bytes, page_size, refusal, why);
    }
    dllmem_reason_set(why, "\"%s\": internal error, unknown role %d", seg->config.name, (int)role);
    return refuse(DLLMEM_OS_ERROR, refusal);
}

/*
 * Segment layout and the concurrency protocol. docs/layout.md says the same for
 * readers in other languages; keep the two in step.
 *
 *   offset 0           D: data area, `data_bytes` bytes = capacity UTF-16LE units.
 *                         Holds the current string, NUL-terminated, exactly where
 *                         the original example keeps it.
 *   ctl_offset         control block (struct dllmem_ctl), 64-byte aligned,
 *                      = round_up(data_bytes, 64).
 *   shadow_offset      S: shadow area, data_bytes bytes, = ctl_offset + 128.
 *   mapping_bytes      = shadow_offset + data_bytes.
 *
 * Invariants (a Set holds the writer lock for all of them):
 *   I1  seq is even: D[0..len_d) is a whole string stored by some Set (or the
 *       initial empty one) and D[len_d] == 0. Readers copy from D.
 *   I2  seq is odd:  S[0..len_s) is a whole string and S[len_s] == 0; D is being
 *       overwritten with that same string. Readers copy from S.
 *   I3  seq only changes under the writer lock; len_s and S only change while
 *       seq is even, len_d and D only while seq is odd.
 *   I4  A Set is: write S and len_s (seq even) -> seq odd -> write D and len_d
 *       -> seq even. So whichever area readers are directed to is stable; a
 *       writer killed at any instant leaves either I1 or I2 true, never a torn
 *       visible string, and readers never need the lock.
 *   I5  Recovery: whoever next takes the writer lock and finds seq odd finishes
 *       the dead writer's copy S -> D after a release fence of its own, and
 *       makes seq even.
 *   I6  Nothing in the mapping is trusted on the hot path: lengths are clamped
 *       to capacity-1 before use, so hostile bytes can at worst yield a wrong
 *       string, never an access outside the mapping or the caller's buffer.
 *
 * Reader (seqlock): s1 = seq (acquire); copy from S if s1 odd else D; acquire
 * fence; s2 = seq; retry unless s1 == s2. A reader starved by a stream of Sets
 * falls back to the writer lock, so it waits for writers, never for readers.
 */
#ifndef DLLMEM_LAYOUT_H
#define DLLMEM_LAYOUT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define DLLMEM_MAGIC 0x4d4d4c44u /* "DLMM" little-endian */
#define DLLMEM_LAYOUT_VERSION 1u
#define DLLMEM_CTL_ALIGN 64u
#define DLLMEM_CTL_BYTES 128u

/* Fields are fixed-width and little-endian; atomics are lock-free 32-bit. */
struct dllmem_ctl {
    uint32_t magic;          /* DLLMEM_MAGIC, written last at initialization */
    uint16_t layout_version; /* DLLMEM_LAYOUT_VERSION */
    uint16_t ctl_bytes;      /* DLLMEM_CTL_BYTES */
    uint32_t data_bytes;     /* size of D and of S, even, 64 .. 1 GiB */
    uint32_t reserved0;
    _Atomic uint32_t seq;    /* two increments per Set; odd: D is being written */
    _Atomic uint32_t len_d;  /* units in D before its terminator */
    _Atomic uint32_t len_s;  /* units in S before its terminator */
    _Atomic uint32_t writer; /* POSIX writer lock: 0 free, else owner's slot */
    uint8_t reserved[DLLMEM_CTL_BYTES - 32];
};

_Static_assert(sizeof(struct dllmem_ctl) == DLLMEM_CTL_BYTES, "control block size");
_Static_assert(offsetof(struct dllmem_ctl, seq) == 16, "seq offset");
_Static_assert(offsetof(struct dllmem_ctl, writer) == 28, "writer offset");

static inline uint64_t dllmem_ctl_offset(uint32_t data_bytes)
{
    return ((uint64_t)data_bytes + DLLMEM_CTL_ALIGN - 1u) & ~(uint64_t)(DLLMEM_CTL_ALIGN - 1u);
}

static inline uint64_t dllmem_shadow_offset(uint32_t data_bytes)
{
    return dllmem_ctl_offset(data_bytes) + DLLMEM_CTL_BYTES;
}

static inline uint64_t dllmem_mapping_bytes(uint32_t data_bytes)
{
    return dllmem_shadow_offset(data_bytes) + data_bytes;
}

/*
 * Page-granular objects (Windows sections). No call reports a section's exact
 * size everywhere: VirtualQuery gives whole pages, and so does NtQuerySection
 * under Wine. So a dllmem section is dllmem_object_bytes() long, a whole
 * number of pages, and its last DLLMEM_RECORD_BYTES hold a size record: a
 * process that did not create the section reads the creator's data size at
 * the end of its own view, whatever DLLMEM_SIZE it was given. The record lies
 * past the shadow area, where no string reaches. POSIX objects have an exact
 * size (fstat) and no record.
 */
#define DLLMEM_RECORD_MAGIC 0x534d4c44u /* "DLMS" little-endian */
#define DLLMEM_RECORD_BYTES 16u

struct dllmem_size_record {
    uint32_t magic;          /* DLLMEM_RECORD_MAGIC */
    uint16_t layout_version; /* DLLMEM_LAYOUT_VERSION */
    uint16_t record_bytes;   /* DLLMEM_RECORD_BYTES */
    uint32_t data_bytes;     /* the creator's data size */
    uint32_t reserved;       /* 0 */
};

_Static_assert(sizeof(struct dllmem_size_record) == DLLMEM_RECORD_BYTES, "size record size");

/* The size to create an object with: the layout alone where sizes are exact
 * (page_size 0), else the layout and a size record in whole pages. */
static inline uint64_t dllmem_object_bytes(uint32_t data_bytes, uint64_t page_size)
{
    uint64_t n = dllmem_mapping_bytes(data_bytes);
    if (page_size == 0u)
        return n;
    n += DLLMEM_RECORD_BYTES;
    return (n + page_size - 1u) / page_size * page_size;
}

#endif /* DLLMEM_LAYOUT_H */

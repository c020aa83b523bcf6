/*
 * The portable core: the exports, bounds and the control block over the
 * layout in layout.h; the seqlock protocol itself is in seqlock.c. It calls
 * the OS only through backend.h.
 */
#include "backend.h"
#include "entry.h"
#include "seqlock.h"
#include "units.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Process-wide attach state; written only by the platform entry point
 * (constructor / DllMain), before and after any export can run. */
static struct dllmem_segment g_seg;
static dllmem_status g_attach_status = DLLMEM_NOT_ATTACHED;
static struct dllmem_reason g_attach_reason = {"library has not attached yet"};

static _Thread_local dllmem_status t_last_status = DLLMEM_OK;

/*
 * Detach safety. The destructor (or DllMain) can run while other threads are
 * inside the exports: exit() does not stop them. Every export counts itself
 * in g_inside, then checks g_detaching; detach sets g_detaching, then reads
 * g_inside. Both pairs are sequentially consistent, so either detach sees
 * the thread, or the thread sees g_detaching and touches nothing. Detach
 * waits a bounded time for the threads it sees to leave; if they do not,
 * it leaves the mapping and the locks to the kernel, as a crash would.
 */
static atomic_uint g_inside;
static atomic_bool g_detaching;
#define DETACH_WAIT_MS 50

/* A reader retries this often (seqlock.c) before it takes the writer lock to
 * guarantee progress against a stream of Sets. */
#define READ_TRIES 1000
/* Test builds can lower it (DLLMEM_TEST_READ_TRIES) to force the fallback. */
static int g_read_tries = READ_TRIES;

/* ---- attach / detach (called by the platform entry point) ------------------ */

void dllmem_core_attach(void)
{
#if defined(DLLMEM_TESTING)
    const char *tries = getenv("DLLMEM_TEST_READ_TRIES"); /* NOLINT(concurrency-mt-unsafe) */
    g_read_tries = tries != NULL ? (int)strtol(tries, NULL, 10) : READ_TRIES;
#endif
    struct dllmem_config cfg;
    struct dllmem_reason why = {""};
    atomic_store(&g_detaching, false); /* an embedding program may attach again */
    dllmem_status st = dllmem_config_from_env(&cfg, &why);
    if (st == DLLMEM_OK) {
        memset(&g_seg, 0, sizeof g_seg);
        g_seg.config = cfg;
        st = dllmem_os_attach(&cfg, &g_seg, &why);
    }
    if (st != DLLMEM_OK) {
        g_seg.base = NULL;
        g_attach_reason = why;
    } else {
        dllmem_reason_set(&g_attach_reason, "attached to \"%s\" (%u data bytes)", cfg.name,
                          (unsigned)cfg.data_bytes);
    }
    g_attach_status = st;
}

void dllmem_core_detach(void)
{
    atomic_store(&g_detaching, true);
    for (int ms = 0; atomic_load(&g_inside) != 0u; ms++) {
        if (ms >= DETACH_WAIT_MS)
            return; /* a thread is still inside: leave everything as it is */
        dllmem_os_pause();
    }
    if (g_seg.base != NULL)
        dllmem_os_detach(&g_seg);
    g_seg.base = NULL;
    g_attach_status = DLLMEM_NOT_ATTACHED;
    dllmem_reason_set(&g_attach_reason, "library has detached");
}

void dllmem_core_forked_unattached(const struct dllmem_reason *why)
{
    g_seg.base = NULL;
    g_attach_status = DLLMEM_NOT_ATTACHED;
    g_attach_reason = *why;
}

/* Brackets every export that touches the segment: NULL when not attached or
 * detaching. Pair each call with leave(). */
static struct dllmem_segment *enter(void)
{
    atomic_fetch_add(&g_inside, 1u);
    if (atomic_load(&g_detaching) || g_seg.base == NULL)
        return NULL;
    return &g_seg;
}

static void leave(void) { atomic_fetch_sub_explicit(&g_inside, 1u, memory_order_release); }

struct dllmem_segment *dllmem_core_segment(void) { return g_seg.base != NULL ? &g_seg : NULL; }

/* ---- the protocol ------------------------------------------------------------ */

/* The protocol lives in seqlock.c, where the model checker compiles it too. */
static dllmem_status store(struct dllmem_segment *seg, const dllmem_unit *src, uint32_t n)
{
    return dllmem_seq_store(seg, src, n);
}

static dllmem_status load(struct dllmem_segment *seg, dllmem_unit *buf, size_t cch,
                          size_t *full_len)
{
    return dllmem_seq_load(seg, buf, cch, full_len, g_read_tries);
}

/* ---- exports ------------------------------------------------------------------ */

static dllmem_status set_units(struct dllmem_segment *seg, const dllmem_unit *str, size_t len,
                               size_t *stored)
{
    size_t ignored;
    if (stored == NULL)
        stored = &ignored;
    *stored = 0;
    if (seg == NULL)
        return DLLMEM_NOT_ATTACHED;
    if (str == NULL && len != 0)
        return DLLMEM_INVALID_ARGUMENT;
    size_t cap = seg->capacity - 1u;
    size_t want = len < cap ? len : cap;
    if (len > 0 && dllmem_scan_nul(str, len) != len)
        return DLLMEM_EMBEDDED_NUL;
    static const dllmem_unit empty[1] = {0};
    if (len == 0)
        str = empty; /* memcpy from NULL is undefined, even for 0 bytes */
    size_t n = dllmem_pair_safe_cut(str, len, want);
    dllmem_status st = store(seg, str, (uint32_t)n);
    if (st != DLLMEM_OK)
        return st;
    *stored = n;
    return n == len ? DLLMEM_OK : DLLMEM_TRUNCATED;
}

DLLMEM_API dllmem_status DLLMEM_CALL dllmem_set(const dllmem_unit *str, size_t len, size_t *stored)
{
    dllmem_status st = set_units(enter(), str, len, stored);
    leave();
    return st;
}

DLLMEM_API void DLLMEM_CALL SetSharedMem(dllmem_unit *lpszBuf)
{
    struct dllmem_segment *seg = enter();
    dllmem_status st;
    if (seg == NULL) {
        st = DLLMEM_NOT_ATTACHED;
    } else if (lpszBuf == NULL) {
        st = DLLMEM_INVALID_ARGUMENT;
    } else {
        /* Scan one unit past the capacity to learn whether the string fits. */
        size_t cap = seg->capacity - 1u;
        size_t len = dllmem_scan_nul(lpszBuf, cap + 1u);
        size_t n = dllmem_pair_safe_cut(lpszBuf, len, cap);
        st = store(seg, lpszBuf, (uint32_t)n);
        if (st == DLLMEM_OK && n != len)
            st = DLLMEM_TRUNCATED;
    }
    leave();
    t_last_status = st;
}

static dllmem_status get_units(struct dllmem_segment *seg, dllmem_unit *buf, size_t cch,
                               size_t *full_len)
{
    size_t ignored;
    if (full_len == NULL)
        full_len = &ignored;
    if (seg == NULL) {
        if (buf != NULL && cch > 0)
            buf[0] = 0;
        *full_len = 0;
        return DLLMEM_NOT_ATTACHED;
    }
    return load(seg, buf, cch, full_len);
}

DLLMEM_API dllmem_status DLLMEM_CALL dllmem_get(dllmem_unit *buf, size_t cch, size_t *full_len)
{
    dllmem_status st = get_units(enter(), buf, cch, full_len);
    leave();
    return st;
}

DLLMEM_API void DLLMEM_CALL GetSharedMem(dllmem_unit *lpszBuf, uint32_t cchSize)
{
    size_t full;
    t_last_status = dllmem_get(lpszBuf, cchSize, &full);
}

DLLMEM_API size_t DLLMEM_CALL dllmem_capacity(void)
{
    struct dllmem_segment *seg = enter();
    size_t cap = seg != NULL ? seg->capacity : 0u;
    leave();
    return cap;
}

DLLMEM_API dllmem_status DLLMEM_CALL dllmem_attach_status(void) { return g_attach_status; }

DLLMEM_API const char *DLLMEM_CALL dllmem_attach_reason(void) { return g_attach_reason.text; }

DLLMEM_API dllmem_status DLLMEM_CALL dllmem_last_status(void) { return t_last_status; }

static dllmem_status describe(struct dllmem_segment *seg, dllmem_info *info)
{
    if (info == NULL)
        return DLLMEM_INVALID_ARGUMENT;
    memset(info, 0, sizeof *info);
    info->attached = -1;
    if (seg == NULL)
        return DLLMEM_NOT_ATTACHED;
    _Static_assert(sizeof info->name == sizeof seg->config.name, "name sizes");
    memcpy(info->name, seg->config.name, sizeof info->name);
    info->data_bytes = seg->data_bytes;
    info->mapping_bytes = seg->mapping_bytes;
    info->capacity = seg->capacity;
    info->layout_version = seg->ctl != NULL ? seg->ctl->layout_version : 0u;
    size_t len = 0;
    (void)load(seg, NULL, 0, &len);
    info->length = len;
    info->sequence =
        seg->ctl != NULL ? atomic_load_explicit(&seg->ctl->seq, memory_order_acquire) / 2u : 0u;
    dllmem_os_describe(seg, info->path, sizeof info->path, &info->attached);
    return DLLMEM_OK;
}

DLLMEM_API dllmem_status DLLMEM_CALL dllmem_get_info(dllmem_info *info)
{
    dllmem_status st = describe(enter(), info);
    leave();
    return st;
}

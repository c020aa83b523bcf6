/*
 * The internal interface between the portable core and one platform backend.
 * Exactly one backend file (posix/shm_posix.c or win32/shm_win32.c) defines
 * these; CMake picks it. The backend owns the OS objects, the attach/detach
 * lifecycle and the writer lock; the core owns the bytes and the protocol.
 */
#ifndef DLLMEM_BACKEND_H
#define DLLMEM_BACKEND_H

#include "dllmem.h"
#include "layout.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DLLMEM_NAME_MAX 255
#define DLLMEM_REASON_MAX 512

struct dllmem_config {
    char name[DLLMEM_NAME_MAX + 1]; /* object name, as the OS sees it */
    uint32_t data_bytes;            /* even, DLLMEM_MIN_SIZE .. DLLMEM_MAX_SIZE */
};

struct dllmem_segment {
    unsigned char *base; /* whole mapping; NULL when not attached */
    /* NULL for a legacy mapping: one the original example created, holding
     * only the data area. Sets and Gets then copy within bounds but without
     * the protocol, since the example's own processes follow none. */
    struct dllmem_ctl *ctl;
    dllmem_unit *data;   /* D: offset 0 */
    dllmem_unit *shadow; /* S */
    uint32_t data_bytes;
    uint32_t capacity; /* units, terminator included */
    uint64_t mapping_bytes;
    struct dllmem_config config;
    /* The backend's own state of this attach (OS handles, lock identity),
     * defined in each backend file; the core never looks inside. Set by
     * dllmem_os_attach, meaningful only while base != NULL. */
    struct dllmem_os_attach *os;
};

/* A reason buffer filled with one sentence saying what failed and why. */
struct dllmem_reason {
    char text[DLLMEM_REASON_MAX];
};

/* Reads DLLMEM_NAME / DLLMEM_SIZE (config.c, for core.c's attach). Invalid
 * values are refused, not replaced. */
dllmem_status dllmem_config_from_env(struct dllmem_config *cfg, struct dllmem_reason *why);

/* --- provided by the backend --- */

/* Fills cfg->name with the platform default when DLLMEM_NAME is unset. */
void dllmem_os_default_name(char *buf, size_t len);

/* Opens or creates the segment named by cfg, validates or initializes it with
 * the core helpers below, and maps it into seg. On failure seg->base stays
 * NULL, nothing is left open, and why says what happened. */
dllmem_status dllmem_os_attach(const struct dllmem_config *cfg, struct dllmem_segment *seg,
                               struct dllmem_reason *why);

/* Unmaps and closes; the last process to detach removes the object. */
void dllmem_os_detach(struct dllmem_segment *seg);

/* Writer exclusion across threads and processes. A lock whose holder died is
 * taken over (the core then repairs the segment). May fail with TIMEOUT. */
dllmem_status dllmem_os_writer_lock(struct dllmem_segment *seg);
void dllmem_os_writer_unlock(struct dllmem_segment *seg);

/* Lets a starved reader give the CPU to a writer. */
void dllmem_os_yield(void);

/* Sleeps about a millisecond (detach waits for threads inside the exports). */
void dllmem_os_pause(void);

/* For dllmem_get_info: where the object can be seen, processes attached. */
void dllmem_os_describe(const struct dllmem_segment *seg, char *path, size_t path_len,
                        int64_t *attached);

/* Test builds only: pause here in the middle of writing D. */
void dllmem_os_test_midwrite(void);

/* Test builds only: a crash point after each store of the protocol to shared
 * memory (POSIX: DLLMEM_TEST_STOP_AT stops the process at the K-th). */
void dllmem_os_test_store_point(void);

/* --- provided by the core, for the backends: dllmem_adopt and this --- */

/* Formats why (printf-style). */
void dllmem_reason_set(struct dllmem_reason *why, const char *fmt, ...)
#if defined(__MINGW32__)
    __attribute__((format(gnu_printf, 2, 3)))
#elif defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* What the backend knows about who else may be using the object it asks the
 * core about (dllmem_adopt). */
enum dllmem_adopt_role {
    /* This attach just created it: zero-filled, dllmem_object_bytes() long,
     * and no other process can have looked at it yet. */
    DLLMEM_ROLE_CREATED,
    /* No other process is attached and none can attach meanwhile (POSIX: the
     * DMS byte held exclusively). It may hold anything. Exact sizes only. */
    DLLMEM_ROLE_ALONE,
    /* Others may be attached: it is used as it is or refused untouched. */
    DLLMEM_ROLE_JOINING,
};

enum dllmem_adopt_verdict {
    DLLMEM_ADOPT_USE,    /* seg is bound (a CREATED object also initialized) */
    DLLMEM_ADOPT_INIT,   /* ALONE: a segment of ours nobody uses: empty it, give it
                            this process's size, adopt it again as CREATED */
    DLLMEM_ADOPT_RETRY,  /* JOINING: its initializer died before finishing */
    DLLMEM_ADOPT_REFUSE, /* *refusal says which status, why says why */
};

/* The core's one decision about a mapped object: use, initialize, go round
 * or refuse. base maps object_bytes bytes (may be NULL when 0), writable for
 * CREATED, read-only suffices otherwise. page_size is 0 when object_bytes is
 * the object's exact size (POSIX: fstat); otherwise object_bytes is a view of
 * whole pages of that size (Windows), the size comes from the object's size
 * record, and a data-only mapping of round_up(DLLMEM_SIZE, page) bytes is the
 * original example's (legacy). Only CREATED writes, and only into base; seg
 * is bound on USE and has base == NULL otherwise. Table: docs/layout.md. */
enum dllmem_adopt_verdict dllmem_adopt(struct dllmem_segment *seg, unsigned char *base,
                                       uint64_t object_bytes, enum dllmem_adopt_role role,
                                       uint64_t page_size, dllmem_status *refusal,
                                       struct dllmem_reason *why);

#endif /* DLLMEM_BACKEND_H */

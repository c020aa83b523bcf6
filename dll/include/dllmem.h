/*
 * dllmem — a hardened, cross-platform rebuild of the shared-memory DLL from the
 * "Using Shared Memory in a Dynamic-Link Library" example.
 *
 * The two drop-in exports keep the example's names, calling convention and
 * meaning. Strings are UTF-16 code units on every platform; sizes count units.
 * The dllmem_* API reports what the drop-in calls cannot: truncation, the full
 * stored length, capacity and why the library could not attach.
 */
#ifndef DLLMEM_H
#define DLLMEM_H

#include <stddef.h>
#include <stdint.h>

#define DLLMEM_VERSION_MAJOR 0
#define DLLMEM_VERSION_MINOR 1
#define DLLMEM_VERSION_PATCH 0
#define DLLMEM_VERSION_HEX                                                                         \
    ((DLLMEM_VERSION_MAJOR << 16) | (DLLMEM_VERSION_MINOR << 8) | DLLMEM_VERSION_PATCH)
#define DLLMEM_VERSION_STRING "0.1.0"

#if defined(_WIN32)
#    define DLLMEM_CALL __cdecl
#    if defined(DLLMEM_BUILDING_SHARED)
#        define DLLMEM_API __declspec(dllexport)
#    elif defined(DLLMEM_USING_SHARED)
#        define DLLMEM_API __declspec(dllimport)
#    else
#        define DLLMEM_API
#    endif
#else
#    define DLLMEM_CALL
#    if defined(DLLMEM_BUILDING_SHARED) && defined(__GNUC__)
#        define DLLMEM_API __attribute__((visibility("default")))
#    else
#        define DLLMEM_API
#    endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* One UTF-16 code unit: WCHAR on Windows, the same 16 bits everywhere else. */
typedef uint16_t dllmem_unit;

/* Default object name and data size, as in the example. */
#define DLLMEM_DEFAULT_NAME "dllmemfilemap"
#define DLLMEM_DEFAULT_SIZE 4096u
#define DLLMEM_MIN_SIZE 64u
#define DLLMEM_MAX_SIZE 1073741824u /* 1 GiB */

/* Status codes: 0 is success. X-macro so names and messages stay in step. */
#define DLLMEM_STATUS_MAP(X)                                                                       \
    X(OK, 0, "success")                                                                            \
    X(TRUNCATED, 1, "string truncated to fit")                                                     \
    X(INVALID_ARGUMENT, 2, "invalid argument")                                                     \
    X(NOT_ATTACHED, 3, "library is not attached to a shared-memory segment")                       \
    X(BAD_CONFIG, 4, "invalid DLLMEM_NAME or DLLMEM_SIZE")                                         \
    X(FOREIGN_OWNER, 5, "segment is owned by another user")                                        \
    X(WRONG_KIND, 6, "object is not a shared-memory segment")                                      \
    X(SIZE_MISMATCH, 7, "segment size does not match the configured size")                         \
    X(BAD_CONTROL_BLOCK, 8, "segment control block is not valid")                                  \
    X(INSECURE, 9, "segment is accessible to other users")                                         \
    X(TIMEOUT, 10, "timed out waiting for a lock")                                                 \
    X(OS_ERROR, 11, "operating-system call failed")                                                \
    X(EMBEDDED_NUL, 12, "string contains a NUL unit before its end")

typedef enum dllmem_status {
#define DLLMEM_STATUS_ENUM_(name, value, text) DLLMEM_##name = (value),
    DLLMEM_STATUS_MAP(DLLMEM_STATUS_ENUM_)
#undef DLLMEM_STATUS_ENUM_
} dllmem_status;

/*
 * Threads, signals, cancellation, exit.
 * - Every call is thread-safe and may race calls in other processes.
 * - Async-signal safety: a Get (GetSharedMem, dllmem_get) on its lock-free
 *   path is async-signal-safe: it makes no system call and takes no lock.
 *   After 1000 failed attempts (a writer storing back to back) it falls back
 *   to the writer lock, which is not: a handler that interrupted a Set of its
 *   own thread would wait for itself (up to the lock bound, then TIMEOUT and
 *   an empty string). Set, dllmem_get_info and the rest are not
 *   async-signal-safe.
 * - Cancellation: no call is a cancellation point. A thread cancelled while
 *   it waits for the writer lock keeps waiting (at most the lock bound) and
 *   the cancel acts at its next cancellation point; nothing stays locked.
 *   Asynchronous cancellation inside a call is not supported.
 * - exit() while other threads are inside the calls is safe: the library's
 *   destructor (DllMain at FreeLibrary) waits up to 50 ms for them, and
 *   if they are still inside leaves the segment mapped and its locks held
 *   for the kernel to release at exit, as after a crash. Unloading the
 *   library (dlclose/FreeLibrary) while other threads are inside its calls
 *   is undefined, as for any library: its code goes away.
 */

/* ---- Drop-in exports (the example's ABI) -------------------------------- */

/* Stores the NUL-terminated string; keeps at most capacity-1 units, never
 * splitting a surrogate pair. NULL stores nothing. Truncation or failure is
 * reported by dllmem_last_status(). */
DLLMEM_API void DLLMEM_CALL SetSharedMem(dllmem_unit *lpszBuf);

/* Copies the stored string into buf: at most cch units including the
 * terminator, never splitting a surrogate pair. cch == 0 or NULL writes
 * nothing. When not attached, yields the empty string. */
DLLMEM_API void DLLMEM_CALL GetSharedMem(dllmem_unit *lpszBuf, uint32_t cchSize);

/* ---- Extended API --------------------------------------------------------- */

/* Stores exactly len units from str (no terminator needed). A NUL unit inside
 * the first len units is refused (DLLMEM_EMBEDDED_NUL; nothing stored).
 * Returns DLLMEM_TRUNCATED when only a prefix fitted; *stored (may be NULL)
 * receives the number of units kept. */
DLLMEM_API dllmem_status DLLMEM_CALL dllmem_set(const dllmem_unit *str, size_t len, size_t *stored);

/* snprintf-style: copies at most cch units including the terminator and sets
 * *full_len (may be NULL) to the stored length in units, terminator excluded.
 * buf == NULL or cch == 0 writes nothing and only reports the length.
 * Returns DLLMEM_TRUNCATED when the buffer was too small. On any failure
 * buf (if given) holds the empty string and *full_len is 0. */
DLLMEM_API dllmem_status DLLMEM_CALL dllmem_get(dllmem_unit *buf, size_t cch, size_t *full_len);

/* Capacity in units, terminator included (data size / 2); 0 when not attached. */
DLLMEM_API size_t DLLMEM_CALL dllmem_capacity(void);

/* Why the load-time attach succeeded or failed: a status and a sentence that
 * names the object and, for OS errors, the call and the system's error text. */
DLLMEM_API dllmem_status DLLMEM_CALL dllmem_attach_status(void);
DLLMEM_API const char *DLLMEM_CALL dllmem_attach_reason(void);

/* Status of the calling thread's last SetSharedMem/GetSharedMem call. */
DLLMEM_API dllmem_status DLLMEM_CALL dllmem_last_status(void);

DLLMEM_API const char *DLLMEM_CALL dllmem_strerror(dllmem_status status);
DLLMEM_API const char *DLLMEM_CALL dllmem_status_name(dllmem_status status);

/* Runtime twin of DLLMEM_VERSION_HEX / DLLMEM_VERSION_STRING. */
DLLMEM_API unsigned DLLMEM_CALL dllmem_version(void);
DLLMEM_API const char *DLLMEM_CALL dllmem_version_string(void);

/* A snapshot of the segment, for tools. */
typedef struct dllmem_info {
    char name[256];         /* object name as given to the OS */
    char path[300];         /* where it can be seen, e.g. /dev/shm/NAME ("" if none) */
    uint64_t data_bytes;    /* data area size in bytes */
    uint64_t mapping_bytes; /* whole mapping, control block included */
    uint64_t capacity;      /* units, terminator included */
    uint64_t length;        /* stored length in units */
    uint64_t sequence;      /* completed Set count since the segment was created */
    int64_t attached;       /* processes attached, or -1 if unknown */
    uint32_t layout_version;
} dllmem_info;

DLLMEM_API dllmem_status DLLMEM_CALL dllmem_get_info(dllmem_info *info);

#ifdef __cplusplus
}
#endif

#endif /* DLLMEM_H */

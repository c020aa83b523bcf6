/*
 * The harness's C shim: the only code in the tests that touches the OS.
 * Loads any build of the library by path, runs child processes with a time
 * limit, hands out guard-page buffers, and names and inspects segments.
 */
#ifndef DLLMEM_SHIM_H
#define DLLMEM_SHIM_H

#include "dllmem.h"
#include "shim_rand.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A ThreadSanitizer build: its runtime has threads of its own (a forked
 * zygote could inherit one of their locks) and runs a synchronous signal's
 * handler at once, even inside its own code. */
#if defined(__SANITIZE_THREAD__)
#    define SHIM_TSAN 1
#elif defined(__has_feature)
#    if __has_feature(thread_sanitizer)
#        define SHIM_TSAN 1
#    endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- a loaded library ---------------------------------------------------- */

typedef struct shim_lib {
    void *handle;
    void (*set)(dllmem_unit *);
    void (*get)(dllmem_unit *, uint32_t);
    /* Extended API: NULL when the library lacks it (the canary). */
    dllmem_status (*x_set)(const dllmem_unit *, size_t, size_t *);
    dllmem_status (*x_get)(dllmem_unit *, size_t, size_t *);
    size_t (*x_capacity)(void);
    dllmem_status (*x_attach_status)(void);
    const char *(*x_attach_reason)(void);
    dllmem_status (*x_last_status)(void);
    dllmem_status (*x_get_info)(dllmem_info *);
    const char *(*x_strerror)(dllmem_status);
    const char *(*x_status_name)(dllmem_status);
    unsigned (*x_version)(void);
    const char *(*x_version_string)(void);
} shim_lib;

/* Loads path (its constructor attaches, reading DLLMEM_NAME/DLLMEM_SIZE now).
 * Returns false and fills err when it cannot be loaded or lacks the drop-ins. */
bool shim_lib_load(shim_lib *lib, const char *path, char *err, size_t err_len);
void shim_lib_unload(shim_lib *lib);
bool shim_lib_is_extended(const shim_lib *lib);
/* Loads a library that is not dllmem (the stress runner's attach baseline):
 * true, with its handle, when it loaded and exports `marker`; else false and
 * err says why (and nothing stays loaded). */
bool shim_plain_load(void **handle, const char *path, const char *marker, char *err,
                     size_t err_len);
void shim_plain_unload(void *handle);
/* Its capacity in units; for a library that cannot say (the canary, or one
 * not attached), the default DLLMEM_SIZE's, which is the original's. */
size_t shim_lib_capacity(const shim_lib *lib);

/* ---- child processes ------------------------------------------------------- */

typedef struct shim_child {
    int pid;
    int out_fd;          /* POSIX: read end of the child's stdout, -1 once closed */
    intptr_t os_process; /* Windows: process HANDLE */
    intptr_t os_out;     /* Windows: read end of the stdout pipe, 0 once closed */
} shim_child;

/* Windows has no SIGKILL: a killed child's exit code is 128 + sig on both. */
#if defined(_WIN32) && !defined(SIGKILL)
#    define SIGKILL 9
#endif

/* setenv/unsetenv on every platform. */
int shim_setenv(const char *key, const char *value);
int shim_unsetenv(const char *key);

/* Runs this executable again as `exe --role ROLE ARGS...` with extra
 * environment entries ("K=V", NULL-terminated, may be NULL). stdout goes to a
 * pipe read by shim_child_wait. Every spawned child is tracked until reaped. */
bool shim_spawn_role(shim_child *c, const char *role, const char *const *args,
                     const char *const *env);

/* Waits up to timeout_ms; on timeout kills the child. Collects its stdout into
 * out (NUL-terminated, truncated to out_len). Returns:
 *   >= 0 exit code, 128+N killed by signal N, -1 timed out (and killed). */
int shim_child_wait(shim_child *c, int timeout_ms, char *out, size_t out_len);
void shim_child_kill(shim_child *c, int sig);
/* Reads one line of the child's stdout (without the newline) within
 * timeout_ms; false on EOF or timeout. A line whose first byte arrived in
 * time gets up to 5 s more to end, so a short timeout never cuts one. */
bool shim_child_read_line(shim_child *c, int timeout_ms, char *line, size_t len);
/* Reads whatever the child's stdout holds now, without waiting: the number
 * of bytes read, 0 if nothing is there yet, -1 at end of file. */
long shim_child_read_some(shim_child *c, char *buf, size_t len);
/* Waits until one of the n children has output (or has closed it), or
 * timeout_ms passes. */
void shim_children_wait_any(shim_child *const *cs, int n, int timeout_ms);
/* Waits until the child is stopped by a signal; false on exit or timeout. */
bool shim_child_wait_stopped(shim_child *c, int timeout_ms);
/* Freezes the child where it is, and returns once it is frozen (POSIX:
 * SIGSTOP, waited for; Windows: every thread suspended, each one's context
 * read, which returns only once the suspension has taken effect): a test can
 * look at the segment and kill the child at exactly that point. false if it
 * could not (then call shim_child_thaw). */
bool shim_child_freeze(shim_child *c);
/* Lets a frozen child run on (harmless on one that is not frozen). */
void shim_child_thaw(shim_child *c);
/* Waits for the child without a deadline (its stdout is at EOF, say), closes
 * its pipe; returns what shim_child_wait returns. */
int shim_child_reap(shim_child *c);
/* Kills and reaps every child still tracked; returns how many there were. */
int shim_reap_all(void);
/* Sets the path of this executable (argv[0] resolved) for re-execution. */
void shim_set_self(const char *exe);
/* Fork mode (POSIX): from now on shim_spawn_role forks children from a
 * zygote started here, which has not loaded `library` and never does; each
 * child checks that before running its role (an "E zygote" line if not). The
 * caller becomes a child subreaper, so the children are its own to wait for
 * and kill. Stopped by shim_zygote_stop, or at exit. */
struct shim_role;
bool shim_zygote_start(const struct shim_role *const *roles, const char *library);
/* Ends the zygote; false if it had to be killed. */
bool shim_zygote_stop(void);
/* A monotonic clock, in ns. */
uint64_t shim_now_ns(void);

/* ---- child roles ------------------------------------------------------------- */

/*
 * What a child started by shim_spawn_role runs (libuv's TASKS[]): main gets
 * the arguments after the role's name (argv[0] is usually the library's path)
 * and returns the child's exit code: SHIM_ROLE_OK, SHIM_ROLE_USAGE,
 * SHIM_ROLE_ERROR (could not load, attach or allocate), or its own.
 *
 * The line protocol, one line each on the child's stdout (a pipe to the
 * parent, never the segment under test), "\n"-terminated on every platform
 * and flushed as written. T is a worker's tally
 *   <ops> <verified> <torn> <lost> <untouched> <overlapped> <changed> <initial_empty>
 * verified: whole messages read; torn: neither a message nor empty; lost: an
 * empty read after a Set had completed; untouched: the Get left the poisoned
 * buffer as it was; overlapped: reads during which the segment's sequence
 * moved or was odd; changed: reads that saw a new message.
 *   A <attach_ns>     after the library loaded and attached: the child is ready
 *                     [<cpu_ns> <runq_ns> <voluntary> <involuntary>: of that,
 *                     time on a CPU and waiting for one, and context switches
 *                     (its CPU clock, /proc/self/schedstat, getrusage), where
 *                     the OS says]
 *   P T               progress: a writer after every Set (ops = Sets that
 *                     returned), a reader every SHIM_PROGRESS_OPS reads and at
 *                     once after a bad one (a quiet worker sends none)
 *   D T <ns>          done (after detaching), with its life in ns
 *   K <seq> [<store> <stores>]  a writer about to die inside its own write
 *                     window (killinset): seq is the odd sequence it leaves;
 *                     with a watchpoint (shim_aim.c), right after store
 *                     <store> of the window's <stores> (0: the odd seq, the
 *                     data area untouched)
 *   E <kind> <detail> an error the child could see (load, attach, ...)
 *   H <seq> <cap>     the holder, once attached: completed Sets so far
 *   F <seq> <kind> <len>  the holder, when stopped: completed Sets, and what
 *                     a final read found
 * A role with one answer to give (get, the harness's own) prints just that.
 */
enum { SHIM_ROLE_OK = 0, SHIM_ROLE_USAGE = 2, SHIM_ROLE_ERROR = 3 };
#define SHIM_PROGRESS_OPS 32

typedef struct shim_role {
    const char *name;
    int (*main)(int argc, char **argv);
} shim_role;

/* The roles the harness and the stress runner share: worker, holder, get,
 * trivial, load, aimprobe (shim_roles.c says what each does). Ends with {NULL,
 * NULL}. */
extern const shim_role shim_common_roles[];

/* The one dispatcher. For `exe --role NAME ARGS...` it runs the first role
 * named NAME in tables (a NULL-terminated list of {NULL, NULL}-terminated
 * tables), puts its exit code in *rc and returns true; an unknown NAME says
 * so on stderr and gives SHIM_ROLE_USAGE. Any other command line: false. */
bool shim_role_dispatch(int argc, char **argv, const shim_role *const *tables, int *rc);

/* ---- guard-page buffers ------------------------------------------------------ */

/* A buffer of exactly n units whose next byte is on a PROT_NONE page, so a
 * one-unit overflow faults even without ASan. Filled with 0xAAAA. */
dllmem_unit *shim_guard_alloc(size_t n);
void shim_guard_free(dllmem_unit *p, size_t n);

/* ---- segments ------------------------------------------------------------------ */

/* A name unique to this process and call: "dllmem-t<pid>-<n>-<tag>", or
 * "dllmem-t<run>-<pid>-<n>-<tag>" when SHIM_NAME_RUN=<run> is set, so a script
 * running many harness processes can remove exactly its own run's objects. */
void shim_unique_name(char *out, size_t len, const char *tag);
/* The name the OS knows segment name's object by (suffix "" for the mapping;
 * ".dllmem-lock", ".dllmem-attach" for the Windows mutexes): the library's
 * own rule, dll/src/object_name.h. false if it does not fit in len bytes. */
bool shim_object_name(char *out, size_t len, const char *name, const char *suffix);
bool shim_segment_exists(const char *name);
/* Removes a leftover object; returns true if there was one. */
bool shim_segment_remove(const char *name);
/* Size and mode of the object, false if absent. */
bool shim_segment_stat(const char *name, uint64_t *size, unsigned *mode, unsigned *uid);
/* Maps the whole object read-write as a peer would (no locks, no checks). */
void *shim_segment_map(const char *name, uint64_t *size);
void shim_segment_unmap(void *p, uint64_t size);
/* Creates an object with exactly these bytes (size bytes of fill) and mode. */
bool shim_segment_create(const char *name, uint64_t size, unsigned char fill, unsigned mode);

/* Where a dllmem segment of data_bytes keeps its parts, as a peer process
 * sees them: taken from dll/src/layout.h, the one source, so no test derives
 * an offset by hand. For instruments that inspect or forge a segment. */
typedef struct shim_layout {
    uint64_t ctl;       /* control block, from the start of the mapping */
    uint64_t shadow;    /* S */
    uint64_t mapping;   /* the whole layout: a POSIX object's exact size */
    uint32_t ctl_bytes; /* of the control block */
    /* Control-block fields, from its start. */
    uint32_t magic_at, version_at, ctl_bytes_at, data_bytes_at, seq_at;
    uint32_t magic;   /* what magic_at holds in a whole block */
    uint16_t version; /* this build's layout version */
} shim_layout;
shim_layout shim_layout_of(uint32_t data_bytes);
/* Writes a control block's header into a mapping as a peer (or a dead
 * initializer) would: magic (0: left as it is), version, ctl_bytes and the
 * data-size field; the rest of the block is left alone. */
void shim_layout_put_header(unsigned char *base, const shim_layout *l, uint32_t magic,
                            uint16_t version, uint32_t data_bytes_field);

/* A peer's view of a dllmem segment's sequence word and shadow area
 * (docs/layout.md), for instruments that aim at the write window (seq odd) or
 * count reads that overlapped a write. shim_peer_open maps the object and
 * returns false (seq NULL) when it is not a dllmem segment of this capacity,
 * such as the canary's; close it either way. */
typedef struct shim_peer {
    void *map;
    uint64_t size;
    const uint32_t *seq;       /* NULL unless the layout was recognized */
    const dllmem_unit *shadow; /* S: the string a Set in progress is storing */
} shim_peer;
bool shim_peer_open(shim_peer *p, const char *name, size_t capacity);
void shim_peer_close(shim_peer *p);
uint32_t shim_peer_seq(const shim_peer *p); /* acquire load; open ones only */

/* Kill-in-Set by hardware watchpoint (shim_aim.c, Linux). prepare, once the
 * library has attached and shim_aim_probe has granted the watchpoint (in
 * this process, or in its runner: the same kernel and machine), finds the
 * library's own view of the segment (the other mapping of the file peer_map
 * maps) and installs the SIGTRAP handler; false where it cannot. arm, async-signal-safe, watches
 * the sequence word: at this writer's next own window (in_window: inside Set, seq odd, its own
 * message in S) one of the window's stores is chosen at random (rnd seeds
 * it), and die is called right after that store. false if the kernel
 * refuses the watchpoint. */
typedef bool (*shim_aim_window_fn)(uint32_t *seq);
typedef void (*shim_aim_die_fn)(uint32_t seq, long store, long stores);
bool shim_aim_prepare(size_t capacity, const void *peer_map, shim_aim_window_fn in_window,
                      shim_aim_die_fn die);
bool shim_aim_arm(uint32_t rnd);
/* Whether this process can have a hardware write watchpoint that traps on a
 * store (the kernel and the machine allow it). */
bool shim_aim_probe(void);

/* Counts of this process's open fds and mappings (from /proc/self). */
int shim_count_fds(void);
int shim_count_maps(void);

/* ---- self-checking messages ----------------------------------------------------- */

#define SHIM_MSG_HEADER 33 /* "W%04xS%08xL%08xC%08x|" */

/* Writes a message of exactly len units (len >= SHIM_MSG_HEADER) plus a
 * terminator into buf: a header naming writer, sequence, length and checksum,
 * then pseudo-random units, surrogate pairs included, never NUL or a lone
 * surrogate (a window on the writer's pool, different for each sequence). */
void shim_msg_make(dllmem_unit *buf, size_t len, uint32_t writer, uint32_t seq);
/* True only if buf[0..len) is one whole message. The empty string is not a
 * message: a check that may legitimately see it (before the first Set) must
 * say so itself, since after the first Set an empty read is a lost value. */
bool shim_msg_valid(const dllmem_unit *buf, size_t len);
/* Its writer and sequence fields (valid messages only). */
bool shim_msg_ids(const dllmem_unit *buf, size_t len, uint32_t *writer, uint32_t *seq);

/* A unit no message and no Set in the tests ever holds (a noncharacter, not
 * NUL): read buffers are filled with it before every Get, so a Get that
 * returns without writing cannot pass off the previous read as its own. */
#define SHIM_POISON 0xFFFFu
void shim_poison(dllmem_unit *buf, size_t n);

/* What one Get into a poisoned buffer of cap units produced. */
typedef enum shim_read_kind {
    SHIM_READ_MESSAGE,   /* one whole message */
    SHIM_READ_EMPTY,     /* the empty string */
    SHIM_READ_UNTOUCHED, /* buf[0] still poison, or no terminator within cap */
    SHIM_READ_TORN       /* terminated, not empty, not a whole message */
} shim_read_kind;
shim_read_kind shim_msg_classify(const dllmem_unit *buf, size_t cap, size_t *len);
/* The same, and for a message its writer and sequence (one checksum pass). */
shim_read_kind shim_msg_read(const dllmem_unit *buf, size_t cap, size_t *len, uint32_t *writer,
                             uint32_t *seq);
const char *shim_read_kind_name(shim_read_kind k);

/* Helpers for tests: length of a NUL-terminated unit string, ASCII widen. */
size_t shim_ulen(const dllmem_unit *s);
void shim_widen(dllmem_unit *out, const char *ascii);

#ifdef __cplusplus
}
#endif

#endif

/*
 * POSIX backend: shm_open/ftruncate/mmap, a constructor/destructor in place of
 * DllMain, and kernel-held byte-range locks on the object for everything that
 * must survive a process dying.
 *
 * Lock bytes (advisory; independent of the object's size; open-file-description
 * locks, required, so they belong to one attach, not to the process):
 *   byte 0 (DMS)        the "dead man's switch": every attached process holds
 *                       it shared. Whoever gets it exclusive is alone: the
 *                       first attacher initializes under it then downgrades;
 *                       the last detacher unlinks under it. A dead process's
 *                       share vanishes with it.
 *   byte 1+slot         every attach holds its own slot byte exclusively for as
 *                       long as it is attached. The writer lock word in the
 *                       control block names the holder's slot, so a waiter can
 *                       ask the kernel whether the holder is still alive; and
 *                       the held slots count the attached processes exactly.
 *
 * Attach races: an attacher can open the object just before the last detacher
 * unlinks it. It then holds a lock on an orphan; every lock acquisition is
 * followed by fstat, and st_nlink == 0 sends the attacher round again.
 */
#if !defined(_GNU_SOURCE)
#    define _GNU_SOURCE
#endif

#include "../backend.h"
#include "../entry.h"
#include "../object_name.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOCK_DMS 0
#define LOCK_SLOT_BASE 1
#define MAX_SLOTS 65535u
#define ATTACH_ROUNDS 64
#define ATTACH_WAIT_MS 10000
#define WRITER_WAIT_MS 10000
/* How long attach and Set wait for a live lock holder; test builds can shorten
 * both (DLLMEM_TEST_WAIT_MS) so the timeouts themselves can be tested. */
static int g_attach_wait_ms = ATTACH_WAIT_MS;
static int g_writer_wait_ms = WRITER_WAIT_MS;
#define OWNER_CHECK_NS 1000000L /* ask the kernel about a holder once per ms */

/* Open-file-description locks are required. Classic (process-associated)
 * locks would be dropped whole by any close() or dup2() of the object in the
 * process, e.g. a forked child's, and the object unlinked under processes
 * still attached; without OFD locks attach refuses and says so. */
#if defined(F_OFD_SETLK)
#    define HAVE_OFD_LOCKS 1
#    define CMD_SETLK F_OFD_SETLK
#    define CMD_GETLK F_OFD_GETLK
#else
#    define HAVE_OFD_LOCKS 0
#    define CMD_SETLK F_SETLK /* never used: attach refuses first */
#    define CMD_GETLK F_GETLK
#endif
static bool g_no_ofd_locks = !HAVE_OFD_LOCKS; /* test builds can pretend */

/* ---- system calls, through a table so test builds can inject failures ------- */

struct syscall_entry {
    /* cppcheck-suppress unusedStructMember ; read by the test build's fault loader */
    const char *name;
    int inject_errno; /* non-zero: fail with this errno (test builds only) */
    int inject_at;    /* 0: every call; N: only the Nth call since attach */
    int calls;
};

/* The last two are count_attached()'s own (get_info), named apart so a test
 * can fail them without failing attach's fcntl calls. */
enum {
    SYS_SHM_OPEN,
    SYS_FSTAT,
    SYS_FTRUNCATE,
    SYS_MMAP,
    SYS_FCNTL,
    SYS_COUNT_GETLK,
    SYS_COUNT_MALLOC,
    SYS_COUNT
};

static struct syscall_entry g_sys[SYS_COUNT] = {
    [SYS_SHM_OPEN] = {.name = "shm_open"},
    [SYS_FSTAT] = {.name = "fstat"},
    [SYS_FTRUNCATE] = {.name = "ftruncate"},
    [SYS_MMAP] = {.name = "mmap"},
    [SYS_FCNTL] = {.name = "fcntl"},
    [SYS_COUNT_GETLK] = {.name = "count-getlk"},
    [SYS_COUNT_MALLOC] = {.name = "count-malloc"},
};

static bool injected(int which)
{
    struct syscall_entry *e = &g_sys[which];
    if (e->inject_errno == 0)
        return false;
    if (e->inject_at != 0 && ++e->calls != e->inject_at)
        return false;
    errno = e->inject_errno;
    return true;
}

/* Test builds: the slot claim_slot tries first (DLLMEM_TEST_SLOT), 0 = by pid. */
static uint32_t g_first_slot;

#if defined(DLLMEM_TESTING)
/* DLLMEM_TEST_FAIL=call[@N][,call[@N]...] makes the named call fail with a
 * fitting errno, every time or only its Nth time since attach, so a test can
 * walk a failure through every call site. DLLMEM_TEST_WAIT_MS bounds lock
 * waits; DLLMEM_TEST_STOP_MIDWRITE=1 stops a writer halfway through D, and
 * DLLMEM_TEST_PAUSE_MIDWRITE_MS=N makes it sleep there (under 1 s);
 * DLLMEM_TEST_NO_OFD=1 acts as a system without OFD locks; DLLMEM_TEST_SLOT=N
 * makes attach try slot N first (to reuse a dead process's slot).
 * Crash points, for sweeps that kill a process at each one in turn:
 * DLLMEM_TEST_STOP_AT=K stops the process (SIGSTOP) at its K-th store point
 * since attach (seqlock.c calls dllmem_os_test_store_point after every store
 * of the protocol to shared memory); DLLMEM_TEST_STOP_STEP=K stops it at its
 * K-th step of attach and detach (test_step), =NAME[,NAME...] at the first
 * step of each name; DLLMEM_TEST_PAUSE_STEP=NAME[,NAME...] sleeps 300 ms at
 * every step of those names instead, so another thread can act there. All
 * are read at attach. */
static long g_stop_store, g_stop_step, g_stores, g_steps;
static char g_stop_step_names[128];  /* ",name,name," */
static char g_pause_step_names[128]; /* ",name,name," */

static void load_test_faults(void)
{
    static const int errnos[SYS_COUNT] = {EMFILE, EIO, ENOSPC, ENOMEM, ENOLCK, ENOLCK, ENOMEM};
    const char *spec = getenv("DLLMEM_TEST_FAIL"); /* NOLINT(concurrency-mt-unsafe): at attach */
    for (int i = 0; i < SYS_COUNT; i++) {
        const char *hit = spec != NULL ? strstr(spec, g_sys[i].name) : NULL;
        g_sys[i].inject_errno = hit != NULL ? errnos[i] : 0;
        g_sys[i].calls = 0;
        g_sys[i].inject_at = 0;
        if (hit != NULL && hit[strlen(g_sys[i].name)] == '@')
            g_sys[i].inject_at = (int)strtol(hit + strlen(g_sys[i].name) + 1, NULL, 10);
    }
    const char *wait = getenv("DLLMEM_TEST_WAIT_MS"); /* NOLINT(concurrency-mt-unsafe) */
    if (wait != NULL) {
        g_attach_wait_ms = (int)strtol(wait, NULL, 10);
        g_writer_wait_ms = g_attach_wait_ms;
    }
    const char *no_ofd = getenv("DLLMEM_TEST_NO_OFD"); /* NOLINT(concurrency-mt-unsafe) */
    g_no_ofd_locks = !HAVE_OFD_LOCKS || (no_ofd != NULL && no_ofd[0] == '1');
    const char *slot = getenv("DLLMEM_TEST_SLOT"); /* NOLINT(concurrency-mt-unsafe) */
    g_first_slot = slot != NULL ? (uint32_t)strtoul(slot, NULL, 10) : 0u;
    const char *at = getenv("DLLMEM_TEST_STOP_AT"); /* NOLINT(concurrency-mt-unsafe) */
    g_stop_store = at != NULL ? strtol(at, NULL, 10) : 0;
    g_stores = 0;
    const char *step = getenv("DLLMEM_TEST_STOP_STEP"); /* NOLINT(concurrency-mt-unsafe) */
    g_stop_step = 0;
    g_stop_step_names[0] = '\0';
    if (step != NULL && step[0] >= '0' && step[0] <= '9')
        g_stop_step = strtol(step, NULL, 10);
    else if (step != NULL)
        (void)snprintf(g_stop_step_names, sizeof g_stop_step_names, ",%s,", step);
    const char *pause = getenv("DLLMEM_TEST_PAUSE_STEP"); /* NOLINT(concurrency-mt-unsafe) */
    (void)snprintf(g_pause_step_names, sizeof g_pause_step_names, ",%s,",
                   pause != NULL ? pause : "");
    g_steps = 0;
}

/* Every protocol store happens under the writer lock, so the count needs no
 * atomics. */
void dllmem_os_test_store_point(void)
{
    if (g_stop_store > 0 && ++g_stores == g_stop_store)
        (void)raise(SIGSTOP);
}

/* A numbered, named step of attach or detach (crash-point sweeps). */
static void test_step(const char *name)
{
    g_steps++;
    char token[40];
    (void)snprintf(token, sizeof token, ",%s,", name);
    char *named = strstr(g_stop_step_names, token);
    if (named != NULL) /* each name stops once: blank it out, keep the commas */
        memset(named + 1, ' ', strlen(token) - 2);
    if (named != NULL || g_steps == g_stop_step)
        (void)raise(SIGSTOP);
    if (strstr(g_pause_step_names, token) != NULL) {
        struct timespec ts = {0, 300000000L};
        (void)nanosleep(&ts, NULL);
    }
}

void dllmem_os_test_midwrite(void)
{
    const char *stop = getenv("DLLMEM_TEST_STOP_MIDWRITE"); /* NOLINT(concurrency-mt-unsafe) */
    if (stop != NULL && stop[0] == '1')
        (void)raise(SIGSTOP);
    const char *pause = getenv("DLLMEM_TEST_PAUSE_MIDWRITE_MS"); /* NOLINT */
    struct timespec ts = {0, pause != NULL ? strtol(pause, NULL, 10) % 1000 * 1000000L : 0};
    if (ts.tv_nsec > 0)
        (void)nanosleep(&ts, NULL);
}
#else
static void load_test_faults(void) {}
void dllmem_os_test_midwrite(void) {}
void dllmem_os_test_store_point(void) {}
/* Steps exist only in the test build: here nothing is called (or mutated). */
#    define test_step(name) ((void)0)
#endif

static int sys_shm_open(const char *name, int flags, mode_t mode)
{
    return injected(SYS_SHM_OPEN) ? -1 : shm_open(name, flags, mode);
}

static int sys_fstat(int fd, struct stat *sb) { return injected(SYS_FSTAT) ? -1 : fstat(fd, sb); }

static int sys_ftruncate(int fd, off_t len)
{
    return injected(SYS_FTRUNCATE) ? -1 : ftruncate(fd, len);
}

static void *sys_mmap(size_t len, int prot, int fd)
{
    return injected(SYS_MMAP) ? MAP_FAILED : mmap(NULL, len, prot, MAP_SHARED, fd, 0);
}

static int sys_fcntl_lock(int fd, int cmd, struct flock *fl)
{
    return injected(SYS_FCNTL) ? -1 : fcntl(fd, cmd, fl);
}

/* ---- small helpers --------------------------------------------------------------- */

static int64_t now_ns(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_ns(long ns)
{
    struct timespec ts = {0, ns};
    (void)nanosleep(&ts, NULL);
}

static long backoff_ns(int round)
{
    long ns = 2000L << (round < 9 ? round : 9); /* 2 us doubling to ~1 ms */
    return ns;
}

static struct flock one_byte(short type, off_t at)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl); /* l_pid must be 0 for OFD locks */
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = at;
    fl.l_len = 1;
    return fl;
}

enum lock_result { LOCK_TAKEN, LOCK_BUSY, LOCK_ERROR /* errno says why */ };

/* Takes (or converts) one byte's lock without waiting. */
static enum lock_result lock_byte(int fd, off_t at, short type)
{
    struct flock fl = one_byte(type, at);
    for (;;) {
        if (sys_fcntl_lock(fd, CMD_SETLK, &fl) == 0)
            return LOCK_TAKEN;
        if (errno == EINTR)
            continue;
        return (errno == EAGAIN || errno == EACCES) ? LOCK_BUSY : LOCK_ERROR;
    }
}

/* 1 if another attach holds the byte, 0 if free, -1 on error. */
static int byte_is_held(int fd, off_t at)
{
    struct flock fl = one_byte(F_WRLCK, at);
    if (sys_fcntl_lock(fd, CMD_GETLK, &fl) != 0)
        return -1;
    return fl.l_type != F_UNLCK;
}

/* 1 if another attach holds any slot byte (is attached), 0 if none, -1 on error. */
static int any_slot_held(int fd)
{
    struct flock fl = one_byte(F_WRLCK, LOCK_SLOT_BASE + 1);
    fl.l_len = MAX_SLOTS;
    if (sys_fcntl_lock(fd, CMD_GETLK, &fl) != 0)
        return -1;
    return fl.l_type != F_UNLCK;
}

/* strerror is not thread-safe and attach can run on any thread (dlopen). */
static const char *error_text(int err, char *buf, size_t len)
{
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
    return strerror_r(err, buf, len); /* the GNU variant returns the text */
#else
    return strerror_r(err, buf, len) == 0 ? buf : "unknown error";
#endif
}

static void os_reason(struct dllmem_reason *why, const char *name, const char *call, int err)
{
    char buf[128];
    dllmem_reason_set(why, "%s on \"%s\" failed: %s (errno %d)", call, name,
                      error_text(err, buf, sizeof buf), err);
}

/* ---- attach -------------------------------------------------------------------- */

/* The name shm_open takes for the object (object_name.h has the rule); room
 * for the prefix and any name config.c accepts, so it always fits. */
struct object_name {
    char text[DLLMEM_NAME_MAX + 2];
};

static struct object_name object_name(const char *name)
{
    struct object_name o = {{0}};
    (void)dllmem_object_name(o.text, sizeof o.text, name, "");
    return o;
}

/* What one step of an attach round says: finished with status (DLLMEM_OK
 * included), or go round again (orphaned object, abandoned init). "Again" is
 * not a dllmem_status, so it cannot leave this file as one. */
struct step {
    dllmem_status status;
    bool again;
};

static struct step done(dllmem_status st)
{
    struct step r = {st, false};
    return r;
}

static struct step go_round(void)
{
    struct step r = {DLLMEM_OK, true};
    return r;
}

static bool step_ok(struct step r) { return !r.again && r.status == DLLMEM_OK; }

static dllmem_status check_object(const struct stat *sb, const char *name,
                                  struct dllmem_reason *why)
{
    if (!S_ISREG(sb->st_mode)) {
        dllmem_reason_set(why, "\"%s\" exists but is not a shared-memory object (mode 0%o)", name,
                          (unsigned)sb->st_mode);
        return DLLMEM_WRONG_KIND;
    }
    if (sb->st_uid != geteuid()) {
        dllmem_reason_set(why, "\"%s\" is owned by uid %lu, not by this user (uid %lu)", name,
                          (unsigned long)sb->st_uid, (unsigned long)geteuid());
        return DLLMEM_FOREIGN_OWNER;
    }
    return DLLMEM_OK;
}

/* Maps the object read-write through the attach's own, locked description.
 * A mapping keeps its description alive, and a forked child inherits the
 * mapping: atfork_child maps the child's copy again through the child's own
 * description, so a child living on never keeps this attach's locks (its DMS
 * share, its slot, so the writer lock's liveness) after this process died. */
static struct step map_object(int fd, const struct dllmem_config *cfg, size_t len, void **out,
                              struct dllmem_reason *why)
{
    void *p = sys_mmap(len, PROT_READ | PROT_WRITE, fd);
    if (p == MAP_FAILED) {
        os_reason(why, cfg->name, "mmap", errno);
        return done(DLLMEM_OS_ERROR);
    }
    *out = p;
    return done(DLLMEM_OK);
}

/* Unmaps the segment, first forgetting where it was: a thread forking
 * meanwhile must not find the range in its child and map it again over
 * whatever took its place (atfork_child). */
static void forget_and_unmap(struct dllmem_segment *seg)
{
    void *base = seg->base;
    seg->base = NULL;
    (void)munmap(base, (size_t)seg->mapping_bytes);
}

/* Asks the core what the mapped object is (dllmem_adopt); RETRY goes round,
 * a refusal is done with its status. */
static struct step adopt(struct dllmem_segment *seg, void *p, uint64_t object_bytes,
                         enum dllmem_adopt_role role, enum dllmem_adopt_verdict *verdict,
                         struct dllmem_reason *why)
{
    dllmem_status refusal = DLLMEM_OK;
    *verdict = dllmem_adopt(seg, p, object_bytes, role, 0u, &refusal, why);
    switch (*verdict) {
    case DLLMEM_ADOPT_USE:
    case DLLMEM_ADOPT_INIT: return done(DLLMEM_OK);
    case DLLMEM_ADOPT_RETRY: return go_round();
    case DLLMEM_ADOPT_REFUSE: break;
    }
    return done(refusal);
}

/* Holding DMS exclusively: nobody else is attached. The core decides whether
 * the object is ours to reset; if so it is emptied, given this process's
 * size and initialized. */
static struct step init_as_first(int fd, const struct stat *sb, const struct dllmem_config *cfg,
                                 struct dllmem_segment *seg, struct dllmem_reason *why)
{
    uint64_t want = dllmem_mapping_bytes(cfg->data_bytes);
    enum dllmem_adopt_verdict verdict;
    if (sb->st_size != 0) {
        /* A read-only look, unmapped at once (so no fork can inherit it). */
        void *look = sys_mmap((size_t)sb->st_size, PROT_READ, fd);
        if (look == MAP_FAILED) {
            os_reason(why, cfg->name, "mmap", errno);
            return done(DLLMEM_OS_ERROR);
        }
        struct step st = adopt(seg, look, (uint64_t)sb->st_size, DLLMEM_ROLE_ALONE, &verdict, why);
        (void)munmap(look, (size_t)sb->st_size);
        if (!step_ok(st))
            return st;
        test_step("inspected");
        /* Truncating to zero and back zero-fills in O(1), whatever the size. */
        if (sys_ftruncate(fd, 0) != 0) {
            os_reason(why, cfg->name, "ftruncate", errno);
            return done(DLLMEM_OS_ERROR);
        }
        test_step("emptied");
    }
    if ((sb->st_mode & 0777) != 0600 && fchmod(fd, 0600) != 0) {
        os_reason(why, cfg->name, "fchmod", errno);
        return done(DLLMEM_OS_ERROR);
    }
    if ((sb->st_mode & 0777) != 0600)
        test_step("mode-set");
    if (sys_ftruncate(fd, (off_t)want) != 0) {
        os_reason(why, cfg->name, "ftruncate", errno);
        return done(DLLMEM_OS_ERROR);
    }
    test_step("sized");
    void *p = NULL;
    struct step st = map_object(fd, cfg, (size_t)want, &p, why);
    if (step_ok(st)) {
        test_step("mapped");
        st = adopt(seg, p, want, DLLMEM_ROLE_CREATED, &verdict, why);
        if (!step_ok(st))
            (void)munmap(p, (size_t)want);
        else
            test_step("initialized");
    }
    if (!step_ok(st))
        (void)ftruncate(fd, 0); /* we emptied or created it: leave it empty */
    return st;
}

/* Holding DMS shared: others are attached. Used as it is, or refused
 * untouched; the core decides which. */
static struct step join(int fd, const struct stat *sb, const struct dllmem_config *cfg,
                        struct dllmem_segment *seg, struct dllmem_reason *why)
{
    enum dllmem_adopt_verdict verdict;
    if (sb->st_size == 0) /* its initializer died before sizing it */
        return adopt(seg, NULL, 0u, DLLMEM_ROLE_JOINING, &verdict, why);
    /* Joined only while some process is attached (holds its slot). Else it
     * is what the dead left, sharers or not (waiters that got their shares
     * when its initializer died before resetting it): go round, so that one
     * attach takes it alone and resets it. (An initializer between its
     * downgrade and its slot costs a round.) */
    int live = any_slot_held(fd);
    if (live < 0) {
        os_reason(why, cfg->name, "fcntl(getlk)", errno);
        return done(DLLMEM_OS_ERROR);
    }
    if (live == 0)
        return go_round();
    if ((sb->st_mode & 077) != 0) {
        dllmem_reason_set(why, "\"%s\" has mode 0%o: other users can reach it", cfg->name,
                          (unsigned)(sb->st_mode & 0777));
        return done(DLLMEM_INSECURE);
    }
    void *p = NULL;
    struct step st = map_object(fd, cfg, (size_t)sb->st_size, &p, why);
    if (!step_ok(st))
        return st;
    st = adopt(seg, p, (uint64_t)sb->st_size, DLLMEM_ROLE_JOINING, &verdict, why);
    if (!step_ok(st))
        (void)munmap(p, (size_t)sb->st_size);
    return st;
}

static dllmem_status wait_shared(int fd, const char *name, struct dllmem_reason *why)
{
    int64_t deadline = now_ns() + (int64_t)g_attach_wait_ms * 1000000LL;
    for (int round = 0;; round++) {
        enum lock_result r = lock_byte(fd, LOCK_DMS, F_RDLCK);
        if (r == LOCK_TAKEN)
            return DLLMEM_OK;
        if (r == LOCK_ERROR) {
            os_reason(why, name, "fcntl(lock)", errno);
            return DLLMEM_OS_ERROR;
        }
        if (now_ns() > deadline) {
            dllmem_reason_set(why,
                              "\"%s\" stayed locked for %d ms by a process initializing "
                              "or removing it",
                              name, g_attach_wait_ms);
            return DLLMEM_TIMEOUT;
        }
        sleep_ns(backoff_ns(round));
    }
}

static struct step attach_fd(int fd, const struct dllmem_config *cfg, struct dllmem_segment *seg,
                             struct dllmem_reason *why)
{
    struct stat sb;
    if (sys_fstat(fd, &sb) != 0) {
        os_reason(why, cfg->name, "fstat", errno);
        return done(DLLMEM_OS_ERROR);
    }
    dllmem_status st = check_object(&sb, cfg->name, why);
    if (st != DLLMEM_OK)
        return done(st);

    enum lock_result alone = lock_byte(fd, LOCK_DMS, F_WRLCK); /* exclusive: nobody attached */
    if (alone == LOCK_ERROR) {
        os_reason(why, cfg->name, "fcntl(lock)", errno);
        return done(DLLMEM_OS_ERROR);
    }
    test_step(alone == LOCK_TAKEN ? "locked" : "busy");
    if (alone == LOCK_BUSY) {
        st = wait_shared(fd, cfg->name, why);
        if (st != DLLMEM_OK)
            return done(st);
        test_step("shared");
        /* What held DMS may have died holding it: an initializer about to
         * reset an abandoned segment (its dead session's string and mode
         * still there), or a last detacher. If no one else holds a share
         * now, this attach is the first: it resets the object, never joins
         * what the dead left. (A process that detached since we got our
         * share saw it and left the name: we are first then too.) */
        enum lock_result upgraded = lock_byte(fd, LOCK_DMS, F_WRLCK);
        if (upgraded == LOCK_ERROR) {
            os_reason(why, cfg->name, "fcntl(lock)", errno);
            return done(DLLMEM_OS_ERROR);
        }
        if (upgraded == LOCK_TAKEN)
            alone = LOCK_TAKEN;
    }
    /* Locked: now the object cannot change hands; look at it again. */
    if (sys_fstat(fd, &sb) != 0) {
        os_reason(why, cfg->name, "fstat", errno);
        return done(DLLMEM_OS_ERROR);
    }
    if (sb.st_nlink == 0)
        return go_round(); /* the last detacher unlinked it under us */
    if (alone == LOCK_TAKEN) {
        struct step first = init_as_first(fd, &sb, cfg, seg, why);
        if (!step_ok(first))
            return first;
        if (lock_byte(fd, LOCK_DMS, F_RDLCK) != LOCK_TAKEN) { /* downgrade: let others in */
            os_reason(why, cfg->name, "fcntl(downgrade)", errno);
            forget_and_unmap(seg);
            (void)ftruncate(fd, 0); /* just initialized, holds nothing: let it be removed */
            return done(DLLMEM_OS_ERROR);
        }
        test_step("downgraded");
        return done(DLLMEM_OK);
    }
    return join(fd, &sb, cfg, seg, why);
}

static dllmem_status open_failure(const struct dllmem_config *cfg, int err,
                                  struct dllmem_reason *why)
{
#if defined(__linux__)
    if (err == EACCES) {
        char path[DLLMEM_NAME_MAX + 16];
        struct stat sb;
        (void)snprintf(path, sizeof path, "/dev/shm/%s", cfg->name);
        if (stat(path, &sb) == 0 && sb.st_uid != geteuid()) {
            dllmem_reason_set(why, "\"%s\" is owned by uid %lu, not by this user (uid %lu)",
                              cfg->name, (unsigned long)sb.st_uid, (unsigned long)geteuid());
            return DLLMEM_FOREIGN_OWNER;
        }
    }
    if (err == EINVAL || err == EISDIR) {
        /* glibc reports a directory squatting on the name as EINVAL. */
        char path[DLLMEM_NAME_MAX + 16];
        struct stat sb;
        (void)snprintf(path, sizeof path, "/dev/shm/%s", cfg->name);
        if (lstat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
            dllmem_reason_set(why, "\"%s\" exists but is not a shared-memory object (mode 0%o)",
                              cfg->name, (unsigned)sb.st_mode);
            return DLLMEM_WRONG_KIND;
        }
    }
#endif
    if (err == EISDIR || err == ELOOP || err == ENXIO) {
        char buf[128];
        dllmem_reason_set(why, "\"%s\" exists but is not a shared-memory object: %s", cfg->name,
                          error_text(err, buf, sizeof buf));
        return DLLMEM_WRONG_KIND;
    }
    os_reason(why, cfg->name, "shm_open", err);
    return DLLMEM_OS_ERROR;
}

/* After a failed attach: remove the object if nobody is attached and it holds
 * nothing (this attach created it, or emptied it, and then failed). Uses the
 * real calls, not the fault-injection table, since it cleans up after one. */
static void discard_if_empty(int fd, const char *oname)
{
    struct flock fl = one_byte(F_WRLCK, LOCK_DMS);
    struct stat sb;
    if (fcntl(fd, CMD_SETLK, &fl) == 0 && fstat(fd, &sb) == 0 && sb.st_nlink > 0 && sb.st_size == 0)
        (void)shm_unlink(oname);
}

static dllmem_status claim_slot(struct dllmem_segment *seg);

/* This process's attach (backend.h): there is one, the core's segment's. */
struct dllmem_os_attach {
    int fd;        /* the object; its description carries this attach's OFD locks */
    uint32_t slot; /* writer-lock identity: lock byte LOCK_SLOT_BASE + slot; 0 = none yet */
};
static struct dllmem_os_attach g_os = {-1, 0};

dllmem_status dllmem_os_attach(const struct dllmem_config *cfg, struct dllmem_segment *seg,
                               struct dllmem_reason *why)
{
    struct object_name oname = object_name(cfg->name);
    load_test_faults();
    if (g_no_ofd_locks) {
        dllmem_reason_set(why,
                          "\"%s\" not attached: this system has no open-file-description "
                          "locks (F_OFD_SETLK), which dllmem needs to survive forks and crashes",
                          cfg->name);
        return DLLMEM_OS_ERROR;
    }
    for (int round = 0; round < ATTACH_ROUNDS; round++) {
        /* O_NONBLOCK: a FIFO squatting on the name must not hang the loader. */
        int fd = sys_shm_open(oname.text, O_RDWR | O_CREAT | O_NONBLOCK, 0600);
        if (fd < 0)
            return open_failure(cfg, errno, why);
        test_step("opened");
        struct step round_st = attach_fd(fd, cfg, seg, why);
        if (step_ok(round_st)) {
            g_os.fd = fd;
            g_os.slot = 0;
            seg->os = &g_os;
            dllmem_status st = claim_slot(seg);
            if (st == DLLMEM_OK) {
                test_step("slot");
                return DLLMEM_OK;
            }
            if (st == DLLMEM_OS_ERROR)
                os_reason(why, cfg->name, "fcntl(slot)", errno);
            else
                dllmem_reason_set(why, "\"%s\": no free process slot (%u processes attached?)",
                                  cfg->name, MAX_SLOTS);
            dllmem_os_detach(seg);
            return DLLMEM_OS_ERROR;
        }
        if (!round_st.again)
            discard_if_empty(fd, oname.text);
        (void)close(fd);
        if (!round_st.again)
            return round_st.status;
        sleep_ns(backoff_ns(round));
    }
    dllmem_reason_set(why, "\"%s\" kept being removed or abandoned during attach (%d rounds)",
                      cfg->name, ATTACH_ROUNDS);
    return DLLMEM_TIMEOUT;
}

/* ---- detach -------------------------------------------------------------------- */

void dllmem_os_detach(struct dllmem_segment *seg)
{
    int fd = seg->os->fd;
    forget_and_unmap(seg);
    test_step("detach-unmapped");
    if (lock_byte(fd, LOCK_DMS, F_WRLCK) == LOCK_TAKEN) {
        test_step("detach-alone");
        /* Alone: remove the name unless someone already replaced our object. */
        struct stat sb;
        if (sys_fstat(fd, &sb) == 0 && sb.st_nlink > 0)
            (void)shm_unlink(object_name(seg->config.name).text);
        test_step("detach-unlinked");
    }
    (void)close(fd); /* releases DMS and the slot */
    seg->os->fd = -1;
    seg->os->slot = 0;
}

/* ---- writer lock --------------------------------------------------------------- */

/* Serializes this process's threads; the slot lock word serializes processes. */
static pthread_mutex_t g_writer_mutex = PTHREAD_MUTEX_INITIALIZER;

/* Takes a free slot byte for this attach. A free slot's previous holder is
 * gone; if it died holding the writer lock, the word still names the slot,
 * and waiters asking the kernel about it would from now on find it held (by
 * us) and wait for a writer that will never finish. So the new holder frees
 * the word; whoever takes it next repairs the segment. */
static dllmem_status claim_slot(struct dllmem_segment *seg)
{
    int fd = seg->os->fd;
    uint32_t start = g_first_slot != 0u ? (g_first_slot - 1u) % MAX_SLOTS
                                        : ((uint32_t)getpid() * 2654435761u) % MAX_SLOTS;
    for (uint32_t i = 0; i < MAX_SLOTS; i++) {
        uint32_t slot = 1u + (start + i) % MAX_SLOTS;
        enum lock_result r = lock_byte(fd, (off_t)(LOCK_SLOT_BASE + slot), F_WRLCK);
        if (r == LOCK_TAKEN) {
            seg->os->slot = slot;
            uint32_t dead = slot;
            (void)atomic_compare_exchange_strong_explicit(
                &seg->ctl->writer, &dead, 0u, memory_order_release, memory_order_relaxed);
            return DLLMEM_OK;
        }
        if (r == LOCK_ERROR)
            return DLLMEM_OS_ERROR;
    }
    return DLLMEM_TIMEOUT;
}

/* Waits for a contended writer word, holding g_writer_mutex. The holder
 * normally finishes within microseconds; if the kernel says its slot is free,
 * it died holding the lock: take it over. A word naming our own slot can only
 * be a dead predecessor's, since our threads are serialized by the mutex;
 * garbage (a hostile peer) is taken over. */
static dllmem_status wait_for_writer(struct dllmem_segment *seg)
{
    _Atomic uint32_t *word = &seg->ctl->writer;
    const uint32_t me = seg->os->slot;
    int64_t start = now_ns(), deadline = start + (int64_t)g_writer_wait_ms * 1000000LL;
    int64_t next_check = start + OWNER_CHECK_NS;
    for (int round = 0;; round++) {
        uint32_t owner = atomic_load_explicit(word, memory_order_relaxed);
        bool take = false;
        if (owner == 0 || owner == me || owner > MAX_SLOTS) {
            take = true;
        } else if (now_ns() >= next_check) {
            take = byte_is_held(seg->os->fd, (off_t)(LOCK_SLOT_BASE + owner)) == 0;
            next_check = now_ns() + OWNER_CHECK_NS;
        }
        if (take && atomic_compare_exchange_strong_explicit(word, &owner, me, memory_order_acquire,
                                                            memory_order_relaxed))
            return DLLMEM_OK;
        if (now_ns() > deadline)
            return DLLMEM_TIMEOUT;
        if (round < 64)
            (void)sched_yield();
        else
            sleep_ns(backoff_ns(round - 64)); /* a cancellation point */
    }
}

dllmem_status dllmem_os_writer_lock(struct dllmem_segment *seg)
{
    (void)pthread_mutex_lock(&g_writer_mutex);
    if (seg->os->slot == 0) { /* a forked child gives up its parent's slot */
        dllmem_status st = claim_slot(seg);
        if (st != DLLMEM_OK) {
            (void)pthread_mutex_unlock(&g_writer_mutex);
            return st;
        }
    }
    uint32_t owner = 0;
    if (atomic_compare_exchange_strong_explicit(&seg->ctl->writer, &owner, seg->os->slot,
                                                memory_order_acquire, memory_order_relaxed))
        return DLLMEM_OK;
    /* The wait is not a cancellation point (nanosleep is one): a thread
     * cancelled there would leave g_writer_mutex locked, and later Sets,
     * fallback reads and fork() (the atfork handler takes it) would hang for
     * good. A pending cancel acts at the caller's next cancellation point. */
    int cancel_state = 0;
    (void)pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
    dllmem_status st = wait_for_writer(seg);
    (void)pthread_setcancelstate(cancel_state, NULL);
    if (st != DLLMEM_OK)
        (void)pthread_mutex_unlock(&g_writer_mutex);
    return st;
}

void dllmem_os_writer_unlock(struct dllmem_segment *seg)
{
    atomic_store_explicit(&seg->ctl->writer, 0u, memory_order_release);
    (void)pthread_mutex_unlock(&g_writer_mutex);
}

void dllmem_os_yield(void) { (void)sched_yield(); }

void dllmem_os_pause(void) { sleep_ns(1000000L); }

/* ---- description ------------------------------------------------------------------ */

/* Counts held slots by asking the kernel (F_GETLK) about ranges of slot
 * bytes: each answer is atomic, unlike /proc/locks, which is produced in
 * chunks and can repeat or drop lines while other locks change. GETLK names
 * *a* conflicting lock in the range, not the lowest, so the range is split
 * around each one found: 2k+1 calls for k other holders. Our own slot never
 * conflicts with us. */
static int64_t count_attached(const struct dllmem_segment *seg)
{
    struct range {
        off_t lo, hi;
    };
    /* Each holder found replaces one range by at most two, so k holders never
     * need more than k + 1 entries. A few dozen processes fit on the stack;
     * past that, one allocation for the worst case (MAX_SLOTS + 1). */
    struct range local[64];
    struct range *stack = local;
    size_t top = 0;
    int64_t n = seg->os->slot != 0 ? 1 : 0;
    stack[top++] = (struct range){LOCK_SLOT_BASE + 1, LOCK_SLOT_BASE + (off_t)MAX_SLOTS};
    while (top > 0) {
        struct range r = stack[--top];
        struct flock fl = one_byte(F_WRLCK, r.lo);
        fl.l_len = r.hi - r.lo + 1;
        if (injected(SYS_COUNT_GETLK) || fcntl(seg->os->fd, CMD_GETLK, &fl) != 0) {
            n = -1;
            break;
        }
        if (fl.l_type == F_UNLCK)
            continue;
        n++;
        if (stack == local && top + 2u > sizeof local / sizeof local[0]) {
            struct range *heap =
                injected(SYS_COUNT_MALLOC) ? NULL : malloc(((size_t)MAX_SLOTS + 1u) * sizeof *heap);
            if (heap == NULL) {
                n = -1;
                break;
            }
            memcpy(heap, local, top * sizeof *heap);
            stack = heap;
        }
        off_t first = fl.l_start, last = fl.l_start + (fl.l_len > 0 ? fl.l_len : 1) - 1;
        if (first > r.lo)
            stack[top++] = (struct range){r.lo, first - 1};
        if (last < r.hi)
            stack[top++] = (struct range){last + 1, r.hi};
    }
    if (stack != local)
        free(stack);
    return n;
}

void dllmem_os_describe(const struct dllmem_segment *seg, char *path, size_t path_len,
                        int64_t *attached)
{
#if defined(__linux__)
    (void)snprintf(path, path_len, "/dev/shm/%s", seg->config.name);
#else
    (void)dllmem_object_name(path, path_len, seg->config.name, "");
#endif
    *attached = count_attached(seg);
}

void dllmem_os_default_name(char *buf, size_t len)
{
    /* Per-user, so another user cannot read it. Another user CAN pre-create
     * this name (the shm namespace is shared): every attach then refuses the
     * object (FOREIGN_OWNER), a denial of service; set DLLMEM_NAME to a name
     * only you know to avoid it (README, security). */
    (void)snprintf(buf, len, "%s-%lu", DLLMEM_DEFAULT_NAME, (unsigned long)geteuid());
}

/* ---- fork and the entry points ----------------------------------------------------- */

#if !defined(DLLMEM_EMBEDDED) /* an embedding program owns attach, detach and fork */
static void atfork_prepare(void) { (void)pthread_mutex_lock(&g_writer_mutex); }
static void atfork_parent(void) { (void)pthread_mutex_unlock(&g_writer_mutex); }

/* Maps the segment's range again, in place (the same pages), through fd. */
static bool map_in_place(const struct dllmem_segment *seg, int fd)
{
    return mmap(seg->base, (size_t)seg->mapping_bytes, PROT_READ | PROT_WRITE,
                MAP_SHARED | MAP_FIXED, fd, 0) == seg->base;
}

/* Gives a forked child an attach of its own: a fresh description of the same
 * object with a DMS share on it, the inherited range mapped again through it,
 * and it in place of the inherited fd. NULL, or the step that failed. */
static const char *own_attach(struct dllmem_segment *seg)
{
    int old = seg->os->fd;
    struct stat a, b;
    const char *failed = NULL;
    int fd = shm_open(object_name(seg->config.name).text, O_RDWR | O_NONBLOCK, 0600);
    if (fd < 0)
        failed = "shm_open";
    else if (fstat(old, &a) != 0 || fstat(fd, &b) != 0 || a.st_ino != b.st_ino ||
             a.st_dev != b.st_dev)
        failed = "the name no longer names the parent's object";
    else if (lock_byte(fd, LOCK_DMS, F_RDLCK) != LOCK_TAKEN)
        failed = "fcntl(lock)";
    else if (!map_in_place(seg, fd))
        failed = "mmap";
    else if (dup2(fd, old) != old || fcntl(old, F_SETFD, FD_CLOEXEC) != 0)
        failed = "dup2";
    if (fd >= 0)
        (void)close(fd);
    return failed;
}

/* A forked child shares its parent's open file description, and its mapping
 * keeps that description alive: with them, the parent's locks would outlive
 * the parent. So the child gets an attach of its own, or none: without one it
 * keeps nothing of its parent's (a failed MAP_FIXED may also have removed
 * the range) and is not attached. */
static void atfork_child(void)
{
    (void)pthread_mutex_unlock(&g_writer_mutex);
    struct dllmem_segment *seg = dllmem_core_segment();
    if (seg == NULL || seg->os == NULL) /* not attached, or forked inside attach */
        return;
    seg->os->slot = 0;
    const char *failed = own_attach(seg);
    if (failed == NULL) {
        (void)claim_slot(seg); /* if this fails, the first Set claims one */
        return;
    }
    struct dllmem_reason why = {""};
    dllmem_reason_set(&why, "\"%s\": this forked child has no attach of its own (%s)",
                      seg->config.name, failed);
    (void)close(seg->os->fd);
    seg->os->fd = -1;
    forget_and_unmap(seg);
    dllmem_core_forked_unattached(&why);
}

__attribute__((constructor)) static void dllmem_posix_load(void)
{
    (void)pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
    dllmem_core_attach();
}

__attribute__((destructor)) static void dllmem_posix_unload(void) { dllmem_core_detach(); }
#endif /* !DLLMEM_EMBEDDED */

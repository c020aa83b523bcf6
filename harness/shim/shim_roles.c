/* The child roles the harness and the stress runner share (libuv's TASKS[]),
 * and the one dispatcher. A worker loads the library itself (so its
 * load-time attach races everyone else's) and writes or reads self-checking
 * messages; a holder keeps the segment for a whole stress run and accounts
 * for its Sets; get prints the string; trivial is the spawn baseline and
 * load the attach baseline. Every role reports in the line protocol of
 * shim.h. */
#define _DEFAULT_SOURCE
#include "shim.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(_WIN32)
#    include <fcntl.h>
#    include <io.h>
#    include <windows.h>
#else
#    include <fcntl.h>
#    include <sys/resource.h>
#    include <sys/syscall.h>
#    include <sys/time.h>
#endif
#include <time.h>
#include <unistd.h>

uint64_t shim_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* This worker's view of the segment's control words (docs/layout.md), when
 * the library under test has that layout: to count reads that overlapped a
 * write, and to aim a kill at this writer's own write window. */
static shim_peer g_peer;

/* Set by a writer around its Set: the kill-in-Set timer only fires inside. */
static volatile sig_atomic_t g_in_set;
static dllmem_unit g_current[SHIM_MSG_HEADER]; /* header of the message being stored */

#if defined(_WIN32)
static DWORD WINAPI die_later(LPVOID us)
{
    Sleep((DWORD)((uintptr_t)us / 1000u));
    TerminateProcess(GetCurrentProcess(), 128 + SIGKILL); /* reads as SIGKILL */
    return 0;
}

/* Arms a kill for `us` microseconds from now (Windows: millisecond grain). */
static void arm_kill(unsigned long long us, bool in_set, bool watch_first)
{
    (void)in_set; /* no aimed kills on Windows: a plain one at that moment */
    (void)watch_first;
    HANDLE t = CreateThread(NULL, 0, die_later, (LPVOID)(uintptr_t)us, 0, NULL);
    if (t != NULL)
        CloseHandle(t);
}
#else
/* The handlers below write and kill through raw syscalls: a sanitizer's
 * write and kill interceptors may take runtime locks, and ThreadSanitizer
 * runs a synchronous signal's handler (the watchpoint's SIGTRAP) at once,
 * inside whatever the writer was doing, runtime included. */
static void die(void) { (void)syscall(SYS_kill, (pid_t)syscall(SYS_getpid), SIGKILL); }

static void die_now(int sig)
{
    (void)sig;
    die();
}

/* Async-signal-safe: appends v in decimal at line[*n]. */
static void put_number(char *line, int *n, unsigned long v)
{
    char digits[24];
    int d = 0;
    do
        digits[d++] = (char)('0' + v % 10u);
    while ((v /= 10u) != 0 && d < (int)sizeof digits);
    while (d > 0)
        line[(*n)++] = digits[--d];
}

/* Async-signal-safe: "K <seq>[ <store> <stores>]\n" on stdout, the window
 * this writer dies in (stores > 0: right after that store of it). */
static void say_window(uint32_t seq, long store, long stores)
{
    char line[80];
    int n = 0;
    line[n++] = 'K';
    line[n++] = ' ';
    put_number(line, &n, seq);
    if (stores > 0) {
        line[n++] = ' ';
        put_number(line, &n, (unsigned long)store);
        line[n++] = ' ';
        put_number(line, &n, (unsigned long)stores);
    }
    line[n++] = '\n';
    (void)syscall(SYS_write, STDOUT_FILENO, line, (size_t)n);
}

#    define AIM_TICK_US 40
#    define AIM_TICKS 25000         /* about a second of trying, then a plain kill */
#    define AIM_BACKSTOP_US 1000000 /* a watched writer's window never came: a plain kill */
static volatile sig_atomic_t g_aim_ticks;

/* Inside this writer's own write window: seq odd (D being written) and the
 * shadow holding this writer's message, the same seq before and after the
 * look. Only the lock holder writes S, so that is this process, mid-Set. */
static bool in_own_window(uint32_t *seq)
{
    if (g_peer.seq == NULL)
        return false;
    uint32_t s1 = shim_peer_seq(&g_peer);
    if ((s1 & 1u) == 0)
        return false;
    for (size_t i = 0; i < SHIM_MSG_HEADER; i++)
        if (__atomic_load_n(&g_peer.shadow[i], __ATOMIC_RELAXED) != g_current[i])
            return false;
    *seq = s1;
    return shim_peer_seq(&g_peer) == s1;
}

/* The watchpoint's view of the window (shim_aim.c): inside this Set too. */
static bool in_window_now(uint32_t *seq) { return g_in_set && in_own_window(seq); }

static void die_in_window(uint32_t seq, long store, long stores)
{
    say_window(seq, store, stores);
    die();
}

/* Set once the watchpoint can be armed, then once it is. */
static volatile sig_atomic_t g_aim_watch, g_aim_watched;
/* A writer that will try the watchpoint gets one tick, at its moment, and
 * no ticks while it loads: until role_worker has decided (prepared the
 * watchpoint or not), a tick only marks the moment as due. Without a watch
 * the ticks start then. */
static volatile sig_atomic_t g_aim_decided = 1, g_aim_due, g_aim_ticking;
static uint32_t g_aim_seed;
static uint64_t g_aim_backstop_ns; /* when the backstop tick is due */

/* SIGALRM in `us` microseconds, then every `every_us` (0: once). */
static void set_timer_us(unsigned long long us, unsigned long long every_us)
{
    struct itimerval it;
    memset(&it, 0, sizeof it);
    it.it_value.tv_sec = (time_t)(us / 1000000u);
    it.it_value.tv_usec = (suseconds_t)(us % 1000000u);
    it.it_interval.tv_usec = (suseconds_t)every_us;
    setitimer(ITIMER_REAL, &it, NULL);
}

/* Ticks until this writer is inside its own write window, then says so and
 * dies there; where the layout is unknown, dies at the first tick inside Set.
 * Once the watchpoint can be armed, the first tick arms it instead and leaves
 * one backstop tick. The timer repeats by itself: a tick costs no setitimer
 * call. */
static void aim_now(int sig)
{
    (void)sig;
    uint32_t seq = 0;
    if (g_in_set && in_own_window(&seq)) {
        say_window(seq, 0, 0);
        die();
    }
    if (g_aim_watched) {
        /* A tick that came due while arming is still delivered: not yet. */
        if (shim_now_ns() >= g_aim_backstop_ns)
            die();
        return;
    }
    if (!g_aim_decided) {
        g_aim_due = 1;
        return;
    }
    if (g_aim_watch) {
        int saved_errno = errno; /* arming makes syscalls, then returns */
        g_aim_watched = shim_aim_arm(g_aim_seed);
        if (g_aim_watched) {
            g_aim_backstop_ns = shim_now_ns() + (uint64_t)AIM_BACKSTOP_US * 1000u;
            set_timer_us(AIM_BACKSTOP_US, 0u);
        }
        errno = saved_errno;
        if (g_aim_watched)
            return;
    }
    if (!g_aim_ticking) { /* a one-tick moment and no watch: tick from now on */
        g_aim_ticking = 1;
        int saved_errno = errno;
        set_timer_us(AIM_TICK_US, AIM_TICK_US);
        errno = saved_errno;
    }
    if ((g_in_set && g_peer.seq == NULL) || ++g_aim_ticks > AIM_TICKS)
        die();
}

/* Arms SIGKILL for `us` microseconds from now: a random moment chosen by the
 * parent, which can fall anywhere, inside a library call included; with
 * in_set, the first moment from then on that falls inside this writer's own
 * write window (watch_first: by the watchpoint if role_worker can prepare
 * it, so one tick, at the moment). */
static void arm_kill(unsigned long long us, bool in_set, bool watch_first)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = in_set ? aim_now : die_now;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    g_aim_decided = !(in_set && watch_first);
    g_aim_ticking = in_set && !watch_first;
    set_timer_us(us, g_aim_ticking ? AIM_TICK_US : 0u);
}
#endif

/* An over-long string (2 x capacity units) whose first capacity-1 units are
 * one whole message: a library that truncates as the contract says leaves a
 * valid message; one that overruns its view (the example) does not. */
static void make_overlong(dllmem_unit *buf, size_t cap, uint32_t id, uint32_t seq)
{
    shim_msg_make(buf, cap - 1, id, seq);
    for (size_t i = cap - 1; i < 2 * cap - 1; i++)
        buf[i] = 'X';
    buf[2 * cap - 1] = 0;
}

/* What one worker has seen so far; sent as P and D lines (shim.h). */
struct tally {
    long ops, verified, torn, lost, untouched, overlapped, changed, initial_empty;
};

static void send_tally(char tag, const struct tally *t, const char *tail)
{
    printf("%c %ld %ld %ld %ld %ld %ld %ld %ld%s\n", tag, t->ops, t->verified, t->torn, t->lost,
           t->untouched, t->overlapped, t->changed, t->initial_empty, tail);
    fflush(stdout);
}

/* Where a stretch of this process's wall time went: on a CPU (its CPU
 * clock), waiting in a run queue (/proc/self/schedstat, read through an fd
 * opened beforehand, so a reading is one syscall), and how often it gave up
 * the CPU itself (blocked: a lock wait, a sleep) or was preempted. */
struct sched_mark {
    unsigned long long cpu_ns, runq_ns, voluntary, involuntary;
};

static bool sched_mark(int schedstat_fd, struct sched_mark *m)
{
#if defined(_WIN32)
    (void)schedstat_fd;
    (void)m;
    return false;
#else
    char line[128];
    ssize_t n = schedstat_fd >= 0 ? pread(schedstat_fd, line, sizeof line - 1, 0) : -1;
    struct timespec ts;
    struct rusage ru;
    if (n <= 0 || clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0 ||
        getrusage(RUSAGE_SELF, &ru) != 0)
        return false;
    line[n] = '\0';
    char *end = line, *end2 = line;
    (void)strtoull(line, &end, 10); /* its CPU time lags: the current slice is not in it */
    m->runq_ns = strtoull(end, &end2, 10);
    m->cpu_ns = (unsigned long long)ts.tv_sec * 1000000000u + (unsigned long long)ts.tv_nsec;
    m->voluntary = (unsigned long long)ru.ru_nvcsw;
    m->involuntary = (unsigned long long)ru.ru_nivcsw;
    return end != line && end2 != end;
#endif
}

/* The span a loader times, from before its load to after it (the attach, for
 * dllmem): its length and, where the OS says, its split (sched_mark). */
struct load_span {
    int sfd; /* /proc/self/schedstat, opened before the span: a reading is one syscall */
    uint64_t t0;
    struct sched_mark m0;
    bool split;
};

static void span_begin(struct load_span *s)
{
#if defined(_WIN32)
    s->sfd = -1;
#else
    s->sfd = open("/proc/self/schedstat", O_RDONLY | O_CLOEXEC);
#endif
    s->t0 = shim_now_ns();
    s->split = sched_mark(s->sfd, &s->m0); /* both marks inside [t0, t1] */
}

/* Ends the span and sends its A line; returns its end. */
static uint64_t span_end(struct load_span *s)
{
    struct sched_mark m1;
    bool split = s->split && sched_mark(s->sfd, &m1);
    uint64_t t1 = shim_now_ns();
#if !defined(_WIN32)
    if (s->sfd >= 0)
        close(s->sfd);
#endif
    if (split)
        printf("A %llu %llu %llu %llu %llu\n", (unsigned long long)(t1 - s->t0),
               m1.cpu_ns - s->m0.cpu_ns, m1.runq_ns - s->m0.runq_ns, m1.voluntary - s->m0.voluntary,
               m1.involuntary - s->m0.involuntary);
    else
        printf("A %llu\n", (unsigned long long)(t1 - s->t0));
    fflush(stdout);
    return t1;
}

struct worker_args {
    const char *library;
    bool writer;
    uint32_t id;
    long ops; /* 0 = until duration_ms passes */
    long duration_ms;
};

/* worker LIBRARY w|r ID OPS DURATION_MS KILL_AFTER_US [overlong] [killinset]
 * [byticks] [trapok] [quiet]: a writer (w) stores self-checking messages of
 * random length, a reader (r) reads into a poisoned buffer and classifies
 * every read; OPS of them, or for DURATION_MS. KILL_AFTER_US > 0 arms its
 * own SIGKILL (aimed at its write window with killinset: by watchpoint where
 * it can, by timer ticks alone with byticks; trapok: the runner's
 * shim_aim_probe granted the watchpoint, so this process need not ask).
 * quiet: no P lines, for a parent that reads the tally from the D line alone
 * (the harness). */
static int role_worker(int argc, char **argv)
{
    if (argc < 6)
        return SHIM_ROLE_USAGE;
    bool overlong = false, kill_in_set = false, quiet = false, by_ticks = false, trap_ok = false;
    for (int i = 6; i < argc; i++) {
        overlong = overlong || strcmp(argv[i], "overlong") == 0;
        kill_in_set = kill_in_set || strcmp(argv[i], "killinset") == 0;
        quiet = quiet || strcmp(argv[i], "quiet") == 0;
        by_ticks = by_ticks || strcmp(argv[i], "byticks") == 0;
        trap_ok = trap_ok || strcmp(argv[i], "trapok") == 0;
    }
    struct load_span span;
    span_begin(&span);
    unsigned long long kill_us = strtoull(argv[5], NULL, 10);
    struct worker_args a = {argv[0], argv[1][0] == 'w', (uint32_t)strtoul(argv[2], NULL, 10),
                            strtol(argv[3], NULL, 10), strtol(argv[4], NULL, 10)};
    /* Every line is flushed as written: Windows has no line buffering (setvbuf
     * _IOLBF with size 0 fails there and a pipe stays fully buffered), so a
     * line would otherwise reach the runner late, or never if it kills us. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    bool watch_first = kill_us > 0 && kill_in_set && a.writer && !by_ticks;
    if (kill_us > 0)
        arm_kill(kill_us, kill_in_set && a.writer, watch_first);

    shim_lib lib;
    char err[512];
    if (!shim_lib_load(&lib, a.library, err, sizeof err)) {
        printf("E load %s\n", err);
        fflush(stdout);
        return SHIM_ROLE_ERROR;
    }
    uint64_t t1 = span_end(&span);
    if (shim_lib_is_extended(&lib) && lib.x_attach_status() != DLLMEM_OK) {
        printf("E attach %s\n", lib.x_attach_reason());
        fflush(stdout);
        shim_lib_unload(&lib);
        return SHIM_ROLE_ERROR;
    }

    size_t cap = shim_lib_capacity(&lib);
    const char *name = getenv("DLLMEM_NAME");
    if (name != NULL)
        shim_peer_open(&g_peer, name, cap);           /* seq stays NULL without the layout */
    dllmem_unit *buf = malloc(2 * cap * sizeof *buf); /* room for over-long strings */
    if (buf == NULL)
        return SHIM_ROLE_ERROR;
    uint32_t rng = a.id * 2654435761u ^ (uint32_t)getpid();
    if (rng == 0)
        rng = 1;
#if !defined(_WIN32)
    if (watch_first) {
        /* SIGALRM blocked: the moment's tick cannot slip between the
         * decision and what follows from it. */
        sigset_t alrm, old;
        sigemptyset(&alrm);
        sigaddset(&alrm, SIGALRM);
        sigprocmask(SIG_BLOCK, &alrm, &old);
        if (g_peer.seq != NULL && (trap_ok || shim_aim_probe())) { /* a trap, after the store */
            g_aim_seed = shim_rand(&rng);
            g_aim_watch = shim_aim_prepare(cap, g_peer.map, in_window_now, die_in_window);
        }
        g_aim_decided = 1;
        if (g_aim_due)
            aim_now(SIGALRM); /* the moment came while loading: arm, or tick, now */
        sigprocmask(SIG_SETMASK, &old, NULL);
    }
#else
    (void)watch_first; /* no aimed kills on Windows */
    (void)trap_ok;
#endif
    struct tally t = {0, 0, 0, 0, 0, 0, 0, 0};
    bool seen_value = false; /* a Set had completed: an empty read is a lost value */
    uint32_t last_w = 0, last_s = 0;
    uint64_t deadline = t1 + (uint64_t)a.duration_ms * 1000000u;
    for (;;) {
        if (a.ops > 0 ? t.ops >= a.ops : shim_now_ns() >= deadline)
            break;
        if (a.writer) {
            uint32_t r = shim_rand(&rng);
            if (overlong && r % 10u == 0) {
                make_overlong(buf, cap, a.id, (uint32_t)t.ops);
            } else {
                size_t len = SHIM_MSG_HEADER + r % (cap - SHIM_MSG_HEADER);
                shim_msg_make(buf, len, a.id, (uint32_t)t.ops);
            }
            memcpy(g_current, buf, sizeof g_current);
            g_in_set = 1;
            lib.set(buf);
            g_in_set = 0;
            t.ops++;
            if (!quiet)
                send_tally('P', &t, ""); /* every Set: the parent accounts for each one */
            continue;
        }
        /* Reader: a poisoned buffer, the sequence word around the read. */
        shim_poison(buf, cap);
        uint32_t s1 = g_peer.seq != NULL ? shim_peer_seq(&g_peer) : 0;
        lib.get(buf, (uint32_t)cap);
        uint32_t s2 = g_peer.seq != NULL ? shim_peer_seq(&g_peer) : 0;
        if (s1 >= 2)
            seen_value = true; /* a Set completed before this read began */
        if (s1 != s2 || (s1 & 1u) != 0)
            t.overlapped++;
        size_t n = 0;
        uint32_t w = 0, s = 0;
        shim_read_kind k = shim_msg_read(buf, cap, &n, &w, &s);
        t.ops++;
        bool bad = false;
        if (k == SHIM_READ_MESSAGE) {
            if (seen_value && (w != last_w || s != last_s)) {
                t.changed++;
                if (g_peer.seq == NULL)
                    t.overlapped++; /* without the layout: a new value is the evidence */
            }
            last_w = w;
            last_s = s;
            seen_value = true;
            t.verified++;
        } else if (k == SHIM_READ_EMPTY && !seen_value) {
            t.initial_empty++; /* no Set had completed yet */
        } else {
            bad = true;
            if (k == SHIM_READ_EMPTY)
                t.lost++;
            else if (k == SHIM_READ_UNTOUCHED)
                t.untouched++;
            else
                t.torn++;
        }
        if (!quiet && (bad || t.ops % SHIM_PROGRESS_OPS == 0))
            send_tally('P', &t, ""); /* a bad read at once: we may be killed */
    }
    free(buf);
    shim_peer_close(&g_peer);
    shim_lib_unload(&lib);
    /* Its own life so far (load, work, unload): what the parent's random
     * kill moments are drawn from. */
    char tail[32];
    snprintf(tail, sizeof tail, " %llu", (unsigned long long)(shim_now_ns() - span.t0));
    send_tally('D', &t, tail);
    return SHIM_ROLE_OK;
}

#if !defined(_WIN32)
static volatile sig_atomic_t g_holder_stop;
static void on_holder_stop(int sig)
{
    (void)sig;
    g_holder_stop = 1;
}
#endif

/* holder LIBRARY (Windows: LIBRARY STOP_EVENT RUNNER_PID). Attaches before
 * any worker, prints "H <sequence> <capacity>", holds the segment until
 * SIGTERM (Windows: the runner's named event is set) or the runner is gone,
 * then prints "F <sequence> <kind of a final read> <its length>" and detaches.
 * The sequence (dllmem_get_info: completed Sets) is "-" without the extended
 * API. */
static int role_holder(int argc, char **argv)
{
#if defined(_WIN32)
    if (argc < 3)
        return SHIM_ROLE_USAGE;
    HANDLE stop[2] = {OpenEventA(SYNCHRONIZE, FALSE, argv[1]),
                      OpenProcess(SYNCHRONIZE, FALSE, (DWORD)strtoul(argv[2], NULL, 10))};
    if (stop[0] == NULL || stop[1] == NULL) {
        printf("E holder cannot open the runner's event or process (error %lu)\n",
               (unsigned long)GetLastError());
        fflush(stdout);
        return SHIM_ROLE_ERROR;
    }
#else
    if (argc < 1)
        return SHIM_ROLE_USAGE;
    signal(SIGTERM, on_holder_stop);
#endif
    setvbuf(stdout, NULL, _IOLBF, 0);
    shim_lib lib;
    char err[512];
    if (!shim_lib_load(&lib, argv[0], err, sizeof err)) {
        printf("E load %s\n", err);
        fflush(stdout);
        return SHIM_ROLE_ERROR;
    }
    bool ext = shim_lib_is_extended(&lib);
    size_t cap = shim_lib_capacity(&lib);
    dllmem_info info;
    if (ext && lib.x_get_info(&info) == DLLMEM_OK)
        printf("H %llu %zu\n", (unsigned long long)info.sequence, cap);
    else
        printf("H - %zu\n", cap);
    fflush(stdout);
    /* Bounded by the runner's life: it stops the holder, or dies. */
#if defined(_WIN32)
    (void)WaitForMultipleObjects(2, stop, FALSE, INFINITE);
    CloseHandle(stop[0]);
    CloseHandle(stop[1]);
#else
    pid_t parent = getppid();
    while (!g_holder_stop && getppid() == parent)
        usleep(2000);
#endif
    dllmem_unit *buf = malloc(cap * sizeof *buf);
    if (buf == NULL)
        return SHIM_ROLE_ERROR;
    shim_poison(buf, cap);
    lib.get(buf, (uint32_t)cap);
    size_t n = 0;
    shim_read_kind k = shim_msg_classify(buf, cap, &n);
    if (ext && lib.x_get_info(&info) == DLLMEM_OK)
        printf("F %llu %s %zu\n", (unsigned long long)info.sequence, shim_read_kind_name(k), n);
    else
        printf("F - %s %zu\n", shim_read_kind_name(k), n);
    fflush(stdout);
    free(buf);
    shim_lib_unload(&lib);
    return SHIM_ROLE_OK;
}

/* get LIBRARY: prints the string as it reads (units above 127 as '?'), one
 * line: "\n" when it is empty. */
static int role_get(int argc, char **argv)
{
    if (argc < 1)
        return SHIM_ROLE_USAGE;
    shim_lib lib;
    char err[512];
    if (!shim_lib_load(&lib, argv[0], err, sizeof err)) {
        fprintf(stderr, "role: %s\n", err);
        return SHIM_ROLE_ERROR;
    }
    size_t cap = shim_lib_capacity(&lib);
    dllmem_unit *buf = calloc(cap, sizeof *buf);
    char *text = malloc(cap + 1u);
    if (buf == NULL || text == NULL) {
        free(buf);
        free(text);
        shim_lib_unload(&lib);
        return SHIM_ROLE_ERROR;
    }
    lib.get(buf, (uint32_t)cap);
    size_t n = 0;
    for (; n < cap && buf[n] != 0; n++)
        text[n] = (char)(buf[n] < 128 ? buf[n] : '?');
    text[n] = 0;
    printf("%s\n", text);
    fflush(stdout);
    free(text);
    free(buf);
    shim_lib_unload(&lib);
    return SHIM_ROLE_OK;
}

/* aimprobe: exits 0 if this machine grants the kill-in-Set watchpoint
 * (shim_aim.c), 77 (a skip, to ctest) if not. */
static int role_aimprobe(int argc, char **argv)
{
    (void)argc;
    (void)argv;
#if defined(_WIN32)
    bool ok = false; /* no aimed kills on Windows */
#else
    bool ok = shim_aim_probe();
#endif
    printf("hardware write watchpoint: %s\n", ok ? "granted" : "refused");
    return ok ? SHIM_ROLE_OK : 77;
}

/* load LIBRARY: loads a library that does nothing (the stress runner's
 * attach baseline, which must export dllmem_empty_library), timed as a worker
 * times its load and attach, and sends the same A line. What that costs is
 * the loader's and the scheduler's, none of it dllmem's. (A worker's span
 * also holds its kill timer's arming and a dozen more symbol lookups: a few
 * microseconds.) */
static int role_load(int argc, char **argv)
{
    if (argc < 1)
        return SHIM_ROLE_USAGE;
    struct load_span span;
    span_begin(&span);
    setvbuf(stdout, NULL, _IOLBF, 0); /* as a worker does inside its span */
    void *handle;
    char err[512];
    if (!shim_plain_load(&handle, argv[0], "dllmem_empty_library", err, sizeof err)) {
        printf("E load %s\n", err);
        fflush(stdout);
        return SHIM_ROLE_ERROR;
    }
    (void)span_end(&span);
    shim_plain_unload(handle);
    return SHIM_ROLE_OK;
}

/* trivial: does nothing; the spawn baseline. */
static int role_trivial(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return SHIM_ROLE_OK;
}

const shim_role shim_common_roles[] = {
    {"worker", role_worker},
    {"holder", role_holder},
    {"get", role_get},
    {"trivial", role_trivial},
    {"load", role_load},
    {"aimprobe", role_aimprobe},
    {NULL, NULL},
};

bool shim_role_dispatch(int argc, char **argv, const shim_role *const *tables, int *rc)
{
    if (argc < 3 || strcmp(argv[1], "--role") != 0)
        return false;
#if defined(_WIN32)
    _setmode(_fileno(stdout), _O_BINARY); /* "\n" stays "\n" on the pipe */
#endif
    for (const shim_role *const *t = tables; *t != NULL; t++)
        for (const shim_role *r = *t; r->name != NULL; r++)
            if (strcmp(r->name, argv[2]) == 0) {
                *rc = r->main(argc - 3, argv + 3);
                return true;
            }
    fprintf(stderr, "unknown role %s\n", argv[2]);
    *rc = SHIM_ROLE_USAGE;
    return true;
}

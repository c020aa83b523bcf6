/* Kill-in-Set by hardware watchpoint: a writer dies right after one store
 * of its own write window, chosen at random among that window's stores. The
 * watch is on the library's own view of the segment (the other mapping of
 * the peer's file in /proc/self/maps), through perf_event_open with a synchronous SIGTRAP, so
 * it fires at the store itself. The 40 us ticks of shim_roles.c find the
 * window only by chance (it is a fraction of a microsecond); a watched
 * writer dies in its next Set. Linux only; elsewhere, or where the kernel
 * refuses the watchpoint, the ticks remain. */
#define _GNU_SOURCE
#include "shim.h"

#if defined(__linux__)
#    include "layout.h"

#    include <errno.h>
#    include <fcntl.h>
#    include <linux/hw_breakpoint.h>
#    include <linux/perf_event.h>
#    include <signal.h>
#    include <stdio.h>
#    include <stdlib.h>
#    include <string.h>
#    include <sys/ioctl.h>
#    include <sys/syscall.h>
#    include <unistd.h>

#    if !defined(TRAP_PERF)
#        define TRAP_PERF 6 /* si_code of a perf event's SIGTRAP (Linux 5.13) */
#    endif

/* The library's view, set once before the first arming and read in the
 * handlers only after g_ready. */
static uintptr_t g_seq, g_len_d, g_len_s, g_data;
static uint32_t g_words; /* whole words in D */
static shim_aim_window_fn g_in_window;
static shim_aim_die_fn g_die;
static volatile sig_atomic_t g_ready;

/* Handler state: one watch at a time, on seq (stage 1) or on the chosen
 * store of the window that began at g_target_seq (stage 2). */
static int g_fd = -1;
static int g_stage;
static uint32_t g_rnd, g_target_seq;
static long g_store, g_stores;

/* One line of /proc/self/maps: start-end perms offset major:minor inode. */
struct map_line {
    uintptr_t start, end;
    unsigned long off, dev_major, dev_minor, ino;
};

static bool parse_map_line(const char *line, struct map_line *m)
{
    char *p = NULL, *q = NULL;
    m->start = (uintptr_t)strtoul(line, &p, 16);
    m->end = *p == '-' ? (uintptr_t)strtoul(p + 1, &q, 16) : 0;
    p = q != NULL ? strchr(q + 1, ' ') : NULL; /* past perms */
    if (p == NULL)
        return false;
    m->off = strtoul(p, &q, 16);
    m->dev_major = strtoul(q, &p, 16);
    m->dev_minor = *p == ':' ? strtoul(p + 1, &q, 16) : ~0ul;
    m->ino = strtoul(q, &p, 10);
    return p != q;
}

static const char *next_line(const char *line)
{
    const char *nl = strchr(line, '\n');
    return nl != NULL && nl[1] != '\0' ? nl + 1 : NULL;
}

/* The library's own view: the one other mapping of the file peer_map maps
 * (same device and inode), at offset 0, of at least the whole layout. Two or
 * none (a library that maps it otherwise): false. /proc/self/maps is read
 * once, whole, into a buffer (each read of it makes the kernel walk the
 * mappings again); a list too long for the buffer is also false. */
static bool find_view(const void *peer_map, uint64_t bytes, uintptr_t *base)
{
    static char maps[64 * 1024];
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    size_t used = 0;
    ssize_t n = 0;
    while (used < sizeof maps - 1 && (n = read(fd, maps + used, sizeof maps - 1 - used)) > 0)
        used += (size_t)n;
    close(fd);
    if (n < 0 || used >= sizeof maps - 1) /* an error, or more than the buffer holds */
        return false;
    maps[used] = '\0';
    struct map_line peer = {0}, m;
    bool have_peer = false;
    for (const char *line = maps; line != NULL && !have_peer; line = next_line(line))
        have_peer = parse_map_line(line, &peer) && peer.start == (uintptr_t)peer_map;
    int found = 0;
    for (const char *line = maps; line != NULL && have_peer; line = next_line(line)) {
        if (parse_map_line(line, &m) && m.start != peer.start && m.ino == peer.ino &&
            m.dev_major == peer.dev_major && m.dev_minor == peer.dev_minor && m.off == 0 &&
            m.end >= m.start + bytes) {
            *base = m.start;
            found++;
        }
    }
    return found == 1;
}

static void on_trap(int sig, siginfo_t *si, void *uc);

bool shim_aim_prepare(size_t capacity, const void *peer_map, shim_aim_window_fn in_window,
                      shim_aim_die_fn die)
{
    uint32_t data_bytes = (uint32_t)(2u * capacity);
    uintptr_t base = 0;
    if (peer_map == NULL || !find_view(peer_map, dllmem_mapping_bytes(data_bytes), &base))
        return false;
    uintptr_t ctl = base + (uintptr_t)dllmem_ctl_offset(data_bytes);
    g_seq = ctl + offsetof(struct dllmem_ctl, seq);
    g_len_d = ctl + offsetof(struct dllmem_ctl, len_d);
    g_len_s = ctl + offsetof(struct dllmem_ctl, len_s);
    g_data = base;
    g_words = (uint32_t)(capacity / 4u);
    g_in_window = in_window;
    g_die = die;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_trap;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    if (g_words == 0 || sigaction(SIGTRAP, &sa, NULL) != 0)
        return false;
    g_ready = 1;
    return true;
}

/* Async-signal-safe from here on: syscalls and plain stores only. */

static int watch(uintptr_t addr, unsigned len)
{
    struct perf_event_attr a = {0};
    a.type = PERF_TYPE_BREAKPOINT;
    a.size = sizeof a;
    a.bp_type = HW_BREAKPOINT_W;
    a.bp_addr = addr;
    a.bp_len = len;
    a.sample_period = 1;
    a.exclude_kernel = 1;
    a.exclude_hv = 1;
    a.sigtrap = 1;
    a.remove_on_exec = 1; /* the kernel requires it with sigtrap */
    /* Raw syscalls: see shim_roles.c's handlers. */
    if (g_fd >= 0 && syscall(SYS_ioctl, g_fd, PERF_EVENT_IOC_MODIFY_ATTRIBUTES, &a) == 0)
        return g_fd;
    if (g_fd >= 0)
        (void)syscall(SYS_close, g_fd);
    g_fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
    return g_fd;
}

bool shim_aim_arm(uint32_t rnd)
{
    if (!g_ready || g_stage != 0)
        return g_stage != 0;
    g_rnd = rnd != 0 ? rnd : 1u;
    if (watch(g_seq, HW_BREAKPOINT_LEN_4) < 0)
        return false;
    g_stage = 1;
    return true;
}

/* The window's stores, in the order this library makes them: seq odd (0),
 * D's whole words up to the one holding the terminator (1 .. last + 1), then
 * len_d (last + 2). The two ends, D untouched and D whole, are a quarter of
 * the choices each (a repair must redo all of D, or none of it may be lost);
 * the rest fall amid D. Store j > 0 is watched; the writer dies right after
 * it. */
static void choose_store(uint32_t seq)
{
    uint32_t n = __atomic_load_n((const uint32_t *)g_len_s, __ATOMIC_RELAXED);
    uint32_t last = n / 4u < g_words ? n / 4u : g_words - 1u;
    g_stores = (long)last + 3;
    g_rnd ^= g_rnd << 13;
    g_rnd ^= g_rnd >> 17;
    g_rnd ^= g_rnd << 5;
    uint32_t pick = g_rnd % 4u, amid = 1u + (g_rnd >> 2) % (last + 1u);
    g_store = pick == 0 ? 0 : pick == 1 ? g_stores - 1 : (long)amid;
    if (g_store == 0) {
        g_die(seq, 0, g_stores);
        return;
    }
    uintptr_t at =
        (uint32_t)g_store <= last + 1u ? g_data + 8u * (uintptr_t)(g_store - 1) : g_len_d;
    unsigned len = at == g_len_d ? HW_BREAKPOINT_LEN_4 : HW_BREAKPOINT_LEN_8;
    g_target_seq = seq;
    g_stage = watch(at, len) >= 0 ? 2 : 0;
}

static void on_trap(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    if (si->si_code != TRAP_PERF || g_stage == 0)
        return;
    int saved_errno = errno; /* the interrupted code may be about to read it */
    uint32_t seq = 0;
    bool mine = g_in_window(&seq);
    if (g_stage == 1) {
        if (mine)
            choose_store(seq); /* the odd store of this writer's own Set */
    } else {
        if (mine && seq == g_target_seq)
            g_die(seq, g_store, g_stores);
        g_stage = watch(g_seq, HW_BREAKPOINT_LEN_4) >= 0 ? 1 : 0; /* not ours: the next */
    }
    errno = saved_errno;
}

static volatile sig_atomic_t g_probe_hits;
static volatile uint64_t g_probe_word;
#    define PROBE_VALUE 0x5eedf00dcafe1234u

/* Counts a trap only if the store it reports is already visible: the kill
 * must come right after the chosen store, as on x86, where data watchpoints
 * trap after the access (some architectures trap before it). */
static void on_probe_trap(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    g_probe_hits += si->si_code == TRAP_PERF && g_probe_word == PROBE_VALUE;
}

bool shim_aim_probe(void)
{
#    if defined(SHIM_TSAN)
    (void)on_probe_trap;
    return false; /* its SIGTRAP handler would run inside the runtime's own code */
#    else
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_probe_trap;
    sa.sa_flags = SA_SIGINFO;
    if (sigaction(SIGTRAP, &sa, &old) != 0)
        return false;
    int saved = g_fd;
    g_fd = -1;
    int fd = watch((uintptr_t)&g_probe_word, HW_BREAKPOINT_LEN_8);
    g_probe_hits = 0;
    g_probe_word = PROBE_VALUE; /* one trap, after the store */
    bool ok = fd >= 0 && g_probe_hits == 1;
    if (fd >= 0)
        (void)syscall(SYS_close, fd);
    g_fd = saved;
    (void)sigaction(SIGTRAP, &old, NULL);
    return ok;
#    endif
}

#else

bool shim_aim_probe(void) { return false; }

bool shim_aim_prepare(size_t capacity, const void *peer_map, shim_aim_window_fn in_window,
                      shim_aim_die_fn die)
{
    (void)capacity;
    (void)peer_map;
    (void)in_window;
    (void)die;
    return false;
}

bool shim_aim_arm(uint32_t rnd)
{
    (void)rnd;
    return false;
}

#endif

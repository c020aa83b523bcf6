/* The child roles: a worker that loads the library itself (so its load-time
 * attach races everyone else's) and writes or reads self-checking messages,
 * and a trivial child for the spawn baseline. */
#define _DEFAULT_SOURCE
#include "shim.h"
#include "stress.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(_WIN32)
#    include <windows.h>
#else
#    include <sys/time.h>
#endif
#include <time.h>
#include <unistd.h>

uint64_t stress_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint32_t xorshift(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

#if defined(_WIN32)
static DWORD WINAPI die_later(LPVOID us)
{
    Sleep((DWORD)((uintptr_t)us / 1000u));
    TerminateProcess(GetCurrentProcess(), 128 + SIGKILL); /* reads as SIGKILL */
    return 0;
}

/* Arms a kill for `us` microseconds from now (Windows: millisecond grain). */
static void arm_kill(unsigned long long us)
{
    HANDLE t = CreateThread(NULL, 0, die_later, (LPVOID)(uintptr_t)us, 0, NULL);
    if (t != NULL)
        CloseHandle(t);
}
#else
static void die_now(int sig)
{
    (void)sig;
    (void)kill(getpid(), SIGKILL);
}

/* Arms SIGKILL for `us` microseconds from now: a random moment chosen by the
 * parent, which can fall anywhere, inside a library call included. */
static void arm_kill(unsigned long long us)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = die_now;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it;
    memset(&it, 0, sizeof it);
    it.it_value.tv_sec = (time_t)(us / 1000000u);
    it.it_value.tv_usec = (suseconds_t)(us % 1000000u);
    setitimer(ITIMER_REAL, &it, NULL);
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

/* argv: LIBRARY w|r ID OPS DURATION_MS KILL_AFTER_US [overlong] */
int stress_child_main(int argc, char **argv)
{
    if (argc < 6)
        return STRESS_USAGE;
    bool overlong = argc >= 7 && strcmp(argv[6], "overlong") == 0;
    uint64_t t0 = stress_now_ns();
    unsigned long long kill_us = strtoull(argv[5], NULL, 10);
    if (kill_us > 0)
        arm_kill(kill_us);
    struct stress_child_args a = {argv[0], argv[1][0] == 'w', (uint32_t)strtoul(argv[2], NULL, 10),
                                  strtol(argv[3], NULL, 10), strtol(argv[4], NULL, 10)};
    setvbuf(stdout, NULL, _IOLBF, 0);

    shim_lib lib;
    char err[512];
    if (!shim_lib_load(&lib, a.library, err, sizeof err)) {
        printf("E load %s\n", err);
        return STRESS_RUNNER_ERROR;
    }
    uint64_t t1 = stress_now_ns();
    printf("A %llu\n", (unsigned long long)(t1 - t0));
    if (shim_lib_is_extended(&lib) && lib.x_attach_status() != DLLMEM_OK) {
        printf("E attach %s\n", lib.x_attach_reason());
        shim_lib_unload(&lib);
        return STRESS_RUNNER_ERROR;
    }

    size_t cap = shim_lib_is_extended(&lib) ? lib.x_capacity() : 2048;
    dllmem_unit *buf = malloc(2 * cap * sizeof *buf); /* room for over-long strings */
    if (buf == NULL)
        return STRESS_RUNNER_ERROR;
    uint32_t rng = a.id * 2654435761u ^ (uint32_t)getpid();
    if (rng == 0)
        rng = 1;
    long ops = 0, verified = 0, torn = 0;
    uint64_t deadline = t1 + (uint64_t)a.duration_ms * 1000000u;
    for (;;) {
        if (a.ops > 0 ? ops >= a.ops : stress_now_ns() >= deadline)
            break;
        if (a.writer) {
            uint32_t r = xorshift(&rng);
            if (overlong && r % 10u == 0) {
                make_overlong(buf, cap, a.id, (uint32_t)ops);
            } else {
                size_t len = SHIM_MSG_HEADER + r % (cap - SHIM_MSG_HEADER);
                shim_msg_make(buf, len, a.id, (uint32_t)ops);
            }
            lib.set(buf);
        } else {
            lib.get(buf, (uint32_t)cap);
            if (shim_msg_valid(buf, shim_ulen(buf))) {
                verified++;
            } else {
                torn++;
                ops++;
                printf("P %ld %ld %ld\n", ops, verified, torn); /* at once: we may be killed */
                continue;
            }
        }
        ops++;
        if (ops % PROGRESS_OPS == 0)
            printf("P %ld %ld %ld\n", ops, verified, torn);
    }
    free(buf);
    shim_lib_unload(&lib);
    /* Its own life so far (load, work, unload): what the parent's random
     * kill moments are drawn from. */
    printf("D %ld %ld %ld %llu\n", ops, verified, torn, (unsigned long long)(stress_now_ns() - t0));
    return STRESS_OK;
}

int stress_trivial_main(void) { return 0; }

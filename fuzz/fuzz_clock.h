/*
 * Virtual time for the library's POSIX backend in the fuzz builds: forced in
 * (-include) when fuzz/ compiles dll/src/posix/shm_posix.c, nowhere else.
 *
 * A fuzz target is one process with one thread, so whatever the backend waits
 * for (a dead writer's slot, asked about once per millisecond of waiting; a
 * lock holder's backoff) cannot change while it sleeps or yields: the wait is
 * pure loss. A hostile peer's writer word naming a dead slot cost every such
 * input 64 sched_yield calls and 1 ms of sleeps (several ms on a loaded
 * machine, where each yield runs other processes). Here a sleep returns at
 * once and moves the backend's monotonic clock forward by what it asked for,
 * and a yield returns at once, so every wait takes the same rounds, checks
 * and branches as in real time, in microseconds. libFuzzer's own clock and
 * timeouts are untouched.
 */
#ifndef DLLMEM_FUZZ_CLOCK_H
#define DLLMEM_FUZZ_CLOCK_H

#if !defined(_GNU_SOURCE)
#    define _GNU_SOURCE /* as shm_posix.c itself asks, before any system header */
#endif
#include <sched.h>
#include <time.h>

int fz_clock_gettime(clockid_t clock, struct timespec *ts);
int fz_nanosleep(const struct timespec *req, struct timespec *rem);
int fz_sched_yield(void);

#define clock_gettime fz_clock_gettime
#define nanosleep fz_nanosleep
#define sched_yield fz_sched_yield

#endif

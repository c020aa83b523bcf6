/*
 * Scaffolding shared by the GenMC models: the shipped protocol
 * (dll/src/seqlock.c, found on the include path, compiled as is) over a
 * stand-in backend, and the checks the models assert.
 *
 * Stand-in backend: the mapping is static memory (data area D, shadow area S
 * of CAP units each, and a control block), the writer lock is a
 * GenMC-modelled pthread mutex, yield does nothing. CAP = 9 units: two whole
 * 64-bit words and one trailing unit, so the copies' word path, their
 * trailing-unit path and the word holding a terminator are all exercised.
 *
 * A writer that stops: the thread marked as the stopper reads, once, a value
 * v that a helper thread stores as 1, 2, ..., STOP_POINTS + 1 (reads-from
 * nondeterminism explores every v, and the initial 0). v == 0: it completes;
 * otherwise it stops right after its (v-1)-th store to shared memory
 * (DLLMEM_MODEL_STORE follows each one in seqlock.c), or right after taking
 * the lock for v == 1. Stopping is a death: the thread exits holding nothing
 * more, and the lock it held is released, as the kernel releases a dead
 * process's lock (its death is ordered before whoever sees the lock free).
 * It then sets writer_gone (release) for threads that wait for the death.
 *
 * Probes: built with -DPROBE_K=k, a model asserts that no execution stops
 * after k stores and then repairs; GenMC must report that assertion for
 * every k in 0..STOP_POINTS, which proves each stop point is reached.
 */
#ifndef DLLMEM_MODEL_H
#define DLLMEM_MODEL_H

#include <assert.h>
#include <genmc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static void model_store(void);
#define DLLMEM_MODEL_STORE() model_store()
#include "seqlock.c"

#ifndef CAP
#    define CAP 9u
#endif

/* The mapping: D and S as words (with CAP 9, the last unit is a trailing one). */
static _Atomic uint64_t area_d[(CAP + 3u) / 4u], area_s[(CAP + 3u) / 4u];
static struct dllmem_ctl ctl;
static struct dllmem_segment seg;
static pthread_mutex_t writer_mutex; /* the backend's writer lock */

/* Strings: A has a surrogate pair across words 0 and 1 and, with CAP 9,
 * fills both words and ends in the trailing unit (with CAP 8 it is one unit
 * shorter); B ends inside word 1; C ends in word 1's last unit. */
static const dllmem_unit STR_EMPTY[] = {0};
#if CAP == 8
static const dllmem_unit STR_A[] = {'a', 'a', 'a', 0xD83D, 0xDE00, 'a', 'a', 0};
#else
static const dllmem_unit STR_A[] = {'a', 'a', 'a', 0xD83D, 0xDE00, 'a', 'a', 'a', 0};
#endif
static const dllmem_unit STR_B[] = {'b', 'b', 'b', 'b', 'b', 0};
static const dllmem_unit STR_C[] = {'c', 'c', 'c', 'c', 'c', 'c', 'c', 0};
enum { GOT_EMPTY = 1, GOT_A = 2, GOT_B = 4, GOT_C = 8 };

static size_t model_len(const dllmem_unit *s)
{
    size_t n = 0;
    while (s[n] != 0)
        n++;
    return n;
}

/* ---- stand-in backend ---------------------------------------------------- */

static _Thread_local int t_stop_after = -1; /* stores before this thread stops; -1 never */
static _Thread_local int t_stores;
static atomic_int stop_choice; /* the helper's 1 .. STOP_POINTS + 1 */
static atomic_int stopped_k1;  /* k + 1 once the stopper stopped after k stores */
static atomic_int writer_gone; /* the stopper finished or died */

static void model_die(void)
{
    atomic_store_explicit(&stopped_k1, t_stores + 1, memory_order_relaxed);
    pthread_mutex_unlock(&writer_mutex); /* the kernel drops a dead holder's lock */
    atomic_store_explicit(&writer_gone, 1, memory_order_release);
    pthread_exit(NULL);
}

static void model_store(void)
{
    if (t_stop_after >= 0 && ++t_stores == t_stop_after)
        model_die();
}

dllmem_status dllmem_os_writer_lock(struct dllmem_segment *s)
{
    (void)s;
    pthread_mutex_lock(&writer_mutex);
    if (t_stop_after == 0)
        model_die();
    return DLLMEM_OK;
}

void dllmem_os_writer_unlock(struct dllmem_segment *s)
{
    (void)s;
    pthread_mutex_unlock(&writer_mutex);
}

void dllmem_os_yield(void) {}

static void model_init(void)
{
    pthread_mutex_init(&writer_mutex, NULL);
    seg.base = (unsigned char *)area_d;
    seg.ctl = &ctl;
    seg.data = (dllmem_unit *)area_d;
    seg.shadow = (dllmem_unit *)area_s;
    seg.data_bytes = 2u * CAP;
    seg.capacity = CAP;
    seg.mapping_bytes = 2u * 2u * CAP + DLLMEM_CTL_BYTES;
}

/* ---- the exports' view ------------------------------------------------------ */

static void model_set(const dllmem_unit *s)
{
    dllmem_status st = dllmem_seq_store(&seg, s, (uint32_t)model_len(s));
    assert(st == DLLMEM_OK);
}

/* True when buf (cch units) holds what a Get of s must return: s cut
 * pair-safe to cch - 1 units, terminated, with s's full length. */
static bool model_is(const dllmem_unit *buf, size_t cch, size_t full, dllmem_status st,
                     const dllmem_unit *s)
{
    size_t len = model_len(s);
    size_t k = dllmem_pair_safe_cut(s, len, cch - 1u);
    if (full != len || buf[k] != 0 || st != (k == len ? DLLMEM_OK : DLLMEM_TRUNCATED))
        return false;
    for (size_t i = 0; i < k; i++)
        if (buf[i] != s[i])
            return false;
    return true;
}

/* A Get into a cch-unit buffer, lock-free for up to `tries` attempts. Returns
 * which string it got (one GOT_ bit); asserts it is one of `allowed`. */
static int model_get(int tries, size_t cch, int allowed)
{
    dllmem_unit buf[CAP];
    size_t full = 0;
    dllmem_status st = dllmem_seq_load(&seg, buf, cch, &full, tries);
    int got = model_is(buf, cch, full, st, STR_EMPTY) ? GOT_EMPTY
              : model_is(buf, cch, full, st, STR_A)   ? GOT_A
              : model_is(buf, cch, full, st, STR_B)   ? GOT_B
              : model_is(buf, cch, full, st, STR_C)   ? GOT_C
                                                      : 0;
    assert(got != 0 && "a Get returned a string no Set stored (torn or mixed)");
    assert((got & allowed) != 0 && "a Get returned a string it cannot see at this point");
    return got;
}

static const dllmem_unit *model_str(int got)
{
    return got == GOT_A ? STR_A : got == GOT_B ? STR_B : got == GOT_C ? STR_C : STR_EMPTY;
}

/* With every other thread ended: the segment is at rest as I1 says (seq
 * even, D holds the string `got` names, terminated, len_d its length), so
 * the data area the original example reads is whole, not only the copy a
 * Get returns. */
static void model_check_at_rest(int got)
{
    const dllmem_unit *s = model_str(got);
    size_t n = model_len(s);
    assert((atomic_load_explicit(&ctl.seq, memory_order_relaxed) & 1u) == 0 &&
           "at rest, seq is odd: the data area is not the current string");
    assert(atomic_load_explicit(&ctl.len_d, memory_order_relaxed) == n &&
           "at rest, len_d is not the current string's length");
    for (size_t i = 0; i <= n; i++)
        assert(dllmem_shared_unit(seg.data, CAP, i) == s[i] &&
               "at rest, the data area does not hold the current string");
}

/* ---- the stopping writer ------------------------------------------------------ */

#ifndef STOP_POINTS
#    define STOP_POINTS 10 /* stores of a Set of STR_A: S 3, len_s, seq, D 3, len_d, seq */
#endif

static void *model_stop_helper(void *arg)
{
    (void)arg;
    for (int v = 1; v <= STOP_POINTS + 1; v++)
        atomic_store_explicit(&stop_choice, v, memory_order_relaxed);
    return NULL;
}

/* Runs a Set of s that may stop after any number of its stores. */
static void model_set_may_stop(const dllmem_unit *s)
{
    t_stop_after = atomic_load_explicit(&stop_choice, memory_order_relaxed) - 1;
    model_set(s);
    t_stop_after = -1;
    atomic_store_explicit(&writer_gone, 1, memory_order_release);
}

/* Waits (GenMC: only executions where it holds) until the stopper is gone. */
static void model_await_writer_gone(void)
{
    __VERIFIER_assume(atomic_load_explicit(&writer_gone, memory_order_acquire) == 1);
}

/* The stop point the stopper reached: k, or -1 if it completed. */
static int model_stopped_after(void)
{
    return atomic_load_explicit(&stopped_k1, memory_order_relaxed) - 1;
}

static void model_probe(void)
{
#ifdef PROBE_K
    assert(model_stopped_after() != PROBE_K && "probe: stop point reached and repaired");
#endif
}

#endif /* DLLMEM_MODEL_H */

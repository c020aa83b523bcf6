/*
 * Model: writers and readers over the shipped protocol.
 *   -DWRITERS=1: one writer stores A, then B (-DSETS=2, the default: the
 *                second Set's shadow stores follow the first Set's odd
 *                phase), or A alone (-DSETS=1).
 *   -DWRITERS=2: one writer stores A, another B.
 *   -DREADERS=1 or 2: reader 1 reads into a whole buffer, lock-free for
 *                TRIES attempts (default 2) and then through the fallback;
 *                reader 2 reads into a CCH2-unit buffer (default 5: its cut
 *                falls inside A's surrogate pair) with TRIES2 attempts
 *                (default TRIES; 0 takes the fallback at once).
 *
 * Asserted:
 *   - every Get returns, whole (cut pair-safe to its buffer), a string some
 *     Set stored or the initial empty one: never a torn string or a mix;
 *   - a completed Set is visible to a later read: a reader that saw a
 *     writer's "done" flag (acquire, stored after its Set returned) gets that
 *     Set's string or a later one; after all threads end, a Get returns the
 *     last Set's string (one writer: its last; two: A or B, never empty),
 *     and the segment is at rest with that string in the data area.
 */
#include "model.h"

#ifndef WRITERS
#    define WRITERS 1
#endif
#ifndef READERS
#    define READERS 1
#endif
#ifndef TRIES
#    define TRIES 2
#endif
#ifndef SETS
#    define SETS 2
#endif
#ifndef CCH2
#    define CCH2 5
#endif
#ifndef TRIES2
#    define TRIES2 TRIES
#endif

static atomic_int done_1, done_2; /* Sets completed by writer 1, writer 2 */

static void *writer_1(void *arg)
{
    (void)arg;
    model_set(STR_A);
    atomic_store_explicit(&done_1, 1, memory_order_release);
#if WRITERS == 1 && SETS == 2
    model_set(STR_B);
    atomic_store_explicit(&done_1, 2, memory_order_release);
#endif
    return NULL;
}

static void *writer_2(void *arg)
{
    (void)arg;
    model_set(STR_B);
    atomic_store_explicit(&done_2, 1, memory_order_release);
    return NULL;
}

/* What a reader may see, given the done flags it acquired. */
static int visible(int d1, int d2)
{
    (void)d2;
#if WRITERS == 2
    return (d1 != 0 || d2 != 0) ? GOT_A | GOT_B : GOT_EMPTY | GOT_A | GOT_B;
#elif SETS == 2
    return d1 == 2 ? GOT_B : d1 == 1 ? GOT_A | GOT_B : GOT_EMPTY | GOT_A | GOT_B;
#else
    return d1 == 1 ? GOT_A : GOT_EMPTY | GOT_A;
#endif
}

static void *reader_1(void *arg)
{
    (void)arg;
    int d1 = atomic_load_explicit(&done_1, memory_order_acquire);
    int d2 = atomic_load_explicit(&done_2, memory_order_acquire);
    model_get(TRIES, CAP, visible(d1, d2));
    return NULL;
}

static void *reader_2(void *arg)
{
    (void)arg;
    int d1 = atomic_load_explicit(&done_1, memory_order_acquire);
    int d2 = atomic_load_explicit(&done_2, memory_order_acquire);
    model_get(TRIES2, CCH2, visible(d1, d2));
    return NULL;
}

int main(void)
{
    model_init();
    pthread_t w1, w2, r1, r2;
    pthread_create(&w1, NULL, writer_1, NULL);
#if WRITERS == 2
    pthread_create(&w2, NULL, writer_2, NULL);
#endif
    pthread_create(&r1, NULL, reader_1, NULL);
#if READERS == 2
    pthread_create(&r2, NULL, reader_2, NULL);
#endif
    pthread_join(w1, NULL);
#if WRITERS == 2
    pthread_join(w2, NULL);
#endif
    pthread_join(r1, NULL);
#if READERS == 2
    pthread_join(r2, NULL);
#endif
    model_check_at_rest(model_get(TRIES, CAP,
                                  WRITERS == 2 ? GOT_A | GOT_B
                                  : SETS == 2  ? GOT_B
                                               : GOT_A));
    (void)w2;
    (void)r2;
    (void)writer_2;
    (void)reader_2;
    return 0;
}

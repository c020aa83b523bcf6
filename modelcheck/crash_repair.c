/*
 * Model: a writer dies mid-Set, another thread repairs, a reader reads
 * lock-free throughout.
 *   The segment holds B. Writer P stores A and stops after k of its stores
 *   to shared memory, for every k in 0..STOP_POINTS (model.h; each k is
 *   proven reached by a probe run, -DPROBE_K=k). Once P is gone, thread R
 *   reads through the fallback at once (tries 0: writer lock, repair, read
 *   under the lock). Reader L reads lock-free (TRIES attempts, then the
 *   fallback) concurrently with P and R.
 *
 * Asserted:
 *   - L never returns a torn or mixed string, during the Set, the stop or
 *     the repair: it returns B or A whole (never empty: B was stored first);
 *   - the state after repair is a whole string: R returns A if P got past
 *     its odd seq store (S then holds A whole and repair finishes it), B
 *     otherwise; a Get after all threads end returns the same string, and
 *     the segment is at rest with it in the data area (seq even, len_d).
 */
#include "model.h"

#ifndef TRIES
#    define TRIES 2
#endif
/* P's store that makes seq odd: S (3 stores) and len_s come first. */
#define K_ODD 5

static atomic_int repaired; /* what R read (a GOT_ bit) */

static void *writer_p(void *arg)
{
    (void)arg;
    model_set_may_stop(STR_A);
    return NULL;
}

static void *repairer(void *arg)
{
    (void)arg;
    model_await_writer_gone();
    int k = model_stopped_after();
    int want = (k < 0 || k >= K_ODD) ? GOT_A : GOT_B;
    int got = model_get(0, CAP, GOT_A | GOT_B);
    assert(got == want && "repair did not leave the string the stopped Set implies");
    atomic_store_explicit(&repaired, got, memory_order_relaxed);
    model_probe();
    return NULL;
}

static void *reader_l(void *arg)
{
    (void)arg;
    model_get(TRIES, CAP, GOT_A | GOT_B);
    return NULL;
}

int main(void)
{
    model_init();
    model_set(STR_B);
    pthread_t h, p, r, l;
    pthread_create(&h, NULL, model_stop_helper, NULL);
    pthread_create(&p, NULL, writer_p, NULL);
    pthread_create(&r, NULL, repairer, NULL);
    pthread_create(&l, NULL, reader_l, NULL);
    pthread_join(h, NULL);
    pthread_join(p, NULL);
    pthread_join(r, NULL);
    pthread_join(l, NULL);
    int after = model_get(1, CAP, GOT_A | GOT_B);
    assert(after == atomic_load_explicit(&repaired, memory_order_relaxed) &&
           "the repaired string did not stay");
    model_check_at_rest(after);
    return 0;
}

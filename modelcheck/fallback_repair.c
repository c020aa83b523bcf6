/*
 * Model: a reader on the fallback path races a repair.
 *   The segment holds B. Writer P stores A and stops after k of its stores
 *   (every k, as in crash_repair.c). Once P is gone, two threads race for
 *   the writer lock: R1 stores C (its Set repairs first), R2 reads through
 *   the fallback at once (tries 0: lock, repair, read under the lock).
 *   Whichever comes first repairs P's Set.
 *
 * Asserted:
 *   - R2 returns A, B or C whole, never a torn or mixed string, and B or A
 *     only as the stopped Set implies (A if P got past its odd seq store);
 *   - R1's Set, completed, is what a Get after all threads end returns: C,
 *     and the segment is at rest with C in the data area (seq even, len_d).
 */
#include "model.h"

#define K_ODD 5 /* P's store that makes seq odd (see crash_repair.c) */

static void *writer_p(void *arg)
{
    (void)arg;
    model_set_may_stop(STR_A);
    return NULL;
}

static void *setter_r1(void *arg)
{
    (void)arg;
    model_await_writer_gone();
    model_set(STR_C);
    return NULL;
}

static void *fallback_r2(void *arg)
{
    (void)arg;
    model_await_writer_gone();
    int k = model_stopped_after();
    int before = (k < 0 || k >= K_ODD) ? GOT_A : GOT_B;
    model_get(0, CAP, before | GOT_C);
    model_probe();
    return NULL;
}

int main(void)
{
    model_init();
    model_set(STR_B);
    pthread_t h, p, r1, r2;
    pthread_create(&h, NULL, model_stop_helper, NULL);
    pthread_create(&p, NULL, writer_p, NULL);
    pthread_create(&r1, NULL, setter_r1, NULL);
    pthread_create(&r2, NULL, fallback_r2, NULL);
    pthread_join(h, NULL);
    pthread_join(p, NULL);
    pthread_join(r1, NULL);
    pthread_join(r2, NULL);
    model_check_at_rest(model_get(1, CAP, GOT_C));
    return 0;
}

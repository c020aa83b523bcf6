/* The --report sampler stays bounded and evenly spread: built with a buffer
 * of 8 samples, 1000 due samples 1 ms apart must leave at most 8, the first
 * one kept, equal spacing, and the last one within one interval of the end. */
#include "timeline.h"

#include <stdio.h>

int main(void)
{
    static struct stress_timeline tl;
    stress_timeline_init(&tl, 1000000u);
    long added = 0;
    for (long i = 0; i < 1000; i++) {
        uint64_t now = (uint64_t)i * 1000000u;
        if (stress_timeline_due(&tl, now)) {
            struct stress_sample s = {(double)i / 1000.0, 0, i, 0, 0, 0, 0, 0};
            stress_timeline_add(&tl, now, &s);
            added++;
        }
    }
    int bad = 0;
    long step = tl.n > 1 ? tl.s[1].finished - tl.s[0].finished : 0;
    for (int i = 0; i < tl.n; i++) {
        printf("%ld ", tl.s[i].finished);
        if (i > 0 && tl.s[i].finished - tl.s[i - 1].finished != step)
            bad = 1;
    }
    printf("| %d kept of %ld added, interval %llu ns\n", tl.n, added,
           (unsigned long long)tl.interval_ns);
    long last = tl.n > 0 ? tl.s[tl.n - 1].finished : -1;
    if (tl.n < 2 || tl.n > STRESS_TIMELINE_MAX || tl.s[0].finished != 0 || bad ||
        999 - last > (long)(tl.interval_ns / 1000000u)) {
        printf("FAIL: not a bounded, evenly spread series reaching the end\n");
        return 1;
    }
    return 0;
}

/* dllmem-stress --report DIR: a bounded time series the parent samples from
 * its own counters (never in a child), and the files it writes for plotting
 * (tools/report/stress.gp draws them). */
#ifndef DLLMEM_STRESS_TIMELINE_H
#define DLLMEM_STRESS_TIMELINE_H

#include <stdbool.h>
#include <stdint.h>

/* Cumulative counts at one instant of the run. */
struct stress_sample {
    double t_s;
    long alive, finished, killed, windows, repairs, reads, verified;
};

/* At most STRESS_TIMELINE_MAX samples, at least interval_ns apart. When it
 * fills, every other sample is dropped and the interval doubles, so a run of
 * any length keeps a bounded, evenly spread series (first sample kept). */
#ifndef STRESS_TIMELINE_MAX /* a test builds it small */
#    define STRESS_TIMELINE_MAX 4096
#endif
struct stress_timeline {
    struct stress_sample s[STRESS_TIMELINE_MAX];
    int n;
    uint64_t interval_ns, next_ns;
};

void stress_timeline_init(struct stress_timeline *tl, uint64_t interval_ns);
/* Whether a sample is due at now_ns (the final sample is added regardless). */
bool stress_timeline_due(const struct stress_timeline *tl, uint64_t now_ns);
void stress_timeline_add(struct stress_timeline *tl, uint64_t now_ns,
                         const struct stress_sample *s);

/* Writes DIR/timeline.tsv (the samples with per-interval rates) and
 * DIR/attach_us.tsv (one attach latency per line, in us), creating DIR.
 * Returns false, with errno set, if a file could not be written. */
bool stress_report_write(const char *dir, const struct stress_timeline *tl,
                         const uint64_t *attach_ns, long n_attach);

#endif

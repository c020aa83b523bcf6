/* The --report time series and its files (see timeline.h). */
#include "timeline.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#if defined(_WIN32)
#    include <direct.h>
#endif

void stress_timeline_init(struct stress_timeline *tl, uint64_t interval_ns)
{
    tl->n = 0;
    tl->interval_ns = interval_ns > 0 ? interval_ns : 1;
    tl->next_ns = 0;
}

bool stress_timeline_due(const struct stress_timeline *tl, uint64_t now_ns)
{
    return now_ns >= tl->next_ns;
}

void stress_timeline_add(struct stress_timeline *tl, uint64_t now_ns, const struct stress_sample *s)
{
    if (tl->n == STRESS_TIMELINE_MAX) {
        /* Keep samples 0, 2, 4, ...: the series stays evenly spread from the start. */
        int k = 0;
        for (int i = 0; i < tl->n; i += 2)
            tl->s[k++] = tl->s[i];
        tl->n = k;
        tl->interval_ns *= 2;
    }
    tl->s[tl->n++] = *s;
    tl->next_ns = now_ns + tl->interval_ns;
}

static double rate(long a, long b, double dt) { return dt > 0 ? (double)(b - a) / dt : 0; }

static FILE *open_in(const char *dir, const char *name)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    return fopen(path, "w");
}

bool stress_report_write(const char *dir, const struct stress_timeline *tl,
                         const uint64_t *attach_ns, long n_attach)
{
#if defined(_WIN32)
    int made = _mkdir(dir);
#else
    int made = mkdir(dir, 0777);
#endif
    if (made != 0 && errno != EEXIST)
        return false;
    FILE *f = open_in(dir, "timeline.tsv");
    if (f == NULL)
        return false;
    /* Rates are over the interval since the previous sample; the first row
     * has none, and neither has a final sample taken within half an interval
     * of the one before (NaN: gnuplot leaves it out rather than plot noise). */
    fprintf(f, "# t_s\talive\tfinished\tkilled\tkills_in_window\trepairs\treads\tverified"
               "\tchildren_per_s\treads_per_s\n");
    for (int i = 0; i < tl->n; i++) {
        const struct stress_sample *s = &tl->s[i], *p = i > 0 ? &tl->s[i - 1] : s;
        double dt = s->t_s - p->t_s;
        fprintf(f, "%.3f\t%ld\t%ld\t%ld\t%ld\t%ld\t%ld\t%ld\t", s->t_s, s->alive, s->finished,
                s->killed, s->windows, s->repairs, s->reads, s->verified);
        if (i > 0 && dt * 2e9 >= (double)tl->interval_ns)
            fprintf(f, "%.1f\t%.1f\n", rate(p->finished, s->finished, dt),
                    rate(p->reads, s->reads, dt));
        else
            fprintf(f, "NaN\tNaN\n");
    }
    bool ok = !ferror(f);
    ok = fclose(f) == 0 && ok;
    f = open_in(dir, "attach_us.tsv");
    if (f == NULL)
        return false;
    fprintf(f, "# attach latency (us), one child each\n");
    for (long i = 0; i < n_attach; i++)
        fprintf(f, "%.1f\n", (double)attach_ns[i] / 1000.0);
    ok = !ferror(f) && ok;
    ok = fclose(f) == 0 && ok;
    return ok;
}

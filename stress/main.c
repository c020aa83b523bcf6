/*
 * dllmem-stress: many child processes load the library at once, write and
 * read self-checking messages, get killed at random (or, with --kill-in-set,
 * inside their own write window), and the parent reports torn and lost reads,
 * lost Sets, repairs, wedges, leaks, attach latency and throughput. Exit 0
 * only when nothing was violated and the run gathered enough evidence: reads
 * verified, reads that overlapped a write, repairs; below those floors the
 * verdict is "inconclusive" (exit 4).
 */
#define _GNU_SOURCE
#include "shim.h"
#include "stress.h"
#include "timeline.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#if !defined(_WIN32)
#    include <sys/resource.h>
#    include <sys/wait.h>
#else
#    define RUSAGE_SELF 0
#    define RUSAGE_CHILDREN 1
#endif
#if defined(_WIN32)
#    include <windows.h>
#endif

#ifndef STRESS_DEFAULT_LIBRARY
#    define STRESS_DEFAULT_LIBRARY ""
#endif
#ifndef STRESS_EMPTY_LIBRARY
#    define STRESS_EMPTY_LIBRARY ""
#endif

struct options {
    const char *library;
    const char *json;
    const char *report_dir;      /* --report: time series and latencies for plots */
    const char *attach_baseline; /* --attach-baseline: the empty library, or NULL */
    char name[128];
    long children, parallel, writers, ops, size;
    double duration_s, kill_rate, wedge_s;
    double kill_in_set; /* fraction of writers killed in their window; < 0: off */
    long min_verified, min_overlap, min_repairs;
    unsigned seed;
    bool quiet, overlong;
    bool fork_mode; /* --fork: children forked from a zygote, not exec'd */
    bool by_ticks;  /* --aim-by-ticks: kill-in-Set without the watchpoint */
    bool trap_ok;   /* this runner's shim_aim_probe granted the watchpoint */
    /* --shard I/N: this run is children [first, first + count) of the whole
     * run's `children`; each child's random draws depend only on (seed, its
     * index), so N shards together are the unsharded run's children. */
    long shard_index, shard_count, first, count;
    long run_min_verified, run_min_overlap, run_min_repairs; /* the whole run's floors */
};

/* One live child as the parent sees it. */
struct worker {
    shim_child c;
    bool used, writer, killed_by_us, wedged, done, errored;
    uint64_t start_ns, last_ns;
    long ops, verified, torn, lost, untouched, overlapped, changed, initial_empty;
    uint64_t life_ns; /* as the child measured it, from its D line */
    char line[512];
    size_t llen;
};

struct totals {
    long started, finished, killed, kills_missed, crashed, wedges, errors_attach, errors_exit,
        errors_other;
    long ops, verified, torn, lost, untouched, overlapped, changed, initial_empty;
    /* Set accounting: Sets writers saw return, writers that did not finish
     * (each may have completed one more Set than it reported). */
    long sets_reported, writers_unfinished;
    /* Kill-in-Set: the odd sequences writers died in (K lines). */
    uint32_t *windows;
    long n_windows, max_windows, repairs;
    /* Of those, the ones a watchpoint placed (K lines with a store): right
     * after the odd seq (data area untouched), after a data-area word, and
     * after len_d (data area whole). */
    long watched_before, watched_amid, watched_after;
    /* The holder: sequence before and after, and its final read. */
    bool held, accounted;
    unsigned long long seq_before, seq_after;
    char final_kind[16];
    size_t final_len;
    long lost_sets, phantom_sets;
    long writers_started, kills_planned; /* fixed by the seed, whatever the timing */
    long aimed;          /* writers aimed at their write window (fixed by the seed too) */
    uint64_t *attach_ns; /* room for max_attach entries, NULL for the baseline */
    long n_attach, max_attach;
    /* Per attach: its latency, of that on a CPU and in a run queue (ns), and
     * its voluntary and involuntary context switches; n_split of them. */
    unsigned long long (*attach_split)[5];
    long n_split;
    double wall_s, children_per_s, baseline_per_s;
    /* Where a fleet's time went, to compare with the baseline's: CPU of its
     * reaped children and of the runner, and the runner's wall time spent
     * spawning, waiting for output, and reading/reaping (POSIX; 0 elsewhere). */
    double child_cpu_s, self_cpu_s, spawn_s, wait_s, reap_s;
    long loops;
    struct totals *base;        /* the baseline's, for the report */
    struct totals *attach_base; /* --attach-baseline's fleet, or NULL */
    bool leaked_segment, probe_empty, probe_ran, leaked_fds, leaked_children;
    bool zygote_hung;    /* --fork: the zygote did not exit when told */
    double zygote_cpu_s; /* --fork: the zygote's CPU, whole run */
};

static uint32_t g_rng;
static uint32_t rnd(void) { return shim_rand(&g_rng); }

/* Child i's own stream: its draws depend on (seed, i) only, never on which
 * shard runs it or how many children came before it in this process. */
static void seed_child(unsigned seed, long i)
{
    uint64_t z = ((uint64_t)seed << 32 | (uint32_t)i) + 0x9E3779B97F4A7C15u;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    z ^= z >> 31;
    g_rng = (uint32_t)z | 1u; /* xorshift state must not be 0 */
}

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: dllmem-stress [options]\n"
        "  --library PATH     library under test (default: the dllmem build beside this binary)\n"
        "  --children N       children in all (default 2000)\n"
        "  --parallel P       alive at once (default 32)\n"
        "  --writers W        writers among every P children (default 4)\n"
        "  --ops K            operations per child (default 200)\n"
        "  --duration S       seconds per child instead of --ops\n"
        "  --size BYTES       DLLMEM_SIZE for the children (default: library default)\n"
        "  --kill-rate R      fraction of children SIGKILLed at a random moment (default 0.05)\n"
        "  --wedge-timeout S  a child silent this long is a wedge (default 10)\n"
        "  --seed N           random seed (default 1)\n"
        "  --shard I/N        run only shard I (0-based) of N: a disjoint block of the\n"
        "                     --children, each child drawing from (seed, its index);\n"
        "                     merge the shards' JSON with dllmem-check --merge\n"
        "  --name NAME        segment name (default dllmem-stress-PID)\n"
        "  --json FILE        also write the report as JSON\n"
        "  --report DIR       also write DIR/stress.json, DIR/timeline.tsv (counts and rates\n"
        "                     over time) and DIR/attach_us.tsv, for tools/report/stress.gp\n"
        "  --overlong         one Set in ten stores a string of twice the capacity\n"
        "  --kill-in-set [F]  kill a fraction F (default 1) of writers inside their own\n"
        "                     write window, so the next writer must repair; each dies\n"
        "                     right after a store of its next Set's window chosen at\n"
        "                     random, placed by a hardware watchpoint (Linux)\n"
        "  --aim-by-ticks     aim those kills by 40 us timer ticks alone, as where the\n"
        "                     kernel refuses the watchpoint: slower, and rarely before\n"
        "                     the window's first data store\n"
        "  --min-verified N   inconclusive below N verified non-empty reads (default 1000)\n"
        "  --min-overlap N    inconclusive below N reads that overlapped a write (default 20)\n"
        "  --min-repairs N    with --kill-in-set: inconclusive below N repairs (default 1)\n"
        "  --fork             fork children from a zygote that has not loaded the library\n"
        "                     (each loads it after the fork) instead of exec'ing them;\n"
        "                     the spawn-only baseline is forked too (POSIX only)\n"
        "  --attach-baseline[=PATH]  also run a fleet of the same shape whose children\n"
        "                     each load a library that does nothing (default: the one\n"
        "                     built beside this binary), timed as an attach: the same\n"
        "                     run's floor for the attach latency (under the same load\n"
        "                     when the workers do little more than load)\n"
        "  --quiet            no progress lines\n"
        "exit: 0 clean, 1 violations, 2 usage, 3 runner error, 4 inconclusive\n");
}

static bool parse_long(const char *s, long lo, long hi, long *out)
{
    if (s == NULL)
        return false;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *s == '\0' || *end != '\0' || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool parse_double(const char *s, double lo, double hi, double *out)
{
    if (s == NULL)
        return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || *s == '\0' || *end != '\0' || !(v >= lo && v <= hi))
        return false;
    *out = v;
    return true;
}

static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longs[] = {
        {"library", 1, 0, 'l'},
        {"children", 1, 0, 'n'},
        {"parallel", 1, 0, 'p'},
        {"writers", 1, 0, 'w'},
        {"ops", 1, 0, 'k'},
        {"duration", 1, 0, 'd'},
        {"size", 1, 0, 's'},
        {"kill-rate", 1, 0, 'r'},
        {"wedge-timeout", 1, 0, 't'},
        {"seed", 1, 0, 'S'},
        {"name", 1, 0, 'N'},
        {"json", 1, 0, 'j'},
        {"quiet", 0, 0, 'q'},
        {"help", 0, 0, 'h'},
        {"overlong", 0, 0, 'o'},
        {"kill-in-set", 2, 0, 'K'},
        {"min-verified", 1, 0, 'V'},
        {"min-overlap", 1, 0, 'O'},
        {"min-repairs", 1, 0, 'R'},
        {"shard", 1, 0, 'X'},
        {"aim-by-ticks", 0, 0, 1002},
        {"fork", 0, 0, 1001},
        {"report", 1, 0, 1000},
        {"attach-baseline", 2, 0, 1003},
        {0, 0, 0, 0},
    };
    memset(o, 0, sizeof *o);
    o->library = STRESS_DEFAULT_LIBRARY;
    o->children = 2000;
    o->parallel = 32;
    o->writers = 4;
    o->ops = 200;
    o->kill_rate = 0.05;
    o->wedge_s = 10;
    o->seed = 1;
    o->kill_in_set = -1;
    o->min_verified = 1000;
    o->min_overlap = 20;
    o->min_repairs = 1;
    o->shard_count = 1;
    snprintf(o->name, sizeof o->name, "dllmem-stress-%ld", (long)getpid());
    int ch;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        const char *bad = NULL, *value = optarg;
        switch (ch) {
        case 'l': o->library = optarg; break;
        case 'n':
            if (!parse_long(optarg, 1, 10000000, &o->children))
                bad = "--children";
            break;
        case 'p':
            if (!parse_long(optarg, 1, 1024, &o->parallel))
                bad = "--parallel";
            break;
        case 'w':
            if (!parse_long(optarg, 0, 1024, &o->writers))
                bad = "--writers";
            break;
        case 'k':
            if (!parse_long(optarg, 1, 1000000000, &o->ops))
                bad = "--ops";
            break;
        case 'd':
            if (!parse_double(optarg, 0.001, 86400, &o->duration_s))
                bad = "--duration";
            break;
        case 's':
            if (!parse_long(optarg, 64, 1073741824, &o->size) || (o->size & 1))
                bad = "--size";
            break;
        case 'r':
            if (!parse_double(optarg, 0, 1, &o->kill_rate))
                bad = "--kill-rate";
            break;
        case 't':
            if (!parse_double(optarg, 0.1, 3600, &o->wedge_s))
                bad = "--wedge-timeout";
            break;
        case 'S': {
            /* Not parse_long: a long has 32 bits on Windows. */
            char *end = NULL;
            errno = 0;
            unsigned long long seed = optarg != NULL ? strtoull(optarg, &end, 10) : 0;
            if (end != NULL && errno == 0 && optarg[0] >= '0' && optarg[0] <= '9' && *end == '\0' &&
                seed <= 0xFFFFFFFFu)
                o->seed = (unsigned)seed;
            else
                bad = "--seed";
            break;
        }
        case 'N':
            if (optarg == NULL || strlen(optarg) == 0 || strlen(optarg) >= sizeof o->name ||
                strchr(optarg, '/'))
                bad = "--name";
            else
                snprintf(o->name, sizeof o->name, "%s", optarg);
            break;
        case 'j': o->json = optarg; break;
        case 1000: o->report_dir = optarg; break;
        case 1001:
#if defined(_WIN32)
            bad = "--fork is POSIX only";
#elif defined(SHIM_TSAN)
            bad = "--fork is not available in a ThreadSanitizer build: the zygote could inherit "
                  "a lock held by one of the runtime's threads";
#endif
            o->fork_mode = true;
            break;
        case 1002: o->by_ticks = true; break;
        case 1003: {
            /* Only "--attach-baseline=PATH" takes a path: a bare one is the build's. */
            const char *path = optarg != NULL ? optarg : STRESS_EMPTY_LIBRARY;
            bool bare = strchr(path, '/') == NULL && strchr(path, '\\') == NULL;
            if (path[0] == '\0' || (!bare && access(path, R_OK) != 0)) {
                fprintf(stderr, "dllmem-stress: cannot read the attach baseline's library \"%s\"\n",
                        path);
                return STRESS_USAGE;
            }
            o->attach_baseline = path;
            break;
        }
        case 'q': o->quiet = true; break;
        case 'o': o->overlong = true; break;
        case 'K': {
            /* Optional value: "--kill-in-set=F", or "--kill-in-set F" when F is a number. */
            const char *f = optarg;
            if (f == NULL && optind < argc && argv[optind][0] != '-')
                value = f = argv[optind++];
            if (f == NULL)
                o->kill_in_set = 1;
            else if (!parse_double(f, 0, 1, &o->kill_in_set))
                bad = "--kill-in-set";
            break;
        }
        case 'V':
            if (!parse_long(optarg, 0, 1000000000, &o->min_verified))
                bad = "--min-verified";
            break;
        case 'O':
            if (!parse_long(optarg, 0, 1000000000, &o->min_overlap))
                bad = "--min-overlap";
            break;
        case 'R':
            if (!parse_long(optarg, 0, 1000000000, &o->min_repairs))
                bad = "--min-repairs";
            break;
        case 'X': {
            char *slash = optarg != NULL ? strchr(optarg, '/') : NULL;
            if (slash == NULL) {
                bad = "--shard";
                break;
            }
            *slash = '\0';
            bool ok = parse_long(optarg, 0, 1000000, &o->shard_index) &&
                      parse_long(slash + 1, 1, 1000000, &o->shard_count) &&
                      o->shard_index < o->shard_count;
            *slash = '/';
            if (!ok)
                bad = "--shard";
            break;
        }
        case 'h': usage(stdout); exit(STRESS_OK);
        default:
            fprintf(stderr, "dllmem-stress: unknown option %s (try --help)\n", argv[optind - 1]);
            return STRESS_USAGE;
        }
        if (bad != NULL && value == NULL) { /* an option without a value */
            fprintf(stderr, "dllmem-stress: %s\n", bad);
            return STRESS_USAGE;
        }
        if (bad != NULL) {
            fprintf(stderr, "dllmem-stress: invalid value \"%s\" for %s\n", value, bad);
            return STRESS_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "dllmem-stress: unexpected argument \"%s\"\n", argv[optind]);
        return STRESS_USAGE;
    }
    /* Shard I of N: children [I*C/N, (I+1)*C/N), every one in exactly one shard. */
    o->first = (long)((long long)o->children * o->shard_index / o->shard_count);
    o->count = (long)((long long)o->children * (o->shard_index + 1) / o->shard_count) - o->first;
    if (o->count < 1) {
        fprintf(stderr, "dllmem-stress: shard %ld/%ld of %ld children is empty\n", o->shard_index,
                o->shard_count, o->children);
        return STRESS_USAGE;
    }
    o->run_min_verified = o->min_verified;
    o->run_min_overlap = o->min_overlap;
    o->run_min_repairs = o->min_repairs;
    if (o->shard_count > 1) {
        /* Each shard needs its share of the evidence; the merge applies the
         * whole floors to the whole run. */
        o->min_verified = (o->min_verified + o->shard_count - 1) / o->shard_count;
        o->min_overlap = (o->min_overlap + o->shard_count - 1) / o->shard_count;
        o->min_repairs = (o->min_repairs + o->shard_count - 1) / o->shard_count;
    }
    if (o->writers > o->parallel) {
        fprintf(stderr, "dllmem-stress: --writers (%ld) exceeds --parallel (%ld)\n", o->writers,
                o->parallel);
        return STRESS_USAGE;
    }
    /* A bare file name is left to the loader's search (the .exe's folder on
     * Windows); a path must exist. */
    bool bare = strchr(o->library, '/') == NULL && strchr(o->library, '\\') == NULL;
    if (o->library[0] == '\0' || (!bare && access(o->library, R_OK) != 0)) {
        fprintf(stderr, "dllmem-stress: cannot read library \"%s\" (use --library)\n", o->library);
        return STRESS_USAGE;
    }
    return STRESS_OK;
}

static void env_for_children(const struct options *o, char envbuf[2][160], const char *envp[3])
{
    snprintf(envbuf[0], 160, "DLLMEM_NAME=%s", o->name);
    int n = 0;
    envp[n++] = envbuf[0];
    if (o->size > 0) {
        snprintf(envbuf[1], 160, "DLLMEM_SIZE=%ld", o->size);
        envp[n++] = envbuf[1];
    }
    envp[n] = NULL;
}

/* Reads up to n unsigned numbers after the line's tag; returns how many. */
static int numbers(const char *line, unsigned long long *out, int n)
{
    const char *p = line + 1;
    int got = 0;
    while (got < n) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(p, &end, 10);
        if (end == p || errno != 0)
            break;
        out[got++] = v;
        p = end;
    }
    return got;
}

#if defined(_WIN32)
#    define NO_WATCHPOINT "" /* no aimed kills on Windows: plain ones */
#else
#    define NO_WATCHPOINT                                                                          \
        "; by ticks: no trapping watchpoint here (the machine refused it, or a ThreadSanitizer "   \
        "build)"
#endif

/* Parses one line a worker sent (the protocol is in shim.h). */
static void on_line(struct worker *w, const char *line, struct totals *t)
{
    unsigned long long v[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
    w->last_ns = shim_now_ns();
    if (line[0] == 'A' && numbers(line, v, 5) == 5) {
        if (t->attach_ns != NULL && t->n_attach < t->max_attach) {
            t->attach_ns[t->n_attach++] = v[0];
            memcpy(t->attach_split[t->n_split++], v, sizeof t->attach_split[0]);
        }
    } else if (line[0] == 'A' && numbers(line, v, 1) == 1) {
        if (t->attach_ns != NULL && t->n_attach < t->max_attach)
            t->attach_ns[t->n_attach++] = v[0];
    } else if ((line[0] == 'P' && numbers(line, v, 8) == 8) ||
               (line[0] == 'D' && numbers(line, v, 9) == 9)) {
        w->ops = (long)v[0];
        w->verified = (long)v[1];
        w->torn = (long)v[2];
        w->lost = (long)v[3];
        w->untouched = (long)v[4];
        w->overlapped = (long)v[5];
        w->changed = (long)v[6];
        w->initial_empty = (long)v[7];
        w->done = line[0] == 'D';
        if (w->done)
            w->life_ns = v[8];
    } else if (line[0] == 'K') {
        int k = numbers(line, v, 3);
        if (k >= 1 && t->windows != NULL && t->n_windows < t->max_windows)
            t->windows[t->n_windows++] = (uint32_t)v[0];
        if (k == 3 && v[1] < v[2]) {
            t->watched_before += v[1] == 0;
            t->watched_amid += v[1] > 0 && v[1] + 1 < v[2];
            t->watched_after += v[1] > 0 && v[1] + 1 == v[2];
        }
    } else if (strncmp(line, "E attach", 8) == 0) {
        w->errored = true;
        t->errors_attach++;
        if (t->errors_attach <= 3)
            fprintf(stderr, "dllmem-stress: child: %s\n", line);
    } else if (line[0] == 'E') {
        w->errored = true;
        t->errors_other++;
        if (t->errors_other <= 3)
            fprintf(stderr, "dllmem-stress: child: %s\n", line);
    }
}

/* Reads what is available; returns false at EOF. */
static bool drain(struct worker *w, struct totals *t)
{
    char buf[4096];
    for (;;) {
        long n = shim_child_read_some(&w->c, buf, sizeof buf);
        if (n == 0)
            return true;
        if (n < 0)
            return false;
        for (long i = 0; i < n; i++) {
            if (buf[i] == '\n') {
                w->line[w->llen] = 0;
                on_line(w, w->line, t);
                w->llen = 0;
            } else if (buf[i] != '\r' && w->llen + 1 < sizeof w->line) {
                w->line[w->llen++] = buf[i];
            }
        }
    }
}

static void progress(const struct options *o, const struct totals *t, long alive, uint64_t t0,
                     bool final)
{
    static uint64_t last;
    uint64_t now = shim_now_ns();
    bool tty = isatty(STDERR_FILENO);
    if (o->quiet || (!final && now - last < (tty ? 200000000u : 2000000000u)))
        return;
    last = now;
    double secs = (double)(now - t0) / 1e9;
    fprintf(stderr,
            "%schildren %ld/%ld alive %ld killed %ld in-window %ld torn %ld lost %ld wedges %ld  "
            "%.0f children/s%s",
            tty ? "\r" : "", t->finished, t->started > 0 ? o->count : 0, alive, t->killed,
            t->n_windows, t->torn, t->lost + t->untouched, t->wedges,
            secs > 0 ? (double)t->finished / secs : 0.0, tty && !final ? "  " : "\n");
}

/* --report: the parent's counters over time (NULL without --report), and the
 * holder's view of the sequence word, to tell which windows are repaired. */
static struct stress_timeline *g_timeline;
static const shim_peer *g_peer;

/* Kill-in-Set windows repaired by now: a sequence left odd by a dead writer
 * moves on only by a repair. */
static long repaired(const struct totals *t, uint32_t now)
{
    long n = 0;
    for (long i = 0; i < t->n_windows; i++) {
        uint32_t ahead = now - t->windows[i];
        if (ahead != 0 && ahead < 0x80000000u)
            n++;
    }
    return n;
}

/* One sample when due (always when final); reads are the readers' operations. */
static void timeline_sample(const struct totals *t, long alive, uint64_t t0, bool final)
{
    uint64_t now = shim_now_ns();
    if (g_timeline == NULL || (!final && !stress_timeline_due(g_timeline, now)))
        return;
    long repairs = g_peer != NULL && g_peer->seq != NULL ? repaired(t, shim_peer_seq(g_peer)) : 0;
    struct stress_sample s = {
        (double)(now - t0) / 1e9,  alive,      t->finished, t->killed, t->n_windows, repairs,
        t->ops - t->sets_reported, t->verified};
    stress_timeline_add(g_timeline, now, &s);
}

/* CPU seconds (user + system) of this process or of its reaped children. */
static double cpu_s(int who)
{
#if defined(_WIN32)
    (void)who;
    return 0;
#else
    struct rusage ru;
    if (getrusage(who, &ru) != 0)
        return 0;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
#endif
}

/* Spawns `children` children `parallel` at a time and runs them to the end.
 * role "worker" is a worker, "trivial" the baseline. Returns false on a runner
 * error. */
static bool run_fleet(const struct options *o, const char *role, struct totals *t)
{
    char envbuf[2][160];
    const char *envp[3];
    env_for_children(o, envbuf, envp);
    bool workers = strcmp(role, "worker") == 0;
    struct worker *ws = calloc((size_t)o->parallel, sizeof *ws);
    shim_child **live = calloc((size_t)o->parallel, sizeof(shim_child *));
    if (ws == NULL || live == NULL) {
        free(ws);
        free(live);
        return false;
    }
    uint64_t t0 = shim_now_ns(), life_sum = 0;
    long alive = 0, life_n = 0;
    double cpu0_children = cpu_s(RUSAGE_CHILDREN), cpu0_self = cpu_s(RUSAGE_SELF);
    uint64_t wedge_ns = (uint64_t)(o->wedge_s * 1e9);
    bool ok = true;
    while (t->finished < o->count && ok) {
        uint64_t ta = shim_now_ns();
        t->loops++;
        for (long s = 0; s < o->parallel && alive < o->parallel && t->started < o->count; s++) {
            struct worker *w = &ws[s];
            if (w->used)
                continue;
            memset(w, 0, sizeof *w);
            long i = o->first + t->started; /* the child's index in the whole run */
            seed_child(o->seed, i);
            w->writer = (i % o->parallel) < o->writers;
            char id[24], ops[24], dur[24], kill_us[24];
            snprintf(id, sizeof id, "%ld", i + 1);
            snprintf(ops, sizeof ops, "%ld", o->duration_s > 0 ? 0 : o->ops);
            snprintf(dur, sizeof dur, "%ld", (long)(o->duration_s * 1000));
            uint64_t kill_after = 0;
            bool aimed = workers && w->writer && o->kill_in_set >= 0 &&
                         (double)(rnd() % 1000000u) < o->kill_in_set * 1e6;
            if (aimed) {
                /* From a moment within its first 2 ms on, the first instant
                 * inside its own write window; it writes until then (the
                 * child gives up aiming after about a second, and its
                 * duration bounds it). */
                kill_after = 1u + rnd() % 2000u;
                snprintf(ops, sizeof ops, "0");
                snprintf(dur, sizeof dur, "5000");
            } else if (workers && (double)(rnd() % 1000000u) < o->kill_rate * 1e6) {
                /* A random moment in a typical child's life: loading, attaching,
                 * mid-Set, mid-Get or detaching. The child's own timer delivers
                 * it, since this parent cannot be scheduled that precisely. */
                uint64_t life = life_n > 0 ? life_sum / (uint64_t)life_n : 3000000u;
                kill_after = 1u + rnd() % (life / 1000u + 1u);
            }
            snprintf(kill_us, sizeof kill_us, "%llu", (unsigned long long)kill_after);
            const char *args[] = {
                o->library, w->writer ? "w" : "r", id, ops, dur, kill_us, NULL, NULL, NULL, NULL};
            int na = 6;
            if (o->overlong)
                args[na++] = "overlong";
            if (aimed)
                args[na++] = "killinset";
            if (aimed && (o->by_ticks || !o->trap_ok))
                args[na++] = "byticks";
            else if (aimed)
                args[na++] = "trapok"; /* one probe for the run, not one per writer */
            const char *load_args[] = {o->attach_baseline, NULL};
            const char *const *role_args = workers                     ? args
                                           : strcmp(role, "load") == 0 ? load_args
                                                                       : NULL;
            if (!shim_spawn_role(&w->c, role, role_args, envp)) {
                fprintf(stderr, "dllmem-stress: cannot spawn a child: %s\n", strerror(errno));
                ok = false;
                break;
            }
            w->used = true;
            w->killed_by_us = kill_after != 0;
            t->kills_planned += w->killed_by_us;
            t->aimed += aimed;
            t->writers_started += workers && w->writer;
            w->start_ns = w->last_ns = shim_now_ns();
            t->started++;
            alive++;
        }
        int n = 0;
        for (long s = 0; s < o->parallel; s++)
            if (ws[s].used)
                live[n++] = &ws[s].c;
        uint64_t tb = shim_now_ns();
        shim_children_wait_any(live, n, 20);
        uint64_t now = shim_now_ns();
        t->spawn_s += (double)(tb - ta) / 1e9;
        t->wait_s += (double)(now - tb) / 1e9;
        for (long k = 0; k < o->parallel; k++) {
            struct worker *w = &ws[k];
            if (!w->used || drain(w, t))
                continue;
            int rc = shim_child_reap(&w->c);
            if (w->killed_by_us && rc == 128 + SIGKILL) {
                t->killed++;
            } else if (w->killed_by_us && rc == 0 && w->done) {
                t->kills_missed++; /* finished before its moment came */
            } else if (w->wedged || w->errored) {
                /* counted when flagged or reported */
            } else if (rc >= 128) {
                t->crashed++;
                if (t->crashed <= 3)
                    fprintf(stderr, "dllmem-stress: child %d died of signal %d\n", w->c.pid,
                            rc - 128);
            } else if (rc != 0 || (workers && !w->done)) {
                t->errors_exit++;
            } else if (w->life_ns > 0) {
                life_sum += w->life_ns;
                life_n++;
            }
            t->ops += w->ops;
            t->verified += w->verified;
            t->torn += w->torn;
            t->lost += w->lost;
            t->untouched += w->untouched;
            t->overlapped += w->overlapped;
            t->changed += w->changed;
            t->initial_empty += w->initial_empty;
            if (workers && w->writer) {
                t->sets_reported += w->ops;
                if (!w->done)
                    t->writers_unfinished++; /* one more Set may have landed */
            }
            w->used = false;
            alive--;
            t->finished++;
        }
        for (long s = 0; s < o->parallel; s++) {
            struct worker *w = &ws[s];
            if (!w->used || w->wedged)
                continue;
            if (now > w->last_ns && now - w->last_ns > wedge_ns) {
                t->wedges++;
                w->wedged = true;
                if (t->wedges <= 5)
                    fprintf(stderr, "dllmem-stress: child %d made no progress for %.1f s: wedge\n",
                            w->c.pid, o->wedge_s);
                shim_child_kill(&w->c, SIGKILL);
            }
        }
        t->reap_s += (double)(shim_now_ns() - now) / 1e9;
        if (workers) {
            progress(o, t, alive, t0, false);
            timeline_sample(t, alive, t0, false);
        }
    }
    t->wall_s = (double)(shim_now_ns() - t0) / 1e9;
    t->child_cpu_s = cpu_s(RUSAGE_CHILDREN) - cpu0_children;
    t->self_cpu_s = cpu_s(RUSAGE_SELF) - cpu0_self;
    t->children_per_s = t->wall_s > 0 ? (double)t->finished / t->wall_s : 0;
    if (workers) {
        progress(o, t, alive, t0, true);
        timeline_sample(t, alive, t0, true);
    }
    free(ws);
    free(live);
    if (!ok)
        shim_reap_all();
    return ok;
}

/* Splits the next space-separated token off *p into tok; false at the end. */
static bool token(const char **p, char *tok, size_t len)
{
    while (**p == ' ')
        (*p)++;
    size_t n = 0;
    while (**p != '\0' && **p != ' ' && **p != '\r' && **p != '\n') { /* CRLF on Windows */
        if (n + 1 < len)
            tok[n++] = **p;
        (*p)++;
    }
    tok[n] = '\0';
    return n > 0;
}

/* A whole unsigned decimal token; false for "-" or anything else. */
static bool unsigned_token(const char *tok, unsigned long long *v)
{
    char *end;
    errno = 0;
    *v = strtoull(tok, &end, 10);
    return errno == 0 && tok[0] >= '0' && tok[0] <= '9' && *end == '\0';
}

/* The holder: attached before the first worker and until after the last, so
 * the segment (and its sequence, the count of completed Sets) lives through
 * the whole run. POSIX stops it with SIGTERM, Windows with a named event. */
struct holder {
    shim_child c;
    bool running;
    shim_peer peer; /* the runner's own view of the sequence word */
#if defined(_WIN32)
    HANDLE stop;
#endif
};

static void holder_start(const struct options *o, struct holder *h, struct totals *t)
{
    memset(h, 0, sizeof *h);
    char envbuf[2][160];
    const char *envp[3];
    env_for_children(o, envbuf, envp);
#if defined(_WIN32)
    char event[192], pid[24];
    snprintf(event, sizeof event, "Local\\%s.stress-stop", o->name);
    snprintf(pid, sizeof pid, "%lu", (unsigned long)GetCurrentProcessId());
    h->stop = CreateEventA(NULL, TRUE, FALSE, event);
    if (h->stop == NULL) {
        fprintf(stderr, "dllmem-stress: cannot create the holder's stop event (error %lu)\n",
                (unsigned long)GetLastError());
        t->errors_other++;
        return;
    }
    const char *args[] = {o->library, event, pid, NULL};
#else
    const char *args[] = {o->library, NULL};
#endif
    if (!shim_spawn_role(&h->c, "holder", args, envp))
        return;
    h->running = true;
    char line[128], seq[32], capacity[32];
    unsigned long long cap = 0;
    const char *p = line + 1;
    if (shim_child_read_line(&h->c, 30000, line, sizeof line) && line[0] == 'H' &&
        token(&p, seq, sizeof seq) && token(&p, capacity, sizeof capacity) &&
        unsigned_token(capacity, &cap)) {
        t->held = true;
        t->accounted = unsigned_token(seq, &t->seq_before); /* "-": no dllmem_get_info */
    } else {
        fprintf(stderr, "dllmem-stress: the holder did not attach: %s\n", line);
        t->errors_other++;
    }
    shim_peer_open(&h->peer, o->name, (size_t)cap);
}

/* Stops the holder: its final line gives the sequence after the run and what
 * a last read found. Also decides which kill-in-Set windows were repaired:
 * a sequence left odd by a dead writer moves on only by a repair. */
static void holder_stop(struct holder *h, struct totals *t)
{
    if (h->peer.seq != NULL)
        t->repairs = repaired(t, shim_peer_seq(&h->peer));
    g_peer = NULL;
    shim_peer_close(&h->peer);
#if defined(_WIN32)
    if (h->stop != NULL) {
        SetEvent(h->stop);
        CloseHandle(h->stop);
    }
#endif
    if (!h->running)
        return;
#if !defined(_WIN32)
    shim_child_kill(&h->c, SIGTERM);
#endif
    char out[256] = "";
    int rc = shim_child_wait(&h->c, 30000, out, sizeof out);
    char seq[32] = "", kind[16] = "", len[32] = "";
    unsigned long long n = 0;
    const char *f = strstr(out, "F ");
    const char *p = f != NULL ? f + 1 : "";
    if (rc == 0 && f != NULL && token(&p, seq, sizeof seq) && token(&p, kind, sizeof kind) &&
        token(&p, len, sizeof len) && unsigned_token(len, &n)) {
        if (!unsigned_token(seq, &t->seq_after))
            t->accounted = false;
    } else {
        fprintf(stderr, "dllmem-stress: the holder ended badly (exit %d): %s\n", rc, out);
        t->held = false;
        t->accounted = false;
        t->errors_other++;
    }
    snprintf(t->final_kind, sizeof t->final_kind, "%s", kind);
    t->final_len = (size_t)n;
    if (t->accounted) {
        /* Every Set a writer saw return must be in the sequence; at most one
         * more per writer that did not finish (killed mid-Set or just after). */
        long landed = (long)(t->seq_after - t->seq_before);
        if (landed < t->sets_reported)
            t->lost_sets = t->sets_reported - landed;
        if (landed > t->sets_reported + t->writers_unfinished)
            t->phantom_sets = landed - t->sets_reported - t->writers_unfinished;
    }
}

/* After every child is gone: a fresh attach must start empty, and its detach
 * must leave nothing behind. */
static void end_checks(const struct options *o, struct totals *t)
{
    char envbuf[2][160];
    const char *envp[3];
    env_for_children(o, envbuf, envp);
    const char *args[] = {o->library, NULL};
    shim_child c;
    if (shim_spawn_role(&c, "get", args, envp)) {
        char out[256] = "";
        int rc = shim_child_wait(&c, 30000, out, sizeof out);
        t->probe_ran = rc == 0;
        t->probe_empty = out[0] == '\n'; /* get prints the string: "" */
    }
    t->leaked_segment = shim_segment_exists(o->name);
    if (t->leaked_segment)
        shim_segment_remove(o->name); /* report it, but leave the machine clean */
    t->leaked_children = shim_reap_all() != 0;
}

/* Attach splits by their latency. */
static int cmp_split(const void *a, const void *b)
{
    unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;
    return x < y ? -1 : x > y;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_us(const struct totals *t, double p)
{
    if (t->n_attach == 0)
        return 0;
    long i = (long)(p * (double)(t->n_attach - 1) + 0.5);
    return (double)t->attach_ns[i] / 1000.0;
}

/* The final read: a whole message once any Set landed, else empty. A Set
 * lands without returning when its writer dies inside it and a repair rolls
 * it forward, so what landed is the holder's count where there is one; else
 * a writer that did not finish allows either. */
static bool final_read_bad(const struct totals *t)
{
    if (!t->held)
        return false;
    bool message = strcmp(t->final_kind, "message") == 0;
    bool empty = strcmp(t->final_kind, "empty") == 0;
    if (t->accounted)
        return t->seq_after > t->seq_before ? !message : !empty;
    if (t->sets_reported > 0)
        return !message;
    return t->writers_unfinished > 0 ? !(message || empty) : !empty;
}

static long violations(const struct totals *t)
{
    return t->torn + t->lost + t->untouched + t->lost_sets + t->phantom_sets + t->wedges +
           t->crashed + t->errors_attach + t->errors_exit + t->errors_other +
           (final_read_bad(t) ? 1 : 0) + (t->leaked_segment ? 1 : 0) +
           (!t->probe_ran || !t->probe_empty) + (t->leaked_fds ? 1 : 0) +
           (t->leaked_children ? 1 : 0) + (t->zygote_hung ? 1 : 0);
}

/* Evidence the run needs before it may pass: a short message naming what
 * fell below its floor, or NULL. */
static const char *inconclusive(const struct options *o, const struct totals *t, char *buf,
                                size_t len)
{
    if (t->verified < o->min_verified)
        snprintf(buf, len, "%ld verified non-empty reads, below --min-verified %ld", t->verified,
                 o->min_verified);
    else if (t->overlapped < o->min_overlap)
        snprintf(buf, len, "%ld reads overlapped a write, below --min-overlap %ld", t->overlapped,
                 o->min_overlap);
    else if (o->kill_in_set > 0 && t->repairs < o->min_repairs)
        snprintf(buf, len, "%ld repairs, below --min-repairs %ld", t->repairs, o->min_repairs);
    else if (o->kill_in_set > 0 && t->n_windows * 10 < t->aimed * 9)
        /* An aimed writer has 5 s and never finishes first: one that was not
         * killed inside its window is an aim that failed (a writer that died
         * elsewhere, or gave up after a second of ticks). */
        snprintf(buf, len, "%ld of %ld aimed writers died inside their write window, below 9 in 10",
                 t->n_windows, t->aimed);
    else
        return NULL;
    return buf;
}

static const char *verdict(const struct options *o, const struct totals *t)
{
    char why[160];
    if (violations(t))
        return "FAIL";
    return inconclusive(o, t, why, sizeof why) ? "INCONCLUSIVE" : "PASS";
}

/* A bucket of the attach-latency histogram: 8 linear steps per power of two
 * (each within 12.5% of its lower bound), so shards' histograms add up. */
static uint64_t bucket_floor(uint64_t ns)
{
    if (ns < 8)
        return ns;
    int msb = 63;
    while (!(ns >> msb & 1u))
        msb--;
    return ns >> (msb - 3) << (msb - 3);
}

/* "[[lower_ns, count], ...]" over the sorted samples. */
static void histogram_json(const struct totals *t, FILE *f)
{
    fputc('[', f);
    for (long i = 0; i < t->n_attach;) {
        uint64_t b = bucket_floor(t->attach_ns[i]);
        long n = 0;
        while (i < t->n_attach && bucket_floor(t->attach_ns[i]) == b) {
            n++;
            i++;
        }
        fprintf(f, "%s[%llu, %ld]", n == i ? "" : ", ", (unsigned long long)b, n);
    }
    fputc(']', f);
}

/* s as a JSON string: quotes, backslashes (Windows paths) and control
 * characters escaped. */
static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void report(const struct options *o, const struct totals *t, FILE *f, bool json)
{
    double ratio = t->baseline_per_s > 0 ? t->children_per_s / t->baseline_per_s : 0;
    double ops_s = t->wall_s > 0 ? (double)t->ops / t->wall_s : 0;
    char why[160];
    const char *short_of = inconclusive(o, t, why, sizeof why);
    long landed = t->accounted ? (long)(t->seq_after - t->seq_before) : -1;
    if (json) {
        fprintf(f, "{\n  \"library\": ");
        json_string(f, o->library);
        fprintf(
            f,
            ",\n  \"children\": %ld, \"parallel\": %ld, "
            "\"writers\": %ld, \"kill_rate\": %.3f, \"kill_in_set\": %.3f, \"seed\": %u,\n"
            "  \"started\": %ld, \"finished\": %ld, \"killed\": %ld, \"kills_missed\": %ld,\n"
            "  \"ops\": %ld, \"verified_reads\": %ld, \"torn_reads\": %ld, \"lost_reads\": %ld, "
            "\"untouched_reads\": %ld, \"initial_empty_reads\": %ld,\n"
            "  \"overlapped_reads\": %ld, \"changed_reads\": %ld,\n"
            "  \"sets\": {\"reported\": %ld, \"writers_unfinished\": %ld, \"landed\": %ld, "
            "\"lost\": %ld, \"phantom\": %ld, \"final_read\": \"%s\"},\n"
            "  \"aimed_writers\": %ld, \"kills_in_window\": %ld, \"repairs\": %ld,\n"
            "  \"kills_watched\": {\"before_data\": %ld, \"amid_data\": %ld, \"after_data\": "
            "%ld},\n"
            "  \"wedges\": %ld,\n"
            "  \"errors\": {\"crash\": %ld, \"attach\": %ld, \"exit\": %ld, \"other\": %ld},\n"
            "  \"attach_us\": {\"p50\": %.1f, \"p99\": %.1f, \"max\": %.1f},\n"
            "  \"ops_per_s\": %.0f, \"children_per_s\": %.1f, "
            "\"baseline_children_per_s\": %.1f, \"ratio_to_baseline\": %.3f,\n"
            "  \"wall_s\": %.3f, \"mode\": \"%s\",\n"
            "  \"end\": {\"segment_left\": %s, \"fresh_attach_empty\": %s, "
            "\"fds_leaked\": %s, \"children_left\": %s},\n"
            "  \"floors\": {\"min_verified\": %ld, \"min_overlap\": %ld, \"min_repairs\": %ld, "
            "\"short_of\": \"%s\"},\n"
            "  \"violations\": %ld, \"verdict\": \"%s\",\n",
            o->children, o->parallel, o->writers, o->kill_rate, o->kill_in_set, o->seed, t->started,
            t->finished, t->killed, t->kills_missed, t->ops, t->verified, t->torn, t->lost,
            t->untouched, t->initial_empty, t->overlapped, t->changed, t->sets_reported,
            t->writers_unfinished, landed, t->lost_sets, t->phantom_sets,
            t->held ? t->final_kind : "n/a", t->aimed, t->n_windows, t->repairs, t->watched_before,
            t->watched_amid, t->watched_after, t->wedges, t->crashed, t->errors_attach,
            t->errors_exit, t->errors_other, pct_us(t, 0.5), pct_us(t, 0.99), pct_us(t, 1.0), ops_s,
            t->children_per_s, t->baseline_per_s, ratio, t->wall_s, o->fork_mode ? "fork" : "exec",
            t->leaked_segment ? "true" : "false", t->probe_empty ? "true" : "false",
            t->leaked_fds ? "true" : "false", t->leaked_children ? "true" : "false",
            o->min_verified, o->min_overlap, o->min_repairs, short_of ? short_of : "",
            violations(t), verdict(o, t));
        fprintf(f,
                "  \"shard\": {\"index\": %ld, \"count\": %ld, \"first_child\": %ld, "
                "\"children\": %ld},\n"
                "  \"run\": {\"ops\": %ld, \"duration_s\": %.3f, \"size\": %ld, \"overlong\": %s, "
                "\"wedge_timeout_s\": %.1f, \"min_verified\": %ld, \"min_overlap\": %ld, "
                "\"min_repairs\": %ld},\n"
                "  \"writers_started\": %ld, \"kills_planned\": %ld, \"attach_samples\": %ld,\n"
                "  \"attach_hist_ns\": ",
                o->shard_index, o->shard_count, o->first, o->count, o->ops, o->duration_s, o->size,
                o->overlong ? "true" : "false", o->wedge_s, o->run_min_verified, o->run_min_overlap,
                o->run_min_repairs, t->writers_started, t->kills_planned, t->n_attach);
        histogram_json(t, f);
        const struct totals *lb = t->attach_base;
        if (lb != NULL) {
            fprintf(f, ",\n  \"attach_baseline_us\": {\"library\": ");
            json_string(f, o->attach_baseline);
            fprintf(f, ", \"samples\": %ld, \"p50\": %.1f, \"p99\": %.1f, \"max\": %.1f}",
                    lb->n_attach, pct_us(lb, 0.5), pct_us(lb, 0.99), pct_us(lb, 1.0));
        } else {
            fprintf(f, ",\n  \"attach_baseline_us\": null");
        }
        fprintf(f, "\n}\n");
        return;
    }
    fprintf(f, "dllmem-stress report (%s)\n", o->library);
    if (o->shard_count > 1)
        fprintf(f, "  shard           %ld of %ld: children %ld..%ld of %ld (seed %u)\n",
                o->shard_index, o->shard_count, o->first + 1, o->first + o->count, o->children,
                o->seed);
    fprintf(f,
            "  children        %ld started, %ld finished, %ld killed by the runner (+%ld finished "
            "first); %ld parallel, %ld writers per %ld\n",
            t->started, t->finished, t->killed, t->kills_missed, o->parallel, o->writers,
            o->parallel);
    fprintf(f, "  operations      %ld (%.0f ops/s)\n", t->ops, ops_s);
    fprintf(
        f,
        "  reads           %ld verified, %ld torn, %ld lost (empty after a Set), %ld untouched; "
        "%ld empty before the first Set\n",
        t->verified, t->torn, t->lost, t->untouched, t->initial_empty);
    fprintf(f, "  overlap         %ld reads overlapped a write, %ld saw a new value\n",
            t->overlapped, t->changed);
    if (t->accounted)
        fprintf(f,
                "  sets            %ld returned, %ld landed (+0..%ld from unfinished writers); "
                "%ld lost, %ld phantom; final read: %s\n",
                t->sets_reported, landed, t->writers_unfinished, t->lost_sets, t->phantom_sets,
                t->final_kind);
    else
        fprintf(f, "  sets            %ld returned; not accounted (%s); final read: %s\n",
                t->sets_reported, t->held ? "no dllmem_get_info" : "no holder",
                t->held ? t->final_kind : "n/a");
    if (o->kill_in_set >= 0)
        fprintf(f,
                "  kill-in-Set     %ld of %ld aimed writers died inside their write window; %ld "
                "repairs; %ld placed by a watchpoint (%ld with the data area untouched, %ld amid "
                "it, %ld with it whole)%s\n",
                t->n_windows, t->aimed, t->repairs,
                t->watched_before + t->watched_amid + t->watched_after, t->watched_before,
                t->watched_amid, t->watched_after,
                o->kill_in_set <= 0 || o->trap_ok ? ""
                : o->by_ticks                     ? "; by ticks (--aim-by-ticks)"
                                                  : NO_WATCHPOINT);
    fprintf(f, "  wedges          %ld\n", t->wedges);
    fprintf(f, "  errors          crash %ld, attach %ld, bad exit %ld, other %ld\n", t->crashed,
            t->errors_attach, t->errors_exit, t->errors_other);
    fprintf(f,
            "  attach latency  p50 %.0f us, p99 %.0f us, max %.0f us (%ld loaders, %ld at once)\n",
            pct_us(t, 0.5), pct_us(t, 0.99), pct_us(t, 1.0), t->n_attach, o->parallel);
    const struct totals *lb = t->attach_base;
    if (lb != NULL && lb->n_attach > 0 && pct_us(lb, 0.5) > 0 && pct_us(lb, 0.99) > 0)
        fprintf(f,
                "  attach floor    an empty library loaded the same way: p50 %.0f us, p99 %.0f us, "
                "max %.0f us (%ld loaders); attach p50 %.2fx, p99 %.2fx it\n",
                pct_us(lb, 0.5), pct_us(lb, 0.99), pct_us(lb, 1.0), lb->n_attach,
                pct_us(t, 0.5) / pct_us(lb, 0.5), pct_us(t, 0.99) / pct_us(lb, 0.99));
    fprintf(f,
            "  throughput      %.0f children/s; spawn-only baseline %.0f children/s; ratio %.2f "
            "(%s mode)\n",
            t->children_per_s, t->baseline_per_s, ratio, o->fork_mode ? "fork" : "exec");
    fprintf(f,
            "  end of run      segment left: %s; fresh attach empty: %s; fds leaked: %s; children "
            "left: %s%s\n",
            t->leaked_segment ? "YES" : "no", t->probe_empty ? "yes" : "NO",
            t->leaked_fds ? "YES" : "no", t->leaked_children ? "YES" : "no",
            t->zygote_hung ? "; zygote hung: YES" : "");
    if (t->n_split > 0) {
        /* The slowest 1% of attaches (from the p99 up) against all of them:
         * time on a CPU, waiting for one, and blocked (the rest); times it
         * gave up the CPU (blocked) and was preempted. */
        double all[5] = {0, 0, 0, 0, 0}, top[5] = {0, 0, 0, 0, 0};
        long from = (long)(0.99 * (double)(t->n_split - 1) + 0.5), ntop = t->n_split - from;
        for (long i = 0; i < t->n_split; i++)
            for (int k = 0; k < 5; k++) {
                double x = (double)t->attach_split[i][k] / (k < 3 ? 1e3 : 1);
                all[k] += x / (double)t->n_split;
                if (i >= from)
                    top[k] += x / (double)ntop;
            }
        fprintf(f,
                "  attach split    all %ld: %.0f us = %.0f on a CPU + %.0f in the run queue + %.0f "
                "blocked, %.1f blocking and %.1f preempting switches; slowest %ld (p99 up): %.0f "
                "us = %.0f + %.0f + %.0f, %.1f and %.1f switches\n",
                t->n_split, all[0], all[1], all[2], all[0] - all[1] - all[2], all[3], all[4], ntop,
                top[0], top[1], top[2], top[0] - top[1] - top[2], top[3], top[4]);
    }
    fprintf(f, "  wall time       %.2f s\n", t->wall_s);
    const struct totals *b = t->base;
    if (b != NULL && b->finished > 0 && t->finished > 0)
        fprintf(f,
                "  where it went   per child: children's CPU %.0f us (baseline %.0f), runner's "
                "CPU %.0f us (%.0f); runner's wall: spawning %.0f us (%.0f), waiting %.0f us "
                "(%.0f), reading and reaping %.0f us (%.0f); %ld loops (%ld)\n",
                1e6 * t->child_cpu_s / (double)t->finished,
                1e6 * b->child_cpu_s / (double)b->finished,
                1e6 * t->self_cpu_s / (double)t->finished,
                1e6 * b->self_cpu_s / (double)b->finished, 1e6 * t->spawn_s / (double)t->finished,
                1e6 * b->spawn_s / (double)b->finished, 1e6 * t->wait_s / (double)t->finished,
                1e6 * b->wait_s / (double)b->finished, 1e6 * t->reap_s / (double)t->finished,
                1e6 * b->reap_s / (double)b->finished, t->loops, b->loops);
    if (o->fork_mode && b != NULL)
        fprintf(f, "  zygote          %.0f us of CPU per child forked\n",
                1e6 * t->zygote_cpu_s / (double)(t->started + b->started + 2)); /* + holder, get */
    if (violations(t) == 0 && short_of != NULL)
        fprintf(f, "  violations      0 -> INCONCLUSIVE: %s\n", short_of);
    else
        fprintf(f, "  violations      %ld -> %s\n", violations(t), verdict(o, t));
}

static void free_totals(struct totals *t)
{
    free(t->attach_ns);
    free(t->attach_split);
    free(t->windows);
}

/* A fleet of `load` children (the attach baseline) into lb, whose latency
 * arrays it allocates (free_totals frees them); false on a runner error. */
static bool run_load_fleet(const struct options *o, struct totals *lb)
{
    memset(lb, 0, sizeof *lb);
    lb->attach_ns = calloc((size_t)o->count, sizeof *lb->attach_ns);
    lb->attach_split = calloc((size_t)o->count, sizeof *lb->attach_split);
    lb->max_attach = o->count;
    return lb->attach_ns != NULL && lb->attach_split != NULL && run_fleet(o, "load", lb);
}

int main(int argc, char **argv)
{
    shim_set_self(argv[0]);
    static const shim_role *const roles[] = {shim_common_roles, NULL};
    int role_rc;
    if (shim_role_dispatch(argc, argv, roles, &role_rc))
        return role_rc;
    struct options o;
    int rc = parse_options(argc, argv, &o);
    if (rc != STRESS_OK)
        return rc;
#if defined(SIGPIPE)
    signal(SIGPIPE, SIG_IGN);
#endif
#if !defined(_WIN32)
    /* Once for the run: every writer is on this kernel and machine. */
    o.trap_ok = o.kill_in_set > 0 && !o.by_ticks && shim_aim_probe();
#endif
    int fds_before = shim_count_fds();
#if !defined(_WIN32)
    if (o.fork_mode && !shim_zygote_start(roles, o.library)) {
        fprintf(stderr, "dllmem-stress: cannot start the zygote: %s\n", strerror(errno));
        return STRESS_RUNNER_ERROR;
    }
#endif

    /* A library that one child cannot load as the attach baseline is a usage
     * error, found before any fleet runs. */
    if (o.attach_baseline != NULL) {
        struct options one = o;
        one.count = 1;
        one.parallel = 1;
        struct totals probe;
        bool ran = run_load_fleet(&one, &probe);
        bool loaded = probe.n_attach == 1;
        free_totals(&probe);
        if (!ran)
            return STRESS_RUNNER_ERROR;
        if (!loaded) {
            fprintf(stderr,
                    "dllmem-stress: --attach-baseline: a child cannot load %s as the empty "
                    "library\n",
                    o.attach_baseline);
            return STRESS_USAGE;
        }
    }

    /* Baseline first: the same number of trivial children, spawned the same way. */
    struct totals base;
    memset(&base, 0, sizeof base);
    if (!run_fleet(&o, "trivial", &base))
        return STRESS_RUNNER_ERROR;

    /* Then, if asked, the attach's floor: the same fleet loading a library
     * that does nothing. Every child must load it and time it, or the run
     * has no floor to report and stops. */
    struct totals lb;
    memset(&lb, 0, sizeof lb);
    if (o.attach_baseline != NULL) {
        bool ok = run_load_fleet(&o, &lb);
        if (ok && (lb.n_attach != o.count ||
                   lb.crashed + lb.errors_exit + lb.errors_other + lb.wedges > 0)) {
            fprintf(stderr,
                    "dllmem-stress: the attach baseline's children did not all load %s: %ld of "
                    "%ld timed, %ld crashed, %ld failed, %ld wedged\n",
                    o.attach_baseline, lb.n_attach, o.count, lb.crashed,
                    lb.errors_exit + lb.errors_other, lb.wedges);
            ok = false;
        }
        if (!ok) {
            free_totals(&lb);
            return STRESS_RUNNER_ERROR;
        }
        qsort(lb.attach_ns, (size_t)lb.n_attach, sizeof *lb.attach_ns, cmp_u64);
    }

    struct totals t;
    memset(&t, 0, sizeof t);
    t.attach_base = o.attach_baseline != NULL ? &lb : NULL;
    t.attach_ns = calloc((size_t)o.count, sizeof *t.attach_ns);
    t.max_attach = o.count;
    t.attach_split = calloc((size_t)o.count, sizeof *t.attach_split);
    t.windows = calloc((size_t)o.count, sizeof *t.windows); /* at most one per child */
    t.max_windows = o.count;
    if (t.attach_ns == NULL || t.attach_split == NULL || t.windows == NULL) {
        free_totals(&t);
        free_totals(&lb);
        return STRESS_RUNNER_ERROR;
    }
    t.baseline_per_s = base.children_per_s;
    t.base = &base;
    shim_segment_remove(o.name); /* a leftover from an earlier crashed runner */
    struct holder h;
    holder_start(&o, &h, &t);
    static struct stress_timeline timeline; /* large: not on the stack */
    if (o.report_dir != NULL) {
        stress_timeline_init(&timeline, 100000000u); /* 0.1 s */
        g_timeline = &timeline;
        g_peer = &h.peer;
    }
    if (!run_fleet(&o, "worker", &t)) {
        holder_stop(&h, &t);
        free_totals(&t);
        free_totals(&lb);
        return STRESS_RUNNER_ERROR;
    }
    holder_stop(&h, &t);
    end_checks(&o, &t);
#if !defined(_WIN32)
    if (o.fork_mode) {
        double before = cpu_s(RUSAGE_CHILDREN);
        t.zygote_hung = !shim_zygote_stop();
        t.zygote_cpu_s = cpu_s(RUSAGE_CHILDREN) - before; /* reaped just now */
        /* A child subreaper: any descendant left over is ours now. Exited
         * ones are reaped here; one still running 2 s after the zygote is a
         * leak. */
        uint64_t give_up = shim_now_ns() + 2000000000u;
        for (;;) {
            pid_t r = waitpid(-1, NULL, WNOHANG);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0) /* ECHILD: nothing left */
                break;
            if (r > 0)
                continue;
            if (shim_now_ns() >= give_up) {
                t.leaked_children = true;
                break;
            }
            struct timespec ms = {0, 1000000L};
            (void)nanosleep(&ms, NULL);
        }
    }
#endif
    t.leaked_fds = shim_count_fds() != fds_before;
    qsort(t.attach_ns, (size_t)t.n_attach, sizeof *t.attach_ns, cmp_u64);
    qsort(t.attach_split, (size_t)t.n_split, sizeof *t.attach_split, cmp_split);

    report(&o, &t, stdout, false);
    if (o.json != NULL) {
        FILE *f = fopen(o.json, "w");
        if (f == NULL) {
            fprintf(stderr, "dllmem-stress: cannot write %s: %s\n", o.json, strerror(errno));
            free_totals(&t);
            free_totals(&lb);
            return STRESS_RUNNER_ERROR;
        }
        report(&o, &t, f, true);
        fclose(f);
    }
    if (o.report_dir != NULL) {
        char path[4096];
        FILE *f = NULL;
        bool ok = stress_report_write(o.report_dir, &timeline, t.attach_ns, t.n_attach) &&
                  snprintf(path, sizeof path, "%s/stress.json", o.report_dir) < (int)sizeof path &&
                  (f = fopen(path, "w")) != NULL;
        if (f != NULL) {
            report(&o, &t, f, true);
            ok = fclose(f) == 0 && ok;
        }
        if (!ok) {
            fprintf(stderr, "dllmem-stress: cannot write the report in %s: %s\n", o.report_dir,
                    strerror(errno));
            free_totals(&t);
            free_totals(&lb);
            return STRESS_RUNNER_ERROR;
        }
    }
    free_totals(&t);
    free_totals(&lb);
    char why[160];
    if (violations(&t))
        return STRESS_VIOLATION;
    return inconclusive(&o, &t, why, sizeof why) ? STRESS_INCONCLUSIVE : STRESS_OK;
}

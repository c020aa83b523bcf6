/* dllmem-stress: shared definitions of the parent and its child roles. */
#ifndef DLLMEM_STRESS_H
#define DLLMEM_STRESS_H

#include <stdbool.h>
#include <stdint.h>

/* Exit codes. Inconclusive: no violation, but too little evidence (verified
 * reads, reads that overlapped a write, repairs) to call the run a pass. */
enum {
    STRESS_OK = 0,
    STRESS_VIOLATION = 1,
    STRESS_USAGE = 2,
    STRESS_RUNNER_ERROR = 3,
    STRESS_INCONCLUSIVE = 4
};

/* Child protocol, one line each on the child's stdout (a pipe to the parent,
 * never the segment under test). T is the tally
 *   <ops> <verified> <torn> <lost> <untouched> <overlapped> <changed> <initial_empty>
 * verified: whole messages read; torn: neither a message nor empty; lost: an
 * empty read after a Set had completed; untouched: the Get left the poisoned
 * buffer as it was; overlapped: reads during which the segment's sequence
 * moved or was odd; changed: reads that saw a new message.
 *   A <attach_ns>     after the library loaded and attached
 *   P T               progress: a writer after every Set (ops = Sets that
 *                     returned), a reader every PROGRESS_OPS reads and at once
 *                     after a bad one
 *   D T <ns>          done (after detaching), with its life in ns
 *   K <seq>           a writer about to die inside its own write window
 *                     (--kill-in-set): seq is the odd sequence it leaves
 *   E <kind> <detail> an error the child could see (attach, ...)
 * The holder (one per run) says "H <sequence> <capacity>" once attached and
 * "F <sequence> <kind> <len>" when stopped: the completed-Set count before and
 * after, and what a final read found. Every line ends in "\n" (Windows:
 * "\r\n") and is flushed as it is written. */
#define PROGRESS_OPS 32

struct stress_child_args {
    const char *library;
    bool writer;
    uint32_t id;
    long ops; /* per child; 0 = until duration_ms passes */
    long duration_ms;
};

int stress_child_main(int argc, char **argv);
int stress_holder_main(int argc, char **argv);
int stress_trivial_main(void);

uint64_t stress_now_ns(void);

#endif

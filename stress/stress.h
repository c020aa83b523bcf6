/* dllmem-stress: shared definitions of the parent and its child roles. */
#ifndef DLLMEM_STRESS_H
#define DLLMEM_STRESS_H

#include <stdbool.h>
#include <stdint.h>

/* Exit codes. */
enum { STRESS_OK = 0, STRESS_VIOLATION = 1, STRESS_USAGE = 2, STRESS_RUNNER_ERROR = 3 };

/* Child protocol, one line each on the child's stdout (a pipe to the parent,
 * never the segment under test):
 *   A <attach_ns>                  after the library loaded and attached
 *   P <ops> <verified> <torn>      progress, at least every PROGRESS_OPS ops
 *   D <ops> <verified> <torn> <ns> done (after detaching), with its life in ns
 *   E <kind> <detail>              an error the child could see (attach, ...) */
#define PROGRESS_OPS 32

struct stress_child_args {
    const char *library;
    bool writer;
    uint32_t id;
    long ops; /* per child; 0 = until duration_ms passes */
    long duration_ms;
};

int stress_child_main(int argc, char **argv);
int stress_trivial_main(void);

uint64_t stress_now_ns(void);

#endif

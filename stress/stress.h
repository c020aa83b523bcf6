/* dllmem-stress: the runner's exit codes. */
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

/* The children are the shim's common roles (worker, holder, trivial, get),
 * reporting in its line protocol (shim.h). */

#endif

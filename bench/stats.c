/* C accessors for the core's DLLMEM_STATS counters (C11 atomics), for the
 * C++ benchmark. */
#include <stdatomic.h>
#include <stdint.h>

extern _Atomic uint64_t dllmem_stat_read_attempts, dllmem_stat_read_retries;

uint64_t bench_read_attempts(void);
uint64_t bench_read_retries(void);

uint64_t bench_read_attempts(void) { return atomic_load(&dllmem_stat_read_attempts); }
uint64_t bench_read_retries(void) { return atomic_load(&dllmem_stat_read_retries); }

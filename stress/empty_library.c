/*
 * A library that does nothing when it is loaded: the same-run baseline for
 * the attach latency (dllmem-stress --attach-baseline). A fleet of children
 * loads it as the workers load dllmem, so what its load costs is the
 * loader's and the scheduler's share of an attach, none of it dllmem's. The
 * one export proves to the child that this library, and not some other, was
 * loaded. Built with EMPTY_LIBRARY_LOAD_MS (the test's copy), its load takes
 * that long, so a test can tell that the baseline times the load itself.
 */
#if defined(EMPTY_LIBRARY_LOAD_MS)
#    define _POSIX_C_SOURCE 200809L
#    include <time.h>
#endif

#if defined(_WIN32)
#    define EMPTY_EXPORT __declspec(dllexport)
#else
#    define EMPTY_EXPORT __attribute__((visibility("default")))
#endif

EMPTY_EXPORT unsigned dllmem_empty_library(void);

EMPTY_EXPORT unsigned dllmem_empty_library(void) { return 0x54504d45u; /* "EMPT" */ }

#if defined(EMPTY_LIBRARY_LOAD_MS)
__attribute__((constructor)) static void slow_load(void)
{
    struct timespec ts = {0, EMPTY_LIBRARY_LOAD_MS * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}
#endif

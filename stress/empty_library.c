/*
 * A library that does nothing when it is loaded: the same-run baseline for
 * the attach latency (dllmem-stress --attach-baseline). A fleet of children
 * loads it exactly as the workers load dllmem, so what its load costs is the
 * loader's and the scheduler's share of an attach, none of it dllmem's. The
 * one export proves to the child that this library, and not some other, was
 * loaded.
 */
#if defined(_WIN32)
#    define EMPTY_EXPORT __declspec(dllexport)
#else
#    define EMPTY_EXPORT __attribute__((visibility("default")))
#endif

EMPTY_EXPORT unsigned dllmem_empty_library(void);

EMPTY_EXPORT unsigned dllmem_empty_library(void) { return 0x54504d45u; /* "EMPT" */ }

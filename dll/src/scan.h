/* The word-at-a-time search for a UTF-16 terminator (scan.c). */
#ifndef DLLMEM_SCAN_H
#define DLLMEM_SCAN_H

#include "dllmem.h"

#include <stdbool.h>
#include <stddef.h>

/* Index of the first NUL in s[0..max), or max. Reads s only up to its
 * terminator (or s[max - 1]), plus at most the rest of the aligned 128-byte
 * chunk that holds it: never another page. */
size_t dllmem_scan_nul(const dllmem_unit *s, size_t max);

/* The block walks it chooses from on x86-64 (s 2-byte aligned, max > 0):
 * SSE2, x86-64's baseline, and AVX2, which only a CPU with AVX2 may run.
 * Declared for the tests, which run each. AVX2 needs GCC's or clang's target
 * attribute and glibc's record of the CPU's features (<sys/platform/x86.h>,
 * filled by the loader at start-up: asking the CPU again at load time would
 * cost every attach a dozen cpuid instructions, each a trap to the
 * hypervisor on a virtual machine). Left out on Windows, whose 16-byte stack
 * alignment some compilers do not raise for AVX spills. */
#if defined(__SSE2__)
size_t dllmem_scan_nul_sse2(const dllmem_unit *s, size_t max);
#    if (defined(__GNUC__) || defined(__clang__)) && !defined(_WIN32) && defined(__x86_64__) &&    \
        defined(__has_include)
#        if __has_include(<sys/platform/x86.h>)
#            define DLLMEM_SCAN_AVX2 1
#        endif
#    endif
#    if defined(DLLMEM_SCAN_AVX2)
size_t dllmem_scan_nul_avx2(const dllmem_unit *s, size_t max);
bool dllmem_scan_avx2_ok(void);
#    endif
#endif

#endif

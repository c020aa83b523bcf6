/* Word-at-a-time search for the UTF-16 terminator. */
#include "units.h"

#include <stdint.h>

#if defined(__SSE2__)
#  include <emmintrin.h>
#endif

#if defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define DLLMEM_NO_ASAN __attribute__((no_sanitize_address))
#  endif
#endif
#if !defined(DLLMEM_NO_ASAN) && defined(__SANITIZE_ADDRESS__)
#  define DLLMEM_NO_ASAN __attribute__((no_sanitize_address))
#endif
#if !defined(DLLMEM_NO_ASAN)
#  define DLLMEM_NO_ASAN
#endif

#if defined(__SSE2__)
/*
 * Aligned 16-byte loads never cross a page, so reading the whole block that
 * holds the terminator cannot fault, the same argument glibc's wcslen makes.
 * ASan is told not to instrument this function for that reason only: the
 * bytes past the terminator are loaded but never influence the result.
 */
DLLMEM_NO_ASAN size_t dllmem_scan_nul(const dllmem_unit *s, size_t max)
{
    if (max == 0)
        return 0;
    if (((uintptr_t)s & 1u) != 0) {
        /* Misaligned units cannot use the block trick; rare, so keep it plain. */
        size_t i = 0;
        while (i < max && s[i] != 0)
            i++;
        return i;
    }
    const __m128i zero = _mm_setzero_si128();
    uintptr_t addr = (uintptr_t)s;
    const unsigned char *block = (const unsigned char *)(addr & ~(uintptr_t)15u);
    unsigned skip = (unsigned)(addr & 15u);
    __m128i v = _mm_load_si128((const __m128i *)(const void *)block);
    unsigned mask = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi16(v, zero));
    mask &= 0xFFFFu << skip;
    size_t base_units = 0; /* units of s before `block + 16` */
    for (;;) {
        if (mask != 0) {
            size_t byte = (size_t)__builtin_ctz(mask);
            size_t idx = base_units + (byte - skip) / 2u;
            return idx < max ? idx : max;
        }
        base_units += (16u - skip) / 2u;
        skip = 0;
        if (base_units >= max)
            return max;
        block += 16;
        v = _mm_load_si128((const __m128i *)(const void *)block);
        mask = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi16(v, zero));
    }
}
#else
size_t dllmem_scan_nul(const dllmem_unit *s, size_t max)
{
    size_t i = 0;
    while (i < max && s[i] != 0)
        i++;
    return i;
}
#endif

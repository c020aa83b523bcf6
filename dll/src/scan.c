/* Word-at-a-time search for the UTF-16 terminator. */
#include "scan.h"

#include <stdint.h>

#if defined(__SSE2__)
#    include <emmintrin.h>
#endif

#if defined(__has_feature)
#    if __has_feature(address_sanitizer)
#        define DLLMEM_NO_ASAN __attribute__((no_sanitize_address))
#    endif
#endif
#if !defined(DLLMEM_NO_ASAN) && defined(__SANITIZE_ADDRESS__)
#    define DLLMEM_NO_ASAN __attribute__((no_sanitize_address))
#endif
#if !defined(DLLMEM_NO_ASAN)
#    define DLLMEM_NO_ASAN
#endif
/* TSan checks every load against freed memory too (same reason as below). */
#if defined(__has_feature)
#    if __has_feature(thread_sanitizer)
#        undef DLLMEM_NO_ASAN
#        define DLLMEM_NO_ASAN __attribute__((no_sanitize("thread")))
#    endif
#endif

#if defined(__SSE2__)
/*
 * Aligned 16-byte loads never cross a page, and neither do aligned 64-byte
 * chunks, so reading the whole block or chunk that holds the terminator cannot
 * fault: the argument glibc's wcslen makes. ASan (or TSan) is told not to
 * instrument this function for that reason only: bytes past the terminator are loaded
 * but never influence the result.
 */
DLLMEM_NO_ASAN static inline unsigned zero_mask(const unsigned char *block)
{
    __m128i v = _mm_load_si128((const __m128i *)(const void *)block);
    return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi16(v, _mm_setzero_si128()));
}

DLLMEM_NO_ASAN size_t dllmem_scan_nul(const dllmem_unit *s, size_t max)
{
    if (max == 0)
        return 0;
    if (((uintptr_t)s & 1u) != 0) {
        /* A misaligned string (only from code outside C's rules, e.g. a foreign
         * caller) cannot use the block trick; read it unit by unit, byte-wise. */
        const unsigned char *b = (const unsigned char *)s;
        size_t i = 0;
        while (i < max && (b[2 * i] | b[2 * i + 1]) != 0)
            i++;
        return i;
    }
    const unsigned char *start = (const unsigned char *)s;
    const unsigned char *block = (const unsigned char *)((uintptr_t)s & ~(uintptr_t)15u);
    unsigned mask = zero_mask(block) & (0xFFFFu << (unsigned)(start - block));
    const unsigned char *limit = start + 2u * max; /* first byte not needed */
    for (;;) {
        if (mask != 0) {
            size_t idx = (size_t)(block + __builtin_ctz(mask) - start) / 2u;
            return idx < max ? idx : max;
        }
        block += 16;
        if (block >= limit)
            return max;
        /* Whole 64-byte chunks once aligned: one test per 32 units. */
        if (((uintptr_t)block & 63u) == 0) {
            while (block + 64 <= limit) {
                __m128i z = _mm_setzero_si128();
                __m128i a =
                    _mm_cmpeq_epi16(_mm_load_si128((const __m128i *)(const void *)block), z);
                __m128i b =
                    _mm_cmpeq_epi16(_mm_load_si128((const __m128i *)(const void *)(block + 16)), z);
                __m128i c =
                    _mm_cmpeq_epi16(_mm_load_si128((const __m128i *)(const void *)(block + 32)), z);
                __m128i d =
                    _mm_cmpeq_epi16(_mm_load_si128((const __m128i *)(const void *)(block + 48)), z);
                if (_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d))) != 0)
                    break;
                block += 64;
            }
            if (block >= limit)
                return max;
        }
        mask = zero_mask(block);
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

/* Word-at-a-time search for the UTF-16 terminator. */
#include "scan.h"

#include <stdint.h>

#if defined(__SSE2__)
#    include <emmintrin.h>
#endif
#if defined(DLLMEM_SCAN_AVX2)
#    include <immintrin.h>
#    include <stdatomic.h>
#    include <sys/platform/x86.h>
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
#if defined(__SANITIZE_THREAD__) /* GCC's ThreadSanitizer */
#    undef DLLMEM_NO_ASAN
#    define DLLMEM_NO_ASAN __attribute__((no_sanitize_thread))
#endif

#if defined(__SSE2__)
/* start + 2 * max, saturated at the end of the address space: a max larger
 * than any buffer (a caller that breaks the contract) must not wrap. */
static inline const unsigned char *scan_limit(const unsigned char *start, size_t max)
{
    size_t room = (size_t)((UINTPTR_MAX - (uintptr_t)start) / 2u);
    return start + 2u * (max < room ? max : room);
}

/*
 * Aligned 16-byte (and 32-byte) blocks never cross a page, and neither do
 * aligned chunks of four blocks, so reading the whole block or chunk that
 * holds the terminator cannot fault: the argument glibc's wcslen makes.
 * ASan (or TSan) is told not to instrument these functions for that reason
 * only: bytes past the terminator are loaded but never influence the result.
 *
 * Each walk has a view of a block (a bit pair per zero unit of it) and of a
 * chunk (whether any unit of it is zero).
 */
DLLMEM_NO_ASAN static inline unsigned zero_mask16(const unsigned char *block)
{
    __m128i v = _mm_load_si128((const __m128i *)(const void *)block);
    return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi16(v, _mm_setzero_si128()));
}

DLLMEM_NO_ASAN static inline bool chunk64_has_zero(const unsigned char *chunk)
{
    __m128i z = _mm_setzero_si128();
    __m128i a = _mm_cmpeq_epi16(_mm_load_si128((const __m128i *)(const void *)chunk), z);
    __m128i b = _mm_cmpeq_epi16(_mm_load_si128((const __m128i *)(const void *)(chunk + 16)), z);
    __m128i c = _mm_cmpeq_epi16(_mm_load_si128((const __m128i *)(const void *)(chunk + 32)), z);
    __m128i d = _mm_cmpeq_epi16(_mm_load_si128((const __m128i *)(const void *)(chunk + 48)), z);
    return _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d))) != 0;
}

/*
 * The walk both use, over blocks of `bs` bytes and chunks of four blocks:
 * the block holding s (its bytes before s masked off), then block by block,
 * and whole chunks once aligned to one, one test per chunk. Always inlined
 * with constant arguments, so each walk compiles to its own loop.
 */
DLLMEM_NO_ASAN __attribute__((always_inline)) static inline size_t
walk(const dllmem_unit *s, size_t max, uintptr_t bs, unsigned (*zero_mask)(const unsigned char *),
     bool (*chunk_has_zero)(const unsigned char *))
{
    const unsigned char *start = (const unsigned char *)s;
    const unsigned char *block = (const unsigned char *)((uintptr_t)s & ~(bs - 1u));
    unsigned skip = (unsigned)(start - block); /* < bs <= 32 */
    unsigned mask = zero_mask(block) >> skip << skip;
    const unsigned char *limit = scan_limit(start, max); /* first byte not needed */
    for (;;) {
        if (mask != 0) {
            size_t idx = (size_t)(block + __builtin_ctz(mask) - start) / 2u;
            return idx < max ? idx : max;
        }
        block += bs;
        if (block >= limit)
            return max;
        if (((uintptr_t)block & (4u * bs - 1u)) == 0) {
            while (block + 4u * bs <= limit && !chunk_has_zero(block))
                block += 4u * bs;
            if (block >= limit)
                return max;
        }
        mask = zero_mask(block);
    }
}

/* s is 2-byte aligned and max > 0. One test per 32 units. */
DLLMEM_NO_ASAN size_t dllmem_scan_nul_sse2(const dllmem_unit *s, size_t max)
{
    return walk(s, max, 16u, zero_mask16, chunk64_has_zero);
}

#    if defined(DLLMEM_SCAN_AVX2)
/* The same walk over 32-byte blocks and 128-byte chunks: one test per 64
 * units, three-operand compares. Only where dllmem_scan_avx2_ok(). */
DLLMEM_NO_ASAN __attribute__((target("avx2"))) static inline unsigned
zero_mask32(const unsigned char *block)
{
    __m256i v = _mm256_load_si256((const __m256i *)(const void *)block);
    return (unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi16(v, _mm256_setzero_si256()));
}

DLLMEM_NO_ASAN __attribute__((target("avx2"))) static inline bool
chunk128_has_zero(const unsigned char *chunk)
{
    __m256i z = _mm256_setzero_si256();
    __m256i a = _mm256_cmpeq_epi16(_mm256_load_si256((const __m256i *)(const void *)chunk), z);
    __m256i b =
        _mm256_cmpeq_epi16(_mm256_load_si256((const __m256i *)(const void *)(chunk + 32)), z);
    __m256i c =
        _mm256_cmpeq_epi16(_mm256_load_si256((const __m256i *)(const void *)(chunk + 64)), z);
    __m256i d =
        _mm256_cmpeq_epi16(_mm256_load_si256((const __m256i *)(const void *)(chunk + 96)), z);
    return _mm256_movemask_epi8(_mm256_or_si256(_mm256_or_si256(a, b), _mm256_or_si256(c, d))) != 0;
}

DLLMEM_NO_ASAN __attribute__((target("avx2"))) size_t dllmem_scan_nul_avx2(const dllmem_unit *s,
                                                                           size_t max)
{
    return walk(s, max, 32u, zero_mask32, chunk128_has_zero);
}

/* 0: not asked yet, 1: no, 2: yes. Any thread may ask; all get one answer. */
static _Atomic int g_avx2;

bool dllmem_scan_avx2_ok(void)
{
    int v = atomic_load_explicit(&g_avx2, memory_order_relaxed);
    if (v == 0) {
        v = CPU_FEATURE_ACTIVE(AVX2) ? 2 : 1; /* CPU and OS: the YMM state is saved */
        atomic_store_explicit(&g_avx2, v, memory_order_relaxed);
    }
    return v == 2;
}
#    endif

size_t dllmem_scan_nul(const dllmem_unit *s, size_t max)
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
#    if defined(DLLMEM_SCAN_AVX2)
    if (dllmem_scan_avx2_ok())
        return dllmem_scan_nul_avx2(s, max);
#    endif
    return dllmem_scan_nul_sse2(s, max);
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

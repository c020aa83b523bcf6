/*
 * The seqlock protocol over the layout in layout.h, and the copies that touch
 * the shared areas (access rule in seqlock.h). The library and the models of
 * modelcheck/ compile this same file.
 */
#include "seqlock.h"

#include "units.h"

#include <assert.h>
#include <stdatomic.h>

/* The models define this to stop a writer after any of its stores to shared
 * memory; it follows every such store below. The test build numbers these
 * crash points (DLLMEM_TEST_STOP_AT, backend.h). Empty in the library. */
#if !defined(DLLMEM_MODEL_STORE)
#    if defined(DLLMEM_TESTING)
#        define DLLMEM_MODEL_STORE() dllmem_os_test_store_point()
#    else
#        define DLLMEM_MODEL_STORE() ((void)0)
#    endif
#endif

/* A reader retries this often before it yields (then up to the caller's
 * tries), and then takes the writer lock to guarantee progress against a
 * stream of Sets. */
#define READ_SPINS 16

#if defined(DLLMEM_STATS)
/* Benchmark builds only (bench/): how often a reader had to try again. */
_Atomic uint64_t dllmem_stat_read_attempts, dllmem_stat_read_retries;
#    define STAT_ADD(counter) atomic_fetch_add_explicit(&(counter), 1u, memory_order_relaxed)
#else
#    define STAT_ADD(counter) ((void)0)
#endif

/* ---- shared-area copies -------------------------------------------------------- */

typedef _Atomic uint64_t shared_word;
typedef _Atomic uint16_t shared_unit;

static inline shared_word *words_of(dllmem_unit *area) { return (shared_word *)(void *)area; }
static inline const shared_word *cwords_of(const dllmem_unit *area)
{
    return (const shared_word *)(const void *)area;
}
static inline shared_unit *units_of(dllmem_unit *area) { return (shared_unit *)(void *)area; }
static inline const shared_unit *cunits_of(const dllmem_unit *area)
{
    return (const shared_unit *)(const void *)area;
}

/* Whole words before n, and never past the area's whole words. */
static inline size_t whole_words(size_t n, uint32_t capacity)
{
    size_t words = capacity / 4u;
    return n / 4u < words ? n / 4u : words;
}

/* Unit j (0..3, in memory order) of a word, and four units as the word that
 * holds them in memory. Shifts rather than memcpy: no memory is accessed at
 * two sizes (the model checker requires it), and compilers merge them into
 * one load or store. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#    define UNIT_SHIFT(j) (16u * (3u - (unsigned)(j)))
#else
#    define UNIT_SHIFT(j) (16u * (unsigned)(j))
#endif

static inline dllmem_unit unit_of(uint64_t v, size_t j)
{
    return (dllmem_unit)(v >> UNIT_SHIFT(j));
}

static inline uint64_t pack4(dllmem_unit u0, dllmem_unit u1, dllmem_unit u2, dllmem_unit u3)
{
    return (uint64_t)u0 << UNIT_SHIFT(0) | (uint64_t)u1 << UNIT_SHIFT(1) |
           (uint64_t)u2 << UNIT_SHIFT(2) | (uint64_t)u3 << UNIT_SHIFT(3);
}

static inline uint64_t load4(const dllmem_unit *s) { return pack4(s[0], s[1], s[2], s[3]); }

static inline void store4(dllmem_unit *d, uint64_t v)
{
    d[0] = unit_of(v, 0);
    d[1] = unit_of(v, 1);
    d[2] = unit_of(v, 2);
    d[3] = unit_of(v, 3);
}

#if defined(__GNUC__)
#    define FALLTHROUGH __attribute__((fallthrough))
#else
#    define FALLTHROUGH ((void)0)
#endif

/*
 * Runs STEP(i) for i = 0 .. count-1: first the count % 32 odd steps, through
 * a switch that falls through constant offsets, then rounds of 32, so loop
 * control costs one add, one compare and one branch per 32 words. (A 4,094-
 * byte Set+Get moves 1,536 words at two instructions each; this keeps the
 * overhead near an eighth of an instruction per word.)
 */
#define COPY_WORDS(count, STEP)                                                                    \
    do {                                                                                           \
        size_t r_ = (size_t)(count) % 32u;                                                         \
        switch (r_) {                                                                              \
        case 31: STEP(30); FALLTHROUGH;                                                            \
        case 30: STEP(29); FALLTHROUGH;                                                            \
        case 29: STEP(28); FALLTHROUGH;                                                            \
        case 28: STEP(27); FALLTHROUGH;                                                            \
        case 27: STEP(26); FALLTHROUGH;                                                            \
        case 26: STEP(25); FALLTHROUGH;                                                            \
        case 25: STEP(24); FALLTHROUGH;                                                            \
        case 24: STEP(23); FALLTHROUGH;                                                            \
        case 23: STEP(22); FALLTHROUGH;                                                            \
        case 22: STEP(21); FALLTHROUGH;                                                            \
        case 21: STEP(20); FALLTHROUGH;                                                            \
        case 20: STEP(19); FALLTHROUGH;                                                            \
        case 19: STEP(18); FALLTHROUGH;                                                            \
        case 18: STEP(17); FALLTHROUGH;                                                            \
        case 17: STEP(16); FALLTHROUGH;                                                            \
        case 16: STEP(15); FALLTHROUGH;                                                            \
        case 15: STEP(14); FALLTHROUGH;                                                            \
        case 14: STEP(13); FALLTHROUGH;                                                            \
        case 13: STEP(12); FALLTHROUGH;                                                            \
        case 12: STEP(11); FALLTHROUGH;                                                            \
        case 11: STEP(10); FALLTHROUGH;                                                            \
        case 10: STEP(9); FALLTHROUGH;                                                             \
        case 9: STEP(8); FALLTHROUGH;                                                              \
        case 8: STEP(7); FALLTHROUGH;                                                              \
        case 7: STEP(6); FALLTHROUGH;                                                              \
        case 6: STEP(5); FALLTHROUGH;                                                              \
        case 5: STEP(4); FALLTHROUGH;                                                              \
        case 4: STEP(3); FALLTHROUGH;                                                              \
        case 3: STEP(2); FALLTHROUGH;                                                              \
        case 2: STEP(1); FALLTHROUGH;                                                              \
        case 1: STEP(0);                                                                           \
        default: break;                                                                            \
        }                                                                                          \
        for (size_t i_ = r_; i_ < (size_t)(count); i_ += 32u) {                                    \
            STEP(i_ + 0u);                                                                         \
            STEP(i_ + 1u);                                                                         \
            STEP(i_ + 2u);                                                                         \
            STEP(i_ + 3u);                                                                         \
            STEP(i_ + 4u);                                                                         \
            STEP(i_ + 5u);                                                                         \
            STEP(i_ + 6u);                                                                         \
            STEP(i_ + 7u);                                                                         \
            STEP(i_ + 8u);                                                                         \
            STEP(i_ + 9u);                                                                         \
            STEP(i_ + 10u);                                                                        \
            STEP(i_ + 11u);                                                                        \
            STEP(i_ + 12u);                                                                        \
            STEP(i_ + 13u);                                                                        \
            STEP(i_ + 14u);                                                                        \
            STEP(i_ + 15u);                                                                        \
            STEP(i_ + 16u);                                                                        \
            STEP(i_ + 17u);                                                                        \
            STEP(i_ + 18u);                                                                        \
            STEP(i_ + 19u);                                                                        \
            STEP(i_ + 20u);                                                                        \
            STEP(i_ + 21u);                                                                        \
            STEP(i_ + 22u);                                                                        \
            STEP(i_ + 23u);                                                                        \
            STEP(i_ + 24u);                                                                        \
            STEP(i_ + 25u);                                                                        \
            STEP(i_ + 26u);                                                                        \
            STEP(i_ + 27u);                                                                        \
            STEP(i_ + 28u);                                                                        \
            STEP(i_ + 29u);                                                                        \
            STEP(i_ + 30u);                                                                        \
            STEP(i_ + 31u);                                                                        \
        }                                                                                          \
    } while (0)

/* Words [from, to) of area from private src (any alignment). */
static inline void put_words(shared_word *w, const dllmem_unit *src, size_t from, size_t to)
{
    shared_word *we = w + from;
    const dllmem_unit *se = src + 4u * from;
#define PUT_WORD(i)                                                                                \
    do {                                                                                           \
        atomic_store_explicit(&we[i], load4(se + 4u * (size_t)(i)), memory_order_relaxed);         \
        DLLMEM_MODEL_STORE();                                                                      \
    } while (0)
    COPY_WORDS(to - from, PUT_WORD);
#undef PUT_WORD
}

/* Units [4 * whole, n), taken from tail[0..n - 4 * whole), and the
 * terminator: into the word holding n (its units after n zeroed), or into the
 * trailing units when n lies past the whole words. */
static void put_end(dllmem_unit *area, uint32_t capacity, const dllmem_unit *tail, size_t whole,
                    size_t n)
{
    size_t at = 4u * whole;
    if (whole < capacity / 4u) {
        size_t r = n - at; /* 0..3 */
        uint64_t v = pack4(r > 0 ? tail[0] : 0u, r > 1 ? tail[1] : 0u, r > 2 ? tail[2] : 0u, 0u);
        atomic_store_explicit(&words_of(area)[whole], v, memory_order_relaxed);
        DLLMEM_MODEL_STORE();
        return;
    }
    shared_unit *u = units_of(area);
    for (; at < n; at++) {
        atomic_store_explicit(&u[at], tail[at - 4u * whole], memory_order_relaxed);
        DLLMEM_MODEL_STORE();
    }
    atomic_store_explicit(&u[n], 0u, memory_order_relaxed);
    DLLMEM_MODEL_STORE();
}

void dllmem_shared_put(dllmem_unit *area, uint32_t capacity, const dllmem_unit *src, size_t n)
{
    size_t whole = whole_words(n, capacity);
    put_words(words_of(area), src, 0, whole);
    put_end(area, capacity, src + 4u * whole, whole, n);
}

void dllmem_shared_get(dllmem_unit *dst, const dllmem_unit *area, uint32_t capacity, size_t n)
{
    const shared_word *w = cwords_of(area);
    size_t whole = whole_words(n, capacity);
#define GET_WORD(i)                                                                                \
    do {                                                                                           \
        store4(dst + 4u * (size_t)(i), atomic_load_explicit(&w[i], memory_order_relaxed));         \
    } while (0)
    COPY_WORDS(whole, GET_WORD);
#undef GET_WORD
    size_t at = 4u * whole;
    if (at == n)
        return;
    if (whole < capacity / 4u) {
        uint64_t v = atomic_load_explicit(&w[whole], memory_order_relaxed);
        size_t r = n - at; /* 1..3 */
        dst[at] = unit_of(v, 0);
        if (r > 1)
            dst[at + 1u] = unit_of(v, 1);
        if (r > 2)
            dst[at + 2u] = unit_of(v, 2);
        return;
    }
    const shared_unit *u = cunits_of(area);
    for (; at < n; at++)
        dst[at] = atomic_load_explicit(&u[at], memory_order_relaxed);
}

dllmem_unit dllmem_shared_unit(const dllmem_unit *area, uint32_t capacity, size_t i)
{
    if (i < 4u * (size_t)(capacity / 4u)) {
        uint64_t v = atomic_load_explicit(&cwords_of(area)[i / 4u], memory_order_relaxed);
        return unit_of(v, i % 4u);
    }
    return atomic_load_explicit(&cunits_of(area)[i], memory_order_relaxed);
}

/* S -> D, shared to shared: n units and the terminator (repair). */
static void shared_copy(dllmem_unit *dst, const dllmem_unit *src, uint32_t capacity, size_t n)
{
    shared_word *dw = words_of(dst);
    const shared_word *sw = cwords_of(src);
    size_t whole = whole_words(n, capacity);
    for (size_t i = 0; i < whole; i++) {
        atomic_store_explicit(&dw[i], atomic_load_explicit(&sw[i], memory_order_relaxed),
                              memory_order_relaxed);
        DLLMEM_MODEL_STORE();
    }
    /* The end goes through a private copy of S's last units. */
    dllmem_unit t[4]; /* t[0 .. n - 4 * whole) are set and read */
    if (whole < capacity / 4u) {
        store4(t, atomic_load_explicit(&sw[whole], memory_order_relaxed));
    } else {
        const shared_unit *u = cunits_of(src);
        for (size_t at = 4u * whole; at < n; at++)
            t[at - 4u * whole] = atomic_load_explicit(&u[at], memory_order_relaxed);
    }
    put_end(dst, capacity, t, whole, n);
}

/* ---- the protocol ------------------------------------------------------------ */

/*
 * Asserts (debug builds; NDEBUG compiles them out) check what this library
 * owns: the lengths its own callers pass and the writer lock this thread
 * took. Never bytes read from the mapping: those are a peer's and untrusted
 * (I6), so they are clamped, not asserted.
 */
#if !defined(NDEBUG)
/* The segment whose writer lock this thread holds, or NULL. */
static _Thread_local const struct dllmem_segment *t_writer_held;
#endif

static dllmem_status writer_lock(struct dllmem_segment *seg)
{
    dllmem_status st = dllmem_os_writer_lock(seg);
#if !defined(NDEBUG)
    if (st == DLLMEM_OK)
        t_writer_held = seg;
#endif
    return st;
}

static void writer_unlock(struct dllmem_segment *seg)
{
#if !defined(NDEBUG)
    assert(t_writer_held == seg);
    t_writer_held = NULL;
#endif
    dllmem_os_writer_unlock(seg);
}

static uint32_t clamp_len(uint32_t len, uint32_t capacity)
{
    return len < capacity ? len : capacity - 1u;
}

/*
 * Under the writer lock: finish a dead writer's copy (I5). The fence is this
 * thread's own: the dead writer's fences order its stores, not ours. A reader
 * that copies a word stored here, then passes its acquire fence, then loads
 * seq, must see at least the odd seq read here, so it retries; without the
 * fence it could still see the even seq from before the dead writer's Set and
 * accept D half old, half repaired (ci/modelcheck: crash-repair).
 */
static void repair(struct dllmem_segment *seg)
{
    assert(t_writer_held == seg); /* I3: seq changes only under the writer lock */
    struct dllmem_ctl *c = seg->ctl;
    uint32_t s = atomic_load_explicit(&c->seq, memory_order_relaxed);
    if ((s & 1u) == 0)
        return;
    uint32_t n = clamp_len(atomic_load_explicit(&c->len_s, memory_order_relaxed), seg->capacity);
    atomic_thread_fence(memory_order_release); /* D stores after the dead writer's odd seq */
    shared_copy(seg->data, seg->shadow, seg->capacity, n);
    atomic_store_explicit(&c->len_d, n, memory_order_relaxed);
    DLLMEM_MODEL_STORE();
    atomic_store_explicit(&c->seq, s + 1u, memory_order_release); /* repaired D before even */
    DLLMEM_MODEL_STORE();
}

/* A legacy mapping (ctl == NULL): bounded copies, no protocol. Writers among
 * dllmem processes still exclude each other. */
static dllmem_status store_legacy(struct dllmem_segment *seg, const dllmem_unit *src, uint32_t n)
{
    dllmem_status st = writer_lock(seg);
    if (st != DLLMEM_OK)
        return st;
    dllmem_shared_put(seg->data, seg->capacity, src, n);
    writer_unlock(seg);
    return DLLMEM_OK;
}

static dllmem_status load_legacy(struct dllmem_segment *seg, dllmem_unit *buf, size_t cch,
                                 size_t *full_len)
{
    const dllmem_unit *d = seg->data;
    uint32_t cap = seg->capacity;
    size_t len = 0;
    while (len + 1u < cap && dllmem_shared_unit(d, cap, len) != 0)
        len++;
    size_t k = 0;
    if (buf != NULL && cch > 0) {
        k = len;
        if (len > cch - 1u) { /* cut, pair-safe */
            k = cch - 1u;
            if (k > 0 && dllmem_is_high(dllmem_shared_unit(d, cap, k - 1)) &&
                dllmem_is_low(dllmem_shared_unit(d, cap, k)))
                k--;
        }
        dllmem_shared_get(buf, d, cap, k);
        buf[k] = 0;
    }
    *full_len = len;
    return (buf == NULL || cch == 0 || k == len) ? DLLMEM_OK : DLLMEM_TRUNCATED;
}

dllmem_status dllmem_seq_store(struct dllmem_segment *seg, const dllmem_unit *src, uint32_t n)
{
    assert(n < seg->capacity); /* the caller cut it: room for the terminator */
    struct dllmem_ctl *c = seg->ctl;
    if (c == NULL)
        return store_legacy(seg, src, n);
    dllmem_status st = writer_lock(seg);
    if (st != DLLMEM_OK)
        return st;
    repair(seg);
    uint32_t s = atomic_load_explicit(&c->seq, memory_order_relaxed);

    /* Phase 1, seq even: readers use D, so S is ours. */
    atomic_thread_fence(memory_order_release); /* S stores after the last odd phase's end */
    dllmem_shared_put(seg->shadow, seg->capacity, src, n);
    atomic_store_explicit(&c->len_s, n, memory_order_relaxed);
    DLLMEM_MODEL_STORE();

    /* Phase 2, seq odd: readers use S, so D is ours. */
    atomic_store_explicit(&c->seq, s + 1u, memory_order_release); /* S whole before odd */
    DLLMEM_MODEL_STORE();
    atomic_thread_fence(memory_order_release); /* D stores after odd */
    size_t whole = whole_words(n, seg->capacity);
#if defined(DLLMEM_TESTING)
    put_words(words_of(seg->data), src, 0, whole / 2u);
    dllmem_os_test_midwrite();
    put_words(words_of(seg->data), src, whole / 2u, whole);
#else
    put_words(words_of(seg->data), src, 0, whole);
#endif
    put_end(seg->data, seg->capacity, src + 4u * whole, whole, n);
    atomic_store_explicit(&c->len_d, n, memory_order_relaxed);
    DLLMEM_MODEL_STORE();

    atomic_store_explicit(&c->seq, s + 2u, memory_order_release); /* D whole before even */
    DLLMEM_MODEL_STORE();
    writer_unlock(seg);
    return DLLMEM_OK;
}

/* One consistent read attempt; returns false if a Set intervened. Copies at
 * most limit units (pair-safe) into buf when buf != NULL. */
static bool read_once(struct dllmem_segment *seg, dllmem_unit *buf, size_t limit, uint32_t *len_out,
                      size_t *copied)
{
    struct dllmem_ctl *c = seg->ctl;
    uint32_t cap = seg->capacity;
    uint32_t s1 = atomic_load_explicit(&c->seq, memory_order_acquire); /* area whole from here */
    bool odd = (s1 & 1u) != 0;
    const dllmem_unit *src = odd ? seg->shadow : seg->data;
    uint32_t len =
        clamp_len(atomic_load_explicit(odd ? &c->len_s : &c->len_d, memory_order_relaxed), cap);
    size_t k = 0;
    if (buf != NULL) {
        k = limit < len ? limit : len;
        if (k < len && k > 0 && dllmem_is_high(dllmem_shared_unit(src, cap, k - 1)) &&
            dllmem_is_low(dllmem_shared_unit(src, cap, k)))
            k--;
        dllmem_shared_get(buf, src, cap, k);
    }
    atomic_thread_fence(memory_order_acquire); /* the copy before the second seq load */
    if (atomic_load_explicit(&c->seq, memory_order_relaxed) != s1)
        return false;
    *len_out = len;
    *copied = k;
    return true;
}

dllmem_status dllmem_seq_load(struct dllmem_segment *seg, dllmem_unit *buf, size_t cch,
                              size_t *full_len, int tries)
{
    if (seg->ctl == NULL)
        return load_legacy(seg, buf, cch, full_len);
    size_t limit = (buf != NULL && cch > 0) ? cch - 1u : 0u;
    dllmem_unit *dst = (buf != NULL && cch > 0) ? buf : NULL;
    uint32_t len = 0;
    size_t k = 0;
    bool ok = false;
    for (int i = 0; i < tries && !ok; i++) {
        ok = read_once(seg, dst, limit, &len, &k);
        STAT_ADD(dllmem_stat_read_attempts);
        if (!ok)
            STAT_ADD(dllmem_stat_read_retries);
        if (!ok && i >= READ_SPINS)
            dllmem_os_yield();
    }
    if (!ok) {
        /* Starved by writers: read under their lock, which guarantees progress. */
        dllmem_status st = writer_lock(seg);
        if (st != DLLMEM_OK) {
            if (dst != NULL)
                dst[0] = 0;
            *full_len = 0;
            return st;
        }
        repair(seg);
        ok = read_once(seg, dst, limit, &len, &k);
        writer_unlock(seg);
        if (!ok) {
            /* Under the lock only a peer writing seq without it can get here. */
            if (dst != NULL)
                dst[0] = 0;
            *full_len = 0;
            return DLLMEM_BAD_CONTROL_BLOCK;
        }
    }
    if (dst != NULL)
        dst[k] = 0;
    *full_len = len;
    return (dst == NULL || k == len) ? DLLMEM_OK : DLLMEM_TRUNCATED;
}

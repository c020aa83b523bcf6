/*
 * Property: Set then Get equals what an obviously-correct model computes.
 *
 * Input: byte 0 bit 0 picks the setter (drop-in SetSharedMem with a
 * terminator, or dllmem_set with an explicit length); bytes 1-2 are cch
 * (little-endian); the rest are UTF-16LE units of any kind: surrogates, lone
 * surrogates, embedded NULs. With byte 0 bit 1 set, bytes 3-4 give the
 * string's length (up to 4 x capacity units) and the units after them are repeated
 * to fill it, so strings far past the capacity cost a few input bytes. Byte 0 bits 2-4 pick
 * DLLMEM_SIZE (odd and even capacities, 32 to 4095 units; 0 is the default), and the
 * target re-attaches when it changes. Inputs and outputs live in allocations of exactly
 * their size so ASan sees a one-unit overflow.
 *
 * The model states the truncation rule itself (model_cut below), independently of the
 * library's dllmem_pair_safe_cut, so a bug in that function cannot hide in the model.
 */
#define _POSIX_C_SOURCE 200809L /* setenv, unsetenv */
#include "fuzz_api.h"

#include <string.h>

/* The DLLMEM_SIZE values byte 0 bits 2-4 pick: capacities 2048 (default), 32,
 * 33, 65, 129, 2047, 4095 and 1025 units. */
static const unsigned k_sizes[8] = {0, 64, 66, 130, 258, 4094, 8190, 2050};
#define MODEL_MAX_UNITS (8190 / 2)

/* The model's copy of the stored string; the segment persists across inputs
 * of the same size. */
static dllmem_unit g_model[MODEL_MAX_UNITS];
static size_t g_model_len;
static unsigned g_size;   /* DLLMEM_SIZE attached with, 0 = unset (default) */
static bool g_fixed_size; /* DLLMEM_FUZZ_FIXED_SIZE=1: always the default */

/* The contract's truncation, stated by the model: keep the longest prefix of
 * whole code points that fits in limit units. A high surrogate followed by a
 * low one is one code point of two units; any other unit (a lone surrogate
 * included) is one. */
static bool model_high(dllmem_unit u) { return u >= 0xD800u && u <= 0xDBFFu; }
static bool model_low(dllmem_unit u) { return u >= 0xDC00u && u <= 0xDFFFu; }
static size_t model_cut(const dllmem_unit *s, size_t len, size_t limit)
{
    size_t kept = 0;
    while (kept < len) {
        size_t next =
            kept + (model_high(s[kept]) && kept + 1 < len && model_low(s[kept + 1]) ? 2u : 1u);
        if (next > limit)
            break;
        kept = next;
    }
    return kept;
}

/* Re-attaches with another DLLMEM_SIZE. This target is the only attacher, so
 * the detach removes the segment and the attach starts an empty one. */
static void use_size(unsigned bytes)
{
    if (bytes == g_size)
        return;
    fz_detach();
    if (bytes == 0) {
        unsetenv("DLLMEM_SIZE");
    } else {
        char v[16];
        snprintf(v, sizeof v, "%u", bytes);
        setenv("DLLMEM_SIZE", v, 1);
    }
    fz_attach();
    FUZZ_CHECK(fz_attach_status() == DLLMEM_OK);
    g_size = bytes;
    g_model_len = 0;
}

/* DLLMEM_FUZZ_MIN_CCH=1 keeps cch >= 1, so a canary run has to find the
 * Set overflow rather than stop at the cheaper cch == 0 wrap. */
static uint32_t g_min_cch;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fz_init("set_get_model");
    const char *min = getenv("DLLMEM_FUZZ_MIN_CCH");
    g_min_cch = min != NULL ? (uint32_t)strtoul(min, NULL, 10) : 0;
    const char *fixed = getenv("DLLMEM_FUZZ_FIXED_SIZE");
    g_fixed_size = fixed != NULL && fixed[0] == '1';
    return 0;
}

/* Get with an exact-size buffer of cch units, checked against the model. */
static void check_get(uint32_t cch)
{
    dllmem_unit *out = malloc(cch > 0 ? cch * sizeof *out : 1);
    FUZZ_CHECK(out != NULL);
    fz_get(out, cch); /* cch == 0: a 1-byte allocation, so any unit written lands outside */
    if (cch > 0) {
        size_t want = model_cut(g_model, g_model_len, cch - 1u);
        FUZZ_CHECK(memcmp(out, g_model, want * sizeof *out) == 0);
        FUZZ_CHECK(out[want] == 0);
    }
    if (fz_extended) {
        size_t full = 12345;
        FUZZ_CHECK(fz_xget(NULL, 0, &full) == DLLMEM_OK);
        FUZZ_CHECK(full == g_model_len);
        if (cch > 0) {
            size_t want = model_cut(g_model, g_model_len, cch - 1u);
            dllmem_status st = fz_xget(out, cch, &full);
            FUZZ_CHECK(full == g_model_len);
            FUZZ_CHECK(st == (want == g_model_len ? DLLMEM_OK : DLLMEM_TRUNCATED));
            FUZZ_CHECK(out[want] == 0);
        }
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    use_size(g_fixed_size ? 0u : k_sizes[(data[0] >> 2) & 7u]);
    const size_t cap = fz_contract_capacity();
    FUZZ_CHECK(cap > 0 && cap <= MODEL_MAX_UNITS);
    const bool explicit_len = fz_extended && (data[0] & 1u);
    uint32_t cch = (uint32_t)(data[1] | (data[2] << 8)) % (uint32_t)(2 * cap + 8);
    if (cch < g_min_cch)
        cch = g_min_cch;
    const bool repeat = (data[0] & 2u) && size >= 5;
    const uint8_t *payload = data + (repeat ? 5 : 3);
    const size_t units = (size - (size_t)(payload - data)) / 2;
    const size_t n = repeat ? (size_t)(data[3] | (data[4] << 8)) % (4 * cap + 1) : units;

    dllmem_unit *in = malloc((n + 1) * sizeof *in); /* exactly the string (+NUL) */
    FUZZ_CHECK(in != NULL);
    size_t have = units < n ? units : n;
    for (size_t i = 0; i < have; i++)
        in[i] = (dllmem_unit)(payload[2 * i] | (payload[2 * i + 1] << 8));
    if (have == 0 && n > 0)
        in[have++] = 'a';
    while (have < n) { /* repeat mode: double what is there */
        size_t take = have < n - have ? have : n - have;
        memcpy(in + have, in, take * sizeof *in);
        have += take;
    }
    in[n] = 0;

    size_t first_nul = 0;
    while (first_nul < n && in[first_nul] != 0)
        first_nul++;

    if (explicit_len) {
        size_t stored = 999;
        dllmem_status st = fz_xset(in, n, &stored);
        if (first_nul < n) {
            FUZZ_CHECK(st == DLLMEM_EMBEDDED_NUL); /* refused, nothing stored */
            FUZZ_CHECK(stored == 0);
        } else {
            size_t keep = model_cut(in, n, cap - 1u);
            FUZZ_CHECK(stored == keep);
            FUZZ_CHECK(st == (keep == n ? DLLMEM_OK : DLLMEM_TRUNCATED));
            memcpy(g_model, in, keep * sizeof *in);
            g_model_len = keep;
        }
    } else {
        fz_set(in); /* stops at the first NUL */
        size_t keep = model_cut(in, first_nul, cap - 1u);
        memcpy(g_model, in, keep * sizeof *in);
        g_model_len = keep;
    }
    free(in);
    check_get(cch);
    return 0;
}

/*
 * Property: Set then Get equals what an obviously-correct model computes.
 *
 * Input: byte 0 bit 0 picks the setter (drop-in SetSharedMem with a
 * terminator, or dllmem_set with an explicit length); bytes 1-2 are cch
 * (little-endian); the rest are UTF-16LE units of any kind: surrogates, lone
 * surrogates, embedded NULs. With byte 0 bit 1 set, bytes 3-4 give the
 * string's length (up to 4 x capacity units) and the units after them are repeated
 * to fill it, so strings far past the capacity cost a few input bytes. Inputs and outputs live in
 * allocations of exactly their size so ASan sees a one-unit overflow.
 */
#include "fuzz_api.h"

#include <string.h>

/* The model's copy of the stored string; the segment persists across inputs. */
static dllmem_unit g_model[DLLMEM_DEFAULT_SIZE / 2];
static size_t g_model_len;

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
    return 0;
}

/* Get with an exact-size buffer of cch units, checked against the model. */
static void check_get(uint32_t cch)
{
    dllmem_unit *out = malloc(cch > 0 ? cch * sizeof *out : 1);
    FUZZ_CHECK(out != NULL);
    fz_get(out, cch); /* cch == 0: a 1-byte allocation, so any unit written lands outside */
    if (cch > 0) {
        size_t want = fz_cut(g_model, g_model_len, cch - 1u);
        FUZZ_CHECK(memcmp(out, g_model, want * sizeof *out) == 0);
        FUZZ_CHECK(out[want] == 0);
    }
    if (fz_extended) {
        size_t full = 12345;
        FUZZ_CHECK(fz_xget(NULL, 0, &full) == DLLMEM_OK);
        FUZZ_CHECK(full == g_model_len);
        if (cch > 0) {
            size_t want = fz_cut(g_model, g_model_len, cch - 1u);
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
    const size_t cap = fz_contract_capacity();
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
            size_t keep = fz_cut(in, n, cap - 1u);
            FUZZ_CHECK(stored == keep);
            FUZZ_CHECK(st == (keep == n ? DLLMEM_OK : DLLMEM_TRUNCATED));
            memcpy(g_model, in, keep * sizeof *in);
            g_model_len = keep;
        }
    } else {
        fz_set(in); /* stops at the first NUL */
        size_t keep = fz_cut(in, first_nul, cap - 1u);
        memcpy(g_model, in, keep * sizeof *in);
        g_model_len = keep;
    }
    free(in);
    check_get(cch);
    return 0;
}

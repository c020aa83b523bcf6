/*
 * Property: any sequence of operations agrees with the model after each step.
 *
 * The input is read as (opcode, argument bytes...) records:
 *   0 set       len (2 bytes), seed: drop-in Set of a generated string
 *   1 xset      len, seed, nul position: dllmem_set, maybe with an embedded NUL
 *   2 get       cch (2 bytes): exact-size buffer
 *   3 reload    detach then attach (as unload/load does): the first attacher
 *               starts empty
 *   4 resize    choice: DLLMEM_SIZE from a list (invalid values included), reload
 *   5 rename    choice: one of three names, reload
 *   6 info      stored length, capacity and sequence agree
 *
 * Every input starts from the same state (default name and size, attached,
 * the empty string stored), so a crash file reproduces on its own, whatever
 * ran before it. An input gets at most one reload (3, 4 or 5); later ones
 * are skipped, arguments consumed. A reload is a create, map, lock and
 * unlink, about 45 us of system calls here, and random bytes make three
 * records in seven a reload, so they were most of an input's time. One is
 * enough: detaching as the sole attacher removes the object, so a second
 * reload would start from what a fresh input starts from, and the reset at
 * the next input's start detaches from every state a reload can leave (a new
 * size or name, or refused).
 */
#define _GNU_SOURCE
#include "fuzz_api.h"
#include "shim_rand.h"

#include <string.h>

#define MAX_CAP (65536 / 2)

static dllmem_unit g_model[MAX_CAP];
static size_t g_len;
static bool g_attached;
static uint64_t g_sets; /* completed Sets since this segment was created */
static char g_base[96];
static bool g_moved; /* name or size not the defaults (only a resize can detach) */
/* The contract's capacity for DLLMEM_SIZE, 0 if refused: asked once per
 * reload (getenv on every step was 11% of the instructions). */
static size_t g_cap;

#define MAX_RELOADS 1

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static void make_pattern(void);

static void reload(void)
{
    fz_detach();
    fz_attach();
    g_cap = fz_contract_capacity();
    g_attached = g_cap != 0;
    FUZZ_CHECK((fz_attach_status() == DLLMEM_OK) == g_attached || !fz_extended);
    g_len = 0;
    g_sets = 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fz_init("op_sequence");
    snprintf(g_base, sizeof g_base, "%s", getenv("DLLMEM_NAME"));
    g_cap = fz_contract_capacity();
    g_attached = true;
    make_pattern();
    return 0;
}

/* Strings are windows of one pattern made at start: mostly text, some
 * surrogate pairs, some lone surrogates, never NUL. The seed picks where the
 * window starts. A memcpy per string instead of a generator step per unit:
 * the per-unit loop (coverage-instrumented) was most of each input's time. */
#define PATTERN_STRIDE 61u
#define MAX_SET_UNITS (2 * MAX_CAP / 8)
static dllmem_unit g_pattern[255u * PATTERN_STRIDE + MAX_SET_UNITS + 1u];

static void make_pattern(void)
{
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < sizeof g_pattern / sizeof g_pattern[0]; i++) {
        shim_rand(&x);
        switch (x % 8u) {
        case 0: g_pattern[i] = 0xD83D; break; /* high surrogate (maybe paired next) */
        case 1: g_pattern[i] = 0xDE00; break; /* low surrogate */
        default: g_pattern[i] = (dllmem_unit)(0x21u + x % 0x5Eu); break;
        }
    }
}

static void generate(dllmem_unit *s, size_t len, uint8_t seed)
{
    memcpy(s, g_pattern + (size_t)seed * PATTERN_STRIDE, len * sizeof *s);
    s[len] = 0;
}

static void model_store(const dllmem_unit *s, size_t n)
{
    size_t keep = fz_cut(s, n, g_cap - 1u);
    memcpy(g_model, s, keep * sizeof *s);
    g_len = keep;
    g_sets++;
}

static void check_get(uint32_t cch)
{
    dllmem_unit *out = malloc(cch > 0 ? cch * sizeof *out : 1);
    FUZZ_CHECK(out != NULL);
    fz_get(out, cch);
    if (cch > 0) {
        size_t want = g_attached ? fz_cut(g_model, g_len, cch - 1u) : 0;
        FUZZ_CHECK(memcmp(out, g_model, want * sizeof *out) == 0);
        FUZZ_CHECK(out[want] == 0);
    }
    free(out);
}

/* The state every input starts from. */
static void start_input(void)
{
    if (g_moved) {
        setenv("DLLMEM_NAME", g_base, 1);
        unsetenv("DLLMEM_SIZE");
        reload();
        FUZZ_CHECK(g_attached);
        g_moved = false;
    }
    if (g_len != 0) {
        static dllmem_unit empty[1];
        fz_set(empty);
        model_store(empty, 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static dllmem_unit buf[MAX_CAP + 64];
    static const char *const sizes[] = {"64", "66", "128", "4096", "65536", "63", "0", "4097"};
    size_t i = 0;
    int steps = 0, reloads = 0;
    start_input();
    while (i < size && steps++ < 64) {
        uint8_t op = data[i++] % 7u;
        uint8_t a = i < size ? data[i++] : 0, b = i < size ? data[i++] : 0;
        uint8_t c = i < size ? data[i++] : 0;
        size_t cap = g_cap;
        if (op >= 3 && op <= 5 && reloads++ >= MAX_RELOADS)
            continue;
        switch (op) {
        case 0: { /* set */
            size_t len = (size_t)(a | (b << 8)) % (MAX_SET_UNITS + 1);
            generate(buf, len, c);
            fz_set(buf);
            if (g_attached)
                model_store(buf, len);
            break;
        }
        case 1: { /* xset */
            if (!fz_extended)
                break;
            size_t len = (size_t)(a | (b << 8)) % 4200u, stored = 0;
            generate(buf, len, c);
            bool nul = len > 0 && (c & 1u);
            if (nul)
                buf[(size_t)c % len] = 0;
            dllmem_status st = fz_xset(buf, len, &stored);
            if (!g_attached) {
                FUZZ_CHECK(st == DLLMEM_NOT_ATTACHED);
            } else if (nul) {
                FUZZ_CHECK(st == DLLMEM_EMBEDDED_NUL);
            } else {
                model_store(buf, len);
                FUZZ_CHECK(stored == g_len);
                FUZZ_CHECK(st == (g_len == len ? DLLMEM_OK : DLLMEM_TRUNCATED));
            }
            break;
        }
        case 2: check_get((uint32_t)(a | (b << 8)) % (uint32_t)(2 * (cap ? cap : 64) + 4)); break;
        case 3: reload(); break;
        case 4:
            setenv("DLLMEM_SIZE", sizes[a % (sizeof sizes / sizeof sizes[0])], 1);
            g_moved = true;
            reload();
            break;
        case 5: {
            char name[128];
            snprintf(name, sizeof name, "%s-%u", g_base, (unsigned)(a % 3u));
            setenv("DLLMEM_NAME", name, 1);
            g_moved = true;
            reload();
            break;
        }
        case 6:
            if (fz_extended) {
                dllmem_info info;
                dllmem_status st = fz_info(&info);
                FUZZ_CHECK((st == DLLMEM_OK) == g_attached);
                if (g_attached) {
                    FUZZ_CHECK(info.length == g_len);
                    FUZZ_CHECK(info.capacity == cap);
                    FUZZ_CHECK(info.sequence == g_sets);
                }
            }
            break;
        }
    }
    return 0;
}

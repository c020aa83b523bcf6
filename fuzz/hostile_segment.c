/*
 * Property: whatever bytes a buggy or hostile peer puts in the segment, every
 * call stays inside the caller's buffer and the mapping, returns, and either
 * works or reports a clear status.
 *
 * Byte 0 picks the scene:
 *   even: attached; the rest of the input is written raw over the mapping at
 *         offset (bytes 1-2) — data area, control block, shadow — then Get
 *         with several exact-size buffers, info, and a Set that must work.
 *   odd:  not attached; an object is created under the name with size taken
 *         from bytes 1-2 (or the right size) and the rest of the input placed
 *         at the control block's offset; then a fresh attach must either
 *         start empty or refuse with a reason, leaving the object untouched.
 *
 * Speed without losing the property: the segment stays attached across even
 * inputs and each one starts by copying back the bytes a fresh attach left (a
 * peer may write any bytes, so this is just another peer), so every input
 * means the same thing whatever ran before; an odd input leaves the target
 * detached and the next even input attaches afresh. dllmem_get_info costs a
 * 1 MiB allocation (the slot scan's stack), about 0.5 ms under ASan, so it is
 * asked only when the scribble reached the control block: it reads nothing
 * else, and over the control block a fresh attach left it cannot fail. The
 * backend's waits run on virtual time (fuzz_clock.h).
 */
#define _GNU_SOURCE
#include "fuzz_api.h"
#include "layout.h" /* the offsets a peer sees: the library's own, not derived here */

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The largest object the odd scene creates: bytes 1-2 times 4. */
#define MAX_OBJECT (65535u * 4u)

static bool g_attached;        /* the target's own attach is up */
static unsigned char *g_fresh; /* the mapping's bytes right after that attach */
static size_t g_fresh_len;
static unsigned char g_want[MAX_OBJECT], g_now[MAX_OBJECT]; /* static: no large mallocs */

/* Remembers the bytes a fresh attach left; every attach at the default size
 * leaves the same ones. */
static void remember_fresh(void)
{
    size_t len = 0;
    unsigned char *raw = fz_raw(&len);
    if (raw == NULL)
        return;
    if (len != g_fresh_len) {
        free(g_fresh);
        g_fresh = malloc(len);
        FUZZ_CHECK(g_fresh != NULL);
        g_fresh_len = len;
    }
    memcpy(g_fresh, raw, len);
}

/* Attaches when an odd input left the target detached. */
static void ensure_attached(void)
{
    if (g_attached)
        return;
    fz_attach();
    g_attached = true;
    remember_fresh();
}

static void ensure_detached(void)
{
    if (g_attached)
        fz_detach(); /* alone: the segment goes away */
    g_attached = false;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fz_init("hostile_segment");
    g_attached = true;
    remember_fresh();
    return 0;
}

static void get_within_bounds(uint32_t cch)
{
    const size_t cap = fz_contract_capacity();
    dllmem_unit *out = malloc(cch > 0 ? cch * sizeof *out : 1);
    FUZZ_CHECK(out != NULL);
    fz_get(out, cch);
    if (cch > 0) {
        size_t n = 0;
        while (n < cch && out[n] != 0)
            n++;
        FUZZ_CHECK(n < cch); /* terminated inside the buffer */
        FUZZ_CHECK(n < cap); /* never longer than the segment can hold */
    }
    if (fz_extended) {
        size_t full = 0;
        (void)fz_xget(NULL, 0, &full);
        FUZZ_CHECK(full < cap);
    }
    free(out);
}

static void set_must_work(void)
{
    static const char text[] = "recovered after a hostile peer";
    dllmem_unit s[sizeof text], out[sizeof text + 8];
    for (size_t i = 0; i < sizeof text; i++)
        s[i] = (dllmem_unit)text[i];
    fz_set(s);
    fz_get(out, (uint32_t)(sizeof out / sizeof out[0]));
    FUZZ_CHECK(memcmp(out, s, sizeof s) == 0);
}

static void scribble_while_attached(const uint8_t *data, size_t size)
{
    ensure_attached();
    size_t len = 0;
    unsigned char *raw = fz_raw(&len);
    if (raw == NULL || size < 3)
        return;
    FUZZ_CHECK(len == g_fresh_len);
    memcpy(raw, g_fresh, len); /* as a fresh attach left it */
    size_t off = (size_t)(data[1] | (data[2] << 8)) % len;
    size_t n = size - 3 < len - off ? size - 3 : len - off;
    memcpy(raw + off, data + 3, n);
    /* The control block (the shadow area after it is not read by info). */
    const size_t ctl_at = (size_t)dllmem_ctl_offset((uint32_t)(2u * fz_contract_capacity()));
    const bool touched_ctl = off < ctl_at + DLLMEM_CTL_BYTES && off + n > ctl_at;
    const uint32_t cchs[] = {0, 1, 2, 7, 2048, 2049, 5000};
    for (size_t i = 0; i < sizeof cchs / sizeof cchs[0]; i++)
        get_within_bounds(cchs[i]);
    if (fz_extended && touched_ctl) {
        dllmem_info info;
        FUZZ_CHECK(fz_info(&info) == DLLMEM_OK);
        FUZZ_CHECK(info.length < info.capacity);
    }
    set_must_work();
}

static void attach_to_hostile_object(const uint8_t *data, size_t size)
{
    if (size < 3)
        return;
    ensure_detached();
    const size_t right = (size_t)dllmem_mapping_bytes(DLLMEM_DEFAULT_SIZE);
    const size_t ctl_at = (size_t)dllmem_ctl_offset(DLLMEM_DEFAULT_SIZE);
    size_t osize = (data[1] & 1u) ? right : (size_t)(data[1] | (data[2] << 8)) * 4u;
    unsigned char *want = g_want;
    memset(want, 0, osize);
    size_t at = osize > ctl_at ? ctl_at : 0, n = size - 3;
    if (n > osize - at)
        n = osize - at;
    memcpy(want + at, data + 3, n);

    const char *name = fz_object_name();
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(ftruncate(fd, (off_t)osize) == 0); /* zero-filled: write only the rest */
    if (n > 0)
        FUZZ_CHECK(pwrite(fd, want + at, n, (off_t)at) == (ssize_t)n);

    fz_attach();
    if (fz_attach_status() == DLLMEM_OK) {
        dllmem_unit out[4];
        fz_get(out, 4);
        FUZZ_CHECK(out[0] == 0); /* reused only when it was ours and abandoned: reset */
    } else {
        FUZZ_CHECK(fz_extended);
        FUZZ_CHECK(strlen(fz_attach_reason()) > 10);
        unsigned char *now = g_now;
        struct stat sb;
        FUZZ_CHECK(fstat(fd, &sb) == 0 && sb.st_size == (off_t)osize);
        FUZZ_CHECK(pread(fd, now, osize, 0) == (ssize_t)osize);
        FUZZ_CHECK(memcmp(now, want, osize) == 0); /* refused objects stay untouched */
        get_within_bounds(16);
    }
    close(fd);
    fz_detach();
    shm_unlink(name);
    /* Detached: the next even input attaches afresh. */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1u)
        attach_to_hostile_object(data, size);
    else
        scribble_while_attached(data, size);
    return 0;
}

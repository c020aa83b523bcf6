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
 */
#define _GNU_SOURCE
#include "fuzz_api.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fz_init("hostile_segment");
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
    size_t len = 0;
    unsigned char *raw = fz_raw(&len);
    if (raw == NULL || size < 3)
        return;
    size_t off = (size_t)(data[1] | (data[2] << 8)) % len;
    size_t n = size - 3 < len - off ? size - 3 : len - off;
    memcpy(raw + off, data + 3, n);
    const uint32_t cchs[] = {0, 1, 2, 7, 2048, 2049, 5000};
    for (size_t i = 0; i < sizeof cchs / sizeof cchs[0]; i++)
        get_within_bounds(cchs[i]);
    if (fz_extended) {
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
    fz_detach(); /* alone: the segment goes away */
    const size_t right = 4096 + 128 + 4096;
    size_t osize = (data[1] & 1u) ? right : (size_t)(data[1] | (data[2] << 8)) * 4u;
    unsigned char *want = calloc(osize > 0 ? osize : 1, 1);
    FUZZ_CHECK(want != NULL);
    size_t at = osize > 4096 ? 4096 : 0, n = size - 3;
    if (n > osize - at)
        n = osize - at;
    memcpy(want + at, data + 3, n);

    const char *name = fz_object_name();
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(ftruncate(fd, (off_t)osize) == 0);
    if (osize > 0)
        FUZZ_CHECK(pwrite(fd, want, osize, 0) == (ssize_t)osize);

    fz_attach();
    if (fz_attach_status() == DLLMEM_OK) {
        dllmem_unit out[4];
        fz_get(out, 4);
        FUZZ_CHECK(out[0] == 0); /* reused only when it was ours and abandoned: reset */
    } else {
        FUZZ_CHECK(fz_extended);
        FUZZ_CHECK(strlen(fz_attach_reason()) > 10);
        unsigned char *now = calloc(osize > 0 ? osize : 1, 1);
        FUZZ_CHECK(now != NULL);
        FUZZ_CHECK(pread(fd, now, osize, 0) == (ssize_t)osize);
        FUZZ_CHECK(memcmp(now, want, osize) == 0); /* refused objects stay untouched */
        free(now);
        get_within_bounds(16);
    }
    close(fd);
    fz_detach();
    shm_unlink(name);
    free(want);
    fz_attach(); /* a fresh segment for the next input */
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

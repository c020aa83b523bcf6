/* Guard-page buffers: n units that end exactly where a PROT_NONE page starts. */
#define _DEFAULT_SOURCE
#include "shim.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t page_size(void) { return (size_t)sysconf(_SC_PAGESIZE); }

static size_t data_pages_bytes(size_t n)
{
    size_t ps = page_size(), bytes = n * sizeof(dllmem_unit);
    return bytes == 0 ? ps : (bytes + ps - 1) / ps * ps;
}

dllmem_unit *shim_guard_alloc(size_t n)
{
    size_t data = data_pages_bytes(n), total = data + page_size();
    unsigned char *base =
        mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return NULL;
    if (mprotect(base + data, page_size(), PROT_NONE) != 0) {
        munmap(base, total);
        return NULL;
    }
    memset(base, 0xAA, data);
    return (dllmem_unit *)(void *)(base + data - n * sizeof(dllmem_unit));
}

void shim_guard_free(dllmem_unit *p, size_t n)
{
    if (p == NULL)
        return;
    size_t data = data_pages_bytes(n);
    unsigned char *end = (unsigned char *)p + n * sizeof(dllmem_unit);
    munmap(end - data, data + page_size());
}

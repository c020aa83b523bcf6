/* Guard-page buffers on Windows: n units ending where a PAGE_NOACCESS page starts. */
#include "shim.h"

#include <windows.h>

#include <string.h>

static size_t page_size(void)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    return si.dwPageSize;
}

static size_t data_bytes(size_t n)
{
    size_t ps = page_size(), bytes = n * sizeof(dllmem_unit);
    return bytes == 0 ? ps : (bytes + ps - 1) / ps * ps;
}

dllmem_unit *shim_guard_alloc(size_t n)
{
    size_t data = data_bytes(n);
    unsigned char *base =
        VirtualAlloc(NULL, data + page_size(), MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    DWORD old;
    if (base == NULL || !VirtualProtect(base + data, page_size(), PAGE_NOACCESS, &old))
        return NULL;
    memset(base, 0xAA, data);
    return (dllmem_unit *)(void *)(base + data - n * sizeof(dllmem_unit));
}

void shim_guard_free(dllmem_unit *p, size_t n)
{
    if (p != NULL)
        VirtualFree((unsigned char *)p + n * sizeof(dllmem_unit) - data_bytes(n), 0, MEM_RELEASE);
}

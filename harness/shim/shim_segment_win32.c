/* Segment names and raw access on Windows. Kernel objects cannot be removed:
 * they go with their last handle, so "exists" means someone still holds one. */
#include "shim.h"

#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void shim_unique_name(char *out, size_t len, const char *tag)
{
    static unsigned counter;
    const char *run = getenv("SHIM_NAME_RUN"); /* see shim.h */
    if (run != NULL && run[0] != '\0')
        snprintf(out, len, "dllmem-t%s-%lu-%u-%s", run, (unsigned long)GetCurrentProcessId(),
                 counter++, tag);
    else
        snprintf(out, len, "dllmem-t%lu-%u-%s", (unsigned long)GetCurrentProcessId(), counter++,
                 tag);
}

static HANDLE open_mapping(const char *name, DWORD access)
{
    wchar_t wide[512];
    char full[512];
    if (!shim_object_name(full, sizeof full, name, "") ||
        MultiByteToWideChar(CP_UTF8, 0, full, -1, wide, 512) == 0)
        return NULL;
    return OpenFileMappingW(access, FALSE, wide);
}

bool shim_segment_exists(const char *name)
{
    HANDLE h = open_mapping(name, FILE_MAP_READ);
    if (h != NULL)
        CloseHandle(h);
    return h != NULL;
}

bool shim_segment_remove(const char *name) { return shim_segment_exists(name); }

bool shim_segment_stat(const char *name, uint64_t *size, unsigned *mode, unsigned *uid)
{
    (void)name, (void)size, (void)mode, (void)uid;
    return false; /* no POSIX ownership or modes on Windows */
}

void *shim_segment_map(const char *name, uint64_t *size)
{
    HANDLE h = open_mapping(name, FILE_MAP_ALL_ACCESS);
    if (h == NULL)
        return NULL;
    void *p = MapViewOfFile(h, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    CloseHandle(h); /* the view keeps the object alive */
    MEMORY_BASIC_INFORMATION mbi;
    if (p == NULL || VirtualQuery(p, &mbi, sizeof mbi) == 0)
        return NULL;
    *size = mbi.RegionSize;
    return p;
}

void shim_segment_unmap(void *p, uint64_t size)
{
    (void)size;
    if (p != NULL)
        UnmapViewOfFile(p);
}

bool shim_segment_create(const char *name, uint64_t size, unsigned char fill, unsigned mode)
{
    (void)name, (void)size, (void)fill, (void)mode;
    return false;
}

int shim_count_fds(void) { return -1; }
int shim_count_maps(void) { return -1; }

/*
 * The original example's DLL, ported to POSIX as faithfully as the platform
 * allows: the same algorithm with every defect kept (a loop bounded by 4096
 * *units* over a 4096-*byte* view, a cch of 0 that wraps to 0xFFFFFFFF, no
 * synchronization, default permissions, NULL dereferenced if mapping fails).
 * The harness must fail against it: this is the proof that it can fail.
 * Test fixture only; never installed. DLLMEM_NAME is honoured so tests can
 * isolate themselves; nothing else is added.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SHMEMSIZE 4096

typedef uint16_t WCHAR;
typedef uint32_t DWORD;

static void *lpvMem = NULL; /* pointer to shared memory */
static int hMapObject = -1; /* handle to file mapping */

/* DLLMEM_EMBEDDED: compiled into a fuzz target, which attaches itself. */
#if defined(DLLMEM_EMBEDDED)
#define CANARY_ENTRY(name) static void name(void)
#define CANARY_EXIT(name) static void name(void)
#else
#define CANARY_ENTRY(name) __attribute__((constructor)) static void name(void)
#define CANARY_EXIT(name) __attribute__((destructor)) static void name(void)
#endif

CANARY_ENTRY(DllMain_attach)
{
    char name[300];
    const char *env = getenv("DLLMEM_NAME");
    snprintf(name, sizeof name, "/%s", env != NULL ? env : "dllmemfilemap");
    /* CreateFileMapping: create, or open the existing object. */
    int fInit = 1;
    hMapObject = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0666);
    if (hMapObject < 0 && errno == EEXIST) {
        fInit = 0; /* ERROR_ALREADY_EXISTS */
        hMapObject = shm_open(name, O_RDWR, 0666);
    }
    if (hMapObject < 0)
        return;
    if (fInit && ftruncate(hMapObject, SHMEMSIZE) != 0)
        return;
    void *p = mmap(NULL, SHMEMSIZE, PROT_READ | PROT_WRITE, MAP_SHARED, hMapObject, 0);
    if (p == MAP_FAILED)
        return;
    lpvMem = p;
    if (fInit)
        memset(lpvMem, '\0', SHMEMSIZE);
}

CANARY_EXIT(DllMain_detach)
{
    if (lpvMem != NULL)
        munmap(lpvMem, SHMEMSIZE);
    if (hMapObject >= 0)
        close(hMapObject);
    lpvMem = NULL;
    hMapObject = -1;
    /* Windows frees the object with its last handle; the example has no
     * notion of that, so on POSIX the object outlives every process. */
}

__attribute__((visibility("default"))) void SetSharedMem(WCHAR *lpszBuf)
{
    WCHAR *lpszTmp;
    DWORD dwCount = 1;
    lpszTmp = (WCHAR *)lpvMem;
    while (*lpszBuf && dwCount < SHMEMSIZE) {
        *lpszTmp++ = *lpszBuf++;
        dwCount++;
    }
    *lpszTmp = '\0';
}

__attribute__((visibility("default"))) void GetSharedMem(WCHAR *lpszBuf, DWORD cchSize)
{
    WCHAR *lpszTmp;
    lpszTmp = (WCHAR *)lpvMem;
    while (*lpszTmp && --cchSize)
        *lpszBuf++ = *lpszTmp++;
    *lpszBuf = '\0';
}

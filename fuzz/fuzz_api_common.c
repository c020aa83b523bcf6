/* Parts of the fuzz API that do not depend on the build under test. */
#define _GNU_SOURCE
#include "fuzz_api.h"
#include "object_name.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static char g_object[300];

const char *fz_object_name(void)
{
    const char *n = getenv("DLLMEM_NAME");
    (void)dllmem_object_name(g_object, sizeof g_object, n != NULL ? n : "", "");
    return g_object;
}

void fz_remove_object(void) { (void)shm_unlink(fz_object_name()); }

size_t fz_contract_capacity(void)
{
    const char *s = getenv("DLLMEM_SIZE");
    if (s == NULL)
        return DLLMEM_DEFAULT_SIZE / 2;
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < DLLMEM_MIN_SIZE || v > DLLMEM_MAX_SIZE || (v & 1))
        return 0;
    return v / 2;
}

static void at_exit_detach(void) { fz_detach(); }

void fz_init(const char *tag)
{
    char name[128];
    snprintf(name, sizeof name, "dllmem-fuzz-%ld-%s", (long)getpid(), tag);
    setenv("DLLMEM_NAME", name, 1);
    unsetenv("DLLMEM_SIZE");
    fz_attach();
    atexit(at_exit_detach);
}

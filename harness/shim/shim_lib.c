/* Loading a library build by path and resolving its exports. */
#define _POSIX_C_SOURCE 200809L
#include "shim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(_WIN32)
#    include <windows.h>
static void *open_library(const char *path) { return (void *)LoadLibraryA(path); }
static void *symbol(void *h, const char *name)
{
    FARPROC p = GetProcAddress((HMODULE)h, name);
    void *v;
    memcpy(&v, &p, sizeof v);
    return v;
}
static void close_library(void *h) { FreeLibrary((HMODULE)h); }
static const char *last_error(void) { return "LoadLibrary failed"; }

int shim_setenv(const char *key, const char *value) { return _putenv_s(key, value); }
int shim_unsetenv(const char *key) { return _putenv_s(key, ""); }
#else
#    include <dlfcn.h>
#    if defined(__has_feature)
#        if __has_feature(address_sanitizer)
#            define SHIM_ASAN 1
#        endif
#    endif
#    if defined(__SANITIZE_ADDRESS__) || defined(SHIM_ASAN)
/* The default of every program that loads a library through the shim under
 * AddressSanitizer (ASAN_OPTIONS still applies on top). Up to GCC 13 and
 * LLVM 16, the runtime's __tls_get_addr interceptor takes a dynamic TLS
 * block that starts 16 bytes into a page for one with a pre-2.25 glibc
 * header, and records the words before it as the block's bounds
 * (google/sanitizers#1322); when the library's block lands there by chance,
 * LeakSanitizer's tracer crashes at exit ("Tracer caught signal 11") and the
 * test fails with no leak found. Without the interception the library's
 * dynamic TLS is not scanned for roots: it holds a status and a pointer to
 * static memory, never to the heap. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "intercept_tls_get_addr=0"; }
#    endif
static void *open_library(const char *path) { return dlopen(path, RTLD_NOW | RTLD_LOCAL); }
static void *symbol(void *h, const char *name) { return dlsym(h, name); }
static void close_library(void *h) { dlclose(h); }
static const char *last_error(void) { return dlerror(); }

int shim_setenv(const char *key, const char *value) { return setenv(key, value, 1); }
int shim_unsetenv(const char *key) { return unsetenv(key); }
#endif

/* POSIX allows converting dlsym's void * to a function pointer; C does not
 * say so, hence the memcpy. */
#define RESOLVE(lib, field, sym)                                                                   \
    do {                                                                                           \
        void *p_ = symbol((lib)->handle, sym);                                                     \
        memcpy(&(lib)->field, &p_, sizeof p_);                                                     \
    } while (0)

bool shim_lib_load(shim_lib *lib, const char *path, char *err, size_t err_len)
{
    memset(lib, 0, sizeof *lib);
    lib->handle = open_library(path);
    if (lib->handle == NULL) {
        snprintf(err, err_len, "cannot load %s: %s", path, last_error());
        return false;
    }
    RESOLVE(lib, set, "SetSharedMem");
    RESOLVE(lib, get, "GetSharedMem");
    if (lib->set == NULL || lib->get == NULL) {
        snprintf(err, err_len, "%s lacks SetSharedMem/GetSharedMem", path);
        close_library(lib->handle);
        memset(lib, 0, sizeof *lib);
        return false;
    }
    RESOLVE(lib, x_set, "dllmem_set");
    RESOLVE(lib, x_get, "dllmem_get");
    RESOLVE(lib, x_capacity, "dllmem_capacity");
    RESOLVE(lib, x_attach_status, "dllmem_attach_status");
    RESOLVE(lib, x_attach_reason, "dllmem_attach_reason");
    RESOLVE(lib, x_last_status, "dllmem_last_status");
    RESOLVE(lib, x_get_info, "dllmem_get_info");
    RESOLVE(lib, x_strerror, "dllmem_strerror");
    RESOLVE(lib, x_status_name, "dllmem_status_name");
    RESOLVE(lib, x_version, "dllmem_version");
    RESOLVE(lib, x_version_string, "dllmem_version_string");
    return true;
}

bool shim_plain_load(void **handle, const char *path, const char *marker, char *err, size_t err_len)
{
    *handle = open_library(path);
    if (*handle == NULL) {
        snprintf(err, err_len, "cannot load %s: %s", path, last_error());
        return false;
    }
    if (symbol(*handle, marker) == NULL) {
        snprintf(err, err_len, "%s does not export %s", path, marker);
        close_library(*handle);
        *handle = NULL;
        return false;
    }
    return true;
}

void shim_plain_unload(void *handle)
{
    if (handle != NULL)
        close_library(handle);
}

void shim_lib_unload(shim_lib *lib)
{
    if (lib->handle != NULL)
        close_library(lib->handle);
    memset(lib, 0, sizeof *lib);
}

bool shim_lib_is_extended(const shim_lib *lib)
{
    return lib->x_set != NULL && lib->x_get != NULL && lib->x_capacity != NULL &&
           lib->x_attach_status != NULL && lib->x_attach_reason != NULL &&
           lib->x_last_status != NULL && lib->x_get_info != NULL && lib->x_strerror != NULL &&
           lib->x_status_name != NULL && lib->x_version != NULL && lib->x_version_string != NULL;
}

size_t shim_lib_capacity(const shim_lib *lib)
{
    size_t cap = shim_lib_is_extended(lib) ? lib->x_capacity() : 0u;
    return cap != 0u ? cap : DLLMEM_DEFAULT_SIZE / 2u;
}

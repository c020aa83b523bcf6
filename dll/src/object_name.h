/* The name the OS knows a segment's objects by: the one rule, included by
 * both backends and by every instrument that opens the object as a peer
 * (harness shim, fuzz targets), so they cannot disagree.
 *
 * POSIX:   "/" + name. config.c has already made name a plain name (1 to
 *          DLLMEM_NAME_MAX characters, no '/', not "." or "..").
 * Windows: "Local\" + name (this session's namespace), unless name contains
 *          a '\': then it names its namespace itself ("Global\x") and is
 *          used as it is. The writer and attach mutexes are the same rule
 *          applied to name + DLLMEM_LOCK_SUFFIX / DLLMEM_ATTACH_SUFFIX.
 *
 * Plain C11, static inline, no _Atomic: C and C++ include it. */
#ifndef DLLMEM_OBJECT_NAME_H
#define DLLMEM_OBJECT_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define DLLMEM_LOCK_SUFFIX ".dllmem-lock"
#define DLLMEM_ATTACH_SUFFIX ".dllmem-attach"

/* What goes before name in its object's name. */
static inline const char *dllmem_object_prefix(const char *name)
{
#if defined(_WIN32)
    return strchr(name, '\\') != NULL ? "" : "Local\\";
#else
    (void)name;
    return "/";
#endif
}

/* out = prefix + name + suffix (suffix "" for the segment itself); false if
 * it did not fit in len bytes (out then holds a truncated, unusable name). */
static inline bool dllmem_object_name(char *out, size_t len, const char *name, const char *suffix)
{
    int n = snprintf(out, len, "%s%s%s", dllmem_object_prefix(name), name, suffix);
    return n >= 0 && (size_t)n < len;
}

#endif

/*
 * The platform entry point's view of the core: attach and detach, called by
 * the constructor/destructor (POSIX) or DllMain (Windows). Built with
 * DLLMEM_EMBEDDED (the fuzz targets), no entry point is compiled in and the
 * embedding program calls these itself, e.g. to change DLLMEM_SIZE between
 * a detach and the next attach.
 */
#ifndef DLLMEM_ENTRY_H
#define DLLMEM_ENTRY_H

/* Only a forward declaration: C++ (benchmarks, white-box tests) includes
 * this header, and backend.h's C11 atomics are C only. */
struct dllmem_segment;

#ifdef __cplusplus
extern "C" {
#endif

void dllmem_core_attach(void);
void dllmem_core_detach(void);

/* The attached segment, or NULL. */
struct dllmem_segment *dllmem_core_segment(void);

/* A forked child that could not get an attach of its own (POSIX fork
 * handler, which has already released and unmapped the parent's): it is not
 * attached, and attach's status and reason say why. */
struct dllmem_reason;
void dllmem_core_forked_unattached(const struct dllmem_reason *why);

#ifdef __cplusplus
}
#endif

#endif

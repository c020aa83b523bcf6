/* A fake backend for white-box tests of the core: it implements backend.h
 * over ordinary memory and offers the core a legacy mapping (the original
 * example's 4096-byte data area alone, one page), which only the Windows
 * backend meets for real; dllmem_adopt decides what it is, as it does there. */
#include "backend.h"
#include "entry.h"
#include "seqlock.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define LEGACY_BYTES 4096u /* the original example's mapping: one page */

/* 8-byte aligned like a real mapping: the core moves shared data in words. */
static _Alignas(8) dllmem_unit g_area[LEGACY_BYTES / 2];
static size_t g_capacity;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

dllmem_unit *fake_legacy_area(void);
size_t fake_legacy_capacity(void);
dllmem_unit *fake_legacy_area(void) { return g_area; }
size_t fake_legacy_capacity(void) { return g_capacity; } /* as the last attach bound it */

/* The core's store, called directly: the exports cut every string to
 * capacity - 1 first, so only a white-box caller can pass n == capacity. */
dllmem_status fake_store(const dllmem_unit *src, uint32_t n);
dllmem_status fake_store(const dllmem_unit *src, uint32_t n) {
  return dllmem_seq_store(dllmem_core_segment(), src, n);
}

void dllmem_os_default_name(char *buf, size_t len) { (void)snprintf(buf, len, "fake"); }

dllmem_status dllmem_os_attach(const struct dllmem_config *cfg, struct dllmem_segment *seg,
                               struct dllmem_reason *why) {
  (void)cfg;
  memset(g_area, 0, sizeof g_area);
  dllmem_status refusal;
  if (dllmem_adopt(seg, (unsigned char *)g_area, LEGACY_BYTES, DLLMEM_ROLE_JOINING, LEGACY_BYTES,
                   &refusal, why) != DLLMEM_ADOPT_USE)
    return refusal != DLLMEM_OK ? refusal : DLLMEM_BAD_CONTROL_BLOCK;
  g_capacity = seg->capacity;
  return DLLMEM_OK;
}

void dllmem_os_detach(struct dllmem_segment *seg) { seg->base = NULL; }
dllmem_status dllmem_os_writer_lock(struct dllmem_segment *seg) {
  (void)seg;
  pthread_mutex_lock(&g_lock);
  return DLLMEM_OK;
}
void dllmem_os_writer_unlock(struct dllmem_segment *seg) {
  (void)seg;
  pthread_mutex_unlock(&g_lock);
}
void dllmem_os_yield(void) {}
void dllmem_os_pause(void) {}
void dllmem_os_describe(const struct dllmem_segment *seg, char *path, size_t path_len,
                        int64_t *attached) {
  (void)seg;
  (void)snprintf(path, path_len, "(memory)");
  *attached = 1;
}
void dllmem_os_test_midwrite(void) {}

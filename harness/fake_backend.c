/* A fake backend for white-box tests of the core: it implements backend.h
 * over ordinary memory and hands the core a legacy mapping (the original
 * example's data area alone), which only the Windows backend meets for real. */
#include "backend.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define LEGACY_BYTES 256u

static dllmem_unit g_area[LEGACY_BYTES / 2];
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

dllmem_unit *fake_legacy_area(void);
size_t fake_legacy_capacity(void);
dllmem_unit *fake_legacy_area(void) { return g_area; }
size_t fake_legacy_capacity(void) { return LEGACY_BYTES / 2; }

void dllmem_os_default_name(char *buf, size_t len) { (void)snprintf(buf, len, "fake"); }

dllmem_status dllmem_os_attach(const struct dllmem_config *cfg, struct dllmem_segment *seg,
                               struct dllmem_reason *why) {
  (void)cfg;
  memset(g_area, 0, sizeof g_area);
  seg->base = (unsigned char *)g_area;
  seg->ctl = NULL; /* legacy: no control block */
  seg->data = g_area;
  seg->shadow = NULL;
  seg->data_bytes = LEGACY_BYTES;
  seg->capacity = LEGACY_BYTES / 2;
  seg->mapping_bytes = LEGACY_BYTES;
  dllmem_reason_set(why, "fake legacy mapping");
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
void dllmem_os_describe(const struct dllmem_segment *seg, char *path, size_t path_len,
                        int64_t *attached) {
  (void)seg;
  (void)snprintf(path, path_len, "(memory)");
  *attached = 1;
}
void dllmem_os_test_midwrite(void) {}

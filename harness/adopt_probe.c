/* The C side of adopt_test.cc: see adopt_probe.h. */
#include "adopt_probe.h"

#include "backend.h"

#include <stdio.h>
#include <string.h>

void adopt_probe_run(unsigned char *base, uint64_t bytes, const char *role, uint64_t page_size,
                     uint32_t data_bytes, struct adopt_probe *out) {
  static const char *const names[] = {"use", "init", "retry", "refuse"};
  struct dllmem_segment seg;
  struct dllmem_reason why = {""};
  memset(&seg, 0, sizeof seg);
  memset(out, 0, sizeof *out);
  (void)snprintf(seg.config.name, sizeof seg.config.name, "probe");
  seg.config.data_bytes = data_bytes;
  seg.base = (unsigned char *)&seg; /* adopt must clear it unless it binds */
  enum dllmem_adopt_role r = strcmp(role, "created") == 0 ? DLLMEM_ROLE_CREATED
                             : strcmp(role, "alone") == 0 ? DLLMEM_ROLE_ALONE
                                                          : DLLMEM_ROLE_JOINING;
  enum dllmem_adopt_verdict v = dllmem_adopt(&seg, base, bytes, r, page_size, &out->refusal, &why);
  out->verdict = names[v];
  out->bound = seg.base == base && base != NULL;
  out->legacy = out->bound && seg.ctl == NULL;
  out->capacity = out->bound ? seg.capacity : 0u;
  out->ctl_offset =
      out->bound && seg.ctl != NULL ? (uint64_t)((unsigned char *)seg.ctl - base) : 0u;
  (void)snprintf(out->reason, sizeof out->reason, "%s", why.text);
}

uint64_t adopt_probe_object_bytes(uint32_t data_bytes, uint64_t page_size) {
  return dllmem_object_bytes(data_bytes, page_size);
}

uint64_t adopt_probe_ctl_offset(uint32_t data_bytes) { return dllmem_ctl_offset(data_bytes); }

/* The C side of adopt_test.cc. backend.h is C11 (atomics in the control
 * block), so the C++ tests reach dllmem_adopt through these calls. */
#ifndef DLLMEM_ADOPT_PROBE_H
#define DLLMEM_ADOPT_PROBE_H

#include "dllmem.h"

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What one dllmem_adopt call answered and left in the segment. */
struct adopt_probe {
  const char *verdict;   /* "use", "init", "retry" or "refuse" */
  dllmem_status refusal; /* DLLMEM_OK unless "refuse" */
  bool bound;            /* the segment points at the buffer afterwards */
  bool legacy;           /* bound without a control block */
  uint32_t capacity;     /* units, when bound */
  uint64_t ctl_offset;   /* of the bound control block, when there is one */
  char reason[512];
};

/* Runs dllmem_adopt(role "created" / "alone" / "joining") over base[0..bytes)
 * for a process configured with data_bytes (DLLMEM_SIZE). */
void adopt_probe_run(unsigned char *base, uint64_t bytes, const char *role, uint64_t page_size,
                     uint32_t data_bytes, struct adopt_probe *out);

/* layout.h, for the tests' own arithmetic. */
uint64_t adopt_probe_object_bytes(uint32_t data_bytes, uint64_t page_size);
uint64_t adopt_probe_ctl_offset(uint32_t data_bytes);

#ifdef __cplusplus
}
#endif

#endif

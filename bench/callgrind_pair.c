/* One Set(capacity-1)+Get(capacity) pair, repeated, inside a function that
 * callgrind is told to count alone (--toggle-collect=measured_pairs), so the
 * figure is instructions per pair, stable on a noisy machine. */
#include "dllmem.h"

#include <stdio.h>
#include <stdlib.h>

#define PAIRS 100

__attribute__((noinline)) static void measured_pairs(dllmem_unit *src, dllmem_unit *dst,
                                                     uint32_t cap) {
  for (int i = 0; i < PAIRS; i++) {
    SetSharedMem(src);
    GetSharedMem(dst, cap);
  }
}

int main(void) {
  size_t cap = dllmem_capacity();
  if (cap == 0) {
    fprintf(stderr, "callgrind_pair: %s\n", dllmem_attach_reason());
    return 1;
  }
  dllmem_unit *src = malloc(cap * sizeof *src), *dst = malloc(cap * sizeof *dst);
  if (src == NULL || dst == NULL) return 1;
  for (size_t i = 0; i + 1 < cap; i++) src[i] = (dllmem_unit)('a' + i % 26);
  src[cap - 1] = 0;
  SetSharedMem(src); /* warm: page faults and lazy binding stay out of the count */
  GetSharedMem(dst, (uint32_t)cap);
  measured_pairs(src, dst, (uint32_t)cap);
  printf("pairs=%d length=%zu\n", PAIRS, cap - 1);
  free(src);
  free(dst);
  return 0;
}

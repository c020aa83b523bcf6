/* The word-at-a-time search for a UTF-16 terminator (scan.c). */
#ifndef DLLMEM_SCAN_H
#define DLLMEM_SCAN_H

#include "dllmem.h"

#include <stddef.h>

/* Index of the first NUL in s[0..max), or max. Reads s only up to its
 * terminator, plus at most the rest of that aligned 16-byte block. */
size_t dllmem_scan_nul(const dllmem_unit *s, size_t max);

#endif

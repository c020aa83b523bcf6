/* UTF-8 <-> UTF-16 for the command-line programs (not part of the library). */
#ifndef DLLMEM_TOOLS_UTF_H
#define DLLMEM_TOOLS_UTF_H

#include "dllmem.h"

#include <stddef.h>

/* Converts NUL-terminated UTF-8 into out (room for cap units, terminator
 * included). Returns the units written before the terminator, or -1 on
 * invalid UTF-8 or a too-small buffer. */
long utf16_from_utf8(const char *in, dllmem_unit *out, size_t cap);

/* Converts n units into NUL-terminated UTF-8 (cap bytes). Lone surrogates
 * become U+FFFD. Returns the bytes written before the terminator, or -1 when
 * cap is too small. */
long utf8_from_utf16(const dllmem_unit *in, size_t n, char *out, size_t cap);

#endif

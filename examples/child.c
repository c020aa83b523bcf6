/* The example's child: reads the string its parent left in shared memory. */
#include "dllmem.h"
#include "utf.h"

#include <stdio.h>

#define MAX_PATH_UNITS 260 /* the example's MAX_PATH buffer */

int main(void)
{
    dllmem_unit buf[MAX_PATH_UNITS];
    char text[MAX_PATH_UNITS * 3 + 1];
    if (dllmem_attach_status() != DLLMEM_OK) {
        fprintf(stderr, "child: %s\n", dllmem_attach_reason());
        return 1;
    }
    GetSharedMem(buf, MAX_PATH_UNITS);
    size_t n = 0;
    while (buf[n] != 0)
        n++;
    if (utf8_from_utf16(buf, n, text, sizeof text) < 0)
        return 1;
    printf("Child process read from shared memory: %s\n", text);
    return 0;
}

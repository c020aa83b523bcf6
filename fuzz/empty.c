/* Baseline: a target that does nothing, built with the same flags, so each
 * target's exec/s can be stated as a ratio to the engine's own limit. */
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)data, (void)size;
    return 0;
}

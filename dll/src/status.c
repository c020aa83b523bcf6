/* Status names and messages, and the runtime version. */
#include "dllmem.h"

DLLMEM_API const char *DLLMEM_CALL dllmem_strerror(dllmem_status status)
{
    switch (status) {
#define DLLMEM_STATUS_TEXT_(name, value, text)                                                     \
    case DLLMEM_##name: return text;
        DLLMEM_STATUS_MAP(DLLMEM_STATUS_TEXT_)
#undef DLLMEM_STATUS_TEXT_
    }
    return "unknown dllmem status";
}

DLLMEM_API const char *DLLMEM_CALL dllmem_status_name(dllmem_status status)
{
    switch (status) {
#define DLLMEM_STATUS_NAME_(name, value, text)                                                     \
    case DLLMEM_##name: return "DLLMEM_" #name;
        DLLMEM_STATUS_MAP(DLLMEM_STATUS_NAME_)
#undef DLLMEM_STATUS_NAME_
    }
    return "DLLMEM_UNKNOWN";
}

DLLMEM_API unsigned DLLMEM_CALL dllmem_version(void) { return DLLMEM_VERSION_HEX; }

DLLMEM_API const char *DLLMEM_CALL dllmem_version_string(void) { return DLLMEM_VERSION_STRING; }

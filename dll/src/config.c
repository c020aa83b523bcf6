/* DLLMEM_NAME / DLLMEM_SIZE: read once at attach; refused, never replaced. */
#include "backend.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dllmem_reason_set(struct dllmem_reason *why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    /* clang-analyzer 14 misreads va_start through the format attribute. */
    // NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized)
    (void)vsnprintf(why->text, sizeof why->text, fmt, ap);
    va_end(ap);
}

static dllmem_status parse_name(const char *s, struct dllmem_config *cfg, struct dllmem_reason *why)
{
    size_t n = strlen(s);
    if (n == 0 || n > DLLMEM_NAME_MAX) {
        dllmem_reason_set(why, "DLLMEM_NAME must be 1 to %d characters, got %zu", DLLMEM_NAME_MAX,
                          n);
        return DLLMEM_BAD_CONFIG;
    }
    if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0 || strchr(s, '/') != NULL) {
        dllmem_reason_set(why, "DLLMEM_NAME \"%s\" is not a plain name (no '/', not . or ..)", s);
        return DLLMEM_BAD_CONFIG;
    }
    memcpy(cfg->name, s, n + 1);
    return DLLMEM_OK;
}

static dllmem_status parse_size(const char *s, struct dllmem_config *cfg, struct dllmem_reason *why)
{
    uint64_t v = 0;
    const char *p = s;
    if (*p == '\0')
        goto bad;
    for (; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            goto bad;
        v = v * 10u + (uint64_t)(*p - '0');
        if (v > DLLMEM_MAX_SIZE)
            goto bad;
    }
    if (v < DLLMEM_MIN_SIZE || (v & 1u) != 0)
        goto bad;
    cfg->data_bytes = (uint32_t)v;
    return DLLMEM_OK;
bad:
    dllmem_reason_set(why, "DLLMEM_SIZE \"%.40s\" is not an even number of bytes from %u to %u", s,
                      DLLMEM_MIN_SIZE, DLLMEM_MAX_SIZE);
    return DLLMEM_BAD_CONFIG;
}

dllmem_status dllmem_config_from_env(struct dllmem_config *cfg, struct dllmem_reason *why)
{
    /* Read once, while the library attaches (at load), before any export runs. */
    const char *name = getenv("DLLMEM_NAME"); /* NOLINT(concurrency-mt-unsafe) */
    const char *size = getenv("DLLMEM_SIZE"); /* NOLINT(concurrency-mt-unsafe) */

    memset(cfg, 0, sizeof *cfg);
    if (name != NULL) {
        dllmem_status st = parse_name(name, cfg, why);
        if (st != DLLMEM_OK)
            return st;
    } else {
        dllmem_os_default_name(cfg->name, sizeof cfg->name);
    }
    cfg->data_bytes = DLLMEM_DEFAULT_SIZE;
    if (size != NULL)
        return parse_size(size, cfg, why);
    return DLLMEM_OK;
}

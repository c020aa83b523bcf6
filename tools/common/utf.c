#include "utf.h"

#include <stdint.h>

long utf16_from_utf8(const char *in, dllmem_unit *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t n = 0;
    while (*p != 0) {
        uint32_t cp;
        int extra;
        if (*p < 0x80) {
            cp = *p;
            extra = 0;
        } else if ((*p & 0xE0) == 0xC0) {
            cp = *p & 0x1Fu;
            extra = 1;
        } else if ((*p & 0xF0) == 0xE0) {
            cp = *p & 0x0Fu;
            extra = 2;
        } else if ((*p & 0xF8) == 0xF0) {
            cp = *p & 0x07u;
            extra = 3;
        } else
            return -1;
        p++;
        for (int i = 0; i < extra; i++, p++) {
            if ((*p & 0xC0) != 0x80)
                return -1;
            cp = (cp << 6) | (*p & 0x3Fu);
        }
        static const uint32_t min_cp[4] = {0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return -1;
        size_t need = cp >= 0x10000 ? 2 : 1;
        if (n + need + 1 > cap)
            return -1;
        if (need == 2) {
            cp -= 0x10000;
            out[n++] = (dllmem_unit)(0xD800 + (cp >> 10));
            out[n++] = (dllmem_unit)(0xDC00 + (cp & 0x3FF));
        } else {
            out[n++] = (dllmem_unit)cp;
        }
    }
    if (n + 1 > cap)
        return -1;
    out[n] = 0;
    return (long)n;
}

long utf8_from_utf16(const dllmem_unit *in, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t cp = in[i];
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 1 < n && in[i + 1] >= 0xDC00 &&
            in[i + 1] <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (uint32_t)(in[i + 1] - 0xDC00);
            i++;
        } else if (cp >= 0xD800 && cp <= 0xDFFF) {
            cp = 0xFFFD;
        }
        unsigned char b[4];
        size_t k;
        if (cp < 0x80) {
            b[0] = (unsigned char)cp;
            k = 1;
        } else if (cp < 0x800) {
            b[0] = (unsigned char)(0xC0 | (cp >> 6));
            b[1] = (unsigned char)(0x80 | (cp & 0x3F));
            k = 2;
        } else if (cp < 0x10000) {
            b[0] = (unsigned char)(0xE0 | (cp >> 12));
            b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            b[2] = (unsigned char)(0x80 | (cp & 0x3F));
            k = 3;
        } else {
            b[0] = (unsigned char)(0xF0 | (cp >> 18));
            b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
            b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            b[3] = (unsigned char)(0x80 | (cp & 0x3F));
            k = 4;
        }
        if (o + k + 1 > cap)
            return -1;
        for (size_t j = 0; j < k; j++)
            out[o++] = (char)b[j];
    }
    if (o + 1 > cap)
        return -1;
    out[o] = 0;
    return (long)o;
}

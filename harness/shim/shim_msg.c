/* Self-checking messages: any mix of two messages fails the check. */
#include "shim.h"

#include <stdio.h>

static uint32_t fnv1a(uint32_t h, uint32_t v)
{
    h ^= v & 0xFFFFu;
    return h * 16777619u;
}

static void put_hex(dllmem_unit *out, uint32_t v, int digits)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = digits - 1; i >= 0; i--, v >>= 4)
        out[i] = (dllmem_unit)hex[v & 15u];
}

static bool get_hex(const dllmem_unit *in, int digits, uint32_t *v)
{
    *v = 0;
    for (int i = 0; i < digits; i++) {
        dllmem_unit c = in[i];
        uint32_t d;
        if (c >= '0' && c <= '9')
            d = (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (uint32_t)(c - 'a' + 10);
        else
            return false;
        *v = (*v << 4) | d;
    }
    return true;
}

static uint32_t checksum(const dllmem_unit *buf, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < 23; i++) /* W, S and L fields */
        h = fnv1a(h, buf[i]);
    for (size_t i = SHIM_MSG_HEADER; i < len; i++)
        h = fnv1a(h, buf[i]);
    return h;
}

void shim_msg_make(dllmem_unit *buf, size_t len, uint32_t writer, uint32_t seq)
{
    buf[0] = 'W';
    put_hex(buf + 1, writer, 4);
    buf[5] = 'S';
    put_hex(buf + 6, seq, 8);
    buf[14] = 'L';
    put_hex(buf + 15, (uint32_t)len, 8);
    buf[23] = 'C';
    buf[32] = '|';
    uint32_t s = (writer * 2654435761u) ^ (seq * 40503u) ^ 0x9E3779B9u;
    if (s == 0)
        s = 1;
    size_t i = SHIM_MSG_HEADER;
    while (i < len) {
        uint32_t r = shim_rand(&s);
        if ((r & 7u) == 0 && i + 2 <= len) { /* a surrogate pair */
            buf[i++] = (dllmem_unit)(0xD800u + ((r >> 3) & 0x3FFu));
            buf[i++] = (dllmem_unit)(0xDC00u + ((r >> 13) & 0x3FFu));
        } else {
            dllmem_unit u = (dllmem_unit)(0x20u + (r >> 8) % 0xD7E0u); /* BMP, no NUL/surrogate */
            buf[i++] = u;
        }
    }
    put_hex(buf + 24, checksum(buf, len), 8);
    buf[len] = 0;
}

bool shim_msg_valid(const dllmem_unit *buf, size_t len)
{
    uint32_t w, s;
    return shim_msg_ids(buf, len, &w, &s);
}

bool shim_msg_ids(const dllmem_unit *buf, size_t len, uint32_t *writer, uint32_t *seq)
{
    uint32_t w, s, l, c;
    if (len < SHIM_MSG_HEADER || buf[0] != 'W' || buf[5] != 'S' || buf[14] != 'L' ||
        buf[23] != 'C' || buf[32] != '|')
        return false;
    if (!get_hex(buf + 1, 4, &w) || !get_hex(buf + 6, 8, &s) || !get_hex(buf + 15, 8, &l) ||
        !get_hex(buf + 24, 8, &c))
        return false;
    if (l != len || c != checksum(buf, len))
        return false;
    *writer = w;
    *seq = s;
    return true;
}

void shim_poison(dllmem_unit *buf, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (dllmem_unit)SHIM_POISON;
}

shim_read_kind shim_msg_classify(const dllmem_unit *buf, size_t cap, size_t *len)
{
    size_t n = 0;
    while (n < cap && buf[n] != 0)
        n++;
    if (len != NULL)
        *len = n;
    if (n == cap || (n > 0 && buf[0] == SHIM_POISON))
        return SHIM_READ_UNTOUCHED;
    if (n == 0)
        return SHIM_READ_EMPTY;
    return shim_msg_valid(buf, n) ? SHIM_READ_MESSAGE : SHIM_READ_TORN;
}

const char *shim_read_kind_name(shim_read_kind k)
{
    switch (k) {
    case SHIM_READ_MESSAGE: return "message";
    case SHIM_READ_EMPTY: return "empty";
    case SHIM_READ_UNTOUCHED: return "untouched";
    case SHIM_READ_TORN: return "torn";
    }
    return "?";
}

size_t shim_ulen(const dllmem_unit *s)
{
    size_t n = 0;
    while (s[n] != 0)
        n++;
    return n;
}

void shim_widen(dllmem_unit *out, const char *ascii)
{
    size_t i = 0;
    for (; ascii[i] != 0; i++)
        out[i] = (dllmem_unit)(unsigned char)ascii[i];
    out[i] = 0;
}

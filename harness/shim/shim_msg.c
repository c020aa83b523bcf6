/* Self-checking messages: any mix of two messages fails the check. */
#include "shim.h"

#include <stdio.h>
#include <string.h>

/* One FNV-1a step, then a rotation by 16 bits: a multiply only carries
 * upward, so without the rotation a change to an input's top bits could
 * reach only the top bits of the lane, and two such changes could cancel
 * there. Both parts are bijections of the state; the rotation is one
 * instruction, where a right xorshift took three. */
static uint32_t fnv1a_mix(uint32_t h, uint32_t v)
{
    h = (h ^ v) * 16777619u;
    return (h << 16) | (h >> 16);
}

static uint32_t fnv1a(uint32_t h, uint32_t v) { return fnv1a_mix(h, v & 0xFFFFu); }

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

/*
 * FNV-1a steps (fnv1a_mix) over the W, S and L fields (one unit a step,
 * lane 0) and the body in four lanes: each step takes two units as one
 * 32-bit word, word k of each 8-unit block going to lane k, the last few
 * units one a step; the lanes are folded together at the end. Four
 * independent multiply chains, two units a multiply, so a stress reader
 * checks a 2,047-unit message in about a quarter of a one-lane,
 * one-unit-a-step pass. Each step is a bijection of its lane's state and
 * injective in its input, and so is the fold in each lane, so any message
 * that differs from another in one lane has another checksum; one
 * differing in several collides with odds of about 2^-32.
 */
static uint32_t checksum(const dllmem_unit *buf, size_t len)
{
    uint32_t h[4] = {2166136261u, 2166136261u ^ 1u, 2166136261u ^ 2u, 2166136261u ^ 3u};
    for (size_t i = 0; i < 23; i++) /* W, S and L fields */
        h[0] = fnv1a(h[0], buf[i]);
    size_t i = SHIM_MSG_HEADER;
    for (; i + 8 <= len; i += 8) {
        uint32_t w[4];
        memcpy(w, buf + i, sizeof w); /* the host's byte order: writer and reader share it */
        h[0] = fnv1a_mix(h[0], w[0]);
        h[1] = fnv1a_mix(h[1], w[1]);
        h[2] = fnv1a_mix(h[2], w[2]);
        h[3] = fnv1a_mix(h[3], w[3]);
    }
    for (size_t k = 0; i < len; i++, k++)
        h[k / 2u] = fnv1a(h[k / 2u], buf[i]);
    uint32_t c = h[0];
    for (int k = 1; k < 4; k++)
        c = (c ^ h[k]) * 16777619u;
    return c;
}

/* A BMP unit other than NUL and the surrogates, [0x20, 0xD800), from 14
 * random bits: multiply and shift, no division. */
static dllmem_unit bmp_unit(uint32_t bits14)
{
    return (dllmem_unit)(0x20u + (((bits14 & 0x3FFFu) * 0xD7E0u) >> 14));
}

static bool is_high(dllmem_unit u) { return (u & 0xFC00u) == 0xD800u; }
static bool is_low(dllmem_unit u) { return (u & 0xFC00u) == 0xDC00u; }

/*
 * A writer's bodies are windows on a pool of pseudo-random units, made per
 * thread for each writer and each run of POOL_UNITS sequences (an epoch):
 * message seq starts POOL_STEP * seq units along its epoch's pool (mod
 * POOL_UNITS, a prime), so the messages of an epoch all start at different
 * places, and any two messages differ at nearly every unit, as two writers'
 * or two epochs' pools do. Copying a body costs a memcpy instead of a
 * draw per two units, which was most of a stress writer's CPU. The pool is
 * stored twice over, so a window of up to POOL_UNITS units is one copy; its
 * first and last units are not surrogates, so no pair spans the seam.
 */
#define POOL_UNITS 4099u
#define POOL_STEP 1031u

struct pool {
    bool made;
    uint32_t writer, epoch;
    dllmem_unit u[2 * POOL_UNITS];
};
static _Thread_local struct pool g_pool;

/* One time in eight a surrogate pair, else two BMP units; pairs start at
 * both parities (the first draw decides). Two units per draw, chosen without
 * a branch (a random one mispredicts often). */
static void make_pool(struct pool *p, uint32_t writer, uint32_t epoch)
{
    uint32_t s = (writer * 2654435761u) ^ (epoch * 0x85EBCA6Bu) ^ 0x9E3779B9u;
    if (s == 0)
        s = 1;
    size_t i = 0;
    const size_t n = POOL_UNITS - 1; /* the last unit is set below */
    uint32_t first = shim_rand(&s);
    p->u[i++] = bmp_unit(first >> 1);
    if ((first & 1u) != 0)
        p->u[i++] = bmp_unit(first >> 15);
    for (; i + 2 <= n; i += 2) {
        uint32_t r = shim_rand(&s);
        bool pair = (r & 7u) == 0;
        p->u[i] = pair ? (dllmem_unit)(0xD800u + ((r >> 3) & 0x3FFu)) : bmp_unit(r >> 3);
        p->u[i + 1] = pair ? (dllmem_unit)(0xDC00u + ((r >> 13) & 0x3FFu)) : bmp_unit(r >> 17);
    }
    for (; i < POOL_UNITS; i++)
        p->u[i] = bmp_unit(shim_rand(&s) >> 3);
    memcpy(p->u + POOL_UNITS, p->u, POOL_UNITS * sizeof p->u[0]);
    p->writer = writer;
    p->epoch = epoch;
    p->made = true;
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
    struct pool *p = &g_pool;
    uint32_t epoch = seq / POOL_UNITS;
    if (!p->made || p->writer != writer || p->epoch != epoch)
        make_pool(p, writer, epoch);
    size_t at = (size_t)(((uint64_t)seq * POOL_STEP) % POOL_UNITS);
    for (size_t i = SHIM_MSG_HEADER; i < len;) {
        size_t n = len - i < POOL_UNITS ? len - i : POOL_UNITS;
        memcpy(buf + i, p->u + at, n * sizeof buf[0]);
        i += n;
        at = (at + n) % POOL_UNITS;
    }
    /* A window may begin inside a pair or end inside one: never a lone half. */
    if (len > SHIM_MSG_HEADER && is_low(buf[SHIM_MSG_HEADER]))
        buf[SHIM_MSG_HEADER] = bmp_unit(seq);
    if (len > SHIM_MSG_HEADER && is_high(buf[len - 1]))
        buf[len - 1] = bmp_unit(seq >> 14);
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

shim_read_kind shim_msg_read(const dllmem_unit *buf, size_t cap, size_t *len, uint32_t *writer,
                             uint32_t *seq)
{
    size_t n = 0;
    /* Four units a step: a word has a zero unit iff this is nonzero. */
    for (uint64_t w; n + 4 <= cap; n += 4) {
        memcpy(&w, buf + n, sizeof w);
        if (((w - 0x0001000100010001u) & ~w & 0x8000800080008000u) != 0)
            break;
    }
    while (n < cap && buf[n] != 0)
        n++;
    if (len != NULL)
        *len = n;
    if (n == cap || (n > 0 && buf[0] == SHIM_POISON))
        return SHIM_READ_UNTOUCHED;
    if (n == 0)
        return SHIM_READ_EMPTY;
    uint32_t w = 0, s = 0;
    if (!shim_msg_ids(buf, n, &w, &s))
        return SHIM_READ_TORN;
    if (writer != NULL)
        *writer = w;
    if (seq != NULL)
        *seq = s;
    return SHIM_READ_MESSAGE;
}

shim_read_kind shim_msg_classify(const dllmem_unit *buf, size_t cap, size_t *len)
{
    return shim_msg_read(buf, cap, len, NULL, NULL);
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

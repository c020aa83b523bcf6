/* Sample for test_srcmut.py: each construct srcmut.py mutates, and the ones it
 * must leave alone. memory_order_release in a comment is not a mutant. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#define ORDER memory_order_acquire /* preprocessor lines are not mutated, */
#define LIMIT 0x10u                /* except an integer macro's value */
#define TWICE(x) ((x) * 2)

typedef enum { DLLMEM_OK, DLLMEM_TRUNCATED } dllmem_status;
struct ctl {
    _Atomic unsigned seq;
    unsigned len;
};
static int g_count;
static const char *g_text = "memory_order_seq_cst";

static void unlock(struct ctl *c) { atomic_store_explicit(&c->seq, 0u, memory_order_release); }

static bool publish(struct ctl *c, char *dst, const char *src, unsigned n)
{
    unsigned s = atomic_load_explicit(&c->seq, memory_order_acquire);
    if (n == 0)
        return false;
    atomic_thread_fence(memory_order_release);
    memcpy(dst, src, n);
    c->len = n;
    g_count = 1;
    unsigned local = n;
    local = local + 1u;
    (void)snprintf(dst, n, "%u", local);
    unlock(c);
    return true;
}

static dllmem_status cut(unsigned len, unsigned cap)
{
    if (len > cap || !(cap < LIMIT))
        return DLLMEM_TRUNCATED;
    return len < cap ? DLLMEM_OK : DLLMEM_TRUNCATED;
}

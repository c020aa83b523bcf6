/*
 * The concurrency protocol of layout.h (I1-I6) and the copies that touch the
 * shared areas. seqlock.c calls the OS only for the writer lock, a yield and
 * a test hook (backend.h), so the model checker compiles it unchanged into
 * every model of modelcheck/ over a stand-in backend.
 *
 * Access rule for the shared areas D and S (capacity units, 8-byte aligned):
 * units [0, 4 * (capacity / 4)) are read and written only as whole 64-bit
 * relaxed atomic words, the last capacity % 4 units only as 16-bit relaxed
 * atomics. Every location thus has one atomic size, and a reader racing a
 * writer is race-free in the C11 model; the fences of the protocol order it.
 */
#ifndef DLLMEM_SEQLOCK_H
#define DLLMEM_SEQLOCK_H

#include "backend.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Writes src[0..n) and a terminator at n (n < capacity) into a shared area;
 * units after n in the terminator's word become 0. */
void dllmem_shared_put(dllmem_unit *area, uint32_t capacity, const dllmem_unit *src, size_t n);

/* Copies n units (n < capacity) of a shared area into private memory. */
void dllmem_shared_get(dllmem_unit *dst, const dllmem_unit *area, uint32_t capacity, size_t n);

/* Unit i (i < capacity) of a shared area. */
dllmem_unit dllmem_shared_unit(const dllmem_unit *area, uint32_t capacity, size_t i);

/* Stores src[0..n); n <= capacity-1 and pair-safe. Takes the writer lock,
 * repairs a dead writer's Set first (I5). */
dllmem_status dllmem_seq_store(struct dllmem_segment *seg, const dllmem_unit *src, uint32_t n);

/* Reads the string into buf (cch units with terminator; buf NULL or cch 0:
 * length only). Lock-free for up to `tries` attempts, then under the writer
 * lock, repairing first. */
dllmem_status dllmem_seq_load(struct dllmem_segment *seg, dllmem_unit *buf, size_t cch,
                              size_t *full_len, int tries);

#endif /* DLLMEM_SEQLOCK_H */

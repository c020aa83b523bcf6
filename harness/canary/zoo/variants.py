"""The zoo's members: one realistic defect each, as anchored substitutions on
dll/ (zoo.py applies them to a scratch copy; an anchor must occur exactly
once). `catch` lists the instruments in the order they are tried; the first
that catches the variant ends its run. Keep the cheapest, most deterministic
instrument first. Every substituted line says ZOO, so a variant's source is
easy to tell from the shipped one.
"""


class Edit:
    """Replace `old` (found exactly once in `path`, or in exactly one of the
    paths a tuple names) by `new`."""

    def __init__(self, path, old, new):
        self.paths = path if isinstance(path, tuple) else (path,)
        self.old, self.new = old, new


class OneOf:
    """Exactly one of these edits applies (the same defect in code that has
    two shapes, e.g. before and after it moved)."""

    def __init__(self, *edits):
        self.edits = edits


class Variant:
    def __init__(self, name, what, edits, catch, control=None):
        self.name, self.what, self.edits, self.catch, self.control = (
            name, what, edits, catch, control)


# The protocol lives in seqlock.c; before it moved there, in core.c.
SEQ = ("dll/src/seqlock.c", "dll/src/core.c")
POSIX = "dll/src/posix/shm_posix.c"
CORE = "dll/src/core.c"
UNITS = "dll/src/units.h"
ADOPT = "dll/src/adopt.c"

# Anchors used by several variants.
LIMIT = "    size_t limit = (buf != NULL && cch > 0) ? cch - 1u : 0u;\n"

# Instruments, by what they are good at.
STRESS_KILLS = ("stress:--children 300 --parallel 16 --writers 8 --kill-rate 0.05 "
                "--kill-in-set 0.8 --overlong --seed 7")
STRESS_OVERLAP = "stress:--children 200 --parallel 16 --writers 8 --ops 2000 --seed 7"
CRASHPOINT_SET = "harness:CrashPoint.ARepairing*:Sweep/CrashPointStores.*"  # stores, repairs
CRASHPOINT_ATTACH = "harness:Sweep/CrashPointInit.*:CrashPoint.TheLastProcess*"

VARIANTS = [
    # ---- the reader --------------------------------------------------------------
    Variant("get-empty-while-writing",
            "Get returns \"\" while a write is in progress (seq odd)",
            [Edit(SEQ, "    bool odd = (s1 & 1u) != 0;\n",
                  "    bool odd = (s1 & 1u) != 0;\n"
                  "    if (odd) { /* ZOO: a write is in progress: report the empty string */\n"
                  "        *len_out = 0;\n"
                  "        *copied = 0;\n"
                  "        return true;\n"
                  "    }\n")],
            ["harness:CrashSafety.WriterKilledHalfwayThroughTheDataAreaLeavesAWholeString",
             CRASHPOINT_SET, STRESS_KILLS]),
    Variant("reader-gives-up-on-contention",
            "the reader gives up with \"\" on its first contended attempt",
            [Edit(SEQ, "        ok = read_once(seg, dst, limit, &len, &k);\n"
                       "        STAT_ADD(dllmem_stat_read_attempts);\n",
                  "        ok = read_once(seg, dst, limit, &len, &k);\n"
                  "        if (!ok) { /* ZOO: give up at once */\n"
                  "            if (dst != NULL)\n"
                  "                dst[0] = 0;\n"
                  "            *full_len = 0;\n"
                  "            return DLLMEM_OK;\n"
                  "        }\n"
                  "        STAT_ADD(dllmem_stat_read_attempts);\n")],
            [STRESS_OVERLAP, "harness:Tearing.*", STRESS_KILLS]),
    Variant("get-untouched-while-writing",
            "Get returns without touching the buffer while a write is in progress",
            [Edit(SEQ, LIMIT,
                  "    if ((atomic_load_explicit(&seg->ctl->seq, memory_order_acquire) & 1u) != 0) {\n"
                  "        *full_len = 0; /* ZOO: a write is in progress: leave buf as it is */\n"
                  "        return DLLMEM_OK;\n"
                  "    }\n" + LIMIT)],
            ["harness:CrashSafety.WriterKilledHalfwayThroughTheDataAreaLeavesAWholeString",
             CRASHPOINT_SET, STRESS_KILLS]),
    Variant("get-cut-one-short",
            "off by one at cch-1: a truncating Get keeps one unit fewer than it may",
            [Edit(SEQ, LIMIT,
                  "    size_t limit = (buf != NULL && cch > 1) ? cch - 2u : 0u; /* ZOO */\n")],
            ["harness:Bounds/GetCch.*", "fuzz:set_get_model"]),
    Variant("no-terminator-when-full",
            "no terminator when the string exactly fills the caller's buffer",
            [Edit(SEQ, "    if (dst != NULL)\n        dst[k] = 0;\n",
                  "    if (dst != NULL && !(k == len && k + 1u == cch)) /* ZOO */\n"
                  "        dst[k] = 0;\n")],
            ["harness:Bounds/GetCch.*", "fuzz:set_get_model"]),
    Variant("get-writes-past-cch",
            "a truncating Get writes one unit past cch (its terminator)",
            [Edit(SEQ, LIMIT,
                  "    size_t limit = (buf != NULL && cch > 0) ? cch : 0u; /* ZOO */\n")],
            ["harness:Bounds/GetCch.*", "fuzz:set_get_model"]),
    Variant("hostile-length-unclamped",
            "a reader trusts the control block's length (no clamp to the capacity)",
            [OneOf(Edit(SEQ, "        clamp_len(atomic_load_explicit(odd ? &c->len_s : &c->len_d, "
                             "memory_order_relaxed), cap);\n",
                        "        atomic_load_explicit(odd ? &c->len_s : &c->len_d, "
                        "memory_order_relaxed); /* ZOO */\n"),
                   Edit(SEQ, "    uint32_t len = clamp_len(\n"
                             "        atomic_load_explicit(odd ? &c->len_s : &c->len_d, "
                             "memory_order_relaxed), seg->capacity);\n",
                        "    uint32_t len = /* ZOO */\n"
                        "        atomic_load_explicit(odd ? &c->len_s : &c->len_d, "
                        "memory_order_relaxed);\n"))],
            ["harness:HostileSegment.*", "fuzz:hostile_segment"]),

    # ---- the writer, the lock and repair ---------------------------------------
    Variant("repair-copies-half",
            "repair() copies only half of the shadow into the data area",
            [OneOf(Edit(SEQ, "    shared_copy(seg->data, seg->shadow, seg->capacity, n);\n",
                        "    shared_copy(seg->data, seg->shadow, seg->capacity, n / 2u); /* ZOO */\n"),
                   Edit(SEQ, "    dllmem_copy_shared(seg->data, seg->shadow, n);\n"
                             "    dllmem_store_shared(&seg->data[n], 0);\n",
                        "    dllmem_copy_shared(seg->data, seg->shadow, n / 2u); /* ZOO */\n"
                        "    dllmem_store_shared(&seg->data[n / 2u], 0);\n"))],
            ["harness:CrashSafety.WriterKilledHalfwayThroughTheDataAreaLeavesAWholeString",
             CRASHPOINT_SET, STRESS_KILLS]),
    Variant("repair-skips-leading-words",
            "repair() starts its copy two words in: stale only after a writer killed before "
            "its first data-area store (reached by the stress runner's watchpoint aiming)",
            [Edit(SEQ, "    for (size_t i = 0; i < whole; i++) {\n"
                       "        atomic_store_explicit(&dw[i], atomic_load_explicit(&sw[i], "
                       "memory_order_relaxed),\n",
                  "    for (size_t i = 2; i < whole; i++) { /* ZOO: starts two words in */\n"
                  "        atomic_store_explicit(&dw[i], atomic_load_explicit(&sw[i], "
                  "memory_order_relaxed),\n")],
            [STRESS_KILLS, CRASHPOINT_SET]),
    Variant("repair-never-runs",
            "stale after a writer crash: repair() never runs, seq stays odd",
            [Edit(SEQ, "    if ((s & 1u) == 0)\n        return;\n",
                  "    if ((s & 1u) == 0 || s != 0xFFFFFFFFu) /* ZOO: never repairs */\n"
                  "        return;\n")],
            [CRASHPOINT_SET, STRESS_KILLS]),
    Variant("takeover-skips-repair",
            "a writer that takes over a dead writer's lock does not repair first",
            [Edit(SEQ, "    if (st != DLLMEM_OK)\n        return st;\n    repair(seg);\n"
                       "    uint32_t s = atomic_load_explicit(&c->seq, memory_order_relaxed);\n",
                  "    if (st != DLLMEM_OK)\n        return st;\n"
                  "    /* ZOO: no repair before the Set */\n"
                  "    uint32_t s = atomic_load_explicit(&c->seq, memory_order_relaxed);\n")],
            [CRASHPOINT_SET, STRESS_KILLS]),
    Variant("repair-publishes-first",
            "repair makes seq even before the data area is whole (a repairer killed mid-copy tears it)",
            [Edit(SEQ, "    shared_copy(seg->data, seg->shadow, seg->capacity, n);\n"
                       "    atomic_store_explicit(&c->len_d, n, memory_order_relaxed);\n"
                       "    DLLMEM_MODEL_STORE();\n"
                       "    atomic_store_explicit(&c->seq, s + 1u, memory_order_release); "
                       "/* repaired D before even */\n"
                       "    DLLMEM_MODEL_STORE();\n",
                  "    atomic_store_explicit(&c->seq, s + 1u, memory_order_release); /* ZOO: even first */\n"
                  "    DLLMEM_MODEL_STORE();\n"
                  "    shared_copy(seg->data, seg->shadow, seg->capacity, n);\n"
                  "    atomic_store_explicit(&c->len_d, n, memory_order_relaxed);\n"
                  "    DLLMEM_MODEL_STORE();\n")],
            [CRASHPOINT_SET]),
    Variant("writer-trylock",
            "the writer lock is a try-lock: Sets dropped while it is held (a dead holder too)",
            [Edit(POSIX, "    dllmem_status st = wait_for_writer(seg);\n",
                  "    dllmem_status st = DLLMEM_TIMEOUT; /* ZOO: a try-lock */\n"
                  "    (void)wait_for_writer;\n")],
            ["harness:CrashSafety.WriterKilledHalfwayThroughTheDataAreaLeavesAWholeString",
             CRASHPOINT_SET, STRESS_KILLS]),
    Variant("slot-reuse-keeps-dead-word",
            "a newcomer on a dead writer's slot leaves the writer word naming it",
            [Edit(POSIX, "                &seg->ctl->writer, &dead, 0u, memory_order_release, "
                         "memory_order_relaxed);\n",
                  "                &seg->ctl->writer, &dead, dead, memory_order_release, "
                  "memory_order_relaxed); /* ZOO: the word is left as it is */\n")],
            ["harness:SlotReuse.*"]),
    Variant("cancel-in-writer-wait",
            "cancellation is not disabled while a thread waits for the writer lock",
            [Edit(POSIX, "    (void)pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);\n",
                  "    (void)cancel_state; /* ZOO: stays cancellable */\n")],
            ["harness:Cancellation.*"]),
    Variant("fork-keeps-parent-mapping",
            "a forked child maps its range again through the inherited description, "
            "its parent's: the parent's locks live on in the child",
            [Edit(POSIX, "    else if (!map_in_place(seg, fd))\n",
                  "    else if (!map_in_place(seg, old)) /* ZOO: the parent's description */\n")],
            ["harness:ForkedWriter.*"]),
    Variant("fork-fallback-keeps-mapping",
            "a forked child that cannot get an attach of its own gives up the inherited fd "
            "but not the inherited mapping, which keeps its parent's description alive",
            [Edit(POSIX, "    forget_and_unmap(seg);\n    dllmem_core_forked_unattached(&why);\n",
                  "    dllmem_core_forked_unattached(&why); /* ZOO: the mapping stays */\n")],
            ["harness:ForkedWriter.*"]),

    # ---- bounds of Set -----------------------------------------------------------
    Variant("surrogate-split-at-odd-capacity",
            "Set's cut splits a surrogate pair, only at odd capacities (even limits)",
            [Edit(UNITS, "    if (limit > 0 && dllmem_is_high(s[limit - 1]) && dllmem_is_low(s[limit]))\n",
                  "    if (limit > 0 && (limit & 1u) != 0 && /* ZOO */\n"
                  "        dllmem_is_high(s[limit - 1]) && dllmem_is_low(s[limit]))\n")],
            ["harness:Bounds/SurrogateCut.*:Bounds/SurrogatePairs.*", "fuzz:set_get_model"]),

    # ---- lifetime and security ------------------------------------------------------
    Variant("no-unlink-at-last-detach",
            "the last process to detach does not remove the object",
            [Edit(POSIX, "            (void)shm_unlink(object_name(seg->config.name).text);\n",
                  "            (void)0; /* ZOO: no unlink */\n")],
            ["harness:Lifetime.LastDetachRemovesTheSegment", STRESS_KILLS]),
    Variant("abandoned-string-survives",
            "an abandoned object is adopted without being emptied: a dead session's string survives",
            [Edit(POSIX, "        /* Truncating to zero and back zero-fills in O(1), whatever the size. */\n"
                         "        if (sys_ftruncate(fd, 0) != 0) {\n",
                  "        /* ZOO: kept as it is */\n"
                  "        if (false && sys_ftruncate(fd, 0) != 0) {\n")],
            [CRASHPOINT_ATTACH, "harness:Lifetime.AfterEveryProcessCrashedTheNextAttacherStartsEmpty"]),
    Variant("mode-0644",
            "objects are created, and abandoned ones reset, with mode 0644 (and joined)",
            [Edit(POSIX, "        int fd = sys_shm_open(oname.text, O_RDWR | O_CREAT | O_NONBLOCK, 0600);\n",
                  "        int fd = sys_shm_open(oname.text, O_RDWR | O_CREAT | O_NONBLOCK, 0644); /* ZOO */\n"),
             Edit(POSIX, "    if ((sb->st_mode & 0777) != 0600 && fchmod(fd, 0600) != 0) {\n",
                  "    if ((sb->st_mode & 0777) != 0644 && fchmod(fd, 0644) != 0) { /* ZOO */\n"),
             Edit(POSIX, "    if ((sb->st_mode & 077) != 0) {\n",
                  "    if ((sb->st_mode & 022) != 0) { /* ZOO */\n")],
            ["harness:Security.SegmentIsOwnerOnlyEvenUnderAPermissiveUmask:"
             "Security.AnAbandonedObjectLeftReadableByOthersIsResetToOwnerOnly"]),
    Variant("abandoned-mode-kept",
            "an abandoned object is reset without resetting its mode to 0600",
            [Edit(POSIX, "    if ((sb->st_mode & 0777) != 0600 && fchmod(fd, 0600) != 0) {\n",
                  "    if (false && fchmod(fd, 0600) != 0) { /* ZOO */\n")],
            ["harness:Security.AnAbandonedObjectLeftReadableByOthersIsResetToOwnerOnly"]),
    Variant("detach-guard-removed",
            "detach does not wait for threads inside the exports before unmapping",
            [Edit(CORE, "    for (int ms = 0; atomic_load(&g_inside) != 0u; ms++) {\n",
                  "    for (int ms = 0; false && atomic_load(&g_inside) != 0u; ms++) { /* ZOO */\n")],
            ["harness:BusyExit.ExitWhileAThreadSleepsInsideSetIsClean",
             "harness:BusyExit.ExitWhileAThreadIsInsideSetOrGetIsClean"]),
    Variant("join-without-liveness",
            "an attacher joins a segment no living process is attached to (what the dead left)",
            [Edit(POSIX, "    if (live == 0)\n        return go_round();\n",
                  "    (void)live; /* ZOO: joined whoever holds it */\n")],
            [CRASHPOINT_ATTACH]),
]

#!/usr/bin/env bash
# Where a stress run's CPU goes: a system-wide perf profile of one
# dllmem-stress run, its samples split at the first worker sample into the
# spawn-only baseline's phase and the workers' phase, each grouped into a few
# kinds (the dynamic loader's CPU-feature detection, its other work, page
# faults, execve, exit, other syscalls, the messages' making and checking,
# library calls). Needs perf (Debian: linux-perf) and the right to profile
# the whole machine (root, or kernel.perf_event_paranoid <= -1).
# usage: bench/stress_profile.sh DLLMEM_STRESS [stress options...]
set -euo pipefail
stress=$1
shift
command -v perf > /dev/null || { echo "stress_profile: perf is not installed" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
perf record -q -o "$out/perf.data" -F 4000 -a -g -- "$stress" "$@" --quiet > "$out/run.txt" 2>&1 ||
  { cat "$out/run.txt" >&2; exit 1; }
grep -E 'throughput|where it went' "$out/run.txt" || true
perf script -i "$out/perf.data" -F pid,time,ip,sym 2> /dev/null > "$out/samples.txt"
python3 - "$out/samples.txt" << 'EOF'
import collections, re, sys

samples, cur = [], None
for line in open(sys.argv[1]):
    line = line.rstrip('\n')
    if not line:
        if cur: samples.append(cur)
        cur = None
    elif not line.startswith('\t'):
        f = line.split()
        cur = (int(f[0]), float(f[1].rstrip(':')), [])
    elif cur is not None and len(line.split()) >= 2:
        cur[2].append(line.split()[1])
if cur: samples.append(cur)

WORK = ('role_worker', 'shim_lib_load', 'SetSharedMem', 'GetSharedMem')
starts = [t for p, t, st in samples if any(s.startswith(WORK) for s in st)]
if not starts:
    sys.exit('stress_profile: no worker sample: nothing to compare')
split = min(starts)
# ld.so's cpu-feature and cache-size detection: each cpuid may trap to a hypervisor.
CPUID = {'handle_amd', 'handle_intel', 'intel_check_word', 'init_cpu_features',
         'get_common_indices', 'get_extended_indices', 'update_active', 'dl_init_cacheinfo'}

def kind(st):
    if not st: return 'other'
    if st[0].split('.')[0] in CPUID: return "ld.so CPU-feature detection (cpuid)"
    for s in st:
        if re.match(r'__(x64|do)_sys_execve', s): return 'execve'
        if re.match(r'__(x64|do)_sys_exit_group', s) or s == 'do_exit': return 'exit'
        if s in ('exc_page_fault', 'asm_exc_page_fault'): return 'page faults'
        if s.startswith(('_dl_', 'dl_main', 'do_lookup_x', 'check_match')): return 'ld.so other'
    for s in st:
        if s.startswith(('checksum', 'shim_msg', 'shim_poison')): return 'messages (make, check)'
        if s.startswith(('SetSharedMem', 'GetSharedMem', 'dllmem_', 'put_words')): return 'library calls'
    if any(re.match(r'__(x64|do)_sys_', s) for s in st): return 'other syscalls'
    return 'other'

for name, in_phase in (('spawn-only baseline', lambda t: t < split), ('workers', lambda t: t >= split)):
    c = collections.Counter(kind(st) for p, t, st in samples if p != 0 and in_phase(t))
    n = sum(c.values())
    idle = sum(1 for p, t, st in samples if p == 0 and in_phase(t))
    print(f"{name}: {n} busy samples ({n / 4000:.2f} CPU-s), {idle} idle")
    for k, v in c.most_common():
        print(f"  {100 * v / n:5.1f}%  {v / 4000:6.3f} s  {k}")
EOF

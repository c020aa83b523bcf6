#!/usr/bin/env python3
"""Mutation testing of dll/src against the instruments (ci/mutation runs this).

Two sources of mutants, one runner:
  * Mull (LLVM IR): the whole tree is compiled once with Mull's IR frontend;
    every Mull mutant is compiled in behind getenv(<mutant id>), and child
    processes inherit the environment, so one build serves every Mull mutant.
    The ids come from the `.mull_mutants` section of libdllmem.so: the shipped
    library, so code only the test-hook build contains is out of scope.
    mull-runner itself is not used: it looks for mutants only in the
    executable and its DT_NEEDED libraries (the harness dlopens the library),
    and it runs one test program per mutant with no notion of several
    instruments, early stop or a rebuild.
  * srcmut.py (source text) for what Mull cannot express (see its header):
    each such mutant is written into the private copy of the tree and rebuilt
    (ninja rebuilds only the objects compiled from the mutated file).

Scope: every file under dll/src except win32/. A mutant whose preprocessed
translation units equal the original's (it sits in code the shipped POSIX
build does not compile, e.g. #if DLLMEM_TESTING or DLLMEM_TSAN) is "inactive"
and not counted. Equivalent mutants are listed in tools/mutate/equivalent.txt;
nothing else is excluded.

Instruments, cheapest first by their baseline time; a mutant is killed by the
first one that fails, a timeout when one exceeds its bound, survived when all
pass. The unmutated build must pass every instrument first (else the run is
inconclusive).
"""
import argparse
import glob
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import srcmut  # noqa: E402

FUZZ_TARGETS = ["set_get_model", "hostile_segment", "op_sequence"]
# Mull operators: relational and boundary, logical and negation, constants,
# arithmetic (+-1), calls (void call removed, a call's value replaced).
MULL_MUTATORS = ["cxx_comparison", "cxx_boundary", "cxx_logical", "negate_mutator",
                 "cxx_const_assignment", "cxx_arithmetic",
                 "cxx_arithmetic_assignment", "cxx_increment", "cxx_decrement", "cxx_bitwise",
                 "cxx_calls"]
# ctest tests by cost (measured here; a few of these are tens of seconds):
#   EXCLUDED  never run per mutant: example.* use a fixed segment name, which
#             collides with other runs on the machine (Example* cover them).
#   SLOW      their own tier, after the stress run, in full runs only (--slow
#             adds it to a sample), and only for mutants of the seqlock code
#             they exercise (SLOW_FILES): ~70 s (the crash-point sweeps of
#             attach, Set and repair, threaded tearing, exits inside calls).
#   HEAVY     only with --heavy, last: ~30 s attach/detach races, ~20 s of
#             cross-process tearing (the stress tier does the same with
#             kills), 1000 load/unload cycles, 70 attached processes, and
#             ctest's own stress runs (~40 s; the stress tier runs the same
#             modes, smaller).
EXCLUDED = r"^example\."
SLOW = (r"Tearing\.ThreadsNeverSee|BusyExit\.ExitWhileAThreadIsInside|WritersKilledAtRandom|"
        r"TearingAccounting|CrashPoint")
SLOW_FILES = ("dll/src/seqlock.c",)
HEAVY = r"AttachRacing|Tearing\.ProcessesNeverSee|Thousand|Seventy|^stress\."
# The library objects' warnings stay errors except those a removed statement
# naturally leaves behind (a developer would have deleted the variable too).
ALLOW = ["-Wno-error=unused-parameter", "-Wno-error=unused-variable",
         "-Wno-error=unused-but-set-variable", "-Wno-error=unused-but-set-parameter",
         "-Wno-error=unused-function", "-Wno-error=unused-value"]

TTY = sys.stdout.isatty()


def log(msg):
    if TTY:
        sys.stdout.write("\r\033[K")
    print(msg, flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, **kw)


# ---- the private copy of the tree -------------------------------------------

def sync_tree(root, dest):
    """Copies root (minus build/, .git/, out/) to dest, writing only files whose
    content differs, so the build tree's objects stay valid across runs."""
    skip_top = {"build", ".git", "out"}
    seen = set()
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        if rel == ".":
            dirnames[:] = [d for d in dirnames if d not in skip_top]
        os.makedirs(os.path.join(dest, rel), exist_ok=True)
        for name in filenames:
            r = os.path.normpath(os.path.join(rel, name))
            seen.add(r)
            src, dst = os.path.join(root, r), os.path.join(dest, r)
            if os.path.islink(src):
                continue
            with open(src, "rb") as f:
                data = f.read()
            try:
                with open(dst, "rb") as f:
                    same = f.read() == data
            except OSError:
                same = False
            if not same:
                with open(dst, "wb") as f:
                    f.write(data)
                shutil.copymode(src, dst)
    for dirpath, _, filenames in os.walk(dest):
        for name in filenames:
            r = os.path.normpath(os.path.relpath(os.path.join(dirpath, name), dest))
            if r not in seen:
                os.unlink(os.path.join(dest, r))


# ---- processes, bounded, and the segments they leave --------------------------

def session_pids(sid):
    pids = set()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[3]) == sid:  # field 6: session
                pids.add(int(d))
        except (OSError, IndexError, ValueError):
            pass
    return pids


SEG_PID = re.compile(r"^dllmem-(?:t|fuzz-|stress-|mut)(\d+)")


def remove_segments(pids):
    """Removes /dev/shm segments named after one of pids (names carry the pid
    of the process that made them); returns how many."""
    n = 0
    try:
        names = os.listdir("/dev/shm")
    except OSError:
        return 0
    for name in names:
        m = SEG_PID.match(name)
        if m and int(m.group(1)) in pids:
            try:
                os.unlink(os.path.join("/dev/shm", name))
                n += 1
            except OSError:
                pass
    return n


class Outcome:
    def __init__(self, status, seconds, detail=""):
        self.status, self.seconds, self.detail = status, seconds, detail


def kill_session(p):
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_commands(cmds, env, work, timeout, jobs):
    """Runs cmds [(label, argv, cwd, extra_env)], at most `jobs` at once, each in
    its own session. The first failure or the time bound ends the lot: every
    session still running is killed. Segments named after any process seen in
    those sessions are removed. Returns (Outcome, label, log path, pids seen)."""
    t0 = time.monotonic()
    pending, running, seen = list(cmds), {}, set()
    status, which, which_log = "pass", "", ""
    while pending or running:
        while pending and len(running) < jobs and status == "pass":
            label, argv, cwd, extra = pending.pop(0)
            log_path = os.path.join(work, "logs", label + ".log")
            f = open(log_path, "wb")
            p = subprocess.Popen(argv, cwd=cwd, env=dict(env, **extra), stdout=f,
                                 stderr=subprocess.STDOUT, start_new_session=True)
            running[p] = (label, f, log_path)
        if status != "pass":
            break
        time.sleep(0.05)
        for p in list(running):
            seen |= session_pids(p.pid)
            rc = p.poll()
            if rc is None:
                continue
            label, f, log_path = running.pop(p)
            f.close()
            seen.add(p.pid)
            stragglers = session_pids(p.pid)
            if stragglers:  # children that outlived their parent
                seen |= stragglers
                kill_session(p)
            if rc != 0 and status == "pass":
                status, which, which_log = "fail", label, log_path
        if status == "pass" and time.monotonic() - t0 > timeout:
            status = "timeout"
            which = ", ".join(v[0] for v in running.values())
            which_log = next(iter(running.values()))[2] if running else ""
    for p, (label, f, _) in running.items():
        seen |= session_pids(p.pid) | {p.pid}
        kill_session(p)
        p.wait()
        f.close()
    seen.add(os.getpid())  # the stress segment is named after this runner
    remove_segments(seen)
    return Outcome(status, time.monotonic() - t0), which, which_log, seen


# ---- instruments ------------------------------------------------------------------

class Instrument:
    def __init__(self, name, what, cmds, detail, jobs, applies=None, optional=False):
        self.name, self.what, self.cmds, self.detail, self.jobs = name, what, cmds, detail, jobs
        self.applies = applies or (lambda m: True)
        self.optional = optional  # dropped (and reported) if the unmutated build fails it
        self.remake = None  # ctest tiers: (broken test names) -> (cmds, count)
        self.first = False  # runs right after the unit tier for the mutants it applies to
        self.per_mutant = None  # mutant -> cmds (else cmds)
        self.verdict = None  # log path -> (status, detail), for a command whose exit says nothing
        self.baseline = None
        self.timeout = None


def gtest_failed(text):
    m = re.findall(r"^\[  FAILED  \] ([^\s,]+)(?:, where .*)? \(\d+ ms\)$", text, re.M)
    if m:
        where = re.search(r"^(\S+:\d+): Failure", text, re.M)
        return "FAILED " + ", ".join(m[:2]) + (f" ({where.group(1).rsplit('/', 1)[-1]})" if where else "")
    return None


def failure_text(log_path):
    """One line saying why a command failed, from its log."""
    try:
        text = open(log_path, errors="replace").read()
    except OSError:
        return ""
    g = gtest_failed(text)
    if g:
        return g
    for pat in (r"SUMMARY: .*", r"==\d+==ERROR: .*", r".*violat.*", r".*(FAIL|INCONCLUSIVE).*",
                r".*[Ee]rror.*"):
        m = re.search(pat, text)
        if m:
            return m.group(0).strip()[:160]
    return text.strip().splitlines()[-1][:160] if text.strip() else "(no output)"


def failed_names(detail):
    m = re.search(r"FAILED ([^(]+?)(?: \(|$)", detail)
    return [x.strip() for x in m.group(1).split(",")] if m else []


GTEST_ARG = re.compile(r"^--gtest_(also_run_disabled_tests|output=.*)$")
PLAIN_PROPS = {"LABELS", "TIMEOUT", "WORKING_DIRECTORY", "SKIP_REGULAR_EXPRESSION"}


def ctest_commands(tree, label, ctest_args, shards):
    """The tests `ctest ctest_args` would run, as few commands: GoogleTest cases
    of one executable batched into `shards` runs of that executable with a
    combined --gtest_filter (and --gtest_fail_fast); other tests as ctest runs
    them. One process per case costs ~0.1 s of start-up under ASan each."""
    r = sh(["ctest", "--test-dir", tree, "--show-only=json-v1"] + ctest_args,
           capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"mutation: ctest {' '.join(ctest_args)}: {r.stderr.strip()}")
    tests = json.loads(r.stdout).get("tests", [])
    if not tests:
        raise SystemExit(f"mutation: ctest {' '.join(ctest_args)} selects no test")
    groups, other = {}, []
    for t in tests:
        cmd = t["command"]
        props = {p["name"]: p["value"] for p in t.get("properties", [])}
        wd = props.get("WORKING_DIRECTORY", tree)
        if (len(cmd) >= 2 and cmd[1].startswith("--gtest_filter=") and all(GTEST_ARG.match(a) for a in cmd[2:])
                and set(props) <= PLAIN_PROPS):
            groups.setdefault((cmd[0], wd), []).append(cmd[1][len("--gtest_filter="):])
        else:
            extra = dict(e.split("=", 1) for e in props.get("ENVIRONMENT", []))
            other.append((f"{label}-{t['name']}", cmd, wd, extra))
    out = []
    for (exe, wd), names in sorted(groups.items()):
        n = max(1, min(shards, len(names) // 8))
        for k in range(n):
            part = names[k::n]
            out.append((f"{label}-{os.path.basename(exe)}-{k}",
                        [exe, "--gtest_filter=" + ":".join(part), "--gtest_fail_fast",
                         "--gtest_also_run_disabled_tests"], wd, {}))
    return out + other, len(tests)


def instruments(args, tree, src, work):
    excl = EXCLUDED + ("|" + args.exclude if args.exclude else "")
    out = []

    def ctest_tier(name, what, ctest_args, shards, required):
        def make(broken=()):
            # One -LE only (ctest keeps the last): canary builds are never
            # tested here, and dllmem-check's own tests (label check) only
            # rerun the harness and stress runs the tiers already run.
            a = list(ctest_args)
            if "-LE" in a:
                a[a.index("-LE") + 1] += "|canary|check"
            else:
                a += ["-LE", "canary|check"]
            if broken:
                i = a.index("-E") if "-E" in a else None
                extra = "|".join("^" + re.escape(b) + "$" for b in broken)
                if i is None:
                    a += ["-E", extra]
                else:
                    a[i + 1] += "|" + extra
            return ctest_commands(tree, name, a, shards)
        try:
            cmds, n = make()
        except SystemExit as e:
            if required:
                raise
            log(f"mutation: tier {name} dropped: {e}")
            return
        inst = Instrument(name, f"{what}: {n} tests (ctest {' '.join(ctest_args)})", cmds,
                          failure_text, args.jobs)
        inst.remake = make
        out.append(inst)

    ctest_tier("unit", "harness unit suites, core white-box tests, fuzz corpus and regression replays",
               ["-L", "unit", "-E", f"{excl}|{HEAVY}"], 1, True)
    fuzz = []
    for t in FUZZ_TARGETS:
        dirs = [os.path.join(src, "fuzz", "corpus", t)]
        reg = os.path.join(src, "fuzz", "regressions", t)
        if os.path.isdir(reg):
            dirs.append(reg)
        fuzz.append(("fuzz_" + t,
                     [os.path.join(tree, "fuzz", "fuzz_" + t), f"-max_total_time={args.fuzz_seconds}",
                      "-seed=1", "-timeout=10", "-rss_limit_mb=2048", "-max_len=8192",
                      "-print_final_stats=1", "-dict=" + os.path.join(src, "fuzz", t + ".dict"),
                      "-artifact_prefix=" + os.path.join(work, "artifacts") + "/", "{NEWDIR}"] + dirs,
                     work, {}))
    out.append(Instrument("fuzz", f"each libFuzzer target {args.fuzz_seconds} s from its corpus",
                          fuzz, failure_text, args.jobs))
    ctest_tier("multiprocess", "harness multiprocess, security, crash-point suites (hook build incl.)",
               ["-LE", "unit", "-E", f"{excl}|{SLOW}|{HEAVY}"], args.jobs, True)
    stress = [os.path.join(tree, "stress", "dllmem-stress"), "--children", str(args.stress_children),
              "--parallel", "16", "--writers", "4", "--kill-rate", "0.05", "--kill-in-set", "0.5",
              "--min-repairs", "5", "--overlong", "--size", "4094", "--seed", "1", "--wedge-timeout", "10",
              "--quiet",
              "--name", f"dllmem-mut{os.getpid()}-stress"]
    out.append(Instrument("stress", f"dllmem-stress {args.stress_children} children, 16 at once, "
                          "4 writers, 5% killed at random and half the writers inside their write "
                          "window, over-long strings, capacity 2047 (odd: the copies' tails run)",
                          [("stress", stress, work, {})],
                          failure_text, 1))
    if args.mode == "full" or args.slow:
        ctest_tier("slow", f"the slow multiprocess tests, for mutants of {', '.join(SLOW_FILES)}",
                   ["-LE", "unit", "-R", SLOW, "-E", f"{excl}|{HEAVY}"], args.jobs, False)
        if out[-1].name == "slow" and not args.slow:  # --slow: for every mutant
            out[-1].applies = lambda m: m.file in SLOW_FILES
    else:
        # A sample still gets the deterministic part of the slow tier for the
        # seqlock code: the crash-point sweeps are the only instrument that
        # repairs a string reaching an odd capacity's last units every time
        # (the stress tier does so by chance).
        ctest_tier("crashpoint", f"the crash-point sweeps, for mutants of {', '.join(SLOW_FILES)}",
                   ["-L", "crashpoint", "-E", excl], args.jobs, False)
        if out[-1].name == "crashpoint":
            out[-1].applies = lambda m: m.file in SLOW_FILES
    if args.heavy:
        ctest_tier("heavy", "the heaviest tests", ["-R", HEAVY, "-E", excl], args.jobs, False)
    mc = modelcheck_tier(src, work)
    if mc:
        out.append(mc)
    return out


ORDER_CLASSES = ("order_weakened", "fence_removed", "store_removed")


def genmc_installs(cache):
    """Complete GenMC installs in the tool cache, where ci/modelcheck puts
    them: one per patch set, genmc-VERSION/<hash>/, .complete written last.
    (A marker from the older flat layout names no install it would use.)"""
    return sorted(os.path.dirname(p) for p in glob.glob(os.path.join(cache, "genmc-*", "*", ".complete")))


def modelcheck_tier(src, work):
    """The model checker, ci/modelcheck (GenMC over the shipped seqlock.c under
    RC11 and IMM): the only instrument that sees a weakened memory order, a
    missing fence or a lost store ordering on x86. It applies to our source
    mutants of the file its own mutant list targets (seqlock.c) in the
    ordering classes, and runs right after the unit tier for them (x86 tests
    cannot see these). Baseline: `ci/modelcheck --build-only` (GenMC is
    there; the script itself requires each model to verify the unmutated
    code before it counts a report); per mutant: `ci/modelcheck --mutants` with modelcheck/mutants.txt holding
    just this mutant (the script stops at the first model that reports it;
    "caught by" = killed). Mull's mutants are not in what GenMC compiles.
    Used only when the tree has ci/modelcheck and GenMC is already built."""
    script = os.path.join(src, "ci", "modelcheck")
    listing = os.path.join(src, "modelcheck", "mutants.txt")
    built = genmc_installs(os.environ.get("DLLMEM_TOOL_CACHE", "/var/cache/dllmem-tools"))
    if not (os.path.exists(script) and os.path.exists(listing) and built):
        log("mutation: no model-check tier (needs ci/modelcheck, modelcheck/mutants.txt and a built GenMC)")
        return None
    m = re.search(r'apply_mutant "\$name" "\$scratch/([\w.]+)"', open(script).read())
    if not m:
        log("mutation: no model-check tier (ci/modelcheck names no file its mutants apply to)")
        return None
    target = os.path.join("dll", "src", m.group(1))
    mc = os.path.join(work, "mc")
    sync_tree(src, mc)  # pristine: the script mutates its own scratch copies
    mc_script = os.path.join(mc, "ci", "modelcheck")
    budget = {"MODEL_BUDGET": "60", "STAGE_BUDGET": "300"}
    inst = Instrument("modelcheck", f"ci/modelcheck (GenMC, RC11 and IMM) for source mutants of "
                      f"{target} in {', '.join(ORDER_CLASSES)}",
                      [("modelcheck", [mc_script, "--build-only"], mc, budget)], failure_text, 1,
                      applies=lambda x: x.engine == "src" and x.file == target and op_class(x.op) in ORDER_CLASSES,
                      optional=True)
    inst.first = True
    original = open(os.path.join(src, target), encoding="utf-8").read()

    def per_mutant(x):
        lines = original.split("\n")
        a = original.count("\n", 0, x.start)  # 0-based first line
        b = original.count("\n", 0, x.end)
        # Grow the context upwards until the "-" block occurs exactly once.
        while True:
            block = "\n".join(lines[a:b + 1]) + "\n"
            if original.count(block) == 1 or a == 0:
                break
            a -= 1
        start = sum(len(t) + 1 for t in lines[:a])
        end = start + len(block)
        new = (original[start:x.start] + x.replacement + original[x.end:end]).rstrip("\n")
        with open(os.path.join(mc, "modelcheck", "mutants.txt"), "w") as f:
            f.write(f"== mutation-{stable_hash(x.id)[:10]} {x.desc}\n")
            f.writelines("-" + t + "\n" for t in block.rstrip("\n").split("\n"))
            f.writelines("+" + t + "\n" for t in new.split("\n") if new)
        return [("modelcheck", [mc_script, "--mutants"], mc, budget)]

    def verdict(log_path):
        text = open(log_path, errors="replace").read()
        hit = re.search(r"^mutant \S+\s+caught by (.*)$", text, re.M)
        return ("fail", "caught by " + hit.group(1)[:140]) if hit else ("pass", "")

    inst.per_mutant, inst.verdict = per_mutant, verdict
    return inst


def run_instrument(inst, env, work, timeout, mutant=None):
    cmds, made = [], []
    for label, argv, cwd, extra in (inst.per_mutant(mutant) if mutant and inst.per_mutant else inst.cmds):
        if "{NEWDIR}" in argv:
            d = tempfile.mkdtemp(prefix="new-", dir=work)
            made.append(d)
            argv = [d if a == "{NEWDIR}" else a for a in argv]
        cmds.append((label, argv, cwd, extra))
    o, which, log_path, pids = run_commands(cmds, env, work, timeout, inst.jobs)
    for d in made:
        shutil.rmtree(d, ignore_errors=True)
    if mutant and inst.verdict and o.status != "timeout":
        o.status, detail = inst.verdict(os.path.join(work, "logs", cmds[0][0] + ".log"))
        o.detail = f"{which}: {detail}" if detail else ""
        return o, pids
    if o.status == "fail":
        o.detail = f"{which}: {inst.detail(log_path)}"
    elif o.status == "timeout":
        o.detail = f"{which}: still running after {timeout:.0f} s"
    return o, pids


# ---- mutants -------------------------------------------------------------------------

class Mutant:
    def __init__(self, engine, op, file, line, col, function, source, mutated, desc, mid,
                 start=None, end=None, replacement=None):
        self.engine, self.op, self.file, self.line, self.col = engine, op, file, line, col
        self.function, self.source, self.mutated, self.desc, self.id = function, source, mutated, desc, mid
        self.start, self.end, self.replacement = start, end, replacement
        self.key = None
        self.status = None
        self.detail = ""
        self.instrument = ""
        self.seconds = 0.0
        self.equivalent = None

    def diff(self):
        a = [f"-{x}" for x in self.source.splitlines()]
        b = [f"+{x}" for x in self.mutated.splitlines()] or ["+"]
        return f"@@ {self.file}:{self.line} ({self.function}) @@\n" + "\n".join(a + b)

    def to_json(self):
        d = {"id": self.id, "engine": self.engine, "operator": self.op, "file": self.file,
             "line": self.line, "function": self.function, "description": self.desc,
             "status": self.status, "seconds": round(self.seconds, 2), "key": self.key}
        if self.instrument:
            d["instrument"] = self.instrument
        if self.detail:
            d["detail"] = self.detail
        if self.status in ("survived", "timeout", "no-compile") or self.equivalent:
            d["diff"] = self.diff()
        if self.equivalent:
            d["equivalent_reason"] = self.equivalent
        return d


def line_bounds(text, line):
    lines = text.split("\n")
    start = sum(len(x) + 1 for x in lines[:line - 1])
    return start, start + len(lines[line - 1])


# What Mull does at [begin, end) of the source, for the report's diff.
MULL_TEXT = {
    "cxx_lt_to_le": ("<", "<="), "cxx_le_to_lt": ("<=", "<"), "cxx_gt_to_ge": (">", ">="),
    "cxx_ge_to_gt": (">=", ">"), "cxx_lt_to_ge": ("<", ">="), "cxx_le_to_gt": ("<=", ">"),
    "cxx_gt_to_le": (">", "<="), "cxx_ge_to_lt": (">=", "<"), "cxx_eq_to_ne": ("==", "!="),
    "cxx_ne_to_eq": ("!=", "=="), "cxx_logical_and_to_or": ("&&", "||"),
    "cxx_logical_or_to_and": ("||", "&&"), "cxx_add_to_sub": ("+", "-"), "cxx_sub_to_add": ("-", "+"),
    "cxx_mul_to_div": ("*", "/"), "cxx_div_to_mul": ("/", "*"), "cxx_rem_to_div": ("%", "/"),
    "cxx_and_to_or": ("&", "|"), "cxx_or_to_and": ("|", "&"), "cxx_xor_to_or": ("^", "|"),
    "cxx_lshift_to_rshift": ("<<", ">>"), "cxx_rshift_to_lshift": (">>", "<<"),
    "cxx_add_assign_to_sub_assign": ("+=", "-="), "cxx_sub_assign_to_add_assign": ("-=", "+="),
    "cxx_mul_assign_to_div_assign": ("*=", "/="), "cxx_div_assign_to_mul_assign": ("/=", "*="),
    "cxx_rem_assign_to_div_assign": ("%=", "/="), "cxx_and_assign_to_or_assign": ("&=", "|="),
    "cxx_or_assign_to_and_assign": ("|=", "&="), "cxx_xor_assign_to_or_assign": ("^=", "|="),
    "cxx_lshift_assign_to_rshift_assign": ("<<=", ">>="),
    "cxx_rshift_assign_to_lshift_assign": (">>=", "<<="),
    "cxx_pre_inc_to_pre_dec": ("++", "--"), "cxx_post_inc_to_post_dec": ("++", "--"),
    "cxx_pre_dec_to_pre_inc": ("--", "++"), "cxx_post_dec_to_post_inc": ("--", "++"),
}


def mull_mutated_line(op, line_text, bcol, ecol, same_line):
    """A best-effort source rendering of a Mull mutant on its first line."""
    b = bcol - 1
    e = (ecol - 1) if same_line else len(line_text)
    seg = line_text[b:e]
    if op in MULL_TEXT:
        old, new = MULL_TEXT[op]
        i = line_text.find(old, b)
        if i >= 0:
            return line_text[:i] + new + line_text[i + len(old):]
        return line_text + f"   /* {old} -> {new} */"
    if op == "scalar_value_mutator":
        m = re.match(r"\s*(0x[0-9a-fA-F]+|\d+)[uUlL]*", seg)
        if m:
            val = int(m.group(1), 0)
            return line_text[:b] + ("42" if val == 0 else "0") + line_text[b + m.end():]
        return line_text + "   /* a constant here: 0 -> 42, other -> 0 */"
    if op == "cxx_remove_void_call":
        return line_text[:b] + "/* removed: " + seg + " */" + line_text[e:]
    if op == "cxx_replace_scalar_call":
        return line_text[:b] + "42 /* was: " + seg + " */" + line_text[e:]
    if op in ("cxx_assign_const", "cxx_init_const"):
        return line_text + "   /* assigned value -> 42 */"
    if op == "cxx_remove_negation":
        return line_text[:b] + line_text[b:].replace("!", "", 1)
    if op == "negate_mutator":
        return line_text[:b] + "!(" + seg + ")" + line_text[e:]
    if op == "cxx_minus_to_noop":
        return line_text[:b] + line_text[b:].replace("-", "", 1)
    if op == "cxx_bitwise_not_to_noop":
        return line_text[:b] + line_text[b:].replace("~", "", 1)
    return line_text + f"   /* {op} at column {bcol} */"


def read_mull_ids(lib):
    with tempfile.NamedTemporaryFile(delete=False) as f:
        out = f.name
    try:
        r = sh(["llvm-objcopy-16", "--dump-section", f".mull_mutants={out}", lib, os.devnull],
               capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"mutation: no .mull_mutants section in {lib}: {r.stderr.strip()}")
        data = open(out, "rb").read().decode()
    finally:
        os.unlink(out)
    return sorted({x for x in data.split("\0") if x})


class Sources:
    """The copy's dll/src files: text, tokens' function spans."""

    def __init__(self, src):
        self.src = src
        self.text, self.funcs = {}, {}
        base = os.path.join(src, "dll", "src")
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if d != "win32")
            for name in sorted(filenames):
                if name.endswith((".c", ".h")):
                    rel = os.path.relpath(os.path.join(dirpath, name), src)
                    t = open(os.path.join(src, rel), encoding="utf-8").read()
                    self.text[rel] = t
                    self.funcs[rel] = srcmut.functions(srcmut.tokenize(t))

    def line(self, rel, n):
        lines = self.text[rel].split("\n")
        return lines[n - 1] if 0 < n <= len(lines) else ""

    def function(self, rel, n):
        return srcmut.function_at(self.funcs[rel], n)


def mull_mutants(ids, sources, src):
    out = []
    prefix = os.path.join(src, "")
    for mid in ids:
        parts = mid.split(":")
        if len(parts) < 6:
            continue
        op, path = parts[0], ":".join(parts[1:-4])
        bl, bc, el, ec = (int(x) for x in parts[-4:])
        path = os.path.normpath(path)
        if not path.startswith(prefix):
            continue
        rel = os.path.relpath(path, src)
        if rel not in sources.text:
            continue
        text = sources.line(rel, bl)
        mutated = mull_mutated_line(op, text, bc, ec, bl == el)
        seg = text[bc - 1:(ec - 1) if bl == el else None]
        out.append(Mutant("mull", op, rel, bl, bc, sources.function(rel, bl), text, mutated,
                          f"{op} at {bl}:{bc} `{seg.strip()[:60]}`", mid))
    return out


def source_mutants(sources):
    out = []
    for rel, text in sources.text.items():
        for m in srcmut.mutants(rel, text):
            a, _ = line_bounds(text, m["line"])
            # The lines the mutant touches, before and after.
            last = text.count("\n", 0, m["end"]) + 1
            _, b = line_bounds(text, last)
            before = text[a:b]
            after = text[a:m["start"]] + m["replacement"] + text[m["end"]:b]
            col = m["start"] - a + 1
            mid = f"src:{m['op']}:{rel}:{m['line']}:{col}:{m['start']}"
            out.append(Mutant("src", m["op"], rel, m["line"], col, m["function"], before, after,
                              m["desc"].split("\n")[0][:120], mid, m["start"], m["end"],
                              m["replacement"]))
    return out


def assign_keys(mutants, sources):
    """key = file :: function :: operator#n :: source line, n counting mutants with
    the same file, function, operator and line text in source order: stable
    under edits elsewhere in the file."""
    counts = {}
    for m in sorted(mutants, key=lambda m: (m.file, m.line, m.col, m.engine, m.op, m.id)):
        text = " ".join(sources.line(m.file, m.line).split())
        base = (m.file, m.function, m.op, text)
        counts[base] = counts.get(base, 0) + 1
        m.key = f"{m.file} :: {m.function} :: {m.op}#{counts[base]} :: {text}"


def load_equivalents(path):
    """Lines `file :: function :: operator[#n] :: source line :: reason`."""
    entries = []
    if not os.path.exists(path):
        return entries
    for n, raw in enumerate(open(path, encoding="utf-8"), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split(" :: ")]
        if len(parts) != 5 or not parts[4]:
            raise SystemExit(f"{path}:{n}: want `file :: function :: operator[#n] :: source line :: reason`")
        f, fn, op, text, reason = parts
        entries.append({"file": f, "function": fn, "op": op, "text": " ".join(text.split()),
                        "reason": reason, "line": n, "used": 0})
    return entries


def match_equivalent(m, entries):
    f, fn, opn, text = [p.strip() for p in m.key.split(" :: ", 3)]
    op = opn.split("#")[0]
    for e in entries:
        if e["file"] == f and e["function"] == fn and e["text"] == text and (
                e["op"] == opn or e["op"] == op):
            e["used"] += 1
            return e["reason"]
    return None


def stable_hash(s):
    return hashlib.sha1(s.encode()).hexdigest()


# Operator classes: the sample draws from each class in turn, so every kind of
# defect the issue names is sampled, however few mutants it has.
CLASSES = [
    ("relational", r"^cxx_(lt|le|gt|ge)_to_(le|lt|ge|gt)$|^cxx_(eq_to_ne|ne_to_eq)$"),
    ("logical", r"^cxx_logical_|^negation$|^cxx_remove_negation$|^negate_mutator$"),
    ("constant", r"^const_change$|^cxx_(assign|init)_const$|^scalar_value_mutator$"),
    ("arithmetic", r"^cxx_(add|sub|mul|div|rem|minus|pre|post)_|^cxx_(add|sub|mul|div|rem)_assign"),
    ("bitwise", r"^cxx_(and|or|xor|lshift|rshift|bitwise)_"),
    ("call_removed", r"^call_remove$|^cxx_remove_void_call$"),
    ("call_value", r"^cxx_replace_scalar_call$"),
    ("store_removed", r"^store_remove$"),
    ("fence_removed", r"^fence_remove$"),
    ("order_weakened", r"^mo_weaken$"),
    ("return_swapped", r"^ret_swap$"),
    ("args_swapped", r"^arg_swap$"),
]


def op_class(op):
    for name, pat in CLASSES:
        if re.search(pat, op):
            return name
    return "other"


def stratified(mutants):
    """Deterministic order: round-robin over operator classes, each class's
    mutants ordered by a hash of their key (stable when other code changes)."""
    by_op = {}
    for m in mutants:
        by_op.setdefault(op_class(m.op), []).append(m)
    for v in by_op.values():
        v.sort(key=lambda m: stable_hash(m.key))
    out, i = [], 0
    ops = sorted(by_op)
    while any(i < len(by_op[o]) for o in ops):
        for o in ops:
            if i < len(by_op[o]):
                out.append(by_op[o][i])
        i += 1
    return out


# ---- building --------------------------------------------------------------------------

class Tree:
    def __init__(self, args, src, tree, work):
        self.args, self.src, self.tree, self.work = args, src, tree, work
        self.plugin = os.path.join(args.mull, "tools", "mull-ir-frontend", "mull-ir-frontend-16")
        self.mull_yml = os.path.join(work, "mull.yml")
        # Source mutants are built with Mull's frontend idle (no file matches):
        # ~10x faster compiles; the restored file is rebuilt with Mull on.
        self.mull_off_yml = os.path.join(work, "mull-off.yml")
        self.marker = os.path.join(work, "source-phase")
        self.tu_cache = {}

    def configure(self):
        with open(self.mull_yml, "w") as f:
            f.write("mutators:\n" + "".join(f"  - {m}\n" for m in MULL_MUTATORS))
            f.write(f"includePaths:\n  - '{re.escape(os.path.join(self.src, 'dll', 'src'))}/'\n")
            f.write("excludePaths:\n  - '/win32/'\nquiet: true\n")
        with open(self.mull_off_yml, "w") as f:
            f.write("mutators:\n  - cxx_boundary\nincludePaths:\n  - '^/nonexistent-path/'\nquiet: true\n")
        if os.path.exists(self.marker):
            # An earlier run stopped among source mutants: objects of unchanged
            # files may lack Mull's mutants; make ninja rebuild every dll/src user.
            for dirpath, _, files in os.walk(os.path.join(self.src, "dll", "src")):
                for name in files:
                    os.utime(os.path.join(dirpath, name))
        cflags = " ".join([f"-fpass-plugin={self.plugin}", "-g", "-grecord-command-line"] + ALLOW)
        cmd = ["cmake", "-S", self.src, "-B", self.tree, "-G", "Ninja",
               "-DCMAKE_BUILD_TYPE=RelWithDebInfo", "-DCMAKE_C_COMPILER=clang-16",
               "-DCMAKE_CXX_COMPILER=clang++-16", f"-DCMAKE_C_FLAGS={cflags}",
               "-DDLLMEM_SANITIZE=address,undefined", "-DDLLMEM_WERROR=ON", "-DDLLMEM_FUZZ=ON",
               "-DDLLMEM_BUILD_BENCH=OFF", "-DCMAKE_LINK_DEPENDS_NO_SHARED=ON",
               "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON"]
        if shutil.which("ccache"):
            cmd.append("-DCMAKE_C_COMPILER_LAUNCHER=ccache")
            cmd.append("-DCMAKE_CXX_COMPILER_LAUNCHER=ccache")
        return self._run(cmd, "configure.log")

    def env(self, mull=True):
        yml = self.mull_yml if mull else self.mull_off_yml
        e = dict(os.environ, MULL_CONFIG=yml)
        # ccache does not hash the plugin or its configuration: make it.
        e["CCACHE_EXTRAFILES"] = f"{yml}:{self.plugin}"
        return e

    def build(self, logname="build.log", mull=True):
        if not mull:
            open(self.marker, "w").close()
        ok = self._run(["ninja", "-C", self.tree, "-j", str(self.args.jobs)], logname, mull)
        if ok and mull and os.path.exists(self.marker):
            os.unlink(self.marker)
        return ok

    def _run(self, cmd, logname, mull=True):
        path = os.path.join(self.work, "logs", logname)
        with open(path, "wb") as f:
            r = sh(cmd, stdout=f, stderr=subprocess.STDOUT, env=self.env(mull))
        return r.returncode == 0

    def lib_tus(self):
        """compile_commands entries of libdllmem (the shipped library)."""
        db = json.load(open(os.path.join(self.tree, "compile_commands.json")))
        own = re.compile(r"(^|[\s/])dll/CMakeFiles/dllmem\.dir/")
        tus = [e for e in db if own.search(e.get("output", e["command"]))]
        if not tus:
            raise SystemExit("mutation: compile_commands.json names no object of libdllmem")
        return tus

    @staticmethod
    def _args(entry, drop_debug_and_sanitizers=False):
        out, skip = [], False
        for a in shlex.split(entry["command"]):
            if skip:
                skip = False
                continue
            if a in ("-o", "-MF", "-MT", "-MQ"):
                skip = True
                continue
            if a in ("-c", "-MD", "-MMD") or a.startswith("-fpass-plugin") or a == "ccache":
                continue
            if drop_debug_and_sanitizers and (a.startswith(("-g", "-fsanitize", "-fno-sanitize", "-O"))
                                              or a == "-fno-omit-frame-pointer"):
                continue
            out.append(a)
        return out

    def preprocess(self, entry):
        r = sh(self._args(entry) + ["-E", "-P", "-o", "-"], cwd=entry["directory"], capture_output=True)
        return hashlib.sha1(r.stdout).hexdigest() if r.returncode == 0 else None

    def syntax_ok(self, entry):
        r = sh(self._args(entry) + ["-fsyntax-only"], cwd=entry["directory"], capture_output=True, text=True)
        return r.returncode == 0, r.stderr

    def machine_code(self, entry):
        """The TU's assembly as the release build ships it (-O3, no debug info,
        no sanitizers), string-constant labels replaced by their text (their
        numbering shifts when an unused string disappears): equal means the
        mutant is trivially equivalent in the shipped library."""
        r = sh(self._args(entry, True) + ["-O3", "-S", "-o", "-"], cwd=entry["directory"],
               capture_output=True, text=True)
        if r.returncode != 0:
            return None
        asm = r.stdout
        strings = dict(re.findall(r'^(\.L\.str[.\w]*):\n\s*\.(?:asciz|ascii|string)\s+(".*")$', asm, re.M))
        asm = re.sub(r'^(\.L\.str[.\w]*):\n\s*\.(?:asciz|ascii|string)\s+".*"$', "", asm, flags=re.M)
        asm = re.sub(r"\.L\.str[.\w]*", lambda m: "STR" + strings.get(m.group(0), m.group(0)), asm)
        asm = re.sub(r"\s+#.*$", "", asm, flags=re.M)  # the compiler's comments name the labels
        asm = "\n".join(x for x in asm.splitlines() if x.strip() and not x.lstrip().startswith((".file", ".ident")))
        return hashlib.sha1(asm.encode()).hexdigest()


# ---- the run ---------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", nargs="?", default="sample", choices=["sample", "full", "list"])
    ap.add_argument("--root", default=os.path.normpath(os.path.join(HERE, "..", "..")))
    ap.add_argument("--work", default=None, help="default: ROOT/build/mutation (full: build/mutation-full)")
    ap.add_argument("--mull", required=True, help="Mull's build directory")
    ap.add_argument("--sample", type=int, default=int(os.environ.get("MUTATION_SAMPLE", "36")))
    ap.add_argument("--gate", type=float, default=float(os.environ.get("MUTATION_GATE", "0.90")))
    ap.add_argument("--jobs", type=int, default=int(os.environ.get("JOBS", "2")))
    ap.add_argument("--fuzz-seconds", type=int, default=2)
    ap.add_argument("--stress-children", type=int, default=80)
    ap.add_argument("--time-limit", type=float, default=0, help="seconds; mutants not started by then are reported as not run")
    ap.add_argument("--slow", action="store_true",
                    help="the slow tier for every mutant (full runs have it for SLOW_FILES only)")
    ap.add_argument("--heavy", action="store_true", help="also the heavy tier (see HEAVY)")
    ap.add_argument("--only", action="append", default=[], help="run only mutants whose id or key contains this")
    ap.add_argument("--require-modelcheck", action="store_true",
                    help="fail rather than run without the model-check tier (exit 2 when there is "
                         "none, 3 when it fails on the unmutated code)")
    ap.add_argument("--survivors-of", default="", help="run only the survivors of this report.json (with --slow/--heavy: "
                    "which slower tier kills them)")
    ap.add_argument("--exclude", default=os.environ.get("MUTATION_EXCLUDE", ""),
                    help="ctest -E regex of further tests to leave out (reported)")
    ap.add_argument("--equivalents", default=os.path.join(HERE, "equivalent.txt"))
    ap.add_argument("--no-sync", action="store_true", help="use WORK/src as it is (debugging)")
    ap.add_argument("--rev", default=os.environ.get("MUTATION_REV", ""),
                    help="test this git revision (e.g. HEAD) instead of the working tree")
    args = ap.parse_args()

    t_start = time.monotonic()
    root = os.path.abspath(args.root)
    work = os.path.abspath(args.work or os.path.join(root, "build", "mutation" + ("-full" if args.mode == "full" else "")))
    src, tree = os.path.join(work, "src"), os.path.join(work, "tree")
    shutil.rmtree(os.path.join(work, "logs"), ignore_errors=True)
    os.makedirs(os.path.join(work, "logs"), exist_ok=True)
    os.makedirs(os.path.join(work, "artifacts"), exist_ok=True)
    report_json = os.path.join(work, "report.json")
    report_txt = os.path.join(work, "report.txt")
    if os.path.exists(report_json):
        os.unlink(report_json)

    if args.no_sync:
        log(f"mutation: using {src} as it is")
    elif args.rev:
        log(f"mutation: copying {args.rev} to {src}")
        with tempfile.TemporaryDirectory(prefix="rev-", dir=work) as tmp:
            r = sh(f"git -C {shlex.quote(root)} archive --format=tar {shlex.quote(args.rev)} | tar -x -C {shlex.quote(tmp)}",
                   shell=True)
            if r.returncode != 0:
                log(f"mutation: cannot export {args.rev}")
                return 3
            sync_tree(tmp, src)
    else:
        log(f"mutation: copying the working tree to {src}")
        sync_tree(root, src)
    t = Tree(args, src, tree, work)
    log("mutation: configuring and building (clang-16, ASan+UBSan, Mull IR frontend)")
    if not t.configure() or not t.build():
        log(f"mutation: the unmutated tree does not build; see {work}/logs/")
        return 3
    t_build = time.monotonic() - t_start

    sources = Sources(src)
    ids = read_mull_ids(os.path.join(tree, "dll", "libdllmem.so"))
    mull = mull_mutants(ids, sources, src)
    srcm = source_mutants(sources)
    # Where Mull already removes a void call or a negation, ours would repeat it.
    mull_has = {(m.file, m.line, m.op) for m in mull}
    srcm = [m for m in srcm if not (m.op == "call_remove" and (m.file, m.line, "cxx_remove_void_call") in mull_has)
            and not (m.op == "negation" and (m.file, m.line, "cxx_remove_negation") in mull_has)]
    everything = mull + srcm
    assign_keys(everything, sources)
    equivalents = load_equivalents(args.equivalents)
    for m in everything:
        m.equivalent = match_equivalent(m, equivalents)
    stale = [e for e in equivalents if e["used"] == 0]
    if args.only:
        everything = [m for m in everything if any(o in m.id or o in m.key for o in args.only)]
    if args.survivors_of:
        ids = {x["id"] for x in json.load(open(args.survivors_of))["survivors"]}
        everything = [m for m in everything if m.id in ids]
        if len(everything) != len(ids):
            log(f"mutation: {len(ids) - len(everything)} of the survivors are no longer mutants of this tree")
    candidates = [m for m in everything if not m.equivalent]

    if args.mode == "list":
        for m in everything:
            print(json.dumps({"id": m.id, "key": m.key, "desc": m.desc, "equivalent": m.equivalent}))
        return 0

    # Source mutants: inactive (preprocessed output unchanged) or not even
    # syntactically valid are settled without a build.
    tus = t.lib_tus()
    tu_of = {}
    for e in tus:
        rel = os.path.relpath(os.path.normpath(os.path.join(e["directory"], e["file"])), src)
        tu_of[rel] = e
    baseline_pp = {rel: t.preprocess(e) for rel, e in tu_of.items()}
    baseline_code = {}

    def settle_source(m):
        """inactive: the shipped build's preprocessed TUs are unchanged (the code
        is not compiled in); no-compile: a TU does not even parse; identical:
        the shipped build's machine code is unchanged (trivially equivalent,
        e.g. a call to a function that is empty outside the test build)."""
        path = os.path.join(src, m.file)
        orig = sources.text[m.file]
        st = os.stat(path)
        with open(path, "w", encoding="utf-8") as f:
            f.write(srcmut.apply(orig, m.start, m.end, m.replacement))
        try:
            affected = [m.file] if m.file in tu_of else list(tu_of)
            changed = [r for r in affected if t.preprocess(tu_of[r]) != baseline_pp[r]]
            if not changed:
                return "inactive", ""
            for r in changed:
                ok, err = t.syntax_ok(tu_of[r])
                if not ok:
                    first = next((x for x in err.splitlines() if "error" in x), err.strip()[:160])
                    return "no-compile", first.replace(src + "/", "")[:200]
            mutated = {r: t.machine_code(tu_of[r]) for r in changed}
            with open(path, "w", encoding="utf-8") as f:
                f.write(orig)
            for r in changed:
                if r not in baseline_code:
                    baseline_code[r] = t.machine_code(tu_of[r])
            if all(mutated[r] is not None and mutated[r] == baseline_code[r] for r in changed):
                return "identical", ""
            return None, ""
        finally:
            with open(path, "w", encoding="utf-8") as f:
                f.write(orig)
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # ninja must not rebuild it

    # Full runs take the same order, so one stopped by its time limit is still
    # an unbiased sample.
    ordered = stratified(candidates)
    chosen, inactive, settled, identical = [], [], [], []
    for m in ordered:
        if args.mode == "sample" and len(chosen) >= args.sample:
            break
        if m.engine == "src":
            st, why = settle_source(m)
            if st == "inactive":
                inactive.append(m)
                continue
            if st == "identical":
                m.equivalent = "trivially: the shipped build's machine code is unchanged (-O3)"
                identical.append(m)
                continue
            if st == "no-compile":
                m.status, m.detail = "no-compile", why
                settled.append(m)
                continue
        chosen.append(m)
    # Everything Mull mutates shares the unmutated build: within each block of
    # 60 (in sample order), Mull's first, then the source mutants file by file.
    blocks = [chosen[i:i + 60] for i in range(0, len(chosen), 60)]
    chosen = [m for b in blocks for m in sorted(b, key=lambda m: (m.engine != "mull", m.file, m.line, m.col, m.op))]

    insts = instruments(args, tree, src, work)
    if args.require_modelcheck and not any(i.name == "modelcheck" for i in insts):
        log("mutation: --require-modelcheck, and there is no model-check tier: the ordering "
            "mutants of seqlock.c would go to instruments that cannot see them")
        return 2
    base_env = dict(os.environ)
    # The library's own variables (and ci/all's summary file) stay out of the
    # instruments; the tool cache stays in (ci/modelcheck finds GenMC there).
    for k in [k for k in base_env if k.startswith(("DLLMEM_", "MULL", "cxx_", "scalar_", "negate_"))
              and k != "DLLMEM_TOOL_CACHE"]:
        del base_env[k]
    # clang-16's LeakSanitizer crashes ("Tracer caught signal 11") walking the
    # dynamic TLS of a library that was dlclose()d (the harness unloads
    # libdllmem, which has a _Thread_local); use_tls=0 skips that walk.
    # Without that walk, glibc's own dlopen bookkeeping, which only dynamic
    # TLS points to, looks leaked (the cancel-waiter role): suppress exactly
    # that glibc allocation site, nothing of ours.
    supp = os.path.join(work, "lsan.supp")
    with open(supp, "w") as f:
        f.write("leak:_dl_map_object_deps\n")
    base_env["LSAN_OPTIONS"] = f"use_tls=0:suppressions={supp}"
    log("mutation: baseline: every instrument on the unmutated build")
    all_pids = set()
    flaky, dropped, broken = [], [], []
    for inst in list(insts):
        o, pids = run_instrument(inst, base_env, work, 900)
        all_pids |= pids
        left_out = []
        for _ in range(4):
            if o.status == "pass":
                break
            # Once more: a flaky test is reported; a GoogleTest case that fails
            # twice on the unmutated build is left out of this run (it would
            # "kill" every mutant) and reported; anything else ends the run.
            log(f"  {inst.name}: fails on the unmutated build ({o.detail}); once more")
            first = o.detail
            o, pids = run_instrument(inst, base_env, work, 900)
            all_pids |= pids
            if o.status == "pass":
                flaky.append(f"{inst.name}: {first}")
                break
            names = failed_names(o.detail)
            if o.status != "fail" or not inst.remake or not names or names != failed_names(first):
                break
            left_out += names
            inst.cmds, _ = inst.remake(left_out)
            log(f"  {inst.name}: leaving out {', '.join(names)} (fails twice on the unmutated build)")
            o, pids = run_instrument(inst, base_env, work, 900)
            all_pids |= pids
        if left_out and o.status == "pass":
            broken += left_out
            inst.what += f"; left out, failing on the unmutated build: {', '.join(left_out)}"
        required = args.require_modelcheck and inst.name == "modelcheck"
        if o.status != "pass" and inst.optional and not required:
            log(f"mutation: tier {inst.name} dropped: it fails on the unmutated build: {o.detail}")
            dropped.append(f"{inst.name}: {o.detail}")
            insts.remove(inst)
            continue
        if o.status != "pass":
            log(f"mutation: INCONCLUSIVE: instrument {inst.name} fails on the unmutated build: {o.detail}")
            return 3
        inst.baseline = o.seconds
        inst.timeout = max(3 * o.seconds, o.seconds + 30)
        if inst.name == "modelcheck":
            inst.timeout = 360  # the script's own STAGE_BUDGET is 300 s
        if inst.name == "stress":
            inst.timeout = max(inst.timeout, 60)
        log(f"  {inst.name:<13} {o.seconds:6.1f} s  (bound {inst.timeout:.0f} s)  {inst.what}")
    # Listed cheapest first (by these baselines on this machine); a fixed order
    # keeps "killed by" comparable between runs.

    counts = {"killed": 0, "survived": 0, "timeout": 0, "no-compile": 0}
    for m in settled:
        counts["no-compile"] += 1
    current_file = None

    def restore(rel):
        with open(os.path.join(src, rel), "w", encoding="utf-8") as f:
            f.write(sources.text[rel])

    not_run = []
    done = 0
    for m in chosen:
        if args.time_limit and time.monotonic() - t_start > args.time_limit:
            not_run.append(m)
            continue
        t0 = time.monotonic()
        env = dict(base_env)
        if m.engine == "mull":
            if current_file:
                # The last block's source mutants rebuilt their files with
                # Mull idle: without a rebuild those objects lack Mull's
                # mutants, and every Mull mutant in them would "survive".
                restore(current_file)
                current_file = None
                for dirpath, _, files in os.walk(os.path.join(src, "dll", "src")):
                    for name in files:
                        os.utime(os.path.join(dirpath, name))
                if not t.build("build-restore.log"):
                    log("mutation: the restored tree does not build; stopping")
                    return 3
            env[m.id] = "1"
        else:
            if current_file and current_file != m.file:
                restore(current_file)
            current_file = m.file
            with open(os.path.join(src, m.file), "w", encoding="utf-8") as f:
                f.write(srcmut.apply(sources.text[m.file], m.start, m.end, m.replacement))
            if not t.build("build-mutant.log", mull=False):
                text = open(os.path.join(work, "logs", "build-mutant.log"), errors="replace").read()
                first = next((x for x in text.splitlines() if "error" in x), "build failed")
                m.status, m.detail = "no-compile", first.replace(src + "/", "")[:200]
        if m.status is None:
            m.status = "survived"
            order = [i for i in insts if i.name == "unit"] + [i for i in insts if i.first] + \
                [i for i in insts if i.name != "unit" and not i.first]
            for inst in order:
                if not inst.applies(m):
                    continue
                if TTY:
                    sys.stdout.write(f"\r\033[K[{done + 1}/{len(chosen)}] killed {counts['killed']} "
                                     f"survived {counts['survived']} timeout {counts['timeout']} "
                                     f"no-compile {counts['no-compile']} | {m.file}:{m.line} {m.op} "
                                     f"-> {inst.name}")
                    sys.stdout.flush()
                o, pids = run_instrument(inst, env, work, inst.timeout, m)
                all_pids |= pids
                if o.status == "fail":
                    m.status, m.instrument, m.detail = "killed", inst.name, o.detail
                    break
                if o.status == "timeout":
                    m.status, m.instrument, m.detail = "timeout", inst.name, o.detail
                    break
        m.seconds = time.monotonic() - t0
        counts[m.status] += 1
        done += 1
        line = (f"[{done}/{len(chosen)}] {m.status:<10} {m.file}:{m.line} {m.op:<24} "
                f"{(m.instrument or '-'):<12} {m.seconds:5.1f} s  {m.desc[:70]}")
        if TTY and m.status == "killed":
            sys.stdout.write(f"\r\033[K{line}")
            sys.stdout.flush()
        else:
            log(line)
    if current_file:
        # The source text goes back now; its objects (built with Mull idle)
        # are rebuilt by the next run, which finds the source-phase marker:
        # a CI run on a fresh clone has no next run to spend minutes on.
        restore(current_file)
    if TTY:
        sys.stdout.write("\r\033[K")

    # ---- report ---------------------------------------------------------------
    ran = [m for m in chosen if m.status is not None] + settled
    detected = counts["killed"] + counts["timeout"]
    scored = detected + counts["survived"]
    score = detected / scored if scored else 0.0
    passed = scored > 0 and score >= args.gate and not not_run
    by_op = {}
    for m in ran:
        d = by_op.setdefault(m.op, {"killed": 0, "survived": 0, "timeout": 0, "no-compile": 0})
        d[m.status] += 1
    by_inst = {}
    for m in ran:
        if m.instrument:
            by_inst[m.instrument] = by_inst.get(m.instrument, 0) + 1
    survivors = [m for m in ran if m.status == "survived"]
    eq_all = [m for m in everything if m.equivalent and m not in identical]  # equivalent.txt
    rev = sh(["git", "-C", root, "rev-parse", args.rev or "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = not args.rev and bool(sh(["git", "-C", root, "status", "--porcelain", "--", "dll", "harness", "fuzz",
                                      "stress", "modelcheck"], capture_output=True, text=True).stdout.strip())
    report = {
        "mode": args.mode, "revision": rev + (" + uncommitted changes" if dirty else ""), "gate": args.gate, "score": round(score, 4), "passed": passed,
        "seconds": round(time.monotonic() - t_start, 1), "build_seconds": round(t_build, 1),
        "counts": dict(counts, candidates=len(candidates), mull_candidates=sum(m.engine == "mull" for m in candidates),
                       source_candidates=sum(m.engine == "src" for m in candidates),
                       equivalent=len(eq_all), identical=len(identical), inactive=len(inactive),
                       not_run=len(not_run),
                       run=len(ran)),
        "sample_size": args.sample if args.mode == "sample" else None,
        "instruments": [{"name": i.name, "what": i.what, "baseline_seconds": round(i.baseline, 1),
                         "timeout_seconds": round(i.timeout), "commands": [c[1] for c in i.cmds]}
                        for i in insts],
        "by_operator": by_op, "killed_by_instrument": by_inst,
        "survivors": [m.to_json() for m in survivors],
        "mutants": [m.to_json() for m in ran],
        "equivalents": [{"key": m.key, "reason": m.equivalent} for m in eq_all],
        "identical_machine_code": [{"key": m.key, "diff": m.diff()} for m in identical],
        "stale_equivalent_entries": [f"{args.equivalents}:{e['line']}" for e in stale],
        "not_run": [m.id for m in not_run],
        "flaky_baseline": flaky,
        "broken_tests_left_out": broken,
        "dropped_tiers": dropped,
        "tool": {"mull": "0.26.1 (IR frontend, LLVM 16)", "mull_mutators": MULL_MUTATORS,
                 "source_operators": sorted({m.op for m in srcm})},
    }
    with open(report_json, "w") as f:
        json.dump(report, f, indent=1)
    lines = []
    lines.append(f"tree: {report['revision']}")
    lines.append(f"mutation ({args.mode}): {len(ran)} mutants run of {len(candidates)} candidates "
                 f"({report['counts']['mull_candidates']} Mull, {report['counts']['source_candidates']} source); "
                 f"{len(eq_all)} equivalent (equivalent.txt), {len(identical)} with the shipped build's "
                 f"machine code unchanged, {len(inactive)} not compiled into it")
    lines.append(f"  killed {counts['killed']}, timeout {counts['timeout']}, survived {counts['survived']}, "
                 f"no-compile {counts['no-compile']}" + (f", NOT RUN {len(not_run)} (time limit)" if not_run else ""))
    lines.append(f"  score {100 * score:.1f}% of {scored} scored (killed + timeout) / (killed + timeout + survived); "
                 f"gate {100 * args.gate:.0f}%: {'PASS' if passed else 'FAIL'}")
    lines.append("  killed by: " + ", ".join(f"{k} {v}" for k, v in sorted(by_inst.items())))
    lines.append(f"  {'operator':<30} killed timeout survived no-compile")
    for op in sorted(by_op):
        d = by_op[op]
        lines.append(f"  {op:<30} {d['killed']:6} {d['timeout']:7} {d['survived']:8} {d['no-compile']:10}")
    if survivors:
        lines.append("survivors:")
        for m in survivors:
            lines.append(f"  {m.file}:{m.line} {m.op} in {m.function}(): {m.desc}")
            lines.append("    key: " + m.key)
            for d in m.diff().splitlines()[1:]:
                lines.append("    " + d)
    if broken:
        lines.append("BROKEN on the unmutated build, left out of this run: " + ", ".join(broken))
    if dropped:
        lines.append("tiers dropped (fail on the unmutated build): " + "; ".join(dropped))
    if flaky:
        lines.append("flaky on the unmutated build (passed on the retry): " + "; ".join(flaky))
    if args.exclude:
        lines.append(f"tests left out by request (MUTATION_EXCLUDE): {args.exclude}")
    if stale:
        lines.append("equivalent.txt entries matching no mutant (stale?): " +
                     ", ".join(str(e["line"]) for e in stale))
    lines.append(f"report: {report_json}")
    with open(report_txt, "w") as f:
        f.write("\n".join(lines) + "\n")
    for x in lines:
        print(x)
    left = remove_segments(all_pids)
    if left:
        log(f"mutation: removed {left} segment(s) this run's processes left in /dev/shm")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The canary zoo: one-defect builds of the hardened library, each of which
the instruments must catch.

Each variant (variants.py) is a list of anchored text substitutions applied to
a scratch copy of the tree: an anchor that is missing, or found more than
once, is an error, so a refactor can never silently turn a variant into the
hardened build. Each variant is built with the project's own CMake (the
library, its test-hook twin dllmem_testing, and the embedded fuzz replays
when a fuzz instrument is listed) and its instruments are run in order until
one catches it:

  harness:FILTER   dllmem_harness --library V/libdllmem.so --hooks-library
                   V/libdllmem_testing.so --gtest_filter=FILTER
  stress:ARGS      dllmem-stress --library V/libdllmem.so ARGS (exit 1 only)
  fuzz:TARGET      V/fuzz_replay_TARGET over fuzz/corpus/TARGET (+ regressions)

A catch is a test that ran and failed with a message (or died by a signal),
a stress run that reported violations, a replay that reported a property
violated. A library that cannot be loaded, a filter that runs nothing, a
missing binary, a usage or runner error are errors, never catches. Every
variant must first pass a control test (it loads and stores like the hardened
build), and every instrument that caught something must pass on the hardened
build, built the same way in the same run: a test that fails everywhere
proves nothing.

  zoo.py list
  zoo.py check [--root DIR]          every variant's anchors apply exactly once
  zoo.py apply NAME DEST [--root DIR] writes the variant's dll/ into DEST/dll
  zoo.py run --harness H --stress S --work W [--only A,B] [--all-instruments]

exit: 0 every variant caught; 1 a variant was not caught; 2 error (nothing proven)
"""
import argparse
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
import variants as zoo_variants  # noqa: E402

DEFAULT_ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
# The source folders a variant build needs (the top CMakeLists.txt adds them).
TREE = ["CMakeLists.txt", "cmake", "dll", "fuzz", "harness/shim"]
LOAD_FAILURE = re.compile(r"cannot load |lacks SetSharedMem/GetSharedMem|no library: pass --library")
CONTROL = "harness:Example.AChildReadsWhatItsParentWrote"
TEST_NAME = r"[A-Za-z_][\w/]*\.[\w/]+"


class ZooError(Exception):
    """Something that proves nothing: the run must stop with exit 2."""


# ---- source transformation ----------------------------------------------------------

def apply_edits(name, sources, edits):
    """sources: {relative path: text}. Returns a new dict with the variant's
    edits applied. An Edit's anchor must occur exactly once in all of its
    candidate files together; of a OneOf's edits exactly one may match (so
    a variant can follow code that moves between files, never apply twice)."""
    out = dict(sources)
    for e in edits:
        alts = e.edits if isinstance(e, zoo_variants.OneOf) else [e]
        hits = []
        for a in alts:
            for path in a.paths:
                if path in out and out[path].count(a.old) > 0:
                    hits.append((a, path, out[path].count(a.old)))
        if len(hits) != 1 or hits[0][2] != 1:
            first = alts[0].old.strip().splitlines()[0] if alts[0].old.strip() else repr(alts[0].old)
            where = ", ".join(p for a in alts for p in a.paths)
            n = sum(h[2] for h in hits)
            raise ZooError(f"variant {name}: anchor found {n} times in {where} "
                           f"(must be exactly once): {first!r}")
        a, path, _ = hits[0]
        if a.old == a.new:
            raise ZooError(f"variant {name}: an edit of {path} changes nothing")
        out[path] = out[path].replace(a.old, a.new)
    return out


def read_sources(root):
    srcs = {}
    for path in glob.glob(os.path.join(root, "dll", "**", "*"), recursive=True):
        if os.path.isfile(path):
            rel = os.path.relpath(path, root)
            with open(path, encoding="utf-8") as f:
                srcs[rel] = f.read()
    if not srcs:
        raise ZooError(f"no dll/ sources under {root}")
    return srcs


def check_all(root, names=None):
    srcs = read_sources(root)
    for v in selected(names):
        apply_edits(v.name, srcs, v.edits)
    return len(selected(names))


def selected(names):
    vs = zoo_variants.VARIANTS
    if not names:
        return vs
    known = {v.name for v in vs}
    for n in names:
        if n not in known:
            raise ZooError(f"no variant named {n}")
    return [v for v in vs if v.name in names]


# ---- building -----------------------------------------------------------------------

class Builder:
    """One scratch copy of the tree and one CMake build of it; each variant
    rewrites only the files that differ, so make rebuilds only those."""

    def __init__(self, root, work, jobs, log):
        self.root, self.work, self.jobs, self.log = root, work, jobs, log
        self.src = os.path.join(work, "src")
        self.bld = os.path.join(work, "build")
        self.pristine = read_sources(root)
        # A fresh copy and a fresh build tree every run: copies keep no old
        # mtime, and no object of an earlier run's variant can be linked in.
        for d in (self.src, self.bld):
            if os.path.exists(d):
                shutil.rmtree(d)
        for item in TREE:
            a, b = os.path.join(root, item), os.path.join(self.src, item)
            os.makedirs(os.path.dirname(b), exist_ok=True)
            if os.path.isdir(a):
                shutil.copytree(a, b, copy_function=shutil.copy)
            else:
                shutil.copy(a, b)
        self.run(["cmake", "-S", self.src, "-B", self.bld, "-DCMAKE_BUILD_TYPE=Release",
                  "-DDLLMEM_WERROR=OFF", "-DDLLMEM_BUILD_TESTS=OFF", "-DDLLMEM_BUILD_TOOLS=OFF",
                  "-DDLLMEM_BUILD_STRESS=OFF", "-DDLLMEM_BUILD_BENCH=OFF"], "configure")

    def run(self, cmd, what):
        with open(self.log, "a") as lf:
            lf.write(f"$ {' '.join(cmd)}\n")
            lf.flush()
            rc = subprocess.run(cmd, stdout=lf, stderr=subprocess.STDOUT).returncode
        if rc != 0:
            with open(self.log) as lf:
                tail = "".join(lf.readlines()[-25:])
            raise ZooError(f"{what} failed (exit {rc}); end of {self.log}:\n{tail}")

    def build(self, v, out_dir, fuzz_targets):
        srcs = apply_edits(v.name, self.pristine, v.edits)
        for rel, text in srcs.items():
            path = os.path.join(self.src, rel)
            with open(path, encoding="utf-8") as f:
                if f.read() == text:
                    continue
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        targets = ["dllmem", "dllmem_testing"] + [f"fuzz_replay_{t}" for t in fuzz_targets]
        self.run(["cmake", "--build", self.bld, "-j", str(self.jobs), "--target"] + targets,
                 f"build of {v.name}")
        if os.path.exists(out_dir):
            shutil.rmtree(out_dir)
        os.makedirs(out_dir)
        for lib in ("dllmem", "dllmem_testing"):
            shutil.copy2(os.path.realpath(os.path.join(self.bld, "dll", f"lib{lib}.so")),
                         os.path.join(out_dir, f"lib{lib}.so"))
        for t in fuzz_targets:
            shutil.copy2(os.path.join(self.bld, "fuzz", f"fuzz_replay_{t}"), out_dir)
        return digest(os.path.join(out_dir, "libdllmem.so")), digest(
            os.path.join(out_dir, "libdllmem_testing.so"))


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# ---- instruments ----------------------------------------------------------------------

class Outcome:
    def __init__(self, verdict, instrument, test="", why="", secs=0.0):
        # verdict: caught | passed | inconclusive | error
        self.verdict, self.instrument, self.test, self.why, self.secs = (
            verdict, instrument, test, why, secs)

    def as_dict(self):
        return {"verdict": self.verdict, "instrument": self.instrument, "test": self.test,
                "why": self.why, "seconds": round(self.secs, 2)}


class Runner:
    def __init__(self, args):
        self.harness, self.stress, self.root = args.harness, args.stress, args.root
        self.tag = f"z{os.getpid()}"  # every segment this run creates carries it
        self.logs = os.path.join(args.work, "logs")
        os.makedirs(self.logs, exist_ok=True)
        self.n = 0

    def cleanup(self, extra_globs=()):
        pats = [f"/dev/shm/dllmem-t{self.tag}-*", f"/dev/shm/dllmem-zoo-{os.getpid()}-*"]
        for pat in list(pats) + list(extra_globs):
            for p in glob.glob(pat):
                try:
                    shutil.rmtree(p) if os.path.isdir(p) else os.unlink(p)
                except OSError:
                    pass

    def execute(self, cmd, timeout, env_extra=None):
        """Runs cmd in its own process group; returns (rc, output, pid, secs).
        rc is -signal when killed by a signal, 124 on timeout."""
        self.n += 1
        log = os.path.join(self.logs, f"{self.n:03d}.log")
        env = dict(os.environ, SHIM_NAME_RUN=self.tag, **(env_extra or {}))
        t0 = time.monotonic()
        with open(log, "w") as lf:
            lf.write(f"$ {' '.join(cmd)}\n")
            lf.flush()
            p = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT, env=env,
                                 stdin=subprocess.DEVNULL, start_new_session=True)
            try:
                rc = p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
                rc = 124
            # Whatever the instrument left running in its group goes too.
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        with open(log, errors="replace") as lf:
            out = lf.read()
        return rc, out, p.pid, time.monotonic() - t0, log

    def run(self, spec, vdir, control=False):
        kind, _, arg = spec.partition(":")
        if kind == "harness":
            return self.run_harness(spec, arg, vdir, control)
        if kind == "stress":
            return self.run_stress(spec, arg, vdir)
        if kind == "fuzz":
            return self.run_fuzz(spec, arg, vdir)
        raise ZooError(f"unknown instrument {spec}")

    def run_harness(self, spec, filt, vdir, control):
        lib, hooks = os.path.join(vdir, "libdllmem.so"), os.path.join(vdir, "libdllmem_testing.so")
        for f in (self.harness, lib, hooks):
            if not os.path.exists(f):
                raise ZooError(f"{spec}: missing {f}")
        cmd = [self.harness, "--library", lib, "--no-isolate", "--hooks-library", hooks,
               f"--gtest_filter={filt}", "--gtest_color=no"]
        cmd += ["--no-leak-check"] if control else ["--gtest_fail_fast"]
        rc, out, _, secs, log = self.execute(cmd, 240)
        self.cleanup()
        ran = re.findall(r"^\[ RUN      \] (\S+)", out, re.M)
        if not ran or "Running 0 tests" in out:
            raise ZooError(f"{spec}: the filter ran no test ({log})")
        load = LOAD_FAILURE.search(out)
        if load:
            line = out[load.start():].splitlines()[0][:160]
            return Outcome("error", spec, ran[-1], f"load failure: {line}", secs)
        failed = re.findall(r"^\[  FAILED  \] (" + TEST_NAME + ")", out, re.M)
        if rc == 0:
            skipped = re.findall(r"^\[  SKIPPED \] (" + TEST_NAME + ")", out, re.M)
            if skipped and len(skipped) == len(set(ran)):
                return Outcome("inconclusive", spec, skipped[0], "every test skipped", secs)
            return Outcome("passed", spec, ",".join(ran), "", secs)
        if failed:
            test = failed[0]
            why = failure_message(out, test)
        else:
            # Died (or hung) inside the last test it started.
            done = set(re.findall(r"^\[ +(?:OK|SKIPPED|FAILED) +\] (" + TEST_NAME + ")", out, re.M))
            test = next((t for t in reversed(ran) if t not in done), ran[-1])
            why = failure_message(out, test)
            if rc == 124:
                why = "timed out (240 s)" + (f"; {why}" if why else "")
            elif rc < 0:
                why = f"killed by {signal.Signals(-rc).name}" + (f"; {why}" if why else "")
            elif not why:
                why = f"exit {rc}: {out.strip().splitlines()[-1][:120] if out.strip() else ''}"
        return Outcome("caught", spec, test, why, secs)

    def run_stress(self, spec, args, vdir):
        lib = os.path.join(vdir, "libdllmem.so")
        for f in (self.stress, lib):
            if not os.path.exists(f):
                raise ZooError(f"{spec}: missing {f}")
        self.n += 1
        name = f"dllmem-zoo-{os.getpid()}-s{self.n}"
        js = os.path.join(self.logs, f"stress-{self.n:03d}.json")
        cmd = [self.stress, "--library", lib, "--name", name, "--quiet", "--json", js] + args.split()
        rc, out, _, secs, log = self.execute(cmd, 300)
        self.cleanup()
        verdict = next((l.strip() for l in out.splitlines() if l.strip().startswith("violations")), "")
        if rc == 1:
            return Outcome("caught", spec, "dllmem-stress", stress_summary(js, verdict), secs)
        if rc == 0:
            return Outcome("passed", spec, "dllmem-stress", verdict, secs)
        if rc == 4:
            return Outcome("inconclusive", spec, "dllmem-stress", verdict, secs)
        return Outcome("error", spec, "dllmem-stress",
                       f"exit {rc} ({log}): {out.strip().splitlines()[-1][:120] if out.strip() else ''}",
                       secs)

    def run_fuzz(self, spec, target, vdir):
        binary = os.path.join(vdir, f"fuzz_replay_{target}")
        if not os.access(binary, os.X_OK):
            raise ZooError(f"{spec}: no replay binary {binary}")
        dirs = [d for d in (os.path.join(self.root, "fuzz", "corpus", target),
                            os.path.join(self.root, "fuzz", "regressions", target))
                if os.path.isdir(d)]
        if not dirs:
            raise ZooError(f"{spec}: no corpus for {target}")
        rc, out, pid, secs, log = self.execute([binary] + dirs, 300)
        self.cleanup([f"/dev/shm/dllmem-fuzz-{pid}-*"])
        prop = re.search(r"^(\S+:\d+): property violated: (.*)$", out, re.M)
        if rc == 0:
            m = re.search(r"replay: (\d+) inputs", out)
            if not m or int(m.group(1)) == 0:
                raise ZooError(f"{spec}: the replay ran no input ({log})")
            return Outcome("passed", spec, f"fuzz_replay_{target}", m.group(0), secs)
        if rc in (126, 127):
            raise ZooError(f"{spec}: could not run {binary} (exit {rc})")
        if prop:
            return Outcome("caught", spec, f"fuzz_replay_{target}",
                           f"{prop.group(1)}: property violated: {prop.group(2)}", secs)
        if rc < 0:
            return Outcome("caught", spec, f"fuzz_replay_{target}",
                           f"killed by {signal.Signals(-rc).name}", secs)
        return Outcome("error", spec, f"fuzz_replay_{target}",
                       f"exit {rc} without a property violated ({log})", secs)


def failure_message(out, test):
    """The first 'file:line: Failure' block inside test's output, on one line."""
    start = out.find(f"[ RUN      ] {test}")
    body = out[start:] if start >= 0 else out
    m = re.search(r"^(\S+:\d+): Failure\n((?:(?!\[ |\S+:\d+: Failure).+\n){0,6})", body, re.M)
    if not m:
        return ""
    rest = " | ".join(l.strip() for l in m.group(2).splitlines() if l.strip())
    return f"{os.path.basename(m.group(1))}: {rest}"[:220]


def stress_summary(js, verdict):
    """The verdict line and every non-zero violation count of the JSON report."""
    try:
        with open(js) as f:
            r = json.load(f)
    except (OSError, ValueError):
        return verdict
    parts = [f"{k}={r[k]}" for k in ("torn_reads", "lost_reads", "untouched_reads", "wedges")
             if isinstance(r.get(k), int) and r[k]]
    for group, keys in (("sets", ("lost", "phantom")), ("errors", ("crash", "attach", "exit", "other"))):
        parts += [f"{group}.{k}={r[group][k]}" for k in keys
                  if isinstance(r.get(group, {}).get(k), int) and r[group][k]]
    parts += [f"end.{k}" for k, val in r.get("end", {}).items()
              if val is True and k != "fresh_attach_empty"]
    if r.get("end", {}).get("fresh_attach_empty") is False:
        parts.append("end.fresh_attach_not_empty")
    return (verdict + ("; " + ", ".join(parts) if parts else ""))[:220]


# ---- the run ---------------------------------------------------------------------------

def fuzz_targets_of(v):
    return [s.split(":", 1)[1] for s in v.catch if s.startswith("fuzz:")]


def run_zoo(args):
    t_start = time.monotonic()
    names = [n for n in (args.only or "").split(",") if n]
    vs = selected(names)
    check_all(args.root, names)  # every anchor, before building anything
    os.makedirs(args.work, exist_ok=True)
    blog = os.path.join(args.work, "build.log")
    open(blog, "w").close()
    builder = Builder(args.root, args.work, args.jobs, blog)
    runner = Runner(args)
    all_fuzz = sorted({t for v in vs for t in fuzz_targets_of(v)})
    hardened = zoo_variants.Variant("hardened", "the library as shipped", [], [])
    hdir = os.path.join(args.work, "v", "hardened")
    t0 = time.monotonic()
    hardened_digests = builder.build(hardened, hdir, all_fuzz)
    print(f"zoo: hardened build in {time.monotonic() - t0:.0f} s", flush=True)
    c = runner.run(CONTROL, hdir, control=True)
    if c.verdict != "passed":
        raise ZooError(f"the control test does not pass on the hardened build: {c.why}")

    rows = []
    for v in vs:
        t0 = time.monotonic()
        vdir = os.path.join(args.work, "v", v.name)
        digests = builder.build(v, vdir, fuzz_targets_of(v))
        build_s = time.monotonic() - t0
        same = [n for n, a, b in zip(("libdllmem", "libdllmem_testing"), digests, hardened_digests)
                if a == b]
        if same:
            raise ZooError(f"variant {v.name}: {' and '.join(same)} built to the same bytes as the "
                           f"hardened build (not rebuilt, or its edit changes no code)")
        control = runner.run(v.control or CONTROL, vdir, control=True)
        if control.verdict != "passed":
            raise ZooError(f"variant {v.name}: its control test did not pass "
                           f"({control.verdict}: {control.why}): it is broken beyond its one defect "
                           f"or not loadable, so its catches would prove nothing")
        results = []
        for spec in v.catch:
            o = runner.run(spec, vdir)
            if o.verdict == "error":
                raise ZooError(f"variant {v.name}: {spec}: {o.why}")
            results.append(o)
            if o.verdict == "caught" and not args.all_instruments:
                break
        caught = [o for o in results if o.verdict == "caught"]
        row = {"variant": v.name, "what": v.what, "caught": bool(caught),
               "build_s": round(build_s, 1), "seconds": round(time.monotonic() - t0, 1),
               "results": [o.as_dict() for o in results]}
        rows.append(row)
        first = caught[0] if caught else None
        print(f"zoo: {v.name:34s} {'CAUGHT' if first else 'MISSED'} "
              f"{(first.instrument.split(':')[0] + ' ' + first.test) if first else ''} "
              f"({row['seconds']:.0f} s)", flush=True)

    # Every catching instrument must pass on the hardened build.
    baseline = []
    seen = set()
    for row in rows:
        for o in row["results"]:
            if o["verdict"] != "caught":
                continue
            spec = o["instrument"]
            if spec.startswith("harness:"):
                spec = "harness:" + o["test"]
            if spec in seen:
                continue
            seen.add(spec)
            b = runner.run(spec, hdir)
            baseline.append(b.as_dict())
            if b.verdict != "passed":
                raise ZooError(f"{spec} caught a variant but does not pass on the hardened "
                               f"build either ({b.verdict}: {b.why}): its catch proves nothing")
    secs = time.monotonic() - t_start
    report = {"variants": rows, "baseline": baseline, "seconds": round(secs, 1)}
    with open(os.path.join(args.work, "zoo-report.json"), "w") as f:
        json.dump(report, f, indent=2)
    print_table(rows, baseline, secs)
    return 0 if all(r["caught"] for r in rows) else 1


def print_table(rows, baseline, secs):
    print()
    print(f"{'variant':34s} {'verdict':7s} caught by")
    for r in rows:
        caught = [o for o in r["results"] if o["verdict"] == "caught"]
        tried = ", ".join(f"{o['instrument']} ({o['verdict']})" for o in r["results"]
                          if o["verdict"] != "caught")
        if not caught:
            print(f"{r['variant']:34s} MISSED  tried: {tried}")
            continue
        for i, o in enumerate(caught):
            kind = o["instrument"].split(":")[0]
            print(f"{r['variant'] if i == 0 else '':34s} {'CAUGHT' if i == 0 else '':7s} "
                  f"{kind} {o['test']}")
            print(f"{'':42s} {o['why']}")
    n = sum(1 for r in rows if r["caught"])
    print(f"zoo: {n} of {len(rows)} variants caught; {len(baseline)} catching instrument(s) "
          f"pass on the hardened build; {secs:.0f} s")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list")
    c = sub.add_parser("check")
    c.add_argument("--root", default=DEFAULT_ROOT)
    a = sub.add_parser("apply")
    a.add_argument("name")
    a.add_argument("dest")
    a.add_argument("--root", default=DEFAULT_ROOT)
    r = sub.add_parser("run")
    r.add_argument("--root", default=DEFAULT_ROOT)
    r.add_argument("--harness", required=True)
    r.add_argument("--stress", required=True)
    r.add_argument("--work", required=True)
    r.add_argument("--only", default="")
    r.add_argument("--jobs", type=int, default=2)
    r.add_argument("--all-instruments", action="store_true",
                   help="run every listed instrument, not only up to the first catch")
    args = ap.parse_args()
    try:
        if args.cmd == "list":
            for v in zoo_variants.VARIANTS:
                print(f"{v.name:34s} {v.what}")
            return 0
        if args.cmd == "check":
            n = check_all(args.root)
            print(f"zoo: the anchors of all {n} variants apply exactly once")
            return 0
        if args.cmd == "apply":
            (v,) = selected([args.name])
            srcs = apply_edits(v.name, read_sources(args.root), v.edits)
            for rel, text in srcs.items():
                path = os.path.join(args.dest, rel)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
            print(os.path.join(args.dest, "dll"))
            return 0
        args.root = os.path.abspath(args.root)
        args.work = os.path.abspath(args.work)
        return run_zoo(args)
    except ZooError as e:
        print(f"zoo: ERROR: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

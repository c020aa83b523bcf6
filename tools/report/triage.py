#!/usr/bin/env python3
"""Crash triage for fuzz campaigns.

For every raw crash artifact a campaign left in CAMPAIGN/crashes/<target>/
(crash-*, leak-*, timeout-*, oom-*), triage:
  1. replays it once on the target binary and parses the sanitizer report:
     the kind (e.g. "heap-buffer-overflow WRITE", "property violated: ...")
     and the crash stack's top frames, runtime frames (sanitizers, libFuzzer,
     libc) left out;
  2. deduplicates by signature = kind + the top FRAMES functions, so two
     inputs that die the same way count once;
  3. for a signature not already in fuzz/regressions/<target>/, minimizes one
     input (-minimize_crash=1 -runs=N, bounded in time as well), keeps the
     minimized input only if it still dies with the same signature, and
     writes it to fuzz/regressions/<target>/<kind>-<signature> with a
     one-line note in fuzz/regressions/<target>.notes (the replay driver
     would read a note inside the folder as an input);
  4. writes OUT/triage.sarif (SARIF 2.1.0), OUT/triage.md and OUT/triage.json,
     moves the triaged artifacts to CAMPAIGN/triaged/<target>/ and prints
     "N crashes, M unique, K new".
ctest replays fuzz/regressions/<target>/ from the next configure on
(fuzz/CMakeLists.txt), so a regression must pass on the fixed library.

Exit: 0 when there was nothing to triage, 1 when there were crashes (the
campaign failed), 2 on a usage or runner error.
"""
import argparse
import datetime
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

FRAMES = 3
RAW_PREFIXES = ("crash-", "leak-", "timeout-", "oom-")
UNREPRODUCED = "not reproduced alone"
OVER_CAP = "not replayed (over --max-replays)"
SARIF_SCHEMA = ("https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/"
                "sarif-schema-2.1.0.json")

# Frames that say where the runtime noticed, not where the code went wrong.
RUNTIME_FUNC = re.compile(
    r"^(\?$|__asan|__lsan|__ubsan|__sanitizer|__interceptor_|___interceptor_|__interception|"
    r"__msan|__tsan|fuzzer::|__libc_|__GI_|__memcpy|__memmove|__memset|__strlen|"
    r"abort$|raise$|gsignal$|_start$|main$|malloc$|calloc$|realloc$|free$|memcpy$|memmove$|"
    r"memset$|strlen$|wcslen$|pthread_kill$|__pthread_kill)")
RUNTIME_FILE = re.compile(r"(compiler-rt|/libfuzzer/|libc\.so|libstdc\+\+|ld-linux|"
                          r"sanitizer_common|/asan/|/ubsan/|/lsan/)")
# "#3 0x7f.. in func file:line:col", "#3 0x7f.. in func (module+0x..)" or,
# unsymbolized, "#3 0x7f..  (module+0x..)".
FRAME_RE = re.compile(r"^\s*#(\d+) 0x[0-9a-fA-F]+(?: in (.+)|\s+(\(.+))$")
LOC_RE = re.compile(r"^(.*) (\S+?):(\d+)(?::(\d+))?$")
MOD_RE = re.compile(r"^(.*?) \((\S+?)\+0x[0-9a-fA-F]+\)(?: \(BuildId: [0-9a-f]+\))?$")


def parse_frame(rest):
    """'func /path/file.c:12:3' or 'func (module+0x12)' -> dict."""
    m = LOC_RE.match(rest)
    if m and "(" not in m.group(2):
        return {"func": m.group(1).strip(), "file": os.path.normpath(m.group(2)),
                "line": int(m.group(3)),
                "col": int(m.group(4)) if m.group(4) else None}
    m = MOD_RE.match(rest)
    if m:
        return {"func": m.group(1).strip(), "file": m.group(2), "line": None, "col": None}
    return {"func": rest.strip(), "file": "", "line": None, "col": None}


def first_stack(text):
    """The frames of the first stack in a report (the crash's own)."""
    frames, started, expect = [], False, 0
    for line in text.splitlines():
        m = FRAME_RE.match(line)
        if m and int(m.group(1)) == expect:
            if m.group(2):
                frames.append(parse_frame(m.group(2)))
            else:
                frames.append({"func": "?", "file": m.group(3).strip("()").split("+")[0],
                               "line": None, "col": None})
            started, expect = True, expect + 1
        elif started:
            break
    return frames


def kind_of(text):
    """A short name for what the report says happened, or None for no crash."""
    viol = re.search(r"property violated: (.+)", text)
    if viol:
        return "property violated: " + viol.group(1).strip()
    ubsan = re.search(r"runtime error: ([^\n]+)", text)
    if ubsan:
        # Keep the words, drop the values: "signed integer overflow: 1 + 2 ..." -> its class.
        words = re.sub(r"[-+]?\b(0x[0-9a-f]+|\d+)\b", "N", ubsan.group(1).strip())
        return "undefined behaviour: " + re.sub(r"'[^']*'", "T", words)[:80]
    err = re.search(r"==\d+==ERROR: (\w+): ([\w-]+)", text)
    if err:
        tool, what = err.group(1), err.group(2)
        if tool == "libFuzzer" and what == "timeout":
            return "timeout"
        if tool == "libFuzzer" and what == "out-of-memory":
            return "out-of-memory"
        if tool == "LeakSanitizer":
            return "memory leak"
        if tool == "libFuzzer" and what == "deadly":
            return "deadly signal"
        access = re.search(r"\b(READ|WRITE) of size \d+", text)
        return what + (" " + access.group(1) if access else "")
    if "ERROR: libFuzzer: deadly signal" in text:
        return "deadly signal"
    return None


def project_frames(frames, root=None):
    """Frames outside the runtimes; those under root first when root is given."""
    keep = [f for f in frames
            if not RUNTIME_FUNC.match(f["func"]) and not RUNTIME_FILE.search(f["file"] or "")]
    if root:
        ours = [f for f in keep if f["line"] and f["file"].startswith(root.rstrip("/") + "/")]
        if ours:
            # Keep the order of the stack, from the first frame of ours on.
            keep = keep[keep.index(ours[0]):]
    return keep


def analyse(text, root=None):
    """Parses one sanitizer report: None if it shows no crash, else a dict
    with kind, top frames and signature."""
    kind = kind_of(text)
    if kind is None:
        return None
    top = project_frames(first_stack(text), root)[:FRAMES]
    key = kind + "|" + "|".join(f["func"] for f in top)
    return {"kind": kind, "frames": top, "signature": hashlib.sha1(key.encode()).hexdigest()[:12]}


def rel(path, root):
    if root and path.startswith(root.rstrip("/") + "/"):
        return path[len(root.rstrip("/")) + 1:]
    return path


def describe(a, root):
    """One line: what the crash hit, and where."""
    parts = []
    for f in a["frames"]:
        where = rel(f["file"], root) + (":%d" % f["line"] if f["line"] else "")
        parts.append("%s (%s)" % (f["func"], where) if where else f["func"])
    return "%s in %s" % (a["kind"], " <- ".join(parts)) if parts else a["kind"]


def slug(kind):
    return re.sub(r"[^a-z0-9]+", "-", kind.lower()).strip("-")[:40] or "crash"


SHM = "/dev/shm"
SHM_PID = re.compile(r"^dllmem-[a-z-]*?(\d+)")


def shm_names():
    return set(os.listdir(SHM)) if os.path.isdir(SHM) else set()


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def remove_leftovers(before):
    """A crashing target never detaches: removes the segments that appeared
    since before and whose creator (the pid in the name) is gone. Other
    runs' objects are theirs."""
    for n in shm_names() - before:
        m = SHM_PID.match(n)
        if m and not alive(int(m.group(1))):
            try:
                os.unlink(os.path.join(SHM, n))
            except OSError:
                pass


def run(cmd, timeout, env=None):
    """Runs cmd; returns (exit code or 'timeout', combined output)."""
    before = shm_names()
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout, env=env)
        return p.returncode, p.stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode("utf-8", "replace") if e.stdout else ""
        return "timeout", out
    finally:
        remove_leftovers(before)


def replay(binary, path, timeout):
    _, out = run([binary, "-timeout=10", "-rss_limit_mb=2048", path], timeout)
    return out


def minimize(binary, path, out_path, runs, seconds):
    """libFuzzer's crash minimizer, bounded by runs and time; the minimized
    input or None."""
    if os.path.exists(out_path):
        os.unlink(out_path)
    run([binary, "-minimize_crash=1", "-runs=%d" % runs, "-max_total_time=%d" % seconds,
         "-timeout=10", "-exact_artifact_path=" + out_path, path], seconds + 60)
    return out_path if os.path.isfile(out_path) and os.path.getsize(out_path) > 0 else None


def known_signatures(reg_dir):
    """Signatures already kept as regressions: the file names end in -<sig>."""
    if not os.path.isdir(reg_dir):
        return {}
    found = {}
    for name in sorted(os.listdir(reg_dir)):
        m = re.search(r"-([0-9a-f]{12})$", name)
        if m:
            found[m.group(1)] = name
    return found


def sarif(groups, root, version):
    rules, results = {}, []
    for g in groups:
        a = g["analysis"]
        rule_id = "dllmem-fuzz/" + slug(a["kind"])
        rules.setdefault(rule_id, {
            "id": rule_id, "name": slug(a["kind"]),
            "shortDescription": {"text": a["kind"].split(":")[0]},
            "defaultConfiguration": {
                "level": "warning" if a["kind"] in (UNREPRODUCED, OVER_CAP) else "error"}})
        locs = []
        for f in a["frames"][:1]:
            if f["line"]:
                locs.append({"physicalLocation": {
                    "artifactLocation": {"uri": rel(f["file"], root), "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": f["line"], **({"startColumn": f["col"]} if f["col"] else {})}}})
        frames = [{"location": {
            "physicalLocation": {"artifactLocation": {"uri": rel(f["file"], root), "uriBaseId": "%SRCROOT%"},
                                 "region": {"startLine": f["line"]}} if f["line"] else None,
            "logicalLocations": [{"name": f["func"], "kind": "function"}]}} for f in a["frames"]]
        for fr in frames:
            if fr["location"]["physicalLocation"] is None:
                del fr["location"]["physicalLocation"]
        result = {
            "ruleId": rule_id,
            "level": "warning" if a["kind"] in (UNREPRODUCED, OVER_CAP) else "error",
            "message": {"text": "fuzz target %s: %s (%d input(s); reproducer %s)" % (
                g["target"], describe(a, root), len(g["inputs"]), g["regression"] or g["kept"])},
            "partialFingerprints": {"crashSignature/v1": a["signature"]},
            "properties": {"target": g["target"], "inputs": len(g["inputs"]), "new": g["new"],
                           "reproducer": g["regression"] or g["kept"]}}
        if locs:
            result["locations"] = locs
        if frames:
            result["stacks"] = [{"message": {"text": "top frames"}, "frames": frames}]
        results.append(result)
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "dllmem-fuzz-triage", "version": version,
                            "rules": list(rules.values())}},
        "originalUriBaseIds": {"%SRCROOT%": {"uri": "file://" + root.rstrip("/") + "/"}},
        "results": results}]}


# The parts of the SARIF 2.1.0 schema (sarif-schema-2.1.0.json) this tool
# writes: per object, its required properties and the properties it may have
# (the schema forbids others: additionalProperties is false).
SARIF_OBJECTS = {
    "log": ({"version", "runs"}, {"$schema", "version", "runs", "inlineExternalProperties",
                                  "properties"}),
    "run": ({"tool"}, {"tool", "results", "originalUriBaseIds", "invocations", "artifacts",
                       "properties", "automationDetails", "columnKind"}),
    "tool": ({"driver"}, {"driver", "extensions", "properties"}),
    "toolComponent": ({"name"}, {"name", "version", "semanticVersion", "informationUri", "rules",
                                 "fullName", "organization", "properties"}),
    "reportingDescriptor": ({"id"}, {"id", "name", "shortDescription", "fullDescription",
                                     "defaultConfiguration", "helpUri", "help", "properties"}),
    "reportingConfiguration": (set(), {"enabled", "level", "rank", "parameters", "properties"}),
    "result": ({"message"}, {"ruleId", "ruleIndex", "rule", "kind", "level", "message",
                             "locations", "partialFingerprints", "fingerprints", "stacks",
                             "properties"}),
    "message": (set(), {"text", "markdown", "id", "arguments", "properties"}),
    "location": (set(), {"id", "physicalLocation", "logicalLocations", "message",
                         "annotations", "relationships", "properties"}),
    "physicalLocation": (set(), {"address", "artifactLocation", "region", "contextRegion",
                                 "properties"}),
    "artifactLocation": (set(), {"uri", "uriBaseId", "index", "description", "properties"}),
    "region": (set(), {"startLine", "startColumn", "endLine", "endColumn", "charOffset",
                       "charLength", "byteOffset", "byteLength", "snippet", "message",
                       "sourceLanguage", "properties"}),
    "logicalLocation": (set(), {"name", "index", "fullyQualifiedName", "decoratedName",
                                "parentIndex", "kind", "properties"}),
    "stack": ({"frames"}, {"message", "frames", "properties"}),
    "stackFrame": (set(), {"location", "module", "threadId", "parameters", "properties"}),
}
SARIF_LEVELS = {"none", "note", "warning", "error"}


def validate_sarif(doc):
    """Problems of doc against the SARIF 2.1.0 schema's required fields,
    allowed properties, enums and minimums for the objects above; [] if none."""
    errs = []

    def obj(kind, v, where):
        if not isinstance(v, dict):
            errs.append("%s: %s is not an object" % (where, kind))
            return False
        need, may = SARIF_OBJECTS[kind]
        for k in sorted(need - v.keys()):
            errs.append("%s: %s lacks required '%s'" % (where, kind, k))
        for k in sorted(v.keys() - may):
            errs.append("%s: %s has no property '%s'" % (where, kind, k))
        return True

    def msg(v, where):
        if obj("message", v, where) and not ("text" in v or "id" in v):
            errs.append("%s: message needs 'text' or 'id'" % where)

    def location(v, where):
        if not obj("location", v, where):
            return
        pl = v.get("physicalLocation")
        if pl is not None and obj("physicalLocation", pl, where + ".physicalLocation"):
            if "artifactLocation" not in pl and "address" not in pl:
                errs.append(where + ": physicalLocation needs 'artifactLocation' or 'address'")
            if "artifactLocation" in pl:
                obj("artifactLocation", pl["artifactLocation"], where + ".artifactLocation")
            reg = pl.get("region")
            if reg is not None and obj("region", reg, where + ".region"):
                for k in ("startLine", "startColumn", "endLine", "endColumn"):
                    if k in reg and not (isinstance(reg[k], int) and reg[k] >= 1):
                        errs.append("%s.region: %s must be an integer >= 1" % (where, k))
        for i, ll in enumerate(v.get("logicalLocations", [])):
            obj("logicalLocation", ll, "%s.logicalLocations[%d]" % (where, i))

    if not obj("log", doc, "$"):
        return errs
    if doc.get("version") != "2.1.0":
        errs.append("$: version must be \"2.1.0\"")
    if not isinstance(doc.get("runs"), list):
        errs.append("$: runs must be an array")
        return errs
    for r, run in enumerate(doc["runs"]):
        w = "runs[%d]" % r
        if not obj("run", run, w):
            continue
        if obj("tool", run.get("tool"), w + ".tool") and \
                obj("toolComponent", run["tool"].get("driver"), w + ".tool.driver"):
            rules = run["tool"]["driver"].get("rules", [])
            for i, rule in enumerate(rules):
                if obj("reportingDescriptor", rule, "%s.rules[%d]" % (w, i)):
                    if "shortDescription" in rule:
                        msg(rule["shortDescription"], "%s.rules[%d].shortDescription" % (w, i))
                    dc = rule.get("defaultConfiguration")
                    if dc is not None and obj("reportingConfiguration", dc, w + ".rules") and \
                            dc.get("level", "warning") not in SARIF_LEVELS:
                        errs.append("%s.rules[%d]: bad level" % (w, i))
        for i, res in enumerate(run.get("results", [])):
            rw = "%s.results[%d]" % (w, i)
            if not obj("result", res, rw):
                continue
            msg(res.get("message"), rw + ".message")
            if res.get("level", "warning") not in SARIF_LEVELS:
                errs.append(rw + ": level not one of " + ", ".join(sorted(SARIF_LEVELS)))
            for j, loc in enumerate(res.get("locations", [])):
                location(loc, "%s.locations[%d]" % (rw, j))
            for j, st in enumerate(res.get("stacks", [])):
                sw = "%s.stacks[%d]" % (rw, j)
                if obj("stack", st, sw):
                    if not st.get("frames"):
                        errs.append(sw + ": frames must be a non-empty array")
                    for k, fr in enumerate(st.get("frames", [])):
                        if obj("stackFrame", fr, "%s.frames[%d]" % (sw, k)) and "location" in fr:
                            location(fr["location"], "%s.frames[%d].location" % (sw, k))
            pf = res.get("partialFingerprints", {})
            if not isinstance(pf, dict) or not all(isinstance(x, str) for x in pf.values()):
                errs.append(rw + ": partialFingerprints must map to strings")
    return errs


def markdown(groups, summary, root):
    lines = ["# Fuzz crash triage", "", summary, ""]
    if not groups:
        lines.append("No crash to triage.")
        return "\n".join(lines) + "\n"
    lines += ["| target | signature | inputs | new | what it hit | reproducer |",
              "|---|---|---|---|---|---|"]
    for g in groups:
        lines.append("| %s | `%s` | %d | %s | %s | `%s` |" % (
            g["target"], g["analysis"]["signature"], len(g["inputs"]), "yes" if g["new"] else "no",
            describe(g["analysis"], root).replace("|", "\\|"), g["regression"] or g["kept"]))
    return "\n".join(lines) + "\n"


def triage_target(args, target, log):
    crash_dir = os.path.join(args.campaign, "crashes", target)
    names = sorted(n for n in os.listdir(crash_dir) if n.startswith(RAW_PREFIXES)) \
        if os.path.isdir(crash_dir) else []
    binary = os.path.join(args.bin_dir, "fuzz_" + target)
    if names and not os.access(binary, os.X_OK):
        raise RuntimeError("no target binary " + binary)
    reg_dir = os.path.join(args.regressions, target)
    known = known_signatures(reg_dir)
    work = os.path.join(args.out, target)  # this triage's logs and copies only
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    groups = {}
    # Artifacts are named by their content's hash: sorted, the first ones are
    # an unbiased sample; past the cap they are counted, listed, kept.
    replayed, skipped = names[:args.max_replays], names[args.max_replays:]
    if skipped:
        groups["over-cap"] = {"target": target, "inputs": list(skipped), "new": False,
                              "regression": None, "kept": None,
                              "analysis": {"kind": OVER_CAP, "frames": [], "signature": hashlib.sha1(
                                  (OVER_CAP + "|" + target).encode()).hexdigest()[:12]}}
    for n in replayed:
        path = os.path.join(crash_dir, n)
        text = replay(binary, path, args.replay_timeout)
        with open(os.path.join(work, n + ".log"), "w") as f:
            f.write(text)
        a = analyse(text, args.root)
        if a is None:
            # libFuzzer saw a crash that a replay alone does not show (state
            # left by earlier inputs of its job, or flaky): one group per
            # target, listed and kept, never a regression (it passes alone).
            a = {"kind": UNREPRODUCED, "frames": [],
                 "signature": hashlib.sha1((UNREPRODUCED + "|" + target).encode()).hexdigest()[:12]}
        g = groups.setdefault(a["signature"], {"target": target, "analysis": a, "inputs": [],
                                               "new": False, "regression": None, "kept": None})
        g["inputs"].append(n)
    for sig, g in groups.items():
        a = g["analysis"]
        rep = os.path.join(crash_dir, min(g["inputs"], key=lambda n: os.path.getsize(
            os.path.join(crash_dir, n))))
        if sig in known:
            g["regression"] = rel(os.path.join(os.path.abspath(reg_dir), known[sig]), args.root)
            continue
        g["new"] = a["kind"] not in (UNREPRODUCED, OVER_CAP)
        keep = rep
        if g["new"]:
            m = minimize(binary, rep, os.path.join(work, "min-" + sig), args.minimize_runs,
                         args.minimize_seconds)
            if m is not None:
                b = analyse(replay(binary, m, args.replay_timeout), args.root)
                if b is not None and b["signature"] == sig:
                    keep = m
                else:
                    log("triage: %s: the minimized input of %s dies differently; keeping the "
                        "original" % (target, sig))
        if not g["new"]:
            dest = os.path.join(work, slug(a["kind"]))
            os.makedirs(dest, exist_ok=True)
            for n in g["inputs"]:
                shutil.copyfile(os.path.join(crash_dir, n), os.path.join(dest, n))
            g["kept"] = rel(os.path.abspath(dest), args.root) + "/"
            continue
        os.makedirs(reg_dir, exist_ok=True)
        name = "%s-%s" % (slug(a["kind"]), sig)
        shutil.copyfile(keep, os.path.join(reg_dir, name))
        with open(os.path.join(args.regressions, target + ".notes"), "a") as f:
            f.write("%s\t%s; found %s by ci/fuzz campaign (%d input(s), %d bytes minimized)\n" % (
                name, describe(a, args.root), datetime.date.today().isoformat(),
                len(g["inputs"]), os.path.getsize(keep)))
        g["regression"] = rel(os.path.join(os.path.abspath(reg_dir), name), args.root)
    if not args.keep_raw:
        dest = os.path.join(args.campaign, "triaged", target)
        os.makedirs(dest, exist_ok=True)
        for n in names:
            shutil.move(os.path.join(crash_dir, n), os.path.join(dest, n))
    return len(names), sorted(groups.values(), key=lambda g: g["analysis"]["signature"])


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--campaign", default="build/fuzz-campaign")
    p.add_argument("--bin-dir", default="build/fuzz/fuzz")
    p.add_argument("--targets", required=True, help="comma-separated")
    p.add_argument("--regressions", default="fuzz/regressions")
    p.add_argument("--out", default=None, help="default: CAMPAIGN/triage")
    p.add_argument("--root", default=os.path.dirname(os.path.dirname(here)))
    p.add_argument("--minimize-runs", type=int, default=20000)
    p.add_argument("--minimize-seconds", type=int, default=60)
    p.add_argument("--replay-timeout", type=int, default=60)
    p.add_argument("--max-replays", type=int, default=300, help="per target")
    p.add_argument("--keep-raw", action="store_true", help="leave the raw artifacts in place")
    args = p.parse_args(argv)
    args.root = os.path.abspath(args.root)
    args.out = args.out or os.path.join(args.campaign, "triage")
    os.makedirs(args.out, exist_ok=True)
    total, groups = 0, []
    try:
        for t in [t for t in args.targets.split(",") if t]:
            n, g = triage_target(args, t, lambda s: print(s, file=sys.stderr))
            total += n
            groups += g
    except (RuntimeError, OSError) as e:
        print("triage: " + str(e), file=sys.stderr)
        return 2
    new = sum(1 for g in groups if g["new"])
    summary = "%d crashes, %d unique, %d new" % (total, len(groups), new)
    doc = sarif(groups, args.root, "1")
    problems = validate_sarif(doc)
    if problems:
        print("triage: the SARIF it would write is invalid: " + "; ".join(problems[:5]),
              file=sys.stderr)
        return 2
    with open(os.path.join(args.out, "triage.sarif"), "w") as f:
        json.dump(doc, f, indent=1)
    with open(os.path.join(args.out, "triage.md"), "w") as f:
        f.write(markdown(groups, summary, args.root))
    with open(os.path.join(args.out, "triage.json"), "w") as f:
        json.dump({"crashes": total, "unique": len(groups), "new": new, "groups": [
            {"target": g["target"], "signature": g["analysis"]["signature"],
             "what": describe(g["analysis"], args.root), "inputs": g["inputs"], "new": g["new"],
             "reproducer": g["regression"] or g["kept"]} for g in groups]}, f, indent=1)
    for g in groups:
        state = "NEW" if g["new"] else "known" if g["regression"] else g["analysis"]["kind"]
        print("  %s %s %s, %d input(s): %s -> %s" % (g["target"], g["analysis"]["signature"],
                                                   state, len(g["inputs"]),
                                        describe(g["analysis"], args.root),
                                        g["regression"] or g["kept"]))
    print(summary)
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""ctest checks of dllmem-check, the isolated runner and sharding.

  test_check.py canary CHECK CANARY_LIB        exit 1, named crashes, run went on
  test_check.py hardened CHECK LIB             --quick passes with exit 0
  test_check.py gtest-shards HARNESS LIB       isolated shards == gtest's shards
  test_check.py stress-shards CHECK STRESS LIB 4 merged shards == 1 run
Each prints what it compared and exits 1 on a mismatch.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

# A test the canary crashes (segfaults) in whatever the build: a squatted
# name the example maps blindly.
CANARY_CRASHES = ["Security.ASymlinkSquattingTheNameIsRefused"]
# Its overflowing Set fails this one by a crash or, where the overflow lands
# in mapped memory (the coverage build), by an assertion: either way, failed.
CANARY_FAILS_ANYHOW = ["Bounds/SetLength.StoresAtMostCapacityMinusOneUnits/4"]
# And a plain assertion failure it must still reach after those crashes.
CANARY_FAILS = ["Security.SegmentIsOwnerOnlyEvenUnderAPermissiveUmask"]
# The filter both sharding runs use: fast, and more tests than shards.
SHARD_FILTER = "Bounds*:CchZero*"
STRESS = ["--children", "400", "--parallel", "8", "--writers", "2", "--ops", "100",
          "--kill-rate", "0.1", "--seed", "7", "--min-verified", "200", "--min-overlap", "0",
          "--quiet"]

failures = []


def expect(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)


def run(cmd, env=None, timeout=500):
    print("$ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout)


def canary(check, lib, work):
    js, xml = os.path.join(work, "c.json"), os.path.join(work, "c.xml")
    r = run([check, "--library", lib, "--stress", "300", "--timeout", "60", "--json", js,
             "--junit", xml])
    print(r.stdout[-6000:])
    expect(r.returncode == 1, f"exit 1 on the canary (got {r.returncode})")
    rep = json.load(open(js))
    by = {t["name"]: t for t in rep["harness"]}
    expect(len(by) > 200, f"the whole suite ran past the crashes ({len(by)} tests)")
    for name in CANARY_CRASHES:
        t = by.get(name, {})
        # SIGSEGV, or in a sanitizer build the sanitizer's report that ended it.
        expect(t.get("status") == "failed" and t.get("kind") == "crash" and
               re.search(r"SIGSEGV|Sanitizer: ", t.get("reason", "")),
               f"{name} reported as crashed: {t.get('reason')}")
    for name in CANARY_FAILS_ANYHOW:
        t = by.get(name, {})
        expect(t.get("status") == "failed" and t.get("kind") in ("crash", "assertion"),
               f"{name} failed: {t.get('reason')}")
    for name in CANARY_FAILS:
        t = by.get(name, {})
        expect(t.get("status") == "failed" and t.get("kind") == "assertion",
               f"{name} failed on an assertion: {t.get('reason')}")
    expect(re.search(r"Security\.ASymlinkSquattingTheNameIsRefused -- crashed: "
                     r"(killed by signal 11|.*Sanitizer: )", r.stdout),
           "the verdict table names the crash and its signal")
    expect(rep["stress"] is not None and rep["stress"]["verdict"] == "FAIL",
           "the stress run against the canary failed")
    junit = open(xml).read()
    expect('type="crash"' in junit and "ASymlinkSquattingTheNameIsRefused" in junit,
           "the JUnit XML holds the crashes")


def hardened(check, lib, work):
    js, xml = os.path.join(work, "h.json"), os.path.join(work, "h.xml")
    r = run([check, "--library", lib, "--quick", "--json", js, "--junit", xml])
    print(r.stdout[-4000:])
    expect(r.returncode == 0, f"exit 0 on the hardened build (got {r.returncode})")
    rep = json.load(open(js))
    n = sum(t["status"] == "passed" for t in rep["harness"])
    expect(n >= 50, f"{n} harness tests passed (at least 50)")
    expect(rep["stress"] and rep["stress"]["verdict"] == "PASS", "the stress run passed")


def listed(harness, lib):
    out = run([harness, "--library", lib, "--gtest_list_tests",
               f"--gtest_filter={SHARD_FILTER}"]).stdout
    tests, suite = [], ""
    for line in out.splitlines():
        if not line.startswith(" ") and line.strip().endswith("."):
            suite = line.strip()
        elif line.startswith("  "):
            tests.append(suite + line.split()[0])
    return tests


def gtest_shards(harness, lib, work):
    everything = listed(harness, lib)
    expect(len(everything) >= 8, f"{len(everything)} tests listed for {SHARD_FILTER}")
    seen = []
    for i in range(4):
        env = dict(os.environ, GTEST_TOTAL_SHARDS="4", GTEST_SHARD_INDEX=str(i))
        iso = run([harness, "--library", lib, "--isolate", f"--gtest_filter={SHARD_FILTER}"], env)
        ran_iso = re.findall(r"^\[ RUN      \] (\S+)", iso.stdout, re.M)
        own = run([harness, "--library", lib, "--no-isolate", f"--gtest_filter={SHARD_FILTER}"],
                  env)
        ran_own = re.findall(r"^\[ RUN      \] (\S+)", own.stdout, re.M)
        expect(iso.returncode == 0 and ran_iso and ran_iso == ran_own,
               f"shard {i}/4: isolated ran {len(ran_iso)} tests, GoogleTest's own sharding "
               f"{len(ran_own)}, the same ones: {ran_iso == ran_own}")
        seen += ran_iso
    expect(sorted(seen) == sorted(everything) and len(set(seen)) == len(seen),
           f"4 shards ran every listed test once ({len(seen)} of {len(everything)})")
    env = dict(os.environ, GTEST_TOTAL_SHARDS="4", GTEST_SHARD_INDEX="4")
    bad = run([harness, "--library", lib, "--isolate", f"--gtest_filter={SHARD_FILTER}"], env)
    expect(bad.returncode == 2, f"an out-of-range shard index is an error (exit {bad.returncode})")


def stress_shards(check, stress, lib, work):
    files = []
    for i in range(4):
        js = os.path.join(work, f"s{i}.json")
        r = run([stress, "--library", lib, "--json", js, "--shard", f"{i}/4"] + STRESS)
        print(r.stdout[-600:])
        expect(r.returncode == 0, f"shard {i}/4 passed on its own (exit {r.returncode})")
        files.append(js)
    one = os.path.join(work, "one.json")
    r = run([stress, "--library", lib, "--json", one] + STRESS)
    expect(r.returncode == 0, f"the unsharded run passed (exit {r.returncode})")
    merged = os.path.join(work, "merged.json")
    r = run([check, "--merge"] + files + ["--stress-json", merged])
    print(r.stdout)
    expect(r.returncode == 0, f"the merge passed (exit {r.returncode})")
    m, u = json.load(open(merged)), json.load(open(one))
    # Fixed by the seed: these must be equal. The rest depend on timing and
    # are shown side by side.
    for k in ("verdict", "started", "finished", "writers_started", "kills_planned", "violations",
              "children", "seed"):
        expect(m[k] == u[k], f"{k}: merged {m[k]} == unsharded {u[k]}")
    expect(m["killed"] + m["kills_missed"] == u["killed"] + u["kills_missed"],
           "killed + finished-before-the-kill equal")
    print(f"{'counter':<20} {'merged':>10} {'unsharded':>10}")
    for k in ("ops", "verified_reads", "overlapped_reads", "torn_reads", "lost_reads", "killed",
              "kills_missed", "attach_samples"):
        print(f"{k:<20} {m[k]:>10} {u[k]:>10}")
    print(f"{'attach p50 us':<20} {m['attach_us']['p50']:>10.0f} {u['attach_us']['p50']:>10.0f}")
    # Whole dllmem-check runs in 4 shards (harness and stress) merge into one.
    reps = []
    for i in range(4):
        js = os.path.join(work, f"c{i}.json")
        r = run([check, "--library", lib, "--filter", SHARD_FILTER, "--stress", "400",
                 "--shard", f"{i}/4", "--json", js])
        # A shard of 100 children can be short of evidence on its own under
        # load (inconclusive); the merge judges the whole run. Anything else
        # failing in a shard is a failure.
        rep = json.load(open(js)) if os.path.exists(js) else None
        s = rep.get("stress") if rep else None
        short_only = (r.returncode == 1 and rep is not None and
                      all(t.get("status") != "failed" for t in rep.get("harness", [])) and
                      s is not None and s.get("verdict") == "INCONCLUSIVE")
        expect(r.returncode == 0 or short_only,
               f"dllmem-check shard {i}/4 passed or was only short of evidence (exit {r.returncode})")
        if r.returncode != 0:
            print(r.stdout[-3000:])
        reps.append(js)
    r = run([check, "--merge"] + reps + ["--json", os.path.join(work, "cm.json")])
    print(r.stdout)
    cm = json.load(open(os.path.join(work, "cm.json")))
    expect(r.returncode == 0 and cm["verdict"] == "PASS", f"the merged check passed ({cm['verdict']})")
    expect(len(cm["harness"]) == len(set(t["name"] for t in cm["harness"])) ==
           json.load(open(reps[0]))["listed"],
           f"the merged harness ran each of the {json.load(open(reps[0]))['listed']} tests once")
    r = run([check, "--merge"] + reps[1:])
    expect(r.returncode == 2, f"a check merge missing shard 0 is an error (exit {r.returncode})")
    # A merge must refuse a missing or doubled shard.
    r = run([check, "--merge"] + files[:3])
    expect(r.returncode == 2, f"a merge missing a shard is an error (exit {r.returncode})")
    r = run([check, "--merge"] + files + files[:1])
    expect(r.returncode == 2, f"a merge with a shard twice is an error (exit {r.returncode})")


def main():
    what = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="dllmem-check-test-") as work:
        {"canary": canary, "hardened": hardened, "gtest-shards": gtest_shards,
         "stress-shards": stress_shards}[what](*sys.argv[2:], work)
    print(f"{what}: {'FAIL: ' + str(len(failures)) + ' check(s)' if failures else 'PASS'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

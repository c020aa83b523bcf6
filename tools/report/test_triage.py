#!/usr/bin/env python3
"""Self-test of tools/report/triage.py and fuzzlog.py on canned outputs.

testdata/: asan_planted_get_{a,b}.txt are two real replays of different
inputs that a planted off-by-one in GetSharedMem (cch + 1) let overflow;
asan_canary_get.txt and libfuzzer_property_violated.txt are real reports of
the canary's fuzz target; no_crash.txt a replay that passed; ubsan_shift.txt
is written by hand in UBSan's format. Paths read /src/dllmem.
Run: python3 tools/report/test_triage.py
"""
import contextlib
import io
import json
import os
import shutil
import stat
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fuzzlog  # noqa: E402
import triage  # noqa: E402

ROOT = "/src/dllmem"


def canned(name):
    with open(os.path.join(HERE, "testdata", name + ".txt")) as f:
        return f.read()


class ParseReports(unittest.TestCase):
    def test_two_inputs_with_the_same_top_frames_share_a_signature(self):
        a = triage.analyse(canned("asan_planted_get_a"), ROOT)
        b = triage.analyse(canned("asan_planted_get_b"), ROOT)
        self.assertEqual(a["signature"], b["signature"])
        self.assertEqual(a["kind"], "heap-buffer-overflow WRITE")
        self.assertEqual([f["func"] for f in a["frames"]], ["dllmem_seq_load", "load", "get_units"])
        self.assertEqual(triage.describe(a, ROOT),
                         "heap-buffer-overflow WRITE in dllmem_seq_load (dll/src/seqlock.c:452) "
                         "<- load (dll/src/core.c:211) <- get_units (dll/src/core.c:282)")

    def test_a_crash_in_other_frames_has_another_signature(self):
        a = triage.analyse(canned("asan_planted_get_a"), ROOT)
        c = triage.analyse(canned("asan_canary_get"), ROOT)
        self.assertEqual(c["kind"], a["kind"])
        self.assertNotEqual(c["signature"], a["signature"])
        self.assertEqual(c["frames"][0]["func"], "GetSharedMem")
        self.assertEqual(triage.rel(c["frames"][0]["file"], ROOT), "harness/canary/canary.c")

    def test_runtime_frames_are_skipped_past_an_unsymbolized_one(self):
        p = triage.analyse(canned("libfuzzer_property_violated"), ROOT)
        self.assertEqual(p["kind"], "property violated: out[want] == 0")
        self.assertEqual([f["func"] for f in p["frames"]], ["check_get", "LLVMFuzzerTestOneInput"])
        self.assertEqual(p["frames"][0]["line"], 100)

    def test_ubsan_values_do_not_split_a_signature(self):
        text = canned("ubsan_shift")
        u1 = triage.analyse(text, ROOT)
        u2 = triage.analyse(text.replace("40000 by 16", "70000 by 17"), ROOT)
        self.assertTrue(u1["kind"].startswith("undefined behaviour: left shift"))
        self.assertEqual(u1["signature"], u2["signature"])
        self.assertEqual(u1["frames"][0]["func"], "store4")

    def test_a_replay_that_passed_is_no_crash(self):
        self.assertIsNone(triage.analyse(canned("no_crash"), ROOT))


FAKE_TARGET = r"""#!/bin/sh
# A fuzz target stand-in: the input's first byte picks a canned report.
for a in "$@"; do
  case $a in -exact_artifact_path=*) out=${a#-exact_artifact_path=} ;; esac
  last=$a
done
if [ -n "$out" ]; then head -c 1 "$last" > "$out"; exit 0; fi
case $(head -c 1 "$last") in
  A) cat "$DATA/asan_planted_get_a.txt"; exit 1 ;;
  B) cat "$DATA/asan_planted_get_b.txt"; exit 1 ;;
  C) cat "$DATA/asan_canary_get.txt"; exit 1 ;;
  *) cat "$DATA/no_crash.txt"; exit 0 ;;
esac
"""


class Campaign(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="triage-test-")
        self.bins = os.path.join(self.dir, "bin")
        os.makedirs(self.bins)
        fake = os.path.join(self.bins, "fuzz_t")
        with open(fake, "w") as f:
            f.write(FAKE_TARGET)
        os.chmod(fake, stat.S_IRWXU)
        os.environ["DATA"] = os.path.join(HERE, "testdata")
        self.campaign = os.path.join(self.dir, "campaign")
        self.crashes = os.path.join(self.campaign, "crashes", "t")
        os.makedirs(self.crashes)
        self.reg = os.path.join(self.dir, "regressions")
        os.makedirs(self.reg)

    def tearDown(self):
        shutil.rmtree(self.dir)

    def crash(self, name, content):
        with open(os.path.join(self.crashes, name), "w") as f:
            f.write(content)

    def triage(self, *extra):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            rc = triage.main(["--campaign", self.campaign, "--bin-dir", self.bins, "--targets", "t",
                              "--regressions", self.reg, "--root", ROOT, "--minimize-seconds", "5"]
                             + list(extra))
        return rc, out.getvalue().strip().splitlines()[-1]

    def test_crashes_are_deduplicated_minimized_kept_and_reported(self):
        self.crash("crash-1", "A first input")
        self.crash("crash-2", "B another input, same frames")
        self.crash("crash-3", "C other frames")
        self.crash("crash-4", "N passes alone")
        rc, line = self.triage()
        self.assertEqual(rc, 1)
        self.assertEqual(line, "4 crashes, 3 unique, 2 new")
        kept = sorted(os.listdir(os.path.join(self.reg, "t")))
        self.assertEqual(len(kept), 2)
        self.assertTrue(all(k.startswith("heap-buffer-overflow-write-") for k in kept))
        for k in kept:  # minimized: the fake minimizer keeps one byte
            self.assertEqual(os.path.getsize(os.path.join(self.reg, "t", k)), 1)
        with open(os.path.join(self.reg, "t.notes")) as f:
            notes = f.read().splitlines()
        self.assertEqual(len(notes), 2)
        self.assertIn("in dllmem_seq_load (dll/src/seqlock.c:452)", "".join(notes))
        self.assertEqual(os.listdir(self.crashes), [])  # moved to triaged/
        self.assertEqual(len(os.listdir(os.path.join(self.campaign, "triaged", "t"))), 4)
        out = os.path.join(self.campaign, "triage")
        with open(os.path.join(out, "triage.sarif")) as f:
            doc = json.load(f)
        self.assertEqual(triage.validate_sarif(doc), [])
        results = doc["runs"][0]["results"]
        self.assertEqual(len(results), 3)
        self.assertEqual(sorted(r["level"] for r in results), ["error", "error", "warning"])
        planted = [r for r in results if "dllmem_seq_load" in r["message"]["text"]][0]
        self.assertEqual(planted["properties"]["inputs"], 2)
        self.assertEqual(planted["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                         "dll/src/seqlock.c")
        with open(os.path.join(out, "triage.md")) as f:
            md = f.read()
        self.assertIn("4 crashes, 3 unique, 2 new", md)
        self.assertEqual(md.count("| t | `"), 3)

        # The same bug found again by a later campaign is known, not new.
        self.crash("crash-5", "A again")
        rc, line = self.triage()
        self.assertEqual((rc, line), (1, "1 crashes, 1 unique, 0 new"))
        self.assertEqual(len(os.listdir(os.path.join(self.reg, "t"))), 2)

    def test_past_the_replay_cap_crashes_are_counted_and_kept_not_dropped(self):
        for i, c in enumerate("ABCC"):
            self.crash("crash-%d" % i, c)
        rc, line = self.triage("--max-replays", "2")
        self.assertEqual((rc, line), (1, "4 crashes, 2 unique, 1 new"))
        kept = os.path.join(self.campaign, "triage", "t", triage.slug(triage.OVER_CAP))
        self.assertEqual(sorted(os.listdir(kept)), ["crash-2", "crash-3"])

    def test_a_campaign_without_crashes_passes(self):
        self.assertEqual(self.triage(), (0, "0 crashes, 0 unique, 0 new"))


class Sarif(unittest.TestCase):
    def good(self):
        a = triage.analyse(canned("asan_planted_get_a"), ROOT)
        return triage.sarif([{"target": "t", "analysis": a, "inputs": ["crash-1"], "new": True,
                              "regression": "fuzz/regressions/t/x", "kept": None}], ROOT, "1")

    def test_what_triage_writes_is_valid(self):
        self.assertEqual(triage.validate_sarif(self.good()), [])

    def test_the_validator_rejects_what_the_schema_forbids(self):
        cases = {
            "lacks required 'name'": lambda d: d["runs"][0]["tool"]["driver"].pop("name"),
            "version must be": lambda d: d.update(version="2.0.0"),
            "lacks required 'message'": lambda d: d["runs"][0]["results"][0].pop("message"),
            "level not one of": lambda d: d["runs"][0]["results"][0].update(level="fatal"),
            "startLine must be": lambda d: d["runs"][0]["results"][0]["locations"][0]
            ["physicalLocation"]["region"].update(startLine=0),
            "has no property 'severity'": lambda d: d["runs"][0]["results"][0].update(severity=1),
            "frames must be": lambda d: d["runs"][0]["results"][0]["stacks"][0].update(frames=[]),
        }
        for want, breakit in cases.items():
            doc = self.good()
            breakit(doc)
            errs = triage.validate_sarif(doc)
            self.assertTrue(any(want in e for e in errs), "%s: %s" % (want, errs))


class FuzzLog(unittest.TestCase):
    def test_fork_and_plain_status_lines(self):
        rows = fuzzlog.parse(
            "INFO: -fork=1: 12 seed inputs\n"
            "#16920: cov: 311 ft: 311 corp: 12 exec/s 8460 oom/timeout/crash: 0/0/1 time: 2s job: 1\n"
            "#4096\tpulse  cov: 12 ft: 13 corp: 5/20b lim: 4 exec/s: 2048 rss: 30Mb\n"
            "  NEW_FUNC: 0x1 in f x.c:1\n")
        self.assertEqual(rows, [(2.0, 16920, 311, 311, 12, 8460, 1), (2.0, 4096, 12, 13, 5, 2048, 0)])

    def test_plain_lines_keep_the_last_of_each_second(self):
        rows = fuzzlog.parse(
            "#2\tINITED cov: 10 ft: 10 corp: 3/9b exec/s: 0 rss: 30Mb\n"
            "#900\tNEW    cov: 11 ft: 12 corp: 4/12b lim: 4 exec/s: 900 rss: 30Mb\n"
            "#950\tNEW    cov: 12 ft: 14 corp: 5/14b lim: 4 exec/s: 950 rss: 30Mb\n"
            "#2048\tpulse  cov: 12 ft: 14 corp: 5/14b lim: 4 exec/s: 1024 rss: 30Mb\n")
        self.assertEqual([r[:2] for r in rows], [(0.0, 2), (1.0, 950), (2.0, 2048)])

    def test_a_log_without_status_lines_is_an_error(self):
        d = tempfile.mkdtemp(prefix="fuzzlog-test-")
        try:
            log = os.path.join(d, "log")
            with open(log, "w") as f:
                f.write("INFO: Seed: 1\n")
            with contextlib.redirect_stderr(io.StringIO()):
                self.assertEqual(fuzzlog.main(["fuzzlog", log, os.path.join(d, "out.tsv")]), 1)
        finally:
            shutil.rmtree(d)


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/env python3
"""Self-test of srcmut.py on testdata/sample.c: the exact mutant list
(testdata/sample.expected), and each mutant applied compiles (cc
-fsyntax-only -Werror, with the mutation build's allowance for "unused"
warnings a removed statement leaves) except the swaps that cannot."""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import srcmut  # noqa: E402

SAMPLE = os.path.join(HERE, "testdata", "sample.c")
EXPECTED = os.path.join(HERE, "testdata", "sample.expected")
MUST_NOT_COMPILE = {"memcpy(): arguments 2 and 3 swapped (src <-> n)",
                    "memcpy(): arguments 1 and 2 swapped (dst <-> src)"}
# What ci/mutation adds to -Werror: a removed statement may leave a variable
# or parameter unused, which a developer would have deleted too.
ALLOW = ["-Wno-error=unused-parameter", "-Wno-error=unused-variable",
         "-Wno-error=unused-but-set-variable", "-Wno-error=unused-but-set-parameter",
         "-Wno-error=unused-function", "-Wno-error=unused-value"]


def fmt(m):
    return " | ".join([str(m["line"]), m["op"], m["function"], m["desc"]])


def compiles(text, cc):
    with tempfile.NamedTemporaryFile("w", suffix=".c", delete=False) as f:
        f.write(text)
    try:
        r = subprocess.run([cc, "-std=c11", "-fsyntax-only", "-Wall", "-Wextra", "-Werror",
                            *ALLOW, f.name],
                           capture_output=True, text=True)
        return r.returncode == 0
    finally:
        os.unlink(f.name)


def main():
    cc = os.environ.get("CC", "cc")
    src = open(SAMPLE, encoding="utf-8").read()
    got = [fmt(m) for m in srcmut.mutants(SAMPLE, src)]
    want = [line.rstrip("\n") for line in open(EXPECTED, encoding="utf-8") if line.strip()]
    failures = 0
    if got != want:
        failures += 1
        print("test_srcmut: mutant list differs from testdata/sample.expected")
        for line in sorted(set(want) - set(got)):
            print("  missing:   " + line)
        for line in sorted(set(got) - set(want)):
            print("  unexpected: " + line)
    ops = {m.split(" | ")[1] for m in got}
    for op in ("mo_weaken", "fence_remove", "store_remove", "call_remove", "arg_swap", "ret_swap"):
        if op not in ops:
            failures += 1
            print(f"test_srcmut: no {op} mutant on the sample")
    if not compiles(src, cc):
        failures += 1
        print("test_srcmut: the sample itself does not compile")
    for m in srcmut.mutants(SAMPLE, src):
        text = srcmut.apply(src, m["start"], m["end"], m["replacement"])
        if text == src:
            failures += 1
            print("test_srcmut: no-op mutant: " + fmt(m))
            continue
        ok = compiles(text, cc)
        if ok == (m["desc"] in MUST_NOT_COMPILE):
            failures += 1
            print(f"test_srcmut: {'compiles' if ok else 'does not compile'}: {fmt(m)}")
    print(f"test_srcmut: {len(got)} mutants on the sample, {failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

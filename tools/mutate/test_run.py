#!/usr/bin/env python3
"""Self-test of run.py's bookkeeping: keys survive edits elsewhere in the file,
equivalent.txt entries match exactly what they name, the sample order is
deterministic and covers every operator, Mull ids map to their source line,
segments are removed only for the pids given, and GenMC installs are found
where ci/modelcheck puts them."""
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run  # noqa: E402

SAMPLE = os.path.join(HERE, "testdata", "sample.c")
failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("test_run: FAILED: " + what)


def tree_with(text):
    d = tempfile.mkdtemp(prefix="test-run-")
    os.makedirs(os.path.join(d, "dll", "src"))
    with open(os.path.join(d, "dll", "src", "sample.c"), "w") as f:
        f.write(text)
    return d


def keyed(text, ids=()):
    d = tree_with(text)
    s = run.Sources(d)
    ms = run.source_mutants(s) + run.mull_mutants(
        [i.replace("@", os.path.join(d, "dll", "src", "sample.c")) for i in ids], s, d)
    run.assign_keys(ms, s)
    return ms


orig = open(SAMPLE).read()
ids = ["cxx_lt_to_le:@:41:16:41:17", "cxx_gt_to_ge:@:39:13:39:14", "scalar_value_mutator:@:24:14:24:15"]
a = keyed(orig, ids)
# The same file with lines added above: the same keys.
b = keyed("/* one more line */\n/* and another */\n" + orig,
          [i.replace(":41:", ":43:").replace(":39:", ":41:").replace(":24:", ":26:") for i in ids])
check(sorted(m.key for m in a) == sorted(m.key for m in b), "keys change when lines are added above")
check(len({m.key for m in a}) == len(a), "two mutants share a key")

mull = {m.op: m for m in a if m.engine == "mull"}
check(mull["cxx_lt_to_le"].mutated.strip() == "return len <= cap ? DLLMEM_OK : DLLMEM_TRUNCATED;",
      "Mull lt_to_le rendered as " + mull["cxx_lt_to_le"].mutated.strip())
check(mull["cxx_gt_to_ge"].function == "cut", "Mull mutant's function")
check(mull["scalar_value_mutator"].mutated.strip() == "if (42 == 0)" or
      "42" in mull["scalar_value_mutator"].mutated, "scalar rendered: " + mull["scalar_value_mutator"].mutated)

# Equivalents: an entry matches its mutant and nothing else.
target = next(m for m in a if m.op == "ret_swap" and m.function == "cut" and "?" in m.source)
f, fn, op, text = target.key.split(" :: ")
eqfile = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)
eqfile.write("# comment\n\n" + " :: ".join([f, fn, op, text, "the reason"]) + "\n")
eqfile.close()
entries = run.load_equivalents(eqfile.name)
hits = [m for m in a if run.match_equivalent(m, entries)]
check([m.key for m in hits] == [target.key], f"equivalent entry matched {len(hits)} mutants")
check(entries[0]["used"] == 1, "entry use count")
bad = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)
bad.write("dll/src/x.c :: f :: op :: no reason\n")
bad.close()
try:
    run.load_equivalents(bad.name)
    check(False, "an entry without a reason is accepted")
except SystemExit:
    pass

# Sampling: deterministic, and the first len(ops) cover every operator.
o1 = [m.key for m in run.stratified(a)]
o2 = [m.key for m in run.stratified(list(reversed(a)))]
check(o1 == o2, "sample order depends on input order")
classes = {run.op_class(m.op) for m in a}
check("other" not in classes, "an operator outside every class: " + str(sorted(m.op for m in a if run.op_class(m.op) == "other")))
check({run.op_class(m.op) for m in run.stratified(a)[:len(classes)]} == classes, "sample head misses a class")
for op in ("cxx_lt_to_le", "cxx_eq_to_ne", "cxx_logical_and_to_or", "cxx_remove_negation", "cxx_assign_const",
           "cxx_add_to_sub", "cxx_post_inc_to_post_dec", "cxx_and_to_or", "cxx_lshift_to_rshift",
           "cxx_remove_void_call", "cxx_replace_scalar_call", "cxx_div_assign_to_mul_assign"):
    check(run.op_class(op) != "other", f"Mull's {op} has no class")

# Segments: only names carrying one of the given pids.
made = []
for name in (f"dllmem-t{4000000 + os.getpid()}-0-x", f"dllmem-fuzz-{4000001 + os.getpid()}-y"):
    path = os.path.join("/dev/shm", name)
    open(path, "w").close()
    made.append(path)
n = run.remove_segments({4000000 + os.getpid()})
check(n == 1 and not os.path.exists(made[0]) and os.path.exists(made[1]), "remove_segments by pid")
for p in made:
    if os.path.exists(p):
        os.unlink(p)

# GenMC installs: one per patch set (genmc-V/<hash>/), complete only once
# .complete is there; a stale flat-layout marker is not one.
cache = tempfile.mkdtemp(prefix="test-run-cache-")
check(run.genmc_installs(cache) == [], "an empty cache has a GenMC")
os.makedirs(os.path.join(cache, "genmc-9.9", "abc123", "bin"))
check(run.genmc_installs(cache) == [], "an install without .complete counts")
open(os.path.join(cache, "genmc-9.9", "abc123", ".complete"), "w").close()
check(run.genmc_installs(cache) == [os.path.join(cache, "genmc-9.9", "abc123")],
      "the per-patch-set install is not found: " + repr(run.genmc_installs(cache)))
open(os.path.join(cache, "genmc-9.9", ".complete"), "w").close()
check(len(run.genmc_installs(cache)) == 1, "a stale flat-layout marker counts as an install")
shutil.rmtree(cache)

print(f"test_run: {len(a)} mutants keyed, {failures} failure(s)")
sys.exit(1 if failures else 0)

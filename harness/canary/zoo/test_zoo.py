#!/usr/bin/env python3
"""Self-test of zoo.py: a missing or repeated anchor is an error (a refactor
can never quietly make a variant the hardened build), every variant applies
to this tree and changes it, and the harness output parser finds the failing
test and its message, parameterized tests and crashes included."""
import os
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import variants  # noqa: E402
import zoo  # noqa: E402

E = variants.Edit


class Anchors(unittest.TestCase):
    SRC = {"dll/src/a.c": "int x = 1;\nint y = 2;\nint y = 2;\n"}

    def test_a_missing_anchor_is_an_error(self):
        with self.assertRaisesRegex(zoo.ZooError, "found 0 times"):
            zoo.apply_edits("v", self.SRC, [E("dll/src/a.c", "int z = 3;\n", "int z = 4;\n")])

    def test_a_repeated_anchor_is_an_error(self):
        with self.assertRaisesRegex(zoo.ZooError, "found 2 times"):
            zoo.apply_edits("v", self.SRC, [E("dll/src/a.c", "int y = 2;\n", "int y = 3;\n")])

    def test_a_missing_file_is_an_error(self):
        with self.assertRaisesRegex(zoo.ZooError, "found 0 times"):
            zoo.apply_edits("v", self.SRC, [E("dll/src/b.c", "x", "y")])

    def test_an_edit_that_changes_nothing_is_an_error(self):
        with self.assertRaisesRegex(zoo.ZooError, "changes nothing"):
            zoo.apply_edits("v", self.SRC, [E("dll/src/a.c", "int x = 1;\n", "int x = 1;\n")])

    def test_an_anchor_in_two_candidate_files_is_an_error(self):
        src = {"dll/src/a.c": "int q;\n", "dll/src/b.c": "int q;\n"}
        with self.assertRaisesRegex(zoo.ZooError, "found 2 times"):
            zoo.apply_edits("v", src, [E(("dll/src/a.c", "dll/src/b.c"), "int q;\n", "int r;\n")])

    def test_an_anchor_follows_code_that_moved_to_another_candidate_file(self):
        src = {"dll/src/a.c": "", "dll/src/b.c": "int q;\n"}
        out = zoo.apply_edits("v", src, [E(("dll/src/a.c", "dll/src/b.c"), "int q;\n", "int r;\n")])
        self.assertEqual(out["dll/src/b.c"], "int r;\n")

    def test_one_of_two_shapes_applies_and_never_both(self):
        one = variants.OneOf(E("dll/src/a.c", "int x = 1;\n", "int x = 7;\n"),
                             E("dll/src/a.c", "int w = 1;\n", "int w = 7;\n"))
        out = zoo.apply_edits("v", self.SRC, [one])
        self.assertTrue(out["dll/src/a.c"].startswith("int x = 7;\n"))
        both = {"dll/src/a.c": "int x = 1;\nint w = 1;\n"}
        with self.assertRaisesRegex(zoo.ZooError, "found 2 times"):
            zoo.apply_edits("v", both, [one])
        with self.assertRaisesRegex(zoo.ZooError, "found 0 times"):
            zoo.apply_edits("v", {"dll/src/a.c": ""}, [one])

    def test_an_edit_replaces_its_anchor_only(self):
        out = zoo.apply_edits("v", self.SRC, [E("dll/src/a.c", "int x = 1;\n", "int x = 9;\n")])
        self.assertEqual(out["dll/src/a.c"], "int x = 9;\nint y = 2;\nint y = 2;\n")
        self.assertEqual(self.SRC["dll/src/a.c"], "int x = 1;\nint y = 2;\nint y = 2;\n")


class TheZoo(unittest.TestCase):
    def test_every_variant_applies_to_this_tree_and_changes_it(self):
        srcs = zoo.read_sources(zoo.DEFAULT_ROOT)
        names = set()
        for v in variants.VARIANTS:
            self.assertNotIn(v.name, names, "variant names are unique")
            names.add(v.name)
            out = zoo.apply_edits(v.name, srcs, v.edits)
            self.assertNotEqual(out, srcs, v.name)
            self.assertTrue(v.catch, f"{v.name} lists no instrument")
            for spec in v.catch:
                self.assertIn(spec.split(":", 1)[0], ("harness", "stress", "fuzz"), spec)
            for e in v.edits:
                for a in (e.edits if isinstance(e, variants.OneOf) else [e]):
                    self.assertIn("ZOO", a.new, f"{v.name}: mark the changed line with ZOO")

    def test_the_zoo_holds_the_variants_the_issue_names(self):
        names = {v.name for v in variants.VARIANTS}
        for n in ("get-empty-while-writing", "reader-gives-up-on-contention",
                  "get-untouched-while-writing", "repair-copies-half", "writer-trylock",
                  "surrogate-split-at-odd-capacity", "get-cut-one-short", "no-terminator-when-full",
                  "get-writes-past-cch", "no-unlink-at-last-detach", "mode-0644",
                  "repair-never-runs"):
            self.assertIn(n, names)


GTEST_PARAM_FAILURE = """\
[ RUN      ] Bounds/GetCch.WritesAtMostCchUnitsIncludingTheTerminator/len10_cch2
/src/harness/bounds_test.cc:61: Failure
Expected equality of these values:
  out[want]
    Which is: 43690
  0
terminator missing
/src/harness/bounds_test.cc:63: Failure
Value of: std::equal(out, out + want, s.begin())
[  FAILED  ] Bounds/GetCch.WritesAtMostCchUnitsIncludingTheTerminator/len10_cch2, where GetParam() = 16-byte object <0A-00> (0 ms)
[ RUN      ] Bounds/GetCch.WritesAtMostCchUnitsIncludingTheTerminator/len10_cch10
[  SKIPPED ] Bounds/GetCch.WritesAtMostCchUnitsIncludingTheTerminator/len10_cch10 (0 ms)
[  FAILED  ] 1 test, listed below:
"""


class Parsing(unittest.TestCase):
    def test_the_failure_message_is_the_first_block_on_one_line(self):
        why = zoo.failure_message(GTEST_PARAM_FAILURE,
                                  "Bounds/GetCch.WritesAtMostCchUnitsIncludingTheTerminator/len10_cch2")
        self.assertTrue(why.startswith("bounds_test.cc:61: Expected equality"), why)
        self.assertIn("terminator missing", why)
        self.assertNotIn("bounds_test.cc:63", why)

    def test_a_parameterized_failure_is_named_without_its_parameter(self):
        import re
        failed = re.findall(r"^\[  FAILED  \] (" + zoo.TEST_NAME + ")", GTEST_PARAM_FAILURE, re.M)
        self.assertEqual(failed,
                         ["Bounds/GetCch.WritesAtMostCchUnitsIncludingTheTerminator/len10_cch2"])

    def test_a_load_failure_is_recognized(self):
        self.assertTrue(zoo.LOAD_FAILURE.search("fixture.cc:99: cannot load /x/libdllmem.so: nope"))


if __name__ == "__main__":
    unittest.main(verbosity=1)

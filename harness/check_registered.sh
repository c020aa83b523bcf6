#!/usr/bin/env bash
# check_registered.sh HARNESS BUILD_DIR: fails unless every test the harness
# binary holds runs as a ctest test in BUILD_DIR. gtest_discover_tests
# registers suites by name filters (with a catch-all); a suite no filter
# named would run in the binary but never in CI. ctest names parameterized
# tests by value and gtest by index, so the check counts the ctest tests that
# run this binary with one --gtest_filter, and compares with gtest's count.
set -uo pipefail
bin=$1 dir=$2
want=$("$bin" --gtest_list_tests | awk '/^[^ ]/ {suite = $1; next} {print suite $1}' | sort -u)
n=$(printf '%s\n' "$want" | grep -c .)
[ "$n" -gt 0 ] || { echo "check_registered: the harness lists no test"; exit 1; }
have=$(ctest --test-dir "$dir" --show-only=json-v1 | python3 -c '
import json, sys
bin = sys.argv[1]
for t in json.load(sys.stdin)["tests"]:
    cmd = t.get("command") or []
    f = [a for a in cmd if a.startswith("--gtest_filter=")]
    if cmd and cmd[0] == bin and len(f) == 1:
        print(f[0][len("--gtest_filter="):])' "$(readlink -f "$bin")" | sort -u)
missing=$(comm -23 <(printf '%s\n' "$want") <(printf '%s\n' "$have"))
if [ -n "$missing" ]; then
  echo "check_registered: $(printf '%s\n' "$missing" | grep -c .) of $n harness tests never run under ctest:"
  printf '%s\n' "$missing"
  exit 1
fi
echo "check_registered: all $n harness tests are ctest tests"

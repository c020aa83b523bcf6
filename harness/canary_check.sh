#!/usr/bin/env bash
# Runs every harness test against the original example's algorithm, each in
# its own process so a crash is one failed test, and passes only if the suite
# caught the example's defects: at least one failure in each required
# category. If the canary ever passes, the harness has lost its teeth.
#   usage: canary_check.sh HARNESS CANARY_LIB [OUT_DIR]
#   CANARY_RUNNER: a command to run the harness with (e.g. wine);
#   CANARY_REQUIRED: the categories that must fail (default: Bounds CchZero Tearing).
set -u
harness=$1 canary=$2 out=${3:-canary-results}
read -r -a runner <<< "${CANARY_RUNNER:-}"
read -r -a required <<< "${CANARY_REQUIRED:-Bounds CchZero Tearing}"
mkdir -p "$out"
rm -f "$out"/*.xml
mapfile -t tests < <("${runner[@]}" "$harness" --gtest_list_tests < /dev/null | tr -d '\r' |
                     awk '/^[^ ]/ {suite=$1} /^  / {print suite $1}')
[ ${#tests[@]} -gt 0 ] || { echo "canary check: ERROR: the harness listed no tests"; exit 2; }
# Under Wine the XML path must be a Windows path.
xml_path() { if [ "${runner[0]:-}" = wine ] && command -v winepath > /dev/null; then
               winepath -w "$1" 2> /dev/null; else echo "$1"; fi; }
declare -A failed_in=()
failed=0 passed=0 skipped=0
report="$out/canary-report.txt"
: > "$report"
for t in "${tests[@]}"; do
  xml="$out/$(echo "$t" | tr '/' '_').xml"
  # A subshell, so the shell's own "Segmentation fault" notice lands in the log.
  ( timeout -k 5 120 "${runner[@]}" "$harness" --library "$canary" --no-leak-check \
      --gtest_filter="$t" --gtest_output="xml:$(xml_path "$xml")" < /dev/null ) > "$out/last.log" 2>&1
  rc=$?
  # A failure counts only if the test ran: a harness that runs nothing
  # would otherwise "catch" everything.
  if grep -q 'Running 0 tests' "$out/last.log"; then
    echo "canary check: ERROR: $t did not run:"; tail -n 5 "$out/last.log"; exit 2
  fi
  if [ $rc -eq 0 ]; then
    if grep -q '\[  SKIPPED \]' "$out/last.log"; then skipped=$((skipped+1)); else passed=$((passed+1)); fi
    continue
  fi
  failed=$((failed+1))
  suite=${t%%[./]*}
  failed_in[$suite]=$(( ${failed_in[$suite]:-0} + 1 ))
  why=$(grep -m1 -A1 'Failure$' "$out/last.log" | tail -1 | sed 's/^ *//' | cut -c1-90)
  extra=$(grep -m1 -E 'torn|left behind|read through|written to|wedged' "$out/last.log" | cut -c1-90)
  [ -n "$extra" ] && why="$extra"
  if [ $rc -ge 128 ] && [ $rc -lt 256 ]; then why="killed by signal $((rc-128)) ($(kill -l $((rc-128)) 2>/dev/null))"; fi
  grep -qE 'c0000005|page fault|Unhandled exception' "$out/last.log" && why="access violation (0xC0000005)"
  [ $rc -eq 124 ] && why="timed out"
  printf '%-75s %s\n' "$t" "$why" >> "$report"
done
# Anything the canary left behind is its own defect; clean it.
find /dev/shm -maxdepth 1 -name 'dllmem-t*' -exec rm -rf {} + 2>/dev/null
cat "$report"
echo "canary: $failed failed, $passed passed, $skipped skipped of ${#tests[@]} tests"
ok=1
for cat in "${required[@]}"; do
  n=${failed_in[$cat]:-0}
  printf 'canary category %-8s %3d failing test(s)\n' "$cat" "$n"
  [ "$n" -gt 0 ] || ok=0
done
if [ $ok -eq 1 ]; then
  echo "canary check: PASS (the harness caught the original example's defects)"
  exit 0
fi
echo "canary check: FAIL (the harness lost its teeth: a required category passed on the canary)"
exit 1

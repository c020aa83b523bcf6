#!/usr/bin/env bash
# Runs every harness test against the original example's algorithm, each in
# its own process so a crash is one failed test, and passes only if the suite
# caught the example's defects: at least one failure in each required
# category. If the canary ever passes, the harness has lost its teeth.
#   usage: canary_check.sh HARNESS CANARY_LIB [OUT_DIR]
set -u
harness=$1 canary=$2 out=${3:-canary-results}
required=(Bounds CchZero Tearing)
mkdir -p "$out"
rm -f "$out"/*.xml
mapfile -t tests < <("$harness" --gtest_list_tests | awk '/^[^ ]/ {suite=$1} /^  / {print suite $1}')
declare -A failed_in=()
failed=0 passed=0 skipped=0
report="$out/canary-report.txt"
: > "$report"
for t in "${tests[@]}"; do
  xml="$out/$(echo "$t" | tr '/' '_').xml"
  # A subshell, so the shell's own "Segmentation fault" notice lands in the log.
  ( timeout -k 5 120 "$harness" --library "$canary" --no-leak-check --gtest_filter="$t" \
      --gtest_output="xml:$xml" ) > "$out/last.log" 2>&1
  rc=$?
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
  if [ $rc -ge 128 ]; then why="killed by signal $((rc-128)) ($(kill -l $((rc-128)) 2>/dev/null))"; fi
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

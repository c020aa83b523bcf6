#!/usr/bin/env bash
# Runs every harness test against the original example's algorithm, each in
# its own process so a crash is one failed test, and passes only if the suite
# caught the example's defects: at least one failure in each required
# category. If the canary ever passes, the harness has lost its teeth.
#
# A failure counts as a catch only when the test really ran against the
# canary: named control tests (behaviour the example gets right) must pass,
# and a test that failed because a library could not be loaded is an error,
# not a catch. Each test's verdict and the reason for each failure are
# recorded in OUT_DIR/canary-report.txt.
#   usage: canary_check.sh HARNESS CANARY_LIB [OUT_DIR]
#   CANARY_RUNNER: a command to run the harness with (e.g. wine);
#   CANARY_REQUIRED: the categories that must fail (default: Bounds CchZero Tearing);
#   CANARY_CONTROLS: tests that must pass on the canary (default below).
#   exit: 0 caught, 1 a required category passed (teeth lost), 2 error (nothing proven)
set -u
harness=$1 canary=$2 out=${3:-canary-results}
read -r -a runner <<< "${CANARY_RUNNER:-}"
read -r -a required <<< "${CANARY_REQUIRED:-Bounds CchZero Tearing}"
read -r -a controls <<< "${CANARY_CONTROLS:-Example.AChildReadsWhatItsParentWrote Example.AChildsStringOutlivesTheChildWhileTheParentIsAttached Bounds.FirstGetSeesTheEmptyString}"
# Every segment name this run's harness processes create carries this tag
# (shim_unique_name), so the clean-up below removes this run's objects only.
export SHIM_NAME_RUN="c$$"
cleanup() {
  if [ -d /dev/shm ]; then
    find /dev/shm -maxdepth 1 -name "dllmem-t${SHIM_NAME_RUN}-*" -exec rm -rf {} + 2> /dev/null
  fi
  return 0
}
trap cleanup EXIT
error() { echo "canary check: ERROR: $*"; exit 2; }

mkdir -p "$out"
rm -f "$out"/*.xml
mapfile -t tests < <("${runner[@]}" "$harness" --gtest_list_tests < /dev/null | tr -d '\r' |
                     awk '/^[^ ]/ {suite=$1} /^  / {print suite $1}')
[ ${#tests[@]} -gt 0 ] || error "the harness listed no tests"
declare -A listed=() verdict=()
for t in "${tests[@]}"; do listed[$t]=1; done
for c in "${controls[@]}"; do
  [ -n "${listed[$c]:-}" ] || error "control test $c is not in the harness"
done
# Under Wine the XML path must be a Windows path.
xml_path() { if [ "${runner[0]:-}" = wine ] && command -v winepath > /dev/null; then
               winepath -w "$1" 2> /dev/null; else echo "$1"; fi; }
# The first failure's message, on one line.
failure_reason() {
  awk '/: Failure$/ {grab=1; n=0; next}
       grab && (/^\[/ || /^$/) {exit}
       grab {sub(/^ +/, ""); printf "%s%s", (n++ ? " | " : ""), $0; if (n >= 4) exit}' "$1" |
    cut -c1-160
}
declare -A failed_in=()
failed=0 passed=0 skipped=0 errors=0
report="$out/canary-report.txt"
: > "$report"
for t in "${tests[@]}"; do
  xml="$out/$(echo "$t" | tr '/' '_').xml"
  # A subshell, so the shell's own "Segmentation fault" notice lands in the log.
  ( timeout -k 5 120 "${runner[@]}" "$harness" --library "$canary" --no-leak-check --no-isolate \
      --gtest_filter="$t" --gtest_output="xml:$(xml_path "$xml")" < /dev/null ) > "$out/last.log" 2>&1
  rc=$?
  # A failure counts only if the test ran: a harness that runs nothing
  # would otherwise "catch" everything.
  if grep -q 'Running 0 tests' "$out/last.log"; then
    echo "canary check: ERROR: $t did not run:"; tail -n 5 "$out/last.log"; exit 2
  fi
  if [ $rc -eq 0 ]; then
    if grep -q '\[  SKIPPED \]' "$out/last.log"; then
      skipped=$((skipped+1)); verdict[$t]=skipped
      printf '%-8s %s\n' SKIPPED "$t" >> "$report"
    else
      passed=$((passed+1)); verdict[$t]=passed
      printf '%-8s %s\n' PASSED "$t" >> "$report"
    fi
    continue
  fi
  # A library that could not be loaded proves nothing about the harness.
  load=$(grep -m1 -E 'cannot load |lacks SetSharedMem/GetSharedMem|no library: pass --library' \
           "$out/last.log" | cut -c1-160)
  if [ -n "$load" ]; then
    errors=$((errors+1)); verdict[$t]=error
    printf '%-8s %s -- load failure: %s\n' ERROR "$t" "$load" >> "$report"
    continue
  fi
  failed=$((failed+1)); verdict[$t]=caught
  suite=${t%%[./]*}
  failed_in[$suite]=$(( ${failed_in[$suite]:-0} + 1 ))
  why=$(failure_reason "$out/last.log")
  if [ $rc -ge 128 ] && [ $rc -lt 256 ]; then why="killed by signal $((rc-128)) ($(kill -l $((rc-128)) 2>/dev/null))${why:+; $why}"; fi
  grep -qE 'c0000005|page fault|Unhandled exception' "$out/last.log" && why="access violation (0xC0000005)${why:+; $why}"
  [ $rc -eq 124 ] && why="timed out"
  [ -n "$why" ] || why=$(grep -m1 -oE 'SUMMARY: .*|runtime error: .*|property violated: .*' \
                             "$out/last.log" | cut -c1-160)
  [ -n "$why" ] || why="exit $rc, no failure message: $(tail -n 1 "$out/last.log" | cut -c1-100)"
  printf '%-8s %s -- %s\n' CAUGHT "$t" "$why" >> "$report"
done
cleanup
grep -v '^PASSED\|^SKIPPED' "$report"
echo "canary: $failed failed, $passed passed, $skipped skipped, $errors errors of ${#tests[@]} tests"
for c in "${controls[@]}"; do
  printf 'canary control  %-60s %s\n' "$c" "${verdict[$c]}"
done
bad_controls=0
for c in "${controls[@]}"; do [ "${verdict[$c]}" = passed ] || bad_controls=$((bad_controls+1)); done
[ "$errors" -eq 0 ] || error "$errors test(s) could not load a library (see $report): their failures are not catches"
[ "$bad_controls" -eq 0 ] || error "$bad_controls control test(s) did not pass on the canary: the harness cannot show it runs there"
ok=1
for cat in "${required[@]}"; do
  n=${failed_in[$cat]:-0}
  printf 'canary category %-8s %3d failing test(s)\n' "$cat" "$n"
  [ "$n" -gt 0 ] || ok=0
done
if [ $ok -eq 1 ]; then
  echo "canary check: PASS (the harness caught the original example's defects; controls passed)"
  exit 0
fi
echo "canary check: FAIL (the harness lost its teeth: a required category passed on the canary)"
exit 1

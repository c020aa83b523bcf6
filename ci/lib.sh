# Shared by the ci/ stage scripts: each stage prints one result line
#   "== stage NAME: PASS|FAIL (N s) KEY FIGURE"
# and appends it to $DLLMEM_CI_SUMMARY when ci/all collects them.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
STAGE_NAME=${STAGE_NAME:-$(basename "$0")}
STAGE_T0=$(date +%s)
JOBS=${JOBS:-2}

# stage_done STATUS FIGURE: prints the result line and exits 0 on PASS.
stage_done() {
  local status=$1 figure=${2:-}
  local secs=$(( $(date +%s) - STAGE_T0 ))
  printf '== stage %s: %s (%d s) %s\n' "$STAGE_NAME" "$status" "$secs" "$figure"
  if [ -n "${DLLMEM_CI_SUMMARY:-}" ]; then
    printf '%s\t%s\t%d\t%s\n' "$STAGE_NAME" "$status" "$secs" "$figure" >> "$DLLMEM_CI_SUMMARY"
  fi
  [ "$status" = PASS ] || [ "$status" = REPORT ]
  exit $?
}

# configure_build PRESET: configures and builds a preset (-Werror is in every
# preset); on failure shows the end of the log and returns non-zero.
configure_build() {
  local log="build/$1.build.log"
  mkdir -p build
  { cmake --preset "$1" && cmake --build --preset "$1" -j "$JOBS"; } > "$log" 2>&1 ||
    { tail -n 40 "$log"; return 1; }
}

# ctest_count LOG: "N tests" from a ctest log.
ctest_count() {
  grep -Eo '[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$1" | tail -1
}

# run_leftovers BEFORE: the segments this run left. Ours are the harness's
# and the example's (dllmem-t$SHIM_NAME_RUN-*), and any other dllmem-* object
# that appeared since BEFORE and whose creator (the pid in its name: fuzz,
# stress, latency) is gone. Objects of other runs on the machine are theirs.
run_leftovers() {
  local n pid
  comm -13 <(printf '%s\n' "$1") <(ls /dev/shm | grep '^dllmem-' | sort) | while read -r n; do
    [ -n "$n" ] || continue
    case $n in
      "dllmem-t$SHIM_NAME_RUN-"*) echo "$n" ;;
      dllmem-t*) ;;
      *)
        pid=$(printf '%s' "$n" | sed -n 's/^dllmem-[a-z-]*\([0-9][0-9]*\).*/\1/p')
        if [ -z "$pid" ] || ! kill -0 "$pid" 2> /dev/null; then echo "$n"; fi
        ;;
    esac
  done
}

# run_suite PRESET [CTEST ARGS...]: runs ctest for a preset, then fails if any
# segment is left in /dev/shm; ends the stage with the test count.
run_suite() {
  local preset=$1
  shift
  configure_build "$preset" || stage_done FAIL "build failed"
  local log="build/$preset/ctest.log"
  local before
  before=$(ls /dev/shm | grep '^dllmem-' | sort)
  export SHIM_NAME_RUN="r$$"  # the harness's and the example's names carry it
  # JUnit for ci/report (build/*/junit*.xml)
  ctest --preset "$preset" --output-junit "$ROOT/build/$preset/junit-ctest.xml" "$@" 2>&1 | tee "$log" | tail -n 12
  local rc=${PIPESTATUS[0]}
  local left
  left=$(run_leftovers "$before")
  [ -z "$left" ] || {
    echo "$STAGE_NAME: $(printf '%s\n' "$left" | grep -c .) segment(s) left in /dev/shm:"
    printf '%s\n' "$left" | head -n 5
    rc=1
  }
  [ "$rc" -eq 0 ] && stage_done PASS "$(ctest_count "$log")" || stage_done FAIL "$(ctest_count "$log")"
}

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

# run_suite PRESET [CTEST ARGS...]: runs ctest for a preset, then fails if any
# segment is left in /dev/shm; ends the stage with the test count.
run_suite() {
  local preset=$1
  shift
  configure_build "$preset" || stage_done FAIL "build failed"
  local log="build/$preset/ctest.log"
  ctest --preset "$preset" "$@" 2>&1 | tee "$log" | tail -n 12
  local rc=${PIPESTATUS[0]}
  local left
  left=$(ls /dev/shm | grep -c '^dllmem-' || true)
  [ "$left" -eq 0 ] || { echo "$STAGE_NAME: $left segment(s) left in /dev/shm"; rc=1; }
  [ "$rc" -eq 0 ] && stage_done PASS "$(ctest_count "$log")" || stage_done FAIL "$(ctest_count "$log")"
}

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

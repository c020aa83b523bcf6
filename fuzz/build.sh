#!/bin/bash -eu
# Builds the fuzz targets the way OSS-Fuzz and ClusterFuzzLite expect:
# compiles with $CC/$CFLAGS, links with $CXX/$CXXFLAGS and $LIB_FUZZING_ENGINE,
# and puts into $OUT each target with its <target>_seed_corpus.zip,
# <target>.dict and <target>.options. Runnable by hand with the same variables.
ROOT=$(cd "$(dirname "$0")/.." && pwd)
: "${OUT:?set OUT to the output folder}"
CC=${CC:-clang}
CXX=${CXX:-clang++}
CFLAGS=${CFLAGS:-}
CXXFLAGS=${CXXFLAGS:-$CFLAGS}
LIB_FUZZING_ENGINE=${LIB_FUZZING_ENGINE:--fsanitize=fuzzer}
targets="set_get_model hostile_segment op_sequence"

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The library's sources are compiled in: the targets attach it themselves.
# dll/sources.txt lists them: the core, and the POSIX backend here.
common=()
while read -r line; do
  case $line in
    '#'* | '') ;;
    posix:*) common+=("dll/${line#posix: }") ;;
    *:*) ;;  # another platform's backend
    *) common+=("dll/$line") ;;
  esac
done < "$ROOT/dll/sources.txt"
common+=(fuzz/fuzz_api_common.c fuzz/fuzz_api_dllmem.c)
objs=()
for src in "${common[@]}"; do
  obj="$work/$(basename "${src%.c}").o"
  extra=()  # the backend's waits on virtual time, as in fuzz/CMakeLists.txt
  [ "$src" = dll/src/posix/shm_posix.c ] && extra=(-include "$ROOT/fuzz/fuzz_clock.h")
  # shellcheck disable=SC2086  # CFLAGS is a list of flags
  $CC $CFLAGS -std=c11 -DDLLMEM_EMBEDDED -I"$ROOT/dll/include" -I"$ROOT/dll/src" \
      "${extra[@]}" -c "$ROOT/$src" -o "$obj"
  objs+=("$obj")
done
# The API-only targets' word copies and NUL scan without comparison hooks,
# as in fuzz/CMakeLists.txt (the reason is there).
api_objs=()
for obj in "${objs[@]}"; do
  case $(basename "$obj") in
    seqlock.o | scan.o)
      api_obj="${obj%.o}-nocmp.o"
      # shellcheck disable=SC2086
      $CC $CFLAGS -fno-sanitize-coverage=trace-cmp -std=c11 -DDLLMEM_EMBEDDED \
          -I"$ROOT/dll/include" -I"$ROOT/dll/src" -c "$ROOT/dll/src/$(basename "${obj%.o}").c" \
          -o "$api_obj"
      api_objs+=("$api_obj") ;;
    *) api_objs+=("$obj") ;;
  esac
done
for t in $targets; do
  case $t in
    set_get_model | op_sequence) link=("${api_objs[@]}") ;;
    *) link=("${objs[@]}") ;;
  esac
  # shellcheck disable=SC2086
  $CC $CFLAGS -std=c11 -DDLLMEM_EMBEDDED -I"$ROOT/dll/include" -I"$ROOT/dll/src" \
      -I"$ROOT/harness/shim" -c "$ROOT/fuzz/$t.c" -o "$work/$t.o"
  # shellcheck disable=SC2086
  $CXX $CXXFLAGS "$work/$t.o" "${link[@]}" $LIB_FUZZING_ENGINE -lpthread -lrt -o "$OUT/$t"
  rm -f "$OUT/${t}_seed_corpus.zip"
  (cd "$ROOT/fuzz/corpus/$t" && zip -q -j "$OUT/${t}_seed_corpus.zip" ./*)
  cp "$ROOT/fuzz/$t.dict" "$ROOT/fuzz/$t.options" "$OUT/"
done
echo "fuzz/build.sh: built $targets into $OUT"

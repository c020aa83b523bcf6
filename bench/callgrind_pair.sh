#!/usr/bin/env bash
# Prints callgrind instructions per Set(capacity-1)+Get(capacity) pair for the
# library the binary is linked against. usage: callgrind_pair.sh BINARY
set -euo pipefail
bin=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
DLLMEM_NAME=dllmem-callgrind-$$ valgrind --tool=callgrind --callgrind-out-file="$out/cg" \
  --toggle-collect='measured_pairs*' "$bin" > "$out/stdout" 2> "$out/stderr"
pairs=$(sed -n 's/^pairs=\([0-9]*\).*/\1/p' "$out/stdout")
total=$(grep -E '^(summary|totals):' "$out/cg" | head -1 | awk '{print $2}')
echo "instructions_per_pair=$(( total / pairs )) (total $total over $pairs pairs)"

#!/bin/sh
# usage: check_attach_baseline.sh DLLMEM_STRESS DLLMEM_LIBRARY SLOW_EMPTY_LIBRARY
# --attach-baseline, exec'd and forked: every child of the baseline's fleet
# loads the empty library and times it (one latency per child, none zero),
# and the report sets the attach beside it. The times span the load itself:
# the slow copy of the empty library, whose load takes 20 ms, gives a median
# of at least 20 ms. A library that is not the empty one (dllmem itself) is
# refused before any fleet runs (exit 2), never reported as a floor.
stress=$1 library=$2 slow=$3
json=$(mktemp) || exit 1
out=$(mktemp) || exit 1
trap 'rm -f "$json" "$out"' EXIT
fail=0
p50() { sed -n 's/.*"attach_baseline_us": {.*"p50": \([0-9]*\).*/\1/p' "$json"; }
for mode in "" --fork; do
  "$stress" $mode --children 200 --parallel 16 --writers 4 --min-overlap 0 --attach-baseline \
    --quiet --json "$json" > "$out" 2>&1
  rc=$?
  n=$(sed -n 's/.*"attach_baseline_us": {.*"samples": \([0-9]*\),.*/\1/p' "$json")
  floor=$(grep -c '^  attach floor .* p99 [0-9.]*x it$' "$out")
  echo "${mode:-exec}: exit $rc; ${n:-no} baseline latencies, p50 $(p50) us; floor line: $floor"
  [ "$rc" -eq 0 ] && [ "${n:-0}" -eq 200 ] && [ "$(p50)" -gt 0 ] && [ "$floor" -eq 1 ] || fail=1
done
"$stress" --children 20 --parallel 4 --writers 0 --min-verified 0 --min-overlap 0 --quiet \
  --attach-baseline="$slow" --json "$json" > "$out" 2>&1
rc=$?
echo "slow empty library (20 ms load): exit $rc; baseline p50 $(p50) us"
[ "$rc" -eq 0 ] && [ "$(p50)" -ge 20000 ] || fail=1
"$stress" --children 20 --parallel 4 --writers 0 --min-verified 0 --min-overlap 0 --quiet \
  --attach-baseline="$library" > "$out" 2>&1
rc=$?
said=$(grep -c "cannot load .* as the empty library" "$out")
echo "dllmem as the baseline's library: exit $rc; said so: $said"
[ "$rc" -eq 2 ] && [ "$said" -eq 1 ] || fail=1
exit $fail

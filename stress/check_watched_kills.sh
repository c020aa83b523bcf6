#!/bin/sh
# usage: check_watched_kills.sh DLLMEM_STRESS
# Every writer of a short run is aimed at its own write window. The runner
# itself requires nine in ten of them killed there (else it exits 4,
# inconclusive); this adds that the watchpoint placed at least nine in ten of
# those kills, and each of its three kinds (data area untouched, amid it,
# whole) at least once.
# Exit 77 (a skip) where this machine refuses hardware watchpoints.
stress=$1
"$stress" --role aimprobe || exit 77
json=$(mktemp) || exit 1
trap 'rm -f "$json"' EXIT
"$stress" --children 300 --parallel 16 --writers 8 --kill-rate 0 --kill-in-set \
  --min-repairs 50 --min-verified 500 --quiet --json "$json"
rc=$?
w=$(sed -n 's/.*"kills_in_window": \([0-9]*\).*/\1/p' "$json")
a=$(sed -n 's/.*"aimed_writers": \([0-9]*\).*/\1/p' "$json")
k=$(sed -n 's/.*"kills_watched": {"before_data": \([0-9]*\), "amid_data": \([0-9]*\), "after_data": \([0-9]*\)}.*/\1 \2 \3/p' "$json")
set -- $k
echo "exit $rc; $w of ${a:-?} aimed writers killed in the window; placed by the watchpoint: ${1:-?} with the data area untouched, ${2:-?} amid it, ${3:-?} with it whole"
[ "$rc" -eq 0 ] && [ -n "$w" ] && [ "${1:-0}" -gt 0 ] && [ "${2:-0}" -gt 0 ] && [ "${3:-0}" -gt 0 ] &&
  [ $(($1 + $2 + $3)) -ge $((w * 9 / 10)) ]

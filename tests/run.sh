#!/bin/sh
# Runs test programs and scripts, prints their output and ends with the line
# "N passed, N failed, N skipped". Every test prints one line per case:
#   PASS: name | FAIL: name: detail | SKIP: name: reason
# A program that exits non-zero without printing a FAIL line counts as one
# failure of its own (a crash is never silent).
# usage: run.sh PROG... -- SCRIPT...
pass=0; fail=0; skip=0
log=$(mktemp); trap 'rm -f "$log"' EXIT
run_one() {
	"$@" >"$log" 2>&1
	rc=$?
	cat "$log"
	p=$(grep -c '^PASS: ' "$log"); f=$(grep -c '^FAIL: ' "$log"); s=$(grep -c '^SKIP: ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL: $1: exited with status $rc"
		f=1
	fi
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
}
mode=prog
for t in "$@"; do
	if [ "$t" = "--" ]; then mode=script; continue; fi
	echo "== $t"
	if [ "$mode" = prog ]; then run_one "$t"; else run_one sh "$t"; fi
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]

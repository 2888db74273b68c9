#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# harness-selftest.sh: proves that run-vm.sh detects failures. Boots the
# test VM four times (about 40 s) with programs that fail in every way the
# harness must notice, and checks run-vm.sh's verdict and lines. Not part of
# `make check` (slow); run it with `make check-vm-harness` after changing
# tests/vm/. Needs $(O)/tests/vm/vm-selftest and vm-selftest-dyn (its
# dynamically linked build), both built by that target.
set -eu
cd "$(dirname "$0")/../.."
O=${O:-build}
st=$O/tests/vm/vm-selftest
dyn=$O/tests/vm/vm-selftest-dyn
S=vm-harness
fails=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
	echo "SKIP: $S: qemu-system-x86_64 not found"
	exit 0
fi
[ -x "$st" ] || { echo "FAIL: $S: $st not built"; exit 1; }
[ -x "$dyn" ] || { echo "FAIL: $S: $dyn not built"; exit 1; }

# run NAME EXPECTED-RC [VAR=VAL]... -- PROGSPEC...: run-vm.sh into $out
run() {
	name=$1 want=$2; shift 2
	while [ "$1" != "--" ]; do export "${1?}"; shift; done
	shift
	rc=0
	VM_STAGE=$S VM_LOGDIR=$O/tests/vm/$S sh tests/vm/run-vm.sh "$@" >"$out" 2>&1 || rc=$?
	unset VM_PROG_TIMEOUT VM_TIMEOUT VM_CPU VM_MODULES
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL: $S/$name: run-vm.sh exit status $rc, want $want"
		sed 's/^/#   /' "$out"
		fails=$((fails + 1))
		return 1
	fi
	return 0
}
# expect NAME REGEXP: a line of $out matches
expect() {
	if grep -q -E "$2" "$out"; then
		echo "PASS: $S/$1"
	else
		echo "FAIL: $S/$1: no line matches /$2/"
		sed 's/^/#   /' "$out"
		fails=$((fails + 1))
	fi
}

# 1. one boot, every kind of program failure; the last programs still run,
# a dynamically linked one among them (its libraries in the initramfs)
if run failures 1 VM_PROG_TIMEOUT=5 -- \
    "$st --fail" "$st --exit 3" "$st --crash" "$st --hang" \
    "$st --kmsg WARNING:_CPU:_0_PID:_1_at_harness-selftest" "$st" "$dyn"; then
	expect fail-line "^FAIL: $S/harness-fail: deliberate failure$"
	expect exit-status "^FAIL: $S/vm-selftest-2: exited with status 3$"
	expect crash "^FAIL: $S/vm-selftest-3: exited with status 139$"
	expect hang "^FAIL: $S/vm-selftest-4: killed by the per-program timeout \\(5 s\\)$"
	expect kernel-log "^FAIL: $S/kernel-log: after vm-selftest-5: .*WARNING: CPU: 0 PID: 1 at harness-selftest"
	expect continues "^PASS: $S/kvm-smoke$"
	expect dynamic "^# vm-selftest-dyn: exit status 0 after"
	expect completion "^# guest: done"
fi

# 2. a guest kernel panic: no completion, no exit status
if run panic 1 -- "$st --panic" "$st"; then
	expect panic-prog "^FAIL: $S/vm-selftest: no exit status"
	expect panic-completion "^FAIL: $S: the guest did not report completion"
	expect panic-console "Kernel panic"
fi

# 3. the whole VM times out (QEMU killed by timeout)
if run vm-timeout 1 VM_TIMEOUT=4 -- "$st"; then
	expect vm-timeout "^FAIL: $S: the guest (harness never started|did not report completion)"
fi

# 4. a module that cannot load (no SVM in the CPU model)
if run insmod 1 VM_CPU=EPYC,-svm -- "$st"; then
	expect insmod-fail "^FAIL: $S/insmod/kvm-amd: insmod exit status"
	expect insmod-prog "^FAIL: $S/kvm-api: open /dev/kvm"
fi

# 5. a program that was not built (no boot)
if run missing 1 -- "$O/tests/vm/no-such-program"; then
	expect missing "^FAIL: $S/no-such-program: program .* not built$"
fi

[ "$fails" -eq 0 ]

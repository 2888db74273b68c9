#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# nvmmctl.sh: nvmmctl(8) on this host: exit statuses (0 success, 1 failure,
# 2 usage) and the shape of the output. Where libnvmm initializes (a host
# with /dev/kvm or /dev/nvmm) identify and list must succeed; where it
# cannot (this project's build host has no /dev/kvm) they must fail with
# status 1 and a precise message naming each device and its error.
# The same program on a working backend is tested in the VM
# (nvmmctl_vmtest).
set -u
cd "$(dirname "$0")/../.." || exit 1
O=${O:-build}
ctl=$O/tools/nvmmctl
t=$(mktemp -d "${TMPDIR:-/tmp}/nvmmctl-test.XXXXXX")
trap 'rm -rf "$t"' EXIT
failed=0

fail() {
	echo "FAIL: nvmmctl/$1: $2"
	for f in out err; do
		[ -s "$t/$f" ] || continue
		echo "# std$f:"
		sed 's/^/#   /' "$t/$f"
	done
	failed=1
}

# run [VAR=VAL] ARGS...: runs nvmmctl, stdout in $t/out, stderr in $t/err,
# exit status in $rc.
run() {
	env "$@" >"$t/out" 2>"$t/err"
	rc=$?
}

if [ ! -x "$ctl" ]; then
	echo "FAIL: nvmmctl: $ctl not built (make $ctl)"
	exit 1
fi

# --- usage: exit 2, usage on stderr, nothing on stdout --------------------
ok=1
for args in "" "-h" "--help" "bogus" "identify extra" "list extra" "-x"; do
	# shellcheck disable=SC2086 # word splitting wanted
	run "$ctl" $args
	if [ "$rc" -ne 2 ]; then
		fail usage "nvmmctl $args: exit status $rc, expected 2"; ok=0; break
	fi
	if ! grep -q '^usage: nvmmctl identify' "$t/err" ||
	    ! grep -q '^       nvmmctl list' "$t/err" || [ -s "$t/out" ]; then
		fail usage "nvmmctl $args: usage expected on stderr only"; ok=0; break
	fi
done
[ $ok -eq 0 ] || echo "PASS: nvmmctl/usage"

run "$ctl" bogus
if grep -q "^nvmmctl: unknown command 'bogus'$" "$t/err"; then
	echo "PASS: nvmmctl/unknown-command"
else
	fail unknown-command "no \"unknown command 'bogus'\" message"
fi

# --- NVMM_BACKEND naming no backend: exit 1 -------------------------------
for cmd in identify list; do
	run NVMM_BACKEND=bogus "$ctl" "$cmd"
	if [ "$rc" -ne 1 ]; then
		fail "bad-backend-$cmd" "exit status $rc, expected 1"
	elif ! grep -q '^nvmmctl: NVMM_BACKEND=bogus: unknown backend (use nvmm or kvm' "$t/err"; then
		fail "bad-backend-$cmd" "no precise message"
	else
		echo "PASS: nvmmctl/bad-backend-$cmd"
	fi
done

# --- NVMM_BACKEND=nvmm: the module does not exist yet -----------------------
if [ -e /dev/nvmm ]; then
	echo "SKIP: nvmmctl/nvmm-absent: /dev/nvmm exists on this host"
else
	run NVMM_BACKEND=nvmm "$ctl" identify
	if [ "$rc" -ne 1 ]; then
		fail nvmm-absent "exit status $rc, expected 1"
	elif ! grep -q '^nvmmctl: cannot initialize libnvmm: nvmm_init: No such file or directory$' "$t/err" ||
	    ! grep -q '^nvmmctl: backend nvmm chosen by NVMM_BACKEND: /dev/nvmm: No such file or directory' "$t/err"; then
		fail nvmm-absent "no precise message on stderr"
	elif ! grep -q '^SVM: ' "$t/out" || ! grep -q '^VMX: ' "$t/out"; then
		fail nvmm-absent "the CPU part is missing from stdout"
	else
		echo "PASS: nvmmctl/nvmm-absent"
	fi
fi

# --- identify and list with the default backend ----------------------------
# The library's rule: /dev/nvmm if its backend initializes, else /dev/kvm.
kvm_usable=0
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then kvm_usable=1; fi

run env -u NVMM_BACKEND "$ctl" identify
if [ "$rc" -eq 0 ]; then
	ok=1
	for l in "Backend" "Library API version" "Kernel ABI version" \
	    "State size" "Max machines" "Max VCPUs per machine" \
	    "Max RAM per machine" "Machine configure ops" \
	    "VCPU configure ops" "Guest XCR0 mask" "Guest MXCSR mask" \
	    "CPU vendor" "SVM" "VMX" "nvmm module"; do
		if ! grep -q "^$l: " "$t/out"; then
			fail identify "no \"$l:\" line"; ok=0; break
		fi
	done
	if [ $ok -eq 1 ] && ! grep -q '^Kernel ABI version: *2 ' "$t/out"; then
		fail identify "kernel ABI version is not 2"; ok=0
	fi
	if [ $ok -eq 1 ] && ! grep -q '^Guest XCR0 mask: *0x[0-9a-f]\{16\} (FPU states: x87' "$t/out"; then
		fail identify "bad \"Guest XCR0 mask\" line"; ok=0
	fi
	[ $ok -eq 0 ] || echo "PASS: nvmmctl/identify"
elif [ "$rc" -eq 1 ] && [ $kvm_usable -eq 0 ] && [ ! -e /dev/nvmm ]; then
	# This host: no device at all.
	if ! grep -q '^nvmmctl: cannot initialize libnvmm: nvmm_init: No such device or address$' "$t/err"; then
		fail identify-no-device "no \"cannot initialize libnvmm\" message with strerror"
	elif ! grep -q '^nvmmctl: no backend is usable: /dev/nvmm: No such file or directory (.*); /dev/kvm: [A-Z].* (.*)$' "$t/err"; then
		fail identify-no-device "the message does not name each device and its error"
	elif ! grep -q '^SVM: ' "$t/out" || ! grep -q '^VMX: ' "$t/out" ||
	    ! grep -q '^nvmm module: ' "$t/out"; then
		fail identify-no-device "the CPU part is missing from stdout"
	else
		echo "PASS: nvmmctl/identify-no-device"
	fi
else
	fail identify "exit status $rc, expected 0 (or 1 on a host without /dev/kvm and /dev/nvmm)"
fi

# The CPU part must say plainly what CPUID shows.
if grep -q ' svm\| vmx' /proc/cpuinfo 2>/dev/null; then
	echo "SKIP: nvmmctl/no-virtualization: this CPU shows SVM or VMX"
elif grep -q '^Virtualization: *none: CPUID shows neither SVM nor VMX' "$t/out" &&
    grep -q '^nvmm module: *cannot run here' "$t/out"; then
	echo "PASS: nvmmctl/no-virtualization"
else
	fail no-virtualization "CPUID shows neither SVM nor VMX, and nvmmctl does not say so"
fi

run env -u NVMM_BACKEND "$ctl" list
if [ "$rc" -eq 0 ]; then
	if ! head -n 1 "$t/out" | grep -q '^Machine ID VCPUs RAM  *Owner PID Creation Time$'; then
		fail list "no header line"
	elif ! sed -n 2p "$t/out" | grep -q '^---------- ----- '; then
		fail list "no separator line"
	elif grep -q '^Note: on the kvm backend' "$t/out" &&
	    ! grep -q '^(no machines)$' "$t/out"; then
		fail list "kvm backend: nvmmctl owns no machine, yet lists some"
	else
		echo "PASS: nvmmctl/list"
	fi
elif [ "$rc" -eq 1 ] && [ $kvm_usable -eq 0 ] && [ ! -e /dev/nvmm ]; then
	if grep -q '^nvmmctl: cannot initialize libnvmm: nvmm_root_init: No such device or address$' "$t/err" &&
	    grep -q '^nvmmctl: no backend is usable: /dev/nvmm: ' "$t/err" &&
	    [ ! -s "$t/out" ]; then
		echo "PASS: nvmmctl/list-no-device"
	else
		fail list-no-device "no precise message, or output on stdout"
	fi
else
	fail list "exit status $rc, expected 0 (or 1 on a host without /dev/kvm and /dev/nvmm)"
fi

exit $failed

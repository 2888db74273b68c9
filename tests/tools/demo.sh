#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# demo.sh: `make demo`, the README's first command after the install step,
# really run: exit status 0 and the guest's line in its output.
#   demo/default   `make demo` as this host runs it: on its /dev/kvm, or
#                  in the test VM when it has no usable one
#   demo/test-vm   `make demo DEMO_VM=1`: in the test VM (QEMU TCG+SVM,
#                  kvm_amd; one boot, ~10-40 s), the way every host without
#                  /dev/kvm access (a container, a user outside group kvm)
#                  runs it; skipped when demo/default already ran there
# A run in the test VM is skipped, with the reason, where the VM's
# prerequisites are missing (demo: "cannot run the test VM: ...").
set -u
cd "$(dirname "$0")/../.." || exit 1
t=$(mktemp -d "${TMPDIR:-/tmp}/nvmm-demo.XXXXXX")
trap 'rm -rf "$t"' EXIT
failed=0
line="Hello from an NVMM guest!"
vmsays="running the guest inside the test VM"

# demo NAME [MAKE-ARGS]...: runs `make demo` (a make of our own, not part
# of the caller's jobserver; the SAN of the check, whose programs are
# built) and judges it.
demo() {
	name=$1
	shift
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory \
	    SAN="${SAN:-0}" "$@" demo >"$t/out" 2>&1
	rc=$?
	invm=0
	grep -q "$vmsays" "$t/out" && invm=1
	if grep -q '^demo: cannot run the test VM: ' "$t/out"; then
		echo "SKIP: demo/$name: $(sed -n 's/^demo: cannot run the test VM: //p' "$t/out" | head -n 1)"
		return
	fi
	if [ "$rc" -ne 0 ]; then
		echo "FAIL: demo/$name: make${*:+ $*} demo: exit status $rc, expected 0"
	elif ! grep -qx "$line" "$t/out"; then
		echo "FAIL: demo/$name: make${*:+ $*} demo: no line \"$line\""
	elif [ "$name" = test-vm ] && [ "$invm" -ne 1 ]; then
		echo "FAIL: demo/$name: make${*:+ $*} demo did not run the guest in the test VM"
	else
		echo "PASS: demo/$name"
		return
	fi
	sed 's/^/#   /' "$t/out"
	failed=1
}

demo default
if [ "$invm" -eq 1 ]; then
	echo "SKIP: demo/test-vm: demo/default already ran the guest in the test VM"
else
	demo test-vm DEMO_VM=1
fi
exit $failed

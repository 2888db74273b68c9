#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# demo.sh: what `make demo` runs. HELLO on this host's /dev/kvm or
# /dev/nvmm; where neither is writable (a container, a user outside group
# kvm), or with DEMO_VM=1, HELLO-STATIC inside the test VM (tests/vm/run-vm.sh:
# QEMU TCG with SVM, the guest kernel's kvm_amd), printing what the guest
# program printed. Exit status 0 only when the guest wrote its line.
#
# usage: demo.sh HELLO HELLO-STATIC     (O: the build directory, as for make)
set -u
hello=$1 static=$2
here=$(cd "$(dirname "$0")" && pwd)

if [ "${DEMO_VM:-0}" != 1 ] && { [ -w /dev/kvm ] || [ -w /dev/nvmm ]; }; then
	exec "$hello"
fi

if [ "${DEMO_VM:-0}" = 1 ]; then
	echo "demo: DEMO_VM=1: running the guest inside the test VM (QEMU TCG, ~10-40 s)"
else
	echo "demo: no writable /dev/kvm or /dev/nvmm: running the guest inside the test VM (QEMU TCG, ~10-40 s)"
fi
# One emulated CPU, as check-vm.sh (kvm_amd under TCG with two reset the
# test machine in some runs). run-vm.sh prints the guest program's own
# output indented by two blanks, judges it (hello-static checks its line:
# "PASS: vm-demo/hello"), and removes its logs after a good run.
out=$(VM_STAGE=vm-demo VM_SMP="${VM_SMP:-1}" sh "$here/../../tests/vm/run-vm.sh" "$static" 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && printf '%s\n' "$out" | grep -q '^SKIP: '; then
	echo "demo: cannot run the test VM: $(printf '%s\n' "$out" | sed -n 's/^SKIP: vm-demo: //p' | head -n 1)"
	exit 1
fi
if [ "$rc" -ne 0 ] || ! printf '%s\n' "$out" | grep -q '^PASS: vm-demo/hello$'; then
	printf '%s\n' "$out"
	echo "demo: the guest did not run (test VM output above)"
	exit 1
fi
printf '%s\n' "$out" | sed -n 's/^  //p'

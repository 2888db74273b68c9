#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# check-vm.sh: the stage vm-kvm_amd of `make check` / `make check-vm`: every
# program of VM_TEST_PROGS (exported by tests/vm/rules.mk; blank-separated
# paths of programs, static or with SAN=1 dynamic with the sanitizers) runs
# inside one boot of the QEMU TCG+SVM test VM, on the guest kernel's
# kvm_amd, with NVMM_BACKEND=kvm.
# VM_TEST_SPECS (optional): more program specs with arguments, separated by
# ';', e.g. "build/x/prog --fast; FOO=1 build/y/other".
# Every VM_* variable of run-vm.sh can override the defaults.
set -eu
cd "$(dirname "$0")/../.."
O=${O:-build}
export O
export VM_STAGE="${VM_STAGE:-vm-kvm_amd}"
export VM_ENV="${VM_ENV-NVMM_BACKEND=kvm}"
# One emulated CPU: with two, kvm_amd under QEMU 7.2's multi-threaded TCG
# SVM reset the whole test machine in some runs (3 of 6, 2026-11-25), at
# random points of the suite; with one it has not happened.
export VM_SMP="${VM_SMP:-1}"

set --
for p in ${VM_TEST_PROGS:-$O/tests/vm/vm-selftest}; do
	set -- "$@" "$p"
done
if [ -n "${VM_TEST_SPECS:-}" ]; then
	old_ifs=$IFS
	IFS=';'
	for s in $VM_TEST_SPECS; do
		case $s in *[!\ \	]*) set -- "$@" "$s" ;; esac
	done
	IFS=$old_ifs
fi
exec sh tests/vm/run-vm.sh "$@"

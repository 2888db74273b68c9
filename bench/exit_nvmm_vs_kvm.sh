#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# exit_nvmm_vs_kvm.sh: exit round trip through nvmm.ko vs through kvm_amd,
# each measured by bench/exit_nvmm_vs_kvm in its own boot of the SAME test
# VM configuration (QEMU TCG, -cpu $VM_CPU, $VM_SMP CPU(s), the newest
# /boot/vmlinuz-*): boot 1 loads nvmm.ko only (NVMM_BACKEND=nvmm), boot 2
# kvm_amd only (NVMM_BACKEND=kvm). The modules are not loaded together:
# both own EFER.SVME and VM_HSAVE_PA, and Linux 6.1's kvm_amd refuses to
# enable SVM on a CPU where it is already on (EBUSY).
#
# usage: exit_nvmm_vs_kvm.sh PROG [ITERATIONS]
# Prints both figures and the ratios nvmm.ko / kvm_amd (target <= 1.0).
set -eu
cd "$(dirname "$0")/.."
prog=$1
n=${2:-5000}
O=${O:-build}
export O
export VM_CPU="${VM_CPU:-EPYC,+svm,+npt}"
# one CPU, as in stage vm-kvm_amd (kvm_amd under multi-threaded TCG SVM
# reset the machine in some runs with two)
export VM_SMP="${VM_SMP:-1}"
export VM_PROG_TIMEOUT="${VM_PROG_TIMEOUT:-600}"
ko=kernel/nvmm.ko
if [ ! -f "$ko" ]; then
	echo "exit_nvmm_vs_kvm: skipped: $ko not built (make module; needs linux-headers-amd64)"
	exit 0
fi

# boot STAGE BACKEND MODULES EXTRA: the RESULT line of that boot
boot() {
	out=$(VM_STAGE=$1 VM_ENV=NVMM_BACKEND=$2 VM_MODULES=$3 \
	    VM_EXTRA_MODULES=$4 sh tests/vm/run-vm.sh "$prog $n" 2>&1) || {
		printf '%s\n' "$out" | sed 's/^/  /' >&2
		echo "exit_nvmm_vs_kvm: the $1 boot failed" >&2
		return 1
	}
	r=$(printf '%s\n' "$out" | sed -n 's/^ *\(RESULT .*\)/\1/p' | head -n 1)
	w=$(printf '%s\n' "$out" | sed -n 's/^# .*wall time \([0-9.]*\) s.*/\1/p')
	echo "$r wall ${w:-?}"
}
rn=$(boot bench-nvmm nvmm '' "$ko")
rk=$(boot bench-kvm_amd kvm kvm-amd '')
if [ -z "$rn" ] || [ -z "$rk" ]; then
	echo "exit_nvmm_vs_kvm: no result (nvmm: '$rn', kvm_amd: '$rk')"
	exit 1
fi
# RESULT <backend> lib <ns> raw <ns> iters <n> wall <s>, twice
echo "$rn $rk" | awk -v cpu="$VM_CPU" -v smp="$VM_SMP" '{
	nl = $4; nr = $6; kl = $14; kr = $16
	printf "exit_nvmm_vs_kvm: %s exits x 7 rounds (median), two boots of the same VM\n", $8
	printf "  configuration (QEMU TCG -cpu %s, %s CPU): boot 1 nvmm.ko, boot 2 kvm_amd\n", cpu, smp
	printf "  libnvmm nvmm_vcpu_run+nvmm_assist_io, nvmm.ko   %10.1f ns/exit\n", nl
	printf "  libnvmm nvmm_vcpu_run+nvmm_assist_io, kvm_amd   %10.1f ns/exit\n", kl
	printf "  ratio libnvmm nvmm.ko/kvm_amd                   %10.3f   (target <= 1.0)\n", nl / kl
	printf "  raw NVMM_IOC_VCPU_RUN + RIP commit, nvmm.ko     %10.1f ns/exit\n", nr
	printf "  raw KVM_RUN, kvm_amd                            %10.1f ns/exit\n", kr
	printf "  ratio raw nvmm.ko/kvm_amd                       %10.3f   (target <= 1.0)\n", nr / kr
	printf "  (boot wall times: nvmm.ko %s s, kvm_amd %s s)\n", $10, $20
}'

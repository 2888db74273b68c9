# SPDX-License-Identifier: BSD-2-Clause
# tests/qemu: unmodified QEMU with -accel nvmm on Linux.
#   make qemu        build QEMU 7.2 and 10.0 from Debian's sources against
#                    this tree's libnvmm (cached outside the tree, see
#                    tests/qemu/build-qemu.sh); prints the binaries
#   make check-qemu  the QEMU part of `make check`: builds, compile gates,
#                    guest matrix in the test VM on both backends
#   make check-guests  the whole guest matrix on both backends (long: every
#                    guest boots under nested emulation, minutes each)
.PHONY: qemu check-qemu check-guests
qemu: $(LIB_SO)
	sh tests/qemu/build-qemu.sh
	@sh tests/qemu/build-qemu.sh --path

check-qemu: $(LIB_SO)
	@O=$(O) sh tests/run.sh -- tests/qemu/check-qemu.sh

check-guests: $(LIB_SO)
	@O=$(O) QEMU_STAGES="vm-kvm_amd vm-nvmm" \
	  QEMU_GUESTS="linux64-smp1 linux64-smp2 linux64-smp4 linux64-timercheck linux64-smp2@7.2" \
	  sh tests/run.sh -- tests/qemu/check-qemu.sh

CHECK_SCRIPTS += tests/qemu/check-qemu.sh

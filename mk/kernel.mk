# SPDX-License-Identifier: BSD-2-Clause
# nvmm.ko (kernel/), built against the installed kernel headers of the
# newest /boot/vmlinuz-* (never `uname -r`: the test VM boots that kernel).
# The work is done by kernel/Makefile, which also builds on its own
# (`make -C kernel`, `make -C kernel install`, see kernel/README.md).
#   make module            kernel/nvmm.ko
#   make module-install    make -C kernel install: nvmm.ko into
#                          $(INSTALL_MOD_PATH)/lib/modules/<ver>/extra, depmod,
#                          udev rule 99-nvmm.rules (DESTDIR=, INSTALL_MOD_PATH=)
#   make module-uninstall  make -C kernel uninstall
#   make check-vm-nvmm     stage vm-nvmm: nvmm.ko in the QEMU TCG+SVM test VM,
#                          tests/module + examples/hello + the conformance
#                          suite with NVMM_BACKEND=nvmm (tests/module/check-vm-nvmm.sh)
# make check runs tests/tools/module-install.sh: install into a temporary
# root, the udev rule, dkms.conf, a DKMS build when dkms is installed.

NVMM_KVER ?= $(shell ls /boot/vmlinuz-* 2>/dev/null | sed 's|.*/vmlinuz-||' | sort -V | tail -n 1)
NVMM_KDIR ?= /lib/modules/$(NVMM_KVER)/build
NVMM_KO := kernel/nvmm.ko
NVMM_KSRCS := $(filter-out kernel/nvmm.mod.c,$(wildcard kernel/*.c)) \
	$(wildcard kernel/*.S kernel/*.h kernel/Kbuild kernel/Makefile \
	kernel/shim/*.h kernel/shim/sys/*.h) include/nvmm.h include/nvmm_ioctl.h \
	include/nvmm_x86_msr.h
# Everything kernel/Makefile needs to know, whatever the caller's variables.
NVMM_KMAKE = $(MAKE) -C kernel KVER=$(NVMM_KVER) KDIR=$(NVMM_KDIR)

.PHONY: module module-clean module-install module-uninstall
module: $(NVMM_KO)

$(NVMM_KO): $(NVMM_KSRCS)
	@if [ ! -d "$(NVMM_KDIR)" ]; then \
	  echo "module: no kernel headers at $(NVMM_KDIR) (apt-get install linux-headers-amd64)"; \
	  exit 1; fi
	$(NVMM_KMAKE) modules

module-install:
	$(NVMM_KMAKE) install

module-uninstall:
	$(NVMM_KMAKE) uninstall

module-clean:
	@if [ -d "$(NVMM_KDIR)" ]; then $(NVMM_KMAKE) clean >/dev/null; fi
clean: module-clean

CHECK_SCRIPTS += tests/tools/module-install.sh

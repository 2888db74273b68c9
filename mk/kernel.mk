# SPDX-License-Identifier: BSD-2-Clause
# nvmm.ko (kernel/), built against the installed kernel headers of the
# newest /boot/vmlinuz-* (never `uname -r`: the test VM boots that kernel).
#   make module          kernel/nvmm.ko
#   make check-vm-nvmm   stage vm-nvmm: nvmm.ko in the QEMU TCG+SVM test VM,
#                        tests/module + examples/hello + the conformance
#                        suite with NVMM_BACKEND=nvmm (tests/module/check-vm-nvmm.sh)

NVMM_KVER ?= $(shell ls /boot/vmlinuz-* 2>/dev/null | sed 's|.*/vmlinuz-||' | sort -V | tail -n 1)
NVMM_KDIR ?= /lib/modules/$(NVMM_KVER)/build
NVMM_KO := kernel/nvmm.ko
NVMM_KSRCS := $(wildcard kernel/*.c kernel/*.S kernel/*.h kernel/Kbuild \
	kernel/shim/*.h kernel/shim/sys/*.h) include/nvmm.h include/nvmm_ioctl.h

.PHONY: module module-clean
module: $(NVMM_KO)

$(NVMM_KO): $(NVMM_KSRCS)
	@if [ ! -d "$(NVMM_KDIR)" ]; then \
	  echo "module: no kernel headers at $(NVMM_KDIR) (apt-get install linux-headers-amd64)"; \
	  exit 1; fi
	$(MAKE) -C $(NVMM_KDIR) M=$(CURDIR)/kernel modules

module-clean:
	@if [ -d "$(NVMM_KDIR)" ]; then \
	  $(MAKE) -C $(NVMM_KDIR) M=$(CURDIR)/kernel clean >/dev/null; fi
clean: module-clean

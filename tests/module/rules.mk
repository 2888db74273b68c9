# SPDX-License-Identifier: BSD-2-Clause
# tests/module: nvmm.ko in the emulated machine (stage vm-nvmm).
# module_test exercises the raw /dev/nvmm ABI; examples/hello and the
# conformance suite run on the module through libnvmm (NVMM_BACKEND=nvmm).

$(eval $(call static_prog_rule,tests/module/module_test-static,tests/module/module_test.c,))

NVMM_VM_PROGS := $(O)/tests/module/module_test-static \
	$(O)/examples/hello/hello-static

.PHONY: check-vm-nvmm
check-vm-nvmm: all $(NVMM_VM_PROGS)
	@$(MAKE) --no-print-directory $(NVMM_KO) >/dev/null
	-@$(MAKE) --no-print-directory $(O)/tests/conformance/nvmm-conformance-static >/dev/null 2>&1
	@O=$(O) sh tests/module/check-vm-nvmm.sh

# Part of `make check` (after the vm-kvm_amd stage): the module is built
# when the kernel headers are there; the script SKIPs without nvmm.ko.
.PHONY: module-if-possible
module-if-possible:
	@if [ -d "$(NVMM_KDIR)" ]; then \
	  $(MAKE) --no-print-directory $(NVMM_KO) >/dev/null || exit 1; fi
check: module-if-possible $(NVMM_VM_PROGS)
CHECK_SCRIPTS += tests/module/check-vm-nvmm.sh

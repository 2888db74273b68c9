# SPDX-License-Identifier: BSD-2-Clause
# tests/module: nvmm.ko in the emulated machine, stages vm-nvmm (-cpu
# EPYC,+svm,+npt: 4-level nested paging) and vm-nvmm-max (-cpu max: the
# guest kernel runs 5-level paging, so NPT has 5 levels).
# module_test exercises the raw /dev/nvmm ABI; module_owners what one
# owner cannot do to another (stalls, other processes with its file);
# module_memory the host side of guest memory (pins, IPIs); nvmmctl_vmtest --nvmm (built
# by tests/tools/rules.mk) runs nvmmctl list on the module; examples/hello
# and the conformance suite run on the module through libnvmm
# (NVMM_BACKEND=nvmm);
# module_unload runs first (memory baseline) and last (NPT levels, rmmod,
# kernel log, memory, reload).

$(eval $(call static_prog_rule,tests/module/module_test-static,tests/module/module_test.c tests/module/modtest.c,))
$(eval $(call static_prog_rule,tests/module/module_unload-static,tests/module/module_unload.c,))
$(eval $(call static_prog_rule,tests/module/module_owners-static,tests/module/module_owners.c tests/module/modtest.c,))
$(eval $(call static_prog_rule,tests/module/module_memory-static,tests/module/module_memory.c tests/module/modtest.c,))

NVMM_VM_PROGS := $(O)/tests/module/module_test-static \
	$(O)/tests/module/module_owners-static \
	$(O)/tests/module/module_memory-static \
	$(O)/tests/module/module_unload-static \
	$(O)/tests/tools/nvmmctl_vmtest-static \
	$(O)/examples/hello/hello-static

.PHONY: check-vm-nvmm check-vm-nvmm-max
check-vm-nvmm check-vm-nvmm-max: all $(NVMM_VM_PROGS)
	@$(MAKE) --no-print-directory $(NVMM_KO) >/dev/null
	-@$(MAKE) --no-print-directory $(O)/tests/conformance/nvmm-conformance-static >/dev/null 2>&1
	@O=$(O) sh tests/module/$@.sh

# Part of `make check` (after the vm-kvm_amd stage): the module is built
# when the kernel headers are there; the scripts SKIP without nvmm.ko.
.PHONY: module-if-possible
module-if-possible:
	@if [ -d "$(NVMM_KDIR)" ]; then \
	  $(MAKE) --no-print-directory $(NVMM_KO) >/dev/null || exit 1; fi
check: module-if-possible $(NVMM_VM_PROGS)
CHECK_SCRIPTS += tests/module/check-vm-nvmm.sh tests/module/check-vm-nvmm-max.sh

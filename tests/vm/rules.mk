# SPDX-License-Identifier: BSD-2-Clause
# tests/vm: the emulated-machine harness (QEMU TCG + AMD SVM, guest kvm_amd
# or our nvmm.ko). See tests/vm/run-vm.sh.
#
# Static test programs for the VM: other fragments add a program with
#   $(eval $(call static_prog_rule,tests/foo/foo-static,tests/foo/foo.c ...,EXTRA-CFLAGS))
#   VM_TEST_PROGS += $(O)/tests/foo/foo-static
# and `make check-vm` (and `make check`, through tests/vm/check-vm.sh) runs
# every program of VM_TEST_PROGS inside one boot of the test VM, with
# NVMM_BACKEND=kvm in its environment, as stage vm-kvm_amd.

# The static programs are never built with the sanitizers (ASan and UBSan's
# runtime do not link -static); with SAN=1 they get their own copy of the
# library, built without them.
VM_CFLAGS = $(CSTD) $(OPT) $(WARN) -Iinclude -Ilib $(CFLAGS)
ifeq ($(SAN),1)
VM_LIB_A := $(O)/vm/libnvmm.a
VM_LIB_OBJS := $(patsubst lib/%.c,$(O)/vm/lib/%.o,$(LIB_SRCS))
$(O)/vm/lib/%.o: lib/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(VM_CFLAGS) -c $< -o $@
$(VM_LIB_A): $(VM_LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^
else
VM_LIB_A := $(LIB_A)
endif

# Like prog_rule, linked -static against libnvmm.a: $(O)/$(1) from the
# .c/.S files $(2), extra compiler flags $(3).
define static_prog_rule
$(O)/$(1): $(2) $(VM_LIB_A) $(HDRS)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(VM_CFLAGS) $(3) -static -o $$@ $(2) $(VM_LIB_A) $$(LDFLAGS) -lpthread
endef

# The harness self-test talks raw KVM and needs no libnvmm, so the harness
# works whatever state the library is in.
$(O)/tests/vm/vm-selftest: tests/vm/vm-selftest.c
	@mkdir -p $(dir $@)
	$(CC) $(VM_CFLAGS) -static -o $@ $< $(LDFLAGS) -lpthread

VM_TEST_PROGS += $(O)/tests/vm/vm-selftest
export VM_TEST_PROGS

CHECK_SCRIPTS += tests/vm/check-vm.sh

# `make check` builds $(VM_TEST_PROGS) (a prerequisite of the top-level
# check rule) before tests/run.sh runs check-vm.sh. For `make check-vm`: this
# fragment is read before the others, so a prerequisite list here would miss
# their programs; the recipe is expanded when it runs, after every fragment
# has been read, so the sub-make builds the complete list.
check-vm:
	@out=$$($(MAKE) --no-print-directory $(VM_TEST_PROGS) 2>&1); rc=$$?; \
	  printf '%s\n' "$$out" | grep -v -e "is up to date" -e '^$$' || true; \
	  [ $$rc -eq 0 ]
	@O=$(O) sh tests/vm/check-vm.sh

# Proves that the harness detects failures (several VM boots, ~40 s; not
# part of `make check`).
check-vm-harness: $(O)/tests/vm/vm-selftest
	@O=$(O) sh tests/run.sh -- tests/vm/harness-selftest.sh
.PHONY: check-vm-harness

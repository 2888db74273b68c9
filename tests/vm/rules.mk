# SPDX-License-Identifier: BSD-2-Clause
# tests/vm: the emulated-machine harness (QEMU TCG + AMD SVM, guest kvm_amd
# or our nvmm.ko). See tests/vm/run-vm.sh.
#
# Programs for the VM: other fragments add a program with
#   $(eval $(call static_prog_rule,tests/foo/foo-static,tests/foo/foo.c ...,EXTRA-CFLAGS))
#   VM_TEST_PROGS += $(O)/tests/foo/foo-static
# and `make check-vm` (and `make check`, through tests/vm/check-vm.sh) runs
# every program of VM_TEST_PROGS inside one boot of the test VM, with
# NVMM_BACKEND=kvm in its environment, as stage vm-kvm_amd.

# static_prog_rule (the name is historical): a program for the test VM,
# $(O)/$(1) from the .c/.S files $(2), extra compiler flags $(3), linked
# against the build's libnvmm.a.
# - SAN=0: linked -static (the guest has no libc of its own).
# - SAN=1: ASan+UBSan cannot link -static: a dynamically linked program with
#   the sanitizers, against the sanitized $(LIB_A) of this build, so the KVM
#   backend runs under them in the guest; mkinitrd.sh copies its shared
#   libraries (libasan, libubsan, libc, ld.so...) into the initramfs, and
#   run-vm.sh gives every guest program ASAN_OPTIONS and UBSAN_OPTIONS that
#   turn any report into a non-zero exit status (see VM_SAN_ENV there).
VM_CFLAGS = $(CSTD) $(OPT) $(WARN) -Iinclude -Ilib $(CFLAGS)
ifeq ($(SAN),1)
VM_PROG_CFLAGS = $(VM_CFLAGS) -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
VM_PROG_LDFLAGS = $(LDFLAGS) -fsanitize=address,undefined
else
VM_PROG_CFLAGS = $(VM_CFLAGS)
VM_PROG_LDFLAGS = -static $(LDFLAGS)
endif

# VM_LIB_A: a libnvmm.a that links -static in both modes (with SAN=1 a copy
# built without the sanitizers). static_prog_rule no longer uses it; it stays
# for fragments that still write their own -static recipe with VM_CFLAGS.
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

define static_prog_rule
$(O)/$(1): $(2) $(LIB_A) $(HDRS)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(VM_PROG_CFLAGS) $(3) -o $$@ $(2) $(LIB_A) $$(VM_PROG_LDFLAGS) -lpthread
endef

# The harness self-test talks raw KVM and needs no libnvmm, so the harness
# works whatever state the library is in.
$(O)/tests/vm/vm-selftest: tests/vm/vm-selftest.c
	@mkdir -p $(dir $@)
	$(CC) $(VM_CFLAGS) -static -o $@ $< $(LDFLAGS) -lpthread

VM_TEST_PROGS += $(O)/tests/vm/vm-selftest

# The same, dynamically linked, for check-vm-harness: proves that
# mkinitrd.sh brings a dynamic program's shared libraries along (what every
# VM program is with SAN=1).
$(O)/tests/vm/vm-selftest-dyn: tests/vm/vm-selftest.c
	@mkdir -p $(dir $@)
	$(CC) $(VM_CFLAGS) -o $@ $< $(LDFLAGS) -lpthread
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
check-vm-harness: $(O)/tests/vm/vm-selftest $(O)/tests/vm/vm-selftest-dyn
	@O=$(O) sh tests/run.sh -- tests/vm/harness-selftest.sh
.PHONY: check-vm-harness

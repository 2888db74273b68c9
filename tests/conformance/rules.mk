# SPDX-License-Identifier: BSD-2-Clause
# tests/conformance: nvmm-conformance, the API conformance suite. It uses
# only include/nvmm.h, so it runs unchanged on every backend
# (NVMM_BACKEND=kvm|nvmm). `nvmm-conformance -l` lists the cases.

CONF_SRCS := tests/conformance/harness.c tests/conformance/t_api.c \
	tests/conformance/t_mem.c tests/conformance/t_exits.c \
	tests/conformance/t_state.c tests/conformance/t_events.c \
	tests/conformance/t_emul.c \
	tests/conformance/t_guestcpu.c \
	tests/conformance/guest.S
CONF_HDRS := tests/conformance/harness.h tests/conformance/layout.h

# Host build (SAN=1 builds it with the sanitizers like everything else).
$(eval $(call prog_rule,tests/conformance/nvmm-conformance,$(CONF_SRCS),-Itests/conformance))
$(O)/tests/conformance/nvmm-conformance: $(CONF_HDRS)
CHECK_PROGS += $(O)/tests/conformance/nvmm-conformance

# Static build for the emulated machine (tests/vm). tests/vm/rules.mk, which
# defines VM_CFLAGS, VM_LIB_A and static_prog_rule, is read after this file,
# so the library prerequisite is expanded a second time (when make looks at
# this target) and the recipe, as every recipe, when it runs. The recipe is
# static_prog_rule's.
.SECONDEXPANSION:
$(O)/tests/conformance/nvmm-conformance-static: $(CONF_SRCS) $(CONF_HDRS) $(HDRS) $$(VM_LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(VM_CFLAGS) -Itests/conformance -static -o $@ $(CONF_SRCS) $(VM_LIB_A) $(LDFLAGS) -lpthread
VM_TEST_PROGS += $(O)/tests/conformance/nvmm-conformance-static

# Unit tests of the library internals (no hypervisor needed).
# test_walk compiles lib/x86_walk.c in directly, so it does not depend on
# the rest of libnvmm.a linking.
$(eval $(call prog_rule,tests/unit/test_walk,tests/unit/test_walk.c lib/x86_walk.c,))
CHECK_PROGS += $(O)/tests/unit/test_walk

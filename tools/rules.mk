# SPDX-License-Identifier: BSD-2-Clause
# tools/: nvmmctl(8). Linked against libnvmm.a, so the installed binary does
# not depend on libnvmm.so. Its tests live in tests/tools/.
$(eval $(call prog_rule,tools/nvmmctl,tools/nvmmctl.c,))
all: $(O)/tools/nvmmctl

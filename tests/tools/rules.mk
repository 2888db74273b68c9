# SPDX-License-Identifier: BSD-2-Clause
# tests/tools: nvmmctl, the manual pages and `make install`.
#   nvmmctl.sh        exit statuses and output of nvmmctl on this host
#   man-lint.sh       mandoc -Tlint -Wwarning on every page of man/
#   install.sh        install into a DESTDIR, build examples/hello through
#                     pkg-config (static and shared), uninstall
#   nvmmctl_vmtest    nvmmctl on a working backend, in the test VM
#   deps.sh           tools/install-deps.sh (the README's install step) as
#                     root, as a sudo user, without sudo, with fake apt-get,
#                     dpkg-query, sudo and id
#   demo.sh           `make demo` really run (host, and in the test VM):
#                     exit status 0 and the guest's line

$(eval $(call static_prog_rule,tests/tools/nvmmctl_vmtest-static,tests/tools/nvmmctl_vmtest.c tools/nvmmctl.c,-DNVMMCTL_NO_MAIN))
VM_TEST_PROGS += $(O)/tests/tools/nvmmctl_vmtest-static

CHECK_SCRIPTS += tests/tools/nvmmctl.sh tests/tools/man-lint.sh tests/tools/install.sh \
    tests/tools/deps.sh tests/tools/demo.sh

# The scripts need nvmmctl and hello built (check's own prerequisites are
# programs only).
check: $(O)/tools/nvmmctl $(O)/examples/hello/hello

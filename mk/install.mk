# SPDX-License-Identifier: BSD-2-Clause
# mk/install.mk: `make install` and `make uninstall`.
#
#   make install [PREFIX=/usr/local] [DESTDIR=/staging]
#
# installs, under $(DESTDIR)$(PREFIX):
#   include/nvmm.h
#   lib/libnvmm.a, lib/libnvmm.so.2, lib/libnvmm.so -> libnvmm.so.2
#   lib/pkgconfig/nvmm.pc          (generated: pkg-config --cflags --libs nvmm)
#   sbin/nvmmctl
#   share/man/man3/libnvmm.3 (+ one link per function: nvmm_init.3 ...),
#   share/man/man4/nvmm.4, share/man/man8/nvmmctl.8
# nvmm.ko, its udev rule and DKMS are installed by kernel/Makefile instead
# (make -C kernel install, or make module-install; see kernel/README.md).
# Every directory can be set on its own (INCLUDEDIR, LIBDIR, PKGCONFIGDIR,
# SBINDIR, MANDIR). `make uninstall` with the same variables removes exactly
# these files, and leaves directories in place.

INCLUDEDIR   ?= $(PREFIX)/include
LIBDIR       ?= $(PREFIX)/lib
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
SBINDIR      ?= $(PREFIX)/sbin
MANDIR       ?= $(PREFIX)/share/man
INSTALL      ?= install
NVMM_PC_VERSION := 2.0.0

# Functions documented in libnvmm(3): each gets a manual page link.
NVMM_MAN3_LINKS := nvmm_init nvmm_root_init nvmm_capability \
  nvmm_machine_create nvmm_machine_destroy nvmm_machine_configure \
  nvmm_vcpu_create nvmm_vcpu_destroy nvmm_vcpu_configure \
  nvmm_vcpu_setstate nvmm_vcpu_getstate nvmm_vcpu_inject nvmm_vcpu_run \
  nvmm_vcpu_stop nvmm_vcpu_dump nvmm_hva_map nvmm_hva_unmap nvmm_gpa_map \
  nvmm_gpa_unmap nvmm_gva_to_gpa nvmm_gpa_to_hva nvmm_assist_io \
  nvmm_assist_mem nvmm_ctl

# The pkg-config file; regenerated whenever a directory changes.
$(O)/nvmm.pc: FORCE
	@mkdir -p $(dir $@)
	@{ echo 'prefix=$(PREFIX)'; \
	  echo 'libdir=$(LIBDIR)'; \
	  echo 'includedir=$(INCLUDEDIR)'; \
	  echo ''; \
	  echo 'Name: nvmm'; \
	  echo 'Description: NVMM hypervisor API (NetBSD libnvmm v2) for Linux'; \
	  echo 'Version: $(NVMM_PC_VERSION)'; \
	  echo 'Cflags: -I$${includedir}'; \
	  echo 'Libs: -L$${libdir} -lnvmm'; \
	  echo 'Libs.private: -lpthread'; \
	} > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
.PHONY: FORCE
FORCE:

ifeq ($(SAN),1)
install:
	@echo "install: SAN=1 builds are for testing; run make install without SAN=1" >&2
	@exit 1
else
install: $(LIB_A) $(LIB_SO) $(O)/tools/nvmmctl $(O)/nvmm.pc
	$(INSTALL) -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR) \
	  $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(SBINDIR) \
	  $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man4 $(DESTDIR)$(MANDIR)/man8
	$(INSTALL) -m 644 include/nvmm.h $(DESTDIR)$(INCLUDEDIR)/nvmm.h
	$(INSTALL) -m 644 $(LIB_A) $(DESTDIR)$(LIBDIR)/libnvmm.a
	$(INSTALL) -m 755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/libnvmm.so.2
	ln -sf libnvmm.so.2 $(DESTDIR)$(LIBDIR)/libnvmm.so
	$(INSTALL) -m 644 $(O)/nvmm.pc $(DESTDIR)$(PKGCONFIGDIR)/nvmm.pc
	$(INSTALL) -m 755 $(O)/tools/nvmmctl $(DESTDIR)$(SBINDIR)/nvmmctl
	$(INSTALL) -m 644 man/libnvmm.3 $(DESTDIR)$(MANDIR)/man3/libnvmm.3
	@for f in $(NVMM_MAN3_LINKS); do \
	  ln -sf libnvmm.3 $(DESTDIR)$(MANDIR)/man3/$$f.3 || exit 1; \
	done
	$(INSTALL) -m 644 man/nvmm.4 $(DESTDIR)$(MANDIR)/man4/nvmm.4
	$(INSTALL) -m 644 man/nvmmctl.8 $(DESTDIR)$(MANDIR)/man8/nvmmctl.8
endif

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/nvmm.h
	rm -f $(DESTDIR)$(LIBDIR)/libnvmm.a $(DESTDIR)$(LIBDIR)/libnvmm.so.2 \
	  $(DESTDIR)$(LIBDIR)/libnvmm.so
	rm -f $(DESTDIR)$(PKGCONFIGDIR)/nvmm.pc
	rm -f $(DESTDIR)$(SBINDIR)/nvmmctl
	rm -f $(DESTDIR)$(MANDIR)/man3/libnvmm.3 \
	  $(foreach f,$(NVMM_MAN3_LINKS),$(DESTDIR)$(MANDIR)/man3/$(f).3)
	rm -f $(DESTDIR)$(MANDIR)/man4/nvmm.4 $(DESTDIR)$(MANDIR)/man8/nvmmctl.8

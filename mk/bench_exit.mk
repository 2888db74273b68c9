# bench/exit_roundtrip: libnvmm exit round trip vs raw KVM, in one run.
# It needs /dev/kvm: on a host without it, `make bench` runs it inside the
# test VM (kvm_amd under QEMU TCG+SVM) and prints its figures.
$(eval $(call prog_rule,bench/exit_roundtrip,bench/exit_roundtrip.c bench/exit_loop.c bench/bench_time.c,))
$(eval $(call static_prog_rule,bench/exit_roundtrip-static,bench/exit_roundtrip.c bench/exit_loop.c bench/bench_time.c,))
BENCH_PROGS += $(O)/bench/exit_roundtrip

.PHONY: bench-vm
bench: bench-vm
bench-vm: $(O)/bench/exit_roundtrip-static
	@if [ ! -w /dev/kvm ]; then \
	  echo "== exit_roundtrip in the test VM (no /dev/kvm on this host)"; \
	  VM_STAGE=vm-bench VM_SMP=1 VM_PROG_TIMEOUT=600 sh tests/vm/run-vm.sh \
	    "$(O)/bench/exit_roundtrip-static 5000"; \
	  cat $(O)/tests/vm/vm-bench/results.log 2>/dev/null | grep -v '^\(PASS\|FAIL\|SKIP\): ' || true; \
	fi

# bench/exit_nvmm_vs_kvm: exit round trip through nvmm.ko vs kvm_amd, each
# in its own boot of the same test VM configuration (the modules cannot
# share a boot: bench/exit_nvmm_vs_kvm.sh), printed as ratios.
$(eval $(call static_prog_rule,bench/exit_nvmm_vs_kvm-static,bench/exit_nvmm_vs_kvm.c bench/exit_loop.c bench/bench_time.c,))

.PHONY: bench-nvmm-vs-kvm
bench: bench-nvmm-vs-kvm
bench-nvmm-vs-kvm: $(O)/bench/exit_nvmm_vs_kvm-static
	@if [ -d "$(NVMM_KDIR)" ]; then \
	  $(MAKE) --no-print-directory $(NVMM_KO) >/dev/null || exit 1; fi
	@echo "== exit_nvmm_vs_kvm: nvmm.ko vs kvm_amd (two boots of the test VM)"
	@O=$(O) sh bench/exit_nvmm_vs_kvm.sh $(O)/bench/exit_nvmm_vs_kvm-static 5000

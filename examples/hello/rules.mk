# examples/hello: the README's complete example; `make demo` runs it, on
# this host's /dev/kvm, or inside the test VM (kvm_amd under QEMU TCG+SVM)
# when the host has none.
$(eval $(call prog_rule,examples/hello/hello,examples/hello/hello.c,))
$(eval $(call static_prog_rule,examples/hello/hello-static,examples/hello/hello.c,-DHELLO_CHECK))
VM_TEST_PROGS += $(O)/examples/hello/hello-static

.PHONY: demo
demo: $(O)/examples/hello/hello $(O)/examples/hello/hello-static
	@if [ -w /dev/kvm ] || [ -e /dev/nvmm ]; then \
	  $(O)/examples/hello/hello; \
	else \
	  echo "demo: no /dev/kvm on this host: running the guest inside the test VM"; \
	  VM_STAGE=vm-demo sh tests/vm/run-vm.sh $(O)/examples/hello/hello-static && \
	  cat $(O)/tests/vm/vm-demo/results.log | grep -v '^#' ; \
	fi

# examples/hello: the README's complete example; `make demo` runs it, on
# this host's /dev/kvm, or inside the test VM (kvm_amd under QEMU TCG+SVM)
# when the host has none (examples/hello/demo.sh).
$(eval $(call prog_rule,examples/hello/hello,examples/hello/hello.c,))
$(eval $(call static_prog_rule,examples/hello/hello-static,examples/hello/hello.c,-DHELLO_CHECK))
VM_TEST_PROGS += $(O)/examples/hello/hello-static

# DEMO_VM=1: in the test VM even where /dev/kvm works (tests/tools/demo.sh).
DEMO_VM ?= 0
.PHONY: demo
demo: $(O)/examples/hello/hello $(O)/examples/hello/hello-static
	@O=$(O) DEMO_VM=$(DEMO_VM) sh examples/hello/demo.sh \
	  $(O)/examples/hello/hello $(O)/examples/hello/hello-static

# examples/hello: the README's complete example; `make demo` runs it.
$(eval $(call prog_rule,examples/hello/hello,examples/hello/hello.c,))
$(eval $(call static_prog_rule,examples/hello/hello-static,examples/hello/hello.c,-DHELLO_CHECK))
VM_TEST_PROGS += $(O)/examples/hello/hello-static

.PHONY: demo
demo: $(O)/examples/hello/hello
	$(O)/examples/hello/hello

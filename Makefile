# nvmm-linux top-level Makefile (plain GNU make).
#   make            libnvmm.a + libnvmm.so.2 (in lib/, or build-san/lib with SAN=1)
#   make check      every test; ends with "N passed, N failed, N skipped"
#   make check-vm   only the emulated-machine stage (kvm_amd inside QEMU TCG+SVM)
#   make bench      benchmarks
#   make demo       examples/hello on the default backend
#   make install PREFIX=/usr/local [DESTDIR=...]
#   SAN=1           build everything with ASan+UBSan

CC      ?= cc
AR      ?= ar
PREFIX  ?= /usr/local
SAN     ?= 0

WARN    := -Wall -Wextra -Werror
CSTD    := -std=c11 -D_GNU_SOURCE
OPT     := -O2 -g
CFLAGS_ALL = $(CSTD) $(OPT) $(WARN) -Iinclude -Ilib -fPIC $(CFLAGS)
LDFLAGS_ALL = $(LDFLAGS)

ifeq ($(SAN),1)
  O := build-san
  CFLAGS_ALL += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
  LDFLAGS_ALL += -fsanitize=address,undefined
  LIBDIR_OUT := $(O)/lib
else
  O := build
  LIBDIR_OUT := lib
endif

LIB_SRCS := $(sort $(wildcard lib/*.c))
LIB_OBJS := $(patsubst lib/%.c,$(O)/lib/%.o,$(LIB_SRCS))
LIB_A    := $(LIBDIR_OUT)/libnvmm.a
LIB_SO   := $(LIBDIR_OUT)/libnvmm.so.2
HDRS     := $(wildcard include/*.h lib/*.h)
# The x86 decoder/emulator/assists, which host-only tests compile directly.
X86_DECODE_SRCS := lib/x86_decode.c lib/x86_opcodes.c
X86_EMUL_SRCS   := $(X86_DECODE_SRCS) $(sort $(wildcard lib/x86_emul*.c))
X86_ASSIST_SRCS := $(sort $(wildcard lib/x86_assist*.c)) $(X86_EMUL_SRCS) lib/x86_walk.c

# Test and benchmark fragments append to these.
CHECK_PROGS :=      # host test programs, run by tests/run.sh
CHECK_SCRIPTS :=    # extra test scripts, run by tests/run.sh
BENCH_PROGS :=

.PHONY: all check check-host check-vm bench demo install uninstall clean
all: $(LIB_A) $(LIB_SO)

$(O)/lib/%.o: lib/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(LIB_A): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

$(LIB_SO): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,libnvmm.so.2 -Wl,--version-script=lib/libnvmm.map \
	  -o $@ $^ $(LDFLAGS_ALL) -lpthread
	ln -sf libnvmm.so.2 $(LIBDIR_OUT)/libnvmm.so

# A test/bench program: $(O)/<dir>/<name> from all .c/.S files listed.
define prog_rule
$(O)/$(1): $(2) $(LIB_A) $(HDRS)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS_ALL) $(3) -o $$@ $(2) $(LIB_A) $$(LDFLAGS_ALL) -lpthread
endef

# tests/vm first: it defines static_prog_rule, which other fragments use.
include tests/vm/rules.mk
include $(filter-out tests/vm/rules.mk,$(sort $(wildcard mk/*.mk tests/*/rules.mk bench/rules.mk examples/*/rules.mk tools/rules.mk)))

check: all $(CHECK_PROGS) $(VM_TEST_PROGS)
	@O=$(O) SAN=$(SAN) sh tests/run.sh $(CHECK_PROGS) -- $(CHECK_SCRIPTS)

bench: all $(BENCH_PROGS)
	@for b in $(BENCH_PROGS); do echo "== $$b"; $$b || exit 1; done

clean:
	rm -rf build build-san lib/libnvmm.a lib/libnvmm.so lib/libnvmm.so.2

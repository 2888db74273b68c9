# tests/assist: decoder table test, emulator differential test against the
# host CPU, assist tests over a fake libnvmm. They compile the lib/x86_*.c
# files they need directly (no dependency on the rest of libnvmm.a).

ASSIST_DECODE := $(X86_DECODE_SRCS)
ASSIST_EMUL   := $(X86_EMUL_SRCS)

$(O)/tests/assist/decode_test: tests/assist/decode_test.c tests/assist/decode_table.h $(ASSIST_DECODE) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ tests/assist/decode_test.c $(ASSIST_DECODE) $(LDFLAGS_ALL)

CHECK_PROGS += $(O)/tests/assist/decode_test

EMUL_DIFF_SRCS := tests/assist/emul_diff.c tests/assist/diff_host.c tests/assist/diff_enc.c

$(O)/tests/assist/emul_diff: $(EMUL_DIFF_SRCS) tests/assist/diff_host.h tests/assist/diff_enc.h $(ASSIST_EMUL) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $(EMUL_DIFF_SRCS) $(ASSIST_EMUL) $(LDFLAGS_ALL)

CHECK_PROGS += $(O)/tests/assist/emul_diff

ASSIST_ALL := $(X86_ASSIST_SRCS)

ASSIST_FIX := tests/assist/assist_fixture.c tests/assist/fake_nvmm.c lib/event_valid.c
ASSIST_FIX_H := tests/assist/assist_fixture.h tests/assist/fake_nvmm.h

$(O)/tests/assist/assist_test: tests/assist/assist_test.c $(ASSIST_FIX) $(ASSIST_FIX_H) $(ASSIST_ALL) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests/assist -o $@ tests/assist/assist_test.c $(ASSIST_FIX) $(ASSIST_ALL) $(LDFLAGS_ALL)

CHECK_PROGS += $(O)/tests/assist/assist_test

$(O)/tests/assist/assist_emul_test: tests/assist/assist_emul_test.c $(ASSIST_FIX) $(ASSIST_FIX_H) $(ASSIST_ALL) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests/assist -o $@ tests/assist/assist_emul_test.c $(ASSIST_FIX) $(ASSIST_ALL) $(LDFLAGS_ALL)

CHECK_PROGS += $(O)/tests/assist/assist_emul_test

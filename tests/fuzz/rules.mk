# tests/fuzz: libFuzzer target over decoder + emulator + generic assists.
#   make fuzz FUZZ_SECONDS=N    run it (clang; single process)
#   make check                  replays tests/fuzz/corpus with a plain main()

FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_SRCS := tests/fuzz/fuzz_target.c tests/assist/fake_nvmm.c lib/event_valid.c \
	$(X86_ASSIST_SRCS)

$(O)/tests/fuzz/fuzz_x86: $(FUZZ_SRCS) tests/assist/fake_nvmm.h $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CSTD) -O1 -g $(WARN) -Iinclude -Ilib -Itests/assist \
	  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  -o $@ $(FUZZ_SRCS)

.PHONY: fuzz
fuzz: $(O)/tests/fuzz/fuzz_x86
	@mkdir -p $(O)/tests/fuzz/work
	$(O)/tests/fuzz/fuzz_x86 -max_total_time=$(FUZZ_SECONDS) -max_len=512 \
	  -print_final_stats=1 $(O)/tests/fuzz/work tests/fuzz/corpus

$(O)/tests/fuzz/replay: tests/fuzz/replay.c $(FUZZ_SRCS) tests/assist/fake_nvmm.h $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests/assist -DCORPUS_DIR='"$(CURDIR)/tests/fuzz/corpus"' \
	  -o $@ tests/fuzz/replay.c $(FUZZ_SRCS) $(LDFLAGS_ALL)

CHECK_PROGS += $(O)/tests/fuzz/replay

# Benchmarks owned by the assist work. Keep this a simple list.
# bench/assist does not link libnvmm.a: it runs the generic assists over
# tests/assist/fake_nvmm.c (getstate/setstate/gpa_to_hva stand-ins).

BENCH_ASSIST_SRCS := bench/assist.c bench/bench_time.c tests/assist/fake_nvmm.c lib/event_valid.c \
	$(X86_ASSIST_SRCS)

$(O)/bench/assist: $(BENCH_ASSIST_SRCS) tests/assist/fake_nvmm.h $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests/assist -o $@ $(BENCH_ASSIST_SRCS) $(LDFLAGS_ALL)

BENCH_PROGS += $(O)/bench/assist

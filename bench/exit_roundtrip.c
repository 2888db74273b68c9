/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * exit_roundtrip: cost of one guest exit through libnvmm against the same
 * loop driven with raw KVM ioctls, measured in one run, plus the cost of a
 * cached getstate against one KVM_GET_REGS ioctl.
 *
 * The guest (real mode) does `out %al, $0x80; jmp` forever: every iteration
 * is one IO exit. libnvmm side: nvmm_vcpu_run + nvmm_assist_io. Raw side:
 * KVM_RUN with nothing else. Rounds alternate between the two to cancel
 * drift; the figure is the median of the rounds.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <nvmm.h>

#include "exit_loop.h"

#define ROUNDS		7

static unsigned long iters = 20000;

/* The same raw loop with KVM's sync-regs area filled at every exit. */
static double
raw_round_sync(struct bench_kvm *r, unsigned long fields)
{
	double t;

	r->run->kvm_valid_regs = fields;
	t = bench_kvm_round(r, iters);
	r->run->kvm_valid_regs = 0;
	return t;
}

static double
raw_getregs(struct bench_kvm *r)
{
	struct kvm_regs regs;
	double t0 = bench_now_ns();

	for (unsigned long i = 0; i < iters; i++)
		if (ioctl(r->vcpu, KVM_GET_REGS, &regs) == -1)
			bench_die("KVM_GET_REGS");
	return (bench_now_ns() - t0) / (double)iters;
}

static double
lib_getstate(struct bench_lib *l)
{
	volatile uint64_t sink = 0;
	double t0;

	/* One fetch, then every call is served from the cache. */
	if (nvmm_vcpu_getstate(&l->mach, &l->vcpu, NVMM_X64_STATE_GPRS) == -1)
		bench_die("getstate");
	t0 = bench_now_ns();
	for (unsigned long i = 0; i < iters; i++) {
		if (nvmm_vcpu_getstate(&l->mach, &l->vcpu,
		    NVMM_X64_STATE_GPRS) == -1)
			bench_die("getstate");
		sink += l->vcpu.state->gprs[NVMM_X64_GPR_RIP];
	}
	(void)sink;
	return (bench_now_ns() - t0) / (double)iters;
}

int
main(int argc, char *argv[])
{
	double lib_t[ROUNDS], raw_t[ROUNDS], g_lib[ROUNDS], g_raw[ROUNDS];
	double sync_all[ROUNDS], sync_regs[ROUNDS];
	struct bench_kvm r;
	struct bench_lib l;

	if (argc > 1)
		iters = strtoul(argv[1], NULL, 0);
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("exit_roundtrip: skipped: no usable /dev/kvm here (%s);"
		    " `make bench` runs it in the test VM\n", strerror(errno));
		return 0;
	}
	bench_name = "exit_roundtrip";
	bench_kvm_setup(&r);
	bench_lib_setup(&l);
	(void)bench_kvm_round(&r, iters);	/* warm up both */
	(void)bench_lib_round(&l, iters);
	for (int i = 0; i < ROUNDS; i++) {
		lib_t[i] = bench_lib_round(&l, iters);
		raw_t[i] = bench_kvm_round(&r, iters);
		sync_all[i] = raw_round_sync(&r, KVM_SYNC_X86_VALID_FIELDS);
		sync_regs[i] = raw_round_sync(&r, KVM_SYNC_X86_REGS);
		g_lib[i] = lib_getstate(&l);
		g_raw[i] = raw_getregs(&r);
	}
	if (bench_io_count < (ROUNDS + 1) * iters)
		bench_die("io callback count");
	double a = bench_median(lib_t, ROUNDS), b = bench_median(raw_t, ROUNDS);
	double c = bench_median(g_lib, ROUNDS), d = bench_median(g_raw, ROUNDS);
	printf("exit_roundtrip: %lu exits x %d rounds\n", iters, ROUNDS);
	printf("  nvmm_vcpu_run+nvmm_assist_io  %10.1f ns/exit\n", a);
	printf("  raw KVM_RUN                   %10.1f ns/exit\n", b);
	printf("  ratio exit libnvmm/raw        %10.3f   (target <= 1.05)\n",
	    a / b);
	printf("  (raw KVM_RUN, sync REGS       %10.1f ns/exit)\n",
	    bench_median(sync_regs, ROUNDS));
	printf("  (raw KVM_RUN, sync all        %10.1f ns/exit)\n",
	    bench_median(sync_all, ROUNDS));
	printf("  getstate(GPRS), cached        %10.1f ns\n", c);
	printf("  KVM_GET_REGS ioctl            %10.1f ns\n", d);
	printf("  ratio getstate/KVM_GET_REGS   %10.3f   (target <= 0.1)\n",
	    c / d);
	return 0;
}

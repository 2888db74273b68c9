/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * exit_nvmm_vs_kvm: one side of the nvmm.ko / kvm_amd exit round-trip
 * comparison. It runs inside the test VM, once in a boot with nvmm.ko
 * loaded and once in a boot with kvm_amd loaded (bench/exit_nvmm_vs_kvm.sh
 * boots both and prints the ratios): the two modules cannot share a boot,
 * both own EFER.SVME and VM_HSAVE_PA.
 *
 * The guest is the loop of bench/exit_roundtrip.c (real mode,
 * `out %al, $0x80; jmp` forever: one IO exit per iteration). Two loops:
 *   lib  nvmm_vcpu_run + nvmm_assist_io through libnvmm on the backend of
 *        this boot (NVMM_BACKEND=nvmm or kvm)
 *   raw  the module's own ioctl with nothing else: NVMM_IOC_VCPU_RUN plus
 *        RIP = npc in the comm page (nvmm.ko leaves the IO instruction to
 *        userland) or KVM_RUN (kvm_amd completes the OUT itself)
 * Rounds alternate between the two; each figure is the median of ROUNDS.
 * Output, one line each: "RESULT <backend> lib <ns> raw <ns> iters <n>".
 *
 * usage: exit_nvmm_vs_kvm [ITERATIONS]
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <nvmm.h>
#include <nvmm_ioctl.h>

#include "exit_loop.h"

#define ROUNDS		7

static unsigned long iters = 5000;

/* ------------------------------------------------------- raw nvmm.ko */

struct rawn {
	int fd;
	uint32_t machid;
	struct nvmm_comm_page *comm;
};

static void
rawn_setup(struct rawn *r)
{
	struct nvmm_ioc_machine_create mc;
	struct nvmm_ioc_vcpu vc;
	struct nvmm_ioc_hva hm;
	struct nvmm_ioc_gpa_map gm;
	struct nvmm_x64_state *st;
	uint8_t *ram = bench_guest_ram();
	void *p;

	r->fd = open("/dev/nvmm", O_RDWR | O_CLOEXEC);
	if (r->fd == -1)
		bench_die("/dev/nvmm");
	memset(&mc, 0, sizeof(mc));
	if (ioctl(r->fd, NVMM_IOC_MACHINE_CREATE, &mc) == -1)
		bench_die("NVMM_IOC_MACHINE_CREATE");
	r->machid = mc.machid;
	vc.machid = mc.machid;
	vc.cpuid = 0;
	if (ioctl(r->fd, NVMM_IOC_VCPU_CREATE, &vc) == -1)
		bench_die("NVMM_IOC_VCPU_CREATE");
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd,
	    (off_t)NVMM_COMM_OFFSET(mc.machid, 0));
	if (p == MAP_FAILED)
		bench_die("mmap comm page");
	r->comm = p;
	memset(&hm, 0, sizeof(hm));
	hm.machid = mc.machid;
	hm.hva = (uintptr_t)ram;
	hm.size = BENCH_RAM_SIZE;
	if (ioctl(r->fd, NVMM_IOC_HVA_MAP, &hm) == -1)
		bench_die("NVMM_IOC_HVA_MAP");
	memset(&gm, 0, sizeof(gm));
	gm.machid = mc.machid;
	gm.hva = (uintptr_t)ram;
	gm.size = BENCH_RAM_SIZE;
	gm.prot = PROT_READ | PROT_WRITE | PROT_EXEC;
	if (ioctl(r->fd, NVMM_IOC_GPA_MAP, &gm) == -1)
		bench_die("NVMM_IOC_GPA_MAP");
	r->comm->state_wanted = NVMM_X64_STATE_ALL;
	if (ioctl(r->fd, NVMM_IOC_VCPU_GETSTATE, &vc) == -1)
		bench_die("NVMM_IOC_VCPU_GETSTATE");
	st = &r->comm->state;
	st->segs[NVMM_X64_SEG_CS].selector = 0;
	st->segs[NVMM_X64_SEG_CS].base = 0;
	st->gprs[NVMM_X64_GPR_RIP] = BENCH_ENTRY;
	r->comm->state_commit = NVMM_X64_STATE_SEGS | NVMM_X64_STATE_GPRS;
}

static double
rawn_round(struct rawn *r)
{
	struct nvmm_ioc_vcpu_run run;
	unsigned long done = 0;
	double t0 = bench_now_ns();

	memset(&run, 0, sizeof(run));
	run.machid = r->machid;
	run.cpuid = 0;
	while (done < iters) {
		if (ioctl(r->fd, NVMM_IOC_VCPU_RUN, &run) == -1) {
			if (errno == EINTR)
				continue;
			bench_die("NVMM_IOC_VCPU_RUN");
		}
		if (run.exit.reason == NVMM_VCPU_EXIT_NONE)
			continue;
		if (run.exit.reason != NVMM_VCPU_EXIT_IO ||
		    !(r->comm->state_cached & NVMM_X64_STATE_GPRS)) {
			errno = EPROTO;
			bench_die("raw nvmm: unexpected exit");
		}
		r->comm->state.gprs[NVMM_X64_GPR_RIP] = run.exit.u.io.npc;
		r->comm->state_commit |= NVMM_X64_STATE_GPRS;
		done++;
	}
	return (bench_now_ns() - t0) / (double)iters;
}

int
main(int argc, char *argv[])
{
	double lib_t[ROUNDS], raw_t[ROUNDS];
	const char *backend = getenv("NVMM_BACKEND");
	struct rawn rn;
	struct bench_kvm rk;
	struct bench_lib l;
	int nvmm;

	setvbuf(stdout, NULL, _IOLBF, 0);
	bench_name = "exit_nvmm_vs_kvm";
	if (argc > 1)
		iters = strtoul(argv[1], NULL, 0);
	if (iters == 0)
		iters = 1;
	if (backend == NULL ||
	    (strcmp(backend, "nvmm") != 0 && strcmp(backend, "kvm") != 0)) {
		printf("SKIP: exit_nvmm_vs_kvm: set NVMM_BACKEND to nvmm or "
		    "kvm\n");
		return 0;
	}
	nvmm = strcmp(backend, "nvmm") == 0;
	if (access(nvmm ? "/dev/nvmm" : "/dev/kvm", R_OK | W_OK) != 0) {
		printf("SKIP: exit_nvmm_vs_kvm: %s: %s\n",
		    nvmm ? "/dev/nvmm" : "/dev/kvm", strerror(errno));
		return 0;
	}
	bench_lib_setup(&l);
	if (nvmm)
		rawn_setup(&rn);
	else
		bench_kvm_setup(&rk);
	/* warm up both */
	(void)bench_lib_round(&l, iters);
	(void)(nvmm ? rawn_round(&rn) : bench_kvm_round(&rk, iters));
	for (int i = 0; i < ROUNDS; i++) {
		lib_t[i] = bench_lib_round(&l, iters);
		raw_t[i] = nvmm ? rawn_round(&rn) : bench_kvm_round(&rk, iters);
	}
	if (bench_io_count < (ROUNDS + 1) * iters) {
		errno = EPROTO;
		bench_die("io callback count");
	}
	printf("RESULT %s lib %.1f raw %.1f iters %lu\n", backend,
	    bench_median(lib_t, ROUNDS), bench_median(raw_t, ROUNDS), iters);
	return 0;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * module_memory: what nvmm.ko's guest memory costs the rest of the host.
 * - guest-pages-unpinned: pages the guest has touched (mapped in the
 *   nested page table) carry no pin (the kernel's own count of held
 *   pins, nr_foll_pin_acquired - nr_foll_pin_released, does not move):
 *   compaction and CMA pass pinned pages over.
 * - guest-page-migrates: the kernel moves such a page to another frame
 *   (MADV_SOFT_OFFLINE); the MMU notifier removes the nested entry first
 *   and the guest's next write lands in the new frame.
 * - zap-ipis: removing nested entries of a machine whose VCPUs are not in
 *   guest mode interrupts no other CPU (function-call IPIs, the CAL line
 *   of /proc/interrupts, on the CPUs this test does not run on). Needs two
 *   CPUs; SKIPs with one.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "modtest.h"

#ifndef MADV_SOFT_OFFLINE
#define MADV_SOFT_OFFLINE 101
#endif
#define ZAP_ROUNDS	200

/* The page frame behind addr (root sees it): PFN, or 0. */
static uint64_t
page_frame(const void *addr)
{
	uint64_t ent;
	long psz = sysconf(_SC_PAGESIZE);
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd == -1)
		return 0;
	if (pread(fd, &ent, sizeof(ent),
	    (off_t)((uintptr_t)addr / (uintptr_t)psz * sizeof(ent))) !=
	    (ssize_t)sizeof(ent))
		ent = 0;
	close(fd);
	if (!(ent & (1ULL << 63)))
		return 0;
	return ent & ((1ULL << 55) - 1);
}

/* A machine: 0, or -1 after a FAIL line. */
static int
new_vm(const char *name, int fd, struct mt_vm *vm)
{
	if (mt_vm_create(fd, vm) != 0) {
		fail(name, "machine: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* The guest from its start to HLT: 0, or -1 after a FAIL line. */
static int
run_guest(const char *name, struct mt_vm *vm)
{
	struct nvmm_x86_exit e;
	int err;

	vm->ram[MT_TOUCH_GPA] = 0;
	vm->comm->state.gprs[NVMM_X64_GPR_RIP] = 0x1000;
	vm->comm->state_commit |= NVMM_X64_STATE_GPRS;
	err = mt_run(vm, &e);
	if (err != 0 || e.reason != NVMM_VCPU_EXIT_HALTED ||
	    vm->ram[MT_TOUCH_GPA] != 0x5a) {
		fail(name, "run: err %d reason 0x%llx byte 0x%x", err,
		    (unsigned long long)e.reason, vm->ram[MT_TOUCH_GPA]);
		return -1;
	}
	return 0;
}

/* Pins held in the whole system (/proc/vmstat), or -1. */
static long long
pins_held(void)
{
	long long acq = -1, rel = -1, v;
	char key[64];
	FILE *f;
	int fd;

	/* Fold the per-CPU counters first: exact figures. */
	fd = open("/proc/sys/vm/stat_refresh", O_WRONLY);
	if (fd == -1)
		return -1;
	(void)!write(fd, "1", 1);
	close(fd);
	f = fopen("/proc/vmstat", "r");
	if (f == NULL)
		return -1;
	while (fscanf(f, "%63s %lld", key, &v) == 2) {
		if (strcmp(key, "nr_foll_pin_acquired") == 0)
			acq = v;
		else if (strcmp(key, "nr_foll_pin_released") == 0)
			rel = v;
	}
	fclose(f);
	return acq < 0 || rel < 0 ? -1 : acq - rel;
}

/*
 * The pages the guest touched are in its nested page table, yet the
 * kernel counts no pin for them: nothing keeps compaction, CMA or reclaim
 * from them but the MMU notifier.
 */
static void
test_unpinned(int fd)
{
	const char *name = "guest-pages-unpinned";
	long long before, after;
	struct mt_vm vm;

	if (new_vm(name, fd, &vm) != 0)
		return;
	before = pins_held();
	CHECK(name, before >= 0, "no nr_foll_pin_* in /proc/vmstat");
	if (run_guest(name, &vm) != 0)
		return;
	after = pins_held();
	CHECK(name, after == before, "%lld pins held after the guest ran "
	    "(it uses %d pages)", after - before,
	    2 + (MT_RAM_SIZE - MT_MANY_GPA) / 4096);
	pass(name);
}

static void
test_migrate(int fd)
{
	const char *name = "guest-page-migrates";
	uint64_t before, after;
	struct mt_vm vm;

	if (new_vm(name, fd, &vm) != 0 || run_guest(name, &vm) != 0)
		return;
	before = page_frame(vm.ram + MT_TOUCH_GPA);
	CHECK(name, before != 0, "no page frame in /proc/self/pagemap");
	/* Migrates the page to another frame (root only). */
	CHECK(name, madvise(vm.ram + MT_TOUCH_GPA, 4096,
	    MADV_SOFT_OFFLINE) == 0, "MADV_SOFT_OFFLINE: %s",
	    strerror(errno));
	after = page_frame(vm.ram + MT_TOUCH_GPA);
	CHECK(name, after != 0 && after != before, "frame 0x%llx after "
	    "the migration (0x%llx before)", (unsigned long long)after,
	    (unsigned long long)before);
	/* The guest writes to the new frame, not the old one. */
	if (run_guest(name, &vm) != 0)
		return;
	pass(name);
}

/* Function-call IPIs received by every CPU but `self`, or -1. */
static long long
cal_ipis_elsewhere(int self)
{
	char line[4096];
	long long sum = -1;
	FILE *f;

	f = fopen("/proc/interrupts", "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p = line, *end;
		int cpu = 0;

		while (*p == ' ')
			p++;
		if (strncmp(p, "CAL:", 4) != 0)
			continue;
		p += 4;
		sum = 0;
		for (;;) {
			long long v = strtoll(p, &end, 10);

			if (end == p)
				break;
			if (cpu != self)
				sum += v;
			cpu++;
			p = end;
		}
	}
	fclose(f);
	return sum;
}

static void
test_zap_ipis(int fd)
{
	const char *name = "zap-ipis";
	struct nvmm_ioc_gpa_unmap gu;
	struct nvmm_ioc_gpa_map gm;
	struct nvmm_x86_exit e;
	struct mt_vm vm;
	long long before, after;
	cpu_set_t set;
	int i, err;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		skip(name, "one CPU online: needs two to see IPIs (the "
		    "test VM runs with one; VM_SMP=2 runs it)");
		return;
	}
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	CHECK(name, sched_setaffinity(0, sizeof(set), &set) == 0,
	    "sched_setaffinity: %s", strerror(errno));
	CHECK(name, mt_vm_create(fd, &vm) == 0, "machine: %s",
	    strerror(errno));
	memset(&gu, 0, sizeof(gu));
	gu.machid = vm.machid;
	gu.gpa = MT_TOUCH_GPA;
	gu.size = 4096;
	memset(&gm, 0, sizeof(gm));
	gm.machid = vm.machid;
	gm.hva = (uintptr_t)vm.ram + MT_TOUCH_GPA;
	gm.gpa = MT_TOUCH_GPA;
	gm.size = 4096;
	gm.prot = PROT_READ | PROT_WRITE;
	before = cal_ipis_elsewhere(0);
	CHECK(name, before >= 0, "no CAL line in /proc/interrupts");
	for (i = 0; i < ZAP_ROUNDS; i++) {
		/* The guest maps the page again; the unmap removes it. */
		err = mt_run(&vm, &e);
		CHECK(name, err == 0 && e.reason == NVMM_VCPU_EXIT_HALTED,
		    "run %d: err %d reason 0x%llx", i, err,
		    (unsigned long long)e.reason);
		CHECK(name, xioctl(fd, NVMM_IOC_GPA_UNMAP, &gu) == 0 &&
		    xioctl(fd, NVMM_IOC_GPA_MAP, &gm) == 0,
		    "round %d: unmap/map failed", i);
		vm.comm->state.gprs[NVMM_X64_GPR_RIP] = 0x1000;
		vm.comm->state_commit |= NVMM_X64_STATE_GPRS;
	}
	after = cal_ipis_elsewhere(0);
	/* A few come from elsewhere; the old code sent one per round. */
	CHECK(name, after - before < ZAP_ROUNDS / 4, "%lld function-call "
	    "IPIs to other CPUs during %d zaps of a machine not in guest "
	    "mode", after - before, ZAP_ROUNDS);
	pass(name);
}

int
main(void)
{
	int fd = mt_open("memory");

	if (fd == -1)
		return 0;
	test_unpinned(fd);
	test_migrate(fd);
	test_zap_ipis(fd);
	close(fd);
	return nfail ? 1 : 0;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * exit_loop.c: the guest loop and the two ways to drive it, shared by the
 * exit benchmarks (see exit_loop.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "exit_loop.h"

extern const unsigned char bench_loop_start[], bench_loop_end[];
__asm__(
	".pushsection .rodata\n"
	"bench_loop_start:\n"
	".code16\n"
	"1:	out %al, $0x80\n"
	"	jmp 1b\n"
	".code64\n"
	"bench_loop_end:\n"
	".popsection\n");

const char *bench_name = "bench";
unsigned long bench_io_count;

void
bench_die(const char *what)
{
	printf("FAIL: %s: %s: %s\n", bench_name, what, strerror(errno));
	exit(1);
}

uint8_t *
bench_guest_ram(void)
{
	uint8_t *ram = mmap(NULL, BENCH_RAM_SIZE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (ram == MAP_FAILED)
		bench_die("mmap");
	memcpy(ram + BENCH_ENTRY, bench_loop_start,
	    (size_t)(bench_loop_end - bench_loop_start));
	return ram;
}

/* ---------------------------------------------------------------- libnvmm */

static void
io_cb(struct nvmm_io *io)
{
	(void)io;
	bench_io_count++;
}

static void
mem_cb(struct nvmm_mem *mem)
{
	(void)mem;
}

void
bench_lib_setup(struct bench_lib *l)
{
	struct nvmm_assist_callbacks cbs = { io_cb, mem_cb };
	uint8_t *ram = bench_guest_ram();

	if (nvmm_init() == -1 || nvmm_machine_create(&l->mach) == -1 ||
	    nvmm_vcpu_create(&l->mach, 0, &l->vcpu) == -1 ||
	    nvmm_vcpu_configure(&l->mach, &l->vcpu, NVMM_VCPU_CONF_CALLBACKS,
	    &cbs) == -1)
		bench_die("libnvmm setup");
	if (nvmm_hva_map(&l->mach, (uintptr_t)ram, BENCH_RAM_SIZE) == -1 ||
	    nvmm_gpa_map(&l->mach, (uintptr_t)ram, 0, BENCH_RAM_SIZE,
	    PROT_READ | PROT_WRITE | PROT_EXEC) == -1)
		bench_die("libnvmm map");
	if (nvmm_vcpu_getstate(&l->mach, &l->vcpu, NVMM_X64_STATE_ALL) == -1)
		bench_die("getstate");
	l->vcpu.state->segs[NVMM_X64_SEG_CS].selector = 0;
	l->vcpu.state->segs[NVMM_X64_SEG_CS].base = 0;
	l->vcpu.state->gprs[NVMM_X64_GPR_RIP] = BENCH_ENTRY;
	if (nvmm_vcpu_setstate(&l->mach, &l->vcpu, NVMM_X64_STATE_ALL) == -1)
		bench_die("setstate");
}

double
bench_lib_round(struct bench_lib *l, unsigned long iters)
{
	unsigned long done = 0;
	double t0 = bench_now_ns();

	while (done < iters) {
		if (nvmm_vcpu_run(&l->mach, &l->vcpu) == -1)
			bench_die("nvmm_vcpu_run");
		if (l->vcpu.exit->reason == NVMM_VCPU_EXIT_NONE)
			continue;
		if (l->vcpu.exit->reason != NVMM_VCPU_EXIT_IO) {
			errno = EPROTO;
			bench_die("libnvmm: unexpected exit");
		}
		if (nvmm_assist_io(&l->mach, &l->vcpu) == -1)
			bench_die("nvmm_assist_io");
		done++;
	}
	return (bench_now_ns() - t0) / (double)iters;
}

/* ---------------------------------------------------------------- raw KVM */

void
bench_kvm_setup(struct bench_kvm *r)
{
	struct kvm_userspace_memory_region mr;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm;
	long sz;

	if (kvm == -1)
		bench_die("/dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm == -1)
		bench_die("KVM_CREATE_VM");
	memset(&mr, 0, sizeof(mr));
	mr.memory_size = BENCH_RAM_SIZE;
	mr.userspace_addr = (uintptr_t)bench_guest_ram();
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &mr) == -1)
		bench_die("KVM_SET_USER_MEMORY_REGION");
	r->vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	sz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r->vcpu == -1 || sz <= 0)
		bench_die("KVM_CREATE_VCPU");
	r->run = mmap(NULL, (size_t)sz, PROT_READ | PROT_WRITE, MAP_SHARED,
	    r->vcpu, 0);
	if (r->run == MAP_FAILED)
		bench_die("mmap kvm_run");
	if (ioctl(r->vcpu, KVM_GET_SREGS, &sregs) == -1)
		bench_die("KVM_GET_SREGS");
	sregs.cs.selector = 0;
	sregs.cs.base = 0;
	if (ioctl(r->vcpu, KVM_SET_SREGS, &sregs) == -1)
		bench_die("KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rip = BENCH_ENTRY;
	regs.rflags = 2;
	if (ioctl(r->vcpu, KVM_SET_REGS, &regs) == -1)
		bench_die("KVM_SET_REGS");
}

double
bench_kvm_round(struct bench_kvm *r, unsigned long iters)
{
	double t0 = bench_now_ns();

	for (unsigned long i = 0; i < iters; i++) {
		if (ioctl(r->vcpu, KVM_RUN, 0) == -1 && errno != EINTR)
			bench_die("KVM_RUN");
		if (r->run->exit_reason != KVM_EXIT_IO) {
			errno = EPROTO;
			bench_die("raw KVM: unexpected exit");
		}
	}
	return (bench_now_ns() - t0) / (double)iters;
}

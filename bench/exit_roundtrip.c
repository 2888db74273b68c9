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

#define RAM_SIZE	0x10000
#define ENTRY		0x1000
#define ROUNDS		7

extern const unsigned char loop_start[], loop_end[];
__asm__(
	".pushsection .rodata\n"
	"loop_start:\n"
	".code16\n"
	"1:	out %al, $0x80\n"
	"	jmp 1b\n"
	".code64\n"
	"loop_end:\n"
	".popsection\n");

static unsigned long iters = 20000;
static unsigned long io_count;

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static void
die(const char *what)
{
	fprintf(stderr, "exit_roundtrip: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint8_t *
guest_ram(void)
{
	uint8_t *ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED)
		die("mmap");
	memcpy(ram + ENTRY, loop_start, (size_t)(loop_end - loop_start));
	return ram;
}

/* ---------------------------------------------------------------- raw KVM */

struct raw {
	int vm, vcpu;
	struct kvm_run *run;
};

static void
raw_setup(struct raw *r)
{
	struct kvm_userspace_memory_region mr;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	long sz;

	if (kvm == -1)
		die("/dev/kvm");
	r->vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (r->vm == -1)
		die("KVM_CREATE_VM");
	memset(&mr, 0, sizeof(mr));
	mr.memory_size = RAM_SIZE;
	mr.userspace_addr = (uintptr_t)guest_ram();
	if (ioctl(r->vm, KVM_SET_USER_MEMORY_REGION, &mr) == -1)
		die("KVM_SET_USER_MEMORY_REGION");
	r->vcpu = ioctl(r->vm, KVM_CREATE_VCPU, 0);
	sz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r->vcpu == -1 || sz <= 0)
		die("KVM_CREATE_VCPU");
	r->run = mmap(NULL, (size_t)sz, PROT_READ | PROT_WRITE, MAP_SHARED,
	    r->vcpu, 0);
	if (r->run == MAP_FAILED)
		die("mmap kvm_run");
	if (ioctl(r->vcpu, KVM_GET_SREGS, &sregs) == -1)
		die("KVM_GET_SREGS");
	sregs.cs.selector = 0;
	sregs.cs.base = 0;
	if (ioctl(r->vcpu, KVM_SET_SREGS, &sregs) == -1)
		die("KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rip = ENTRY;
	regs.rflags = 2;
	if (ioctl(r->vcpu, KVM_SET_REGS, &regs) == -1)
		die("KVM_SET_REGS");
}

static double
raw_round(struct raw *r)
{
	double t0 = now_ns();

	for (unsigned long i = 0; i < iters; i++) {
		if (ioctl(r->vcpu, KVM_RUN, 0) == -1 && errno != EINTR)
			die("KVM_RUN");
		if (r->run->exit_reason != KVM_EXIT_IO)
			die("raw: unexpected exit");
	}
	return (now_ns() - t0) / (double)iters;
}

/* The same raw loop with KVM's sync-regs area filled at every exit. */
static double
raw_round_sync(struct raw *r, unsigned long fields)
{
	double t;

	r->run->kvm_valid_regs = fields;
	t = raw_round(r);
	r->run->kvm_valid_regs = 0;
	return t;
}

static double
raw_getregs(struct raw *r)
{
	struct kvm_regs regs;
	double t0 = now_ns();

	for (unsigned long i = 0; i < iters; i++)
		if (ioctl(r->vcpu, KVM_GET_REGS, &regs) == -1)
			die("KVM_GET_REGS");
	return (now_ns() - t0) / (double)iters;
}

/* ---------------------------------------------------------------- libnvmm */

struct lib {
	struct nvmm_machine mach;
	struct nvmm_vcpu vcpu;
};

static void
io_cb(struct nvmm_io *io)
{
	(void)io;
	io_count++;
}

static void
mem_cb(struct nvmm_mem *mem)
{
	(void)mem;
}

static void
lib_setup(struct lib *l)
{
	struct nvmm_assist_callbacks cbs = { io_cb, mem_cb };
	uint8_t *ram = guest_ram();

	if (nvmm_init() == -1 || nvmm_machine_create(&l->mach) == -1 ||
	    nvmm_vcpu_create(&l->mach, 0, &l->vcpu) == -1 ||
	    nvmm_vcpu_configure(&l->mach, &l->vcpu, NVMM_VCPU_CONF_CALLBACKS,
	    &cbs) == -1)
		die("libnvmm setup");
	if (nvmm_hva_map(&l->mach, (uintptr_t)ram, RAM_SIZE) == -1 ||
	    nvmm_gpa_map(&l->mach, (uintptr_t)ram, 0, RAM_SIZE,
	    PROT_READ | PROT_WRITE | PROT_EXEC) == -1)
		die("libnvmm map");
	if (nvmm_vcpu_getstate(&l->mach, &l->vcpu, NVMM_X64_STATE_ALL) == -1)
		die("getstate");
	l->vcpu.state->segs[NVMM_X64_SEG_CS].selector = 0;
	l->vcpu.state->segs[NVMM_X64_SEG_CS].base = 0;
	l->vcpu.state->gprs[NVMM_X64_GPR_RIP] = ENTRY;
	if (nvmm_vcpu_setstate(&l->mach, &l->vcpu, NVMM_X64_STATE_ALL) == -1)
		die("setstate");
}

static double
lib_round(struct lib *l)
{
	unsigned long done = 0;
	double t0 = now_ns();

	while (done < iters) {
		if (nvmm_vcpu_run(&l->mach, &l->vcpu) == -1)
			die("nvmm_vcpu_run");
		if (l->vcpu.exit->reason == NVMM_VCPU_EXIT_NONE)
			continue;
		if (l->vcpu.exit->reason != NVMM_VCPU_EXIT_IO)
			die("libnvmm: unexpected exit");
		if (nvmm_assist_io(&l->mach, &l->vcpu) == -1)
			die("nvmm_assist_io");
		done++;
	}
	return (now_ns() - t0) / (double)iters;
}

static double
lib_getstate(struct lib *l)
{
	volatile uint64_t sink = 0;
	double t0;

	/* One fetch, then every call is served from the cache. */
	if (nvmm_vcpu_getstate(&l->mach, &l->vcpu, NVMM_X64_STATE_GPRS) == -1)
		die("getstate");
	t0 = now_ns();
	for (unsigned long i = 0; i < iters; i++) {
		if (nvmm_vcpu_getstate(&l->mach, &l->vcpu,
		    NVMM_X64_STATE_GPRS) == -1)
			die("getstate");
		sink += l->vcpu.state->gprs[NVMM_X64_GPR_RIP];
	}
	(void)sink;
	return (now_ns() - t0) / (double)iters;
}

int
main(int argc, char *argv[])
{
	double lib_t[ROUNDS], raw_t[ROUNDS], g_lib[ROUNDS], g_raw[ROUNDS];
	double sync_all[ROUNDS], sync_regs[ROUNDS];
	struct raw r;
	struct lib l;

	if (argc > 1)
		iters = strtoul(argv[1], NULL, 0);
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("exit_roundtrip: skipped: no usable /dev/kvm here (%s);"
		    " `make bench` runs it in the test VM\n", strerror(errno));
		return 0;
	}
	raw_setup(&r);
	lib_setup(&l);
	(void)raw_round(&r);	/* warm up both */
	(void)lib_round(&l);
	for (int i = 0; i < ROUNDS; i++) {
		lib_t[i] = lib_round(&l);
		raw_t[i] = raw_round(&r);
		sync_all[i] = raw_round_sync(&r, KVM_SYNC_X86_VALID_FIELDS);
		sync_regs[i] = raw_round_sync(&r, KVM_SYNC_X86_REGS);
		g_lib[i] = lib_getstate(&l);
		g_raw[i] = raw_getregs(&r);
	}
	if (io_count < (ROUNDS + 1) * iters)
		die("io callback count");
	double a = median(lib_t, ROUNDS), b = median(raw_t, ROUNDS);
	double c = median(g_lib, ROUNDS), d = median(g_raw, ROUNDS);
	printf("exit_roundtrip: %lu exits x %d rounds\n", iters, ROUNDS);
	printf("  nvmm_vcpu_run+nvmm_assist_io  %10.1f ns/exit\n", a);
	printf("  raw KVM_RUN                   %10.1f ns/exit\n", b);
	printf("  ratio exit libnvmm/raw        %10.3f   (target <= 1.05)\n",
	    a / b);
	printf("  (raw KVM_RUN, sync REGS       %10.1f ns/exit)\n",
	    median(sync_regs, ROUNDS));
	printf("  (raw KVM_RUN, sync all        %10.1f ns/exit)\n",
	    median(sync_all, ROUNDS));
	printf("  getstate(GPRS), cached        %10.1f ns\n", c);
	printf("  KVM_GET_REGS ioctl            %10.1f ns\n", d);
	printf("  ratio getstate/KVM_GET_REGS   %10.3f   (target <= 0.1)\n",
	    c / d);
	return 0;
}

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

#define RAM_SIZE	0x10000
#define ENTRY		0x1000
#define ROUNDS		7

extern const unsigned char vk_loop_start[], vk_loop_end[];
__asm__(
	".pushsection .rodata\n"
	"vk_loop_start:\n"
	".code16\n"
	"1:	out %al, $0x80\n"
	"	jmp 1b\n"
	".code64\n"
	"vk_loop_end:\n"
	".popsection\n");

static unsigned long iters = 5000;
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
	printf("FAIL: exit_nvmm_vs_kvm: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint8_t *
guest_ram(void)
{
	uint8_t *ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED)
		die("mmap");
	memcpy(ram + ENTRY, vk_loop_start,
	    (size_t)(vk_loop_end - vk_loop_start));
	return ram;
}

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
	uint8_t *ram = guest_ram();
	void *p;

	r->fd = open("/dev/nvmm", O_RDWR | O_CLOEXEC);
	if (r->fd == -1)
		die("/dev/nvmm");
	memset(&mc, 0, sizeof(mc));
	if (ioctl(r->fd, NVMM_IOC_MACHINE_CREATE, &mc) == -1)
		die("NVMM_IOC_MACHINE_CREATE");
	r->machid = mc.machid;
	vc.machid = mc.machid;
	vc.cpuid = 0;
	if (ioctl(r->fd, NVMM_IOC_VCPU_CREATE, &vc) == -1)
		die("NVMM_IOC_VCPU_CREATE");
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd,
	    (off_t)NVMM_COMM_OFFSET(mc.machid, 0));
	if (p == MAP_FAILED)
		die("mmap comm page");
	r->comm = p;
	memset(&hm, 0, sizeof(hm));
	hm.machid = mc.machid;
	hm.hva = (uintptr_t)ram;
	hm.size = RAM_SIZE;
	if (ioctl(r->fd, NVMM_IOC_HVA_MAP, &hm) == -1)
		die("NVMM_IOC_HVA_MAP");
	memset(&gm, 0, sizeof(gm));
	gm.machid = mc.machid;
	gm.hva = (uintptr_t)ram;
	gm.size = RAM_SIZE;
	gm.prot = PROT_READ | PROT_WRITE | PROT_EXEC;
	if (ioctl(r->fd, NVMM_IOC_GPA_MAP, &gm) == -1)
		die("NVMM_IOC_GPA_MAP");
	r->comm->state_wanted = NVMM_X64_STATE_ALL;
	if (ioctl(r->fd, NVMM_IOC_VCPU_GETSTATE, &vc) == -1)
		die("NVMM_IOC_VCPU_GETSTATE");
	st = &r->comm->state;
	st->segs[NVMM_X64_SEG_CS].selector = 0;
	st->segs[NVMM_X64_SEG_CS].base = 0;
	st->gprs[NVMM_X64_GPR_RIP] = ENTRY;
	r->comm->state_commit = NVMM_X64_STATE_SEGS | NVMM_X64_STATE_GPRS;
}

static double
rawn_round(struct rawn *r)
{
	struct nvmm_ioc_vcpu_run run;
	unsigned long done = 0;
	double t0 = now_ns();

	memset(&run, 0, sizeof(run));
	run.machid = r->machid;
	run.cpuid = 0;
	while (done < iters) {
		if (ioctl(r->fd, NVMM_IOC_VCPU_RUN, &run) == -1) {
			if (errno == EINTR)
				continue;
			die("NVMM_IOC_VCPU_RUN");
		}
		if (run.exit.reason == NVMM_VCPU_EXIT_NONE)
			continue;
		if (run.exit.reason != NVMM_VCPU_EXIT_IO ||
		    !(r->comm->state_cached & NVMM_X64_STATE_GPRS)) {
			errno = EPROTO;
			die("raw nvmm: unexpected exit");
		}
		r->comm->state.gprs[NVMM_X64_GPR_RIP] = run.exit.u.io.npc;
		r->comm->state_commit |= NVMM_X64_STATE_GPRS;
		done++;
	}
	return (now_ns() - t0) / (double)iters;
}

/* ------------------------------------------------------- raw kvm_amd */

struct rawk {
	int vcpu;
	struct kvm_run *run;
};

static void
rawk_setup(struct rawk *r)
{
	struct kvm_userspace_memory_region mr;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm;
	long sz;

	if (kvm == -1)
		die("/dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm == -1)
		die("KVM_CREATE_VM");
	memset(&mr, 0, sizeof(mr));
	mr.memory_size = RAM_SIZE;
	mr.userspace_addr = (uintptr_t)guest_ram();
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &mr) == -1)
		die("KVM_SET_USER_MEMORY_REGION");
	r->vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
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
rawk_round(struct rawk *r)
{
	double t0 = now_ns();

	for (unsigned long i = 0; i < iters; i++) {
		if (ioctl(r->vcpu, KVM_RUN, 0) == -1 && errno != EINTR)
			die("KVM_RUN");
		if (r->run->exit_reason != KVM_EXIT_IO) {
			errno = EPROTO;
			die("raw kvm: unexpected exit");
		}
	}
	return (now_ns() - t0) / (double)iters;
}

/* ------------------------------------------------------------ libnvmm */

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
		if (l->vcpu.exit->reason != NVMM_VCPU_EXIT_IO) {
			errno = EPROTO;
			die("libnvmm: unexpected exit");
		}
		if (nvmm_assist_io(&l->mach, &l->vcpu) == -1)
			die("nvmm_assist_io");
		done++;
	}
	return (now_ns() - t0) / (double)iters;
}

int
main(int argc, char *argv[])
{
	double lib_t[ROUNDS], raw_t[ROUNDS];
	const char *backend = getenv("NVMM_BACKEND");
	struct rawn rn;
	struct rawk rk;
	struct lib l;
	int nvmm;

	setvbuf(stdout, NULL, _IOLBF, 0);
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
	lib_setup(&l);
	if (nvmm)
		rawn_setup(&rn);
	else
		rawk_setup(&rk);
	/* warm up both */
	(void)lib_round(&l);
	(void)(nvmm ? rawn_round(&rn) : rawk_round(&rk));
	for (int i = 0; i < ROUNDS; i++) {
		lib_t[i] = lib_round(&l);
		raw_t[i] = nvmm ? rawn_round(&rn) : rawk_round(&rk);
	}
	if (io_count < (ROUNDS + 1) * iters) {
		errno = EPROTO;
		die("io callback count");
	}
	printf("RESULT %s lib %.1f raw %.1f iters %lu\n", backend,
	    median(lib_t, ROUNDS), median(raw_t, ROUNDS), iters);
	return 0;
}

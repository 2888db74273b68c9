/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * module_test: nvmm.ko through its raw ABI (include/nvmm_ioctl.h), without
 * libnvmm: ABI and capability ioctls, argument validation, ownership across
 * open files, comm page mappings, a real-mode guest (IO, CPUID, RDMSR,
 * nested faults, MEMORY exits, HLT), the MMU notifier (MADV_DONTNEED,
 * munmap, munmap from another thread while the guest runs), the machine
 * limit (max_machines, ENOBUFS), setstate of an impossible state (EINVAL,
 * the rule in the kernel log), ownership across processes and the root
 * owner (write-only opens with CAP_SYS_ADMIN; nvmm_root_init). Runs in the
 * test VM, as root, with nvmm.ko loaded at its default parameters; SKIPs
 * without /dev/nvmm.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>

#include "modtest.h"

/* The guest, real mode, loaded at GPA 0x1000. */
extern const unsigned char g_start[], g_end[], g_entry_b[], g_entry_c[],
    g_entry_d[];
__asm__(
	".pushsection .rodata\n"
	"g_start:\n"
	".code16\n"
	"	mov $0x1234, %ax\n"
	"	out %al, $0x10\n"		/* IO out port 0x10 */
	"	mov $0x40000000, %eax\n"
	"	cpuid\n"			/* in the kernel */
	"	mov %ebx, %eax\n"
	"	out %eax, $0x11\n"		/* reports "___ " */
	"	mov $0x12345678, %ecx\n"
	"	rdmsr\n"			/* RDMSR exit */
	"	movb $0x5a, (0x3000)\n"		/* RAM: nested fault in kernel */
	"	mov (0x3000), %al\n"
	"	out %al, $0x12\n"
	"	in $0x13, %al\n"		/* IO in */
	"	hlt\n"
	"g_entry_b:\n"
	"	mov (0x3000), %al\n"
	"	out %al, $0x14\n"
	"	hlt\n"
	"g_entry_c:\n"
	"	mov (0x8000), %al\n"		/* unmapped: MEMORY exit */
	"	hlt\n"
	"g_entry_d:\n"				/* spins until 0x4000 changes */
	"1:	incw (0x5000)\n"
	"	mov (0x4000), %al\n"
	"	cmp $0x5a, %al\n"
	"	je 1b\n"
	"	out %al, $0x15\n"
	"	hlt\n"
	".code64\n"
	"g_end:\n"
	".popsection\n");

#define GUEST_BASE	0x1000
#define GADDR(sym)	(GUEST_BASE + (uint64_t)((sym) - g_start))
#define RAM_SIZE	0x8000		/* GPA 0 - 0x8000 */

struct vm {
	int fd;
	uint32_t machid;
	uint8_t *ram;
	struct nvmm_comm_page *comm;
};

static int
run(struct vm *vm, struct nvmm_x86_exit *exit)
{
	return mt_run_vcpu0(vm->fd, vm->machid, exit);
}

static void
test_abi(int fd)
{
	struct nvmm_ioc_abi abi;
	struct nvmm_capability cap;

	memset(&abi, 0, sizeof(abi));
	CHECK("abi", xioctl(fd, NVMM_IOC_ABI, &abi) == 0, "NVMM_IOC_ABI: %s",
	    strerror(errno));
	CHECK("abi", abi.abi_version == NVMM_IOCTL_ABI_VERSION &&
	    abi.comm_page_size == 4096, "abi %u page %u", abi.abi_version,
	    abi.comm_page_size);
	pass("abi");

	memset(&cap, 0, sizeof(cap));
	CHECK("capability", xioctl(fd, NVMM_IOC_CAPABILITY, &cap) == 0,
	    "NVMM_IOC_CAPABILITY: %s", strerror(errno));
	CHECK("capability", cap.version == NVMM_KERN_VERSION &&
	    cap.state_size == sizeof(struct nvmm_x64_state) &&
	    cap.max_machines == 128 && cap.max_vcpus == 256 &&
	    cap.max_ram == (128ULL << 30) &&
	    (cap.arch.vcpu_conf_support & NVMM_CAP_ARCH_VCPU_CONF_CPUID) &&
	    (cap.arch.xcr0_mask & 1) && cap.arch.mxcsr_mask != 0 &&
	    cap.arch.conf_cpuid_maxops == 32,
	    "version %u state_size %u machines %u vcpus %u ram %llu "
	    "conf 0x%llx xcr0 0x%llx mxcsr 0x%x maxops %u", cap.version,
	    cap.state_size, cap.max_machines, cap.max_vcpus,
	    (unsigned long long)cap.max_ram,
	    (unsigned long long)cap.arch.vcpu_conf_support,
	    (unsigned long long)cap.arch.xcr0_mask, cap.arch.mxcsr_mask,
	    cap.arch.conf_cpuid_maxops);
	pass("capability");

	CHECK("bad-ioctl", xioctl(fd, _IOW('N', 99, int), &abi) == -ENOTTY,
	    "unknown ioctl did not fail with ENOTTY");
	CHECK("bad-ioctl", ioctl(fd, NVMM_IOC_CAPABILITY, (void *)8) == -1 &&
	    errno == EFAULT, "bad pointer did not fail with EFAULT");
	pass("bad-ioctl");
}

static void
test_validation(int fd, int fd2)
{
	struct nvmm_ioc_machine_create mc;
	struct nvmm_ioc_machine_destroy md;
	struct nvmm_ioc_vcpu vc;
	struct nvmm_ioc_gpa_map gm;
	struct nvmm_ioc_hva hm;
	struct nvmm_ioc_ctl ctl;
	struct nvmm_ioc_mach_info info;
	void *p;

	CHECK("validation", xioctl(fd, NVMM_IOC_MACHINE_CREATE, &mc) == 0,
	    "machine create: %s", strerror(errno));
	vc.machid = mc.machid;
	vc.cpuid = 256;
	CHECK("validation", xioctl(fd, NVMM_IOC_VCPU_CREATE, &vc) == -EINVAL,
	    "cpuid 256 accepted");
	vc.cpuid = 3;
	CHECK("validation", xioctl(fd, NVMM_IOC_VCPU_CREATE, &vc) == 0,
	    "vcpu create");
	CHECK("validation", xioctl(fd, NVMM_IOC_VCPU_CREATE, &vc) == -EEXIST,
	    "duplicate vcpu accepted");
	vc.machid = 500;
	CHECK("validation", xioctl(fd, NVMM_IOC_VCPU_CREATE, &vc) == -EINVAL,
	    "machid 500 accepted");
	vc.machid = mc.machid;
	vc.cpuid = 4;
	CHECK("validation", xioctl(fd, NVMM_IOC_VCPU_DESTROY, &vc) == -ENOENT,
	    "absent vcpu destroyed");

	memset(&hm, 0, sizeof(hm));
	hm.machid = mc.machid;
	hm.hva = 0x10001;
	hm.size = 4096;
	CHECK("validation", xioctl(fd, NVMM_IOC_HVA_MAP, &hm) == -EINVAL,
	    "unaligned hva accepted");
	memset(&gm, 0, sizeof(gm));
	gm.machid = mc.machid;
	gm.hva = 0x10000;
	gm.gpa = 0;
	gm.size = 4096;
	gm.prot = PROT_READ;
	CHECK("validation", xioctl(fd, NVMM_IOC_GPA_MAP, &gm) == -EINVAL,
	    "gpa map outside any hva map accepted");
	pass("validation");

	/* Another open file is another owner. */
	vc.cpuid = 5;
	CHECK("ownership", xioctl(fd2, NVMM_IOC_VCPU_CREATE, &vc) == -EPERM,
	    "other file created a vcpu");
	md.machid = mc.machid;
	md.rsvd = 0;
	CHECK("ownership", xioctl(fd2, NVMM_IOC_MACHINE_DESTROY, &md) == -EPERM,
	    "other file destroyed the machine");
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd2,
	    (off_t)NVMM_COMM_OFFSET(mc.machid, 3));
	CHECK("ownership", p == MAP_FAILED && errno == EPERM,
	    "other file mapped the comm page");
	pass("ownership");

	/* Comm page mappings. */
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
	    (off_t)NVMM_COMM_OFFSET(mc.machid, 3));
	CHECK("mmap", p == MAP_FAILED && errno == EINVAL, "2 pages mapped");
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd,
	    (off_t)NVMM_COMM_OFFSET(mc.machid, 3));
	CHECK("mmap", p == MAP_FAILED, "private mapping accepted");
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
	    (off_t)NVMM_COMM_OFFSET(mc.machid, 4));
	CHECK("mmap", p == MAP_FAILED && errno == ENOENT,
	    "absent vcpu's page mapped");
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
	    (off_t)NVMM_COMM_OFFSET(mc.machid, 3));
	CHECK("mmap", p != MAP_FAILED, "comm page: %s", strerror(errno));
	/* The page survives the VCPU: no use after free. */
	vc.cpuid = 3;
	CHECK("mmap", xioctl(fd, NVMM_IOC_VCPU_DESTROY, &vc) == 0,
	    "vcpu destroy");
	((volatile struct nvmm_comm_page *)p)->stop = 1;
	munmap(p, 4096);
	pass("mmap");

	/* MACH_INFO, then close destroys the other file's machines. */
	CHECK("close-destroys", xioctl(fd2, NVMM_IOC_MACHINE_CREATE, &mc) == 0,
	    "machine create on fd2");
	memset(&info, 0, sizeof(info));
	info.machid = mc.machid;
	ctl.op = NVMM_CTL_MACH_INFO;
	ctl.rsvd = 0;
	ctl.data = (uintptr_t)&info;
	ctl.size = sizeof(info);
	CHECK("close-destroys", xioctl(fd2, NVMM_IOC_CTL, &ctl) == 0 &&
	    info.pid == getpid() && info.nvcpus == 0, "mach info");
	CHECK("close-destroys", xioctl(fd, NVMM_IOC_CTL, &ctl) == -EPERM,
	    "mach info of another file's machine");
	close(fd2);
	CHECK("close-destroys", xioctl(fd, NVMM_IOC_CTL, &ctl) == -ENOENT,
	    "machine %u survived its file", mc.machid);
	pass("close-destroys");
}

static int
vm_create(int fd, struct vm *vm)
{
	struct mt_vm m;

	memset(vm, 0, sizeof(*vm));
	if (mt_vm_create_with(fd, &m, g_start, (size_t)(g_end - g_start),
	    RAM_SIZE) != 0)
		return -1;
	vm->fd = m.fd;
	vm->machid = m.machid;
	vm->ram = m.ram;
	vm->comm = m.comm;
	return 0;
}

static void
test_guest(int fd)
{
	struct nvmm_x86_exit e;
	struct nvmm_comm_page *c;
	struct vm vm;
	uint64_t *g;
	int err;

	CHECK("guest-setup", vm_create(fd, &vm) == 0, "%s", strerror(errno));
	c = vm.comm;
	g = c->state.gprs;
	CHECK("reset-state", c->state_cached == 0, "state_cached 0x%llx",
	    (unsigned long long)c->state_cached);
	c->state_wanted = NVMM_X64_STATE_ALL;
	{
		struct nvmm_ioc_vcpu vc = { vm.machid, 0 };
		CHECK("reset-state", xioctl(fd, NVMM_IOC_VCPU_GETSTATE, &vc) == 0,
		    "getstate");
	}
	CHECK("reset-state", c->state_cached == NVMM_X64_STATE_ALL &&
	    g[NVMM_X64_GPR_RIP] == 0xFFF0 && g[NVMM_X64_GPR_RDX] == 0x600 &&
	    c->state.segs[NVMM_X64_SEG_CS].selector == 0xF000 &&
	    c->state.segs[NVMM_X64_SEG_CS].base == 0xFFFF0000 &&
	    c->state.crs[NVMM_X64_CR_CR0] == 0x60000010 &&
	    c->state.msrs[NVMM_X64_MSR_PAT] == 0x0007040600070406ULL &&
	    c->state.fpu.fx_mxcsr == 0x1F80,
	    "rip 0x%llx cs 0x%x cr0 0x%llx", (unsigned long long)g[16],
	    c->state.segs[1].selector,
	    (unsigned long long)c->state.crs[0]);
	pass("reset-state");

	set_real_mode(c, GUEST_BASE);
	err = run(&vm, &e);
	CHECK("io-out", err == 0 && e.reason == NVMM_VCPU_EXIT_IO &&
	    !e.u.io.in && e.u.io.port == 0x10 && e.u.io.operand_size == 1 &&
	    /* 0: the CPU did not say (QEMU); libnvmm decodes it */
	    (e.u.io.address_size == 2 || e.u.io.address_size == 0) &&
	    !e.u.io.str && !e.u.io.rep &&
	    e.u.io.npc == GUEST_BASE + 5,
	    "err %d reason 0x%llx port 0x%x in %d size %u asize %u npc 0x%llx",
	    err, (unsigned long long)e.reason, e.u.io.port, e.u.io.in,
	    e.u.io.operand_size, e.u.io.address_size,
	    (unsigned long long)e.u.io.npc);
	CHECK("io-out", (c->state_cached & NVMM_X64_STATE_GPRS) &&
	    (g[NVMM_X64_GPR_RAX] & 0xFFFF) == 0x1234 &&
	    g[NVMM_X64_GPR_RIP] == GUEST_BASE + 3,
	    "pre-cached state: cached 0x%llx rax 0x%llx rip 0x%llx",
	    (unsigned long long)c->state_cached,
	    (unsigned long long)g[NVMM_X64_GPR_RAX],
	    (unsigned long long)g[NVMM_X64_GPR_RIP]);
	pass("io-out");

	g[NVMM_X64_GPR_RIP] = e.u.io.npc;
	c->state_commit |= NVMM_X64_STATE_GPRS;
	err = run(&vm, &e);
	CHECK("cpuid", err == 0 && e.reason == NVMM_VCPU_EXIT_IO &&
	    e.u.io.port == 0x11 && e.u.io.operand_size == 4 &&
	    (uint32_t)g[NVMM_X64_GPR_RAX] == 0x205f5f5f,
	    "reason 0x%llx port 0x%x eax 0x%llx",
	    (unsigned long long)e.reason, e.u.io.port,
	    (unsigned long long)g[NVMM_X64_GPR_RAX]);
	pass("cpuid");

	g[NVMM_X64_GPR_RIP] = e.u.io.npc;
	c->state_commit |= NVMM_X64_STATE_GPRS;
	err = run(&vm, &e);
	CHECK("rdmsr", err == 0 && e.reason == NVMM_VCPU_EXIT_RDMSR &&
	    e.u.rdmsr.msr == 0x12345678 &&
	    e.u.rdmsr.npc == g[NVMM_X64_GPR_RIP] + 2,
	    "reason 0x%llx msr 0x%x npc 0x%llx rip 0x%llx",
	    (unsigned long long)e.reason, e.u.rdmsr.msr,
	    (unsigned long long)e.u.rdmsr.npc,
	    (unsigned long long)g[NVMM_X64_GPR_RIP]);
	pass("rdmsr");

	g[NVMM_X64_GPR_RIP] = e.u.rdmsr.npc;
	c->state_commit |= NVMM_X64_STATE_GPRS;
	err = run(&vm, &e);
	CHECK("ram-fault", err == 0 && e.reason == NVMM_VCPU_EXIT_IO &&
	    e.u.io.port == 0x12 && (g[NVMM_X64_GPR_RAX] & 0xFF) == 0x5a &&
	    vm.ram[0x3000] == 0x5a, "reason 0x%llx port 0x%x al 0x%llx ram 0x%x",
	    (unsigned long long)e.reason, e.u.io.port,
	    (unsigned long long)(g[NVMM_X64_GPR_RAX] & 0xFF), vm.ram[0x3000]);
	pass("ram-fault");

	g[NVMM_X64_GPR_RIP] = e.u.io.npc;
	c->state_commit |= NVMM_X64_STATE_GPRS;
	err = run(&vm, &e);
	CHECK("io-in", err == 0 && e.reason == NVMM_VCPU_EXIT_IO &&
	    e.u.io.in && e.u.io.port == 0x13 && e.u.io.operand_size == 1,
	    "reason 0x%llx", (unsigned long long)e.reason);
	pass("io-in");

	g[NVMM_X64_GPR_RIP] = e.u.io.npc;
	c->state_commit |= NVMM_X64_STATE_GPRS;
	err = run(&vm, &e);
	CHECK("hlt", err == 0 && e.reason == NVMM_VCPU_EXIT_HALTED &&
	    g[NVMM_X64_GPR_RIP] == GADDR(g_entry_b),
	    "reason 0x%llx rip 0x%llx", (unsigned long long)e.reason,
	    (unsigned long long)g[NVMM_X64_GPR_RIP]);
	pass("hlt");

	/* The notifier: the host drops the page, the guest sees a new one. */
	CHECK("madv-dontneed", madvise(vm.ram + 0x3000, 4096,
	    MADV_DONTNEED) == 0, "madvise: %s", strerror(errno));
	vm.ram[0x3000] = 0x77;
	g[NVMM_X64_GPR_RIP] = GADDR(g_entry_b);
	c->state_commit |= NVMM_X64_STATE_GPRS;
	err = run(&vm, &e);
	CHECK("madv-dontneed", err == 0 && e.reason == NVMM_VCPU_EXIT_IO &&
	    e.u.io.port == 0x14 && (g[NVMM_X64_GPR_RAX] & 0xFF) == 0x77,
	    "guest read 0x%llx, host page holds 0x77 (stale nested entry)",
	    (unsigned long long)(g[NVMM_X64_GPR_RAX] & 0xFF));
	pass("madv-dontneed");

	g[NVMM_X64_GPR_RIP] = GADDR(g_entry_c);
	c->state_commit |= NVMM_X64_STATE_GPRS;
	err = run(&vm, &e);
	CHECK("memory-exit", err == 0 && e.reason == NVMM_VCPU_EXIT_MEMORY &&
	    e.u.mem.gpa == 0x8000 && e.u.mem.prot == PROT_READ,
	    "reason 0x%llx gpa 0x%llx prot %d", (unsigned long long)e.reason,
	    (unsigned long long)e.u.mem.gpa, e.u.mem.prot);
	CHECK("memory-exit", (c->state_cached & NVMM_X64_STATE_CRS) &&
	    g[NVMM_X64_GPR_RIP] == GADDR(g_entry_c), "state not pre-cached");
	pass("memory-exit");

	/* munmap: the guest access becomes a MEMORY exit, never freed memory. */
	CHECK("munmap", munmap(vm.ram + 0x3000, 4096) == 0, "munmap");
	g[NVMM_X64_GPR_RIP] = GADDR(g_entry_b);
	c->state_commit |= NVMM_X64_STATE_GPRS;
	err = run(&vm, &e);
	CHECK("munmap", err == 0 && e.reason == NVMM_VCPU_EXIT_MEMORY &&
	    e.u.mem.gpa == 0x3000, "reason 0x%llx gpa 0x%llx",
	    (unsigned long long)e.reason, (unsigned long long)e.u.mem.gpa);
	pass("munmap");

	/* stop: the next run returns STOPPED once. */
	c->stop = 1;
	err = run(&vm, &e);
	CHECK("stop", err == 0 && e.reason == NVMM_VCPU_EXIT_STOPPED &&
	    c->stop == 0, "reason 0x%llx stop %d", (unsigned long long)e.reason,
	    c->stop);
	pass("stop");

	/* An invalid event makes RUN fail with EINVAL. */
	c->event.type = 7;
	c->event_commit = true;
	err = run(&vm, &e);
	CHECK("bad-event", err == -EINVAL, "err %d", err);
	c->event_commit = false;
	pass("bad-event");
}

/* Whether the kernel log holds `what` (the module names refused rules). */
static bool
klog_has(const char *what)
{
	static char buf[1 << 17];
	int n = klogctl(3, buf, sizeof(buf) - 1);	/* SYSLOG_ACTION_READ_ALL */

	if (n < 0)
		return false;
	buf[n] = 0;
	return strstr(buf, what) != NULL;
}

/*
 * A state no CPU could be in: SETSTATE fails with EINVAL and loads
 * nothing; committed lazily, RUN fails with EINVAL and keeps the commit
 * pending; the kernel log names the rule; corrected, the guest runs.
 */
static void
test_setstate_refused(int fd)
{
	struct nvmm_ioc_machine_destroy md;
	struct nvmm_ioc_vcpu vc;
	struct nvmm_x86_exit e;
	struct nvmm_comm_page *c;
	struct vm vm;
	uint64_t cr4;
	int err;

	CHECK("setstate-refused", vm_create(fd, &vm) == 0, "%s",
	    strerror(errno));
	c = vm.comm;
	vc.machid = vm.machid;
	vc.cpuid = 0;
	c->state_wanted = NVMM_X64_STATE_CRS;
	CHECK("setstate-refused", xioctl(fd, NVMM_IOC_VCPU_GETSTATE, &vc) == 0,
	    "getstate");
	cr4 = c->state.crs[NVMM_X64_CR_CR4];
	c->state.crs[NVMM_X64_CR_CR4] = cr4 | (1ULL << 31);
	c->state_wanted = NVMM_X64_STATE_CRS;
	err = xioctl(fd, NVMM_IOC_VCPU_SETSTATE, &vc);
	CHECK("setstate-refused", err == -EINVAL, "SETSTATE of CR4 bit 31: %d",
	    err);
	c->state_wanted = NVMM_X64_STATE_CRS;
	CHECK("setstate-refused", xioctl(fd, NVMM_IOC_VCPU_GETSTATE, &vc) == 0 &&
	    c->state.crs[NVMM_X64_CR_CR4] == cr4, "CR4 loaded anyway: 0x%llx",
	    (unsigned long long)c->state.crs[NVMM_X64_CR_CR4]);
	CHECK("setstate-refused", klog_has("setstate refused: CR4 has bits"),
	    "no kernel log line naming CR4");
	pass("setstate-refused");

	c->state.crs[NVMM_X64_CR_CR0] |= 1ULL << 29;	/* NW */
	c->state.crs[NVMM_X64_CR_CR0] &= ~(1ULL << 30);	/* without CD */
	c->state_commit = NVMM_X64_STATE_CRS;
	err = run(&vm, &e);
	CHECK("run-refused", err == -EINVAL &&
	    c->state_commit == NVMM_X64_STATE_CRS, "RUN with CR0.NW without "
	    "CD: %d, commit 0x%llx", err, (unsigned long long)c->state_commit);
	CHECK("run-refused", klog_has("setstate refused: CR0.NW without CR0.CD"),
	    "no kernel log line naming CR0.NW");
	c->state.crs[NVMM_X64_CR_CR0] = 0x60000010;
	set_real_mode(c, GUEST_BASE);
	err = run(&vm, &e);
	CHECK("run-refused", err == 0 && e.reason == NVMM_VCPU_EXIT_IO &&
	    e.u.io.port == 0x10, "corrected: err %d reason 0x%llx", err,
	    (unsigned long long)e.reason);
	pass("run-refused");
	md.machid = vm.machid;
	md.rsvd = 0;
	xioctl(fd, NVMM_IOC_MACHINE_DESTROY, &md);
	munmap(vm.comm, 4096);
	munmap(vm.ram, RAM_SIZE);
}

/*
 * max_machines (128 by default): one process creates them all, each with a
 * VCPU; the next one fails with ENOBUFS; all are destroyed and a slot is
 * usable again.
 */
static void
test_limit(void)
{
	struct nvmm_ioc_machine_create mc;
	struct nvmm_ioc_machine_destroy md;
	struct nvmm_ioc_vcpu vc;
	uint32_t ids[128];
	unsigned int n = 0, i;
	int fd, err = 0;

	fd = open("/dev/nvmm", O_RDWR | O_CLOEXEC);
	CHECK("limit-128", fd != -1, "open: %s", strerror(errno));
	while (n < 128) {
		memset(&mc, 0, sizeof(mc));
		err = xioctl(fd, NVMM_IOC_MACHINE_CREATE, &mc);
		if (err)
			break;
		ids[n++] = mc.machid;
		vc.machid = mc.machid;
		vc.cpuid = 0;
		err = xioctl(fd, NVMM_IOC_VCPU_CREATE, &vc);
		if (err)
			break;
	}
	if (n < 128 || err) {
		close(fd);
		fail("limit-128", "machine %u: %s", n, strerror(-err));
		return;
	}
	err = xioctl(fd, NVMM_IOC_MACHINE_CREATE, &mc);
	if (err != -ENOBUFS) {
		close(fd);
		fail("limit-128", "machine 129: %s (want ENOBUFS)",
		    err ? strerror(-err) : "created");
		return;
	}
	for (i = 0; i < n; i++) {
		md.machid = ids[i];
		md.rsvd = 0;
		err = xioctl(fd, NVMM_IOC_MACHINE_DESTROY, &md);
		if (err)
			break;
	}
	if (err) {
		close(fd);
		fail("limit-128", "destroy %u: %s", ids[i], strerror(-err));
		return;
	}
	err = xioctl(fd, NVMM_IOC_MACHINE_CREATE, &mc);
	close(fd);
	CHECK("limit-128", err == 0, "create after destroying all: %s",
	    strerror(-err));
	pass("limit-128");
}

/*
 * Two processes: the child opens /dev/nvmm itself and cannot touch the
 * parent's machine, the parent cannot touch the child's, and the child's
 * machine goes away when the child exits without closing anything.
 */
static void
test_processes(int fd)
{
	struct nvmm_ioc_machine_create mc, cmc;
	struct nvmm_ioc_machine_destroy md;
	struct nvmm_ioc_mach_info info;
	struct nvmm_ioc_ctl ctl;
	struct nvmm_ioc_vcpu vc;
	int up[2], down[2], st = 0, bad;
	pid_t pid;
	char c = 0;

	memset(&mc, 0, sizeof(mc));
	CHECK("ownership-process", xioctl(fd, NVMM_IOC_MACHINE_CREATE, &mc) == 0,
	    "machine create: %s", strerror(errno));
	CHECK("ownership-process", pipe(up) == 0 && pipe(down) == 0, "pipe");
	pid = fork();
	CHECK("ownership-process", pid != -1, "fork: %s", strerror(errno));
	if (pid == 0) {
		/* exit status: 0 ok, 10+n check n failed */
		int cfd = open("/dev/nvmm", O_RDWR);
		void *p;

		if (cfd == -1)
			_exit(10);
		vc.machid = mc.machid;
		vc.cpuid = 0;
		if (xioctl(cfd, NVMM_IOC_VCPU_CREATE, &vc) != -EPERM)
			_exit(11);
		md.machid = mc.machid;
		md.rsvd = 0;
		if (xioctl(cfd, NVMM_IOC_MACHINE_DESTROY, &md) != -EPERM)
			_exit(12);
		p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, cfd,
		    (off_t)NVMM_COMM_OFFSET(mc.machid, 0));
		if (p != MAP_FAILED || errno != EPERM)
			_exit(13);
		memset(&cmc, 0, sizeof(cmc));
		if (xioctl(cfd, NVMM_IOC_MACHINE_CREATE, &cmc) != 0)
			_exit(14);
		if (write(up[1], &cmc.machid, sizeof(cmc.machid)) !=
		    sizeof(cmc.machid))
			_exit(15);
		/* wait for the parent's checks; exit with cfd still open */
		if (read(down[0], &c, 1) != 1)
			_exit(16);
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	memset(&cmc, 0, sizeof(cmc));
	if (read(up[0], &cmc.machid, sizeof(cmc.machid)) !=
	    sizeof(cmc.machid)) {
		close(down[1]);
		close(up[0]);
		waitpid(pid, &st, 0);
		fail("ownership-process", "child exit status %d",
		    WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		return;
	}
	memset(&info, 0, sizeof(info));
	info.machid = cmc.machid;
	ctl.op = NVMM_CTL_MACH_INFO;
	ctl.rsvd = 0;
	ctl.data = (uintptr_t)&info;
	ctl.size = sizeof(info);
	vc.machid = cmc.machid;
	vc.cpuid = 0;
	md.machid = cmc.machid;
	md.rsvd = 0;
	bad = 0;
	if (xioctl(fd, NVMM_IOC_CTL, &ctl) != -EPERM)
		bad = 1;
	else if (xioctl(fd, NVMM_IOC_VCPU_CREATE, &vc) != -EPERM)
		bad = 2;
	else if (xioctl(fd, NVMM_IOC_MACHINE_DESTROY, &md) != -EPERM)
		bad = 3;
	if (write(down[1], &c, 1) != 1)
		bad = 4;
	close(down[1]);
	close(up[0]);
	CHECK("ownership-process", waitpid(pid, &st, 0) == pid &&
	    WIFEXITED(st) && WEXITSTATUS(st) == 0, "child: check %d failed "
	    "(status 0x%x)", WIFEXITED(st) ? WEXITSTATUS(st) - 10 : -1, st);
	CHECK("ownership-process", bad == 0, "parent check %d: the child's "
	    "machine %u was reachable", bad, cmc.machid);
	pass("ownership-process");

	CHECK("exit-destroys", xioctl(fd, NVMM_IOC_CTL, &ctl) == -ENOENT,
	    "the child's machine %u survived its exit", cmc.machid);
	md.machid = mc.machid;
	CHECK("exit-destroys", xioctl(fd, NVMM_IOC_MACHINE_DESTROY, &md) == 0,
	    "the parent's machine %u is gone", mc.machid);
	pass("exit-destroys");
}

/* ------------------------------------------------------------------------ */
/* The root owner                                                            */

#define ROOT_RAM	0x23000		/* 140 KiB: the child's registered RAM */

/* MACH_INFO of machid through fd: 0 or -errno. */
static int
mach_info(int fd, uint32_t machid, struct nvmm_ioc_mach_info *info)
{
	struct nvmm_ioc_ctl ctl;

	memset(info, 0, sizeof(*info));
	info->machid = machid;
	memset(&ctl, 0, sizeof(ctl));
	ctl.op = NVMM_CTL_MACH_INFO;
	ctl.data = (uintptr_t)info;
	ctl.size = sizeof(*info);
	return xioctl(fd, NVMM_IOC_CTL, &ctl);
}

/* Drops CAP_SYS_ADMIN from the effective and permitted sets: 0 or -1. */
static int
drop_sys_admin(void)
{
	struct __user_cap_header_struct hdr;
	struct __user_cap_data_struct data[2];

	memset(&hdr, 0, sizeof(hdr));
	memset(data, 0, sizeof(data));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	if (syscall(SYS_capget, &hdr, data) == -1)
		return -1;
	data[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective &= ~CAP_TO_MASK(CAP_SYS_ADMIN);
	data[CAP_TO_INDEX(CAP_SYS_ADMIN)].permitted &= ~CAP_TO_MASK(CAP_SYS_ADMIN);
	data[CAP_TO_INDEX(CAP_SYS_ADMIN)].inheritable &= ~CAP_TO_MASK(CAP_SYS_ADMIN);
	return syscall(SYS_capset, &hdr, data) == -1 ? -1 : 0;
}

/*
 * The VMM of the root owner tests: its own process, its own ordinary open
 * file, a machine with VCPUs 0 and 1, ROOT_RAM bytes registered and the
 * comm page of VCPU 0 mapped. Writes the machine id to `up`, then waits
 * for a byte on `down` (or its end) and exits with its file still open;
 * after the byte it checks that its comm page is still writable (the
 * parent may have destroyed the machine meanwhile).
 * Exit status: 0 ok, 30+n step n failed.
 */
static void __attribute__((noreturn))
root_vmm_child(int up, int down)
{
	struct nvmm_ioc_machine_create mc;
	struct nvmm_ioc_vcpu vc;
	struct nvmm_ioc_hva hm;
	volatile struct nvmm_comm_page *comm;
	void *ram, *p;
	char c;
	int cfd;

	cfd = open("/dev/nvmm", O_RDWR | O_CLOEXEC);
	if (cfd == -1)
		_exit(30);
	memset(&mc, 0, sizeof(mc));
	if (xioctl(cfd, NVMM_IOC_MACHINE_CREATE, &mc))
		_exit(31);
	for (vc.cpuid = 0; vc.cpuid < 2; vc.cpuid++) {
		vc.machid = mc.machid;
		if (xioctl(cfd, NVMM_IOC_VCPU_CREATE, &vc))
			_exit(32);
	}
	ram = mmap(NULL, ROOT_RAM, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED)
		_exit(33);
	memset(&hm, 0, sizeof(hm));
	hm.machid = mc.machid;
	hm.hva = (uintptr_t)ram;
	hm.size = ROOT_RAM;
	if (xioctl(cfd, NVMM_IOC_HVA_MAP, &hm))
		_exit(34);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, cfd,
	    (off_t)NVMM_COMM_OFFSET(mc.machid, 0));
	if (p == MAP_FAILED)
		_exit(35);
	comm = p;
	if (write(up, &mc.machid, sizeof(mc.machid)) != sizeof(mc.machid))
		_exit(36);
	if (read(down, &c, 1) == 1) {
		comm->stop = 1;
		if (comm->stop != 1)
			_exit(37);
	}
	_exit(0);
}

/*
 * nvmm_root_init() in its own process (the library is per process):
 * nvmm_ctl reports the VMM's machine, and the root owner creates none.
 * Exit status: 0 ok, 40+n step n failed.
 */
static void __attribute__((noreturn))
root_lib_child(uint32_t machid, pid_t vmm)
{
	struct nvmm_ctl_mach_info info;
	struct nvmm_machine m;

	setenv("NVMM_BACKEND", "nvmm", 1);
	if (nvmm_root_init() == -1)
		_exit(40);
	memset(&info, 0, sizeof(info));
	info.machid = machid;
	if (nvmm_ctl(NVMM_CTL_MACH_INFO, &info, sizeof(info)) == -1)
		_exit(41);
	if (info.pid != vmm || info.nvcpus != 2 || info.nram != ROOT_RAM)
		_exit(42);
	if (nvmm_machine_create(&m) != -1 || errno != EPERM)
		_exit(43);
	_exit(0);
}

/* Without CAP_SYS_ADMIN: no root owner. Exit status: 0 ok, 50+n. */
static void __attribute__((noreturn))
root_nocap_child(uint32_t machid)
{
	struct nvmm_ioc_mach_info info;
	int f;

	if (drop_sys_admin() == -1)
		_exit(50);
	f = open("/dev/nvmm", O_WRONLY | O_CLOEXEC);
	if (f != -1 || errno != EPERM)
		_exit(51);
	/* Still root (uid 0 owns the device): an ordinary owner. */
	f = open("/dev/nvmm", O_RDWR | O_CLOEXEC);
	if (f == -1)
		_exit(52);
	if (mach_info(f, machid, &info) != -EPERM)
		_exit(53);
	setenv("NVMM_BACKEND", "nvmm", 1);
	if (nvmm_root_init() != -1 || errno != EPERM)
		_exit(54);
	if (nvmm_init() == -1)
		_exit(55);
	_exit(0);
}

/* Waits for child pid: its exit status, or -1. */
static int
child_status(pid_t pid)
{
	int st;

	if (pid == -1)
		return -1;
	while (waitpid(pid, &st, 0) == -1) {
		if (errno != EINTR)
			return -1;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
test_root_owner(int fd)
{
	struct nvmm_ioc_machine_create mc;
	struct nvmm_ioc_machine_destroy md;
	struct nvmm_ioc_mach_info info;
	struct nvmm_ioc_vcpu vc;
	struct nvmm_ioc_vcpu_run vr;
	int up[2], down[2], rfd, rfd2, st, err;
	uint32_t machid = 0;
	time_t t0, t1;
	pid_t vmm, pid;
	char c = 0;
	void *p;

	CHECK("root-owner", pipe(up) == 0 && pipe(down) == 0, "pipe");
	t0 = time(NULL);
	fflush(NULL);
	vmm = fork();
	CHECK("root-owner", vmm != -1, "fork: %s", strerror(errno));
	if (vmm == 0) {
		close(up[0]);
		close(down[1]);
		root_vmm_child(up[1], down[0]);
	}
	close(up[1]);
	close(down[0]);
	if (read(up[0], &machid, sizeof(machid)) != sizeof(machid)) {
		close(down[1]);
		close(up[0]);
		st = child_status(vmm);
		fail("root-owner", "the VMM child failed: exit status %d", st);
		return;
	}
	close(up[0]);
	t1 = time(NULL);

	err = 0;
	rfd = open("/dev/nvmm", O_WRONLY | O_CLOEXEC);
	if (rfd == -1) {
		fail("root-owner", "O_WRONLY open as root: %s", strerror(errno));
		goto out;
	}
	err = mach_info(rfd, machid, &info);
	if (err != 0 || info.machid != machid || info.pid != vmm ||
	    info.nvcpus != 2 || info.nram != ROOT_RAM ||
	    info.time < t0 - 1 || info.time > t1 + 1) {
		fail("root-owner", "MACH_INFO of machine %u: %s; pid %ld (want "
		    "%ld) nvcpus %u nram %llu (want %u) time %lld (want %lld-%lld)",
		    machid, err ? strerror(-err) : "ok", (long)info.pid,
		    (long)vmm, info.nvcpus, (unsigned long long)info.nram,
		    ROOT_RAM, (long long)info.time, (long long)t0,
		    (long long)t1);
		goto out;
	}
	pass("root-owner/mach-info");

	/* Ordinary owners still see nothing of it. */
	err = mach_info(fd, machid, &info);
	if (err != -EPERM) {
		fail("root-owner", "an ordinary file's MACH_INFO of another "
		    "owner's machine: %s, want EPERM",
		    err ? strerror(-err) : "ok");
		goto out;
	}
	/* Absent (the last slot: a few are in use) and out-of-range machines. */
	if (mach_info(rfd, 127, &info) != -ENOENT ||
	    mach_info(rfd, 100000, &info) != -EINVAL) {
		fail("root-owner", "absent machine: want ENOENT, machid 100000: "
		    "want EINVAL");
		goto out;
	}
	pass("root-owner/others-eperm");

	/* The root owner creates no machine. */
	memset(&mc, 0, sizeof(mc));
	err = xioctl(rfd, NVMM_IOC_MACHINE_CREATE, &mc);
	if (err != -EPERM) {
		fail("root-owner", "root owner's MACHINE_CREATE: %s, want EPERM",
		    err ? strerror(-err) : "created");
		goto out;
	}
	/* A write-only file maps nothing (Linux's mmap needs read access). */
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, rfd,
	    (off_t)NVMM_COMM_OFFSET(machid, 0));
	if (p != MAP_FAILED || errno != EACCES) {
		fail("root-owner", "comm page mapped through a write-only file "
		    "(%s)", p == MAP_FAILED ? strerror(errno) : "mapped");
		goto out;
	}
	pass("root-owner/no-create");

	/* Other ioctls on the machine work, but only its process runs it. */
	vc.machid = machid;
	vc.cpuid = 7;
	if ((err = xioctl(rfd, NVMM_IOC_VCPU_CREATE, &vc)) != 0 ||
	    (err = mach_info(rfd, machid, &info)) != 0 || info.nvcpus != 3 ||
	    (err = xioctl(rfd, NVMM_IOC_VCPU_GETSTATE, &vc)) != 0 ||
	    (err = xioctl(rfd, NVMM_IOC_VCPU_DESTROY, &vc)) != 0) {
		fail("root-owner", "VCPU create/getstate/destroy on another "
		    "owner's machine: %s (nvcpus %u)",
		    err ? strerror(-err) : "ok", info.nvcpus);
		goto out;
	}
	memset(&vr, 0, sizeof(vr));
	vr.machid = machid;
	vr.cpuid = 0;
	err = xioctl(rfd, NVMM_IOC_VCPU_RUN, &vr);
	if (err != -EPERM) {
		fail("root-owner", "VCPU_RUN of another process's machine: %s, "
		    "want EPERM", err ? strerror(-err) : "ran");
		goto out;
	}
	pass("root-owner/ioctls");

	/* Through libnvmm, in another process. */
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		root_lib_child(machid, vmm);
	st = child_status(pid);
	if (st != 0) {
		fail("root-owner", "nvmm_root_init process: step %d failed "
		    "(exit status %d)", st >= 40 ? st - 40 : -1, st);
		goto out;
	}
	pass("root-owner/nvmm_root_init");

	/* Without CAP_SYS_ADMIN, no root owner. */
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		root_nocap_child(machid);
	st = child_status(pid);
	if (st != 0) {
		fail("root-owner", "without CAP_SYS_ADMIN: step %d failed "
		    "(exit status %d)", st >= 50 ? st - 50 : -1, st);
		goto out;
	}
	pass("root-owner/needs-cap-sys-admin");

	/* Closing a root owner leaves the machine alone. */
	rfd2 = open("/dev/nvmm", O_WRONLY | O_CLOEXEC);
	close(rfd);
	rfd = rfd2;
	if (rfd == -1 || (err = mach_info(rfd, machid, &info)) != 0 ||
	    info.pid != vmm) {
		fail("root-owner", "after a root owner closed: %s",
		    rfd == -1 ? strerror(errno) : err ? strerror(-err) :
		    "another machine");
		goto out;
	}
	pass("root-owner/close-keeps");

	/* The root owner destroys it; the VMM's comm page stays valid. */
	md.machid = machid;
	md.rsvd = 0;
	err = xioctl(rfd, NVMM_IOC_MACHINE_DESTROY, &md);
	if (err != 0 || mach_info(rfd, machid, &info) != -ENOENT) {
		fail("root-owner", "MACHINE_DESTROY of another owner's machine: "
		    "%s", err ? strerror(-err) : "the machine is still there");
		goto out;
	}
	if (write(down[1], &c, 1) != 1) {
		fail("root-owner", "pipe write: %s", strerror(errno));
		goto out;
	}
	close(down[1]);
	down[1] = -1;
	st = child_status(vmm);
	vmm = -1;
	if (st != 0) {
		fail("root-owner", "the VMM child: step %d failed (exit "
		    "status %d)", st >= 30 ? st - 30 : -1, st);
		goto out;
	}
	pass("root-owner/destroy");
out:
	if (down[1] != -1)
		close(down[1]);
	if (vmm != -1)
		(void)child_status(vmm);
	if (rfd != -1)
		close(rfd);
}

/* The VMM's machine dies with its process, whoever watched it. */
static void
test_root_exit(void)
{
	struct nvmm_ioc_mach_info info;
	int up[2], rfd, st, err;
	uint32_t machid;
	pid_t vmm;

	CHECK("root-owner/exit-destroys", pipe(up) == 0, "pipe");
	rfd = open("/dev/nvmm", O_WRONLY | O_CLOEXEC);
	CHECK("root-owner/exit-destroys", rfd != -1, "open: %s",
	    strerror(errno));
	fflush(NULL);
	vmm = fork();
	if (vmm == 0) {
		int down[2];

		close(up[0]);
		/* An empty pipe whose writer is gone: read returns 0 at once. */
		if (pipe(down) != 0)
			_exit(29);
		close(down[1]);
		root_vmm_child(up[1], down[0]);
	}
	close(up[1]);
	err = read(up[0], &machid, sizeof(machid)) == sizeof(machid) ? 0 : 1;
	close(up[0]);
	st = child_status(vmm);
	if (err || st != 0) {
		close(rfd);
		fail("root-owner/exit-destroys", "the VMM child: exit status %d",
		    st);
		return;
	}
	err = mach_info(rfd, machid, &info);
	close(rfd);
	CHECK("root-owner/exit-destroys", err == -ENOENT, "machine %u survived "
	    "its process: %s", machid, err ? strerror(-err) : "still there");
	pass("root-owner/exit-destroys");
}

/* munmap of guest RAM from another thread while the VCPU runs. */
struct unmapper {
	struct vm *vm;
	int result;	/* 0 ok, 1 guest never ran, 2 munmap failed, 3 no exit */
	volatile int done;	/* the VCPU run returned */
};

static void *
unmapper_main(void *arg)
{
	struct unmapper *u = arg;
	volatile uint16_t *count = (volatile uint16_t *)(u->vm->ram + 0x5000);
	double t0 = now_s();

	/* The guest increments the counter in its loop: it is in guest mode. */
	while (*count < 100 && now_s() - t0 < 30)
		usleep(1000);
	if (*count < 100) {
		u->result = 1;
		u->vm->comm->stop = 1;
		return NULL;
	}
	if (munmap(u->vm->ram + 0x4000, 4096) != 0) {
		u->result = 2;
		u->vm->comm->stop = 1;
		return NULL;
	}
	/* The guest must leave at once; never hang the test. */
	t0 = now_s();
	while (!u->done && now_s() - t0 < 30)
		usleep(1000);
	if (!u->done) {
		u->result = 3;
		u->vm->comm->stop = 1;
	}
	return NULL;
}

static void
test_munmap_running(int fd)
{
	struct nvmm_x86_exit e;
	struct unmapper u;
	pthread_t t;
	struct vm vm;
	int err;

	CHECK("munmap-running", vm_create(fd, &vm) == 0, "%s",
	    strerror(errno));
	vm.ram[0x4000] = 0x5a;
	set_real_mode(vm.comm, GADDR(g_entry_d));
	u.vm = &vm;
	u.result = 0;
	u.done = 0;
	CHECK("munmap-running", pthread_create(&t, NULL, unmapper_main, &u) == 0,
	    "pthread_create");
	err = run(&vm, &e);
	u.done = 1;
	pthread_join(t, NULL);
	CHECK("munmap-running", u.result == 0, "%s", u.result == 1 ?
	    "the guest loop never ran" : u.result == 2 ? "munmap failed" :
	    "the VCPU did not leave the guest within 30 s of the munmap");
	CHECK("munmap-running", err == 0 && e.reason == NVMM_VCPU_EXIT_MEMORY &&
	    e.u.mem.gpa == 0x4000, "err %d reason 0x%llx gpa 0x%llx (io port "
	    "0x%x: the guest read a different page)", err,
	    (unsigned long long)e.reason, (unsigned long long)e.u.mem.gpa,
	    e.reason == NVMM_VCPU_EXIT_IO ? e.u.io.port : 0);
	pass("munmap-running");
}

int
main(void)
{
	int fd, fd2;

	setvbuf(stdout, NULL, _IOLBF, 0);
	fd = open("/dev/nvmm", O_RDWR);	/* no O_CLOEXEC needed on Linux */
	if (fd == -1) {
		printf("SKIP: module: /dev/nvmm: %s\n", strerror(errno));
		return 0;
	}
	fd2 = open("/dev/nvmm", O_RDWR | O_CLOEXEC);
	if (fd2 == -1) {
		printf("FAIL: module/open: second open: %s\n", strerror(errno));
		return 1;
	}
	test_abi(fd);
	test_limit();
	test_validation(fd, fd2);
	test_guest(fd);
	test_setstate_refused(fd);
	test_processes(fd);
	test_munmap_running(fd);
	test_root_owner(fd);
	test_root_exit();
	close(fd);
	return nfail ? 1 : 0;
}

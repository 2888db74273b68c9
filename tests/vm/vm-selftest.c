// SPDX-License-Identifier: BSD-2-Clause
/*
 * Self-test of the emulated-machine harness (tests/vm/). Runs inside the
 * QEMU guest, where the guest kernel's kvm_amd provides /dev/kvm, and talks
 * to KVM with raw ioctls only (no libnvmm), so it proves the harness before
 * the library exists.
 *
 *   vm-selftest                 cases kvm-api and kvm-smoke (the default)
 *   vm-selftest --fail          prints a FAIL line and exits 1
 *   vm-selftest --exit N        prints nothing, exits with status N
 *   vm-selftest --crash         dies of SIGSEGV
 *   vm-selftest --hang          sleeps forever (per-program timeout test)
 *   vm-selftest --flood N [hang] prints N numbered PASS lines (output loss
 *                               test), then exits or, with "hang", hangs
 *   vm-selftest --kmsg TEXT     writes TEXT to /dev/kmsg (kernel log check),
 *                               each '_' replaced by a blank
 *   vm-selftest --panic         crashes the guest kernel via sysrq 'c'
 *
 * Output: one line per case, "PASS: name", "FAIL: name: detail".
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/kvm.h>

#define MEM_SIZE	0x10000UL	/* 64 KiB of guest RAM at GPA 0 */
#define CODE_GPA	0x1000UL
#define DATA_GPA	0x2000UL
#define TEST_PORT	0x3f8
#define MMIO_GPA	0x100000UL	/* unmapped: must exit with KVM_EXIT_MMIO */

/*
 * 16-bit real-mode code at CODE_GPA, CS = DS = 0:
 *   mov  $0x3f8, %dx
 *   mov  $'K', %al
 *   out  %al, (%dx)
 *   movw $0xbeef, (0x2000)
 *   mov  $0x1000, %ax
 *   mov  %ax, %ds
 *   movb $0x5a, (0x0)        ; GPA 0x10000: outside the memslot -> MMIO exit
 *   hlt
 */
static const uint8_t guest_code[] = {
	0xba, 0xf8, 0x03,			/* mov $0x3f8,%dx */
	0xb0, 'K',				/* mov $'K',%al */
	0xee,					/* out %al,(%dx) */
	0xc7, 0x06, 0x00, 0x20, 0xef, 0xbe,	/* movw $0xbeef,(0x2000) */
	0xb8, 0x00, 0x10,			/* mov $0x1000,%ax */
	0x8e, 0xd8,				/* mov %ax,%ds */
	0xc6, 0x06, 0x00, 0x00, 0x5a,		/* movb $0x5a,(0x0) */
	0xf4,					/* hlt */
};

static int failures;

static void fail(const char *name, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL: %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	failures++;
}

static const char *
exit_name(uint32_t r)
{
	switch (r) {
	case KVM_EXIT_IO: return "IO";
	case KVM_EXIT_MMIO: return "MMIO";
	case KVM_EXIT_HLT: return "HLT";
	case KVM_EXIT_SHUTDOWN: return "SHUTDOWN";
	case KVM_EXIT_FAIL_ENTRY: return "FAIL_ENTRY";
	case KVM_EXIT_INTERNAL_ERROR: return "INTERNAL_ERROR";
	default: return "other";
	}
}

static int
kvm_api(int kvm)
{
	int v = ioctl(kvm, KVM_GET_API_VERSION, 0);

	if (v != KVM_API_VERSION) {
		fail("kvm-api", "KVM_GET_API_VERSION = %d (errno %d), want %d",
		    v, v < 0 ? errno : 0, KVM_API_VERSION);
		return -1;
	}
	printf("# kvm: api %d, max vcpus %d, sync_regs 0x%x, user_space_msr %d\n",
	    v, ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS),
	    ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS),
	    ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_X86_USER_SPACE_MSR));
	printf("PASS: kvm-api\n");
	return 0;
}

/* One KVM_RUN; returns the exit reason, or -1 (FAIL already printed). */
static int
run_once(int vcpu, struct kvm_run *run)
{
	if (ioctl(vcpu, KVM_RUN, 0) < 0) {
		fail("kvm-smoke", "KVM_RUN: %s", strerror(errno));
		return -1;
	}
	return (int)run->exit_reason;
}

static void
kvm_smoke(int kvm)
{
	const char *name = "kvm-smoke";
	int vm = -1, vcpu = -1, r, before = failures;
	uint8_t *mem = MAP_FAILED;
	struct kvm_run *run = MAP_FAILED;
	long runsz = 0;
	struct kvm_userspace_memory_region slot;
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		fail(name, "KVM_CREATE_VM: %s", strerror(errno));
		goto out;
	}
	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		fail(name, "mmap guest memory: %s", strerror(errno));
		goto out;
	}
	memcpy(mem + CODE_GPA, guest_code, sizeof(guest_code));
	memset(&slot, 0, sizeof(slot));
	slot.slot = 0;
	slot.guest_phys_addr = 0;
	slot.memory_size = MEM_SIZE;
	slot.userspace_addr = (uintptr_t)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot) < 0) {
		fail(name, "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
		goto out;
	}
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0) {
		fail(name, "KVM_CREATE_VCPU: %s", strerror(errno));
		goto out;
	}
	runsz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (runsz < (long)sizeof(*run)) {
		fail(name, "KVM_GET_VCPU_MMAP_SIZE = %ld", runsz);
		goto out;
	}
	run = mmap(NULL, (size_t)runsz, PROT_READ | PROT_WRITE, MAP_SHARED,
	    vcpu, 0);
	if (run == MAP_FAILED) {
		fail(name, "mmap kvm_run: %s", strerror(errno));
		goto out;
	}
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) {
		fail(name, "KVM_GET_SREGS: %s", strerror(errno));
		goto out;
	}
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	sregs.ds.base = 0;
	sregs.ds.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) {
		fail(name, "KVM_SET_SREGS: %s", strerror(errno));
		goto out;
	}
	memset(&regs, 0, sizeof(regs));
	regs.rip = CODE_GPA;
	regs.rflags = 0x2;
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) {
		fail(name, "KVM_SET_REGS: %s", strerror(errno));
		goto out;
	}

	/* 1: out %al,(%dx) */
	if ((r = run_once(vcpu, run)) < 0)
		goto out;
	if (r != KVM_EXIT_IO || run->io.direction != KVM_EXIT_IO_OUT ||
	    run->io.port != TEST_PORT || run->io.size != 1 ||
	    run->io.count != 1 ||
	    *((uint8_t *)run + run->io.data_offset) != 'K') {
		fail(name, "exit 1: reason %u (%s) port 0x%x size %u count %u, "
		    "want IO out 0x%x 'K'", run->exit_reason, exit_name(r),
		    run->io.port, run->io.size, run->io.count, TEST_PORT);
		goto out;
	}
	/* 2: movb to GPA 0x10000, outside the slot */
	if ((r = run_once(vcpu, run)) < 0)
		goto out;
	if (r != KVM_EXIT_MMIO || run->mmio.phys_addr != MEM_SIZE ||
	    !run->mmio.is_write || run->mmio.len != 1 ||
	    run->mmio.data[0] != 0x5a) {
		fail(name, "exit 2: reason %u (%s) gpa 0x%llx len %u, "
		    "want MMIO write 0x%lx", run->exit_reason, exit_name(r),
		    (unsigned long long)run->mmio.phys_addr, run->mmio.len,
		    MEM_SIZE);
		goto out;
	}
	/* 3: hlt (no in-kernel irqchip: HLT exits to userland) */
	if ((r = run_once(vcpu, run)) < 0)
		goto out;
	if (r != KVM_EXIT_HLT) {
		fail(name, "exit 3: reason %u (%s), want HLT",
		    run->exit_reason, exit_name(r));
		goto out;
	}
	if (ioctl(vcpu, KVM_GET_REGS, &regs) < 0) {
		fail(name, "KVM_GET_REGS: %s", strerror(errno));
		goto out;
	}
	if (regs.rip != CODE_GPA + sizeof(guest_code))
		fail(name, "rip after hlt 0x%llx, want 0x%lx",
		    (unsigned long long)regs.rip,
		    CODE_GPA + sizeof(guest_code));
	if (mem[DATA_GPA] != 0xef || mem[DATA_GPA + 1] != 0xbe)
		fail(name, "guest store not visible: %02x %02x, want ef be",
		    mem[DATA_GPA], mem[DATA_GPA + 1]);
	if (failures == before)
		printf("PASS: %s\n", name);
out:
	if (run != MAP_FAILED)
		munmap(run, (size_t)runsz);
	if (vcpu >= 0)
		close(vcpu);
	if (mem != MAP_FAILED)
		munmap(mem, MEM_SIZE);
	if (vm >= 0)
		close(vm);
}

static int
write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

/* --flood: how many lines printf() completed; told on SIGTERM */
static volatile sig_atomic_t flood_done;

static void
flood_term(int sig)
{
	char buf[80];
	int n;

	(void)sig;
	n = snprintf(buf, sizeof(buf), "\n# flood: SIGTERM after %ld lines\n",
	    (long)flood_done);
	if (write(STDOUT_FILENO, buf, (size_t)n) < 0)
		_exit(3);
	_exit(143);
}

int
main(int argc, char **argv)
{
	int kvm;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && strcmp(argv[1], "--fail") == 0) {
		printf("FAIL: harness-fail: deliberate failure\n");
		return 1;
	}
	if (argc >= 3 && strcmp(argv[1], "--exit") == 0)
		return atoi(argv[2]);
	if (argc >= 2 && strcmp(argv[1], "--crash") == 0) {
		printf("# crashing now\n");
		raise(SIGSEGV);
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "--hang") == 0) {
		printf("# hanging now\n");
		for (;;)
			pause();
	}
	if (argc >= 3 && strcmp(argv[1], "--flood") == 0) {
		long n = atol(argv[2]);

		signal(SIGTERM, flood_term);
		for (flood_done = 0; flood_done < n; flood_done++)
			printf("PASS: flood-%06ld\n", (long)flood_done);
		if (argc >= 4 && strcmp(argv[3], "hang") == 0)
			for (;;)
				pause();
		return 0;
	}
	if (argc >= 3 && strcmp(argv[1], "--kmsg") == 0) {
		char line[512], *p;

		/*
		 * The harness splits arguments on blanks: '_' means ' '.
		 * The newline finalizes the record: without it, readers of
		 * the kernel log do not see it until the next record.
		 */
		snprintf(line, sizeof(line), "%s\n", argv[2]);
		for (p = line; *p != '\0'; p++)
			if (*p == '_')
				*p = ' ';
		if (write_file("/dev/kmsg", line) < 0) {
			printf("FAIL: harness-kmsg: /dev/kmsg: %s\n",
			    strerror(errno));
			return 1;
		}
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "--panic") == 0) {
		printf("# panicking the guest kernel now\n");
		if (write_file("/proc/sysrq-trigger", "c") < 0)
			printf("FAIL: harness-panic: sysrq-trigger: %s\n",
			    strerror(errno));
		return 1;
	}
	if (argc >= 2) {
		fprintf(stderr, "usage: vm-selftest [--fail|--exit N|--crash|"
		    "--hang|--flood N|--kmsg TEXT|--panic]\n");
		return 2;
	}

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		printf("FAIL: kvm-api: open /dev/kvm: %s\n", strerror(errno));
		printf("FAIL: kvm-smoke: no /dev/kvm\n");
		return 1;
	}
	if (kvm_api(kvm) == 0)
		kvm_smoke(kvm);
	else
		fail("kvm-smoke", "skipped after kvm-api failure");
	close(kvm);
	return failures ? 1 : 0;
}

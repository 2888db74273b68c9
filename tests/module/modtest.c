/* SPDX-License-Identifier: BSD-2-Clause */
/* modtest.c: see modtest.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>

#include "modtest.h"

int nfail;

void
pass(const char *name)
{
	printf("PASS: module/%s\n", name);
	fflush(stdout);
}

void
fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL: module/%s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	nfail++;
}

void
skip(const char *name, const char *reason)
{
	printf("SKIP: module/%s: %s\n", name, reason);
	fflush(stdout);
}

int
mt_open(const char *what)
{
	int fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	fd = open("/dev/nvmm", O_RDWR);
	if (fd == -1)
		printf("SKIP: module/%s: /dev/nvmm: %s\n", what,
		    strerror(errno));
	return fd;
}

int
xioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) == -1 ? -errno : 0;
}

double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Real mode at GPA 0x1000: a write to MT_TOUCH_GPA, one to each page of
 * [MT_MANY_GPA, MT_RAM_SIZE), then HLT.
 */
extern const unsigned char mt_guest[], mt_guest_end[];
__asm__(
	".pushsection .rodata\n"
	"mt_guest:\n"
	".code16\n"
	"	movb $0x5a, (0x3000)\n"
	"	mov $0x1000, %ax\n"		/* MT_MANY_GPA >> 4 */
	"1:	mov %ax, %es\n"
	"	movb $0x5a, %es:0\n"
	"	add $0x100, %ax\n"		/* the next page */
	"	cmp $0x5000, %ax\n"		/* MT_RAM_SIZE >> 4 */
	"	jne 1b\n"
	"	hlt\n"
	".code64\n"
	"mt_guest_end:\n"
	".popsection\n");

void
set_real_mode(struct nvmm_comm_page *c, uint64_t rip)
{
	struct nvmm_x64_state *st = &c->state;
	int i;

	/* The reset state has CS at 0xF000:FFF0: move it to 0. */
	for (i = 0; i < NVMM_X64_NSEG; i++) {
		if (i == NVMM_X64_SEG_GDT || i == NVMM_X64_SEG_IDT ||
		    i == NVMM_X64_SEG_LDT || i == NVMM_X64_SEG_TR)
			continue;
		st->segs[i].selector = 0;
		st->segs[i].base = 0;
		st->segs[i].limit = 0xFFFF;
	}
	st->gprs[NVMM_X64_GPR_RIP] = rip;
	c->state_commit |= NVMM_X64_STATE_SEGS | NVMM_X64_STATE_GPRS;
}

int
mt_vm_create(int fd, struct mt_vm *vm)
{
	return mt_vm_create_with(fd, vm, mt_guest,
	    (size_t)(mt_guest_end - mt_guest), MT_RAM_SIZE);
}

int
mt_vm_create_with(int fd, struct mt_vm *vm, const void *code, size_t len,
    size_t ram_size)
{
	struct nvmm_ioc_machine_create mc;
	struct nvmm_ioc_vcpu vc;
	struct nvmm_ioc_hva hm;
	struct nvmm_ioc_gpa_map gm;
	void *p;
	int err;

	memset(vm, 0, sizeof(*vm));
	vm->fd = fd;
	memset(&mc, 0, sizeof(mc));
	if ((err = xioctl(fd, NVMM_IOC_MACHINE_CREATE, &mc)) != 0)
		goto fail;
	vm->machid = mc.machid;
	vc.machid = mc.machid;
	vc.cpuid = 0;
	if ((err = xioctl(fd, NVMM_IOC_VCPU_CREATE, &vc)) != 0)
		goto fail;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
	    (off_t)NVMM_COMM_OFFSET(mc.machid, 0));
	if (p == MAP_FAILED)
		return -1;
	vm->comm = p;
	p = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	vm->ram = p;
	/* Small pages: the tests look at single pages. */
	(void)madvise(p, ram_size, MADV_NOHUGEPAGE);
	memcpy(vm->ram + 0x1000, code, len);
	memset(&hm, 0, sizeof(hm));
	hm.machid = mc.machid;
	hm.hva = (uintptr_t)vm->ram;
	hm.size = ram_size;
	if ((err = xioctl(fd, NVMM_IOC_HVA_MAP, &hm)) != 0)
		goto fail;
	memset(&gm, 0, sizeof(gm));
	gm.machid = mc.machid;
	gm.hva = (uintptr_t)vm->ram;
	gm.gpa = 0;
	gm.size = ram_size;
	gm.prot = PROT_READ | PROT_WRITE | PROT_EXEC;
	if ((err = xioctl(fd, NVMM_IOC_GPA_MAP, &gm)) != 0)
		goto fail;
	set_real_mode(vm->comm, 0x1000);
	return 0;
fail:
	errno = -err;
	return -1;
}

int
mt_run_vcpu0(int fd, uint32_t machid, struct nvmm_x86_exit *exit)
{
	struct nvmm_ioc_vcpu_run r;
	int err;

	memset(&r, 0, sizeof(r));
	r.machid = machid;
	r.cpuid = 0;
	do {
		err = xioctl(fd, NVMM_IOC_VCPU_RUN, &r);
	} while (err == 0 && r.exit.reason == NVMM_VCPU_EXIT_NONE);
	*exit = r.exit;
	return err;
}

int
mt_run(struct mt_vm *vm, struct nvmm_x86_exit *exit)
{
	return mt_run_vcpu0(vm->fd, vm->machid, exit);
}

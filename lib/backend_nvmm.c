/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * backend_nvmm.c: libnvmm over /dev/nvmm, our kernel module (kernel/).
 *
 * The ABI is include/nvmm_ioctl.h. Each VCPU has a comm page mapped from
 * the device: the library's nvmm_vcpu::state and ::event live in it, so
 * setstate and inject are plain stores (libnvmm.c sets state_commit /
 * event_commit) and getstate of cached components costs nothing; the RUN
 * ioctl commits, runs and pre-fetches what the assists need. The module
 * completes nothing behind the library's back: the generic assists
 * (x86_assist.c) do all instruction emulation.
 *
 * Machine ids: the module numbers machines host-wide, the library per
 * process; the module's id is kept in lib_machine::be. nvmm_ctl() speaks
 * the module's ids.
 *
 * nvmm_root_init() opens the device write-only, as NetBSD's does: the
 * module makes that file the root owner (it needs CAP_SYS_ADMIN, else
 * EPERM), which may query every machine of the host (nvmmctl list) but
 * creates none; nvmm_init() opens it read-write, an ordinary owner.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backend.h"
#include "nvmm_ioctl.h"
#include "x86_decode.h"
#include "x86_walk.h"

#define CR0_PE		(1ULL << 0)
#define EFER_LMA	(1ULL << 10)
#define RFLAGS_VM	(1ULL << 17)

struct nvmm_be_machine {
	uint32_t kmachid;
};

struct nvmm_be_vcpu {
	struct nvmm_comm_page *comm;
	struct nvmm_x86_exit exit;
};

static int nvmm_fd = -1;

static void io_fix_asize(struct lib_machine *lm, struct nvmm_be_vcpu *bv);

static uint32_t
kmachid(const struct lib_machine *lm)
{
	return ((const struct nvmm_be_machine *)lm->be)->kmachid;
}

static int
dev_init(bool root, struct nvmm_capability *cap)
{
	struct nvmm_ioc_abi abi;
	int fd = nvmm_fd, err;

	if (fd == -1) {
		fd = open("/dev/nvmm", (root ? O_WRONLY : O_RDWR) | O_CLOEXEC);
		if (fd == -1)
			return -1;	/* ENOENT without the module */
		memset(&abi, 0, sizeof(abi));
		if (ioctl(fd, NVMM_IOC_ABI, &abi) == -1 ||
		    abi.abi_version != NVMM_IOCTL_ABI_VERSION ||
		    abi.comm_page_size != NVMM_COMM_PAGE_SIZE ||
		    sysconf(_SC_PAGESIZE) != NVMM_COMM_PAGE_SIZE) {
			close(fd);
			errno = EPROGMISMATCH;
			return -1;
		}
	}
	memset(cap, 0, sizeof(*cap));
	if (ioctl(fd, NVMM_IOC_CAPABILITY, cap) == -1) {
		err = errno;
		if (fd != nvmm_fd)
			close(fd);
		errno = err;
		return -1;
	}
	if (cap->version != NVMM_KERN_VERSION ||
	    cap->state_size != sizeof(struct nvmm_x64_state)) {
		if (fd != nvmm_fd)
			close(fd);
		errno = EPROGMISMATCH;
		return -1;
	}
	/* The library's tables bound what it can use. */
	if (cap->max_machines > LIB_MAX_MACHINES)
		cap->max_machines = LIB_MAX_MACHINES;
	if (cap->max_vcpus > LIB_MAX_VCPUS)
		cap->max_vcpus = LIB_MAX_VCPUS;
	if (cap->arch.conf_cpuid_maxops > LIB_CPUID_MAXOPS)
		cap->arch.conf_cpuid_maxops = LIB_CPUID_MAXOPS;
	nvmm_fd = fd;
	return 0;
}

/* -------------------------------------------------------------------------- */
/* Machines and memory.                                                       */

static int
dev_machine_create(struct lib_machine *lm)
{
	struct nvmm_ioc_machine_create args;
	struct nvmm_be_machine *bm;

	bm = calloc(1, sizeof(*bm));
	if (bm == NULL)
		return -1;
	memset(&args, 0, sizeof(args));
	if (ioctl(nvmm_fd, NVMM_IOC_MACHINE_CREATE, &args) == -1) {
		int err = errno;
		free(bm);
		errno = err;
		return -1;
	}
	bm->kmachid = args.machid;
	lm->be = bm;
	return 0;
}

static void
dev_machine_destroy(struct lib_machine *lm)
{
	struct nvmm_ioc_machine_destroy args;

	memset(&args, 0, sizeof(args));
	args.machid = kmachid(lm);
	(void)ioctl(nvmm_fd, NVMM_IOC_MACHINE_DESTROY, &args);
	free(lm->be);
	lm->be = NULL;
}

static int
dev_machine_configure(struct lib_machine *lm, uint64_t op, void *conf)
{
	struct nvmm_ioc_machine_configure args;

	memset(&args, 0, sizeof(args));
	args.machid = kmachid(lm);
	args.op = op;
	args.conf = (uint64_t)(uintptr_t)conf;
	return ioctl(nvmm_fd, NVMM_IOC_MACHINE_CONFIGURE, &args) == -1 ? -1 : 0;
}

static int
dev_hva(struct lib_machine *lm, uintptr_t hva, size_t size, unsigned long req)
{
	struct nvmm_ioc_hva args;

	memset(&args, 0, sizeof(args));
	args.machid = kmachid(lm);
	args.hva = hva;
	args.size = size;
	return ioctl(nvmm_fd, req, &args) == -1 ? -1 : 0;
}

static int
dev_hva_map(struct lib_machine *lm, uintptr_t hva, size_t size)
{
	return dev_hva(lm, hva, size, NVMM_IOC_HVA_MAP);
}

static int
dev_hva_unmap(struct lib_machine *lm, uintptr_t hva, size_t size)
{
	return dev_hva(lm, hva, size, NVMM_IOC_HVA_UNMAP);
}

static int
dev_gpa_map(struct lib_machine *lm, struct lib_gpa_area *a)
{
	struct nvmm_ioc_gpa_map args;

	memset(&args, 0, sizeof(args));
	args.machid = kmachid(lm);
	args.prot = (uint32_t)a->prot;
	args.hva = a->hva;
	args.gpa = a->gpa;
	args.size = a->size;
	return ioctl(nvmm_fd, NVMM_IOC_GPA_MAP, &args) == -1 ? -1 : 0;
}

static void
dev_gpa_unmap(struct lib_machine *lm, struct lib_gpa_area *a)
{
	struct nvmm_ioc_gpa_unmap args;

	memset(&args, 0, sizeof(args));
	args.machid = kmachid(lm);
	args.gpa = a->gpa;
	args.size = a->size;
	(void)ioctl(nvmm_fd, NVMM_IOC_GPA_UNMAP, &args);
}

/* -------------------------------------------------------------------------- */
/* VCPUs.                                                                     */

static int
vcpu_ioctl(struct lib_machine *lm, struct lib_vcpu *lv, unsigned long req)
{
	struct nvmm_ioc_vcpu args;

	args.machid = kmachid(lm);
	args.cpuid = lv->cpuid;
	return ioctl(nvmm_fd, req, &args) == -1 ? -1 : 0;
}

static int
dev_vcpu_create(struct lib_machine *lm, struct lib_vcpu *lv)
{
	struct nvmm_be_vcpu *bv;
	void *p;
	int err;

	bv = calloc(1, sizeof(*bv));
	if (bv == NULL)
		return -1;
	if (vcpu_ioctl(lm, lv, NVMM_IOC_VCPU_CREATE) == -1)
		goto fail;
	p = mmap(NULL, NVMM_COMM_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
	    nvmm_fd, (off_t)NVMM_COMM_OFFSET(kmachid(lm), lv->cpuid));
	if (p == MAP_FAILED) {
		err = errno;
		(void)vcpu_ioctl(lm, lv, NVMM_IOC_VCPU_DESTROY);
		errno = err;
		goto fail;
	}
	bv->comm = p;
	lv->be = bv;
	lv->state = &bv->comm->state;
	lv->event = &bv->comm->event;
	lv->exit = &bv->exit;
	lv->state_cached = &bv->comm->state_cached;
	lv->state_commit = &bv->comm->state_commit;
	lv->event_commit = &bv->comm->event_commit;
	return 0;
fail:
	err = errno;
	free(bv);
	errno = err;
	return -1;
}

static void
dev_vcpu_destroy(struct lib_machine *lm, struct lib_vcpu *lv)
{
	struct nvmm_be_vcpu *bv = lv->be;

	munmap(bv->comm, NVMM_COMM_PAGE_SIZE);
	(void)vcpu_ioctl(lm, lv, NVMM_IOC_VCPU_DESTROY);
	free(bv);
	lv->be = NULL;
}

static int
dev_vcpu_configure(struct lib_machine *lm, struct lib_vcpu *lv, uint64_t op,
    void *conf)
{
	struct nvmm_ioc_vcpu_configure args;

	memset(&args, 0, sizeof(args));
	args.machid = kmachid(lm);
	args.cpuid = lv->cpuid;
	args.op = op;
	args.conf = (uint64_t)(uintptr_t)conf;
	return ioctl(nvmm_fd, NVMM_IOC_VCPU_CONFIGURE, &args) == -1 ? -1 : 0;
}

static int
dev_vcpu_getstate(struct lib_machine *lm, struct lib_vcpu *lv, uint64_t flags)
{
	struct nvmm_be_vcpu *bv = lv->be;

	bv->comm->state_wanted = flags;
	return vcpu_ioctl(lm, lv, NVMM_IOC_VCPU_GETSTATE);
}

static int
dev_vcpu_run(struct lib_machine *lm, struct lib_vcpu *lv)
{
	struct nvmm_be_vcpu *bv = lv->be;
	struct nvmm_ioc_vcpu_run args;

	args.machid = kmachid(lm);
	args.cpuid = lv->cpuid;
	if (ioctl(nvmm_fd, NVMM_IOC_VCPU_RUN, &args) == -1)
		return -1;
	bv->exit = args.exit;
	/*
	 * A signal made the module return NONE, and its handler, which ran
	 * on the way out of the ioctl, may have called nvmm_vcpu_stop (QEMU
	 * does): then this is the stopped run, and no stop may remain for
	 * the next one.
	 */
	if (bv->exit.reason == NVMM_VCPU_EXIT_NONE &&
	    __atomic_exchange_n(&bv->comm->stop, 0, __ATOMIC_SEQ_CST))
		bv->exit.reason = NVMM_VCPU_EXIT_STOPPED;
	/* The comm page's flag decides; vcpu->stop only shows the request. */
	if (bv->exit.reason == NVMM_VCPU_EXIT_STOPPED)
		__atomic_store_n(&lv->stop, 0, __ATOMIC_SEQ_CST);
	if (bv->exit.reason == NVMM_VCPU_EXIT_IO &&
	    bv->exit.u.io.address_size == 0)
		io_fix_asize(lm, bv);
	return 0;
}

/* -------------------------------------------------------------------------- */
/* IO exits without an address size (QEMU's SVM emulation gives none).        */

static uint8_t *
gmem_ptr(void *ctx, uint64_t gpa, nvmm_prot_t *prot)
{
	uintptr_t hva;
	int p;

	if (lib_gpa_lookup(ctx, gpa, &hva, NULL, &p) == -1)
		return NULL;
	if (prot != NULL)
		*prot = (nvmm_prot_t)p;
	return (uint8_t *)hva;
}

static enum x86_code_size
code_size(const struct nvmm_x64_state *st)
{
	const struct nvmm_x64_state_seg *cs = &st->segs[NVMM_X64_SEG_CS];

	if (!(st->crs[NVMM_X64_CR_CR0] & CR0_PE) ||
	    (st->gprs[NVMM_X64_GPR_RFLAGS] & RFLAGS_VM))
		return X86_CODE16;
	if ((st->msrs[NVMM_X64_MSR_EFER] & EFER_LMA) && cs->attrib.l)
		return X86_CODE64;
	return cs->attrib.def ? X86_CODE32 : X86_CODE16;
}

/*
 * The module pre-cached GPRS|SEGS|CRS|MSRS for this exit: decode the
 * instruction at CS:RIP for its address size; without the bytes, the
 * mode's default.
 */
static void
io_fix_asize(struct lib_machine *lm, struct nvmm_be_vcpu *bv)
{
	const struct nvmm_x64_state *st = &bv->comm->state;
	const uint64_t need = NVMM_X64_STATE_GPRS | NVMM_X64_STATE_SEGS |
	    NVMM_X64_STATE_CRS | NVMM_X64_STATE_MSRS;
	struct nvmm_x86_exit_io *io = &bv->exit.u.io;
	struct x86_guest_mem mem = { lm, gmem_ptr };
	enum x86_code_size cs;
	struct x86_paging pg;
	struct x86_insn insn;
	uint8_t bytes[15];
	uint64_t va;
	size_t n = 0;

	if ((bv->comm->state_cached & need) != need) {
		io->address_size = 4;	/* not expected: the module provides it */
		return;
	}
	cs = code_size(st);
	io->address_size = cs == X86_CODE64 ? 8 : (uint8_t)cs;
	if (!io->str)
		return;
	memset(&pg, 0, sizeof(pg));
	pg.cr0 = st->crs[NVMM_X64_CR_CR0];
	pg.cr3 = st->crs[NVMM_X64_CR_CR3];
	pg.cr4 = st->crs[NVMM_X64_CR_CR4];
	pg.efer = st->msrs[NVMM_X64_MSR_EFER];
	pg.rflags = st->gprs[NVMM_X64_GPR_RFLAGS];
	pg.cpl = st->segs[NVMM_X64_SEG_SS].attrib.dpl;
	va = st->segs[NVMM_X64_SEG_CS].base + st->gprs[NVMM_X64_GPR_RIP];
	if (cs != X86_CODE64)
		va &= 0xFFFFFFFFULL;
	while (n < sizeof(bytes)) {
		size_t chunk = 4096 - ((va + n) & 4095);

		if (chunk > sizeof(bytes) - n)
			chunk = sizeof(bytes) - n;
		if (x86_read_virt(&pg, &mem, va + n, bytes + n, chunk, X86_PF_I,
		    NULL) == -1)
			break;
		n += chunk;
	}
	if (x86_decode(bytes, n, cs, &insn) == 0)
		io->address_size = insn.adsize;
}

static void
dev_vcpu_stop(struct lib_vcpu *lv)
{
	struct nvmm_be_vcpu *bv = lv->be;

	/* Async-signal-safe: one store; the kernel checks it before entry. */
	__atomic_store_n(&bv->comm->stop, 1, __ATOMIC_SEQ_CST);
}

static int
dev_ctl(int op, void *data, size_t size)
{
	struct nvmm_ioc_ctl args;

	memset(&args, 0, sizeof(args));
	args.op = op;
	args.data = (uint64_t)(uintptr_t)data;
	args.size = size;
	if (op == NVMM_CTL_MACH_INFO && data == NULL) {
		errno = EFAULT;
		return -1;
	}
	return ioctl(nvmm_fd, NVMM_IOC_CTL, &args) == -1 ? -1 : 0;
}

_Static_assert(sizeof(struct nvmm_ctl_mach_info) ==
    sizeof(struct nvmm_ioc_mach_info), "mach info layouts");

const struct nvmm_backend nvmm_backend_nvmm = {
	.name = "nvmm",
	.init = dev_init,
	.machine_create = dev_machine_create,
	.machine_destroy = dev_machine_destroy,
	.machine_configure = dev_machine_configure,
	.vcpu_create = dev_vcpu_create,
	.vcpu_destroy = dev_vcpu_destroy,
	.vcpu_configure = dev_vcpu_configure,
	.vcpu_getstate = dev_vcpu_getstate,
	.vcpu_run = dev_vcpu_run,
	.vcpu_stop = dev_vcpu_stop,
	.hva_map = dev_hva_map,
	.hva_unmap = dev_hva_unmap,
	.gpa_map = dev_gpa_map,
	.gpa_unmap = dev_gpa_unmap,
	.assist_io = NULL,
	.assist_mem = NULL,
	.ctl = dev_ctl,
};

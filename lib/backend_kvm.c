/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * backend_kvm.c: libnvmm on Linux /dev/kvm (no in-kernel irqchip: devices
 * live in userland, as with NVMM).
 *
 * KVM finishes an IO/MMIO/MSR instruction at the next KVM_RUN ("completion").
 * The library keeps its view of the VCPU state consistent with what that
 * completion will do, and forces the completion early (immediate_exit +
 * KVM_RUN) only where the view cannot be predicted cheaply.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backend.h"
#include "kvm_impl.h"
#include "x86_decode.h"
#include "x86_walk.h"

#define KVM_TSS_ADDR		0xFEFFD000UL
#define KVM_IDENTITY_MAP_ADDR	0xFEFFC000UL
#define RFLAGS_IF		(1ULL << 9)
#define RFLAGS_DF		(1ULL << 10)
#define RFLAGS_VM		(1ULL << 17)
#define CR0_PE			(1ULL << 0)
#define EFER_LMA		(1ULL << 10)
/* Bound on elements an assist completes for one string instruction. */
#define ASSIST_MAX_ROUNDS	65536

static int kvm_fd = -1;
static size_t run_mmap_size;
static unsigned max_slots;
static unsigned max_vcpu_id;
static int kick_signal;		/* 0: no kick, stop waits for the next exit */
static int io_past = -1;	/* KVM_IO_PAST_*; -1: not probed yet */

static void
kick_handler(int sig)
{
	(void)sig;	/* only interrupts KVM_RUN */
}

/* Take a real-time signal to kick VCPU threads, unless the program uses it. */
static void
kick_install(void)
{
	struct sigaction old, sa;
	int sig = SIGRTMAX - 1;

	if (sigaction(sig, NULL, &old) == -1 || old.sa_handler != SIG_DFL)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	/* KVM_RUN returns EINTR anyway; other system calls just restart. */
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) == 0)
		kick_signal = sig;
}

static pid_t
current_tid(void)
{
	static __thread pid_t tid;

	if (tid == 0)
		tid = (pid_t)syscall(SYS_gettid);
	return tid;
}

static int
check_ext(int cap)
{
	int r = ioctl(kvm_fd, KVM_CHECK_EXTENSION, cap);
	return r < 0 ? 0 : r;
}

static uint32_t
host_mxcsr_mask(void)
{
	struct nvmm_x64_state_fpu fx;

	memset(&fx, 0, sizeof(fx));
	__asm__ volatile("fxsave %0" : "=m"(fx));
	/* 0 means the processor predates the field: the default mask. */
	return fx.fx_mxcsr_mask ? fx.fx_mxcsr_mask : 0xFFBF;
}

static int
kvm_init(bool root, struct nvmm_capability *cap)
{
	int vcpus;

	(void)root;	/* KVM has no view of other processes' machines */
	if (kvm_fd != -1)
		goto fill;
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd == -1)
		return -1;
	if (ioctl(kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		goto unsupported;
	if ((check_ext(KVM_CAP_SYNC_REGS) & KVM_SYNC_X86_VALID_FIELDS) !=
	    KVM_SYNC_X86_VALID_FIELDS || !check_ext(KVM_CAP_IMMEDIATE_EXIT) ||
	    !check_ext(KVM_CAP_READONLY_MEM) ||
	    !check_ext(KVM_CAP_X86_USER_SPACE_MSR) ||
	    !check_ext(KVM_CAP_X86_MSR_FILTER) || !check_ext(KVM_CAP_XSAVE) ||
	    !check_ext(KVM_CAP_XCRS) || !check_ext(KVM_CAP_DEBUGREGS) ||
	    !check_ext(KVM_CAP_VCPU_EVENTS))
		goto unsupported;
	run_mmap_size = (size_t)ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	max_slots = (unsigned)check_ext(KVM_CAP_NR_MEMSLOTS);
	if (max_slots == 0)
		max_slots = 32;
	max_vcpu_id = (unsigned)check_ext(KVM_CAP_MAX_VCPU_ID);
	if (kvm_cpuid_init(kvm_fd) == -1)
		goto fail;
	kick_install();
fill:
	vcpus = check_ext(KVM_CAP_MAX_VCPUS);
	if (vcpus <= 0)
		vcpus = check_ext(KVM_CAP_NR_VCPUS);
	if (max_vcpu_id != 0 && (unsigned)vcpus > max_vcpu_id)
		vcpus = (int)max_vcpu_id;
	cap->version = NVMM_KERN_VERSION;
	cap->state_size = sizeof(struct nvmm_x64_state);
	cap->max_machines = LIB_MAX_MACHINES;
	cap->max_vcpus = vcpus < LIB_MAX_VCPUS ? (uint32_t)vcpus : LIB_MAX_VCPUS;
	cap->max_ram = LIB_MAX_RAM;
	cap->arch.mach_conf_support = 0;
	cap->arch.vcpu_conf_support = NVMM_CAP_ARCH_VCPU_CONF_CPUID;
	cap->arch.xcr0_mask = kvm_cpuid_xcr0_mask();
	cap->arch.mxcsr_mask = host_mxcsr_mask();
	cap->arch.conf_cpuid_maxops = LIB_CPUID_MAXOPS;
	return 0;

unsupported:
	errno = ENOTSUP;
fail:
	{
		int err = errno;
		close(kvm_fd);
		kvm_fd = -1;
		errno = err;
	}
	return -1;
}

/* -------------------------------------------------------------------------- */
/* Machines and memory.                                                       */

/* Which IO exits come with RIP past the instruction (probed once). */
static unsigned
io_past_kinds(void)
{
	int v = __atomic_load_n(&io_past, __ATOMIC_RELAXED);

	return v < 0 ? 0 : (unsigned)v;
}

static int
kvm_machine_create(struct lib_machine *lm)
{
	struct kvm_machine *km;
	int err;

	km = calloc(1, sizeof(*km));
	if (km == NULL)
		return -1;
	km->nslots = max_slots;
	km->slots = calloc(km->nslots, 1);
	if (km->slots == NULL)
		goto fail;
	km->fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (km->fd == -1)
		goto fail;
	/* Needed by VMX without unrestricted guest; harmless elsewhere. */
	if (check_ext(KVM_CAP_SET_TSS_ADDR))
		(void)ioctl(km->fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR);
	if (check_ext(KVM_CAP_SET_IDENTITY_MAP_ADDR)) {
		uint64_t a = KVM_IDENTITY_MAP_ADDR;
		(void)ioctl(km->fd, KVM_SET_IDENTITY_MAP_ADDR, &a);
	}
	if (kvm_msr_filter_install(km->fd) == -1)
		goto fail;
	if (__atomic_load_n(&io_past, __ATOMIC_RELAXED) < 0)
		__atomic_store_n(&io_past, (int)kvm_io_probe(kvm_fd,
		    run_mmap_size), __ATOMIC_RELAXED);
	lm->be = km;
	return 0;
fail:
	err = errno;
	if (km->fd > 0)
		close(km->fd);
	free(km->slots);
	free(km);
	errno = err;
	return -1;
}

static void
kvm_machine_destroy(struct lib_machine *lm)
{
	struct kvm_machine *km = lm->be;

	for (unsigned i = 0; i < LIB_MAX_VCPUS; i++) {
		if (km->parked[i].run != NULL) {
			munmap(km->parked[i].run, run_mmap_size);
			close(km->parked[i].fd);
		}
	}
	close(km->fd);
	free(km->slots);
	free(km);
}

static int
kvm_gpa_map(struct lib_machine *lm, struct lib_gpa_area *a)
{
	struct kvm_machine *km = lm->be;
	struct kvm_userspace_memory_region r;
	unsigned slot;

	if (!(a->prot & PROT_READ)) {
		/* KVM has no unreadable slots: leave it unmapped (exits). */
		a->be = NULL;
		return 0;
	}
	for (slot = 0; slot < km->nslots; slot++)
		if (!km->slots[slot])
			break;
	if (slot == km->nslots) {
		errno = ENOBUFS;
		return -1;
	}
	memset(&r, 0, sizeof(r));
	r.slot = slot;
	r.flags = (a->prot & PROT_WRITE) ? 0 : KVM_MEM_READONLY;
	r.guest_phys_addr = a->gpa;
	r.memory_size = a->size;
	r.userspace_addr = a->hva;
	if (ioctl(km->fd, KVM_SET_USER_MEMORY_REGION, &r) == -1)
		return -1;
	km->slots[slot] = 1;
	a->be = (void *)(uintptr_t)(slot + 1);
	return 0;
}

static void
kvm_gpa_unmap(struct lib_machine *lm, struct lib_gpa_area *a)
{
	struct kvm_machine *km = lm->be;
	struct kvm_userspace_memory_region r;

	if (a->be == NULL)
		return;
	memset(&r, 0, sizeof(r));
	r.slot = (uint32_t)((uintptr_t)a->be - 1);
	r.guest_phys_addr = a->gpa;
	r.memory_size = 0;	/* deletes the slot */
	r.userspace_addr = a->hva;
	(void)ioctl(km->fd, KVM_SET_USER_MEMORY_REGION, &r);
	km->slots[r.slot] = 0;
	a->be = NULL;
}

/* -------------------------------------------------------------------------- */
/* VCPUs.                                                                     */

/* A VCPU coming back from the parking lot: clear what KVM still holds. */
static void
kvm_vcpu_recycle(struct kvm_cpu *c)
{
	struct kvm_vcpu_events *ev = &c->run->s.regs.events;

	memset(ev, 0, sizeof(*ev));
	ev->flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
	c->run->kvm_dirty_regs = KVM_SYNC_X86_EVENTS;
	c->run->request_interrupt_window = 0;
	c->run->immediate_exit = 0;
	c->has_run = true;
	c->xcr0 = 0;		/* unknown: reload XCR0 at the first run */
}

static int
kvm_vcpu_create(struct lib_machine *lm, struct lib_vcpu *lv)
{
	struct kvm_machine *km = lm->be;
	struct kvm_parked_vcpu *pk = &km->parked[lv->cpuid];
	struct kvm_cpu *c;
	int err;

	if (max_vcpu_id != 0 && lv->cpuid >= max_vcpu_id) {
		errno = EINVAL;
		return -1;
	}
	c = aligned_alloc(64, (sizeof(*c) + 63) & ~(size_t)63);
	if (c == NULL)
		return -1;
	memset(c, 0, sizeof(*c));
	c->xcr0 = 1;
	nvmm_x86_msrs_reset(&c->msrs);
	if (pk->run != NULL) {
		c->fd = pk->fd;
		c->run = pk->run;
		c->run_size = run_mmap_size;
		kvm_vcpu_recycle(c);
	} else {
		c->run = MAP_FAILED;
		c->fd = ioctl(km->fd, KVM_CREATE_VCPU, (unsigned long)lv->cpuid);
		if (c->fd == -1)
			goto fail;
		c->run = mmap(NULL, run_mmap_size, PROT_READ | PROT_WRITE,
		    MAP_SHARED, c->fd, 0);
		if (c->run == MAP_FAILED)
			goto fail;
		c->run_size = run_mmap_size;
		if (kvm_snapshot_init(c) == -1)
			goto fail;
		c->run->kvm_valid_regs = KVM_SYNC_X86_VALID_FIELDS;
	}
	/* A recycled VCPU takes the same table again (KVM froze it). */
	if (kvm_cpuid_apply(c, lv->cpuid) == -1) {
		if (pk->run != NULL)
			errno = EBUSY;
		goto fail;
	}
	pk->run = NULL;
	/* Start from NVMM's reset state, loaded at the first run. */
	kvm_state_reset(&c->state);
	c->cached = NVMM_X64_STATE_ALL;
	c->commit = NVMM_X64_STATE_ALL;

	lv->be = c;
	lv->state = &c->state;
	lv->event = &c->event;
	lv->exit = &c->exit;
	lv->state_cached = &c->cached;
	lv->state_commit = &c->commit;
	lv->event_commit = &c->event_commit;
	return 0;
fail:
	err = errno;
	if (pk->run == NULL) {
		if (c->run != MAP_FAILED)
			munmap(c->run, run_mmap_size);
		if (c->fd > 0)
			close(c->fd);
	}
	free(c);
	errno = err;
	return -1;
}

static int complete_now(struct lib_vcpu *lv);

static void
kvm_vcpu_destroy(struct lib_machine *lm, struct lib_vcpu *lv)
{
	struct kvm_machine *km = lm->be;
	struct kvm_cpu *c = lv->be;

	/* Nothing of this VCPU's last exit may leak into a later one. */
	if (c->pending != KVM_PENDING_NONE)
		(void)complete_now(lv);
	km->parked[lv->cpuid].fd = c->fd;
	km->parked[lv->cpuid].run = c->run;
	free(c);
}

static int
kvm_vcpu_configure(struct lib_machine *lm, struct lib_vcpu *lv, uint64_t op,
    void *conf)
{
	struct kvm_cpu *c = lv->be;

	(void)lm;
	switch (op) {
	case NVMM_VCPU_CONF_CPUID:
		if (kvm_cpuid_configure(c, conf) == -1)
			return -1;
		return kvm_cpuid_apply(c, lv->cpuid);
	case NVMM_VCPU_CONF_TPR:
		/* KVM reports only TPR decreases, not every change. */
		errno = EOPNOTSUPP;
		return -1;
	default:
		errno = EINVAL;
		return -1;
	}
}

static int
kvm_vcpu_getstate(struct lib_machine *lm, struct lib_vcpu *lv, uint64_t flags)
{
	(void)lm;
	return kvm_state_fetch(lv->be, flags);
}

static void
kvm_vcpu_stop(struct lib_vcpu *lv)
{
	struct kvm_cpu *c = lv->be;
	pid_t tid;

	/* Async-signal-safe: two stores and, maybe, one tgkill. */
	c->run->immediate_exit = 1;
	tid = c->tid;
	if (tid != 0 && kick_signal != 0)
		(void)syscall(SYS_tgkill, getpid(), tid, kick_signal);
}

/* -------------------------------------------------------------------------- */
/* Guest memory access for the decoder.                                       */

struct gmem_ctx {
	struct lib_machine *lm;
};

static uint8_t *
gmem_ptr(void *ctx, uint64_t gpa, nvmm_prot_t *prot)
{
	struct gmem_ctx *g = ctx;
	uintptr_t hva;
	int p;

	if (lib_gpa_lookup(g->lm, gpa, &hva, NULL, &p) == -1)
		return NULL;
	if (prot != NULL)
		*prot = (nvmm_prot_t)p;
	return (uint8_t *)hva;
}

static void
paging_from_run(const struct kvm_run *run, struct x86_paging *pg)
{
	const struct kvm_sregs *sr = &run->s.regs.sregs;

	memset(pg, 0, sizeof(*pg));
	pg->cr0 = sr->cr0;
	pg->cr3 = sr->cr3;
	pg->cr4 = sr->cr4;
	pg->efer = sr->efer;
	pg->rflags = run->s.regs.regs.rflags;
	pg->cpl = sr->ss.dpl;
}

static enum x86_code_size
code_size(const struct kvm_run *run)
{
	const struct kvm_sregs *sr = &run->s.regs.sregs;

	if (!(sr->cr0 & CR0_PE) || (run->s.regs.regs.rflags & RFLAGS_VM))
		return X86_CODE16;
	if ((sr->efer & EFER_LMA) && sr->cs.l)
		return X86_CODE64;
	return sr->cs.db ? X86_CODE32 : X86_CODE16;
}

/* Up to 15 bytes at CS:RIP; returns how many could be read. */
static size_t
fetch_insn(struct lib_machine *lm, const struct kvm_run *run, uint8_t *buf)
{
	struct gmem_ctx g = { lm };
	struct x86_guest_mem mem = { &g, gmem_ptr };
	struct x86_paging pg;
	uint64_t va = run->s.regs.sregs.cs.base + run->s.regs.regs.rip;
	size_t n = 0;

	paging_from_run(run, &pg);
	if (code_size(run) != X86_CODE64)
		va &= 0xFFFFFFFFULL;
	while (n < 15) {
		size_t chunk = 4096 - ((va + n) & 4095);
		if (chunk > 15 - n)
			chunk = 15 - n;
		if (x86_read_virt(&pg, &mem, va + n, buf + n, chunk, X86_PF_I,
		    NULL) == -1)
			break;
		n += chunk;
	}
	return n;
}

/* -------------------------------------------------------------------------- */
/* Exits.                                                                     */

static void
fill_exitstate(struct kvm_cpu *c)
{
	const struct kvm_run *run = c->run;
	const struct kvm_vcpu_events *ev = &run->s.regs.events;
	struct nvmm_x86_exit *ex = &c->exit;

	ex->exitstate.rflags = (c->cached & NVMM_X64_STATE_GPRS) ?
	    c->state.gprs[NVMM_X64_GPR_RFLAGS] : run->s.regs.regs.rflags;
	ex->exitstate.cr8 = (c->cached & NVMM_X64_STATE_CRS) ?
	    c->state.crs[NVMM_X64_CR_CR8] : run->cr8;
	ex->exitstate.int_shadow = ev->interrupt.shadow != 0;
	ex->exitstate.nmi_window_exiting = c->nmi_window;
	ex->exitstate.evt_pending = ev->interrupt.injected ||
	    ev->exception.injected || ev->nmi.injected || c->event_commit;
	/*
	 * As nvmm.ko: an event still to go in (KVM's, or the program's held
	 * here) leaves no room for another; QEMU injects only while this is 0.
	 */
	ex->exitstate.int_window_exiting = c->int_window ||
	    ex->exitstate.evt_pending;
	ex->exitstate.rsvd = 0;
}

/*
 * Where the `len` guest bytes at `lin` (two pages at most) are in guest
 * RAM: false if not all are.
 */
static bool
window_map(struct lib_machine *lm, const struct kvm_run *run, uint64_t lin,
    uint64_t amask, size_t len, struct kvm_io_cache *ic)
{
	struct gmem_ctx g = { lm };
	struct x86_guest_mem mem = { &g, gmem_ptr };
	struct x86_paging pg;

	paging_from_run(run, &pg);
	for (unsigned i = 0; i < 2; i++) {
		size_t part = 4096 - (size_t)(lin & 4095);
		uint64_t gpa;
		uintptr_t hva;
		size_t avail;

		if (part > len)
			part = len;
		ic->hlen[i] = (uint8_t)part;
		ic->hva[i] = NULL;
		if (part == 0)
			continue;
		if (x86_walk(&pg, &mem, lin, X86_PF_I, 0, &gpa, NULL,
		    NULL) == -1 || lib_gpa_lookup(lm, gpa, &hva, &avail,
		    NULL) == -1 || avail < part)
			return false;
		ic->hva[i] = (const uint8_t *)hva;
		lin = (lin + part) & amask;
		len -= part;
	}
	return true;
}

/* Up to 15 bytes just below linear `lin`, right-aligned in buf[15]. */
static size_t
fetch_back(struct lib_machine *lm, const struct kvm_run *run, uint64_t lin,
    uint64_t amask, uint8_t *buf)
{
	struct gmem_ctx g = { lm };
	struct x86_guest_mem mem = { &g, gmem_ptr };
	struct x86_paging pg;
	uint64_t rip = run->s.regs.regs.rip;
	size_t want = rip < KVM_IO_INSN_MAX ? (size_t)rip : KVM_IO_INSN_MAX;
	size_t n = 0;

	paging_from_run(run, &pg);
	while (n < want) {
		uint64_t end = lin - n;
		size_t chunk = (size_t)(((end - 1) & 4095) + 1);

		if (chunk > want - n)
			chunk = want - n;
		if (x86_read_virt(&pg, &mem, (end - chunk) & amask,
		    buf + KVM_IO_INSN_MAX - n - chunk, chunk, X86_PF_I,
		    NULL) == -1)
			break;
		n += chunk;
	}
	return n;
}

/*
 * The IO instructions around CS:RIP (backend_kvm_io.c), from the cache
 * while nothing it depends on changed.
 */
static const struct kvm_io_cache *
scan_io(struct lib_machine *lm, struct kvm_cpu *c)
{
	const struct kvm_run *run = c->run;
	const struct kvm_sregs *sr = &run->s.regs.sregs;
	struct kvm_io_cache *ic = &c->io_cache;
	enum x86_code_size cs = code_size(run);
	uint64_t amask = cs == X86_CODE64 ? ~0ULL : 0xFFFFFFFFULL;
	uint64_t lin = (sr->cs.base + run->s.regs.regs.rip) & amask;
	uint64_t gen = __atomic_load_n(&lm->map_gen, __ATOMIC_ACQUIRE);
	uint64_t start;
	unsigned past = io_past_kinds();
	uint8_t fwd[KVM_IO_INSN_MAX], back[KVM_IO_INSN_MAX];
	size_t n;

	if (ic->valid && ic->lin == lin && ic->mode == (int)cs &&
	    ic->map_gen == gen && ic->cr0 == sr->cr0 && ic->cr3 == sr->cr3 &&
	    ic->cr4 == sr->cr4 && ic->efer == sr->efer &&
	    memcmp(ic->hva[0], ic->win, ic->hlen[0]) == 0 &&
	    (ic->hlen[1] == 0 ||
	    memcmp(ic->hva[1], ic->win + ic->hlen[0], ic->hlen[1]) == 0) &&
	    (ic->back_scanned || !kvm_io_needs_back(ic, run, past)))
		return ic;
	memset(ic, 0, sizeof(*ic));
	ic->lin = lin;
	ic->mode = (int)cs;
	ic->map_gen = gen;
	ic->cr0 = sr->cr0;
	ic->cr3 = sr->cr3;
	ic->cr4 = sr->cr4;
	ic->efer = sr->efer;
	n = fetch_insn(lm, run, fwd);
	kvm_io_scan_fwd(ic, fwd, n, cs);
	if (kvm_io_needs_back(ic, run, past)) {
		n = fetch_back(lm, run, lin, amask, back);
		kvm_io_scan_back(ic, back + KVM_IO_INSN_MAX, n, cs);
	}
	memcpy(ic->win, back + KVM_IO_INSN_MAX - ic->back_bytes,
	    ic->back_bytes);
	memcpy(ic->win + ic->back_bytes, fwd, ic->fwd_bytes);
	start = (lin - ic->back_bytes) & amask;
	ic->valid = ic->back_bytes + ic->fwd_bytes > 0 && window_map(lm, run,
	    start, amask, ic->back_bytes + ic->fwd_bytes, ic);
	if (ic->valid)
		return ic;
	c->io_cache_once = *ic;		/* not all in RAM: use it once */
	return &c->io_cache_once;
}

/*
 * Could the exit's data be the element the string instruction `str` just
 * moved? Its memory holds it, at rSI or one element back (a KVM that moved
 * rSI before the exit).
 */
static bool
string_element_fits(struct lib_machine *lm, const struct kvm_run *run,
    const struct kvm_io_insn *str)
{
	struct gmem_ctx g = { lm };
	struct x86_guest_mem mem = { &g, gmem_ptr };
	struct x86_paging pg;
	const struct kvm_regs *r = &run->s.regs.regs;
	const struct kvm_sregs *sr = &run->s.regs.sregs;
	const struct kvm_segment *segs[6] = { &sr->es, &sr->cs, &sr->ss,
	    &sr->ds, &sr->fs, &sr->gs };
	const uint8_t *data = (const uint8_t *)run + run->io.data_offset;
	size_t size = run->io.size;
	int seg = str->seg < 0 ? NVMM_X64_SEG_DS : str->seg;
	bool lm64 = code_size(run) == X86_CODE64;
	uint64_t amask, base, step;
	uint8_t m[4];

	amask = str->adsize == 8 ? ~0ULL : (1ULL << (str->adsize * 8)) - 1;
	base = lm64 && seg < NVMM_X64_SEG_FS ? 0 : segs[seg]->base;
	step = (r->rflags & RFLAGS_DF) ? (uint64_t)-size : size;
	paging_from_run(run, &pg);
	for (int k = 0; k < 2; k++) {
		uint64_t lin = base + ((r->rsi - (k ? step : 0)) & amask);

		if (!lm64)
			lin &= 0xFFFFFFFFULL;
		if (x86_read_virt(&pg, &mem, lin, m, size, 0, NULL) == 0 &&
		    memcmp(m, data, size) == 0)
			return true;
	}
	return false;
}

/*
 * A string OUTS and a plain OUT both fit the exit (kvm_io_choose): the OUT
 * it is only if its register holds the data and the string's memory does
 * not. Otherwise the string: its assist lets KVM finish and reads the
 * registers back, so even a wrong guess leaves the guest right.
 */
static void
resolve_io_pick(struct lib_machine *lm, const struct kvm_run *run,
    struct kvm_io_pick *p)
{
	const uint8_t *data = (const uint8_t *)run + run->io.data_offset;
	uint64_t rax = run->s.regs.regs.rax;

	if (p->alt == NULL || memcmp(data, &rax, run->io.size) != 0 ||
	    string_element_fits(lm, run, p->insn))
		return;
	p->insn = p->alt;
	p->past = p->alt_past;
}

static void
exit_io(struct lib_machine *lm, struct kvm_cpu *c)
{
	struct kvm_run *run = c->run;
	struct nvmm_x86_exit_io *io = &c->exit.u.io;
	const struct kvm_io_insn *ins;
	struct kvm_io_pick pick;
	bool in = run->io.direction == KVM_EXIT_IO_IN;
	enum x86_code_size cs = code_size(run);
	bool past;

	c->exit.reason = NVMM_VCPU_EXIT_IO;
	io->in = in;
	io->port = run->io.port;
	io->operand_size = run->io.size;
	kvm_io_choose(scan_io(lm, c), run, io_past_kinds(), &pick);
	resolve_io_pick(lm, run, &pick);
	ins = pick.insn;
	past = pick.past;
	if (ins != NULL) {
		io->str = ins->str;
		io->rep = ins->rep;
		io->seg = ins->seg;
		io->address_size = ins->adsize;
		io->npc = run->s.regs.regs.rip + (past ? 0 : ins->len);
		/*
		 * KVM finished the instruction already: show RIP on it, as
		 * NVMM does. Only the library's copy changes; KVM keeps
		 * npc and goes on from there unless GPRS are committed.
		 */
		if (past)
			run->s.regs.regs.rip -= ins->len;
	} else {
		/* Unreadable or unknown bytes: a guess, npc = RIP. */
		io->str = false;
		io->rep = false;
		io->seg = -1;
		io->address_size = cs == X86_CODE64 ? 8 : (uint8_t)cs;
		io->npc = run->s.regs.regs.rip;
	}
	if (in) {
		/* An IN nobody answers reads all-ones, like an empty bus. */
		memset((uint8_t *)run + run->io.data_offset, 0xFF,
		    (size_t)run->io.size * run->io.count);
	}
	c->pending = io->str ? KVM_PENDING_IO_STRING : KVM_PENDING_IO;
}

static void
exit_mmio(struct kvm_cpu *c)
{
	struct kvm_run *run = c->run;
	struct nvmm_x86_exit_memory *mem = &c->exit.u.mem;

	c->exit.reason = NVMM_VCPU_EXIT_MEMORY;
	mem->prot = run->mmio.is_write ? PROT_WRITE : PROT_READ;
	mem->gpa = run->mmio.phys_addr;
	mem->inst_len = 0;
	memset(mem->inst_bytes, 0, sizeof(mem->inst_bytes));
	if (!run->mmio.is_write)
		memset(run->mmio.data, 0xFF, sizeof(run->mmio.data));
	c->pending = KVM_PENDING_MMIO;
}

static void
exit_msr(struct kvm_cpu *c, bool wr)
{
	struct kvm_run *run = c->run;
	uint64_t npc = run->s.regs.regs.rip + 2;	/* 0F 32 / 0F 30 */

	if (wr) {
		c->exit.reason = NVMM_VCPU_EXIT_WRMSR;
		c->exit.u.wrmsr.msr = run->msr.index;
		c->exit.u.wrmsr.val = run->msr.data;
		c->exit.u.wrmsr.npc = npc;
	} else {
		c->exit.reason = NVMM_VCPU_EXIT_RDMSR;
		c->exit.u.rdmsr.msr = run->msr.index;
		c->exit.u.rdmsr.npc = npc;
	}
	c->pending = KVM_PENDING_MSR;
}

/*
 * An MSR exit for one of the MSRs of nvmm_x86_msr.h: answer KVM (the value,
 * or #GP) and return true; KVM completes the instruction at the next
 * KVM_RUN and the program never sees the exit. False for any other exit.
 */
static bool
answer_msr(struct kvm_cpu *c)
{
	struct kvm_run *run = c->run;
	enum nvmm_x86_msr_verdict v;
	uint64_t val = 0;

	if (run->exit_reason == KVM_EXIT_X86_RDMSR)
		v = nvmm_x86_msr_rdmsr(&c->msrs, run->msr.index, &val);
	else if (run->exit_reason == KVM_EXIT_X86_WRMSR)
		v = nvmm_x86_msr_wrmsr(&c->msrs, run->msr.index, run->msr.data);
	else
		return false;
	if (v == NVMM_X86_MSR_EXIT)
		return false;
	if (run->exit_reason == KVM_EXIT_X86_RDMSR)
		run->msr.data = val;
	run->msr.error = v == NVMM_X86_MSR_GP;	/* KVM injects #GP */
	return true;
}

static void
exit_invalid(struct kvm_cpu *c, uint64_t hwcode)
{
	c->exit.reason = NVMM_VCPU_EXIT_INVALID;
	c->exit.u.inv.hwcode = hwcode;
}

/* Translate the KVM exit in c->run into c->exit. */
static void
translate_exit(struct lib_machine *lm, struct kvm_cpu *c)
{
	struct kvm_run *run = c->run;

	memset(&c->exit.u, 0, sizeof(c->exit.u));
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		exit_io(lm, c);
		break;
	case KVM_EXIT_MMIO:
		exit_mmio(c);
		break;
	case KVM_EXIT_HLT:
		c->exit.reason = NVMM_VCPU_EXIT_HALTED;
		break;
	case KVM_EXIT_SHUTDOWN:
		c->exit.reason = NVMM_VCPU_EXIT_SHUTDOWN;
		break;
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		c->exit.reason = NVMM_VCPU_EXIT_INT_READY;
		c->int_window = false;	/* auto-disarmed, as in NVMM */
		break;
	case KVM_EXIT_X86_RDMSR:
		exit_msr(c, false);
		break;
	case KVM_EXIT_X86_WRMSR:
		exit_msr(c, true);
		break;
	case KVM_EXIT_INTR:
	case KVM_EXIT_SET_TPR:
		c->exit.reason = NVMM_VCPU_EXIT_NONE;
		break;
	case KVM_EXIT_FAIL_ENTRY:
		exit_invalid(c, run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		exit_invalid(c, ((uint64_t)run->internal.suberror << 32) |
		    KVM_EXIT_INTERNAL_ERROR);
		break;
	default:
		exit_invalid(c, run->exit_reason);
		break;
	}
	fill_exitstate(c);
}

/* -------------------------------------------------------------------------- */
/* Completion of KVM's pending instruction.                                   */

/*
 * Let KVM finish the instruction of the last exit without running the guest
 * further. Returns 1 if KVM stopped at a new exit instead (the instruction
 * continues, e.g. the next element of a REP string), 0 if done, -1/errno.
 */
static int
complete_now(struct lib_vcpu *lv)
{
	struct kvm_cpu *c = lv->be;
	int r;

	c->run->immediate_exit = 1;
	r = ioctl(c->fd, KVM_RUN, 0);
	/* Keep a stop request that arrived meanwhile. */
	c->run->immediate_exit = lv->stop ? 1 : 0;
	c->pending = KVM_PENDING_NONE;
	c->has_run = true;
	if (r == 0)
		return 1;
	if (errno == EINTR || errno == EAGAIN)
		return 0;
	return -1;
}

/*
 * Before the user's GPRS reach KVM: finish the pending instruction first,
 * then the user's values (or the view of the exit) overwrite its result.
 */
static int
settle_pending(struct lib_vcpu *lv)
{
	struct kvm_cpu *c = lv->be;
	int r;

	if (c->pending == KVM_PENDING_NONE)
		return 0;
	if (c->pending == KVM_PENDING_MSR) {
		/* NVMM's contract: the guest re-executes unless RIP moved. */
		c->run->msr.error = 0;
		if (!(c->cached & NVMM_X64_STATE_GPRS))
			kvm_gprs_from_run(c);
		c->commit |= NVMM_X64_STATE_GPRS;
	} else if (!(c->commit & NVMM_X64_STATE_GPRS)) {
		/* KVM's completion is the expected result: let it happen. */
		return 0;
	}
	r = complete_now(lv);
	if (r == 1)
		c->deferred_exit = true;	/* a new exit: report it now */
	return r == -1 ? -1 : 0;
}

static void
inject_event(struct kvm_cpu *c)
{
	struct kvm_vcpu_events *ev = &c->run->s.regs.events;
	const struct nvmm_x86_event *e = &c->event;

	if (e->type == NVMM_VCPU_EVENT_INTR && e->vector == 2) {
		ev->nmi.pending = 1;
		ev->flags |= KVM_VCPUEVENT_VALID_NMI_PENDING;
		/* As NVMM: an injected NMI arms the NMI window. */
		c->nmi_window = true;
	} else if (e->type == NVMM_VCPU_EVENT_INTR) {
		ev->interrupt.injected = 1;
		ev->interrupt.nr = e->vector;
		ev->interrupt.soft = 0;
	} else {
		uint8_t v = e->vector;
		bool has_err = lib_excp_has_error(v);
		ev->exception.injected = 1;
		ev->exception.pending = 0;
		ev->exception.nr = v;
		ev->exception.has_error_code = has_err;
		ev->exception.error_code = has_err ? (uint32_t)e->u.excp.error : 0;
	}
	c->run->kvm_dirty_regs |= KVM_SYNC_X86_EVENTS;
}

/* An exit interrupted an event's delivery: KVM will re-inject it. */
static bool
event_in_flight(const struct kvm_run *run)
{
	const struct kvm_vcpu_events *ev = &run->s.regs.events;

	return ev->interrupt.injected || ev->exception.injected ||
	    ev->nmi.injected;
}

/* Window exits owed from an earlier exit (KVM reports them late). */
static bool
window_exit_due(struct kvm_cpu *c)
{
	const struct kvm_run *run = c->run;
	uint64_t rflags = (c->cached & NVMM_X64_STATE_GPRS) ?
	    c->state.gprs[NVMM_X64_GPR_RFLAGS] : run->s.regs.regs.rflags;

	if (c->int_window && run->ready_for_interrupt_injection &&
	    (rflags & RFLAGS_IF) && !run->s.regs.events.interrupt.shadow &&
	    !c->event_commit && c->has_run) {
		c->exit.reason = NVMM_VCPU_EXIT_INT_READY;
		c->int_window = false;
		return true;
	}
	if (c->nmi_window && !run->s.regs.events.nmi.masked &&
	    !run->s.regs.events.nmi.pending && !c->event_commit) {
		c->exit.reason = NVMM_VCPU_EXIT_NMI_READY;
		c->nmi_window = false;
		return true;
	}
	return false;
}

static int
kvm_vcpu_run(struct lib_machine *lm, struct lib_vcpu *lv)
{
	struct kvm_cpu *c = lv->be;
	struct kvm_run *run = c->run;
	bool probe = false;
	int r;

	memset(&c->exit.u, 0, sizeof(c->exit.u));
	if (c->event_commit && !lib_event_valid(&c->event)) {
		errno = EINVAL;
		return -1;
	}
	if (__atomic_exchange_n(&lv->stop, 0, __ATOMIC_SEQ_CST)) {
		/*
		 * The event goes to KVM all the same (at the next entry), so
		 * that the program's event slot is free again.
		 */
		if (c->event_commit && !event_in_flight(run)) {
			inject_event(c);
			c->event_commit = false;
		}
		run->immediate_exit = 0;
		c->exit.reason = NVMM_VCPU_EXIT_STOPPED;
		fill_exitstate(c);
		return 0;
	}
	if (c->commit & NVMM_X64_STATE_INTR) {
		c->int_window = c->state.intr.int_window_exiting;
		c->nmi_window = c->state.intr.nmi_window_exiting;
	}
	if (c->deferred_exit || (c->commit & NVMM_X64_STATE_GPRS) ||
	    c->pending == KVM_PENDING_MSR) {
		if (!c->deferred_exit && settle_pending(lv) == -1)
			return -1;
		if (c->deferred_exit) {
			c->deferred_exit = false;
			c->cached &= c->commit;
			translate_exit(lm, c);
			return 0;
		}
	}
	if (window_exit_due(c)) {
		fill_exitstate(c);
		return 0;
	}
	/*
	 * An event whose delivery an exit interrupted is still in flight
	 * (KVM re-injects it at the next entry): injecting now would replace
	 * it and the guest would lose an interrupt. Hold the new one until
	 * KVM reports the interrupt window open, which it does only once
	 * nothing is left to re-inject, and inject it there.
	 */
	bool held = c->event_commit && event_in_flight(run);
	if (c->event_commit && !held) {
		inject_event(c);
		c->event_commit = false;
	}
	if (kvm_state_commit(c) == -1)
		return -1;

	for (bool probe_off = false;;) {
		/*
		 * KVM gives no exit when an NMI handler's IRET unblocks NMIs.
		 * While NMI_READY is owed, an interrupt window stands in: it
		 * opens at that IRET whenever the interrupted code had IF=1.
		 * Otherwise NMI_READY comes with the next exit (below).
		 */
		probe = !probe_off && c->nmi_window && !c->int_window &&
		    (run->s.regs.events.nmi.masked ||
		    run->s.regs.events.nmi.pending);

		run->request_interrupt_window = c->int_window || probe || held;
		c->tid = current_tid();
		r = ioctl(c->fd, KVM_RUN, 0);
		c->tid = 0;
		c->has_run = true;
		c->pending = KVM_PENDING_NONE;
		c->cached = 0;
		run->kvm_dirty_regs = 0;
		run->s.regs.events.flags &=
		    ~(uint32_t)KVM_VCPUEVENT_VALID_NMI_PENDING;
		if (r == 0 && answer_msr(c))
			continue;	/* as nvmm.ko's kernel does */
		if (r == 0 && held && !event_in_flight(run)) {
			inject_event(c);
			c->event_commit = false;
			held = false;
			if (run->exit_reason == KVM_EXIT_IRQ_WINDOW_OPEN &&
			    !c->int_window && !probe)
				continue;	/* the window was ours alone */
		}
		if (r == -1 || !probe ||
		    run->exit_reason != KVM_EXIT_IRQ_WINDOW_OPEN)
			break;
		if (!run->s.regs.events.nmi.masked) {
			memset(&c->exit.u, 0, sizeof(c->exit.u));
			c->exit.reason = NVMM_VCPU_EXIT_NMI_READY;
			c->nmi_window = false;
			fill_exitstate(c);
			return 0;
		}
		/*
		 * The handler itself runs with IF=1: the window is open at
		 * once and the guest would not move. Run on without it; the
		 * IRET is seen at a later run (window_exit_due).
		 */
		probe_off = true;
	}
	if (r == 0 && probe && !run->s.regs.events.nmi.masked &&
	    !run->s.regs.events.nmi.pending) {
		/*
		 * The IRET came and went without the window exit (IF=0 after
		 * it, or a KVM whose window exits come late: kvm-pvm waits
		 * for its next tick). NVMM reports NMI_READY before anything
		 * the guest did after the IRET: so NMI_READY now, and this
		 * exit at the next run.
		 */
		c->deferred_exit = true;
		memset(&c->exit.u, 0, sizeof(c->exit.u));
		c->exit.reason = NVMM_VCPU_EXIT_NMI_READY;
		c->nmi_window = false;
		fill_exitstate(c);
		return 0;
	}
	if (r == -1) {
		if (errno != EINTR && errno != EAGAIN)
			return -1;
		/* A signal or a stop: never -1/EINTR, as NVMM. */
		run->immediate_exit = 0;
		if (__atomic_exchange_n(&lv->stop, 0, __ATOMIC_SEQ_CST))
			c->exit.reason = NVMM_VCPU_EXIT_STOPPED;
		else
			c->exit.reason = NVMM_VCPU_EXIT_NONE;
		fill_exitstate(c);
		return 0;
	}
	translate_exit(lm, c);
	return 0;
}

/* -------------------------------------------------------------------------- */
/* Assists: data goes through kvm_run's buffers, KVM moves guest memory.      */

static void
predict_io(struct kvm_cpu *c)
{
	const struct nvmm_x86_exit_io *io = &c->exit.u.io;
	uint64_t *g = c->state.gprs;

	if (!(c->cached & NVMM_X64_STATE_GPRS))
		kvm_gprs_from_run(c);
	if (io->in) {
		uint64_t v = 0, rax = g[NVMM_X64_GPR_RAX];
		memcpy(&v, (uint8_t *)c->run + c->run->io.data_offset,
		    io->operand_size);
		switch (io->operand_size) {
		case 1:
			rax = (rax & ~0xFFULL) | v;
			break;
		case 2:
			rax = (rax & ~0xFFFFULL) | v;
			break;
		default:
			rax = v;	/* 32-bit writes zero-extend */
			break;
		}
		g[NVMM_X64_GPR_RAX] = rax;
	}
	g[NVMM_X64_GPR_RIP] = io->npc;
}

/*
 * KVM leaves a REP string instruction whose count reached 0 with RIP still
 * on it (the guest's re-execution would just step over it). NVMM's assists
 * advance RIP when the count hits 0: do that step here.
 */
static void
finish_rep(struct lib_machine *lm, struct kvm_cpu *c, uint64_t rip0)
{
	const struct kvm_run *run = c->run;
	struct x86_insn insn;
	uint8_t bytes[15];
	uint64_t amask, rcx;
	size_t n;

	if (c->commit & NVMM_X64_STATE_GPRS)
		return;		/* the user's values win anyway */
	kvm_gprs_from_run(c);
	if (c->state.gprs[NVMM_X64_GPR_RIP] != rip0)
		return;
	n = fetch_insn(lm, run, bytes);
	if (x86_decode(bytes, n, code_size(run), &insn) == -1 ||
	    !(insn.rep || insn.repne) || insn.twobyte ||
	    !((insn.opcode >= 0x6C && insn.opcode <= 0x6F) ||
	    (insn.opcode >= 0xA4 && insn.opcode <= 0xA7) ||
	    (insn.opcode >= 0xAA && insn.opcode <= 0xAF)))
		return;
	amask = insn.adsize == 8 ? ~0ULL : (1ULL << (insn.adsize * 8)) - 1;
	rcx = c->state.gprs[NVMM_X64_GPR_RCX];
	if ((rcx & amask) != 0)
		return;
	c->state.gprs[NVMM_X64_GPR_RIP] = rip0 + insn.len;
	c->commit |= NVMM_X64_STATE_GPRS;
}

/*
 * NVMM's kernel provides these at every IO and MEMORY exit, and clients
 * read them in their callbacks (e.g. hypercall arguments in RAX, RDX...).
 * GPRS, SEGS and CR0-CR8 come from kvm_run's sync regs for free; XCR0 and
 * the MSRs take one ioctl each (the guest changes them without exits:
 * XSETBV, WRMSR, SWAPGS, the TSC ticking), so they are fetched here, just
 * before the first callback, and only for an assisted exit.
 */
#define CALLBACK_STATE	(NVMM_X64_STATE_GPRS | NVMM_X64_STATE_SEGS | \
			 NVMM_X64_STATE_CRS | NVMM_X64_STATE_MSRS)

static int
callback_state(struct kvm_cpu *c)
{
	uint64_t missing = CALLBACK_STATE & ~c->cached;

	return missing == 0 ? 0 : kvm_state_fetch(c, missing);
}

/*
 * The next exit of the same string instruction: KVM ran nothing but that
 * instruction, which moved only GPRs; what the callbacks of the first exit
 * saw of the rest still holds (`kept`: cached before the completion).
 */
static int
callback_state_again(struct kvm_cpu *c, uint64_t kept)
{
	c->cached |= kept & CALLBACK_STATE & ~(uint64_t)NVMM_X64_STATE_GPRS;
	return callback_state(c);
}

/*
 * After the callbacks of one exit: let KVM finish the instruction. Returns
 * 0 when it is done, 1 when KVM stopped at another exit of `kind` for the
 * same instruction (the next elements of a REP string), 2 when it stopped
 * at another exit, to be reported by the next run, -1 on error.
 */
static int
assist_continue(struct lib_vcpu *lv, uint32_t kind, unsigned *rounds)
{
	struct kvm_cpu *c = lv->be;
	int r;

	r = complete_now(lv);
	if (r == -1)
		return -1;
	c->cached &= c->commit;
	if (r == 0)
		return 0;
	if (c->run->exit_reason != kind || ++*rounds >= ASSIST_MAX_ROUNDS) {
		c->deferred_exit = true;
		return 2;
	}
	return 1;
}

static int
kvm_assist_io(struct lib_machine *lm, struct lib_vcpu *lv)
{
	struct kvm_cpu *c = lv->be;
	struct kvm_run *run = c->run;
	uint64_t rip0 = run->s.regs.regs.rip;
	struct nvmm_io io;
	unsigned rounds = 0;
	int r;

	if (c->pending != KVM_PENDING_IO && c->pending != KVM_PENDING_IO_STRING) {
		/* Already performed. */
		errno = EINVAL;
		return -1;
	}
	io.mach = lm->user;
	io.vcpu = lv->user;
	if (callback_state(c) == -1)
		return -1;
	for (;;) {
		uint8_t *buf = (uint8_t *)run + run->io.data_offset;
		uint64_t kept;

		io.port = run->io.port;
		io.in = run->io.direction == KVM_EXIT_IO_IN;
		io.size = run->io.size;
		for (uint32_t i = 0; i < run->io.count; i++) {
			io.data = buf + (size_t)i * run->io.size;
			lv->cbs.io(&io);
		}
		if (c->pending == KVM_PENDING_IO) {
			predict_io(c);
			return 0;
		}
		/* String IO: KVM moves memory and updates RCX/RSI/RDI. */
		kept = c->cached;
		r = assist_continue(lv, KVM_EXIT_IO, &rounds);
		if (r == 0)
			finish_rep(lm, c, rip0);
		if (r != 1)
			return r == -1 ? -1 : 0;
		c->pending = KVM_PENDING_IO_STRING;
		if (run->io.direction == KVM_EXIT_IO_IN)
			memset(buf, 0xFF, (size_t)run->io.size * run->io.count);
		if (callback_state_again(c, kept) == -1)
			return -1;
	}
}

static int
kvm_assist_mem(struct lib_machine *lm, struct lib_vcpu *lv)
{
	struct kvm_cpu *c = lv->be;
	struct kvm_run *run = c->run;
	struct nvmm_mem mem;
	unsigned rounds = 0;
	int r;

	if (c->pending != KVM_PENDING_MMIO) {
		errno = EINVAL;
		return -1;
	}
	mem.mach = lm->user;
	mem.vcpu = lv->user;
	if (callback_state(c) == -1)
		return -1;
	for (;;) {
		uint64_t kept;

		mem.gpa = run->mmio.phys_addr;
		mem.write = run->mmio.is_write;
		mem.size = run->mmio.len;
		mem.data = run->mmio.data;
		lv->cbs.mem(&mem);
		/*
		 * KVM finishes the instruction: RIP and, for a read, the
		 * register. A finished REP string may still sit at RIP.
		 */
		kept = c->cached;
		r = assist_continue(lv, KVM_EXIT_MMIO, &rounds);
		if (r != 1)
			return r == -1 ? -1 : 0;
		c->pending = KVM_PENDING_MMIO;
		if (!run->mmio.is_write)
			memset(run->mmio.data, 0xFF, sizeof(run->mmio.data));
		if (callback_state_again(c, kept) == -1)
			return -1;
	}
}

const struct nvmm_backend nvmm_backend_kvm = {
	.name = "kvm",
	.init = kvm_init,
	.machine_create = kvm_machine_create,
	.machine_destroy = kvm_machine_destroy,
	.machine_configure = NULL,
	.vcpu_create = kvm_vcpu_create,
	.vcpu_destroy = kvm_vcpu_destroy,
	.vcpu_configure = kvm_vcpu_configure,
	.vcpu_getstate = kvm_vcpu_getstate,
	.vcpu_run = kvm_vcpu_run,
	.vcpu_stop = kvm_vcpu_stop,
	.hva_map = NULL,
	.hva_unmap = NULL,
	.gpa_map = kvm_gpa_map,
	.gpa_unmap = kvm_gpa_unmap,
	.assist_io = kvm_assist_io,
	.assist_mem = kvm_assist_mem,
	.ctl = NULL,
};

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * backend_kvm_state.c: NVMM VCPU state <-> KVM state.
 *
 * GPRs, segments, CR0-CR4, CR8, EFER and the interrupt state travel through
 * kvm_run's sync-regs area (no ioctl); XCR0, debug registers, the other
 * MSRs and the FPU need one ioctl each and are touched only when asked for.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm_impl.h"

#define MSR_IA32_TSC		0x00000010
#define MSR_IA32_SYSENTER_CS	0x00000174
#define MSR_IA32_SYSENTER_ESP	0x00000175
#define MSR_IA32_SYSENTER_EIP	0x00000176
#define MSR_IA32_PAT		0x00000277
#define MSR_STAR		0xC0000081
#define MSR_LSTAR		0xC0000082
#define MSR_CSTAR		0xC0000083
#define MSR_SFMASK		0xC0000084
#define MSR_KERNEL_GS_BASE	0xC0000102

#define XSTATE_X87_SSE		0x3ULL
#define XSAVE_HDR_XSTATE_BV	512

/* NVMM_X64_MSR_* slot -> MSR index, for every slot but EFER. */
static const struct {
	unsigned slot;
	uint32_t index;
} msr_map[] = {
	{ NVMM_X64_MSR_STAR, MSR_STAR },
	{ NVMM_X64_MSR_LSTAR, MSR_LSTAR },
	{ NVMM_X64_MSR_CSTAR, MSR_CSTAR },
	{ NVMM_X64_MSR_SFMASK, MSR_SFMASK },
	{ NVMM_X64_MSR_KERNELGSBASE, MSR_KERNEL_GS_BASE },
	{ NVMM_X64_MSR_SYSENTER_CS, MSR_IA32_SYSENTER_CS },
	{ NVMM_X64_MSR_SYSENTER_ESP, MSR_IA32_SYSENTER_ESP },
	{ NVMM_X64_MSR_SYSENTER_EIP, MSR_IA32_SYSENTER_EIP },
	{ NVMM_X64_MSR_PAT, MSR_IA32_PAT },
	{ NVMM_X64_MSR_TSC, MSR_IA32_TSC },
};
#define NMSR_MAP (sizeof(msr_map) / sizeof(msr_map[0]))

/* struct kvm_msrs with room for its flexible array of entries. */
union msr_list {
	struct kvm_msrs hdr;
	uint8_t room[sizeof(struct kvm_msrs) +
	    NMSR_MAP * sizeof(struct kvm_msr_entry)];
};

/* -------------------------------------------------------------------------- */

/*
 * The reset state, with NetBSD NVMM's values, except the x87 tag: NetBSD
 * writes 0x55 into the abridged tag byte (its full-format 0x5555 split in
 * two); here all registers are empty, as KVM and nvmm.ko have it.
 */
void
kvm_state_reset(struct nvmm_x64_state *st)
{
	unsigned i;

	memset(st, 0, sizeof(*st));
	for (i = NVMM_X64_SEG_ES; i <= NVMM_X64_SEG_GS; i++) {
		st->segs[i].limit = 0xFFFF;
		st->segs[i].attrib.type = 3;
		st->segs[i].attrib.s = 1;
		st->segs[i].attrib.p = 1;
	}
	st->segs[NVMM_X64_SEG_CS].selector = 0xF000;
	st->segs[NVMM_X64_SEG_CS].base = 0xFFFF0000;
	st->segs[NVMM_X64_SEG_GDT].limit = 0xFFFF;
	st->segs[NVMM_X64_SEG_IDT].limit = 0xFFFF;
	st->segs[NVMM_X64_SEG_LDT].limit = 0xFFFF;
	st->segs[NVMM_X64_SEG_LDT].attrib.type = 2;	/* LDT */
	st->segs[NVMM_X64_SEG_LDT].attrib.p = 1;
	st->segs[NVMM_X64_SEG_TR].limit = 0xFFFF;
	st->segs[NVMM_X64_SEG_TR].attrib.type = 11;	/* busy 32-bit TSS */
	st->segs[NVMM_X64_SEG_TR].attrib.p = 1;

	st->gprs[NVMM_X64_GPR_RDX] = 0x600;
	st->gprs[NVMM_X64_GPR_RIP] = 0xFFF0;
	st->gprs[NVMM_X64_GPR_RFLAGS] = 0x2;
	st->crs[NVMM_X64_CR_CR0] = 0x60000010;
	st->crs[NVMM_X64_CR_XCR0] = 0x1;
	st->drs[NVMM_X64_DR_DR6] = 0xFFFF0FF0;
	st->drs[NVMM_X64_DR_DR7] = 0x400;
	st->msrs[NVMM_X64_MSR_PAT] = 0x0007040600070406ULL;
	st->fpu.fx_cw = 0x0040;
	st->fpu.fx_tw = 0;	/* abridged tag word: every register empty */
	st->fpu.fx_mxcsr = 0x1F80;
}

/* -------------------------------------------------------------------------- */
/* Conversions.                                                               */

static void
seg_from_kvm(struct nvmm_x64_state_seg *s, const struct kvm_segment *k)
{
	s->selector = k->selector;
	s->base = k->base;
	s->limit = k->limit;
	s->attrib.type = k->type;
	s->attrib.s = k->s;
	s->attrib.dpl = k->dpl;
	s->attrib.p = k->present && !k->unusable;
	s->attrib.avl = k->avl;
	s->attrib.l = k->l;
	s->attrib.def = k->db;
	s->attrib.g = k->g;
	s->attrib.rsvd = 0;
}

static void
seg_to_kvm(struct kvm_segment *k, const struct nvmm_x64_state_seg *s)
{
	memset(k, 0, sizeof(*k));
	k->selector = s->selector;
	k->base = s->base;
	k->limit = s->limit;
	k->type = s->attrib.type;
	k->s = s->attrib.s;
	k->dpl = s->attrib.dpl;
	k->present = s->attrib.p;
	k->avl = s->attrib.avl;
	k->l = s->attrib.l;
	k->db = s->attrib.def;
	k->g = s->attrib.g;
	k->unusable = !s->attrib.p;
}

static void
gprs_from_kvm(uint64_t *g, const struct kvm_regs *r)
{
	g[NVMM_X64_GPR_RAX] = r->rax;
	g[NVMM_X64_GPR_RCX] = r->rcx;
	g[NVMM_X64_GPR_RDX] = r->rdx;
	g[NVMM_X64_GPR_RBX] = r->rbx;
	g[NVMM_X64_GPR_RSP] = r->rsp;
	g[NVMM_X64_GPR_RBP] = r->rbp;
	g[NVMM_X64_GPR_RSI] = r->rsi;
	g[NVMM_X64_GPR_RDI] = r->rdi;
	g[NVMM_X64_GPR_R8] = r->r8;
	g[NVMM_X64_GPR_R9] = r->r9;
	g[NVMM_X64_GPR_R10] = r->r10;
	g[NVMM_X64_GPR_R11] = r->r11;
	g[NVMM_X64_GPR_R12] = r->r12;
	g[NVMM_X64_GPR_R13] = r->r13;
	g[NVMM_X64_GPR_R14] = r->r14;
	g[NVMM_X64_GPR_R15] = r->r15;
	g[NVMM_X64_GPR_RIP] = r->rip;
	g[NVMM_X64_GPR_RFLAGS] = r->rflags;
}

static void
gprs_to_kvm(struct kvm_regs *r, const uint64_t *g)
{
	r->rax = g[NVMM_X64_GPR_RAX];
	r->rcx = g[NVMM_X64_GPR_RCX];
	r->rdx = g[NVMM_X64_GPR_RDX];
	r->rbx = g[NVMM_X64_GPR_RBX];
	r->rsp = g[NVMM_X64_GPR_RSP];
	r->rbp = g[NVMM_X64_GPR_RBP];
	r->rsi = g[NVMM_X64_GPR_RSI];
	r->rdi = g[NVMM_X64_GPR_RDI];
	r->r8 = g[NVMM_X64_GPR_R8];
	r->r9 = g[NVMM_X64_GPR_R9];
	r->r10 = g[NVMM_X64_GPR_R10];
	r->r11 = g[NVMM_X64_GPR_R11];
	r->r12 = g[NVMM_X64_GPR_R12];
	r->r13 = g[NVMM_X64_GPR_R13];
	r->r14 = g[NVMM_X64_GPR_R14];
	r->r15 = g[NVMM_X64_GPR_R15];
	r->rip = g[NVMM_X64_GPR_RIP];
	r->rflags = g[NVMM_X64_GPR_RFLAGS];
}

void
kvm_gprs_from_run(struct kvm_cpu *c)
{
	gprs_from_kvm(c->state.gprs, &c->run->s.regs.regs);
	c->cached |= NVMM_X64_STATE_GPRS;
}

/* Fill kvm_run's sync-regs snapshot before the first KVM_RUN. */
int
kvm_snapshot_init(struct kvm_cpu *c)
{
	if (ioctl(c->fd, KVM_GET_REGS, &c->run->s.regs.regs) == -1 ||
	    ioctl(c->fd, KVM_GET_SREGS, &c->run->s.regs.sregs) == -1 ||
	    ioctl(c->fd, KVM_GET_VCPU_EVENTS, &c->run->s.regs.events) == -1)
		return -1;
	return 0;
}

/* -------------------------------------------------------------------------- */
/* Fetch.                                                                     */

static int
fetch_msrs(struct kvm_cpu *c)
{
	union msr_list m;
	unsigned i;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = NMSR_MAP;
	for (i = 0; i < NMSR_MAP; i++)
		m.hdr.entries[i].index = msr_map[i].index;
	if (ioctl(c->fd, KVM_GET_MSRS, &m) != (int)NMSR_MAP) {
		errno = EIO;
		return -1;
	}
	for (i = 0; i < NMSR_MAP; i++)
		c->state.msrs[msr_map[i].slot] = m.hdr.entries[i].data;
	c->state.msrs[NVMM_X64_MSR_EFER] = c->run->s.regs.sregs.efer;
	return 0;
}

static int
fetch_fpu(struct kvm_cpu *c)
{
	struct kvm_xsave xs;

	if (ioctl(c->fd, KVM_GET_XSAVE, &xs) == -1)
		return -1;
	/* The first 512 bytes of an XSAVE area are the FXSAVE image. */
	memcpy(&c->state.fpu, xs.region, sizeof(c->state.fpu));
	return 0;
}

int
kvm_state_fetch(struct kvm_cpu *c, uint64_t flags)
{
	const struct kvm_sregs *sr = &c->run->s.regs.sregs;
	const struct kvm_vcpu_events *ev = &c->run->s.regs.events;
	struct nvmm_x64_state *st = &c->state;

	if (flags & NVMM_X64_STATE_GPRS)
		gprs_from_kvm(st->gprs, &c->run->s.regs.regs);
	if (flags & NVMM_X64_STATE_SEGS) {
		seg_from_kvm(&st->segs[NVMM_X64_SEG_ES], &sr->es);
		seg_from_kvm(&st->segs[NVMM_X64_SEG_CS], &sr->cs);
		seg_from_kvm(&st->segs[NVMM_X64_SEG_SS], &sr->ss);
		seg_from_kvm(&st->segs[NVMM_X64_SEG_DS], &sr->ds);
		seg_from_kvm(&st->segs[NVMM_X64_SEG_FS], &sr->fs);
		seg_from_kvm(&st->segs[NVMM_X64_SEG_GS], &sr->gs);
		seg_from_kvm(&st->segs[NVMM_X64_SEG_LDT], &sr->ldt);
		seg_from_kvm(&st->segs[NVMM_X64_SEG_TR], &sr->tr);
		memset(&st->segs[NVMM_X64_SEG_GDT], 0, sizeof(st->segs[0]));
		st->segs[NVMM_X64_SEG_GDT].base = sr->gdt.base;
		st->segs[NVMM_X64_SEG_GDT].limit = sr->gdt.limit;
		memset(&st->segs[NVMM_X64_SEG_IDT], 0, sizeof(st->segs[0]));
		st->segs[NVMM_X64_SEG_IDT].base = sr->idt.base;
		st->segs[NVMM_X64_SEG_IDT].limit = sr->idt.limit;
	}
	if (flags & NVMM_X64_STATE_CRS) {
		struct kvm_xcrs xcrs;

		st->crs[NVMM_X64_CR_CR0] = sr->cr0;
		st->crs[NVMM_X64_CR_CR2] = sr->cr2;
		st->crs[NVMM_X64_CR_CR3] = sr->cr3;
		st->crs[NVMM_X64_CR_CR4] = sr->cr4;
		st->crs[NVMM_X64_CR_CR8] = c->run->cr8;
		memset(&xcrs, 0, sizeof(xcrs));
		if (ioctl(c->fd, KVM_GET_XCRS, &xcrs) == -1)
			return -1;
		for (unsigned i = 0; i < xcrs.nr_xcrs; i++)
			if (xcrs.xcrs[i].xcr == 0)
				c->xcr0 = xcrs.xcrs[i].value;
		st->crs[NVMM_X64_CR_XCR0] = c->xcr0;
	}
	if (flags & NVMM_X64_STATE_DRS) {
		struct kvm_debugregs d;

		if (ioctl(c->fd, KVM_GET_DEBUGREGS, &d) == -1)
			return -1;
		memcpy(&st->drs[NVMM_X64_DR_DR0], d.db, sizeof(d.db));
		st->drs[NVMM_X64_DR_DR6] = d.dr6;
		st->drs[NVMM_X64_DR_DR7] = d.dr7;
	}
	if ((flags & NVMM_X64_STATE_MSRS) && fetch_msrs(c) == -1)
		return -1;
	if (flags & NVMM_X64_STATE_INTR) {
		memset(&st->intr, 0, sizeof(st->intr));
		st->intr.int_shadow = ev->interrupt.shadow != 0;
		st->intr.int_window_exiting = c->int_window;
		st->intr.nmi_window_exiting = c->nmi_window;
		st->intr.evt_pending = ev->interrupt.injected ||
		    ev->exception.injected || ev->nmi.injected;
	}
	if ((flags & NVMM_X64_STATE_FPU) && fetch_fpu(c) == -1)
		return -1;
	c->cached |= flags;
	return 0;
}

/* -------------------------------------------------------------------------- */
/* Commit: load the components in c->commit into KVM before KVM_RUN.          */

static int
commit_msrs(struct kvm_cpu *c)
{
	union msr_list m;
	unsigned i;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = NMSR_MAP;
	for (i = 0; i < NMSR_MAP; i++) {
		m.hdr.entries[i].index = msr_map[i].index;
		m.hdr.entries[i].data = c->state.msrs[msr_map[i].slot];
	}
	if (ioctl(c->fd, KVM_SET_MSRS, &m) != (int)NMSR_MAP) {
		/* KVM refused a value (e.g. an invalid PAT). */
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static int
commit_fpu(struct kvm_cpu *c)
{
	struct kvm_xsave xs;
	uint64_t bv;

	if (ioctl(c->fd, KVM_GET_XSAVE, &xs) == -1)
		return -1;
	memcpy(xs.region, &c->state.fpu, sizeof(c->state.fpu));
	/* The x87 and SSE components are now valid, not in init state. */
	memcpy(&bv, (uint8_t *)xs.region + XSAVE_HDR_XSTATE_BV, sizeof(bv));
	bv |= XSTATE_X87_SSE;
	memcpy((uint8_t *)xs.region + XSAVE_HDR_XSTATE_BV, &bv, sizeof(bv));
	return ioctl(c->fd, KVM_SET_XSAVE, &xs) == -1 ? -1 : 0;
}

static int
commit_xcr0(struct kvm_cpu *c)
{
	struct kvm_xcrs xcrs;
	uint64_t v;

	/* As NVMM does: x87 forced, the rest masked to what we expose. */
	v = (c->state.crs[NVMM_X64_CR_XCR0] & kvm_cpuid_xcr0_mask()) | 1;
	if (v == c->xcr0)
		return 0;
	memset(&xcrs, 0, sizeof(xcrs));
	xcrs.nr_xcrs = 1;
	xcrs.xcrs[0].xcr = 0;
	xcrs.xcrs[0].value = v;
	if (ioctl(c->fd, KVM_SET_XCRS, &xcrs) == -1)
		return -1;
	c->xcr0 = v;
	return 0;
}

int
kvm_state_commit(struct kvm_cpu *c)
{
	struct kvm_run *run = c->run;
	struct kvm_sregs *sr = &run->s.regs.sregs;
	struct kvm_vcpu_events *ev = &run->s.regs.events;
	const struct nvmm_x64_state *st = &c->state;
	uint64_t f = c->commit;

	if (f == 0)
		return 0;
	if (f & NVMM_X64_STATE_GPRS) {
		gprs_to_kvm(&run->s.regs.regs, st->gprs);
		run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	}
	if (f & NVMM_X64_STATE_SEGS) {
		seg_to_kvm(&sr->es, &st->segs[NVMM_X64_SEG_ES]);
		seg_to_kvm(&sr->cs, &st->segs[NVMM_X64_SEG_CS]);
		seg_to_kvm(&sr->ss, &st->segs[NVMM_X64_SEG_SS]);
		seg_to_kvm(&sr->ds, &st->segs[NVMM_X64_SEG_DS]);
		seg_to_kvm(&sr->fs, &st->segs[NVMM_X64_SEG_FS]);
		seg_to_kvm(&sr->gs, &st->segs[NVMM_X64_SEG_GS]);
		seg_to_kvm(&sr->ldt, &st->segs[NVMM_X64_SEG_LDT]);
		seg_to_kvm(&sr->tr, &st->segs[NVMM_X64_SEG_TR]);
		sr->gdt.base = st->segs[NVMM_X64_SEG_GDT].base;
		sr->gdt.limit = (uint16_t)st->segs[NVMM_X64_SEG_GDT].limit;
		sr->idt.base = st->segs[NVMM_X64_SEG_IDT].base;
		sr->idt.limit = (uint16_t)st->segs[NVMM_X64_SEG_IDT].limit;
		run->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
	}
	if (f & NVMM_X64_STATE_CRS) {
		sr->cr0 = st->crs[NVMM_X64_CR_CR0];
		sr->cr2 = st->crs[NVMM_X64_CR_CR2];
		sr->cr3 = st->crs[NVMM_X64_CR_CR3];
		sr->cr4 = st->crs[NVMM_X64_CR_CR4];
		sr->cr8 = st->crs[NVMM_X64_CR_CR8];
		/* KVM reloads the TPR from kvm_run->cr8 at every KVM_RUN. */
		run->cr8 = st->crs[NVMM_X64_CR_CR8];
		run->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
		if (commit_xcr0(c) == -1)
			return -1;
	}
	if (f & NVMM_X64_STATE_MSRS) {
		sr->efer = st->msrs[NVMM_X64_MSR_EFER];
		run->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
		if (commit_msrs(c) == -1)
			return -1;
	}
	if (run->kvm_dirty_regs & KVM_SYNC_X86_SREGS) {
		/* Re-queuing an interrupt is the events' job, not sregs'. */
		memset(sr->interrupt_bitmap, 0, sizeof(sr->interrupt_bitmap));
	}
	if (f & NVMM_X64_STATE_DRS) {
		struct kvm_debugregs d;

		memset(&d, 0, sizeof(d));
		memcpy(d.db, &st->drs[NVMM_X64_DR_DR0], sizeof(d.db));
		d.dr6 = st->drs[NVMM_X64_DR_DR6];
		d.dr7 = st->drs[NVMM_X64_DR_DR7];
		if (ioctl(c->fd, KVM_SET_DEBUGREGS, &d) == -1)
			return -1;
	}
	if (f & NVMM_X64_STATE_INTR) {
		ev->interrupt.shadow = st->intr.int_shadow ?
		    KVM_X86_SHADOW_INT_MOV_SS : 0;
		ev->flags |= KVM_VCPUEVENT_VALID_SHADOW;
		run->kvm_dirty_regs |= KVM_SYNC_X86_EVENTS;
		c->int_window = st->intr.int_window_exiting;
		c->nmi_window = st->intr.nmi_window_exiting;
	}
	if ((f & NVMM_X64_STATE_FPU) && commit_fpu(c) == -1)
		return -1;
	c->commit = 0;
	return 0;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x86_assist_seg.c: MOV Sreg for the generic memory assist (the selector
 * came from MMIO): real mode and VM86 load selector * 16; protected mode
 * reads the descriptor from the GDT or LDT and checks it as the CPU does
 * (#GP(sel), #NP(sel), #SS(sel) for SS), sets its Accessed bit, and loads
 * the hidden part. MOV SS blocks interrupts for one instruction.
 */
#include <errno.h>
#include <string.h>

#include <nvmm.h>

#include "x86_assist_impl.h"

#define X86_EXC_NP	11

static int
sel_fault(struct assist *a, unsigned vector, uint16_t sel)
{
	return x86_exc_set(&a->exc, vector, true, sel & 0xfffc);
}

/* The descriptor of `sel` (8 bytes) and its linear address. */
static int
read_descriptor(struct assist *a, uint16_t sel, uint64_t *desc, uint64_t *la)
{
	const struct nvmm_x64_state_seg *t = &a->st->segs[(sel & 4) ?
	    NVMM_X64_SEG_LDT : NVMM_X64_SEG_GDT];
	uint64_t idx = sel & 0xfff8;
	uint8_t b[8];

	if ((sel & 4) && !t->attrib.p)
		return sel_fault(a, X86_EXC_GP, sel);
	if (idx + 7 > t->limit)
		return sel_fault(a, X86_EXC_GP, sel);
	*la = t->base + idx;
	if (a->cs != X86_CODE64)
		*la &= 0xffffffffULL;
	if (x86_vaccess(a, *la, b, 8, V_READ, false) == -1)
		return -1;
	memcpy(desc, b, 8);
	return 0;
}

static void
set_hidden(struct nvmm_x64_state_seg *s, uint16_t sel, uint64_t d)
{
	uint32_t limit = (uint32_t)((d & 0xffff) | ((d >> 32) & 0xf0000));

	s->selector = sel;
	s->base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
	s->attrib.type = (d >> 40) & 0xf;
	s->attrib.s = (d >> 44) & 1;
	s->attrib.dpl = (d >> 45) & 3;
	s->attrib.p = (d >> 47) & 1;
	s->attrib.avl = (d >> 52) & 1;
	s->attrib.l = (d >> 53) & 1;
	s->attrib.def = (d >> 54) & 1;
	s->attrib.g = (d >> 55) & 1;
	s->limit = s->attrib.g ? (limit << 12) | 0xfff : limit;
}

/* The CPU's checks of a descriptor for `seg`; 0 when it may be loaded. */
static int
check_descriptor(struct assist *a, int seg, uint16_t sel, uint64_t d)
{
	unsigned type = (d >> 40) & 0xf, dpl = (d >> 45) & 3, rpl = sel & 3;
	unsigned cpl = a->pg.cpl;
	bool s = (d >> 44) & 1, p = (d >> 47) & 1, code = type & 8;

	if (!s)
		return sel_fault(a, X86_EXC_GP, sel);
	if (seg == NVMM_X64_SEG_SS) {
		/* A writable data segment at CPL. */
		if (code || !(type & 2) || rpl != cpl || dpl != cpl)
			return sel_fault(a, X86_EXC_GP, sel);
		if (!p)
			return sel_fault(a, X86_EXC_SS, sel);
		return 0;
	}
	/* Data or readable code; conforming code ignores the privilege. */
	if (code && !(type & 2))
		return sel_fault(a, X86_EXC_GP, sel);
	if ((!code || !(type & 4)) && (dpl < cpl || dpl < rpl))
		return sel_fault(a, X86_EXC_GP, sel);
	if (!p)
		return sel_fault(a, X86_EXC_NP, sel);
	return 0;
}

static int
load_protected(struct assist *a, int seg, uint16_t sel)
{
	struct nvmm_x64_state_seg *s = &a->st->segs[seg];
	uint64_t d, la;

	if ((sel & 0xfffc) == 0) {
		/* Null: SS only at CPL < 3 in 64-bit mode with RPL = CPL. */
		if (seg == NVMM_X64_SEG_SS && (a->cs != X86_CODE64 ||
		    a->pg.cpl == 3 || (sel & 3) != a->pg.cpl))
			return sel_fault(a, X86_EXC_GP, 0);
		/* What FS/GS base a null load leaves differs by vendor. */
		if (a->cs == X86_CODE64 && (seg == NVMM_X64_SEG_FS ||
		    seg == NVMM_X64_SEG_GS))
			return x86_unsupported("null selector into FS/GS in "
			    "64-bit mode: the base it leaves is vendor-specific");
		s->selector = sel;
		s->attrib.p = 0;
		return 0;
	}
	if (read_descriptor(a, sel, &d, &la) == -1 ||
	    check_descriptor(a, seg, sel, d) == -1)
		return -1;
	if (!((d >> 40) & 1)) {
		uint8_t b;

		d |= 1ULL << 40;	/* Accessed */
		b = (uint8_t)(d >> 40);
		if (x86_vaccess(a, la + 5, &b, 1, V_WRITE, false) == -1)
			return -1;
	}
	set_hidden(s, sel, d);
	return 0;
}

int
x86_assist_load_seg(void *ctx, int seg, uint16_t sel)
{
	struct assist *a = ctx;
	struct nvmm_x64_state_seg *s = &a->st->segs[seg];

	if (seg == NVMM_X64_SEG_SS &&
	    nvmm_vcpu_getstate(a->mach, a->vcpu, NVMM_X64_STATE_INTR) == -1)
		return -1;
	if (x86_assist_realish(a)) {
		s->selector = sel;
		s->base = (uint64_t)sel << 4;
		if (a->pg.rflags & 0x20000) {	/* VM86: fixed attributes */
			s->limit = 0xffff;
			s->attrib.type = 3;
			s->attrib.s = 1;
			s->attrib.dpl = 3;
			s->attrib.p = 1;
			s->attrib.def = 0;
			s->attrib.g = 0;
		}
	} else if (load_protected(a, seg, sel) == -1) {
		return -1;
	}
	a->dirty |= NVMM_X64_STATE_SEGS;
	if (seg == NVMM_X64_SEG_SS) {
		a->st->intr.int_shadow = 1;
		a->dirty |= NVMM_X64_STATE_INTR;
	}
	return 0;
}

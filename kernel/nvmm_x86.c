// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0
/*
 * nvmm_x86.c: the x86 policy shared by the CPU backends: reset state, the
 * CPUID filter (a whitelist: what the guest sees is what we virtualize),
 * the per-VCPU CPUID configuration, and a few value checks.
 */
#include <linux/kernel.h>
#include <linux/string.h>
#include <asm/fpu/api.h>
#include <asm/fpu/xcr.h>
#include <asm/processor.h>

#include "nvmm_kern.h"

u64 nvmm_xcr0_mask;
u32 nvmm_mxcsr_mask;

#define XFEATURE_X87	0x1ULL
#define XFEATURE_SSE	0x2ULL

void
nvmm_x86_init(void)
{
	struct nvmm_x64_state_fpu *fx;
	u64 xcr0 = XFEATURE_X87;

	if (boot_cpu_has(X86_FEATURE_OSXSAVE)) {
		xcr0 = xgetbv(0);
	} else {
		xcr0 = XFEATURE_X87 | XFEATURE_SSE;
	}
	/* Guests get x87 and SSE state only: FXSAVE covers it. */
	nvmm_xcr0_mask = xcr0 & (XFEATURE_X87 | XFEATURE_SSE);

	nvmm_mxcsr_mask = 0xFFBF;
	fx = kzalloc(sizeof(*fx), GFP_KERNEL);
	if (fx != NULL) {
		kernel_fpu_begin();
		asm volatile("fxsave64 %0" : "=m"(*fx));
		kernel_fpu_end();
		if (fx->fx_mxcsr_mask != 0)
			nvmm_mxcsr_mask = fx->fx_mxcsr_mask;
		kfree(fx);
	}
}

void
nvmm_x86_reset_state(struct nvmm_x64_state *st)
{
	int i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < NVMM_X64_NSEG; i++) {
		st->segs[i].selector = 0;
		st->segs[i].limit = 0xFFFF;
		st->segs[i].base = 0;
		st->segs[i].attrib.p = 1;
		st->segs[i].attrib.s = 1;
		st->segs[i].attrib.type = 3;	/* data, read/write, accessed */
	}
	st->segs[NVMM_X64_SEG_CS].selector = 0xF000;
	st->segs[NVMM_X64_SEG_CS].base = 0xFFFF0000;
	st->segs[NVMM_X64_SEG_CS].attrib.type = 3;	/* as NetBSD and the SDM: r/w, accessed */
	/* System segments */
	memset(&st->segs[NVMM_X64_SEG_GDT].attrib, 0,
	    sizeof(st->segs[0].attrib));
	memset(&st->segs[NVMM_X64_SEG_IDT].attrib, 0,
	    sizeof(st->segs[0].attrib));
	st->segs[NVMM_X64_SEG_LDT].attrib.s = 0;
	st->segs[NVMM_X64_SEG_LDT].attrib.type = 2;	/* LDT */
	st->segs[NVMM_X64_SEG_TR].attrib.s = 0;
	st->segs[NVMM_X64_SEG_TR].attrib.type = 0xB;	/* busy 32-bit TSS */

	st->gprs[NVMM_X64_GPR_RIP] = 0xFFF0;
	st->gprs[NVMM_X64_GPR_RFLAGS] = 0x2;
	st->gprs[NVMM_X64_GPR_RDX] = 0x600;

	st->crs[NVMM_X64_CR_CR0] = 0x60000010;
	st->crs[NVMM_X64_CR_XCR0] = XFEATURE_X87;

	st->drs[NVMM_X64_DR_DR6] = 0xFFFF0FF0;
	st->drs[NVMM_X64_DR_DR7] = 0x400;

	st->msrs[NVMM_X64_MSR_PAT] = 0x0007040600070406ULL;

	st->fpu.fx_cw = 0x40;
	st->fpu.fx_mxcsr = 0x1F80;
	st->fpu.fx_mxcsr_mask = nvmm_mxcsr_mask;
	st->fpu.fx_tw = 0;
}

/* ------------------------------------------------------------------------ */
/* CPUID                                                                     */

#define B(n) (1U << (n))

/* Leaf 1 */
#define L1_ECX_OK (B(0) | B(1) | B(9) | B(12) | B(13) | B(19) | B(20) | \
	B(22) | B(23) | B(25) | B(26) | B(29) | B(30))
#define L1_ECX_OSXSAVE B(27)
#define L1_ECX_HV B(31)
#define L1_EDX_OK (B(0) | B(1) | B(2) | B(3) | B(4) | B(5) | B(6) | B(8) | \
	B(9) | B(11) | B(13) | B(15) | B(16) | B(17) | B(19) | B(23) | \
	B(24) | B(25) | B(26) | B(27) | B(28) | B(31))
/* Leaf 7.0 */
#define L7_EBX_OK (B(0) | B(3) | B(6) | B(7) | B(8) | B(9) | B(13) | \
	B(15) | B(18) | B(19) | B(20) | B(23) | B(24))
#define L7_ECX_OK (B(0) | B(2) | B(8) | B(9) | B(10) | B(25) | B(27) | B(28))
#define L7_EDX_OK (B(4) | B(10) | B(14) | B(29))
/* Leaf 0x80000001 */
#define E1_ECX_OK (B(0) | B(1) | B(4) | B(5) | B(6) | B(7) | B(8) | B(11) | \
	B(16) | B(17) | B(21) | B(22))
#define E1_EDX_OK (B(11) | B(19) | B(20) | B(22) | B(23) | B(24) | B(25) | \
	B(26) | B(29) | B(30) | B(31))

#define NVMM_BASIC_MAX	0x0000000DU
#define NVMM_EXT_MAX	0x8000001FU
#define NVMM_HV_LEAF	0x40000000U

static void
host_cpuid(u32 leaf, u32 sub, u32 r[4])
{
	cpuid_count(leaf, sub, &r[0], &r[1], &r[2], &r[3]);
}

void
nvmm_x86_cpuid(struct nvmm_cpu *vcpu, u32 leaf, u32 sub, u64 cr4,
    u32 r[4], bool *exit)
{
	u32 hmax, basic_max, ext_max, h[4];
	unsigned int i;

	*exit = false;
	host_cpuid(0, 0, h);
	hmax = h[0];
	basic_max = min(hmax, NVMM_BASIC_MAX);
	host_cpuid(0x80000000, 0, h);
	ext_max = min(h[0], NVMM_EXT_MAX);

	/* Out of range: the highest basic leaf, as Intel CPUs do. */
	if ((leaf > basic_max && leaf < NVMM_HV_LEAF) ||
	    (leaf > NVMM_HV_LEAF && leaf < 0x80000000U) || leaf > ext_max) {
		leaf = basic_max;
	}

	host_cpuid(leaf, sub, r);
	switch (leaf) {
	case 0x0:
		r[0] = basic_max;
		break;
	case 0x1:
		r[1] = (r[1] & 0x00FFFFFFU) | (vcpu->cpuid << 24);
		r[2] = (r[2] & L1_ECX_OK) | L1_ECX_HV;
		if (cr4 & X86_CR4_OSXSAVE)
			r[2] |= L1_ECX_OSXSAVE;
		r[3] &= L1_EDX_OK;
		break;
	case 0x7:
		if (sub == 0) {
			r[0] = 0;
			r[1] &= L7_EBX_OK;
			r[2] &= L7_ECX_OK;
			r[3] &= L7_EDX_OK;
		} else {
			r[0] = r[1] = r[2] = r[3] = 0;
		}
		break;
	case 0xD:
		if (sub == 0) {
			r[0] = (u32)nvmm_xcr0_mask;
			r[1] = 576;	/* legacy area + header */
			r[2] = 576;
			r[3] = 0;
		} else if (sub == 1) {
			r[0] &= B(0) | B(1) | B(2);
			r[1] = r[2] = r[3] = 0;
		} else {
			r[0] = r[1] = r[2] = r[3] = 0;
		}
		break;
	case NVMM_HV_LEAF:
		r[0] = NVMM_HV_LEAF;
		memcpy(&r[1], "___ NVMM ___", 12);
		break;
	case 0x80000000:
		r[0] = ext_max;
		break;
	case 0x80000001:
		r[2] &= E1_ECX_OK;
		r[3] &= E1_EDX_OK;
		break;
	case 0x80000002:
	case 0x80000003:
	case 0x80000004:
	case 0x80000005:
	case 0x80000006:
		break;
	case 0x80000007:
		r[0] = r[1] = r[2] = 0;
		r[3] &= B(8);
		break;
	case 0x80000008:
		r[1] &= B(0) | B(2) | B(9);
		r[3] = 0;
		break;
	default:
		/* 2-6, 8-0xC, other extended leaves: nothing virtualized. */
		r[0] = r[1] = r[2] = r[3] = 0;
		break;
	}

	for (i = 0; i < ARRAY_SIZE(vcpu->cpuidconf); i++) {
		const struct nvmm_vcpu_conf_cpuid *c = &vcpu->cpuidconf[i];

		if ((!c->mask && !c->exit) || c->leaf != leaf)
			continue;
		if (c->exit) {
			*exit = true;
			return;
		}
		r[0] = (r[0] & ~c->u.mask.del.eax) | c->u.mask.set.eax;
		r[1] = (r[1] & ~c->u.mask.del.ebx) | c->u.mask.set.ebx;
		r[2] = (r[2] & ~c->u.mask.del.ecx) | c->u.mask.set.ecx;
		r[3] = (r[3] & ~c->u.mask.del.edx) | c->u.mask.set.edx;
	}
}

int
nvmm_x86_conf_cpuid(struct nvmm_cpu *vcpu, const struct nvmm_vcpu_conf_cpuid *c)
{
	struct nvmm_vcpu_conf_cpuid *free = NULL;
	unsigned int i;

	if (c->mask && c->exit)
		return -EINVAL;
	vcpu->feats.valid = false;
	if (c->mask && ((c->u.mask.set.eax & c->u.mask.del.eax) ||
	    (c->u.mask.set.ebx & c->u.mask.del.ebx) ||
	    (c->u.mask.set.ecx & c->u.mask.del.ecx) ||
	    (c->u.mask.set.edx & c->u.mask.del.edx)))
		return -EINVAL;

	for (i = 0; i < ARRAY_SIZE(vcpu->cpuidconf); i++) {
		struct nvmm_vcpu_conf_cpuid *e = &vcpu->cpuidconf[i];

		if (!e->mask && !e->exit) {
			if (free == NULL)
				free = e;
			continue;
		}
		if (e->leaf == c->leaf) {
			/* Replace, or delete when neither flag is set. */
			if (!c->mask && !c->exit)
				memset(e, 0, sizeof(*e));
			else
				*e = *c;
			return 0;
		}
	}
	if (!c->mask && !c->exit)
		return 0;
	if (free == NULL)
		return -ENOBUFS;
	*free = *c;
	return 0;
}

bool
nvmm_x86_pat_valid(u64 pat)
{
	int i;

	for (i = 0; i < 8; i++) {
		u8 t = (pat >> (i * 8)) & 0xFF;

		if (t != 0 && t != 1 && t != 4 && t != 5 && t != 6 && t != 7)
			return false;
	}
	return true;
}

int
nvmm_x86_event_check(const struct nvmm_x86_event *ev)
{
	switch (ev->type) {
	case NVMM_VCPU_EVENT_INTR:
		return 0;
	case NVMM_VCPU_EVENT_EXCP:
		/* NMI is an INTR event, #BP a trap (see lib/event_valid.c). */
		if (ev->vector >= 32 || ev->vector == 2 || ev->vector == 3)
			return -EINVAL;
		return 0;
	default:
		return -EINVAL;
	}
}

// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0
/*
 * nvmm_x86_cr.c: which CR0, CR4, EFER, XCR0 and debug-register values a
 * guest may hold, one copy for the three ways they change: setstate from
 * the program, the guest's own writes (MOV CR0/CR4, WRMSR EFER, XSETBV),
 * and the last check before every VM entry. A CR4 or EFER bit is allowed
 * when the guest's CPUID exposes its feature and the host CPU has it (as
 * KVM's rule; the bits every x86-64 CPU has need no CPUID bit).
 */
#include <linux/kernel.h>
#include <asm/cpufeature.h>
#include <asm/msr-index.h>
#include <asm/processor.h>
#include <asm/processor-flags.h>

#include "nvmm_kern.h"

#define CR4_ALWAYS (X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | X86_CR4_DE | \
	X86_CR4_PSE | X86_CR4_PAE | X86_CR4_MCE | X86_CR4_PGE | X86_CR4_PCE | \
	X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT)

#define XFEATURE_X87	0x1ULL
#define XFEATURE_SSE	0x2ULL
#define XFEATURE_AVX	0x4ULL

/* The CR4 and EFER bits that need a CPUID feature (leaf, register, bit). */
struct feat_bit {
	u64 bit;
	u32 leaf;
	u8 reg, nr;		/* CPUID register (0 EAX .. 3 EDX), bit */
	u16 host;		/* X86_FEATURE_* of the host */
};

static const struct feat_bit cr4_feats[] = {
	{ X86_CR4_OSXSAVE, 1, 2, 26, X86_FEATURE_XSAVE },
	{ X86_CR4_PCIDE, 1, 2, 17, X86_FEATURE_PCID },
	{ X86_CR4_FSGSBASE, 7, 1, 0, X86_FEATURE_FSGSBASE },
	{ X86_CR4_SMEP, 7, 1, 7, X86_FEATURE_SMEP },
	{ X86_CR4_SMAP, 7, 1, 20, X86_FEATURE_SMAP },
	{ X86_CR4_UMIP, 7, 2, 2, X86_FEATURE_UMIP },
	/* PKRU is switched only where the host has it enabled. */
	{ X86_CR4_PKE, 7, 2, 3, X86_FEATURE_OSPKE },
	{ X86_CR4_LA57, 7, 2, 16, X86_FEATURE_LA57 },
};

static const struct feat_bit efer_feats[] = {
	{ EFER_SCE, 0x80000001, 3, 11, X86_FEATURE_SYSCALL },
	{ EFER_LME | EFER_LMA, 0x80000001, 3, 29, X86_FEATURE_LM },
	{ EFER_NX, 0x80000001, 3, 20, X86_FEATURE_NX },
	{ EFER_FFXSR, 0x80000001, 3, 25, X86_FEATURE_FXSR_OPT },
};

/* The bits of `t` the host has, and (vcpu != NULL) the guest's CPUID. */
static u64
feat_mask(struct nvmm_cpu *vcpu, const struct feat_bit *t, size_t n)
{
	u64 ok = 0;
	u32 r[4];
	bool exit;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!boot_cpu_has(t[i].host))
			continue;
		if (vcpu != NULL) {
			nvmm_x86_cpuid(vcpu, t[i].leaf, 0, 0, r, &exit);
			if (!((r[t[i].reg] >> t[i].nr) & 1))
				continue;
		}
		ok |= t[i].bit;
	}
	return ok;
}

static bool
guest_bit(struct nvmm_cpu *vcpu, u32 leaf, int reg, int nr)
{
	u32 r[4];
	bool exit;

	nvmm_x86_cpuid(vcpu, leaf, 0, 0, r, &exit);
	return (r[reg] >> nr) & 1;
}

const struct nvmm_x86_feats *
nvmm_x86_feats(struct nvmm_cpu *vcpu)
{
	struct nvmm_x86_feats *f = &vcpu->feats;

	if (f->valid)
		return f;
	f->cr4_ok = CR4_ALWAYS | feat_mask(vcpu, cr4_feats,
	    ARRAY_SIZE(cr4_feats));
	f->efer_ok = feat_mask(vcpu, efer_feats, ARRAY_SIZE(efer_feats));
	f->rdtscp = boot_cpu_has(X86_FEATURE_RDTSCP) &&
	    guest_bit(vcpu, 0x80000001, 3, 27);
	f->rdpid = boot_cpu_has(X86_FEATURE_RDPID) && guest_bit(vcpu, 7, 2, 22);
	f->valid = true;
	return f;
}

u64
nvmm_x86_cr4_allowed(struct nvmm_cpu *vcpu)
{
	if (vcpu != NULL)
		return nvmm_x86_feats(vcpu)->cr4_ok;
	return CR4_ALWAYS | feat_mask(NULL, cr4_feats, ARRAY_SIZE(cr4_feats));
}

u64
nvmm_x86_efer_allowed(struct nvmm_cpu *vcpu)
{
	if (vcpu != NULL)
		return nvmm_x86_feats(vcpu)->efer_ok;
	return feat_mask(NULL, efer_feats, ARRAY_SIZE(efer_feats));
}

bool
nvmm_x86_xcr0_valid(u64 xcr0)
{
	return (xcr0 & XFEATURE_X87) && !(xcr0 & ~nvmm_xcr0_mask) &&
	    !((xcr0 & XFEATURE_AVX) && !(xcr0 & XFEATURE_SSE));
}

static bool
cr3_valid(u64 cr3)
{
	return !(cr3 >> boot_cpu_data.x86_phys_bits);
}

/*
 * What a VM entry refuses (AMD APM vol. 2, "Canonicalization and
 * Consistency Checks", VMRUN), on the host's CPU: NULL, or which rule.
 */
const char *
nvmm_x86_entry_invalid(const struct nvmm_x86_ctlregs *r, u64 cr4_host,
    u64 efer_host)
{
	bool lm = (r->efer & EFER_LME) && (r->cr0 & X86_CR0_PG);

	if (r->cr0 >> 32)
		return "CR0 bits 63:32 set";
	if ((r->cr0 & X86_CR0_NW) && !(r->cr0 & X86_CR0_CD))
		return "CR0.NW without CR0.CD";
	if ((r->cr0 & X86_CR0_PG) && !(r->cr0 & X86_CR0_PE))
		return "CR0.PG without CR0.PE";
	if (r->cr4 & ~cr4_host)
		return "CR4 has reserved bits";
	if (r->efer & ~efer_host)
		return "EFER has reserved bits";
	if (r->dr6 >> 32)
		return "DR6 bits 63:32 set";
	if (r->dr7 >> 32)
		return "DR7 bits 63:32 set";
	if (lm && !(r->cr4 & X86_CR4_PAE))
		return "EFER.LME and CR0.PG without CR4.PAE";
	if (lm && !(r->efer & EFER_LMA))
		return "EFER.LME and CR0.PG without EFER.LMA";
	if (!lm && (r->efer & EFER_LMA))
		return "EFER.LMA without EFER.LME and CR0.PG";
	if (lm && r->cs_l && r->cs_d)
		return "CS.L and CS.D both set in long mode";
	if (lm && !cr3_valid(r->cr3))
		return "CR3 beyond the physical address width";
	return NULL;
}

/* The same for setstate, against what this guest's CPUID exposes. */
const char *
nvmm_x86_state_invalid(struct nvmm_cpu *vcpu, const struct nvmm_x86_ctlregs *r)
{
	if (r->cr4 & ~nvmm_x86_cr4_allowed(vcpu))
		return "CR4 has bits reserved or not exposed by the guest's CPUID";
	if (r->efer & ~nvmm_x86_efer_allowed(vcpu))
		return "EFER has bits reserved or not exposed by the guest's CPUID";
	if (!nvmm_x86_xcr0_valid(r->xcr0))
		return "XCR0 without x87, or with components not offered";
	return nvmm_x86_entry_invalid(r, ~0ULL, ~0ULL);
}

/* The guest's MOV to CR4: whether the CPU would take it (else #GP). */
bool
nvmm_x86_cr4_write_ok(struct nvmm_cpu *vcpu, const struct nvmm_x86_ctlregs *r,
    u64 val)
{
	bool lma = r->efer & EFER_LMA;

	if (val & ~nvmm_x86_cr4_allowed(vcpu))
		return false;
	if (lma && !(val & X86_CR4_PAE))
		return false;
	if (lma && ((val ^ r->cr4) & X86_CR4_LA57))
		return false;
	if ((val & X86_CR4_PCIDE) && !(r->cr4 & X86_CR4_PCIDE) &&
	    (!lma || (r->cr3 & 0xFFF)))
		return false;
	return true;
}

/* The guest's MOV to CR0 (or LMSW, CLTS). */
bool
nvmm_x86_cr0_write_ok(const struct nvmm_x86_ctlregs *r, u64 val)
{
	if (val >> 32)
		return false;
	if ((val & X86_CR0_NW) && !(val & X86_CR0_CD))
		return false;
	if ((val & X86_CR0_PG) && !(val & X86_CR0_PE))
		return false;
	if ((val & X86_CR0_PG) && !(r->cr0 & X86_CR0_PG) &&
	    (r->efer & EFER_LME) && !(r->cr4 & X86_CR4_PAE))
		return false;
	if (!(val & X86_CR0_PG) && (r->cr0 & X86_CR0_PG) &&
	    (r->efer & EFER_LMA) && (r->cs_l || (r->cr4 & X86_CR4_PCIDE)))
		return false;
	return true;
}

/* The guest's WRMSR to EFER. */
bool
nvmm_x86_efer_write_ok(struct nvmm_cpu *vcpu, const struct nvmm_x86_ctlregs *r,
    u64 val)
{
	if (val & ~nvmm_x86_efer_allowed(vcpu))
		return false;
	/* LME cannot change while paging is on. */
	if ((r->cr0 & X86_CR0_PG) && ((val ^ r->efer) & EFER_LME))
		return false;
	return true;
}

/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0 */
/*
 * nvmm_x86_msr.h: the MSRs that every backend answers itself, with no
 * RDMSR/WRMSR exit to the program: the model-specific registers a guest OS
 * reads or writes at boot (Linux, the BSDs, Windows), which an emulator has
 * no use for. One table, used by nvmm.ko (kernel/nvmm_svm.c, in the kernel)
 * and by the KVM backend (lib/backend_kvm.c, inside nvmm_vcpu_run: its MSR
 * filter sends these MSRs to the library, which answers KVM and runs the
 * guest on), so that both backends give the guest the same values.
 *
 * Not the MSRs of the NVMM state (EFER, PAT, TSC, the SYSCALL/SYSENTER
 * MSRs, FS/GS base), which each backend keeps in the VCPU, and not the ones
 * an emulator owns (APIC base, MTRRs, MCA...), which still exit.
 * docs/STATUS.md ("MSRs answered in the kernel") lists the values.
 *
 * Internal: not installed. Fixed-width types only (the module compiles it
 * with kernel/shim).
 */
#ifndef NVMM_X86_MSR_H
#define NVMM_X86_MSR_H

#include <stdint.h>

#define NVMM_MSR_PATCH_LEVEL	0x0000008BU	/* AMD; Intel: UCODE_REV */
#define NVMM_MSR_MISC_ENABLE	0x000001A0U	/* Intel; kept on AMD too */
#define NVMM_MSR_PERF_CTL0	0xC0010000U	/* PERF_CTL0-3 (EVNTSEL) */
#define NVMM_MSR_PERF_CTR3	0xC0010007U	/* after PERF_CTR0-2 */
#define NVMM_MSR_SYSCFG		0xC0010010U
#define NVMM_MSR_HWCR		0xC0010015U
#define NVMM_MSR_NB_CFG		0xC001001FU
#define NVMM_MSR_INT_PENDING	0xC0010055U	/* CMPHALT, C1E */
#define NVMM_MSR_LS_CFG		0xC0011020U
#define NVMM_MSR_IC_CFG		0xC0011021U
#define NVMM_MSR_FP_CFG		0xC0011028U
#define NVMM_MSR_DE_CFG		0xC0011029U

/* PATCH_LEVEL: patch level 0 in EAX (AMD), revision 1 in EDX (Intel). */
#define NVMM_PATCH_LEVEL_VALUE	0x0000000100000000ULL
/* HWCR: TscFreqSel, the TSC counts at the P0 frequency. */
#define NVMM_HWCR_VALUE		(1ULL << 24)
/* NB_CFG: InitApicIdCpuIdLo, as NetBSD NVMM reports it. */
#define NVMM_NB_CFG_VALUE	(1ULL << 54)

#define NVMM_MISC_ENABLE_FAST_STRING	(1ULL << 0)
#define NVMM_MISC_ENABLE_EMON		(1ULL << 7)	/* PMU: "R" bit */
#define NVMM_MISC_ENABLE_BTS_UNAVAIL	(1ULL << 11)	/* RO */
#define NVMM_MISC_ENABLE_PEBS_UNAVAIL	(1ULL << 12)	/* RO */
#define NVMM_MISC_ENABLE_RESET	(NVMM_MISC_ENABLE_FAST_STRING | \
	NVMM_MISC_ENABLE_BTS_UNAVAIL | NVMM_MISC_ENABLE_PEBS_UNAVAIL)

/* The values a backend keeps per VCPU for these MSRs. */
struct nvmm_x86_msrs {
	uint64_t misc_enable;
};

enum nvmm_x86_msr_verdict {
	NVMM_X86_MSR_EXIT = 0,	/* not in the set: exit to the program */
	NVMM_X86_MSR_DONE,	/* answered (RDMSR: the value); next insn */
	NVMM_X86_MSR_GP,	/* the instruction raises #GP(0) */
};

/* At VCPU creation. */
static inline void
nvmm_x86_msrs_reset(struct nvmm_x86_msrs *m)
{
	m->misc_enable = NVMM_MISC_ENABLE_RESET;
}

enum nvmm_x86_msr_kind {
	NVMM_X86_MSR_NONE = 0,	/* not in the set */
	NVMM_X86_MSR_FIXED,	/* reads `value`, writes are ignored */
	NVMM_X86_MSR_FAULT,	/* RDMSR and WRMSR raise #GP */
	NVMM_X86_MSR_KEPT,	/* MISC_ENABLE, per VCPU */
};

/* The set: [first, last] -> kind and value. */
static inline enum nvmm_x86_msr_kind
nvmm_x86_msr_lookup(uint32_t msr, uint64_t *value)
{
	static const struct {
		uint32_t first, last;
		enum nvmm_x86_msr_kind kind;
		uint64_t value;
	} set[] = {
		{ NVMM_MSR_PATCH_LEVEL, NVMM_MSR_PATCH_LEVEL,
		    NVMM_X86_MSR_FIXED, NVMM_PATCH_LEVEL_VALUE },
		{ NVMM_MSR_MISC_ENABLE, NVMM_MSR_MISC_ENABLE,
		    NVMM_X86_MSR_KEPT, 0 },
		/* No performance counters (CPUID hides them): read 0. */
		{ NVMM_MSR_PERF_CTL0, NVMM_MSR_PERF_CTR3,
		    NVMM_X86_MSR_FIXED, 0 },
		{ NVMM_MSR_SYSCFG, NVMM_MSR_SYSCFG, NVMM_X86_MSR_FIXED, 0 },
		{ NVMM_MSR_HWCR, NVMM_MSR_HWCR,
		    NVMM_X86_MSR_FIXED, NVMM_HWCR_VALUE },
		{ NVMM_MSR_NB_CFG, NVMM_MSR_NB_CFG,
		    NVMM_X86_MSR_FIXED, NVMM_NB_CFG_VALUE },
		{ NVMM_MSR_INT_PENDING, NVMM_MSR_INT_PENDING,
		    NVMM_X86_MSR_FIXED, 0 },
		/*
		 * LS_CFG carries the SSBD bit of families 15h-17h; the guest
		 * cannot have it, so it must not believe it does (Linux then
		 * reports SSB as not mitigated instead of a false mitigation).
		 */
		{ NVMM_MSR_LS_CFG, NVMM_MSR_LS_CFG, NVMM_X86_MSR_FAULT, 0 },
		/* Chicken bits: the host's kernel sets them on the real CPU. */
		{ NVMM_MSR_IC_CFG, NVMM_MSR_IC_CFG, NVMM_X86_MSR_FIXED, 0 },
		{ NVMM_MSR_FP_CFG, NVMM_MSR_DE_CFG, NVMM_X86_MSR_FIXED, 0 },
	};
	unsigned i;

	for (i = 0; i < sizeof(set) / sizeof(set[0]); i++) {
		if (msr >= set[i].first && msr <= set[i].last) {
			*value = set[i].value;
			return set[i].kind;
		}
	}
	*value = 0;
	return NVMM_X86_MSR_NONE;
}

static inline enum nvmm_x86_msr_verdict
nvmm_x86_msr_rdmsr(const struct nvmm_x86_msrs *m, uint32_t msr,
    uint64_t *val)
{
	switch (nvmm_x86_msr_lookup(msr, val)) {
	case NVMM_X86_MSR_FIXED:
		return NVMM_X86_MSR_DONE;
	case NVMM_X86_MSR_FAULT:
		return NVMM_X86_MSR_GP;
	case NVMM_X86_MSR_KEPT:
		*val = m->misc_enable;
		return NVMM_X86_MSR_DONE;
	default:
		return NVMM_X86_MSR_EXIT;
	}
}

static inline enum nvmm_x86_msr_verdict
nvmm_x86_msr_wrmsr(struct nvmm_x86_msrs *m, uint32_t msr, uint64_t val)
{
	const uint64_t ro = NVMM_MISC_ENABLE_BTS_UNAVAIL |
	    NVMM_MISC_ENABLE_PEBS_UNAVAIL;
	uint64_t fixed;

	switch (nvmm_x86_msr_lookup(msr, &fixed)) {
	case NVMM_X86_MSR_FIXED:
		return NVMM_X86_MSR_DONE;
	case NVMM_X86_MSR_FAULT:
		return NVMM_X86_MSR_GP;
	case NVMM_X86_MSR_KEPT:
		/* MISC_ENABLE, as KVM: RO bits fault, EMON ignores writes. */
		if ((val ^ m->misc_enable) & ro)
			return NVMM_X86_MSR_GP;
		m->misc_enable = (val & ~NVMM_MISC_ENABLE_EMON) |
		    (m->misc_enable & NVMM_MISC_ENABLE_EMON);
		return NVMM_X86_MSR_DONE;
	default:
		return NVMM_X86_MSR_EXIT;
	}
}

#endif /* NVMM_X86_MSR_H */

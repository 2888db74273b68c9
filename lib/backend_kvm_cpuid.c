/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * backend_kvm_cpuid.c: the guest CPUID table and the MSR policy of the KVM
 * backend, following NVMM's: a whitelist of features (no SVM/VMX, no
 * MONITOR/MWAIT, no performance counters, no AVX or XSAVE components beyond
 * x87/SSE), the "___ NVMM ___" hypervisor leaf, and the user's masks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm_impl.h"

#define MAX_ENTRIES 256

/* struct kvm_cpuid2 with room for its flexible array of entries. */
union cpuid_table {
	struct kvm_cpuid2 hdr;
	uint8_t room[sizeof(struct kvm_cpuid2) +
	    MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2)];
};

static union cpuid_table base;	/* filtered once per process */
static bool vendor_intel;
static uint64_t xcr0_mask = 0x3;

uint64_t
kvm_cpuid_xcr0_mask(void)
{
	return xcr0_mask;
}

/* Feature whitelists, per register (bit numbers from the SDM/APM). */
#define B(n) (1U << (n))
static const uint32_t leaf1_ecx = B(0) | B(1) | B(9) | B(12) | B(13) |
    B(19) | B(20) | B(22) | B(23) | B(25) | B(26) | B(27) | B(29) | B(30);
static const uint32_t leaf1_edx = B(0) | B(1) | B(2) | B(3) | B(4) | B(5) |
    B(6) | B(8) | B(9) | B(11) | B(13) | B(15) | B(16) | B(17) | B(19) |
    B(23) | B(24) | B(25) | B(26) | B(27) | B(28) | B(31);
static const uint32_t leaf7_ebx = B(0) | B(3) | B(6) | B(7) | B(8) | B(9) |
    B(13) | B(15) | B(18) | B(19) | B(20) | B(23) | B(24);
static const uint32_t leaf7_ecx = B(0) | B(2) | B(8) | B(9) | B(10) |
    B(25) | B(27) | B(28);
static const uint32_t leaf7_edx = B(4) | B(10) | B(14) | B(29);
static const uint32_t ext1_ecx = B(0) | B(1) | B(4) | B(5) | B(6) | B(7) |
    B(8) | B(11) | B(16) | B(17) | B(21) | B(22);
static const uint32_t ext1_edx = B(11) | B(19) | B(20) | B(22) | B(23) |
    B(24) | B(25) | B(26) | B(29) | B(30) | B(31);
#define LEAF1_ECX_HYPERVISOR	B(31)
#define LEAF1_ECX_PCID		B(17)
#define LEAF7_EBX_INVPCID	B(10)

static void
filter_entry(struct kvm_cpuid_entry2 *e, uint32_t max_basic, uint32_t max_ext)
{
	uint32_t f = e->function;

	switch (f) {
	case 0:
		e->eax = max_basic;
		break;
	case 1:
		e->ecx &= leaf1_ecx | (vendor_intel ? LEAF1_ECX_PCID : 0);
		e->ecx |= LEAF1_ECX_HYPERVISOR;
		e->edx &= leaf1_edx;
		break;
	case 7:
		if (e->index == 0) {
			e->eax = 0;
			e->ebx &= leaf7_ebx |
			    (vendor_intel ? LEAF7_EBX_INVPCID : 0);
			e->ecx &= leaf7_ecx;
			e->edx &= leaf7_edx;
		} else {
			e->eax = e->ebx = e->ecx = e->edx = 0;
		}
		break;
	case 0xD:
		if (e->index == 0) {
			e->eax &= (uint32_t)xcr0_mask;
			e->edx = 0;
			e->ebx = e->ecx = 512 + 64;	/* legacy + header */
		} else if (e->index == 1) {
			e->eax &= B(0) | B(1) | B(2);	/* no XSAVES */
			e->ebx = e->ecx = e->edx = 0;
		} else {
			e->eax = e->ebx = e->ecx = e->edx = 0;
		}
		break;
	case 2: case 4:
		if (!vendor_intel)
			e->eax = e->ebx = e->ecx = e->edx = 0;
		break;
	case 3: case 5: case 6: case 8: case 9: case 0xA: case 0xC:
		e->eax = e->ebx = e->ecx = e->edx = 0;
		break;
	case 0x80000000:
		e->eax = max_ext;
		break;
	case 0x80000001:
		e->ecx &= ext1_ecx;
		e->edx &= ext1_edx;
		break;
	case 0x80000007:
		e->eax = e->ebx = e->ecx = 0;
		e->edx &= B(8);			/* invariant TSC */
		break;
	case 0x80000008:
		e->ebx &= B(0) | B(2) | B(9);	/* CLZERO XSAVEERPTR WBNOINVD */
		e->edx = 0;
		break;
	case 0x8000000A:
	case 0x8000001F:
		e->eax = e->ebx = e->ecx = e->edx = 0;
		break;
	default:
		break;
	}
}

static bool
leaf_kept(uint32_t f, uint32_t max_basic, uint32_t max_ext)
{
	if (f < 0x40000000)
		return f <= max_basic;
	if (f >= 0x80000000)
		return f <= max_ext;
	return false;	/* KVM's own hypervisor leaves: replaced by ours */
}

int
kvm_cpuid_init(int kvm_fd)
{
	union cpuid_table sup;
	uint32_t max_basic = 0, max_ext = 0x80000000;
	unsigned i, n = 0;

	memset(&sup, 0, sizeof(sup));
	sup.hdr.nent = MAX_ENTRIES;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, &sup) == -1)
		return -1;
	for (i = 0; i < sup.hdr.nent; i++) {
		const struct kvm_cpuid_entry2 *e = &sup.hdr.entries[i];
		if (e->function == 0) {
			max_basic = e->eax;
			/* "GenuineIntel": EBX "Genu" */
			vendor_intel = e->ebx == 0x756e6547;
		} else if (e->function == 0x80000000) {
			max_ext = e->eax;
		} else if (e->function == 0xD && e->index == 0) {
			xcr0_mask = (e->eax | ((uint64_t)e->edx << 32)) & 0x3;
		}
	}
	if (max_basic > (vendor_intel ? 0x16U : 0xDU))
		max_basic = vendor_intel ? 0x16 : 0xD;
	if (max_ext > (vendor_intel ? 0x80000008U : 0x8000001FU))
		max_ext = vendor_intel ? 0x80000008 : 0x8000001F;

	for (i = 0; i < sup.hdr.nent && n < MAX_ENTRIES - 1; i++) {
		struct kvm_cpuid_entry2 e = sup.hdr.entries[i];
		if (!leaf_kept(e.function, max_basic, max_ext))
			continue;
		filter_entry(&e, max_basic, max_ext);
		base.hdr.entries[n++] = e;
	}
	/* The hypervisor leaf: "___ NVMM ___", and nothing above it. */
	memset(&base.hdr.entries[n], 0, sizeof(base.hdr.entries[n]));
	base.hdr.entries[n].function = 0x40000000;
	base.hdr.entries[n].eax = 0x40000000;
	memcpy(&base.hdr.entries[n].ebx, "___ ", 4);
	memcpy(&base.hdr.entries[n].ecx, "NVMM", 4);
	memcpy(&base.hdr.entries[n].edx, " ___", 4);
	n++;
	base.hdr.nent = n;
	return 0;
}

/* Per-VCPU table: the base, the APIC ID, then the user's masks. */
int
kvm_cpuid_apply(struct kvm_cpu *c, nvmm_cpuid_t cpuid)
{
	union cpuid_table t;
	unsigned i, j;

	memcpy(&t, &base, sizeof(t));
	for (i = 0; i < t.hdr.nent; i++) {
		struct kvm_cpuid_entry2 *e = &t.hdr.entries[i];

		if (e->function == 1)
			e->ebx = (e->ebx & 0x00FFFFFF) | (cpuid << 24);
		if (e->function == 0xB || e->function == 0x1F)
			e->edx = cpuid;		/* x2APIC ID */
		for (j = 0; j < c->ncpuid_conf; j++) {
			const struct nvmm_vcpu_conf_cpuid *cf = &c->cpuid_conf[j];
			if (cf->leaf != e->function)
				continue;
			e->eax = (e->eax & ~cf->u.mask.del.eax) | cf->u.mask.set.eax;
			e->ebx = (e->ebx & ~cf->u.mask.del.ebx) | cf->u.mask.set.ebx;
			e->ecx = (e->ecx & ~cf->u.mask.del.ecx) | cf->u.mask.set.ecx;
			e->edx = (e->edx & ~cf->u.mask.del.edx) | cf->u.mask.set.edx;
		}
	}
	return ioctl(c->fd, KVM_SET_CPUID2, &t) == -1 ? -1 : 0;
}

int
kvm_cpuid_configure(struct kvm_cpu *c, const struct nvmm_vcpu_conf_cpuid *cf)
{
	unsigned i;

	if (cf->rsvd != 0 || (cf->mask && cf->exit)) {
		errno = EINVAL;
		return -1;
	}
	if (cf->exit) {
		/* KVM answers CPUID in the kernel; it cannot exit for it. */
		errno = EOPNOTSUPP;
		return -1;
	}
	if (cf->mask && ((cf->u.mask.set.eax & cf->u.mask.del.eax) ||
	    (cf->u.mask.set.ebx & cf->u.mask.del.ebx) ||
	    (cf->u.mask.set.ecx & cf->u.mask.del.ecx) ||
	    (cf->u.mask.set.edx & cf->u.mask.del.edx))) {
		errno = EINVAL;
		return -1;
	}
	if (c->has_run) {
		/* KVM freezes the CPUID table at the first KVM_RUN. */
		errno = EBUSY;
		return -1;
	}
	for (i = 0; i < c->ncpuid_conf; i++)
		if (c->cpuid_conf[i].leaf == cf->leaf)
			break;
	if (!cf->mask) {
		/* Neither option: forget this leaf's entry. */
		if (i < c->ncpuid_conf)
			c->cpuid_conf[i] = c->cpuid_conf[--c->ncpuid_conf];
	} else if (i < c->ncpuid_conf) {
		c->cpuid_conf[i] = *cf;
	} else if (c->ncpuid_conf == LIB_CPUID_MAXOPS) {
		errno = ENOBUFS;
		return -1;
	} else {
		c->cpuid_conf[c->ncpuid_conf++] = *cf;
	}
	return 0;
}

/*
 * MSRs that KVM answers in its kernel: those of the VCPU state, which KVM
 * keeps, and two Intel ones. Every other RDMSR/WRMSR leaves KVM (its
 * default-deny filter + user-space MSR exits): the library answers the
 * boot-time MSRs of nvmm_x86_msr.h itself, as nvmm.ko does (KVM's own
 * answers for them differ from one KVM version or host to the next), and
 * the rest exits to the program. None of nvmm_x86_msr.h may be listed here.
 */
static const struct {
	uint32_t base;
	uint32_t n;
} kernel_msrs[] = {
	{ 0x00000010, 1 },	/* TSC */
	{ 0x00000017, 1 },	/* PLATFORM_ID */
	{ 0x0000010A, 1 },	/* ARCH_CAPABILITIES */
	{ 0x00000174, 3 },	/* SYSENTER_CS/ESP/EIP */
	{ 0x00000277, 1 },	/* PAT */
	{ 0xC0000080, 5 },	/* EFER STAR LSTAR CSTAR SFMASK */
	{ 0xC0000100, 4 },	/* FS_BASE GS_BASE KERNEL_GS_BASE TSC_AUX */
};

int
kvm_msr_filter_install(int vm_fd)
{
	static uint8_t ones[8] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	    0xFF };
	struct kvm_enable_cap cap;
	struct kvm_msr_filter f;
	unsigned i;

	memset(&cap, 0, sizeof(cap));
	cap.cap = KVM_CAP_X86_USER_SPACE_MSR;
	cap.args[0] = KVM_MSR_EXIT_REASON_INVAL | KVM_MSR_EXIT_REASON_UNKNOWN |
	    KVM_MSR_EXIT_REASON_FILTER;
	if (ioctl(vm_fd, KVM_ENABLE_CAP, &cap) == -1)
		return -1;

	memset(&f, 0, sizeof(f));
	f.flags = KVM_MSR_FILTER_DEFAULT_DENY;
	for (i = 0; i < sizeof(kernel_msrs) / sizeof(kernel_msrs[0]); i++) {
		f.ranges[i].flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE;
		f.ranges[i].base = kernel_msrs[i].base;
		f.ranges[i].nmsrs = kernel_msrs[i].n;
		f.ranges[i].bitmap = ones;
	}
	return ioctl(vm_fd, KVM_X86_SET_MSR_FILTER, &f) == -1 ? -1 : 0;
}

// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0
/*
 * nvmm_svm.c: the AMD SVM backend of nvmm.ko.
 *
 * One VMCB and one ASID per VCPU; nested paging (4 or 5 levels, like the
 * host) built by nvmm_mem.c. The world switch (nvmm_svm_vmrun.S) runs
 * CLGI; VMSAVE host; VMLOAD guest; VMRUN; VMSAVE guest; VMLOAD host; STGI,
 * with host interrupts disabled and the FPU borrowed by kernel_fpu_begin().
 * Without NRIP save (QEMU TCG has none) the module computes the next RIP of
 * the instructions it intercepts itself (fixed lengths; EXITINFO2 for IOIO).
 * The VMCB clean bits are always zero: every field is reloaded at VMRUN.
 */
#include <linux/cpu.h>
#include <linux/kernel.h>
#include <linux/percpu.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/mman.h>
#include <asm/debugreg.h>
#include <asm/io.h>
#include <asm/fpu/api.h>
#include <asm/fpu/xcr.h>
#include <asm/hw_breakpoint.h>
#include <asm/msr.h>
#include <asm/nospec-branch.h>
#include <asm/processor.h>
#include <asm/svm.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>

#include "nvmm_svm.h"

void nvmm_svm_vmrun(u64 vmcb_pa, u64 *gprs, u64 host_pa);

#define MSRPM_ORDER	1
#define IOPM_ORDER	2

#define DR7_ARMED	0xFFUL		/* L0-3, G0-3 */

struct svm_pcpu {
	struct page *hsave;	/* VM_HSAVE_PA area */
	struct page *hostvmcb;	/* host state of VMSAVE/VMLOAD */
	u64 host_tsc_aux;	/* this CPU's (node, cpu) for RDTSCP/RDPID */
	u64 last_domain;	/* machine whose guest ran here last */
	bool enabled;
};

static DEFINE_PER_CPU(struct svm_pcpu, svm_pcpu);
static atomic64_t ibpb_domains = ATOMIC64_INIT(0);
u32 svm_features;
static u32 svm_nasid;
static void *svm_msrpm;
static void *svm_iopm;
static unsigned long *asid_map;
static DEFINE_SPINLOCK(asid_lock);
static u64 host_xcr0;
static bool host_xsave;
static bool host_pku;		/* PKRU in use by the host: switch it */
static bool host_tsc_aux;	/* the CPU has TSC_AUX (RDTSCP or RDPID) */
static u64 host_cr4_ok, host_efer_ok;	/* what a VM entry accepts */

/* ------------------------------------------------------------------------ */
/* Detection and per-CPU setup                                               */

static int
svm_ident(void)
{
	u32 eax, ebx, ecx, edx;
	u64 vmcr;

	if (boot_cpu_data.x86_vendor != X86_VENDOR_AMD &&
	    boot_cpu_data.x86_vendor != X86_VENDOR_HYGON) {
		pr_err("nvmm: not an AMD CPU; only the SVM backend exists\n");
		return -ENODEV;
	}
	if (!boot_cpu_has(X86_FEATURE_SVM)) {
		pr_err("nvmm: the CPU has no SVM (AMD-V)\n");
		return -ENODEV;
	}
	rdmsrl(MSR_VM_CR, vmcr);
	if (vmcr & SVM_VM_CR_SVM_DIS_MASK) {
		pr_err("nvmm: SVM is disabled by the firmware (VM_CR.SVMDIS)\n");
		return -ENODEV;
	}
	cpuid(SVM_CPUID_FUNC, &eax, &ebx, &ecx, &edx);
	svm_features = edx;
	svm_nasid = ebx;
	if (!(svm_features & SVM_FEAT_NPT)) {
		pr_err("nvmm: SVM without nested paging (NPT) is not supported\n");
		return -ENODEV;
	}
	if (svm_nasid < 3) {
		pr_err("nvmm: SVM reports %u ASIDs\n", svm_nasid);
		return -ENODEV;
	}
	if (svm_nasid > 65536)
		svm_nasid = 65536;
	return 0;
}

static void
svm_cpu_disable(void *unused)
{
	struct svm_pcpu *pc = this_cpu_ptr(&svm_pcpu);
	u64 efer;

	if (!pc->enabled)
		return;
	wrmsrl(MSR_VM_HSAVE_PA, 0);
	rdmsrl(MSR_EFER, efer);
	wrmsrl(MSR_EFER, efer & ~EFER_SVME);
	pc->enabled = false;
}

/* Preemption off. */
static void
svm_cpu_enable(struct svm_pcpu *pc)
{
	u64 efer;

	rdmsrl(MSR_EFER, efer);
	if (pc->enabled && (efer & EFER_SVME))
		return;
	wrmsrl(MSR_EFER, efer | EFER_SVME);
	wrmsrl(MSR_VM_HSAVE_PA, page_to_phys(pc->hsave));
	if (host_tsc_aux)
		rdmsrl(MSR_TSC_AUX, pc->host_tsc_aux);
	pc->enabled = true;
}

static void
msrpm_pass(u32 msr, bool read, bool write)
{
	u8 *pm = svm_msrpm;
	u32 base, off;

	if (msr <= 0x1FFF) {
		base = 0;
		off = msr;
	} else if (msr >= 0xC0000000 && msr <= 0xC0001FFF) {
		base = 0x800;
		off = msr - 0xC0000000;
	} else if (msr >= 0xC0010000 && msr <= 0xC0011FFF) {
		base = 0x1000;
		off = msr - 0xC0010000;
	} else {
		return;
	}
	if (read)
		pm[base + off / 4] &= ~(1U << ((off % 4) * 2));
	if (write)
		pm[base + off / 4] &= ~(1U << ((off % 4) * 2 + 1));
}

static void
svm_free_pcpu(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct svm_pcpu *pc = per_cpu_ptr(&svm_pcpu, cpu);

		if (pc->hsave)
			__free_page(pc->hsave);
		if (pc->hostvmcb)
			__free_page(pc->hostvmcb);
		pc->hsave = NULL;
		pc->hostvmcb = NULL;
	}
}

int
nvmm_svm_init(void)
{
	int cpu, err;

	err = svm_ident();
	if (err)
		return err;

	for_each_possible_cpu(cpu) {
		struct svm_pcpu *pc = per_cpu_ptr(&svm_pcpu, cpu);

		pc->hsave = alloc_pages_node(cpu_to_node(cpu),
		    GFP_KERNEL | __GFP_ZERO, 0);
		pc->hostvmcb = alloc_pages_node(cpu_to_node(cpu),
		    GFP_KERNEL | __GFP_ZERO, 0);
		pc->enabled = false;
		if (pc->hsave == NULL || pc->hostvmcb == NULL) {
			err = -ENOMEM;
			goto fail;
		}
	}

	svm_msrpm = (void *)__get_free_pages(GFP_KERNEL, MSRPM_ORDER);
	svm_iopm = (void *)__get_free_pages(GFP_KERNEL, IOPM_ORDER);
	asid_map = bitmap_zalloc(svm_nasid, GFP_KERNEL);
	if (svm_msrpm == NULL || svm_iopm == NULL || asid_map == NULL) {
		err = -ENOMEM;
		goto fail;
	}
	/* Every IO port exits; every MSR exits but those the VMCB swaps. */
	memset(svm_iopm, 0xFF, PAGE_SIZE << IOPM_ORDER);
	memset(svm_msrpm, 0xFF, PAGE_SIZE << MSRPM_ORDER);
	msrpm_pass(MSR_STAR, true, true);
	msrpm_pass(MSR_LSTAR, true, true);
	msrpm_pass(MSR_CSTAR, true, true);
	msrpm_pass(MSR_SYSCALL_MASK, true, true);
	msrpm_pass(MSR_FS_BASE, true, true);
	msrpm_pass(MSR_GS_BASE, true, true);
	msrpm_pass(MSR_KERNEL_GS_BASE, true, true);
	msrpm_pass(MSR_IA32_SYSENTER_CS, true, true);
	msrpm_pass(MSR_IA32_SYSENTER_ESP, true, true);
	msrpm_pass(MSR_IA32_SYSENTER_EIP, true, true);
	msrpm_pass(MSR_IA32_TSC, true, false);
	__set_bit(0, asid_map);		/* ASID 0 is the host's */

	host_xsave = boot_cpu_has(X86_FEATURE_OSXSAVE);
	host_xcr0 = host_xsave ? xgetbv(0) : 0;
	host_pku = boot_cpu_has(X86_FEATURE_OSPKE);
	host_tsc_aux = boot_cpu_has(X86_FEATURE_RDTSCP) ||
	    boot_cpu_has(X86_FEATURE_RDPID);
	host_cr4_ok = nvmm_x86_cr4_allowed(NULL);
	host_efer_ok = nvmm_x86_efer_allowed(NULL) | EFER_SVME;
	nvmm_mem_global_init();

	pr_info("nvmm: AMD SVM: %u ASIDs, NPT %d levels, NRIP save %s, decode assists %s\n",
	    svm_nasid, nvmm_mem_npt_levels(),
	    (svm_features & SVM_FEAT_NRIPS) ? "yes" : "no (emulated)",
	    (svm_features & SVM_FEAT_DECODEASSIST) ? "yes" : "no");
	return 0;
fail:
	if (svm_msrpm)
		free_pages((unsigned long)svm_msrpm, MSRPM_ORDER);
	if (svm_iopm)
		free_pages((unsigned long)svm_iopm, IOPM_ORDER);
	bitmap_free(asid_map);
	svm_msrpm = svm_iopm = NULL;
	asid_map = NULL;
	svm_free_pcpu();
	return err;
}

void
nvmm_svm_fini(void)
{
	on_each_cpu(svm_cpu_disable, NULL, 1);
	free_pages((unsigned long)svm_msrpm, MSRPM_ORDER);
	free_pages((unsigned long)svm_iopm, IOPM_ORDER);
	bitmap_free(asid_map);
	svm_free_pcpu();
}

void
nvmm_svm_capability(struct nvmm_capability *cap)
{
	cap->arch.mach_conf_support = 0;
	cap->arch.vcpu_conf_support = NVMM_CAP_ARCH_VCPU_CONF_CPUID;
	cap->arch.xcr0_mask = nvmm_xcr0_mask;
	cap->arch.mxcsr_mask = nvmm_mxcsr_mask;
	cap->arch.conf_cpuid_maxops = ARRAY_SIZE(((struct nvmm_cpu *)0)->cpuidconf);
}

/* ------------------------------------------------------------------------ */
/* VCPUs                                                                     */

/*
 * The instruction at RIP is complete (done by this module, or by the program
 * that moved RIP): the guest goes on at npc, outside any interrupt shadow.
 * The shadow of STI, MOV SS or POP SS covers one instruction and the CPU
 * ends it when that instruction completes; an intercepted instruction has
 * not completed, so the #VMEXIT saves the shadow in the VMCB
 * (VMCB.INTERRUPT_SHADOW, AMD APM vol. 2, 15.21.5 and appendix B) and the
 * next VMRUN loads it back, for whatever instruction is at RIP by then.
 * Every place that moves RIP past an instruction comes through here.
 */
void
svm_insn_done(struct nvmm_cpu *vcpu, u64 npc)
{
	struct vmcb *vmcb = to_vmcb(vcpu);

	vmcb->save.rip = npc;
	vmcb->control.int_state &= ~SVM_INTERRUPT_SHADOW_MASK;
}

/* General register `gpr` (NVMM_X64_GPR_* = x86 encoding order). */
u64
svm_gpr(struct nvmm_cpu *vcpu, unsigned int gpr)
{
	if (gpr == NVMM_X64_GPR_RAX)
		return to_vmcb(vcpu)->save.rax;
	if (gpr == NVMM_X64_GPR_RSP)
		return to_vmcb(vcpu)->save.rsp;
	return vcpu->gprs[gpr & 15];
}

/* 64-bit code: long mode and CS.L. */
bool
svm_mode64(struct vmcb *vmcb)
{
	return (vmcb->save.efer & EFER_LMA) &&
	    (vmcb->save.cs.attrib & SVM_SELECTOR_L_MASK);
}

/* The guest's instruction bytes at CS:RIP: how many could be read. */
int
svm_fetch(struct nvmm_cpu *vcpu, u8 *buf, unsigned int len)
{
	struct vmcb *vmcb = to_vmcb(vcpu);
	struct nvmm_x86_paging pg = {
		.cr0 = vmcb->save.cr0, .cr3 = vmcb->save.cr3,
		.cr4 = vmcb->save.cr4, .efer = vmcb->save.efer,
	};
	u64 lin = vmcb->save.rip;

	if (!svm_mode64(vmcb))
		lin = (u32)(lin + vmcb->save.cs.base);
	return nvmm_x86_fetch(vcpu->mach, &pg, lin, buf, len);
}

static u32
asid_alloc(void)
{
	unsigned long a;

	spin_lock(&asid_lock);
	/* The last ASID is kept for the VCPUs that find none free. */
	a = find_first_zero_bit(asid_map, svm_nasid - 1);
	if (a < svm_nasid - 1)
		__set_bit(a, asid_map);
	spin_unlock(&asid_lock);
	/* All taken: share the last one, flushed at every entry. */
	return a < svm_nasid - 1 ? (u32)a : 0;
}

static void
asid_free(u32 asid)
{
	if (asid == 0)
		return;
	spin_lock(&asid_lock);
	__clear_bit(asid, asid_map);
	spin_unlock(&asid_lock);
}

/*
 * A VMCB as at VCPU creation: the control area, and a save area that only
 * setstate fills. Also after a SHUTDOWN, which leaves the VMCB undefined.
 */
static void
vmcb_init(struct nvmm_kmachine *mach, struct nvmm_cpu *vcpu)
{
	static const unsigned int icpts[] = {
		INTERCEPT_INTR, INTERCEPT_NMI, INTERCEPT_SMI, INTERCEPT_RDPMC,
		INTERCEPT_CPUID, INTERCEPT_RSM, INTERCEPT_INVD, INTERCEPT_HLT,
		INTERCEPT_INVLPGA, INTERCEPT_IOIO_PROT, INTERCEPT_MSR_PROT,
		INTERCEPT_SHUTDOWN, INTERCEPT_VMRUN, INTERCEPT_VMMCALL,
		INTERCEPT_VMLOAD, INTERCEPT_VMSAVE, INTERCEPT_STGI,
		INTERCEPT_CLGI, INTERCEPT_SKINIT, INTERCEPT_RDTSCP,
		INTERCEPT_MONITOR, INTERCEPT_MWAIT, INTERCEPT_MWAIT_COND,
		INTERCEPT_XSETBV, INTERCEPT_RDPRU, INTERCEPT_INVLPGB,
		INTERCEPT_INVLPGB_ILLEGAL, INTERCEPT_INVPCID,
		INTERCEPT_MCOMMIT, INTERCEPT_TLBSYNC,
		/* Checked against the guest's CPUID (nvmm_svm_cr.c). */
		INTERCEPT_CR4_WRITE, INTERCEPT_SELECTIVE_CR0,
		/* Caches are the host's: a no-op (WBNOINVD exits here too). */
		INTERCEPT_WBINVD,
		INTERCEPT_ICEBP,
	};
	struct vmcb *vmcb = to_vmcb(vcpu);
	unsigned int i;

	memset(vmcb, 0, PAGE_SIZE);
	for (i = 0; i < ARRAY_SIZE(icpts); i++)
		icpt_set(vmcb, icpts[i]);
	vmcb->control.intercepts[INTERCEPT_EXCEPTION_OFFSET / 32] =
	    SVM_EXCP_INTERCEPTS;
	vmcb->control.iopm_base_pa = __pa(svm_iopm);
	vmcb->control.msrpm_base_pa = __pa(svm_msrpm);
	vmcb->control.asid = vcpu->asid ? vcpu->asid : svm_nasid - 1;
	vmcb->control.int_ctl = V_INTR_MASKING_MASK;
	vmcb->control.nested_ctl = SVM_NESTED_CTL_NP_ENABLE;
	vmcb->control.nested_cr3 = nvmm_npt_root_pa(mach);
	vmcb->save.efer = EFER_SVME;
	vmcb->save.g_pat = 0x0007040600070406ULL;
	vcpu->tlb_flush = true;
	vcpu->int_window = vcpu->nmi_window = false;
	vcpu->reinject = vcpu->iret_step = vcpu->held = false;
	vcpu->xcr0 = 1;
	vcpu->pkru = 0;
	vcpu->tsc_aux = 0;
}

int
nvmm_svm_vcpu_create(struct nvmm_kmachine *mach, struct nvmm_cpu *vcpu)
{
	struct vmcb *vmcb;

	vmcb = (struct vmcb *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (vmcb == NULL)
		return -ENOMEM;
	vcpu->vmcb = vmcb;
	vcpu->vmcb_pa = __pa(vmcb);
	vcpu->asid = asid_alloc();
	vcpu->last_hcpu = -1;
	/*
	 * Under the machine's lock for writing. A new machine (its slot may
	 * be an old one's) starts without VCPUs: a fresh id, never reused.
	 */
	if (mach->nvcpus == 0)
		mach->ibpb_domain = atomic64_inc_return(&ibpb_domains);
	vmcb_init(mach, vcpu);
	return 0;
}

void
nvmm_svm_vcpu_destroy(struct nvmm_cpu *vcpu)
{
	asid_free(vcpu->asid);
	free_page((unsigned long)vcpu->vmcb);
	vcpu->vmcb = NULL;
}

/* ------------------------------------------------------------------------ */
/* State                                                                     */

/* NVMM segment order -> VMCB save area segments. */
static struct vmcb_seg *
vmcb_seg(struct vmcb *vmcb, int i)
{
	switch (i) {
	case NVMM_X64_SEG_ES: return &vmcb->save.es;
	case NVMM_X64_SEG_CS: return &vmcb->save.cs;
	case NVMM_X64_SEG_SS: return &vmcb->save.ss;
	case NVMM_X64_SEG_DS: return &vmcb->save.ds;
	case NVMM_X64_SEG_FS: return &vmcb->save.fs;
	case NVMM_X64_SEG_GS: return &vmcb->save.gs;
	case NVMM_X64_SEG_GDT: return &vmcb->save.gdtr;
	case NVMM_X64_SEG_IDT: return &vmcb->save.idtr;
	case NVMM_X64_SEG_LDT: return &vmcb->save.ldtr;
	default: return &vmcb->save.tr;
	}
}

/*
 * The program's interrupt window (`on`); the VINTR exit stays armed while
 * an interrupt of the program is held (nvmm_svm_event.c).
 */
void
svm_int_window_arm(struct nvmm_cpu *vcpu, bool on)
{
	struct vmcb *vmcb = to_vmcb(vcpu);
	const u32 bits = V_IRQ_MASK | V_IGN_TPR_MASK | V_INTR_PRIO_MASK;

	vcpu->int_window = on;
	if (on || vcpu->held) {
		vmcb->control.int_ctl |= bits;
		icpt_set(vmcb, INTERCEPT_VINTR);
	} else {
		vmcb->control.int_ctl &= ~bits;
		icpt_clr(vmcb, INTERCEPT_VINTR);
	}
}

/*
 * The control registers `flags` would give the VCPU, checked as a whole:
 * NULL, or the rule the state breaks.
 */
static const char *
state_check(struct nvmm_cpu *vcpu, u64 flags)
{
	const struct nvmm_x64_state *st = &vcpu->comm->state;
	struct nvmm_x86_ctlregs r;

	if (!(flags & (NVMM_X64_STATE_CRS | NVMM_X64_STATE_MSRS |
	    NVMM_X64_STATE_SEGS | NVMM_X64_STATE_DRS)))
		return NULL;
	svm_ctlregs(vcpu, &r);
	if (flags & NVMM_X64_STATE_CRS) {
		r.cr0 = READ_ONCE(st->crs[NVMM_X64_CR_CR0]);
		r.cr3 = READ_ONCE(st->crs[NVMM_X64_CR_CR3]);
		r.cr4 = READ_ONCE(st->crs[NVMM_X64_CR_CR4]);
		r.xcr0 = READ_ONCE(st->crs[NVMM_X64_CR_XCR0]);
	}
	if (flags & NVMM_X64_STATE_MSRS)
		r.efer = READ_ONCE(st->msrs[NVMM_X64_MSR_EFER]);
	if (flags & NVMM_X64_STATE_SEGS) {
		struct nvmm_x64_state_seg cs = st->segs[NVMM_X64_SEG_CS];

		r.cs_l = cs.attrib.l;
		r.cs_d = cs.attrib.def;
	}
	if (flags & NVMM_X64_STATE_DRS) {
		r.dr6 = READ_ONCE(st->drs[NVMM_X64_DR_DR6]);
		r.dr7 = READ_ONCE(st->drs[NVMM_X64_DR_DR7]);
	}
	return nvmm_x86_state_invalid(vcpu, &r);
}

/*
 * comm->state -> VMCB, for the components in `flags`. -EINVAL, and nothing
 * loaded, for a state the guest's CPU could not be in (the kernel log says
 * which rule).
 */
int
nvmm_svm_setstate(struct nvmm_cpu *vcpu, u64 flags)
{
	struct nvmm_x64_state *st = &vcpu->comm->state;
	struct vmcb *vmcb = to_vmcb(vcpu);
	const char *bad;
	int i;

	bad = state_check(vcpu, flags);
	if (bad != NULL) {
		pr_info_ratelimited("nvmm: pid %d VCPU %u: setstate refused: %s\n",
		    current->pid, vcpu->cpuid, bad);
		return -EINVAL;
	}

	if (flags & NVMM_X64_STATE_SEGS) {
		for (i = 0; i < NVMM_X64_NSEG; i++) {
			struct vmcb_seg *s = vmcb_seg(vmcb, i);
			u16 attr;

			memcpy(&attr, &st->segs[i].attrib, sizeof(attr));
			s->selector = READ_ONCE(st->segs[i].selector);
			s->attrib = attr & 0x0FFF;
			s->limit = READ_ONCE(st->segs[i].limit);
			s->base = READ_ONCE(st->segs[i].base);
		}
		vmcb->save.cpl = (vmcb->save.ss.attrib >> SVM_SELECTOR_DPL_SHIFT) & 3;
	}
	if (flags & NVMM_X64_STATE_GPRS) {
		u64 rip = READ_ONCE(st->gprs[NVMM_X64_GPR_RIP]);

		for (i = 0; i < 16; i++)
			vcpu->gprs[i] = READ_ONCE(st->gprs[i]);
		vmcb->save.rax = vcpu->gprs[NVMM_X64_GPR_RAX];
		vmcb->save.rsp = vcpu->gprs[NVMM_X64_GPR_RSP];
		vmcb->save.rflags = READ_ONCE(st->gprs[NVMM_X64_GPR_RFLAGS]) | 2;
		if (vcpu->iret_step) {
			vcpu->iret_step_tf = vmcb->save.rflags & X86_RFLAGS_TF;
			vmcb->save.rflags |= X86_RFLAGS_TF;
		}
		/*
		 * A program that moves RIP has done (e.g. RIP = npc of an
		 * RDMSR, IO or MEMORY exit) or dropped the instruction there,
		 * and with it the shadow it was in; the INTR state, when
		 * committed along with this, is applied below and wins.
		 */
		if (rip != vmcb->save.rip)
			svm_insn_done(vcpu, rip);
	}
	if (flags & NVMM_X64_STATE_CRS) {
		u64 xcr0 = READ_ONCE(st->crs[NVMM_X64_CR_XCR0]);

		vmcb->save.cr0 = READ_ONCE(st->crs[NVMM_X64_CR_CR0]);
		vmcb->save.cr2 = READ_ONCE(st->crs[NVMM_X64_CR_CR2]);
		vmcb->save.cr3 = READ_ONCE(st->crs[NVMM_X64_CR_CR3]);
		vmcb->save.cr4 = READ_ONCE(st->crs[NVMM_X64_CR_CR4]);
		vmcb->control.int_ctl = (vmcb->control.int_ctl & ~V_TPR_MASK) |
		    (READ_ONCE(st->crs[NVMM_X64_CR_CR8]) & V_TPR_MASK);
		vcpu->xcr0 = xcr0;
		vcpu->tlb_flush = true;
	}
	if (flags & NVMM_X64_STATE_DRS) {
		for (i = 0; i < 4; i++)
			vcpu->drs[i] = READ_ONCE(st->drs[NVMM_X64_DR_DR0 + i]);
		vmcb->save.dr6 = READ_ONCE(st->drs[NVMM_X64_DR_DR6]);
		vmcb->save.dr7 = READ_ONCE(st->drs[NVMM_X64_DR_DR7]);
	}
	if (flags & NVMM_X64_STATE_MSRS) {
		u64 pat = READ_ONCE(st->msrs[NVMM_X64_MSR_PAT]);

		vmcb->save.efer = READ_ONCE(st->msrs[NVMM_X64_MSR_EFER]) |
		    EFER_SVME;
		vmcb->save.star = READ_ONCE(st->msrs[NVMM_X64_MSR_STAR]);
		vmcb->save.lstar = READ_ONCE(st->msrs[NVMM_X64_MSR_LSTAR]);
		vmcb->save.cstar = READ_ONCE(st->msrs[NVMM_X64_MSR_CSTAR]);
		vmcb->save.sfmask = READ_ONCE(st->msrs[NVMM_X64_MSR_SFMASK]);
		vmcb->save.kernel_gs_base =
		    READ_ONCE(st->msrs[NVMM_X64_MSR_KERNELGSBASE]);
		vmcb->save.sysenter_cs =
		    READ_ONCE(st->msrs[NVMM_X64_MSR_SYSENTER_CS]);
		vmcb->save.sysenter_esp =
		    READ_ONCE(st->msrs[NVMM_X64_MSR_SYSENTER_ESP]);
		vmcb->save.sysenter_eip =
		    READ_ONCE(st->msrs[NVMM_X64_MSR_SYSENTER_EIP]);
		if (nvmm_x86_pat_valid(pat))
			vmcb->save.g_pat = pat;
		vmcb->control.tsc_offset =
		    READ_ONCE(st->msrs[NVMM_X64_MSR_TSC]) - rdtsc();
		vcpu->tlb_flush = true;
	}
	if (flags & NVMM_X64_STATE_INTR) {
		struct nvmm_x64_state_intr intr = st->intr;

		vmcb->control.int_state = intr.int_shadow ?
		    SVM_INTERRUPT_SHADOW_MASK : 0;
		svm_int_window_arm(vcpu, intr.int_window_exiting);
		svm_nmi_window_arm(vcpu, intr.nmi_window_exiting);
		if (!intr.nmi_window_exiting)
			svm_iret_step_cancel(vcpu);
	}
	if (flags & NVMM_X64_STATE_FPU) {
		memcpy(&vcpu->gfpu, &st->fpu, sizeof(vcpu->gfpu));
		vcpu->gfpu.fx_mxcsr &= nvmm_mxcsr_mask;
		vcpu->gfpu.fx_mxcsr_mask = 0;
	}
	return 0;
}

/* VMCB -> comm->state, for the components in `flags`. */
void
nvmm_svm_getstate(struct nvmm_cpu *vcpu, u64 flags)
{
	struct nvmm_x64_state *st = &vcpu->comm->state;
	struct vmcb *vmcb = to_vmcb(vcpu);
	int i;

	if (flags & NVMM_X64_STATE_SEGS) {
		for (i = 0; i < NVMM_X64_NSEG; i++) {
			const struct vmcb_seg *s = vmcb_seg(vmcb, i);
			u16 attr = s->attrib & 0x0FFF;

			/* A loaded TR always describes a busy TSS. */
			if (i == NVMM_X64_SEG_TR && !(attr & SVM_SELECTOR_S_MASK) &&
			    ((attr & 0xF) == 1 || (attr & 0xF) == 9))
				attr |= 2;
			st->segs[i].selector = s->selector;
			memcpy(&st->segs[i].attrib, &attr, sizeof(attr));
			st->segs[i].limit = s->limit;
			st->segs[i].base = s->base;
		}
	}
	if (flags & NVMM_X64_STATE_GPRS) {
		for (i = 0; i < 16; i++)
			st->gprs[i] = vcpu->gprs[i];
		st->gprs[NVMM_X64_GPR_RAX] = vmcb->save.rax;
		st->gprs[NVMM_X64_GPR_RSP] = vmcb->save.rsp;
		st->gprs[NVMM_X64_GPR_RIP] = vmcb->save.rip;
		st->gprs[NVMM_X64_GPR_RFLAGS] = svm_rflags_shown(vcpu);
	}
	if (flags & NVMM_X64_STATE_CRS) {
		st->crs[NVMM_X64_CR_CR0] = vmcb->save.cr0;
		st->crs[NVMM_X64_CR_CR2] = vmcb->save.cr2;
		st->crs[NVMM_X64_CR_CR3] = vmcb->save.cr3;
		st->crs[NVMM_X64_CR_CR4] = vmcb->save.cr4;
		st->crs[NVMM_X64_CR_CR8] = vmcb->control.int_ctl & V_TPR_MASK;
		st->crs[NVMM_X64_CR_XCR0] = vcpu->xcr0;
	}
	if (flags & NVMM_X64_STATE_DRS) {
		for (i = 0; i < 4; i++)
			st->drs[NVMM_X64_DR_DR0 + i] = vcpu->drs[i];
		st->drs[NVMM_X64_DR_DR6] = vmcb->save.dr6;
		st->drs[NVMM_X64_DR_DR7] = vmcb->save.dr7;
	}
	if (flags & NVMM_X64_STATE_MSRS) {
		st->msrs[NVMM_X64_MSR_EFER] = vmcb->save.efer & ~EFER_SVME;
		st->msrs[NVMM_X64_MSR_STAR] = vmcb->save.star;
		st->msrs[NVMM_X64_MSR_LSTAR] = vmcb->save.lstar;
		st->msrs[NVMM_X64_MSR_CSTAR] = vmcb->save.cstar;
		st->msrs[NVMM_X64_MSR_SFMASK] = vmcb->save.sfmask;
		st->msrs[NVMM_X64_MSR_KERNELGSBASE] = vmcb->save.kernel_gs_base;
		st->msrs[NVMM_X64_MSR_SYSENTER_CS] = vmcb->save.sysenter_cs;
		st->msrs[NVMM_X64_MSR_SYSENTER_ESP] = vmcb->save.sysenter_esp;
		st->msrs[NVMM_X64_MSR_SYSENTER_EIP] = vmcb->save.sysenter_eip;
		st->msrs[NVMM_X64_MSR_PAT] = vmcb->save.g_pat;
		st->msrs[NVMM_X64_MSR_TSC] = rdtsc() + vmcb->control.tsc_offset;
	}
	if (flags & NVMM_X64_STATE_INTR) {
		struct nvmm_x64_state_intr intr;

		memset(&intr, 0, sizeof(intr));
		intr.int_shadow = !!(vmcb->control.int_state &
		    SVM_INTERRUPT_SHADOW_MASK);
		intr.int_window_exiting = vcpu->int_window;
		intr.nmi_window_exiting = vcpu->nmi_window;
		intr.evt_pending = vcpu->reinject || vcpu->held;
		st->intr = intr;
	}
	if (flags & NVMM_X64_STATE_FPU) {
		memcpy(&st->fpu, &vcpu->gfpu, sizeof(st->fpu));
		st->fpu.fx_mxcsr_mask = nvmm_mxcsr_mask;
	}
}

/* ------------------------------------------------------------------------ */
/* Run                                                                       */

u64
svm_next_rip(struct nvmm_cpu *vcpu, unsigned int len)
{
	struct vmcb *vmcb = to_vmcb(vcpu);

	if ((svm_features & SVM_FEAT_NRIPS) && vmcb->control.next_rip != 0)
		return vmcb->control.next_rip;
	return vmcb->save.rip + len;
}

/* Interrupts off, FPU owned, preemption off. */
static void
svm_world_switch(struct nvmm_kmachine *mach, struct nvmm_cpu *vcpu)
{
	struct svm_pcpu *pc = this_cpu_ptr(&svm_pcpu);
	struct vmcb *vmcb = to_vmcb(vcpu);
	int cpu = smp_processor_id();
	unsigned long hdr[4], hdr7;
	u32 host_pkru = 0, entry_inj;
	u64 gen;

	svm_cpu_enable(pc);
	/*
	 * Another machine's guest ran on this CPU last: no branch target it
	 * trained may steer this one (IBPB, where the host uses IBPB; not
	 * needed where the host issues one at every VM exit).
	 */
	if (pc->last_domain != mach->ibpb_domain) {
		pc->last_domain = mach->ibpb_domain;
		if (!cpu_feature_enabled(X86_FEATURE_IBPB_ON_VMEXIT))
			indirect_branch_prediction_barrier();
	}
	if (vcpu->last_hcpu != cpu) {
		vcpu->last_hcpu = cpu;
		vcpu->tlb_flush = true;
	}
	gen = atomic64_read(&mach->tlb_gen);
	if (gen != vcpu->tlb_gen) {
		vcpu->tlb_gen = gen;
		vcpu->tlb_flush = true;
	}
	if (vcpu->asid == 0)
		vcpu->tlb_flush = true;		/* shared ASID */
	if (vcpu->tlb_flush)
		vmcb->control.tlb_ctl = (svm_features & SVM_FEAT_FLUSHBYASID) ?
		    TLB_CONTROL_FLUSH_ASID : TLB_CONTROL_FLUSH_ALL_ASID;
	else
		vmcb->control.tlb_ctl = TLB_CONTROL_DO_NOTHING;
	vmcb->control.clean = 0;
	vmcb->control.next_rip = 0;

	svm_event_entry(vcpu);
	entry_inj = vmcb->control.event_inj;

	/* No host breakpoint may stay armed on the guest's DR0-3. */
	get_debugreg(hdr7, 7);
	if (hdr7 & DR7_ARMED)
		set_debugreg(0, 7);
	get_debugreg(hdr[0], 0);
	get_debugreg(hdr[1], 1);
	get_debugreg(hdr[2], 2);
	get_debugreg(hdr[3], 3);
	set_debugreg(vcpu->drs[0], 0);
	set_debugreg(vcpu->drs[1], 1);
	set_debugreg(vcpu->drs[2], 2);
	set_debugreg(vcpu->drs[3], 3);

	/*
	 * AMD CPUs before Zen 2 (X86_BUG_FXSAVE_LEAK) save and restore the
	 * x87 FIP/FDP/FOP only with an exception pending: without this, the
	 * guest would read the host's or another guest's last ones. Load
	 * defined values first, as the kernel does for its own tasks.
	 */
	if (static_cpu_has_bug(X86_BUG_FXSAVE_LEAK))
		asm volatile("fnclex; emms; fildl %0" : : "m"(vcpu->gfpu));
	asm volatile("fxrstor64 %0" : : "m"(vcpu->gfpu));
	if (host_xsave && vcpu->xcr0 != host_xcr0)
		xsetbv(0, vcpu->xcr0);
	/*
	 * PKRU is not in the FPU state the kernel restores on the way back
	 * to user mode: switch it here (the guest has it with CR4.PKE).
	 */
	if (host_pku) {
		host_pkru = rdpkru();
		if ((vmcb->save.cr4 & X86_CR4_PKE) && vcpu->pkru != host_pkru)
			wrpkru(vcpu->pkru);
	}
	if (host_tsc_aux && vcpu->tsc_aux != pc->host_tsc_aux)
		wrmsrl(MSR_TSC_AUX, vcpu->tsc_aux);

	nvmm_svm_vmrun(vcpu->vmcb_pa, vcpu->gprs, page_to_phys(pc->hostvmcb));

	if (host_tsc_aux && vcpu->tsc_aux != pc->host_tsc_aux)
		wrmsrl(MSR_TSC_AUX, pc->host_tsc_aux);
	/* VMSCAPE: the VMM in user mode must not see the guest's training. */
	if (cpu_feature_enabled(X86_FEATURE_IBPB_EXIT_TO_USER))
		this_cpu_write(x86_ibpb_exit_to_user, true);
	if (host_pku) {
		u32 g = rdpkru();

		if (vmcb->save.cr4 & X86_CR4_PKE)
			vcpu->pkru = g;
		if (g != host_pkru)
			wrpkru(host_pkru);
	}
	if (host_xsave) {
		/*
		 * Where XSETBV does not exit (QEMU TCG), the guest wrote it;
		 * keep what setstate would accept back.
		 */
		u64 g = xgetbv(0);

		if (g != vcpu->xcr0)
			vcpu->xcr0 = nvmm_x86_xcr0_valid(g) ? g :
			    (g & nvmm_xcr0_mask) | 1;
		if (g != host_xcr0)
			xsetbv(0, host_xcr0);
	}
	asm volatile("fxsave64 %0" : "=m"(vcpu->gfpu));

	get_debugreg(vcpu->drs[0], 0);
	get_debugreg(vcpu->drs[1], 1);
	get_debugreg(vcpu->drs[2], 2);
	get_debugreg(vcpu->drs[3], 3);
	set_debugreg(hdr[0], 0);
	set_debugreg(hdr[1], 1);
	set_debugreg(hdr[2], 2);
	set_debugreg(hdr[3], 3);
	set_debugreg(DR6_RESERVED, 6);
	if (hdr7 & DR7_ARMED)
		set_debugreg(hdr7, 7);
	if (hw_breakpoint_active())
		hw_breakpoint_restore();

	vcpu->tlb_flush = false;
	vmcb->control.tlb_ctl = TLB_CONTROL_DO_NOTHING;
	svm_event_exit(vcpu, entry_inj);
}

static void
set_gpr32(struct nvmm_cpu *vcpu, int reg, u32 val)
{
	if (reg == NVMM_X64_GPR_RAX)
		to_vmcb(vcpu)->save.rax = val;
	else
		vcpu->gprs[reg] = val;
}

static int
exit_cpuid(struct nvmm_cpu *vcpu, struct nvmm_x86_exit *exit)
{
	struct vmcb *vmcb = to_vmcb(vcpu);
	u32 r[4];
	bool user;

	nvmm_x86_cpuid(vcpu, (u32)vmcb->save.rax,
	    (u32)vcpu->gprs[NVMM_X64_GPR_RCX], vmcb->save.cr4, r, &user);
	if (user) {
		exit->reason = NVMM_VCPU_EXIT_CPUID;
		exit->u.insn.npc = svm_next_rip(vcpu, 2);
		return EXIT_USER;
	}
	set_gpr32(vcpu, NVMM_X64_GPR_RAX, r[0]);
	set_gpr32(vcpu, NVMM_X64_GPR_RBX, r[1]);
	set_gpr32(vcpu, NVMM_X64_GPR_RCX, r[2]);
	set_gpr32(vcpu, NVMM_X64_GPR_RDX, r[3]);
	svm_insn_done(vcpu, svm_next_rip(vcpu, 2));
	return EXIT_CONTINUE;
}

static int
exit_io(struct nvmm_cpu *vcpu, struct nvmm_x86_exit *exit)
{
	struct vmcb *vmcb = to_vmcb(vcpu);
	u64 info = vmcb->control.exit_info_1;

	exit->reason = NVMM_VCPU_EXIT_IO;
	exit->u.io.in = info & SVM_IOIO_TYPE_MASK;
	exit->u.io.port = (u16)(info >> 16);
	exit->u.io.str = !!(info & SVM_IOIO_STR_MASK);
	exit->u.io.rep = !!(info & SVM_IOIO_REP_MASK);
	if (info & (1U << 6))
		exit->u.io.operand_size = 4;
	else if (info & (1U << 5))
		exit->u.io.operand_size = 2;
	else
		exit->u.io.operand_size = 1;
	if (info & (1U << 9))
		exit->u.io.address_size = 8;
	else if (info & (1U << 8))
		exit->u.io.address_size = 4;
	else if (info & (1U << 7))
		exit->u.io.address_size = 2;
	else
		exit->u.io.address_size = 0;	/* not given (QEMU TCG) */
	if (exit->u.io.str && (svm_features & SVM_FEAT_DECODEASSIST))
		exit->u.io.seg = (info >> 10) & 7;
	else
		exit->u.io.seg = -1;
	exit->u.io.npc = vmcb->control.exit_info_2;
	return EXIT_USER;
}

static bool
tsc_aux_exposed(struct nvmm_cpu *vcpu)
{
	const struct nvmm_x86_feats *f = nvmm_x86_feats(vcpu);

	return f->rdtscp || f->rdpid;
}

static int
exit_msr(struct nvmm_cpu *vcpu, struct nvmm_x86_exit *exit)
{
	struct vmcb *vmcb = to_vmcb(vcpu);
	bool wr = vmcb->control.exit_info_1 == 1;
	u32 msr = (u32)vcpu->gprs[NVMM_X64_GPR_RCX];
	u64 val = (vmcb->save.rax & 0xFFFFFFFFULL) |
	    (vcpu->gprs[NVMM_X64_GPR_RDX] << 32);
	enum nvmm_x86_msr_verdict v;
	u64 rval = 0;

	switch (msr) {
	case MSR_EFER:
		if (!wr) {
			rval = vmcb->save.efer & ~EFER_SVME;
		} else if (svm_wrmsr_efer(vcpu, val)) {
			svm_inject_exception(vcpu, 13, true, 0);
			return EXIT_CONTINUE;
		}
		break;
	case MSR_TSC_AUX:
		/* As on a CPU: there with RDTSCP or RDPID, bits 63:32 zero. */
		if (!tsc_aux_exposed(vcpu) || (wr && (val >> 32))) {
			svm_inject_exception(vcpu, 13, true, 0);
			return EXIT_CONTINUE;
		}
		if (wr)
			vcpu->tsc_aux = val;
		else
			rval = vcpu->tsc_aux;
		break;
	case MSR_IA32_CR_PAT:
		if (!wr) {
			rval = vmcb->save.g_pat;
		} else if (!nvmm_x86_pat_valid(val)) {
			svm_inject_exception(vcpu, 13, true, 0);
			return EXIT_CONTINUE;
		} else {
			vmcb->save.g_pat = val;
		}
		break;
	case MSR_IA32_TSC:
		if (wr)
			vmcb->control.tsc_offset = val - rdtsc();
		else
			rval = rdtsc() + vmcb->control.tsc_offset;
		break;
	default:
		/* The boot-time MSRs of nvmm_x86_msr.h, as every backend. */
		if (wr)
			v = nvmm_x86_msr_wrmsr(&vcpu->msrs, msr, val);
		else
			v = nvmm_x86_msr_rdmsr(&vcpu->msrs, msr, &rval);
		if (v == NVMM_X86_MSR_GP) {
			svm_inject_exception(vcpu, 13, true, 0);
			return EXIT_CONTINUE;
		}
		if (v == NVMM_X86_MSR_EXIT)
			goto user;
		break;
	}
	if (!wr) {
		vmcb->save.rax = rval & 0xFFFFFFFFULL;
		vcpu->gprs[NVMM_X64_GPR_RDX] = rval >> 32;
	}
	svm_insn_done(vcpu, svm_next_rip(vcpu, 2));
	return EXIT_CONTINUE;

user:
	/* Every other MSR: the program answers. */
	if (wr) {
		exit->reason = NVMM_VCPU_EXIT_WRMSR;
		exit->u.wrmsr.msr = msr;
		exit->u.wrmsr.val = val;
		exit->u.wrmsr.npc = svm_next_rip(vcpu, 2);
	} else {
		exit->reason = NVMM_VCPU_EXIT_RDMSR;
		exit->u.rdmsr.msr = msr;
		exit->u.rdmsr.npc = svm_next_rip(vcpu, 2);
	}
	return EXIT_USER;
}

static int
exit_xsetbv(struct nvmm_cpu *vcpu)
{
	struct vmcb *vmcb = to_vmcb(vcpu);
	u64 val = (vmcb->save.rax & 0xFFFFFFFFULL) |
	    (vcpu->gprs[NVMM_X64_GPR_RDX] << 32);

	if (!(vmcb->save.cr4 & X86_CR4_OSXSAVE)) {
		svm_inject_exception(vcpu, 6, false, 0);
		return EXIT_CONTINUE;
	}
	if ((u32)vcpu->gprs[NVMM_X64_GPR_RCX] != 0 || vmcb->save.cpl != 0 ||
	    !nvmm_x86_xcr0_valid(val)) {
		svm_inject_exception(vcpu, 13, true, 0);
		return EXIT_CONTINUE;
	}
	vcpu->xcr0 = val;
	svm_insn_done(vcpu, svm_next_rip(vcpu, 3));
	return EXIT_CONTINUE;
}

static int
exit_npf(struct nvmm_kmachine *mach, struct nvmm_cpu *vcpu,
    struct nvmm_x86_exit *exit)
{
	struct vmcb *vmcb = to_vmcb(vcpu);
	u64 info = vmcb->control.exit_info_1;
	u64 gpa = vmcb->control.exit_info_2;
	bool write = info & (1ULL << 1);
	bool exec = info & (1ULL << 4);
	int r;

	r = nvmm_mem_fault(mach, gpa, write, exec);
	if (r == -EAGAIN) {
		cond_resched();
		return EXIT_CONTINUE;
	}
	if (r < 0)
		return r;
	if (r == 0)
		return EXIT_CONTINUE;
	exit->reason = NVMM_VCPU_EXIT_MEMORY;
	exit->u.mem.prot = write ? PROT_WRITE : (exec ? PROT_EXEC : PROT_READ);
	exit->u.mem.gpa = gpa;
	if ((svm_features & SVM_FEAT_DECODEASSIST) &&
	    vmcb->control.insn_len <= 15) {
		exit->u.mem.inst_len = vmcb->control.insn_len;
		memcpy(exit->u.mem.inst_bytes, vmcb->control.insn_bytes,
		    sizeof(exit->u.mem.inst_bytes));
	} else {
		exit->u.mem.inst_len = 0;
	}
	return EXIT_USER;
}

static int
exit_wbinvd(struct nvmm_cpu *vcpu, struct nvmm_x86_exit *exit)
{
	struct vmcb *vmcb = to_vmcb(vcpu);
	u8 b[15];
	int n;

	if ((svm_features & SVM_FEAT_NRIPS) && vmcb->control.next_rip) {
		svm_insn_done(vcpu, vmcb->control.next_rip);
		return EXIT_CONTINUE;
	}
	n = svm_fetch(vcpu, b, sizeof(b));
	n = nvmm_x86_len_0f(b, max(n, 0), svm_mode64(vmcb), 0x09);
	if (n < 0) {
		exit->reason = NVMM_VCPU_EXIT_INVALID;
		exit->u.inv.hwcode = SVM_EXIT_WBINVD;
		return EXIT_USER;
	}
	svm_insn_done(vcpu, vmcb->save.rip + n);
	return EXIT_CONTINUE;
}

static int
svm_handle_exit(struct nvmm_kmachine *mach, struct nvmm_cpu *vcpu,
    struct nvmm_x86_exit *exit)
{
	struct vmcb *vmcb = to_vmcb(vcpu);
	u64 code = vmcb->control.exit_code |
	    ((u64)vmcb->control.exit_code_hi << 32);

	switch (code) {
	case SVM_EXIT_INTR:
	case SVM_EXIT_NMI:
	case SVM_EXIT_SMI:
		return EXIT_CONTINUE;
	case SVM_EXIT_VINTR:
		return svm_exit_vintr(vcpu, exit);
	case SVM_EXIT_IRET:
		return svm_exit_iret(vcpu);
	case SVM_EXIT_WRITE_CR4:
		return svm_exit_cr_write(vcpu, exit, 4);
	case SVM_EXIT_CR0_SEL_WRITE:
	case SVM_EXIT_WRITE_CR0:
		return svm_exit_cr_write(vcpu, exit, 0);
	case SVM_EXIT_EXCP_BASE ... SVM_EXIT_EXCP_BASE + 31:
		return svm_exit_excp(vcpu, exit, code - SVM_EXIT_EXCP_BASE);
	case SVM_EXIT_ICEBP:
		return svm_exit_icebp(vcpu);
	case SVM_EXIT_WBINVD:
		/* WBINVD or WBNOINVD: the host's caches are coherent. */
		return exit_wbinvd(vcpu, exit);
	case SVM_EXIT_CPUID:
		return exit_cpuid(vcpu, exit);
	case SVM_EXIT_HLT:
		svm_insn_done(vcpu, svm_next_rip(vcpu, 1));
		exit->reason = NVMM_VCPU_EXIT_HALTED;
		return EXIT_USER;
	case SVM_EXIT_IOIO:
		return exit_io(vcpu, exit);
	case SVM_EXIT_MSR:
		return exit_msr(vcpu, exit);
	case SVM_EXIT_XSETBV:
		return exit_xsetbv(vcpu);
	case SVM_EXIT_NPF:
		return exit_npf(mach, vcpu, exit);
	case SVM_EXIT_SHUTDOWN:
		/*
		 * The VMCB is undefined after a shutdown (AMD APM vol. 2,
		 * 15.11): start again from the creation state, as an INIT.
		 */
		vmcb_init(mach, vcpu);
		nvmm_x86_reset_state(&vcpu->comm->state);
		nvmm_svm_setstate(vcpu, NVMM_X64_STATE_ALL);
		exit->reason = NVMM_VCPU_EXIT_SHUTDOWN;
		return EXIT_USER;
	case SVM_EXIT_MONITOR:
		exit->reason = NVMM_VCPU_EXIT_MONITOR;
		exit->u.insn.npc = svm_next_rip(vcpu, 3);
		return EXIT_USER;
	case SVM_EXIT_MWAIT:
	case SVM_EXIT_MWAIT_COND:
		exit->reason = NVMM_VCPU_EXIT_MWAIT;
		exit->u.insn.npc = svm_next_rip(vcpu, 3);
		return EXIT_USER;
	case SVM_EXIT_INVD:
		/* Caches are coherent with the host: nothing to do. */
		svm_insn_done(vcpu, svm_next_rip(vcpu, 2));
		return EXIT_CONTINUE;
	case SVM_EXIT_VMRUN:
	case SVM_EXIT_VMMCALL:
	case SVM_EXIT_VMLOAD:
	case SVM_EXIT_VMSAVE:
	case SVM_EXIT_STGI:
	case SVM_EXIT_CLGI:
	case SVM_EXIT_SKINIT:
	case SVM_EXIT_RDTSCP:
	case SVM_EXIT_RDPRU:
	case SVM_EXIT_RDPMC:
	case SVM_EXIT_RSM:
	case SVM_EXIT_INVLPGA:
	case SVM_EXIT_INVPCID:
	case 0xA0:	/* INVLPGB */
	case 0xA1:	/* INVLPGB, illegal */
	case 0xA3:	/* MCOMMIT */
	case 0xA4:	/* TLBSYNC */
		svm_inject_exception(vcpu, 6, false, 0);
		return EXIT_CONTINUE;
	default:
		exit->reason = NVMM_VCPU_EXIT_INVALID;
		exit->u.inv.hwcode = code;
		return EXIT_USER;
	}
}

static void
fill_exitstate(struct nvmm_cpu *vcpu, struct nvmm_x86_exit *exit)
{
	struct vmcb *vmcb = to_vmcb(vcpu);

	exit->exitstate.rflags = svm_rflags_shown(vcpu);
	exit->exitstate.cr8 = vmcb->control.int_ctl & V_TPR_MASK;
	exit->exitstate.int_shadow = !!(vmcb->control.int_state &
	    SVM_INTERRUPT_SHADOW_MASK);
	exit->exitstate.nmi_window_exiting = vcpu->nmi_window;
	exit->exitstate.evt_pending = vcpu->reinject || vcpu->held ||
	    !!(vmcb->control.event_inj & SVM_EVTINJ_VALID);
	/*
	 * QEMU injects only while this is 0: an event still to go in leaves
	 * no room for another (it would ack a vector in its APIC for nothing).
	 */
	exit->exitstate.int_window_exiting = vcpu->int_window ||
	    exit->exitstate.evt_pending;
	exit->exitstate.rsvd = 0;
}

int
nvmm_svm_run(struct nvmm_kmachine *mach, struct nvmm_cpu *vcpu,
    struct nvmm_x86_exit *exit)
{
	struct nvmm_x86_ctlregs regs;
	const char *bad;
	int r;

	memset(exit, 0, sizeof(*exit));
	/* Never a VMRUN the CPU refuses (nothing the guest did gets here). */
	svm_ctlregs(vcpu, &regs);
	bad = nvmm_x86_entry_invalid(&regs, host_cr4_ok, host_efer_ok);
	if (bad == NULL && !nvmm_x86_xcr0_valid(vcpu->xcr0))
		bad = "XCR0 invalid";
	if (bad != NULL) {
		pr_info_ratelimited("nvmm: pid %d VCPU %u: run refused: %s\n",
		    current->pid, vcpu->cpuid, bad);
		return -EINVAL;
	}
	/* RDTSCP runs in the guest when its CPUID offers it (#UD else). */
	if (nvmm_x86_feats(vcpu)->rdtscp)
		icpt_clr(to_vmcb(vcpu), INTERCEPT_RDTSCP);
	else
		icpt_set(to_vmcb(vcpu), INTERCEPT_RDTSCP);
	for (;;) {
		if (READ_ONCE(vcpu->comm->stop)) {
			WRITE_ONCE(vcpu->comm->stop, 0);
			exit->reason = NVMM_VCPU_EXIT_STOPPED;
			break;
		}
		if (signal_pending(current) || need_resched()) {
			exit->reason = NVMM_VCPU_EXIT_NONE;
			break;
		}

		kernel_fpu_begin();
		local_irq_disable();
		nvmm_mem_guest_enter(mach);
		svm_world_switch(mach, vcpu);
		nvmm_mem_guest_exit(mach);
		local_irq_enable();
		kernel_fpu_end();

		r = svm_handle_exit(mach, vcpu, exit);
		if (r < 0)
			return r;
		if (r == EXIT_USER)
			break;
	}
	fill_exitstate(vcpu, exit);
	return 0;
}

// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0
/*
 * nvmm_svm_cr.c: the guest's writes to CR0, CR4 and EFER on SVM. CR4
 * writes exit always, CR0 writes when they change a bit other than TS and
 * MP (the selective intercept), EFER through the MSR intercept; the module
 * applies them after the checks of nvmm_x86_cr.c, or injects #GP where the
 * CPU would. Decode assists name the source register of a MOV; without
 * them (QEMU TCG) the instruction is fetched and decoded here.
 */
#include <linux/kernel.h>
#include <asm/processor-flags.h>

#include "nvmm_svm.h"

#define DA_MOV_CR	(1ULL << 63)	/* EXITINFO1: MOV CRn, GPR in 3:0 */

void
svm_ctlregs(struct nvmm_cpu *vcpu, struct nvmm_x86_ctlregs *r)
{
	struct vmcb *vmcb = to_vmcb(vcpu);

	r->cr0 = vmcb->save.cr0;
	r->cr3 = vmcb->save.cr3;
	r->cr4 = vmcb->save.cr4;
	r->efer = vmcb->save.efer & ~(u64)EFER_SVME;
	r->xcr0 = vcpu->xcr0;
	r->dr6 = vmcb->save.dr6;
	r->dr7 = vmcb->save.dr7;
	r->cs_l = vmcb->save.cs.attrib & SVM_SELECTOR_L_MASK;
	r->cs_d = vmcb->save.cs.attrib & SVM_SELECTOR_DB_MASK;
}

/* The write at RIP: from the decode assist, else from the bytes. */
static int
crw_decode(struct nvmm_cpu *vcpu, struct nvmm_x86_crw *op)
{
	struct vmcb *vmcb = to_vmcb(vcpu);
	u8 b[15];
	int n;

	if ((svm_features & SVM_FEAT_DECODEASSIST) &&
	    (svm_features & SVM_FEAT_NRIPS) &&
	    (vmcb->control.exit_info_1 & DA_MOV_CR)) {
		op->kind = NVMM_X86_CRW_MOV;
		op->gpr = vmcb->control.exit_info_1 & 0xF;
		op->cr = ~0U;		/* the exit code says */
		op->len = 0;		/* NRIP save comes with decode assists */
		return 0;
	}
	n = svm_fetch(vcpu, b, sizeof(b));
	if (n <= 0)
		return -EFAULT;
	return nvmm_x86_decode_crw(b, n, svm_mode64(vmcb), op);
}

static void
apply_cr0(struct nvmm_cpu *vcpu, u64 val)
{
	struct vmcb *vmcb = to_vmcb(vcpu);
	u64 old = vmcb->save.cr0;

	val |= X86_CR0_ET;
	if ((val & X86_CR0_PG) && !(old & X86_CR0_PG) &&
	    (vmcb->save.efer & EFER_LME))
		vmcb->save.efer |= EFER_LMA;
	if (!(val & X86_CR0_PG) && (old & X86_CR0_PG))
		vmcb->save.efer &= ~(u64)EFER_LMA;
	vmcb->save.cr0 = val;
	vcpu->tlb_flush = true;
}

/* Exit of a write to CR0 (selective) or CR4. */
int
svm_exit_cr_write(struct nvmm_cpu *vcpu, struct nvmm_x86_exit *exit,
    unsigned int cr)
{
	struct vmcb *vmcb = to_vmcb(vcpu);
	struct nvmm_x86_ctlregs r;
	struct nvmm_x86_crw op;
	u64 val;
	bool ok;
	int err;

	err = crw_decode(vcpu, &op);
	if (err == -EFAULT) {
		/*
		 * The guest's tables changed since the CPU fetched: again,
		 * without the stale translation its TLB may hold.
		 */
		vcpu->tlb_flush = true;
		return EXIT_CONTINUE;
	}
	if (err || (op.cr != ~0U && op.cr != cr)) {
		/* LMSW from memory; nothing else exits here. */
		exit->reason = NVMM_VCPU_EXIT_INVALID;
		exit->u.inv.hwcode = vmcb->control.exit_code;
		return EXIT_USER;
	}
	if (vmcb->save.cpl != 0) {
		svm_inject_exception(vcpu, 13, true, 0);
		return EXIT_CONTINUE;
	}
	svm_ctlregs(vcpu, &r);
	switch (op.kind) {
	case NVMM_X86_CRW_CLTS:
		val = r.cr0 & ~(u64)X86_CR0_TS;
		break;
	case NVMM_X86_CRW_LMSW:
		/* Bits 3:0; PE can be set, not cleared. */
		val = svm_gpr(vcpu, op.gpr);
		val = (r.cr0 & ~0xFULL) | (val & 0xE) | ((r.cr0 | val) & 1);
		break;
	default:
		val = svm_gpr(vcpu, op.gpr);
		if (!svm_mode64(vmcb))
			val = (u32)val;
		break;
	}
	if (cr == 0)
		ok = nvmm_x86_cr0_write_ok(&r, val);
	else
		ok = nvmm_x86_cr4_write_ok(vcpu, &r, val);
	if (!ok) {
		svm_inject_exception(vcpu, 13, true, 0);
		return EXIT_CONTINUE;
	}
	if (cr == 0) {
		apply_cr0(vcpu, val);
	} else {
		vmcb->save.cr4 = val;
		vcpu->tlb_flush = true;
	}
	svm_insn_done(vcpu, svm_next_rip(vcpu, op.len));
	return EXIT_CONTINUE;
}

/* The guest's WRMSR to EFER: 0, or -EINVAL for #GP. */
int
svm_wrmsr_efer(struct nvmm_cpu *vcpu, u64 val)
{
	struct vmcb *vmcb = to_vmcb(vcpu);
	struct nvmm_x86_ctlregs r;

	svm_ctlregs(vcpu, &r);
	/* LMA is the CPU's: writes keep it. */
	val = (val & ~(u64)EFER_LMA) | (r.efer & EFER_LMA);
	if (!nvmm_x86_efer_write_ok(vcpu, &r, val))
		return -EINVAL;
	vmcb->save.efer = val | EFER_SVME;
	vcpu->tlb_flush = true;
	return 0;
}

/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0 */
/*
 * nvmm_svm.h: what the files of the SVM backend share (nvmm_svm.c the
 * VCPUs, state and run loop; nvmm_svm_cr.c control-register writes;
 * nvmm_svm_event.c events and exception intercepts).
 */
#ifndef NVMM_SVM_H
#define NVMM_SVM_H

#include <asm/svm.h>

#include "nvmm_kern.h"

#define SVM_FEAT_NPT		(1U << 0)
#define SVM_FEAT_NRIPS		(1U << 3)
#define SVM_FEAT_FLUSHBYASID	(1U << 6)
#define SVM_FEAT_DECODEASSIST	(1U << 7)

/* Exit handlers: go on with the guest, or return to the program. */
#define EXIT_CONTINUE	0
#define EXIT_USER	1

#define X86_RFLAGS_TF	(1ULL << 8)

extern u32 svm_features;

static inline struct vmcb *
to_vmcb(struct nvmm_cpu *vcpu)
{
	return vcpu->vmcb;
}

static inline void
icpt_set(struct vmcb *vmcb, unsigned int bit)
{
	vmcb->control.intercepts[bit / 32] |= 1U << (bit % 32);
}

static inline void
icpt_clr(struct vmcb *vmcb, unsigned int bit)
{
	vmcb->control.intercepts[bit / 32] &= ~(1U << (bit % 32));
}

/* nvmm_svm.c */
void svm_int_window_arm(struct nvmm_cpu *vcpu, bool on);
void svm_insn_done(struct nvmm_cpu *vcpu, u64 npc);
u64 svm_next_rip(struct nvmm_cpu *vcpu, unsigned int len);
u64 svm_gpr(struct nvmm_cpu *vcpu, unsigned int gpr);
bool svm_mode64(struct vmcb *vmcb);
int svm_fetch(struct nvmm_cpu *vcpu, u8 *buf, unsigned int len);

/* nvmm_svm_cr.c */
void svm_ctlregs(struct nvmm_cpu *vcpu, struct nvmm_x86_ctlregs *r);
int svm_exit_cr_write(struct nvmm_cpu *vcpu, struct nvmm_x86_exit *exit,
    unsigned int cr);
int svm_wrmsr_efer(struct nvmm_cpu *vcpu, u64 val);

/* nvmm_svm_event.c */
#define SVM_EXCP_INTERCEPTS ((1U << 1) | (1U << 17) | (1U << 18))
void svm_inject_exception(struct nvmm_cpu *vcpu, u8 vector, bool has_err,
    u32 err);
void svm_nmi_window_arm(struct nvmm_cpu *vcpu, bool on);
void svm_event_entry(struct nvmm_cpu *vcpu);
int svm_exit_vintr(struct nvmm_cpu *vcpu, struct nvmm_x86_exit *exit);
void svm_event_exit(struct nvmm_cpu *vcpu, u32 entry_inj);
int svm_exit_iret(struct nvmm_cpu *vcpu);
void svm_iret_step_cancel(struct nvmm_cpu *vcpu);
int svm_exit_excp(struct nvmm_cpu *vcpu, struct nvmm_x86_exit *exit,
    unsigned int vector);
u64 svm_rflags_shown(struct nvmm_cpu *vcpu);
int svm_exit_icebp(struct nvmm_cpu *vcpu);

#endif /* NVMM_SVM_H */

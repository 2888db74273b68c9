// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0
/*
 * nvmm_svm_event.c: events of the SVM backend. Injection from the program,
 * events whose delivery an exit interrupted (EXITINTINFO), the end of an
 * NMI handler (IRET), and the exceptions the module intercepts: #DB and
 * #AC, reflected into the guest (a guest whose #DB or #AC delivery faults
 * again would otherwise hold the CPU in microcode: CVE-2015-8104,
 * CVE-2015-5307), and #MC, which belongs to the host.
 */
#include <linux/kernel.h>
#include <linux/percpu.h>
#include <asm/debugreg.h>
#include <asm/mce.h>
#include <asm/ptrace.h>

#include "nvmm_svm.h"

#define DR6_BD	(1ULL << 13)	/* general detect */
#define DR7_GD	(1ULL << 13)

#define VEC_DB	1
#define VEC_BP	3
#define VEC_OF	4
#define VEC_AC	17
#define VEC_MC	18

void
svm_inject_exception(struct nvmm_cpu *vcpu, u8 vector, bool has_err, u32 err)
{
	struct vmcb *vmcb = to_vmcb(vcpu);

	vmcb->control.event_inj = vector | SVM_EVTINJ_TYPE_EXEPT |
	    SVM_EVTINJ_VALID | (has_err ? SVM_EVTINJ_VALID_ERR : 0);
	vmcb->control.event_inj_err = err;
}

void
svm_nmi_window_arm(struct nvmm_cpu *vcpu, bool on)
{
	vcpu->nmi_window = on;
	/* During the IRET step the IRET is not intercepted again. */
	if (on && !vcpu->iret_step)
		icpt_set(to_vmcb(vcpu), INTERCEPT_IRET);
	else
		icpt_clr(to_vmcb(vcpu), INTERCEPT_IRET);
}

/*
 * Arm ev for the next VMRUN: a private copy of comm->event, which
 * nvmm_x86_event_check accepted (the program can still write the comm
 * page).
 */
int
nvmm_svm_inject(struct nvmm_cpu *vcpu, const struct nvmm_x86_event *ev)
{
	struct vmcb *vmcb = to_vmcb(vcpu);
	u8 v = ev->vector;
	u32 type = ev->type;
	u32 inj;

	if (type == NVMM_VCPU_EVENT_INTR) {
		inj = v | (v == 2 ? SVM_EVTINJ_TYPE_NMI : SVM_EVTINJ_TYPE_INTR);
	} else {
		inj = v | SVM_EVTINJ_TYPE_EXEPT;
		if (v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 30) {
			inj |= SVM_EVTINJ_VALID_ERR;
			vmcb->control.event_inj_err = (u32)ev->u.excp.error;
		}
	}
	inj |= SVM_EVTINJ_VALID;
	if ((vcpu->reinject || (vmcb->control.event_inj & SVM_EVTINJ_VALID)) &&
	    type == NVMM_VCPU_EVENT_INTR) {
		/*
		 * An event whose delivery the last exit interrupted is still
		 * in flight, or the last one injected has not gone in yet (the
		 * run ended before VMRUN): it goes first, this one at the next
		 * interrupt window after it (as a CPU takes the next
		 * interrupt). One waits at most: the exits said "no room"
		 * (int_window_exiting) since.
		 */
		if (vcpu->held)
			return -EBUSY;
		vcpu->held = true;
		vcpu->held_info = inj;
		svm_int_window_arm(vcpu, vcpu->int_window);
		return 0;
	}
	/*
	 * An exception goes first; an interrupted exception is raised again
	 * when its instruction runs again, an interrupt or NMI stays.
	 */
	if (vcpu->reinject && ((u32)vcpu->reinject_info &
	    SVM_EXITINTINFO_TYPE_MASK) == SVM_EXITINTINFO_TYPE_EXEPT)
		vcpu->reinject = false;
	if (!(inj & SVM_EVTINJ_VALID_ERR))
		vmcb->control.event_inj_err = 0;
	vmcb->control.event_inj = inj;
	/* NMIs are blocked until the handler's IRET: report it. */
	if ((inj & SVM_EVTINJ_TYPE_MASK) == SVM_EVTINJ_TYPE_NMI)
		svm_nmi_window_arm(vcpu, true);
	return 0;
}

/*
 * The interrupt window opened: the held interrupt goes in now; the
 * program hears of the window only when it asked for it and nothing was
 * held (else at the next window, once that interrupt is taken).
 */
int
svm_exit_vintr(struct nvmm_cpu *vcpu, struct nvmm_x86_exit *exit)
{
	struct vmcb *vmcb = to_vmcb(vcpu);

	if (vcpu->held && !vcpu->reinject &&
	    !(vmcb->control.event_inj & SVM_EVTINJ_VALID)) {
		vmcb->control.event_inj = (u32)vcpu->held_info;
		vmcb->control.event_inj_err = 0;
		if (((u32)vcpu->held_info & SVM_EVTINJ_TYPE_MASK) ==
		    SVM_EVTINJ_TYPE_NMI)
			svm_nmi_window_arm(vcpu, true);
		vcpu->held = false;
		svm_int_window_arm(vcpu, vcpu->int_window);
		return EXIT_CONTINUE;
	}
	if (vcpu->held)
		return EXIT_CONTINUE;	/* the slot is taken: next window */
	svm_int_window_arm(vcpu, false);
	exit->reason = NVMM_VCPU_EXIT_INT_READY;
	return EXIT_USER;
}

/*
 * Before VMRUN: the event an exit interrupted goes in again, unless the
 * slot is taken (the program's event, or an exception reflected by the
 * module, which the CPU delivers first; the interrupted one waits).
 */
void
svm_event_entry(struct nvmm_cpu *vcpu)
{
	struct vmcb *vmcb = to_vmcb(vcpu);

	if (vcpu->reinject && !(vmcb->control.event_inj & SVM_EVTINJ_VALID)) {
		vmcb->control.event_inj = (u32)vcpu->reinject_info;
		vmcb->control.event_inj_err = (u32)(vcpu->reinject_info >> 32);
		vcpu->reinject = false;
	}
}

/*
 * After #VMEXIT: what EXITINTINFO says was being delivered. A software
 * interrupt (INT n) or software exception (INT3, INTO) is not injected
 * again: RIP is still on the instruction, which runs again and raises it
 * anew, returning past itself as it should (re-injecting it as an
 * exception would return to the instruction and run the handler twice;
 * QEMU TCG reports all three as software interrupts, AMD CPUs INT3/INTO as
 * exceptions). Only an #OF the module itself injected (entry_inj) is
 * one to inject again.
 */
void
svm_event_exit(struct nvmm_cpu *vcpu, u32 entry_inj)
{
	struct vmcb *vmcb = to_vmcb(vcpu);
	u32 info = vmcb->control.exit_int_info;
	u32 type = info & SVM_EXITINTINFO_TYPE_MASK;
	u8 vec = info & SVM_EXITINTINFO_VEC_MASK;

	vmcb->control.event_inj = 0;
	vmcb->control.event_inj_err = 0;
	if (!(info & SVM_EXITINTINFO_VALID))
		return;
	if (type == SVM_EXITINTINFO_TYPE_SOFT)
		return;
	if (type == SVM_EXITINTINFO_TYPE_EXEPT && vec == VEC_BP)
		return;
	if (type == SVM_EXITINTINFO_TYPE_EXEPT && vec == VEC_OF &&
	    (entry_inj & (SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_MASK |
	    SVM_EVTINJ_VEC_MASK)) != (SVM_EVTINJ_VALID |
	    SVM_EVTINJ_TYPE_EXEPT | VEC_OF))
		return;
	vcpu->reinject = true;
	vcpu->reinject_info = info |
	    ((u64)vmcb->control.exit_int_info_err << 32);
}

/*
 * IRET intercepted while NMIs are blocked (the NMI window is armed): the
 * IRET has not run yet, and NMIs stay blocked until it has. Let it run
 * with a single step (TF; #DB is intercepted) and report NMI_READY at the
 * step, with RIP where the IRET returned. The CPU traps after an IRET that
 * starts with TF set, whatever RFLAGS it pops.
 */
int
svm_exit_iret(struct nvmm_cpu *vcpu)
{
	struct vmcb *vmcb = to_vmcb(vcpu);

	icpt_clr(vmcb, INTERCEPT_IRET);
	vcpu->iret_step = true;
	vcpu->iret_step_tf = vmcb->save.rflags & X86_RFLAGS_TF;
	vcpu->iret_step_dr6 = vmcb->save.dr6;
	vmcb->save.rflags |= X86_RFLAGS_TF;
	return EXIT_CONTINUE;
}

/* The program closed the NMI window before the IRET ran: no step. */
void
svm_iret_step_cancel(struct nvmm_cpu *vcpu)
{
	if (!vcpu->iret_step)
		return;
	vcpu->iret_step = false;
	if (!vcpu->iret_step_tf)
		to_vmcb(vcpu)->save.rflags &= ~X86_RFLAGS_TF;
}

/* RFLAGS as the guest has them: without the TF of a pending IRET step. */
u64
svm_rflags_shown(struct nvmm_cpu *vcpu)
{
	u64 rf = to_vmcb(vcpu)->save.rflags;

	if (vcpu->iret_step && !vcpu->iret_step_tf)
		rf &= ~X86_RFLAGS_TF;
	return rf;
}

/* The IRET step trapped: NMIs are unblocked. */
static int
iret_step_done(struct nvmm_cpu *vcpu, struct nvmm_x86_exit *exit)
{
	struct vmcb *vmcb = to_vmcb(vcpu);

	vcpu->iret_step = false;
	if (vcpu->iret_step_tf)
		svm_inject_exception(vcpu, VEC_DB, false, 0);
	else
		vmcb->save.dr6 = vcpu->iret_step_dr6;
	svm_nmi_window_arm(vcpu, false);
	exit->reason = NVMM_VCPU_EXIT_NMI_READY;
	return EXIT_USER;
}

/* An exception that hit the delivery of another event (benign class). */
static void
drop_interrupted_exception(struct nvmm_cpu *vcpu)
{
	u32 type = (u32)vcpu->reinject_info & SVM_EXITINTINFO_TYPE_MASK;

	/*
	 * A hardware interrupt or NMI stays pending and goes in once the
	 * new exception is delivered; an exception is raised again by the
	 * instruction when it runs again.
	 */
	if (vcpu->reinject && type == SVM_EXITINTINFO_TYPE_EXEPT)
		vcpu->reinject = false;
}

int
svm_exit_excp(struct nvmm_cpu *vcpu, struct nvmm_x86_exit *exit,
    unsigned int vector)
{
	struct vmcb *vmcb = to_vmcb(vcpu);

	switch (vector) {
	case VEC_DB:
		if (vcpu->iret_step && (vmcb->save.dr6 & DR_STEP))
			return iret_step_done(vcpu, exit);
		/*
		 * DR6 in the VMCB already says why (the CPU wrote it). The
		 * delivery of a general-detect #DB clears DR7.GD; this one is
		 * injected instead, so clear it here.
		 */
		if (vmcb->save.dr6 & DR6_BD)
			vmcb->save.dr7 &= ~DR7_GD;
		drop_interrupted_exception(vcpu);
		svm_inject_exception(vcpu, VEC_DB, false, 0);
		return EXIT_CONTINUE;
	case VEC_AC:
		drop_interrupted_exception(vcpu);
		svm_inject_exception(vcpu, VEC_AC, true,
		    (u32)vmcb->control.exit_info_1);
		return EXIT_CONTINUE;
	case VEC_MC:
		/* The host's machine check, raised while the guest ran. */
#ifdef CONFIG_X86_MCE
		{
			struct pt_regs regs = { .cs = 3, .flags = X86_EFLAGS_IF };

			do_machine_check(&regs);
		}
#endif
		return EXIT_CONTINUE;
	default:
		exit->reason = NVMM_VCPU_EXIT_INVALID;
		exit->u.inv.hwcode = SVM_EXIT_EXCP_BASE + vector;
		return EXIT_USER;
	}
}

/* ICEBP (INT1, F1): #DB as a trap after it, without DR6 bits. */
int
svm_exit_icebp(struct nvmm_cpu *vcpu)
{
	svm_insn_done(vcpu, svm_next_rip(vcpu, 1));
	drop_interrupted_exception(vcpu);
	svm_inject_exception(vcpu, VEC_DB, false, 0);
	return EXIT_CONTINUE;
}

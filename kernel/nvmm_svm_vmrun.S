/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0 */
/*
 * nvmm_svm_vmrun.S: the SVM world switch of nvmm.ko.
 *
 * void nvmm_svm_vmrun(u64 vmcb_pa, u64 *gprs, u64 host_pa)
 *
 * gprs: the guest's general registers in NVMM order (RAX 0, RCX 1, RDX 2,
 * RBX 3, RSP 4, RBP 5, RSI 6, RDI 7, R8-R15 8-15); RAX and RSP live in the
 * VMCB and their slots are left alone. host_pa: a page that receives the
 * host's VMSAVE state (FS/GS/TR/LDTR, KernelGSBase, the SYSCALL and SYSENTER
 * MSRs) while the guest's are loaded. GIF is clear from before the guest's
 * VMLOAD until the host's VMLOAD, so no NMI sees a guest GS base.
 * Called with interrupts disabled; returns with them disabled.
 *
 * Speculation: the host kernel's own mitigation choices decide, through
 * its feature bits (patched in at module load like the kernel's):
 * VERW before VMRUN where it clears CPU buffers for guests (TSA, MDS);
 * after #VMEXIT and before the first RET, the return stack buffer refilled
 * (as the host does at VM exit for Spectre v2), the return predictor
 * untrained or flushed (Retbleed, SRSO: entry_untrain_ret,
 * srso_alias_untrain_ret, entry_ibpb), IBPB where SRSO is mitigated by
 * IBPB on VM exit, and the branch history cleared where the host does.
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/cpufeatures.h>
#include <asm/nospec-branch.h>

#define G_RCX	8
#define G_RDX	16
#define G_RBX	24
#define G_RBP	40
#define G_RSI	48
#define G_RDI	56
#define G_R8	64
#define G_R9	72
#define G_R10	80
#define G_R11	88
#define G_R12	96
#define G_R13	104
#define G_R14	112
#define G_R15	120

	.text
SYM_FUNC_START(nvmm_svm_vmrun)
	push	%rbp
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%rbx
	/* 16(%rsp): gprs, 8(%rsp): vmcb_pa, 0(%rsp): host_pa */
	push	%rsi
	push	%rdi
	push	%rdx

	/*
	 * With V_INTR_MASKING the host's IF at VMRUN decides whether physical
	 * interrupts reach us (as INTR exits): set it while GIF holds them.
	 */
	clgi
	sti
	mov	%rdx, %rax
	vmsave	%rax
	mov	%rdi, %rax
	vmload	%rax

	mov	G_RCX(%rsi), %rcx
	mov	G_RDX(%rsi), %rdx
	mov	G_RBX(%rsi), %rbx
	mov	G_RBP(%rsi), %rbp
	mov	G_RDI(%rsi), %rdi
	mov	G_R8(%rsi), %r8
	mov	G_R9(%rsi), %r9
	mov	G_R10(%rsi), %r10
	mov	G_R11(%rsi), %r11
	mov	G_R12(%rsi), %r12
	mov	G_R13(%rsi), %r13
	mov	G_R14(%rsi), %r14
	mov	G_R15(%rsi), %r15
	mov	G_RSI(%rsi), %rsi

	mov	8(%rsp), %rax
	VM_CLEAR_CPU_BUFFERS
	vmrun	%rax
	/* #VMEXIT: RAX and RSP are the host's again. */
	vmsave	%rax

	mov	16(%rsp), %rax
	mov	%rcx, G_RCX(%rax)
	mov	%rdx, G_RDX(%rax)
	mov	%rbx, G_RBX(%rax)
	mov	%rbp, G_RBP(%rax)
	mov	%rsi, G_RSI(%rax)
	mov	%rdi, G_RDI(%rax)
	mov	%r8, G_R8(%rax)
	mov	%r9, G_R9(%rax)
	mov	%r10, G_R10(%rax)
	mov	%r11, G_R11(%rax)
	mov	%r12, G_R12(%rax)
	mov	%r13, G_R13(%rax)
	mov	%r14, G_R14(%rax)
	mov	%r15, G_R15(%rax)

	mov	(%rsp), %rax
	vmload	%rax

	/* Before any RET; RAX, RCX, RDX are free (guest values saved). */
	FILL_RETURN_BUFFER %rax, RSB_CLEAR_LOOPS, X86_FEATURE_RSB_VMEXIT, \
		X86_FEATURE_RSB_VMEXIT_LITE
	UNTRAIN_RET
	ALTERNATIVE "", "call entry_ibpb", X86_FEATURE_IBPB_ON_VMEXIT
	CLEAR_BRANCH_HISTORY_VMEXIT

	cli
	stgi

	/* No guest value stays in a scratch register. */
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	xor	%edi, %edi
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d

	pop	%rdx
	pop	%rdi
	pop	%rsi
	pop	%rbx
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	pop	%rbp
	RET
SYM_FUNC_END(nvmm_svm_vmrun)

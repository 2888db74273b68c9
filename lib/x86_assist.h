/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x86_assist.h: the generic assists, written only against the public API
 * of nvmm.h (getstate/setstate, nvmm_gpa_to_hva, vcpu->cbs, vcpu->exit).
 * libnvmm.c's nvmm_assist_io/nvmm_assist_mem call these for backends that
 * do not emulate instructions themselves.
 */
#ifndef X86_ASSIST_H
#define X86_ASSIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nvmm.h>

/*
 * Complete the IO exit in vcpu->exit (NVMM semantics): IN/OUT through
 * vcpu->cbs.io; INS/OUTS element by element through guest memory (RAM, or
 * vcpu->cbs.mem for MMIO), rCX/rSI/rDI updated at the exit's address size
 * and RFLAGS.DF. RIP = npc once done; with REP, at most
 * X86_ASSIST_IO_MAX_ELEMS elements per call and RIP stays until rCX = 0
 * (the guest re-executes and exits again). Gets GPRS|SEGS|CRS|MSRS, sets
 * GPRS. Returns 0, or -1 with errno: EINVAL (not an IO exit, no callback,
 * bad exit data), EFAULT (guest memory translation fault, segment limit),
 * ENODEV (undecodable instruction when the segment must be decoded), or
 * the errno of nvmm_vcpu_getstate/setstate.
 */
int x86_assist_io_generic(struct nvmm_machine *, struct nvmm_vcpu *);

/*
 * Emulate the instruction that caused the MEMORY exit in vcpu->exit: the
 * exit's bytes, or (inst_len == 0) 15 bytes fetched at CS:RIP. Memory
 * operands go to RAM directly, or through vcpu->cbs.mem when the gpa is
 * not RAM with the needed protection (MMIO, writes to read-only RAM).
 * REP string instructions: at most X86_ASSIST_MEM_MAX_ELEMS elements per
 * call (RIP stays until done). An exception the CPU would raise (#GP #SS
 * #PF #AC #NP #DE, #GP(0) of a misaligned MOVDQA) is injected with
 * nvmm_vcpu_inject (CR2 set for #PF), the registers as the CPU leaves
 * them, and the call returns 0. Returns -1 with errno: EINVAL, ENODEV
 * (unknown or unsupported instruction), EFAULT (instruction not
 * fetchable), the errno of nvmm_vcpu_inject, ENOENT (page tables outside
 * RAM), or the getstate/setstate
 * errno; the reason is kept for x86_assist_last_failure. When a REP string
 * instruction fails after completing elements, their register updates are
 * committed before returning -1.
 */
int x86_assist_mem_generic(struct nvmm_machine *, struct nvmm_vcpu *);

/*
 * The last x86_assist_mem_generic failure of the calling thread (a VCPU
 * runs on one thread), for diagnostics: the instruction's bytes, its RIP,
 * the errno and why.
 */
struct x86_assist_failure {
	bool valid;
	const struct nvmm_machine *mach;
	unsigned cpuid;
	uint64_t rip;
	uint8_t bytes[15];
	uint8_t nbytes;
	uint8_t mode;		/* 16, 32 or 64 */
	int err;
	const char *why;
};

/* That failure if it was this VCPU's, else NULL. */
const struct x86_assist_failure *x86_assist_last_failure(
    const struct nvmm_machine *, const struct nvmm_vcpu *);

/* "cannot emulate [bytes] at RIP 0x... (64-bit code): why (strerror)" */
int x86_assist_failure_str(const struct x86_assist_failure *, char *buf,
    size_t len);

#define X86_ASSIST_IO_MAX_ELEMS		64
#define X86_ASSIST_MEM_MAX_ELEMS	64

#endif /* X86_ASSIST_H */

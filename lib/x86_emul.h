/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x86_emul.h: the pure emulation core behind nvmm_assist_mem. It executes
 * one decoded instruction on a register file (NVMM's gprs[] layout: RAX..R15,
 * RIP, RFLAGS) through a memory-access interface; it knows nothing of
 * segments' bases, paging, RAM or MMIO.
 */
#ifndef X86_EMUL_H
#define X86_EMUL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nvmm.h>

#include "x86_decode.h"

/* RFLAGS bits the core reads or writes. */
#define X86_RFLAGS_CF	0x0001ULL
#define X86_RFLAGS_PF	0x0004ULL
#define X86_RFLAGS_AF	0x0010ULL
#define X86_RFLAGS_ZF	0x0040ULL
#define X86_RFLAGS_SF	0x0080ULL
#define X86_RFLAGS_DF	0x0400ULL
#define X86_RFLAGS_OF	0x0800ULL
#define X86_RFLAGS_ARITH (X86_RFLAGS_CF | X86_RFLAGS_PF | X86_RFLAGS_AF | \
			  X86_RFLAGS_ZF | X86_RFLAGS_SF | X86_RFLAGS_OF)

/* Exceptions the core and its memory interface raise. */
#define X86_EXC_DE	0
#define X86_EXC_UD	6
#define X86_EXC_SS	12
#define X86_EXC_GP	13
#define X86_EXC_PF	14
#define X86_EXC_AC	17

struct x86_exc {
	bool raised;
	uint8_t vector;		/* X86_EXC_* */
	bool has_error;		/* #SS #GP #PF #AC push an error code */
	uint32_t error;
	uint64_t cr2;		/* #PF: the linear address */
};

/* Fill *e (when not NULL) and return -1 with errno EFAULT. */
static inline int
x86_exc_set(struct x86_exc *e, unsigned vector, bool has_error,
    uint32_t error)
{
	if (e != NULL) {
		e->raised = true;
		e->vector = (uint8_t)vector;
		e->has_error = has_error;
		e->error = error;
		e->cr2 = 0;
	}
	errno = EFAULT;
	return -1;
}

/*
 * Guest memory as the core sees it. `seg` is NVMM_X64_SEG_*, `off` the
 * effective address already truncated to the address size; the callee adds
 * the segment base, checks limits, translates and routes each byte to RAM
 * or MMIO (splitting at page boundaries). `size` is 1 to 32. Return 0, or
 * -1 with errno: EFAULT with *exc filled when the access raises a guest
 * exception (#GP #SS #PF #AC), else another errno; the core then stops and
 * returns -1 with that errno, having changed no register for the failed
 * iteration.
 *
 * Optional members (NULL / 0 when absent):
 * - probe_write: checks that a write of `size` bytes at seg:off would not
 *   fault, without writing; called before the read of a read-modify-write
 *   instruction, as the CPU checks write access before it reads;
 * - load_seg: loads segment register `seg` with selector `sel` (MOV Sreg);
 *   without it MOV Sreg fails with ENODEV;
 * - fpu: the XMM registers of SSE/AVX moves; without it they fail ENODEV;
 * - exc: receives the exception raised (by the core: #DE, #GP(0) for a
 *   misaligned MOVDQA/CMPXCHG16B or a non-canonical branch target);
 * - stack_size: 2 or 4 outside 64-bit mode (SS.B); 0 means 8 in 64-bit
 *   mode, else the code size;
 * - va_bits: 57 with 5-level paging, else 0 or 48 (canonical checks).
 */
struct x86_emul_mem {
	void *ctx;
	int (*read)(void *ctx, int seg, uint64_t off, void *buf, size_t size);
	int (*write)(void *ctx, int seg, uint64_t off, const void *buf,
	    size_t size);
	int (*probe_write)(void *ctx, int seg, uint64_t off, size_t size);
	int (*load_seg)(void *ctx, int seg, uint16_t sel);
	struct nvmm_x64_state_fpu *fpu;
	struct x86_exc *exc;
	uint8_t stack_size;
	uint8_t va_bits;
};

/*
 * Execute `insn` (decoded for insn->mode) on gprs[NVMM_X64_NGPR].
 *
 * Non-string instructions: one execution; RIP += insn->len, or the branch
 * target. String instructions (MOVS CMPS STOS LODS SCAS) without REP: one
 * element. With REP (F3; F3/F2 = REPE/REPNE for CMPS and SCAS): a zero
 * count only advances RIP; otherwise up to `max_iter` elements (0 means 1)
 * are processed, rCX, rSI and rDI follow at the address size and
 * RFLAGS.DF; RIP advances only when the repetition ends (count exhausted,
 * or the CMPS/SCAS condition fails), else it stays so that the guest
 * re-executes the instruction.
 *
 * Flags: every flag the SDM defines for the instruction is exact; flags it
 * leaves undefined are left unchanged, except AF of OR AND XOR TEST
 * (cleared).
 *
 * Returns 0, or -1 with errno: ENODEV (an instruction the core does not
 * emulate, e.g. a form without a memory operand, IN/OUT/INS/OUTS, a VEX
 * load), EFAULT with *mem->exc filled (a guest exception: the instruction
 * did not complete), EINVAL (bad arguments), or the memory interface's
 * errno. On error no register is changed except by the string iterations
 * that completed.
 */
int x86_emul(const struct x86_insn *insn, uint64_t *gprs,
    const struct x86_emul_mem *mem, unsigned max_iter);

/* Why the calling thread's last x86_emul failed with ENODEV. */
const char *x86_emul_why(void);

/*
 * Fail with ENODEV, `why` for x86_emul_why(): for the core and for
 * memory interface callbacks that meet something they cannot emulate.
 */
int x86_unsupported(const char *why);

/* Effective address of insn's ModRM/moffs operand (truncated to adsize). */
uint64_t x86_emul_ea(const struct x86_insn *insn, const uint64_t *gprs);

#endif /* X86_EMUL_H */

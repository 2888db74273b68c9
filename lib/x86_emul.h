/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x86_emul.h: the pure emulation core behind nvmm_assist_mem. It executes
 * one decoded instruction on a register file (NVMM's gprs[] layout: RAX..R15,
 * RIP, RFLAGS) through a memory-access interface; it knows nothing of
 * segments' bases, paging, RAM or MMIO.
 */
#ifndef X86_EMUL_H
#define X86_EMUL_H

#include <stddef.h>
#include <stdint.h>

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

/*
 * Guest memory as the core sees it. `seg` is NVMM_X64_SEG_*, `off` the
 * effective address already truncated to the address size; the callee adds
 * the segment base, checks limits, translates and routes each byte to RAM
 * or MMIO (splitting at page boundaries). `size` is 1, 2, 4 or 8. Return 0,
 * or -1 with errno (e.g. EFAULT): the core then stops and returns -1 with
 * that errno, having changed no register for the failed iteration.
 */
struct x86_emul_mem {
	void *ctx;
	int (*read)(void *ctx, int seg, uint64_t off, void *buf, size_t size);
	int (*write)(void *ctx, int seg, uint64_t off, const void *buf,
	    size_t size);
};

/*
 * Execute `insn` (decoded for insn->mode) on gprs[NVMM_X64_NGPR].
 *
 * Non-string instructions: one execution, RIP += insn->len. String
 * instructions (MOVS CMPS STOS LODS) without REP: one element. With REP
 * (F3; F3/F2 = REPE/REPNE for CMPS): a zero count only advances RIP;
 * otherwise up to `max_iter` elements (0 means 1) are processed, rCX,
 * rSI and rDI follow at the address size and RFLAGS.DF; RIP advances only
 * when the repetition ends (count exhausted, or the CMPS condition fails),
 * else it stays so that the guest re-executes the instruction.
 *
 * Flags: exact CF PF AF ZF SF OF for ADD ADC SUB SBB CMP NEG CMPS; OR AND
 * XOR TEST clear CF OF AF (AF is architecturally undefined there); BT*
 * write CF only; MOV* NOT XCHG and the other string instructions write
 * none.
 *
 * Returns 0, or -1 with errno: ENODEV (an instruction the core does not
 * emulate, e.g. a form without a memory operand, or IN/OUT/INS/OUTS),
 * EINVAL (bad arguments), or the memory interface's errno. On error no
 * register is changed except by the string iterations that completed.
 */
int x86_emul(const struct x86_insn *insn, uint64_t *gprs,
    const struct x86_emul_mem *mem, unsigned max_iter);

/* Effective address of insn's ModRM/moffs operand (truncated to adsize). */
uint64_t x86_emul_ea(const struct x86_insn *insn, const uint64_t *gprs);

#endif /* X86_EMUL_H */

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x86_decode.h: the project's one x86 instruction decoder.
 *
 * It knows exactly the instructions the assists emulate (see enum x86_op:
 * the integer instructions with a memory operand, the stack instructions,
 * the SSE/AVX register moves) plus the port IO instructions (IN, OUT, INS,
 * OUTS), and rejects everything else with ENODEV: it never guesses a
 * length.
 */
#ifndef X86_DECODE_H
#define X86_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Code size of the decoding context (CS.D / CS.L / real mode). */
enum x86_code_size {
	X86_CODE16 = 2,		/* real mode, VM86, 16-bit protected mode */
	X86_CODE32 = 4,		/* 32-bit protected mode or compatibility mode */
	X86_CODE64 = 8,		/* 64-bit mode (EFER.LMA and CS.L) */
};

/* What the instruction does (x86_insn.op). */
enum x86_op {
	X86_OP_NONE = 0,
	X86_OP_MOV,		/* 88-8B, A0-A3 (moffs), C6/C7 /0 */
	X86_OP_MOVZX,		/* 0F B6, 0F B7 */
	X86_OP_MOVSX,		/* 0F BE, 0F BF */
	X86_OP_MOVS,		/* A4, A5 */
	X86_OP_CMPS,		/* A6, A7 */
	X86_OP_STOS,		/* AA, AB */
	X86_OP_LODS,		/* AC, AD */
	X86_OP_ADD,		/* 00-03, 80-83 /0 */
	X86_OP_OR,		/* 08-0B, /1 */
	X86_OP_ADC,		/* 10-13, /2 */
	X86_OP_SBB,		/* 18-1B, /3 */
	X86_OP_AND,		/* 20-23, /4 */
	X86_OP_SUB,		/* 28-2B, /5 */
	X86_OP_XOR,		/* 30-33, /6 */
	X86_OP_CMP,		/* 38-3B, /7 */
	X86_OP_TEST,		/* 84, 85, F6/F7 /0 /1 */
	X86_OP_NOT,		/* F6/F7 /2 */
	X86_OP_NEG,		/* F6/F7 /3 */
	X86_OP_BT,		/* 0F A3, 0F BA /4 */
	X86_OP_BTS,		/* 0F AB, 0F BA /5 */
	X86_OP_BTR,		/* 0F B3, 0F BA /6 */
	X86_OP_BTC,		/* 0F BB, 0F BA /7 */
	X86_OP_XCHG,		/* 86, 87 */
	X86_OP_IN,		/* E4, E5 (port imm8), EC, ED (port DX) */
	X86_OP_OUT,		/* E6, E7 (port imm8), EE, EF (port DX) */
	X86_OP_INS,		/* 6C, 6D */
	X86_OP_OUTS,		/* 6E, 6F */
	X86_OP_SCAS,		/* AE, AF */
	X86_OP_XADD,		/* 0F C0, 0F C1 */
	X86_OP_CMPXCHG,		/* 0F B0, 0F B1 */
	X86_OP_CMPXCHG8B,	/* 0F C7 /1 (REX.W: CMPXCHG16B, memsize 16) */
	X86_OP_INC,		/* FE/FF /0 */
	X86_OP_DEC,		/* FE/FF /1 */
	X86_OP_ROL,		/* C0 C1 D0-D3 /0 */
	X86_OP_ROR,		/* /1 */
	X86_OP_RCL,		/* /2 */
	X86_OP_RCR,		/* /3 */
	X86_OP_SHL,		/* /4 and /6 */
	X86_OP_SHR,		/* /5 */
	X86_OP_SAR,		/* /7 */
	X86_OP_SHLD,		/* 0F A4, 0F A5 */
	X86_OP_SHRD,		/* 0F AC, 0F AD */
	X86_OP_MUL,		/* F6/F7 /4 */
	X86_OP_IMUL1,		/* F6/F7 /5: rDX:rAX = rAX * rm */
	X86_OP_IMUL,		/* 0F AF, 69, 6B: reg = reg|rm * rm|imm */
	X86_OP_DIV,		/* F6/F7 /6 */
	X86_OP_IDIV,		/* F6/F7 /7 */
	X86_OP_PUSH,		/* 50-57, 68, 6A, FF /6 */
	X86_OP_POP,		/* 58-5F, 8F /0 */
	X86_OP_CALL,		/* E8 (rel, in imm), FF /2 */
	X86_OP_RET,		/* C3, C2 (imm16) */
	X86_OP_JMP,		/* FF /4 */
	X86_OP_LEAVE,		/* C9 */
	X86_OP_MOVBE,		/* 0F 38 F0 (load), 0F 38 F1 (store) */
	X86_OP_SETCC,		/* 0F 90-9F: condition = opcode & 0xf */
	X86_OP_CMOVCC,		/* 0F 40-4F: condition = opcode & 0xf */
	X86_OP_BSF,		/* 0F BC */
	X86_OP_BSR,		/* 0F BD */
	X86_OP_TZCNT,		/* F3 0F BC */
	X86_OP_LZCNT,		/* F3 0F BD */
	X86_OP_POPCNT,		/* F3 0F B8 */
	X86_OP_MOVSEG,		/* 8E: segment register (reg) <- r/m16 */
	X86_OP_SSE_LOAD,	/* xmm <- memory (see sse_*) */
	X86_OP_SSE_STORE,	/* memory <- xmm */
};

/* x86_insn.sse: what an SSE/AVX move does with its register. */
#define X86_SSE_ALIGN	0x01	/* #GP(0) unless 16-byte aligned */
#define X86_SSE_MERGE	0x02	/* load keeps the register's other bytes
				   (else zeroes them) */
#define X86_SSE_HIGH	0x04	/* the memory holds bytes 8-15 of the
				   register (MOVHPS/MOVHPD) */

/* Operand shape (x86_insn.form). "rm" is the ModRM r/m or moffs operand. */
enum x86_form {
	X86_FORM_NONE = 0,
	X86_FORM_RM_REG,	/* op rm, reg: rm is the destination */
	X86_FORM_REG_RM,	/* op reg, rm: reg is the destination */
	X86_FORM_RM_IMM,	/* op rm, imm */
	X86_FORM_RM,		/* op rm (NOT, NEG) */
	X86_FORM_ACC_RM,	/* A0/A1: accumulator <- moffs */
	X86_FORM_RM_ACC,	/* A2/A3: moffs <- accumulator */
	X86_FORM_STRING,	/* MOVS CMPS STOS LODS INS OUTS */
	X86_FORM_PORT_IMM,	/* IN/OUT with an imm8 port (in imm) */
	X86_FORM_PORT_DX,	/* IN/OUT with the port in DX */
	X86_FORM_RM_CL,		/* op rm, CL (shifts) */
	X86_FORM_RM_REG_IMM,	/* SHLD/SHRD rm, reg, imm8 */
	X86_FORM_RM_REG_CL,	/* SHLD/SHRD rm, reg, CL */
	X86_FORM_REG_RM_IMM,	/* IMUL reg, rm, imm */
	X86_FORM_STACK,		/* implicit stack operand: PUSH/POP reg (reg),
				   PUSH imm, CALL rel (imm), RET [imm16],
				   LEAVE */
	X86_FORM_XMM_RM,	/* SSE load: xmm (reg) <- rm */
	X86_FORM_RM_XMM,	/* SSE store: rm <- xmm (reg) */
};

/* x86_insn.base / index: a GPR number (NVMM_X64_GPR_*), or these. */
#define X86_REG_NONE	(-1)
#define X86_REG_RIP	16	/* RIP-relative (64-bit mode only) */

struct x86_insn {
	uint8_t len;		/* total length in bytes, prefixes included */
	uint8_t opsize;		/* effective operand size in bytes (1, 2, 4, 8);
				   IN/OUT/INS/OUTS: 1, 2 or 4 */
	uint8_t adsize;		/* effective address size in bytes (2, 4, 8) */
	int8_t seg;		/* segment override NVMM_X64_SEG_*, -1 if none
				   (the last one when several are given) */
	bool rep;		/* F3 prefix (the last of F2/F3 given) */
	bool repne;		/* F2 prefix (the last of F2/F3 given) */
	bool lock;		/* F0 prefix */
	uint8_t rex;		/* REX byte, 0 if none */
	bool twobyte;		/* 0F escape (or a VEX prefix) */
	uint8_t map;		/* 0 one-byte, 1 0F, 2 0F 38 */
	uint8_t opcode;		/* opcode byte after prefixes/escape */
	uint8_t pfx;		/* mandatory prefix of SSE forms: 0, 0x66,
				   0xf3 or 0xf2 (VEX: from VEX.pp) */
	bool vex;		/* VEX-encoded (C4/C5) */
	bool vex_l;		/* VEX.L: 256-bit */
	uint8_t sse;		/* X86_SSE_* of SSE_LOAD/SSE_STORE */
	bool has_modrm;
	uint8_t modrm;
	bool has_sib;
	uint8_t sib;
	int64_t disp;		/* displacement, sign-extended; moffs: the
				   offset zero-extended from adsize bytes */
	uint8_t disp_size;	/* 0, 1, 2, 4; moffs: adsize */
	uint64_t imm;		/* immediate, sign-extended to 64 bits except
				   IN/OUT's port number (zero-extended) */
	uint8_t imm_size;	/* immediate bytes in the encoding: 0, 1, 2, 4 */

	/* Decoded meaning. */
	uint8_t mode;		/* the enum x86_code_size decoded for */
	uint8_t op;		/* enum x86_op */
	uint8_t form;		/* enum x86_form */
	uint8_t memsize;	/* bytes of the memory operand (MOVZX/MOVSX: the
				   source size; CMPXCHG8B/16B: 8/16; SSE: 4, 8,
				   16 or 32; stack forms: 0; opsize
				   otherwise); 0 = none */
	bool mem;		/* has a ModRM memory operand or a moffs */
	int8_t base;		/* memory base GPR, X86_REG_RIP, X86_REG_NONE */
	int8_t index;		/* memory index GPR or X86_REG_NONE */
	uint8_t scale;		/* 1, 2, 4, 8 */
	int8_t memseg;		/* segment of the memory operand: the override,
				   else DS, or SS for an rBP/rSP base; string
				   instructions: the source segment (override
				   or DS); their destination is always ES */
	uint8_t reg;		/* ModRM.reg extended by REX.R; PUSH/POP reg:
				   the register (opcode & 7, REX.B) */
	uint8_t rm;		/* ModRM.rm extended by REX.B (mod 3 only) */
};

/*
 * Decode the instruction in bytes[0..avail). Returns 0 and fills *insn, or
 * -1 with errno ENODEV (instruction the decoder does not know, or an
 * encoding the CPU would reject with #UD, e.g. LOCK on a non-lockable form)
 * or EFAULT (more bytes needed than `avail`, or more than 15). `avail` may
 * exceed the instruction's length. Register operands (mod 3) decode
 * normally; `mem` tells whether there is a memory operand.
 */
int x86_decode(const uint8_t *bytes, size_t avail, enum x86_code_size cs,
    struct x86_insn *insn);

/*
 * Register operand helpers. For a byte operand without REX, register
 * numbers 4-7 name AH, CH, DH, BH: x86_reg8_hi() says so; the byte is then
 * bits 8-15 of GPR (n - 4).
 */
static inline bool
x86_reg8_hi(const struct x86_insn *insn, unsigned n)
{
	return insn->rex == 0 && n >= 4 && n < 8;
}

#endif /* X86_DECODE_H */

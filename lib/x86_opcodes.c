/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x86_opcodes.c: what each opcode the decoder knows is (operation, operand
 * shape, attributes), by map: one-byte, 0F, 0F 38, and the SSE/AVX moves
 * selected by their mandatory prefix. Facts from the Intel SDM vol. 2,
 * appendix A (opcode maps), and the AMD APM vol. 3 and 4.
 */
#include <stddef.h>

#include <nvmm.h>

#include "x86_opcodes.h"

#define ALU4(base, o)							\
	[(base) + 0] = { o, X86_FORM_RM_REG, A_MODRM | A_BYTE | A_LOCK, 0, 0 }, \
	[(base) + 1] = { o, X86_FORM_RM_REG, A_MODRM | A_LOCK, 0, 0 },	\
	[(base) + 2] = { o, X86_FORM_REG_RM, A_MODRM | A_BYTE, 0, 0 },	\
	[(base) + 3] = { o, X86_FORM_REG_RM, A_MODRM, 0, 0 }

#define STK(o, a)	{ X86_OP_##o, X86_FORM_STACK, A_D64 | (a), 0, 0 }
#define PUSH8(b)	[(b)] = STK(PUSH, 0), [(b) + 1] = STK(PUSH, 0),	\
	[(b) + 2] = STK(PUSH, 0), [(b) + 3] = STK(PUSH, 0),		\
	[(b) + 4] = STK(PUSH, 0), [(b) + 5] = STK(PUSH, 0),		\
	[(b) + 6] = STK(PUSH, 0), [(b) + 7] = STK(PUSH, 0)
#define POP8(b)		[(b)] = STK(POP, 0), [(b) + 1] = STK(POP, 0),	\
	[(b) + 2] = STK(POP, 0), [(b) + 3] = STK(POP, 0),		\
	[(b) + 4] = STK(POP, 0), [(b) + 5] = STK(POP, 0),		\
	[(b) + 6] = STK(POP, 0), [(b) + 7] = STK(POP, 0)
#define GRP(form, a)	{ X86_OP_NONE, form, A_MODRM | A_GROUP | (a), 0, 0 }

static const struct x86_opdesc onebyte[256] = {
	ALU4(0x00, X86_OP_ADD),
	ALU4(0x08, X86_OP_OR),
	ALU4(0x10, X86_OP_ADC),
	ALU4(0x18, X86_OP_SBB),
	ALU4(0x20, X86_OP_AND),
	ALU4(0x28, X86_OP_SUB),
	ALU4(0x30, X86_OP_XOR),
	[0x38] = { X86_OP_CMP, X86_FORM_RM_REG, A_MODRM | A_BYTE, 0, 0 },
	[0x39] = { X86_OP_CMP, X86_FORM_RM_REG, A_MODRM, 0, 0 },
	[0x3a] = { X86_OP_CMP, X86_FORM_REG_RM, A_MODRM | A_BYTE, 0, 0 },
	[0x3b] = { X86_OP_CMP, X86_FORM_REG_RM, A_MODRM, 0, 0 },
	PUSH8(0x50),
	POP8(0x58),
	[0x68] = STK(PUSH, A_IMMZ),
	[0x69] = { X86_OP_IMUL, X86_FORM_REG_RM_IMM, A_MODRM | A_IMMZ, 0, 0 },
	[0x6a] = STK(PUSH, A_IMM8),
	[0x6b] = { X86_OP_IMUL, X86_FORM_REG_RM_IMM, A_MODRM | A_IMM8, 0, 0 },
	[0x6c] = { X86_OP_INS, X86_FORM_STRING, A_BYTE | A_IO, 0, 0 },
	[0x6d] = { X86_OP_INS, X86_FORM_STRING, A_IO, 0, 0 },
	[0x6e] = { X86_OP_OUTS, X86_FORM_STRING, A_BYTE | A_IO, 0, 0 },
	[0x6f] = { X86_OP_OUTS, X86_FORM_STRING, A_IO, 0, 0 },
	[0x80] = GRP(X86_FORM_RM_IMM, A_BYTE | A_IMM8 | A_LOCK),
	[0x81] = GRP(X86_FORM_RM_IMM, A_IMMZ | A_LOCK),
	[0x82] = GRP(X86_FORM_RM_IMM, A_BYTE | A_IMM8 | A_LOCK | A_NO64),
	[0x83] = GRP(X86_FORM_RM_IMM, A_IMM8 | A_LOCK),
	[0x84] = { X86_OP_TEST, X86_FORM_RM_REG, A_MODRM | A_BYTE, 0, 0 },
	[0x85] = { X86_OP_TEST, X86_FORM_RM_REG, A_MODRM, 0, 0 },
	[0x86] = { X86_OP_XCHG, X86_FORM_RM_REG, A_MODRM | A_BYTE | A_LOCK, 0, 0 },
	[0x87] = { X86_OP_XCHG, X86_FORM_RM_REG, A_MODRM | A_LOCK, 0, 0 },
	[0x88] = { X86_OP_MOV, X86_FORM_RM_REG, A_MODRM | A_BYTE, 0, 0 },
	[0x89] = { X86_OP_MOV, X86_FORM_RM_REG, A_MODRM, 0, 0 },
	[0x8a] = { X86_OP_MOV, X86_FORM_REG_RM, A_MODRM | A_BYTE, 0, 0 },
	[0x8b] = { X86_OP_MOV, X86_FORM_REG_RM, A_MODRM, 0, 0 },
	[0x8e] = GRP(X86_FORM_REG_RM, 0),
	[0x8f] = GRP(X86_FORM_RM, A_D64),
	[0xa0] = { X86_OP_MOV, X86_FORM_ACC_RM, A_MOFFS | A_BYTE, 0, 0 },
	[0xa1] = { X86_OP_MOV, X86_FORM_ACC_RM, A_MOFFS, 0, 0 },
	[0xa2] = { X86_OP_MOV, X86_FORM_RM_ACC, A_MOFFS | A_BYTE, 0, 0 },
	[0xa3] = { X86_OP_MOV, X86_FORM_RM_ACC, A_MOFFS, 0, 0 },
	[0xa4] = { X86_OP_MOVS, X86_FORM_STRING, A_BYTE, 0, 0 },
	[0xa5] = { X86_OP_MOVS, X86_FORM_STRING, 0, 0, 0 },
	[0xa6] = { X86_OP_CMPS, X86_FORM_STRING, A_BYTE, 0, 0 },
	[0xa7] = { X86_OP_CMPS, X86_FORM_STRING, 0, 0, 0 },
	[0xaa] = { X86_OP_STOS, X86_FORM_STRING, A_BYTE, 0, 0 },
	[0xab] = { X86_OP_STOS, X86_FORM_STRING, 0, 0, 0 },
	[0xac] = { X86_OP_LODS, X86_FORM_STRING, A_BYTE, 0, 0 },
	[0xad] = { X86_OP_LODS, X86_FORM_STRING, 0, 0, 0 },
	[0xae] = { X86_OP_SCAS, X86_FORM_STRING, A_BYTE, 0, 0 },
	[0xaf] = { X86_OP_SCAS, X86_FORM_STRING, 0, 0, 0 },
	[0xc0] = GRP(X86_FORM_RM_IMM, A_BYTE | A_IMM8),
	[0xc1] = GRP(X86_FORM_RM_IMM, A_IMM8),
	[0xc2] = STK(RET, A_BRANCH | A_IMM16),
	[0xc3] = STK(RET, A_BRANCH),
	[0xc6] = GRP(X86_FORM_RM_IMM, A_BYTE | A_IMM8),
	[0xc7] = GRP(X86_FORM_RM_IMM, A_IMMZ),
	[0xc9] = STK(LEAVE, 0),
	[0xd0] = GRP(X86_FORM_RM_IMM, A_BYTE | A_IMM1),
	[0xd1] = GRP(X86_FORM_RM_IMM, A_IMM1),
	[0xd2] = GRP(X86_FORM_RM_CL, A_BYTE),
	[0xd3] = GRP(X86_FORM_RM_CL, 0),
	[0xe4] = { X86_OP_IN, X86_FORM_PORT_IMM, A_BYTE | A_IMM8 | A_IO, 0, 0 },
	[0xe5] = { X86_OP_IN, X86_FORM_PORT_IMM, A_IMM8 | A_IO, 0, 0 },
	[0xe6] = { X86_OP_OUT, X86_FORM_PORT_IMM, A_BYTE | A_IMM8 | A_IO, 0, 0 },
	[0xe7] = { X86_OP_OUT, X86_FORM_PORT_IMM, A_IMM8 | A_IO, 0, 0 },
	[0xe8] = STK(CALL, A_BRANCH | A_IMMZ),
	[0xec] = { X86_OP_IN, X86_FORM_PORT_DX, A_BYTE | A_IO, 0, 0 },
	[0xed] = { X86_OP_IN, X86_FORM_PORT_DX, A_IO, 0, 0 },
	[0xee] = { X86_OP_OUT, X86_FORM_PORT_DX, A_BYTE | A_IO, 0, 0 },
	[0xef] = { X86_OP_OUT, X86_FORM_PORT_DX, A_IO, 0, 0 },
	[0xf6] = GRP(X86_FORM_NONE, A_BYTE),
	[0xf7] = GRP(X86_FORM_NONE, 0),
	[0xfe] = GRP(X86_FORM_RM, A_BYTE),
	[0xff] = GRP(X86_FORM_RM, 0),
};

#define CC16(b, o, f, a)						\
	[(b) + 0x0] = { o, f, a, 0, 0 }, [(b) + 0x1] = { o, f, a, 0, 0 },	\
	[(b) + 0x2] = { o, f, a, 0, 0 }, [(b) + 0x3] = { o, f, a, 0, 0 },	\
	[(b) + 0x4] = { o, f, a, 0, 0 }, [(b) + 0x5] = { o, f, a, 0, 0 },	\
	[(b) + 0x6] = { o, f, a, 0, 0 }, [(b) + 0x7] = { o, f, a, 0, 0 },	\
	[(b) + 0x8] = { o, f, a, 0, 0 }, [(b) + 0x9] = { o, f, a, 0, 0 },	\
	[(b) + 0xa] = { o, f, a, 0, 0 }, [(b) + 0xb] = { o, f, a, 0, 0 },	\
	[(b) + 0xc] = { o, f, a, 0, 0 }, [(b) + 0xd] = { o, f, a, 0, 0 },	\
	[(b) + 0xe] = { o, f, a, 0, 0 }, [(b) + 0xf] = { o, f, a, 0, 0 }

static const struct x86_opdesc twobyte[256] = {
	CC16(0x40, X86_OP_CMOVCC, X86_FORM_REG_RM, A_MODRM),
	CC16(0x90, X86_OP_SETCC, X86_FORM_RM, A_MODRM | A_BYTE),
	[0xa3] = { X86_OP_BT, X86_FORM_RM_REG, A_MODRM, 0, 0 },
	[0xa4] = { X86_OP_SHLD, X86_FORM_RM_REG_IMM, A_MODRM | A_IMM8, 0, 0 },
	[0xa5] = { X86_OP_SHLD, X86_FORM_RM_REG_CL, A_MODRM, 0, 0 },
	[0xab] = { X86_OP_BTS, X86_FORM_RM_REG, A_MODRM | A_LOCK, 0, 0 },
	[0xac] = { X86_OP_SHRD, X86_FORM_RM_REG_IMM, A_MODRM | A_IMM8, 0, 0 },
	[0xad] = { X86_OP_SHRD, X86_FORM_RM_REG_CL, A_MODRM, 0, 0 },
	[0xaf] = { X86_OP_IMUL, X86_FORM_REG_RM, A_MODRM, 0, 0 },
	[0xb0] = { X86_OP_CMPXCHG, X86_FORM_RM_REG, A_MODRM | A_BYTE | A_LOCK, 0, 0 },
	[0xb1] = { X86_OP_CMPXCHG, X86_FORM_RM_REG, A_MODRM | A_LOCK, 0, 0 },
	[0xb3] = { X86_OP_BTR, X86_FORM_RM_REG, A_MODRM | A_LOCK, 0, 0 },
	[0xb6] = { X86_OP_MOVZX, X86_FORM_REG_RM, A_MODRM, 0, 0 },
	[0xb7] = { X86_OP_MOVZX, X86_FORM_REG_RM, A_MODRM, 0, 0 },
	[0xba] = GRP(X86_FORM_RM_IMM, A_IMM8 | A_LOCK),
	[0xbb] = { X86_OP_BTC, X86_FORM_RM_REG, A_MODRM | A_LOCK, 0, 0 },
	[0xbc] = { X86_OP_BSF, X86_FORM_REG_RM, A_MODRM, 0, 0 },
	[0xbd] = { X86_OP_BSR, X86_FORM_REG_RM, A_MODRM, 0, 0 },
	[0xbe] = { X86_OP_MOVSX, X86_FORM_REG_RM, A_MODRM, 0, 0 },
	[0xbf] = { X86_OP_MOVSX, X86_FORM_REG_RM, A_MODRM, 0, 0 },
	[0xc0] = { X86_OP_XADD, X86_FORM_RM_REG, A_MODRM | A_BYTE | A_LOCK, 0, 0 },
	[0xc1] = { X86_OP_XADD, X86_FORM_RM_REG, A_MODRM | A_LOCK, 0, 0 },
	[0xc7] = GRP(X86_FORM_RM, A_MEMONLY | A_LOCK),
};

/* SSE/AVX moves of a register with memory, by mandatory prefix. */
struct ssedesc {
	uint8_t map, pfx, opcode, op, memsize, sse;
	bool vex256;		/* has a VEX.256 form (memsize 32) */
};

#define LD	X86_OP_SSE_LOAD
#define ST	X86_OP_SSE_STORE
#define AL	X86_SSE_ALIGN
#define MG	X86_SSE_MERGE
#define HI	X86_SSE_HIGH

static const struct ssedesc sse_moves[] = {
	{ 1, 0x00, 0x10, LD, 16, 0, true },	/* MOVUPS */
	{ 1, 0x66, 0x10, LD, 16, 0, true },	/* MOVUPD */
	{ 1, 0xf3, 0x10, LD, 4, 0, false },	/* MOVSS */
	{ 1, 0xf2, 0x10, LD, 8, 0, false },	/* MOVSD */
	{ 1, 0x00, 0x11, ST, 16, 0, true },
	{ 1, 0x66, 0x11, ST, 16, 0, true },
	{ 1, 0xf3, 0x11, ST, 4, 0, false },
	{ 1, 0xf2, 0x11, ST, 8, 0, false },
	{ 1, 0x00, 0x12, LD, 8, MG, false },	/* MOVLPS */
	{ 1, 0x66, 0x12, LD, 8, MG, false },	/* MOVLPD */
	{ 1, 0x00, 0x13, ST, 8, 0, false },
	{ 1, 0x66, 0x13, ST, 8, 0, false },
	{ 1, 0x00, 0x16, LD, 8, MG | HI, false },	/* MOVHPS */
	{ 1, 0x66, 0x16, LD, 8, MG | HI, false },	/* MOVHPD */
	{ 1, 0x00, 0x17, ST, 8, HI, false },
	{ 1, 0x66, 0x17, ST, 8, HI, false },
	{ 1, 0x00, 0x28, LD, 16, AL, true },	/* MOVAPS */
	{ 1, 0x66, 0x28, LD, 16, AL, true },	/* MOVAPD */
	{ 1, 0x00, 0x29, ST, 16, AL, true },
	{ 1, 0x66, 0x29, ST, 16, AL, true },
	{ 1, 0x00, 0x2b, ST, 16, AL, true },	/* MOVNTPS */
	{ 1, 0x66, 0x2b, ST, 16, AL, true },	/* MOVNTPD */
	{ 1, 0x66, 0x6e, LD, 4, 0, false },	/* MOVD (REX.W: MOVQ) */
	{ 1, 0x66, 0x6f, LD, 16, AL, true },	/* MOVDQA */
	{ 1, 0xf3, 0x6f, LD, 16, 0, true },	/* MOVDQU */
	{ 1, 0x66, 0x7e, ST, 4, 0, false },	/* MOVD (REX.W: MOVQ) */
	{ 1, 0xf3, 0x7e, LD, 8, 0, false },	/* MOVQ */
	{ 1, 0x66, 0x7f, ST, 16, AL, true },
	{ 1, 0xf3, 0x7f, ST, 16, 0, true },
	{ 1, 0x66, 0xd6, ST, 8, 0, false },	/* MOVQ */
	{ 1, 0x66, 0xe7, ST, 16, AL, true },	/* MOVNTDQ */
	{ 2, 0x66, 0x2a, LD, 16, AL, true },	/* MOVNTDQA */
};

#undef LD
#undef ST
#undef AL
#undef MG
#undef HI

/* Whether opcode `op` of map 1 or 2 may be in sse_moves (a cheap filter). */
static bool
sse_candidate(unsigned map, unsigned op)
{
	if (map == 2)
		return op == 0x2a;
	return map == 1 && ((op >= 0x10 && op <= 0x17) ||
	    (op >= 0x28 && op <= 0x2b) || op == 0x6e || op == 0x6f ||
	    op == 0x7e || op == 0x7f || op == 0xd6 || op == 0xe7);
}

static int
sse_lookup(const struct x86_insn *in, struct x86_opdesc *d)
{
	size_t i;

	if (!sse_candidate(in->map, in->opcode))
		return -1;
	for (i = 0; i < sizeof(sse_moves) / sizeof(sse_moves[0]); i++) {
		const struct ssedesc *s = &sse_moves[i];

		if (s->map != in->map || s->pfx != in->pfx ||
		    s->opcode != in->opcode)
			continue;
		if (in->vex_l && !s->vex256)
			return -1;
		d->op = s->op;
		d->form = s->op == X86_OP_SSE_LOAD ? X86_FORM_XMM_RM :
		    X86_FORM_RM_XMM;
		d->attr = A_MODRM | A_SSE;
		d->memsize = s->memsize;
		d->sse = s->sse;
		return 0;
	}
	return -1;
}

int
x86_opcode_lookup(const struct x86_insn *in, struct x86_opdesc *d)
{
	static const struct x86_opdesc none;

	*d = none;
	if (sse_lookup(in, d) == 0)
		return 0;
	if (in->vex)
		return -1;
	switch (in->map) {
	case 0:
		*d = onebyte[in->opcode];
		break;
	case 1:
		*d = twobyte[in->opcode];
		switch (in->opcode) {
		case 0xb8:	/* POPCNT; without F3: JMPE */
			if (in->pfx == 0xf3)
				*d = (struct x86_opdesc){ X86_OP_POPCNT,
				    X86_FORM_REG_RM, A_MODRM, 0, 0 };
			break;
		case 0xbc:
		case 0xbd:
			if (in->pfx == 0xf2)
				return -1;
			if (in->pfx == 0xf3)
				d->op = in->opcode == 0xbc ? X86_OP_TZCNT :
				    X86_OP_LZCNT;
			break;
		case 0xc3:	/* MOVNTI */
			if (in->pfx == 0)
				*d = (struct x86_opdesc){ X86_OP_MOV,
				    X86_FORM_RM_REG, A_MODRM | A_MEMONLY, 0, 0 };
			break;
		}
		break;
	case 2:
		/* MOVBE; F2 0F 38 F0/F1 is CRC32. */
		if ((in->opcode == 0xf0 || in->opcode == 0xf1) &&
		    (in->pfx == 0 || in->pfx == 0x66))
			*d = (struct x86_opdesc){ X86_OP_MOVBE,
			    in->opcode == 0xf0 ? X86_FORM_REG_RM :
			    X86_FORM_RM_REG, A_MODRM | A_MEMONLY, 0, 0 };
		break;
	}
	return d->attr == 0 && d->op == X86_OP_NONE ? -1 : 0;
}

static const uint8_t group1_ops[8] = {
	X86_OP_ADD, X86_OP_OR, X86_OP_ADC, X86_OP_SBB,
	X86_OP_AND, X86_OP_SUB, X86_OP_XOR, X86_OP_CMP,
};

static const uint8_t group2_ops[8] = {
	X86_OP_ROL, X86_OP_ROR, X86_OP_RCL, X86_OP_RCR,
	X86_OP_SHL, X86_OP_SHR, X86_OP_SHL, X86_OP_SAR,
};

static const uint8_t group3_ops[8] = {
	X86_OP_TEST, X86_OP_TEST, X86_OP_NOT, X86_OP_NEG,
	X86_OP_MUL, X86_OP_IMUL1, X86_OP_DIV, X86_OP_IDIV,
};

static int
group_onebyte(unsigned opcode, unsigned r, struct x86_opdesc *d)
{
	switch (opcode) {
	case 0x80: case 0x81: case 0x82: case 0x83:
		d->op = group1_ops[r];
		if (d->op == X86_OP_CMP)
			d->attr &= ~A_LOCK;
		return 0;
	case 0x8e:	/* MOV Sreg: ES SS DS FS GS (CS is #UD) */
		if (r == NVMM_X64_SEG_CS || r > NVMM_X64_SEG_GS)
			return -1;
		d->op = X86_OP_MOVSEG;
		return 0;
	case 0x8f:
		d->op = X86_OP_POP;
		return r == 0 ? 0 : -1;
	case 0xc0: case 0xc1: case 0xd0: case 0xd1: case 0xd2: case 0xd3:
		d->op = group2_ops[r];
		return 0;
	case 0xc6: case 0xc7:
		d->op = X86_OP_MOV;
		return r == 0 ? 0 : -1;
	case 0xf6: case 0xf7:
		d->op = group3_ops[r];
		if (r <= 1) {
			d->form = X86_FORM_RM_IMM;
			d->attr |= opcode == 0xf6 ? A_IMM8 : A_IMMZ;
		} else {
			d->form = X86_FORM_RM;
			if (r <= 3)
				d->attr |= A_LOCK;
		}
		return 0;
	case 0xfe: case 0xff:
		if (r <= 1) {
			d->op = r == 0 ? X86_OP_INC : X86_OP_DEC;
			d->attr |= A_LOCK;
			return 0;
		}
		if (opcode == 0xfe)
			return -1;
		switch (r) {
		case 2: d->op = X86_OP_CALL; break;
		case 4: d->op = X86_OP_JMP; break;
		case 6: d->op = X86_OP_PUSH; break;
		default: return -1;	/* far CALL/JMP */
		}
		d->attr |= A_D64 | (r == 6 ? 0 : A_BRANCH);
		return 0;
	}
	return -1;
}

int
x86_opcode_group(const struct x86_insn *in, struct x86_opdesc *d)
{
	static const uint8_t bt_ops[4] = {
		X86_OP_BT, X86_OP_BTS, X86_OP_BTR, X86_OP_BTC,
	};
	unsigned r = (in->modrm >> 3) & 7;

	if (in->map == 0)
		return group_onebyte(in->opcode, r, d);
	if (in->opcode == 0xba && r >= 4) {
		d->op = bt_ops[r - 4];
		if (d->op == X86_OP_BT)
			d->attr &= ~A_LOCK;
		return 0;
	}
	if (in->opcode == 0xc7 && r == 1) {
		d->op = X86_OP_CMPXCHG8B;
		return 0;
	}
	return -1;
}

uint8_t
x86_opcode_memsize(const struct x86_insn *in, const struct x86_opdesc *d)
{
	switch (in->op) {
	case X86_OP_MOVZX:
	case X86_OP_MOVSX:
		return (in->opcode & 1) ? 2 : 1;
	case X86_OP_CMPXCHG8B:
		return in->opsize == 8 ? 16 : 8;
	case X86_OP_MOVSEG:
		return 2;
	case X86_OP_SSE_LOAD:
	case X86_OP_SSE_STORE:
		if (in->vex_l)
			return 32;
		if ((in->opcode == 0x6e || in->opcode == 0x7e) &&
		    in->pfx == 0x66 && in->mode == X86_CODE64 &&
		    (in->rex & 0x8))
			return 8;
		return d->memsize;
	}
	return in->opsize;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x86_decode.c: table-driven decoder for the instructions the assists
 * emulate and for the port IO instructions. Facts come from the Intel SDM
 * vol. 2 (chapter 2, "Instruction Format", and appendix A, opcode maps).
 */
#include <errno.h>
#include <string.h>

#include <nvmm.h>

#include "x86_decode.h"

#define X86_MAX_LEN 15

/* Attributes of an opcode. */
#define A_MODRM	0x01	/* a ModRM byte follows */
#define A_BYTE	0x02	/* operand size is 1 */
#define A_IMM8	0x04	/* imm8 follows (for groups: see group_fixup) */
#define A_IMMZ	0x08	/* imm16 or imm32 (by operand size) follows */
#define A_MOFFS	0x10	/* a memory offset of address size follows */
#define A_GROUP	0x20	/* ModRM.reg selects the operation */
#define A_LOCK	0x40	/* LOCK is allowed with a memory destination */
#define A_IO	0x80	/* port IO: operand size 1, 2 or 4, no REX.W */
#define A_NO64	0x100	/* invalid in 64-bit mode */

struct opdesc {
	uint8_t op;
	uint8_t form;
	uint16_t attr;
};

#define ALU4(base, o)							\
	[(base) + 0] = { o, X86_FORM_RM_REG, A_MODRM | A_BYTE | A_LOCK },	\
	[(base) + 1] = { o, X86_FORM_RM_REG, A_MODRM | A_LOCK },		\
	[(base) + 2] = { o, X86_FORM_REG_RM, A_MODRM | A_BYTE },		\
	[(base) + 3] = { o, X86_FORM_REG_RM, A_MODRM }

static const struct opdesc onebyte[256] = {
	ALU4(0x00, X86_OP_ADD),
	ALU4(0x08, X86_OP_OR),
	ALU4(0x10, X86_OP_ADC),
	ALU4(0x18, X86_OP_SBB),
	ALU4(0x20, X86_OP_AND),
	ALU4(0x28, X86_OP_SUB),
	ALU4(0x30, X86_OP_XOR),
	[0x38] = { X86_OP_CMP, X86_FORM_RM_REG, A_MODRM | A_BYTE },
	[0x39] = { X86_OP_CMP, X86_FORM_RM_REG, A_MODRM },
	[0x3a] = { X86_OP_CMP, X86_FORM_REG_RM, A_MODRM | A_BYTE },
	[0x3b] = { X86_OP_CMP, X86_FORM_REG_RM, A_MODRM },
	[0x6c] = { X86_OP_INS, X86_FORM_STRING, A_BYTE | A_IO },
	[0x6d] = { X86_OP_INS, X86_FORM_STRING, A_IO },
	[0x6e] = { X86_OP_OUTS, X86_FORM_STRING, A_BYTE | A_IO },
	[0x6f] = { X86_OP_OUTS, X86_FORM_STRING, A_IO },
	[0x80] = { X86_OP_NONE, X86_FORM_RM_IMM,
		   A_MODRM | A_BYTE | A_IMM8 | A_GROUP | A_LOCK },
	[0x81] = { X86_OP_NONE, X86_FORM_RM_IMM,
		   A_MODRM | A_IMMZ | A_GROUP | A_LOCK },
	[0x82] = { X86_OP_NONE, X86_FORM_RM_IMM,
		   A_MODRM | A_BYTE | A_IMM8 | A_GROUP | A_LOCK | A_NO64 },
	[0x83] = { X86_OP_NONE, X86_FORM_RM_IMM,
		   A_MODRM | A_IMM8 | A_GROUP | A_LOCK },
	[0x84] = { X86_OP_TEST, X86_FORM_RM_REG, A_MODRM | A_BYTE },
	[0x85] = { X86_OP_TEST, X86_FORM_RM_REG, A_MODRM },
	[0x86] = { X86_OP_XCHG, X86_FORM_RM_REG, A_MODRM | A_BYTE | A_LOCK },
	[0x87] = { X86_OP_XCHG, X86_FORM_RM_REG, A_MODRM | A_LOCK },
	[0x88] = { X86_OP_MOV, X86_FORM_RM_REG, A_MODRM | A_BYTE },
	[0x89] = { X86_OP_MOV, X86_FORM_RM_REG, A_MODRM },
	[0x8a] = { X86_OP_MOV, X86_FORM_REG_RM, A_MODRM | A_BYTE },
	[0x8b] = { X86_OP_MOV, X86_FORM_REG_RM, A_MODRM },
	[0xa0] = { X86_OP_MOV, X86_FORM_ACC_RM, A_MOFFS | A_BYTE },
	[0xa1] = { X86_OP_MOV, X86_FORM_ACC_RM, A_MOFFS },
	[0xa2] = { X86_OP_MOV, X86_FORM_RM_ACC, A_MOFFS | A_BYTE },
	[0xa3] = { X86_OP_MOV, X86_FORM_RM_ACC, A_MOFFS },
	[0xa4] = { X86_OP_MOVS, X86_FORM_STRING, A_BYTE },
	[0xa5] = { X86_OP_MOVS, X86_FORM_STRING, 0 },
	[0xa6] = { X86_OP_CMPS, X86_FORM_STRING, A_BYTE },
	[0xa7] = { X86_OP_CMPS, X86_FORM_STRING, 0 },
	[0xaa] = { X86_OP_STOS, X86_FORM_STRING, A_BYTE },
	[0xab] = { X86_OP_STOS, X86_FORM_STRING, 0 },
	[0xac] = { X86_OP_LODS, X86_FORM_STRING, A_BYTE },
	[0xad] = { X86_OP_LODS, X86_FORM_STRING, 0 },
	[0xc6] = { X86_OP_MOV, X86_FORM_RM_IMM,
		   A_MODRM | A_BYTE | A_IMM8 | A_GROUP },
	[0xc7] = { X86_OP_MOV, X86_FORM_RM_IMM, A_MODRM | A_IMMZ | A_GROUP },
	[0xe4] = { X86_OP_IN, X86_FORM_PORT_IMM, A_BYTE | A_IMM8 | A_IO },
	[0xe5] = { X86_OP_IN, X86_FORM_PORT_IMM, A_IMM8 | A_IO },
	[0xe6] = { X86_OP_OUT, X86_FORM_PORT_IMM, A_BYTE | A_IMM8 | A_IO },
	[0xe7] = { X86_OP_OUT, X86_FORM_PORT_IMM, A_IMM8 | A_IO },
	[0xec] = { X86_OP_IN, X86_FORM_PORT_DX, A_BYTE | A_IO },
	[0xed] = { X86_OP_IN, X86_FORM_PORT_DX, A_IO },
	[0xee] = { X86_OP_OUT, X86_FORM_PORT_DX, A_BYTE | A_IO },
	[0xef] = { X86_OP_OUT, X86_FORM_PORT_DX, A_IO },
	[0xf6] = { X86_OP_NONE, X86_FORM_NONE, A_MODRM | A_BYTE | A_GROUP },
	[0xf7] = { X86_OP_NONE, X86_FORM_NONE, A_MODRM | A_GROUP },
};

static const struct opdesc twobyte[256] = {
	[0xa3] = { X86_OP_BT, X86_FORM_RM_REG, A_MODRM },
	[0xab] = { X86_OP_BTS, X86_FORM_RM_REG, A_MODRM | A_LOCK },
	[0xb3] = { X86_OP_BTR, X86_FORM_RM_REG, A_MODRM | A_LOCK },
	[0xbb] = { X86_OP_BTC, X86_FORM_RM_REG, A_MODRM | A_LOCK },
	[0xb6] = { X86_OP_MOVZX, X86_FORM_REG_RM, A_MODRM },
	[0xb7] = { X86_OP_MOVZX, X86_FORM_REG_RM, A_MODRM },
	[0xbe] = { X86_OP_MOVSX, X86_FORM_REG_RM, A_MODRM },
	[0xbf] = { X86_OP_MOVSX, X86_FORM_REG_RM, A_MODRM },
	[0xba] = { X86_OP_NONE, X86_FORM_RM_IMM,
		   A_MODRM | A_IMM8 | A_GROUP | A_LOCK },
};

static const uint8_t group1_ops[8] = {
	X86_OP_ADD, X86_OP_OR, X86_OP_ADC, X86_OP_SBB,
	X86_OP_AND, X86_OP_SUB, X86_OP_XOR, X86_OP_CMP,
};

/* Byte cursor over the instruction, bounded by `avail` and 15. */
struct cursor {
	const uint8_t *b;
	size_t avail;
	size_t pos;
};

static int
fetch(struct cursor *c, size_t n, uint64_t *val)
{
	uint64_t v = 0;
	size_t i;

	if (c->pos + n > X86_MAX_LEN || c->pos + n > c->avail) {
		errno = EFAULT;
		return -1;
	}
	for (i = 0; i < n; i++)
		v |= (uint64_t)c->b[c->pos + i] << (8 * i);
	c->pos += n;
	*val = v;
	return 0;
}

static int64_t
sext(uint64_t v, unsigned bytes)
{
	unsigned sh = 64 - 8 * bytes;

	if (bytes >= 8)
		return (int64_t)v;
	return (int64_t)(v << sh) >> sh;
}

/*
 * Resolve a group opcode's operation from ModRM.reg, and its immediate.
 * Returns false for a reg value the decoder does not know.
 */
static bool
group_fixup(struct x86_insn *in, struct opdesc *d)
{
	unsigned r = (in->modrm >> 3) & 7;

	if (!in->twobyte) {
		switch (in->opcode) {
		case 0x80: case 0x81: case 0x82: case 0x83:
			d->op = group1_ops[r];
			if (d->op == X86_OP_CMP)
				d->attr &= ~A_LOCK;
			return true;
		case 0xc6: case 0xc7:
			return r == 0;
		case 0xf6: case 0xf7:
			if (r <= 1) {
				d->op = X86_OP_TEST;
				d->form = X86_FORM_RM_IMM;
				d->attr |= in->opcode == 0xf6 ? A_IMM8 : A_IMMZ;
				return true;
			}
			if (r == 2 || r == 3) {
				d->op = r == 2 ? X86_OP_NOT : X86_OP_NEG;
				d->form = X86_FORM_RM;
				d->attr |= A_LOCK;
				return true;
			}
			return false;
		}
		return false;
	}
	if (in->opcode == 0xba && r >= 4) {
		static const uint8_t bt_ops[4] = {
			X86_OP_BT, X86_OP_BTS, X86_OP_BTR, X86_OP_BTC,
		};
		d->op = bt_ops[r - 4];
		if (d->op == X86_OP_BT)
			d->attr &= ~A_LOCK;
		return true;
	}
	return false;
}

static void
modrm_16(struct x86_insn *in, unsigned mod, unsigned rm)
{
	static const int8_t base16[8] = {
		NVMM_X64_GPR_RBX, NVMM_X64_GPR_RBX, NVMM_X64_GPR_RBP,
		NVMM_X64_GPR_RBP, NVMM_X64_GPR_RSI, NVMM_X64_GPR_RDI,
		NVMM_X64_GPR_RBP, NVMM_X64_GPR_RBX,
	};
	static const int8_t index16[8] = {
		NVMM_X64_GPR_RSI, NVMM_X64_GPR_RDI, NVMM_X64_GPR_RSI,
		NVMM_X64_GPR_RDI, X86_REG_NONE, X86_REG_NONE,
		X86_REG_NONE, X86_REG_NONE,
	};

	in->base = base16[rm];
	in->index = index16[rm];
	if (mod == 0 && rm == 6) {
		in->base = X86_REG_NONE;
		in->disp_size = 2;
	} else if (mod == 1) {
		in->disp_size = 1;
	} else if (mod == 2) {
		in->disp_size = 2;
	}
}

static int
modrm_32(struct x86_insn *in, struct cursor *c, unsigned mod, unsigned rm)
{
	uint64_t v;

	if (rm == 4) {
		unsigned idx, base;

		if (fetch(c, 1, &v) == -1)
			return -1;
		in->has_sib = true;
		in->sib = (uint8_t)v;
		in->scale = (uint8_t)(1u << (in->sib >> 6));
		idx = ((in->sib >> 3) & 7) | ((in->rex & 0x2) << 2);
		in->index = idx == 4 ? X86_REG_NONE : (int8_t)idx;
		base = in->sib & 7;
		if (base == 5 && mod == 0) {
			in->base = X86_REG_NONE;
			in->disp_size = 4;
		} else {
			in->base = (int8_t)(base | ((in->rex & 0x1) << 3));
		}
	} else if (rm == 5 && mod == 0) {
		in->base = in->mode == X86_CODE64 ? X86_REG_RIP : X86_REG_NONE;
		in->disp_size = 4;
	} else {
		in->base = (int8_t)(rm | ((in->rex & 0x1) << 3));
	}
	if (mod == 1)
		in->disp_size = 1;
	else if (mod == 2)
		in->disp_size = 4;
	return 0;
}

static void
set_memseg(struct x86_insn *in)
{
	if (in->seg >= 0)
		in->memseg = in->seg;
	else if (in->base == NVMM_X64_GPR_RBP || in->base == NVMM_X64_GPR_RSP)
		in->memseg = NVMM_X64_SEG_SS;
	else
		in->memseg = NVMM_X64_SEG_DS;
}

int
x86_decode(const uint8_t *bytes, size_t avail, enum x86_code_size cs,
    struct x86_insn *insn)
{
	struct x86_insn in;
	struct cursor c = { bytes, avail, 0 };
	struct opdesc d;
	bool opsz_ovr = false, adsz_ovr = false;
	uint64_t v;

	if (bytes == NULL || insn == NULL ||
	    (cs != X86_CODE16 && cs != X86_CODE32 && cs != X86_CODE64)) {
		errno = EINVAL;
		return -1;
	}
	memset(&in, 0, sizeof(in));
	in.mode = (uint8_t)cs;
	in.seg = -1;
	in.base = X86_REG_NONE;
	in.index = X86_REG_NONE;
	in.scale = 1;
	in.memseg = NVMM_X64_SEG_DS;

	/* Legacy prefixes, then REX (64-bit mode; must precede the opcode). */
	for (;;) {
		uint8_t b;

		if (fetch(&c, 1, &v) == -1)
			return -1;
		b = (uint8_t)v;
		if (cs == X86_CODE64 && (b & 0xf0) == 0x40) {
			in.rex = b;
			continue;
		}
		switch (b) {
		case 0x66: opsz_ovr = true; break;
		case 0x67: adsz_ovr = true; break;
		case 0xf0: in.lock = true; break;
		case 0xf2: in.repne = true; in.rep = false; break;
		case 0xf3: in.rep = true; in.repne = false; break;
		case 0x26: in.seg = NVMM_X64_SEG_ES; break;
		case 0x2e: in.seg = NVMM_X64_SEG_CS; break;
		case 0x36: in.seg = NVMM_X64_SEG_SS; break;
		case 0x3e: in.seg = NVMM_X64_SEG_DS; break;
		case 0x64: in.seg = NVMM_X64_SEG_FS; break;
		case 0x65: in.seg = NVMM_X64_SEG_GS; break;
		default:
			goto opcode;
		}
		/* A REX followed by a legacy prefix is ignored. */
		in.rex = 0;
	}
opcode:
	c.pos--;		/* the opcode byte, re-read below */
	if (fetch(&c, 1, &v) == -1)
		return -1;
	if (v == 0x0f) {
		in.twobyte = true;
		if (fetch(&c, 1, &v) == -1)
			return -1;
	}
	in.opcode = (uint8_t)v;
	d = in.twobyte ? twobyte[in.opcode] : onebyte[in.opcode];
	if (d.attr == 0 && d.op == X86_OP_NONE)
		goto unknown;
	if ((d.attr & A_NO64) && cs == X86_CODE64)
		goto unknown;

	/* Sizes. */
	if (cs == X86_CODE64)
		in.adsize = adsz_ovr ? 4 : 8;
	else if (cs == X86_CODE32)
		in.adsize = adsz_ovr ? 2 : 4;
	else
		in.adsize = adsz_ovr ? 4 : 2;
	if (d.attr & A_BYTE)
		in.opsize = 1;
	else if (cs == X86_CODE64 && (in.rex & 0x8) && !(d.attr & A_IO))
		in.opsize = 8;
	else if (cs == X86_CODE16)
		in.opsize = opsz_ovr ? 4 : 2;
	else
		in.opsize = opsz_ovr ? 2 : 4;

	/* ModRM and the memory operand. */
	if (d.attr & A_MODRM) {
		unsigned mod, rm;

		if (fetch(&c, 1, &v) == -1)
			return -1;
		in.has_modrm = true;
		in.modrm = (uint8_t)v;
		mod = in.modrm >> 6;
		rm = in.modrm & 7;
		in.reg = (uint8_t)(((in.modrm >> 3) & 7) | ((in.rex & 0x4) << 1));
		if ((d.attr & A_GROUP) && !group_fixup(&in, &d))
			goto unknown;
		if (mod == 3) {
			in.rm = (uint8_t)(rm | ((in.rex & 0x1) << 3));
		} else {
			in.mem = true;
			if (in.adsize == 2)
				modrm_16(&in, mod, rm);
			else if (modrm_32(&in, &c, mod, rm) == -1)
				return -1;
			if (in.disp_size != 0) {
				if (fetch(&c, in.disp_size, &v) == -1)
					return -1;
				in.disp = sext(v, in.disp_size);
			}
		}
	} else if (d.attr & A_MOFFS) {
		in.mem = true;
		in.disp_size = in.adsize;
		if (fetch(&c, in.adsize, &v) == -1)
			return -1;
		in.disp = (int64_t)v;
	}
	in.op = d.op;
	in.form = d.form;

	/* Immediate. */
	if (d.attr & A_IMM8) {
		in.imm_size = 1;
	} else if (d.attr & A_IMMZ) {
		in.imm_size = in.opsize == 2 ? 2 : 4;
	}
	if (in.imm_size != 0) {
		if (fetch(&c, in.imm_size, &v) == -1)
			return -1;
		in.imm = (d.attr & A_IO) ? v : (uint64_t)sext(v, in.imm_size);
	}

	/* LOCK: only on a lockable form with a memory destination. */
	if (in.lock && (!(d.attr & A_LOCK) || !in.mem))
		goto unknown;

	/* Memory operand size and segment. */
	if (in.mem || in.form == X86_FORM_STRING) {
		if (in.op == X86_OP_MOVZX || in.op == X86_OP_MOVSX)
			in.memsize = (in.opcode & 1) ? 2 : 1;
		else
			in.memsize = in.opsize;
		set_memseg(&in);
	}

	in.len = (uint8_t)c.pos;
	*insn = in;
	return 0;

unknown:
	errno = ENODEV;
	return -1;
}

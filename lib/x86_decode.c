/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x86_decode.c: table-driven decoder for the instructions the assists
 * emulate and for the port IO instructions. Facts come from the Intel SDM
 * vol. 2 (chapter 2, "Instruction Format", and appendix A, opcode maps)
 * and the AMD APM vol. 3 (VEX, near branches).
 */
#include <errno.h>
#include <string.h>

#include <nvmm.h>

#include "x86_decode.h"
#include "x86_opcodes.h"

#define X86_MAX_LEN 15

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

/* The next byte, without consuming it; -1 when there is none. */
static int
peek(const struct cursor *c)
{
	if (c->pos >= X86_MAX_LEN || c->pos >= c->avail)
		return -1;
	return c->b[c->pos];
}

static int64_t
sext(uint64_t v, unsigned bytes)
{
	unsigned sh = 64 - 8 * bytes;

	if (bytes >= 8)
		return (int64_t)v;
	return (int64_t)(v << sh) >> sh;
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
	if (in->op == X86_OP_SCAS)
		in->memseg = NVMM_X64_SEG_ES;	/* no override possible */
	else if (in->seg >= 0)
		in->memseg = in->seg;
	else if (in->base == NVMM_X64_GPR_RBP || in->base == NVMM_X64_GPR_RSP)
		in->memseg = NVMM_X64_SEG_SS;
	else
		in->memseg = NVMM_X64_SEG_DS;
}

/*
 * The rest of a VEX prefix (C4 or C5 consumed): fills rex (64-bit mode
 * only), map, pfx, vex_l. Returns -1 with EFAULT (truncated) or ENODEV
 * (a map other than 0F/0F 38, or VEX.vvvv in use).
 */
static int
decode_vex(struct x86_insn *in, struct cursor *c, uint8_t first)
{
	static const uint8_t pp_pfx[4] = { 0, 0x66, 0xf3, 0xf2 };
	uint64_t b1, b2;
	unsigned rxb, map, w;

	if (fetch(c, 1, &b1) == -1)
		return -1;
	if (first == 0xc5) {
		rxb = ((b1 >> 7) & 1) ? 0 : 0x4;
		map = 1;
		w = 0;
		b2 = b1;
	} else {
		if (fetch(c, 1, &b2) == -1)
			return -1;
		rxb = (~b1 >> 5) & 7;	/* R X B, as in REX */
		map = b1 & 0x1f;
		w = (b2 >> 7) & 1;
	}
	if (in->mode == X86_CODE64)
		in->rex = (uint8_t)(0x40 | rxb | (w ? 0x8 : 0));
	in->vex = true;
	in->twobyte = true;
	in->map = (uint8_t)map;
	in->vex_l = (b2 >> 2) & 1;
	in->pfx = pp_pfx[b2 & 3];
	/* Every VEX instruction decoded here has no VEX.vvvv operand. */
	if (((b2 >> 3) & 0xf) != 0xf || (map != 1 && map != 2)) {
		errno = ENODEV;
		return -1;
	}
	return 0;
}

int
x86_decode(const uint8_t *bytes, size_t avail, enum x86_code_size cs,
    struct x86_insn *insn)
{
	struct x86_insn in;
	struct cursor c = { bytes, avail, 0 };
	struct x86_opdesc d;
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
	if ((v == 0xc4 || v == 0xc5) && cs != X86_CODE64 && peek(&c) < 0) {
		errno = EFAULT;		/* VEX or LES/LDS: the next byte says */
		return -1;
	}
	if ((v == 0xc4 || v == 0xc5) &&
	    (cs == X86_CODE64 || (peek(&c) & 0xc0) == 0xc0)) {
		/* VEX: no 66/F2/F3/REX/LOCK before it (#UD). */
		if (opsz_ovr || in.rep || in.repne || in.rex || in.lock)
			goto unknown;
		if (decode_vex(&in, &c, (uint8_t)v) == -1)
			return -1;
		if (fetch(&c, 1, &v) == -1)
			return -1;
	} else {
		in.pfx = in.repne ? 0xf2 : in.rep ? 0xf3 : opsz_ovr ? 0x66 : 0;
		if (v == 0x0f) {
			in.twobyte = true;
			in.map = 1;
			if (fetch(&c, 1, &v) == -1)
				return -1;
			if (v == 0x38) {
				in.map = 2;
				if (fetch(&c, 1, &v) == -1)
					return -1;
			}
		}
	}
	in.opcode = (uint8_t)v;
	if (x86_opcode_lookup(&in, &d) == -1)
		goto unknown;
	if ((d.attr & A_NO64) && cs == X86_CODE64)
		goto unknown;

	/* ModRM, which selects the operation of a group. */
	if (d.attr & A_MODRM) {
		if (fetch(&c, 1, &v) == -1)
			return -1;
		in.has_modrm = true;
		in.modrm = (uint8_t)v;
		in.reg = (uint8_t)(((in.modrm >> 3) & 7) | ((in.rex & 0x4) << 1));
		if ((d.attr & A_GROUP) && x86_opcode_group(&in, &d) == -1)
			goto unknown;
	}

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
	else if (cs == X86_CODE64 && (d.attr & A_D64))
		in.opsize = opsz_ovr && !(d.attr & A_SSE) ? 2 : 8;
	else if (cs == X86_CODE16)
		in.opsize = opsz_ovr && !(d.attr & A_SSE) ? 4 : 2;
	else
		in.opsize = opsz_ovr && !(d.attr & A_SSE) ? 2 : 4;
	/*
	 * Near branches with 66 in 64-bit mode: Intel ignores the prefix,
	 * AMD shortens the operand to 16 bits. Refuse rather than guess.
	 */
	if ((d.attr & A_BRANCH) && cs == X86_CODE64 && opsz_ovr)
		goto unknown;

	/* The memory operand. */
	if (d.attr & A_MODRM) {
		unsigned mod = in.modrm >> 6, rm = in.modrm & 7;

		if (mod == 3) {
			if (d.attr & A_MEMONLY)
				goto unknown;
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
	} else if (d.form == X86_FORM_STACK && (in.opcode & 0xf0) == 0x50) {
		in.reg = (uint8_t)((in.opcode & 7) | ((in.rex & 0x1) << 3));
	}
	in.op = d.op;
	in.form = d.form;
	in.sse = d.sse;

	/* Immediate. */
	if (d.attr & A_IMM8)
		in.imm_size = 1;
	else if (d.attr & A_IMM16)
		in.imm_size = 2;
	else if (d.attr & A_IMMZ)
		in.imm_size = in.opsize == 2 ? 2 : 4;
	if (in.imm_size != 0) {
		if (fetch(&c, in.imm_size, &v) == -1)
			return -1;
		in.imm = (d.attr & (A_IO | A_IMM16)) ? v :
		    (uint64_t)sext(v, in.imm_size);
	} else if (d.attr & A_IMM1) {
		in.imm = 1;
	}

	/* LOCK: only on a lockable form with a memory destination. */
	if (in.lock && (!(d.attr & A_LOCK) || !in.mem))
		goto unknown;

	if (in.mem || in.form == X86_FORM_STRING) {
		in.memsize = x86_opcode_memsize(&in, &d);
		set_memseg(&in);
	}

	in.len = (uint8_t)c.pos;
	*insn = in;
	return 0;

unknown:
	errno = ENODEV;
	return -1;
}

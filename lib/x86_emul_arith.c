/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x86_emul_arith.c: INC, DEC, XADD, CMPXCHG, CMPXCHG8B/16B, the bit scans
 * (BSF BSR TZCNT LZCNT POPCNT), SETcc, CMOVcc and MOVBE with a memory
 * operand. Flags as the SDM defines them; undefined flags unchanged.
 */
#include <string.h>

#include "x86_emul_impl.h"

#define ZF_ONLY		X86_RFLAGS_ZF
#define NOT_CF		(X86_RFLAGS_ARITH & ~X86_RFLAGS_CF)

static int
emul_incdec(const struct x86_insn *in, uint64_t *g,
    const struct x86_emul_mem *m, uint64_t ea)
{
	uint64_t v, r, f;

	if (x86_rmw_read(in, m, ea, &v) == -1)
		return -1;
	r = x86_alu(in->op == X86_OP_INC ? X86_OP_ADD : X86_OP_SUB, in->opsize,
	    v, 1, false, &f);
	if (x86_mem_write(m, in->memseg, ea, in->opsize, r) == -1)
		return -1;
	set_flags(g, NOT_CF, f);	/* CF is kept */
	return 0;
}

static int
emul_xadd(const struct x86_insn *in, uint64_t *g,
    const struct x86_emul_mem *m, uint64_t ea)
{
	unsigned sz = in->opsize;
	uint64_t d, s = x86_reg_read(in, g, in->reg, sz), r, f;

	if (x86_rmw_read(in, m, ea, &d) == -1)
		return -1;
	r = x86_alu(X86_OP_ADD, sz, d, s, false, &f);
	if (x86_mem_write(m, in->memseg, ea, sz, r) == -1)
		return -1;
	x86_reg_write(in, g, in->reg, sz, d);
	set_flags(g, X86_RFLAGS_ARITH, f);
	return 0;
}

/* The destination is written in both cases, as by the CPU. */
static int
emul_cmpxchg(const struct x86_insn *in, uint64_t *g,
    const struct x86_emul_mem *m, uint64_t ea)
{
	unsigned sz = in->opsize;
	uint64_t d, s = x86_reg_read(in, g, in->reg, sz), f;
	bool eq;

	if (x86_rmw_read(in, m, ea, &d) == -1)
		return -1;
	(void)x86_alu(X86_OP_CMP, sz, g[NVMM_X64_GPR_RAX], d, false, &f);
	eq = (f & X86_RFLAGS_ZF) != 0;
	if (x86_mem_write(m, in->memseg, ea, sz, eq ? s : d) == -1)
		return -1;
	if (!eq)
		x86_reg_write(in, g, NVMM_X64_GPR_RAX, sz, d);
	set_flags(g, X86_RFLAGS_ARITH, f);
	return 0;
}

/* CMPXCHG8B (EDX:EAX, ECX:EBX) and CMPXCHG16B (RDX:RAX, RCX:RBX). */
static int
emul_cmpxchg_wide(const struct x86_insn *in, uint64_t *g,
    const struct x86_emul_mem *m, uint64_t ea)
{
	unsigned half = in->memsize / 2;
	uint64_t hm = size_mask(half), lo, hi;
	uint8_t buf[16];
	bool eq;

	if (in->memsize == 16 && (ea & 15) != 0)
		return x86_raise(m, X86_EXC_GP, true, 0);
	if (x86_mem_probe(m, in->memseg, ea, in->memsize) == -1 ||
	    m->read(m->ctx, in->memseg, ea, buf, in->memsize) == -1)
		return -1;
	memcpy(&lo, buf, 8);
	memcpy(&hi, buf + half, 8);
	lo &= hm;
	hi &= hm;
	eq = lo == (g[NVMM_X64_GPR_RAX] & hm) && hi == (g[NVMM_X64_GPR_RDX] & hm);
	if (eq) {
		uint64_t nlo = g[NVMM_X64_GPR_RBX], nhi = g[NVMM_X64_GPR_RCX];

		memcpy(buf, &nlo, half);
		memcpy(buf + half, &nhi, half);
	}
	if (m->write(m->ctx, in->memseg, ea, buf, in->memsize) == -1)
		return -1;
	if (!eq) {
		g[NVMM_X64_GPR_RAX] = lo;
		g[NVMM_X64_GPR_RDX] = hi;
	}
	set_flags(g, ZF_ONLY, eq ? X86_RFLAGS_ZF : 0);
	return 0;
}

static unsigned
bit_count(uint64_t v)
{
	unsigned n = 0;

	for (; v != 0; v &= v - 1)
		n++;
	return n;
}

static unsigned
low_zeros(uint64_t v, unsigned bits)
{
	unsigned n = 0;

	while (n < bits && !((v >> n) & 1))
		n++;
	return n;
}

static unsigned
high_zeros(uint64_t v, unsigned bits)
{
	unsigned n = 0;

	while (n < bits && !((v >> (bits - 1 - n)) & 1))
		n++;
	return n;
}

static int
emul_bitscan(const struct x86_insn *in, uint64_t *g,
    const struct x86_emul_mem *m, uint64_t ea)
{
	unsigned sz = in->opsize, bits = 8 * sz;
	uint64_t v, r;

	if (x86_mem_read(m, in->memseg, ea, sz, &v) == -1)
		return -1;
	switch (in->op) {
	case X86_OP_BSF:
	case X86_OP_BSR:
		/* A zero source leaves the destination as it is (AMD). */
		set_flags(g, ZF_ONLY, v == 0 ? X86_RFLAGS_ZF : 0);
		if (v != 0)
			x86_reg_write(in, g, in->reg, sz, in->op == X86_OP_BSF ?
			    low_zeros(v, bits) : bits - 1 - high_zeros(v, bits));
		return 0;
	case X86_OP_TZCNT:
	case X86_OP_LZCNT:
		r = in->op == X86_OP_TZCNT ? low_zeros(v, bits) :
		    high_zeros(v, bits);
		x86_reg_write(in, g, in->reg, sz, r);
		set_flags(g, X86_RFLAGS_CF | X86_RFLAGS_ZF,
		    (v == 0 ? X86_RFLAGS_CF : 0) | (r == 0 ? X86_RFLAGS_ZF : 0));
		return 0;
	default:	/* POPCNT */
		x86_reg_write(in, g, in->reg, sz, bit_count(v));
		set_flags(g, X86_RFLAGS_ARITH, v == 0 ? X86_RFLAGS_ZF : 0);
		return 0;
	}
}

static int
emul_cmov(const struct x86_insn *in, uint64_t *g,
    const struct x86_emul_mem *m, uint64_t ea)
{
	unsigned sz = in->opsize;
	uint64_t v;

	/* The source is read whatever the condition. */
	if (x86_mem_read(m, in->memseg, ea, sz, &v) == -1)
		return -1;
	if (x86_cond(g, in->opcode & 0xf))
		x86_reg_write(in, g, in->reg, sz, v);
	else if (sz == 4)
		g[in->reg] &= 0xffffffff;	/* still zero-extended */
	return 0;
}

static uint64_t
bswap(uint64_t v, unsigned size)
{
	uint64_t r = 0;
	unsigned i;

	for (i = 0; i < size; i++)
		r |= ((v >> (8 * i)) & 0xff) << (8 * (size - 1 - i));
	return r;
}

static int
emul_movbe(const struct x86_insn *in, uint64_t *g,
    const struct x86_emul_mem *m, uint64_t ea)
{
	unsigned sz = in->opsize;
	uint64_t v;

	if (in->form == X86_FORM_RM_REG)
		return x86_mem_write(m, in->memseg, ea, sz,
		    bswap(x86_reg_read(in, g, in->reg, sz), sz));
	if (x86_mem_read(m, in->memseg, ea, sz, &v) == -1)
		return -1;
	x86_reg_write(in, g, in->reg, sz, bswap(v, sz));
	return 0;
}

int
x86_emul_arith(const struct x86_insn *in, uint64_t *g,
    const struct x86_emul_mem *m, uint64_t ea)
{
	switch (in->op) {
	case X86_OP_INC:
	case X86_OP_DEC:
		return emul_incdec(in, g, m, ea);
	case X86_OP_XADD:
		return emul_xadd(in, g, m, ea);
	case X86_OP_CMPXCHG:
		return emul_cmpxchg(in, g, m, ea);
	case X86_OP_CMPXCHG8B:
		return emul_cmpxchg_wide(in, g, m, ea);
	case X86_OP_BSF: case X86_OP_BSR: case X86_OP_TZCNT:
	case X86_OP_LZCNT: case X86_OP_POPCNT:
		return emul_bitscan(in, g, m, ea);
	case X86_OP_SETCC:
		return x86_mem_write(m, in->memseg, ea, 1,
		    x86_cond(g, in->opcode & 0xf) ? 1 : 0);
	case X86_OP_CMOVCC:
		return emul_cmov(in, g, m, ea);
	case X86_OP_MOVBE:
		return emul_movbe(in, g, m, ea);
	}
	return x86_unsupported("operation the core does not know");
}

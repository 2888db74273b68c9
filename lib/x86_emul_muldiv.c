/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x86_emul_muldiv.c: MUL, IMUL (one, two and three operands), DIV and IDIV
 * with a memory operand. #DE for a zero divisor or a quotient that does
 * not fit. MUL/IMUL define CF and OF only, DIV/IDIV no flag: the others
 * are left as they are.
 */
#include "x86_emul_impl.h"

typedef unsigned __int128 u128;
typedef __int128 s128;

#define RAX	NVMM_X64_GPR_RAX
#define RDX	NVMM_X64_GPR_RDX

/* rDX:rAX (AX alone for a byte operand) as a 2*size-byte value. */
static u128
wide_acc(const uint64_t *g, unsigned sz)
{
	if (sz == 1)
		return g[RAX] & 0xffff;
	return ((u128)(g[RDX] & size_mask(sz)) << (8 * sz)) |
	    (g[RAX] & size_mask(sz));
}

/* Store lo/hi halves: AL/AH for bytes, else rAX/rDX. */
static void
set_halves(const struct x86_insn *in, uint64_t *g, unsigned sz, uint64_t lo,
    uint64_t hi)
{
	if (sz == 1) {
		x86_reg_write(in, g, RAX, 2, (lo & 0xff) | ((hi & 0xff) << 8));
	} else {
		x86_reg_write(in, g, RAX, sz, lo);
		x86_reg_write(in, g, RDX, sz, hi);
	}
}

static void
set_overflow(uint64_t *g, bool ov)
{
	set_flags(g, X86_RFLAGS_CF | X86_RFLAGS_OF,
	    ov ? X86_RFLAGS_CF | X86_RFLAGS_OF : 0);
}

static void
mul1(const struct x86_insn *in, uint64_t *g, uint64_t v)
{
	unsigned sz = in->opsize, bits = 8 * sz;
	uint64_t m = size_mask(sz), a = g[RAX] & m;
	u128 p;

	if (in->op == X86_OP_MUL) {
		p = (u128)a * v;
		set_overflow(g, (p >> bits) != 0);
	} else {
		s128 sp = (s128)(int64_t)sext_val(a, sz) *
		    (int64_t)sext_val(v, sz);

		p = (u128)sp;
		set_overflow(g, sp != (s128)(int64_t)sext_val((uint64_t)p &
		    m, sz));
	}
	set_halves(in, g, sz, (uint64_t)p & m, (uint64_t)(p >> bits) & m);
}

static int
div1(const struct x86_insn *in, uint64_t *g, const struct x86_emul_mem *m,
    uint64_t v)
{
	unsigned sz = in->opsize, bits = 8 * sz;
	u128 n = wide_acc(g, sz);

	if (v == 0)
		return x86_raise(m, X86_EXC_DE, false, 0);
	if (in->op == X86_OP_DIV) {
		u128 q = n / v, r = n % v;

		if ((q >> bits) != 0)
			return x86_raise(m, X86_EXC_DE, false, 0);
		set_halves(in, g, sz, (uint64_t)q, (uint64_t)r);
	} else {
		/* Sign-extend the 2*size-byte dividend. */
		unsigned sh = 128 - 2 * bits;
		s128 sn = (s128)(n << sh) >> sh, sd = (int64_t)sext_val(v, sz);
		s128 q, r, lim = (s128)1 << (bits - 1);

		/* The one quotient that overflows 128 bits too. */
		if (sd == -1 && (u128)sn == (u128)1 << 127)
			return x86_raise(m, X86_EXC_DE, false, 0);
		q = sn / sd;
		r = sn % sd;
		if (q >= lim || q < -lim)
			return x86_raise(m, X86_EXC_DE, false, 0);
		set_halves(in, g, sz, (uint64_t)q & size_mask(sz),
		    (uint64_t)r & size_mask(sz));
	}
	return 0;
}

/* IMUL reg, rm / IMUL reg, rm, imm: the product truncated to reg. */
static void
imul2(const struct x86_insn *in, uint64_t *g, uint64_t v)
{
	unsigned sz = in->opsize;
	int64_t a = (int64_t)sext_val(in->form == X86_FORM_REG_RM_IMM ?
	    in->imm : x86_reg_read(in, g, in->reg, sz), sz);
	s128 p = (s128)a * (int64_t)sext_val(v, sz);
	uint64_t r = (uint64_t)p & size_mask(sz);

	set_overflow(g, p != (s128)(int64_t)sext_val(r, sz));
	x86_reg_write(in, g, in->reg, sz, r);
}

int
x86_emul_muldiv(const struct x86_insn *in, uint64_t *g,
    const struct x86_emul_mem *m, uint64_t ea)
{
	uint64_t v;

	if (x86_mem_read(m, in->memseg, ea, in->opsize, &v) == -1)
		return -1;
	switch (in->op) {
	case X86_OP_MUL:
	case X86_OP_IMUL1:
		mul1(in, g, v);
		return 0;
	case X86_OP_IMUL:
		imul2(in, g, v);
		return 0;
	default:
		return div1(in, g, m, v);
	}
}

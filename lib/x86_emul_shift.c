/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x86_emul_shift.c: ROL ROR RCL RCR SHL SHR SAR SHLD SHRD on a memory
 * operand. The count is masked to 5 bits (6 with a 64-bit operand); a
 * masked count of 0 changes nothing. OF is defined for a count of 1 only,
 * AF never: both are left as they are otherwise.
 */
#include "x86_emul_impl.h"

#define CF	X86_RFLAGS_CF
#define OF	X86_RFLAGS_OF
#define SZP	(X86_RFLAGS_SF | X86_RFLAGS_ZF | X86_RFLAGS_PF)

static uint64_t
shift_count(const struct x86_insn *in, const uint64_t *g)
{
	uint64_t c;

	if (in->form == X86_FORM_RM_CL || in->form == X86_FORM_RM_REG_CL)
		c = g[NVMM_X64_GPR_RCX];
	else
		c = in->imm;
	return c & (in->opsize == 8 ? 63 : 31);
}

static bool
msb(uint64_t v, unsigned size)
{
	return (v & sign_bit(size)) != 0;
}

/* Rotates: the result in *r, CF/OF in *f, which flags changed in *mask. */
static void
rotate(unsigned op, unsigned sz, uint64_t v, unsigned c, bool cf,
    uint64_t *r, uint64_t *f, uint64_t *mask)
{
	unsigned bits = 8 * sz, n, i;
	uint64_t m = size_mask(sz);
	bool of = false;

	switch (op) {
	case X86_OP_ROL:
		n = c % bits;
		*r = n ? ((v << n) | (v >> (bits - n))) & m : v;
		cf = *r & 1;
		of = msb(*r, sz) != cf;
		break;
	case X86_OP_ROR:
		n = c % bits;
		*r = n ? ((v >> n) | (v << (bits - n))) & m : v;
		cf = msb(*r, sz);
		of = msb(*r, sz) != msb(*r << 1, sz);
		break;
	case X86_OP_RCL:
		n = sz <= 2 ? c % (bits + 1) : c;
		for (i = 0; i < n; i++) {
			bool out = msb(v, sz);

			v = ((v << 1) | (cf ? 1 : 0)) & m;
			cf = out;
		}
		*r = v;
		of = msb(v, sz) != cf;
		break;
	default:	/* RCR */
		n = sz <= 2 ? c % (bits + 1) : c;
		of = msb(v, sz) != cf;
		for (i = 0; i < n; i++) {
			bool out = v & 1;

			v = (v >> 1) | (cf ? sign_bit(sz) : 0);
			cf = out;
		}
		*r = v;
		break;
	}
	*f = (cf ? CF : 0) | (of ? OF : 0);
	*mask = CF | (c == 1 ? OF : 0);
}

/* SHL SHR SAR. CF for a count beyond the operand (undefined) is 0. */
static void
shift(unsigned op, unsigned sz, uint64_t v, unsigned c, uint64_t *r,
    uint64_t *f, uint64_t *mask)
{
	unsigned bits = 8 * sz;
	uint64_t m = size_mask(sz);
	bool cf, of;

	switch (op) {
	case X86_OP_SHL:
		*r = (v << c) & m;
		cf = c <= bits && ((v >> (bits - c)) & 1);
		of = msb(*r, sz) != cf;
		break;
	case X86_OP_SHR:
		*r = v >> c;
		cf = c <= bits && ((v >> (c - 1)) & 1);
		of = msb(v, sz);
		break;
	default: {	/* SAR */
		int64_t s = (int64_t)sext_val(v, sz);

		*r = (uint64_t)(s >> c) & m;
		cf = (s >> (c - 1)) & 1;
		of = false;
		break;
	}
	}
	*f = (cf ? CF : 0) | (of ? OF : 0) | x86_szp_flags(*r, sz);
	*mask = CF | SZP | (c == 1 ? OF : 0);
}

/* SHLD/SHRD; a count beyond a 16-bit operand (undefined) wraps. */
static void
double_shift(unsigned op, unsigned sz, uint64_t v, uint64_t s, unsigned c,
    uint64_t *r, uint64_t *f, uint64_t *mask)
{
	unsigned bits = 8 * sz;
	uint64_t m = size_mask(sz);
	bool cf;

	if (c > bits)
		c %= bits;
	if (c == 0) {
		*r = v;
		*f = 0;
		*mask = 0;
		return;
	}
	s &= m;
	if (op == X86_OP_SHLD) {
		*r = ((v << c) | (c == bits ? s : s >> (bits - c))) & m;
		if (c == bits)
			*r = s;
		cf = (v >> (bits - c)) & 1;
	} else {
		*r = ((c == bits ? 0 : v >> c) | (s << (bits - c))) & m;
		cf = (v >> (c - 1)) & 1;
	}
	*f = (cf ? CF : 0) | (msb(*r, sz) != msb(v, sz) ? OF : 0) |
	    x86_szp_flags(*r, sz);
	*mask = CF | SZP | (c == 1 ? OF : 0);
}

int
x86_emul_shift(const struct x86_insn *in, uint64_t *g,
    const struct x86_emul_mem *m, uint64_t ea)
{
	unsigned sz = in->opsize, c = (unsigned)shift_count(in, g);
	uint64_t v, r, f, mask;

	if (x86_rmw_read(in, m, ea, &v) == -1)
		return -1;
	if (c == 0)
		return 0;
	switch (in->op) {
	case X86_OP_ROL: case X86_OP_ROR: case X86_OP_RCL: case X86_OP_RCR:
		rotate(in->op, sz, v, c, flag(g, CF), &r, &f, &mask);
		break;
	case X86_OP_SHLD:
	case X86_OP_SHRD:
		double_shift(in->op, sz, v, x86_reg_read(in, g, in->reg, sz), c,
		    &r, &f, &mask);
		break;
	default:
		shift(in->op, sz, v, c, &r, &f, &mask);
		break;
	}
	if (x86_mem_write(m, in->memseg, ea, sz, r) == -1)
		return -1;
	set_flags(g, mask, f);
	return 0;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x86_emul.c: executes one decoded instruction against a register file and
 * a memory-access interface (see x86_emul.h). Arithmetic and flags are
 * computed in C at the operand width; nothing runs on the host CPU.
 */
#include <errno.h>
#include <string.h>

#include <nvmm.h>

#include "x86_emul.h"

#define RIP	NVMM_X64_GPR_RIP
#define RFLAGS	NVMM_X64_GPR_RFLAGS

static inline uint64_t
size_mask(unsigned size)
{
	return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

static inline uint64_t
sign_bit(unsigned size)
{
	return 1ULL << (8 * size - 1);
}

static inline uint64_t
sext_val(uint64_t v, unsigned size)
{
	unsigned sh = 64 - 8 * size;

	return size >= 8 ? v : (uint64_t)((int64_t)(v << sh) >> sh);
}

/* Little-endian load/store of `size` bytes (the guest is x86). */
static uint64_t
load_le(const uint8_t *b, unsigned size)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < size; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static void
store_le(uint8_t *b, uint64_t v, unsigned size)
{
	unsigned i;

	for (i = 0; i < size; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

/* ------------------------------------------------------------------------ */
/* Registers.                                                                */

/* Read GPR `n` as an operand of `size` bytes (AH..BH when x86_reg8_hi). */
static uint64_t
reg_read(const struct x86_insn *in, const uint64_t *g, unsigned n,
    unsigned size)
{
	if (size == 1 && x86_reg8_hi(in, n))
		return (g[n - 4] >> 8) & 0xff;
	return g[n] & size_mask(size);
}

/* Write GPR `n`: 1 and 2 bytes merge, 4 zero-extends, 8 replaces. */
static void
reg_write(const struct x86_insn *in, uint64_t *g, unsigned n, unsigned size,
    uint64_t v)
{
	if (size == 1 && x86_reg8_hi(in, n)) {
		g[n - 4] = (g[n - 4] & ~0xff00ULL) | ((v & 0xff) << 8);
	} else if (size <= 2) {
		g[n] = (g[n] & ~size_mask(size)) | (v & size_mask(size));
	} else {
		g[n] = v & size_mask(size);
	}
}

/* Registers used at the address size (rCX, rSI, rDI of string ops). */
static void
areg_write(uint64_t *g, unsigned n, unsigned adsize, uint64_t v)
{
	if (adsize == 2)
		g[n] = (g[n] & ~0xffffULL) | (v & 0xffff);
	else
		g[n] = v & size_mask(adsize);
}

static void
advance_rip(const struct x86_insn *in, uint64_t *g)
{
	uint64_t rip = g[RIP] + in->len;

	if (in->mode == X86_CODE16)
		rip &= 0xffff;
	else if (in->mode == X86_CODE32)
		rip &= 0xffffffff;
	g[RIP] = rip;
}

uint64_t
x86_emul_ea(const struct x86_insn *in, const uint64_t *g)
{
	uint64_t ea = (uint64_t)in->disp;

	if (in->base == X86_REG_RIP) {
		ea += g[RIP] + in->len;
	} else if (in->base >= 0) {
		ea += g[in->base];
	}
	if (in->index >= 0)
		ea += g[in->index] * in->scale;
	return ea & size_mask(in->adsize);
}

/* ------------------------------------------------------------------------ */
/* Flags.                                                                    */

static uint64_t
parity_flag(uint64_t r)
{
	uint8_t b = (uint8_t)r;

	b ^= b >> 4;
	b ^= b >> 2;
	b ^= b >> 1;
	return (b & 1) ? 0 : X86_RFLAGS_PF;
}

static uint64_t
szp_flags(uint64_t r, unsigned size)
{
	uint64_t f = parity_flag(r);

	if ((r & size_mask(size)) == 0)
		f |= X86_RFLAGS_ZF;
	if (r & sign_bit(size))
		f |= X86_RFLAGS_SF;
	return f;
}

/*
 * Compute `a op b` at `size` bytes; *flags receives the new arithmetic
 * flags (CF PF AF ZF SF OF); `cin` is the incoming CF for ADC/SBB.
 */
static uint64_t
alu(unsigned op, unsigned size, uint64_t a, uint64_t b, bool cin,
    uint64_t *flags)
{
	uint64_t m = size_mask(size), sb = sign_bit(size), r, f = 0;
	uint64_t c = cin ? 1 : 0;

	a &= m;
	b &= m;
	switch (op) {
	case X86_OP_ADD:
	case X86_OP_ADC:
		if (op == X86_OP_ADD)
			c = 0;
		r = (a + b + c) & m;
		if (r < a || (c && r == a))
			f |= X86_RFLAGS_CF;
		if ((a ^ r) & (b ^ r) & sb)
			f |= X86_RFLAGS_OF;
		if ((a ^ b ^ r) & 0x10)
			f |= X86_RFLAGS_AF;
		break;
	case X86_OP_SUB:
	case X86_OP_SBB:
	case X86_OP_CMP:
	case X86_OP_CMPS:
	case X86_OP_NEG:
		if (op != X86_OP_SBB)
			c = 0;
		r = (a - b - c) & m;
		if (a < b || (c && a == b))
			f |= X86_RFLAGS_CF;
		if ((a ^ b) & (a ^ r) & sb)
			f |= X86_RFLAGS_OF;
		if ((a ^ b ^ r) & 0x10)
			f |= X86_RFLAGS_AF;
		break;
	case X86_OP_OR:
		r = a | b;
		break;
	case X86_OP_AND:
	case X86_OP_TEST:
		r = a & b;
		break;
	case X86_OP_XOR:
		r = a ^ b;
		break;
	default:
		r = 0;
		break;
	}
	*flags = f | szp_flags(r, size);
	return r;
}

static void
set_arith_flags(uint64_t *g, uint64_t f)
{
	g[RFLAGS] = (g[RFLAGS] & ~X86_RFLAGS_ARITH) | (f & X86_RFLAGS_ARITH);
}

/* ------------------------------------------------------------------------ */
/* Memory operands.                                                          */

static int
mem_read(const struct x86_emul_mem *mem, int seg, uint64_t off,
    unsigned size, uint64_t *val)
{
	uint8_t buf[8];

	if (mem->read(mem->ctx, seg, off, buf, size) == -1)
		return -1;
	*val = load_le(buf, size);
	return 0;
}

static int
mem_write(const struct x86_emul_mem *mem, int seg, uint64_t off,
    unsigned size, uint64_t val)
{
	uint8_t buf[8];

	store_le(buf, val, size);
	return mem->write(mem->ctx, seg, off, buf, size);
}

/* ------------------------------------------------------------------------ */
/* Instructions with a ModRM/moffs memory operand.                          */

static bool
is_alu(unsigned op)
{
	return op >= X86_OP_ADD && op <= X86_OP_TEST;
}

static int
emul_mov(const struct x86_insn *in, uint64_t *g, const struct x86_emul_mem *m,
    uint64_t ea)
{
	unsigned sz = in->opsize;
	uint64_t v;

	switch (in->form) {
	case X86_FORM_RM_REG:
		return mem_write(m, in->memseg, ea, sz,
		    reg_read(in, g, in->reg, sz));
	case X86_FORM_RM_ACC:
		return mem_write(m, in->memseg, ea, sz, g[0] & size_mask(sz));
	case X86_FORM_RM_IMM:
		return mem_write(m, in->memseg, ea, sz, in->imm);
	case X86_FORM_REG_RM:
		if (mem_read(m, in->memseg, ea, sz, &v) == -1)
			return -1;
		reg_write(in, g, in->reg, sz, v);
		return 0;
	case X86_FORM_ACC_RM:
		if (mem_read(m, in->memseg, ea, sz, &v) == -1)
			return -1;
		reg_write(in, g, 0, sz, v);
		return 0;
	}
	errno = ENODEV;
	return -1;
}

static int
emul_movx(const struct x86_insn *in, uint64_t *g,
    const struct x86_emul_mem *m, uint64_t ea)
{
	uint64_t v;

	if (mem_read(m, in->memseg, ea, in->memsize, &v) == -1)
		return -1;
	if (in->op == X86_OP_MOVSX)
		v = sext_val(v, in->memsize);
	reg_write(in, g, in->reg, in->opsize, v);
	return 0;
}

static int
emul_alu(const struct x86_insn *in, uint64_t *g, const struct x86_emul_mem *m,
    uint64_t ea)
{
	unsigned sz = in->opsize, op = in->op;
	bool cin = (g[RFLAGS] & X86_RFLAGS_CF) != 0;
	bool writes = op != X86_OP_CMP && op != X86_OP_TEST;
	uint64_t mv, a, b, r, f;

	if (mem_read(m, in->memseg, ea, sz, &mv) == -1)
		return -1;
	switch (in->form) {
	case X86_FORM_RM_REG:
		a = mv;
		b = reg_read(in, g, in->reg, sz);
		break;
	case X86_FORM_RM_IMM:
		a = mv;
		b = in->imm;
		break;
	case X86_FORM_REG_RM:
		a = reg_read(in, g, in->reg, sz);
		b = mv;
		break;
	default:
		errno = ENODEV;
		return -1;
	}
	r = alu(op, sz, a, b, cin, &f);
	if (writes) {
		if (in->form == X86_FORM_REG_RM)
			reg_write(in, g, in->reg, sz, r);
		else if (mem_write(m, in->memseg, ea, sz, r) == -1)
			return -1;
	}
	set_arith_flags(g, f);
	return 0;
}

static int
emul_unary(const struct x86_insn *in, uint64_t *g,
    const struct x86_emul_mem *m, uint64_t ea)
{
	unsigned sz = in->opsize;
	uint64_t v, r, f = 0;

	if (mem_read(m, in->memseg, ea, sz, &v) == -1)
		return -1;
	if (in->op == X86_OP_NOT)
		r = ~v & size_mask(sz);
	else
		r = alu(X86_OP_NEG, sz, 0, v, false, &f);
	if (mem_write(m, in->memseg, ea, sz, r) == -1)
		return -1;
	if (in->op == X86_OP_NEG)
		set_arith_flags(g, f);
	return 0;
}

static int
emul_xchg(const struct x86_insn *in, uint64_t *g,
    const struct x86_emul_mem *m, uint64_t ea)
{
	unsigned sz = in->opsize;
	uint64_t v;

	if (mem_read(m, in->memseg, ea, sz, &v) == -1)
		return -1;
	if (mem_write(m, in->memseg, ea, sz, reg_read(in, g, in->reg, sz)) ==
	    -1)
		return -1;
	reg_write(in, g, in->reg, sz, v);
	return 0;
}

static int
emul_bt(const struct x86_insn *in, uint64_t *g, const struct x86_emul_mem *m,
    uint64_t ea)
{
	unsigned sz = in->opsize, bits = 8 * sz;
	uint64_t v, bit, nv;

	if (in->form == X86_FORM_RM_IMM) {
		bit = in->imm & (bits - 1);
	} else {
		/*
		 * Register bit offset: a signed integer of the operand size
		 * that may reach outside the operand (bit string).
		 */
		int64_t off = (int64_t)sext_val(reg_read(in, g, in->reg, sz),
		    sz);
		int64_t units = off >> (sz == 2 ? 4 : sz == 4 ? 5 : 6);

		ea = (ea + (uint64_t)units * sz) & size_mask(in->adsize);
		bit = (uint64_t)off & (bits - 1);
	}
	if (mem_read(m, in->memseg, ea, sz, &v) == -1)
		return -1;
	switch (in->op) {
	case X86_OP_BTS: nv = v | (1ULL << bit); break;
	case X86_OP_BTR: nv = v & ~(1ULL << bit); break;
	case X86_OP_BTC: nv = v ^ (1ULL << bit); break;
	default: nv = v; break;
	}
	if (in->op != X86_OP_BT && mem_write(m, in->memseg, ea, sz, nv) == -1)
		return -1;
	if ((v >> bit) & 1)
		g[RFLAGS] |= X86_RFLAGS_CF;
	else
		g[RFLAGS] &= ~X86_RFLAGS_CF;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* String instructions.                                                      */

/* One element; updates rSI/rDI and, for CMPS, the flags. */
static int
string_step(const struct x86_insn *in, uint64_t *g,
    const struct x86_emul_mem *m)
{
	unsigned sz = in->opsize, as = in->adsize;
	uint64_t am = size_mask(as);
	uint64_t si = g[NVMM_X64_GPR_RSI] & am, di = g[NVMM_X64_GPR_RDI] & am;
	uint64_t step = (g[RFLAGS] & X86_RFLAGS_DF) ? -(uint64_t)sz : sz;
	uint64_t a, b, f;

	switch (in->op) {
	case X86_OP_MOVS:
		if (mem_read(m, in->memseg, si, sz, &a) == -1 ||
		    mem_write(m, NVMM_X64_SEG_ES, di, sz, a) == -1)
			return -1;
		areg_write(g, NVMM_X64_GPR_RSI, as, si + step);
		areg_write(g, NVMM_X64_GPR_RDI, as, di + step);
		return 0;
	case X86_OP_STOS:
		if (mem_write(m, NVMM_X64_SEG_ES, di, sz, g[0]) == -1)
			return -1;
		areg_write(g, NVMM_X64_GPR_RDI, as, di + step);
		return 0;
	case X86_OP_LODS:
		if (mem_read(m, in->memseg, si, sz, &a) == -1)
			return -1;
		reg_write(in, g, 0, sz, a);
		areg_write(g, NVMM_X64_GPR_RSI, as, si + step);
		return 0;
	case X86_OP_CMPS:
		if (mem_read(m, in->memseg, si, sz, &a) == -1 ||
		    mem_read(m, NVMM_X64_SEG_ES, di, sz, &b) == -1)
			return -1;
		(void)alu(X86_OP_CMPS, sz, a, b, false, &f);
		set_arith_flags(g, f);
		areg_write(g, NVMM_X64_GPR_RSI, as, si + step);
		areg_write(g, NVMM_X64_GPR_RDI, as, di + step);
		return 0;
	}
	errno = ENODEV;
	return -1;
}

static int
emul_string(const struct x86_insn *in, uint64_t *g,
    const struct x86_emul_mem *m, unsigned max_iter)
{
	uint64_t am = size_mask(in->adsize), count;
	bool rep = in->rep || (in->repne && in->op == X86_OP_CMPS);
	unsigned i;

	if (in->repne && in->op != X86_OP_CMPS) {
		/* F2 on MOVS/STOS/LODS: not architecturally defined. */
		errno = ENODEV;
		return -1;
	}
	if (!rep) {
		if (string_step(in, g, m) == -1)
			return -1;
		advance_rip(in, g);
		return 0;
	}
	if (max_iter == 0)
		max_iter = 1;
	count = g[NVMM_X64_GPR_RCX] & am;
	for (i = 0; i < max_iter && count != 0; i++) {
		if (string_step(in, g, m) == -1)
			return -1;
		count = (count - 1) & am;
		areg_write(g, NVMM_X64_GPR_RCX, in->adsize, count);
		if (in->op == X86_OP_CMPS) {
			bool zf = (g[RFLAGS] & X86_RFLAGS_ZF) != 0;

			if (in->rep ? !zf : zf)
				break;
		}
	}
	if (i < max_iter || count == 0)
		advance_rip(in, g);
	return 0;
}

/* ------------------------------------------------------------------------ */

int
x86_emul(const struct x86_insn *in, uint64_t *gprs,
    const struct x86_emul_mem *mem, unsigned max_iter)
{
	uint64_t save[NVMM_X64_NGPR], ea;
	int r;

	if (in == NULL || gprs == NULL || mem == NULL || mem->read == NULL ||
	    mem->write == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (in->form == X86_FORM_STRING) {
		if (in->op == X86_OP_INS || in->op == X86_OP_OUTS) {
			errno = ENODEV;
			return -1;
		}
		return emul_string(in, gprs, mem, max_iter);
	}
	if (!in->mem) {
		errno = ENODEV;
		return -1;
	}
	/* Single-shot instructions: all or nothing on the registers. */
	memcpy(save, gprs, sizeof(save));
	ea = x86_emul_ea(in, gprs);
	switch (in->op) {
	case X86_OP_MOV:
		r = emul_mov(in, gprs, mem, ea);
		break;
	case X86_OP_MOVZX:
	case X86_OP_MOVSX:
		r = emul_movx(in, gprs, mem, ea);
		break;
	case X86_OP_NOT:
	case X86_OP_NEG:
		r = emul_unary(in, gprs, mem, ea);
		break;
	case X86_OP_XCHG:
		r = emul_xchg(in, gprs, mem, ea);
		break;
	case X86_OP_BT:
	case X86_OP_BTS:
	case X86_OP_BTR:
	case X86_OP_BTC:
		r = emul_bt(in, gprs, mem, ea);
		break;
	default:
		if (is_alu(in->op)) {
			r = emul_alu(in, gprs, mem, ea);
			break;
		}
		errno = ENODEV;
		r = -1;
		break;
	}
	if (r == -1) {
		int e = errno;

		memcpy(gprs, save, sizeof(save));
		errno = e;
		return -1;
	}
	advance_rip(in, gprs);
	return 0;
}

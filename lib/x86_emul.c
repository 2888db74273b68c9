/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x86_emul.c: executes one decoded instruction against a register file and
 * a memory-access interface (see x86_emul.h): the shared helpers, MOV,
 * the ALU group, NOT/NEG, XCHG, BT*, the string instructions, MOV Sreg and
 * the dispatch to the families in x86_emul_*.c. Arithmetic and flags are
 * computed in C at the operand width; nothing runs on the host CPU.
 */
#include <errno.h>
#include <string.h>

#include "x86_emul_impl.h"

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
uint64_t
x86_reg_read(const struct x86_insn *in, const uint64_t *g, unsigned n,
    unsigned size)
{
	if (size == 1 && x86_reg8_hi(in, n))
		return (g[n - 4] >> 8) & 0xff;
	return g[n] & size_mask(size);
}

/* Write GPR `n`: 1 and 2 bytes merge, 4 zero-extends, 8 replaces. */
void
x86_reg_write(const struct x86_insn *in, uint64_t *g, unsigned n,
    unsigned size, uint64_t v)
{
	if (size == 1 && x86_reg8_hi(in, n)) {
		g[n - 4] = (g[n - 4] & ~0xff00ULL) | ((v & 0xff) << 8);
	} else if (size <= 2) {
		g[n] = (g[n] & ~size_mask(size)) | (v & size_mask(size));
	} else {
		g[n] = v & size_mask(size);
	}
}

/* Registers used at the address or stack size (rCX, rSI, rDI, rSP). */
void
x86_areg_write(uint64_t *g, unsigned n, unsigned size, uint64_t v)
{
	if (size == 2)
		g[n] = (g[n] & ~0xffffULL) | (v & 0xffff);
	else
		g[n] = v & size_mask(size);
}

void
x86_set_rip(const struct x86_insn *in, uint64_t *g, uint64_t rip)
{
	if (in->mode == X86_CODE16)
		rip &= 0xffff;
	else if (in->mode == X86_CODE32)
		rip &= 0xffffffff;
	g[RIP] = rip;
}

static void
advance_rip(const struct x86_insn *in, uint64_t *g)
{
	x86_set_rip(in, g, g[RIP] + in->len);
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

uint64_t
x86_szp_flags(uint64_t r, unsigned size)
{
	uint64_t f = parity_flag(r);

	if ((r & size_mask(size)) == 0)
		f |= X86_RFLAGS_ZF;
	if (r & sign_bit(size))
		f |= X86_RFLAGS_SF;
	return f;
}

uint64_t
x86_alu(unsigned op, unsigned size, uint64_t a, uint64_t b, bool cin,
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
	case X86_OP_SCAS:
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
	*flags = f | x86_szp_flags(r, size);
	return r;
}

static void
set_arith_flags(uint64_t *g, uint64_t f)
{
	set_flags(g, X86_RFLAGS_ARITH, f);
}

bool
x86_cond(const uint64_t *g, unsigned cc)
{
	bool cf = flag(g, X86_RFLAGS_CF), zf = flag(g, X86_RFLAGS_ZF);
	bool sf = flag(g, X86_RFLAGS_SF), of = flag(g, X86_RFLAGS_OF);
	bool pf = flag(g, X86_RFLAGS_PF), r;

	switch ((cc >> 1) & 7) {
	case 0: r = of; break;
	case 1: r = cf; break;
	case 2: r = zf; break;
	case 3: r = cf || zf; break;
	case 4: r = sf; break;
	case 5: r = pf; break;
	case 6: r = sf != of; break;
	default: r = zf || sf != of; break;
	}
	return (cc & 1) ? !r : r;
}

/* ------------------------------------------------------------------------ */
/* Memory operands.                                                          */

int
x86_mem_read(const struct x86_emul_mem *mem, int seg, uint64_t off,
    unsigned size, uint64_t *val)
{
	uint8_t buf[8];

	if (mem->read(mem->ctx, seg, off, buf, size) == -1)
		return -1;
	*val = load_le(buf, size);
	return 0;
}

int
x86_mem_write(const struct x86_emul_mem *mem, int seg, uint64_t off,
    unsigned size, uint64_t val)
{
	uint8_t buf[8];

	store_le(buf, val, size);
	return mem->write(mem->ctx, seg, off, buf, size);
}

int
x86_mem_probe(const struct x86_emul_mem *mem, int seg, uint64_t off,
    unsigned size)
{
	if (mem->probe_write == NULL)
		return 0;
	return mem->probe_write(mem->ctx, seg, off, size);
}

int
x86_raise(const struct x86_emul_mem *mem, unsigned vector, bool has_error,
    uint32_t error)
{
	return x86_exc_set(mem->exc, vector, has_error, error);
}

static _Thread_local const char *unsupported_why = "";

int
x86_unsupported(const char *why)
{
	unsupported_why = why;
	errno = ENODEV;
	return -1;
}

const char *
x86_emul_why(void)
{
	return unsupported_why;
}

int
x86_rmw_read(const struct x86_insn *in, const struct x86_emul_mem *m, uint64_t ea,
    uint64_t *v)
{
	if (x86_mem_probe(m, in->memseg, ea, in->opsize) == -1)
		return -1;
	return x86_mem_read(m, in->memseg, ea, in->opsize, v);
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
		return x86_mem_write(m, in->memseg, ea, sz,
		    x86_reg_read(in, g, in->reg, sz));
	case X86_FORM_RM_ACC:
		return x86_mem_write(m, in->memseg, ea, sz,
		    g[0] & size_mask(sz));
	case X86_FORM_RM_IMM:
		return x86_mem_write(m, in->memseg, ea, sz, in->imm);
	case X86_FORM_REG_RM:
		if (x86_mem_read(m, in->memseg, ea, sz, &v) == -1)
			return -1;
		x86_reg_write(in, g, in->reg, sz, v);
		return 0;
	case X86_FORM_ACC_RM:
		if (x86_mem_read(m, in->memseg, ea, sz, &v) == -1)
			return -1;
		x86_reg_write(in, g, 0, sz, v);
		return 0;
	}
	return x86_unsupported("MOV form without a memory operand");
}

static int
emul_movx(const struct x86_insn *in, uint64_t *g,
    const struct x86_emul_mem *m, uint64_t ea)
{
	uint64_t v;

	if (x86_mem_read(m, in->memseg, ea, in->memsize, &v) == -1)
		return -1;
	if (in->op == X86_OP_MOVSX)
		v = sext_val(v, in->memsize);
	x86_reg_write(in, g, in->reg, in->opsize, v);
	return 0;
}

static int
emul_alu(const struct x86_insn *in, uint64_t *g, const struct x86_emul_mem *m,
    uint64_t ea)
{
	unsigned sz = in->opsize, op = in->op;
	bool cin = flag(g, X86_RFLAGS_CF);
	bool to_mem = op != X86_OP_CMP && op != X86_OP_TEST &&
	    in->form != X86_FORM_REG_RM;
	uint64_t mv, a, b, r, f;

	if ((to_mem ? x86_rmw_read(in, m, ea, &mv) :
	    x86_mem_read(m, in->memseg, ea, sz, &mv)) == -1)
		return -1;
	switch (in->form) {
	case X86_FORM_RM_REG:
		a = mv;
		b = x86_reg_read(in, g, in->reg, sz);
		break;
	case X86_FORM_RM_IMM:
		a = mv;
		b = in->imm;
		break;
	case X86_FORM_REG_RM:
		a = x86_reg_read(in, g, in->reg, sz);
		b = mv;
		break;
	default:
		return x86_unsupported("ALU form without a memory operand");
	}
	r = x86_alu(op, sz, a, b, cin, &f);
	if (to_mem) {
		if (x86_mem_write(m, in->memseg, ea, sz, r) == -1)
			return -1;
	} else if (op != X86_OP_CMP && op != X86_OP_TEST) {
		x86_reg_write(in, g, in->reg, sz, r);
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

	if (x86_rmw_read(in, m, ea, &v) == -1)
		return -1;
	if (in->op == X86_OP_NOT)
		r = ~v & size_mask(sz);
	else
		r = x86_alu(X86_OP_NEG, sz, 0, v, false, &f);
	if (x86_mem_write(m, in->memseg, ea, sz, r) == -1)
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

	if (x86_rmw_read(in, m, ea, &v) == -1 ||
	    x86_mem_write(m, in->memseg, ea, sz,
	    x86_reg_read(in, g, in->reg, sz)) == -1)
		return -1;
	x86_reg_write(in, g, in->reg, sz, v);
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
		int64_t off = (int64_t)sext_val(x86_reg_read(in, g, in->reg,
		    sz), sz);
		int64_t units = off >> (sz == 2 ? 4 : sz == 4 ? 5 : 6);

		ea = (ea + (uint64_t)units * sz) & size_mask(in->adsize);
		bit = (uint64_t)off & (bits - 1);
	}
	if ((in->op == X86_OP_BT ? x86_mem_read(m, in->memseg, ea, sz, &v) :
	    x86_rmw_read(in, m, ea, &v)) == -1)
		return -1;
	switch (in->op) {
	case X86_OP_BTS: nv = v | (1ULL << bit); break;
	case X86_OP_BTR: nv = v & ~(1ULL << bit); break;
	case X86_OP_BTC: nv = v ^ (1ULL << bit); break;
	default: nv = v; break;
	}
	if (in->op != X86_OP_BT &&
	    x86_mem_write(m, in->memseg, ea, sz, nv) == -1)
		return -1;
	set_flags(g, X86_RFLAGS_CF, ((v >> bit) & 1) ? X86_RFLAGS_CF : 0);
	return 0;
}

/* MOV Sreg, m16: the selector goes to the interface's segment loader. */
static int
emul_movseg(const struct x86_insn *in, const struct x86_emul_mem *m,
    uint64_t ea)
{
	uint64_t sel;

	if (m->load_seg == NULL)
		return x86_unsupported("MOV Sreg: no segment loader");
	if (x86_mem_read(m, in->memseg, ea, 2, &sel) == -1)
		return -1;
	return m->load_seg(m->ctx, in->reg & 7, (uint16_t)sel);
}

/* ------------------------------------------------------------------------ */
/* String instructions.                                                      */

/* One element; updates rSI/rDI and, for CMPS/SCAS, the flags. */
static int
string_step(const struct x86_insn *in, uint64_t *g,
    const struct x86_emul_mem *m)
{
	unsigned sz = in->opsize, as = in->adsize;
	uint64_t am = size_mask(as);
	uint64_t si = g[NVMM_X64_GPR_RSI] & am, di = g[NVMM_X64_GPR_RDI] & am;
	uint64_t step = flag(g, X86_RFLAGS_DF) ? -(uint64_t)sz : sz;
	uint64_t a, b, f;

	switch (in->op) {
	case X86_OP_MOVS:
		if (x86_mem_read(m, in->memseg, si, sz, &a) == -1 ||
		    x86_mem_write(m, NVMM_X64_SEG_ES, di, sz, a) == -1)
			return -1;
		break;
	case X86_OP_STOS:
		if (x86_mem_write(m, NVMM_X64_SEG_ES, di, sz, g[0]) == -1)
			return -1;
		break;
	case X86_OP_LODS:
		if (x86_mem_read(m, in->memseg, si, sz, &a) == -1)
			return -1;
		x86_reg_write(in, g, 0, sz, a);
		break;
	case X86_OP_CMPS:
		if (x86_mem_read(m, in->memseg, si, sz, &a) == -1 ||
		    x86_mem_read(m, NVMM_X64_SEG_ES, di, sz, &b) == -1)
			return -1;
		(void)x86_alu(X86_OP_CMPS, sz, a, b, false, &f);
		set_arith_flags(g, f);
		break;
	case X86_OP_SCAS:
		if (x86_mem_read(m, NVMM_X64_SEG_ES, di, sz, &b) == -1)
			return -1;
		(void)x86_alu(X86_OP_SCAS, sz, g[0], b, false, &f);
		set_arith_flags(g, f);
		break;
	default:
		return x86_unsupported("string instruction the core does not know");
	}
	if (in->op == X86_OP_MOVS || in->op == X86_OP_LODS ||
	    in->op == X86_OP_CMPS)
		x86_areg_write(g, NVMM_X64_GPR_RSI, as, si + step);
	if (in->op != X86_OP_LODS)
		x86_areg_write(g, NVMM_X64_GPR_RDI, as, di + step);
	return 0;
}

static int
emul_string(const struct x86_insn *in, uint64_t *g,
    const struct x86_emul_mem *m, unsigned max_iter)
{
	uint64_t am = size_mask(in->adsize), count;
	bool cond = in->op == X86_OP_CMPS || in->op == X86_OP_SCAS;
	bool rep = in->rep || (in->repne && cond);
	unsigned i;

	if (in->repne && !cond) {
		/* F2 on MOVS/STOS/LODS: not architecturally defined. */
		return x86_unsupported("F2 prefix on MOVS/STOS/LODS");
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
		x86_areg_write(g, NVMM_X64_GPR_RCX, in->adsize, count);
		if (cond) {
			bool zf = flag(g, X86_RFLAGS_ZF);

			if (in->rep ? !zf : zf)
				break;
		}
	}
	if (i < max_iter || count == 0)
		advance_rip(in, g);
	return 0;
}

/* ------------------------------------------------------------------------ */

static bool
is_stack_op(const struct x86_insn *in)
{
	return in->form == X86_FORM_STACK || in->op == X86_OP_PUSH ||
	    in->op == X86_OP_POP || in->op == X86_OP_CALL ||
	    in->op == X86_OP_JMP;
}

/* One non-string instruction with a memory operand; RIP not moved. */
static int
emul_one(const struct x86_insn *in, uint64_t *g,
    const struct x86_emul_mem *mem, uint64_t ea)
{
	switch (in->op) {
	case X86_OP_MOV:
		return emul_mov(in, g, mem, ea);
	case X86_OP_MOVZX:
	case X86_OP_MOVSX:
		return emul_movx(in, g, mem, ea);
	case X86_OP_NOT:
	case X86_OP_NEG:
		return emul_unary(in, g, mem, ea);
	case X86_OP_XCHG:
		return emul_xchg(in, g, mem, ea);
	case X86_OP_BT:
	case X86_OP_BTS:
	case X86_OP_BTR:
	case X86_OP_BTC:
		return emul_bt(in, g, mem, ea);
	case X86_OP_MOVSEG:
		return emul_movseg(in, mem, ea);
	case X86_OP_ROL: case X86_OP_ROR: case X86_OP_RCL: case X86_OP_RCR:
	case X86_OP_SHL: case X86_OP_SHR: case X86_OP_SAR:
	case X86_OP_SHLD: case X86_OP_SHRD:
		return x86_emul_shift(in, g, mem, ea);
	case X86_OP_MUL: case X86_OP_IMUL1: case X86_OP_IMUL:
	case X86_OP_DIV: case X86_OP_IDIV:
		return x86_emul_muldiv(in, g, mem, ea);
	case X86_OP_SSE_LOAD:
	case X86_OP_SSE_STORE:
		return x86_emul_sse(in, g, mem, ea);
	}
	if (is_alu(in->op))
		return emul_alu(in, g, mem, ea);
	return x86_emul_arith(in, g, mem, ea);
}

int
x86_emul(const struct x86_insn *in, uint64_t *gprs,
    const struct x86_emul_mem *mem, unsigned max_iter)
{
	uint64_t save[NVMM_X64_NGPR];
	int r;

	if (in == NULL || gprs == NULL || mem == NULL || mem->read == NULL ||
	    mem->write == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (mem->exc != NULL)
		mem->exc->raised = false;
	if (in->form == X86_FORM_STRING) {
		if (in->op == X86_OP_INS || in->op == X86_OP_OUTS)
			return x86_unsupported("INS/OUTS belong to nvmm_assist_io");
		return emul_string(in, gprs, mem, max_iter);
	}
	if (!in->mem && !is_stack_op(in))
		return x86_unsupported("no memory operand");
	/* Single-shot instructions: all or nothing on the registers. */
	memcpy(save, gprs, sizeof(save));
	if (is_stack_op(in)) {
		r = x86_emul_stack(in, gprs, mem);
	} else {
		r = emul_one(in, gprs, mem, x86_emul_ea(in, gprs));
		if (r == 0)
			advance_rip(in, gprs);
	}
	if (r == -1) {
		int e = errno;

		memcpy(gprs, save, sizeof(save));
		errno = e;
		return -1;
	}
	return 0;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x86_emul_stack.c: PUSH, POP, near CALL, RET, JMP through memory and
 * LEAVE, whose stack (SS:rSP, at the stack size) or operand may be MMIO.
 * A branch target is truncated to the operand size; a non-canonical one
 * in 64-bit mode raises #GP(0) before anything is written.
 */
#include "x86_emul_impl.h"

#define RSP	NVMM_X64_GPR_RSP
#define RBP	NVMM_X64_GPR_RBP

static unsigned
stack_size(const struct x86_insn *in, const struct x86_emul_mem *m)
{
	if (in->mode == X86_CODE64)
		return 8;
	return m->stack_size ? m->stack_size : in->mode;
}

static int
push(const struct x86_insn *in, uint64_t *g, const struct x86_emul_mem *m,
    uint64_t v)
{
	unsigned ss = stack_size(in, m);
	uint64_t sp = (g[RSP] - in->opsize) & size_mask(ss);

	if (x86_mem_write(m, NVMM_X64_SEG_SS, sp, in->opsize, v) == -1)
		return -1;
	x86_areg_write(g, RSP, ss, sp);
	return 0;
}

static int
pop(const struct x86_insn *in, uint64_t *g, const struct x86_emul_mem *m,
    uint64_t *v)
{
	unsigned ss = stack_size(in, m);
	uint64_t sp = g[RSP] & size_mask(ss);

	if (x86_mem_read(m, NVMM_X64_SEG_SS, sp, in->opsize, v) == -1)
		return -1;
	x86_areg_write(g, RSP, ss, sp + in->opsize);
	return 0;
}

/* The r/m operand of FF /2 /4 /6 (memory or register). */
static int
rm_operand(const struct x86_insn *in, const uint64_t *g,
    const struct x86_emul_mem *m, uint64_t *v)
{
	if (!in->mem) {
		*v = x86_reg_read(in, g, in->rm, in->opsize);
		return 0;
	}
	return x86_mem_read(m, in->memseg, x86_emul_ea(in, g), in->opsize, v);
}

static bool
canonical(const struct x86_insn *in, const struct x86_emul_mem *m,
    uint64_t va)
{
	unsigned bits = m->va_bits ? m->va_bits : 48;
	int64_t top = (int64_t)va >> (bits - 1);

	return in->mode != X86_CODE64 || top == 0 || top == -1;
}

static int
branch(const struct x86_insn *in, uint64_t *g, const struct x86_emul_mem *m,
    uint64_t target)
{
	target &= size_mask(in->opsize);
	if (!canonical(in, m, target))
		return x86_raise(m, X86_EXC_GP, true, 0);
	x86_set_rip(in, g, target);
	return 0;
}

static int
emul_pop(const struct x86_insn *in, uint64_t *g, const struct x86_emul_mem *m)
{
	uint64_t v;

	if (pop(in, g, m, &v) == -1)
		return -1;
	if (in->form == X86_FORM_STACK) {
		x86_reg_write(in, g, in->reg, in->opsize, v);
		return 0;
	}
	if (!in->mem) {
		x86_reg_write(in, g, in->rm, in->opsize, v);
		return 0;
	}
	/* An rSP-based destination is addressed after the pop. */
	return x86_mem_write(m, in->memseg, x86_emul_ea(in, g), in->opsize, v);
}

static int
emul_call(const struct x86_insn *in, uint64_t *g, const struct x86_emul_mem *m,
    uint64_t next)
{
	uint64_t target;

	if (in->form == X86_FORM_STACK)
		target = next + in->imm;
	else if (rm_operand(in, g, m, &target) == -1)
		return -1;
	target &= size_mask(in->opsize);
	if (!canonical(in, m, target))
		return x86_raise(m, X86_EXC_GP, true, 0);
	if (push(in, g, m, next) == -1)
		return -1;
	return branch(in, g, m, target);
}

static int
emul_ret(const struct x86_insn *in, uint64_t *g, const struct x86_emul_mem *m)
{
	unsigned ss = stack_size(in, m);
	uint64_t target;

	if (pop(in, g, m, &target) == -1)
		return -1;
	if (in->imm_size != 0)
		x86_areg_write(g, RSP, ss, g[RSP] + in->imm);
	return branch(in, g, m, target);
}

int
x86_emul_stack(const struct x86_insn *in, uint64_t *g,
    const struct x86_emul_mem *m)
{
	uint64_t next = g[RIP] + in->len, v;

	switch (in->op) {
	case X86_OP_PUSH:
		if (in->form == X86_FORM_STACK && in->imm_size != 0)
			v = in->imm;
		else if (in->form == X86_FORM_STACK)
			v = x86_reg_read(in, g, in->reg, in->opsize);
		else if (rm_operand(in, g, m, &v) == -1)
			return -1;
		if (push(in, g, m, v) == -1)
			return -1;
		break;
	case X86_OP_POP:
		if (emul_pop(in, g, m) == -1)
			return -1;
		break;
	case X86_OP_LEAVE:
		x86_areg_write(g, RSP, stack_size(in, m), g[RBP]);
		if (pop(in, g, m, &v) == -1)
			return -1;
		x86_reg_write(in, g, RBP, in->opsize, v);
		break;
	case X86_OP_CALL:
		return emul_call(in, g, m, next);
	case X86_OP_RET:
		return emul_ret(in, g, m);
	case X86_OP_JMP:
		if (rm_operand(in, g, m, &v) == -1)
			return -1;
		return branch(in, g, m, v);
	default:
		return x86_unsupported("stack operation the core does not know");
	}
	x86_set_rip(in, g, next);
	return 0;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x86_emul_impl.h: what the emulation core's files share (x86_emul.c and
 * the instruction families in x86_emul_*.c). Private to the core.
 */
#ifndef X86_EMUL_IMPL_H
#define X86_EMUL_IMPL_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

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

/* Replace the RFLAGS bits in `mask` by those of `f`. */
static inline void
set_flags(uint64_t *g, uint64_t mask, uint64_t f)
{
	g[RFLAGS] = (g[RFLAGS] & ~mask) | (f & mask);
}

static inline bool
flag(const uint64_t *g, uint64_t f)
{
	return (g[RFLAGS] & f) != 0;
}

/* Registers (x86_emul.c). */
uint64_t x86_reg_read(const struct x86_insn *in, const uint64_t *g,
    unsigned n, unsigned size);
void x86_reg_write(const struct x86_insn *in, uint64_t *g, unsigned n,
    unsigned size, uint64_t v);
void x86_areg_write(uint64_t *g, unsigned n, unsigned size, uint64_t v);
/* RIP = v truncated to the code size. */
void x86_set_rip(const struct x86_insn *in, uint64_t *g, uint64_t v);

/* Flags (x86_emul.c). */
uint64_t x86_szp_flags(uint64_t r, unsigned size);
/*
 * `a op b` at `size` bytes for ADD ADC SUB SBB CMP OR AND XOR TEST (and
 * CMPS/SCAS/NEG as SUB); *flags receives CF PF AF ZF SF OF.
 */
uint64_t x86_alu(unsigned op, unsigned size, uint64_t a, uint64_t b,
    bool cin, uint64_t *flags);
/* Condition code cc (0-15, as in Jcc) on RFLAGS. */
bool x86_cond(const uint64_t *g, unsigned cc);

/* Memory (x86_emul.c): sizes 1-8, little-endian values. */
int x86_mem_read(const struct x86_emul_mem *m, int seg, uint64_t off,
    unsigned size, uint64_t *val);
int x86_mem_write(const struct x86_emul_mem *m, int seg, uint64_t off,
    unsigned size, uint64_t val);
/* The operand at ea for a read-modify-write: write access checked first. */
int x86_rmw_read(const struct x86_insn *in, const struct x86_emul_mem *m,
    uint64_t ea, uint64_t *v);
/* probe_write when the interface has it. */
int x86_mem_probe(const struct x86_emul_mem *m, int seg, uint64_t off,
    unsigned size);
/* Describe exception `vector` in *m->exc; returns -1 with errno EFAULT. */
int x86_raise(const struct x86_emul_mem *m, unsigned vector, bool has_error,
    uint32_t error);

/* Instruction families: 0, or -1 with errno; RIP is the caller's job
 * unless said otherwise. */
int x86_emul_arith(const struct x86_insn *, uint64_t *,
    const struct x86_emul_mem *, uint64_t ea);
int x86_emul_shift(const struct x86_insn *, uint64_t *,
    const struct x86_emul_mem *, uint64_t ea);
int x86_emul_muldiv(const struct x86_insn *, uint64_t *,
    const struct x86_emul_mem *, uint64_t ea);
/* Stack and branches: set RIP themselves. */
int x86_emul_stack(const struct x86_insn *, uint64_t *,
    const struct x86_emul_mem *);
int x86_emul_sse(const struct x86_insn *, uint64_t *,
    const struct x86_emul_mem *, uint64_t ea);

#endif /* X86_EMUL_IMPL_H */

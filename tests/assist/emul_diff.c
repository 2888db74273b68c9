/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * emul_diff: differential test of the emulator core against the host CPU.
 *
 * Each case encodes one instruction (random registers, addressing form,
 * prefixes, operand values from a fixed-seed generator mixed with edge
 * values), runs it natively inside a generated code stub on an ordinary
 * buffer (diff_host.c), then decodes the same bytes with x86_decode() and
 * runs them through x86_emul() on a copy of the buffer reached through the
 * memory interface. Registers (RSP and XMM0-15 included), RIP, memory and
 * RFLAGS (minus the flags the instruction leaves undefined) must match bit
 * for bit. Stack cases put RSP in the buffer; branch cases aim at the
 * stub's far epilogue.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <nvmm.h>

#include "diff_enc.h"
#include "diff_host.h"
#include "x86_decode.h"
#include "x86_emul.h"

#define BUF_SIZE	16384
#define MAX_PRINTED	20

/* ------------------------------------------------------------------------ */
/* Deterministic generator (xorshift64*).                                    */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static unsigned
rndn(unsigned n)
{
	return (unsigned)(rnd() % n);
}

/* An operand value: random half of the time, else an edge value. */
static uint64_t
operand(unsigned size)
{
	static const uint64_t edges[] = {
		0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff,
		0x80000000, 0xffffffff, 0x7fffffffffffffffULL,
		0x8000000000000000ULL, ~0ULL, ~0ULL - 1, 0x0f, 0x10, 0xf0,
		0x8f, 0x7e,
	};
	uint64_t v = rndn(2) ? rnd() : edges[rndn(sizeof(edges) /
	    sizeof(edges[0]))];
	unsigned sh = size >= 8 ? 0 : 64 - 8 * size;

	/* Edge values at this size, sometimes sign-extended. */
	if (sh && rndn(4) == 0)
		v = (uint64_t)((int64_t)(v << sh) >> sh);
	return v;
}

/* ------------------------------------------------------------------------ */
/* Emulator memory: host addresses of hbuf map onto ebuf.                    */

static uint8_t *hbuf;		/* host data, below 2 GiB */
static uint8_t ebuf[BUF_SIZE];	/* the emulator's copy */
static struct nvmm_x64_state_fpu efpu;
static struct x86_exc eexc;

static uint8_t *
emu_addr(uint64_t off, size_t size)
{
	uint64_t base = (uint64_t)(uintptr_t)hbuf;

	if (off < base || off + size > base + BUF_SIZE)
		return NULL;
	return ebuf + (off - base);
}

static int
emu_read(void *ctx, int seg, uint64_t off, void *buf, size_t size)
{
	uint8_t *p = emu_addr(off, size);

	(void)ctx; (void)seg;
	if (p == NULL) {
		errno = EFAULT;
		return -1;
	}
	memcpy(buf, p, size);
	return 0;
}

static int
emu_write(void *ctx, int seg, uint64_t off, const void *buf, size_t size)
{
	uint8_t *p = emu_addr(off, size);

	(void)ctx; (void)seg;
	if (p == NULL) {
		errno = EFAULT;
		return -1;
	}
	memcpy(p, buf, size);
	return 0;
}

static const struct x86_emul_mem emu_mem = {
	.read = emu_read,
	.write = emu_write,
	.fpu = &efpu,
	.exc = &eexc,
};

/* ------------------------------------------------------------------------ */
/* Cases.                                                                    */

enum kind {
	K_EG, K_GE, K_EI, K_E, K_MOFFS, K_BTR, K_BTI, K_STR,
	K_ECL,		/* rm, CL (shifts) */
	K_EGI,		/* rm, reg, imm8 (SHLD/SHRD) */
	K_EGCL,		/* rm, reg, CL */
	K_GEI,		/* reg, rm, imm (IMUL) */
	K_DIV,		/* F6/F7 /6 /7 without #DE */
	K_CX8,		/* CMPXCHG8B/16B */
	K_XLD,		/* SSE load: xmm <- m */
	K_XST,		/* SSE store: m <- xmm */
	K_VST,		/* VEX.128 store; op[0] = VEX.pp, op[1] = opcode */
	K_STK,		/* stack and branches; ext = enum stk */
};

enum stk {
	S_PUSH_R, S_POP_R, S_PUSH_I8, S_PUSH_IZ, S_PUSH_M, S_POP_M,
	S_CALL_REL, S_CALL_M, S_CALL_R, S_JMP_M, S_RET, S_RET_I, S_LEAVE,
};

/* tmpl.flags */
#define T_CC		0x01	/* random condition in the last opcode byte */
#define T_ALIGN16	0x02	/* the memory operand is 16-byte aligned */
#define T_SHIFT		0x04	/* group 2 (ext = operation): count rules */
#define T_SHXD		0x08	/* SHLD/SHRD: count rules */
#define T_W		0x10	/* REX.W / VEX.W whatever the size */
#define T_ACC		0x20	/* CMPXCHG: RAX often equal to memory */

struct tmpl {
	const char *name;
	enum kind kind;
	uint8_t op[3];
	uint8_t nop;
	uint8_t ext;		/* ModRM.reg for K_EI/K_E/K_BTI/...; K_STK: stk */
	uint8_t imm;		/* immediate bytes: 1, or 4 = "z" */
	bool byte;		/* byte operand */
	bool lockable;
	uint64_t undef;		/* flags left undefined */
	const char *sizes;	/* operand sizes ("1", "248"...); SSE: memory */
	uint8_t mpfx;		/* mandatory prefix (66, F2, F3) or 0 */
	uint8_t flags;		/* T_* */
};

#define LOGIC_UNDEF	X86_RFLAGS_AF
#define BT_UNDEF	(X86_RFLAGS_OF | X86_RFLAGS_SF | X86_RFLAGS_AF | \
			 X86_RFLAGS_PF)
#define MUL_UNDEF	(X86_RFLAGS_SF | X86_RFLAGS_ZF | X86_RFLAGS_AF | \
			 X86_RFLAGS_PF)
#define BSF_UNDEF	(X86_RFLAGS_CF | X86_RFLAGS_OF | X86_RFLAGS_SF | \
			 X86_RFLAGS_AF | X86_RFLAGS_PF)
#define CNT_UNDEF	(X86_RFLAGS_OF | X86_RFLAGS_SF | X86_RFLAGS_AF | \
			 X86_RFLAGS_PF)

static const struct tmpl tmpls[] = {
	{ "mov_store", K_EG, { 0x89 }, 1, 0, 0, false, false, 0, "248", 0, 0 },
	{ "mov_store", K_EG, { 0x88 }, 1, 0, 0, true, false, 0, "1", 0, 0 },
	{ "mov_load", K_GE, { 0x8b }, 1, 0, 0, false, false, 0, "248", 0, 0 },
	{ "mov_load", K_GE, { 0x8a }, 1, 0, 0, true, false, 0, "1", 0, 0 },
	{ "mov_imm", K_EI, { 0xc7 }, 1, 0, 4, false, false, 0, "248", 0, 0 },
	{ "mov_imm", K_EI, { 0xc6 }, 1, 0, 1, true, false, 0, "1", 0, 0 },
	{ "mov_moffs_load", K_MOFFS, { 0xa1 }, 1, 0, 0, false, false, 0, "248", 0, 0 },
	{ "mov_moffs_load", K_MOFFS, { 0xa0 }, 1, 0, 0, true, false, 0, "1", 0, 0 },
	{ "mov_moffs_store", K_MOFFS, { 0xa3 }, 1, 0, 0, false, false, 0, "248", 0, 0 },
	{ "mov_moffs_store", K_MOFFS, { 0xa2 }, 1, 0, 0, true, false, 0, "1", 0, 0 },
	{ "movzx_b", K_GE, { 0x0f, 0xb6 }, 2, 0, 0, false, false, 0, "248", 0, 0 },
	{ "movzx_w", K_GE, { 0x0f, 0xb7 }, 2, 0, 0, false, false, 0, "48", 0, 0 },
	{ "movsx_b", K_GE, { 0x0f, 0xbe }, 2, 0, 0, false, false, 0, "248", 0, 0 },
	{ "movsx_w", K_GE, { 0x0f, 0xbf }, 2, 0, 0, false, false, 0, "48", 0, 0 },
#define ALU(n, o, ext, u)						\
	{ n "_eg", K_EG, { (o) + 1 }, 1, 0, 0, false, ext != 7, u, "248", 0, 0 }, \
	{ n "_eg", K_EG, { (o) }, 1, 0, 0, true, ext != 7, u, "1", 0, 0 },	\
	{ n "_ge", K_GE, { (o) + 3 }, 1, 0, 0, false, false, u, "248", 0, 0 },	\
	{ n "_ge", K_GE, { (o) + 2 }, 1, 0, 0, true, false, u, "1", 0, 0 },	\
	{ n "_iz", K_EI, { 0x81 }, 1, ext, 4, false, ext != 7, u, "248", 0, 0 }, \
	{ n "_ib", K_EI, { 0x83 }, 1, ext, 1, false, ext != 7, u, "248", 0, 0 }, \
	{ n "_ib", K_EI, { 0x80 }, 1, ext, 1, true, ext != 7, u, "1", 0, 0 }
	ALU("add", 0x00, 0, 0),
	ALU("or", 0x08, 1, LOGIC_UNDEF),
	ALU("adc", 0x10, 2, 0),
	ALU("sbb", 0x18, 3, 0),
	ALU("and", 0x20, 4, LOGIC_UNDEF),
	ALU("sub", 0x28, 5, 0),
	ALU("xor", 0x30, 6, LOGIC_UNDEF),
	ALU("cmp", 0x38, 7, 0),
#undef ALU
	{ "test_eg", K_EG, { 0x85 }, 1, 0, 0, false, false, LOGIC_UNDEF, "248", 0, 0 },
	{ "test_eg", K_EG, { 0x84 }, 1, 0, 0, true, false, LOGIC_UNDEF, "1", 0, 0 },
	{ "test_iz", K_EI, { 0xf7 }, 1, 0, 4, false, false, LOGIC_UNDEF, "248", 0, 0 },
	{ "test_ib", K_EI, { 0xf6 }, 1, 0, 1, true, false, LOGIC_UNDEF, "1", 0, 0 },
	{ "not", K_E, { 0xf7 }, 1, 2, 0, false, true, 0, "248", 0, 0 },
	{ "not", K_E, { 0xf6 }, 1, 2, 0, true, true, 0, "1", 0, 0 },
	{ "neg", K_E, { 0xf7 }, 1, 3, 0, false, true, 0, "248", 0, 0 },
	{ "neg", K_E, { 0xf6 }, 1, 3, 0, true, true, 0, "1", 0, 0 },
	{ "xchg", K_EG, { 0x87 }, 1, 0, 0, false, true, 0, "248", 0, 0 },
	{ "xchg", K_EG, { 0x86 }, 1, 0, 0, true, true, 0, "1", 0, 0 },
	{ "bt_r", K_BTR, { 0x0f, 0xa3 }, 2, 0, 0, false, false, BT_UNDEF, "248", 0, 0 },
	{ "bts_r", K_BTR, { 0x0f, 0xab }, 2, 0, 0, false, true, BT_UNDEF, "248", 0, 0 },
	{ "btr_r", K_BTR, { 0x0f, 0xb3 }, 2, 0, 0, false, true, BT_UNDEF, "248", 0, 0 },
	{ "btc_r", K_BTR, { 0x0f, 0xbb }, 2, 0, 0, false, true, BT_UNDEF, "248", 0, 0 },
	{ "bt_i", K_BTI, { 0x0f, 0xba }, 2, 4, 1, false, false, BT_UNDEF, "248", 0, 0 },
	{ "bts_i", K_BTI, { 0x0f, 0xba }, 2, 5, 1, false, true, BT_UNDEF, "248", 0, 0 },
	{ "btr_i", K_BTI, { 0x0f, 0xba }, 2, 6, 1, false, true, BT_UNDEF, "248", 0, 0 },
	{ "btc_i", K_BTI, { 0x0f, 0xba }, 2, 7, 1, false, true, BT_UNDEF, "248", 0, 0 },
	{ "movs", K_STR, { 0xa5 }, 1, 0, 0, false, false, 0, "248", 0, 0 },
	{ "movs", K_STR, { 0xa4 }, 1, 0, 0, true, false, 0, "1", 0, 0 },
	{ "stos", K_STR, { 0xab }, 1, 0, 0, false, false, 0, "248", 0, 0 },
	{ "stos", K_STR, { 0xaa }, 1, 0, 0, true, false, 0, "1", 0, 0 },
	{ "lods", K_STR, { 0xad }, 1, 0, 0, false, false, 0, "248", 0, 0 },
	{ "lods", K_STR, { 0xac }, 1, 0, 0, true, false, 0, "1", 0, 0 },
	{ "cmps", K_STR, { 0xa7 }, 1, 0, 0, false, false, 0, "248", 0, 0 },
	{ "cmps", K_STR, { 0xa6 }, 1, 0, 0, true, false, 0, "1", 0, 0 },
	/* Issue 15: the instructions KVM's emulator covers. */
	{ "scas", K_STR, { 0xaf }, 1, 0, 0, false, false, 0, "248", 0, 0 },
	{ "scas", K_STR, { 0xae }, 1, 0, 0, true, false, 0, "1", 0, 0 },
	{ "xadd", K_EG, { 0x0f, 0xc1 }, 2, 0, 0, false, true, 0, "248", 0, 0 },
	{ "xadd", K_EG, { 0x0f, 0xc0 }, 2, 0, 0, true, true, 0, "1", 0, 0 },
	{ "cmpxchg", K_EG, { 0x0f, 0xb1 }, 2, 0, 0, false, true, 0, "248", 0,
	  T_ACC },
	{ "cmpxchg", K_EG, { 0x0f, 0xb0 }, 2, 0, 0, true, true, 0, "1", 0,
	  T_ACC },
	{ "cmpxchg8b", K_CX8, { 0x0f, 0xc7 }, 2, 1, 0, false, true, 0, "4", 0,
	  0 },
	{ "cmpxchg16b", K_CX8, { 0x0f, 0xc7 }, 2, 1, 0, false, true, 0, "8", 0,
	  T_ALIGN16 },
	{ "inc", K_E, { 0xff }, 1, 0, 0, false, true, 0, "248", 0, 0 },
	{ "inc", K_E, { 0xfe }, 1, 0, 0, true, true, 0, "1", 0, 0 },
	{ "dec", K_E, { 0xff }, 1, 1, 0, false, true, 0, "248", 0, 0 },
	{ "dec", K_E, { 0xfe }, 1, 1, 0, true, true, 0, "1", 0, 0 },
#define SHIFT(n, ext)							\
	{ n "_ib", K_EI, { 0xc1 }, 1, ext, 1, false, false, 0, "248", 0,	\
	  T_SHIFT },							\
	{ n "_ib", K_EI, { 0xc0 }, 1, ext, 1, true, false, 0, "1", 0,	\
	  T_SHIFT },							\
	{ n "_1", K_E, { 0xd1 }, 1, ext, 0, false, false, 0, "248", 0,	\
	  T_SHIFT },							\
	{ n "_1", K_E, { 0xd0 }, 1, ext, 0, true, false, 0, "1", 0, T_SHIFT }, \
	{ n "_cl", K_ECL, { 0xd3 }, 1, ext, 0, false, false, 0, "248", 0,	\
	  T_SHIFT },							\
	{ n "_cl", K_ECL, { 0xd2 }, 1, ext, 0, true, false, 0, "1", 0,	\
	  T_SHIFT }
	SHIFT("rol", 0), SHIFT("ror", 1), SHIFT("rcl", 2), SHIFT("rcr", 3),
	SHIFT("shl", 4), SHIFT("shr", 5), SHIFT("sal", 6), SHIFT("sar", 7),
#undef SHIFT
	{ "shld_ib", K_EGI, { 0x0f, 0xa4 }, 2, 0, 1, false, false, 0, "248", 0,
	  T_SHXD },
	{ "shld_cl", K_EGCL, { 0x0f, 0xa5 }, 2, 0, 0, false, false, 0, "248",
	  0, T_SHXD },
	{ "shrd_ib", K_EGI, { 0x0f, 0xac }, 2, 0, 1, false, false, 0, "248", 0,
	  T_SHXD },
	{ "shrd_cl", K_EGCL, { 0x0f, 0xad }, 2, 0, 0, false, false, 0, "248",
	  0, T_SHXD },
	{ "mul", K_E, { 0xf7 }, 1, 4, 0, false, false, MUL_UNDEF, "248", 0, 0 },
	{ "mul", K_E, { 0xf6 }, 1, 4, 0, true, false, MUL_UNDEF, "1", 0, 0 },
	{ "imul1", K_E, { 0xf7 }, 1, 5, 0, false, false, MUL_UNDEF, "248", 0,
	  0 },
	{ "imul1", K_E, { 0xf6 }, 1, 5, 0, true, false, MUL_UNDEF, "1", 0, 0 },
	{ "imul2", K_GE, { 0x0f, 0xaf }, 2, 0, 0, false, false, MUL_UNDEF,
	  "248", 0, 0 },
	{ "imul3_ib", K_GEI, { 0x6b }, 1, 0, 1, false, false, MUL_UNDEF, "248",
	  0, 0 },
	{ "imul3_iz", K_GEI, { 0x69 }, 1, 0, 4, false, false, MUL_UNDEF, "248",
	  0, 0 },
	{ "div", K_DIV, { 0xf7 }, 1, 6, 0, false, false, X86_RFLAGS_ARITH,
	  "248", 0, 0 },
	{ "div", K_DIV, { 0xf6 }, 1, 6, 0, true, false, X86_RFLAGS_ARITH, "1",
	  0, 0 },
	{ "idiv", K_DIV, { 0xf7 }, 1, 7, 0, false, false, X86_RFLAGS_ARITH,
	  "248", 0, 0 },
	{ "idiv", K_DIV, { 0xf6 }, 1, 7, 0, true, false, X86_RFLAGS_ARITH, "1",
	  0, 0 },
	{ "movbe_load", K_GE, { 0x0f, 0x38, 0xf0 }, 3, 0, 0, false, false, 0,
	  "248", 0, 0 },
	{ "movbe_store", K_EG, { 0x0f, 0x38, 0xf1 }, 3, 0, 0, false, false, 0,
	  "248", 0, 0 },
	{ "setcc", K_E, { 0x0f, 0x90 }, 2, 0, 0, true, false, 0, "1", 0, T_CC },
	{ "cmovcc", K_GE, { 0x0f, 0x40 }, 2, 0, 0, false, false, 0, "248", 0,
	  T_CC },
	{ "bsf", K_GE, { 0x0f, 0xbc }, 2, 0, 0, false, false, BSF_UNDEF, "248",
	  0, 0 },
	{ "bsr", K_GE, { 0x0f, 0xbd }, 2, 0, 0, false, false, BSF_UNDEF, "248",
	  0, 0 },
	{ "tzcnt", K_GE, { 0x0f, 0xbc }, 2, 0, 0, false, false, CNT_UNDEF,
	  "248", 0xf3, 0 },
	{ "lzcnt", K_GE, { 0x0f, 0xbd }, 2, 0, 0, false, false, CNT_UNDEF,
	  "248", 0xf3, 0 },
	{ "popcnt", K_GE, { 0x0f, 0xb8 }, 2, 0, 0, false, false, 0, "248", 0xf3,
	  0 },
	{ "movnti", K_EG, { 0x0f, 0xc3 }, 2, 0, 0, false, false, 0, "48", 0, 0 },
	/* Stack and branches (RSP in the buffer). */
	{ "push_r", K_STK, { 0x50 }, 1, S_PUSH_R, 0, false, false, 0, "28", 0,
	  0 },
	{ "pop_r", K_STK, { 0x58 }, 1, S_POP_R, 0, false, false, 0, "28", 0, 0 },
	{ "push_ib", K_STK, { 0x6a }, 1, S_PUSH_I8, 1, false, false, 0, "28", 0,
	  0 },
	{ "push_iz", K_STK, { 0x68 }, 1, S_PUSH_IZ, 4, false, false, 0, "28", 0,
	  0 },
	{ "push_m", K_STK, { 0xff }, 1, S_PUSH_M, 0, false, false, 0, "28", 0,
	  0 },
	{ "pop_m", K_STK, { 0x8f }, 1, S_POP_M, 0, false, false, 0, "28", 0, 0 },
	{ "call_rel", K_STK, { 0xe8 }, 1, S_CALL_REL, 4, false, false, 0, "8",
	  0, 0 },
	{ "call_m", K_STK, { 0xff }, 1, S_CALL_M, 0, false, false, 0, "8", 0,
	  0 },
	{ "call_r", K_STK, { 0xff }, 1, S_CALL_R, 0, false, false, 0, "8", 0,
	  0 },
	{ "jmp_m", K_STK, { 0xff }, 1, S_JMP_M, 0, false, false, 0, "8", 0, 0 },
	{ "ret", K_STK, { 0xc3 }, 1, S_RET, 0, false, false, 0, "8", 0, 0 },
	{ "ret_iw", K_STK, { 0xc2 }, 1, S_RET_I, 2, false, false, 0, "8", 0, 0 },
	{ "leave", K_STK, { 0xc9 }, 1, S_LEAVE, 0, false, false, 0, "28", 0, 0 },
	/* SSE moves (sizes: bytes in memory, for the name only). */
#define XLD(n, pfx, o, sz, fl)						\
	{ n, K_XLD, { 0x0f, o }, 2, 0, 0, false, false, 0, sz, pfx, fl }
#define XST(n, pfx, o, sz, fl)						\
	{ n, K_XST, { 0x0f, o }, 2, 0, 0, false, false, 0, sz, pfx, fl }
	XLD("movups_load", 0, 0x10, "16", 0),
	XLD("movupd_load", 0x66, 0x10, "16", 0),
	XLD("movss_load", 0xf3, 0x10, "4", 0),
	XLD("movsd_load", 0xf2, 0x10, "8", 0),
	XST("movups_store", 0, 0x11, "16", 0),
	XST("movupd_store", 0x66, 0x11, "16", 0),
	XST("movss_store", 0xf3, 0x11, "4", 0),
	XST("movsd_store", 0xf2, 0x11, "8", 0),
	XLD("movlps_load", 0, 0x12, "8", 0),
	XLD("movlpd_load", 0x66, 0x12, "8", 0),
	XST("movlps_store", 0, 0x13, "8", 0),
	XST("movlpd_store", 0x66, 0x13, "8", 0),
	XLD("movhps_load", 0, 0x16, "8", 0),
	XLD("movhpd_load", 0x66, 0x16, "8", 0),
	XST("movhps_store", 0, 0x17, "8", 0),
	XST("movhpd_store", 0x66, 0x17, "8", 0),
	XLD("movaps_load", 0, 0x28, "16", T_ALIGN16),
	XLD("movapd_load", 0x66, 0x28, "16", T_ALIGN16),
	XST("movaps_store", 0, 0x29, "16", T_ALIGN16),
	XST("movapd_store", 0x66, 0x29, "16", T_ALIGN16),
	XST("movntps", 0, 0x2b, "16", T_ALIGN16),
	XST("movntpd", 0x66, 0x2b, "16", T_ALIGN16),
	XLD("movd_load", 0x66, 0x6e, "4", 0),
	XLD("movq_load_6e", 0x66, 0x6e, "8", T_W),
	XLD("movdqa_load", 0x66, 0x6f, "16", T_ALIGN16),
	XLD("movdqu_load", 0xf3, 0x6f, "16", 0),
	XST("movd_store", 0x66, 0x7e, "4", 0),
	XST("movq_store_7e", 0x66, 0x7e, "8", T_W),
	XLD("movq_load", 0xf3, 0x7e, "8", 0),
	XST("movdqa_store", 0x66, 0x7f, "16", T_ALIGN16),
	XST("movdqu_store", 0xf3, 0x7f, "16", 0),
	XST("movq_store", 0x66, 0xd6, "8", 0),
	XST("movntdq", 0x66, 0xe7, "16", T_ALIGN16),
	{ "movntdqa", K_XLD, { 0x0f, 0x38, 0x2a }, 3, 0, 0, false, false, 0,
	  "16", 0x66, T_ALIGN16 },
#undef XLD
#undef XST
	/* VEX.128 stores: op[0] = VEX.pp. */
#define VST(n, pp, o, sz, fl)						\
	{ n, K_VST, { pp, o }, 2, 0, 0, false, false, 0, sz, 0, fl }
	VST("vmovups_store", 0, 0x11, "16", 0),
	VST("vmovupd_store", 1, 0x11, "16", 0),
	VST("vmovss_store", 2, 0x11, "4", 0),
	VST("vmovsd_store", 3, 0x11, "8", 0),
	VST("vmovlps_store", 0, 0x13, "8", 0),
	VST("vmovhps_store", 0, 0x17, "8", 0),
	VST("vmovaps_store", 0, 0x29, "16", T_ALIGN16),
	VST("vmovntps", 0, 0x2b, "16", T_ALIGN16),
	VST("vmovd_store", 1, 0x7e, "4", 0),
	VST("vmovq_store_7e", 1, 0x7e, "8", T_W),
	VST("vmovdqa_store", 1, 0x7f, "16", T_ALIGN16),
	VST("vmovdqu_store", 2, 0x7f, "16", 0),
	VST("vmovq_store", 1, 0xd6, "8", 0),
	VST("vmovntdq", 1, 0xe7, "16", T_ALIGN16),
#undef VST
};

static unsigned long total_cases, total_mismatch, printed;

static bool
is_sse(const struct tmpl *t)
{
	return t->kind == K_XLD || t->kind == K_XST || t->kind == K_VST;
}

static unsigned
pick_reg(bool allow_hi8, unsigned avoid)
{
	unsigned r;

	do {
		r = rndn(allow_hi8 ? 8 : 16);
	} while ((r == 4 && !allow_hi8) || ((avoid >> r) & 1));
	return r;
}

/* A random memory operand whose effective address is `target`; `avoid`
 * is a mask of GPRs that must not be base or index. */
static void
make_memop(struct memop *m, struct hctx *c, uint64_t target, bool low8,
    unsigned avoid)
{
	unsigned form = rndn(10);
	uint64_t idxv = 0;

	memset(m, 0, sizeof(*m));
	m->scale = 1u << rndn(4);
	m->addr32 = rndn(4) == 0;
	m->index = -1;
	avoid |= 1u << 4;
	if (form == 0 && !low8) {
		m->base = MEMOP_RIP;	/* aimed by the caller */
		return;
	}
	if (form == 1) {
		m->base = -1;	/* absolute disp32 */
		m->disp = (int32_t)target;
		return;
	}
	do {
		m->base = (int)rndn(low8 ? 8 : 16);
	} while ((avoid >> m->base) & 1);
	switch (rndn(3)) {
	case 0: m->disp = 0; break;
	case 1: m->disp = (int8_t)rnd(); break;
	default: m->disp = (int32_t)(rnd() % 0x10000) - 0x8000; break;
	}
	if (form >= 6) {
		do {
			m->index = (int)rndn(low8 ? 8 : 16);
		} while (m->index == m->base || ((avoid >> m->index) & 1));
		idxv = rnd() % 64;
		if (m->addr32)
			idxv |= rnd() << 32;
		c->g[m->index] = idxv;
	}
	c->g[m->base] = target - (uint64_t)(int64_t)m->disp - idxv * m->scale;
	if (m->addr32)
		c->g[m->base] = (c->g[m->base] & 0xffffffff) | (rnd() << 32);
}

/* Aim a RIP-relative operand now that the length is known. */
static void
aim_rip(struct enc *e, const struct memop *m, size_t imm_bytes,
    uint64_t target)
{
	int32_t d;

	if (m->base != MEMOP_RIP)
		return;
	d = (int32_t)(target - (diff_host_rip() + e->n));
	memcpy(e->b + encode_rip_disp_off(e, imm_bytes), &d, 4);
}

static void
fill_buffers(struct hctx *c)
{
	size_t i;
	unsigned r;

	for (i = 0; i < BUF_SIZE; i += 8) {
		uint64_t v = rnd();

		memcpy(hbuf + i, &v, 8);
	}
	memcpy(ebuf, hbuf, BUF_SIZE);
	for (r = 0; r < 16; r++)
		c->g[r] = operand(8);
	for (i = 0; i < sizeof(c->xmm); i += 8) {
		uint64_t v = rnd();

		memcpy((uint8_t *)c->xmm + i, &v, 8);
	}
	c->rflags = 0x2 | (rnd() & X86_RFLAGS_ARITH);
	c->where = 0;
}

static void
put(uint64_t addr, uint64_t v, unsigned size)
{
	memcpy(hbuf + (addr - (uintptr_t)hbuf), &v, size);
	memcpy(ebuf + (addr - (uintptr_t)hbuf), &v, size);
}

static uint64_t
get(uint64_t addr, unsigned size)
{
	uint64_t v = 0;

	memcpy(&v, hbuf + (addr - (uintptr_t)hbuf), size);
	return v;
}

static void
report(const char *group, const struct enc *e, const char *what,
    uint64_t want, uint64_t got)
{
	size_t i;

	total_mismatch++;
	if (printed++ >= MAX_PRINTED)
		return;
	printf("FAIL: %s: [", group);
	for (i = 0; i < e->n; i++)
		printf("%s%02x", i ? " " : "", e->b[i]);
	printf("] %s: host %#" PRIx64 " vs emulator %#" PRIx64 "\n", what, want,
	    got);
}

/*
 * Run one encoded instruction on both sides and compare. `far`: the
 * instruction branches (to diff_host_far()).
 */
static bool
compare(const char *group, const struct enc *e, const struct hctx *in,
    uint64_t undef, bool far)
{
	struct hctx h = *in;
	struct x86_insn insn;
	uint64_t g[NVMM_X64_NGPR], rip0, want_rip, m;
	unsigned r, loops = 0;
	size_t i;

	total_cases++;
	if (x86_decode(e->b, e->n, X86_CODE64, &insn) == -1) {
		report(group, e, "decode failed, errno", 0, (uint64_t)errno);
		return false;
	}
	if (insn.len != e->n) {
		report(group, e, "length", e->n, insn.len);
		return false;
	}
	diff_host_run(e->b, e->n, &h);

	memcpy(g, in->g, sizeof(in->g));
	memcpy(efpu.fx_xmm, in->xmm, sizeof(in->xmm));
	rip0 = diff_host_rip();
	g[NVMM_X64_GPR_RIP] = rip0;
	g[NVMM_X64_GPR_RFLAGS] = in->rflags;
	do {
		unsigned max = insn.form == X86_FORM_STRING ? 1 + rndn(4) : 1;

		if (x86_emul(&insn, g, &emu_mem, max) == -1) {
			report(group, e, "emulation failed, errno", 0,
			    (uint64_t)errno);
			return false;
		}
	} while (g[NVMM_X64_GPR_RIP] == rip0 && ++loops < 10000);

	if (h.where != (far ? HOST_FAR : HOST_NEAR)) {
		report(group, e, "host landed at", far ? HOST_FAR : HOST_NEAR,
		    h.where);
		return false;
	}
	want_rip = far ? diff_host_far() : rip0 + e->n;
	if (g[NVMM_X64_GPR_RIP] != want_rip) {
		report(group, e, "rip", want_rip, g[NVMM_X64_GPR_RIP]);
		return false;
	}
	for (r = 0; r < 16; r++) {
		if (h.g[r] != g[r]) {
			char what[16];

			snprintf(what, sizeof(what), "gpr%u", r);
			report(group, e, what, h.g[r], g[r]);
			return false;
		}
	}
	m = X86_RFLAGS_ARITH & ~undef;
	if ((h.rflags & m) != (g[NVMM_X64_GPR_RFLAGS] & m)) {
		report(group, e, "rflags", h.rflags & m,
		    g[NVMM_X64_GPR_RFLAGS] & m);
		return false;
	}
	if ((g[NVMM_X64_GPR_RFLAGS] & ~X86_RFLAGS_ARITH) !=
	    (in->rflags & ~X86_RFLAGS_ARITH)) {
		report(group, e, "non-arith rflags changed", in->rflags,
		    g[NVMM_X64_GPR_RFLAGS]);
		return false;
	}
	for (i = 0; i < BUF_SIZE; i++) {
		if (hbuf[i] != ebuf[i]) {
			report(group, e, "memory byte at offset", i, ebuf[i]);
			return false;
		}
	}
	for (i = 0; i < 16; i++) {
		if (memcmp(h.xmm[i], efpu.fx_xmm[i].xmm_bytes, 16) != 0) {
			uint64_t hv[2], ev[2];

			memcpy(hv, h.xmm[i], 16);
			memcpy(ev, efpu.fx_xmm[i].xmm_bytes, 16);
			report(group, e, hv[0] != ev[0] ? "xmm low quad" :
			    "xmm high quad", hv[0] != ev[0] ? hv[0] : hv[1],
			    hv[0] != ev[0] ? ev[0] : ev[1]);
			return false;
		}
	}
	return true;
}

/* A shift count with the interesting values often. */
static unsigned
shift_count(unsigned sz)
{
	switch (rndn(4)) {
	case 0: return rndn(4);
	case 1: return 8 * sz - 1 + rndn(3);
	case 2: return 8 * sz + 1 + rndn(3);
	default: return rndn(256);
	}
}

/* Flags a shift/rotate by `count` leaves undefined (group 2 ext). */
static uint64_t
shift_undef(const struct tmpl *t, unsigned sz, unsigned count)
{
	unsigned c = count & (sz == 8 ? 63 : 31);
	uint64_t u;

	if (c == 0)
		return 0;
	u = c == 1 ? 0 : X86_RFLAGS_OF;
	if ((t->flags & T_SHXD) || t->ext >= 4)
		u |= X86_RFLAGS_AF;
	if (!(t->flags & T_SHXD) && (t->ext == 4 || t->ext == 5 ||
	    t->ext == 6) && c >= 8 * sz)
		u |= X86_RFLAGS_CF;
	return u;
}

/* DIV/IDIV operands that do not raise #DE: divisor at target, rDX:rAX. */
static void
div_operands(const struct tmpl *t, unsigned sz, struct hctx *c,
    uint64_t target)
{
	uint64_t m = sz >= 8 ? ~0ULL : (1ULL << (8 * sz)) - 1;
	uint64_t d = operand(sz) & m, lo = operand(8), hi;
	unsigned sh = 64 - 8 * sz;

	if (d == 0)
		d = 1 + rndn(7);
	if (t->ext == 6) {
		hi = rnd() % d;		/* quotient fits */
	} else {
		/* Dividend = a sign-extended size-wide value. */
		hi = (int64_t)(lo << sh) < 0 ? m : 0;
		if ((d == m) && (lo & m) == (1ULL << (8 * sz - 1)))
			d = 3;		/* MIN / -1 overflows */
	}
	put(target, d, sz);
	if (sz == 1) {
		c->g[0] = (c->g[0] & ~0xffffULL) | (lo & 0xff) | ((hi & 0xff) << 8);
	} else {
		c->g[0] = (c->g[0] & ~m) | (lo & m);
		c->g[2] = (c->g[2] & ~m) | (hi & m);
	}
}

/* Cases of ModRM/moffs instructions for template t at size sz. */
static bool
run_modrm_case(const struct tmpl *t, unsigned sz)
{
	struct hctx c;
	struct memop m;
	struct enc e;
	uint8_t pfx[4], op[3];
	size_t np = 0;
	bool byte = t->byte, hi8 = byte && rndn(3) == 0;
	bool force_rex = byte && !hi8 && rndn(2);
	bool sse = is_sse(t);
	uint64_t target = (uintptr_t)hbuf + BUF_SIZE / 2 - 64 + rndn(128);
	uint64_t val, undef = t->undef;
	unsigned reg, imm = 0, isz = 0, count = 0, avoid = 0;
	unsigned memsize = sz;
	bool w = (sz == 8 && !sse) || (t->flags & T_W);

	fill_buffers(&c);
	if (t->flags & T_ALIGN16)
		target &= ~15ULL;
	if (t->mpfx)
		pfx[np++] = t->mpfx;
	if (sz == 2 && !sse)
		pfx[np++] = 0x66;
	if (t->lockable && rndn(4) == 0)
		pfx[np++] = 0xf0;
	memcpy(op, t->op, t->nop);
	if (t->flags & T_CC)
		op[t->nop - 1] |= (uint8_t)rndn(16);

	if (t->kind == K_MOFFS) {
		bool a32 = rndn(3) == 0;

		memcpy(e.b, pfx, np);
		e.n = np;
		if (a32)
			e.b[e.n++] = 0x67;
		if (w)
			e.b[e.n++] = 0x48;
		e.b[e.n++] = t->op[0];
		memcpy(e.b + e.n, &target, a32 ? 4 : 8);
		e.n += a32 ? 4 : 8;
		put(target, operand(sz), sz);
		return compare(t->name, &e, &c, undef, false);
	}

	if (t->kind == K_EI || t->kind == K_BTI || t->kind == K_EGI ||
	    t->kind == K_GEI)
		isz = t->imm == 4 ? (sz == 2 ? 2 : 4) : 1;
	switch (t->kind) {
	case K_ECL: case K_EGCL:
		avoid = 1u << 1;	/* RCX holds the count */
		break;
	case K_DIV: case K_CX8:
		avoid = 0xf;		/* RAX RCX RDX RBX are operands */
		break;
	case K_E:
		if (t->ext >= 4 && t->ext <= 5 && t->op[0] >= 0xf6)
			avoid = 0x5;	/* MUL, IMUL: RAX RDX */
		break;
	default:
		if (t->flags & T_ACC)
			avoid = 0x1;	/* CMPXCHG compares RAX */
		break;
	}
	if (sse)
		reg = rndn(16);
	else if (t->kind == K_EI || t->kind == K_E || t->kind == K_BTI ||
	    t->kind == K_ECL || t->kind == K_DIV || t->kind == K_CX8)
		reg = t->ext;
	else
		reg = pick_reg(hi8, avoid);
	if (t->flags & T_CC)
		reg = 0;
	make_memop(&m, &c, target, hi8, avoid | (sse ? 0 : 1u << reg));
	if (t->kind == K_VST)
		encode_vex(&e, t->op[0], (t->flags & T_W) != 0, t->op[1], reg,
		    &m);
	else
		encode(&e, pfx, np, w, force_rex, op, t->nop, reg, &m);
	if (isz) {
		imm = (unsigned)operand(isz);
		if (t->kind == K_BTI && rndn(2))
			imm = rndn(256);
		if (t->flags & T_SHIFT)
			imm = shift_count(sz);
		if (t->flags & T_SHXD)
			imm = sz == 2 ? rndn(17) | (rndn(8) << 5) :
			    shift_count(sz);
		memcpy(e.b + e.n, &imm, isz);
		e.n += isz;
		count = imm & 0xff;
	}
	aim_rip(&e, &m, isz, target);
	if (t->kind == K_BTR) {
		/* Bit offset reaching up to +-2 KiB around the operand. */
		int64_t off = (int64_t)(rnd() % 32768) - 16384;

		if (sz == 2)
			off = (int16_t)off;
		c.g[reg] = (uint64_t)off;
		if (m.index == (int)reg || m.base == (int)reg)
			return true;	/* not representable: skip */
	}
	if (t->kind == K_ECL || t->kind == K_EGCL) {
		count = t->kind == K_EGCL && sz == 2 ? rndn(17) :
		    shift_count(sz);
		c.g[1] = (c.g[1] & ~0xffULL) | count;
	}
	if (t->kind == K_E && (t->flags & T_SHIFT))
		count = 1;
	if (t->flags & (T_SHIFT | T_SHXD))
		undef |= shift_undef(t, sz, count);

	if (t->kind == K_GE && t->op[0] == 0x0f && (t->op[1] == 0xb6 ||
	    t->op[1] == 0xb7 || t->op[1] == 0xbe || t->op[1] == 0xbf))
		memsize = (t->op[1] & 1) ? 2 : 1;
	if (t->kind == K_DIV) {
		div_operands(t, sz, &c, target);
		return compare(t->name, &e, &c, undef, false);
	}
	if (t->kind == K_CX8) {
		unsigned half = sz == 8 ? 8 : 4;

		if (rndn(2)) {
			c.g[0] = get(target, half);
			c.g[2] = get(target + half, half);
		}
		return compare(t->name, &e, &c, undef, false);
	}
	if (!sse) {
		val = operand(sz);
		put(target, val, memsize);
	}
	if ((t->flags & T_ACC) && rndn(2))
		c.g[0] = (c.g[0] & ~((1ULL << (8 * sz - 1) << 1) - 1)) |
		    get(target, sz);
	return compare(t->name, &e, &c, undef, false);
}

static bool
run_string_case(const struct tmpl *t, unsigned sz)
{
	struct hctx c;
	struct enc e;
	unsigned count = rndn(24);
	bool df = rndn(3) == 0, a32 = rndn(3) == 0;
	uint64_t src, dst;
	bool is_cmps = t->op[0] == 0xa6 || t->op[0] == 0xa7;
	bool is_scas = t->op[0] == 0xae || t->op[0] == 0xaf;
	unsigned rep = rndn(3);	/* 0 none, 1 F3, 2 F2 (CMPS/SCAS only) */

	if (rep == 2 && !is_cmps && !is_scas)
		rep = 1;
	fill_buffers(&c);
	c.rflags |= df ? X86_RFLAGS_DF : 0;
	src = (uintptr_t)hbuf + 2048 + rndn(64);
	dst = (uintptr_t)hbuf + 8192 + rndn(64);
	if (is_cmps) {
		/* Mostly equal strings so that REPE runs for a while. */
		uint64_t lo = (df ? src - 256 : src) - (uintptr_t)hbuf;
		uint64_t ld = (df ? dst - 256 : dst) - (uintptr_t)hbuf;

		memcpy(hbuf + ld, hbuf + lo, 512);
		if (rndn(2))
			hbuf[ld + rndn(512)] ^= (uint8_t)(1 + rndn(255));
		memcpy(ebuf, hbuf, BUF_SIZE);
	}
	if (is_scas) {
		/* Elements mostly equal to rAX (REPE runs, REPNE stops). */
		uint64_t ld = (df ? dst - 256 : dst) - (uintptr_t)hbuf;
		unsigned i;

		for (i = 0; i < 512; i++)
			hbuf[ld + i] = (uint8_t)(c.g[0] >> (8 * (i % sz)));
		if (rndn(2))
			hbuf[ld + rndn(512)] ^= (uint8_t)(1 + rndn(255));
		memcpy(ebuf, hbuf, BUF_SIZE);
	}
	c.g[NVMM_X64_GPR_RSI] = src;
	c.g[NVMM_X64_GPR_RDI] = dst;
	c.g[NVMM_X64_GPR_RCX] = count;
	if (a32) {
		c.g[NVMM_X64_GPR_RSI] |= rnd() << 32;
		c.g[NVMM_X64_GPR_RDI] |= rnd() << 32;
		c.g[NVMM_X64_GPR_RCX] |= rnd() << 32;
	}
	e.n = 0;
	if (sz == 2)
		e.b[e.n++] = 0x66;
	if (a32)
		e.b[e.n++] = 0x67;
	if (rep)
		e.b[e.n++] = rep == 1 ? 0xf3 : 0xf2;
	if (sz == 8)
		e.b[e.n++] = 0x48;
	e.b[e.n++] = t->op[0];
	return compare(t->name, &e, &c, t->undef, false);
}

/* Stack and branch cases: RSP in the buffer, targets at the far stub. */
static bool
run_stack_case(const struct tmpl *t, unsigned sz)
{
	struct hctx c;
	struct memop m;
	struct enc e;
	uint8_t pfx[1] = { 0x66 }, op[1] = { t->op[0] };
	uint64_t far = diff_host_far(), target;
	unsigned r, reg = 0, np = sz == 2;
	bool branch = false;

	fill_buffers(&c);
	c.g[4] = (uintptr_t)hbuf + 8192 + 8 * rndn(64) +
	    (rndn(4) == 0 ? rndn(8) : 0);
	target = (uintptr_t)hbuf + 4096 + rndn(1024);
	e.n = 0;
	switch (t->ext) {
	case S_PUSH_R:
	case S_POP_R:
		r = rndn(16);
		if (sz == 2)
			e.b[e.n++] = 0x66;
		if (r >= 8)
			e.b[e.n++] = 0x41;
		e.b[e.n++] = (uint8_t)(t->op[0] + (r & 7));
		break;
	case S_PUSH_I8:
	case S_PUSH_IZ: {
		unsigned isz = t->ext == S_PUSH_I8 ? 1 : sz == 2 ? 2 : 4;
		uint32_t imm = (uint32_t)operand(isz);

		if (sz == 2)
			e.b[e.n++] = 0x66;
		e.b[e.n++] = t->op[0];
		memcpy(e.b + e.n, &imm, isz);
		e.n += isz;
		break;
	}
	case S_PUSH_M:
	case S_POP_M:
	case S_CALL_M:
	case S_JMP_M:
		reg = t->ext == S_PUSH_M ? 6 : t->ext == S_POP_M ? 0 :
		    t->ext == S_CALL_M ? 2 : 4;
		make_memop(&m, &c, target, false, 0);
		encode(&e, pfx, np, false, false, op, 1, reg, &m);
		aim_rip(&e, &m, 0, target);
		if (t->ext == S_CALL_M || t->ext == S_JMP_M) {
			put(target, far, 8);
			branch = true;
		}
		break;
	case S_CALL_REL: {
		int32_t rel;

		e.b[e.n++] = 0xe8;
		rel = (int32_t)(far - (diff_host_rip() + 5));
		memcpy(e.b + e.n, &rel, 4);
		e.n += 4;
		branch = true;
		break;
	}
	case S_CALL_R:
		do {
			r = rndn(16);
		} while (r == 4);
		c.g[r] = far;
		if (r >= 8)
			e.b[e.n++] = 0x41;
		e.b[e.n++] = 0xff;
		e.b[e.n++] = (uint8_t)(0xd0 | (r & 7));
		branch = true;
		break;
	case S_RET:
	case S_RET_I:
		e.b[e.n++] = t->op[0];
		if (t->ext == S_RET_I) {
			uint16_t iw = (uint16_t)rnd();

			memcpy(e.b + e.n, &iw, 2);
			e.n += 2;
		}
		put(c.g[4], far, 8);
		branch = true;
		break;
	default:	/* S_LEAVE */
		c.g[5] = (uintptr_t)hbuf + 4096 + rndn(512);
		if (sz == 2)
			e.b[e.n++] = 0x66;
		e.b[e.n++] = 0xc9;
		break;
	}
	return compare(t->name, &e, &c, t->undef, branch);
}

int
main(int argc, char **argv)
{
	unsigned per_group = argc > 1 ? (unsigned)atoi(argv[1]) : 60;
	size_t i;
	const char *s;

	hbuf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (hbuf == MAP_FAILED || diff_host_init() == -1) {
		printf("SKIP: emul_diff: no executable low memory: %s\n",
		    strerror(errno));
		return 0;
	}
	for (i = 0; i < sizeof(tmpls) / sizeof(tmpls[0]); i++) {
		const struct tmpl *t = &tmpls[i];
		bool sse = is_sse(t);

		for (s = t->sizes; *s; s++) {
			unsigned sz = sse ? 8 : (unsigned)(*s - '0'), n;
			unsigned long before = total_mismatch;
			unsigned long cases = total_cases;

			for (n = 0; n < per_group; n++) {
				if (t->kind == K_STR)
					run_string_case(t, sz);
				else if (t->kind == K_STK)
					run_stack_case(t, sz);
				else
					run_modrm_case(t, sz);
			}
			if (total_mismatch != before)
				continue;
			if (sse)
				printf("PASS: diff_%s (%lu cases)\n", t->name,
				    total_cases - cases);
			else
				printf("PASS: diff_%s_%u (%lu cases)\n",
				    t->name, sz * 8, total_cases - cases);
			if (sse)
				break;
		}
	}
	if (printed > MAX_PRINTED)
		printf("FAIL: emul_diff: %lu more mismatches not printed\n",
		    printed - MAX_PRINTED);
	printf("# emul_diff: %lu cases compared, %lu mismatches\n",
	    total_cases, total_mismatch);
	if (total_cases < 10000) {
		printf("FAIL: emul_diff: only %lu cases compared\n",
		    total_cases);
		return 1;
	}
	return total_mismatch ? 1 : 0;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * emul_diff: differential test of the emulator core against the host CPU.
 *
 * Each case encodes one instruction (random registers, addressing form,
 * prefixes, operand values from a fixed-seed generator mixed with edge
 * values), runs it natively inside a generated code stub on an ordinary
 * buffer, then decodes the same bytes with x86_decode() and runs them
 * through x86_emul() on a copy of the buffer reached through the memory
 * interface. Registers, RIP, memory and RFLAGS (minus the flags the
 * instruction leaves undefined) must match bit for bit.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <nvmm.h>

#include "x86_decode.h"
#include "x86_emul.h"

#define BUF_SIZE	16384
#define STUB_SIZE	4096
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
/* Host execution: a stub that loads a register file and RFLAGS, runs the  */
/* instruction, and stores them back. RSP is the host stack: never used.   */

struct hctx {
	uint64_t g[16];
	uint64_t rflags;
};

static uint8_t *stub;
static size_t insn_off;		/* where the instruction starts in the stub */
static uint8_t *hbuf;		/* host data, below 2 GiB */
static uint8_t ebuf[BUF_SIZE];	/* the emulator's copy */

static size_t
emit(uint8_t *p, const char *bytes, size_t n)
{
	memcpy(p, bytes, n);
	return n;
}

/* mov reg, [rdi + 8*reg] (load != 0) or mov [rdi + 8*reg], reg. */
static size_t
emit_regmove(uint8_t *p, unsigned reg, bool load)
{
	p[0] = (uint8_t)(0x48 | (reg >= 8 ? 0x4 : 0));
	p[1] = load ? 0x8b : 0x89;
	p[2] = (uint8_t)(0x47 | ((reg & 7) << 3));
	p[3] = (uint8_t)(8 * reg);
	return 4;
}

static size_t
build_prologue(void)
{
	uint8_t *p = stub;
	unsigned r;

	/* push rbx rbp r12 r13 r14 r15; push rdi */
	p += emit(p, "\x53\x55\x41\x54\x41\x55\x41\x56\x41\x57\x57", 11);
	/* push qword [rdi+0x80]; popfq */
	p += emit(p, "\xff\xb7\x80\x00\x00\x00\x9d", 7);
	for (r = 0; r < 16; r++) {
		if (r == 4 || r == 7)
			continue;
		p += emit_regmove(p, r, true);
	}
	p += emit_regmove(p, 7, true);
	return (size_t)(p - stub);
}

static void
build_epilogue(uint8_t *p)
{
	unsigned r;

	/* pushfq; push rdi; mov rdi, [rsp+16] */
	p += emit(p, "\x9c\x57\x48\x8b\x7c\x24\x10", 7);
	for (r = 0; r < 16; r++) {
		if (r == 4 || r == 7)
			continue;
		p += emit_regmove(p, r, false);
	}
	/* pop rax; mov [rdi+0x38], rax; pop rax; mov [rdi+0x80], rax */
	p += emit(p, "\x58\x48\x89\x47\x38\x58\x48\x89\x87\x80\x00\x00\x00",
	    13);
	/* cld; pop rdi; pop r15 r14 r13 r12 rbp rbx; ret */
	p += emit(p, "\xfc\x5f\x41\x5f\x41\x5e\x41\x5d\x41\x5c\x5d\x5b\xc3",
	    13);
}

static void
host_run(const uint8_t *insn, size_t len, struct hctx *ctx)
{
	memcpy(stub + insn_off, insn, len);
	build_epilogue(stub + insn_off + len);
	__builtin___clear_cache((char *)stub, (char *)stub + STUB_SIZE);
	((void (*)(struct hctx *))(void *)stub)(ctx);
}

/* ------------------------------------------------------------------------ */
/* Emulator memory: host addresses of hbuf map onto ebuf.                    */

static unsigned emu_bad;

static uint8_t *
emu_addr(uint64_t off, size_t size)
{
	uint64_t base = (uint64_t)(uintptr_t)hbuf;

	if (off < base || off + size > base + BUF_SIZE) {
		emu_bad++;
		return NULL;
	}
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
};

/* ------------------------------------------------------------------------ */
/* Instruction encoder for the cases.                                        */

struct enc {
	uint8_t b[16];
	size_t n;
};

struct memop {
	int base;		/* GPR, 16 = RIP, -1 none */
	int index;		/* GPR or -1 */
	unsigned scale;
	int32_t disp;
	bool addr32;
};

/*
 * Encode [prefixes] [REX] opcode(s) ModRM [SIB] [disp] for register field
 * `reg` and memory operand `m`. `force_rex` emits REX even when no bit is
 * set (SPL..DIL byte registers).
 */
static void
encode(struct enc *e, const uint8_t *pfx, size_t npfx, bool w,
    bool force_rex, const uint8_t *op, size_t nop, unsigned reg,
    const struct memop *m)
{
	uint8_t rex = 0x40, modrm, sib = 0;
	bool need_sib = false;
	unsigned mod, dsz;

	e->n = 0;
	memcpy(e->b, pfx, npfx);
	e->n = npfx;
	if (m->addr32)
		e->b[e->n++] = 0x67;
	if (w)
		rex |= 0x8;
	if (reg & 8)
		rex |= 0x4;
	if (m->index >= 8)
		rex |= 0x2;
	if (m->base >= 8 && m->base != 16)
		rex |= 0x1;
	if (rex != 0x40 || force_rex)
		e->b[e->n++] = rex;
	memcpy(e->b + e->n, op, nop);
	e->n += nop;

	if (m->base == 16) {
		mod = 0;
		modrm = (uint8_t)(((reg & 7) << 3) | 5);
		dsz = 4;
	} else {
		if (m->base < 0)
			dsz = 4;
		else if (m->disp == 0 && (m->base & 7) != 5)
			dsz = 0;
		else if (m->disp >= -128 && m->disp <= 127)
			dsz = 1;
		else
			dsz = 4;
		mod = m->base < 0 ? 0 : dsz == 0 ? 0 : dsz == 1 ? 1 : 2;
		if (m->index >= 0 || m->base < 0 || (m->base & 7) == 4) {
			need_sib = true;
			sib = (uint8_t)((__builtin_ctz(m->scale) << 6) |
			    ((m->index >= 0 ? m->index & 7 : 4) << 3) |
			    (m->base >= 0 ? m->base & 7 : 5));
		}
		modrm = (uint8_t)((mod << 6) | ((reg & 7) << 3) |
		    (need_sib ? 4 : (unsigned)(m->base & 7)));
	}
	e->b[e->n++] = modrm;
	if (need_sib)
		e->b[e->n++] = sib;
	memcpy(e->b + e->n, &m->disp, dsz);
	e->n += dsz;
}

/* ------------------------------------------------------------------------ */
/* Cases.                                                                    */

enum kind { K_EG, K_GE, K_EI, K_E, K_MOFFS, K_BTR, K_BTI, K_STR };

struct tmpl {
	const char *name;
	enum kind kind;
	uint8_t op[2];
	uint8_t nop;
	uint8_t ext;		/* ModRM.reg for K_EI/K_E/K_BTI */
	uint8_t imm;		/* immediate bytes: 1, or 4 = "z" */
	bool byte;		/* byte operand */
	bool lockable;
	uint64_t undef;		/* flags left undefined */
	const char *sizes;	/* operand sizes to run ("1", "248", ...) */
};

#define LOGIC_UNDEF	X86_RFLAGS_AF
#define BT_UNDEF	(X86_RFLAGS_OF | X86_RFLAGS_SF | X86_RFLAGS_AF | \
			 X86_RFLAGS_PF)

static const struct tmpl tmpls[] = {
	{ "mov_store", K_EG, { 0x89 }, 1, 0, 0, false, false, 0, "248" },
	{ "mov_store", K_EG, { 0x88 }, 1, 0, 0, true, false, 0, "1" },
	{ "mov_load", K_GE, { 0x8b }, 1, 0, 0, false, false, 0, "248" },
	{ "mov_load", K_GE, { 0x8a }, 1, 0, 0, true, false, 0, "1" },
	{ "mov_imm", K_EI, { 0xc7 }, 1, 0, 4, false, false, 0, "248" },
	{ "mov_imm", K_EI, { 0xc6 }, 1, 0, 1, true, false, 0, "1" },
	{ "mov_moffs_load", K_MOFFS, { 0xa1 }, 1, 0, 0, false, false, 0, "248" },
	{ "mov_moffs_load", K_MOFFS, { 0xa0 }, 1, 0, 0, true, false, 0, "1" },
	{ "mov_moffs_store", K_MOFFS, { 0xa3 }, 1, 0, 0, false, false, 0, "248" },
	{ "mov_moffs_store", K_MOFFS, { 0xa2 }, 1, 0, 0, true, false, 0, "1" },
	{ "movzx_b", K_GE, { 0x0f, 0xb6 }, 2, 0, 0, false, false, 0, "248" },
	{ "movzx_w", K_GE, { 0x0f, 0xb7 }, 2, 0, 0, false, false, 0, "48" },
	{ "movsx_b", K_GE, { 0x0f, 0xbe }, 2, 0, 0, false, false, 0, "248" },
	{ "movsx_w", K_GE, { 0x0f, 0xbf }, 2, 0, 0, false, false, 0, "48" },
#define ALU(n, o, ext, u)						\
	{ n "_eg", K_EG, { (o) + 1 }, 1, 0, 0, false, ext != 7, u, "248" }, \
	{ n "_eg", K_EG, { (o) }, 1, 0, 0, true, ext != 7, u, "1" },	\
	{ n "_ge", K_GE, { (o) + 3 }, 1, 0, 0, false, false, u, "248" },	\
	{ n "_ge", K_GE, { (o) + 2 }, 1, 0, 0, true, false, u, "1" },	\
	{ n "_iz", K_EI, { 0x81 }, 1, ext, 4, false, ext != 7, u, "248" }, \
	{ n "_ib", K_EI, { 0x83 }, 1, ext, 1, false, ext != 7, u, "248" }, \
	{ n "_ib", K_EI, { 0x80 }, 1, ext, 1, true, ext != 7, u, "1" }
	ALU("add", 0x00, 0, 0),
	ALU("or", 0x08, 1, LOGIC_UNDEF),
	ALU("adc", 0x10, 2, 0),
	ALU("sbb", 0x18, 3, 0),
	ALU("and", 0x20, 4, LOGIC_UNDEF),
	ALU("sub", 0x28, 5, 0),
	ALU("xor", 0x30, 6, LOGIC_UNDEF),
	ALU("cmp", 0x38, 7, 0),
#undef ALU
	{ "test_eg", K_EG, { 0x85 }, 1, 0, 0, false, false, LOGIC_UNDEF, "248" },
	{ "test_eg", K_EG, { 0x84 }, 1, 0, 0, true, false, LOGIC_UNDEF, "1" },
	{ "test_iz", K_EI, { 0xf7 }, 1, 0, 4, false, false, LOGIC_UNDEF, "248" },
	{ "test_ib", K_EI, { 0xf6 }, 1, 0, 1, true, false, LOGIC_UNDEF, "1" },
	{ "not", K_E, { 0xf7 }, 1, 2, 0, false, true, 0, "248" },
	{ "not", K_E, { 0xf6 }, 1, 2, 0, true, true, 0, "1" },
	{ "neg", K_E, { 0xf7 }, 1, 3, 0, false, true, 0, "248" },
	{ "neg", K_E, { 0xf6 }, 1, 3, 0, true, true, 0, "1" },
	{ "xchg", K_EG, { 0x87 }, 1, 0, 0, false, true, 0, "248" },
	{ "xchg", K_EG, { 0x86 }, 1, 0, 0, true, true, 0, "1" },
	{ "bt_r", K_BTR, { 0x0f, 0xa3 }, 2, 0, 0, false, false, BT_UNDEF, "248" },
	{ "bts_r", K_BTR, { 0x0f, 0xab }, 2, 0, 0, false, true, BT_UNDEF, "248" },
	{ "btr_r", K_BTR, { 0x0f, 0xb3 }, 2, 0, 0, false, true, BT_UNDEF, "248" },
	{ "btc_r", K_BTR, { 0x0f, 0xbb }, 2, 0, 0, false, true, BT_UNDEF, "248" },
	{ "bt_i", K_BTI, { 0x0f, 0xba }, 2, 4, 1, false, false, BT_UNDEF, "248" },
	{ "bts_i", K_BTI, { 0x0f, 0xba }, 2, 5, 1, false, true, BT_UNDEF, "248" },
	{ "btr_i", K_BTI, { 0x0f, 0xba }, 2, 6, 1, false, true, BT_UNDEF, "248" },
	{ "btc_i", K_BTI, { 0x0f, 0xba }, 2, 7, 1, false, true, BT_UNDEF, "248" },
	{ "movs", K_STR, { 0xa5 }, 1, 0, 0, false, false, 0, "248" },
	{ "movs", K_STR, { 0xa4 }, 1, 0, 0, true, false, 0, "1" },
	{ "stos", K_STR, { 0xab }, 1, 0, 0, false, false, 0, "248" },
	{ "stos", K_STR, { 0xaa }, 1, 0, 0, true, false, 0, "1" },
	{ "lods", K_STR, { 0xad }, 1, 0, 0, false, false, 0, "248" },
	{ "lods", K_STR, { 0xac }, 1, 0, 0, true, false, 0, "1" },
	{ "cmps", K_STR, { 0xa7 }, 1, 0, 0, false, false, 0, "248" },
	{ "cmps", K_STR, { 0xa6 }, 1, 0, 0, true, false, 0, "1" },
};

static unsigned long total_cases, total_mismatch, printed;

static unsigned
pick_reg(bool allow_hi8)
{
	unsigned r;

	do {
		r = rndn(allow_hi8 ? 8 : 16);
	} while (r == 4 && !allow_hi8);
	return r;
}

/* A random memory operand whose effective address is `target`. */
static void
make_memop(struct memop *m, struct hctx *c, uint64_t target, bool low8,
    int avoid, uint64_t rip_next)
{
	unsigned form = rndn(10);
	uint64_t idxv = 0;

	memset(m, 0, sizeof(*m));
	m->scale = 1u << rndn(4);
	m->addr32 = rndn(4) == 0;
	m->index = -1;
	if (form == 0 && !low8) {
		m->base = 16;	/* RIP-relative, fixed up by the caller */
		m->disp = (int32_t)(target - rip_next);
		return;
	}
	if (form == 1) {
		m->base = -1;	/* absolute disp32 */
		m->disp = (int32_t)target;
		return;
	}
	do {
		m->base = (int)rndn(low8 ? 8 : 16);
	} while (m->base == 4 || m->base == avoid);
	switch (rndn(3)) {
	case 0: m->disp = 0; break;
	case 1: m->disp = (int8_t)rnd(); break;
	default: m->disp = (int32_t)(rnd() % 0x10000) - 0x8000; break;
	}
	if (form >= 6) {
		do {
			m->index = (int)rndn(low8 ? 8 : 16);
		} while (m->index == 4 || m->index == m->base ||
		    m->index == avoid);
		idxv = rnd() % 64;
		if (m->addr32)
			idxv |= rnd() << 32;
		c->g[m->index] = idxv;
	}
	c->g[m->base] = target - (uint64_t)(int64_t)m->disp - idxv * m->scale;
	if (m->addr32)
		c->g[m->base] = (c->g[m->base] & 0xffffffff) | (rnd() << 32);
}

static void
fill_buffers(void)
{
	size_t i;

	for (i = 0; i < BUF_SIZE; i += 8) {
		uint64_t v = rnd();

		memcpy(hbuf + i, &v, 8);
	}
	memcpy(ebuf, hbuf, BUF_SIZE);
}

static void
put(uint64_t addr, uint64_t v, unsigned size)
{
	uint8_t *p = hbuf + (addr - (uintptr_t)hbuf);

	memcpy(p, &v, size);
	memcpy(ebuf + (addr - (uintptr_t)hbuf), &v, size);
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

/* Run one encoded instruction on both sides and compare. */
static bool
compare(const char *group, const struct enc *e, const struct hctx *in,
    uint64_t undef, bool string)
{
	struct hctx h = *in;
	struct x86_insn insn;
	uint64_t g[NVMM_X64_NGPR], rip0, m;
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
	host_run(e->b, e->n, &h);

	memcpy(g, in->g, sizeof(in->g));
	rip0 = (uint64_t)(uintptr_t)(stub + insn_off);
	g[NVMM_X64_GPR_RIP] = rip0;
	g[NVMM_X64_GPR_RFLAGS] = in->rflags;
	emu_bad = 0;
	do {
		unsigned max = string ? 1 + rndn(4) : 1;

		if (x86_emul(&insn, g, &emu_mem, max) == -1) {
			report(group, e, "emulation failed, errno", 0,
			    (uint64_t)errno);
			return false;
		}
	} while (g[NVMM_X64_GPR_RIP] == rip0 && ++loops < 10000);

	if (g[NVMM_X64_GPR_RIP] != rip0 + e->n) {
		report(group, e, "rip", rip0 + e->n, g[NVMM_X64_GPR_RIP]);
		return false;
	}
	for (r = 0; r < 16; r++) {
		if (r != 4 && h.g[r] != g[r]) {
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
	return true;
}

static uint64_t
random_flags(void)
{
	return 0x2 | (rnd() & (X86_RFLAGS_ARITH));
}

/* Cases of ModRM/moffs instructions for template t at size sz. */
static bool
run_modrm_case(const struct tmpl *t, unsigned sz)
{
	struct hctx c;
	struct memop m;
	struct enc e;
	uint8_t pfx[4];
	size_t np = 0;
	bool byte = t->byte, hi8 = byte && rndn(3) == 0;
	bool force_rex = byte && !hi8 && rndn(2);
	uint64_t target = (uintptr_t)hbuf + BUF_SIZE / 2 - 64 + rndn(128);
	uint64_t rip_next, val;
	unsigned reg, r, imm = 0, isz = 0;
	bool w = sz == 8;

	fill_buffers();
	for (r = 0; r < 16; r++)
		c.g[r] = operand(8);
	c.rflags = random_flags();
	if (sz == 2)
		pfx[np++] = 0x66;
	if (t->lockable && rndn(4) == 0)
		pfx[np++] = 0xf0;

	if (t->kind == K_MOFFS) {
		bool a32 = rndn(3) == 0;

		e.n = 0;
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
		return compare(t->name, &e, &c, t->undef, false);
	}

	if (t->kind == K_EI || t->kind == K_BTI)
		isz = t->imm == 4 ? (sz == 2 ? 2 : 4) : 1;
	reg = t->kind == K_EI || t->kind == K_E || t->kind == K_BTI ?
	    t->ext : pick_reg(hi8);
	/* An estimate of the length for RIP-relative: fixed up below. */
	rip_next = 0;
	make_memop(&m, &c, target, hi8, (int)reg, rip_next);
	encode(&e, pfx, np, w, force_rex, t->op, t->nop, reg, &m);
	if (isz) {
		imm = (unsigned)operand(isz);
		if (t->kind == K_BTI && rndn(2))
			imm = rndn(256);
		memcpy(e.b + e.n, &imm, isz);
		e.n += isz;
	}
	if (m.base == 16) {
		/* Now that the length is known, aim the displacement. */
		size_t doff = e.n - isz - 4;
		int32_t d;

		rip_next = (uintptr_t)(stub + insn_off) + e.n;
		d = (int32_t)(target - rip_next);
		memcpy(e.b + doff, &d, 4);
	}
	if (t->kind == K_BTR) {
		/* Bit offset reaching up to +-2 KiB around the operand. */
		int64_t off = (int64_t)(rnd() % 32768) - 16384;

		if (sz == 2)
			off = (int16_t)off;
		c.g[reg] = (uint64_t)off;
		if (m.index == (int)reg || m.base == (int)reg)
			return true;	/* not representable: skip */
	}
	val = operand(sz);
	put(target, val, t->kind == K_GE && t->op[0] == 0x0f ?
	    ((t->op[1] & 1) ? 2 : 1) : sz);
	return compare(t->name, &e, &c, t->undef, false);
}

static bool
run_string_case(const struct tmpl *t, unsigned sz)
{
	struct hctx c;
	struct enc e;
	unsigned r, count = rndn(24);
	bool df = rndn(3) == 0, a32 = rndn(3) == 0;
	uint64_t src, dst;
	bool is_cmps = t->op[0] == 0xa6 || t->op[0] == 0xa7;
	unsigned rep = rndn(3);	/* 0 none, 1 F3, 2 F2 (CMPS only) */

	if (rep == 2 && !is_cmps)
		rep = 1;
	fill_buffers();
	for (r = 0; r < 16; r++)
		c.g[r] = operand(8);
	c.rflags = random_flags() | (df ? X86_RFLAGS_DF : 0);
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
	return compare(t->name, &e, &c, t->undef, true);
}

int
main(int argc, char **argv)
{
	unsigned per_group = argc > 1 ? (unsigned)atoi(argv[1]) : 60;
	size_t i;
	const char *s;

	stub = mmap(NULL, STUB_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	hbuf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (stub == MAP_FAILED || hbuf == MAP_FAILED) {
		printf("SKIP: emul_diff: no executable low memory: %s\n",
		    strerror(errno));
		return 0;
	}
	insn_off = build_prologue();

	for (i = 0; i < sizeof(tmpls) / sizeof(tmpls[0]); i++) {
		const struct tmpl *t = &tmpls[i];

		for (s = t->sizes; *s; s++) {
			unsigned sz = (unsigned)(*s - '0'), n;
			unsigned long before = total_mismatch;
			unsigned long cases = total_cases;

			for (n = 0; n < per_group; n++) {
				if (t->kind == K_STR)
					run_string_case(t, sz);
				else
					run_modrm_case(t, sz);
			}
			if (total_mismatch == before)
				printf("PASS: diff_%s_%u (%lu cases)\n", t->name,
				    sz * 8, total_cases - cases);
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

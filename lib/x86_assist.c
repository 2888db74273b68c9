/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x86_assist.c: nvmm_assist_io and nvmm_assist_mem for backends that
 * execute nothing themselves, written only against the public API:
 * nvmm_vcpu_getstate/setstate, nvmm_gpa_to_hva, vcpu->cbs and vcpu->exit.
 * Guest-virtual accesses go segment -> x86_walk() -> RAM or MMIO callback.
 */
#include <errno.h>
#include <string.h>

#include <nvmm.h>

#include "x86_assist.h"
#include "x86_decode.h"
#include "x86_emul.h"
#include "x86_walk.h"

#define CR0_PE		0x1ULL
#define EFER_LMA	0x400ULL
#define RFLAGS_VM	0x20000ULL
#define RFLAGS_DF	0x400ULL
#define PAGE_SIZE	4096ULL

#define ASSIST_STATE	(NVMM_X64_STATE_GPRS | NVMM_X64_STATE_SEGS | \
			 NVMM_X64_STATE_CRS | NVMM_X64_STATE_MSRS)

struct assist {
	struct nvmm_machine *mach;
	struct nvmm_vcpu *vcpu;
	struct nvmm_x64_state *st;
	struct x86_paging pg;
	struct x86_guest_mem gm;
	enum x86_code_size cs;
};

static uint64_t
amask(unsigned size)
{
	return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

static uint8_t *
gpa_to_ptr(void *ctx, uint64_t gpa, nvmm_prot_t *prot)
{
	struct assist *a = ctx;
	uintptr_t hva;

	if (nvmm_gpa_to_hva(a->mach, gpa, &hva, prot) == -1)
		return NULL;
	return (uint8_t *)hva;
}

static int
assist_init(struct assist *a, struct nvmm_machine *mach,
    struct nvmm_vcpu *vcpu)
{
	struct nvmm_x64_state *st;

	if (nvmm_vcpu_getstate(mach, vcpu, ASSIST_STATE) == -1)
		return -1;
	st = vcpu->state;
	memset(a, 0, sizeof(*a));
	a->mach = mach;
	a->vcpu = vcpu;
	a->st = st;
	a->pg.cr0 = st->crs[NVMM_X64_CR_CR0];
	a->pg.cr3 = st->crs[NVMM_X64_CR_CR3];
	a->pg.cr4 = st->crs[NVMM_X64_CR_CR4];
	a->pg.efer = st->msrs[NVMM_X64_MSR_EFER];
	a->pg.rflags = st->gprs[NVMM_X64_GPR_RFLAGS];
	a->gm.ctx = a;
	a->gm.gpa_to_ptr = gpa_to_ptr;
	if (!(a->pg.cr0 & CR0_PE)) {
		a->cs = X86_CODE16;
		a->pg.cpl = 0;
	} else if (a->pg.rflags & RFLAGS_VM) {
		a->cs = X86_CODE16;
		a->pg.cpl = 3;
	} else {
		const struct nvmm_x64_state_seg *cs = &st->segs[NVMM_X64_SEG_CS];

		if ((a->pg.efer & EFER_LMA) && cs->attrib.l)
			a->cs = X86_CODE64;
		else
			a->cs = cs->attrib.def ? X86_CODE32 : X86_CODE16;
		a->pg.cpl = st->segs[NVMM_X64_SEG_SS].attrib.dpl;
	}
	return 0;
}

/*
 * Linear address of seg:off for an access of `size` bytes. 64-bit mode:
 * only FS and GS have a base, no limit. Other modes: limit check
 * (expand-down data segments included), 32-bit wrap.
 */
static int
seg_linear(const struct assist *a, int seg, uint64_t off, size_t size,
    uint64_t *la)
{
	const struct nvmm_x64_state_seg *s;
	uint64_t last, upper;

	if (seg < 0 || seg > NVMM_X64_SEG_GS) {
		errno = EINVAL;
		return -1;
	}
	s = &a->st->segs[seg];
	if (a->cs == X86_CODE64) {
		*la = off;
		if (seg == NVMM_X64_SEG_FS || seg == NVMM_X64_SEG_GS)
			*la += s->base;
		return 0;
	}
	last = off + size - 1;
	if (s->attrib.s && !(s->attrib.type & 0x8) && (s->attrib.type & 0x4)) {
		upper = s->attrib.def ? 0xffffffffULL : 0xffffULL;
		if (off <= s->limit || last > upper) {
			errno = EFAULT;
			return -1;
		}
	} else if (last > s->limit) {
		errno = EFAULT;
		return -1;
	}
	*la = (s->base + off) & 0xffffffffULL;
	return 0;
}

enum vacc { V_READ, V_WRITE, V_FETCH };

/*
 * Access `size` bytes at linear address `la`, page by page: RAM with the
 * needed protection is copied, anything else goes to the mem callback
 * (fetches must be RAM).
 */
static int
vaccess(const struct assist *a, uint64_t la, uint8_t *buf, size_t size,
    enum vacc kind)
{
	unsigned access = 0;
	nvmm_prot_t need = kind == V_WRITE ? NVMM_PROT_WRITE : NVMM_PROT_READ;

	if (kind == V_WRITE)
		access |= X86_PF_W;
	if (kind == V_FETCH)
		access |= X86_PF_I;
	if (a->pg.cpl == 3)
		access |= X86_PF_U;
	while (size > 0) {
		size_t n = PAGE_SIZE - (la & (PAGE_SIZE - 1));
		nvmm_prot_t prot, mprot;
		uint64_t gpa;
		uintptr_t hva;
		uint32_t pferr;

		if (n > size)
			n = size;
		if (x86_walk(&a->pg, &a->gm, la, access,
		    X86_WALK_CHECK | X86_WALK_SET_AD, &gpa, &prot, &pferr) == -1)
			return -1;
		if (nvmm_gpa_to_hva(a->mach, gpa, &hva, &mprot) == 0 &&
		    (mprot & need) == need) {
			if (kind == V_WRITE)
				memcpy((void *)hva, buf, n);
			else
				memcpy(buf, (const void *)hva, n);
		} else if (kind == V_FETCH) {
			errno = EFAULT;
			return -1;
		} else {
			struct nvmm_mem m;

			if (a->vcpu->cbs.mem == NULL) {
				errno = EINVAL;
				return -1;
			}
			m.mach = a->mach;
			m.vcpu = a->vcpu;
			m.gpa = gpa;
			m.write = kind == V_WRITE;
			m.size = n;
			m.data = buf;
			a->vcpu->cbs.mem(&m);
		}
		la += n;
		if (a->cs != X86_CODE64)
			la &= 0xffffffffULL;
		buf += n;
		size -= n;
	}
	return 0;
}

/* Up to 15 bytes at CS:RIP; *n receives how many could be fetched. */
static int
fetch_insn(const struct assist *a, uint8_t *bytes, size_t *n)
{
	uint64_t rip = a->st->gprs[NVMM_X64_GPR_RIP], la;
	size_t want = 15, first;
	const struct nvmm_x64_state_seg *cs = &a->st->segs[NVMM_X64_SEG_CS];

	if (a->cs != X86_CODE64) {
		if (rip > cs->limit) {
			errno = EFAULT;
			return -1;
		}
		if (cs->limit - rip + 1 < want)
			want = (size_t)(cs->limit - rip + 1);
		la = (cs->base + rip) & 0xffffffffULL;
	} else {
		la = rip;
	}
	first = (size_t)(PAGE_SIZE - (la & (PAGE_SIZE - 1)));
	if (first >= want) {
		if (vaccess(a, la, bytes, want, V_FETCH) == -1)
			return -1;
		*n = want;
		return 0;
	}
	if (vaccess(a, la, bytes, first, V_FETCH) == -1)
		return -1;
	*n = first;
	la += first;
	if (a->cs != X86_CODE64)
		la &= 0xffffffffULL;
	/* The next page may legitimately be unreachable. */
	if (vaccess(a, la, bytes + first, want - first, V_FETCH) == 0)
		*n = want;
	return 0;
}

static int
decode_at_rip(const struct assist *a, struct x86_insn *insn)
{
	uint8_t bytes[15];
	size_t n;

	if (fetch_insn(a, bytes, &n) == -1)
		return -1;
	return x86_decode(bytes, n, a->cs, insn);
}

/* ------------------------------------------------------------------------ */
/* Memory interface of the emulation core.                                   */

static int
core_read(void *ctx, int seg, uint64_t off, void *buf, size_t size)
{
	const struct assist *a = ctx;
	uint64_t la;

	if (seg_linear(a, seg, off, size, &la) == -1)
		return -1;
	return vaccess(a, la, buf, size, V_READ);
}

static int
core_write(void *ctx, int seg, uint64_t off, const void *buf, size_t size)
{
	const struct assist *a = ctx;
	uint8_t tmp[8];
	uint64_t la;

	if (size > sizeof(tmp)) {
		errno = EINVAL;
		return -1;
	}
	if (seg_linear(a, seg, off, size, &la) == -1)
		return -1;
	memcpy(tmp, buf, size);
	return vaccess(a, la, tmp, size, V_WRITE);
}

static int
commit(struct assist *a, const uint64_t *saved, int err)
{
	if (memcmp(saved, a->st->gprs, sizeof(a->st->gprs)) != 0 &&
	    nvmm_vcpu_setstate(a->mach, a->vcpu, NVMM_X64_STATE_GPRS) == -1)
		return -1;
	errno = err;
	return -1;
}

int
x86_assist_mem_generic(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu)
{
	struct x86_emul_mem core = { NULL, core_read, core_write };
	uint64_t saved[NVMM_X64_NGPR];
	struct x86_insn insn;
	struct assist a;
	const struct nvmm_x86_exit_memory *em;
	int r;

	if (mach == NULL || vcpu == NULL || vcpu->exit == NULL ||
	    vcpu->state == NULL ||
	    vcpu->exit->reason != NVMM_VCPU_EXIT_MEMORY ||
	    vcpu->cbs.mem == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (assist_init(&a, mach, vcpu) == -1)
		return -1;
	em = &vcpu->exit->u.mem;
	r = -1;
	if (em->inst_len > 0 && em->inst_len <= sizeof(em->inst_bytes)) {
		r = x86_decode(em->inst_bytes, em->inst_len, a.cs, &insn);
		if (r == -1 && errno != EFAULT)
			return -1;
	}
	if (r == -1 && decode_at_rip(&a, &insn) == -1)
		return -1;
	if (insn.op == X86_OP_IN || insn.op == X86_OP_OUT ||
	    insn.op == X86_OP_INS || insn.op == X86_OP_OUTS) {
		errno = ENODEV;
		return -1;
	}
	core.ctx = &a;
	memcpy(saved, a.st->gprs, sizeof(saved));
	if (x86_emul(&insn, a.st->gprs, &core, X86_ASSIST_MEM_MAX_ELEMS) == -1)
		return commit(&a, saved, errno);
	return nvmm_vcpu_setstate(mach, vcpu, NVMM_X64_STATE_GPRS);
}

/* ------------------------------------------------------------------------ */
/* Port IO.                                                                  */

static void
areg_set(uint64_t *g, unsigned n, unsigned adsize, uint64_t v)
{
	if (adsize == 2)
		g[n] = (g[n] & ~0xffffULL) | (v & 0xffff);
	else
		g[n] = v & amask(adsize);
}

static int
io_string(struct assist *a, const struct nvmm_x86_exit_io *io)
{
	uint64_t *g = a->st->gprs, saved[NVMM_X64_NGPR], count, step;
	unsigned size = io->operand_size, as = io->address_size, done = 0;
	unsigned idx = io->in ? NVMM_X64_GPR_RDI : NVMM_X64_GPR_RSI;
	uint64_t am;
	int seg;

	if (as != 2 && as != 4 && as != 8) {
		struct x86_insn insn;

		if (decode_at_rip(a, &insn) == -1)
			return -1;
		as = insn.adsize;
	}
	am = amask(as);
	if (io->in) {
		seg = NVMM_X64_SEG_ES;
	} else if (io->seg >= 0) {
		seg = io->seg;
	} else {
		struct x86_insn insn;

		if (decode_at_rip(a, &insn) == -1)
			return -1;
		seg = insn.seg >= 0 ? insn.seg : NVMM_X64_SEG_DS;
	}
	step = (g[NVMM_X64_GPR_RFLAGS] & RFLAGS_DF) ? -(uint64_t)size : size;
	count = io->rep ? g[NVMM_X64_GPR_RCX] & am : 1;
	memcpy(saved, g, sizeof(saved));
	while (count > 0 && done < X86_ASSIST_IO_MAX_ELEMS) {
		uint64_t off = g[idx] & am, la;
		uint8_t data[8] = { 0 };
		struct nvmm_io x = { a->mach, a->vcpu, io->port, io->in, size,
		    data };

		if (seg_linear(a, seg, off, size, &la) == -1)
			return commit(a, saved, errno);
		if (io->in) {
			a->vcpu->cbs.io(&x);
			if (vaccess(a, la, data, size, V_WRITE) == -1)
				return commit(a, saved, errno);
		} else {
			if (vaccess(a, la, data, size, V_READ) == -1)
				return commit(a, saved, errno);
			a->vcpu->cbs.io(&x);
		}
		areg_set(g, idx, as, off + step);
		count--;
		done++;
		if (io->rep)
			areg_set(g, NVMM_X64_GPR_RCX, as, count);
	}
	if (count == 0)
		g[NVMM_X64_GPR_RIP] = io->npc;
	return 0;
}

int
x86_assist_io_generic(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu)
{
	const struct nvmm_x86_exit_io *io;
	struct assist a;
	uint64_t *g;

	if (mach == NULL || vcpu == NULL || vcpu->exit == NULL ||
	    vcpu->state == NULL || vcpu->exit->reason != NVMM_VCPU_EXIT_IO ||
	    vcpu->cbs.io == NULL) {
		errno = EINVAL;
		return -1;
	}
	io = &vcpu->exit->u.io;
	if (io->operand_size != 1 && io->operand_size != 2 &&
	    io->operand_size != 4) {
		errno = EINVAL;
		return -1;
	}
	if (assist_init(&a, mach, vcpu) == -1)
		return -1;
	g = a.st->gprs;
	if (io->str) {
		if (io_string(&a, io) == -1)
			return -1;
	} else {
		uint8_t data[8] = { 0 };
		struct nvmm_io x = { mach, vcpu, io->port, io->in,
		    io->operand_size, data };
		uint64_t v = 0;
		unsigned i;

		if (!io->in)
			for (i = 0; i < io->operand_size; i++)
				data[i] = (uint8_t)(g[NVMM_X64_GPR_RAX] >> (8 * i));
		vcpu->cbs.io(&x);
		if (io->in) {
			for (i = 0; i < io->operand_size; i++)
				v |= (uint64_t)data[i] << (8 * i);
			if (io->operand_size == 4)
				g[NVMM_X64_GPR_RAX] = v;
			else
				g[NVMM_X64_GPR_RAX] = (g[NVMM_X64_GPR_RAX] &
				    ~amask(io->operand_size)) | v;
		}
		g[NVMM_X64_GPR_RIP] = io->npc;
	}
	return nvmm_vcpu_setstate(mach, vcpu, NVMM_X64_STATE_GPRS);
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x86_assist.c: what the generic assists share (VCPU context,
 * segmentation, guest-virtual accesses, instruction fetch), and
 * nvmm_assist_io for backends that execute nothing themselves, written
 * only against the public API: nvmm_vcpu_getstate/setstate,
 * nvmm_gpa_to_hva, vcpu->cbs and vcpu->exit. Guest-virtual accesses go
 * segment -> x86_walk() -> RAM or MMIO callback. nvmm_assist_mem is in
 * x86_assist_mem.c.
 */
#include <errno.h>
#include <string.h>

#include <nvmm.h>

#include "x86_assist.h"
#include "x86_assist_impl.h"

#define CR0_PE		0x1ULL
#define EFER_LMA	0x400ULL
#define RFLAGS_VM	0x20000ULL
#define RFLAGS_DF	0x400ULL

#define ASSIST_STATE	(NVMM_X64_STATE_GPRS | NVMM_X64_STATE_SEGS | \
			 NVMM_X64_STATE_CRS | NVMM_X64_STATE_MSRS)

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

int
x86_assist_init(struct assist *a, struct nvmm_machine *mach,
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

bool
x86_assist_realish(const struct assist *a)
{
	return !(a->pg.cr0 & CR0_PE) || (a->pg.rflags & RFLAGS_VM);
}

int
x86_seg_linear(struct assist *a, int seg, uint64_t off, size_t size,
    bool write, uint64_t *la)
{
	const struct nvmm_x64_state_seg *s;
	unsigned vec = seg == NVMM_X64_SEG_SS ? X86_EXC_SS : X86_EXC_GP;
	uint64_t last, upper;
	unsigned type;

	if (seg < 0 || seg > NVMM_X64_SEG_GS || size == 0) {
		errno = EINVAL;
		return -1;
	}
	s = &a->st->segs[seg];
	if (a->cs == X86_CODE64) {
		*la = off;
		if (seg == NVMM_X64_SEG_FS || seg == NVMM_X64_SEG_GS)
			*la += s->base;
		if (!x86_canonical(&a->pg, *la) ||
		    !x86_canonical(&a->pg, *la + size - 1))
			return x86_exc_set(&a->exc, vec, true, 0);
		return 0;
	}
	type = s->attrib.type;
	if (!x86_assist_realish(a)) {
		/* Unusable (null) segment, then what the type forbids. */
		if (!s->attrib.p || !s->attrib.s)
			return x86_exc_set(&a->exc, vec, true, 0);
		if ((type & 0x8) ? (write || !(type & 0x2)) :
		    (write && !(type & 0x2)))
			return x86_exc_set(&a->exc, vec, true, 0);
	}
	last = off + size - 1;
	if (s->attrib.s && !(type & 0x8) && (type & 0x4)) {
		upper = s->attrib.def ? 0xffffffffULL : 0xffffULL;
		if (off <= s->limit || last > upper)
			return x86_exc_set(&a->exc, vec, true, 0);
	} else if (last > s->limit) {
		return x86_exc_set(&a->exc, vec, true, 0);
	}
	*la = (s->base + off) & 0xffffffffULL;
	return 0;
}

static void
mmio_pieces(struct assist *a, uint64_t gpa, uint8_t *buf, size_t n,
    bool write)
{
	struct nvmm_mem m;
	size_t done, piece;

	for (done = 0; done < n; done += piece) {
		piece = n - done > 8 ? 8 : n - done;
		m.mach = a->mach;
		m.vcpu = a->vcpu;
		m.gpa = gpa + done;
		m.write = write;
		m.size = piece;
		m.data = buf + done;
		a->vcpu->cbs.mem(&m);
	}
}

int
x86_vaccess(struct assist *a, uint64_t la, uint8_t *buf, size_t size,
    enum x86_vacc kind, bool user)
{
	bool wr = kind == V_WRITE || kind == V_PROBE;
	bool probe = kind == V_PROBE || kind == V_PROBE_READ;
	unsigned access = 0, flags = X86_WALK_CHECK;
	nvmm_prot_t need = wr ? NVMM_PROT_WRITE : NVMM_PROT_READ;

	if (wr)
		access |= X86_PF_W;
	if (kind == V_FETCH)
		access |= X86_PF_I;
	if (user && a->pg.cpl == 3)
		access |= X86_PF_U;
	if (!probe)
		flags |= X86_WALK_SET_AD;
	while (size > 0) {
		size_t n = PAGE_SIZE - (la & (PAGE_SIZE - 1));
		nvmm_prot_t prot, mprot;
		uint64_t gpa;
		uintptr_t hva;
		uint32_t pferr;

		if (n > size)
			n = size;
		if (x86_walk(&a->pg, &a->gm, la, access, flags, &gpa, &prot,
		    &pferr) == -1) {
			if (errno != EFAULT || kind == V_FETCH)
				return -1;
			x86_exc_set(&a->exc, X86_EXC_PF, true, pferr);
			a->exc.cr2 = la;
			return -1;
		}
		if (probe) {
			/* Translated: nothing to access. */
		} else if (nvmm_gpa_to_hva(a->mach, gpa, &hva, &mprot) == 0 &&
		    (mprot & need) == need) {
			if (kind == V_WRITE)
				memcpy((void *)hva, buf, n);
			else
				memcpy(buf, (const void *)hva, n);
		} else if (kind == V_FETCH) {
			errno = EFAULT;
			return -1;
		} else if (a->vcpu->cbs.mem == NULL) {
			errno = EINVAL;
			return -1;
		} else {
			mmio_pieces(a, gpa, buf, n, kind == V_WRITE);
		}
		la += n;
		if (a->cs != X86_CODE64)
			la &= 0xffffffffULL;
		if (!probe)
			buf += n;
		size -= n;
	}
	return 0;
}

int
x86_fetch_insn(struct assist *a, uint8_t *bytes, size_t *n)
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
		if (x86_vaccess(a, la, bytes, want, V_FETCH, true) == -1)
			return -1;
		*n = want;
		return 0;
	}
	if (x86_vaccess(a, la, bytes, first, V_FETCH, true) == -1)
		return -1;
	*n = first;
	la += first;
	if (a->cs != X86_CODE64)
		la &= 0xffffffffULL;
	/* The next page may legitimately be unreachable. */
	if (x86_vaccess(a, la, bytes + first, want - first, V_FETCH, true) == 0)
		*n = want;
	return 0;
}

static int
decode_at_rip(struct assist *a, struct x86_insn *insn)
{
	uint8_t bytes[15];
	size_t n;

	if (x86_fetch_insn(a, bytes, &n) == -1)
		return -1;
	return x86_decode(bytes, n, a->cs, insn);
}

int
x86_assist_fail(struct assist *a, const uint64_t *saved, int err)
{
	if (memcmp(saved, a->st->gprs, sizeof(a->st->gprs)) != 0 &&
	    nvmm_vcpu_setstate(a->mach, a->vcpu, NVMM_X64_STATE_GPRS) == -1)
		return -1;
	errno = err;
	return -1;
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

		if (x86_seg_linear(a, seg, off, size, io->in, &la) == -1)
			return x86_assist_fail(a, saved, errno);
		if (io->in) {
			a->vcpu->cbs.io(&x);
			if (x86_vaccess(a, la, data, size, V_WRITE, true) == -1)
				return x86_assist_fail(a, saved, errno);
		} else {
			if (x86_vaccess(a, la, data, size, V_READ, true) == -1)
				return x86_assist_fail(a, saved, errno);
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
	if (x86_assist_init(&a, mach, vcpu) == -1)
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

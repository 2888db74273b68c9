/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x86_walk.c: the guest page walker (gva -> gpa) and the guest-virtual
 * memory copy helpers built on it.
 *
 * Modes: paging off, 32-bit 2-level (4 MiB pages with CR4.PSE, PSE-36),
 * PAE 3-level (2 MiB pages, NX), 4-level and 5-level long mode (1 GiB and
 * 2 MiB pages, NX). Reserved bits are checked as the CPU does; 1 GiB pages
 * are taken as supported. On AMD, bit 8 of PML4Es/PML5Es is reserved too;
 * we follow Intel, where it is ignored. Protection keys are not modelled
 * (bits 62:59 are ignored, as with CR4.PKE = 0).
 */
#include <errno.h>
#include <string.h>

#include "x86_walk.h"

#define CR0_PE		(1ULL << 0)
#define CR0_WP		(1ULL << 16)
#define CR0_PG		(1ULL << 31)
#define CR4_PSE		(1ULL << 4)
#define CR4_PAE		(1ULL << 5)
#define CR4_LA57	(1ULL << 12)
#define CR4_SMEP	(1ULL << 20)
#define CR4_SMAP	(1ULL << 21)
#define EFER_LMA	(1ULL << 10)
#define EFER_NXE	(1ULL << 11)
#define RFLAGS_AC	(1ULL << 18)

/* Paging-entry bits (the low ones have the same place in all formats). */
#define PTE_P		(1ULL << 0)
#define PTE_W		(1ULL << 1)
#define PTE_U		(1ULL << 2)
#define PTE_A		(1ULL << 5)
#define PTE_D		(1ULL << 6)
#define PTE_PS		(1ULL << 7)
#define PTE_NX		(1ULL << 63)

#define PAGE_SIZE	4096ULL
#define WALK_RETRIES	64

enum walk_mode { MODE_32, MODE_PAE, MODE_LONG4, MODE_LONG5 };

/* A paging entry the walk used. */
struct walk_entry {
	uint8_t *hp;		/* host address; NULL if its mapping is read-only */
	uint64_t val;		/* the value the walk used */
	bool wide;		/* 8 bytes (4 in 32-bit paging) */
	bool has_a;		/* has an Accessed bit (PAE PDPTEs do not) */
};

struct walk {
	const struct x86_paging *pg;
	const struct x86_guest_mem *mem;
	enum walk_mode mode;
	unsigned access;
	unsigned maxphy;
	struct walk_entry ent[5];
	unsigned nent;
	bool user, write, exec;	/* permission accumulated over the levels */
	uint64_t gpa;
	uint32_t pf;		/* #PF error code, when the walk faults */
};

/* Mask of bits lo..hi (inclusive); empty when lo > hi. */
static uint64_t
bits(unsigned lo, unsigned hi)
{
	if (lo > hi)
		return 0;
	return (~0ULL >> (63 - hi)) & ~((1ULL << lo) - 1);
}

/* Fail the walk with #PF: `code` is P and/or RSVD; W/U/I come from the access. */
static int
fault(struct walk *w, uint32_t code)
{
	const struct x86_paging *pg = w->pg;

	code |= w->access & (X86_PF_W | X86_PF_U);
	/* I/D is reported only with SMEP, or with NX enabled under PAE. */
	if ((w->access & X86_PF_I) && ((pg->cr4 & CR4_SMEP) ||
	    (w->mode != MODE_32 && (pg->efer & EFER_NXE))))
		code |= X86_PF_I;
	w->pf = code;
	errno = EFAULT;
	return -1;
}

/* Read the entry at guest-physical `gpa` and record it. */
static int
read_entry(struct walk *w, uint64_t gpa, bool wide, uint64_t *val)
{
	struct walk_entry *e = &w->ent[w->nent];
	nvmm_prot_t prot = 0;
	uint8_t *p;

	p = w->mem->gpa_to_ptr(w->mem->ctx, gpa, &prot);
	if (p == NULL || !(prot & NVMM_PROT_READ)) {
		errno = ENOENT;
		return -1;
	}
	if ((uintptr_t)p & (wide ? 7 : 3)) {
		errno = EINVAL;
		return -1;
	}
	/* The guest may change its tables under us: read each entry once. */
	if (wide)
		*val = __atomic_load_n((uint64_t *)(void *)p, __ATOMIC_ACQUIRE);
	else
		*val = __atomic_load_n((uint32_t *)(void *)p, __ATOMIC_ACQUIRE);
	e->hp = (prot & NVMM_PROT_WRITE) ? p : NULL;
	e->val = *val;
	e->wide = wide;
	e->has_a = true;
	w->nent++;
	return 0;
}

static void
account(struct walk *w, uint64_t e)
{
	if (!(e & PTE_W))
		w->write = false;
	if (!(e & PTE_U))
		w->user = false;
	if (e & PTE_NX)
		w->exec = false;
}

/* 32-bit paging: 4-byte entries, 2 levels, 4 MiB pages with CR4.PSE. */
static int
walk32(struct walk *w, uint64_t gva)
{
	const struct x86_paging *pg = w->pg;
	uint64_t va = gva & 0xffffffffULL;
	uint64_t pde, pte;

	if (read_entry(w, (pg->cr3 & 0xfffff000ULL) | ((va >> 22) << 2),
	    false, &pde) == -1)
		return -1;
	if (!(pde & PTE_P))
		return fault(w, 0);
	if ((pg->cr4 & CR4_PSE) && (pde & PTE_PS)) {
		/* PSE-36: PDE bits 20:13 give address bits 39:32, up to M. */
		unsigned m = w->maxphy < 40 ? w->maxphy : 40;
		uint64_t high;

		if (pde & bits(m - 19, 21))
			return fault(w, X86_PF_RSVD | X86_PF_P);
		account(w, pde);
		high = (pde >> 13) & ((1ULL << (m - 32)) - 1);
		w->gpa = (pde & 0xffc00000ULL) | (high << 32) |
		    (va & 0x3fffffULL);
		return 0;
	}
	account(w, pde);
	if (read_entry(w, (pde & 0xfffff000ULL) | (((va >> 12) & 0x3ff) << 2),
	    false, &pte) == -1)
		return -1;
	if (!(pte & PTE_P))
		return fault(w, 0);
	account(w, pte);
	w->gpa = (pte & 0xfffff000ULL) | (va & 0xfffULL);
	return 0;
}

/* PAE, 4-level and 5-level paging: 8-byte entries, 9 index bits a level. */
static int
walk64(struct walk *w, uint64_t gva)
{
	const struct x86_paging *pg = w->pg;
	bool pae = w->mode == MODE_PAE;
	uint64_t va = pae ? gva & 0xffffffffULL : gva;
	uint64_t addr = bits(12, w->maxphy - 1);
	uint64_t high = bits(w->maxphy, pae ? 62 : 51);
	uint64_t nx = (pg->efer & EFER_NXE) ? 0 : PTE_NX;
	uint64_t table;
	unsigned lvl;

	if (pae) {
		table = pg->cr3 & bits(5, 31);
		lvl = 3;
	} else {
		table = pg->cr3 & addr;
		lvl = w->mode == MODE_LONG5 ? 5 : 4;
	}
	for (;; lvl--) {
		unsigned shift = 12 + 9 * (lvl - 1);
		bool pdpte = pae && lvl == 3;
		uint64_t e, rsvd, mask;
		bool leaf;

		if (read_entry(w, table + ((va >> shift) & 511) * 8, true,
		    &e) == -1)
			return -1;
		if (!(e & PTE_P))
			return fault(w, 0);
		leaf = lvl == 1 || ((lvl == 2 || (lvl == 3 && !pae)) &&
		    (e & PTE_PS));
		if (pdpte) {
			/*
			 * No R/W, U/S, A or NX in a PAE PDPTE. Bit 5 (A) is
			 * tolerated: KVM's own walker sets it in guest memory,
			 * and the CPU checked the PDPTEs it uses when it loaded
			 * them with CR3, which this walker cannot see.
			 */
			w->ent[w->nent - 1].has_a = false;
			rsvd = high | PTE_NX | bits(1, 2) | bits(6, 8);
		} else if (lvl >= 4) {
			rsvd = high | nx | PTE_PS;
		} else if (leaf && lvl > 1) {
			/* Large page: address bits below its size, bar PAT. */
			rsvd = high | nx | bits(13, shift - 1);
		} else {
			rsvd = high | nx;
		}
		if (e & rsvd)
			return fault(w, X86_PF_RSVD | X86_PF_P);
		if (!pdpte)
			account(w, e);
		if (leaf) {
			mask = (1ULL << shift) - 1;
			w->gpa = (e & addr & ~mask) | (va & mask);
			return 0;
		}
		table = e & addr;
	}
}

/* Check the access against the accumulated permission. */
static int
check(struct walk *w)
{
	const struct x86_paging *pg = w->pg;
	unsigned a = w->access;

	if (a & X86_PF_U) {
		if (!w->user)
			return fault(w, X86_PF_P);
		if ((a & X86_PF_W) && !w->write)
			return fault(w, X86_PF_P);
		if ((a & X86_PF_I) && !w->exec)
			return fault(w, X86_PF_P);
		return 0;
	}
	if (a & X86_PF_I) {
		if (!w->exec)
			return fault(w, X86_PF_P);
		if (w->user && (pg->cr4 & CR4_SMEP))
			return fault(w, X86_PF_P);
		return 0;
	}
	/*
	 * Supervisor data access to a user page under SMAP: allowed only when
	 * explicit with RFLAGS.AC = 1. A supervisor access at CPL 3 can only
	 * be implicit (descriptor tables...), so it always faults.
	 */
	if (w->user && (pg->cr4 & CR4_SMAP) &&
	    (pg->cpl == 3 || !(pg->rflags & RFLAGS_AC)))
		return fault(w, X86_PF_P);
	if ((a & X86_PF_W) && !w->write && (pg->cr0 & CR0_WP))
		return fault(w, X86_PF_P);
	return 0;
}

/*
 * Set A in every entry used and D in the leaf on a write, each with a
 * compare-and-swap against the value used. Returns 1 if an entry changed
 * since it was read (the walk must be redone), 0 otherwise.
 */
static int
set_ad(struct walk *w)
{
	unsigned i;

	for (i = 0; i < w->nent; i++) {
		struct walk_entry *e = &w->ent[i];
		uint64_t nv = e->val | PTE_A;

		if (i == w->nent - 1 && (w->access & X86_PF_W))
			nv |= PTE_D;
		if (!e->has_a || e->hp == NULL || nv == e->val)
			continue;
		if (e->wide) {
			uint64_t old = e->val;

			if (!__atomic_compare_exchange_n((uint64_t *)(void *)e->hp,
			    &old, nv, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
				return 1;
		} else {
			uint32_t old = (uint32_t)e->val;

			if (!__atomic_compare_exchange_n((uint32_t *)(void *)e->hp,
			    &old, (uint32_t)nv, false, __ATOMIC_SEQ_CST,
			    __ATOMIC_SEQ_CST))
				return 1;
		}
	}
	return 0;
}

bool
x86_canonical(const struct x86_paging *pg, uint64_t gva)
{
	unsigned vabits;
	uint64_t top;

	if (!(pg->cr0 & CR0_PG) || !(pg->efer & EFER_LMA))
		return true;
	vabits = (pg->cr4 & CR4_LA57) ? 57 : 48;
	top = gva >> (vabits - 1);
	return top == 0 || top == (~0ULL >> (vabits - 1));
}

int
x86_walk(const struct x86_paging *pg, const struct x86_guest_mem *mem,
    uint64_t gva, unsigned access, unsigned flags, uint64_t *gpa,
    nvmm_prot_t *prot, uint32_t *pf_error)
{
	struct walk w;
	enum walk_mode mode;
	unsigned maxphy, tries;
	nvmm_prot_t p;
	int ret;

	if (pf_error != NULL)
		*pf_error = 0;
	if (pg == NULL || mem == NULL || mem->gpa_to_ptr == NULL ||
	    (access & ~(unsigned)(X86_PF_W | X86_PF_U | X86_PF_I)) != 0 ||
	    ((access & X86_PF_W) && (access & X86_PF_I)) ||
	    (flags & ~(unsigned)(X86_WALK_CHECK | X86_WALK_SET_AD)) != 0) {
		errno = EINVAL;
		return -1;
	}
	maxphy = pg->maxphyaddr ? pg->maxphyaddr : 52;
	if (maxphy < 32 || maxphy > 52) {
		errno = EINVAL;
		return -1;
	}

	if (!(pg->cr0 & CR0_PG)) {
		if (pg->efer & EFER_LMA) {
			errno = EINVAL;
			return -1;
		}
		if (gpa != NULL)
			*gpa = gva & 0xffffffffULL;
		if (prot != NULL)
			*prot = NVMM_PROT_ALL;
		return 0;
	}
	if (!(pg->cr0 & CR0_PE)) {
		errno = EINVAL;
		return -1;
	}
	if (pg->efer & EFER_LMA) {
		if (!(pg->cr4 & CR4_PAE)) {
			errno = EINVAL;
			return -1;
		}
		mode = (pg->cr4 & CR4_LA57) ? MODE_LONG5 : MODE_LONG4;
		if (!x86_canonical(pg, gva)) {
			/* #GP/#SS on the CPU: EFAULT with error code 0. */
			errno = EFAULT;
			return -1;
		}
	} else {
		mode = (pg->cr4 & CR4_PAE) ? MODE_PAE : MODE_32;
	}

	for (tries = 0;; tries++) {
		if (tries == WALK_RETRIES) {
			errno = EAGAIN;
			return -1;
		}
		memset(&w, 0, sizeof(w));
		w.pg = pg;
		w.mem = mem;
		w.mode = mode;
		w.access = access;
		w.maxphy = maxphy;
		w.user = w.write = w.exec = true;
		ret = mode == MODE_32 ? walk32(&w, gva) : walk64(&w, gva);
		if (ret == 0 && (flags & X86_WALK_CHECK))
			ret = check(&w);
		if (ret == -1) {
			if (errno == EFAULT && pf_error != NULL)
				*pf_error = w.pf;
			return -1;
		}
		if (!(flags & X86_WALK_SET_AD) || set_ad(&w) == 0)
			break;
	}

	p = NVMM_PROT_READ;
	if (w.write)
		p |= NVMM_PROT_WRITE;
	if (w.exec)
		p |= NVMM_PROT_EXEC;
	if (w.user)
		p |= NVMM_PROT_USER;
	if (gpa != NULL)
		*gpa = w.gpa;
	if (prot != NULL)
		*prot = p;
	return 0;
}

enum copy_op { COPY_READ, COPY_PROBE, COPY_WRITE };

/*
 * Translate the range page by page; READ/WRITE also copy and set A/D.
 * PROBE only checks that the whole range would succeed.
 */
static int
virt_copy(const struct x86_paging *pg, const struct x86_guest_mem *mem,
    uint64_t gva, uint8_t *buf, size_t len, unsigned access,
    uint32_t *pf_error, enum copy_op op)
{
	nvmm_prot_t need = op == COPY_READ ? NVMM_PROT_READ : NVMM_PROT_WRITE;

	while (len > 0) {
		size_t n = PAGE_SIZE - (gva & (PAGE_SIZE - 1));
		nvmm_prot_t mprot = 0;
		uint64_t gpa;
		uint8_t *hp;

		if (n > len)
			n = len;
		if (x86_walk(pg, mem, gva, access, op == COPY_PROBE ?
		    X86_WALK_CHECK : X86_WALK_CHECK | X86_WALK_SET_AD, &gpa,
		    NULL, pf_error) == -1)
			return -1;
		hp = mem->gpa_to_ptr(mem->ctx, gpa, &mprot);
		if (hp == NULL || (mprot & need) != need) {
			errno = ENOENT;
			return -1;
		}
		if (op == COPY_READ)
			memcpy(buf, hp, n);
		else if (op == COPY_WRITE)
			memcpy(hp, buf, n);
		gva += n;
		buf += n;
		len -= n;
	}
	return 0;
}

int
x86_read_virt(const struct x86_paging *pg, const struct x86_guest_mem *mem,
    uint64_t gva, void *buf, size_t len, unsigned access, uint32_t *pf_error)
{
	if (pf_error != NULL)
		*pf_error = 0;
	if (len > 0 && buf == NULL) {
		errno = EINVAL;
		return -1;
	}
	return virt_copy(pg, mem, gva, buf, len, access, pf_error, COPY_READ);
}

int
x86_write_virt(const struct x86_paging *pg, const struct x86_guest_mem *mem,
    uint64_t gva, const void *buf, size_t len, unsigned access,
    uint32_t *pf_error)
{
	/* Our own buffer is only read from: dropping const is safe here. */
	uint8_t *src = (uint8_t *)(uintptr_t)buf;

	if (pf_error != NULL)
		*pf_error = 0;
	if (len > 0 && buf == NULL) {
		errno = EINVAL;
		return -1;
	}
	access |= X86_PF_W;
	/* Like the CPU, fault before any byte is written. */
	if (virt_copy(pg, mem, gva, src, len, access, pf_error,
	    COPY_PROBE) == -1)
		return -1;
	return virt_copy(pg, mem, gva, src, len, access, pf_error, COPY_WRITE);
}

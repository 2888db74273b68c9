/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of the page walker (lib/x86_walk.c): page tables are built in
 * a fake guest RAM and every mode, page size, fault and A/D update is
 * checked against exact expected values.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "x86_walk.h"

#define RAM_SIZE	0x1000000ULL	/* 16 MiB of RAM at gpa 0 */
#define ROM_BASE	0x1000000ULL	/* one read-only page after it */
#define ROM_SIZE	0x1000ULL
#define WONLY		0x1001000ULL	/* a page mapped write-only */
#define UNBACKED	0x2000000ULL	/* nothing there (MMIO) */

#define P	0x1ULL
#define W	0x2ULL
#define U	0x4ULL
#define A	0x20ULL
#define D	0x40ULL
#define PS	0x80ULL
#define NX	(1ULL << 63)

#define CR0_PE		0x1ULL
#define CR0_WP		(1ULL << 16)
#define CR0_PG		(1ULL << 31)
#define CR4_PSE		(1ULL << 4)
#define CR4_PAE		(1ULL << 5)
#define CR4_LA57	(1ULL << 12)
#define CR4_SMEP	(1ULL << 20)
#define CR4_SMAP	(1ULL << 21)
#define EFER_LME	(1ULL << 8)
#define EFER_LMA	(1ULL << 10)
#define EFER_NXE	(1ULL << 11)
#define RFLAGS_AC	(1ULL << 18)

#define PF_P	X86_PF_P
#define PF_W	X86_PF_W
#define PF_U	X86_PF_U
#define PF_R	X86_PF_RSVD
#define PF_I	X86_PF_I

#define CHECK	X86_WALK_CHECK
#define SETAD	X86_WALK_SET_AD

#define PR	NVMM_PROT_READ
#define PW	NVMM_PROT_WRITE
#define PX	NVMM_PROT_EXEC
#define PU	NVMM_PROT_USER

static uint8_t *ram, *rom, *wonly;
static uint64_t next_table;

/* Hook: when gpa_to_ptr is asked for `hook_gpa`, toggle `hook_bits` in the
 * 8-byte entry at `hook_target`, at most `hook_left` times. */
static uint64_t hook_gpa, hook_target, hook_bits;
static int hook_left, hook_fired;
static unsigned ptr_calls;

static void set64(uint64_t gpa, uint64_t v) { memcpy(ram + gpa, &v, 8); }
static void set32(uint64_t gpa, uint32_t v) { memcpy(ram + gpa, &v, 4); }
static uint64_t
get64(uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, ram + gpa, 8);
	return v;
}
static uint32_t
get32(uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, ram + gpa, 4);
	return v;
}

static uint8_t *
fake_gpa_to_ptr(void *ctx, uint64_t gpa, nvmm_prot_t *prot)
{
	(void)ctx;
	ptr_calls++;
	if (hook_left > 0 && gpa == hook_gpa) {
		hook_left--;
		hook_fired++;
		set64(hook_target, get64(hook_target) ^ hook_bits);
	}
	if (gpa < RAM_SIZE) {
		*prot = NVMM_PROT_ALL;
		return ram + gpa;
	}
	if (gpa >= ROM_BASE && gpa < ROM_BASE + ROM_SIZE) {
		*prot = NVMM_PROT_READ | NVMM_PROT_EXEC;
		return rom + (gpa - ROM_BASE);
	}
	if (gpa >= WONLY && gpa < WONLY + 0x1000) {
		*prot = NVMM_PROT_WRITE;
		return wonly + (gpa - WONLY);
	}
	return NULL;
}

static const struct x86_guest_mem mem = { NULL, fake_gpa_to_ptr };

/* ---- reporting ---- */

static int nfail;
static bool case_failed;
static char why[512];

static void
fail(const char *fmt, ...)
{
	va_list ap;

	if (case_failed)
		return;
	case_failed = true;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
}

static void
begin(void)
{
	case_failed = false;
	memset(ram, 0, RAM_SIZE);
	memset(rom, 0, ROM_SIZE);
	next_table = 0x10000;
	hook_left = hook_fired = 0;
	ptr_calls = 0;
}

static void
end(const char *name)
{
	if (case_failed) {
		printf("FAIL: %s: %s\n", name, why);
		nfail++;
	} else {
		printf("PASS: %s\n", name);
	}
}

static void
eq(const char *what, uint64_t exp, uint64_t act)
{
	if (exp != act)
		fail("%s: expected 0x%llx, got 0x%llx", what,
		    (unsigned long long)exp, (unsigned long long)act);
}

static void
walk_ok(const struct x86_paging *pg, uint64_t gva, unsigned access,
    unsigned flags, uint64_t exp_gpa, nvmm_prot_t exp_prot)
{
	uint64_t gpa = 0xdeadbeef;
	nvmm_prot_t prot = 0xdead;
	uint32_t pf = 0xdead;
	int ret;

	ret = x86_walk(pg, &mem, gva, access, flags, &gpa, &prot, &pf);
	if (ret != 0) {
		fail("walk 0x%llx access 0x%x: expected success, got %d errno "
		    "%d pf 0x%x", (unsigned long long)gva, access, ret, errno,
		    pf);
		return;
	}
	eq("gpa", exp_gpa, gpa);
	eq("prot", exp_prot, prot);
	eq("pf_error on success", 0, pf);
}

static void
walk_err(const struct x86_paging *pg, uint64_t gva, unsigned access,
    unsigned flags, int exp_errno, uint32_t exp_pf)
{
	uint64_t gpa = 0;
	nvmm_prot_t prot = 0;
	uint32_t pf = 0xdead;
	int ret;

	errno = 0;
	ret = x86_walk(pg, &mem, gva, access, flags, &gpa, &prot, &pf);
	if (ret != -1) {
		fail("walk 0x%llx access 0x%x: expected -1 errno %d, got %d "
		    "gpa 0x%llx", (unsigned long long)gva, access, exp_errno,
		    ret, (unsigned long long)gpa);
		return;
	}
	eq("errno", (uint64_t)exp_errno, (uint64_t)errno);
	eq("pf_error", exp_pf, pf);
}

static void
walk_fault(const struct x86_paging *pg, uint64_t gva, unsigned access,
    unsigned flags, uint32_t exp_pf)
{
	walk_err(pg, gva, access, flags, EFAULT, exp_pf);
}

/* ---- paging setups ---- */

static struct x86_paging
mk32(void)
{
	struct x86_paging pg = { 0 };

	pg.cr0 = CR0_PE | CR0_PG;
	pg.cr3 = 0x1000;
	return pg;
}

static struct x86_paging
mkpae(void)
{
	struct x86_paging pg = { 0 };

	pg.cr0 = CR0_PE | CR0_PG;
	pg.cr4 = CR4_PAE;
	pg.cr3 = 0x1020;	/* PDPT 32-byte aligned inside its page */
	return pg;
}

static struct x86_paging
mk64(bool la57)
{
	struct x86_paging pg = { 0 };

	pg.cr0 = CR0_PE | CR0_PG;
	pg.cr4 = CR4_PAE | (la57 ? CR4_LA57 : 0);
	pg.efer = EFER_LME | EFER_LMA | EFER_NXE;
	pg.cr3 = 0x1000;
	return pg;
}

static bool is_pae(const struct x86_paging *pg) { return !(pg->efer & EFER_LMA); }

static unsigned
nlevels(const struct x86_paging *pg)
{
	if (is_pae(pg))
		return 3;
	return (pg->cr4 & CR4_LA57) ? 5 : 4;
}

static uint64_t
idx_of(const struct x86_paging *pg, uint64_t gva, unsigned lvl)
{
	uint64_t i = (gva >> (12 + 9 * (lvl - 1))) & 511;

	return (is_pae(pg) && lvl == 3) ? i & 3 : i;
}

/* gpa of the entry mapping `gva` at level `lvl` (8-byte formats). */
static uint64_t
entry_gpa(const struct x86_paging *pg, uint64_t gva, unsigned lvl)
{
	uint64_t table = is_pae(pg) ? (pg->cr3 & 0xffffffe0ULL) :
	    (pg->cr3 & 0x000ffffffffff000ULL);
	unsigned l;

	for (l = nlevels(pg); l > lvl; l--)
		table = get64(table + idx_of(pg, gva, l) * 8) &
		    0x000ffffffffff000ULL;
	return table + idx_of(pg, gva, lvl) * 8;
}

static uint64_t ent(const struct x86_paging *pg, uint64_t gva, unsigned lvl)
{
	return get64(entry_gpa(pg, gva, lvl));
}

static void
set_ent(const struct x86_paging *pg, uint64_t gva, unsigned lvl, uint64_t v)
{
	set64(entry_gpa(pg, gva, lvl), v);
}

/*
 * Map `gva` to `gpa` with a leaf at `leaf` (1: 4 KiB, 2: 2 MiB, 3: 1 GiB).
 * Missing tables get `up` flags (P only for PAE PDPTEs); the leaf `lf`.
 */
static void
map64(const struct x86_paging *pg, uint64_t gva, uint64_t gpa, unsigned leaf,
    uint64_t up, uint64_t lf)
{
	unsigned l;

	for (l = nlevels(pg); l > leaf; l--) {
		uint64_t eg = entry_gpa(pg, gva, l);

		if (!(get64(eg) & P)) {
			set64(eg, next_table | ((is_pae(pg) && l == 3) ? P : up));
			next_table += 0x1000;
		}
	}
	set64(entry_gpa(pg, gva, leaf), gpa | lf | (leaf > 1 ? PS : 0));
}

/* ---- paging off, consistency ---- */

static void
test_off(void)
{
	struct x86_paging pg = { 0 };

	begin();
	pg.cr0 = CR0_PE;
	walk_ok(&pg, 0x12345, 0, 0, 0x12345, NVMM_PROT_ALL);
	walk_ok(&pg, 0x12345, PF_U | PF_W, CHECK | SETAD, 0x12345,
	    NVMM_PROT_ALL);
	end("off_identity");

	begin();
	walk_ok(&pg, 0x100005678ULL, 0, 0, 0x5678, NVMM_PROT_ALL);
	end("off_truncates_to_32_bits");

	begin();
	pg.efer = EFER_LMA;
	walk_err(&pg, 0x1000, 0, 0, EINVAL, 0);
	end("off_lma_einval");
}

static void
test_einval(void)
{
	struct x86_paging pg = mk64(false);
	uint64_t gpa;

	begin();
	map64(&pg, 0x1000, 0x100000, 1, P | W | U, P | W | U);
	pg.cr0 = CR0_PG;
	walk_err(&pg, 0x1000, 0, 0, EINVAL, 0);
	end("einval_pg_without_pe");

	begin();
	pg = mk64(false);
	map64(&pg, 0x1000, 0x100000, 1, P | W | U, P | W | U);
	pg.cr4 = 0;
	walk_err(&pg, 0x1000, 0, 0, EINVAL, 0);
	end("einval_lma_without_pae");

	begin();
	pg = mk64(false);
	map64(&pg, 0x1000, 0x100000, 1, P | W | U, P | W | U);
	walk_err(&pg, 0x1000, PF_R, 0, EINVAL, 0);
	walk_err(&pg, 0x1000, PF_W | PF_I, 0, EINVAL, 0);
	walk_err(&pg, 0x1000, 0, 0x4, EINVAL, 0);
	errno = 0;
	eq("NULL mem", (uint64_t)-1,
	    (uint64_t)x86_walk(&pg, NULL, 0x1000, 0, 0, &gpa, NULL, NULL));
	eq("errno", EINVAL, (uint64_t)errno);
	end("einval_access_flags_args");

	begin();
	pg = mk64(false);
	map64(&pg, 0x1000, 0x100000, 1, P | W | U, P | W | U);
	pg.maxphyaddr = 31;
	walk_err(&pg, 0x1000, 0, 0, EINVAL, 0);
	pg.maxphyaddr = 53;
	walk_err(&pg, 0x1000, 0, 0, EINVAL, 0);
	pg.maxphyaddr = 36;
	walk_ok(&pg, 0x1000, 0, 0, 0x100000, PR | PW | PX | PU);
	end("einval_maxphyaddr");
}

/* ---- 32-bit paging ---- */

#define G32	0x00403abcULL	/* PDE 1, PTE 3 */

static void
setup32(uint32_t pde, uint32_t pte)
{
	set32(0x1000 + 1 * 4, pde);
	set32(0x2000 + 3 * 4, pte);
}

static void
test_32(void)
{
	struct x86_paging pg = mk32();

	begin();
	setup32(0x2000 | P | W | U, 0x123000 | P | W | U);
	walk_ok(&pg, G32, 0, 0, 0x123abc, PR | PW | PX | PU);
	pg.cr3 = 0x6000;
	set32(0x6000 + 1 * 4, 0x2000 | P | W | U);
	walk_ok(&pg, 0xf00000000ULL | G32, 0, 0, 0x123abc, PR | PW | PX | PU);
	pg.cr3 = 0x1000;
	end("32_4k");

	begin();
	setup32(0x2000 | P | U, 0x123000 | P | W);
	walk_ok(&pg, G32, 0, 0, 0x123abc, PR | PX);
	end("32_4k_prot_accumulates");

	begin();
	setup32(0, 0x123000 | P | W | U);
	walk_fault(&pg, G32, 0, 0, 0);
	walk_fault(&pg, G32, PF_U | PF_W, 0, PF_U | PF_W);
	end("32_pde_not_present");

	begin();
	setup32(0x2000 | P | W | U, 0x123000);
	walk_fault(&pg, G32, PF_U | PF_W, CHECK, PF_U | PF_W);
	end("32_pte_not_present");

	begin();
	pg.cr4 = CR4_PSE;
	set32(0x1000 + 1 * 4, 0x00c00000 | P | W | PS);
	walk_ok(&pg, 0x00412345, 0, 0, 0x00c12345, PR | PW | PX);
	end("32_4m_pse");

	begin();
	pg.cr4 = 0;
	set32(0x1000 + 1 * 4, 0x00c00000 | P | W | U | PS);
	set32(0x00c00000 + 0x12 * 4, 0x200000 | P | W | U);
	walk_ok(&pg, 0x00412345, 0, 0, 0x200345, PR | PW | PX | PU);
	end("32_ps_ignored_without_pse");

	begin();
	pg.cr4 = CR4_PSE;
	set32(0x1000 + 1 * 4, 0x00c00000 | (0x5 << 13) | P | PS);
	walk_ok(&pg, 0x00412345, 0, 0, 0x500c12345ULL, PR | PX);
	set32(0x1000 + 1 * 4, 0x00c00000 | (0xffu << 13) | P | PS);
	walk_ok(&pg, 0x00412345, 0, 0, 0xff00c12345ULL, PR | PX);
	end("32_pse36_high_bits");

	begin();
	pg.maxphyaddr = 36;
	set32(0x1000 + 1 * 4, 0x00c00000 | (0x5 << 13) | P | PS);
	walk_ok(&pg, 0x00412345, 0, 0, 0x500c12345ULL, PR | PX);
	set32(0x1000 + 1 * 4, 0x00c00000 | (1 << 17) | P | PS);
	walk_fault(&pg, 0x00412345, 0, 0, PF_R | PF_P);
	pg.maxphyaddr = 0;
	end("32_pse36_maxphyaddr36");

	begin();
	set32(0x1000 + 1 * 4, 0x00c00000 | (1 << 21) | P | PS);
	walk_fault(&pg, 0x00412345, 0, 0, PF_R | PF_P);
	walk_fault(&pg, 0x00412345, PF_U | PF_W, 0,
	    PF_R | PF_P | PF_U | PF_W);
	end("32_4m_rsvd_bit21");

	begin();
	pg.cr4 = 0;
	setup32(0x2000 | P | W | U, 0x123000 | P | W);
	walk_fault(&pg, G32, PF_U, CHECK, PF_P | PF_U);
	walk_ok(&pg, G32, PF_U, 0, 0x123abc, PR | PW | PX);
	walk_ok(&pg, G32, 0, CHECK, 0x123abc, PR | PW | PX);
	end("32_check_user_on_supervisor_page");

	begin();
	setup32(0x2000 | P | W | U, 0x123000 | P | U);
	walk_fault(&pg, G32, PF_U | PF_W, CHECK, PF_P | PF_W | PF_U);
	walk_ok(&pg, G32, PF_U, CHECK, 0x123abc, PR | PX | PU);
	end("32_check_user_write_readonly");

	begin();
	setup32(0x2000 | P | U, 0x123000 | P | W | U);
	walk_ok(&pg, G32, PF_W, CHECK, 0x123abc, PR | PX | PU);
	pg.cr0 |= CR0_WP;
	walk_fault(&pg, G32, PF_W, CHECK, PF_P | PF_W);
	pg.cr0 &= ~CR0_WP;
	end("32_check_supervisor_write_wp");

	begin();
	pg.efer = EFER_NXE;
	setup32(0x2000 | P | W | U, 0x123000);
	walk_fault(&pg, G32, PF_I, CHECK, 0);
	pg.cr4 = CR4_SMEP;
	walk_fault(&pg, G32, PF_I, CHECK, PF_I);
	pg.cr4 = 0;
	pg.efer = 0;
	end("32_fetch_i_bit_only_with_smep");

	begin();
	setup32(0x2000 | P | W | U, 0x123000 | P | W | U);
	walk_ok(&pg, G32, 0, SETAD, 0x123abc, PR | PW | PX | PU);
	eq("pde after read", 0x2000 | P | W | U | A, get32(0x1004));
	eq("pte after read", 0x123000 | P | W | U | A, get32(0x200c));
	walk_ok(&pg, G32, PF_W, SETAD, 0x123abc, PR | PW | PX | PU);
	eq("pde after write", 0x2000 | P | W | U | A, get32(0x1004));
	eq("pte after write", 0x123000 | P | W | U | A | D, get32(0x200c));
	end("32_set_ad");

	begin();
	pg.cr4 = CR4_PSE;
	set32(0x1000 + 1 * 4, 0x00c00000 | P | W | PS);
	walk_ok(&pg, 0x00412345, PF_W, SETAD, 0x00c12345, PR | PW | PX);
	eq("4m pde", 0x00c00000 | P | W | PS | A | D, get32(0x1004));
	end("32_set_ad_4m_dirty");
}

/* ---- PAE paging ---- */

#define GPAE	0xc0201abcULL	/* PDPTE 3, PDE 1, PTE 1 */

static void
setup_pae(struct x86_paging *pg, uint64_t pdpte, uint64_t pde, uint64_t pte)
{
	(void)pg;
	set64(0x1020 + 3 * 8, pdpte);
	set64(0x2000 + 1 * 8, pde);
	set64(0x3000 + 1 * 8, pte);
}

static void
test_pae(void)
{
	struct x86_paging pg = mkpae();

	begin();
	setup_pae(&pg, 0x2000 | P, 0x3000 | P | W | U, 0x456000 | P | W | U);
	walk_ok(&pg, GPAE, 0, 0, 0x456abc, PR | PW | PX | PU);
	end("pae_4k");

	begin();
	setup_pae(&pg, 0x2000 | P, 0x600000 | P | W | PS, 0);
	walk_ok(&pg, GPAE, 0, 0, 0x601abc, PR | PW | PX);
	end("pae_2m");

	begin();
	setup_pae(&pg, 0x2000, 0x3000 | P | W | U, 0x456000 | P | W | U);
	walk_fault(&pg, GPAE, 0, 0, 0);
	walk_fault(&pg, GPAE, PF_W, 0, PF_W);
	end("pae_pdpte_not_present");

	begin();
	setup_pae(&pg, 0x2000 | P | W, 0x3000 | P | W | U,
	    0x456000 | P | W | U);
	walk_fault(&pg, GPAE, 0, 0, PF_R | PF_P);
	set64(0x1020 + 3 * 8, 0x2000 | P | (1ULL << 7));
	walk_fault(&pg, GPAE, 0, 0, PF_R | PF_P);
	/* A set in memory (KVM does it) is tolerated, and left alone. */
	set64(0x1020 + 3 * 8, 0x2000 | P | A);
	walk_ok(&pg, GPAE, 0, CHECK | SETAD, 0x456abc, PR | PW | PX | PU);
	eq("pdpte", 0x2000 | P | A, get64(0x1038));
	end("pae_pdpte_rsvd_bits");

	begin();
	pg.efer = EFER_NXE;
	setup_pae(&pg, 0x2000 | P | NX, 0x3000 | P | W | U,
	    0x456000 | P | W | U);
	walk_fault(&pg, GPAE, 0, 0, PF_R | PF_P);
	pg.efer = 0;
	end("pae_pdpte_nx_always_rsvd");

	begin();
	setup_pae(&pg, 0x2000 | P, 0x3000 | P | W | U,
	    0x456000 | P | W | U | NX);
	walk_fault(&pg, GPAE, 0, 0, PF_R | PF_P);
	walk_fault(&pg, GPAE, PF_I, 0, PF_R | PF_P);
	end("pae_nx_rsvd_without_nxe");

	begin();
	pg.efer = EFER_NXE;
	setup_pae(&pg, 0x2000 | P, 0x3000 | P | W | U,
	    0x456000 | P | W | U | NX);
	walk_ok(&pg, GPAE, 0, 0, 0x456abc, PR | PW | PU);
	walk_fault(&pg, GPAE, PF_I, CHECK, PF_P | PF_I);
	walk_fault(&pg, GPAE, PF_I | PF_U, CHECK, PF_P | PF_I | PF_U);
	walk_ok(&pg, GPAE, PF_U | PF_W, CHECK, 0x456abc, PR | PW | PU);
	pg.efer = 0;
	end("pae_nx");

	begin();
	setup_pae(&pg, 0x2000 | P, 0x3000 | P | W | U | (1ULL << 52),
	    0x456000 | P | W | U);
	walk_fault(&pg, GPAE, 0, 0, PF_R | PF_P);
	set64(0x2008, 0x3000 | P | W | U | (1ULL << 62));
	walk_fault(&pg, GPAE, 0, 0, PF_R | PF_P);
	pg.maxphyaddr = 36;
	set64(0x2008, 0x3000 | P | W | U | (1ULL << 36));
	walk_fault(&pg, GPAE, 0, 0, PF_R | PF_P);
	pg.maxphyaddr = 0;
	end("pae_high_bits_rsvd");

	begin();
	setup_pae(&pg, 0x2000 | P, 0x600000 | P | W | PS | (1ULL << 13), 0);
	walk_fault(&pg, GPAE, 0, 0, PF_R | PF_P);
	set64(0x2008, 0x600000 | P | W | PS | (1ULL << 12));
	walk_ok(&pg, 0xc0200abcULL, 0, 0, 0x600abc, PR | PW | PX);
	end("pae_2m_rsvd_low_bits_pat_ok");

	begin();
	setup_pae(&pg, 0x2000 | P, 0x3000 | P | W | U, 0x456000 | P | W | U);
	walk_ok(&pg, GPAE, PF_W, CHECK | SETAD, 0x456abc, PR | PW | PX | PU);
	eq("pdpte", 0x2000 | P, get64(0x1038));
	eq("pde", 0x3000 | P | W | U | A, get64(0x2008));
	eq("pte", 0x456000 | P | W | U | A | D, get64(0x3008));
	end("pae_set_ad");

	begin();
	setup_pae(&pg, 0x2000 | P, 0x3000 | P | W | U, 0x456000 | P | W | U);
	walk_ok(&pg, 0x100000000ULL | GPAE, 0, 0, 0x456abc,
	    PR | PW | PX | PU);
	end("pae_gva_truncated");
}

/* ---- 4-level paging ---- */

#define GHI	0xffff800000201abcULL

static void
test_long(void)
{
	struct x86_paging pg = mk64(false);
	uint64_t v;

	begin();
	map64(&pg, GHI, 0x789000, 1, P | W | U, P | W | U);
	walk_ok(&pg, GHI, 0, 0, 0x789abc, PR | PW | PX | PU);
	eq("pml4 index 256", 0x1800, entry_gpa(&pg, GHI, 4));
	end("l4_4k_high_half");

	begin();
	{
		uint32_t pf = 0xdead;
		uint8_t b[4];

		walk_fault(&pg, 0x0000800000000000ULL, 0, 0, 0);
		walk_fault(&pg, 0xffff7fffffffffffULL, PF_U | PF_W, CHECK, 0);
		eq("canonical low", 1, x86_canonical(&pg, 0x00007fffffffffffULL));
		eq("canonical high", 1, x86_canonical(&pg, 0xffff800000000000ULL));
		eq("noncanonical", 0, x86_canonical(&pg, 0x0000800000000000ULL));
		eq("read_virt ret", (uint64_t)-1, (uint64_t)x86_read_virt(&pg,
		    &mem, 0x0000800000000000ULL, b, 4, 0, &pf));
		eq("read_virt errno", EFAULT, (uint64_t)errno);
		eq("read_virt pf", 0, pf);
	}
	end("l4_noncanonical");

	begin();
	map64(&pg, 0x40123456, 0x80000000, 3, P | W, P | W);
	walk_ok(&pg, 0x40123456, 0, 0, 0x80123456, PR | PW | PX);
	end("l4_1g");

	begin();
	map64(&pg, 0x00412345, 0x200000, 2, P | W | U, P | U);
	walk_ok(&pg, 0x00412345, 0, 0, 0x212345, PR | PX | PU);
	end("l4_2m");

	begin();
	map64(&pg, 0x1000, 0x100000, 1, P | W | U, P | W | U);
	set_ent(&pg, 0x1000, 4, ent(&pg, 0x1000, 4) | PS);
	walk_fault(&pg, 0x1000, 0, 0, PF_R | PF_P);
	end("l4_pml4e_ps_rsvd");

	begin();
	map64(&pg, 0x40123456, 0x80000000, 3, P | W, P | W | (1ULL << 13));
	walk_fault(&pg, 0x40123456, 0, 0, PF_R | PF_P);
	set_ent(&pg, 0x40123456, 3, 0x80000000 | P | W | PS | (1ULL << 29));
	walk_fault(&pg, 0x40123456, 0, 0, PF_R | PF_P);
	set_ent(&pg, 0x40123456, 3, 0x80000000 | P | W | PS | (1ULL << 12));
	walk_ok(&pg, 0x40120456, 0, 0, 0x80120456, PR | PW | PX);
	end("l4_1g_rsvd_low_bits");

	begin();
	map64(&pg, 0x00412345, 0x200000, 2, P | W | U, P | W | (1ULL << 20));
	walk_fault(&pg, 0x00412345, PF_W, 0, PF_R | PF_P | PF_W);
	end("l4_2m_rsvd_low_bits");

	begin();
	map64(&pg, 0x5000, 0x1000000789000ULL, 1, P | W | U, P | W | U);
	walk_ok(&pg, 0x5abc, 0, 0, 0x1000000789abcULL, PR | PW | PX | PU);
	pg.maxphyaddr = 48;
	walk_fault(&pg, 0x5abc, 0, 0, PF_R | PF_P);
	pg.maxphyaddr = 0;
	set_ent(&pg, 0x5000, 1, 0x789000 | P | W | U | (1ULL << 55) |
	    (1ULL << 61));
	walk_ok(&pg, 0x5abc, 0, 0, 0x789abc, PR | PW | PX | PU);
	end("l4_maxphyaddr_and_ignored_bits");

	begin();
	map64(&pg, 0x5000, 0x789000, 1, P | W | U, P | W | U);
	set_ent(&pg, 0x5000, 4, ent(&pg, 0x5000, 4) | NX);
	walk_ok(&pg, 0x5abc, 0, 0, 0x789abc, PR | PW | PU);
	walk_fault(&pg, 0x5abc, PF_I | PF_U, CHECK, PF_P | PF_I | PF_U);
	end("l4_nx_upper_level");

	begin();
	pg.efer &= ~EFER_NXE;
	map64(&pg, 0x5000, 0x789000, 1, P | W | U, P | W | U);
	set_ent(&pg, 0x5000, 3, ent(&pg, 0x5000, 3) | NX);
	walk_fault(&pg, 0x5abc, 0, 0, PF_R | PF_P);
	walk_fault(&pg, 0x5abc, PF_I, 0, PF_R | PF_P);
	pg.efer |= EFER_NXE;
	walk_ok(&pg, 0x5abc, PF_I, 0, 0x789abc, PR | PW | PU);
	walk_fault(&pg, 0x5abc, PF_I, CHECK, PF_P | PF_I);
	end("l4_nx_rsvd_without_nxe");

	begin();
	map64(&pg, 0x5000, 0x789000, 1, P | W | U, P | W | U);
	walk_ok(&pg, 0x5abc, PF_I, CHECK, 0x789abc, PR | PW | PX | PU);
	pg.cr4 |= CR4_SMEP;
	walk_fault(&pg, 0x5abc, PF_I, CHECK, PF_P | PF_I);
	walk_ok(&pg, 0x5abc, PF_I | PF_U, CHECK, 0x789abc,
	    PR | PW | PX | PU);
	walk_ok(&pg, 0x5abc, PF_I, 0, 0x789abc, PR | PW | PX | PU);
	pg.cr4 &= ~CR4_SMEP;
	end("l4_smep");

	begin();
	map64(&pg, 0x5000, 0x789000, 1, P | W | U, P | W | U);
	walk_ok(&pg, 0x5abc, 0, CHECK, 0x789abc, PR | PW | PX | PU);
	pg.cr4 |= CR4_SMAP;
	walk_fault(&pg, 0x5abc, 0, CHECK, PF_P);
	walk_fault(&pg, 0x5abc, PF_W, CHECK, PF_P | PF_W);
	pg.rflags = RFLAGS_AC;
	walk_ok(&pg, 0x5abc, PF_W, CHECK, 0x789abc, PR | PW | PX | PU);
	pg.cpl = 3;
	walk_fault(&pg, 0x5abc, 0, CHECK, PF_P);
	walk_ok(&pg, 0x5abc, PF_U, CHECK, 0x789abc, PR | PW | PX | PU);
	pg.cpl = 0;
	pg.rflags = 0;
	walk_ok(&pg, 0x5abc, PF_I, CHECK, 0x789abc, PR | PW | PX | PU);
	pg.cr4 &= ~CR4_SMAP;
	end("l4_smap");

	begin();
	map64(&pg, 0x5000, 0x789000, 1, P | W | U, P | NX);
	walk_ok(&pg, 0x5abc, PF_U | PF_W, 0, 0x789abc, PR);
	walk_fault(&pg, 0x5abc, PF_U | PF_W, CHECK, PF_P | PF_U | PF_W);
	walk_fault(&pg, 0x5abc, PF_U, CHECK, PF_P | PF_U);
	end("l4_no_check_reports_prot");

	begin();
	map64(&pg, 0x5000, 0x789000, 1, P | W | U, P | W | U);
	walk_ok(&pg, 0x5abc, 0, SETAD, 0x789abc, PR | PW | PX | PU);
	eq("pml4e", 0x10000 | P | W | U | A, ent(&pg, 0x5000, 4));
	eq("pdpte", 0x11000 | P | W | U | A, ent(&pg, 0x5000, 3));
	eq("pde", 0x12000 | P | W | U | A, ent(&pg, 0x5000, 2));
	eq("pte", 0x789000 | P | W | U | A, ent(&pg, 0x5000, 1));
	walk_ok(&pg, 0x5abc, PF_W, SETAD | CHECK, 0x789abc,
	    PR | PW | PX | PU);
	eq("pde after write", 0x12000 | P | W | U | A, ent(&pg, 0x5000, 2));
	eq("pte after write", 0x789000 | P | W | U | A | D,
	    ent(&pg, 0x5000, 1));
	end("l4_set_ad_4k");

	begin();
	map64(&pg, 0x00412345, 0x200000, 2, P | W | U, P | W | U);
	walk_ok(&pg, 0x00412345, PF_W, SETAD, 0x212345, PR | PW | PX | PU);
	eq("pml4e", 0x10000 | P | W | U | A, ent(&pg, 0x00412345, 4));
	eq("pdpte", 0x11000 | P | W | U | A, ent(&pg, 0x00412345, 3));
	eq("pde", 0x200000 | P | W | U | PS | A | D,
	    ent(&pg, 0x00412345, 2));
	end("l4_set_ad_2m_dirty");

	begin();
	map64(&pg, 0x40123456, 0x80000000, 3, P | W, P | W);
	walk_ok(&pg, 0x40123456, PF_W, SETAD, 0x80123456, PR | PW | PX);
	eq("pml4e", 0x10000 | P | W | A, ent(&pg, 0x40123456, 4));
	eq("pdpte", 0x80000000 | P | W | PS | A | D, ent(&pg, 0x40123456, 3));
	end("l4_set_ad_1g_dirty");

	begin();
	map64(&pg, 0x5000, 0x789000, 1, P | W | U, P | U);
	walk_fault(&pg, 0x5abc, PF_U | PF_W, CHECK | SETAD,
	    PF_P | PF_U | PF_W);
	eq("pml4e", 0x10000 | P | W | U, ent(&pg, 0x5000, 4));
	eq("pdpte", 0x11000 | P | W | U, ent(&pg, 0x5000, 3));
	eq("pde", 0x12000 | P | W | U, ent(&pg, 0x5000, 2));
	eq("pte", 0x789000 | P | U, ent(&pg, 0x5000, 1));
	set_ent(&pg, 0x5000, 1, 0);
	walk_fault(&pg, 0x5abc, 0, SETAD, 0);
	eq("pml4e after not-present", 0x10000 | P | W | U,
	    ent(&pg, 0x5000, 4));
	end("l4_set_ad_nothing_on_fault");

	begin();
	map64(&pg, 0x5000, 0x789000, 1, P | W | U, P | W | U);
	set_ent(&pg, 0x5000, 2, ROM_BASE | P | W | U);
	v = 0x789000 | P | W | U;
	memcpy(rom + 5 * 8, &v, 8);
	walk_ok(&pg, 0x5abc, PF_W, CHECK | SETAD, 0x789abc,
	    PR | PW | PX | PU);
	memcpy(&v, rom + 5 * 8, 8);
	eq("pte in rom unchanged", 0x789000 | P | W | U, v);
	eq("pde", ROM_BASE | P | W | U | A, ent(&pg, 0x5000, 2));
	end("l4_set_ad_table_in_rom");

	begin();
	map64(&pg, 0x5000, 0x789000, 1, P | W | U, P | W | U);
	set_ent(&pg, 0x5000, 2, UNBACKED | P | W | U);
	walk_err(&pg, 0x5abc, 0, 0, ENOENT, 0);
	set_ent(&pg, 0x5000, 2, 0x4000000000ULL | P | W | U);
	walk_err(&pg, 0x5abc, 0, 0, ENOENT, 0);
	set_ent(&pg, 0x5000, 2, WONLY | P | W | U);
	walk_err(&pg, 0x5abc, 0, 0, ENOENT, 0);
	end("l4_table_outside_ram");

	begin();
	pg.cr3 = UNBACKED;
	walk_err(&pg, 0x5abc, 0, 0, ENOENT, 0);
	pg.cr3 = 0x1000;
	end("l4_cr3_outside_ram");

	begin();
	map64(&pg, 0x5000, 0x789000, 1, P | W | U, P | W | U);
	pg.cr3 = 0x1000 | 0x123 | (1ULL << 62) | (1ULL << 61);
	walk_ok(&pg, 0x5abc, 0, 0, 0x789abc, PR | PW | PX | PU);
	pg.cr3 = 0x1000;
	end("l4_cr3_pcid_and_high_bits_masked");

	begin();
	map64(&pg, 0x5000, 0x789000, 1, P | W | U, P | W | U);
	walk_ok(&pg, 0x5abc, 0, 0, 0x789abc, PR | PW | PX | PU);
	{
		uint64_t gpa = 0;

		eq("ret", 0, (uint64_t)x86_walk(&pg, &mem, 0x5abc, 0, SETAD,
		    NULL, NULL, NULL));
		eq("ret2", 0, (uint64_t)x86_walk(&pg, &mem, 0x5abc, 0, 0,
		    &gpa, NULL, NULL));
		eq("gpa", 0x789abc, gpa);
	}
	end("l4_null_outputs");
}

/* Entries changing between the read and the A/D update. */
static void
test_races(void)
{
	struct x86_paging pg = mk64(false);

	begin();
	map64(&pg, 0x5000, 0x789000, 1, P | W | U, P | W | U);
	hook_gpa = entry_gpa(&pg, 0x5000, 1);
	hook_target = entry_gpa(&pg, 0x5000, 4);
	hook_bits = 1ULL << 9;
	hook_left = 1;
	ptr_calls = 0;
	walk_ok(&pg, 0x5abc, PF_W, SETAD, 0x789abc, PR | PW | PX | PU);
	eq("hook fired", 1, (uint64_t)hook_fired);
	eq("gpa_to_ptr calls (two walks)", 8, ptr_calls);
	eq("pml4e", 0x10000 | P | W | U | A | (1ULL << 9),
	    ent(&pg, 0x5000, 4));
	eq("pte", 0x789000 | P | W | U | A | D, ent(&pg, 0x5000, 1));
	end("l4_set_ad_retries_when_entry_changed");

	begin();
	map64(&pg, 0x5000, 0x789000, 1, P | W | U, P | W | U);
	hook_gpa = entry_gpa(&pg, 0x5000, 1);
	hook_target = entry_gpa(&pg, 0x5000, 4);
	hook_bits = 1ULL << 9;
	hook_left = 1000;
	walk_err(&pg, 0x5abc, 0, SETAD, EAGAIN, 0);
	eq("hook fired (64 walks)", 64, (uint64_t)hook_fired);
	eq("pte untouched", 0x789000 | P | W | U, ent(&pg, 0x5000, 1));
	hook_left = 0;
	end("l4_set_ad_eagain_when_always_changing");

	begin();
	map64(&pg, 0x5000, 0x789000, 1, P | W | U, P | W | U);
	hook_gpa = entry_gpa(&pg, 0x5000, 1);
	hook_target = entry_gpa(&pg, 0x5000, 4);
	hook_bits = 1ULL << 9;
	hook_left = 1000;
	walk_ok(&pg, 0x5abc, 0, 0, 0x789abc, PR | PW | PX | PU);
	eq("hook fired once", 1, (uint64_t)hook_fired);
	hook_left = 0;
	end("l4_no_set_ad_no_retry");
}

/* ---- 5-level paging ---- */

static void
test_la57(void)
{
	struct x86_paging pg = mk64(true);
	struct x86_paging pg4 = mk64(false);
	const uint64_t lo = 0x00f0000000201abcULL, hi = 0xff00000000201abcULL;

	begin();
	map64(&pg, lo, 0x789000, 1, P | W | U, P | W | U);
	walk_ok(&pg, lo, 0, 0, 0x789abc, PR | PW | PX | PU);
	eq("pml5 index", 0x1000 + 0xf0 * 8, entry_gpa(&pg, lo, 5));
	eq("canonical la57", 1, x86_canonical(&pg, lo));
	eq("noncanonical 4-level", 0, x86_canonical(&pg4, lo));
	walk_fault(&pg4, lo, 0, 0, 0);
	end("l5_4k");

	begin();
	map64(&pg, hi, 0x200000, 2, P | W | U, P | W);
	walk_ok(&pg, hi, 0, 0, 0x201abc, PR | PW | PX);
	eq("pml5 index 256", 0x1000 + 256 * 8, entry_gpa(&pg, hi, 5));
	end("l5_high_half_2m");

	begin();
	walk_fault(&pg, 0x0100000000000000ULL, 0, 0, 0);
	walk_fault(&pg, 0xfeffffffffffffffULL, 0, 0, 0);
	eq("noncanonical", 0, x86_canonical(&pg, 0x0100000000000000ULL));
	eq("canonical top", 1, x86_canonical(&pg, 0xff00000000000000ULL));
	end("l5_noncanonical");

	begin();
	map64(&pg, lo, 0x789000, 1, P | W | U, P | W | U);
	set_ent(&pg, lo, 5, ent(&pg, lo, 5) | PS);
	walk_fault(&pg, lo, 0, 0, PF_R | PF_P);
	end("l5_pml5e_ps_rsvd");

	begin();
	map64(&pg, lo, 0x789000, 1, P | W | U, P | W | U);
	walk_ok(&pg, lo, PF_W, SETAD, 0x789abc, PR | PW | PX | PU);
	eq("pml5e", 0x10000 | P | W | U | A, ent(&pg, lo, 5));
	eq("pml4e", 0x11000 | P | W | U | A, ent(&pg, lo, 4));
	eq("pdpte", 0x12000 | P | W | U | A, ent(&pg, lo, 3));
	eq("pde", 0x13000 | P | W | U | A, ent(&pg, lo, 2));
	eq("pte", 0x789000 | P | W | U | A | D, ent(&pg, lo, 1));
	end("l5_set_ad");
}

/* ---- x86_read_virt / x86_write_virt ---- */

static void
fill(uint64_t gpa, size_t n, uint8_t seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		ram[gpa + i] = (uint8_t)(seed + i);
}

static void
test_virt(void)
{
	struct x86_paging pg = mk64(false);
	uint8_t buf[16], exp[16], src[16];
	uint32_t pf;
	int ret, i;

	for (i = 0; i < 16; i++)
		src[i] = (uint8_t)(0xa0 + i);

	begin();
	map64(&pg, 0x7000, 0x300000, 1, P | W | U, P | W | U);
	map64(&pg, 0x8000, 0x100000, 1, P | W | U, P | W | U);
	fill(0x300ff8, 8, 0x10);
	fill(0x100000, 8, 0x40);
	memcpy(exp, ram + 0x300ff8, 8);
	memcpy(exp + 8, ram + 0x100000, 8);
	pf = 0xdead;
	ret = x86_read_virt(&pg, &mem, 0x7ff8, buf, 16, PF_U, &pf);
	eq("ret", 0, (uint64_t)ret);
	eq("pf", 0, pf);
	if (memcmp(buf, exp, 16) != 0)
		fail("bytes differ");
	eq("pte1 A, no D", 0x300000 | P | W | U | A, ent(&pg, 0x7000, 1));
	eq("pte2 A, no D", 0x100000 | P | W | U | A, ent(&pg, 0x8000, 1));
	end("read_virt_across_pages");

	begin();
	map64(&pg, 0x7000, 0x300000, 1, P | W | U, P | W | U);
	map64(&pg, 0x8000, 0x100000, 1, P | W | U, P | W | U);
	ret = x86_write_virt(&pg, &mem, 0x7ff8, src, 16, PF_U, &pf);
	eq("ret", 0, (uint64_t)ret);
	if (memcmp(ram + 0x300ff8, src, 8) != 0 ||
	    memcmp(ram + 0x100000, src + 8, 8) != 0)
		fail("bytes not written");
	eq("byte before", 0, ram[0x300ff7]);
	eq("byte after", 0, ram[0x100008]);
	eq("pte1 A|D", 0x300000 | P | W | U | A | D, ent(&pg, 0x7000, 1));
	eq("pte2 A|D", 0x100000 | P | W | U | A | D, ent(&pg, 0x8000, 1));
	end("write_virt_across_pages");

	begin();
	map64(&pg, 0x7000, 0x300000, 1, P | W | U, P | W | U);
	map64(&pg, 0x8000, 0x100000, 1, P | W | U, P | U);
	errno = 0;
	ret = x86_write_virt(&pg, &mem, 0x7ff8, src, 16, PF_U, &pf);
	eq("ret", (uint64_t)-1, (uint64_t)ret);
	eq("errno", EFAULT, (uint64_t)errno);
	eq("pf", PF_P | PF_W | PF_U, pf);
	for (i = 0; i < 8; i++)
		eq("first page untouched", 0, ram[0x300ff8 + i]);
	eq("pte1 A/D untouched", 0x300000 | P | W | U, ent(&pg, 0x7000, 1));
	end("write_virt_faults_before_writing");

	begin();
	map64(&pg, 0x7000, 0x300000, 1, P | W | U, P | W | U);
	map64(&pg, 0x8000, UNBACKED, 1, P | W | U, P | W | U);
	pf = 0xdead;
	ret = x86_read_virt(&pg, &mem, 0x7ff8, buf, 16, 0, &pf);
	eq("ret", (uint64_t)-1, (uint64_t)ret);
	eq("errno", ENOENT, (uint64_t)errno);
	eq("pf", 0, pf);
	end("read_virt_mmio_enoent");

	begin();
	map64(&pg, 0x7000, 0x300000, 1, P | W | U, P | W | U);
	map64(&pg, 0x8000, 0x100000, 1, P | W | U, 0);
	ret = x86_read_virt(&pg, &mem, 0x7ffc, buf, 8, PF_U, &pf);
	eq("ret", (uint64_t)-1, (uint64_t)ret);
	eq("errno", EFAULT, (uint64_t)errno);
	eq("pf", PF_U, pf);
	end("read_virt_not_present_second_page");

	begin();
	map64(&pg, 0x9000, ROM_BASE, 1, P | W | U, P | W | U);
	memset(rom, 0x5a, 16);
	ret = x86_write_virt(&pg, &mem, 0x9000, src, 16, 0, &pf);
	eq("write ret", (uint64_t)-1, (uint64_t)ret);
	eq("write errno", ENOENT, (uint64_t)errno);
	eq("rom unchanged", 0x5a, rom[0]);
	ret = x86_read_virt(&pg, &mem, 0x9004, buf, 4, 0, &pf);
	eq("read ret", 0, (uint64_t)ret);
	eq("read byte", 0x5a, buf[3]);
	end("virt_rom_read_only");

	begin();
	map64(&pg, 0x9000, WONLY, 1, P | W | U, P | W | U);
	memset(wonly, 0, 0x1000);
	ret = x86_read_virt(&pg, &mem, 0x9000, buf, 4, 0, &pf);
	eq("read ret", (uint64_t)-1, (uint64_t)ret);
	eq("read errno", ENOENT, (uint64_t)errno);
	ret = x86_write_virt(&pg, &mem, 0x9ffe, src, 2, 0, &pf);
	eq("write ret", 0, (uint64_t)ret);
	eq("written byte", 0xa1, wonly[0xfff]);
	end("virt_write_only_mapping");

	begin();
	pf = 0xdead;
	eq("read len 0", 0, (uint64_t)x86_read_virt(&pg, &mem, 0x1234, NULL,
	    0, 0, &pf));
	eq("pf", 0, pf);
	eq("write len 0", 0, (uint64_t)x86_write_virt(&pg, &mem, 0x1234,
	    NULL, 0, 0, NULL));
	errno = 0;
	eq("read NULL buf", (uint64_t)-1, (uint64_t)x86_read_virt(&pg, &mem,
	    0x1234, NULL, 4, 0, NULL));
	eq("errno", EINVAL, (uint64_t)errno);
	end("virt_len0_and_null_buf");

	begin();
	map64(&pg, 0x5000, 0x789000, 1, P | W | U, P | W | NX);
	ret = x86_read_virt(&pg, &mem, 0x5000, buf, 4, PF_I, &pf);
	eq("ret", (uint64_t)-1, (uint64_t)ret);
	eq("errno", EFAULT, (uint64_t)errno);
	eq("pf", PF_P | PF_I, pf);
	ret = x86_read_virt(&pg, &mem, 0x5000, buf, 4, 0, &pf);
	eq("data read ok", 0, (uint64_t)ret);
	end("read_virt_fetch_nx");

	begin();
	{
		struct x86_paging p32 = mk32();

		/* gva 0xfffff000 -> 0x200000, gva 0 -> 0x201000 */
		p32.cr3 = 0x6000;
		set32(0x6000 + 1023 * 4, 0x2000 | P | W);
		set32(0x2000 + 1023 * 4, 0x200000 | P | W);
		set32(0x6000, 0x3000 | P | W);
		set32(0x3000, 0x201000 | P | W);
		fill(0x200ffc, 4, 0x70);
		fill(0x201000, 4, 0x90);
		ret = x86_read_virt(&p32, &mem, 0xfffffffc, buf, 8, 0, &pf);
		eq("ret", 0, (uint64_t)ret);
		memcpy(exp, ram + 0x200ffc, 4);
		memcpy(exp + 4, ram + 0x201000, 4);
		if (memcmp(buf, exp, 8) != 0)
			fail("bytes differ across the 4 GiB wrap");
	}
	end("read_virt_32bit_wraps_at_4g");
}

int
main(void)
{
	ram = aligned_alloc(4096, RAM_SIZE);
	rom = aligned_alloc(4096, ROM_SIZE);
	wonly = aligned_alloc(4096, 4096);
	if (ram == NULL || rom == NULL || wonly == NULL) {
		printf("FAIL: setup: out of memory\n");
		free(ram);
		free(rom);
		free(wonly);
		return 1;
	}
	test_off();
	test_einval();
	test_32();
	test_pae();
	test_long();
	test_races();
	test_la57();
	test_virt();
	free(ram);
	free(rom);
	free(wonly);
	return nfail ? 1 : 0;
}

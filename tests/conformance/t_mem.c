/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Guest memory cases: hva/gpa maps and their errors, unmapping with slot
 * splitting, read-only and unmapped GPAs, gpa_to_hva, gva_to_gpa in every
 * paging mode, 128 GiB of guest RAM, isolation between machines.
 */
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"

DECLARE_GUEST(mem32);
DECLARE_GUEST_LABEL(mem32, load);
DECLARE_GUEST_LABEL(mem32, store);
DECLARE_GUEST(mem64);
DECLARE_GUEST_LABEL(mem64, load);
DECLARE_GUEST_LABEL(mem64, store);

#define PG 4096UL

static uint8_t *
anon(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	TEST_ASSERT(p != MAP_FAILED, "mmap: %s", strerror(errno));
	return p;
}

/* Guest load from gpa (mode 32-bit flat, mem32 loaded): returns EAX. */
static uint64_t
guest_load32(struct vm *vm, struct nvmm_vcpu *v, uint64_t gpa)
{
	struct nvmm_x64_state *st = vcpu_state(vm, v, NVMM_X64_STATE_GPRS);

	st->gprs[NVMM_X64_GPR_RSI] = gpa;
	st->gprs[NVMM_X64_GPR_RIP] = GUEST_ADDR(mem32, load);
	vcpu_commit(vm, v, NVMM_X64_STATE_GPRS);
	return GUEST_REPORT(vm, v);
}

static void
guest_store32_setup(struct vm *vm, struct nvmm_vcpu *v, uint64_t gpa,
    uint32_t val)
{
	struct nvmm_x64_state *st = vcpu_state(vm, v, NVMM_X64_STATE_GPRS);

	st->gprs[NVMM_X64_GPR_RDI] = gpa;
	st->gprs[NVMM_X64_GPR_RAX] = val;
	st->gprs[NVMM_X64_GPR_RIP] = GUEST_ADDR(mem32, store);
	vcpu_commit(vm, v, NVMM_X64_STATE_GPRS);
}

static void
test_hva_map_errors(void)
{
	struct vm *vm = vm_create(0);
	uint8_t *p = anon(8 * PG);

	ASSERT_ERR(nvmm_hva_map(&vm->mach, (uintptr_t)p + 1, PG), EINVAL);
	ASSERT_ERR(nvmm_hva_map(&vm->mach, (uintptr_t)p, PG - 1), EINVAL);
	ASSERT_ERR(nvmm_hva_map(&vm->mach, (uintptr_t)p, 0), EINVAL);
	ASSERT_ERR(nvmm_hva_map(&vm->mach, 0, PG), EINVAL);
	ASSERT_OK(nvmm_hva_map(&vm->mach, (uintptr_t)p, 2 * PG));
	ASSERT_ERR(nvmm_hva_map(&vm->mach, (uintptr_t)p + PG, 2 * PG), EEXIST);
	ASSERT_ERR(nvmm_hva_map(&vm->mach, (uintptr_t)p, 2 * PG), EEXIST);
	ASSERT_ERR(nvmm_hva_map(&vm->mach, (uintptr_t)p - PG, 8 * PG), EEXIST);
	/* Adjacent is fine. */
	ASSERT_OK(nvmm_hva_map(&vm->mach, (uintptr_t)p + 2 * PG, 2 * PG));
	vm_destroy(vm);
	munmap(p, 8 * PG);
}

static void
test_hva_unmap(void)
{
	struct vm *vm = vm_create(0);
	uint8_t *p = anon(4 * PG);

	ASSERT_OK(nvmm_hva_map(&vm->mach, (uintptr_t)p, 4 * PG));
	/* Only the exact range unmaps. */
	ASSERT_ERR(nvmm_hva_unmap(&vm->mach, (uintptr_t)p, PG), ENOENT);
	ASSERT_ERR(nvmm_hva_unmap(&vm->mach, (uintptr_t)p + PG, 3 * PG),
	    ENOENT);
	ASSERT_OK(nvmm_hva_unmap(&vm->mach, (uintptr_t)p, 4 * PG));
	ASSERT_ERR(nvmm_hva_unmap(&vm->mach, (uintptr_t)p, 4 * PG), ENOENT);
	/* No longer registered: gpa_map refuses it. */
	ASSERT_ERR(nvmm_gpa_map(&vm->mach, (uintptr_t)p, 0x400000, PG,
	    PROT_READ), EINVAL);
	vm_destroy(vm);
	munmap(p, 4 * PG);
}

static void
test_gpa_map_errors(void)
{
	struct nvmm_capability cap;
	struct vm *vm;
	uint8_t *p = anon(4 * PG), *other = anon(PG);
	uintptr_t h = (uintptr_t)p;
	const int rw = PROT_READ | PROT_WRITE;

	get_capability(&cap);
	vm = vm_create(0);
	ASSERT_OK(nvmm_hva_map(&vm->mach, h, 4 * PG));
	ASSERT_ERR(nvmm_gpa_map(&vm->mach, h, 0x400800, PG, rw), EINVAL);
	ASSERT_ERR(nvmm_gpa_map(&vm->mach, h + 8, 0x400000, PG, rw), EINVAL);
	ASSERT_ERR(nvmm_gpa_map(&vm->mach, h, 0x400000, 0, rw), EINVAL);
	ASSERT_ERR(nvmm_gpa_map(&vm->mach, h, 0x400000, PG + 1, rw), EINVAL);
	ASSERT_ERR(nvmm_gpa_map(&vm->mach, 0, 0x400000, PG, rw), EINVAL);
	/* hva outside every hva_map, or sticking out of one */
	ASSERT_ERR(nvmm_gpa_map(&vm->mach, (uintptr_t)other, 0x400000, PG, rw),
	    EINVAL);
	ASSERT_ERR(nvmm_gpa_map(&vm->mach, h, 0x400000, 5 * PG, rw), EINVAL);
	ASSERT_ERR(nvmm_gpa_map(&vm->mach, h + 3 * PG, 0x400000, 2 * PG, rw),
	    EINVAL);
	/* prot beyond R|W|X */
	ASSERT_ERR(nvmm_gpa_map(&vm->mach, h, 0x400000, PG, 0x8 | PROT_READ),
	    EINVAL);
	/* beyond max_ram, and wrapping */
	ASSERT_ERR(nvmm_gpa_map(&vm->mach, h, cap.max_ram, PG, rw), EINVAL);
	ASSERT_ERR(nvmm_gpa_map(&vm->mach, h, cap.max_ram - PG, 2 * PG, rw),
	    EINVAL);
	ASSERT_ERR(nvmm_gpa_map(&vm->mach, h, 0xfffffffffffff000ULL, 2 * PG,
	    rw), EINVAL);
	/* GPA overlap with an existing map (RAM is at [0, 2 MiB)) */
	ASSERT_ERR2(nvmm_gpa_map(&vm->mach, h, 0x1ff000, 2 * PG, rw), EEXIST,
	    EINVAL);
	ASSERT_OK(nvmm_gpa_map(&vm->mach, h, 0x400000, 2 * PG, rw));
	ASSERT_ERR2(nvmm_gpa_map(&vm->mach, h + 2 * PG, 0x401000, PG, rw),
	    EEXIST, EINVAL);
	/* The same host pages at a second GPA are fine (aliasing). */
	ASSERT_OK(nvmm_gpa_map(&vm->mach, h, 0x500000, PG, rw));
	/* gpa_unmap of something never mapped */
	ASSERT_ERR2(nvmm_gpa_unmap(&vm->mach, h, 0x600000, PG), ENOENT, EINVAL);
	ASSERT_ERR(nvmm_gpa_unmap(&vm->mach, h, 0x400000, 0), EINVAL);
	ASSERT_ERR(nvmm_gpa_unmap(&vm->mach, h, 0x400800, PG), EINVAL);
	vm_destroy(vm);
	munmap(p, 4 * PG);
	munmap(other, PG);
}

static void
test_gpa_unmap_split(void)
{
	struct vm *vm = vm_create(0);
	struct nvmm_vcpu v;
	struct nvmm_vcpu_exit *e;
	uint8_t *p;
	uintptr_t hva;
	nvmm_prot_t prot;
	unsigned i;

	p = vm_map(vm, 0x800000, 16 * PG, PROT_READ | PROT_WRITE);
	for (i = 0; i < 16; i++)
		memcpy(p + i * PG + 0x10, &(uint32_t){ 0xa0000000 + i }, 4);
	ASSERT_OK(nvmm_gpa_unmap(&vm->mach, (uintptr_t)p + 4 * PG,
	    0x804000, 4 * PG));
	vcpu_add(vm, 0, &v);
	guest_load(vm, GUEST(mem32));
	vcpu_setup_prot32(vm, &v, GUEST_ADDR(mem32, load));
	for (i = 0; i < 16; i++) {
		if (i >= 4 && i < 8)
			continue;
		ASSERT_EQ(guest_load32(vm, &v, 0x800010 + i * PG),
		    0xa0000000 + i);
	}
	/* The host view agrees. */
	ASSERT_ERR(nvmm_gpa_to_hva(&vm->mach, 0x805000, &hva, &prot), ENOENT);
	ASSERT_OK(nvmm_gpa_to_hva(&vm->mach, 0x808010, &hva, &prot));
	ASSERT_EQ(hva, (uintptr_t)p + 8 * PG + 0x10);
	ASSERT_OK(nvmm_gpa_to_hva(&vm->mach, 0x803000, &hva, &prot));
	ASSERT_EQ(hva, (uintptr_t)p + 3 * PG);
	/* The hole exits. */
	vcpu_state(vm, &v, NVMM_X64_STATE_GPRS)->gprs[NVMM_X64_GPR_RSI] =
	    0x805010;
	vcpu_commit(vm, &v, NVMM_X64_STATE_GPRS);
	e = EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_MEMORY);
	ASSERT_EQ(e->u.mem.gpa, 0x805010);
	ASSERT_EQ(e->u.mem.prot, PROT_READ);
	ASSERT_EQ(vcpu_gpr(vm, &v, NVMM_X64_GPR_RIP), GUEST_ADDR(mem32, load));
	/* Unmapping the hole again fails; mapping it back works. */
	ASSERT_ERR2(nvmm_gpa_unmap(&vm->mach, (uintptr_t)p + 4 * PG, 0x804000,
	    4 * PG), ENOENT, EINVAL);
	ASSERT_OK(nvmm_gpa_map(&vm->mach, (uintptr_t)p + 4 * PG, 0x804000,
	    4 * PG, PROT_READ | PROT_WRITE));
	ASSERT_EQ(guest_load32(vm, &v, 0x805010), 0xa0000005);
	vm_destroy(vm);
}

static void
test_mem_readonly(void)
{
	struct vm *vm = vm_create(0);
	struct nvmm_vcpu v;
	struct nvmm_vcpu_exit *e;
	uint8_t *p;
	uintptr_t hva;
	nvmm_prot_t prot;
	uint32_t x;

	p = anon(PG);
	memcpy(p + 0x10, &(uint32_t){ 0xcafef00d }, 4);
	ASSERT_OK(nvmm_hva_map(&vm->mach, (uintptr_t)p, PG));
	ASSERT_OK(nvmm_gpa_map(&vm->mach, (uintptr_t)p, 0x400000, PG,
	    PROT_READ | PROT_EXEC));
	ASSERT_OK(nvmm_gpa_to_hva(&vm->mach, 0x400010, &hva, &prot));
	ASSERT_EQ(hva, (uintptr_t)p + 0x10);
	ASSERT_EQ(prot, NVMM_PROT_READ | NVMM_PROT_EXEC);

	vcpu_add(vm, 0, &v);
	guest_load(vm, GUEST(mem32));
	vcpu_setup_prot32(vm, &v, GUEST_ADDR(mem32, load));
	ASSERT_EQ(guest_load32(vm, &v, 0x400010), 0xcafef00d);
	guest_store32_setup(vm, &v, 0x400020, 0x12345678);
	e = EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_MEMORY);
	ASSERT_EQ(e->u.mem.gpa, 0x400020);
	ASSERT_EQ(e->u.mem.prot, PROT_WRITE);
	/*
	 * RIP on the store (NVMM), or past its 2 bytes where KVM performed
	 * the refused write before exiting (docs/STATUS.md).
	 */
	{
		uint64_t rip = vcpu_gpr(vm, &v, NVMM_X64_GPR_RIP);
		if (rip != GUEST_ADDR(mem32, store) + 2)
			ASSERT_EQ(rip, GUEST_ADDR(mem32, store));
	}
	memcpy(&x, p + 0x20, 4);
	ASSERT_EQ(x, 0);
	/* Reads still work after the refused write. */
	ASSERT_EQ(guest_load32(vm, &v, 0x400010), 0xcafef00d);
	vm_destroy(vm);
	munmap(p, PG);
}

static void
test_mem_unmapped(void)
{
	struct vm *vm = vm_create(0);
	struct nvmm_vcpu v;
	struct nvmm_vcpu_exit *e;
	struct nvmm_x64_state *st;

	vcpu_add(vm, 0, &v);
	guest_load(vm, GUEST(mem32));
	vcpu_setup_prot32(vm, &v, GUEST_ADDR(mem32, load));
	st = vcpu_state(vm, &v, NVMM_X64_STATE_GPRS);
	st->gprs[NVMM_X64_GPR_RSI] = MMIO_GPA + 0x44;
	vcpu_commit(vm, &v, NVMM_X64_STATE_GPRS);
	e = EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_MEMORY);
	ASSERT_EQ(e->u.mem.gpa, MMIO_GPA + 0x44);
	ASSERT_EQ(e->u.mem.prot, PROT_READ);
	ASSERT_EQ(vcpu_gpr(vm, &v, NVMM_X64_GPR_RIP), GUEST_ADDR(mem32, load));
	TEST_ASSERT(e->u.mem.inst_len <= 15, "inst_len %u", e->u.mem.inst_len);
	if (e->u.mem.inst_len != 0) {
		/* mov (%esi),%eax = 8b 06 */
		ASSERT_EQ(e->u.mem.inst_bytes[0], 0x8b);
		ASSERT_EQ(e->u.mem.inst_bytes[1], 0x06);
	}
	guest_store32_setup(vm, &v, MMIO_GPA + 0x80, 7);
	e = EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_MEMORY);
	ASSERT_EQ(e->u.mem.gpa, MMIO_GPA + 0x80);
	ASSERT_EQ(e->u.mem.prot, PROT_WRITE);
	vm_destroy(vm);
}

static void
test_gpa_to_hva(void)
{
	struct vm *vm = vm_create(0);
	uintptr_t hva = 0;
	nvmm_prot_t prot = 0;

	ASSERT_OK(nvmm_gpa_to_hva(&vm->mach, 0x1234, &hva, &prot));
	ASSERT_EQ(hva, (uintptr_t)vm->ram + 0x1234);
	ASSERT_EQ(prot, NVMM_PROT_READ | NVMM_PROT_WRITE | NVMM_PROT_EXEC);
	ASSERT_OK(nvmm_gpa_to_hva(&vm->mach, RAM_SIZE - 1, &hva, &prot));
	ASSERT_EQ(hva, (uintptr_t)vm->ram + RAM_SIZE - 1);
	ASSERT_ERR(nvmm_gpa_to_hva(&vm->mach, RAM_SIZE, &hva, &prot), ENOENT);
	ASSERT_ERR(nvmm_gpa_to_hva(&vm->mach, MMIO_GPA, &hva, &prot), ENOENT);
	vm_map(vm, 0x300000, PG, PROT_READ);
	ASSERT_OK(nvmm_gpa_to_hva(&vm->mach, 0x300008, &hva, &prot));
	ASSERT_EQ(prot, NVMM_PROT_READ);
	vm_destroy(vm);
}

/* gva -> expected gpa and prot, or EFAULT when gpa == ~0. */
struct walk {
	uint64_t gva, gpa;
	nvmm_prot_t prot;
};

static void
check_walks(struct vm *vm, struct nvmm_vcpu *v, const struct walk *w,
    size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		gpaddr_t gpa = 0;
		nvmm_prot_t prot = 0;

		errno = 0;
		int r = nvmm_gva_to_gpa(&vm->mach, v, w[i].gva, &gpa, &prot);

		if (w[i].gpa == ~0ULL) {
			TEST_ASSERT(r == -1 && errno == EFAULT,
			    "gva 0x%" PRIx64 ": expected -1/EFAULT, got %d/%d "
			    "gpa 0x%" PRIx64, w[i].gva, r, errno, gpa);
			continue;
		}
		TEST_ASSERT(r == 0, "gva 0x%" PRIx64 ": expected gpa 0x%" PRIx64
		    ", got %d/%s", w[i].gva, w[i].gpa, r, strerror(errno));
		TEST_ASSERT(gpa == w[i].gpa && prot == w[i].prot,
		    "gva 0x%" PRIx64 ": expected gpa 0x%" PRIx64 " prot 0x%"
		    PRIx64 ", got gpa 0x%" PRIx64 " prot 0x%" PRIx64, w[i].gva,
		    w[i].gpa, w[i].prot, gpa, prot);
	}
}

#define R NVMM_PROT_READ
#define W NVMM_PROT_WRITE
#define X NVMM_PROT_EXEC
#define U NVMM_PROT_USER
#define NOPE (~0ULL)

static void
test_gva_to_gpa_real(void)
{
	struct vm *vm = vm_create(0);
	struct nvmm_vcpu v;
	static const struct walk w[] = {
		{ 0x0, 0x0, R | W | X | U },
		{ 0x12345, 0x12345, R | W | X | U },
		{ 0x10ffef, 0x10ffef, R | W | X | U },
	};

	vcpu_add(vm, 0, &v);
	vcpu_setup_real(vm, &v, CODE_GPA);
	check_walks(vm, &v, w, sizeof(w) / sizeof(w[0]));
	/* Protected mode without paging: identity as well. */
	vcpu_setup_prot32(vm, &v, CODE_GPA);
	check_walks(vm, &v, w, sizeof(w) / sizeof(w[0]));
	vm_destroy(vm);
}

static void
test_gva_to_gpa_32(void)
{
	struct vm *vm = vm_create(0);
	struct nvmm_vcpu v;
	const uint64_t pt = PT_GPA + 0x6000;
	static const struct walk w[] = {
		{ 0x5123, 0x123123, R | W | X | U },
		{ 0x6010, 0x124010, R | X },		/* RO, supervisor */
		{ 0x7000, NOPE, 0 },			/* PTE not present */
		{ 0x401234, 0x801234, R | X | U },	/* 4 MiB page, RO */
		{ 0x7fffff, 0xbfffff, R | X | U },
		{ 0x800000, NOPE, 0 },			/* PDE not present */
		{ 0xc0000000, 0xc0000000, R | W | X | U },
	};

	vcpu_add(vm, 0, &v);
	vcpu_setup_paging32(vm, &v, CODE_GPA);
	gpa_write32(vm, PT_GPA + 0 * 4, (uint32_t)pt | 0x7);
	gpa_write32(vm, PT_GPA + 1 * 4, 0x800000 | 0x85);
	gpa_write32(vm, PT_GPA + 2 * 4, 0);
	memset(gpa_ptr(vm, pt), 0, PG);
	gpa_write32(vm, pt + 5 * 4, 0x123000 | 0x7);
	gpa_write32(vm, pt + 6 * 4, 0x124000 | 0x1);
	check_walks(vm, &v, w, sizeof(w) / sizeof(w[0]));
	vm_destroy(vm);
}

/* Shared by PAE and 4-level: PD0[0] -> 4 KiB PT, PD0[2] -> 2 MiB RO. */
static void
build_pd_tests(struct vm *vm)
{
	const uint64_t pd0 = PT_GPA + 0x2000, pt = PT_GPA + 0x6000;

	memset(gpa_ptr(vm, pt), 0, PG);
	gpa_write64(vm, pd0 + 0 * 8, pt | 0x7);
	gpa_write64(vm, pd0 + 2 * 8, 0xa00000 | 0x85);
	gpa_write64(vm, pd0 + 3 * 8, 0);
	gpa_write64(vm, pt + 5 * 8, 0x123000 | 0x7);
	gpa_write64(vm, pt + 6 * 8, 0x124000 | 0x1 | (1ULL << 63));	/* NX */
	gpa_write64(vm, pt + 8 * 8, 0x125000 | 0x5);
}

static const struct walk pd_walks[] = {
	{ 0x5123, 0x123123, R | W | X | U },
	{ 0x6010, 0x124010, R },		/* RO, supervisor, NX */
	{ 0x7000, NOPE, 0 },
	{ 0x8ffc, 0x125ffc, R | X | U },
	{ 0x401234, 0xa01234, R | X | U },	/* 2 MiB page, RO */
	{ 0x600000, NOPE, 0 },
	{ 0x80000000, 0x80000000, R | W | X | U },
};

static void
set_nxe(struct vm *vm, struct nvmm_vcpu *v)
{
	vcpu_state(vm, v, NVMM_X64_STATE_MSRS)->msrs[NVMM_X64_MSR_EFER] |=
	    0x800;
	vcpu_commit(vm, v, NVMM_X64_STATE_MSRS);
}

static void
test_gva_to_gpa_pae(void)
{
	struct vm *vm = vm_create(0);
	struct nvmm_vcpu v;

	vcpu_add(vm, 0, &v);
	vcpu_setup_pae(vm, &v, CODE_GPA);
	set_nxe(vm, &v);
	build_pd_tests(vm);
	gpa_write64(vm, PT_GPA + 3 * 8, 0);	/* PDPTE 3 not present */
	check_walks(vm, &v, pd_walks, sizeof(pd_walks) / sizeof(pd_walks[0]));
	static const struct walk w[] = { { 0xc0001000, NOPE, 0 } };
	check_walks(vm, &v, w, 1);
	vm_destroy(vm);
}

static void
test_gva_to_gpa_64(void)
{
	struct vm *vm = vm_create(0);
	struct nvmm_vcpu v;
	static const struct walk w[] = {
		{ 0x100001234ULL, 0x40001234, R | W | X | U },	/* 1 GiB page */
		{ 0x140000000ULL, NOPE, 0 },			/* PDPTE 5 */
		{ 0x8000000000ULL, NOPE, 0 },			/* PML4E 1 */
		{ 0x0000800000000000ULL, NOPE, 0 },		/* non-canonical */
		{ 0xffff800000000000ULL, NOPE, 0 },		/* PML4E 256 */
	};

	vcpu_add(vm, 0, &v);
	vcpu_setup_long64(vm, &v, CODE_GPA);
	set_nxe(vm, &v);
	build_pd_tests(vm);
	gpa_write64(vm, PT_GPA + 0x1000 + 4 * 8, 0x40000000 | 0x87);
	check_walks(vm, &v, pd_walks, sizeof(pd_walks) / sizeof(pd_walks[0]));
	check_walks(vm, &v, w, sizeof(w) / sizeof(w[0]));
	vm_destroy(vm);
}

static void
test_ram_128g(void)
{
	struct nvmm_capability cap;
	struct vm *vm;
	struct nvmm_vcpu v;
	struct nvmm_vcpu_exit *e;
	struct nvmm_x64_state *st;
	uint8_t *big;
	size_t bsize;
	uint64_t x;
	const uint64_t pd127 = PT_GPA + 0x7000, pd128 = PT_GPA + 0x8000;

	get_capability(&cap);
	ASSERT_EQ(cap.max_ram, 128ULL << 30);
	vm = vm_create(0);
	/* Everything from 2 MiB up to max_ram. */
	bsize = cap.max_ram - RAM_SIZE;
	big = anon(bsize);
	ASSERT_OK(nvmm_hva_map(&vm->mach, (uintptr_t)big, bsize));
	ASSERT_OK(nvmm_gpa_map(&vm->mach, (uintptr_t)big, RAM_SIZE, bsize,
	    PROT_READ | PROT_WRITE));
	ASSERT_ERR(nvmm_gpa_map(&vm->mach, (uintptr_t)big, cap.max_ram, PG,
	    PROT_READ), EINVAL);

	/* A long-mode guest reaches 127 GiB through 2 MiB pages. */
	vcpu_add(vm, 0, &v);
	guest_load(vm, GUEST(mem64));
	vcpu_setup_long64(vm, &v, GUEST_ADDR(mem64, store));
	memset(gpa_ptr(vm, pd127), 0, 2 * PG);
	gpa_write64(vm, pd127, (127ULL << 30) | 0x87);
	gpa_write64(vm, pd127 + 511 * 8, (127ULL << 30) + (511ULL << 21) + 0x87);
	gpa_write64(vm, pd128, (128ULL << 30) | 0x87);
	gpa_write64(vm, PT_GPA + 0x1000 + 127 * 8, pd127 | 0x7);
	gpa_write64(vm, PT_GPA + 0x1000 + 128 * 8, pd128 | 0x7);

	st = vcpu_state(vm, &v, NVMM_X64_STATE_GPRS);
	st->gprs[NVMM_X64_GPR_RDI] = (127ULL << 30) + 0x1008;
	st->gprs[NVMM_X64_GPR_RAX] = 0x0123456789abcdefULL;
	vcpu_commit(vm, &v, NVMM_X64_STATE_GPRS);
	GUEST_REPORT(vm, &v);
	memcpy(&x, big + (127ULL << 30) + 0x1008 - RAM_SIZE, 8);
	ASSERT_EQ(x, 0x0123456789abcdefULL);

	x = 0xfeedfacecafebeefULL;
	memcpy(big + bsize - 8, &x, 8);
	st = vcpu_state(vm, &v, NVMM_X64_STATE_GPRS);
	st->gprs[NVMM_X64_GPR_RSI] = cap.max_ram - 8;
	st->gprs[NVMM_X64_GPR_RIP] = GUEST_ADDR(mem64, load);
	vcpu_commit(vm, &v, NVMM_X64_STATE_GPRS);
	ASSERT_EQ(GUEST_REPORT(vm, &v), 0xfeedfacecafebeefULL);

	/* One byte beyond: a MEMORY exit. */
	st = vcpu_state(vm, &v, NVMM_X64_STATE_GPRS);
	st->gprs[NVMM_X64_GPR_RSI] = cap.max_ram;
	st->gprs[NVMM_X64_GPR_RIP] = GUEST_ADDR(mem64, load);
	vcpu_commit(vm, &v, NVMM_X64_STATE_GPRS);
	e = EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_MEMORY);
	ASSERT_EQ(e->u.mem.gpa, cap.max_ram);
	ASSERT_EQ(e->u.mem.prot, PROT_READ);

	/* Unmap, then the last page alone maps (DragonFly h_misc). */
	ASSERT_OK(nvmm_gpa_unmap(&vm->mach, (uintptr_t)big, RAM_SIZE, bsize));
	ASSERT_OK(nvmm_gpa_map(&vm->mach, (uintptr_t)big + bsize - PG,
	    cap.max_ram - PG, PG, PROT_READ));
	ASSERT_OK(nvmm_gpa_unmap(&vm->mach, (uintptr_t)big + bsize - PG,
	    cap.max_ram - PG, PG));
	vm_destroy(vm);
	munmap(big, bsize);
}

static void
test_machines_isolated(void)
{
	struct vm *a = vm_create(0), *b = vm_create(0);
	struct nvmm_vcpu va, vb;

	vcpu_add(a, 0, &va);
	vcpu_add(b, 0, &vb);
	guest_load(a, GUEST(mem32));
	guest_load(b, GUEST(mem32));
	vcpu_setup_prot32(a, &va, GUEST_ADDR(mem32, load));
	vcpu_setup_prot32(b, &vb, GUEST_ADDR(mem32, load));
	gpa_write32(a, DATA_GPA, 0xaaaa1111);
	gpa_write32(b, DATA_GPA, 0xbbbb2222);
	ASSERT_EQ(guest_load32(a, &va, DATA_GPA), 0xaaaa1111);
	ASSERT_EQ(guest_load32(b, &vb, DATA_GPA), 0xbbbb2222);
	/* A guest write lands in its own machine only, visible to the host. */
	guest_store32_setup(a, &va, DATA_GPA + 4, 0x5555aaaa);
	GUEST_REPORT(a, &va);
	ASSERT_EQ(gpa_read32(a, DATA_GPA + 4), 0x5555aaaa);
	ASSERT_EQ(gpa_read32(b, DATA_GPA + 4), 0);
	ASSERT_EQ(guest_load32(b, &vb, DATA_GPA + 4), 0);
	ASSERT_EQ(guest_load32(a, &va, DATA_GPA + 4), 0x5555aaaa);
	/* Destroying one leaves the other running. */
	vm_destroy(a);
	ASSERT_EQ(guest_load32(b, &vb, DATA_GPA), 0xbbbb2222);
	vm_destroy(b);
}

const struct test_case mem_cases[] = {
	TEST_CASE(hva_map_errors, "hva_map: unaligned/0/NULL -> EINVAL, overlap -> EEXIST"),
	TEST_CASE(hva_unmap, "hva_unmap needs the exact range (ENOENT), then gpa_map refuses it"),
	TEST_CASE(gpa_map_errors, "gpa_map: alignment, size, hva, prot, max_ram, overlap errors"),
	TEST_CASE(gpa_unmap_split, "unmap 4 of 16 pages: rest readable, hole exits, remap works"),
	TEST_CASE(mem_readonly, "read-only GPA: reads work, write -> MEMORY PROT_WRITE"),
	TEST_CASE(mem_unmapped, "unmapped GPA -> MEMORY exit with gpa and PROT_READ/WRITE"),
	TEST_CASE(gpa_to_hva, "gpa_to_hva: hva, prot, ENOENT"),
	TEST_CASE(gva_to_gpa_real, "gva_to_gpa without paging: identity, RWXU"),
	TEST_CASE(gva_to_gpa_32, "gva_to_gpa 2-level: 4 KiB, 4 MiB, prot, EFAULT"),
	TEST_CASE(gva_to_gpa_pae, "gva_to_gpa PAE: 4 KiB, 2 MiB, NX, EFAULT"),
	TEST_CASE(gva_to_gpa_64, "gva_to_gpa 4-level: 4 KiB, 2 MiB, 1 GiB, canonical, EFAULT"),
	TEST_CASE(ram_128g, "128 GiB of guest RAM: map, guest access at 127 GiB, beyond -> exit"),
	TEST_CASE(machines_isolated, "two machines, same GPA, each guest sees its own memory"),
	{ NULL, NULL, NULL },
};

// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0
/*
 * nvmm_x86_fetch.c: the guest's instruction at RIP, for the few exits the
 * module completes itself when the CPU gives no decode assist (QEMU TCG,
 * older CPUs): a page walk of the guest's own tables (translation only;
 * the CPU has just fetched the instruction, so its checks passed), the
 * bytes, and the decoding of the control-register writes (MOV to CRn,
 * LMSW, CLTS) and of the length of prefixed two-byte opcodes.
 */
#include <linux/kernel.h>
#include <asm/processor-flags.h>

#include "nvmm_kern.h"

#define PTE_P		(1ULL << 0)
#define PTE_PS		(1ULL << 7)
#define PTE_ADDR	0x000FFFFFFFFFF000ULL

static int
read_entry(struct nvmm_kmachine *mach, u64 gpa, bool wide, u64 *e)
{
	u32 e32;
	int r;

	if (wide)
		return nvmm_mem_read(mach, gpa, e, 8) ? -EFAULT : 0;
	r = nvmm_mem_read(mach, gpa, &e32, 4);
	*e = e32;
	return r ? -EFAULT : 0;
}

/* Guest-virtual (linear) to guest-physical; -EFAULT when not mapped. */
static int
gva_to_gpa(struct nvmm_kmachine *mach, const struct nvmm_x86_paging *pg,
    u64 gva, u64 *gpa)
{
	u64 e, table;
	int level, levels;

	if (!(pg->cr0 & X86_CR0_PG)) {
		*gpa = gva & 0xFFFFFFFFULL;
		return 0;
	}
	if (!(pg->cr4 & X86_CR4_PAE)) {
		/* 32-bit paging: 4 KiB pages, or 4 MiB ones with PSE. */
		gva &= 0xFFFFFFFFULL;
		if (read_entry(mach, (pg->cr3 & 0xFFFFF000ULL) + (gva >> 22) * 4,
		    false, &e) || !(e & PTE_P))
			return -EFAULT;
		if ((e & PTE_PS) && (pg->cr4 & X86_CR4_PSE)) {
			*gpa = (e & 0xFFC00000ULL) | ((e & 0x1FE000ULL) << 19) |
			    (gva & 0x3FFFFF);
			return 0;
		}
		if (read_entry(mach, (e & 0xFFFFF000ULL) +
		    ((gva >> 12) & 0x3FF) * 4, false, &e) || !(e & PTE_P))
			return -EFAULT;
		*gpa = (e & 0xFFFFF000ULL) | (gva & 0xFFF);
		return 0;
	}
	if (!(pg->efer & EFER_LMA)) {
		/* PAE: the PDPTE, then two levels as in long mode. */
		gva &= 0xFFFFFFFFULL;
		if (read_entry(mach, (pg->cr3 & 0xFFFFFFE0ULL) + (gva >> 30) * 8,
		    true, &e) || !(e & PTE_P))
			return -EFAULT;
		table = e & PTE_ADDR;
		levels = 2;
	} else {
		levels = (pg->cr4 & X86_CR4_LA57) ? 5 : 4;
		table = pg->cr3 & PTE_ADDR;
	}
	for (level = levels; level >= 1; level--) {
		unsigned int shift = 12 + 9 * (level - 1);

		if (read_entry(mach, table + ((gva >> shift) & 511) * 8, true,
		    &e) || !(e & PTE_P))
			return -EFAULT;
		if (level == 1 || ((e & PTE_PS) && level <= 3)) {
			u64 mask = (1ULL << shift) - 1;

			*gpa = ((e & PTE_ADDR) & ~mask) | (gva & mask);
			return 0;
		}
		table = e & PTE_ADDR;
	}
	return -EFAULT;
}

int
nvmm_x86_fetch(struct nvmm_kmachine *mach, const struct nvmm_x86_paging *pg,
    u64 linear, u8 *buf, unsigned int len)
{
	unsigned int done = 0;

	while (done < len) {
		u64 va = linear + done, gpa;
		unsigned int n = min_t(unsigned int, len - done,
		    PAGE_SIZE - (va & ~PAGE_MASK));

		if (gva_to_gpa(mach, pg, va, &gpa) ||
		    nvmm_mem_read(mach, gpa, buf + done, n))
			break;
		done += n;
	}
	return done;
}

/* Legacy prefixes, then a REX prefix in 64-bit mode: the opcode's offset. */
static unsigned int
skip_prefixes(const u8 *b, unsigned int n, bool mode64, u8 *rex, bool *lock)
{
	unsigned int i = 0;

	*rex = 0;
	*lock = false;
	for (; i < n; i++) {
		switch (b[i]) {
		case 0x66: case 0x67: case 0xF2: case 0xF3:
		case 0x26: case 0x2E: case 0x36: case 0x3E: case 0x64: case 0x65:
			*rex = 0;
			continue;
		case 0xF0:
			*lock = true;
			*rex = 0;
			continue;
		default:
			break;
		}
		if (mode64 && (b[i] & 0xF0) == 0x40) {
			*rex = b[i];
			continue;
		}
		break;
	}
	return i;
}

int
nvmm_x86_decode_crw(const u8 *b, unsigned int n, bool mode64,
    struct nvmm_x86_crw *op)
{
	unsigned int i;
	bool lock;
	u8 rex, modrm;

	i = skip_prefixes(b, n, mode64, &rex, &lock);
	if (i + 2 > n || b[i] != 0x0F)
		return -EINVAL;
	op->len = i + 2;
	if (b[i + 1] == 0x06) {
		op->kind = NVMM_X86_CRW_CLTS;
		op->cr = 0;
		return lock ? -EINVAL : 0;
	}
	if (i + 3 > n)
		return -EINVAL;
	modrm = b[i + 2];
	op->len = i + 3;
	op->gpr = (modrm & 7) | ((rex & 1) << 3);
	if (b[i + 1] == 0x22) {
		/* The mod field is ignored: always a register operand. */
		op->kind = NVMM_X86_CRW_MOV;
		op->cr = ((modrm >> 3) & 7) | ((rex & 4) << 1);
		if (lock)	/* AMD's alternative encoding of CR8 */
			op->cr |= 8;
		return 0;
	}
	if (b[i + 1] == 0x01 && ((modrm >> 3) & 7) == 6 && !lock) {
		op->kind = NVMM_X86_CRW_LMSW;
		op->cr = 0;
		/* A memory operand is not decoded here. */
		return (modrm >> 6) == 3 ? 0 : -EOPNOTSUPP;
	}
	return -EINVAL;
}

int
nvmm_x86_len_0f(const u8 *b, unsigned int n, bool mode64, u8 op2)
{
	unsigned int i;
	bool lock;
	u8 rex;

	i = skip_prefixes(b, n, mode64, &rex, &lock);
	if (i + 2 > n || b[i] != 0x0F || b[i + 1] != op2)
		return -EINVAL;
	return i + 2;
}

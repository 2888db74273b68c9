/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x86_walk.h: guest-virtual to guest-physical translation (the page walker)
 * and guest memory access helpers built on it. Backend independent: guest
 * RAM is reached through a gpa -> host pointer callback.
 */
#ifndef X86_WALK_H
#define X86_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nvmm.h>

/* Page-fault error code bits; also used to describe the access to check. */
#define X86_PF_P	0x01	/* the fault was a protection violation */
#define X86_PF_W	0x02	/* write access */
#define X86_PF_U	0x04	/* user-mode (CPL 3) access */
#define X86_PF_RSVD	0x08	/* reserved bit set in a paging entry */
#define X86_PF_I	0x10	/* instruction fetch */

/* Guest physical memory, as the walker sees it. */
struct x86_guest_mem {
	void *ctx;
	/*
	 * Host address of guest-physical byte `gpa`, valid up to the end of
	 * its 4 KiB page, or NULL when `gpa` is not backed by RAM (MMIO or
	 * unmapped). `*prot` receives the mapping's NVMM_PROT_* bits.
	 */
	uint8_t *(*gpa_to_ptr)(void *ctx, uint64_t gpa, nvmm_prot_t *prot);
};

/* The guest registers paging depends on. */
struct x86_paging {
	uint64_t cr0, cr3, cr4, efer;
	uint64_t rflags;	/* AC matters for SMAP */
	unsigned cpl;
	/*
	 * Guest MAXPHYADDR (CPUID 0x80000008 EAX[7:0]): paging-entry address
	 * bits at or above it are reserved. 0 means 52; else 32..52.
	 */
	unsigned maxphyaddr;
};

/* Walk flags. */
#define X86_WALK_CHECK	0x1	/* check `access` against U/S, R/W, NX, WP, SMEP, SMAP */
#define X86_WALK_SET_AD	0x2	/* set Accessed (and Dirty on writes) like the CPU */

/*
 * Translate `gva`. `access` is a mask of X86_PF_W, X86_PF_U, X86_PF_I.
 * Returns 0 with *gpa and *prot (NVMM_PROT_* of the whole translation).
 * Returns -1 with errno:
 *   EFAULT  translation fault; *pf_error holds the #PF error code the CPU
 *           would push (P, W, U, RSVD, I bits). A non-canonical address
 *           (4/5-level paging) also gives EFAULT, with *pf_error = 0: the
 *           CPU raises #GP/#SS there, not #PF; tell it apart from a
 *           supervisor read of a not-present page with x86_canonical().
 *   EINVAL  inconsistent paging state (e.g. EFER.LMA without CR4.PAE,
 *           CR0.PG without CR0.PE), bad maxphyaddr, unknown `access` or
 *           `flags` bits, W together with I, or a paging-entry host pointer
 *           not aligned to the entry size
 *   ENOENT  a paging structure lies outside guest RAM (gpa_to_ptr NULL or
 *           its mapping lacks NVMM_PROT_READ)
 *   EAGAIN  X86_WALK_SET_AD only: the entries kept changing under the walk
 * gpa, prot and pf_error may be NULL. *pf_error is 0 unless EFAULT.
 *
 * Outside long mode the linear address is 32 bits: gva is truncated to
 * 32 bits (paging off included). Paging off: gpa = gva, prot NVMM_PROT_ALL.
 * X86_WALK_SET_AD updates entries only once the walk and the checks have
 * succeeded (a faulting walk changes nothing), each with a compare-and-swap
 * against the value the walk used (the walk restarts if it changed); an
 * entry in a mapping without NVMM_PROT_WRITE (ROM) is left as it is.
 */
int x86_walk(const struct x86_paging *pg, const struct x86_guest_mem *mem,
    uint64_t gva, unsigned access, unsigned flags, uint64_t *gpa,
    nvmm_prot_t *prot, uint32_t *pf_error);

/* Whether `gva` is canonical for the paging mode (always true outside
 * long mode). */
bool x86_canonical(const struct x86_paging *pg, uint64_t gva);

/*
 * Copy `len` bytes from/to guest-virtual `gva` (pages may differ, each is
 * translated with `access`). RAM only: returns -1/EFAULT on a translation
 * fault (pf_error set), -1/ENOENT when part of the range is not RAM.
 * Walks use X86_WALK_CHECK | X86_WALK_SET_AD, as the CPU's own access would;
 * x86_write_virt adds X86_PF_W to `access`. RAM means a mapping with
 * NVMM_PROT_READ (read) or NVMM_PROT_WRITE (write). x86_write_virt
 * translates the whole range before writing any byte. Other errors as for
 * x86_walk. len 0 succeeds without translating.
 */
int x86_read_virt(const struct x86_paging *pg, const struct x86_guest_mem *mem,
    uint64_t gva, void *buf, size_t len, unsigned access, uint32_t *pf_error);
int x86_write_virt(const struct x86_paging *pg, const struct x86_guest_mem *mem,
    uint64_t gva, const void *buf, size_t len, unsigned access,
    uint32_t *pf_error);

#endif /* X86_WALK_H */

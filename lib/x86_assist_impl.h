/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x86_assist_impl.h: what the generic assists share (x86_assist.c: VCPU
 * context, segmentation, guest-virtual access, instruction fetch; the IO
 * assist; x86_assist_mem.c; x86_assist_seg.c). Private to them.
 */
#ifndef X86_ASSIST_IMPL_H
#define X86_ASSIST_IMPL_H

#include <nvmm.h>

#include "x86_decode.h"
#include "x86_emul.h"
#include "x86_walk.h"

#define PAGE_SIZE	4096ULL

struct assist {
	struct nvmm_machine *mach;
	struct nvmm_vcpu *vcpu;
	struct nvmm_x64_state *st;
	struct x86_paging pg;
	struct x86_guest_mem gm;
	enum x86_code_size cs;
	struct x86_exc exc;	/* the guest exception an access raised */
	uint64_t dirty;		/* state components changed besides GPRS */
};

/* getstate of what the assists read; fills *a. */
int x86_assist_init(struct assist *a, struct nvmm_machine *mach,
    struct nvmm_vcpu *vcpu);

/* Real mode or VM86: segment bases are selector * 16. */
bool x86_assist_realish(const struct assist *a);

/*
 * Linear address of seg:off for an access of `size` bytes, with the
 * checks of the CPU: usable segment, type (write to code or read-only
 * data, read of execute-only code), limits (expand-down included), and the
 * canonical form in 64-bit mode. A violation raises #GP(0), #SS(0) for SS,
 * in a->exc and returns -1/EFAULT.
 */
int x86_seg_linear(struct assist *a, int seg, uint64_t off, size_t size,
    bool write, uint64_t *la);

enum x86_vacc { V_READ, V_WRITE, V_FETCH, V_PROBE, V_PROBE_READ };

/*
 * Access `size` bytes at linear address `la`, page by page: RAM with the
 * needed protection is copied, anything else goes to the mem callback in
 * pieces of at most 8 bytes (fetches must be RAM; V_PROBE and
 * V_PROBE_READ only translate, for a write or a read, and take no buf). `user` is false for the CPU's implicit supervisor
 * accesses (descriptor tables). A translation fault raises #PF in a->exc
 * and returns -1/EFAULT.
 */
int x86_vaccess(struct assist *a, uint64_t la, uint8_t *buf, size_t size,
    enum x86_vacc kind, bool user);

/* Up to 15 bytes at CS:RIP; *n receives how many could be fetched. */
int x86_fetch_insn(struct assist *a, uint8_t *bytes, size_t *n);

/*
 * Set GPRS (and a->dirty) when `saved` differs from the state, then
 * return -1 with errno `err`.
 */
int x86_assist_fail(struct assist *a, const uint64_t *saved, int err);

/* MOV Sreg (x86_emul_mem.load_seg), in x86_assist_seg.c. */
int x86_assist_load_seg(void *ctx, int seg, uint16_t sel);

#endif /* X86_ASSIST_IMPL_H */

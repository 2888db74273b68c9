/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x86_assist.h: the generic assists, written only against the public API
 * of nvmm.h (getstate/setstate, nvmm_gpa_to_hva, vcpu->cbs, vcpu->exit).
 * libnvmm.c's nvmm_assist_io/nvmm_assist_mem call these for backends that
 * do not emulate instructions themselves.
 */
#ifndef X86_ASSIST_H
#define X86_ASSIST_H

#include <nvmm.h>

/*
 * Complete the IO exit in vcpu->exit (NVMM semantics): IN/OUT through
 * vcpu->cbs.io; INS/OUTS element by element through guest memory (RAM, or
 * vcpu->cbs.mem for MMIO), rCX/rSI/rDI updated at the exit's address size
 * and RFLAGS.DF. RIP = npc once done; with REP, at most
 * X86_ASSIST_IO_MAX_ELEMS elements per call and RIP stays until rCX = 0
 * (the guest re-executes and exits again). Gets GPRS|SEGS|CRS|MSRS, sets
 * GPRS. Returns 0, or -1 with errno: EINVAL (not an IO exit, no callback,
 * bad exit data), EFAULT (guest memory translation fault, segment limit),
 * ENODEV (undecodable instruction when the segment must be decoded), or
 * the errno of nvmm_vcpu_getstate/setstate.
 */
int x86_assist_io_generic(struct nvmm_machine *, struct nvmm_vcpu *);

/*
 * Emulate the instruction that caused the MEMORY exit in vcpu->exit: the
 * exit's bytes, or (inst_len == 0) 15 bytes fetched at CS:RIP. Memory
 * operands go to RAM directly, or through vcpu->cbs.mem when the gpa is
 * not RAM with the needed protection (MMIO, writes to read-only RAM).
 * REP string instructions: at most X86_ASSIST_MEM_MAX_ELEMS elements per
 * call (RIP stays until done). Returns 0, or -1 with errno: EINVAL,
 * ENODEV (unknown or unsupported instruction), EFAULT (translation fault,
 * segment limit, code not in RAM), or the getstate/setstate errno. When a
 * REP string instruction fails after completing elements, their register
 * updates are committed before returning -1.
 */
int x86_assist_mem_generic(struct nvmm_machine *, struct nvmm_vcpu *);

#define X86_ASSIST_IO_MAX_ELEMS		64
#define X86_ASSIST_MEM_MAX_ELEMS	64

#endif /* X86_ASSIST_H */

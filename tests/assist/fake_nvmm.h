/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fake_nvmm.h: the libnvmm entry points the generic assists use
 * (getstate, setstate, gpa_to_hva, inject), over one flat guest RAM buffer, so
 * that x86_assist.c can be tested and benchmarked without a backend.
 */
#ifndef FAKE_NVMM_H
#define FAKE_NVMM_H

#include <nvmm.h>

#define FAKE_RAM_SIZE	0x10000		/* guest RAM: gpa [0, 64 KiB) */

struct fake_vm {
	struct nvmm_machine mach;
	struct nvmm_vcpu vcpu;
	struct nvmm_x64_state state;
	struct nvmm_x86_exit exit;
	struct nvmm_x86_event event;
	uint8_t *ram;			/* FAKE_RAM_SIZE bytes */
	nvmm_prot_t ram_prot;
	unsigned getstate_calls, setstate_calls;
	uint64_t set_flags;		/* union of setstate flags */
	bool injected;			/* nvmm_vcpu_inject accepted fake.event */
};

extern struct fake_vm fake;

/* Allocate RAM (once) and reset everything else. */
void fake_reset(void);

#endif /* FAKE_NVMM_H */

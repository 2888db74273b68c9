/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * backend.h: the one interface below libnvmm.c. Each backend (KVM, the
 * nvmm.ko module) fills a struct nvmm_backend; libnvmm.c validates every
 * argument before calling it, so the ops see only well-formed requests on
 * existing objects.
 */
#ifndef NVMM_BACKEND_H
#define NVMM_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "nvmm_impl.h"

struct nvmm_backend {
	const char *name;

	/* Open the device; fill the capability. -1/errno if unusable. */
	int (*init)(bool root, struct nvmm_capability *cap);

	int (*machine_create)(struct lib_machine *lm);
	void (*machine_destroy)(struct lib_machine *lm);
	int (*machine_configure)(struct lib_machine *lm, uint64_t op,
	    void *conf);

	/* Sets lv->state/event/exit/state_cached/state_commit/event_commit. */
	int (*vcpu_create)(struct lib_machine *lm, struct lib_vcpu *lv);
	void (*vcpu_destroy)(struct lib_machine *lm, struct lib_vcpu *lv);
	/* Machine-dependent ops only (>= NVMM_VCPU_CONF_MD_BEGIN). */
	int (*vcpu_configure)(struct lib_machine *lm, struct lib_vcpu *lv,
	    uint64_t op, void *conf);
	/* Fetch the components in `flags` (none of them cached). */
	int (*vcpu_getstate)(struct lib_machine *lm, struct lib_vcpu *lv,
	    uint64_t flags);
	/* Commit, run, fill *lv->exit. */
	int (*vcpu_run)(struct lib_machine *lm, struct lib_vcpu *lv);
	/* Async-signal-safe: make the current or next run return STOPPED. */
	void (*vcpu_stop)(struct lib_vcpu *lv);

	int (*hva_map)(struct lib_machine *lm, uintptr_t hva, size_t size);
	int (*hva_unmap)(struct lib_machine *lm, uintptr_t hva, size_t size);
	int (*gpa_map)(struct lib_machine *lm, struct lib_gpa_area *area);
	void (*gpa_unmap)(struct lib_machine *lm, struct lib_gpa_area *area);

	/*
	 * Backends whose device performs part of the instruction itself
	 * (KVM) provide their own assists; NULL selects the generic
	 * emulation of x86_assist.c.
	 */
	int (*assist_io)(struct lib_machine *lm, struct lib_vcpu *lv);
	int (*assist_mem)(struct lib_machine *lm, struct lib_vcpu *lv);

	/* NVMM_CTL_* operations the device implements; NULL: local only. */
	int (*ctl)(int op, void *data, size_t size);
};

extern const struct nvmm_backend nvmm_backend_kvm;
extern const struct nvmm_backend nvmm_backend_nvmm;

#endif /* NVMM_BACKEND_H */

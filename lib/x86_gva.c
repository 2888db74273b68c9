/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x86_gva.c: nvmm_gva_to_gpa(), the page walker on a VCPU's current paging
 * state, built on the public API (getstate, gpa_to_hva) like the assists.
 */
#include <errno.h>
#include <string.h>

#include <nvmm.h>

#include "x86_walk.h"

static uint8_t *
ram_ptr(void *ctx, uint64_t gpa, nvmm_prot_t *prot)
{
	uintptr_t hva;
	nvmm_prot_t p;

	if (nvmm_gpa_to_hva(ctx, gpa, &hva, &p) == -1)
		return NULL;
	if (prot != NULL)
		*prot = p;
	return (uint8_t *)hva;
}

int
nvmm_gva_to_gpa(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu,
    gvaddr_t gva, gpaddr_t *gpa, nvmm_prot_t *prot)
{
	struct x86_guest_mem mem = { mach, ram_ptr };
	struct x86_paging pg;
	const struct nvmm_x64_state *st;

	if (gpa == NULL || prot == NULL) {
		errno = EFAULT;
		return -1;
	}
	if (nvmm_vcpu_getstate(mach, vcpu, NVMM_X64_STATE_CRS |
	    NVMM_X64_STATE_MSRS) == -1)
		return -1;
	st = vcpu->state;
	memset(&pg, 0, sizeof(pg));
	pg.cr0 = st->crs[NVMM_X64_CR_CR0];
	pg.cr3 = st->crs[NVMM_X64_CR_CR3];
	pg.cr4 = st->crs[NVMM_X64_CR_CR4];
	pg.efer = st->msrs[NVMM_X64_MSR_EFER];
	/* A translation, not an access: no permission check, no A/D bits. */
	return x86_walk(&pg, &mem, gva, 0, 0, gpa, prot, NULL);
}

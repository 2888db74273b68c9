/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fake_nvmm.c: see fake_nvmm.h. The VCPU state lives in fake.state and
 * vcpu->state points at it, so getstate has nothing to fetch; calls and
 * flags are counted for the tests.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fake_nvmm.h"
#include "nvmm_impl.h"

struct fake_vm fake;

void
fake_reset(void)
{
	uint8_t *ram = fake.ram;

	if (ram == NULL)
		ram = calloc(1, FAKE_RAM_SIZE);
	memset(&fake, 0, sizeof(fake));
	fake.ram = ram;
	if (ram != NULL)
		memset(ram, 0, FAKE_RAM_SIZE);
	fake.ram_prot = NVMM_PROT_ALL;
	fake.vcpu.state = &fake.state;
	fake.vcpu.exit = &fake.exit;
	fake.vcpu.event = &fake.event;
}

int
nvmm_vcpu_getstate(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu,
    uint64_t flags)
{
	if (mach != &fake.mach || vcpu != &fake.vcpu ||
	    (flags & ~(uint64_t)NVMM_X64_STATE_ALL) != 0) {
		errno = EINVAL;
		return -1;
	}
	fake.getstate_calls++;
	return 0;
}

int
nvmm_vcpu_setstate(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu,
    uint64_t flags)
{
	if (mach != &fake.mach || vcpu != &fake.vcpu ||
	    (flags & ~(uint64_t)NVMM_X64_STATE_ALL) != 0) {
		errno = EINVAL;
		return -1;
	}
	fake.setstate_calls++;
	fake.set_flags |= flags;
	return 0;
}

int
nvmm_gpa_to_hva(struct nvmm_machine *mach, gpaddr_t gpa, uintptr_t *hva,
    nvmm_prot_t *prot)
{
	if (mach != &fake.mach || hva == NULL || prot == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (fake.ram == NULL || gpa >= FAKE_RAM_SIZE) {
		errno = ENOENT;
		return -1;
	}
	*hva = (uintptr_t)(fake.ram + gpa);
	*prot = fake.ram_prot;
	return 0;
}

/* Accepts the exceptions libnvmm accepts (its own rule). */
int
nvmm_vcpu_inject(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu)
{
	const struct nvmm_x86_event *ev = vcpu->event;

	if (mach != &fake.mach || vcpu != &fake.vcpu ||
	    ev->type != NVMM_VCPU_EVENT_EXCP || !lib_event_valid(ev)) {
		errno = EINVAL;
		return -1;
	}
	fake.injected = true;
	return 0;
}

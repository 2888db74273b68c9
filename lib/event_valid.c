/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * event_valid.c: which events nvmm_vcpu_inject accepts, and which
 * exceptions push an error code; one rule for every backend (and for the
 * assist tests' fake libnvmm).
 */
#include "nvmm_impl.h"

bool
lib_event_valid(const struct nvmm_x86_event *ev)
{
	switch (ev->type) {
	case NVMM_VCPU_EVENT_INTR:
		return true;
	case NVMM_VCPU_EVENT_EXCP:
		/*
		 * NMI (2) is an INTR event. #BP (3) is a trap raised by INT3,
		 * whose frame points after the instruction: refused as an
		 * exception. #DE (0) is a fault like #UD.
		 */
		return ev->vector < 32 && ev->vector != 2 && ev->vector != 3;
	default:
		return false;
	}
}

bool
lib_excp_has_error(uint8_t vector)
{
	switch (vector) {
	case 8: case 10: case 11: case 12: case 13: case 14: case 17:
	case 21: case 30:
		return true;
	default:
		return false;
	}
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vcpu_dump.c: nvmm_vcpu_dump(), a human-readable dump of a VCPU's state
 * on standard error, built on the public API only.
 */
#include <inttypes.h>
#include <stdio.h>

#include <nvmm.h>

#include "x86_assist.h"

static const char *const seg_names[NVMM_X64_NSEG] = {
	"ES", "CS", "SS", "DS", "FS", "GS", "GDT", "IDT", "LDT", "TR",
};
static const char *const gpr_names[NVMM_X64_NGPR] = {
	"RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI", "R8", "R9",
	"R10", "R11", "R12", "R13", "R14", "R15", "RIP", "RFLAGS",
};

int
nvmm_vcpu_dump(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu)
{
	const struct x86_assist_failure *fail;
	const struct nvmm_x64_state *st;
	unsigned i;

	if (nvmm_vcpu_getstate(mach, vcpu, NVMM_X64_STATE_ALL) == -1)
		return -1;
	st = vcpu->state;
	fprintf(stderr, "+ VCPU id=%u\n", vcpu->cpuid);
	for (i = 0; i < NVMM_X64_NGPR; i++)
		fprintf(stderr, "| -> %-6s=%016" PRIx64 "\n", gpr_names[i],
		    st->gprs[i]);
	for (i = 0; i < NVMM_X64_NSEG; i++) {
		const struct nvmm_x64_state_seg *s = &st->segs[i];
		fprintf(stderr, "| -> %-3s: sel=0x%04x base=%016" PRIx64
		    " limit=%08x type=%u s=%u dpl=%u p=%u l=%u def=%u g=%u\n",
		    seg_names[i], s->selector, s->base, s->limit,
		    s->attrib.type, s->attrib.s, s->attrib.dpl, s->attrib.p,
		    s->attrib.l, s->attrib.def, s->attrib.g);
	}
	fprintf(stderr, "| -> CR0=%" PRIx64 " CR2=%" PRIx64 " CR3=%" PRIx64
	    " CR4=%" PRIx64 " CR8=%" PRIx64 " XCR0=%" PRIx64 "\n",
	    st->crs[NVMM_X64_CR_CR0], st->crs[NVMM_X64_CR_CR2],
	    st->crs[NVMM_X64_CR_CR3], st->crs[NVMM_X64_CR_CR4],
	    st->crs[NVMM_X64_CR_CR8], st->crs[NVMM_X64_CR_XCR0]);
	fprintf(stderr, "| -> EFER=%" PRIx64 " PAT=%" PRIx64 " TSC=%" PRIx64
	    "\n", st->msrs[NVMM_X64_MSR_EFER], st->msrs[NVMM_X64_MSR_PAT],
	    st->msrs[NVMM_X64_MSR_TSC]);
	fprintf(stderr, "| -> DR6=%" PRIx64 " DR7=%" PRIx64 "\n",
	    st->drs[NVMM_X64_DR_DR6], st->drs[NVMM_X64_DR_DR7]);
	fprintf(stderr, "| -> int_shadow=%u int_window=%u nmi_window=%u"
	    " evt_pending=%u\n", (unsigned)st->intr.int_shadow,
	    (unsigned)st->intr.int_window_exiting,
	    (unsigned)st->intr.nmi_window_exiting,
	    (unsigned)st->intr.evt_pending);
	fail = x86_assist_last_failure(mach, vcpu);
	if (fail != NULL) {
		char msg[200];

		x86_assist_failure_str(fail, msg, sizeof(msg));
		fprintf(stderr, "| -> last nvmm_assist_mem failure: %s\n", msg);
	}
	return 0;
}

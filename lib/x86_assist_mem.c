/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x86_assist_mem.c: nvmm_assist_mem for backends that execute nothing
 * themselves: fetch and decode the instruction, run the emulation core
 * against guest memory (RAM directly, MMIO through vcpu->cbs.mem), inject
 * the exception a CPU would raise, and keep a description of the last
 * instruction that could not be emulated.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <nvmm.h>

#include "x86_assist.h"
#include "x86_assist_impl.h"

#define CR0_AM		(1ULL << 18)
#define CR4_LA57	(1ULL << 12)
#define RFLAGS_AC	(1ULL << 18)
#define EFER_LMA	0x400ULL

static _Thread_local struct x86_assist_failure last_failure;

/* #AC: CPL 3 with CR0.AM and RFLAGS.AC, a misaligned access of 2-8 bytes. */
static bool
misaligned_ac(const struct assist *a, uint64_t la, size_t size)
{
	return a->pg.cpl == 3 && (a->pg.cr0 & CR0_AM) &&
	    (a->pg.rflags & RFLAGS_AC) && size >= 2 && size <= 8 &&
	    (la & (size - 1)) != 0;
}

/*
 * Linear address of an access, with its segment checks and, when #AC
 * applies, the translation first (#PF has priority over #AC).
 */
static int
access_la(struct assist *a, int seg, uint64_t off, size_t size, bool write,
    uint64_t *la)
{
	if (x86_seg_linear(a, seg, off, size, write, la) == -1)
		return -1;
	if (misaligned_ac(a, *la, size)) {
		if (x86_vaccess(a, *la, NULL, size,
		    write ? V_PROBE : V_PROBE_READ, true) == -1)
			return -1;
		return x86_exc_set(&a->exc, X86_EXC_AC, true, 0);
	}
	return 0;
}

static int
core_read(void *ctx, int seg, uint64_t off, void *buf, size_t size)
{
	struct assist *a = ctx;
	uint64_t la;

	if (access_la(a, seg, off, size, false, &la) == -1)
		return -1;
	return x86_vaccess(a, la, buf, size, V_READ, true);
}

static int
core_write(void *ctx, int seg, uint64_t off, const void *buf, size_t size)
{
	struct assist *a = ctx;
	uint8_t tmp[32];
	uint64_t la;

	if (size > sizeof(tmp)) {
		errno = EINVAL;
		return -1;
	}
	if (access_la(a, seg, off, size, true, &la) == -1)
		return -1;
	memcpy(tmp, buf, size);
	return x86_vaccess(a, la, tmp, size, V_WRITE, true);
}

static int
core_probe_write(void *ctx, int seg, uint64_t off, size_t size)
{
	struct assist *a = ctx;
	uint64_t la;

	if (access_la(a, seg, off, size, true, &la) == -1)
		return -1;
	return x86_vaccess(a, la, NULL, size, V_PROBE, true);
}

/* Record why the instruction at RIP could not be emulated. */
static void
record_failure(const struct assist *a, const uint8_t *bytes, size_t n,
    int err, const char *why)
{
	struct x86_assist_failure *f = &last_failure;

	memset(f, 0, sizeof(*f));
	f->mach = a->mach;
	f->cpuid = a->vcpu->cpuid;
	f->rip = a->st->gprs[NVMM_X64_GPR_RIP];
	f->mode = (uint8_t)(8 * a->cs);
	f->nbytes = (uint8_t)(n > sizeof(f->bytes) ? sizeof(f->bytes) : n);
	if (bytes != NULL)
		memcpy(f->bytes, bytes, f->nbytes);
	f->err = err;
	f->why = why;
	f->valid = true;
	errno = err;
}

/*
 * Deliver a->exc to the guest: registers as the failed instruction left
 * them (as before it, or after the completed string elements), CR2 for
 * #PF, the event injected at the next run.
 */
static int
inject(struct assist *a, const uint64_t *saved)
{
	struct nvmm_x86_event *ev = a->vcpu->event;
	uint64_t flags = a->dirty;

	if (memcmp(saved, a->st->gprs, sizeof(a->st->gprs)) != 0)
		flags |= NVMM_X64_STATE_GPRS;
	if (a->exc.vector == X86_EXC_PF) {
		a->st->crs[NVMM_X64_CR_CR2] = a->exc.cr2;
		flags |= NVMM_X64_STATE_CRS;
	}
	if (flags != 0 && nvmm_vcpu_setstate(a->mach, a->vcpu, flags) == -1)
		return -1;
	ev->type = NVMM_VCPU_EVENT_EXCP;
	ev->vector = a->exc.vector;
	ev->u.excp.error = a->exc.has_error ? a->exc.error : 0;
	return nvmm_vcpu_inject(a->mach, a->vcpu);
}

static bool
is_port_io(const struct x86_insn *in)
{
	return in->op == X86_OP_IN || in->op == X86_OP_OUT ||
	    in->op == X86_OP_INS || in->op == X86_OP_OUTS;
}

/* The instruction of the exit: its bytes, or 15 fetched at CS:RIP. */
static int
get_insn(struct assist *a, struct x86_insn *insn, uint8_t *bytes, size_t *n)
{
	const struct nvmm_x86_exit_memory *em = &a->vcpu->exit->u.mem;

	*n = 0;
	if (em->inst_len > 0 && em->inst_len <= sizeof(em->inst_bytes)) {
		*n = em->inst_len;
		memcpy(bytes, em->inst_bytes, *n);
		if (x86_decode(bytes, *n, a->cs, insn) == 0)
			return 0;
		if (errno != EFAULT) {
			record_failure(a, bytes, *n, errno,
			    "unknown instruction");
			return -1;
		}
	}
	if (x86_fetch_insn(a, bytes, n) == -1) {
		record_failure(a, NULL, 0, errno,
		    "cannot fetch the instruction at CS:RIP");
		return -1;
	}
	if (x86_decode(bytes, *n, a->cs, insn) == -1) {
		record_failure(a, bytes, *n, errno, errno == ENODEV ?
		    "unknown instruction" : "instruction truncated");
		return -1;
	}
	return 0;
}

int
x86_assist_mem_generic(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu)
{
	struct x86_emul_mem core = {
		.read = core_read,
		.write = core_write,
		.probe_write = core_probe_write,
		.load_seg = x86_assist_load_seg,
	};
	uint64_t saved[NVMM_X64_NGPR], set;
	uint8_t bytes[15];
	struct x86_insn insn;
	struct assist a;
	size_t n;
	bool sse;

	if (mach == NULL || vcpu == NULL || vcpu->exit == NULL ||
	    vcpu->state == NULL ||
	    vcpu->exit->reason != NVMM_VCPU_EXIT_MEMORY ||
	    vcpu->cbs.mem == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (x86_assist_init(&a, mach, vcpu) == -1)
		return -1;
	last_failure.valid = false;
	if (get_insn(&a, &insn, bytes, &n) == -1)
		return -1;
	if (is_port_io(&insn)) {
		record_failure(&a, bytes, insn.len, ENODEV,
		    "port IO instruction (nvmm_assist_io's)");
		return -1;
	}
	sse = insn.op == X86_OP_SSE_LOAD || insn.op == X86_OP_SSE_STORE;
	if (sse && nvmm_vcpu_getstate(mach, vcpu, NVMM_X64_STATE_FPU) == -1)
		return -1;
	core.ctx = &a;
	core.exc = &a.exc;
	core.fpu = sse ? &a.st->fpu : NULL;
	core.stack_size = a.st->segs[NVMM_X64_SEG_SS].attrib.def ? 4 : 2;
	core.va_bits = (a.pg.cr4 & CR4_LA57) && (a.pg.efer & EFER_LMA) ?
	    57 : 48;
	memcpy(saved, a.st->gprs, sizeof(saved));
	if (x86_emul(&insn, a.st->gprs, &core, X86_ASSIST_MEM_MAX_ELEMS) ==
	    -1) {
		int err = errno;

		if (err == EFAULT && a.exc.raised) {
			if (inject(&a, saved) == 0)
				return 0;
			record_failure(&a, bytes, insn.len, errno,
			    "the exception raised cannot be injected");
			return -1;
		}
		record_failure(&a, bytes, insn.len, err,
		    err == ENODEV ? x86_emul_why() :
		    "guest memory access failed");
		return x86_assist_fail(&a, saved, err);
	}
	set = NVMM_X64_STATE_GPRS | a.dirty;
	if (sse && insn.op == X86_OP_SSE_LOAD)
		set |= NVMM_X64_STATE_FPU;
	return nvmm_vcpu_setstate(mach, vcpu, set);
}

const struct x86_assist_failure *
x86_assist_last_failure(const struct nvmm_machine *mach,
    const struct nvmm_vcpu *vcpu)
{
	const struct x86_assist_failure *f = &last_failure;

	if (!f->valid || f->mach != mach || f->cpuid != vcpu->cpuid)
		return NULL;
	return f;
}

int
x86_assist_failure_str(const struct x86_assist_failure *f, char *buf,
    size_t len)
{
	size_t o;
	unsigned i;
	int r;

	r = snprintf(buf, len, "cannot emulate [");
	o = r > 0 ? (size_t)r : 0;
	for (i = 0; i < f->nbytes && o < len; i++) {
		r = snprintf(buf + o, len - o, "%s%02x", i ? " " : "",
		    f->bytes[i]);
		o += r > 0 ? (size_t)r : 0;
	}
	if (o < len)
		r = snprintf(buf + o, len - o, "] at RIP 0x%" PRIx64
		    " (%u-bit code): %s (%s)", f->rip, (unsigned)f->mode,
		    f->why, strerror(f->err));
	return 0;
}

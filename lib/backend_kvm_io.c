/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * backend_kvm_io.c: which instruction a KVM IO exit belongs to.
 *
 * kvm_run reports port, direction, size and count, not the instruction, and
 * KVM flavours differ in where RIP is at an OUT exit: kvm_amd and kvm_intel
 * take the fast path and leave RIP on the OUT until the next KVM_RUN; KVM's
 * instruction emulator (every OUTS there, and every OUT on kvm-pvm, which
 * emulates guest CPL0 code) finishes the OUT first, so RIP is already past
 * it. REP strings are the exception everywhere: RIP stays on them while
 * elements remain, and every IN waits for its data with RIP on it.
 *
 * NVMM shows RIP on the instruction at an IO exit and npc after it. So the
 * library decodes the IO instructions that start at RIP and those that end
 * there, picks the one matching the exit (port, size, direction), and knows
 * from a probe made once per process which kinds this KVM reports past.
 */
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_impl.h"

static void
insn_summary(struct kvm_io_insn *io, const struct x86_insn *in)
{
	io->len = in->len;
	io->opsize = in->opsize;
	io->adsize = in->adsize;
	io->seg = in->seg;
	io->in = in->op == X86_OP_IN || in->op == X86_OP_INS;
	io->str = in->op == X86_OP_INS || in->op == X86_OP_OUTS;
	io->rep = io->str && (in->rep || in->repne);
	io->imm = in->form == X86_FORM_PORT_IMM;
	io->port = (uint8_t)in->imm;
}

static bool
is_io(const struct x86_insn *in)
{
	return in->op == X86_OP_IN || in->op == X86_OP_OUT ||
	    in->op == X86_OP_INS || in->op == X86_OP_OUTS;
}

void
kvm_io_scan_fwd(struct kvm_io_cache *ic, const uint8_t *bytes, size_t n,
    enum x86_code_size cs)
{
	struct x86_insn in;

	ic->has_fwd = false;
	ic->fwd_bytes = (uint8_t)n;
	if (x86_decode(bytes, n, cs, &in) == -1)
		return;
	ic->fwd_bytes = in.len;
	if (!is_io(&in))
		return;
	insn_summary(&ic->fwd, &in);
	ic->has_fwd = true;
}

/*
 * `end` points just past the nb bytes that precede RIP. Every IO
 * instruction of exactly L bytes ending at RIP is a candidate, shortest
 * first. A REP string never is: KVM moves RIP past one only after its
 * last element, with no exit left.
 */
void
kvm_io_scan_back(struct kvm_io_cache *ic, const uint8_t *end, size_t nb,
    enum x86_code_size cs)
{
	struct x86_insn in;

	ic->nback = 0;
	ic->back_bytes = (uint8_t)nb;
	ic->back_scanned = true;
	for (size_t l = 1; l <= nb; l++) {
		if (x86_decode(end - l, l, cs, &in) == -1 || in.len != l ||
		    !is_io(&in))
			continue;
		insn_summary(&ic->back[ic->nback], &in);
		if (!ic->back[ic->nback].rep)
			ic->nback++;
	}
}

static bool
io_match(const struct kvm_io_insn *io, const struct kvm_run *run)
{
	if (io->in != (run->io.direction == KVM_EXIT_IO_IN) ||
	    io->opsize != run->io.size)
		return false;
	if (io->imm)
		return io->port == run->io.port;
	return (uint16_t)run->s.regs.regs.rdx == run->io.port;
}

static const struct kvm_io_insn *
fwd_match(const struct kvm_io_cache *ic, const struct kvm_run *run)
{
	return ic->has_fwd && io_match(&ic->fwd, run) ? &ic->fwd : NULL;
}

bool
kvm_io_needs_back(const struct kvm_io_cache *ic, const struct kvm_run *run,
    unsigned past)
{
	const struct kvm_io_insn *f = fwd_match(ic, run);

	if (f == NULL)
		return true;
	if (f->in)
		return false;
	return f->rep ? (past & KVM_IO_PAST_OUT) != 0 : past != 0;
}

static unsigned
kind(const struct kvm_io_insn *io)
{
	return io->str ? KVM_IO_PAST_OUTS : KVM_IO_PAST_OUT;
}

/*
 * The instruction of the exit. `here`, the one at RIP that fits; `back`,
 * the shortest one ending at RIP that fits.
 * - A REP string at RIP is it: KVM keeps RIP on one while it runs.
 * - Else `back` if this KVM reports its kind past (`out $0x80; out $0x80`:
 *   the exit of the first shows RIP on the second), else `here`.
 * - When both are possible and one is a string and the other not (stock
 *   KVM: `outsb; out %al, %dx`, OUTS past, OUT on it; kvm-pvm: `out %al,
 *   %dx; rep outsb`), the string one is picked and the other given as
 *   `alt`, for the caller to weigh against the exit's data.
 * Left ambiguous: bytes that read as two fitting instructions ending at
 * RIP (a redundant prefix, or E6 EE with DX = 0xEE): the shortest is
 * taken, npc is right either way.
 */
void
kvm_io_choose(const struct kvm_io_cache *ic, const struct kvm_run *run,
    unsigned past, struct kvm_io_pick *pick)
{
	const struct kvm_io_insn *f = fwd_match(ic, run), *b = NULL;
	bool f_here, b_past;

	memset(pick, 0, sizeof(*pick));
	for (unsigned i = 0; ic->back_scanned && i < ic->nback; i++) {
		if (io_match(&ic->back[i], run)) {
			b = &ic->back[i];
			break;
		}
	}
	b_past = b != NULL && !b->in && (past & kind(b));
	f_here = f != NULL && (f->rep || f->in || !(past & kind(f)));
	if (f != NULL && f->rep) {
		pick->insn = f;
		if (b_past && !b->str) {
			pick->alt = b;
			pick->alt_past = true;
		}
	} else if (b_past && f_here && f->str != b->str) {
		pick->insn = b->str ? b : f;
		pick->past = b->str;
		pick->alt = b->str ? f : b;
		pick->alt_past = !b->str;
	} else if (b_past) {
		pick->insn = b;
		pick->past = true;
	} else if (f != NULL) {
		pick->insn = f;
	} else if (b != NULL) {
		/* Nothing this KVM would report fits: take what does. */
		pick->insn = b;
		pick->past = true;
	}
}

/* -------------------------------------------------------------------------- */
/* The probe.                                                                 */

#define PROBE_PAGE	0xFFFFF000ULL	/* the reset vector's page */

/*
 * From the reset state, at CS:IP = F000:FFF0:
 *	mov $0xfff0, %si	BE F0 FF	(fff0)
 *	out %al, $0x80		E6 80		(fff3)
 *	outsb %cs:(%si), %dx	2E 6E		(fff5)
 *	hlt			F4		(fff7)
 */
static const uint8_t probe_code[] = {
	0xBE, 0xF0, 0xFF, 0xE6, 0x80, 0x2E, 0x6E, 0xF4,
};
#define PROBE_OUT	0xFFF3
#define PROBE_OUTS	0xFFF5
#define PROBE_HLT	0xFFF7

/*
 * Run the code above in a scratch VM and see where RIP is at each OUT
 * exit: KVM_IO_PAST_OUTS on kvm_amd, both kinds on kvm-pvm. 0 if anything
 * fails: then only an instruction ending at RIP that fits where none at RIP
 * does is taken as past.
 */
unsigned
kvm_io_probe(int kvm_fd, size_t run_size)
{
	struct kvm_userspace_memory_region r;
	struct kvm_run *run = MAP_FAILED;
	uint8_t *mem;
	unsigned past = 0, seen = 0;
	int vm, cpu = -1;

	mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 0;
	memcpy(mem + 0xFF0, probe_code, sizeof(probe_code));
	vm = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm == -1)
		goto out;
	/* Real mode on VMX without unrestricted guest needs these. */
	(void)ioctl(vm, KVM_SET_TSS_ADDR, 0xFEFFD000UL);
	memset(&r, 0, sizeof(r));
	r.guest_phys_addr = PROBE_PAGE;
	r.memory_size = 4096;
	r.userspace_addr = (uintptr_t)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) == -1)
		goto out;
	cpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (cpu == -1)
		goto out;
	run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, cpu, 0);
	if (run == MAP_FAILED)
		goto out;
	run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	for (int i = 0; i < 4; i++) {
		uint64_t rip;

		if (ioctl(cpu, KVM_RUN, 0) == -1)
			break;
		if (run->exit_reason != KVM_EXIT_IO ||
		    run->io.direction != KVM_EXIT_IO_OUT)
			break;
		rip = run->s.regs.regs.rip;
		if (run->io.port == 0x80 && !(seen & KVM_IO_PAST_OUT)) {
			seen |= KVM_IO_PAST_OUT;
			if (rip == PROBE_OUTS)
				past |= KVM_IO_PAST_OUT;
			else if (rip != PROBE_OUT)
				break;
		} else if ((seen & KVM_IO_PAST_OUT) && !(seen & KVM_IO_PAST_OUTS)) {
			seen |= KVM_IO_PAST_OUTS;
			if (rip == PROBE_HLT)
				past |= KVM_IO_PAST_OUTS;
			else if (rip != PROBE_OUTS)
				break;
		} else {
			break;
		}
	}
	if (seen != (KVM_IO_PAST_OUT | KVM_IO_PAST_OUTS))
		past = 0;
out:
	if (run != MAP_FAILED)
		munmap(run, run_size);
	if (cpu != -1)
		close(cpu);
	if (vm != -1)
		close(vm);
	munmap(mem, 4096);
	return past;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Event cases: interrupt, NMI and exception injection, interrupt and NMI
 * windows, exitstate; VCPU threads; nvmm_vcpu_stop and signals.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <ucontext.h>

#include "harness.h"

DECLARE_GUEST(out_hlt);
DECLARE_GUEST(intr16);
DECLARE_GUEST_LABEL(intr16, spin);
DECLARE_GUEST_LABEL(intr16, handler);
DECLARE_GUEST(intr64);
DECLARE_GUEST_LABEL(intr64, spin);
DECLARE_GUEST_LABEL(intr64, handler);
DECLARE_GUEST_LABEL(intr64, excp);
DECLARE_GUEST(intwin64);
DECLARE_GUEST_LABEL(intwin64, spin);
DECLARE_GUEST_LABEL(intwin64, handler);
DECLARE_GUEST(shadow32);
DECLARE_GUEST_LABEL(shadow32, rd);
DECLARE_GUEST_LABEL(shadow32, rd_end);
DECLARE_GUEST(shadowk32);
DECLARE_GUEST_LABEL(shadowk32, hlt_end);
DECLARE_GUEST(shadowset32);
DECLARE_GUEST(spin32);
DECLARE_GUEST(nmispin64);
DECLARE_GUEST_LABEL(nmispin64, handler);
DECLARE_GUEST(count32);

#define RFLAGS_IF 0x200

static void
inject(struct vm *vm, struct nvmm_vcpu *v, unsigned type, uint8_t vector,
    uint64_t error)
{
	v->event->type = type;
	v->event->vector = vector;
	v->event->u.excp.error = error;
	ASSERT_OK(nvmm_vcpu_inject(&vm->mach, v));
}

static void
set_rflags(struct vm *vm, struct nvmm_vcpu *v, uint64_t rflags)
{
	vcpu_set_gpr(vm, v, NVMM_X64_GPR_RFLAGS, rflags);
}

static struct vm *
intr64_vm(struct nvmm_vcpu *v, uint64_t rflags)
{
	struct vm *vm = vm_create(0);

	vcpu_add(vm, 0, v);
	guest_load(vm, GUEST(intr64));
	vcpu_setup_long64(vm, v, CODE_GPA);
	set_rflags(vm, v, rflags);
	return vm;
}

/* The guest's handler ran: skip its OUT, then DONE, then HLT. */
static void
finish_handler(struct vm *vm, struct nvmm_vcpu *v, bool allow_nmi_ready)
{
	struct nvmm_vcpu_exit *e;

	for (;;) {
		e = vcpu_run(vm, v);
		if (allow_nmi_ready && e->reason == NVMM_VCPU_EXIT_NMI_READY)
			continue;
		break;
	}
	TEST_ASSERT(e->reason == NVMM_VCPU_EXIT_IO && e->u.io.port == PORT_DONE,
	    "after the handler: exit %s", exit_str(e));
	vcpu_skip(vm, v, e->u.io.npc);
	for (;;) {
		e = vcpu_run(vm, v);
		if (allow_nmi_ready && e->reason == NVMM_VCPU_EXIT_NMI_READY)
			continue;
		break;
	}
	TEST_ASSERT(e->reason == NVMM_VCPU_EXIT_HALTED, "expected HALTED, "
	    "got %s", exit_str(e));
}

static void
test_event_intr_real(void)
{
	struct vm *vm = vm_create(0);
	struct nvmm_vcpu v;
	struct nvmm_vcpu_exit *e;
	uint64_t sp;

	vcpu_add(vm, 0, &v);
	guest_load(vm, GUEST(intr16));
	vcpu_setup_real(vm, &v, CODE_GPA);
	idt_set(vm, MODE_REAL, 0x20, GUEST_ADDR(intr16, handler));
	GUEST_REPORT(vm, &v);
	ASSERT_EQ(v.exit->exitstate.rflags & RFLAGS_IF, RFLAGS_IF);
	inject(vm, &v, NVMM_VCPU_EVENT_INTR, 0x20, 0);
	EXPECT_OUT(vm, &v, PORT_HANDLER);
	e = v.exit;
	ASSERT_EQ(e->exitstate.rflags & RFLAGS_IF, 0);
	/* IRET frame: IP, CS, FLAGS of the interrupted spin loop. */
	sp = vcpu_gpr(vm, &v, NVMM_X64_GPR_RSP);
	ASSERT_EQ(sp, STACK_TOP - 6);
	ASSERT_EQ(*(uint16_t *)gpa_ptr(vm, sp), GUEST_ADDR(intr16, spin));
	ASSERT_EQ(*(uint16_t *)gpa_ptr(vm, sp + 2), 0);
	ASSERT_EQ(*(uint16_t *)gpa_ptr(vm, sp + 4) & RFLAGS_IF, RFLAGS_IF);
	finish_handler(vm, &v, false);
	vm_destroy(vm);
}

static void
test_event_intr_long64(void)
{
	struct nvmm_vcpu v;
	struct vm *vm = intr64_vm(&v, 0x202);
	struct nvmm_vcpu_exit *e;
	uint64_t sp;

	idt_set(vm, MODE_LONG64, 0x20, GUEST_ADDR(intr64, handler));
	GUEST_REPORT(vm, &v);
	ASSERT_EQ(v.exit->exitstate.rflags & RFLAGS_IF, RFLAGS_IF);
	ASSERT_EQ(v.exit->exitstate.int_shadow, 0);
	inject(vm, &v, NVMM_VCPU_EVENT_INTR, 0x20, 0);
	EXPECT_OUT(vm, &v, PORT_HANDLER);
	e = v.exit;
	ASSERT_EQ(e->exitstate.rflags & RFLAGS_IF, 0);
	sp = vcpu_gpr(vm, &v, NVMM_X64_GPR_RSP);
	ASSERT_EQ(sp, STACK_TOP - 40);
	ASSERT_EQ(gpa_read64(vm, sp), GUEST_ADDR(intr64, spin));
	ASSERT_EQ(gpa_read64(vm, sp + 8), SEL_CODE64);
	ASSERT_EQ(gpa_read64(vm, sp + 16) & RFLAGS_IF, RFLAGS_IF);
	ASSERT_EQ(gpa_read64(vm, sp + 24), STACK_TOP);
	ASSERT_EQ(gpa_read64(vm, sp + 32), SEL_DATA);
	finish_handler(vm, &v, false);
	vm_destroy(vm);
}

static void
test_event_nmi(void)
{
	struct nvmm_vcpu v;
	struct vm *vm = intr64_vm(&v, 0x2);	/* IF = 0: NMIs still come */
	uint64_t sp;

	idt_set(vm, MODE_LONG64, 2, GUEST_ADDR(intr64, handler));
	GUEST_REPORT(vm, &v);
	inject(vm, &v, NVMM_VCPU_EVENT_INTR, 2, 0);
	EXPECT_OUT(vm, &v, PORT_HANDLER);
	sp = vcpu_gpr(vm, &v, NVMM_X64_GPR_RSP);
	ASSERT_EQ(gpa_read64(vm, sp), GUEST_ADDR(intr64, spin));
	/* Injecting an NMI arms NMI-window exiting: NMI_READY may follow. */
	finish_handler(vm, &v, true);
	vm_destroy(vm);
}

static void
test_event_excp_gp(void)
{
	struct nvmm_vcpu v;
	struct vm *vm = intr64_vm(&v, 0x2);
	uint64_t sp;

	idt_set(vm, MODE_LONG64, 13, GUEST_ADDR(intr64, excp));
	GUEST_REPORT(vm, &v);
	inject(vm, &v, NVMM_VCPU_EVENT_EXCP, 13, 0x10);
	/* The handler popped the error code into RAX. */
	ASSERT_EQ(EXPECT_OUT(vm, &v, PORT_HANDLER), 0x10);
	sp = vcpu_gpr(vm, &v, NVMM_X64_GPR_RSP);
	ASSERT_EQ(sp, STACK_TOP - 40);
	ASSERT_EQ(gpa_read64(vm, sp), GUEST_ADDR(intr64, spin));
	ASSERT_EQ(gpa_read64(vm, sp + 8), SEL_CODE64);
	finish_handler(vm, &v, false);
	vm_destroy(vm);
}

/*
 * #DE (vector 0) is a fault without an error code: the frame holds the
 * RIP the VCPU was at when it was injected, and no error code under it.
 */
static void
test_event_excp_de(void)
{
	struct nvmm_vcpu v;
	struct vm *vm = intr64_vm(&v, 0x2);
	uint64_t sp, rip;

	idt_set(vm, MODE_LONG64, 0, GUEST_ADDR(intr64, handler));
	GUEST_REPORT(vm, &v);
	rip = vcpu_gpr(vm, &v, NVMM_X64_GPR_RIP);
	ASSERT_EQ(rip, GUEST_ADDR(intr64, spin));
	inject(vm, &v, NVMM_VCPU_EVENT_EXCP, 0, 0);
	EXPECT_OUT(vm, &v, PORT_HANDLER);
	sp = vcpu_gpr(vm, &v, NVMM_X64_GPR_RSP);
	ASSERT_EQ(sp, STACK_TOP - 40);
	ASSERT_EQ(gpa_read64(vm, sp), rip);
	ASSERT_EQ(gpa_read64(vm, sp + 8), SEL_CODE64);
	ASSERT_EQ(gpa_read64(vm, sp + 24), STACK_TOP);
	finish_handler(vm, &v, false);
	vm_destroy(vm);
}

/* An invalid event fails in inject, or at the latest in the next run. */
static void
expect_bad_event(struct vm *vm, struct nvmm_vcpu *v, unsigned type,
    uint8_t vector)
{
	int r;

	v->event->type = type;
	v->event->vector = vector;
	v->event->u.excp.error = 0;
	errno = 0;
	r = nvmm_vcpu_inject(&vm->mach, v);
	if (r == 0) {
		errno = 0;
		r = nvmm_vcpu_run(&vm->mach, v);
	}
	TEST_ASSERT(r == -1 && errno == EINVAL, "event type %u vector %u: "
	    "expected -1/EINVAL from inject or run, got %d/%d (%s)", type,
	    vector, r, errno, strerror(errno));
}

static void
test_event_invalid(void)
{
	struct nvmm_vcpu v;
	struct vm *vm = vm_create(0);

	vcpu_add(vm, 0, &v);
	guest_load(vm, GUEST(out_hlt));
	vcpu_setup_long64(vm, &v, CODE_GPA);
	expect_bad_event(vm, &v, 2, 0x20);
	expect_bad_event(vm, &v, 0xffff, 0x20);
	expect_bad_event(vm, &v, NVMM_VCPU_EVENT_EXCP, 2);
	expect_bad_event(vm, &v, NVMM_VCPU_EVENT_EXCP, 3);
	expect_bad_event(vm, &v, NVMM_VCPU_EVENT_EXCP, 32);
	expect_bad_event(vm, &v, NVMM_VCPU_EVENT_EXCP, 0xff);
	/* Nothing was left pending: the guest runs normally. */
	GUEST_REPORT(vm, &v);
	EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_HALTED);
	vm_destroy(vm);
}

static void
test_int_window(void)
{
	struct vm *vm = vm_create(0);
	struct nvmm_vcpu v;
	struct nvmm_vcpu_exit *e;
	struct nvmm_x64_state *st;
	uint64_t rip;
	int i;

	vcpu_add(vm, 0, &v);
	guest_load(vm, GUEST(intwin64));
	vcpu_setup_long64(vm, &v, CODE_GPA);	/* IF = 0 */
	idt_set(vm, MODE_LONG64, 0x20, GUEST_ADDR(intwin64, handler));
	e = vcpu_run(vm, &v);
	TEST_ASSERT(e->reason == NVMM_VCPU_EXIT_IO && e->u.io.port ==
	    PORT_REPORT, "exit %s", exit_str(e));
	ASSERT_EQ(e->exitstate.rflags & RFLAGS_IF, 0);
	ASSERT_EQ(e->exitstate.int_window_exiting, 0);
	/* QEMU's way: IF=0, so ask for the window. */
	st = vcpu_state(vm, &v, NVMM_X64_STATE_INTR | NVMM_X64_STATE_GPRS);
	st->intr.int_window_exiting = 1;
	st->gprs[NVMM_X64_GPR_RIP] = e->u.io.npc;
	vcpu_commit(vm, &v, NVMM_X64_STATE_INTR | NVMM_X64_STATE_GPRS);
	for (i = 0; i < 2; i++) {	/* still IF=0: no window yet */
		e = vcpu_run(vm, &v);
		TEST_ASSERT(e->reason == NVMM_VCPU_EXIT_IO &&
		    e->u.io.port == PORT_MARK, "IF=0, OUT #%d: exit %s", i,
		    exit_str(e));
		ASSERT_EQ(e->exitstate.int_window_exiting, 1);
		ASSERT_EQ(e->exitstate.rflags & RFLAGS_IF, 0);
		vcpu_skip(vm, &v, e->u.io.npc);
	}
	e = EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_INT_READY);
	ASSERT_EQ(e->exitstate.rflags & RFLAGS_IF, RFLAGS_IF);
	ASSERT_EQ(e->exitstate.int_shadow, 0);
	ASSERT_EQ(e->exitstate.int_window_exiting, 0);	/* auto-disarmed */
	st = vcpu_state(vm, &v, NVMM_X64_STATE_INTR | NVMM_X64_STATE_GPRS);
	ASSERT_EQ(st->intr.int_window_exiting, 0);
	rip = st->gprs[NVMM_X64_GPR_RIP];
	TEST_ASSERT(rip >= GUEST_ADDR(intwin64, spin) &&
	    rip < GUEST_ADDR(intwin64, handler), "INT_READY at RIP 0x%" PRIx64
	    ", outside the spin loop", rip);
	inject(vm, &v, NVMM_VCPU_EVENT_INTR, 0x20, 0);
	EXPECT_OUT(vm, &v, PORT_HANDLER);
	finish_handler(vm, &v, false);
	vm_destroy(vm);
}

static void
test_nmi_window(void)
{
	struct nvmm_vcpu v;
	struct vm *vm = intr64_vm(&v, 0x2);
	struct nvmm_vcpu_exit *e;
	unsigned nmi_ready = 0;

	idt_set(vm, MODE_LONG64, 2, GUEST_ADDR(intr64, handler));
	GUEST_REPORT(vm, &v);
	ASSERT_EQ(v.exit->exitstate.nmi_window_exiting, 0);
	inject(vm, &v, NVMM_VCPU_EVENT_INTR, 2, 0);
	EXPECT_OUT(vm, &v, PORT_HANDLER);
	/* Inside the handler NMIs are blocked and the window is armed. */
	ASSERT_EQ(v.exit->exitstate.nmi_window_exiting, 1);
	/*
	 * Exactly one NMI_READY once the handler has returned, before the
	 * guest halts: NVMM reports it at the IRET; the KVM backend with the
	 * first exit after the IRET, ahead of it (KVM gives no exit there:
	 * docs/STATUS.md).
	 */
	for (;;) {
		e = vcpu_run(vm, &v);
		if (e->reason == NVMM_VCPU_EXIT_NMI_READY) {
			nmi_ready++;
			ASSERT_EQ(e->exitstate.nmi_window_exiting, 0);
			ASSERT_EQ(vcpu_state(vm, &v,
			    NVMM_X64_STATE_INTR)->intr.nmi_window_exiting, 0);
			continue;
		}
		if (e->reason == NVMM_VCPU_EXIT_IO && e->u.io.port != PORT_DONE) {
			/* The handler's own OUTs: the window stays armed. */
			ASSERT_EQ(nmi_ready, 0);
			vcpu_skip(vm, &v, e->u.io.npc);
			continue;
		}
		if (e->reason == NVMM_VCPU_EXIT_IO) {
			vcpu_skip(vm, &v, e->u.io.npc);
			continue;
		}
		break;
	}
	TEST_ASSERT(e->reason == NVMM_VCPU_EXIT_HALTED, "expected HALTED, "
	    "got %s", exit_str(e));
	ASSERT_EQ(nmi_ready, 1);
	vm_destroy(vm);
}

/*
 * The same with IF=1 in the interrupted code: NMI_READY is the exit right
 * after the handler's IRET, before the guest goes on (on every backend:
 * the KVM backend sees the IRET through the interrupt window it opens).
 */
static void
test_nmi_window_if1(void)
{
	struct nvmm_vcpu v;
	struct vm *vm = intr64_vm(&v, 0x202);
	struct nvmm_vcpu_exit *e;

	idt_set(vm, MODE_LONG64, 2, GUEST_ADDR(intr64, handler));
	GUEST_REPORT(vm, &v);
	inject(vm, &v, NVMM_VCPU_EVENT_INTR, 2, 0);
	EXPECT_OUT(vm, &v, PORT_HANDLER);
	ASSERT_EQ(v.exit->exitstate.nmi_window_exiting, 1);
	e = EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_NMI_READY);
	ASSERT_EQ(e->exitstate.nmi_window_exiting, 0);
	/* NMI_READY came at the IRET (just before or after it), not later. */
	finish_handler(vm, &v, false);
	vm_destroy(vm);
}

static void
test_exitstate_shadow(void)
{
	struct vm *vm = vm_create(0);
	struct nvmm_vcpu v;
	struct nvmm_vcpu_exit *e;

	vcpu_add(vm, 0, &v);
	guest_load(vm, GUEST(shadow32));
	vcpu_setup_prot32(vm, &v, CODE_GPA);
	/* RDMSR right after MOV SS: the exit is inside the shadow. */
	e = EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_RDMSR);
	ASSERT_EQ(e->u.rdmsr.npc, GUEST_ADDR(shadow32, rd_end));
	ASSERT_EQ(e->exitstate.int_shadow, 1);
	ASSERT_EQ(vcpu_state(vm, &v, NVMM_X64_STATE_INTR)->intr.int_shadow, 1);
	ASSERT_EQ(vcpu_gpr(vm, &v, NVMM_X64_GPR_RIP), GUEST_ADDR(shadow32, rd));
	/*
	 * The program completed the RDMSR (RIP = npc): the shadow, which
	 * covered only that instruction, is over at the next instruction.
	 */
	vcpu_skip(vm, &v, e->u.rdmsr.npc);
	GUEST_REPORT(vm, &v);
	ASSERT_EQ(v.exit->exitstate.int_shadow, 0);
	vm_destroy(vm);
}

/*
 * The same with instructions the backend completes in its kernel (CPUID,
 * RDMSR of EFER, INVD, HLT): the kernel moves RIP past each and must end
 * the shadow as the CPU would have, or the OUT that follows runs, and
 * exits, inside a shadow that belonged to the instruction before it.
 */
static void
test_exitstate_shadow_kernel(void)
{
	static const char *const insn[] = { "CPUID", "RDMSR EFER", "INVD" };
	struct vm *vm = vm_create(0);
	struct nvmm_vcpu v;
	struct nvmm_vcpu_exit *e;
	unsigned i;

	vcpu_add(vm, 0, &v);
	guest_load(vm, GUEST(shadowk32));
	vcpu_setup_prot32(vm, &v, CODE_GPA);
	for (i = 0; i < 3; i++) {
		e = vcpu_run(vm, &v);
		TEST_ASSERT(e->reason == NVMM_VCPU_EXIT_IO &&
		    e->u.io.port == PORT_REPORT, "MOV SS; %s: expected the "
		    "OUT after it, got %s", insn[i], exit_str(e));
		TEST_ASSERT(e->exitstate.int_shadow == 0, "MOV SS; %s; OUT: "
		    "the OUT exit reports int_shadow=1: the shadow outlived "
		    "the %s the kernel completed", insn[i], insn[i]);
		ASSERT_EQ(vcpu_state(vm, &v,
		    NVMM_X64_STATE_INTR)->intr.int_shadow, 0);
		vcpu_skip(vm, &v, e->u.io.npc);
	}
	e = EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_HALTED);
	ASSERT_EQ(e->exitstate.int_shadow, 0);
	ASSERT_EQ(vcpu_state(vm, &v, NVMM_X64_STATE_INTR)->intr.int_shadow, 0);
	ASSERT_EQ(vcpu_gpr(vm, &v, NVMM_X64_GPR_RIP),
	    GUEST_ADDR(shadowk32, hlt_end));
	GUEST_REPORT(vm, &v);
	ASSERT_EQ(v.exit->exitstate.int_shadow, 0);
	vm_destroy(vm);
}

/*
 * A shadow set with setstate covers the first instruction after the entry:
 * a RDMSR there exits inside it (intercepted, so not completed), and once
 * the program completes it (RIP = npc) the OUT after it is outside. This
 * also checks the machine the suite runs on: a CPU or emulator that drops
 * the shadow at VM entry (QEMU's SVM before it loaded the VMCB's
 * INTERRUPT_SHADOW at VMRUN) fails here, and there the cases above could
 * not catch a backend that leaves a shadow behind.
 */
static void
test_int_shadow_setstate(void)
{
	struct vm *vm = vm_create(0);
	struct nvmm_vcpu v;
	struct nvmm_vcpu_exit *e;
	struct nvmm_x64_state *st;

	vcpu_add(vm, 0, &v);
	guest_load(vm, GUEST(shadowset32));
	vcpu_setup_prot32(vm, &v, CODE_GPA);
	vcpu_set_gpr(vm, &v, NVMM_X64_GPR_RCX, 0x12345);
	st = vcpu_state(vm, &v, NVMM_X64_STATE_INTR);
	st->intr.int_shadow = 1;
	vcpu_commit(vm, &v, NVMM_X64_STATE_INTR);
	ASSERT_EQ(vcpu_state(vm, &v, NVMM_X64_STATE_INTR)->intr.int_shadow, 1);

	e = EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_RDMSR);
	ASSERT_EQ(e->u.rdmsr.msr, 0x12345);
	ASSERT_EQ(vcpu_gpr(vm, &v, NVMM_X64_GPR_RIP), CODE_GPA);
	TEST_ASSERT(e->exitstate.int_shadow == 1, "entered with int_shadow=1, "
	    "the RDMSR right there exits with int_shadow=0: the CPU (or "
	    "emulator) dropped the shadow at VM entry");
	ASSERT_EQ(vcpu_state(vm, &v, NVMM_X64_STATE_INTR)->intr.int_shadow, 1);

	vcpu_skip(vm, &v, e->u.rdmsr.npc);
	GUEST_REPORT(vm, &v);
	TEST_ASSERT(v.exit->exitstate.int_shadow == 0, "the RDMSR was "
	    "completed (RIP = npc), the OUT after it still exits with "
	    "int_shadow=1");
	EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_HALTED);
	vm_destroy(vm);
}

/* ------------------------------------------------------------------------ */
/* Threads.                                                                  */

#define NTHREADS 4
#define NOUTS 300

struct worker {
	struct vm *vm;
	struct nvmm_vcpu vcpu;
	unsigned id, outs;
	pthread_t thread;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct nvmm_vcpu_exit *e;
	struct nvmm_x64_state *st;

	vcpu_setup_prot32(w->vm, &w->vcpu, CODE_GPA);
	st = vcpu_state(w->vm, &w->vcpu, NVMM_X64_STATE_GPRS);
	st->gprs[NVMM_X64_GPR_RCX] = NOUTS;
	st->gprs[NVMM_X64_GPR_RDX] = 0x100 + w->id;
	vcpu_commit(w->vm, &w->vcpu, NVMM_X64_STATE_GPRS);
	for (;;) {
		e = vcpu_run(w->vm, &w->vcpu);
		if (e->reason == NVMM_VCPU_EXIT_HALTED)
			break;
		TEST_ASSERT(e->reason == NVMM_VCPU_EXIT_IO &&
		    e->u.io.port == 0x100 + w->id, "VCPU %u: exit %s", w->id,
		    exit_str(e));
		st = vcpu_state(w->vm, &w->vcpu, NVMM_X64_STATE_GPRS);
		TEST_ASSERT(st->gprs[NVMM_X64_GPR_RAX] == w->outs,
		    "VCPU %u: OUT #%u carries %" PRIu64, w->id, w->outs,
		    st->gprs[NVMM_X64_GPR_RAX]);
		st->gprs[NVMM_X64_GPR_RIP] = e->u.io.npc;
		vcpu_commit(w->vm, &w->vcpu, NVMM_X64_STATE_GPRS);
		w->outs++;
	}
	return NULL;
}

static void
test_vcpu_threads(void)
{
	struct vm *vm = vm_create(0);
	struct worker w[NTHREADS];
	unsigned i;

	guest_load(vm, GUEST(count32));
	build_tables(vm, MODE_PROT32);
	memset(w, 0, sizeof(w));
	for (i = 0; i < NTHREADS; i++) {
		w[i].vm = vm;
		w[i].id = i;
		vcpu_add(vm, i, &w[i].vcpu);
	}
	for (i = 0; i < NTHREADS; i++)
		TEST_ASSERT(pthread_create(&w[i].thread, NULL, worker_main,
		    &w[i]) == 0, "pthread_create");
	for (i = 0; i < NTHREADS; i++)
		pthread_join(w[i].thread, NULL);
	for (i = 0; i < NTHREADS; i++)
		TEST_ASSERT(w[i].outs == NOUTS, "VCPU %u saw %u OUTs, expected %u",
		    i, w[i].outs, NOUTS);
	vm_destroy(vm);
}

/* ------------------------------------------------------------------------ */
/* Stop and signals.                                                         */

static struct nvmm_vcpu *sig_vcpu;
static atomic_int sig_count;
static atomic_int run_returned;
static atomic_int kick_needed;
static pthread_t vcpu_thread;

static void
on_sigusr1_stop(int sig)
{
	(void)sig;
	nvmm_vcpu_stop(sig_vcpu);
	atomic_fetch_add(&sig_count, 1);
}

static void
on_signal_count(int sig)
{
	(void)sig;
	atomic_fetch_add(&sig_count, 1);
}

static void
install(int sig, void (*fn)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sa.sa_flags = 0;	/* no SA_RESTART, as QEMU */
	sigemptyset(&sa.sa_mask);
	TEST_ASSERT(sigaction(sig, &sa, NULL) == 0, "sigaction");
}

static struct vm *
spin_vm(struct nvmm_vcpu *v)
{
	struct vm *vm = vm_create(0);

	vcpu_add(vm, 0, v);
	guest_load(vm, GUEST(spin32));
	vcpu_setup_prot32(vm, v, CODE_GPA);
	sig_vcpu = v;
	vcpu_thread = pthread_self();
	atomic_store(&sig_count, 0);
	atomic_store(&run_returned, 0);
	atomic_store(&kick_needed, 0);
	return vm;
}

/* The spinning guest ends once the host writes DATA_GPA. */
static void
release_spin(struct vm *vm, struct nvmm_vcpu *v)
{
	*(volatile uint8_t *)gpa_ptr(vm, DATA_GPA) = 1;
	GUEST_REPORT(vm, v);
	EXPECT_EXIT(vm, v, NVMM_VCPU_EXIT_HALTED);
}

static void *
send_one_sigusr1(void *arg)
{
	(void)arg;
	msleep(50);
	pthread_kill(vcpu_thread, SIGUSR1);
	return NULL;
}

static void
test_stop_signal(void)
{
	struct nvmm_vcpu v;
	struct vm *vm = spin_vm(&v);
	struct nvmm_vcpu_exit *e;
	pthread_t t;

	install(SIGUSR1, on_sigusr1_stop);
	TEST_ASSERT(pthread_create(&t, NULL, send_one_sigusr1, NULL) == 0,
	    "pthread_create");
	/* Only the stop can end this run: NONE exits are allowed first. */
	e = vcpu_run(vm, &v);
	pthread_join(t, NULL);
	ASSERT_EQ(atomic_load(&sig_count), 1);
	TEST_ASSERT(e->reason == NVMM_VCPU_EXIT_STOPPED, "exit %s", exit_str(e));
	ASSERT_EQ(e->exitstate.rflags & RFLAGS_IF, 0);
	/* The flag was cleared: the guest continues where it was. */
	TEST_ASSERT(vcpu_gpr(vm, &v, NVMM_X64_GPR_RIP) >= CODE_GPA &&
	    vcpu_gpr(vm, &v, NVMM_X64_GPR_RIP) < CODE_GPA + 16,
	    "RIP 0x%" PRIx64 " after STOPPED", vcpu_gpr(vm, &v,
	    NVMM_X64_GPR_RIP));
	release_spin(vm, &v);
	vm_destroy(vm);
}

static void *
stop_from_thread(void *arg)
{
	struct nvmm_vcpu *v = arg;
	uint64_t t0;

	msleep(50);
	nvmm_vcpu_stop(v);
	t0 = now_ms();
	while (!atomic_load(&run_returned)) {
		if (now_ms() - t0 > 5000) {
			/* Unstick the test; it fails below. */
			atomic_store(&kick_needed, 1);
			pthread_kill(vcpu_thread, SIGUSR2);
		}
		msleep(20);
	}
	return NULL;
}

static void
test_stop_thread(void)
{
	struct nvmm_vcpu v;
	struct vm *vm = spin_vm(&v);
	struct nvmm_vcpu_exit *e;
	pthread_t t;

	install(SIGUSR2, on_signal_count);
	TEST_ASSERT(pthread_create(&t, NULL, stop_from_thread, &v) == 0,
	    "pthread_create");
	e = vcpu_run(vm, &v);
	atomic_store(&run_returned, 1);
	pthread_join(t, NULL);
	TEST_ASSERT(!atomic_load(&kick_needed), "nvmm_vcpu_stop from another "
	    "thread did not end the run of a spinning guest within 5 s (a "
	    "signal had to interrupt it; exit then: %s)", exit_str(e));
	TEST_ASSERT(e->reason == NVMM_VCPU_EXIT_STOPPED, "exit %s", exit_str(e));
	release_spin(vm, &v);
	vm_destroy(vm);
}

static void
test_stop_before_run(void)
{
	struct nvmm_vcpu v;
	struct vm *vm = spin_vm(&v);
	struct nvmm_vcpu_exit *e;

	*(volatile uint8_t *)gpa_ptr(vm, DATA_GPA) = 1;
	ASSERT_OK(nvmm_vcpu_stop(&v));
	e = vcpu_run(vm, &v);
	TEST_ASSERT(e->reason == NVMM_VCPU_EXIT_STOPPED, "exit %s", exit_str(e));
	/* The guest did not run at all. */
	ASSERT_EQ(vcpu_gpr(vm, &v, NVMM_X64_GPR_RIP), CODE_GPA);
	ASSERT_EQ(e->exitstate.rflags, 0x2);
	/* Once only. */
	GUEST_REPORT(vm, &v);
	/* Again, between two exits. */
	ASSERT_OK(nvmm_vcpu_stop(&v));
	e = vcpu_run(vm, &v);
	TEST_ASSERT(e->reason == NVMM_VCPU_EXIT_STOPPED, "exit %s", exit_str(e));
	EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_HALTED);
	vm_destroy(vm);
}

static void *
signal_until_returned(void *arg)
{
	(void)arg;
	msleep(30);
	while (!atomic_load(&run_returned)) {
		pthread_kill(vcpu_thread, SIGUSR1);
		msleep(20);
	}
	return NULL;
}

static void
test_signal_no_stop(void)
{
	struct nvmm_vcpu v;
	struct vm *vm = spin_vm(&v);
	pthread_t t;
	uint64_t t0 = now_ms();
	int r;

	install(SIGUSR1, on_signal_count);
	TEST_ASSERT(pthread_create(&t, NULL, signal_until_returned, NULL) == 0,
	    "pthread_create");
	/* Each return must be 0 + NONE (never -1/EINTR), until a signal hit. */
	for (;;) {
		errno = 0;
		r = nvmm_vcpu_run(&vm->mach, &v);
		if (r != 0 || v.exit->reason != NVMM_VCPU_EXIT_NONE)
			break;
		if (atomic_load(&sig_count) > 0 || now_ms() - t0 > 10000)
			break;
	}
	atomic_store(&run_returned, 1);
	pthread_join(t, NULL);
	TEST_ASSERT(r == 0, "nvmm_vcpu_run interrupted by a signal returned "
	    "%d, errno %d (%s)", r, errno, strerror(errno));
	TEST_ASSERT(v.exit->reason == NVMM_VCPU_EXIT_NONE, "exit %s",
	    exit_str(v.exit));
	TEST_ASSERT(atomic_load(&sig_count) > 0, "no signal arrived in 10 s");
	release_spin(vm, &v);
	vm_destroy(vm);
}

/*
 * QEMU's case: a signal interrupts nvmm_vcpu_run and its handler calls
 * nvmm_vcpu_stop. The handler stops only when it interrupted the run
 * itself: its context is the return of a system call (the bytes before RIP
 * are SYSCALL, RAX 0 or -EINTR) made while the VCPU thread was inside
 * nvmm_vcpu_run, whose only such call is the backend's run ioctl. A signal
 * that lands anywhere else does nothing, and the sender tries again. One
 * signal at a time: the sender waits for each to be handled, so none is
 * left pending when the test goes on.
 */
static atomic_int in_run;
static atomic_int stop_hits;
static atomic_int sender_done;

static bool
at_syscall_return(const ucontext_t *uc)
{
	const uint8_t *rip = (const uint8_t *)uc->uc_mcontext.gregs[REG_RIP];
	long long rax = (long long)uc->uc_mcontext.gregs[REG_RAX];

	return rip[-2] == 0x0f && rip[-1] == 0x05 && (rax == 0 ||
	    rax == -EINTR);
}

static void
on_sig_stop_in_run(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)si;
	if (atomic_load(&in_run) && at_syscall_return(ctx)) {
		nvmm_vcpu_stop(sig_vcpu);
		atomic_fetch_add(&stop_hits, 1);
	}
	atomic_fetch_add(&sig_count, 1);
}

static void *
send_until_done(void *arg)
{
	(void)arg;
	while (!atomic_load(&sender_done)) {
		int n = atomic_load(&sig_count);
		uint64_t t0 = now_ms();

		msleep(3);
		pthread_kill(vcpu_thread, SIGUSR1);
		/* Handled within 5 s, or the VCPU thread is stuck anyway. */
		while (atomic_load(&sig_count) == n && now_ms() - t0 < 5000)
			msleep(1);
	}
	return NULL;
}

/*
 * The guest spins until the host writes D(0), then does an OUT to
 * next_port. Runs until a signal's handler stopped a run from inside it,
 * checks that run, then that the next one reaches that OUT.
 */
static void
stop_signal_in_run(struct vm *vm, struct nvmm_vcpu *v, uint16_t next_port)
{
	struct sigaction sa;
	pthread_t t;
	uint64_t t0 = now_ms();
	unsigned runs = 0, nones = 0;
	int r, hits;

	sig_vcpu = v;
	vcpu_thread = pthread_self();
	atomic_store(&sig_count, 0);
	atomic_store(&stop_hits, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sig_stop_in_run;
	sa.sa_flags = SA_SIGINFO;	/* no SA_RESTART, as QEMU */
	sigemptyset(&sa.sa_mask);
	TEST_ASSERT(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction");
	atomic_store(&sender_done, 0);
	TEST_ASSERT(pthread_create(&t, NULL, send_until_done, NULL) == 0,
	    "pthread_create");
	for (;;) {
		hits = atomic_load(&stop_hits);
		atomic_store(&in_run, 1);
		errno = 0;
		r = nvmm_vcpu_run(&vm->mach, v);
		atomic_store(&in_run, 0);
		runs++;
		if (r != 0 || atomic_load(&stop_hits) != hits)
			break;
		/* The guest spins: nothing else may end a run. */
		TEST_ASSERT(v->exit->reason == NVMM_VCPU_EXIT_NONE, "run %u, "
		    "not interrupted by a stop, ended with exit %s", runs,
		    exit_str(v->exit));
		nones++;
		if (now_ms() - t0 > 20000)
			break;
	}
	atomic_store(&sender_done, 1);
	pthread_join(t, NULL);
	TEST_ASSERT(r == 0, "nvmm_vcpu_run returned %d, errno %d (%s)", r,
	    errno, strerror(errno));
	TEST_ASSERT(atomic_load(&stop_hits) > 0, "in 20 s and %u runs, no "
	    "signal landed on the return of a run", runs);
	TEST_ASSERT(v->exit->reason == NVMM_VCPU_EXIT_STOPPED, "the run "
	    "interrupted by a signal whose handler called nvmm_vcpu_stop "
	    "returned exit %s (after %u NONE runs)", exit_str(v->exit), nones);

	/* No stop left behind: cleared, and the next run reaches the OUT. */
	ASSERT_EQ(*v->stop, 0);
	*(volatile uint8_t *)gpa_ptr(vm, DATA_GPA) = 1;
	for (unsigned n = 0;; n++) {
		ASSERT_OK(nvmm_vcpu_run(&vm->mach, v));
		if (v->exit->reason != NVMM_VCPU_EXIT_NONE)
			break;
		TEST_ASSERT(n < 1000, "1000 NONE exits in a row");
	}
	TEST_ASSERT(v->exit->reason == NVMM_VCPU_EXIT_IO &&
	    v->exit->u.io.port == next_port, "the run after the stopped one "
	    "(no stop requested since) returned exit %s", exit_str(v->exit));
	vcpu_skip(vm, v, v->exit->u.io.npc);
}

static void
test_stop_signal_in_run(void)
{
	struct nvmm_vcpu v;
	struct vm *vm = spin_vm(&v);

	stop_signal_in_run(vm, &v, PORT_REPORT);
	EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_HALTED);
	vm_destroy(vm);
}

/*
 * The same inside an NMI handler that set IF=1, with the NMI window armed:
 * where the KVM backend watches for the handler's IRET.
 */
static void
test_stop_signal_in_nmi(void)
{
	struct nvmm_vcpu v;
	struct vm *vm = vm_create(0);
	struct nvmm_vcpu_exit *e;

	vcpu_add(vm, 0, &v);
	guest_load(vm, GUEST(nmispin64));
	vcpu_setup_long64(vm, &v, CODE_GPA);
	idt_set(vm, MODE_LONG64, 2, GUEST_ADDR(nmispin64, handler));
	GUEST_REPORT(vm, &v);
	inject(vm, &v, NVMM_VCPU_EVENT_INTR, 2, 0);
	stop_signal_in_run(vm, &v, PORT_HANDLER);
	/* The handler's IRET, then HLT. */
	while ((e = vcpu_run(vm, &v))->reason == NVMM_VCPU_EXIT_NMI_READY)
		;
	TEST_ASSERT(e->reason == NVMM_VCPU_EXIT_HALTED, "exit %s",
	    exit_str(e));
	vm_destroy(vm);
}

const struct test_case event_cases[] = {
	TEST_CASE(event_intr_real, "external interrupt through the real-mode IVT"),
	TEST_CASE(event_intr_long64, "external interrupt through a 64-bit IDT gate"),
	TEST_CASE(event_nmi, "NMI (INTR vector 2) with IF=0"),
	TEST_CASE(event_excp_gp, "#GP with error code 0x10 reaches the handler"),
	TEST_CASE(event_excp_de, "#DE (vector 0) reaches its handler as a fault, no error code"),
	TEST_CASE(event_invalid, "invalid events -> EINVAL, nothing left pending"),
	TEST_CASE(int_window, "int_window_exiting -> INT_READY once IF=1, exitstate"),
	TEST_CASE(nmi_window, "NMI window: armed in the handler, NMI_READY after IRET"),
	TEST_CASE(nmi_window_if1, "NMI window, IF=1 outside: NMI_READY right at the IRET"),
	TEST_CASE(exitstate_shadow, "exitstate.int_shadow after MOV SS"),
	TEST_CASE(exitstate_shadow_kernel, "MOV SS; CPUID/RDMSR/INVD/HLT done in the kernel end the shadow"),
	TEST_CASE(int_shadow_setstate, "a shadow set by setstate covers one instruction"),
	TEST_CASE(vcpu_threads, "4 VCPUs on 4 threads, exact OUT counts each"),
	TEST_CASE(stop_signal, "nvmm_vcpu_stop in a SIGUSR1 handler -> STOPPED, then resumes"),
	TEST_CASE(stop_thread, "nvmm_vcpu_stop from another thread -> STOPPED"),
	TEST_CASE(stop_before_run, "stop before run -> STOPPED at once, then normal"),
	TEST_CASE(signal_no_stop, "a signal without stop -> run returns 0 with NONE"),
	TEST_CASE(stop_signal_in_run, "stop from the handler of a signal that interrupted the run -> that run STOPPED, the next not"),
	TEST_CASE(stop_signal_in_nmi, "the same inside an NMI handler with IF=1 and the NMI window armed"),
	{ NULL, NULL, NULL },
};

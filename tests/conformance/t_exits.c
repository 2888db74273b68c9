/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Exit cases: every execution mode, I/O exits field by field, the I/O and
 * MMIO assists, HLT, triple fault, MSR exits, CPUID.
 */
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"

DECLARE_GUEST(out_hlt);
DECLARE_GUEST_LABEL(out_hlt, hlt);
DECLARE_GUEST_LABEL(out_hlt, after);
DECLARE_GUEST(switch_long);
DECLARE_GUEST(switch_paging32);
DECLARE_GUEST(mmio64);
DECLARE_GUEST_LABEL(mmio64, s8);
DECLARE_GUEST_LABEL(mmio64, s16);
DECLARE_GUEST_LABEL(mmio64, s32);
DECLARE_GUEST_LABEL(mmio64, s64);
DECLARE_GUEST_LABEL(mmio64, loads);
DECLARE_GUEST_LABEL(mmio64, l8);
DECLARE_GUEST_LABEL(mmio64, l16);
DECLARE_GUEST_LABEL(mmio64, l32);
DECLARE_GUEST_LABEL(mmio64, l64);
DECLARE_GUEST(mmio16);
DECLARE_GUEST(cbstate64);
DECLARE_GUEST_LABEL(cbstate64, out);
DECLARE_GUEST_LABEL(cbstate64, store);
DECLARE_GUEST_LABEL(cbstate64, load);
DECLARE_GUEST_LABEL(mmio16, s16);
DECLARE_GUEST_LABEL(mmio16, l16);
DECLARE_GUEST(ud2);
DECLARE_GUEST(msr32);
DECLARE_GUEST_LABEL(msr32, rd);
DECLARE_GUEST_LABEL(msr32, rd_end);
DECLARE_GUEST_LABEL(msr32, wr);
DECLARE_GUEST_LABEL(msr32, wr_end);
DECLARE_GUEST_LABEL(msr32, rd2);
DECLARE_GUEST_LABEL(msr32, rd2_end);
DECLARE_GUEST(msrk64);
DECLARE_GUEST_LABEL(msrk64, gp);
DECLARE_GUEST_LABEL(msrk64, rd);
DECLARE_GUEST_LABEL(msrk64, rd_end);
DECLARE_GUEST_LABEL(msrk64, wr);
DECLARE_GUEST_LABEL(msrk64, wr_end);
DECLARE_GUEST(cpuid32);
DECLARE_GUEST_LABEL(cpuid32, insn);
DECLARE_GUEST_LABEL(cpuid32, after);

/* ------------------------------------------------------------------------ */
/* Modes.                                                                    */

static void
test_mode_reset_vector(void)
{
	struct vm *vm = vm_create(0);
	struct nvmm_vcpu v;
	struct nvmm_vcpu_exit *e;
	struct nvmm_x64_state *st;
	uint8_t *rom;
	size_t len = (size_t)(guest_out_hlt_end - guest_out_hlt_start);

	/* A 64 KiB ROM just below 4 GiB, as firmware would be. */
	rom = vm_map(vm, 0xffff0000, 0x10000, PROT_READ | PROT_EXEC);
	memcpy(rom + 0xfff0, guest_out_hlt_start, len);
	ASSERT_OK(nvmm_vcpu_create(&vm->mach, 0, &v));
	/* No setstate at all: the reset state runs as it is. */
	e = vcpu_run(vm, &v);
	TEST_ASSERT(e->reason == NVMM_VCPU_EXIT_IO && !e->u.io.in &&
	    e->u.io.port == PORT_REPORT, "exit %s", exit_str(e));
	ASSERT_EQ(e->u.io.address_size, 2);
	ASSERT_EQ(e->u.io.npc, 0xfff2);
	st = vcpu_state(vm, &v, NVMM_X64_STATE_SEGS | NVMM_X64_STATE_GPRS);
	ASSERT_EQ(st->gprs[NVMM_X64_GPR_RIP], 0xfff0);
	ASSERT_EQ(st->segs[NVMM_X64_SEG_CS].selector, 0xf000);
	ASSERT_EQ(st->segs[NVMM_X64_SEG_CS].base, 0xffff0000);
	vcpu_skip(vm, &v, e->u.io.npc);
	EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_HALTED);
	ASSERT_EQ(vcpu_gpr(vm, &v, NVMM_X64_GPR_RIP), 0xfff3);
	vm_destroy(vm);
}

static void
run_mode(enum guest_mode m)
{
	struct vm *vm;
	struct nvmm_vcpu v;
	struct nvmm_vcpu_exit *e;
	struct nvmm_x64_state *st;

	if (m == MODE_PAGING32 || m == MODE_PAE)
		require_mode(m);
	vm = vm_create(0);
	vcpu_add(vm, 0, &v);
	guest_load(vm, GUEST(out_hlt));
	vcpu_setup(vm, &v, m, CODE_GPA);
	e = vcpu_run(vm, &v);
	TEST_ASSERT(e->reason == NVMM_VCPU_EXIT_IO && e->u.io.port ==
	    PORT_REPORT, "%s: exit %s", mode_name(m), exit_str(e));
	ASSERT_EQ(e->u.io.address_size, m == MODE_REAL ? 2 :
	    m == MODE_LONG64 ? 8 : 4);
	ASSERT_EQ(e->u.io.npc, GUEST_ADDR(out_hlt, hlt));
	ASSERT_EQ(e->exitstate.rflags, 0x2);
	st = vcpu_state(vm, &v, NVMM_X64_STATE_ALL);
	ASSERT_EQ(st->gprs[NVMM_X64_GPR_RIP], CODE_GPA);
	ASSERT_EQ(st->crs[NVMM_X64_CR_CR0] & 0x80000001,
	    m == MODE_REAL ? 0 : m == MODE_PROT32 ? 1 : 0x80000001);
	ASSERT_EQ(st->msrs[NVMM_X64_MSR_EFER] & 0x500,
	    m == MODE_LONG64 ? 0x500 : 0);
	if (m == MODE_PAE || m == MODE_LONG64)
		ASSERT_EQ(st->crs[NVMM_X64_CR_CR4] & 0x20, 0x20);
	vcpu_skip(vm, &v, e->u.io.npc);
	EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_HALTED);
	ASSERT_EQ(vcpu_gpr(vm, &v, NVMM_X64_GPR_RIP), GUEST_ADDR(out_hlt, after));
	vm_destroy(vm);
}

static void test_mode_real(void) { run_mode(MODE_REAL); }
static void test_mode_prot32(void) { run_mode(MODE_PROT32); }
static void test_mode_paging32(void) { run_mode(MODE_PAGING32); }
static void test_mode_pae(void) { run_mode(MODE_PAE); }
static void test_mode_long64(void) { run_mode(MODE_LONG64); }

static void
test_mode_switch_long(void)
{
	struct vm *vm = vm_create(0);
	struct nvmm_vcpu v;
	struct nvmm_x64_state *st;

	vcpu_add(vm, 0, &v);
	guest_load(vm, GUEST(switch_long));
	vcpu_setup_real(vm, &v, CODE_GPA);
	build_tables(vm, MODE_LONG64);
	ASSERT_EQ(GUEST_REPORT(vm, &v) & 0xff, 1);
	st = vcpu_state(vm, &v, NVMM_X64_STATE_ALL);
	ASSERT_EQ(st->crs[NVMM_X64_CR_CR0] & 1, 1);
	ASSERT_EQ(st->segs[NVMM_X64_SEG_CS].selector, SEL_CODE32);
	ASSERT_EQ(st->segs[NVMM_X64_SEG_CS].attrib.def, 1);
	ASSERT_EQ(st->segs[NVMM_X64_SEG_GDT].base, GDT_GPA);
	ASSERT_EQ(st->segs[NVMM_X64_SEG_GDT].limit, GDT_LIMIT);
	ASSERT_EQ(GUEST_REPORT(vm, &v) & 0xff, 2);
	st = vcpu_state(vm, &v, NVMM_X64_STATE_ALL);
	ASSERT_EQ(st->segs[NVMM_X64_SEG_CS].selector, SEL_CODE64);
	ASSERT_EQ(st->segs[NVMM_X64_SEG_CS].attrib.l, 1);
	ASSERT_EQ(st->msrs[NVMM_X64_MSR_EFER] & 0x500, 0x500);
	ASSERT_EQ(st->crs[NVMM_X64_CR_CR0] & 0x80000001, 0x80000001);
	ASSERT_EQ(st->crs[NVMM_X64_CR_CR3], PT_GPA);
	EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_HALTED);
	vm_destroy(vm);
}

static void
test_mode_switch_paging32(void)
{
	struct vm *vm;
	struct nvmm_vcpu v;
	struct nvmm_x64_state *st;

	require_mode(MODE_PAGING32);
	vm = vm_create(0);
	vcpu_add(vm, 0, &v);
	guest_load(vm, GUEST(switch_paging32));
	vcpu_setup_prot32(vm, &v, CODE_GPA);
	build_tables(vm, MODE_PAGING32);
	ASSERT_EQ(GUEST_REPORT(vm, &v) & 0xff, 3);
	st = vcpu_state(vm, &v, NVMM_X64_STATE_CRS);
	ASSERT_EQ(st->crs[NVMM_X64_CR_CR0] & 0x80000001, 0x80000001);
	ASSERT_EQ(st->crs[NVMM_X64_CR_CR4] & 0x10, 0x10);
	ASSERT_EQ(st->crs[NVMM_X64_CR_CR3], PT_GPA);
	EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_HALTED);
	vm_destroy(vm);
}

/* ------------------------------------------------------------------------ */
/* Plain I/O exits, every field.                                             */

#define DECLARE_IO(n)                                                        \
	DECLARE_GUEST(n);                                                    \
	DECLARE_GUEST_LABEL(n, a0); DECLARE_GUEST_LABEL(n, b0);              \
	DECLARE_GUEST_LABEL(n, a1); DECLARE_GUEST_LABEL(n, b1);              \
	DECLARE_GUEST_LABEL(n, a2); DECLARE_GUEST_LABEL(n, b2);              \
	DECLARE_GUEST_LABEL(n, a3); DECLARE_GUEST_LABEL(n, b3);              \
	DECLARE_GUEST_LABEL(n, a4); DECLARE_GUEST_LABEL(n, b4);              \
	DECLARE_GUEST_LABEL(n, a5); DECLARE_GUEST_LABEL(n, b5);              \
	DECLARE_GUEST_LABEL(n, a6); DECLARE_GUEST_LABEL(n, b6);              \
	DECLARE_GUEST_LABEL(n, a7); DECLARE_GUEST_LABEL(n, b7)
DECLARE_IO(io16);
DECLARE_IO(io32);
DECLARE_IO(io64);

#define IO_ADDRS(n)                                                          \
	{ GUEST_ADDR(n, a0), GUEST_ADDR(n, a1), GUEST_ADDR(n, a2),           \
	  GUEST_ADDR(n, a3), GUEST_ADDR(n, a4), GUEST_ADDR(n, a5),           \
	  GUEST_ADDR(n, a6), GUEST_ADDR(n, a7), GUEST_ADDR(n, b0),           \
	  GUEST_ADDR(n, b1), GUEST_ADDR(n, b2), GUEST_ADDR(n, b3),           \
	  GUEST_ADDR(n, b4), GUEST_ADDR(n, b5), GUEST_ADDR(n, b6),           \
	  GUEST_ADDR(n, b7) }

static void
check_io_exits(enum guest_mode m, const uint8_t *start, const uint8_t *end,
    const uint64_t *addr)
{
	static const struct {
		uint16_t port;
		bool in;
		uint8_t size;
	} want[8] = {
		{ 0x21, false, 1 }, { 0x22, false, 2 }, { 0x23, false, 4 },
		{ 0x1234, false, 1 }, { 0x24, true, 1 }, { 0x1234, true, 2 },
		{ 0x25, true, 4 }, { 0x1234, false, 2 },
	};
	struct vm *vm = vm_create(0);
	struct nvmm_vcpu v;
	struct nvmm_vcpu_exit *e;
	unsigned i;
	uint8_t asize = m == MODE_REAL ? 2 : m == MODE_LONG64 ? 8 : 4;

	vcpu_add(vm, 0, &v);
	guest_load(vm, start, end);
	vcpu_setup(vm, &v, m, CODE_GPA);
	for (i = 0; i < 8; i++) {
		e = vcpu_run(vm, &v);
		TEST_ASSERT(e->reason == NVMM_VCPU_EXIT_IO, "I/O #%u: exit %s",
		    i, exit_str(e));
		TEST_ASSERT(e->u.io.port == want[i].port &&
		    e->u.io.in == want[i].in &&
		    e->u.io.operand_size == want[i].size &&
		    e->u.io.address_size == asize && !e->u.io.rep &&
		    !e->u.io.str && e->u.io.npc == addr[8 + i],
		    "I/O #%u: expected %s port 0x%x size %u asize %u rep 0 "
		    "str 0 npc 0x%" PRIx64 ", got %s", i,
		    want[i].in ? "in" : "out", want[i].port, want[i].size,
		    asize, addr[8 + i], exit_str(e));
		/* NVMM: RIP stays on the instruction; exitstate is filled. */
		ASSERT_EQ(vcpu_gpr(vm, &v, NVMM_X64_GPR_RIP), addr[i]);
		ASSERT_EQ(e->exitstate.rflags, 0x2);
		ASSERT_EQ(e->exitstate.int_shadow, 0);
		ASSERT_EQ(e->exitstate.int_window_exiting, 0);
		ASSERT_EQ(e->exitstate.nmi_window_exiting, 0);
		vcpu_skip(vm, &v, e->u.io.npc);
	}
	EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_HALTED);
	vm_destroy(vm);
}

static void
test_io_real(void)
{
	const uint64_t a[16] = IO_ADDRS(io16);

	check_io_exits(MODE_REAL, GUEST(io16), a);
}

static void
test_io_prot32(void)
{
	const uint64_t a[16] = IO_ADDRS(io32);

	check_io_exits(MODE_PROT32, GUEST(io32), a);
}

static void
test_io_long64(void)
{
	const uint64_t a[16] = IO_ADDRS(io64);

	check_io_exits(MODE_LONG64, GUEST(io64), a);
}

/* ------------------------------------------------------------------------ */
/* Back-to-back OUTs: RIP and npc of each exit, through the assist.          */

#define DECLARE_B2B(n)                                                       \
	DECLARE_GUEST(n);                                                    \
	DECLARE_GUEST_LABEL(n, a0); DECLARE_GUEST_LABEL(n, a1);              \
	DECLARE_GUEST_LABEL(n, a2); DECLARE_GUEST_LABEL(n, a3);              \
	DECLARE_GUEST_LABEL(n, a4); DECLARE_GUEST_LABEL(n, a5);              \
	DECLARE_GUEST_LABEL(n, a6); DECLARE_GUEST_LABEL(n, a7);              \
	DECLARE_GUEST_LABEL(n, a8)
DECLARE_B2B(b2b16);
DECLARE_B2B(b2b32);
DECLARE_B2B(b2b64);

#define B2B_ADDRS(n)                                                         \
	{ GUEST_ADDR(n, a0), GUEST_ADDR(n, a1), GUEST_ADDR(n, a2),           \
	  GUEST_ADDR(n, a3), GUEST_ADDR(n, a4), GUEST_ADDR(n, a5),           \
	  GUEST_ADDR(n, a6), GUEST_ADDR(n, a7), GUEST_ADDR(n, a8) }

static void
check_b2b(enum guest_mode m, const uint8_t *start, const uint8_t *end,
    const uint64_t *addr)
{
	/* The device sees AL (0x5a) or the next source byte, in order. */
	static const uint8_t src[4] = { 0xa1, 0xb2, 0xc3, 0x5a };
	static const uint8_t want[9] = { 0x5a, 0x5a, 0x5a, 0x5a, 0xa1, 0xb2,
	    0x5a, 0xc3, 0x5a };
	struct vm *vm = vm_create(0);
	struct nvmm_vcpu v;
	struct nvmm_vcpu_exit *e;
	struct nvmm_x64_state *st;
	unsigned k = 0, i, before;

	vcpu_add(vm, 0, &v);
	guest_load(vm, start, end);
	vcpu_setup(vm, &v, m, CODE_GPA);
	memcpy(gpa_ptr(vm, DATA_GPA), src, sizeof(src));
	st = vcpu_state(vm, &v, NVMM_X64_STATE_GPRS);
	st->gprs[NVMM_X64_GPR_RAX] = 0x5a;
	st->gprs[NVMM_X64_GPR_RDX] = 0x21;
	st->gprs[NVMM_X64_GPR_RSI] = DATA_GPA;
	st->gprs[NVMM_X64_GPR_RCX] = 2;	/* for the REP OUTSB at a7 */
	vcpu_commit(vm, &v, NVMM_X64_STATE_GPRS);
	io_count = 0;
	io_out_pos = 0;
	/* a0-a6 exit once each; a7 once or twice (the assist may do both). */
	while ((e = vcpu_run(vm, &v))->reason != NVMM_VCPU_EXIT_HALTED) {
		const bool str = k == 4 || k == 5 || k == 7;

		TEST_ASSERT(k < 8, "%s: an exit after the REP OUTSB: %s",
		    mode_name(m), exit_str(e));
		TEST_ASSERT(e->reason == NVMM_VCPU_EXIT_IO && !e->u.io.in &&
		    e->u.io.port == 0x21 && e->u.io.operand_size == 1 &&
		    e->u.io.str == str && e->u.io.rep == (k == 7) &&
		    e->u.io.npc == addr[k + 1],
		    "%s, instruction a%u: expected out port 0x21 size 1 str %d "
		    "rep %d npc 0x%" PRIx64 ", got %s", mode_name(m), k, str,
		    k == 7, addr[k + 1], exit_str(e));
		TEST_ASSERT(vcpu_gpr(vm, &v, NVMM_X64_GPR_RIP) == addr[k],
		    "%s, instruction a%u: RIP 0x%" PRIx64 ", it is at 0x%"
		    PRIx64, mode_name(m), k,
		    vcpu_gpr(vm, &v, NVMM_X64_GPR_RIP), addr[k]);
		before = io_count;
		ASSERT_OK(nvmm_assist_io(&vm->mach, &v));
		TEST_ASSERT(io_count > before && io_count <= 9 &&
		    (k == 7 || io_count == before + 1),
		    "%s, instruction a%u: %u callbacks after %u", mode_name(m),
		    k, io_count, before);
		for (i = before; i < io_count; i++)
			TEST_ASSERT(io_log[i].data[0] == want[i], "%s, "
			    "callback %u: data 0x%02x, expected 0x%02x",
			    mode_name(m), i, io_log[i].data[0], want[i]);
		if (k < 7 || io_count == 9)
			k++;
		ASSERT_EQ(vcpu_gpr(vm, &v, NVMM_X64_GPR_RIP), addr[k]);
	}
	ASSERT_EQ(k, 8);
	ASSERT_EQ(vcpu_gpr(vm, &v, NVMM_X64_GPR_RIP), addr[8] + 1);
	ASSERT_EQ(vcpu_gpr(vm, &v, NVMM_X64_GPR_RSI) & 0xffff,
	    (DATA_GPA + 4) & 0xffff);
	vm_destroy(vm);
}

static void
test_io_back_to_back(void)
{
	const uint64_t a16[9] = B2B_ADDRS(b2b16);
	const uint64_t a32[9] = B2B_ADDRS(b2b32);
	const uint64_t a64[9] = B2B_ADDRS(b2b64);

	check_b2b(MODE_REAL, GUEST(b2b16), a16);
	check_b2b(MODE_PROT32, GUEST(b2b32), a32);
	check_b2b(MODE_LONG64, GUEST(b2b64), a64);
}

/* ------------------------------------------------------------------------ */
/* nvmm_assist_io.                                                           */

#define DECLARE_STRIO(n)                                                     \
	DECLARE_GUEST(n);                                                    \
	DECLARE_GUEST_LABEL(n, insb); DECLARE_GUEST_LABEL(n, insw);          \
	DECLARE_GUEST_LABEL(n, insl); DECLARE_GUEST_LABEL(n, outsb);         \
	DECLARE_GUEST_LABEL(n, outsw); DECLARE_GUEST_LABEL(n, outsl);        \
	DECLARE_GUEST_LABEL(n, outsb_fs); DECLARE_GUEST_LABEL(n, outsw_gs);  \
	DECLARE_GUEST_LABEL(n, insb1); DECLARE_GUEST_LABEL(n, inb);          \
	DECLARE_GUEST_LABEL(n, inw); DECLARE_GUEST_LABEL(n, inl);            \
	DECLARE_GUEST_LABEL(n, outb); DECLARE_GUEST_LABEL(n, outw);          \
	DECLARE_GUEST_LABEL(n, outl)
DECLARE_STRIO(strio16);
DECLARE_STRIO(strio32);
DECLARE_STRIO(strio64);
DECLARE_GUEST_LABEL(strio16, outsb16);
DECLARE_GUEST_LABEL(strio64, insb_a32);
DECLARE_GUEST_LABEL(strio64, outsl_a32);

#define IOPORT 0x3f8

static void
io_reset_streams(void)
{
	unsigned i;

	io_count = 0;
	io_in_pos = 0;
	io_out_pos = 0;
	for (i = 0; i < sizeof(io_in_stream); i++)
		io_in_stream[i] = (uint8_t)(0x40 + i * 7);
	memset(io_out_stream, 0, sizeof(io_out_stream));
}

/* Single IN/OUT through the assist; returns RAX after the assist. */
static uint64_t
assist_single(struct vm *vm, struct nvmm_vcpu *v, uint64_t rip, uint64_t rax,
    bool in, unsigned size)
{
	struct nvmm_x64_state *st = vcpu_state(vm, v, NVMM_X64_STATE_GPRS);
	struct nvmm_vcpu_exit *e;
	uint64_t after, npc;

	st->gprs[NVMM_X64_GPR_RAX] = rax;
	st->gprs[NVMM_X64_GPR_RDX] = IOPORT;
	st->gprs[NVMM_X64_GPR_RIP] = rip;
	vcpu_commit(vm, v, NVMM_X64_STATE_GPRS);
	io_reset_streams();
	e = EXPECT_EXIT(vm, v, NVMM_VCPU_EXIT_IO);
	ASSERT_EQ(e->u.io.in, in);
	ASSERT_EQ(e->u.io.port, IOPORT);
	ASSERT_EQ(e->u.io.operand_size, size);
	ASSERT_EQ(e->u.io.str, 0);
	ASSERT_OK(nvmm_assist_io(&vm->mach, v));
	ASSERT_EQ(io_count, 1);
	ASSERT_EQ(io_log[0].port, IOPORT);
	ASSERT_EQ(io_log[0].in, in);
	ASSERT_EQ(io_log[0].size, size);
	npc = e->u.io.npc;	/* the next run reuses *e */
	st = vcpu_state(vm, v, NVMM_X64_STATE_GPRS);
	ASSERT_EQ(st->gprs[NVMM_X64_GPR_RIP], npc);
	after = st->gprs[NVMM_X64_GPR_RAX];
	/* The guest sees the same after the next run (it halts). */
	EXPECT_EXIT(vm, v, NVMM_VCPU_EXIT_HALTED);
	st = vcpu_state(vm, v, NVMM_X64_STATE_GPRS);
	ASSERT_EQ(st->gprs[NVMM_X64_GPR_RAX], after);
	ASSERT_EQ(st->gprs[NVMM_X64_GPR_RIP], npc + 1);
	return after;
}

static void
test_io_assist_in(void)
{
	struct vm *vm = vm_create(0);
	struct nvmm_vcpu v;

	vcpu_add(vm, 0, &v);
	guest_load(vm, GUEST(strio64));
	vcpu_setup_long64(vm, &v, CODE_GPA);
	/* 1 and 2 bytes merge into RAX, 4 bytes zero-extend. */
	ASSERT_EQ(assist_single(vm, &v, GUEST_ADDR(strio64, inb), ~0ULL, true,
	    1), 0xffffffffffffff40ULL);
	ASSERT_EQ(assist_single(vm, &v, GUEST_ADDR(strio64, inw), ~0ULL, true,
	    2), 0xffffffffffff4740ULL);
	ASSERT_EQ(assist_single(vm, &v, GUEST_ADDR(strio64, inl), ~0ULL, true,
	    4), 0x554e4740ULL);
	ASSERT_EQ(io_log[0].data[0], 0x40);
	ASSERT_EQ(io_log[0].data[3], 0x55);
	vm_destroy(vm);
}

static void
test_io_assist_out(void)
{
	struct vm *vm = vm_create(0);
	struct nvmm_vcpu v;
	const uint64_t rax = 0x1122334455667788ULL;

	vcpu_add(vm, 0, &v);
	guest_load(vm, GUEST(strio64));
	vcpu_setup_long64(vm, &v, CODE_GPA);
	ASSERT_EQ(assist_single(vm, &v, GUEST_ADDR(strio64, outb), rax, false,
	    1), rax);
	ASSERT_EQ(io_out_pos, 1);
	ASSERT_EQ(io_out_stream[0], 0x88);
	ASSERT_EQ(assist_single(vm, &v, GUEST_ADDR(strio64, outw), rax, false,
	    2), rax);
	ASSERT_EQ(io_out_pos, 2);
	ASSERT_EQ(io_out_stream[1], 0x77);
	ASSERT_EQ(assist_single(vm, &v, GUEST_ADDR(strio64, outl), rax, false,
	    4), rax);
	ASSERT_EQ(io_out_pos, 4);
	ASSERT_EQ(io_out_stream[0] | io_out_stream[1] << 8 |
	    io_out_stream[2] << 16 | (uint32_t)io_out_stream[3] << 24,
	    0x55667788);
	vm_destroy(vm);
}

struct strio {
	uint64_t rip;		/* the string instruction */
	bool in;
	unsigned esize;		/* element size */
	uint64_t count;
	uint64_t index;		/* RDI (in) or RSI (out) */
	uint64_t seg_base;	/* base of the segment used */
	bool df;
	int seg;		/* NVMM_X64_SEG_* the exit should report */
	unsigned asize;
};

/* GPA of byte i of the transfer. */
static uint64_t
strio_byte(const struct strio *s, uint64_t i)
{
	const uint64_t amask = s->asize == 8 ? ~0ULL :
	    (1ULL << (s->asize * 8)) - 1;
	const uint64_t el = i / s->esize;
	uint64_t idx = s->df ? s->index - el * s->esize :
	    s->index + el * s->esize;

	return s->seg_base + (idx & amask) + i % s->esize;
}

/*
 * Run a REP INS/OUTS to completion through nvmm_assist_io; after each
 * assist, RCX/RSI/RDI/RIP must match the elements done so far; at the end
 * guest memory and the device stream must match element by element.
 */
static void
run_strio(struct vm *vm, struct nvmm_vcpu *v, const struct strio *s)
{
	struct nvmm_x64_state *st;
	struct nvmm_vcpu_exit *e;
	const int ireg = s->in ? NVMM_X64_GPR_RDI : NVMM_X64_GPR_RSI;
	const uint64_t amask = s->asize == 8 ? ~0ULL :
	    (1ULL << (s->asize * 8)) - 1;
	uint64_t npc = 0, done, i;
	unsigned exits = 0;

	io_reset_streams();
	if (!s->in)		/* the guest's source data */
		for (i = 0; i < s->count * s->esize; i++)
			*(uint8_t *)gpa_ptr(vm, strio_byte(s, i)) =
			    (uint8_t)(0x90 + i * 3);
	st = vcpu_state(vm, v, NVMM_X64_STATE_GPRS);
	st->gprs[NVMM_X64_GPR_RCX] = s->count;
	st->gprs[ireg] = s->index;
	st->gprs[NVMM_X64_GPR_RDX] = IOPORT;
	st->gprs[NVMM_X64_GPR_RFLAGS] = 0x2 | (s->df ? 0x400 : 0);
	st->gprs[NVMM_X64_GPR_RIP] = s->rip;
	vcpu_commit(vm, v, NVMM_X64_STATE_GPRS);

	for (;;) {
		e = vcpu_run(vm, v);
		if (e->reason == NVMM_VCPU_EXIT_HALTED)
			break;
		TEST_ASSERT(e->reason == NVMM_VCPU_EXIT_IO, "exit %s",
		    exit_str(e));
		TEST_ASSERT(++exits <= s->count, "%u exits for %" PRIu64
		    " elements", exits, s->count);
		TEST_ASSERT(e->u.io.in == s->in && e->u.io.port == IOPORT &&
		    e->u.io.operand_size == s->esize &&
		    e->u.io.address_size == s->asize && e->u.io.rep &&
		    e->u.io.str,
		    "expected %s port 0x%x size %u asize %u rep 1 str 1, "
		    "got %s", s->in ? "in" : "out", IOPORT, s->esize,
		    s->asize, exit_str(e));
		TEST_ASSERT(e->u.io.seg == s->seg || e->u.io.seg == -1,
		    "exit seg %d, expected %d (or -1: unknown)", e->u.io.seg,
		    s->seg);
		TEST_ASSERT(e->u.io.npc > s->rip && e->u.io.npc <= s->rip + 4,
		    "npc 0x%" PRIx64 " for the instruction at 0x%" PRIx64,
		    e->u.io.npc, s->rip);
		if (npc != 0)
			ASSERT_EQ(e->u.io.npc, npc);
		npc = e->u.io.npc;
		ASSERT_EQ(vcpu_gpr(vm, v, NVMM_X64_GPR_RIP), s->rip);
		ASSERT_OK(nvmm_assist_io(&vm->mach, v));

		/* Right after the assist. */
		done = io_count;
		TEST_ASSERT(done >= 1 && done <= s->count,
		    "%" PRIu64 " callbacks for %" PRIu64 " elements", done,
		    s->count);
		st = vcpu_state(vm, v, NVMM_X64_STATE_GPRS);
		ASSERT_EQ(st->gprs[NVMM_X64_GPR_RCX], s->count - done);
		ASSERT_EQ(st->gprs[ireg], (s->df ? s->index - done * s->esize :
		    s->index + done * s->esize) & amask);
		ASSERT_EQ(st->gprs[NVMM_X64_GPR_RIP],
		    done == s->count ? npc : s->rip);
	}
	TEST_ASSERT(npc != 0, "the string instruction never exited");
	ASSERT_EQ(io_count, s->count);
	for (i = 0; i < io_count; i++) {
		ASSERT_EQ(io_log[i].port, IOPORT);
		ASSERT_EQ(io_log[i].size, s->esize);
		ASSERT_EQ(io_log[i].in, s->in);
	}
	/* As the guest sees it after the next run. */
	st = vcpu_state(vm, v, NVMM_X64_STATE_GPRS);
	ASSERT_EQ(st->gprs[NVMM_X64_GPR_RCX], 0);
	ASSERT_EQ(st->gprs[ireg], (s->df ? s->index - s->count * s->esize :
	    s->index + s->count * s->esize) & amask);
	ASSERT_EQ(st->gprs[NVMM_X64_GPR_RIP], npc + 1);
	/* Element i lives at index -/+ i*esize. */
	for (i = 0; i < s->count * s->esize; i++) {
		uint8_t mem = *(uint8_t *)gpa_ptr(vm, strio_byte(s, i));
		uint8_t dev = s->in ? io_in_stream[i] : io_out_stream[i];

		TEST_ASSERT(mem == dev, "byte %" PRIu64 " (element %" PRIu64
		    ", gpa 0x%" PRIx64 "): guest memory 0x%02x, device 0x%02x",
		    i, i / s->esize, strio_byte(s, i), mem, dev);
	}
}

static struct vm *
strio_vm(enum guest_mode m, struct nvmm_vcpu *v, const uint8_t *start,
    const uint8_t *end)
{
	struct vm *vm = vm_create(0);
	struct nvmm_x64_state *st;

	vcpu_add(vm, 0, v);
	guest_load(vm, start, end);
	vcpu_setup(vm, v, m, CODE_GPA);
	/* FS base 0x3000, GS base 0x3400 (real mode: selectors to match). */
	st = vcpu_state(vm, v, NVMM_X64_STATE_SEGS);
	st->segs[NVMM_X64_SEG_FS].base = 0x3000;
	st->segs[NVMM_X64_SEG_GS].base = 0x3400;
	if (m == MODE_REAL) {
		st->segs[NVMM_X64_SEG_FS].selector = 0x300;
		st->segs[NVMM_X64_SEG_GS].selector = 0x340;
	}
	vcpu_commit(vm, v, NVMM_X64_STATE_SEGS);
	return vm;
}

static void
test_io_assist_rep_ins(void)
{
	struct nvmm_vcpu v;
	struct vm *vm = strio_vm(MODE_PROT32, &v, GUEST(strio32));
	const struct strio s[] = {
		{ GUEST_ADDR(strio32, insb), true, 1, 5, 0x3000, 0, false,
		  NVMM_X64_SEG_ES, 4 },
		{ GUEST_ADDR(strio32, insw), true, 2, 7, 0x3101, 0, false,
		  NVMM_X64_SEG_ES, 4 },
		{ GUEST_ADDR(strio32, insl), true, 4, 9, 0x3200, 0, false,
		  NVMM_X64_SEG_ES, 4 },
		{ GUEST_ADDR(strio32, insb), true, 1, 100, 0x3400, 0, false,
		  NVMM_X64_SEG_ES, 4 },
	};

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		run_strio(vm, &v, &s[i]);
	vm_destroy(vm);
}

static void
test_io_assist_rep_outs(void)
{
	struct nvmm_vcpu v;
	struct vm *vm = strio_vm(MODE_PROT32, &v, GUEST(strio32));
	const struct strio s[] = {
		{ GUEST_ADDR(strio32, outsb), false, 1, 5, 0x3000, 0, false,
		  NVMM_X64_SEG_DS, 4 },
		{ GUEST_ADDR(strio32, outsw), false, 2, 7, 0x3101, 0, false,
		  NVMM_X64_SEG_DS, 4 },
		{ GUEST_ADDR(strio32, outsl), false, 4, 9, 0x3200, 0, false,
		  NVMM_X64_SEG_DS, 4 },
		{ GUEST_ADDR(strio32, outsb), false, 1, 70, 0x3400, 0, false,
		  NVMM_X64_SEG_DS, 4 },
	};

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		run_strio(vm, &v, &s[i]);
	vm_destroy(vm);
}

static void
test_io_assist_rep_segovr(void)
{
	struct nvmm_vcpu v;
	struct vm *vm = strio_vm(MODE_PROT32, &v, GUEST(strio32));
	const struct strio s[] = {
		{ GUEST_ADDR(strio32, outsb_fs), false, 1, 6, 0x10, 0x3000,
		  false, NVMM_X64_SEG_FS, 4 },
		{ GUEST_ADDR(strio32, outsw_gs), false, 2, 5, 0x20, 0x3400,
		  false, NVMM_X64_SEG_GS, 4 },
	};

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		run_strio(vm, &v, &s[i]);
	vm_destroy(vm);
}

static void
test_io_assist_rep_df(void)
{
	struct nvmm_vcpu v;
	struct vm *vm = strio_vm(MODE_PROT32, &v, GUEST(strio32));
	const struct strio s[] = {
		{ GUEST_ADDR(strio32, insb), true, 1, 4, 0x3010, 0, true,
		  NVMM_X64_SEG_ES, 4 },
		{ GUEST_ADDR(strio32, outsl), false, 4, 3, 0x3110, 0, true,
		  NVMM_X64_SEG_DS, 4 },
		{ GUEST_ADDR(strio32, outsb_fs), false, 1, 3, 0x80, 0x3000,
		  true, NVMM_X64_SEG_FS, 4 },
	};

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		run_strio(vm, &v, &s[i]);
	vm_destroy(vm);
}

static void
test_io_assist_rep_real(void)
{
	struct nvmm_vcpu v;
	struct vm *vm = strio_vm(MODE_REAL, &v, GUEST(strio16));
	const struct strio s[] = {
		{ GUEST_ADDR(strio16, outsb), false, 1, 6, 0x3000, 0, false,
		  NVMM_X64_SEG_DS, 2 },
		{ GUEST_ADDR(strio16, insw), true, 2, 3, 0x3100, 0, false,
		  NVMM_X64_SEG_ES, 2 },
		{ GUEST_ADDR(strio16, outsb_fs), false, 1, 4, 0x40, 0x3000,
		  false, NVMM_X64_SEG_FS, 2 },
		/* 16-bit index wraps at 64 KiB */
		{ GUEST_ADDR(strio16, insb), true, 1, 4, 0xfffe, 0, false,
		  NVMM_X64_SEG_ES, 2 },
	};

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		run_strio(vm, &v, &s[i]);
	vm_destroy(vm);
}

static void
test_io_assist_rep_long64(void)
{
	struct nvmm_vcpu v;
	struct vm *vm = strio_vm(MODE_LONG64, &v, GUEST(strio64));
	struct nvmm_x64_state *st;

	/* DS/ES bases are ignored in long mode; FS/GS bases are not. */
	st = vcpu_state(vm, &v, NVMM_X64_STATE_SEGS);
	st->segs[NVMM_X64_SEG_DS].base = 0x100;
	st->segs[NVMM_X64_SEG_ES].base = 0x100;
	vcpu_commit(vm, &v, NVMM_X64_STATE_SEGS);
	const struct strio s[] = {
		{ GUEST_ADDR(strio64, insb), true, 1, 40, 0x3000, 0, false,
		  NVMM_X64_SEG_ES, 8 },
		{ GUEST_ADDR(strio64, outsl), false, 4, 5, 0x3100, 0, false,
		  NVMM_X64_SEG_DS, 8 },
		{ GUEST_ADDR(strio64, outsb_fs), false, 1, 6, 0x200, 0x3000,
		  false, NVMM_X64_SEG_FS, 8 },
		{ GUEST_ADDR(strio64, insb_a32), true, 1, 5, 0x3300, 0, false,
		  NVMM_X64_SEG_ES, 4 },
		{ GUEST_ADDR(strio64, outsl_a32), false, 4, 3, 0x3400, 0, false,
		  NVMM_X64_SEG_DS, 4 },
	};

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		run_strio(vm, &v, &s[i]);
	vm_destroy(vm);
}

static void
test_io_assist_rep_zero(void)
{
	struct nvmm_vcpu v;
	struct vm *vm = strio_vm(MODE_PROT32, &v, GUEST(strio32));
	struct nvmm_x64_state *st;
	struct nvmm_vcpu_exit *e;
	unsigned n = 0;

	io_reset_streams();
	st = vcpu_state(vm, &v, NVMM_X64_STATE_GPRS);
	st->gprs[NVMM_X64_GPR_RCX] = 0;
	st->gprs[NVMM_X64_GPR_RDI] = 0x3000;
	st->gprs[NVMM_X64_GPR_RDX] = IOPORT;
	st->gprs[NVMM_X64_GPR_RIP] = GUEST_ADDR(strio32, insb);
	vcpu_commit(vm, &v, NVMM_X64_STATE_GPRS);
	/* The CPU may or may not exit on a zero count; either way: no I/O. */
	while ((e = vcpu_run(vm, &v))->reason == NVMM_VCPU_EXIT_IO) {
		TEST_ASSERT(++n < 3, "rep insb with RCX=0 exits again and again");
		ASSERT_OK(nvmm_assist_io(&vm->mach, &v));
	}
	TEST_ASSERT(e->reason == NVMM_VCPU_EXIT_HALTED, "exit %s", exit_str(e));
	ASSERT_EQ(io_count, 0);
	st = vcpu_state(vm, &v, NVMM_X64_STATE_GPRS);
	ASSERT_EQ(st->gprs[NVMM_X64_GPR_RCX], 0);
	ASSERT_EQ(st->gprs[NVMM_X64_GPR_RDI], 0x3000);
	ASSERT_EQ(st->gprs[NVMM_X64_GPR_RIP], GUEST_ADDR(strio32, insb) + 3);
	vm_destroy(vm);
}

static uint64_t hook_rbx, hook_rip, hook_seen;

static void
check_state_in_callback(struct nvmm_io *io)
{
	/* No getstate here: the state must already be there. */
	hook_rbx = io->vcpu->state->gprs[NVMM_X64_GPR_RBX];
	hook_rip = io->vcpu->state->gprs[NVMM_X64_GPR_RIP];
	hook_seen++;
}

static void
test_io_callback_state(void)
{
	struct nvmm_vcpu v;
	struct vm *vm = strio_vm(MODE_PROT32, &v, GUEST(strio32));
	struct nvmm_x64_state *st;

	st = vcpu_state(vm, &v, NVMM_X64_STATE_GPRS);
	st->gprs[NVMM_X64_GPR_RBX] = 0xb0b0cafe;
	st->gprs[NVMM_X64_GPR_RDX] = IOPORT;
	st->gprs[NVMM_X64_GPR_RIP] = GUEST_ADDR(strio32, outb);
	vcpu_commit(vm, &v, NVMM_X64_STATE_GPRS);
	/* Run first, then look at vcpu->state inside the callback only. */
	EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_IO);
	io_reset_streams();
	io_hook = check_state_in_callback;
	ASSERT_OK(nvmm_assist_io(&vm->mach, &v));
	io_hook = NULL;
	ASSERT_EQ(hook_seen, 1);
	ASSERT_EQ(hook_rbx, 0xb0b0cafe);
	ASSERT_EQ(hook_rip, GUEST_ADDR(strio32, outb));
	vm_destroy(vm);
}

/*
 * What the callbacks of one exit see: vcpu->state copied inside them (no
 * getstate there), compared afterwards with what the guest had set.
 */
static struct nvmm_x64_state cb_io_snap, cb_mem_snap[2];
static unsigned cb_io_seen, cb_mem_seen;

static void
snap_io_state(struct nvmm_io *io)
{
	if (cb_io_seen++ == 0)
		cb_io_snap = *io->vcpu->state;
}

static void
snap_mem_state(struct nvmm_mem *mem)
{
	if (cb_mem_seen < 2)
		cb_mem_snap[cb_mem_seen] = *mem->vcpu->state;
	cb_mem_seen++;
}

#define SNAP_EQ(where, actual, expected)                                     \
	do {                                                                 \
		if ((uint64_t)(actual) != (uint64_t)(expected))              \
			test_fail(__FILE__, __LINE__, "%s inside the %s "    \
			    "callback: expected 0x%" PRIx64 ", got 0x%"      \
			    PRIx64, #actual, where, (uint64_t)(expected),    \
			    (uint64_t)(actual));                             \
	} while (0)

/*
 * The guest's values, from guest.S (cbstate64): phase 0 before the OUT,
 * phase 1 (GPRs and CR2 inverted, other MSRs) before the MMIO accesses.
 */
static void
check_cb_snap(const char *where, const struct nvmm_x64_state *s, int phase,
    uint64_t guest_tsc, bool xsave, uint64_t xcr0_after)
{
	uint64_t flip = phase ? ~0ULL : 0;

	SNAP_EQ(where, s->gprs[NVMM_X64_GPR_RAX], 0xaaaa0000aaaa0001 ^ flip);
	SNAP_EQ(where, s->gprs[NVMM_X64_GPR_RCX], 0xcccc0000cccc0002 ^ flip);
	SNAP_EQ(where, s->gprs[NVMM_X64_GPR_RDX], 0xdddd0000dddd0003 ^ flip);
	SNAP_EQ(where, s->gprs[NVMM_X64_GPR_RBX], 0xbbbb0000bbbb0004 ^ flip);
	SNAP_EQ(where, s->gprs[NVMM_X64_GPR_RBP], 0xbeef0000beef0005 ^ flip);
	SNAP_EQ(where, s->gprs[NVMM_X64_GPR_RSI], 0x5151000051510006 ^ flip);
	SNAP_EQ(where, s->gprs[NVMM_X64_GPR_RDI], 0xd1d10000d1d10007 ^ flip);
	SNAP_EQ(where, s->gprs[NVMM_X64_GPR_R8], 0x0808000008080008 ^ flip);
	SNAP_EQ(where, s->gprs[NVMM_X64_GPR_R9], 0x0909000009090009 ^ flip);
	SNAP_EQ(where, s->gprs[NVMM_X64_GPR_R10], 0x101000001010000a ^ flip);
	SNAP_EQ(where, s->gprs[NVMM_X64_GPR_R11], 0x111100001111000b ^ flip);
	SNAP_EQ(where, s->gprs[NVMM_X64_GPR_R12], 0x121200001212000c ^ flip);
	SNAP_EQ(where, s->gprs[NVMM_X64_GPR_R13], 0x131300001313000d ^ flip);
	SNAP_EQ(where, s->gprs[NVMM_X64_GPR_R14], 0x141400001414000e ^ flip);
	SNAP_EQ(where, s->gprs[NVMM_X64_GPR_R15], 0x151500001515000f ^ flip);
	SNAP_EQ(where, s->gprs[NVMM_X64_GPR_RSP], STACK_TOP);
	SNAP_EQ(where, s->segs[NVMM_X64_SEG_GS].base,
	    phase ? 0x00007ffd5a5a6000 : 0x00007ffe5a5a5000);
	SNAP_EQ(where, s->segs[NVMM_X64_SEG_FS].selector, 0);
	SNAP_EQ(where, s->segs[NVMM_X64_SEG_CS].selector, SEL_CODE64);
	SNAP_EQ(where, s->crs[NVMM_X64_CR_CR2], 0xc2c2c2c2c2c2c2c2 ^ flip);
	SNAP_EQ(where, s->crs[NVMM_X64_CR_CR3], PT_GPA);
	SNAP_EQ(where, (s->crs[NVMM_X64_CR_CR4] >> 18) & 1, xsave);
	SNAP_EQ(where, s->crs[NVMM_X64_CR_XCR0], xcr0_after);
	SNAP_EQ(where, s->msrs[NVMM_X64_MSR_EFER], 0x501);
	SNAP_EQ(where, s->msrs[NVMM_X64_MSR_STAR],
	    phase ? 0x00330020a5a5a5a5 : 0x002300105a5a5a5a);
	SNAP_EQ(where, s->msrs[NVMM_X64_MSR_LSTAR], 0xffffffff81234560);
	SNAP_EQ(where, s->msrs[NVMM_X64_MSR_CSTAR], 0xffffffff81234570);
	SNAP_EQ(where, s->msrs[NVMM_X64_MSR_SFMASK], 0x47700);
	SNAP_EQ(where, s->msrs[NVMM_X64_MSR_KERNELGSBASE],
	    phase ? 0x00007ffca5a5b000 : 0x00007fffa5a5a000);
	SNAP_EQ(where, s->msrs[NVMM_X64_MSR_SYSENTER_CS], 0x5a);
	SNAP_EQ(where, s->msrs[NVMM_X64_MSR_SYSENTER_ESP], 0x175175);
	SNAP_EQ(where, s->msrs[NVMM_X64_MSR_SYSENTER_EIP],
	    phase ? 0x276276 : 0x176176);
	SNAP_EQ(where, s->msrs[NVMM_X64_MSR_PAT], 0x0007010600070106);
	TEST_ASSERT(s->msrs[NVMM_X64_MSR_TSC] >= guest_tsc, "inside the %s "
	    "callback: TSC 0x%" PRIx64 " is older than the guest's RDTSC "
	    "before the exit, 0x%" PRIx64, where, s->msrs[NVMM_X64_MSR_TSC],
	    guest_tsc);
}

static void
test_assist_callback_state(void)
{
	struct nvmm_capability cap;
	struct nvmm_vcpu v;
	struct vm *vm;
	struct nvmm_vcpu_exit *e;
	struct nvmm_x64_state *st;
	uint64_t xcr0_after;
	bool xsave;

	require_mode(MODE_LONG64);
	get_capability(&cap);
	xsave = (cap.arch.xcr0_mask & 3) == 3;
	vm = vm_create(0);
	vcpu_add(vm, 0, &v);
	guest_load(vm, GUEST(cbstate64));
	vcpu_setup_long64(vm, &v, CODE_GPA);
	st = vcpu_state(vm, &v, NVMM_X64_STATE_CRS);
	st->crs[NVMM_X64_CR_XCR0] = 1;
	vcpu_commit(vm, &v, NVMM_X64_STATE_CRS);
	*(uint8_t *)gpa_ptr(vm, DATA_GPA + 8) = xsave;
	memset(mmio_dev, 0x77, 16);
	io_hook = snap_io_state;
	mem_hook = snap_mem_state;
	/* Nothing read vcpu->state since the setstate: only the callbacks. */
	for (unsigned n = 0;; n++) {
		TEST_ASSERT(n < 8, "more exits than the guest has");
		e = vcpu_run(vm, &v);
		if (e->reason == NVMM_VCPU_EXIT_HALTED)
			break;
		if (e->reason == NVMM_VCPU_EXIT_IO) {
			ASSERT_EQ(e->u.io.port, PORT_MARK);
			ASSERT_OK(nvmm_assist_io(&vm->mach, &v));
		} else {
			TEST_ASSERT(e->reason == NVMM_VCPU_EXIT_MEMORY,
			    "exit %s", exit_str(e));
			ASSERT_OK(nvmm_assist_mem(&vm->mach, &v));
		}
	}
	io_hook = NULL;
	mem_hook = NULL;
	ASSERT_EQ(cb_io_seen, 1);
	ASSERT_EQ(cb_mem_seen, 2);
	ASSERT_EQ(mem_log[0].write, 1);
	ASSERT_EQ(mem_log[1].write, 0);
	/* The load completed after its callback. */
	ASSERT_EQ(vcpu_gpr(vm, &v, NVMM_X64_GPR_R14), 0x7777777777777777);
	/*
	 * XCR0: what the backend itself reports after the run (a CPU that
	 * does not intercept XSETBV, QEMU TCG's SVM, leaves it at 1).
	 */
	xcr0_after = vcpu_state(vm, &v, NVMM_X64_STATE_CRS)->crs[NVMM_X64_CR_XCR0];
	TEST_ASSERT(xcr0_after == 1 || (xsave && xcr0_after == 3),
	    "XCR0 0x%" PRIx64 " after the run", xcr0_after);

	check_cb_snap("io", &cb_io_snap, 0, gpa_read64(vm, DATA_GPA + 0x10),
	    xsave, xcr0_after);
	check_cb_snap("mem (store)", &cb_mem_snap[0], 1,
	    gpa_read64(vm, DATA_GPA + 0x18), xsave, xcr0_after);
	check_cb_snap("mem (load)", &cb_mem_snap[1], 1,
	    gpa_read64(vm, DATA_GPA + 0x18), xsave, xcr0_after);
	SNAP_EQ("io", cb_io_snap.gprs[NVMM_X64_GPR_RIP],
	    GUEST_ADDR(cbstate64, out));
	/* KVM has already moved past a store when it exits (docs/STATUS). */
	TEST_ASSERT(cb_mem_snap[0].gprs[NVMM_X64_GPR_RIP] ==
	    GUEST_ADDR(cbstate64, store) || cb_mem_snap[0].gprs[NVMM_X64_GPR_RIP]
	    == GUEST_ADDR(cbstate64, load), "RIP 0x%" PRIx64 " inside the mem "
	    "callback of the store", cb_mem_snap[0].gprs[NVMM_X64_GPR_RIP]);
	SNAP_EQ("mem (load)", cb_mem_snap[1].gprs[NVMM_X64_GPR_RIP],
	    GUEST_ADDR(cbstate64, load));
	vm_destroy(vm);
}

/* ------------------------------------------------------------------------ */
/* nvmm_assist_mem.                                                          */

static void
check_rip_at_mem_exit(struct vm *vm, struct nvmm_vcpu *v, uint64_t rip,
    bool write, uint64_t next_rip)
{
	uint64_t now = vcpu_gpr(vm, v, NVMM_X64_GPR_RIP);

	if (write && next_rip != 0 && now == next_rip)
		return;
	ASSERT_EQ(now, rip);
}

static void
expect_mmio(struct vm *vm, struct nvmm_vcpu *v, uint64_t rip, uint64_t gpa,
    bool write, unsigned size, uint64_t data, uint64_t next_rip)
{
	struct nvmm_vcpu_exit *e = vcpu_run(vm, v);
	const struct mem_record *r;
	uint64_t got = 0;

	TEST_ASSERT(e->reason == NVMM_VCPU_EXIT_MEMORY && e->u.mem.gpa == gpa &&
	    e->u.mem.prot == (write ? PROT_WRITE : PROT_READ),
	    "expected MEMORY gpa 0x%" PRIx64 " prot %d, got %s", gpa,
	    write ? PROT_WRITE : PROT_READ, exit_str(e));
	/*
	 * Before the assist RIP is on the instruction; for a write, the KVM
	 * backend may already show it past the instruction (KVM performs a
	 * write before it exits: docs/STATUS.md).
	 */
	check_rip_at_mem_exit(vm, v, rip, write, next_rip);
	mem_count = 0;
	ASSERT_OK(nvmm_assist_mem(&vm->mach, v));
	ASSERT_EQ(mem_count, 1);
	r = &mem_log[0];
	ASSERT_EQ(r->gpa, gpa);
	ASSERT_EQ(r->write, write);
	ASSERT_EQ(r->size, size);
	memcpy(&got, r->data, size);
	ASSERT_EQ(got, data);
	if (next_rip != 0)
		ASSERT_EQ(vcpu_gpr(vm, v, NVMM_X64_GPR_RIP), next_rip);
}

static void
test_mmio_long64(void)
{
	struct vm *vm = vm_create(0);
	struct nvmm_vcpu v;
	unsigned i;

	for (i = 0; i < sizeof(mmio_dev); i++)
		mmio_dev[i] = (uint8_t)(0xa0 + i);
	vcpu_add(vm, 0, &v);
	guest_load(vm, GUEST(mmio64));
	vcpu_setup_long64(vm, &v, CODE_GPA);
	expect_mmio(vm, &v, GUEST_ADDR(mmio64, s8), MMIO_GPA, true, 1, 0x11,
	    GUEST_ADDR(mmio64, s16));
	expect_mmio(vm, &v, GUEST_ADDR(mmio64, s16), MMIO_GPA + 0x10, true, 2,
	    0x2233, GUEST_ADDR(mmio64, s32));
	expect_mmio(vm, &v, GUEST_ADDR(mmio64, s32), MMIO_GPA + 0x20, true, 4,
	    0x44556677, GUEST_ADDR(mmio64, s64));
	expect_mmio(vm, &v, GUEST_ADDR(mmio64, s64), MMIO_GPA + 0x30, true, 8,
	    0x8899aabbccddeeffULL, GUEST_ADDR(mmio64, loads));
	ASSERT_EQ(mmio_dev[0], 0x11);
	ASSERT_EQ(mmio_dev[0x10] | mmio_dev[0x11] << 8, 0x2233);
	ASSERT_EQ(mmio_dev[0x37], 0x88);

	/* Loads: the callback's bytes reach the register. */
	expect_mmio(vm, &v, GUEST_ADDR(mmio64, l8), MMIO_GPA + 0x40, false, 1,
	    0xe0, 0);
	ASSERT_EQ(GUEST_REPORT(vm, &v), 0xe0);
	expect_mmio(vm, &v, GUEST_ADDR(mmio64, l16), MMIO_GPA + 0x50, false, 2,
	    0xf1f0, 0);
	ASSERT_EQ(GUEST_REPORT(vm, &v), 0xfffffffffffff1f0ULL);
	mmio_dev[0x60] = 0x01;
	mmio_dev[0x61] = 0x02;
	mmio_dev[0x62] = 0x03;
	mmio_dev[0x63] = 0x84;
	expect_mmio(vm, &v, GUEST_ADDR(mmio64, l32), MMIO_GPA + 0x60, false, 4,
	    0x84030201, 0);
	ASSERT_EQ(GUEST_REPORT(vm, &v), 0x84030201);	/* zero-extended */
	expect_mmio(vm, &v, GUEST_ADDR(mmio64, l64), MMIO_GPA + 0x70, false, 8,
	    0x1716151413121110ULL, 0);
	ASSERT_EQ(GUEST_REPORT(vm, &v), 0x1716151413121110ULL);
	EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_HALTED);
	vm_destroy(vm);
}

static void
test_mmio_real(void)
{
	struct vm *vm = vm_create(0x80000);	/* 0x90000 is unmapped */
	struct nvmm_vcpu v;

	vcpu_add(vm, 0, &v);
	guest_load(vm, GUEST(mmio16));
	vcpu_setup_real(vm, &v, CODE_GPA);
	expect_mmio(vm, &v, GUEST_ADDR(mmio16, s16), 0x90010, true, 2, 0xbeef,
	    GUEST_ADDR(mmio16, l16));
	/* record_mem answers reads outside MMIO_GPA with 0xff bytes. */
	expect_mmio(vm, &v, GUEST_ADDR(mmio16, l16), 0x90030, false, 2, 0xffff,
	    0);
	ASSERT_EQ(GUEST_REPORT(vm, &v) & 0xffff, 0xffff);
	EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_HALTED);
	vm_destroy(vm);
}

/* ------------------------------------------------------------------------ */
/* HLT, shutdown, MSRs.                                                      */

static void
test_exit_hlt(void)
{
	struct vm *vm = vm_create(0);
	struct nvmm_vcpu v;
	struct nvmm_vcpu_exit *e;

	vcpu_add(vm, 0, &v);
	guest_load(vm, GUEST(out_hlt));
	vcpu_setup_long64(vm, &v, GUEST_ADDR(out_hlt, hlt));
	e = EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_HALTED);
	ASSERT_EQ(vcpu_gpr(vm, &v, NVMM_X64_GPR_RIP), GUEST_ADDR(out_hlt, after));
	ASSERT_EQ(e->exitstate.rflags, 0x2);
	/* Halting again from the start: same result (no stale state). */
	vcpu_skip(vm, &v, GUEST_ADDR(out_hlt, hlt));
	EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_HALTED);
	ASSERT_EQ(vcpu_gpr(vm, &v, NVMM_X64_GPR_RIP), GUEST_ADDR(out_hlt, after));
	vm_destroy(vm);
}

static void
test_exit_shutdown(void)
{
	struct vm *vm = vm_create(0);
	struct nvmm_vcpu v;

	vcpu_add(vm, 0, &v);
	guest_load(vm, GUEST(ud2));
	vcpu_setup_prot32(vm, &v, CODE_GPA);
	/* No IDT: #UD -> #GP -> #DF -> triple fault. */
	vcpu_state(vm, &v, NVMM_X64_STATE_SEGS)->segs[NVMM_X64_SEG_IDT].limit =
	    0;
	vcpu_commit(vm, &v, NVMM_X64_STATE_SEGS);
	EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_SHUTDOWN);
	vm_destroy(vm);
}

static void
test_exit_msr(void)
{
	struct vm *vm = vm_create(0);
	struct nvmm_vcpu v;
	struct nvmm_vcpu_exit *e;
	struct nvmm_x64_state *st;

	vcpu_add(vm, 0, &v);
	guest_load(vm, GUEST(msr32));
	vcpu_setup_prot32(vm, &v, CODE_GPA);

	/* RDMSR of the APIC base: NVMM leaves it to userland. */
	e = EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_RDMSR);
	ASSERT_EQ(e->u.rdmsr.msr, 0x1b);
	ASSERT_EQ(e->u.rdmsr.npc, GUEST_ADDR(msr32, rd_end));
	st = vcpu_state(vm, &v, NVMM_X64_STATE_GPRS);
	ASSERT_EQ(st->gprs[NVMM_X64_GPR_RIP], GUEST_ADDR(msr32, rd));
	st->gprs[NVMM_X64_GPR_RAX] = 0xfee00900;
	st->gprs[NVMM_X64_GPR_RDX] = 0x11;
	st->gprs[NVMM_X64_GPR_RIP] = e->u.rdmsr.npc;
	vcpu_commit(vm, &v, NVMM_X64_STATE_GPRS);
	ASSERT_EQ(GUEST_REPORT(vm, &v), 0xfee00900);
	ASSERT_EQ(GUEST_REPORT(vm, &v), 0x11);

	e = EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_WRMSR);
	ASSERT_EQ(e->u.wrmsr.msr, 0x1b);
	ASSERT_EQ(e->u.wrmsr.val, 0x5fee00d00ULL);
	ASSERT_EQ(e->u.wrmsr.npc, GUEST_ADDR(msr32, wr_end));
	ASSERT_EQ(vcpu_gpr(vm, &v, NVMM_X64_GPR_RIP), GUEST_ADDR(msr32, wr));
	vcpu_skip(vm, &v, e->u.wrmsr.npc);

	/* An MSR nobody knows. */
	e = EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_RDMSR);
	ASSERT_EQ(e->u.rdmsr.msr, 0x12345);
	ASSERT_EQ(e->u.rdmsr.npc, GUEST_ADDR(msr32, rd2_end));
	st = vcpu_state(vm, &v, NVMM_X64_STATE_GPRS);
	st->gprs[NVMM_X64_GPR_RAX] = 0xabcdef;
	st->gprs[NVMM_X64_GPR_RIP] = e->u.rdmsr.npc;
	vcpu_commit(vm, &v, NVMM_X64_STATE_GPRS);
	ASSERT_EQ(GUEST_REPORT(vm, &v), 0xabcdef);
	EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_HALTED);
	vm_destroy(vm);
}

/*
 * The MSRs a guest OS touches at boot that every backend answers itself,
 * with no RDMSR/WRMSR exit reaching the program (table in docs/STATUS.md,
 * "MSRs answered in the kernel"). Each line: the operation, and what the
 * guest must see: the value read, or a #GP.
 */
struct msr_op {
	bool wr;
	uint32_t msr;
	uint64_t val;		/* WRMSR: written; RDMSR: expected */
	bool gp;		/* the instruction must raise #GP */
};
#define RD(m, v)	{ false, m, v, false }
#define RD_GP(m)	{ false, m, 0, true }
#define WR(m, v)	{ true, m, v, false }
#define WR_GP(m, v)	{ true, m, v, true }

#define MISC_ENABLE_RESET 0x1801ULL	/* fast strings, no BTS, no PEBS */

static const struct msr_op msr_kernel_ops[] = {
	/* At reset. */
	RD(0x0000008b, 0x100000000ULL),		/* PATCH_LEVEL / UCODE_REV */
	RD(0x000001a0, MISC_ENABLE_RESET),	/* MISC_ENABLE */
	RD(0xc0010000, 0), RD(0xc0010001, 0),	/* PERF_CTL0-3 */
	RD(0xc0010002, 0), RD(0xc0010003, 0),
	RD(0xc0010004, 0), RD(0xc0010005, 0),	/* PERF_CTR0-3 */
	RD(0xc0010006, 0), RD(0xc0010007, 0),
	RD(0xc0010010, 0),			/* SYSCFG */
	RD(0xc0010015, 1ULL << 24),		/* HWCR: TscFreqSel */
	RD(0xc001001f, 1ULL << 54),		/* NB_CFG: InitApicIdCpuIdLo */
	RD(0xc0010055, 0),			/* INT_PENDING (CMPHALT) */
	RD_GP(0xc0011020),			/* LS_CFG */
	RD(0xc0011021, 0),			/* IC_CFG */
	RD(0xc0011028, 0),			/* FP_CFG */
	RD(0xc0011029, 0),			/* DE_CFG */
	/* Writes: what Linux writes, ignored (reads unchanged) or #GP. */
	WR(0xc0010000, 0x530076), RD(0xc0010000, 0),
	WR(0xc0010007, 0xabcd), RD(0xc0010007, 0),
	WR(0xc0010010, 0x740000), RD(0xc0010010, 0),
	WR(0xc0010015, 0), RD(0xc0010015, 1ULL << 24),
	WR(0xc001001f, 1ULL << 46), RD(0xc001001f, 1ULL << 54),
	WR(0xc0010055, 0x18000000), RD(0xc0010055, 0),
	WR_GP(0xc0011020, 1ULL << 10),
	WR(0xc0011021, 0x1e), RD(0xc0011021, 0),
	WR(0xc0011028, 1ULL << 9), RD(0xc0011028, 0),
	WR(0xc0011029, 0x2), RD(0xc0011029, 0),
	WR(0x0000008b, 0), RD(0x0000008b, 0x100000000ULL),
	/* MISC_ENABLE keeps what is written, but for bits 7, 11 and 12. */
	WR(0x000001a0, 0x1800), RD(0x000001a0, 0x1800),
	WR(0x000001a0, 0x400001801ULL), RD(0x000001a0, 0x400001801ULL),
	WR_GP(0x000001a0, 0x400000801ULL), RD(0x000001a0, 0x400001801ULL),
	WR_GP(0x000001a0, 0x400001001ULL), RD(0x000001a0, 0x400001801ULL),
	WR(0x000001a0, 0x1881), RD(0x000001a0, MISC_ENABLE_RESET),
};
#define MSR_OUTSIDE_RD	0xc0011022	/* DC_CFG: not in the set */
#define MSR_OUTSIDE_WR	0xc0010008	/* right after PERF_CTR3 */

/* Loads the operations for guest msrk64 (guest.S). */
static void
msrk_load(struct vm *vm, const struct msr_op *ops, unsigned n)
{
	unsigned i;

	gpa_write32(vm, DATA_GPA, n * 16);
	for (i = 0; i < n; i++) {
		gpa_write32(vm, DATA_GPA + 0x100 + 16 * i, ops[i].wr);
		gpa_write32(vm, DATA_GPA + 0x104 + 16 * i, ops[i].msr);
		gpa_write64(vm, DATA_GPA + 0x108 + 16 * i,
		    ops[i].wr ? ops[i].val : 0);
		gpa_write64(vm, DATA_GPA + 0x800 + 16 * i, 0xdeadbeefULL);
		gpa_write64(vm, DATA_GPA + 0x808 + 16 * i, 0);
	}
	gpa_write32(vm, DATA_GPA + 0x10, MSR_OUTSIDE_RD);
	gpa_write32(vm, DATA_GPA + 0x14, MSR_OUTSIDE_WR);
	gpa_write64(vm, DATA_GPA + 0x18, 0x500000006ULL);
}

/*
 * Runs msrk64 up to the RDMSR of MSR_OUTSIDE_RD. Any other MSR exit is
 * listed in leaks (answered with 0 and skipped, so that one run names every
 * MSR that leaks); returns their number.
 */
static unsigned
msrk_run(struct vm *vm, struct nvmm_vcpu *v, char *leaks, size_t size)
{
	struct nvmm_vcpu_exit *e;
	size_t len = 0;
	unsigned n = 0;

	leaks[0] = '\0';
	for (;;) {
		e = vcpu_run(vm, v);
		if (e->reason == NVMM_VCPU_EXIT_RDMSR &&
		    e->u.rdmsr.msr == MSR_OUTSIDE_RD)
			break;
		if (e->reason != NVMM_VCPU_EXIT_RDMSR &&
		    e->reason != NVMM_VCPU_EXIT_WRMSR)
			test_fail(__FILE__, __LINE__, "expected the RDMSR of "
			    "0x%x, got %s", MSR_OUTSIDE_RD, exit_str(e));
		if (len + 32 < size)
			len += (size_t)snprintf(leaks + len, size - len,
			    " %s 0x%x", e->reason == NVMM_VCPU_EXIT_RDMSR ?
			    "RDMSR" : "WRMSR", e->u.rdmsr.msr);
		n++;
		if (e->reason == NVMM_VCPU_EXIT_RDMSR) {
			vcpu_set_gpr(vm, v, NVMM_X64_GPR_RAX, 0);
			vcpu_set_gpr(vm, v, NVMM_X64_GPR_RDX, 0);
			vcpu_skip(vm, v, e->u.rdmsr.npc);
		} else {
			vcpu_skip(vm, v, e->u.wrmsr.npc);
		}
	}
	ASSERT_EQ(e->u.rdmsr.npc, GUEST_ADDR(msrk64, rd_end));
	return n;
}

/* Runs msrk64 with ops; fails if an MSR of ops exits. */
#define MSRK_RUN(vm, v)                                                      \
	do {                                                                 \
		char l_[1024];                                               \
		unsigned n_ = msrk_run(vm, v, l_, sizeof(l_));               \
		TEST_ASSERT(n_ == 0, "%u MSR exits reached the program:%s",  \
		    n_, l_);                                                 \
	} while (0)

static void
test_msr_kernel(void)
{
	const unsigned n = sizeof(msr_kernel_ops) / sizeof(msr_kernel_ops[0]);
	struct vm *vm = vm_create(0);
	struct nvmm_vcpu v;
	struct nvmm_vcpu_exit *e;
	unsigned i, bad = 0, nleaks;
	char leaks[1024];

	vcpu_add(vm, 0, &v);
	guest_load(vm, GUEST(msrk64));
	vcpu_setup_long64(vm, &v, CODE_GPA);
	idt_set(vm, MODE_LONG64, 13, GUEST_ADDR(msrk64, gp));
	msrk_load(vm, msr_kernel_ops, n);

	nleaks = msrk_run(vm, &v, leaks, sizeof(leaks));
	for (i = 0; i < n; i++) {
		const struct msr_op *op = &msr_kernel_ops[i];
		uint64_t got = gpa_read64(vm, DATA_GPA + 0x800 + 16 * i);
		bool gp = gpa_read64(vm, DATA_GPA + 0x808 + 16 * i) != 0;

		if (gp != op->gp || (!op->wr && !gp && got != op->val)) {
			printf("  op %u: %s 0x%x: %s", i, op->wr ? "WRMSR" :
			    "RDMSR", op->msr, gp ? "#GP" : "no #GP");
			if (!op->wr && !gp)
				printf(", read 0x%" PRIx64, got);
			printf("; expected %s", op->gp ? "#GP" : "no #GP");
			if (!op->wr && !op->gp)
				printf(", 0x%" PRIx64, op->val);
			printf("\n");
			bad++;
		}
	}
	TEST_ASSERT(nleaks == 0, "%u MSR exits reached the program:%s", nleaks,
	    leaks);
	TEST_ASSERT(bad == 0, "%u of %u MSR operations differ (listed above)",
	    bad, n);

	/* The MSRs outside the set still reach the program. */
	e = v.exit;
	vcpu_skip(vm, &v, e->u.rdmsr.npc);
	e = EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_WRMSR);
	ASSERT_EQ(e->u.wrmsr.msr, MSR_OUTSIDE_WR);
	ASSERT_EQ(e->u.wrmsr.val, 0x500000006ULL);
	ASSERT_EQ(e->u.wrmsr.npc, GUEST_ADDR(msrk64, wr_end));
	ASSERT_EQ(vcpu_gpr(vm, &v, NVMM_X64_GPR_RIP), GUEST_ADDR(msrk64, wr));
	vcpu_skip(vm, &v, e->u.wrmsr.npc);
	EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_HALTED);
	vm_destroy(vm);
}

/* MISC_ENABLE is per VCPU: a write on one leaves the other at reset. */
static void
test_msr_kernel_per_vcpu(void)
{
	static const struct msr_op w[] = { WR(0x1a0, 0x1800), RD(0x1a0, 0) };
	static const struct msr_op r[] = { RD(0x1a0, 0) };
	struct vm *vm = vm_create(0);
	struct nvmm_vcpu v0, v1;

	vcpu_add(vm, 0, &v0);
	vcpu_add(vm, 1, &v1);
	guest_load(vm, GUEST(msrk64));
	idt_set(vm, MODE_LONG64, 13, GUEST_ADDR(msrk64, gp));
	vcpu_setup_long64(vm, &v0, CODE_GPA);
	vcpu_setup_long64(vm, &v1, CODE_GPA);

	msrk_load(vm, w, 2);
	MSRK_RUN(vm, &v0);
	ASSERT_EQ(gpa_read64(vm, DATA_GPA + 0x810), 0x1800);
	msrk_load(vm, r, 1);
	MSRK_RUN(vm, &v1);
	ASSERT_EQ(gpa_read64(vm, DATA_GPA + 0x800), MISC_ENABLE_RESET);
	/* And VCPU 0 kept its value. */
	vcpu_skip(vm, &v0, CODE_GPA);
	MSRK_RUN(vm, &v0);
	ASSERT_EQ(gpa_read64(vm, DATA_GPA + 0x800), 0x1800);
	vm_destroy(vm);
}

/* ------------------------------------------------------------------------ */
/* CPUID.                                                                    */

/* Runs CPUID leaf/subleaf in the guest (cpuid32 loaded, 32-bit mode). */
static void
guest_cpuid(struct vm *vm, struct nvmm_vcpu *v, uint32_t leaf, uint32_t sub,
    uint32_t r[4])
{
	struct nvmm_x64_state *st = vcpu_state(vm, v, NVMM_X64_STATE_GPRS);
	unsigned i;

	st->gprs[NVMM_X64_GPR_RAX] = leaf;
	st->gprs[NVMM_X64_GPR_RCX] = sub;
	st->gprs[NVMM_X64_GPR_RIP] = GUEST_ADDR(cpuid32, insn);
	vcpu_commit(vm, v, NVMM_X64_STATE_GPRS);
	for (i = 0; i < 4; i++)
		r[i] = (uint32_t)GUEST_REPORT(vm, v);
	EXPECT_EXIT(vm, v, NVMM_VCPU_EXIT_HALTED);
}

static struct vm *
cpuid_vm(struct nvmm_vcpu *v, nvmm_cpuid_t id)
{
	struct vm *vm = vm_create(0);

	vcpu_add(vm, id, v);
	guest_load(vm, GUEST(cpuid32));
	vcpu_setup_prot32(vm, v, CODE_GPA);
	return vm;
}

static void
test_cpuid_identity(void)
{
	struct nvmm_vcpu v;
	struct vm *vm = cpuid_vm(&v, 0);
	uint32_t r[4];

	guest_cpuid(vm, &v, 0x40000000, 0, r);
	TEST_ASSERT(memcmp(&r[1], "___ ", 4) == 0 &&
	    memcmp(&r[2], "NVMM", 4) == 0 && memcmp(&r[3], " ___", 4) == 0,
	    "signature %.4s%.4s%.4s", (char *)&r[1], (char *)&r[2],
	    (char *)&r[3]);
	TEST_ASSERT(r[0] >= 0x40000000 && r[0] < 0x40000100, "EAX 0x%x", r[0]);
	guest_cpuid(vm, &v, 1, 0, r);
	TEST_ASSERT(r[2] & (1U << 31), "leaf 1 ECX 0x%x: no hypervisor bit",
	    r[2]);
	TEST_ASSERT(!(r[2] & (1U << 5)), "leaf 1 ECX 0x%x: VMX visible", r[2]);
	guest_cpuid(vm, &v, 0x80000000, 0, r);
	if (r[0] >= 0x80000001) {
		guest_cpuid(vm, &v, 0x80000001, 0, r);
		TEST_ASSERT(!(r[2] & (1U << 2)),
		    "leaf 0x80000001 ECX 0x%x: SVM visible", r[2]);
	}
	vm_destroy(vm);
}

/* Bits the NVMM filter always removes from leaf 1 ECX. */
#define LEAF1_ECX_HIDDEN ((1U << 3) | (1U << 5) | (1U << 21) | (1U << 24) | \
	(1U << 28))

static void
test_cpuid_conf_mask_leaf1(void)
{
	struct nvmm_vcpu v0, v1;
	struct vm *vm = cpuid_vm(&v0, 0);
	struct nvmm_vcpu_conf_cpuid c;
	uint32_t plain[4], r[4];
	const uint32_t del_edx = (1U << 23) | (1U << 19);	/* MMX CLFSH */

	guest_cpuid(vm, &v0, 1, 0, plain);
	if (plain[2] & LEAF1_ECX_HIDDEN)
		test_skip("host KVM ignores the CPUID table for leaf 1 (probe: "
		    "leaf 1 ECX 0x%08x shows bits the filter removes: 0x%08x)",
		    plain[2], plain[2] & LEAF1_ECX_HIDDEN);
	vcpu_add(vm, 1, &v1);
	memset(&c, 0, sizeof(c));
	c.mask = 1;
	c.leaf = 1;
	c.u.mask.del.edx = del_edx;
	c.u.mask.set.ecx = 0;
	ASSERT_OK(nvmm_vcpu_configure(&vm->mach, &v1, NVMM_VCPU_CONF_CPUID, &c));
	vcpu_setup_prot32(vm, &v1, CODE_GPA);
	guest_cpuid(vm, &v1, 1, 0, r);
	ASSERT_EQ(r[3], plain[3] & ~del_edx);
	ASSERT_EQ(r[2], plain[2]);
	ASSERT_EQ(r[0], plain[0]);
	/* APIC id (EBX[31:24]) = VCPU id. */
	ASSERT_EQ(plain[1] >> 24, 0);
	ASSERT_EQ(r[1] >> 24, 1);
	/* The other VCPU is untouched. */
	guest_cpuid(vm, &v0, 1, 0, r);
	ASSERT_EQ(r[3], plain[3]);
	vm_destroy(vm);
}

/*
 * A fresh VCPU `id` with `n` CPUID configurations applied in order, before
 * its first run (KVM cannot change CPUID once a VCPU has run).
 */
static void
cpuid_vcpu(struct vm *vm, struct nvmm_vcpu *v, nvmm_cpuid_t id,
    const struct nvmm_vcpu_conf_cpuid *c, unsigned n)
{
	vcpu_add(vm, id, v);
	for (unsigned i = 0; i < n; i++)
		ASSERT_OK(nvmm_vcpu_configure(&vm->mach, v, NVMM_VCPU_CONF_CPUID,
		    (void *)&c[i]));
	vcpu_setup_prot32(vm, v, CODE_GPA);
}

static void
test_cpuid_conf_mask_custom(void)
{
	struct nvmm_vcpu v0, v1, v2, v3;
	struct vm *vm = cpuid_vm(&v0, 0);
	struct nvmm_vcpu_conf_cpuid c[2];
	uint32_t plain[4], r[4];

	guest_cpuid(vm, &v0, 0x40000000, 0, plain);
	/* set and del, on different registers */
	memset(c, 0, sizeof(c));
	c[0].mask = 1;
	c[0].leaf = 0x40000000;
	c[0].u.mask.set.edx = 0x00800000;
	c[0].u.mask.del.ecx = 0x0000ff00;
	c[0].u.mask.set.eax = 0x0f;
	cpuid_vcpu(vm, &v1, 1, c, 1);
	guest_cpuid(vm, &v1, 0x40000000, 0, r);
	ASSERT_EQ(r[0], plain[0] | 0x0f);
	ASSERT_EQ(r[1], plain[1]);
	ASSERT_EQ(r[2], plain[2] & ~0x0000ff00U);
	ASSERT_EQ(r[3], plain[3] | 0x00800000);
	/* The same leaf twice: the second entry replaces the first. */
	c[1] = c[0];
	memset(&c[1].u, 0, sizeof(c[1].u));
	c[1].u.mask.del.ebx = 0xff;
	cpuid_vcpu(vm, &v2, 2, c, 2);
	guest_cpuid(vm, &v2, 0x40000000, 0, r);
	ASSERT_EQ(r[0], plain[0]);
	ASSERT_EQ(r[1], plain[1] & ~0xffU);
	ASSERT_EQ(r[2], plain[2]);
	ASSERT_EQ(r[3], plain[3]);
	/* Neither mask nor exit: the entry goes away. */
	memset(&c[1], 0, sizeof(c[1]));
	c[1].leaf = 0x40000000;
	cpuid_vcpu(vm, &v3, 3, c, 2);
	guest_cpuid(vm, &v3, 0x40000000, 0, r);
	ASSERT_EQ(r[0], plain[0]);
	ASSERT_EQ(r[2], plain[2]);
	ASSERT_EQ(r[3], plain[3]);
	vm_destroy(vm);
}

static void
test_cpuid_conf_exit(void)
{
	struct nvmm_vcpu v0, v;
	struct vm *vm = cpuid_vm(&v0, 0);
	struct nvmm_vcpu_conf_cpuid c;
	struct nvmm_vcpu_exit *e;
	struct nvmm_x64_state *st;
	uint32_t r[4];
	int rc;

	/* Without exit configured, CPUID never exits (guest_cpuid checks). */
	guest_cpuid(vm, &v0, 0x40000000, 0, r);
	vcpu_add(vm, 1, &v);
	memset(&c, 0, sizeof(c));
	c.exit = 1;
	c.leaf = 0x40000000;
	errno = 0;
	rc = nvmm_vcpu_configure(&vm->mach, &v, NVMM_VCPU_CONF_CPUID, &c);
	if (rc == -1 && errno == EOPNOTSUPP) {
		/*
		 * A backend that cannot make CPUID exit (KVM answers it in
		 * its kernel) must refuse, never accept and ignore: the
		 * refused configuration changes nothing, CPUID answers as
		 * before, without an exit.
		 */
		uint32_t again[4];

		vcpu_setup_prot32(vm, &v, CODE_GPA);
		guest_cpuid(vm, &v, 0x40000000, 0, again);
		ASSERT_EQ(again[0], r[0]);
		ASSERT_EQ(again[1], r[1]);
		ASSERT_EQ(again[2], r[2]);
		ASSERT_EQ(again[3], r[3]);
		vm_destroy(vm);
		return;
	}
	ASSERT_EQ(rc, 0);
	vcpu_setup_prot32(vm, &v, CODE_GPA);
	st = vcpu_state(vm, &v, NVMM_X64_STATE_GPRS);
	st->gprs[NVMM_X64_GPR_RAX] = 0x40000000;
	st->gprs[NVMM_X64_GPR_RIP] = GUEST_ADDR(cpuid32, insn);
	vcpu_commit(vm, &v, NVMM_X64_STATE_GPRS);
	e = EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_CPUID);
	ASSERT_EQ(e->u.insn.npc, GUEST_ADDR(cpuid32, after));
	st = vcpu_state(vm, &v, NVMM_X64_STATE_GPRS);
	ASSERT_EQ(st->gprs[NVMM_X64_GPR_RIP], GUEST_ADDR(cpuid32, insn));
	st->gprs[NVMM_X64_GPR_RAX] = 0x1;
	st->gprs[NVMM_X64_GPR_RBX] = 0x2;
	st->gprs[NVMM_X64_GPR_RCX] = 0x3;
	st->gprs[NVMM_X64_GPR_RDX] = 0x4;
	st->gprs[NVMM_X64_GPR_RIP] = e->u.insn.npc;
	vcpu_commit(vm, &v, NVMM_X64_STATE_GPRS);
	ASSERT_EQ(GUEST_REPORT(vm, &v), 1);
	ASSERT_EQ(GUEST_REPORT(vm, &v), 2);
	ASSERT_EQ(GUEST_REPORT(vm, &v), 3);
	ASSERT_EQ(GUEST_REPORT(vm, &v), 4);
	EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_HALTED);
	/* Other leaves still do not exit. */
	guest_cpuid(vm, &v, 0, 0, r);
	vm_destroy(vm);
}

const struct test_case exit_cases[] = {
	TEST_CASE(mode_reset_vector, "untouched VCPU runs from F000:FFF0 (base FFFF0000)"),
	TEST_CASE(mode_real, "real mode by setstate: OUT, HLT"),
	TEST_CASE(mode_prot32, "32-bit protected mode by setstate: OUT, HLT"),
	TEST_CASE(mode_paging32, "32-bit 2-level paging by setstate: OUT, HLT"),
	TEST_CASE(mode_pae, "32-bit PAE paging by setstate: OUT, HLT"),
	TEST_CASE(mode_long64, "64-bit long mode by setstate: OUT, HLT"),
	TEST_CASE(mode_switch_long, "guest switches real -> protected -> long mode itself"),
	TEST_CASE(mode_switch_paging32, "guest enables 2-level paging itself"),
	TEST_CASE(io_real, "IN/OUT exits in real mode: every field, RIP, exitstate"),
	TEST_CASE(io_prot32, "IN/OUT exits in 32-bit mode: every field, RIP, exitstate"),
	TEST_CASE(io_long64, "IN/OUT exits in 64-bit mode: every field, RIP, exitstate"),
	TEST_CASE(io_back_to_back, "back-to-back OUT/OUTS: RIP on each, npc after it, assist"),
	TEST_CASE(io_assist_in, "assist_io IN: AL/AX merge, EAX zero-extends"),
	TEST_CASE(io_assist_out, "assist_io OUT: callback gets the low bytes of RAX"),
	TEST_CASE(io_assist_rep_ins, "assist_io REP INSB/W/L: memory, RCX/RDI/RIP"),
	TEST_CASE(io_assist_rep_outs, "assist_io REP OUTSB/W/L: device data, RCX/RSI/RIP"),
	TEST_CASE(io_assist_rep_segovr, "assist_io REP OUTS with FS/GS overrides"),
	TEST_CASE(io_assist_rep_df, "assist_io REP INS/OUTS with DF=1"),
	TEST_CASE(io_assist_rep_real, "assist_io string I/O in real mode (16-bit, wrap)"),
	TEST_CASE(io_assist_rep_long64, "assist_io string I/O in long mode (a64, a32, FS)"),
	TEST_CASE(io_assist_rep_zero, "REP INSB with RCX=0 does no I/O"),
	TEST_CASE(io_callback_state, "vcpu->state holds the GPRs inside the io callback"),
	TEST_CASE(assist_callback_state, "io/mem callbacks see the guest's GPRS, SEGS, CRS, MSRS of the exit"),
	TEST_CASE(mmio_long64, "assist_mem MOV store/load 8/16/32/64 bits"),
	TEST_CASE(mmio_real, "assist_mem MOV in real mode"),
	TEST_CASE(exit_hlt, "HLT -> HALTED with RIP after the hlt"),
	TEST_CASE(exit_shutdown, "triple fault -> SHUTDOWN"),
	TEST_CASE(exit_msr, "RDMSR/WRMSR of APIC base and an unknown MSR: msr, val, npc"),
	TEST_CASE(msr_kernel, "boot-time MSRs answered without exit: values, #GP, writes"),
	TEST_CASE(msr_kernel_per_vcpu, "MISC_ENABLE written on one VCPU, reset on another"),
	TEST_CASE(cpuid_identity, "CPUID: NVMM signature, hypervisor bit, no VMX/SVM"),
	TEST_CASE(cpuid_conf_mask_leaf1, "CONF_CPUID del mask on leaf 1 EDX, per VCPU"),
	TEST_CASE(cpuid_conf_mask_custom, "CONF_CPUID set/del on 0x40000000, replace, delete"),
	TEST_CASE(cpuid_conf_exit, "CONF_CPUID exit -> NVMM_VCPU_EXIT_CPUID with npc"),
	{ NULL, NULL, NULL },
};

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * assist_emul_test: the instructions of issue 15 through
 * x86_assist_mem_generic on an MMIO page (assist_fixture.c's guest): SCAS,
 * XADD, CMPXCHG, an MMIO stack (PUSH, POP, CALL, RET, 16-bit SP), SSE
 * moves with the FPU state, MOV Sreg in real and protected mode; the
 * faults injected where the CPU raises them (#PF with CR2, #GP, #SS, #AC,
 * #NP, write access checked before a read-modify-write reads); and the
 * failures that cannot be emulated, with their diagnostic.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "assist_fixture.h"
#include "x86_assist.h"

static bool
injected(const char *name, unsigned vector, uint64_t error)
{
	bool ok = true;

	EXPECT(name, fake.injected && fake.event.vector == vector &&
	    fake.event.u.excp.error == error, "injected %d vector %u error %#"
	    PRIx64, fake.injected, fake.event.vector, fake.event.u.excp.error);
	return ok;
}

/* The diagnostic of the last failure contains `what`. */
static bool
diag_has(const char *name, const char *what)
{
	const struct x86_assist_failure *f;
	char msg[200] = "";
	bool ok = true;

	f = x86_assist_last_failure(&fake.mach, &fake.vcpu);
	if (f != NULL)
		x86_assist_failure_str(f, msg, sizeof(msg));
	EXPECT(name, f != NULL && strstr(msg, what) != NULL, "\"%s\"", msg);
	return ok;
}

static void
test_strings_atomics(void)
{
	uint32_t v32;
	bool ok;
	int r;

	/* repne scasb over MMIO: the SCAS that aborted QEMU (AE). */
	setup64();
	ok = true;
	memcpy(mmio + 0x100, "abcXefgh", 8);
	G(RAX) = 'X';
	G(RDI) = 0x5100;
	G(RCX) = 10;
	r = mem_exit("\xf2\xae", 2, true);
	EXPECT("assist_scas_repne", r == 0 && G(RCX) == 6 &&
	    G(RDI) == 0x5104 && G(RIP) == CODE + 2, "r %d rcx %" PRIu64, r,
	    G(RCX));
	EXPECT("assist_scas_repne", (G(RFLAGS) & 0x40) != 0, "%#" PRIx64,
	    G(RFLAGS));
	verdict("assist_scas_repne", ok);

	/* scasl (AF) without REP, DF = 1. */
	setup64();
	ok = true;
	memcpy(mmio + 0x20, "\x01\x00\x00\x00", 4);
	G(RAX) = 2;
	G(RDI) = 0x5020;
	G(RFLAGS) |= 0x400;
	r = mem_exit("\xaf", 1, false);
	EXPECT("assist_scas_flags", r == 0 && G(RDI) == 0x501c &&
	    (G(RFLAGS) & 0x8d5) == 0, "rdi %#" PRIx64 " flags %#" PRIx64,
	    G(RDI), G(RFLAGS));
	verdict("assist_scas_flags", ok);

	/* lock xadd %eax, (%rdi). */
	setup64();
	ok = true;
	mmio[0x40] = 5;
	G(RAX) = 3;
	G(RDI) = 0x5040;
	r = mem_exit("\xf0\x0f\xc1\x07", 4, true);
	memcpy(&v32, mmio + 0x40, 4);
	EXPECT("assist_xadd", r == 0 && v32 == 8 && G(RAX) == 5, "%u %" PRIu64,
	    v32, G(RAX));
	verdict("assist_xadd", ok);

	/* lock cmpxchg %ecx, (%rdi): equal, then different. */
	setup64();
	ok = true;
	mmio[0x40] = 7;
	G(RAX) = 7;
	G(RCX) = 9;
	G(RDI) = 0x5040;
	r = mem_exit("\xf0\x0f\xb1\x0f", 4, true);
	EXPECT("assist_cmpxchg", r == 0 && mmio[0x40] == 9 &&
	    (G(RFLAGS) & 0x40), "%u", mmio[0x40]);
	G(RIP) = CODE;
	G(RAX) = 0xffffffff00000001ULL;
	r = mem_exit("\xf0\x0f\xb1\x0f", 4, true);
	EXPECT("assist_cmpxchg", r == 0 && mmio[0x40] == 9 && G(RAX) == 9 &&
	    !(G(RFLAGS) & 0x40), "rax %#" PRIx64, G(RAX));
	verdict("assist_cmpxchg", ok);
}

static void
test_mmio_stack(void)
{
	uint64_t v64;
	uint32_t v32;
	bool ok;
	int r;

	/* push %rax / pop %rbx with RSP on the MMIO page. */
	setup64();
	ok = true;
	G(RAX) = 0x1122334455667788ULL;
	G(RSP) = 0x5208;
	r = mem_exit("\x50", 1, true);
	memcpy(&v64, mmio + 0x200, 8);
	EXPECT("assist_push_pop_mmio_stack", r == 0 && v64 == G(RAX) &&
	    G(RSP) == 0x5200 && G(RIP) == CODE + 1, "%#" PRIx64, v64);
	G(RIP) = CODE;
	r = mem_exit("\x5b", 1, true);
	EXPECT("assist_push_pop_mmio_stack", r == 0 && G(RBX) == G(RAX) &&
	    G(RSP) == 0x5208, "%#" PRIx64, G(RBX));
	verdict("assist_push_pop_mmio_stack", ok);

	/* call rel32 pushes the return address to MMIO; ret pops it. */
	setup64();
	ok = true;
	G(RSP) = 0x5308;
	r = mem_exit("\xe8\x10\x00\x00\x00", 5, true);
	memcpy(&v64, mmio + 0x300, 8);
	EXPECT("assist_call_ret_mmio_stack", r == 0 && v64 == CODE + 5 &&
	    G(RIP) == CODE + 0x15 && G(RSP) == 0x5300, "%#" PRIx64, G(RIP));
	G(RIP) = CODE;
	r = mem_exit("\xc3", 1, true);
	EXPECT("assist_call_ret_mmio_stack", r == 0 && G(RIP) == CODE + 5 &&
	    G(RSP) == 0x5308, "%#" PRIx64, G(RIP));
	verdict("assist_call_ret_mmio_stack", ok);

	/* 32-bit code, 16-bit stack (SS.B = 0): only SP moves. */
	setup32();
	ok = true;
	fake.state.segs[NVMM_X64_SEG_SS].attrib.def = 0;
	fake.state.segs[NVMM_X64_SEG_SS].base = MMIO_BASE;
	G(RAX) = 0xcafebabe;
	G(RSP) = 0xabcd0040;
	r = mem_exit("\x50", 1, true);
	memcpy(&v32, mmio + 0x3c, 4);
	EXPECT("assist_push_16bit_stack", r == 0 && v32 == 0xcafebabe &&
	    G(RSP) == 0xabcd003c, "%#" PRIx64, G(RSP));
	verdict("assist_push_16bit_stack", ok);
}

static void
test_sse(void)
{
	uint8_t want[16];
	bool ok;
	int r, i;

	/* movdqu %xmm1, (%rdi): 16 bytes, as two 8-byte callbacks. */
	setup64();
	ok = true;
	for (i = 0; i < 16; i++)
		fake.state.fpu.fx_xmm[1].xmm_bytes[i] = (uint8_t)(0x30 + i);
	G(RDI) = 0x5404;
	r = mem_exit("\xf3\x0f\x7f\x0f", 4, true);
	EXPECT("assist_movdqu_store", r == 0 && memcmp(mmio + 0x404,
	    fake.state.fpu.fx_xmm[1].xmm_bytes, 16) == 0 && mmio_writes == 2 &&
	    last_mmio_size == 8, "r %d writes %u", r, mmio_writes);
	verdict("assist_movdqu_store", ok);

	/* movdqu (%rdi), %xmm2: the FPU state is committed. */
	setup64();
	ok = true;
	for (i = 0; i < 16; i++)
		want[i] = mmio[0x500 + i] = (uint8_t)(0x90 + i);
	G(RDI) = 0x5500;
	r = mem_exit("\xf3\x0f\x6f\x17", 4, true);
	EXPECT("assist_movdqu_load", r == 0 && memcmp(want,
	    fake.state.fpu.fx_xmm[2].xmm_bytes, 16) == 0 &&
	    (fake.set_flags & NVMM_X64_STATE_FPU), "r %d", r);
	verdict("assist_movdqu_load", ok);

	/* movq (%rdi), %xmm3 (F3 0F 7E) zeroes the upper quad. */
	setup64();
	ok = true;
	memset(fake.state.fpu.fx_xmm[3].xmm_bytes, 0xee, 16);
	memset(mmio + 0x600, 0x11, 8);
	G(RDI) = 0x5600;
	r = mem_exit("\xf3\x0f\x7e\x1f", 4, true);
	EXPECT("assist_movq_load", r == 0 &&
	    fake.state.fpu.fx_xmm[3].xmm_quad[0] == 0x1111111111111111ULL &&
	    fake.state.fpu.fx_xmm[3].xmm_quad[1] == 0, "r %d", r);
	verdict("assist_movq_load", ok);

	/* movdqa (%rdi), %xmm0 misaligned: #GP(0), nothing read. */
	setup64();
	ok = true;
	G(RDI) = 0x5008;
	r = mem_exit("\x66\x0f\x6f\x07", 4, true);
	EXPECT("assist_movdqa_misaligned_gp", r == 0 && mmio_reads == 0 &&
	    G(RIP) == CODE, "r %d", r);
	ok = ok && injected("assist_movdqa_misaligned_gp", 13, 0);
	verdict("assist_movdqa_misaligned_gp", ok);

	/* VEX loads zero YMM bits the NVMM state does not hold: ENODEV. */
	setup64();
	ok = true;
	G(RBX) = 0x5000;
	r = mem_exit("\xc5\xfa\x6f\x03", 4, true);
	EXPECT("assist_vex_load_enodev", r == -1 && errno == ENODEV &&
	    G(RIP) == CODE && mmio_reads == 0, "r %d errno %d", r, errno);
	ok = ok && diag_has("assist_vex_load_enodev", "[c5 fa 6f 03] at RIP "
	    "0x1000 (64-bit code): VEX load");
	verdict("assist_vex_load_enodev", ok);

	/* A VEX.128 store works: vmovdqu %xmm1, (%rdi). */
	setup64();
	ok = true;
	memset(fake.state.fpu.fx_xmm[1].xmm_bytes, 0x5c, 16);
	G(RDI) = 0x5700;
	r = mem_exit("\xc5\xfa\x7f\x0f", 4, true);
	EXPECT("assist_vex_store", r == 0 && mmio[0x700] == 0x5c &&
	    mmio[0x70f] == 0x5c && mmio[0x710] == 0, "r %d", r);
	verdict("assist_vex_store", ok);
}

static void
test_faults(void)
{
	bool ok;
	int r;

	/* CPL 3, CR0.AM, RFLAGS.AC: a misaligned store raises #AC(0). */
	setup64();
	ok = true;
	fake.state.segs[NVMM_X64_SEG_SS].attrib.dpl = 3;
	fake.state.segs[NVMM_X64_SEG_CS].attrib.dpl = 3;
	fake.state.crs[NVMM_X64_CR_CR0] |= 1ULL << 18;
	G(RFLAGS) |= 1ULL << 18;
	G(RDI) = 0x5000;
	r = mem_exit("\x89\x47\x01", 3, true);
	EXPECT("assist_ac_injected", r == 0 && mmio_writes == 0, "r %d", r);
	ok = ok && injected("assist_ac_injected", 17, 0);
	G(RIP) = CODE;
	fake.injected = false;
	r = mem_exit("\x89\x47\x04", 3, true);
	EXPECT("assist_ac_injected", r == 0 && !fake.injected &&
	    mmio_writes == 1, "r %d", r);
	verdict("assist_ac_injected", ok);

	/* add to a read-only page (CR0.WP): #PF(P|W) before the MMIO read. */
	setup64();
	ok = true;
	fake.state.crs[NVMM_X64_CR_CR0] |= 1ULL << 16;
	put64(0xb000 + 8 * 5, MMIO_BASE | 0x5);
	G(RDI) = 0x5010;
	r = mem_exit("\x83\x07\x01", 3, true);
	EXPECT("assist_rmw_write_checked_first", r == 0 && mmio_reads == 0,
	    "r %d reads %u", r, mmio_reads);
	ok = ok && injected("assist_rmw_write_checked_first", 14, 0x3);
	verdict("assist_rmw_write_checked_first", ok);

	/* Non-canonical: #GP(0) through DS, #SS(0) through SS. */
	setup64();
	ok = true;
	G(RDI) = 0x0000800000000000ULL;
	r = mem_exit("\x89\x07", 2, true);
	ok = ok && injected("assist_noncanonical", 13, 0);
	G(RSP) = 0x0000800000000000ULL;
	fake.injected = false;
	r |= mem_exit("\x89\x04\x24", 3, true);
	ok = ok && injected("assist_noncanonical", 12, 0);
	EXPECT("assist_noncanonical", r == 0 && G(RIP) == CODE, "r %d", r);
	verdict("assist_noncanonical", ok);

	/* Write through a read-only data segment (32-bit): #GP(0). */
	setup32();
	ok = true;
	fake.state.segs[NVMM_X64_SEG_DS].attrib.type = 1;
	G(RBX) = MMIO_BASE;
	r = mem_exit("\x89\x03", 2, true);
	EXPECT("assist_readonly_segment_gp", r == 0 && mmio_writes == 0,
	    "r %d", r);
	ok = ok && injected("assist_readonly_segment_gp", 13, 0);
	verdict("assist_readonly_segment_gp", ok);

	/* div by an MMIO zero: #DE injected, a fault (RIP stays). */
	setup64();
	ok = true;
	G(RDI) = 0x5800;
	G(RAX) = 0x1234;
	G(RDX) = 0x5678;
	r = mem_exit("\xf7\x37", 2, true);
	EXPECT("assist_div_zero_de", r == 0 && G(RIP) == CODE &&
	    G(RAX) == 0x1234 && G(RDX) == 0x5678, "r %d errno %d", r, errno);
	ok = ok && injected("assist_div_zero_de", 0, 0);
	verdict("assist_div_zero_de", ok);

	/* Unknown instruction: ENODEV with bytes and RIP in the diagnostic. */
	setup64();
	ok = true;
	r = mem_exit("\x0f\xa2", 2, false);
	EXPECT("assist_unknown_diag", r == -1 && errno == ENODEV, "r %d", r);
	ok = ok && diag_has("assist_unknown_diag",
	    "cannot emulate [0f a2 00 00");
	ok = ok && diag_has("assist_unknown_diag", "at RIP 0x1000 (64-bit "
	    "code): unknown instruction (No such device)");
	verdict("assist_unknown_diag", ok);
}

/* A 32-bit GDT at 0x6000: 0x10 data (base 0x120000, 4 GiB, not yet
 * accessed), 0x18 not present, 0x20 read-only data. */
static void
setup_gdt(void)
{
	fake.state.segs[NVMM_X64_SEG_GDT].base = 0x6000;
	fake.state.segs[NVMM_X64_SEG_GDT].limit = 0x27;
	put64(0x6010, 0x00cf92120000ffffULL);
	put64(0x6018, 0x00cf12000000ffffULL);
	put64(0x6020, 0x00cf90000000ffffULL);
}

static void
test_movseg(void)
{
	const struct nvmm_x64_state_seg *es = &fake.state.segs[NVMM_X64_SEG_ES];
	bool ok;
	int r;

	/* Protected mode: mov (%ebx), %es with the selector in MMIO. */
	setup32();
	setup_gdt();
	ok = true;
	mmio[0x20] = 0x10;
	G(RBX) = MMIO_BASE + 0x20;
	r = mem_exit("\x8e\x03", 2, true);
	EXPECT("assist_movseg_protected", r == 0 && es->selector == 0x10 &&
	    es->base == 0x120000 && es->limit == 0xffffffff &&
	    es->attrib.type == 3 && es->attrib.def && es->attrib.g &&
	    G(RIP) == CODE + 2, "sel %#x base %#" PRIx64 " type %u",
	    es->selector, es->base, es->attrib.type);
	EXPECT("assist_movseg_protected", fake.ram[0x6015] == 0x93 &&
	    (fake.set_flags & NVMM_X64_STATE_SEGS), "%#x", fake.ram[0x6015]);
	verdict("assist_movseg_protected", ok);

	/* Not present: #NP(sel); read-only into SS: #GP(sel). */
	setup32();
	setup_gdt();
	ok = true;
	mmio[0x20] = 0x18;
	G(RBX) = MMIO_BASE + 0x20;
	r = mem_exit("\x8e\x03", 2, true);
	EXPECT("assist_movseg_faults", r == 0 && es->selector != 0x18 &&
	    G(RIP) == CODE, "r %d", r);
	ok = ok && injected("assist_movseg_faults", 11, 0x18);
	mmio[0x20] = 0x20;
	fake.injected = false;
	r = mem_exit("\x8e\x13", 2, true);
	EXPECT("assist_movseg_faults", r == 0, "r %d", r);
	ok = ok && injected("assist_movseg_faults", 13, 0x20);
	verdict("assist_movseg_faults", ok);

	/* Real mode: base = selector * 16; MOV SS sets the shadow. */
	setup16();
	ok = true;
	fake.state.segs[NVMM_X64_SEG_DS].base = MMIO_BASE;
	mmio[0x40] = 0x34;
	mmio[0x41] = 0x12;
	G(RBX) = 0x40;
	r = mem_exit("\x8e\x17", 2, true);
	EXPECT("assist_movseg_real", r == 0 &&
	    fake.state.segs[NVMM_X64_SEG_SS].base == 0x12340 &&
	    fake.state.segs[NVMM_X64_SEG_SS].selector == 0x1234 &&
	    fake.state.intr.int_shadow == 1 &&
	    (fake.set_flags & NVMM_X64_STATE_INTR), "base %#" PRIx64,
	    fake.state.segs[NVMM_X64_SEG_SS].base);
	verdict("assist_movseg_real", ok);
}

/* Effective addresses at their size, segment bases. */
static void
test_addressing(void)
{
	uint32_t v32;
	uint16_t v16;
	bool ok;
	int r;

	/* Real mode: bx + si + disp8 wraps at 64 KiB. */
	setup16();
	ok = true;
	fake.state.segs[NVMM_X64_SEG_DS].base = MMIO_BASE;
	G(RAX) = 0xbeef;
	G(RBX) = 0xfff0;
	G(RSI) = 0x10;
	r = mem_exit("\x89\x40\x10", 3, true);
	memcpy(&v16, mmio + 0x10, 2);
	EXPECT("assist_addr16_wrap", r == 0 && v16 == 0xbeef, "%#x", v16);
	verdict("assist_addr16_wrap", ok);

	/* 64-bit code, 67: the upper half of RDI does not count. */
	setup64();
	ok = true;
	G(RAX) = 0x12345678;
	G(RDI) = 0xffffffff00005010ULL;
	r = mem_exit("\x67\x89\x07", 3, true);
	memcpy(&v32, mmio + 0x10, 4);
	EXPECT("assist_addr32_in_64", r == 0 && v32 == 0x12345678, "%#x", v32);
	verdict("assist_addr32_in_64", ok);

	/* FS base in 64-bit mode; DS base ignored there. */
	setup64();
	ok = true;
	fake.state.segs[NVMM_X64_SEG_FS].base = 0x5000;
	fake.state.segs[NVMM_X64_SEG_DS].base = 0x100000;
	G(RAX) = 0xa1b2c3d4;
	G(RDI) = 0x20;
	r = mem_exit("\x64\x89\x07", 3, true);
	memcpy(&v32, mmio + 0x20, 4);
	EXPECT("assist_fs_base_64", r == 0 && v32 == 0xa1b2c3d4, "%#x", v32);
	G(RIP) = CODE;
	G(RDI) = 0x5030;
	r = mem_exit("\x89\x07", 2, true);
	memcpy(&v32, mmio + 0x30, 4);
	EXPECT("assist_fs_base_64", r == 0 && v32 == 0xa1b2c3d4, "%#x", v32);
	verdict("assist_fs_base_64", ok);
}

int
main(void)
{
	fake_reset();
	if (fake.ram == NULL) {
		printf("FAIL: assist_emul_test: out of memory\n");
		return 1;
	}
	test_strings_atomics();
	test_mmio_stack();
	test_sse();
	test_faults();
	test_movseg();
	test_addressing();
	return failures ? 1 : 0;
}

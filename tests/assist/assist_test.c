/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * assist_test: x86_assist_mem_generic / x86_assist_io_generic over a fake
 * libnvmm (fake_nvmm.c): 64-bit long mode with 4-level paging, 32-bit
 * protected mode and real mode; MMIO through the mem callback, RAM
 * directly, page-crossing RAM/MMIO accesses, REP strings split across
 * calls, segment bases and limits, IN/OUT/INS/OUTS with NVMM semantics.
 * The guest is assist_fixture.c's.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "assist_fixture.h"
#include "x86_assist.h"

static void
test_mem64(void)
{
	uint32_t v32;
	uint64_t v64;
	bool ok;
	int r, calls;

	/* mov %eax, 0x5000 (absolute SIB form), bytes fetched via paging. */
	setup64();
	ok = true;
	G(RAX) = 0x1122334455667788ULL;
	r = mem_exit("\x89\x04\x25\x00\x50\x00\x00", 7, false);
	memcpy(&v32, mmio, 4);
	EXPECT("mem64_mov_store_fetch", r == 0, "errno %d", errno);
	EXPECT("mem64_mov_store_fetch", v32 == 0x55667788, "%#x", v32);
	EXPECT("mem64_mov_store_fetch", G(RIP) == CODE + 7, "%#" PRIx64,
	    G(RIP));
	EXPECT("mem64_mov_store_fetch", fake.set_flags == NVMM_X64_STATE_GPRS,
	    "%#" PRIx64, fake.set_flags);
	EXPECT("mem64_mov_store_fetch", mmio_writes == 1 && mmio_bad == 0,
	    "%u", mmio_writes);
	/* Accessed bits set by the walk on the PTE of the code page. */
	memcpy(&v64, fake.ram + 0xb000 + 8, 8);
	EXPECT("mem64_mov_store_fetch", (v64 & 0x20) != 0, "%#" PRIx64, v64);
	verdict("mem64_mov_store_fetch", ok);

	/* mov (%rdi), %rax with the exit's bytes. */
	setup64();
	ok = true;
	v64 = 0xa5a5a5a5deadbeefULL;
	memcpy(mmio + 0x18, &v64, 8);
	G(RDI) = 0x5018;
	r = mem_exit("\x48\x8b\x07", 3, true);
	EXPECT("mem64_mov_load_bytes", r == 0, "errno %d", errno);
	EXPECT("mem64_mov_load_bytes", G(RAX) == v64, "%#" PRIx64, G(RAX));
	EXPECT("mem64_mov_load_bytes", G(RIP) == CODE + 3, "%#" PRIx64,
	    G(RIP));
	verdict("mem64_mov_load_bytes", ok);

	/* A 4-byte store straddling RAM (gva 0x4ffe) and MMIO (gva 0x5000). */
	setup64();
	ok = true;
	G(RAX) = 0xaabbccdd;
	G(RDI) = 0x4ffe;
	r = mem_exit("\x89\x07", 2, false);
	EXPECT("mem64_page_cross", r == 0, "errno %d", errno);
	EXPECT("mem64_page_cross", fake.ram[0x4ffe] == 0xdd &&
	    fake.ram[0x4fff] == 0xcc, "%02x %02x", fake.ram[0x4ffe],
	    fake.ram[0x4fff]);
	EXPECT("mem64_page_cross", mmio[0] == 0xbb && mmio[1] == 0xaa,
	    "%02x %02x", mmio[0], mmio[1]);
	EXPECT("mem64_page_cross", last_mmio_gpa == MMIO_BASE &&
	    last_mmio_size == 2, "%#" PRIx64 "/%zu", last_mmio_gpa,
	    last_mmio_size);
	verdict("mem64_page_cross", ok);

	/* or %eax, (%rdi): flags from the result. */
	setup64();
	ok = true;
	mmio[8] = 0x00; mmio[9] = 0x00; mmio[10] = 0x00; mmio[11] = 0x80;
	G(RAX) = 0x1;
	G(RDI) = 0x5008;
	G(RFLAGS) = 0x2 | 0x1 | 0x800;	/* CF OF: cleared by OR */
	r = mem_exit("\x09\x07", 2, false);
	memcpy(&v32, mmio + 8, 4);
	EXPECT("mem64_or_flags", r == 0, "errno %d", errno);
	EXPECT("mem64_or_flags", v32 == 0x80000001, "%#x", v32);
	EXPECT("mem64_or_flags", (G(RFLAGS) & 0x8d5) == 0x80, "%#" PRIx64,
	    G(RFLAGS));
	verdict("mem64_or_flags", ok);

	/* rep movsb MMIO -> RAM, 100 bytes: several calls. */
	setup64();
	ok = true;
	for (r = 0; r < 100; r++)
		mmio[0x100 + r] = (uint8_t)(r * 7 + 1);
	G(RSI) = 0x5100;
	G(RDI) = 0x2000;
	G(RCX) = 100;
	calls = 0;
	do {
		r = mem_exit("\xf3\xa4", 2, true);
		calls++;
	} while (r == 0 && G(RIP) == CODE && calls < 100);
	EXPECT("mem64_rep_movsb_mmio_to_ram", r == 0, "errno %d", errno);
	EXPECT("mem64_rep_movsb_mmio_to_ram", calls == 2, "%d", calls);
	EXPECT("mem64_rep_movsb_mmio_to_ram",
	    memcmp(fake.ram + 0x2000, mmio + 0x100, 100) == 0, "%d", 0);
	EXPECT("mem64_rep_movsb_mmio_to_ram", G(RCX) == 0 &&
	    G(RSI) == 0x5164 && G(RDI) == 0x2064, "%#" PRIx64, G(RSI));
	verdict("mem64_rep_movsb_mmio_to_ram", ok);

	/* repe cmpsb RAM vs MMIO: stops at the first difference. */
	setup64();
	ok = true;
	memcpy(fake.ram + 0x3000, "abcdefgh", 8);
	memcpy(mmio + 0x200, "abcdXfgh", 8);
	G(RSI) = 0x3000;
	G(RDI) = 0x5200;
	G(RCX) = 8;
	r = mem_exit("\xf3\xa6", 2, true);
	EXPECT("mem64_repe_cmpsb", r == 0, "errno %d", errno);
	EXPECT("mem64_repe_cmpsb", G(RCX) == 3 && G(RIP) == CODE + 2,
	    "rcx %" PRIu64, G(RCX));
	EXPECT("mem64_repe_cmpsb", (G(RFLAGS) & 0x40) == 0, "%#" PRIx64,
	    G(RFLAGS));
	verdict("mem64_repe_cmpsb", ok);

	/* xchg %rax, (%rdi) on MMIO. */
	setup64();
	ok = true;
	v64 = 0x0123456789abcdefULL;
	memcpy(mmio + 0x40, &v64, 8);
	G(RAX) = 42;
	G(RDI) = 0x5040;
	r = mem_exit("\x48\x87\x07", 3, false);
	memcpy(&v64, mmio + 0x40, 8);
	EXPECT("mem64_xchg", r == 0 && v64 == 42 &&
	    G(RAX) == 0x0123456789abcdefULL, "%#" PRIx64, G(RAX));
	verdict("mem64_xchg", ok);

	/* Writes to read-only RAM go to the callback, not to RAM. */
	setup64();
	ok = true;
	fake.ram_prot = NVMM_PROT_READ | NVMM_PROT_EXEC;
	G(RAX) = 0x99;
	G(RDI) = 0x2010;
	r = mem_exit("\x88\x07", 2, false);
	EXPECT("mem64_readonly_ram_mmio", r == 0 && mmio_bad == 1 &&
	    fake.ram[0x2010] == 0, "r %d bad %u", r, mmio_bad);
	verdict("mem64_readonly_ram_mmio", ok);

	/* Unknown instruction: ENODEV, nothing committed. */
	setup64();
	ok = true;
	r = mem_exit("\x0f\xa2", 2, true);	/* cpuid */
	EXPECT("mem64_unknown_enodev", r == -1 && errno == ENODEV, "r %d", r);
	EXPECT("mem64_unknown_enodev", G(RIP) == CODE &&
	    fake.setstate_calls == 0, "%u", fake.setstate_calls);
	verdict("mem64_unknown_enodev", ok);

	/*
	 * Unmapped gva: the CPU's #PF (write, not present) is injected with
	 * CR2, RIP unchanged. (Before issue 15: -1/EFAULT, which QEMU cannot
	 * survive; the name stays.)
	 */
	setup64();
	ok = true;
	G(RDI) = 0x600000;
	r = mem_exit("\x89\x07", 2, true);
	EXPECT("mem64_unmapped_efault", r == 0 && fake.injected, "r %d", r);
	EXPECT("mem64_unmapped_efault", fake.event.vector == 14 &&
	    fake.event.u.excp.error == 0x2, "vector %u error %#" PRIx64,
	    fake.event.vector, fake.event.u.excp.error);
	EXPECT("mem64_unmapped_efault", fake.state.crs[NVMM_X64_CR_CR2] ==
	    0x600000 && (fake.set_flags & NVMM_X64_STATE_CRS), "%#" PRIx64,
	    fake.state.crs[NVMM_X64_CR_CR2]);
	EXPECT("mem64_unmapped_efault", G(RIP) == CODE, "%#" PRIx64, G(RIP));
	verdict("mem64_unmapped_efault", ok);

	/* Code page not in RAM and no bytes in the exit: EFAULT. */
	setup64();
	ok = true;
	G(RIP) = 0x5000;
	fake.exit.reason = NVMM_VCPU_EXIT_MEMORY;
	r = x86_assist_mem_generic(&fake.mach, &fake.vcpu);
	EXPECT("mem64_code_in_mmio", r == -1 && errno == EFAULT, "r %d", r);
	verdict("mem64_code_in_mmio", ok);

	/* Wrong exit reason and missing callback: EINVAL. */
	setup64();
	ok = true;
	fake.exit.reason = NVMM_VCPU_EXIT_IO;
	r = x86_assist_mem_generic(&fake.mach, &fake.vcpu);
	EXPECT("mem_einval", r == -1 && errno == EINVAL, "r %d", r);
	fake.exit.reason = NVMM_VCPU_EXIT_MEMORY;
	fake.vcpu.cbs.mem = NULL;
	r = x86_assist_mem_generic(&fake.mach, &fake.vcpu);
	EXPECT("mem_einval", r == -1 && errno == EINVAL, "r %d", r);
	verdict("mem_einval", ok);
}

static void
test_mem_legacy(void)
{
	uint32_t v32;
	uint16_t v16;
	bool ok;
	int r;

	/* 32-bit, paging off: mov %eax, 0x10040 (moffs). */
	setup32();
	ok = true;
	G(RAX) = 0xcafef00d;
	r = mem_exit("\xa3\x40\x00\x01\x00", 5, false);
	memcpy(&v32, mmio + 0x40, 4);
	EXPECT("mem32_moffs_store", r == 0 && v32 == 0xcafef00d, "%#x", v32);
	EXPECT("mem32_moffs_store", G(RIP) == CODE + 5, "%#" PRIx64, G(RIP));
	verdict("mem32_moffs_store", ok);

	/* 32-bit with a DS base: movzbl (%ebx), %ecx. */
	setup32();
	ok = true;
	fake.state.segs[NVMM_X64_SEG_DS].base = 0x10000;
	mmio[0x33] = 0xfe;
	G(RBX) = 0x33;
	G(RCX) = ~0ULL;
	r = mem_exit("\x0f\xb6\x0b", 3, true);
	EXPECT("mem32_movzx_dsbase", r == 0 && G(RCX) == 0xfe, "%#" PRIx64,
	    G(RCX));
	verdict("mem32_movzx_dsbase", ok);

	/* Real mode: mov %ax, (%bx) with DS = 0x1000. */
	setup16();
	ok = true;
	fake.state.segs[NVMM_X64_SEG_DS].selector = 0x1000;
	fake.state.segs[NVMM_X64_SEG_DS].base = 0x10000;
	G(RAX) = 0x1234;
	G(RBX) = 0x10;
	r = mem_exit("\x89\x07", 2, false);
	memcpy(&v16, mmio + 0x10, 2);
	EXPECT("mem16_mov_bx", r == 0 && v16 == 0x1234, "%#x", v16);
	EXPECT("mem16_mov_bx", G(RIP) == CODE + 2, "%#" PRIx64, G(RIP));
	verdict("mem16_mov_bx", ok);

	/* Real mode: mov %ax, -2(%bp,%si) goes through SS. */
	setup16();
	ok = true;
	fake.state.segs[NVMM_X64_SEG_SS].base = 0x10000;
	G(RAX) = 0x5678;
	G(RBP) = 0x20;
	G(RSI) = 0x2;
	r = mem_exit("\x89\x42\xfe", 3, true);
	memcpy(&v16, mmio + 0x20, 2);
	EXPECT("mem16_bp_si_ss", r == 0 && v16 == 0x5678, "%#x", v16);
	verdict("mem16_bp_si_ss", ok);

	/* Real mode, operand-size override: movl %eax, (%bx). */
	setup16();
	ok = true;
	fake.state.segs[NVMM_X64_SEG_DS].base = 0x10000;
	G(RAX) = 0x89abcdef;
	G(RBX) = 0x80;
	r = mem_exit("\x66\x89\x07", 3, false);
	memcpy(&v32, mmio + 0x80, 4);
	EXPECT("mem16_opsize32", r == 0 && v32 == 0x89abcdef, "%#x", v32);
	verdict("mem16_opsize32", ok);

	/* Real mode: segment limit exceeded -> #GP(0) injected (was EFAULT). */
	setup16();
	ok = true;
	fake.state.segs[NVMM_X64_SEG_DS].base = 0x10000;
	fake.state.segs[NVMM_X64_SEG_DS].limit = 0x10;
	G(RBX) = 0x10;
	r = mem_exit("\x89\x07", 2, true);
	EXPECT("mem16_limit_efault", r == 0 && fake.injected &&
	    fake.event.vector == 13 && fake.event.u.excp.error == 0,
	    "r %d vector %u", r, fake.event.vector);
	EXPECT("mem16_limit_efault", G(RIP) == CODE && mmio_writes == 0,
	    "%#" PRIx64, G(RIP));
	verdict("mem16_limit_efault", ok);
}

static int
io_exit(bool in, uint8_t size, bool str, bool rep, int seg, uint8_t as,
    uint64_t npc)
{
	fake.exit.reason = NVMM_VCPU_EXIT_IO;
	fake.exit.u.io.in = in;
	fake.exit.u.io.port = 0x3f8;
	fake.exit.u.io.seg = (int8_t)seg;
	fake.exit.u.io.address_size = as;
	fake.exit.u.io.operand_size = size;
	fake.exit.u.io.rep = rep;
	fake.exit.u.io.str = str;
	fake.exit.u.io.npc = npc;
	return x86_assist_io_generic(&fake.mach, &fake.vcpu);
}

static void
test_io(void)
{
	bool ok;
	int r, calls, i;

	setup64();
	ok = true;
	G(RAX) = 0x11223344;
	r = io_exit(false, 1, false, false, -1, 8, CODE + 1);
	EXPECT("io_outb", r == 0 && iodev[0] == 0x44 && io_port == 0x3f8,
	    "%#x", iodev[0]);
	EXPECT("io_outb", G(RIP) == CODE + 1, "%#" PRIx64, G(RIP));
	verdict("io_outb", ok);

	setup64();
	ok = true;
	memcpy(iodev, "\xef\xbe\xad\xde", 4);
	G(RAX) = ~0ULL;
	r = io_exit(true, 2, false, false, -1, 8, CODE + 2);
	EXPECT("io_inw_merge", r == 0 && G(RAX) == 0xffffffffffffbeefULL,
	    "%#" PRIx64, G(RAX));
	iodev_pos = 0;
	r = io_exit(true, 4, false, false, -1, 8, CODE + 2);
	EXPECT("io_inl_zero_extend", r == 0 && G(RAX) == 0xdeadbeef,
	    "%#" PRIx64, G(RAX));
	verdict("io_in_sizes", ok);

	/* rep outsb with an FS override decoded from the code (seg -1). */
	setup64();
	ok = true;
	memcpy(fake.ram + CODE, "\x64\xf3\x6e", 3);
	fake.state.segs[NVMM_X64_SEG_FS].base = 0x100;
	for (i = 0; i < 100; i++)
		fake.ram[0x2100 + i] = (uint8_t)(i + 3);
	G(RSI) = 0x2000;
	G(RCX) = 100;
	calls = 0;
	do {
		r = io_exit(false, 1, true, true, -1, 8, CODE + 3);
		calls++;
	} while (r == 0 && G(RIP) == CODE && calls < 100);
	EXPECT("io_rep_outsb_fs", r == 0 && calls == 2, "calls %d", calls);
	EXPECT("io_rep_outsb_fs", io_calls == 100 &&
	    memcmp(iodev, fake.ram + 0x2100, 100) == 0, "%u", io_calls);
	EXPECT("io_rep_outsb_fs", G(RSI) == 0x2064 && G(RCX) == 0,
	    "%#" PRIx64, G(RSI));
	verdict("io_rep_outsb_fs", ok);

	/* rep insw with DF = 1. */
	setup64();
	ok = true;
	for (i = 0; i < 10; i++)
		iodev[i] = (uint8_t)(0xa0 + i);
	G(RFLAGS) |= 0x400;
	G(RDI) = 0x3000;
	G(RCX) = 5;
	r = io_exit(true, 2, true, true, -1, 8, CODE + 3);
	EXPECT("io_rep_insw_df", r == 0 && G(RCX) == 0 &&
	    G(RDI) == 0x3000 - 10 && G(RIP) == CODE + 3, "%#" PRIx64, G(RDI));
	EXPECT("io_rep_insw_df", fake.ram[0x3000] == 0xa0 &&
	    fake.ram[0x2ffe] == 0xa2 && fake.ram[0x2ff8] == 0xa8, "%02x",
	    fake.ram[0x2ff8]);
	verdict("io_rep_insw_df", ok);

	/* outsl from MMIO-backed guest memory. */
	setup64();
	ok = true;
	memcpy(mmio + 0x60, "WXYZ", 4);
	G(RSI) = 0x5060;
	r = io_exit(false, 4, true, false, NVMM_X64_SEG_DS, 8, CODE + 1);
	EXPECT("io_outsl_from_mmio", r == 0 && memcmp(iodev, "WXYZ", 4) == 0 &&
	    G(RSI) == 0x5064 && G(RIP) == CODE + 1, "%#" PRIx64, G(RSI));
	verdict("io_outsl_from_mmio", ok);

	/* REP with a zero count: no callback, RIP = npc. */
	setup64();
	ok = true;
	G(RCX) = 0;
	r = io_exit(false, 1, true, true, -1, 8, CODE + 2);
	EXPECT("io_rep_zero", r == 0 && io_calls == 0 && G(RIP) == CODE + 2,
	    "%u", io_calls);
	verdict("io_rep_zero", ok);

	/* 32-bit address size in 64-bit mode: upper halves ignored, cleared. */
	setup64();
	ok = true;
	fake.ram[0x2000] = 0x5a;
	G(RSI) = 0xdead00002000ULL;
	G(RCX) = 0xffff00000001ULL;
	r = io_exit(false, 1, true, true, -1, 4, CODE + 3);
	EXPECT("io_adsize32", r == 0 && iodev[0] == 0x5a &&
	    G(RSI) == 0x2001 && G(RCX) == 0, "%#" PRIx64, G(RSI));
	verdict("io_adsize32", ok);

	/* 16-bit address size: only SI moves, with wrap. */
	setup16();
	ok = true;
	fake.ram[0xffff] = 0x77;
	G(RSI) = 0xabcd0000ffffULL;
	r = io_exit(false, 1, true, false, NVMM_X64_SEG_DS, 2, CODE + 1);
	EXPECT("io_adsize16_wrap", r == 0 && iodev[0] == 0x77 &&
	    G(RSI) == 0xabcd00000000ULL, "%#" PRIx64, G(RSI));
	verdict("io_adsize16_wrap", ok);

	/* Errors. */
	setup64();
	ok = true;
	r = io_exit(false, 3, false, false, -1, 8, CODE + 1);
	EXPECT("io_einval", r == -1 && errno == EINVAL, "r %d", r);
	fake.exit.reason = NVMM_VCPU_EXIT_MEMORY;
	r = x86_assist_io_generic(&fake.mach, &fake.vcpu);
	EXPECT("io_einval", r == -1 && errno == EINVAL, "r %d", r);
	G(RSI) = 0x600000;
	r = io_exit(false, 1, true, false, NVMM_X64_SEG_DS, 8, CODE + 1);
	EXPECT("io_einval", r == -1 && errno == EFAULT && G(RIP) == CODE,
	    "r %d", r);
	verdict("io_errors", ok);
}

int
main(void)
{
	fake_reset();
	if (fake.ram == NULL) {
		printf("FAIL: assist_test: out of memory\n");
		return 1;
	}
	test_mem64();
	test_mem_legacy();
	test_io();
	return failures ? 1 : 0;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * diff_host.c: see diff_host.h. The stub saves the callee-saved registers
 * and the host RSP (in a slot of the stub page), loads RFLAGS, XMM0-15 and
 * the GPRs (RSP last but RDI), runs the instruction, then an epilogue
 * (right after it, and a copy at the far target) that records which one
 * ran, restores the host RSP and stores everything back.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#include "diff_host.h"

#define STUB_SIZE	8192
#define FAR_OFF		4096
#define SLOT_HOST	(STUB_SIZE - 16)	/* host RSP */
#define SLOT_TEST	(STUB_SIZE - 8)		/* the instruction's RSP */
#define XMM_OFF		0x90

static uint8_t *stub;
static size_t insn_off;

static size_t
emit(uint8_t *p, const char *bytes, size_t n)
{
	memcpy(p, bytes, n);
	return n;
}

/* mov reg, [rdi + 8*reg] (load) or mov [rdi + 8*reg], reg. */
static size_t
emit_regmove(uint8_t *p, unsigned reg, bool load)
{
	p[0] = (uint8_t)(0x48 | (reg >= 8 ? 0x4 : 0));
	p[1] = load ? 0x8b : 0x89;
	p[2] = (uint8_t)(0x47 | ((reg & 7) << 3));
	p[3] = (uint8_t)(8 * reg);
	return 4;
}

/* movdqu xmmN, [rdi + disp32] (load) or movdqu [rdi + disp32], xmmN. */
static size_t
emit_xmmmove(uint8_t *p, unsigned n, bool load)
{
	size_t k = 0;
	int32_t d = XMM_OFF + 16 * (int32_t)n;

	p[k++] = 0xf3;
	if (n >= 8)
		p[k++] = 0x44;
	p[k++] = 0x0f;
	p[k++] = load ? 0x6f : 0x7f;
	p[k++] = (uint8_t)(0x87 | ((n & 7) << 3));
	memcpy(p + k, &d, 4);
	return k + 4;
}

/* [0x48] op modrm(rip) rel32 aimed at stub + slot. */
static size_t
emit_rip_rel(uint8_t *p, const char *op, size_t nop, size_t slot,
    size_t tail)
{
	int32_t rel;

	memcpy(p, op, nop);
	rel = (int32_t)((stub + slot) - (p + nop + 4 + tail));
	memcpy(p + nop, &rel, 4);
	return nop + 4;
}

static size_t
build_prologue(void)
{
	uint8_t *p = stub;
	unsigned r;

	/* push rbx rbp r12 r13 r14 r15; push rdi */
	p += emit(p, "\x53\x55\x41\x54\x41\x55\x41\x56\x41\x57\x57", 11);
	/* push qword [rdi+0x80]; popfq */
	p += emit(p, "\xff\xb7\x80\x00\x00\x00\x9d", 7);
	for (r = 0; r < 16; r++)
		p += emit_xmmmove(p, r, true);
	for (r = 0; r < 16; r++) {
		if (r == 4 || r == 7)
			continue;
		p += emit_regmove(p, r, true);
	}
	/* mov [rip+host], rsp; mov rsp, [rdi+0x20]; mov rdi, [rdi+0x38] */
	p += emit_rip_rel(p, "\x48\x89\x25", 3, SLOT_HOST, 0);
	p += emit(p, "\x48\x8b\x67\x20", 4);
	p += emit_regmove(p, 7, true);
	return (size_t)(p - stub);
}

static void
build_epilogue(uint8_t *p, int32_t where)
{
	unsigned r;

	/* mov [rip+test], rsp; mov rsp, [rip+host] */
	p += emit_rip_rel(p, "\x48\x89\x25", 3, SLOT_TEST, 0);
	p += emit_rip_rel(p, "\x48\x8b\x25", 3, SLOT_HOST, 0);
	/* pushfq; push rdi; mov rdi, [rsp+16] */
	p += emit(p, "\x9c\x57\x48\x8b\x7c\x24\x10", 7);
	for (r = 0; r < 16; r++) {
		if (r == 4 || r == 7)
			continue;
		p += emit_regmove(p, r, false);
	}
	/* pop rax; mov [rdi+0x38], rax; pop rax; mov [rdi+0x80], rax */
	p += emit(p, "\x58\x48\x89\x47\x38\x58\x48\x89\x87\x80\x00\x00\x00",
	    13);
	/* mov rax, [rip+test]; mov [rdi+0x20], rax */
	p += emit_rip_rel(p, "\x48\x8b\x05", 3, SLOT_TEST, 0);
	p += emit(p, "\x48\x89\x47\x20", 4);
	/* mov qword [rdi+0x88], where */
	p += emit(p, "\x48\xc7\x87\x88\x00\x00\x00", 7);
	memcpy(p, &where, 4);
	p += 4;
	for (r = 0; r < 16; r++)
		p += emit_xmmmove(p, r, false);
	/* cld; pop rdi; pop r15 r14 r13 r12 rbp rbx; ret */
	p += emit(p, "\xfc\x5f\x41\x5f\x41\x5e\x41\x5d\x41\x5c\x5d\x5b\xc3",
	    13);
}

int
diff_host_init(void)
{
	stub = mmap(NULL, STUB_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (stub == MAP_FAILED)
		return -1;
	insn_off = build_prologue();
	build_epilogue(stub + FAR_OFF, HOST_FAR);
	return 0;
}

uint64_t
diff_host_rip(void)
{
	return (uint64_t)(uintptr_t)(stub + insn_off);
}

uint64_t
diff_host_far(void)
{
	return (uint64_t)(uintptr_t)(stub + FAR_OFF);
}

void
diff_host_run(const uint8_t *insn, size_t len, struct hctx *ctx)
{
	memcpy(stub + insn_off, insn, len);
	build_epilogue(stub + insn_off + len, HOST_NEAR);
	__builtin___clear_cache((char *)stub, (char *)stub + STUB_SIZE);
	((void (*)(struct hctx *))(void *)stub)(ctx);
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * assist: cost of instruction emulation for nvmm_assist_mem, in ns per
 * instruction, measured in one run (median of rounds):
 *   decode        x86_decode() alone over a mix of 8 MMIO-style encodings
 *   core_mov4     decode + x86_emul() of a 4-byte MOV store to an MMIO
 *                 callback (no segments, no paging)
 *   assist_mov4_bytes / assist_mov4_fetch
 *                 x86_assist_mem_generic() on a fake libnvmm (getstate and
 *                 setstate are free there) in 64-bit mode with 4-level
 *                 paging: instruction bytes given by the exit (SVM decode
 *                 assist), or fetched at CS:RIP through the walker (VMX)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake_nvmm.h"
#include "bench_time.h"
#include "x86_assist.h"
#include "x86_decode.h"
#include "x86_emul.h"

#define ROUNDS	7

static volatile uint32_t device_reg;

static int
dev_read(void *ctx, int seg, uint64_t off, void *buf, size_t size)
{
	uint32_t v = device_reg;

	(void)ctx; (void)seg; (void)off;
	memcpy(buf, &v, size < 4 ? size : 4);
	return 0;
}

static int
dev_write(void *ctx, int seg, uint64_t off, const void *buf, size_t size)
{
	uint32_t v = 0;

	(void)ctx; (void)seg; (void)off;
	memcpy(&v, buf, size < 4 ? size : 4);
	device_reg = v;
	return 0;
}

static const uint8_t mix[8][8] = {
	{ 2, 0x89, 0x07 },				/* mov %eax,(%rdi) */
	{ 3, 0x48, 0x8b, 0x07 },			/* mov (%rdi),%rax */
	{ 7, 0xc7, 0x47, 0x08, 0x01, 0x00, 0x00, 0x00 },/* movl $1,8(%rdi) */
	{ 4, 0x0f, 0xb6, 0x47, 0x04 },			/* movzbl 4(%rdi),%eax */
	{ 4, 0x8b, 0x44, 0x8f, 0x10 },			/* mov 16(%rdi,%rcx,4) */
	{ 3, 0x66, 0x89, 0x07 },			/* mov %ax,(%rdi) */
	{ 2, 0xf3, 0xa4 },				/* rep movsb */
	{ 3, 0x83, 0x0f, 0x01 },			/* orl $1,(%rdi) */
};

static double
bench_decode(unsigned n)
{
	struct x86_insn in;
	double t0, t1;
	unsigned i, sink = 0;

	t0 = bench_now_ns();
	for (i = 0; i < n; i++) {
		const uint8_t *e = mix[i & 7];

		if (x86_decode(e + 1, e[0], X86_CODE64, &in) == 0)
			sink += in.len;
	}
	t1 = bench_now_ns();
	if (sink == 0)
		printf("decode failed\n");
	return (t1 - t0) / n;
}

static double
bench_core(unsigned n)
{
	static const struct x86_emul_mem mem = {
		.read = dev_read,
		.write = dev_write,
	};
	static const uint8_t code[] = { 0x89, 0x07 };
	uint64_t g[NVMM_X64_NGPR] = { 0 };
	struct x86_insn in;
	double t0, t1;
	unsigned i;

	g[NVMM_X64_GPR_RFLAGS] = 2;
	g[NVMM_X64_GPR_RDI] = 0xfee00000;
	t0 = bench_now_ns();
	for (i = 0; i < n; i++) {
		g[NVMM_X64_GPR_RAX] = i;
		if (x86_decode(code, sizeof(code), X86_CODE64, &in) == -1 ||
		    x86_emul(&in, g, &mem, 1) == -1) {
			printf("core emulation failed\n");
			exit(1);
		}
	}
	t1 = bench_now_ns();
	return (t1 - t0) / n;
}

static void
mem_cb(struct nvmm_mem *m)
{
	if (m->write)
		memcpy((void *)&device_reg, m->data, m->size < 4 ? m->size : 4);
}

static void
setup_fake64(void)
{
	int i;

	fake_reset();
	fake.vcpu.cbs.mem = mem_cb;
	for (i = 0; i < 6; i++) {
		fake.state.segs[i].attrib.s = 1;
		fake.state.segs[i].attrib.p = 1;
		fake.state.segs[i].attrib.type = i == 1 ? 0xb : 0x3;
		fake.state.segs[i].attrib.l = i == 1;
		fake.state.segs[i].limit = 0xffffffff;
	}
	fake.state.crs[NVMM_X64_CR_CR0] = 0x80000031;
	fake.state.crs[NVMM_X64_CR_CR3] = 0x8000;
	fake.state.crs[NVMM_X64_CR_CR4] = 0x20;
	fake.state.msrs[NVMM_X64_MSR_EFER] = 0x500;
	{
		uint64_t e;

		e = 0x9000 | 0x7; memcpy(fake.ram + 0x8000, &e, 8);
		e = 0xa000 | 0x7; memcpy(fake.ram + 0x9000, &e, 8);
		e = 0xb000 | 0x7; memcpy(fake.ram + 0xa000, &e, 8);
		for (i = 0; i < 512; i++) {
			e = ((uint64_t)i << 12) | 0x67;	/* A D U W P */
			memcpy(fake.ram + 0xb000 + 8 * i, &e, 8);
		}
	}
	fake.ram[0x1000] = 0x89;
	fake.ram[0x1001] = 0x07;
	fake.state.gprs[NVMM_X64_GPR_RFLAGS] = 2;
	fake.exit.reason = NVMM_VCPU_EXIT_MEMORY;
	fake.exit.u.mem.gpa = 0x100000;
	fake.exit.u.mem.inst_bytes[0] = 0x89;
	fake.exit.u.mem.inst_bytes[1] = 0x07;
}

static double
bench_assist(unsigned n, bool bytes)
{
	double t0, t1;
	unsigned i;

	setup_fake64();
	fake.exit.u.mem.inst_len = bytes ? 2 : 0;
	fake.state.gprs[NVMM_X64_GPR_RDI] = 0x100000;	/* gpa 1 MiB: MMIO */
	t0 = bench_now_ns();
	for (i = 0; i < n; i++) {
		fake.state.gprs[NVMM_X64_GPR_RIP] = 0x1000;
		fake.state.gprs[NVMM_X64_GPR_RAX] = i;
		if (x86_assist_mem_generic(&fake.mach, &fake.vcpu) == -1) {
			printf("assist failed\n");
			exit(1);
		}
	}
	t1 = bench_now_ns();
	if (device_reg != n - 1) {
		printf("assist wrote %u, expected %u\n", device_reg, n - 1);
		exit(1);
	}
	return (t1 - t0) / n;
}

static void
report(const char *name, double (*fn)(unsigned, bool), bool arg, unsigned n)
{
	double r[ROUNDS];
	int i;

	for (i = 0; i < ROUNDS; i++)
		r[i] = fn(n, arg);
	printf("%-22s %8.1f ns/insn (median of %d x %u)\n", name,
	    bench_median(r, ROUNDS), ROUNDS, n);
}

static double decode_w(unsigned n, bool a) { (void)a; return bench_decode(n); }
static double core_w(unsigned n, bool a) { (void)a; return bench_core(n); }

int
main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 1000000;

	fake_reset();
	if (fake.ram == NULL)
		return 1;
	report("decode", decode_w, false, n);
	report("core_mov4_mmio", core_w, false, n);
	report("assist_mov4_bytes", bench_assist, true, n / 4);
	report("assist_mov4_fetch", bench_assist, false, n / 4);
	return 0;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_target.c: libFuzzer entry point over the decoder, the emulation
 * core and (one input in four) the generic assists on a fake libnvmm.
 *
 * Input: byte 0 = control (bits 0-1 mode, bit 2 assist, bits 3-5 fail the
 * n-th memory access, bits 6-7 REP element budget), bytes 1-24 = register
 * seeds, then instruction bytes (the first 15) and guest memory contents.
 *
 * Invariants checked (abort on violation): a decode never claims more
 * than 15 or the available bytes; decoding exactly `len` bytes gives the
 * same result and one byte less gives EFAULT; errors are only the
 * documented errnos; the core only touches memory at sizes 1-32 (the SSE
 * moves, CMPXCHG16B) and the mem callback sees at most 8 bytes; an EFAULT
 * from an exception the core raised describes a valid vector; a failed
 * non-string instruction leaves the registers and XMM registers untouched;
 * a successful non-string, non-branch instruction advances RIP by the
 * length; an injected event is one NVMM accepts.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fake_nvmm.h"
#include "x86_assist.h"
#include "x86_decode.h"
#include "x86_emul.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static uint8_t fbuf[65536 + 32];	/* accesses of up to 32 bytes wrap at 64 KiB */
static unsigned accesses, fail_at;

static uint64_t
mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static int
f_access(uint64_t off, void *buf, size_t size, bool write)
{
	CHECK(size >= 1 && size <= 32);
	if (++accesses == fail_at) {
		errno = EFAULT;
		return -1;
	}
	if (write)
		memcpy(fbuf + (off & 0xffff), buf, size);
	else
		memcpy(buf, fbuf + (off & 0xffff), size);
	return 0;
}

static int
f_read(void *ctx, int seg, uint64_t off, void *buf, size_t size)
{
	(void)ctx;
	CHECK(seg >= 0 && seg <= NVMM_X64_SEG_GS);
	return f_access(off, buf, size, false);
}

static int
f_write(void *ctx, int seg, uint64_t off, const void *buf, size_t size)
{
	(void)ctx;
	CHECK(seg >= 0 && seg <= NVMM_X64_SEG_GS);
	return f_access(off, (void *)(uintptr_t)buf, size, true);
}

static int
f_probe(void *ctx, int seg, uint64_t off, size_t size)
{
	(void)ctx;
	(void)off;
	CHECK(seg >= 0 && seg <= NVMM_X64_SEG_GS && size >= 1 && size <= 32);
	return 0;
}

static void
fuzz_core(const uint8_t *code, size_t n, enum x86_code_size mode,
    const uint64_t *seed, unsigned budget)
{
	static struct nvmm_x64_state_fpu fpu, fpu0;
	static struct x86_exc exc;
	struct x86_emul_mem mem = {
		.read = f_read,
		.write = f_write,
		.probe_write = (seed[2] & 0x100) ? f_probe : NULL,
		.fpu = (seed[2] & 0x200) ? &fpu : NULL,
		.exc = (seed[2] & 0x400) ? &exc : NULL,
		.stack_size = (seed[2] & 0x800) ? 2 : 0,
		.va_bits = (seed[2] & 0x1000) ? 57 : 0,
	};
	struct x86_insn in, in2;
	uint64_t g[NVMM_X64_NGPR], g0[NVMM_X64_NGPR];
	unsigned i;
	bool branch;

	if (x86_decode(code, n, mode, &in) == -1) {
		CHECK(errno == ENODEV || errno == EFAULT);
		return;
	}
	CHECK(in.len >= 1 && in.len <= 15 && in.len <= n);
	CHECK(x86_decode(code, in.len, mode, &in2) == 0);
	CHECK(memcmp(&in, &in2, sizeof(in)) == 0);
	CHECK(x86_decode(code, in.len - 1, mode, &in2) == -1 &&
	    errno == EFAULT);
	CHECK(in.opsize == 1 || in.opsize == 2 || in.opsize == 4 ||
	    in.opsize == 8);
	CHECK(in.adsize == 2 || in.adsize == 4 || in.adsize == 8);

	for (i = 0; i < NVMM_X64_NGPR; i++)
		g[i] = (i & 1) ? mix(seed[0] + i) : (mix(seed[1] + i) & 0xffff);
	g[NVMM_X64_GPR_RCX] &= 0xff;
	g[NVMM_X64_GPR_RFLAGS] = 0x2 | (seed[2] & 0xcd5);
	for (i = 0; i < sizeof(fpu.fx_xmm) / 8; i++)
		fpu.fx_xmm[i / 2].xmm_quad[i % 2] = mix(seed[0] ^ i);
	fpu0 = fpu;
	memcpy(g0, g, sizeof(g));
	accesses = 0;
	exc.raised = false;
	if (x86_emul(&in, g, &mem, budget) == -1) {
		CHECK(errno == ENODEV || errno == EFAULT);
		if (exc.raised)
			CHECK(errno == EFAULT && (exc.vector == X86_EXC_DE ||
			    exc.vector == X86_EXC_GP));
		if (errno == ENODEV)
			CHECK(x86_emul_why() != NULL && *x86_emul_why() != 0);
		if (in.form != X86_FORM_STRING) {
			CHECK(memcmp(g, g0, sizeof(g)) == 0);
			CHECK(memcmp(&fpu, &fpu0, sizeof(fpu)) == 0);
		}
		return;
	}
	branch = in.op == X86_OP_CALL || in.op == X86_OP_RET ||
	    in.op == X86_OP_JMP;
	if (in.form != X86_FORM_STRING && !branch)
		CHECK(g[NVMM_X64_GPR_RIP] ==
		    ((g0[NVMM_X64_GPR_RIP] + in.len) &
		    (mode == X86_CODE64 ? ~0ULL :
		    mode == X86_CODE32 ? 0xffffffffULL : 0xffffULL)));
	CHECK((g[NVMM_X64_GPR_RFLAGS] & ~0x8d5ULL) ==
	    (g0[NVMM_X64_GPR_RFLAGS] & ~0x8d5ULL));
}

static void
mem_cb(struct nvmm_mem *m)
{
	CHECK(m->size >= 1 && m->size <= 8);
	CHECK(m->gpa >= FAKE_RAM_SIZE || !(fake.ram_prot & NVMM_PROT_WRITE) ||
	    !m->write);
	if (!m->write)
		memset(m->data, 0x5a, m->size);
}

static void
io_cb(struct nvmm_io *io)
{
	CHECK(io->size == 1 || io->size == 2 || io->size == 4);
	if (io->in)
		memset(io->data, 0xa5, io->size);
}

static void
fuzz_assist(const uint8_t *data, size_t size, const uint64_t *seed)
{
	struct nvmm_x64_state *st;
	uint64_t s = seed[2];
	size_t i;
	int r;

	fake_reset();
	if (fake.ram == NULL)
		return;
	st = &fake.state;
	/* Guest memory: the input repeated over a few pages. */
	for (i = 0; i < 16 && size > 0; i++)
		memcpy(fake.ram + 0x1000 * i, data, size > 4096 ? 4096 : size);
	fake.vcpu.cbs.mem = mem_cb;
	fake.vcpu.cbs.io = io_cb;
	if (s & 0x1)
		fake.ram_prot = NVMM_PROT_READ | NVMM_PROT_EXEC;
	for (i = 0; i < NVMM_X64_NGPR; i++)
		st->gprs[i] = mix(seed[0] + i) & ((s & 0x2) ? 0xffff : ~0ULL);
	st->gprs[NVMM_X64_GPR_RCX] &= 0x3ff;
	st->gprs[NVMM_X64_GPR_RIP] = mix(seed[1]) & 0xffff;
	st->gprs[NVMM_X64_GPR_RFLAGS] = 0x2 | (mix(seed[1] + 1) & 0x60cd5);
	for (i = 0; i < 6; i++) {
		uint64_t v = mix(seed[1] + 10 + i);

		st->segs[i].selector = (uint16_t)v;
		st->segs[i].attrib.type = (v >> 16) & 0xf;
		st->segs[i].attrib.s = (v >> 20) & 1;
		st->segs[i].attrib.dpl = (v >> 21) & 3;
		st->segs[i].attrib.p = 1;
		st->segs[i].attrib.l = (v >> 23) & 1;
		st->segs[i].attrib.def = (v >> 24) & 1;
		st->segs[i].limit = (v >> 25) & 1 ? 0xffffffff :
		    (uint32_t)(v >> 32) & 0xfffff;
		st->segs[i].base = (v >> 26) & 1 ? 0 : (v >> 40) & 0xffff;
	}
	st->crs[NVMM_X64_CR_CR0] = ((s >> 2) & 1) | (((s >> 3) & 1) << 31) |
	    (((s >> 4) & 1) << 16);
	st->crs[NVMM_X64_CR_CR3] = (mix(seed[2]) & 0xf000) |
	    ((s >> 5) & 1 ? 0 : 0x18);
	st->crs[NVMM_X64_CR_CR4] = (((s >> 6) & 1) << 5) |
	    (((s >> 7) & 1) << 4) | (((s >> 8) & 1) << 12) |
	    (((s >> 9) & 1) << 20) | (((s >> 10) & 1) << 21);
	st->msrs[NVMM_X64_MSR_EFER] = (((s >> 11) & 1) ? 0x500 : 0) |
	    (((s >> 12) & 1) << 11);

	fake.exit.reason = NVMM_VCPU_EXIT_MEMORY;
	fake.exit.u.mem.gpa = mix(s) & 0x1ffff;
	fake.exit.u.mem.inst_len = (s >> 13) & 1 ? 0 :
	    (uint8_t)(size < 15 ? size : 15);
	memcpy(fake.exit.u.mem.inst_bytes, data, size < 15 ? size : 15);
	for (i = 0; i < 16; i++)
		st->fpu.fx_xmm[i].xmm_quad[0] = mix(s + i);
	r = x86_assist_mem_generic(&fake.mach, &fake.vcpu);
	if (r == -1)
		CHECK(errno == ENODEV || errno == EFAULT || errno == EINVAL ||
		    errno == ENOENT || errno == EAGAIN);
	if (r == -1 && errno == ENODEV)
		CHECK(x86_assist_last_failure(&fake.mach, &fake.vcpu) != NULL);
	if (fake.injected)
		CHECK(r == 0 && fake.event.type == NVMM_VCPU_EVENT_EXCP &&
		    fake.event.vector != 0);

	fake.exit.reason = NVMM_VCPU_EXIT_IO;
	fake.exit.u.io.in = (s >> 14) & 1;
	fake.exit.u.io.port = (uint16_t)(s >> 16);
	fake.exit.u.io.seg = (int8_t)(((s >> 32) & 7) - 1);
	fake.exit.u.io.address_size = (uint8_t)((s >> 35) & 0xf);
	fake.exit.u.io.operand_size = (uint8_t)((s >> 39) & 7);
	fake.exit.u.io.rep = (s >> 42) & 1;
	fake.exit.u.io.str = (s >> 43) & 1;
	fake.exit.u.io.npc = mix(s + 5);
	r = x86_assist_io_generic(&fake.mach, &fake.vcpu);
	if (r == -1)
		CHECK(errno == ENODEV || errno == EFAULT || errno == EINVAL ||
		    errno == ENOENT || errno == EAGAIN);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum x86_code_size modes[4] = {
		X86_CODE16, X86_CODE32, X86_CODE64, X86_CODE64,
	};
	static const unsigned budgets[4] = { 1, 3, 17, 64 };
	uint64_t seed[3] = { 0, 0, 0 };
	enum x86_code_size mode;
	uint8_t ctl;

	if (size < 1)
		return 0;
	ctl = data[0];
	mode = modes[ctl & 3];
	fail_at = (ctl >> 3) & 7;
	data++;
	size--;
	memcpy(seed, data, size < sizeof(seed) ? size : sizeof(seed));
	if (size > sizeof(seed)) {
		data += sizeof(seed);
		size -= sizeof(seed);
	} else {
		data += size;
		size = 0;
	}
	if (size > 15)
		memcpy(fbuf, data + 15, size - 15 > 4096 ? 4096 : size - 15);
	fuzz_core(data, size, mode, seed, budgets[ctl >> 6]);
	if (ctl & 4)
		fuzz_assist(data, size, seed);
	return 0;
}

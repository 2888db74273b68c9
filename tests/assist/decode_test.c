/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * decode_test: x86_decode() against a table of encodings produced by GNU as
 * and described by objdump (decode_table.h, generated at test-writing time
 * by gen_decode_table.py), plus hand-written edge cases and rejections.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <nvmm.h>

#include "x86_decode.h"

struct dcase {
	int mode;
	const char *bytes;
	int len, op, opsize, adsize, seg, rep, repne, lock, mem, base, index;
	int scale, memseg;
	long long disp;
	int memsize;
	bool has_imm;
	unsigned long long imm;
};

static const struct dcase table[] = {
#include "decode_table.h"
};

static int failures;

#define CHECK(name, field, want, got) do {				\
	if ((long long)(want) != (long long)(got)) {			\
		printf("FAIL: %s: %s: expected %#llx, got %#llx\n",	\
		    name, field, (long long)(want), (long long)(got));	\
		ok = false;						\
	}								\
} while (0)

static void
hexname(char *buf, size_t sz, int mode, const uint8_t *b, size_t n)
{
	size_t i, o;

	o = (size_t)snprintf(buf, sz, "decode%d", mode * 8);
	for (i = 0; i < n && o + 4 < sz; i++)
		o += (size_t)snprintf(buf + o, sz - o, "%s%02x", i ? " " : " [", b[i]);
	if (o + 2 < sz)
		snprintf(buf + o, sz - o, "]");
}

static void
run_table(void)
{
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct dcase *t = &table[i];
		uint8_t buf[32];
		struct x86_insn in;
		char name[96];
		bool ok = true;
		uint64_t immmask;

		memset(buf, 0xcc, sizeof(buf));	/* trailing garbage */
		memcpy(buf, t->bytes, (size_t)t->len);
		hexname(name, sizeof(name), t->mode, buf, (size_t)t->len);
		if (x86_decode(buf, sizeof(buf), (enum x86_code_size)t->mode,
		    &in) == -1) {
			printf("FAIL: %s: decode failed: %s\n", name,
			    strerror(errno));
			failures++;
			continue;
		}
		CHECK(name, "len", t->len, in.len);
		CHECK(name, "op", t->op, in.op);
		CHECK(name, "opsize", t->opsize, in.opsize);
		CHECK(name, "adsize", t->adsize, in.adsize);
		CHECK(name, "seg", t->seg, in.seg);
		CHECK(name, "rep", t->rep, in.rep);
		CHECK(name, "repne", t->repne, in.repne);
		CHECK(name, "lock", t->lock, in.lock);
		CHECK(name, "mem", t->mem, in.mem);
		CHECK(name, "memsize", t->memsize, in.memsize);
		if (t->mem || in.memsize) {
			CHECK(name, "memseg", t->memseg, in.memseg);
		}
		if (t->mem) {
			CHECK(name, "base", t->base, in.base);
			CHECK(name, "index", t->index, in.index);
			if (t->index >= 0)
				CHECK(name, "scale", t->scale, in.scale);
			CHECK(name, "disp", t->disp,
			    in.adsize == 2 && in.base == X86_REG_NONE &&
			    in.index == X86_REG_NONE ? (in.disp & 0xffff) :
			    in.disp);
		}
		if (t->has_imm) {
			unsigned isz = in.opsize;

			if (in.op == X86_OP_IN || in.op == X86_OP_OUT ||
			    (in.op >= X86_OP_BT && in.op <= X86_OP_BTC))
				isz = 1;
			immmask = isz >= 8 ? ~0ULL : (1ULL << (8 * isz)) - 1;
			CHECK(name, "imm", t->imm, in.imm & immmask);
		} else {
			CHECK(name, "imm_size", 0, in.imm_size);
		}
		if (ok)
			printf("PASS: %s\n", name);
		else
			failures++;
	}
}

/* Hand-written cases: exact fields not covered by the table. */
struct hcase {
	const char *name;
	int mode;
	const char *bytes;
	size_t n;
	int err;		/* 0: must decode; else the errno */
	int len, opsize, reg, rex, form;
};

static const struct hcase hand[] = {
	/* REX.R/REX.B extend reg and rm. */
	{ "rex_r", 8, "\x4c\x89\x03", 3, 0, 3, 8, 8, 0x4c, X86_FORM_RM_REG },
	{ "rex_ignored_before_66", 8, "\x48\x66\x89\x03", 4, 0, 4, 2, 0, 0,
	  X86_FORM_RM_REG },
	{ "66_then_rexw", 8, "\x66\x48\x89\x03", 4, 0, 4, 8, 0, 0x48,
	  X86_FORM_RM_REG },
	{ "register_form", 8, "\x01\xd8", 2, 0, 2, 4, 3, 0, X86_FORM_RM_REG },
	{ "io_rexw_ignored", 8, "\x48\xed", 2, 0, 2, 4, 0, 0x48,
	  X86_FORM_PORT_DX },
	{ "io_66_16bit", 2, "\x66\xed", 2, 0, 2, 4, 0, 0, X86_FORM_PORT_DX },
	{ "f2_f3_last_wins", 8, "\xf2\xf3\xa4", 3, 0, 3, 1, 0, 0,
	  X86_FORM_STRING },
	{ "14_prefixes", 8,
	  "\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x89\x03", 14, 0,
	  14, 2, 0, 0, X86_FORM_RM_REG },
	{ "15_bytes", 8,
	  "\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x67\xc7\x07\x01\x02", 15, 0,
	  15, 2, 0, 0, X86_FORM_RM_IMM },
	{ "82_in_32bit", 4, "\x82\x03\x01", 3, 0, 3, 1, 0, 0, X86_FORM_RM_IMM },
	{ "f7_test_imm16", 2, "\xf7\x07\x34\x12", 4, 0, 4, 2, 0, 0,
	  X86_FORM_RM_IMM },
	{ "f7_not_no_imm", 4, "\xf7\x13\x90", 3, 0, 2, 4, 2, 0, X86_FORM_RM },
	/* Former rejections the emulator now covers (issue 15). */
	{ "vex_c5", 8, "\xc5\xf9\x6f\x03", 4, 0, 4, 4, 0, 0x40,
	  X86_FORM_XMM_RM },
	{ "mul", 8, "\xf7\x23", 2, 0, 2, 4, 4, 0, X86_FORM_RM },
	{ "popcnt_0f_b8", 8, "\xf3\x0f\xb8\x03", 4, 0, 4, 4, 0, 0,
	  X86_FORM_REG_RM },
	{ "mov_sreg", 8, "\x8e\xd8", 2, 0, 2, 4, 3, 0, X86_FORM_REG_RM },
	/* Stack, shift, multiply and SSE forms. */
	{ "push_imm8_64", 8, "\x6a\xff", 2, 0, 2, 8, 0, 0, X86_FORM_STACK },
	{ "push_r15", 8, "\x41\x57", 2, 0, 2, 8, 15, 0x41, X86_FORM_STACK },
	{ "pop_66_64", 8, "\x66\x58", 2, 0, 2, 2, 0, 0, X86_FORM_STACK },
	{ "push_32", 4, "\x53", 1, 0, 1, 4, 3, 0, X86_FORM_STACK },
	{ "call_rel32", 8, "\xe8\x00\x01\x00\x00", 5, 0, 5, 8, 0, 0,
	  X86_FORM_STACK },
	{ "call_rel16", 2, "\xe8\x00\x01", 3, 0, 3, 2, 0, 0, X86_FORM_STACK },
	{ "ret_imm16", 8, "\xc2\x08\x00", 3, 0, 3, 8, 0, 0, X86_FORM_STACK },
	{ "call_ind_mem", 8, "\xff\x13", 2, 0, 2, 8, 2, 0, X86_FORM_RM },
	{ "pop_rm", 4, "\x8f\x03", 2, 0, 2, 4, 0, 0, X86_FORM_RM },
	{ "shld_cl", 8, "\x0f\xa5\x03", 3, 0, 3, 4, 0, 0,
	  X86_FORM_RM_REG_CL },
	{ "shr_1", 8, "\xd1\x2b", 2, 0, 2, 4, 5, 0, X86_FORM_RM_IMM },
	{ "imul3_imm8", 8, "\x6b\x03\x05", 3, 0, 3, 4, 0, 0,
	  X86_FORM_REG_RM_IMM },
	{ "cmpxchg16b", 8, "\xf0\x48\x0f\xc7\x0b", 5, 0, 5, 8, 1, 0x48,
	  X86_FORM_RM },
	{ "movd_rexw", 8, "\x66\x48\x0f\x7e\x03", 5, 0, 5, 8, 0, 0x48,
	  X86_FORM_RM_XMM },
	{ "vex3_movdqu_store", 8, "\xc4\xc1\x7a\x7f\x03", 5, 0, 5, 4, 0,
	  0x41, X86_FORM_RM_XMM },
	{ "vex_in_32bit", 4, "\xc5\xf9\x7f\x03", 4, 0, 4, 4, 0, 0,
	  X86_FORM_RM_XMM },
	{ "movbe_load", 8, "\x0f\x38\xf0\x03", 4, 0, 4, 4, 0, 0,
	  X86_FORM_REG_RM },
	{ "scas_66", 8, "\x66\xf2\xaf", 3, 0, 3, 2, 0, 0, X86_FORM_STRING },
	{ "setcc", 8, "\x0f\x94\x03", 3, 0, 3, 1, 0, 0, X86_FORM_RM },
	/* Rejections. */
	{ "nop", 8, "\x90", 1, ENODEV, 0, 0, 0, 0, 0 },
	{ "syscall", 8, "\x0f\x05", 2, ENODEV, 0, 0, 0, 0, 0 },
	{ "evex_62", 8, "\x62\xf1\x7c\x48\x10\x03", 6, ENODEV, 0, 0, 0, 0, 0 },
	{ "vex_vvvv_used", 8, "\xc5\xf1\x6f\x03", 4, ENODEV, 0, 0, 0, 0, 0 },
	{ "vex_256_movss", 8, "\xc5\xfe\x10\x03", 4, ENODEV, 0, 0, 0, 0, 0 },
	{ "vex_after_66", 8, "\x66\xc5\xf9\x6f\x03", 5, ENODEV, 0, 0, 0, 0,
	  0 },
	{ "les_32bit", 4, "\xc4\x03", 2, ENODEV, 0, 0, 0, 0, 0 },
	{ "crc32", 8, "\xf2\x0f\x38\xf0\x03", 5, ENODEV, 0, 0, 0, 0, 0 },
	{ "call_far", 8, "\xff\x1b", 2, ENODEV, 0, 0, 0, 0, 0 },
	{ "call_66_64bit", 8, "\x66\xff\x13", 3, ENODEV, 0, 0, 0, 0, 0 },
	{ "cmpxchg8b_reg", 8, "\x0f\xc7\xc8", 3, ENODEV, 0, 0, 0, 0, 0 },
	{ "movbe_reg", 8, "\x0f\x38\xf0\xc0", 4, ENODEV, 0, 0, 0, 0, 0 },
	{ "jmpe", 8, "\x0f\xb8\x03", 3, ENODEV, 0, 0, 0, 0, 0 },
	{ "mmx_movq", 8, "\x0f\x6f\x03", 3, ENODEV, 0, 0, 0, 0, 0 },
	{ "mov_cs", 8, "\x8e\x0b", 2, ENODEV, 0, 0, 0, 0, 0 },
	{ "lock_inc_reg", 8, "\xf0\xff\xc0", 3, ENODEV, 0, 0, 0, 0, 0 },
	{ "lock_shl", 8, "\xf0\xd1\x23", 3, ENODEV, 0, 0, 0, 0, 0 },
	{ "vex_truncated_32bit", 4, "\xc5", 1, EFAULT, 0, 0, 0, 0, 0 },
	{ "inc_in_32bit", 4, "\x40", 1, ENODEV, 0, 0, 0, 0, 0 },
	{ "82_in_64bit", 8, "\x82\x03\x01", 3, ENODEV, 0, 0, 0, 0, 0 },
	{ "lock_mov", 8, "\xf0\x89\x03", 3, ENODEV, 0, 0, 0, 0, 0 },
	{ "lock_cmp", 8, "\xf0\x39\x03", 3, ENODEV, 0, 0, 0, 0, 0 },
	{ "lock_add_reg", 8, "\xf0\x01\xc0", 3, ENODEV, 0, 0, 0, 0, 0 },
	{ "lock_bt", 8, "\xf0\x0f\xa3\x03", 4, ENODEV, 0, 0, 0, 0, 0 },
	{ "lock_bt_imm", 8, "\xf0\x0f\xba\x23\x01", 5, ENODEV, 0, 0, 0, 0, 0 },
	{ "lock_test", 8, "\xf0\x85\x03", 3, ENODEV, 0, 0, 0, 0, 0 },
	{ "lock_movs", 8, "\xf0\xa4", 2, ENODEV, 0, 0, 0, 0, 0 },
	{ "c6_reg1", 8, "\xc6\x0b\x01", 3, ENODEV, 0, 0, 0, 0, 0 },
	{ "xbegin", 8, "\xc7\xf8\x00\x00\x00\x00", 6, ENODEV, 0, 0, 0, 0, 0 },
	{ "ba_reg0", 8, "\x0f\xba\x03\x01", 4, ENODEV, 0, 0, 0, 0, 0 },
	{ "movsxd", 8, "\x48\x63\x03", 3, ENODEV, 0, 0, 0, 0, 0 },
	/* Truncations. */
	{ "empty", 8, "", 0, EFAULT, 0, 0, 0, 0, 0 },
	{ "only_prefixes", 8, "\x66\xf3", 2, EFAULT, 0, 0, 0, 0, 0 },
	{ "no_modrm", 8, "\x89", 1, EFAULT, 0, 0, 0, 0, 0 },
	{ "no_sib", 8, "\x8b\x04", 2, EFAULT, 0, 0, 0, 0, 0 },
	{ "short_disp", 8, "\x8b\x80\x00\x00\x00", 5, EFAULT, 0, 0, 0, 0, 0 },
	{ "short_imm", 8, "\xc7\x07\x78\x56\x34", 5, EFAULT, 0, 0, 0, 0, 0 },
	{ "short_moffs", 8, "\xa1\x00\x00\x00\x00", 5, EFAULT, 0, 0, 0, 0, 0 },
	{ "short_port", 8, "\xe4", 1, EFAULT, 0, 0, 0, 0, 0 },
	{ "16_bytes", 8,
	  "\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x67\xc7\x07\x01\x02",
	  16, EFAULT, 0, 0, 0, 0, 0 },
};

static void
run_hand(void)
{
	size_t i;

	for (i = 0; i < sizeof(hand) / sizeof(hand[0]); i++) {
		const struct hcase *h = &hand[i];
		struct x86_insn in;
		char name[64];
		bool ok = true;
		int r;

		snprintf(name, sizeof(name), "decode_%s", h->name);
		errno = 0;
		r = x86_decode((const uint8_t *)h->bytes, h->n,
		    (enum x86_code_size)h->mode, &in);
		if (h->err != 0) {
			if (r != -1 || errno != h->err) {
				printf("FAIL: %s: expected -1/%s, got %d/%s\n",
				    name, strerror(h->err), r, strerror(errno));
				failures++;
			} else {
				printf("PASS: %s\n", name);
			}
			continue;
		}
		if (r == -1) {
			printf("FAIL: %s: decode failed: %s\n", name,
			    strerror(errno));
			failures++;
			continue;
		}
		CHECK(name, "len", h->len, in.len);
		CHECK(name, "opsize", h->opsize, in.opsize);
		CHECK(name, "reg", h->reg, in.reg);
		CHECK(name, "rex", h->rex, in.rex);
		CHECK(name, "form", h->form, in.form);
		if (ok)
			printf("PASS: %s\n", name);
		else
			failures++;
	}
}

/* Every truncation of every table encoding must fail with EFAULT. */
static void
run_truncations(void)
{
	size_t i, n, count = 0;
	bool ok = true;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct dcase *t = &table[i];
		struct x86_insn in;

		for (n = 0; n < (size_t)t->len; n++) {
			errno = 0;
			count++;
			if (x86_decode((const uint8_t *)t->bytes, n,
			    (enum x86_code_size)t->mode, &in) != -1 ||
			    errno != EFAULT) {
				char name[96];

				hexname(name, sizeof(name), t->mode,
				    (const uint8_t *)t->bytes, (size_t)t->len);
				printf("FAIL: decode_truncated: %s cut at %zu: "
				    "expected -1/EFAULT\n", name, n);
				ok = false;
				failures++;
			}
		}
	}
	if (ok)
		printf("PASS: decode_truncated (%zu prefixes)\n", count);
}

int
main(void)
{
	run_table();
	run_hand();
	run_truncations();
	return failures ? 1 : 0;
}

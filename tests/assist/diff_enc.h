/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * diff_enc.h: the differential test's instruction encoder (64-bit mode):
 * legacy/REX or VEX prefixes, opcode, ModRM, SIB, displacement.
 */
#ifndef DIFF_ENC_H
#define DIFF_ENC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct enc {
	uint8_t b[16];
	size_t n;
};

struct memop {
	int base;		/* GPR, 16 = RIP, -1 none */
	int index;		/* GPR or -1 */
	unsigned scale;
	int32_t disp;
	bool addr32;
};

#define MEMOP_RIP	16

/*
 * [prefixes] [67] [REX] opcode(s) ModRM [SIB] [disp] for register field
 * `reg` and memory operand `m`. `force_rex` emits REX even when no bit is
 * set (SPL..DIL byte registers).
 */
void encode(struct enc *e, const uint8_t *pfx, size_t npfx, bool w,
    bool force_rex, const uint8_t *op, size_t nop, unsigned reg,
    const struct memop *m);

/* [67] VEX (map 0F, vvvv = 1111, L = 0) opcode ModRM... */
void encode_vex(struct enc *e, unsigned pp, bool w, uint8_t op, unsigned reg,
    const struct memop *m);

/* Offset of the disp32 of a RIP-relative operand in e (after encoding). */
size_t encode_rip_disp_off(const struct enc *e, size_t imm_bytes);

#endif /* DIFF_ENC_H */

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x86_opcodes.h: the decoder's opcode tables (x86_opcodes.c), private to
 * x86_decode.c.
 */
#ifndef X86_OPCODES_H
#define X86_OPCODES_H

#include <stdint.h>

#include "x86_decode.h"

/* Attributes of an opcode. */
#define A_MODRM		0x0001	/* a ModRM byte follows */
#define A_BYTE		0x0002	/* operand size is 1 */
#define A_IMM8		0x0004	/* imm8 follows */
#define A_IMMZ		0x0008	/* imm16 or imm32 (by operand size) follows */
#define A_MOFFS		0x0010	/* a memory offset of address size follows */
#define A_GROUP		0x0020	/* ModRM.reg selects the operation */
#define A_LOCK		0x0040	/* LOCK is allowed with a memory destination */
#define A_IO		0x0080	/* port IO: operand size 1, 2 or 4, no REX.W */
#define A_NO64		0x0100	/* invalid in 64-bit mode */
#define A_D64		0x0200	/* operand size 64 by default in 64-bit mode */
#define A_BRANCH	0x0400	/* near branch (66 in 64-bit mode refused) */
#define A_IMM16		0x0800	/* imm16 follows, zero-extended */
#define A_IMM1		0x1000	/* implicit count 1 (D0, D1) */
#define A_MEMONLY	0x2000	/* ModRM.mod 3 is #UD */
#define A_SSE		0x4000	/* SSE move: 66 is a mandatory prefix */

struct x86_opdesc {
	uint8_t op;
	uint8_t form;
	uint16_t attr;
	uint8_t memsize;	/* SSE moves: bytes in memory */
	uint8_t sse;		/* SSE moves: X86_SSE_* */
};

/*
 * The descriptor of in->opcode in in->map with in->pfx / in->vex / in->rex
 * (ModRM not yet read). -1 when the decoder does not know it.
 */
int x86_opcode_lookup(const struct x86_insn *in, struct x86_opdesc *d);

/* Resolve a group opcode from ModRM.reg (in->modrm is set). -1: unknown. */
int x86_opcode_group(const struct x86_insn *in, struct x86_opdesc *d);

/* Bytes of the memory operand once sizes are known. */
uint8_t x86_opcode_memsize(const struct x86_insn *in,
    const struct x86_opdesc *d);

#endif /* X86_OPCODES_H */

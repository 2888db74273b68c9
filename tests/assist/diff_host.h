/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * diff_host.h: the host side of the differential test: one instruction
 * run natively in a generated stub on a register file (GPRs including RSP,
 * RFLAGS, XMM0-15). Branches must land on diff_host_far().
 */
#ifndef DIFF_HOST_H
#define DIFF_HOST_H

#include <stddef.h>
#include <stdint.h>

struct hctx {
	uint64_t g[16];		/* 0x00: RAX..R15, RSP included */
	uint64_t rflags;	/* 0x80 */
	uint64_t where;		/* 0x88: 1 = fell through, 2 = far target */
	uint8_t xmm[16][16];	/* 0x90 */
};

#define HOST_NEAR	1
#define HOST_FAR	2

/* Map the stub (below 2 GiB); -1 with errno on failure. */
int diff_host_init(void);

/* Address the instruction runs at, and the branch target. */
uint64_t diff_host_rip(void);
uint64_t diff_host_far(void);

/* Run `insn` on *ctx; the registers are read and written back. */
void diff_host_run(const uint8_t *insn, size_t len, struct hctx *ctx);

#endif /* DIFF_HOST_H */

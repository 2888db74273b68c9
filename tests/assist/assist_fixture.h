/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * assist_fixture.h: the guest the assist tests share, over fake_nvmm.c.
 * Guest physical map: RAM [0, 0x10000) (code at 0x1000, data 0x2000-0x4fff,
 * page tables 0x8000-0xbfff), MMIO device [0x10000, 0x11000).
 * 64-bit virtual map: identity for [0, 2 MiB) except gva 0x5000 -> gpa
 * 0x10000 (MMIO); nothing above 2 MiB.
 */
#ifndef ASSIST_FIXTURE_H
#define ASSIST_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fake_nvmm.h"

#define MMIO_BASE	0x10000
#define MMIO_SIZE	0x1000
#define CODE		0x1000

extern uint8_t mmio[MMIO_SIZE];
extern unsigned mmio_reads, mmio_writes, mmio_bad;
extern uint64_t last_mmio_gpa;
extern size_t last_mmio_size;
extern uint8_t iodev[256];
extern unsigned iodev_pos, io_calls;
extern uint16_t io_port;
extern int failures;

#define G(r)	(fake.state.gprs[NVMM_X64_GPR_##r])

#define EXPECT(name, cond, fmt, ...) do {				\
	if (!(cond)) {							\
		printf("FAIL: %s: %s: " fmt "\n", name, #cond,		\
		    __VA_ARGS__);					\
		ok = false;						\
	}								\
} while (0)

/* PASS line, or count a failure (the FAIL lines are EXPECT's). */
void verdict(const char *name, bool ok);
/* Flat segment i (code: L and D as given). */
void flat_seg(int i, bool code, bool l, bool def);
void put64(uint64_t gpa, uint64_t v);
/* 64-bit long mode with 4-level paging (see the map above). */
void setup64(void);
/* 32-bit protected mode, paging off. */
void setup32(void);
/* Real mode: segments of 64 KiB at base = selector << 4. */
void setup16(void);
/* Place code at CS:RIP (= gpa CODE) and raise a MEMORY exit. */
int mem_exit(const char *bytes, size_t n, bool give_bytes);

#endif /* ASSIST_FIXTURE_H */

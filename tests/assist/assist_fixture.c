/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * assist_fixture.c: see assist_fixture.h.
 */
#include <errno.h>
#include <string.h>

#include "assist_fixture.h"
#include "x86_assist.h"

uint8_t mmio[MMIO_SIZE];
unsigned mmio_reads, mmio_writes, mmio_bad;
uint64_t last_mmio_gpa;
size_t last_mmio_size;

uint8_t iodev[256];
unsigned iodev_pos, io_calls;
uint16_t io_port;

int failures;

static void
mem_cb(struct nvmm_mem *m)
{
	if (m->gpa < MMIO_BASE || m->gpa + m->size > MMIO_BASE + MMIO_SIZE ||
	    m->mach != &fake.mach || m->vcpu != &fake.vcpu) {
		mmio_bad++;
		return;
	}
	last_mmio_gpa = m->gpa;
	last_mmio_size = m->size;
	if (m->write) {
		memcpy(mmio + (m->gpa - MMIO_BASE), m->data, m->size);
		mmio_writes++;
	} else {
		memcpy(m->data, mmio + (m->gpa - MMIO_BASE), m->size);
		mmio_reads++;
	}
}

static void
io_cb(struct nvmm_io *io)
{
	io_calls++;
	io_port = io->port;
	if (iodev_pos + io->size > sizeof(iodev))
		iodev_pos = 0;
	if (io->in)
		memcpy(io->data, iodev + iodev_pos, io->size);
	else
		memcpy(iodev + iodev_pos, io->data, io->size);
	iodev_pos += (unsigned)io->size;
}

void
verdict(const char *name, bool ok)
{
	if (ok) {
		printf("PASS: %s\n", name);
	} else {
		failures++;
	}
}

static void
reset_common(void)
{
	fake_reset();
	memset(mmio, 0, sizeof(mmio));
	mmio_reads = mmio_writes = mmio_bad = 0;
	memset(iodev, 0, sizeof(iodev));
	iodev_pos = io_calls = 0;
	fake.vcpu.cbs.mem = mem_cb;
	fake.vcpu.cbs.io = io_cb;
	G(RFLAGS) = 0x2;
	G(RIP) = CODE;
}

void
flat_seg(int i, bool code, bool l, bool def)
{
	struct nvmm_x64_state_seg *s = &fake.state.segs[i];

	s->selector = code ? 0x8 : 0x10;
	s->attrib.type = code ? 0xb : 0x3;
	s->attrib.s = 1;
	s->attrib.p = 1;
	s->attrib.l = l;
	s->attrib.def = def;
	s->attrib.g = 1;
	s->limit = 0xffffffff;
	s->base = 0;
}

void
put64(uint64_t gpa, uint64_t v)
{
	memcpy(fake.ram + gpa, &v, 8);
}

/* 64-bit long mode with 4-level paging (see the map above). */
void
setup64(void)
{
	int i;

	reset_common();
	for (i = 0; i < 6; i++)
		flat_seg(i, i == NVMM_X64_SEG_CS, i == NVMM_X64_SEG_CS,
		    i != NVMM_X64_SEG_CS);
	fake.state.crs[NVMM_X64_CR_CR0] = 0x80000031;	/* PG NE ET PE */
	fake.state.crs[NVMM_X64_CR_CR3] = 0x8000;
	fake.state.crs[NVMM_X64_CR_CR4] = 0x20;		/* PAE */
	fake.state.msrs[NVMM_X64_MSR_EFER] = 0x500;	/* LMA LME */
	put64(0x8000, 0x9000 | 0x7);
	put64(0x9000, 0xa000 | 0x7);
	put64(0xa000, 0xb000 | 0x7);
	for (i = 0; i < 512; i++)
		put64(0xb000 + 8 * (uint64_t)i, ((uint64_t)i << 12) | 0x7);
	put64(0xb000 + 8 * 5, MMIO_BASE | 0x7);
}

/* 32-bit protected mode, paging off. */
void
setup32(void)
{
	int i;

	reset_common();
	for (i = 0; i < 6; i++)
		flat_seg(i, i == NVMM_X64_SEG_CS, false, true);
	fake.state.crs[NVMM_X64_CR_CR0] = 0x11;
}

/* Real mode: segments of 64 KiB at base = selector << 4. */
void
setup16(void)
{
	int i;

	reset_common();
	for (i = 0; i < 6; i++) {
		struct nvmm_x64_state_seg *s = &fake.state.segs[i];

		s->selector = 0;
		s->attrib.type = i == NVMM_X64_SEG_CS ? 0xb : 0x3;
		s->attrib.s = 1;
		s->attrib.p = 1;
		s->limit = 0xffff;
	}
	fake.state.crs[NVMM_X64_CR_CR0] = 0x10;
}

/* Place code at CS:RIP (= gpa CODE) and raise a MEMORY exit. */
int
mem_exit(const char *bytes, size_t n, bool give_bytes)
{
	memcpy(fake.ram + CODE, bytes, n);
	fake.exit.reason = NVMM_VCPU_EXIT_MEMORY;
	fake.exit.u.mem.gpa = MMIO_BASE;
	fake.exit.u.mem.inst_len = 0;
	if (give_bytes) {
		fake.exit.u.mem.inst_len = (uint8_t)n;
		memcpy(fake.exit.u.mem.inst_bytes, bytes, n);
	}
	return x86_assist_mem_generic(&fake.mach, &fake.vcpu);
}


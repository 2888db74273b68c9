/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modtest.h: what the module test programs share: result lines
 * (PASS:/FAIL: module/<name>), raw ioctls, and a one-VCPU real-mode
 * machine whose guest writes to GPA 0x3000 and to each page of
 * [0x10000, 0x50000), and halts.
 */
#ifndef MODTEST_H
#define MODTEST_H

#include <stddef.h>
#include <stdint.h>

#include <nvmm.h>
#include <nvmm_ioctl.h>

extern int nfail;

void pass(const char *name);
void fail(const char *name, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void skip(const char *name, const char *reason);

#define CHECK(name, cond, ...) do {					\
	if (!(cond)) {							\
		fail(name, __VA_ARGS__);				\
		return;							\
	}								\
} while (0)

/* Real mode from 0:rip (the reset state has CS at 0xF000:FFF0). */
void set_real_mode(struct nvmm_comm_page *c, uint64_t rip);

/*
 * Line-buffered stdout, then /dev/nvmm opened for reading and writing:
 * the file, or -1 after "SKIP: module/<what>: ..." (no device).
 */
int mt_open(const char *what);
/* ioctl: 0 or -errno */
int xioctl(int fd, unsigned long req, void *arg);
double now_s(void);

/* The pages the touching guest writes to: first this one, */
#define MT_TOUCH_GPA	0x3000
/* then each of [MT_MANY_GPA, MT_RAM_SIZE). */
#define MT_MANY_GPA	0x10000
#define MT_RAM_SIZE	0x50000

struct mt_vm {
	int fd;
	uint32_t machid;
	uint8_t *ram;			/* the RAM, at GPA 0 */
	struct nvmm_comm_page *comm;	/* VCPU 0 */
};

/*
 * A machine on fd with VCPU 0 at the touching guest (real mode, GPA
 * 0x1000), MT_RAM_SIZE bytes of anonymous RAM at GPA 0: 0 or -1 (errno).
 */
int mt_vm_create(int fd, struct mt_vm *vm);
/* The same with other code at GPA 0x1000 and ram_size bytes of RAM. */
int mt_vm_create_with(int fd, struct mt_vm *vm, const void *code, size_t len,
    size_t ram_size);
/* VCPU 0 until an exit other than NONE: 0 or -errno. */
int mt_run(struct mt_vm *vm, struct nvmm_x86_exit *exit);
int mt_run_vcpu0(int fd, uint32_t machid, struct nvmm_x86_exit *exit);

#endif /* MODTEST_H */

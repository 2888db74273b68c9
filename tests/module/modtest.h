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

extern int mt_nfail;

void mt_pass(const char *name);
void mt_fail(const char *name, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void mt_skip(const char *name, const char *reason);

#define MT_CHECK(name, cond, ...) do {					\
	if (!(cond)) {							\
		mt_fail(name, __VA_ARGS__);				\
		return;							\
	}								\
} while (0)

/* ioctl: 0 or -errno */
int mt_ioctl(int fd, unsigned long req, void *arg);
double mt_now(void);

/* The pages the touching guest writes to: first this one, */
#define MT_TOUCH_GPA	0x3000
/* then each of [MT_MANY_GPA, MT_RAM_SIZE). */
#define MT_MANY_GPA	0x10000
#define MT_RAM_SIZE	0x50000

struct mt_vm {
	int fd;
	uint32_t machid;
	uint8_t *ram;			/* MT_RAM_SIZE bytes at GPA 0 */
	struct nvmm_comm_page *comm;	/* VCPU 0 */
};

/*
 * A machine on fd with VCPU 0 at the touching guest (real mode, GPA
 * 0x1000), MT_RAM_SIZE bytes of anonymous RAM at GPA 0: 0 or -1 (errno).
 */
int mt_vm_create(int fd, struct mt_vm *vm);
/* VCPU 0 until an exit other than NONE: 0 or -errno. */
int mt_run(struct mt_vm *vm, struct nvmm_x86_exit *exit);

#endif /* MODTEST_H */

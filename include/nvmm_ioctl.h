/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * nvmm_ioctl.h: the ABI between libnvmm and the nvmm.ko module (/dev/nvmm).
 *
 * Shared by lib/backend_nvmm.c and kernel/: the module compiles nvmm.h too
 * (through small stand-ins for the C library headers, kernel/shim/), so the
 * state, exit, event and capability layouts are the very same ones.
 *
 * Ioctls: Linux _IOC encoding, group 'N', NetBSD's ordinals; the size of
 * each argument struct is part of the number. Fixed-width members only, so
 * the layouts do not depend on the compiler's model.
 *
 * Version check: NVMM_IOC_ABI (ordinal 21, not in NetBSD) returns
 * NVMM_IOCTL_ABI_VERSION; the library refuses any other value (and a module
 * without that ioctl) with EPROGMISMATCH. The capability's `version` is
 * NVMM_KERN_VERSION (2), as on NetBSD.
 *
 * IO exits: the module sets address_size to 0 when the CPU does not report
 * it (QEMU's SVM emulation); the library then derives it from the
 * instruction. seg is -1 unless the CPU has decode assists.
 *
 * Comm page: one page per VCPU, mapped by mmap(2) on the /dev/nvmm file
 * descriptor that owns the machine: length one page, PROT_READ|PROT_WRITE,
 * MAP_SHARED, offset NVMM_COMM_OFFSET(machid, cpuid). Nothing else maps.
 */
#ifndef NVMM_IOCTL_H
#define NVMM_IOCTL_H

#include <linux/ioctl.h>

#include "nvmm.h"

#define NVMM_IOCTL_ABI_VERSION	1

/* The comm page of (machid, cpuid): offset for mmap(2). */
#define NVMM_COMM_OFFSET(machid, cpuid) \
	((((uint64_t)(machid) & 0xFF) << 20) | (((uint64_t)(cpuid) & 0xFF) << 12))
#define NVMM_COMM_MACHID(off)	(((off) >> 20) & 0xFF)
#define NVMM_COMM_CPUID(off)	(((off) >> 12) & 0xFF)
#define NVMM_COMM_PAGE_SIZE	4096

/*
 * The shared page. The library writes state/state_commit/event/event_commit
 * and stop; the kernel reads them at the next RUN (or SETSTATE, GETSTATE,
 * INJECT) and writes back state/state_cached. See nvmm-design.md §2.
 */
struct nvmm_comm_page {
	uint64_t state_wanted;		/* GETSTATE/SETSTATE: components */
	uint64_t state_cached;		/* components valid in `state` */
	uint64_t state_commit;		/* components to load at next RUN */
	struct nvmm_x64_state state;
	bool event_commit;		/* inject `event` at next RUN */
	struct nvmm_x86_event event;
	volatile int stop;		/* next/current RUN returns STOPPED */
};

/* ------------------------------------------------------------------------ */
/* Argument structs.                                                         */

struct nvmm_ioc_abi {
	uint32_t abi_version;		/* out: NVMM_IOCTL_ABI_VERSION */
	uint32_t comm_page_size;	/* out: NVMM_COMM_PAGE_SIZE */
	uint64_t rsvd[3];
};

struct nvmm_ioc_machine_create {
	uint32_t machid;		/* out */
	uint32_t rsvd;
};

struct nvmm_ioc_machine_destroy {
	uint32_t machid;
	uint32_t rsvd;
};

struct nvmm_ioc_machine_configure {
	uint32_t machid;
	uint32_t rsvd;
	uint64_t op;
	uint64_t conf;			/* user pointer */
};

/* VCPU_CREATE, VCPU_DESTROY, VCPU_SETSTATE, VCPU_GETSTATE, VCPU_INJECT */
struct nvmm_ioc_vcpu {
	uint32_t machid;
	uint32_t cpuid;
};

struct nvmm_ioc_vcpu_configure {
	uint32_t machid;
	uint32_t cpuid;
	uint64_t op;
	uint64_t conf;			/* user pointer */
};

struct nvmm_ioc_vcpu_run {
	uint32_t machid;
	uint32_t cpuid;
	struct nvmm_x86_exit exit;	/* out */
};

struct nvmm_ioc_gpa_map {
	uint32_t machid;
	uint32_t prot;			/* PROT_READ | PROT_WRITE | PROT_EXEC */
	uint64_t hva;
	uint64_t gpa;
	uint64_t size;
};

struct nvmm_ioc_gpa_unmap {
	uint32_t machid;
	uint32_t rsvd;
	uint64_t gpa;
	uint64_t size;
};

struct nvmm_ioc_hva {			/* HVA_MAP, HVA_UNMAP */
	uint32_t machid;
	uint32_t flags;			/* must be 0 */
	uint64_t hva;
	uint64_t size;
};

struct nvmm_ioc_ctl {
	int32_t op;			/* NVMM_CTL_* */
	uint32_t rsvd;
	uint64_t data;			/* user pointer */
	uint64_t size;
};

/* NVMM_CTL_MACH_INFO payload, fixed-width (nvmm_ctl_mach_info's layout). */
struct nvmm_ioc_mach_info {
	uint32_t machid;
	uint32_t nvcpus;
	uint64_t nram;
	int32_t pid;
	uint32_t rsvd;
	int64_t time;
};

/* ------------------------------------------------------------------------ */
/* Ioctl numbers.                                                            */

#define NVMM_IOC_GROUP		'N'

#define NVMM_IOC_CAPABILITY	_IOR(NVMM_IOC_GROUP, 0, struct nvmm_capability)
#define NVMM_IOC_MACHINE_CREATE	_IOWR(NVMM_IOC_GROUP, 1, struct nvmm_ioc_machine_create)
#define NVMM_IOC_MACHINE_DESTROY _IOW(NVMM_IOC_GROUP, 2, struct nvmm_ioc_machine_destroy)
#define NVMM_IOC_MACHINE_CONFIGURE _IOW(NVMM_IOC_GROUP, 3, struct nvmm_ioc_machine_configure)
#define NVMM_IOC_VCPU_CREATE	_IOW(NVMM_IOC_GROUP, 4, struct nvmm_ioc_vcpu)
#define NVMM_IOC_VCPU_DESTROY	_IOW(NVMM_IOC_GROUP, 5, struct nvmm_ioc_vcpu)
#define NVMM_IOC_VCPU_CONFIGURE	_IOW(NVMM_IOC_GROUP, 6, struct nvmm_ioc_vcpu_configure)
#define NVMM_IOC_VCPU_SETSTATE	_IOW(NVMM_IOC_GROUP, 7, struct nvmm_ioc_vcpu)
#define NVMM_IOC_VCPU_GETSTATE	_IOW(NVMM_IOC_GROUP, 8, struct nvmm_ioc_vcpu)
#define NVMM_IOC_VCPU_INJECT	_IOW(NVMM_IOC_GROUP, 9, struct nvmm_ioc_vcpu)
#define NVMM_IOC_VCPU_RUN	_IOWR(NVMM_IOC_GROUP, 10, struct nvmm_ioc_vcpu_run)
#define NVMM_IOC_GPA_MAP	_IOW(NVMM_IOC_GROUP, 11, struct nvmm_ioc_gpa_map)
#define NVMM_IOC_GPA_UNMAP	_IOW(NVMM_IOC_GROUP, 12, struct nvmm_ioc_gpa_unmap)
#define NVMM_IOC_HVA_MAP	_IOW(NVMM_IOC_GROUP, 13, struct nvmm_ioc_hva)
#define NVMM_IOC_HVA_UNMAP	_IOW(NVMM_IOC_GROUP, 14, struct nvmm_ioc_hva)
#define NVMM_IOC_CTL		_IOW(NVMM_IOC_GROUP, 20, struct nvmm_ioc_ctl)
#define NVMM_IOC_ABI		_IOR(NVMM_IOC_GROUP, 21, struct nvmm_ioc_abi)

/* ------------------------------------------------------------------------ */
/* Layout checks (LP64).                                                     */

#if defined(__x86_64__) && !defined(__cplusplus)
_Static_assert(offsetof(struct nvmm_comm_page, state) == 32, "comm state");
_Static_assert(sizeof(struct nvmm_comm_page) <= NVMM_COMM_PAGE_SIZE,
    "comm page size");
_Static_assert(sizeof(struct nvmm_ioc_vcpu_run) == 72, "run args");
_Static_assert(sizeof(struct nvmm_ioc_gpa_map) == 32, "gpa_map args");
_Static_assert(sizeof(struct nvmm_ioc_mach_info) == 32, "mach info");
_Static_assert(sizeof(struct nvmm_ioc_abi) == 32, "abi args");
#endif

#endif /* NVMM_IOCTL_H */

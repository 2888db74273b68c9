/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * nvmm.h: the public API of libnvmm, version 2, for Linux hosts.
 *
 * Names, numeric values and structure layouts follow NetBSD's libnvmm v2
 * (kernel ABI version 2), so that programs written for it, QEMU's nvmm
 * accelerator among them, compile unchanged. The header is self-contained:
 * it needs only the C library's standard headers.
 */
#ifndef NVMM_H
#define NVMM_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* BSD helpers that NVMM clients use and Linux lacks.                        */

#ifndef __BIT
#define __BIT(n) (((n) >= 64) ? 0 : ((uint64_t)1 << (n)))
#endif
#ifndef __LOWEST_SET_BIT
#define __LOWEST_SET_BIT(m) ((((m) - 1) & (m)) ^ (m))
#endif
#ifndef __SHIFTOUT
#define __SHIFTOUT(x, m) (((x) & (m)) / __LOWEST_SET_BIT(m))
#endif
#ifndef __SHIFTIN
#define __SHIFTIN(x, m) ((x) * __LOWEST_SET_BIT(m))
#endif

/*
 * BSD's "program version wrong" errno. Its BSD value (75) is EOVERFLOW on
 * Linux, so it is mapped onto EPROTO, whose message reads sensibly.
 */
#ifndef EPROGMISMATCH
#define EPROGMISMATCH EPROTO
#endif

/* ------------------------------------------------------------------------ */
/* Versions and basic types.                                                 */

#define NVMM_KERN_VERSION 2
#define NVMM_USER_VERSION 2

typedef uint64_t gpaddr_t;
typedef uint64_t gvaddr_t;
typedef uint32_t nvmm_machid_t;
typedef uint32_t nvmm_cpuid_t;
typedef uint64_t nvmm_prot_t;

#define NVMM_PROT_READ 0x01
#define NVMM_PROT_WRITE 0x02
#define NVMM_PROT_EXEC 0x04
#define NVMM_PROT_USER 0x08
#define NVMM_PROT_ALL 0x0F

/* ------------------------------------------------------------------------ */
/* Exits.                                                                    */

#define NVMM_VCPU_EXIT_NONE 0x0000000000000000ULL
#define NVMM_VCPU_EXIT_STOPPED 0xFFFFFFFFFFFFFFFEULL
#define NVMM_VCPU_EXIT_INVALID 0xFFFFFFFFFFFFFFFFULL
#define NVMM_VCPU_EXIT_MEMORY 0x0000000000000001ULL
#define NVMM_VCPU_EXIT_IO 0x0000000000000002ULL
#define NVMM_VCPU_EXIT_SHUTDOWN 0x0000000000001000ULL
#define NVMM_VCPU_EXIT_INT_READY 0x0000000000001001ULL
#define NVMM_VCPU_EXIT_NMI_READY 0x0000000000001002ULL
#define NVMM_VCPU_EXIT_HALTED 0x0000000000001003ULL
#define NVMM_VCPU_EXIT_TPR_CHANGED 0x0000000000001004ULL
#define NVMM_VCPU_EXIT_RDMSR 0x0000000000002000ULL
#define NVMM_VCPU_EXIT_WRMSR 0x0000000000002001ULL
#define NVMM_VCPU_EXIT_MONITOR 0x0000000000002002ULL
#define NVMM_VCPU_EXIT_MWAIT 0x0000000000002003ULL
#define NVMM_VCPU_EXIT_CPUID 0x0000000000002004ULL

struct nvmm_x86_exit_memory {
	int prot;		/* PROT_READ, PROT_WRITE or PROT_EXEC */
	gpaddr_t gpa;
	uint8_t inst_len;	/* 0: the library fetches the bytes itself */
	uint8_t inst_bytes[15];
};

struct nvmm_x86_exit_io {
	bool in;
	uint16_t port;
	int8_t seg;		/* NVMM_X64_SEG_*, or -1 when unknown */
	uint8_t address_size;	/* 2, 4 or 8 */
	uint8_t operand_size;	/* 1, 2 or 4 */
	bool rep;
	bool str;
	uint64_t npc;
};

struct nvmm_x86_exit_rdmsr {
	uint32_t msr;
	uint64_t npc;
};

struct nvmm_x86_exit_wrmsr {
	uint32_t msr;
	uint64_t val;
	uint64_t npc;
};

struct nvmm_x86_exit_insn {
	uint64_t npc;
};

struct nvmm_x86_exit_invalid {
	uint64_t hwcode;
};

struct nvmm_x86_exit {
	uint64_t reason;
	union {
		struct nvmm_x86_exit_memory mem;
		struct nvmm_x86_exit_io io;
		struct nvmm_x86_exit_rdmsr rdmsr;
		struct nvmm_x86_exit_wrmsr wrmsr;
		struct nvmm_x86_exit_insn insn;
		struct nvmm_x86_exit_invalid inv;
	} u;
	struct {
		uint64_t rflags;
		uint64_t cr8;
		uint64_t int_shadow:1;
		uint64_t int_window_exiting:1;
		uint64_t nmi_window_exiting:1;
		uint64_t evt_pending:1;
		uint64_t rsvd:60;
	} exitstate;
};

/* ------------------------------------------------------------------------ */
/* Events.                                                                   */

#define NVMM_VCPU_EVENT_EXCP 0
#define NVMM_VCPU_EVENT_INTR 1

struct nvmm_x86_event {
	unsigned int type;
	uint8_t vector;
	union {
		struct {
			uint64_t error;
		} excp;
	} u;
};

/* ------------------------------------------------------------------------ */
/* Capability.                                                               */

#define NVMM_CAP_ARCH_VCPU_CONF_CPUID __BIT(0)
#define NVMM_CAP_ARCH_VCPU_CONF_TPR __BIT(1)

struct nvmm_cap_md {
	uint64_t mach_conf_support;
	uint64_t vcpu_conf_support;
	uint64_t xcr0_mask;
	uint32_t mxcsr_mask;
	uint32_t conf_cpuid_maxops;
	uint64_t rsvd[6];
};

struct nvmm_capability {
	uint32_t version;
	uint32_t state_size;
	uint32_t max_machines;
	uint32_t max_vcpus;
	uint64_t max_ram;
	struct nvmm_cap_md arch;
};

/* ------------------------------------------------------------------------ */
/* VCPU state.                                                               */

#define NVMM_X64_SEG_ES 0
#define NVMM_X64_SEG_CS 1
#define NVMM_X64_SEG_SS 2
#define NVMM_X64_SEG_DS 3
#define NVMM_X64_SEG_FS 4
#define NVMM_X64_SEG_GS 5
#define NVMM_X64_SEG_GDT 6
#define NVMM_X64_SEG_IDT 7
#define NVMM_X64_SEG_LDT 8
#define NVMM_X64_SEG_TR 9
#define NVMM_X64_NSEG 10

#define NVMM_X64_GPR_RAX 0
#define NVMM_X64_GPR_RCX 1
#define NVMM_X64_GPR_RDX 2
#define NVMM_X64_GPR_RBX 3
#define NVMM_X64_GPR_RSP 4
#define NVMM_X64_GPR_RBP 5
#define NVMM_X64_GPR_RSI 6
#define NVMM_X64_GPR_RDI 7
#define NVMM_X64_GPR_R8 8
#define NVMM_X64_GPR_R9 9
#define NVMM_X64_GPR_R10 10
#define NVMM_X64_GPR_R11 11
#define NVMM_X64_GPR_R12 12
#define NVMM_X64_GPR_R13 13
#define NVMM_X64_GPR_R14 14
#define NVMM_X64_GPR_R15 15
#define NVMM_X64_GPR_RIP 16
#define NVMM_X64_GPR_RFLAGS 17
#define NVMM_X64_NGPR 18

#define NVMM_X64_CR_CR0 0
#define NVMM_X64_CR_CR2 1
#define NVMM_X64_CR_CR3 2
#define NVMM_X64_CR_CR4 3
#define NVMM_X64_CR_CR8 4
#define NVMM_X64_CR_XCR0 5
#define NVMM_X64_NCR 6

#define NVMM_X64_DR_DR0 0
#define NVMM_X64_DR_DR1 1
#define NVMM_X64_DR_DR2 2
#define NVMM_X64_DR_DR3 3
#define NVMM_X64_DR_DR6 4
#define NVMM_X64_DR_DR7 5
#define NVMM_X64_NDR 6

#define NVMM_X64_MSR_EFER 0
#define NVMM_X64_MSR_STAR 1
#define NVMM_X64_MSR_LSTAR 2
#define NVMM_X64_MSR_CSTAR 3
#define NVMM_X64_MSR_SFMASK 4
#define NVMM_X64_MSR_KERNELGSBASE 5
#define NVMM_X64_MSR_SYSENTER_CS 6
#define NVMM_X64_MSR_SYSENTER_ESP 7
#define NVMM_X64_MSR_SYSENTER_EIP 8
#define NVMM_X64_MSR_PAT 9
#define NVMM_X64_MSR_TSC 10
#define NVMM_X64_NMSR 11

#define NVMM_X64_STATE_SEGS 0x01
#define NVMM_X64_STATE_GPRS 0x02
#define NVMM_X64_STATE_CRS 0x04
#define NVMM_X64_STATE_DRS 0x08
#define NVMM_X64_STATE_MSRS 0x10
#define NVMM_X64_STATE_INTR 0x20
#define NVMM_X64_STATE_FPU 0x40
#define NVMM_X64_STATE_ALL                                                  \
	(NVMM_X64_STATE_SEGS | NVMM_X64_STATE_GPRS | NVMM_X64_STATE_CRS |   \
	 NVMM_X64_STATE_DRS | NVMM_X64_STATE_MSRS | NVMM_X64_STATE_INTR |   \
	 NVMM_X64_STATE_FPU)

struct nvmm_x64_state_seg {
	uint16_t selector;
	struct {		/* the hidden part */
		uint16_t type:4;
		uint16_t s:1;
		uint16_t dpl:2;
		uint16_t p:1;
		uint16_t avl:1;
		uint16_t l:1;
		uint16_t def:1;
		uint16_t g:1;
		uint16_t rsvd:4;
	} attrib;
	uint32_t limit;
	uint64_t base;
};

struct nvmm_x64_state_intr {
	uint64_t int_shadow:1;
	uint64_t int_window_exiting:1;
	uint64_t nmi_window_exiting:1;
	uint64_t evt_pending:1;
	uint64_t rsvd:60;
};

/* The FXSAVE image, with the member names of NetBSD's struct fxsave. */
union nvmm_x64_fpu_addr {
	uint64_t fa_64;
	struct {
		uint32_t fa_off;
		uint16_t fa_seg;
		uint16_t fa_opcode;
	} fa_32;
};

struct nvmm_x64_fpu_reg {	/* one x87 register, 80 bits in 16 bytes */
	uint8_t fp_bytes[10];
	uint8_t fp_rsvd[6];
};

struct nvmm_x64_fpu_xmm {
	union {
		uint8_t xmm_bytes[16];
		uint16_t xmm_words[8];
		uint32_t xmm_ulong[4];
		uint64_t xmm_quad[2];
	};
};

struct nvmm_x64_state_fpu {
	uint16_t fx_cw;
	uint16_t fx_sw;
	uint8_t fx_tw;		/* abridged tag word */
	uint8_t fx_zero;
	uint16_t fx_opcode;
	union nvmm_x64_fpu_addr fx_ip;
	union nvmm_x64_fpu_addr fx_dp;
	uint32_t fx_mxcsr;
	uint32_t fx_mxcsr_mask;
	struct nvmm_x64_fpu_reg fx_87_ac[8];
	struct nvmm_x64_fpu_xmm fx_xmm[16];
	uint8_t fx_rsvd[48];
	uint8_t fx_kernel[48];
} __attribute__((aligned(16)));

struct nvmm_x64_state {
	struct nvmm_x64_state_seg segs[NVMM_X64_NSEG];
	uint64_t gprs[NVMM_X64_NGPR];
	uint64_t crs[NVMM_X64_NCR];
	uint64_t drs[NVMM_X64_NDR];
	uint64_t msrs[NVMM_X64_NMSR];
	struct nvmm_x64_state_intr intr;
	struct nvmm_x64_state_fpu fpu;
};

#define nvmm_vcpu_exit nvmm_x86_exit
#define nvmm_vcpu_event nvmm_x86_event
#define nvmm_vcpu_state nvmm_x64_state

/* ------------------------------------------------------------------------ */
/* Configuration.                                                            */

#define NVMM_MACH_CONF_LIBNVMM_BEGIN 0
#define NVMM_MACH_CONF_MI_BEGIN 100
#define NVMM_MACH_CONF_MD_BEGIN 200
#define NVMM_MACH_CONF_MD(op) ((op) - NVMM_MACH_CONF_MD_BEGIN)

#define NVMM_VCPU_CONF_LIBNVMM_BEGIN 0
#define NVMM_VCPU_CONF_MI_BEGIN 100
#define NVMM_VCPU_CONF_MD_BEGIN 200
#define NVMM_VCPU_CONF_MD(op) ((op) - NVMM_VCPU_CONF_MD_BEGIN)

#define NVMM_VCPU_CONF_CALLBACKS NVMM_VCPU_CONF_LIBNVMM_BEGIN
#define NVMM_VCPU_CONF_CPUID NVMM_VCPU_CONF_MD_BEGIN
#define NVMM_VCPU_CONF_TPR (NVMM_VCPU_CONF_MD_BEGIN + 1)

struct nvmm_vcpu_conf_cpuid {
	uint32_t mask:1;	/* apply the set/del masks below */
	uint32_t exit:1;	/* make CPUID of this leaf exit */
	uint32_t rsvd:30;
	uint32_t leaf;		/* matched against EAX */
	union {
		struct {
			struct {
				uint32_t eax;
				uint32_t ebx;
				uint32_t ecx;
				uint32_t edx;
			} set;
			struct {
				uint32_t eax;
				uint32_t ebx;
				uint32_t ecx;
				uint32_t edx;
			} del;
		} mask;
	} u;
};

struct nvmm_vcpu_conf_tpr {
	uint32_t exit_changed:1;
	uint32_t rsvd:31;
};

/* ------------------------------------------------------------------------ */
/* Control operations (nvmm_ctl).                                            */

#define NVMM_CTL_MACH_INFO 0

struct nvmm_ctl_mach_info {
	nvmm_machid_t machid;	/* in */
	uint32_t nvcpus;	/* out */
	uint64_t nram;		/* out: bytes of host memory registered */
	pid_t pid;		/* out: owner */
	time_t time;		/* out: creation, seconds since the epoch */
};

/* ------------------------------------------------------------------------ */
/* Library objects.                                                          */

struct nvmm_comm_page;

struct nvmm_io {
	struct nvmm_machine *mach;
	struct nvmm_vcpu *vcpu;
	uint16_t port;
	bool in;
	size_t size;
	uint8_t *data;
};

struct nvmm_mem {
	struct nvmm_machine *mach;
	struct nvmm_vcpu *vcpu;
	gpaddr_t gpa;
	bool write;
	size_t size;
	uint8_t *data;
};

struct nvmm_assist_callbacks {
	void (*io)(struct nvmm_io *);
	void (*mem)(struct nvmm_mem *);
};

struct nvmm_machine {
	nvmm_machid_t machid;
	struct nvmm_comm_page **pages;	/* library-private */
	void *areas;			/* library-private */
};

struct nvmm_vcpu {
	nvmm_cpuid_t cpuid;
	struct nvmm_assist_callbacks cbs;
	struct nvmm_vcpu_state *state;
	struct nvmm_vcpu_event *event;
	struct nvmm_vcpu_exit *exit;
	volatile int *stop;
};

/* ------------------------------------------------------------------------ */
/* Functions: each returns 0, or -1 with errno set.                          */

int nvmm_init(void);
int nvmm_root_init(void);

int nvmm_capability(struct nvmm_capability *);

int nvmm_machine_create(struct nvmm_machine *);
int nvmm_machine_destroy(struct nvmm_machine *);
int nvmm_machine_configure(struct nvmm_machine *, uint64_t, void *);

int nvmm_vcpu_create(struct nvmm_machine *, nvmm_cpuid_t, struct nvmm_vcpu *);
int nvmm_vcpu_destroy(struct nvmm_machine *, struct nvmm_vcpu *);
int nvmm_vcpu_configure(struct nvmm_machine *, struct nvmm_vcpu *, uint64_t,
    void *);
int nvmm_vcpu_setstate(struct nvmm_machine *, struct nvmm_vcpu *, uint64_t);
int nvmm_vcpu_getstate(struct nvmm_machine *, struct nvmm_vcpu *, uint64_t);
int nvmm_vcpu_inject(struct nvmm_machine *, struct nvmm_vcpu *);
int nvmm_vcpu_run(struct nvmm_machine *, struct nvmm_vcpu *);
int nvmm_vcpu_stop(struct nvmm_vcpu *);

int nvmm_gpa_map(struct nvmm_machine *, uintptr_t, gpaddr_t, size_t, int);
int nvmm_gpa_unmap(struct nvmm_machine *, uintptr_t, gpaddr_t, size_t);
int nvmm_hva_map(struct nvmm_machine *, uintptr_t, size_t);
int nvmm_hva_unmap(struct nvmm_machine *, uintptr_t, size_t);

int nvmm_gva_to_gpa(struct nvmm_machine *, struct nvmm_vcpu *, gvaddr_t,
    gpaddr_t *, nvmm_prot_t *);
int nvmm_gpa_to_hva(struct nvmm_machine *, gpaddr_t, uintptr_t *,
    nvmm_prot_t *);

int nvmm_assist_io(struct nvmm_machine *, struct nvmm_vcpu *);
int nvmm_assist_mem(struct nvmm_machine *, struct nvmm_vcpu *);

int nvmm_ctl(int, void *, size_t);

int nvmm_vcpu_dump(struct nvmm_machine *, struct nvmm_vcpu *);

/* ------------------------------------------------------------------------ */
/* Layout checks: these sizes are the ABI shared with NetBSD's clients.      */

#if defined(__x86_64__) && !defined(__cplusplus)
_Static_assert(sizeof(struct nvmm_x64_state_seg) == 16, "segment layout");
_Static_assert(sizeof(struct nvmm_x64_state_fpu) == 512, "FXSAVE layout");
_Static_assert(sizeof(((struct nvmm_x64_state_fpu *)0)->fx_87_ac) == 128,
    "x87 registers");
_Static_assert(offsetof(struct nvmm_x64_state, fpu) == 496, "fpu offset");
_Static_assert(sizeof(struct nvmm_x64_state) == 1008, "state layout");
_Static_assert(_Alignof(struct nvmm_x64_state) == 16, "state alignment");
_Static_assert(sizeof(struct nvmm_x86_exit) == 64, "exit layout");
_Static_assert(sizeof(struct nvmm_x86_event) == 16, "event layout");
_Static_assert(sizeof(struct nvmm_capability) == 104, "capability layout");
_Static_assert(sizeof(struct nvmm_vcpu_conf_cpuid) == 40, "cpuid conf");
_Static_assert(sizeof(struct nvmm_ctl_mach_info) == 32, "mach info");
#endif

#ifdef __cplusplus
}
#endif

#endif /* NVMM_H */

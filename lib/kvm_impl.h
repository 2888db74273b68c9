/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kvm_impl.h: private objects of the KVM backend (backend_kvm*.c).
 */
#ifndef KVM_IMPL_H
#define KVM_IMPL_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "nvmm_impl.h"
#include "x86_decode.h"
#include "nvmm_x86_msr.h"

/* What KVM still has to finish for the last exit at its next KVM_RUN. */
enum kvm_pending {
	KVM_PENDING_NONE,
	KVM_PENDING_IO,		/* IN/OUT: the library view is predicted */
	KVM_PENDING_IO_STRING,	/* INS/OUTS: completed inside the assist */
	KVM_PENDING_MMIO,	/* MMIO read/write fragment */
	KVM_PENDING_MSR,	/* RDMSR/WRMSR: completed at the next run */
};

/* An IO instruction, as an exit is matched against it. */
struct kvm_io_insn {
	uint8_t len;
	uint8_t opsize;
	uint8_t adsize;
	int8_t seg;
	bool in;
	bool str;
	bool rep;		/* a REP string */
	bool imm;		/* port in `port`, else in DX */
	uint8_t port;
};

#define KVM_IO_INSN_MAX		15

/*
 * The IO instructions around the RIP of the last IO exit: the one starting
 * at RIP and those ending there (backend_kvm_io.c). A guest's IO loop
 * exits at the same RIP again: the scan is reused while the paging state,
 * the memory map and the bytes [lin - back_bytes, lin + fwd_bytes) are
 * unchanged.
 */
struct kvm_io_cache {
	bool valid;
	uint64_t lin;			/* linear address of RIP */
	uint64_t cr0, cr3, cr4, efer;
	uint64_t map_gen;
	int mode;			/* enum x86_code_size */
	const uint8_t *hva[2];		/* the bytes in guest RAM (2 pages) */
	uint8_t hlen[2];
	uint8_t win[2 * KVM_IO_INSN_MAX];
	uint8_t back_bytes, fwd_bytes;
	bool has_fwd;
	struct kvm_io_insn fwd;		/* starting at RIP */
	bool back_scanned;
	uint8_t nback;
	struct kvm_io_insn back[KVM_IO_INSN_MAX];	/* ending at RIP */
};

/* The instruction of an IO exit; past: RIP is already after it. */
struct kvm_io_pick {
	const struct kvm_io_insn *insn;	/* NULL: none fits */
	bool past;
	const struct kvm_io_insn *alt;	/* a string and a non-string fit */
	bool alt_past;
};

/* Exits that this KVM reports with RIP already past the instruction. */
#define KVM_IO_PAST_OUT		0x1	/* OUT */
#define KVM_IO_PAST_OUTS	0x2	/* OUTS without REP */

struct kvm_cpu {
	int fd;
	struct kvm_run *run;
	size_t run_size;
	bool has_run;			/* KVM_RUN was called once */
	volatile pid_t tid;		/* thread inside KVM_RUN, or 0 */

	/* Storage behind nvmm_vcpu::state/event/exit. */
	struct nvmm_x64_state state;
	struct nvmm_x86_event event;
	struct nvmm_x86_exit exit;
	uint64_t cached;
	uint64_t commit;
	bool event_commit;

	enum kvm_pending pending;
	bool deferred_exit;		/* run->exit_reason not yet reported */
	bool int_window;		/* NVMM int_window_exiting */
	bool nmi_window;		/* NVMM nmi_window_exiting */
	uint64_t xcr0;			/* last XCR0 loaded into KVM */
	struct kvm_io_cache io_cache;
	struct kvm_io_cache io_cache_once;	/* an uncacheable decode */

	struct nvmm_vcpu_conf_cpuid cpuid_conf[LIB_CPUID_MAXOPS];
	unsigned ncpuid_conf;

	struct nvmm_x86_msrs msrs;	/* answered by the library, not KVM */
};

/*
 * KVM cannot destroy a VCPU before its VM: a destroyed VCPU's fd and
 * kvm_run are parked here and reused, reset, if the id is created again.
 */
struct kvm_parked_vcpu {
	int fd;
	struct kvm_run *run;		/* NULL: nothing parked */
};

struct kvm_machine {
	int fd;
	uint8_t *slots;			/* slot id -> in use */
	unsigned nslots;
	struct kvm_parked_vcpu parked[LIB_MAX_VCPUS];
};

/* backend_kvm_state.c */
void kvm_state_reset(struct nvmm_x64_state *st);
int kvm_state_fetch(struct kvm_cpu *c, uint64_t flags);
int kvm_state_commit(struct kvm_cpu *c);
void kvm_gprs_from_run(struct kvm_cpu *c);
int kvm_snapshot_init(struct kvm_cpu *c);

/* backend_kvm_cpuid.c */
int kvm_cpuid_init(int kvm_fd);
int kvm_cpuid_apply(struct kvm_cpu *c, nvmm_cpuid_t cpuid);
int kvm_cpuid_configure(struct kvm_cpu *c, const struct nvmm_vcpu_conf_cpuid *cf);
int kvm_msr_filter_install(int vm_fd);
uint64_t kvm_cpuid_xcr0_mask(void);

/* backend_kvm_io.c */
void kvm_io_scan_fwd(struct kvm_io_cache *ic, const uint8_t *bytes, size_t n,
    enum x86_code_size cs);
void kvm_io_scan_back(struct kvm_io_cache *ic, const uint8_t *end, size_t nb,
    enum x86_code_size cs);
bool kvm_io_needs_back(const struct kvm_io_cache *ic, const struct kvm_run *run,
    unsigned past);
void kvm_io_choose(const struct kvm_io_cache *ic, const struct kvm_run *run,
    unsigned past, struct kvm_io_pick *pick);
unsigned kvm_io_probe(int kvm_fd, size_t run_size);

#endif /* KVM_IMPL_H */

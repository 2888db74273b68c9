/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0 */
/*
 * nvmm_kern.h: the objects of nvmm.ko, shared by its files.
 *
 * Locking, outermost first:
 *   machine->lock (rwsem)       read: every operation on the machine or one
 *                               of its VCPUs; write: VCPU create/destroy,
 *                               machine destroy. Taken only after the
 *                               owner check passed (an owner never waits on
 *                               another owner's machine), never held across
 *                               a copy from or to an ioctl argument
 *   vcpu->lock (mutex)          one operation at a time on a VCPU
 *   nvmm_machines_lock (mutex)  the slots' `busy` flags (taken alone)
 *   nvmm_comm_lock (spin)       `present`, `owner`, VCPU comm page pointers
 *   machine->mmu_lock (spin)    segment tables, nested page table, notifier
 *                               sequence; remote TLB kicks are sent under it
 */
#ifndef NVMM_KERN_H
#define NVMM_KERN_H

#include <linux/cpumask.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/types.h>

#include "nvmm.h"
#include "nvmm_ioctl.h"
#include "nvmm_x86_msr.h"

#define NVMM_MAX_GSEGS		1024	/* gpa mappings per machine */
#define NVMM_MAX_HSEGS		1024	/* hva mappings per machine */
#define NVMM_VCPUS_LIMIT	256	/* the comm page offset has 8 bits */
#define NVMM_MACHINES_LIMIT	256

extern unsigned int nvmm_max_machines;
extern unsigned int nvmm_max_vcpus;
extern unsigned long nvmm_max_ram;

/*
 * One per open file of /dev/nvmm. A root owner (a write-only open by a
 * process with CAP_SYS_ADMIN) may operate on every machine but creates
 * none; machines always belong to the ordinary owner that created them.
 */
struct nvmm_owner {
	pid_t pid;
	bool root;
};

struct nvmm_gseg {
	u64 gpa;
	u64 hva;
	u64 size;
	u32 prot;
};

struct nvmm_hseg {
	u64 hva;
	u64 size;
};

struct nvmm_kmachine;

/* What the guest's CPUID (filter and masks) gives, cached per VCPU. */
struct nvmm_x86_feats {
	bool valid;			/* cleared by NVMM_VCPU_CONF_CPUID */
	bool rdtscp, rdpid;
	u64 cr4_ok, efer_ok;		/* bits a write may set */
};

struct nvmm_cpu {
	struct mutex lock;
	struct nvmm_kmachine *mach;
	u32 cpuid;
	struct page *comm_page;
	struct nvmm_comm_page *comm;

	/* SVM */
	void *vmcb;			/* struct vmcb */
	u64 vmcb_pa;
	u64 gprs[16];			/* NVMM_X64_GPR_* order; RAX, RSP in VMCB */
	u32 asid;
	int last_hcpu;			/* host CPU of the last VMRUN, -1 */
	bool tlb_flush;			/* flush the guest's TLB at next entry */
	u64 tlb_gen;			/* machine generation last seen */
	u64 xcr0;
	u64 drs[4];			/* DR0-DR3 */
	u64 tsc_offset_pending;		/* valid when tsc_pending */
	bool tsc_pending;
	bool int_window;
	bool nmi_window;
	bool reinject;			/* exit_int_info to inject again */
	u64 reinject_info;		/* EVENTINJ format incl. error code */
	bool held;			/* the program's interrupt, waiting */
	u64 held_info;			/* ... for the window after reinject */
	bool iret_step;			/* NMI handler's IRET running, TF set */
	bool iret_step_tf;		/* ... and the guest had TF itself */
	u64 iret_step_dr6;		/* DR6 before the step */
	u32 pkru;			/* guest PKRU (CR4.PKE) */
	u64 tsc_aux;			/* guest MSR_TSC_AUX */
	struct nvmm_x64_state_fpu gfpu;	/* guest x87/SSE, FXSAVE format */
	struct nvmm_x86_msrs msrs;	/* MSRs of nvmm_x86_msr.h kept per VCPU */

	/* NVMM_VCPU_CONF_CPUID table */
	struct nvmm_vcpu_conf_cpuid cpuidconf[32];
	struct nvmm_x86_feats feats;
};

struct nvmm_kmachine {
	struct rw_semaphore lock;
	bool busy;			/* slot taken (nvmm_machines_lock) */
	bool present;			/* published (nvmm_comm_lock) */
	u32 machid;
	struct nvmm_owner *owner;
	pid_t pid;
	time64_t ctime;

	struct nvmm_cpu **vcpus;	/* nvmm_max_vcpus entries */
	unsigned int nvcpus;

	/* Memory (nvmm_mem.c) */
	struct mm_struct *mm;		/* the owner's, grabbed */
	struct mmu_notifier mn;
	bool mn_registered;
	spinlock_t mmu_lock;
	struct nvmm_gseg *gsegs;
	unsigned int ngsegs;
	struct nvmm_hseg *hsegs;
	unsigned int nhsegs;
	u64 *npt_root;			/* nested page table, host format */
	unsigned long mn_seq;		/* bumped by every invalidation */
	int mn_active;			/* invalidations in progress */
	u64 gsegs_gen;			/* bumped by every gsegs change */
	atomic64_t tlb_gen;		/* bumped when entries were removed */
	cpumask_var_t guest_cpus;	/* CPUs in guest mode for us */

	u64 ibpb_domain;		/* per machine, never reused (nvmm_svm.c) */
};

/* nvmm_mem.c */
void nvmm_mem_global_init(void);
int nvmm_mem_npt_levels(void);
int nvmm_mem_init(struct nvmm_kmachine *mach);
void nvmm_mem_fini(struct nvmm_kmachine *mach);
int nvmm_mem_hva_map(struct nvmm_kmachine *mach, u64 hva, u64 size);
int nvmm_mem_hva_unmap(struct nvmm_kmachine *mach, u64 hva, u64 size);
int nvmm_mem_gpa_map(struct nvmm_kmachine *mach, u64 hva, u64 gpa, u64 size,
    u32 prot);
int nvmm_mem_gpa_unmap(struct nvmm_kmachine *mach, u64 gpa, u64 size);
u64 nvmm_mem_nram(struct nvmm_kmachine *mach);
/* 0: mapped, retry the access; 1: not ours, exit to userland; -errno */
int nvmm_mem_fault(struct nvmm_kmachine *mach, u64 gpa, bool write,
    bool exec);
u64 nvmm_npt_root_pa(struct nvmm_kmachine *mach);
/* Around each world switch, interrupts off: who to kick on zaps. */
void nvmm_mem_guest_enter(struct nvmm_kmachine *mach);
void nvmm_mem_guest_exit(struct nvmm_kmachine *mach);
int nvmm_mem_read(struct nvmm_kmachine *mach, u64 gpa, void *buf, size_t len);

/* nvmm_x86_cr.c: the registers the control-register rules look at. */
struct nvmm_x86_ctlregs {
	u64 cr0, cr3, cr4, efer, xcr0, dr6, dr7;
	bool cs_l, cs_d;
};
const struct nvmm_x86_feats *nvmm_x86_feats(struct nvmm_cpu *vcpu);
u64 nvmm_x86_cr4_allowed(struct nvmm_cpu *vcpu);	/* NULL: the host's */
u64 nvmm_x86_efer_allowed(struct nvmm_cpu *vcpu);
bool nvmm_x86_xcr0_valid(u64 xcr0);
const char *nvmm_x86_entry_invalid(const struct nvmm_x86_ctlregs *r,
    u64 cr4_ok, u64 efer_ok);
const char *nvmm_x86_state_invalid(struct nvmm_cpu *vcpu,
    const struct nvmm_x86_ctlregs *r);
bool nvmm_x86_cr4_write_ok(struct nvmm_cpu *vcpu,
    const struct nvmm_x86_ctlregs *r, u64 val);
bool nvmm_x86_cr0_write_ok(const struct nvmm_x86_ctlregs *r, u64 val);
bool nvmm_x86_efer_write_ok(struct nvmm_cpu *vcpu,
    const struct nvmm_x86_ctlregs *r, u64 val);

/* nvmm_x86_fetch.c: the guest's instruction bytes at a linear address. */
struct nvmm_x86_paging {
	u64 cr0, cr3, cr4, efer;
};
/* Bytes fetched (fewer than len where a page is not mapped). */
int nvmm_x86_fetch(struct nvmm_kmachine *mach, const struct nvmm_x86_paging *pg,
    u64 linear, u8 *buf, unsigned int len);
enum nvmm_x86_crw_kind { NVMM_X86_CRW_MOV, NVMM_X86_CRW_LMSW, NVMM_X86_CRW_CLTS };
struct nvmm_x86_crw {
	enum nvmm_x86_crw_kind kind;
	unsigned int cr;		/* MOV: the control register */
	unsigned int gpr;		/* MOV, LMSW: source, NVMM_X64_GPR_* */
	unsigned int len;		/* instruction length */
};
/* 0; -EOPNOTSUPP for LMSW from memory; -EINVAL: not such a write. */
int nvmm_x86_decode_crw(const u8 *b, unsigned int n, bool mode64,
    struct nvmm_x86_crw *op);
/* Length of prefixes + 0F op2 (no ModRM), or -EINVAL. */
int nvmm_x86_len_0f(const u8 *b, unsigned int n, bool mode64, u8 op2);

/* nvmm_x86.c */
extern u64 nvmm_xcr0_mask;
extern u32 nvmm_mxcsr_mask;
void nvmm_x86_init(void);
void nvmm_x86_reset_state(struct nvmm_x64_state *st);
void nvmm_x86_cpuid(struct nvmm_cpu *vcpu, u32 leaf, u32 subleaf, u64 cr4,
    u32 regs[4], bool *exit);
int nvmm_x86_conf_cpuid(struct nvmm_cpu *vcpu,
    const struct nvmm_vcpu_conf_cpuid *c);
bool nvmm_x86_pat_valid(u64 pat);
int nvmm_x86_event_check(const struct nvmm_x86_event *ev);

/* nvmm_svm.c */
int nvmm_svm_init(void);
void nvmm_svm_fini(void);
void nvmm_svm_capability(struct nvmm_capability *cap);
int nvmm_svm_vcpu_create(struct nvmm_kmachine *mach, struct nvmm_cpu *vcpu);
void nvmm_svm_vcpu_destroy(struct nvmm_cpu *vcpu);
int nvmm_svm_setstate(struct nvmm_cpu *vcpu, u64 flags);
void nvmm_svm_getstate(struct nvmm_cpu *vcpu, u64 flags);
/* 0, or -EBUSY: two interrupts already wait to go in. */
int nvmm_svm_inject(struct nvmm_cpu *vcpu,
    const struct nvmm_x86_event *ev);
int nvmm_svm_run(struct nvmm_kmachine *mach, struct nvmm_cpu *vcpu,
    struct nvmm_x86_exit *exit);

#endif /* NVMM_KERN_H */

// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0
/*
 * nvmm_mem.c: guest memory. The owner process registers host ranges
 * (hva_map) and maps guest-physical ranges onto them (gpa_map). The nested
 * page table is filled on demand: a nested fault on a mapped GPA looks the
 * user page up and installs a leaf entry.
 *
 * No page is pinned (KVM's model): the reference taken by the lookup is
 * dropped once the entry is in, and the MMU notifier removes entries
 * before the host mapping changes (munmap, MADV_DONTNEED, migration,
 * compaction, reclaim, KSM), so the guest never keeps a page the process
 * no longer has, and guest RAM stays movable and swappable like the rest
 * of the process (it is charged to the process's memory cgroup, not to
 * RLIMIT_MEMLOCK). Entries also go on gpa_unmap and machine destruction.
 *
 * Removing entries ("zapping") kicks out of guest mode only the CPUs that
 * run one of this machine's VCPUs, and long zaps stop for the scheduler
 * between 2 MiB steps (after flushing what they removed so far).
 */
#include <linux/cpumask.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/smp.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/io.h>
#include <asm/processor.h>
#include <asm/special_insns.h>

#include "nvmm_kern.h"

#define NPT_P		(1ULL << 0)
#define NPT_RW		(1ULL << 1)
#define NPT_US		(1ULL << 2)
#define NPT_A		(1ULL << 5)
#define NPT_D		(1ULL << 6)
#define NPT_NX		(1ULL << 63)
#define NPT_ADDR	0x000FFFFFFFFFF000ULL
#define NPT_TABLE	(NPT_P | NPT_RW | NPT_US | NPT_A)

static int npt_levels = 4;

void
nvmm_mem_global_init(void)
{
	/* Nested paging walks with the host's paging mode. */
	npt_levels = (native_read_cr4() & X86_CR4_LA57) ? 5 : 4;
}

int
nvmm_mem_npt_levels(void)
{
	return npt_levels;
}

static inline unsigned int
npt_shift(int level)
{
	return 12 + 9 * (level - 1);
}

/* ------------------------------------------------------------------------ */
/* Nested page table                                                         */

/*
 * Remove the leaf entries of [lo, hi) below `table` (which maps `base` at
 * `level`). Returns the number of leaves removed. mmu_lock held. The pages
 * are still mapped by the process (its notifier call comes first), so
 * marking them dirty is safe; no reference of ours is held on them.
 */
static unsigned long
npt_zap(u64 *table, int level, u64 base, u64 lo, u64 hi)
{
	u64 span = 1ULL << npt_shift(level);
	unsigned long n = 0;
	unsigned int i, first, last;

	if (lo < base)
		lo = base;
	if (level < 5 && hi > base + 512 * span)
		hi = base + 512 * span;
	if (lo >= hi)
		return 0;
	first = (lo - base) >> npt_shift(level);
	last = (hi - 1 - base) >> npt_shift(level);
	for (i = first; i <= last && i < 512; i++) {
		u64 e = table[i];

		if (!(e & NPT_P))
			continue;
		if (level == 1) {
			WRITE_ONCE(table[i], 0);
			if (e & NPT_RW)
				set_page_dirty(pfn_to_page((e & NPT_ADDR) >>
				    PAGE_SHIFT));
			n++;
			continue;
		}
		n += npt_zap(__va(e & NPT_ADDR), level - 1,
		    base + (u64)i * span, lo, hi);
	}
	return n;
}

/* Free the tables below `table`, then `table`. No leaf is left. */
static void
npt_free(u64 *table, int level)
{
	unsigned int i;

	for (i = 0; level > 1 && i < 512; i++) {
		if (!(table[i] & NPT_P))
			continue;
		npt_free(__va(table[i] & NPT_ADDR), level - 1);
		if (level == 2)
			cond_resched();
	}
	free_page((unsigned long)table);
}

static void
kick_nothing(void *arg)
{
}

/*
 * After entries were removed: every CPU in guest mode for this machine
 * leaves it (the IPI waits for each to take the interrupt, which a CPU in
 * guest mode does only after VMEXIT) and flushes its guest TLB at the next
 * entry (tlb_gen). A CPU entering from now on sees the new tlb_gen: it
 * publishes itself in guest_cpus before reading tlb_gen, we bump tlb_gen
 * before reading guest_cpus. mmu_lock held (preemption off, IRQs on).
 */
static void
npt_flush_remote(struct nvmm_kmachine *mach)
{
	atomic64_inc(&mach->tlb_gen);
	smp_mb__after_atomic();
	smp_call_function_many(mach->guest_cpus, kick_nothing, NULL, true);
}

void
nvmm_mem_guest_enter(struct nvmm_kmachine *mach)
{
	cpumask_set_cpu(smp_processor_id(), mach->guest_cpus);
	smp_mb__after_atomic();
}

void
nvmm_mem_guest_exit(struct nvmm_kmachine *mach)
{
	cpumask_clear_cpu(smp_processor_id(), mach->guest_cpus);
}

#define ZAP_STEP	(2ULL << 20)

/*
 * Remove the entries of [gpa, gpa+size) in ZAP_STEP steps; with
 * `may_block`, between steps, flush what was removed and let the scheduler
 * in (the lock may be dropped there: returns true if it was). Everything
 * removed is flushed before the lock is dropped or the function returns,
 * so an entry found missing by anyone else is gone from every TLB too.
 * mmu_lock held.
 */
static bool
zap_gpa(struct nvmm_kmachine *mach, u64 gpa, u64 size, bool may_block)
{
	u64 lo = gpa, end = min_t(u64, gpa + size, nvmm_max_ram);
	unsigned long pending = 0;
	bool dropped = false;

	if (mach->npt_root == NULL)
		return false;
	while (lo < end) {
		u64 hi = min_t(u64, end, round_down(lo, ZAP_STEP) + ZAP_STEP);

		pending += npt_zap(mach->npt_root, npt_levels, 0, lo, hi);
		lo = hi;
		if (lo < end && may_block && (need_resched() ||
		    spin_needbreak(&mach->mmu_lock))) {
			if (pending != 0)
				npt_flush_remote(mach);
			pending = 0;
			spin_unlock(&mach->mmu_lock);
			cond_resched();
			spin_lock(&mach->mmu_lock);
			dropped = true;
		}
	}
	if (pending != 0)
		npt_flush_remote(mach);
	return dropped;
}

u64
nvmm_npt_root_pa(struct nvmm_kmachine *mach)
{
	return __pa(mach->npt_root);
}

/* ------------------------------------------------------------------------ */
/* MMU notifier                                                              */

/*
 * Remove the entries of the guest ranges backed by [start, end). When a
 * step dropped the lock and the segment table changed meanwhile, start
 * over (what is already gone costs little to walk again). mmu_lock held.
 */
static void
zap_hva(struct nvmm_kmachine *mach, unsigned long start, unsigned long end,
    bool may_block)
{
	unsigned int i;
	u64 gen;

again:
	gen = mach->gsegs_gen;
	for (i = 0; i < mach->ngsegs; i++) {
		const struct nvmm_gseg *s = &mach->gsegs[i];
		u64 lo = max_t(u64, start, s->hva);
		u64 hi = min_t(u64, end, s->hva + s->size);

		if (lo >= hi)
			continue;
		if (zap_gpa(mach, s->gpa + (lo - s->hva), hi - lo, may_block) &&
		    mach->gsegs_gen != gen)
			goto again;
	}
}

static int
nvmm_mn_start(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	struct nvmm_kmachine *mach = container_of(mn, struct nvmm_kmachine, mn);

	spin_lock(&mach->mmu_lock);
	mach->mn_active++;
	mach->mn_seq++;
	zap_hva(mach, range->start, range->end,
	    mmu_notifier_range_blockable(range));
	spin_unlock(&mach->mmu_lock);
	return 0;
}

static void
nvmm_mn_end(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	struct nvmm_kmachine *mach = container_of(mn, struct nvmm_kmachine, mn);

	spin_lock(&mach->mmu_lock);
	mach->mn_seq++;
	mach->mn_active--;
	spin_unlock(&mach->mmu_lock);
}

static void
nvmm_mn_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct nvmm_kmachine *mach = container_of(mn, struct nvmm_kmachine, mn);

	spin_lock(&mach->mmu_lock);
	mach->mn_seq++;
	zap_hva(mach, 0, ~0UL, true);
	spin_unlock(&mach->mmu_lock);
}

static const struct mmu_notifier_ops nvmm_mn_ops = {
	.invalidate_range_start = nvmm_mn_start,
	.invalidate_range_end = nvmm_mn_end,
	.release = nvmm_mn_release,
};

/* ------------------------------------------------------------------------ */
/* Machine setup                                                             */

int
nvmm_mem_init(struct nvmm_kmachine *mach)
{
	int err;

	spin_lock_init(&mach->mmu_lock);
	mach->ngsegs = 0;
	mach->nhsegs = 0;
	mach->mn_seq = 0;
	mach->mn_active = 0;
	mach->gsegs_gen = 0;
	atomic64_set(&mach->tlb_gen, 0);
	if (!zalloc_cpumask_var(&mach->guest_cpus, GFP_KERNEL_ACCOUNT))
		return -ENOMEM;
	mach->gsegs = kvcalloc(NVMM_MAX_GSEGS, sizeof(*mach->gsegs),
	    GFP_KERNEL_ACCOUNT);
	mach->hsegs = kvcalloc(NVMM_MAX_HSEGS, sizeof(*mach->hsegs),
	    GFP_KERNEL_ACCOUNT);
	mach->npt_root = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (mach->gsegs == NULL || mach->hsegs == NULL ||
	    mach->npt_root == NULL) {
		err = -ENOMEM;
		goto fail;
	}
	mach->mm = current->mm;
	mmgrab(mach->mm);
	mach->mn.ops = &nvmm_mn_ops;
	err = mmu_notifier_register(&mach->mn, mach->mm);
	if (err) {
		mmdrop(mach->mm);
		mach->mm = NULL;
		goto fail;
	}
	mach->mn_registered = true;
	return 0;
fail:
	free_cpumask_var(mach->guest_cpus);
	kvfree(mach->gsegs);
	kvfree(mach->hsegs);
	if (mach->npt_root != NULL)
		free_page((unsigned long)mach->npt_root);
	mach->gsegs = NULL;
	mach->hsegs = NULL;
	mach->npt_root = NULL;
	return err;
}

/* No VCPU is left: nothing faults entries in any more. */
void
nvmm_mem_fini(struct nvmm_kmachine *mach)
{
	/* The leaves go while the notifier still guards their pages. */
	spin_lock(&mach->mmu_lock);
	zap_gpa(mach, 0, nvmm_max_ram, true);
	mach->ngsegs = 0;
	mach->nhsegs = 0;
	spin_unlock(&mach->mmu_lock);
	if (mach->mn_registered) {
		mmu_notifier_unregister(&mach->mn, mach->mm);
		mach->mn_registered = false;
	}
	if (mach->npt_root != NULL)
		npt_free(mach->npt_root, npt_levels);
	mach->npt_root = NULL;
	free_cpumask_var(mach->guest_cpus);
	kvfree(mach->gsegs);
	kvfree(mach->hsegs);
	mach->gsegs = NULL;
	mach->hsegs = NULL;
	if (mach->mm != NULL)
		mmdrop(mach->mm);
	mach->mm = NULL;
}

/* ------------------------------------------------------------------------ */
/* Mappings                                                                  */

static bool
overlap(u64 a, u64 asz, u64 b, u64 bsz)
{
	return a < b + bsz && b < a + asz;
}

static bool
range_ok(u64 addr, u64 size)
{
	return size != 0 && PAGE_ALIGNED(addr) && PAGE_ALIGNED(size) &&
	    addr + size > addr;
}

int
nvmm_mem_hva_map(struct nvmm_kmachine *mach, u64 hva, u64 size)
{
	unsigned int i;
	int err = 0;

	if (hva == 0 || !range_ok(hva, size) || hva + size > TASK_SIZE_MAX)
		return -EINVAL;
	spin_lock(&mach->mmu_lock);
	for (i = 0; i < mach->nhsegs; i++) {
		if (overlap(hva, size, mach->hsegs[i].hva,
		    mach->hsegs[i].size)) {
			err = -EEXIST;
			goto out;
		}
	}
	if (mach->nhsegs == NVMM_MAX_HSEGS) {
		err = -ENOBUFS;
		goto out;
	}
	mach->hsegs[mach->nhsegs].hva = hva;
	mach->hsegs[mach->nhsegs].size = size;
	mach->nhsegs++;
out:
	spin_unlock(&mach->mmu_lock);
	return err;
}

int
nvmm_mem_hva_unmap(struct nvmm_kmachine *mach, u64 hva, u64 size)
{
	unsigned int i, j;
	int err = 0;

	spin_lock(&mach->mmu_lock);
	for (i = 0; i < mach->nhsegs; i++)
		if (mach->hsegs[i].hva == hva && mach->hsegs[i].size == size)
			break;
	if (i == mach->nhsegs) {
		err = -ENOENT;
		goto out;
	}
	for (j = 0; j < mach->ngsegs; j++) {
		if (overlap(hva, size, mach->gsegs[j].hva,
		    mach->gsegs[j].size)) {
			err = -EBUSY;
			goto out;
		}
	}
	mach->hsegs[i] = mach->hsegs[--mach->nhsegs];
out:
	spin_unlock(&mach->mmu_lock);
	return err;
}

int
nvmm_mem_gpa_map(struct nvmm_kmachine *mach, u64 hva, u64 gpa, u64 size, u32 prot)
{
	unsigned int i;
	int err = 0;

	if (hva == 0 || !range_ok(hva, size) || !range_ok(gpa, size) ||
	    gpa + size > nvmm_max_ram ||
	    (prot & ~(u32)(PROT_READ | PROT_WRITE | PROT_EXEC)) != 0)
		return -EINVAL;
	spin_lock(&mach->mmu_lock);
	for (i = 0; i < mach->nhsegs; i++) {
		const struct nvmm_hseg *h = &mach->hsegs[i];

		if (hva >= h->hva && hva + size <= h->hva + h->size)
			break;
	}
	if (i == mach->nhsegs) {
		err = -EINVAL;
		goto out;
	}
	for (i = 0; i < mach->ngsegs; i++) {
		if (overlap(gpa, size, mach->gsegs[i].gpa,
		    mach->gsegs[i].size)) {
			err = -EEXIST;
			goto out;
		}
	}
	if (mach->ngsegs == NVMM_MAX_GSEGS) {
		err = -ENOBUFS;
		goto out;
	}
	mach->gsegs[mach->ngsegs].gpa = gpa;
	mach->gsegs[mach->ngsegs].hva = hva;
	mach->gsegs[mach->ngsegs].size = size;
	mach->gsegs[mach->ngsegs].prot = prot;
	mach->ngsegs++;
	mach->gsegs_gen++;
	mach->mn_seq++;
out:
	spin_unlock(&mach->mmu_lock);
	return err;
}

/*
 * Unmap [gpa, gpa+size): segments inside it disappear, segments that stick
 * out keep their outer parts. The entries go first, with faults held off
 * as during a notifier invalidation, while the segments still exist: a
 * notifier call meeting a partly zapped range then still finds and zaps
 * it, and the segments change only once their range is empty.
 */
int
nvmm_mem_gpa_unmap(struct nvmm_kmachine *mach, u64 gpa, u64 size)
{
	unsigned int i;
	int err = 0;

	if (!range_ok(gpa, size) || gpa + size > nvmm_max_ram)
		return -EINVAL;
	spin_lock(&mach->mmu_lock);
	mach->mn_active++;
	mach->mn_seq++;
	zap_gpa(mach, gpa, size, true);
	for (i = 0; i < mach->ngsegs;) {
		struct nvmm_gseg *s = &mach->gsegs[i];
		u64 end = gpa + size, send = s->gpa + s->size;

		if (!overlap(gpa, size, s->gpa, s->size)) {
			i++;
			continue;
		}
		if (s->gpa < gpa && send > end) {
			/* Punch a hole: the right part becomes a new segment. */
			if (mach->ngsegs == NVMM_MAX_GSEGS) {
				err = -ENOBUFS;
				break;
			}
			mach->gsegs[mach->ngsegs] = *s;
			mach->gsegs[mach->ngsegs].gpa = end;
			mach->gsegs[mach->ngsegs].hva = s->hva + (end - s->gpa);
			mach->gsegs[mach->ngsegs].size = send - end;
			mach->ngsegs++;
			s->size = gpa - s->gpa;
			i++;
		} else if (s->gpa < gpa) {
			s->size = gpa - s->gpa;
			i++;
		} else if (send > end) {
			s->hva += end - s->gpa;
			s->size = send - end;
			s->gpa = end;
			i++;
		} else {
			*s = mach->gsegs[--mach->ngsegs];
		}
	}
	mach->gsegs_gen++;
	mach->mn_seq++;
	mach->mn_active--;
	spin_unlock(&mach->mmu_lock);
	return err;
}

u64
nvmm_mem_nram(struct nvmm_kmachine *mach)
{
	u64 n = 0;
	unsigned int i;

	spin_lock(&mach->mmu_lock);
	for (i = 0; i < mach->nhsegs; i++)
		n += mach->hsegs[i].size;
	spin_unlock(&mach->mmu_lock);
	return n;
}

/* ------------------------------------------------------------------------ */
/* Nested faults                                                             */

static const struct nvmm_gseg *
gseg_find(struct nvmm_kmachine *mach, u64 gpa)
{
	unsigned int i;

	for (i = 0; i < mach->ngsegs; i++) {
		const struct nvmm_gseg *s = &mach->gsegs[i];

		if (gpa >= s->gpa && gpa < s->gpa + s->size)
			return s;
	}
	return NULL;
}

/* Missing tables on the way to the leaf of `gpa`. mmu_lock held. */
static int
npt_missing(struct nvmm_kmachine *mach, u64 gpa)
{
	u64 *t = mach->npt_root;
	int level;

	for (level = npt_levels; level > 1; level--) {
		u64 e = t[(gpa >> npt_shift(level)) & 511];

		if (!(e & NPT_P))
			return level - 1;
		t = __va(e & NPT_ADDR);
	}
	return 0;
}

int
nvmm_mem_fault(struct nvmm_kmachine *mach, u64 gpa, bool write, bool exec)
{
	void *pool[5] = { NULL };
	const struct nvmm_gseg *s;
	struct page *page;
	unsigned long seq;
	int i, need, npool = 0, ret = 0;
	u64 hva, leaf, *t;
	bool writable, nx;

	if (gpa >= nvmm_max_ram)
		return 1;
	gpa &= PAGE_MASK;

	spin_lock(&mach->mmu_lock);
	s = gseg_find(mach, gpa);
	if (s == NULL || !(s->prot & PROT_READ) ||
	    (write && !(s->prot & PROT_WRITE)) ||
	    (exec && !(s->prot & PROT_EXEC))) {
		spin_unlock(&mach->mmu_lock);
		return 1;
	}
	hva = s->hva + (gpa - s->gpa);
	writable = s->prot & PROT_WRITE;
	nx = !(s->prot & PROT_EXEC);
	seq = mach->mn_seq;
	need = mach->mn_active ? -1 : npt_missing(mach, gpa);
	spin_unlock(&mach->mmu_lock);
	if (need < 0)
		return -EAGAIN;

	for (i = 0; i < need; i++) {
		pool[i] = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
		if (pool[i] == NULL) {
			ret = -ENOMEM;
			goto out;
		}
		npool++;
	}
	/* A reference for the time of the lookup only, not a pin. */
	if (get_user_pages_fast(hva, 1, writable ? FOLL_WRITE : 0, &page) != 1) {
		/* The host range is gone: let userland see the access. */
		ret = 1;
		goto out;
	}

	spin_lock(&mach->mmu_lock);
	if (mach->mn_seq != seq || mach->mn_active) {
		spin_unlock(&mach->mmu_lock);
		put_page(page);
		ret = -EAGAIN;
		goto out;
	}
	t = mach->npt_root;
	for (i = npt_levels; i > 1; i--) {
		u64 *e = &t[(gpa >> npt_shift(i)) & 511];

		if (!(*e & NPT_P)) {
			void *nt = pool[--npool];

			pool[npool] = NULL;
			WRITE_ONCE(*e, __pa(nt) | NPT_TABLE);
		}
		t = __va(*e & NPT_ADDR);
	}
	t = &t[(gpa >> 12) & 511];
	if (*t & NPT_P) {
		/* Another VCPU got there first. */
		spin_unlock(&mach->mmu_lock);
		put_page(page);
		goto out;
	}
	leaf = page_to_phys(page) | NPT_P | NPT_US | NPT_A | NPT_D;
	if (writable)
		leaf |= NPT_RW;
	if (nx)
		leaf |= NPT_NX;
	WRITE_ONCE(*t, leaf);
	spin_unlock(&mach->mmu_lock);
	/* From now on the notifier removes the entry before the page goes. */
	put_page(page);
out:
	for (i = 0; i < 5; i++)
		if (pool[i] != NULL)
			free_page((unsigned long)pool[i]);
	return ret;
}

/*
 * Copy `len` bytes of guest-physical memory at `gpa` (within one page) into
 * buf, for the few instructions the kernel decodes. 0, or 1 when gpa is not
 * guest RAM, or -EFAULT. The VCPU's thread runs in the owner's mm.
 */
int
nvmm_mem_read(struct nvmm_kmachine *mach, u64 gpa, void *buf, size_t len)
{
	const struct nvmm_gseg *s;
	u64 hva;

	if (len > PAGE_SIZE - (gpa & ~PAGE_MASK))
		return -EINVAL;
	spin_lock(&mach->mmu_lock);
	s = gseg_find(mach, gpa);
	if (s == NULL || !(s->prot & PROT_READ) || gpa + len > s->gpa + s->size) {
		spin_unlock(&mach->mmu_lock);
		return 1;
	}
	hva = s->hva + (gpa - s->gpa);
	spin_unlock(&mach->mmu_lock);
	if (copy_from_user(buf, u64_to_user_ptr(hva), len))
		return -EFAULT;
	return 0;
}

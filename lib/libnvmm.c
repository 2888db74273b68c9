/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libnvmm.c: the machine-independent half of libnvmm. It validates every
 * argument, keeps the machine/VCPU tables and the memory maps, implements
 * the state cache protocol (lazy setstate, cached getstate) and dispatches
 * to the selected backend.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backend.h"
#include "exit_stats.h"
#include "nvmm_impl.h"
#include "x86_assist.h"

static struct {
	pthread_mutex_t lock;		/* guards init and the machine table */
	const struct nvmm_backend *be;
	struct nvmm_capability cap;
	bool root;
	struct lib_machine *machines[LIB_MAX_MACHINES];
	/*
	 * Bumped in the child of every fork: a machine belongs to the process
	 * that created it (its memory is that process's), so a child's calls
	 * on it fail with EPERM before touching anything it shares with the
	 * parent (the comm pages, KVM's run structures).
	 */
	unsigned forks;
	bool atfork;			/* lib_forked is registered */
} lib = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void
lib_forked(void)
{
	lib.forks++;
}

/* -------------------------------------------------------------------------- */
/* Initialization and backend selection.                                      */

static int
try_backend(const struct nvmm_backend *be, bool root)
{
	struct nvmm_capability cap;

	memset(&cap, 0, sizeof(cap));
	if (be->init(root, &cap) == -1)
		return -1;
	lib.cap = cap;
	lib.be = be;
	lib.root = root;
	return 0;
}

static int
lib_init(bool root)
{
	const char *want;
	int ret = 0;

	pthread_mutex_lock(&lib.lock);
	if (lib.be != NULL)
		goto out;
	if (!lib.atfork && pthread_atfork(NULL, NULL, lib_forked) != 0) {
		errno = ENOMEM;
		ret = -1;
		goto out;
	}
	lib.atfork = true;
	want = getenv("NVMM_BACKEND");
	if (want != NULL && *want != '\0') {
		if (strcmp(want, "kvm") == 0)
			ret = try_backend(&nvmm_backend_kvm, root);
		else if (strcmp(want, "nvmm") == 0)
			ret = try_backend(&nvmm_backend_nvmm, root);
		else {
			errno = EINVAL;
			ret = -1;
		}
		goto out;
	}
	/* Default: our module if it opens, else KVM. */
	if (try_backend(&nvmm_backend_nvmm, root) == 0)
		goto out;
	if (try_backend(&nvmm_backend_kvm, root) == 0)
		goto out;
	errno = ENXIO;
	ret = -1;
out:
	pthread_mutex_unlock(&lib.lock);
	return ret;
}

int
nvmm_init(void)
{
	exit_stats_setup();
	return lib_init(false);
}

int
nvmm_root_init(void)
{
	return lib_init(true);
}

static int
check_init(void)
{
	if (__atomic_load_n(&lib.be, __ATOMIC_ACQUIRE) == NULL) {
		errno = ENXIO;
		return -1;
	}
	return 0;
}

int
nvmm_capability(struct nvmm_capability *cap)
{
	if (check_init() == -1)
		return -1;
	if (cap == NULL) {
		errno = EFAULT;
		return -1;
	}
	*cap = lib.cap;
	return 0;
}

/* -------------------------------------------------------------------------- */
/* Lookups.                                                                   */

static struct lib_machine *
get_machine(struct nvmm_machine *mach)
{
	struct lib_machine *lm;

	if (check_init() == -1)
		return NULL;
	if (mach == NULL) {
		errno = EFAULT;
		return NULL;
	}
	if (mach->machid >= LIB_MAX_MACHINES) {
		errno = EINVAL;
		return NULL;
	}
	lm = __atomic_load_n(&lib.machines[mach->machid], __ATOMIC_ACQUIRE);
	if (lm == NULL || lm->user != mach || mach->areas != lm) {
		errno = ENOENT;
		return NULL;
	}
	if (lm->forks != lib.forks) {
		errno = EPERM;
		return NULL;
	}
	return lm;
}

static struct lib_vcpu *
get_vcpu(struct lib_machine *lm, struct nvmm_vcpu *vcpu)
{
	struct lib_vcpu *lv;

	if (vcpu == NULL) {
		errno = EFAULT;
		return NULL;
	}
	if (vcpu->cpuid >= LIB_MAX_VCPUS) {
		errno = EINVAL;
		return NULL;
	}
	lv = __atomic_load_n(&lm->vcpus[vcpu->cpuid], __ATOMIC_ACQUIRE);
	if (lv == NULL) {
		errno = ENOENT;
		return NULL;
	}
	return lv;
}

/* -------------------------------------------------------------------------- */
/* Machines.                                                                  */

int
nvmm_machine_create(struct nvmm_machine *mach)
{
	struct lib_machine *lm;
	unsigned i;

	if (check_init() == -1)
		return -1;
	if (mach == NULL) {
		errno = EFAULT;
		return -1;
	}
	lm = calloc(1, sizeof(*lm));
	if (lm == NULL)
		return -1;
	pthread_rwlock_init(&lm->areas_lock, NULL);
	pthread_mutex_init(&lm->vcpus_lock, NULL);
	lm->user = mach;
	lm->ctime = time(NULL);
	lm->forks = lib.forks;

	pthread_mutex_lock(&lib.lock);
	for (i = 0; i < lib.cap.max_machines; i++)
		if (lib.machines[i] == NULL)
			break;
	if (i == lib.cap.max_machines) {
		pthread_mutex_unlock(&lib.lock);
		errno = ENOBUFS;
		goto fail;
	}
	lm->machid = i;
	if (lib.be->machine_create(lm) == -1) {
		int err = errno;
		pthread_mutex_unlock(&lib.lock);
		errno = err;
		goto fail;
	}
	memset(mach, 0, sizeof(*mach));
	mach->machid = i;
	mach->areas = lm;
	__atomic_store_n(&lib.machines[i], lm, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&lib.lock);
	return 0;

fail:
	pthread_rwlock_destroy(&lm->areas_lock);
	pthread_mutex_destroy(&lm->vcpus_lock);
	free(lm);
	return -1;
}

static void
vcpu_free(struct lib_machine *lm, struct lib_vcpu *lv)
{
	lib.be->vcpu_destroy(lm, lv);
	free(lv);
}

int
nvmm_machine_destroy(struct nvmm_machine *mach)
{
	struct lib_machine *lm;
	size_t i;

	pthread_mutex_lock(&lib.lock);
	lm = get_machine(mach);
	if (lm == NULL) {
		int err = errno;
		pthread_mutex_unlock(&lib.lock);
		errno = err;
		return -1;
	}
	__atomic_store_n(&lib.machines[lm->machid], NULL, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&lib.lock);

	for (i = 0; i < LIB_MAX_VCPUS; i++) {
		if (lm->vcpus[i] != NULL)
			vcpu_free(lm, lm->vcpus[i]);
	}
	for (i = 0; i < lm->ngpas; i++)
		lib.be->gpa_unmap(lm, &lm->gpas[i]);
	lib.be->machine_destroy(lm);
	free(lm->gpas);
	free(lm->hvas);
	pthread_rwlock_destroy(&lm->areas_lock);
	pthread_mutex_destroy(&lm->vcpus_lock);
	free(lm);
	mach->areas = NULL;
	return 0;
}

int
nvmm_machine_configure(struct nvmm_machine *mach, uint64_t op, void *conf)
{
	struct lib_machine *lm = get_machine(mach);

	if (lm == NULL)
		return -1;
	if (lib.be->machine_configure == NULL) {
		/* x86 defines no machine configuration operation. */
		errno = EINVAL;
		return -1;
	}
	return lib.be->machine_configure(lm, op, conf);
}

/* -------------------------------------------------------------------------- */
/* VCPUs.                                                                     */

int
nvmm_vcpu_create(struct nvmm_machine *mach, nvmm_cpuid_t cpuid,
    struct nvmm_vcpu *vcpu)
{
	struct lib_machine *lm = get_machine(mach);
	struct lib_vcpu *lv;

	if (lm == NULL)
		return -1;
	if (vcpu == NULL) {
		errno = EFAULT;
		return -1;
	}
	if (cpuid >= LIB_MAX_VCPUS || cpuid >= lib.cap.max_vcpus) {
		errno = EINVAL;
		return -1;
	}
	lv = calloc(1, sizeof(*lv));
	if (lv == NULL)
		return -1;
	lv->cpuid = cpuid;
	lv->user = vcpu;

	pthread_mutex_lock(&lm->vcpus_lock);
	if (lm->vcpus[cpuid] != NULL) {
		pthread_mutex_unlock(&lm->vcpus_lock);
		free(lv);
		errno = EEXIST;
		return -1;
	}
	if (lib.be->vcpu_create(lm, lv) == -1) {
		int err = errno;
		pthread_mutex_unlock(&lm->vcpus_lock);
		free(lv);
		errno = err;
		return -1;
	}
	memset(vcpu, 0, sizeof(*vcpu));
	vcpu->cpuid = cpuid;
	vcpu->state = lv->state;
	vcpu->event = lv->event;
	vcpu->exit = lv->exit;
	vcpu->stop = &lv->stop;
	lm->nvcpus++;
	__atomic_store_n(&lm->vcpus[cpuid], lv, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&lm->vcpus_lock);
	return 0;
}

int
nvmm_vcpu_destroy(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu)
{
	struct lib_machine *lm = get_machine(mach);
	struct lib_vcpu *lv;

	if (lm == NULL)
		return -1;
	pthread_mutex_lock(&lm->vcpus_lock);
	lv = get_vcpu(lm, vcpu);
	if (lv == NULL) {
		int err = errno;
		pthread_mutex_unlock(&lm->vcpus_lock);
		errno = err;
		return -1;
	}
	__atomic_store_n(&lm->vcpus[lv->cpuid], NULL, __ATOMIC_RELEASE);
	lm->nvcpus--;
	pthread_mutex_unlock(&lm->vcpus_lock);
	vcpu_free(lm, lv);
	return 0;
}

int
nvmm_vcpu_configure(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu,
    uint64_t op, void *conf)
{
	struct lib_machine *lm = get_machine(mach);
	struct lib_vcpu *lv;

	if (lm == NULL || (lv = get_vcpu(lm, vcpu)) == NULL)
		return -1;
	if (conf == NULL) {
		errno = EFAULT;
		return -1;
	}
	if (op == NVMM_VCPU_CONF_CALLBACKS) {
		memcpy(&lv->cbs, conf, sizeof(lv->cbs));
		vcpu->cbs = lv->cbs;
		return 0;
	}
	if (op < NVMM_VCPU_CONF_MD_BEGIN) {
		errno = EINVAL;
		return -1;
	}
	return lib.be->vcpu_configure(lm, lv, op, conf);
}

int
nvmm_vcpu_setstate(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu,
    uint64_t flags)
{
	struct lib_machine *lm = get_machine(mach);
	struct lib_vcpu *lv;

	if (lm == NULL || (lv = get_vcpu(lm, vcpu)) == NULL)
		return -1;
	if (flags & ~(uint64_t)NVMM_X64_STATE_ALL) {
		errno = EINVAL;
		return -1;
	}
	/* Lazy: the backend loads these components at the next run. */
	*lv->state_commit |= flags;
	*lv->state_cached |= flags;
	return 0;
}

int
nvmm_vcpu_getstate(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu,
    uint64_t flags)
{
	struct lib_machine *lm = get_machine(mach);
	struct lib_vcpu *lv;
	uint64_t missing;

	if (lm == NULL || (lv = get_vcpu(lm, vcpu)) == NULL)
		return -1;
	if (flags & ~(uint64_t)NVMM_X64_STATE_ALL) {
		errno = EINVAL;
		return -1;
	}
	missing = flags & ~*lv->state_cached;
	if (missing == 0)
		return 0;
	return lib.be->vcpu_getstate(lm, lv, missing);
}

int
nvmm_vcpu_inject(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu)
{
	struct lib_machine *lm = get_machine(mach);
	struct lib_vcpu *lv;

	if (lm == NULL || (lv = get_vcpu(lm, vcpu)) == NULL)
		return -1;
	if (!lib_event_valid(lv->event)) {
		errno = EINVAL;
		return -1;
	}
	*lv->event_commit = true;
	if (exit_stats_on)
		exit_stats_count_event(lv->event);
	return 0;
}

int
nvmm_vcpu_run(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu)
{
	struct lib_machine *lm = get_machine(mach);
	struct lib_vcpu *lv;

	int r;

	if (lm == NULL || (lv = get_vcpu(lm, vcpu)) == NULL)
		return -1;
	r = lib.be->vcpu_run(lm, lv);
	if (exit_stats_on && r == 0)
		exit_stats_count_exit(vcpu->exit);
	return r;
}

int
nvmm_vcpu_stop(struct nvmm_vcpu *vcpu)
{
	struct lib_vcpu *lv;

	/*
	 * Async-signal-safe: no lock, no allocation. vcpu->stop points into
	 * the library's VCPU object, which starts with the flag.
	 */
	if (vcpu == NULL || vcpu->stop == NULL) {
		errno = EFAULT;
		return -1;
	}
	lv = (struct lib_vcpu *)(uintptr_t)vcpu->stop;
	lv->stop = 1;
	lib.be->vcpu_stop(lv);
	return 0;
}

/* -------------------------------------------------------------------------- */
/* Memory.                                                                    */

static bool
page_aligned(uint64_t v)
{
	return (v & (LIB_PAGE_SIZE - 1)) == 0;
}

static bool
ranges_overlap(uint64_t a, uint64_t asz, uint64_t b, uint64_t bsz)
{
	return a < b + bsz && b < a + asz;
}

int
nvmm_hva_map(struct nvmm_machine *mach, uintptr_t hva, size_t size)
{
	struct lib_machine *lm = get_machine(mach);
	struct lib_hva_area *n;
	size_t i;
	int ret = -1;

	if (lm == NULL)
		return -1;
	if (hva == 0 || size == 0 || !page_aligned(hva) || !page_aligned(size) ||
	    hva + size < hva) {
		errno = EINVAL;
		return -1;
	}
	pthread_rwlock_wrlock(&lm->areas_lock);
	for (i = 0; i < lm->nhvas; i++) {
		if (ranges_overlap(hva, size, lm->hvas[i].hva,
		    lm->hvas[i].size)) {
			errno = EEXIST;
			goto out;
		}
	}
	if (lm->nhvas == LIB_MAX_HVA_AREAS) {
		errno = ENOBUFS;
		goto out;
	}
	n = realloc(lm->hvas, (lm->nhvas + 1) * sizeof(*n));
	if (n == NULL)
		goto out;
	lm->hvas = n;
	if (lib.be->hva_map != NULL && lib.be->hva_map(lm, hva, size) == -1)
		goto out;
	lm->hvas[lm->nhvas].hva = hva;
	lm->hvas[lm->nhvas].size = size;
	lm->nhvas++;
	ret = 0;
out:
	pthread_rwlock_unlock(&lm->areas_lock);
	return ret;
}

int
nvmm_hva_unmap(struct nvmm_machine *mach, uintptr_t hva, size_t size)
{
	struct lib_machine *lm = get_machine(mach);
	size_t i;
	int ret = -1;

	if (lm == NULL)
		return -1;
	pthread_rwlock_wrlock(&lm->areas_lock);
	for (i = 0; i < lm->nhvas; i++)
		if (lm->hvas[i].hva == hva && lm->hvas[i].size == size)
			break;
	if (i == lm->nhvas) {
		errno = ENOENT;
		goto out;
	}
	for (size_t j = 0; j < lm->ngpas; j++) {
		if (ranges_overlap(hva, size, lm->gpas[j].hva,
		    lm->gpas[j].size)) {
			/* Guest memory still mapped onto it. */
			errno = EBUSY;
			goto out;
		}
	}
	if (lib.be->hva_unmap != NULL && lib.be->hva_unmap(lm, hva, size) == -1)
		goto out;
	lm->hvas[i] = lm->hvas[--lm->nhvas];
	ret = 0;
out:
	pthread_rwlock_unlock(&lm->areas_lock);
	return ret;
}

static bool
hva_registered(struct lib_machine *lm, uintptr_t hva, size_t size)
{
	for (size_t i = 0; i < lm->nhvas; i++) {
		const struct lib_hva_area *h = &lm->hvas[i];
		if (hva >= h->hva && hva + size <= h->hva + h->size)
			return true;
	}
	return false;
}

static bool
gpa_range_valid(gpaddr_t gpa, size_t size)
{
	return size != 0 && page_aligned(gpa) && page_aligned(size) &&
	    gpa + size > gpa && gpa + size <= lib.cap.max_ram;
}

/* Insert an area into the list and the backend. Lock held (write). */
static int
area_add(struct lib_machine *lm, const struct lib_gpa_area *a)
{
	struct lib_gpa_area *n;

	n = realloc(lm->gpas, (lm->ngpas + 1) * sizeof(*n));
	if (n == NULL)
		return -1;
	lm->gpas = n;
	n[lm->ngpas] = *a;
	n[lm->ngpas].be = NULL;
	if (lib.be->gpa_map(lm, &n[lm->ngpas]) == -1)
		return -1;
	lm->ngpas++;
	__atomic_add_fetch(&lm->map_gen, 1, __ATOMIC_RELEASE);
	return 0;
}

int
nvmm_gpa_map(struct nvmm_machine *mach, uintptr_t hva, gpaddr_t gpa,
    size_t size, int prot)
{
	struct lib_machine *lm = get_machine(mach);
	struct lib_gpa_area a;
	size_t i;
	int ret = -1;

	if (lm == NULL)
		return -1;
	if (!gpa_range_valid(gpa, size) || hva == 0 || !page_aligned(hva) ||
	    (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) != 0) {
		errno = EINVAL;
		return -1;
	}
	pthread_rwlock_wrlock(&lm->areas_lock);
	if (!hva_registered(lm, hva, size)) {
		errno = EINVAL;
		goto out;
	}
	for (i = 0; i < lm->ngpas; i++) {
		if (ranges_overlap(gpa, size, lm->gpas[i].gpa,
		    lm->gpas[i].size)) {
			errno = EEXIST;
			goto out;
		}
	}
	a.gpa = gpa;
	a.hva = hva;
	a.size = size;
	a.prot = prot;
	ret = area_add(lm, &a);
out:
	pthread_rwlock_unlock(&lm->areas_lock);
	return ret;
}

/*
 * Unmap [gpa, gpa+size): every page of it must be mapped, possibly by
 * several areas; areas that stick out on either side are split and their
 * remainders stay mapped.
 */
int
nvmm_gpa_unmap(struct nvmm_machine *mach, uintptr_t hva, gpaddr_t gpa,
    size_t size)
{
	struct lib_machine *lm = get_machine(mach);
	uint64_t covered = 0;
	size_t i;
	int ret = -1;

	if (lm == NULL)
		return -1;
	if (!gpa_range_valid(gpa, size)) {
		errno = EINVAL;
		return -1;
	}
	pthread_rwlock_wrlock(&lm->areas_lock);
	for (i = 0; i < lm->ngpas; i++) {
		const struct lib_gpa_area *a = &lm->gpas[i];
		uint64_t lo, hi;

		if (!ranges_overlap(gpa, size, a->gpa, a->size))
			continue;
		lo = gpa > a->gpa ? gpa : a->gpa;
		hi = gpa + size < a->gpa + a->size ? gpa + size :
		    a->gpa + a->size;
		/* The caller's hva must match the mapping's. */
		if (hva != 0 && a->hva + (lo - a->gpa) != hva + (lo - gpa)) {
			errno = EINVAL;
			goto out;
		}
		covered += hi - lo;
	}
	if (covered != size) {
		errno = ENOENT;
		goto out;
	}
	/* Reserve room for the worst case: two remainders. */
	{
		struct lib_gpa_area *n = realloc(lm->gpas,
		    (lm->ngpas + 2) * sizeof(*n));
		if (n == NULL)
			goto out;
		lm->gpas = n;
	}
	for (i = 0; i < lm->ngpas;) {
		struct lib_gpa_area a = lm->gpas[i];
		struct lib_gpa_area left, right;

		if (!ranges_overlap(gpa, size, a.gpa, a.size)) {
			i++;
			continue;
		}
		lib.be->gpa_unmap(lm, &lm->gpas[i]);
		lm->gpas[i] = lm->gpas[--lm->ngpas];
		__atomic_add_fetch(&lm->map_gen, 1, __ATOMIC_RELEASE);
		left = a;
		left.size = gpa > a.gpa ? gpa - a.gpa : 0;
		right = a;
		right.gpa = gpa + size;
		right.hva = a.hva + (right.gpa - a.gpa);
		right.size = a.gpa + a.size > gpa + size ?
		    a.gpa + a.size - (gpa + size) : 0;
		/* Remainders land at the end: the loop revisits them. */
		if (left.size != 0 && area_add(lm, &left) == -1)
			goto out;
		if (right.size != 0 && area_add(lm, &right) == -1)
			goto out;
	}
	ret = 0;
out:
	pthread_rwlock_unlock(&lm->areas_lock);
	return ret;
}

int
lib_gpa_lookup(struct lib_machine *lm, gpaddr_t gpa, uintptr_t *hva,
    size_t *avail, int *prot)
{
	size_t i;
	int ret = -1;

	pthread_rwlock_rdlock(&lm->areas_lock);
	for (i = 0; i < lm->ngpas; i++) {
		const struct lib_gpa_area *a = &lm->gpas[i];
		if (gpa >= a->gpa && gpa < a->gpa + a->size) {
			*hva = a->hva + (gpa - a->gpa);
			if (avail != NULL)
				*avail = a->size - (gpa - a->gpa);
			if (prot != NULL)
				*prot = a->prot;
			ret = 0;
			break;
		}
	}
	pthread_rwlock_unlock(&lm->areas_lock);
	if (ret == -1)
		errno = ENOENT;
	return ret;
}

int
nvmm_gpa_to_hva(struct nvmm_machine *mach, gpaddr_t gpa, uintptr_t *hva,
    nvmm_prot_t *prot)
{
	struct lib_machine *lm = get_machine(mach);
	int p;

	if (lm == NULL)
		return -1;
	if (hva == NULL || prot == NULL) {
		errno = EFAULT;
		return -1;
	}
	if (lib_gpa_lookup(lm, gpa, hva, NULL, &p) == -1)
		return -1;
	/* PROT_* and NVMM_PROT_* share their values for R, W and X. */
	*prot = (nvmm_prot_t)(p & (PROT_READ | PROT_WRITE | PROT_EXEC));
	return 0;
}

/* -------------------------------------------------------------------------- */
/* Assists.                                                                   */

int
nvmm_assist_io(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu)
{
	struct lib_machine *lm = get_machine(mach);
	struct lib_vcpu *lv;

	if (lm == NULL || (lv = get_vcpu(lm, vcpu)) == NULL)
		return -1;
	if (lv->exit->reason != NVMM_VCPU_EXIT_IO) {
		errno = EINVAL;
		return -1;
	}
	if (lv->cbs.io == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (lib.be->assist_io != NULL)
		return lib.be->assist_io(lm, lv);
	return x86_assist_io_generic(mach, vcpu);
}

int
nvmm_assist_mem(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu)
{
	struct lib_machine *lm = get_machine(mach);
	const struct x86_assist_failure *fail;
	struct lib_vcpu *lv;

	if (lm == NULL || (lv = get_vcpu(lm, vcpu)) == NULL)
		return -1;
	if (lv->exit->reason != NVMM_VCPU_EXIT_MEMORY) {
		errno = EINVAL;
		return -1;
	}
	if (lv->cbs.mem == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (lib.be->assist_mem != NULL)
		return lib.be->assist_mem(lm, lv);
	if (x86_assist_mem_generic(mach, vcpu) == 0)
		return 0;
	/* The program may well abort on this: say what happened first. */
	fail = x86_assist_last_failure(mach, vcpu);
	if (fail != NULL) {
		int e = errno;
		char msg[200];

		x86_assist_failure_str(fail, msg, sizeof(msg));
		fprintf(stderr, "libnvmm: nvmm_assist_mem: VCPU %u: %s\n",
		    vcpu->cpuid, msg);
		errno = e;
	}
	return -1;
}

/* -------------------------------------------------------------------------- */
/* Control.                                                                   */

int
nvmm_ctl(int op, void *data, size_t size)
{
	struct nvmm_ctl_mach_info *info = data;
	struct lib_machine *lm;
	int ret = -1;

	if (check_init() == -1)
		return -1;
	if (lib.be->ctl != NULL)
		return lib.be->ctl(op, data, size);
	if (op != NVMM_CTL_MACH_INFO || size != sizeof(*info)) {
		errno = EINVAL;
		return -1;
	}
	if (info == NULL) {
		errno = EFAULT;
		return -1;
	}
	if (info->machid >= LIB_MAX_MACHINES) {
		errno = EINVAL;
		return -1;
	}
	/* Without a device that sees every process: this process only. */
	pthread_mutex_lock(&lib.lock);
	lm = lib.machines[info->machid];
	if (lm == NULL) {
		errno = ENOENT;
		goto out;
	}
	info->nvcpus = lm->nvcpus;
	info->nram = 0;
	pthread_rwlock_rdlock(&lm->areas_lock);
	for (size_t i = 0; i < lm->nhvas; i++)
		info->nram += lm->hvas[i].size;
	pthread_rwlock_unlock(&lm->areas_lock);
	info->pid = getpid();
	info->time = lm->ctime;
	ret = 0;
out:
	pthread_mutex_unlock(&lib.lock);
	return ret;
}

// SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0
/*
 * nvmm_main.c: /dev/nvmm. The machine-independent part of nvmm.ko: the
 * misc device, ownership (one owner per open file), the machine and VCPU
 * tables, the ioctls and the comm page mappings. See include/nvmm_ioctl.h
 * for the ABI and kernel/nvmm_kern.h for the locking.
 *
 * Root owner (as NetBSD's): a file opened write-only is a root owner,
 * allowed every operation on every machine (nvmmctl list). NetBSD relies
 * on the device's permissions; here the device may be shared with a group
 * (99-nvmm.rules), so the open also needs CAP_SYS_ADMIN (else EPERM),
 * checked once, at open. A root owner creates no machine (EPERM): a
 * write-only file cannot map comm pages (Linux's mmap needs read access),
 * so its machines would be unusable; every machine thus has an ordinary
 * owner and dies with that owner's file, whatever root owners come and go.
 */
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>

#include "nvmm_kern.h"

unsigned int nvmm_max_machines = 128;
module_param_named(max_machines, nvmm_max_machines, uint, 0444);
MODULE_PARM_DESC(max_machines, "machines per host (default 128, at most 256)");

unsigned int nvmm_max_vcpus = 256;
module_param_named(max_vcpus, nvmm_max_vcpus, uint, 0444);
MODULE_PARM_DESC(max_vcpus, "VCPUs per machine (default 256, at most 256)");

unsigned long nvmm_max_ram = 128UL << 30;
module_param_named(max_ram, nvmm_max_ram, ulong, 0444);
MODULE_PARM_DESC(max_ram, "bytes of guest-physical space per machine (default 128 GiB)");

static struct nvmm_kmachine *nvmm_machines;
/* Guards the slots' `busy` flags: which slots are taken. */
static DEFINE_MUTEX(nvmm_machines_lock);
/* Guards the `present`/`owner` fields and each machine's VCPU comm page
 * pointers: owner checks and mmap take no machine lock, so that no owner
 * ever waits on another owner's machine. */
static DEFINE_SPINLOCK(nvmm_comm_lock);

/* ------------------------------------------------------------------------ */
/* Lookups                                                                   */

/*
 * May `owner`, in the calling process, operate on `mach`? An ordinary
 * owner only in the process whose memory the machine uses: not a fork
 * child, nor a process that received the file. nvmm_comm_lock held.
 */
static int
machine_check(struct nvmm_owner *owner, struct nvmm_kmachine *mach)
{
	if (!mach->present)
		return -ENOENT;
	if (owner->root)
		return 0;
	if (mach->owner != owner || mach->mm != current->mm)
		return -EPERM;
	return 0;
}

static int
machine_check_locked(struct nvmm_owner *owner, struct nvmm_kmachine *mach)
{
	int err;

	spin_lock(&nvmm_comm_lock);
	err = machine_check(owner, mach);
	spin_unlock(&nvmm_comm_lock);
	return err;
}

static void
machine_unlock(struct nvmm_kmachine *mach, bool writer)
{
	if (writer)
		up_write(&mach->lock);
	else
		up_read(&mach->lock);
}

/*
 * Returns with mach->lock held (read or write) on success. The owner is
 * checked before the lock is taken (a foreign machine is refused without
 * waiting for it) and again once it is held.
 */
static int
machine_get(struct nvmm_owner *owner, u32 machid, bool writer,
    struct nvmm_kmachine **machp)
{
	struct nvmm_kmachine *mach;
	int err;

	if (machid >= nvmm_max_machines)
		return -EINVAL;
	mach = &nvmm_machines[array_index_nospec(machid, nvmm_max_machines)];
	err = machine_check_locked(owner, mach);
	if (err)
		return err;
	err = writer ? down_write_killable(&mach->lock) :
	    down_read_killable(&mach->lock);
	if (err)
		return err;
	err = machine_check_locked(owner, mach);
	if (err) {
		machine_unlock(mach, writer);
		return err;
	}
	*machp = mach;
	return 0;
}

/* Returns with mach->lock held for reading and vcpu->lock on success. */
static int
vcpu_get(struct nvmm_owner *owner, u32 machid, u32 cpuid,
    struct nvmm_kmachine **machp, struct nvmm_cpu **vcpup)
{
	struct nvmm_kmachine *mach;
	struct nvmm_cpu *vcpu;
	int err;

	err = machine_get(owner, machid, false, &mach);
	if (err)
		return err;
	if (cpuid >= nvmm_max_vcpus) {
		up_read(&mach->lock);
		return -EINVAL;
	}
	vcpu = mach->vcpus[array_index_nospec(cpuid, nvmm_max_vcpus)];
	if (vcpu == NULL) {
		up_read(&mach->lock);
		return -ENOENT;
	}
	if (mutex_lock_killable(&vcpu->lock)) {
		up_read(&mach->lock);
		return -EINTR;
	}
	*machp = mach;
	*vcpup = vcpu;
	return 0;
}

static void
vcpu_put(struct nvmm_kmachine *mach, struct nvmm_cpu *vcpu)
{
	mutex_unlock(&vcpu->lock);
	up_read(&mach->lock);
}

/* ------------------------------------------------------------------------ */
/* Machines and VCPUs                                                        */

static void
vcpu_free(struct nvmm_kmachine *mach, struct nvmm_cpu *vcpu)
{
	spin_lock(&nvmm_comm_lock);
	mach->vcpus[vcpu->cpuid] = NULL;
	spin_unlock(&nvmm_comm_lock);
	mach->nvcpus--;
	if (vcpu->vmcb != NULL)
		nvmm_svm_vcpu_destroy(vcpu);
	/* A user mapping keeps its own reference on the page. */
	if (vcpu->comm_page != NULL)
		__free_page(vcpu->comm_page);
	free_page((unsigned long)vcpu);
}

/* mach->lock held for writing. */
static void
machine_teardown(struct nvmm_kmachine *mach)
{
	unsigned int i;

	/* Lookups see it gone (ENOENT) before anything is taken down. */
	spin_lock(&nvmm_comm_lock);
	mach->present = false;
	mach->owner = NULL;
	spin_unlock(&nvmm_comm_lock);
	for (i = 0; i < nvmm_max_vcpus; i++)
		if (mach->vcpus[i] != NULL)
			vcpu_free(mach, mach->vcpus[i]);
	nvmm_mem_fini(mach);
	kvfree(mach->vcpus);
	mach->vcpus = NULL;
}

static void
slot_release(struct nvmm_kmachine *mach)
{
	mutex_lock(&nvmm_machines_lock);
	mach->busy = false;
	mutex_unlock(&nvmm_machines_lock);
}

/*
 * The slot is taken under nvmm_machines_lock alone and filled while it is
 * not present (invisible to every lookup), so creation never waits on
 * another machine; the identifier reaches the user before the machine is
 * published, with no lock held.
 */
static int
ioc_machine_create(struct nvmm_owner *owner, void __user *uarg)
{
	struct nvmm_ioc_machine_create args;
	struct nvmm_kmachine *mach = NULL;
	unsigned int i;
	int err;

	if (owner->root)
		return -EPERM;	/* see the top of this file */
	if (current->mm == NULL)
		return -EINVAL;
	mutex_lock(&nvmm_machines_lock);
	for (i = 0; i < nvmm_max_machines; i++) {
		if (!nvmm_machines[i].busy) {
			mach = &nvmm_machines[i];
			mach->busy = true;
			break;
		}
	}
	mutex_unlock(&nvmm_machines_lock);
	if (mach == NULL)
		return -ENOBUFS;

	mach->vcpus = kvcalloc(nvmm_max_vcpus, sizeof(*mach->vcpus),
	    GFP_KERNEL_ACCOUNT);
	if (mach->vcpus == NULL) {
		err = -ENOMEM;
		goto fail;
	}
	mach->nvcpus = 0;
	err = nvmm_mem_init(mach);
	if (err)
		goto fail;
	mach->machid = i;
	mach->pid = task_tgid_nr(current);
	mach->ctime = ktime_get_real_seconds();

	memset(&args, 0, sizeof(args));
	args.machid = i;
	if (copy_to_user(uarg, &args, sizeof(args))) {
		nvmm_mem_fini(mach);
		err = -EFAULT;
		goto fail;
	}
	spin_lock(&nvmm_comm_lock);
	mach->owner = owner;
	mach->present = true;
	spin_unlock(&nvmm_comm_lock);
	return 0;
fail:
	kvfree(mach->vcpus);
	mach->vcpus = NULL;
	slot_release(mach);
	return err;
}

static int
ioc_machine_destroy(struct nvmm_owner *owner, void __user *uarg)
{
	struct nvmm_ioc_machine_destroy args;
	struct nvmm_kmachine *mach;
	int err;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	err = machine_get(owner, args.machid, true, &mach);
	if (err)
		return err;
	machine_teardown(mach);
	up_write(&mach->lock);
	slot_release(mach);
	return 0;
}

static int
ioc_machine_configure(struct nvmm_owner *owner, void __user *uarg)
{
	struct nvmm_ioc_machine_configure args;
	struct nvmm_kmachine *mach;
	int err;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	err = machine_get(owner, args.machid, false, &mach);
	if (err)
		return err;
	/* x86 defines no machine configuration operation. */
	up_read(&mach->lock);
	return -EINVAL;
}

static int
ioc_vcpu_create(struct nvmm_owner *owner, void __user *uarg)
{
	struct nvmm_ioc_vcpu args;
	struct nvmm_kmachine *mach;
	struct nvmm_cpu *vcpu;
	int err;

	BUILD_BUG_ON(sizeof(struct nvmm_cpu) > PAGE_SIZE);
	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	err = machine_get(owner, args.machid, true, &mach);
	if (err)
		return err;
	if (args.cpuid >= nvmm_max_vcpus) {
		err = -EINVAL;
		goto out;
	}
	args.cpuid = array_index_nospec(args.cpuid, nvmm_max_vcpus);
	if (mach->vcpus[args.cpuid] != NULL) {
		err = -EEXIST;
		goto out;
	}
	vcpu = (struct nvmm_cpu *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (vcpu == NULL) {
		err = -ENOMEM;
		goto out;
	}
	mutex_init(&vcpu->lock);
	vcpu->mach = mach;
	vcpu->cpuid = args.cpuid;
	vcpu->comm_page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (vcpu->comm_page == NULL) {
		free_page((unsigned long)vcpu);
		err = -ENOMEM;
		goto out;
	}
	vcpu->comm = page_address(vcpu->comm_page);
	err = nvmm_svm_vcpu_create(mach, vcpu);
	if (err) {
		__free_page(vcpu->comm_page);
		free_page((unsigned long)vcpu);
		goto out;
	}
	/* Load the reset state. */
	nvmm_x86_reset_state(&vcpu->comm->state);
	nvmm_x86_msrs_reset(&vcpu->msrs);
	nvmm_svm_setstate(vcpu, NVMM_X64_STATE_ALL);
	vcpu->comm->state_cached = 0;

	spin_lock(&nvmm_comm_lock);
	mach->vcpus[args.cpuid] = vcpu;
	spin_unlock(&nvmm_comm_lock);
	mach->nvcpus++;
out:
	up_write(&mach->lock);
	return err;
}

static int
ioc_vcpu_destroy(struct nvmm_owner *owner, void __user *uarg)
{
	struct nvmm_ioc_vcpu args;
	struct nvmm_kmachine *mach;
	int err;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	err = machine_get(owner, args.machid, true, &mach);
	if (err)
		return err;
	if (args.cpuid >= nvmm_max_vcpus) {
		err = -EINVAL;
	} else {
		args.cpuid = array_index_nospec(args.cpuid, nvmm_max_vcpus);
		if (mach->vcpus[args.cpuid] == NULL)
			err = -ENOENT;
		else
			vcpu_free(mach, mach->vcpus[args.cpuid]);
	}
	up_write(&mach->lock);
	return err;
}

static int
ioc_vcpu_configure(struct nvmm_owner *owner, void __user *uarg)
{
	struct nvmm_ioc_vcpu_configure args;
	struct nvmm_vcpu_conf_cpuid conf;
	struct nvmm_kmachine *mach;
	struct nvmm_cpu *vcpu;
	int err;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	/* User memory is read before any lock is taken. */
	if (args.op == NVMM_VCPU_CONF_CPUID &&
	    copy_from_user(&conf, u64_to_user_ptr(args.conf), sizeof(conf)))
		return -EFAULT;
	err = vcpu_get(owner, args.machid, args.cpuid, &mach, &vcpu);
	if (err)
		return err;
	switch (args.op) {
	case NVMM_VCPU_CONF_CPUID:
		err = nvmm_x86_conf_cpuid(vcpu, &conf);
		break;
	case NVMM_VCPU_CONF_TPR:
		err = -EOPNOTSUPP;	/* VMX only */
		break;
	default:
		err = -EINVAL;
		break;
	}
	vcpu_put(mach, vcpu);
	return err;
}

static int
ioc_vcpu_state(struct nvmm_owner *owner, void __user *uarg, bool set)
{
	struct nvmm_ioc_vcpu args;
	struct nvmm_kmachine *mach;
	struct nvmm_cpu *vcpu;
	u64 flags;
	int err;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	err = vcpu_get(owner, args.machid, args.cpuid, &mach, &vcpu);
	if (err)
		return err;
	flags = READ_ONCE(vcpu->comm->state_wanted) & NVMM_X64_STATE_ALL;
	if (set) {
		err = nvmm_svm_setstate(vcpu, flags);
	} else {
		nvmm_svm_getstate(vcpu, flags);
		vcpu->comm->state_cached |= flags;
	}
	vcpu->comm->state_wanted = 0;
	vcpu_put(mach, vcpu);
	return err;
}

static int
ioc_vcpu_inject(struct nvmm_owner *owner, void __user *uarg)
{
	struct nvmm_ioc_vcpu args;
	struct nvmm_kmachine *mach;
	struct nvmm_cpu *vcpu;
	struct nvmm_x86_event ev;
	int err;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	err = vcpu_get(owner, args.machid, args.cpuid, &mach, &vcpu);
	if (err)
		return err;
	ev = vcpu->comm->event;
	err = nvmm_x86_event_check(&ev);
	if (!err)
		vcpu->comm->event_commit = true;
	vcpu_put(mach, vcpu);
	return err;
}

static int
ioc_vcpu_run(struct nvmm_owner *owner, void __user *uarg)
{
	struct nvmm_ioc_vcpu_run args;
	struct nvmm_kmachine *mach;
	struct nvmm_cpu *vcpu;
	struct nvmm_comm_page *comm;
	u64 commit, pre = 0;
	int err;

	if (copy_from_user(&args, uarg, offsetof(typeof(args), exit)))
		return -EFAULT;
	err = vcpu_get(owner, args.machid, args.cpuid, &mach, &vcpu);
	if (err)
		return err;
	if (current->mm != mach->mm) {
		/* Guest memory is the owner's address space. */
		err = -EPERM;
		goto out;
	}
	comm = vcpu->comm;

	/* Commit what the library changed, then the event. */
	commit = READ_ONCE(comm->state_commit) & NVMM_X64_STATE_ALL;
	comm->state_commit = 0;
	err = nvmm_svm_setstate(vcpu, commit);
	if (err) {
		/* Refused: still pending, for the program to correct. */
		comm->state_commit = commit;
		goto out;
	}
	comm->state_cached = 0;
	if (READ_ONCE(comm->event_commit)) {
		struct nvmm_x86_event ev = comm->event;

		barrier();	/* check and inject this copy, not comm's */
		err = nvmm_x86_event_check(&ev);
		if (err)
			goto out;
		err = nvmm_svm_inject(vcpu, &ev);
		if (err)
			goto out;
		comm->event_commit = false;
	}

	err = nvmm_svm_run(mach, vcpu, &args.exit);
	if (err)
		goto out;

	/* What the assists need next is there already. */
	switch (args.exit.reason) {
	case NVMM_VCPU_EXIT_IO:
	case NVMM_VCPU_EXIT_MEMORY:
		pre = NVMM_X64_STATE_GPRS | NVMM_X64_STATE_SEGS |
		    NVMM_X64_STATE_CRS | NVMM_X64_STATE_MSRS;
		break;
	case NVMM_VCPU_EXIT_RDMSR:
	case NVMM_VCPU_EXIT_WRMSR:
	case NVMM_VCPU_EXIT_CPUID:
	case NVMM_VCPU_EXIT_HALTED:
		pre = NVMM_X64_STATE_GPRS;
		break;
	default:
		break;
	}
	if (pre) {
		nvmm_svm_getstate(vcpu, pre);
		comm->state_cached = pre;
	}
out:
	vcpu_put(mach, vcpu);
	if (err == 0 &&
	    copy_to_user((u8 __user *)uarg + offsetof(typeof(args), exit),
	    &args.exit, sizeof(args.exit)))
		err = -EFAULT;
	return err;
}

static int
ioc_gpa_map(struct nvmm_owner *owner, void __user *uarg)
{
	struct nvmm_ioc_gpa_map args;
	struct nvmm_kmachine *mach;
	int err;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	err = machine_get(owner, args.machid, false, &mach);
	if (err)
		return err;
	err = nvmm_mem_gpa_map(mach, args.hva, args.gpa, args.size, args.prot);
	up_read(&mach->lock);
	return err;
}

static int
ioc_gpa_unmap(struct nvmm_owner *owner, void __user *uarg)
{
	struct nvmm_ioc_gpa_unmap args;
	struct nvmm_kmachine *mach;
	int err;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	err = machine_get(owner, args.machid, false, &mach);
	if (err)
		return err;
	err = nvmm_mem_gpa_unmap(mach, args.gpa, args.size);
	up_read(&mach->lock);
	return err;
}

static int
ioc_hva(struct nvmm_owner *owner, void __user *uarg, bool map)
{
	struct nvmm_ioc_hva args;
	struct nvmm_kmachine *mach;
	int err;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	if (args.flags != 0)
		return -EINVAL;
	err = machine_get(owner, args.machid, false, &mach);
	if (err)
		return err;
	if (map)
		err = nvmm_mem_hva_map(mach, args.hva, args.size);
	else
		err = nvmm_mem_hva_unmap(mach, args.hva, args.size);
	up_read(&mach->lock);
	return err;
}

static int
ioc_ctl(struct nvmm_owner *owner, void __user *uarg)
{
	struct nvmm_ioc_ctl args;
	struct nvmm_ioc_mach_info info;
	struct nvmm_kmachine *mach;
	int err;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	if (args.op != NVMM_CTL_MACH_INFO || args.size != sizeof(info))
		return -EINVAL;
	if (copy_from_user(&info, u64_to_user_ptr(args.data), sizeof(info)))
		return -EFAULT;
	err = machine_get(owner, info.machid, false, &mach);
	if (err)
		return err;
	info.nvcpus = mach->nvcpus;
	info.nram = nvmm_mem_nram(mach);
	info.pid = mach->pid;
	info.rsvd = 0;
	info.time = mach->ctime;
	up_read(&mach->lock);
	if (copy_to_user(u64_to_user_ptr(args.data), &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

static int
ioc_capability(void __user *uarg)
{
	struct nvmm_capability cap;

	memset(&cap, 0, sizeof(cap));
	cap.version = NVMM_KERN_VERSION;
	cap.state_size = sizeof(struct nvmm_x64_state);
	cap.max_machines = nvmm_max_machines;
	cap.max_vcpus = nvmm_max_vcpus;
	cap.max_ram = nvmm_max_ram;
	nvmm_svm_capability(&cap);
	return copy_to_user(uarg, &cap, sizeof(cap)) ? -EFAULT : 0;
}

static int
ioc_abi(void __user *uarg)
{
	struct nvmm_ioc_abi abi;

	memset(&abi, 0, sizeof(abi));
	abi.abi_version = NVMM_IOCTL_ABI_VERSION;
	abi.comm_page_size = NVMM_COMM_PAGE_SIZE;
	return copy_to_user(uarg, &abi, sizeof(abi)) ? -EFAULT : 0;
}

static long
nvmm_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct nvmm_owner *owner = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case NVMM_IOC_ABI:
		return ioc_abi(uarg);
	case NVMM_IOC_CAPABILITY:
		return ioc_capability(uarg);
	case NVMM_IOC_MACHINE_CREATE:
		return ioc_machine_create(owner, uarg);
	case NVMM_IOC_MACHINE_DESTROY:
		return ioc_machine_destroy(owner, uarg);
	case NVMM_IOC_MACHINE_CONFIGURE:
		return ioc_machine_configure(owner, uarg);
	case NVMM_IOC_VCPU_CREATE:
		return ioc_vcpu_create(owner, uarg);
	case NVMM_IOC_VCPU_DESTROY:
		return ioc_vcpu_destroy(owner, uarg);
	case NVMM_IOC_VCPU_CONFIGURE:
		return ioc_vcpu_configure(owner, uarg);
	case NVMM_IOC_VCPU_SETSTATE:
		return ioc_vcpu_state(owner, uarg, true);
	case NVMM_IOC_VCPU_GETSTATE:
		return ioc_vcpu_state(owner, uarg, false);
	case NVMM_IOC_VCPU_INJECT:
		return ioc_vcpu_inject(owner, uarg);
	case NVMM_IOC_VCPU_RUN:
		return ioc_vcpu_run(owner, uarg);
	case NVMM_IOC_GPA_MAP:
		return ioc_gpa_map(owner, uarg);
	case NVMM_IOC_GPA_UNMAP:
		return ioc_gpa_unmap(owner, uarg);
	case NVMM_IOC_HVA_MAP:
		return ioc_hva(owner, uarg, true);
	case NVMM_IOC_HVA_UNMAP:
		return ioc_hva(owner, uarg, false);
	case NVMM_IOC_CTL:
		return ioc_ctl(owner, uarg);
	default:
		return -ENOTTY;
	}
}

/* ------------------------------------------------------------------------ */
/* File operations                                                           */

static int
nvmm_open(struct inode *inode, struct file *file)
{
	struct nvmm_owner *owner;
	bool root = false;

	/* O_WRONLY: the root owner. O_RDONLY, O_RDWR and mode 3: an owner. */
	if ((file->f_mode & (FMODE_READ | FMODE_WRITE)) == FMODE_WRITE) {
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		root = true;
	}
	owner = kzalloc(sizeof(*owner), GFP_KERNEL);
	if (owner == NULL)
		return -ENOMEM;
	owner->pid = task_tgid_nr(current);
	owner->root = root;
	file->private_data = owner;
	return nonseekable_open(inode, file);
}

static int
nvmm_release(struct inode *inode, struct file *file)
{
	struct nvmm_owner *owner = file->private_data;
	unsigned int i;

	/* Only this owner's machines' locks: never wait on another owner. */
	for (i = 0; i < nvmm_max_machines; i++) {
		struct nvmm_kmachine *mach = &nvmm_machines[i];
		bool mine;

		spin_lock(&nvmm_comm_lock);
		mine = mach->present && mach->owner == owner;
		spin_unlock(&nvmm_comm_lock);
		if (!mine)
			continue;
		down_write(&mach->lock);
		/* A root owner may have destroyed it meanwhile. */
		mine = mach->present && mach->owner == owner;
		if (mine)
			machine_teardown(mach);
		up_write(&mach->lock);
		if (mine)
			slot_release(mach);
	}
	kfree(owner);
	return 0;
}

static int
nvmm_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct nvmm_owner *owner = file->private_data;
	u64 off = (u64)vma->vm_pgoff << PAGE_SHIFT;
	u32 machid = NVMM_COMM_MACHID(off), cpuid = NVMM_COMM_CPUID(off);
	struct nvmm_kmachine *mach;
	struct page *page = NULL;
	int err;

	if (vma->vm_end - vma->vm_start != PAGE_SIZE ||
	    off != NVMM_COMM_OFFSET(machid, cpuid))
		return -EINVAL;
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (vma->vm_flags & VM_EXEC)
		return -EACCES;
	if (machid >= nvmm_max_machines || cpuid >= nvmm_max_vcpus)
		return -EINVAL;
	machid = array_index_nospec(machid, nvmm_max_machines);
	cpuid = array_index_nospec(cpuid, nvmm_max_vcpus);

	mach = &nvmm_machines[machid];
	spin_lock(&nvmm_comm_lock);
	err = machine_check(owner, mach);
	if (err) {
		/* absent, another owner's, or another process's */
	} else if (mach->vcpus[cpuid] == NULL) {
		err = -ENOENT;
	} else {
		page = mach->vcpus[cpuid]->comm_page;
		get_page(page);
		err = 0;
	}
	spin_unlock(&nvmm_comm_lock);
	if (err)
		return err;

	vma->vm_flags &= ~VM_MAYEXEC;
	vma->vm_flags |= VM_DONTEXPAND | VM_DONTDUMP;
	err = vm_insert_page(vma, vma->vm_start, page);
	put_page(page);
	return err;
}

static const struct file_operations nvmm_fops = {
	.owner = THIS_MODULE,
	.open = nvmm_open,
	.release = nvmm_release,
	.unlocked_ioctl = nvmm_ioctl,
	.compat_ioctl = NULL,
	.mmap = nvmm_mmap,
	.llseek = no_llseek,
};

static struct miscdevice nvmm_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "nvmm",
	.fops = &nvmm_fops,
	.mode = 0600,
};

static int __init
nvmm_module_init(void)
{
	unsigned int i;
	int err;

	if (nvmm_max_machines == 0 || nvmm_max_machines > NVMM_MACHINES_LIMIT ||
	    nvmm_max_vcpus == 0 || nvmm_max_vcpus > NVMM_VCPUS_LIMIT ||
	    nvmm_max_ram < PAGE_SIZE || nvmm_max_ram > (1UL << 47) ||
	    !PAGE_ALIGNED(nvmm_max_ram)) {
		pr_err("nvmm: bad module parameters (max_machines 1..%u, max_vcpus 1..%u, max_ram page-aligned <= 128 TiB)\n",
		    NVMM_MACHINES_LIMIT, NVMM_VCPUS_LIMIT);
		return -EINVAL;
	}
	nvmm_x86_init();
	err = nvmm_svm_init();
	if (err)
		return err;
	nvmm_machines = kcalloc(nvmm_max_machines, sizeof(*nvmm_machines),
	    GFP_KERNEL);
	if (nvmm_machines == NULL) {
		nvmm_svm_fini();
		return -ENOMEM;
	}
	for (i = 0; i < nvmm_max_machines; i++)
		init_rwsem(&nvmm_machines[i].lock);
	err = misc_register(&nvmm_dev);
	if (err) {
		kfree(nvmm_machines);
		nvmm_svm_fini();
		return err;
	}
	pr_info("nvmm: /dev/nvmm ready (ABI %d, %u machines, %u VCPUs, %lu MiB RAM per machine)\n",
	    NVMM_IOCTL_ABI_VERSION, nvmm_max_machines, nvmm_max_vcpus,
	    nvmm_max_ram >> 20);
	return 0;
}

static void __exit
nvmm_module_exit(void)
{
	/* No file is open: the module cannot go while one is. */
	misc_deregister(&nvmm_dev);
	kfree(nvmm_machines);
	nvmm_svm_fini();
}

module_init(nvmm_module_init);
module_exit(nvmm_module_exit);
MODULE_LICENSE("Dual BSD/GPL");
MODULE_DESCRIPTION("NVMM hypervisor: /dev/nvmm, AMD SVM backend");

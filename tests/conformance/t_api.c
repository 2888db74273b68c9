/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * API cases: capability, machines, VCPUs, configuration, limits, errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

DECLARE_GUEST(out_hlt);
DECLARE_GUEST_LABEL(out_hlt, after);

static void
test_cap_values(void)
{
	struct nvmm_capability cap;

	get_capability(&cap);
	ASSERT_EQ(cap.version, 2);
	ASSERT_EQ(cap.state_size, 1008);
	ASSERT_EQ(cap.state_size, sizeof(struct nvmm_x64_state));
	ASSERT_EQ(cap.max_machines, 128);
	ASSERT_EQ(cap.max_vcpus, 256);
	ASSERT_EQ(cap.max_ram, 128ULL << 30);
	TEST_ASSERT(cap.arch.vcpu_conf_support & NVMM_CAP_ARCH_VCPU_CONF_CPUID,
	    "vcpu_conf_support 0x%" PRIx64, cap.arch.vcpu_conf_support);
	ASSERT_EQ(cap.arch.mach_conf_support, 0);
	/* x87 is always there; the masks come from the host. */
	TEST_ASSERT(cap.arch.xcr0_mask & 1, "xcr0_mask 0x%" PRIx64,
	    cap.arch.xcr0_mask);
	TEST_ASSERT(cap.arch.mxcsr_mask != 0, "mxcsr_mask 0");
	ASSERT_EQ(cap.arch.conf_cpuid_maxops, 32);
}

static void
test_cap_null(void)
{
	lib_init();
	ASSERT_ERR2(nvmm_capability(NULL), EFAULT, EINVAL);
}

static void
test_machine_create_destroy(void)
{
	struct nvmm_machine a, b, stale;

	lib_init();
	ASSERT_OK(nvmm_machine_create(&a));
	ASSERT_OK(nvmm_machine_create(&b));
	TEST_ASSERT(a.machid != b.machid, "two machines share id %u", a.machid);
	stale = a;
	ASSERT_OK(nvmm_machine_destroy(&a));
	/* The id is gone: a copy of the handle finds nothing. */
	memset(&stale.pages, 0, sizeof(stale.pages));
	memset(&stale.areas, 0, sizeof(stale.areas));
	ASSERT_ERR(nvmm_machine_destroy(&stale), ENOENT);
	ASSERT_OK(nvmm_machine_destroy(&b));
	/* And a new machine can be made afterwards. */
	ASSERT_OK(nvmm_machine_create(&a));
	ASSERT_OK(nvmm_machine_destroy(&a));
}

static void
test_machine_unknown(void)
{
	struct nvmm_machine fake;
	struct nvmm_vcpu vcpu;

	lib_init();
	memset(&fake, 0, sizeof(fake));
	fake.machid = 100;	/* no machine was created in this process */
	ASSERT_ERR(nvmm_machine_destroy(&fake), ENOENT);
	ASSERT_ERR(nvmm_vcpu_create(&fake, 0, &vcpu), ENOENT);
	ASSERT_ERR(nvmm_machine_configure(&fake, NVMM_VCPU_CONF_CPUID, NULL),
	    ENOENT);
	fake.machid = 0xffffffffu;
	ASSERT_ERR2(nvmm_machine_destroy(&fake), ENOENT, EINVAL);
}

static void
test_machine_null(void)
{
	lib_init();
	ASSERT_ERR2(nvmm_machine_create(NULL), EFAULT, EINVAL);
	ASSERT_ERR2(nvmm_machine_destroy(NULL), EFAULT, EINVAL);
}

static void
test_vcpu_create_ids(void)
{
	struct vm *vm = vm_create(0);
	struct nvmm_vcpu v0, v1, v255, bad;

	vcpu_add(vm, 0, &v0);
	ASSERT_EQ(v0.cpuid, 0);
	TEST_ASSERT(v0.state != NULL && v0.exit != NULL && v0.event != NULL,
	    "vcpu pointers %p %p %p", (void *)v0.state, (void *)v0.exit,
	    (void *)v0.event);
	TEST_ASSERT(v0.stop != NULL, "vcpu->stop is NULL");
	vcpu_add(vm, 1, &v1);
	vcpu_add(vm, 255, &v255);
	ASSERT_EQ(v255.cpuid, 255);
	ASSERT_ERR(nvmm_vcpu_create(&vm->mach, 256, &bad), EINVAL);
	ASSERT_ERR(nvmm_vcpu_create(&vm->mach, 0xffffffffu, &bad), EINVAL);
	/* nvmm-design.md: the kernel says EBUSY, the man page EEXIST. */
	ASSERT_ERR2(nvmm_vcpu_create(&vm->mach, 1, &bad), EEXIST, EBUSY);
	ASSERT_OK(nvmm_vcpu_destroy(&vm->mach, &v1));
	vm_destroy(vm);
}

static void
test_vcpu_destroy_recreate(void)
{
	struct vm *vm = vm_create(0);
	struct nvmm_vcpu v, stale;

	vcpu_add(vm, 3, &v);
	stale = v;
	ASSERT_OK(nvmm_vcpu_destroy(&vm->mach, &v));
	ASSERT_ERR(nvmm_vcpu_destroy(&vm->mach, &stale), ENOENT);
	/* The id is free again, and the new VCPU starts from reset. */
	vcpu_add(vm, 3, &v);
	ASSERT_EQ(vcpu_gpr(vm, &v, NVMM_X64_GPR_RIP), 0xfff0);
	ASSERT_OK(nvmm_vcpu_destroy(&vm->mach, &v));
	vm_destroy(vm);
}

static void
test_vcpu_unknown(void)
{
	struct vm *vm = vm_create(0);
	struct nvmm_vcpu v0, fake;

	vcpu_add(vm, 0, &v0);
	memset(&fake, 0, sizeof(fake));
	fake.cpuid = 7;
	ASSERT_ERR(nvmm_vcpu_destroy(&vm->mach, &fake), ENOENT);
	ASSERT_ERR(nvmm_vcpu_getstate(&vm->mach, &fake, NVMM_X64_STATE_GPRS),
	    ENOENT);
	ASSERT_ERR(nvmm_vcpu_setstate(&vm->mach, &fake, NVMM_X64_STATE_GPRS),
	    ENOENT);
	ASSERT_ERR(nvmm_vcpu_run(&vm->mach, &fake), ENOENT);
	ASSERT_ERR(nvmm_vcpu_inject(&vm->mach, &fake), ENOENT);
	ASSERT_ERR(nvmm_vcpu_configure(&vm->mach, &fake,
	    NVMM_VCPU_CONF_CALLBACKS, &v0.cbs), ENOENT);
	vm_destroy(vm);
}

static void
test_vcpu_null(void)
{
	struct vm *vm = vm_create(0);
	struct nvmm_vcpu v;

	ASSERT_ERR2(nvmm_vcpu_create(&vm->mach, 0, NULL), EFAULT, EINVAL);
	ASSERT_ERR2(nvmm_vcpu_create(NULL, 0, &v), EFAULT, EINVAL);
	ASSERT_ERR2(nvmm_vcpu_stop(NULL), EFAULT, EINVAL);
	vcpu_add(vm, 0, &v);
	ASSERT_ERR2(nvmm_vcpu_configure(&vm->mach, &v, NVMM_VCPU_CONF_CPUID,
	    NULL), EFAULT, EINVAL);
	ASSERT_ERR2(nvmm_vcpu_getstate(&vm->mach, NULL, NVMM_X64_STATE_GPRS),
	    EFAULT, EINVAL);
	vm_destroy(vm);
}

static void
test_vcpu_id_255_runs(void)
{
	struct vm *vm = vm_create(0);
	struct nvmm_vcpu v;

	vcpu_add(vm, 255, &v);
	guest_load(vm, GUEST(out_hlt));
	vcpu_setup_prot32(vm, &v, CODE_GPA);
	GUEST_REPORT(vm, &v);
	EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_HALTED);
	ASSERT_EQ(vcpu_gpr(vm, &v, NVMM_X64_GPR_RIP), GUEST_ADDR(out_hlt, after));
	vm_destroy(vm);
}

static void
test_limit_vcpus(void)
{
	struct nvmm_capability cap;
	struct vm *vm;
	struct nvmm_vcpu *v;
	struct nvmm_vcpu extra;
	unsigned i;

	get_capability(&cap);
	vm = vm_create(0);
	v = calloc(cap.max_vcpus, sizeof(*v));
	TEST_ASSERT(v != NULL, "calloc");
	for (i = 0; i < cap.max_vcpus; i++) {
		errno = 0;
		int r = nvmm_vcpu_create(&vm->mach, i, &v[i]);

		TEST_ASSERT(r == 0, "VCPU %u of %u: errno %d (%s)", i,
		    cap.max_vcpus, errno, strerror(errno));
	}
	ASSERT_ERR(nvmm_vcpu_create(&vm->mach, cap.max_vcpus, &extra), EINVAL);
	/* The last one is a working VCPU. */
	ASSERT_OK(nvmm_vcpu_getstate(&vm->mach, &v[cap.max_vcpus - 1],
	    NVMM_X64_STATE_ALL));
	for (i = 0; i < cap.max_vcpus; i += 2)
		ASSERT_OK(nvmm_vcpu_destroy(&vm->mach, &v[i]));
	vm_destroy(vm);	/* destroys the odd ones */
	free(v);
}

static void
test_limit_machines(void)
{
	struct nvmm_capability cap;
	struct nvmm_machine *m, extra;
	unsigned i;

	get_capability(&cap);
	m = calloc(cap.max_machines, sizeof(*m));
	TEST_ASSERT(m != NULL, "calloc");
	for (i = 0; i < cap.max_machines; i++) {
		errno = 0;
		int r = nvmm_machine_create(&m[i]);

		TEST_ASSERT(r == 0, "machine %u of %u: errno %d (%s)", i,
		    cap.max_machines, errno, strerror(errno));
	}
	ASSERT_ERR(nvmm_machine_create(&extra), ENOBUFS);
	/* Nothing half-created: freeing one slot makes room for one. */
	ASSERT_OK(nvmm_machine_destroy(&m[5]));
	ASSERT_OK(nvmm_machine_create(&m[5]));
	ASSERT_ERR(nvmm_machine_create(&extra), ENOBUFS);
	for (i = 0; i < cap.max_machines; i++)
		ASSERT_OK(nvmm_machine_destroy(&m[i]));
	/* All gone: creation works again. */
	ASSERT_OK(nvmm_machine_create(&extra));
	ASSERT_OK(nvmm_machine_destroy(&extra));
	free(m);
}

static void
test_configure_errors(void)
{
	struct nvmm_capability cap;
	struct nvmm_vcpu_conf_tpr tpr = { .exit_changed = 1 };
	struct vm *vm;
	struct nvmm_vcpu v;
	int dummy = 0;

	get_capability(&cap);
	vm = vm_create(0);
	vcpu_add(vm, 0, &v);
	/* x86 has no machine configuration op at all. */
	ASSERT_ERR2(nvmm_machine_configure(&vm->mach, 0, &dummy), EINVAL,
	    EOPNOTSUPP);
	ASSERT_ERR2(nvmm_machine_configure(&vm->mach, NVMM_MACH_CONF_MD_BEGIN,
	    &dummy), EINVAL, EOPNOTSUPP);
	/* Unknown VCPU ops: EINVAL. */
	ASSERT_ERR(nvmm_vcpu_configure(&vm->mach, &v, 1, &dummy), EINVAL);
	ASSERT_ERR(nvmm_vcpu_configure(&vm->mach, &v, 150, &dummy), EINVAL);
	ASSERT_ERR(nvmm_vcpu_configure(&vm->mach, &v, 250, &dummy), EINVAL);
	ASSERT_ERR(nvmm_vcpu_configure(&vm->mach, &v, 0xffffffffffffULL,
	    &dummy), EINVAL);
	/* A known op the backend does not support: EOPNOTSUPP. */
	if (!(cap.arch.vcpu_conf_support & NVMM_CAP_ARCH_VCPU_CONF_TPR))
		ASSERT_ERR(nvmm_vcpu_configure(&vm->mach, &v, NVMM_VCPU_CONF_TPR,
		    &tpr), EOPNOTSUPP);
	else
		ASSERT_OK(nvmm_vcpu_configure(&vm->mach, &v, NVMM_VCPU_CONF_TPR,
		    &tpr));
	vm_destroy(vm);
}

static void
test_cpuid_conf_errors(void)
{
	struct nvmm_vcpu_conf_cpuid c;
	struct vm *vm = vm_create(0);
	struct nvmm_vcpu v;
	unsigned i;

	vcpu_add(vm, 0, &v);
	memset(&c, 0, sizeof(c));
	c.mask = 1;
	c.exit = 1;
	c.leaf = 1;
	ASSERT_ERR(nvmm_vcpu_configure(&vm->mach, &v, NVMM_VCPU_CONF_CPUID, &c),
	    EINVAL);
	memset(&c, 0, sizeof(c));
	c.mask = 1;
	c.leaf = 1;
	c.u.mask.set.edx = 0x10;
	c.u.mask.del.edx = 0x30;
	ASSERT_ERR(nvmm_vcpu_configure(&vm->mach, &v, NVMM_VCPU_CONF_CPUID, &c),
	    EINVAL);
	/* 32 distinct leaves fit; the 33rd does not; replacing does. */
	memset(&c, 0, sizeof(c));
	c.mask = 1;
	for (i = 0; i < 32; i++) {
		c.leaf = 0x40000100 + i;
		ASSERT_OK(nvmm_vcpu_configure(&vm->mach, &v,
		    NVMM_VCPU_CONF_CPUID, &c));
	}
	c.leaf = 0x40000100 + 32;
	ASSERT_ERR(nvmm_vcpu_configure(&vm->mach, &v, NVMM_VCPU_CONF_CPUID, &c),
	    ENOBUFS);
	c.leaf = 0x40000100;
	c.u.mask.set.eax = 1;
	ASSERT_OK(nvmm_vcpu_configure(&vm->mach, &v, NVMM_VCPU_CONF_CPUID, &c));
	/* Neither mask nor exit: deletes the entry, making room. */
	memset(&c, 0, sizeof(c));
	c.leaf = 0x40000101;
	ASSERT_OK(nvmm_vcpu_configure(&vm->mach, &v, NVMM_VCPU_CONF_CPUID, &c));
	c.mask = 1;
	c.leaf = 0x40000100 + 40;
	ASSERT_OK(nvmm_vcpu_configure(&vm->mach, &v, NVMM_VCPU_CONF_CPUID, &c));
	vm_destroy(vm);
}

static void
test_state_flags_invalid(void)
{
	struct vm *vm = vm_create(0);
	struct nvmm_vcpu v;

	vcpu_add(vm, 0, &v);
	ASSERT_ERR(nvmm_vcpu_getstate(&vm->mach, &v, 0x80), EINVAL);
	ASSERT_ERR(nvmm_vcpu_setstate(&vm->mach, &v, 0x80), EINVAL);
	ASSERT_ERR(nvmm_vcpu_getstate(&vm->mach, &v,
	    NVMM_X64_STATE_ALL | (1ULL << 40)), EINVAL);
	ASSERT_ERR(nvmm_vcpu_setstate(&vm->mach, &v,
	    NVMM_X64_STATE_GPRS | (1ULL << 63)), EINVAL);
	/* Valid ones still work afterwards. */
	ASSERT_OK(nvmm_vcpu_getstate(&vm->mach, &v, NVMM_X64_STATE_ALL));
	ASSERT_OK(nvmm_vcpu_setstate(&vm->mach, &v, NVMM_X64_STATE_ALL));
	vm_destroy(vm);
}

static void
test_ctl_mach_info(void)
{
	struct nvmm_ctl_mach_info info;
	struct vm *vm = vm_create(0x100000);
	struct nvmm_vcpu v0, v1;
	time_t now = time(NULL);

	vcpu_add(vm, 0, &v0);
	vcpu_add(vm, 4, &v1);
	memset(&info, 0, sizeof(info));
	info.machid = vm->mach.machid;
	ASSERT_OK(nvmm_ctl(NVMM_CTL_MACH_INFO, &info, sizeof(info)));
	ASSERT_EQ(info.nvcpus, 2);
	ASSERT_EQ(info.nram, 0x100000);
	ASSERT_EQ(info.pid, getpid());
	TEST_ASSERT(info.time <= now + 1 && info.time >= now - 60,
	    "creation time %ld, now %ld", (long)info.time, (long)now);
	ASSERT_ERR(nvmm_ctl(NVMM_CTL_MACH_INFO, &info, sizeof(info) - 1),
	    EINVAL);
	ASSERT_ERR(nvmm_ctl(12345, &info, sizeof(info)), EINVAL);
	info.machid = 120;
	ASSERT_ERR(nvmm_ctl(NVMM_CTL_MACH_INFO, &info, sizeof(info)), ENOENT);
	vm_destroy(vm);
}

static void
test_vcpu_dump(void)
{
	struct vm *vm = vm_create(0);
	struct nvmm_vcpu v;
	int saved, r;

	vcpu_add(vm, 0, &v);
	guest_load(vm, GUEST(out_hlt));
	vcpu_setup_long64(vm, &v, CODE_GPA);
	saved = quiet_begin();
	r = nvmm_vcpu_dump(&vm->mach, &v);
	quiet_end(saved);
	ASSERT_EQ(r, 0);
	GUEST_REPORT(vm, &v);
	saved = quiet_begin();
	r = nvmm_vcpu_dump(&vm->mach, &v);
	quiet_end(saved);
	ASSERT_EQ(r, 0);
	/* The dump does not disturb the state. */
	EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_HALTED);
	vm_destroy(vm);
}

/*
 * In a fork child, the parent's machine refuses every call with EPERM
 * (the library does not even touch the comm pages or run structures it
 * shares with the parent); the child can make and run machines of its own;
 * the parent's machine runs on untouched. Child exit status: 0, or the
 * step that was not refused.
 */
static int
fork_child_steps(struct vm *vm, struct nvmm_vcpu *v)
{
	struct nvmm_vcpu v1;
	struct vm *own;

#define REFUSED(call) ((call) == -1 && errno == EPERM)
	if (!REFUSED(nvmm_vcpu_setstate(&vm->mach, v, NVMM_X64_STATE_GPRS)))
		return 1;
	if (!REFUSED(nvmm_vcpu_getstate(&vm->mach, v, NVMM_X64_STATE_GPRS)))
		return 2;
	if (!REFUSED(nvmm_vcpu_run(&vm->mach, v)))
		return 3;
	if (!REFUSED(nvmm_vcpu_inject(&vm->mach, v)))
		return 4;
	if (!REFUSED(nvmm_gpa_unmap(&vm->mach, (uintptr_t)vm->ram, 0,
	    4096)))
		return 5;
	if (!REFUSED(nvmm_vcpu_create(&vm->mach, 1, &v1)))
		return 6;
	if (!REFUSED(nvmm_vcpu_destroy(&vm->mach, v)))
		return 7;
	if (!REFUSED(nvmm_machine_destroy(&vm->mach)))
		return 8;
#undef REFUSED
	own = vm_create(0);
	vcpu_add(own, 0, &v1);
	guest_load(own, GUEST(out_hlt));
	vcpu_setup_long64(own, &v1, CODE_GPA);
	GUEST_REPORT(own, &v1);
	EXPECT_EXIT(own, &v1, NVMM_VCPU_EXIT_HALTED);
	vm_destroy(own);
	return 0;
}

static void
test_fork_child(void)
{
	struct vm *vm = vm_create(0);
	struct nvmm_vcpu v;
	pid_t pid;
	int st;

	vcpu_add(vm, 0, &v);
	guest_load(vm, GUEST(out_hlt));
	vcpu_setup_long64(vm, &v, CODE_GPA);
	fflush(stdout);
	pid = fork();
	TEST_ASSERT(pid != -1, "fork: %s", strerror(errno));
	if (pid == 0)
		_exit(fork_child_steps(vm, &v));
	TEST_ASSERT(waitpid(pid, &st, 0) == pid, "waitpid: %s",
	    strerror(errno));
	TEST_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "the child: step %d was not refused with EPERM (status 0x%x)",
	    WIFEXITED(st) ? WEXITSTATUS(st) : -1, st);
	GUEST_REPORT(vm, &v);
	EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_HALTED);
	vm_destroy(vm);
}

const struct test_case api_cases[] = {
	TEST_CASE(cap_values, "capability: version 2, 1008, 128, 256, 128 GiB, CPUID conf"),
	TEST_CASE(cap_null, "nvmm_capability(NULL) fails"),
	TEST_CASE(machine_create_destroy, "machines get distinct ids; destroyed id -> ENOENT"),
	TEST_CASE(machine_unknown, "unknown machine id -> ENOENT"),
	TEST_CASE(machine_null, "NULL machine -> EFAULT/EINVAL"),
	TEST_CASE(vcpu_create_ids, "VCPU ids 0,1,255 ok; 256 -> EINVAL; duplicate -> EEXIST/EBUSY"),
	TEST_CASE(vcpu_destroy_recreate, "destroyed VCPU -> ENOENT; id reusable, reset state"),
	TEST_CASE(vcpu_unknown, "every VCPU call on an unknown VCPU -> ENOENT"),
	TEST_CASE(vcpu_null, "NULL VCPU/conf pointers -> EFAULT/EINVAL"),
	TEST_CASE(vcpu_id_255_runs, "VCPU 255 runs a guest"),
	TEST_CASE(limit_vcpus, "max_vcpus VCPUs in one machine, one more -> EINVAL"),
	TEST_CASE(limit_machines, "max_machines machines, one more -> ENOBUFS, destroy all"),
	TEST_CASE(configure_errors, "unknown configure ops -> EINVAL, unsupported -> EOPNOTSUPP"),
	TEST_CASE(cpuid_conf_errors, "CPUID conf: mask+exit, set&del -> EINVAL; 33 leaves -> ENOBUFS"),
	TEST_CASE(state_flags_invalid, "get/setstate with unknown flag bits -> EINVAL"),
	TEST_CASE(ctl_mach_info, "nvmm_ctl(MACH_INFO): nvcpus, nram, pid, time; errors"),
	TEST_CASE(vcpu_dump, "nvmm_vcpu_dump works and leaves the VCPU intact"),
	TEST_CASE(fork_child, "fork child: parent's machine -> EPERM, own machines work"),
	{ NULL, NULL, NULL },
};

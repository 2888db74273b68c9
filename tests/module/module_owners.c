/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * module_owners: owners of nvmm.ko machines cannot hurt each other.
 * - cross-owner-arg-stall, cross-owner-run-stall: owner A stalls inside
 *   an ioctl (its argument, or its guest's RAM, is on a userfaultfd that
 *   nobody serves); other owners must still create machines (B), be
 *   refused A's machine at once (B) and open and close /dev/nvmm (C),
 *   each within STALL_LIMIT seconds. The stall is released afterwards,
 *   so the old behaviour (waiting on A's machine lock) fails the test
 *   instead of hanging it.
 * - foreign-mm-fork, foreign-mm-scm: a process other than the creator,
 *   holding the creator's file (inherited by fork, or received over a
 *   unix socket), gets EPERM from every machine ioctl and from mmap, and
 *   the machine is unchanged.
 * Runs in the test VM as root (userfaultfd for kernel-mode faults needs
 * no sysctl then).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/userfaultfd.h>

#include "modtest.h"

#define STALL_LIMIT	1.0	/* seconds */

/* ------------------------------------------------------------------------ */
/* userfaultfd                                                               */

/* A userfaultfd watching missing pages of [addr, addr+len): fd or -1. */
static int
uffd_watch(void *addr, size_t len)
{
	struct uffdio_api api;
	struct uffdio_register reg;
	int fd;

	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd == -1)
		return -1;
	memset(&api, 0, sizeof(api));
	api.api = UFFD_API;
	memset(&reg, 0, sizeof(reg));
	reg.range.start = (uintptr_t)addr;
	reg.range.len = len;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(fd, UFFDIO_API, &api) == -1 ||
	    ioctl(fd, UFFDIO_REGISTER, &reg) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Waits up to 10 s for the fault: 0, or -1. */
static int
uffd_wait_fault(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct uffd_msg msg;

	if (poll(&pfd, 1, 10000) != 1)
		return -1;
	if (read(fd, &msg, sizeof(msg)) != (ssize_t)sizeof(msg) ||
	    msg.event != UFFD_EVENT_PAGEFAULT)
		return -1;
	return 0;
}

/* Maps a zero page at addr and closes the userfaultfd. */
static void
uffd_release(int fd, void *addr)
{
	struct uffdio_zeropage zp;

	memset(&zp, 0, sizeof(zp));
	zp.range.start = (uintptr_t)addr;
	zp.range.len = 4096;
	(void)ioctl(fd, UFFDIO_ZEROPAGE, &zp);
	close(fd);
}

/* ------------------------------------------------------------------------ */
/* The other owners                                                          */

/*
 * B: its own file; machine create and destroy, and an ioctl on A's
 * machine, which must fail with EPERM. C: open and close. Both wait for a
 * byte on `go`, then open /dev/nvmm. Exit status 0, or the step that
 * failed.
 */
static void __attribute__((noreturn))
owner_other(int go, bool is_b, uint32_t a_machid)
{
	struct nvmm_ioc_machine_create mc;
	struct nvmm_ioc_machine_destroy md;
	struct nvmm_ioc_gpa_unmap gu;
	char c;
	int fd;

	if (read(go, &c, 1) != 1)
		_exit(1);
	fd = open("/dev/nvmm", O_RDWR);
	if (fd == -1)
		_exit(2);
	if (!is_b) {
		close(fd);
		_exit(0);
	}
	memset(&gu, 0, sizeof(gu));
	gu.machid = a_machid;
	gu.gpa = 0;
	gu.size = 4096;
	if (xioctl(fd, NVMM_IOC_GPA_UNMAP, &gu) != -EPERM)
		_exit(3);
	memset(&mc, 0, sizeof(mc));
	if (xioctl(fd, NVMM_IOC_MACHINE_CREATE, &mc) != 0)
		_exit(4);
	memset(&md, 0, sizeof(md));
	md.machid = mc.machid;
	if (xioctl(fd, NVMM_IOC_MACHINE_DESTROY, &md) != 0)
		_exit(5);
	close(fd);
	_exit(0);
}

struct others {
	pid_t pid[2];
	int go[2];		/* write ends */
	double t0;
};

static int
others_start(struct others *o, uint32_t a_machid)
{
	int i, p[2];

	for (i = 0; i < 2; i++) {
		if (pipe(p) == -1)
			return -1;
		o->pid[i] = fork();
		if (o->pid[i] == -1)
			return -1;
		if (o->pid[i] == 0) {
			close(p[1]);
			owner_other(p[0], i == 0, a_machid);
		}
		close(p[0]);
		o->go[i] = p[1];
	}
	return 0;
}

static void
others_go(struct others *o)
{
	o->t0 = now_s();
	(void)!write(o->go[0], "g", 1);
	(void)!write(o->go[1], "g", 1);
}

/*
 * Waits until STALL_LIMIT after others_go for both: the wait status of
 * each in st[], or -1 for one still running.
 */
static void
others_poll(struct others *o, int st[2])
{
	int i, s, left = 2;

	st[0] = st[1] = -1;
	while (left > 0 && now_s() - o->t0 < STALL_LIMIT) {
		for (i = 0; i < 2; i++) {
			if (st[i] != -1)
				continue;
			if (waitpid(o->pid[i], &s, WNOHANG) == o->pid[i]) {
				st[i] = s;
				left--;
			}
		}
		usleep(2000);
	}
}

/* After the stall is released: reaps what is left, with a bound. */
static void
others_reap(struct others *o, const int st[2])
{
	double t0 = now_s();
	int i, s;

	for (i = 0; i < 2; i++) {
		close(o->go[i]);
		if (st[i] != -1)
			continue;
		while (waitpid(o->pid[i], &s, WNOHANG) == 0) {
			if (now_s() - t0 > 30) {
				kill(o->pid[i], SIGKILL);
				waitpid(o->pid[i], &s, 0);
				break;
			}
			usleep(10000);
		}
	}
}

static void
others_verdict(const char *name, const int st[2])
{
	static const char *const what[2] = {
		"B (refused A's machine, create, destroy)", "C (open, close)"
	};
	char msg[2][160];
	int i, bad = 0;

	for (i = 0; i < 2; i++) {
		msg[i][0] = '\0';
		if (st[i] == -1)
			snprintf(msg[i], sizeof(msg[i]), "owner %s did not "
			    "finish within %.1f s while owner A stalled; ",
			    what[i], STALL_LIMIT);
		else if (!WIFEXITED(st[i]) || WEXITSTATUS(st[i]) != 0)
			snprintf(msg[i], sizeof(msg[i]), "owner %s: step %d "
			    "failed (status 0x%x); ", what[i],
			    WIFEXITED(st[i]) ? WEXITSTATUS(st[i]) : -1, st[i]);
		else
			continue;
		bad = 1;
	}
	if (bad)
		fail(name, "%s%s", msg[0], msg[1]);
	else
		pass(name);
}

/* ------------------------------------------------------------------------ */
/* Stalls                                                                    */

struct stalled_ioctl {
	int fd;
	unsigned long req;
	void *arg;
	int err;
};

static void *
stalled_main(void *p)
{
	struct stalled_ioctl *s = p;

	s->err = xioctl(s->fd, s->req, s->arg);
	return NULL;
}

/* Owner A, its userfaultfd page, the other owners (waiting to start). */
struct stall {
	const char *name;
	int fd, uffd, st[2];
	void *page;
	struct mt_vm vm;
	struct others o;
	struct stalled_ioctl s;
	pthread_t t;
};

/* The page: in A's guest RAM, or elsewhere. 0, or -1 after a FAIL line. */
static int
stall_setup(struct stall *x, const char *name, bool in_guest_ram)
{
	x->name = name;
	x->fd = open("/dev/nvmm", O_RDWR);
	if (x->fd == -1 || mt_vm_create(x->fd, &x->vm) != 0) {
		fail(name, "A's machine: %s", strerror(errno));
		return -1;
	}
	x->page = in_guest_ram ? (void *)(x->vm.ram + MT_TOUCH_GPA) :
	    mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (x->page == MAP_FAILED) {
		fail(name, "mmap: %s", strerror(errno));
		return -1;
	}
	x->uffd = uffd_watch(x->page, 4096);
	if (x->uffd == -1) {
		fail(name, "userfaultfd: %s", strerror(errno));
		return -1;
	}
	if (others_start(&x->o, x->vm.machid) != 0) {
		fail(name, "fork: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Lets the other owners go and gives them STALL_LIMIT (x->st). */
static void
stall_others(struct stall *x)
{
	others_go(&x->o);
	others_poll(&x->o, x->st);
}

/* Ends the stall and collects A's thread and the other owners. */
static void
stall_end(struct stall *x)
{
	uffd_release(x->uffd, x->page);
	pthread_join(x->t, NULL);
}

static void
stall_reap(struct stall *x)
{
	others_reap(&x->o, x->st);
	close(x->fd);
}

/*
 * A's ioctl req(arg) in a thread of its own, until it faults on the page:
 * 0, or -1 after a FAIL line (everything collected).
 */
static int
stall_start(struct stall *x, unsigned long req, void *arg)
{
	x->s.fd = x->fd;
	x->s.req = req;
	x->s.arg = arg;
	x->s.err = 1;
	if (pthread_create(&x->t, NULL, stalled_main, &x->s) != 0) {
		fail(x->name, "pthread_create");
		return -1;
	}
	if (uffd_wait_fault(x->uffd) != 0) {
		x->vm.comm->stop = 1;	/* a guest that got past the page */
		stall_others(x);
		stall_end(x);
		stall_reap(x);
		fail(x->name, "A's ioctl never faulted on the page "
		    "(returned %d)", x->s.err);
		return -1;
	}
	return 0;
}

/* A's VCPU configure reads its CPUID table from the page. */
static void
test_arg_stall(void)
{
	struct nvmm_ioc_vcpu_configure vc;
	struct stall x;

	if (stall_setup(&x, "cross-owner-arg-stall", false) != 0)
		return;
	memset(&vc, 0, sizeof(vc));
	vc.machid = x.vm.machid;
	vc.cpuid = 0;
	vc.op = NVMM_VCPU_CONF_CPUID;
	vc.conf = (uintptr_t)x.page;
	if (stall_start(&x, NVMM_IOC_VCPU_CONFIGURE, &vc) != 0)
		return;
	stall_others(&x);
	stall_end(&x);
	stall_reap(&x);
	others_verdict(x.name, x.st);
}

/*
 * A's VCPU runs a guest whose RAM page is the page, while another thread
 * of A waits to create a VCPU (a waiting writer on A's machine).
 */
static void
test_run_stall(void)
{
	struct nvmm_ioc_vcpu_run r;
	struct nvmm_ioc_vcpu vc;
	struct stalled_ioctl w;
	struct stall x;
	pthread_t tw;
	int wok;

	if (stall_setup(&x, "cross-owner-run-stall", true) != 0)
		return;
	memset(&r, 0, sizeof(r));
	r.machid = x.vm.machid;
	r.cpuid = 0;
	if (stall_start(&x, NVMM_IOC_VCPU_RUN, &r) != 0)
		return;
	vc.machid = x.vm.machid;
	vc.cpuid = 1;
	w.fd = x.fd;
	w.req = NVMM_IOC_VCPU_CREATE;
	w.arg = &vc;
	w.err = 1;
	wok = pthread_create(&tw, NULL, stalled_main, &w) == 0;
	usleep(100000);		/* let the writer queue up */
	stall_others(&x);
	stall_end(&x);
	if (wok)
		pthread_join(tw, NULL);
	stall_reap(&x);
	CHECK(x.name, x.s.err == 0 && w.err == 0, "A after the stall: run "
	    "%d (reason 0x%llx), vcpu create %d", x.s.err,
	    (unsigned long long)r.exit.reason, w.err);
	others_verdict(x.name, x.st);
}

/* ------------------------------------------------------------------------ */
/* Another process with the owner's file                                     */

/*
 * Every machine operation on machid through fd, from a process that did
 * not create it: 0 when all fail with EPERM, else the step that did not.
 */
static int
foreign_ops(int fd, uint32_t machid, uint64_t ram)
{
	struct nvmm_vcpu_conf_cpuid cpuid;
	struct nvmm_ioc_vcpu_configure vconf;
	struct nvmm_ioc_machine_configure mconf;
	struct nvmm_ioc_machine_destroy md;
	struct nvmm_ioc_mach_info info;
	struct nvmm_ioc_vcpu_run r;
	struct nvmm_ioc_gpa_unmap gu;
	struct nvmm_ioc_gpa_map gm;
	struct nvmm_ioc_hva hm;
	struct nvmm_ioc_ctl ctl;
	struct nvmm_ioc_vcpu vc;
	void *p;

	vc.machid = machid;
	vc.cpuid = 1;
	if (xioctl(fd, NVMM_IOC_VCPU_CREATE, &vc) != -EPERM)
		return 1;
	vc.cpuid = 0;
	if (xioctl(fd, NVMM_IOC_VCPU_DESTROY, &vc) != -EPERM)
		return 2;
	memset(&cpuid, 0, sizeof(cpuid));
	cpuid.mask = 1;
	cpuid.leaf = 0x40000000;
	memset(&vconf, 0, sizeof(vconf));
	vconf.machid = machid;
	vconf.cpuid = 0;
	vconf.op = NVMM_VCPU_CONF_CPUID;
	vconf.conf = (uintptr_t)&cpuid;
	if (xioctl(fd, NVMM_IOC_VCPU_CONFIGURE, &vconf) != -EPERM)
		return 3;
	if (xioctl(fd, NVMM_IOC_VCPU_SETSTATE, &vc) != -EPERM)
		return 4;
	if (xioctl(fd, NVMM_IOC_VCPU_GETSTATE, &vc) != -EPERM)
		return 5;
	if (xioctl(fd, NVMM_IOC_VCPU_INJECT, &vc) != -EPERM)
		return 6;
	memset(&r, 0, sizeof(r));
	r.machid = machid;
	if (xioctl(fd, NVMM_IOC_VCPU_RUN, &r) != -EPERM)
		return 7;
	memset(&hm, 0, sizeof(hm));
	hm.machid = machid;
	hm.hva = ram + MT_RAM_SIZE;
	hm.size = 4096;
	if (xioctl(fd, NVMM_IOC_HVA_MAP, &hm) != -EPERM)
		return 8;
	hm.hva = ram;
	hm.size = MT_RAM_SIZE;
	if (xioctl(fd, NVMM_IOC_HVA_UNMAP, &hm) != -EPERM)
		return 9;
	memset(&gm, 0, sizeof(gm));
	gm.machid = machid;
	gm.hva = ram;
	gm.gpa = 0x100000;
	gm.size = 4096;
	gm.prot = PROT_READ;
	if (xioctl(fd, NVMM_IOC_GPA_MAP, &gm) != -EPERM)
		return 10;
	memset(&gu, 0, sizeof(gu));
	gu.machid = machid;
	gu.gpa = MT_TOUCH_GPA;
	gu.size = 4096;
	if (xioctl(fd, NVMM_IOC_GPA_UNMAP, &gu) != -EPERM)
		return 11;
	memset(&mconf, 0, sizeof(mconf));
	mconf.machid = machid;
	if (xioctl(fd, NVMM_IOC_MACHINE_CONFIGURE, &mconf) != -EPERM)
		return 12;
	memset(&info, 0, sizeof(info));
	info.machid = machid;
	memset(&ctl, 0, sizeof(ctl));
	ctl.op = NVMM_CTL_MACH_INFO;
	ctl.data = (uintptr_t)&info;
	ctl.size = sizeof(info);
	if (xioctl(fd, NVMM_IOC_CTL, &ctl) != -EPERM)
		return 13;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
	    (off_t)NVMM_COMM_OFFSET(machid, 0));
	if (p != MAP_FAILED || errno != EPERM)
		return 14;
	memset(&md, 0, sizeof(md));
	md.machid = machid;
	if (xioctl(fd, NVMM_IOC_MACHINE_DESTROY, &md) != -EPERM)
		return 15;
	return 0;
}

/* The creator's machine after the other process: intact and runnable. */
static void
check_intact(const char *name, struct mt_vm *vm, int status)
{
	struct nvmm_x86_exit e;
	struct nvmm_ioc_vcpu vc;
	int err;

	CHECK(name, WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the other process was allowed step %d (status 0x%x)",
	    WIFEXITED(status) ? WEXITSTATUS(status) : -1, status);
	vc.machid = vm->machid;
	vc.cpuid = 1;
	CHECK(name, xioctl(vm->fd, NVMM_IOC_VCPU_DESTROY, &vc) == -ENOENT,
	    "VCPU 1 exists");
	err = mt_run(vm, &e);
	CHECK(name, err == 0 && e.reason == NVMM_VCPU_EXIT_HALTED &&
	    vm->ram[MT_TOUCH_GPA] == 0x5a, "run: err %d reason 0x%llx "
	    "byte 0x%x", err, (unsigned long long)e.reason,
	    vm->ram[MT_TOUCH_GPA]);
	pass(name);
}

static void
test_foreign_fork(void)
{
	const char *name = "foreign-mm-fork";
	struct mt_vm vm;
	int fd, st;
	pid_t pid;

	fd = open("/dev/nvmm", O_RDWR);
	CHECK(name, fd != -1, "open: %s", strerror(errno));
	CHECK(name, mt_vm_create(fd, &vm) == 0, "machine: %s",
	    strerror(errno));
	pid = fork();
	CHECK(name, pid != -1, "fork: %s", strerror(errno));
	if (pid == 0)
		_exit(foreign_ops(fd, vm.machid, (uintptr_t)vm.ram));
	CHECK(name, waitpid(pid, &st, 0) == pid, "waitpid");
	check_intact(name, &vm, st);
	close(fd);
}

static int
send_fd(int sock, int fd)
{
	char buf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = (void *)"f", .iov_len = 1 };
	struct msghdr msg;
	struct cmsghdr *cm;

	memset(&msg, 0, sizeof(msg));
	memset(buf, 0, sizeof(buf));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = buf;
	msg.msg_controllen = sizeof(buf);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int
recv_fd(int sock)
{
	char buf[CMSG_SPACE(sizeof(int))], c;
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr msg;
	struct cmsghdr *cm;
	int fd;

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = buf;
	msg.msg_controllen = sizeof(buf);
	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (cm == NULL || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* The receiver exists before the file: it gets it only from the socket. */
static void
test_foreign_scm(void)
{
	const char *name = "foreign-mm-scm";
	struct mt_vm vm;
	uint64_t info[2];
	int sv[2], fd, st;
	pid_t pid;

	CHECK(name, socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0,
	    "socketpair: %s", strerror(errno));
	pid = fork();
	CHECK(name, pid != -1, "fork: %s", strerror(errno));
	if (pid == 0) {
		int rfd;

		close(sv[0]);
		rfd = recv_fd(sv[1]);
		if (rfd == -1 ||
		    read(sv[1], info, sizeof(info)) != (ssize_t)sizeof(info))
			_exit(99);
		_exit(foreign_ops(rfd, (uint32_t)info[0], info[1]));
	}
	close(sv[1]);
	fd = open("/dev/nvmm", O_RDWR);
	CHECK(name, fd != -1, "open: %s", strerror(errno));
	CHECK(name, mt_vm_create(fd, &vm) == 0, "machine: %s",
	    strerror(errno));
	info[0] = vm.machid;
	info[1] = (uintptr_t)vm.ram;
	CHECK(name, send_fd(sv[0], fd) == 0 &&
	    write(sv[0], info, sizeof(info)) == (ssize_t)sizeof(info),
	    "sending the file: %s", strerror(errno));
	CHECK(name, waitpid(pid, &st, 0) == pid, "waitpid");
	close(sv[0]);
	check_intact(name, &vm, st);
	close(fd);
}

int
main(void)
{
	int fd = mt_open("owners");

	if (fd == -1)
		return 0;
	close(fd);
	test_arg_stall();
	test_run_stall();
	test_foreign_fork();
	test_foreign_scm();
	return nfail ? 1 : 0;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * nvmmctl_vmtest: nvmmctl(8) on a working backend. Built statically with
 * tools/nvmmctl.c (-DNVMMCTL_NO_MAIN) for the test VM, where kvm_amd gives
 * /dev/kvm (stage vm-kvm_amd, no argument). With --nvmm (stage vm-nvmm,
 * nvmm.ko loaded, no KVM): `list` as root owner sees another process's
 * machine, and without CAP_SYS_ADMIN falls back to its own machines with a
 * note. Each case runs nvmmctl_main() in a child process with stdout and
 * stderr captured, and checks the exit status and the output.
 *
 * Output: PASS:/FAIL:/SKIP: lines; exit status 1 if a case failed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>

#include <nvmm.h>

int nvmmctl_main(int argc, char *argv[]);

#define OUT_MAX 16384

struct run {
	int rc;			/* exit status, or -1 if killed */
	char out[OUT_MAX];
	char err[OUT_MAX];
};

static int failures;

static void
fail(const char *name, const struct run *r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fail(const char *name, const struct run *r, const char *fmt, ...)
{
	va_list ap;
	const char *p;

	printf("FAIL: nvmmctl/%s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (r != NULL) {
		printf("# exit status %d; stdout:\n", r->rc);
		for (p = r->out; *p != '\0';) {
			size_t n = strcspn(p, "\n");
			printf("#   %.*s\n", (int)n, p);
			p += n + (p[n] == '\n');
		}
		printf("# stderr:\n");
		for (p = r->err; *p != '\0';) {
			size_t n = strcspn(p, "\n");
			printf("#   %.*s\n", (int)n, p);
			p += n + (p[n] == '\n');
		}
	}
	fflush(stdout);
	failures++;
}

static void
pass(const char *name)
{
	printf("PASS: nvmmctl/%s\n", name);
	fflush(stdout);
}

static void
slurp(FILE *f, char *buf)
{
	size_t n;

	rewind(f);
	n = fread(buf, 1, OUT_MAX - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* Drops CAP_SYS_ADMIN from the effective and permitted sets: 0 or -1. */
static int
drop_sys_admin(void)
{
	struct __user_cap_header_struct hdr;
	struct __user_cap_data_struct data[2];
	unsigned i = CAP_TO_INDEX(CAP_SYS_ADMIN);

	memset(&hdr, 0, sizeof(hdr));
	memset(data, 0, sizeof(data));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	if (syscall(SYS_capget, &hdr, data) == -1)
		return -1;
	data[i].effective &= ~CAP_TO_MASK(CAP_SYS_ADMIN);
	data[i].permitted &= ~CAP_TO_MASK(CAP_SYS_ADMIN);
	data[i].inheritable &= ~CAP_TO_MASK(CAP_SYS_ADMIN);
	return syscall(SYS_capset, &hdr, data) == -1 ? -1 : 0;
}

/* A machine with 2 VCPUs and 64 KiB of registered RAM, as a VMM has. */
static int
make_machine(void)
{
	static struct nvmm_machine mach;
	static struct nvmm_vcpu v0, v1;
	void *ram = mmap(NULL, 65536, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (ram == MAP_FAILED || nvmm_init() == -1 ||
	    nvmm_machine_create(&mach) == -1 ||
	    nvmm_vcpu_create(&mach, 0, &v0) == -1 ||
	    nvmm_vcpu_create(&mach, 1, &v1) == -1 ||
	    nvmm_hva_map(&mach, (uintptr_t)ram, 65536) == -1)
		return -1;
	return 0;
}

#define OWN_MACHINE	0x1	/* the child first creates a machine */
#define NO_SYS_ADMIN	0x2	/* the child drops CAP_SYS_ADMIN first */

/*
 * Run nvmmctl with `cmd` in a child. `backend`: the NVMM_BACKEND of the
 * child (NULL: unset). `flags`: OWN_MACHINE, the child first creates a
 * machine (make_machine); NO_SYS_ADMIN, the child first drops
 * CAP_SYS_ADMIN.
 */
static int
run_nvmmctl(const char *cmd, const char *backend, int flags, struct run *r,
    pid_t *child)
{
	FILE *out = tmpfile(), *err = tmpfile();
	int status;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	if (out == NULL || err == NULL)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == -1)
		return -1;
	if (pid == 0) {
		char *argv[] = { "nvmmctl", (char *)cmd, NULL };
		int argc = cmd != NULL ? 2 : 1;
		int rc;

		if (dup2(fileno(out), 1) == -1 || dup2(fileno(err), 2) == -1)
			_exit(120);
		if (backend != NULL)
			setenv("NVMM_BACKEND", backend, 1);
		else
			unsetenv("NVMM_BACKEND");
		if ((flags & NO_SYS_ADMIN) && drop_sys_admin() == -1) {
			fprintf(stderr, "capset: %s\n", strerror(errno));
			_exit(122);
		}
		if ((flags & OWN_MACHINE) && make_machine() == -1) {
			fprintf(stderr, "setup: %s\n", strerror(errno));
			_exit(121);
		}
		rc = nvmmctl_main(argc, argv);
		fflush(NULL);
		_exit(rc);
	}
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR)
			return -1;
	}
	r->rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	slurp(out, r->out);
	slurp(err, r->err);
	if (child != NULL)
		*child = pid;
	return 0;
}

/* The value of "Label:   value" in identify's output, or NULL. */
static const char *
value_of(const char *out, const char *label, char *buf, size_t len)
{
	size_t ll = strlen(label);
	const char *p = out;

	while (*p != '\0') {
		size_t n = strcspn(p, "\n");
		if (n > ll && strncmp(p, label, ll) == 0 && p[ll] == ':') {
			const char *v = p + ll + 1;
			while (*v == ' ')
				v++;
			snprintf(buf, len, "%.*s", (int)(n - (size_t)(v - p)), v);
			return buf;
		}
		p += n + (p[n] == '\n');
	}
	return NULL;
}

/* Checks that `label` exists and its value contains `want`. */
static bool
expect_value(const char *name, const struct run *r, const char *label,
    const char *want)
{
	char buf[512];
	const char *v = value_of(r->out, label, buf, sizeof(buf));

	if (v == NULL) {
		fail(name, r, "no \"%s:\" line", label);
		return false;
	}
	if (strstr(v, want) == NULL) {
		fail(name, r, "\"%s:\" is \"%s\", expected it to contain \"%s\"",
		    label, v, want);
		return false;
	}
	return true;
}

static void
test_identify(void)
{
	static const struct {
		const char *label, *want;
	} lines[] = {
		{ "Backend", "kvm (/dev/kvm), chosen by NVMM_BACKEND" },
		{ "Library API version", "2" },
		{ "Kernel ABI version", "2" },
		{ "State size", "1008 bytes" },
		{ "Max machines", "128" },
		{ "Max VCPUs per machine", "" },
		{ "Max RAM per machine", "128 GiB" },
		{ "Machine configure ops", "none" },
		{ "VCPU configure ops", "CPUID (up to 32 leaves per VCPU)" },
		{ "Unsupported VCPU ops", "TPR" },
		{ "Guest XCR0 mask", "x87 SSE" },
		{ "Guest MXCSR mask", "0x0000" },
		{ "CPU vendor", "" },
		{ "SVM", "yes" },
		{ "  Nested paging (NPT)", "yes" },
		{ "  ASIDs", "" },
		{ "  Revision", "" },
		{ "  NRIP save", "" },
		{ "  Decode assists", "" },
		{ "  VMCB clean bits", "" },
		{ "  Flush by ASID", "" },
		{ "VMX", "no" },
		{ "nvmm module", "requirements met (SVM with NPT)" },
	};
	struct run r;
	bool ok = true;

	if (run_nvmmctl("identify", "kvm", 0, &r, NULL) == -1) {
		fail("identify", NULL, "cannot run: %s", strerror(errno));
		return;
	}
	if (r.rc != 0) {
		fail("identify", &r, "exit status %d, expected 0", r.rc);
		return;
	}
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		ok = ok && expect_value("identify", &r, lines[i].label,
		    lines[i].want);
	if (ok && r.err[0] != '\0') {
		fail("identify", &r, "unexpected output on stderr");
		ok = false;
	}
	if (ok)
		pass("identify");
}

/* The default rule (no NVMM_BACKEND): /dev/nvmm is absent, so kvm. */
static void
test_identify_default(void)
{
	struct run r;

	if (run_nvmmctl("identify", NULL, 0, &r, NULL) == -1) {
		fail("identify-default", NULL, "cannot run: %s",
		    strerror(errno));
		return;
	}
	if (r.rc != 0) {
		fail("identify-default", &r, "exit status %d, expected 0",
		    r.rc);
		return;
	}
	if (expect_value("identify-default", &r, "Backend",
	    "kvm (/dev/kvm), the default's fallback: /dev/nvmm: No such file "
	    "or directory"))
		pass("identify-default");
}

/* NVMM_BACKEND=nvmm without the module: exit 1, the reason, the CPU part. */
static void
test_identify_nvmm_absent(void)
{
	struct run r;

	if (run_nvmmctl("identify", "nvmm", 0, &r, NULL) == -1) {
		fail("identify-nvmm-absent", NULL, "cannot run: %s",
		    strerror(errno));
		return;
	}
	if (r.rc != 1)
		fail("identify-nvmm-absent", &r, "exit status %d, expected 1",
		    r.rc);
	else if (strstr(r.err, "nvmmctl: cannot initialize libnvmm: "
	    "nvmm_init: No such file or directory") == NULL ||
	    strstr(r.err, "/dev/nvmm: No such file or directory") == NULL)
		fail("identify-nvmm-absent", &r, "no precise error on stderr");
	else if (strstr(r.out, "\nSVM:") == NULL)
		fail("identify-nvmm-absent", &r, "the CPU part is missing");
	else
		pass("identify-nvmm-absent");
}

static void
test_list_empty(void)
{
	struct run r;

	if (run_nvmmctl("list", "kvm", 0, &r, NULL) == -1) {
		fail("list-empty", NULL, "cannot run: %s", strerror(errno));
		return;
	}
	if (r.rc != 0)
		fail("list-empty", &r, "exit status %d, expected 0", r.rc);
	else if (strncmp(r.out, "Machine ID VCPUs RAM", 20) != 0)
		fail("list-empty", &r, "no header line");
	else if (strstr(r.out, "\n(no machines)\n") == NULL)
		fail("list-empty", &r, "no \"(no machines)\" line");
	else if (strstr(r.out, "Note: on the kvm backend only the calling "
	    "process's own machines can be listed") == NULL)
		fail("list-empty", &r, "no explanation of the kvm backend's "
		    "limit");
	else
		pass("list-empty");
}

/* A process that owns a machine sees it in the list (KVM: only there). */
static void
test_list_own(void)
{
	struct run r;
	char want[128];
	pid_t pid;

	if (run_nvmmctl("list", "kvm", OWN_MACHINE, &r, &pid) == -1) {
		fail("list-own-machine", NULL, "cannot run: %s",
		    strerror(errno));
		return;
	}
	snprintf(want, sizeof(want), "\n%-10s %-5s %-9s %-9ld ", "0", "2",
	    "64 KiB", (long)pid);
	if (r.rc != 0)
		fail("list-own-machine", &r, "exit status %d, expected 0",
		    r.rc);
	else if (strstr(r.out, want) == NULL)
		fail("list-own-machine", &r, "no line starting \"%s\"",
		    want + 1);
	else if (strstr(r.out, "(no machines)") != NULL)
		fail("list-own-machine", &r, "says \"(no machines)\"");
	else
		pass("list-own-machine");
}

static void
test_usage(void)
{
	static const char *const cmds[] = { NULL, "-h", "--help", "bogus" };
	struct run r;

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		const char *c = cmds[i] ? cmds[i] : "(none)";

		if (run_nvmmctl(cmds[i], "kvm", 0, &r, NULL) == -1) {
			fail("usage", NULL, "cannot run: %s", strerror(errno));
			return;
		}
		if (r.rc != 2) {
			fail("usage", &r, "command %s: exit status %d, "
			    "expected 2", c, r.rc);
			return;
		}
		if (strstr(r.err, "usage: nvmmctl identify") == NULL ||
		    r.out[0] != '\0') {
			fail("usage", &r, "command %s: no usage on stderr "
			    "alone", c);
			return;
		}
	}
	pass("usage");
}

/* ------------------------------------------------------------------------ */
/* --nvmm: nvmm.ko's root owner.                                              */

struct vmm {
	pid_t pid;
	int down;	/* closing it ends the VMM */
};

/* A separate process with a machine (make_machine) on NVMM_BACKEND=nvmm. */
static int
vmm_start(struct vmm *v)
{
	int up[2], down[2];
	char c;

	if (pipe(up) != 0)
		return -1;
	if (pipe(down) != 0) {
		close(up[0]);
		close(up[1]);
		return -1;
	}
	fflush(NULL);
	v->pid = fork();
	if (v->pid == 0) {
		close(up[0]);
		close(down[1]);
		setenv("NVMM_BACKEND", "nvmm", 1);
		if (make_machine() == -1)
			_exit(1);
		if (write(up[1], "k", 1) != 1)
			_exit(2);
		/* until the parent closes its end */
		while (read(down[0], &c, 1) > 0)
			;
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	if (v->pid == -1 || read(up[0], &c, 1) != 1) {
		close(up[0]);
		close(down[1]);
		if (v->pid != -1)
			waitpid(v->pid, NULL, 0);
		return -1;
	}
	close(up[0]);
	v->down = down[1];
	return 0;
}

static void
vmm_stop(struct vmm *v)
{
	close(v->down);
	while (waitpid(v->pid, NULL, 0) == -1 && errno == EINTR)
		;
}

/* The machine line of the VMM: " 2     64 KiB    <pid> " after the id. */
static bool
has_vmm_line(const char *out, pid_t pid)
{
	char want[128];
	const char *p = out;

	snprintf(want, sizeof(want), " %-5s %-9s %-9ld ", "2", "64 KiB",
	    (long)pid);
	while ((p = strstr(p, want)) != NULL) {
		/* preceded by a 10-wide machine id at the start of a line */
		if (p - out >= 10 && (p - out == 10 || p[-11] == '\n'))
			return true;
		p++;
	}
	return false;
}

static void
test_list_nvmm_root(const char *name, const char *backend)
{
	struct vmm v;
	struct run r;

	if (vmm_start(&v) == -1) {
		fail(name, NULL, "the VMM process failed");
		return;
	}
	if (run_nvmmctl("list", backend, 0, &r, NULL) == -1) {
		vmm_stop(&v);
		fail(name, NULL, "cannot run: %s", strerror(errno));
		return;
	}
	vmm_stop(&v);
	if (r.rc != 0)
		fail(name, &r, "exit status %d, expected 0", r.rc);
	else if (strncmp(r.out, "Machine ID VCPUs RAM", 20) != 0)
		fail(name, &r, "no header line");
	else if (!has_vmm_line(r.out, v.pid))
		fail(name, &r, "no line for the machine of process %ld (2 "
		    "VCPUs, 64 KiB)", (long)v.pid);
	else if (strstr(r.out, "Note:") != NULL || r.err[0] != '\0')
		fail(name, &r, "unexpected note or stderr output");
	else
		pass(name);
}

/* Without CAP_SYS_ADMIN: nvmm_init, this process's machines, a note. */
static void
test_list_nvmm_nocap(void)
{
	struct vmm v;
	struct run r;

	if (vmm_start(&v) == -1) {
		fail("list-nvmm-no-cap", NULL, "the VMM process failed");
		return;
	}
	if (run_nvmmctl("list", "nvmm", NO_SYS_ADMIN, &r, NULL) == -1) {
		vmm_stop(&v);
		fail("list-nvmm-no-cap", NULL, "cannot run: %s",
		    strerror(errno));
		return;
	}
	vmm_stop(&v);
	if (r.rc != 0)
		fail("list-nvmm-no-cap", &r, "exit status %d, expected 0",
		    r.rc);
	else if (has_vmm_line(r.out, v.pid))
		fail("list-nvmm-no-cap", &r, "another process's machine "
		    "listed without CAP_SYS_ADMIN");
	else if (strstr(r.out, "\n(no machines)\n") == NULL)
		fail("list-nvmm-no-cap", &r, "no \"(no machines)\" line");
	else if (strstr(r.out, "Note: only this process's machines are "
	    "shown: nvmm_root_init failed (Operation not permitted)") == NULL)
		fail("list-nvmm-no-cap", &r, "no note about the fallback");
	else
		pass("list-nvmm-no-cap");
}

int
main(int argc, char *argv[])
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && strcmp(argv[1], "--nvmm") == 0) {
		test_list_nvmm_root("list-nvmm-root", "nvmm");
		test_list_nvmm_root("list-nvmm-root-default", NULL);
		test_list_nvmm_nocap();
		return failures ? 1 : 0;
	}
	if (argc != 1) {
		fprintf(stderr, "usage: nvmmctl_vmtest [--nvmm]\n");
		return 2;
	}
	test_identify();
	test_identify_default();
	test_identify_nvmm_absent();
	test_list_empty();
	test_list_own();
	test_usage();
	return failures ? 1 : 0;
}

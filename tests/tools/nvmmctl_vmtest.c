/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * nvmmctl_vmtest: nvmmctl(8) on a working backend. Built statically with
 * tools/nvmmctl.c (-DNVMMCTL_NO_MAIN) for the test VM, where kvm_amd gives
 * /dev/kvm. Each case runs nvmmctl_main() in a child process with stdout
 * and stderr captured, and checks the exit status and the output.
 *
 * Output: PASS:/FAIL:/SKIP: lines; exit status 1 if a case failed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

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

/*
 * Run nvmmctl with `cmd` in a child. `backend`: the NVMM_BACKEND of the
 * child (NULL: unset). `own_machine`: the child first creates a machine
 * with 2 VCPUs and 64 KiB of registered RAM, as if it were a VMM.
 */
static int
run_nvmmctl(const char *cmd, const char *backend, bool own_machine,
    struct run *r, pid_t *child)
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
		if (own_machine) {
			static struct nvmm_machine mach;
			static struct nvmm_vcpu v0, v1;
			void *ram = mmap(NULL, 65536, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (ram == MAP_FAILED || nvmm_init() == -1 ||
			    nvmm_machine_create(&mach) == -1 ||
			    nvmm_vcpu_create(&mach, 0, &v0) == -1 ||
			    nvmm_vcpu_create(&mach, 1, &v1) == -1 ||
			    nvmm_hva_map(&mach, (uintptr_t)ram, 65536) == -1) {
				fprintf(stderr, "setup: %s\n", strerror(errno));
				_exit(121);
			}
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

	if (run_nvmmctl("identify", "kvm", false, &r, NULL) == -1) {
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

	if (run_nvmmctl("identify", NULL, false, &r, NULL) == -1) {
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

	if (run_nvmmctl("identify", "nvmm", false, &r, NULL) == -1) {
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

	if (run_nvmmctl("list", "kvm", false, &r, NULL) == -1) {
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

	if (run_nvmmctl("list", "kvm", true, &r, &pid) == -1) {
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

		if (run_nvmmctl(cmds[i], "kvm", false, &r, NULL) == -1) {
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

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_identify();
	test_identify_default();
	test_identify_nvmm_absent();
	test_list_empty();
	test_list_own();
	test_usage();
	return failures ? 1 : 0;
}

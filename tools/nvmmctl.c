/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * nvmmctl: look at the NVMM hypervisor of this host.
 *
 *   nvmmctl identify   the backend libnvmm uses, its versions, limits and
 *                      guest FPU support, and the CPU's virtualization
 *                      features as CPUID (and, if readable, the MSRs) show
 *   nvmmctl list       the live machines (nvmm_root_init + NVMM_CTL_MACH_INFO):
 *                      on the nvmm backend every machine of the host; without
 *                      CAP_SYS_ADMIN (the root open fails with EPERM) it
 *                      falls back to nvmm_init and this process's machines
 *
 * Exit status: 0 success, 1 failure (libnvmm cannot be initialized, or a
 * query fails), 2 usage error. See nvmmctl(8).
 *
 * Only the public API is used. Which backend libnvmm picked is worked out
 * with the library's own rule (NVMM_BACKEND, else /dev/nvmm if its backend
 * initializes, else /dev/kvm), by trying each backend's initialization in
 * a child process before this process initializes the library.
 */
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nvmm.h>

#define EXIT_USAGE	2
#define LABEL_WIDTH	26

int nvmmctl_main(int argc, char *argv[]);

static const char *progname = "nvmmctl";

static void
usage(void)
{
	fprintf(stderr,
	    "usage: %s identify    show the backend, its limits and the CPU's "
	    "virtualization features\n"
	    "       %s list        list the live virtual machines\n",
	    progname, progname);
}

/* One "Label:   value" line of identify's output. */
static void
field(const char *label, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
field(const char *label, const char *fmt, ...)
{
	va_list ap;
	char buf[64];

	snprintf(buf, sizeof(buf), "%s:", label);
	printf("%-*s", LABEL_WIDTH, buf);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* 1234 -> "1.2 KiB", 131072 -> "128 KiB". */
static void
fmt_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB",
	    "PiB", "EiB" };
	unsigned u = 0;
	uint64_t div = 1;

	while (u + 1 < sizeof(unit) / sizeof(unit[0]) && bytes / div >= 1024) {
		div *= 1024;
		u++;
	}
	if (bytes % div == 0)
		snprintf(buf, len, "%" PRIu64 " %s", bytes / div, unit[u]);
	else
		snprintf(buf, len, "%.1f %s", (double)bytes / (double)div,
		    unit[u]);
}

/* -------------------------------------------------------------------------- */
/* Which backend.                                                             */

struct backend_choice {
	const char *name;	/* "nvmm", "kvm", or NULL: none initializes */
	bool from_env;		/* chosen by NVMM_BACKEND */
	int nvmm_err;		/* default rule: why nvmm was passed over */
	int kvm_err;		/* default rule: why kvm was passed over */
};

static const char *
backend_device(const char *name)
{
	return strcmp(name, "nvmm") == 0 ? "/dev/nvmm" : "/dev/kvm";
}

/*
 * Initialize libnvmm with NVMM_BACKEND=name in a child process: 0 if it
 * works, else the errno of the failure (EIO if it cannot be told). Must run
 * before this process initializes the library (the child inherits it).
 */
static int
probe_backend(const char *name)
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	if (pid == -1)
		return errno;
	if (pid == 0) {
		int r;

		setenv("NVMM_BACKEND", name, 1);
		r = nvmm_init() == 0 ? 0 : errno;
		_exit(r > 0 && r < 255 ? r : (r == 0 ? 0 : 255));
	}
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR)
			return errno;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) == 255)
		return EIO;
	return WEXITSTATUS(status);
}

/* Returns -1 (message printed) if NVMM_BACKEND names no backend. */
static int
choose_backend(struct backend_choice *bc)
{
	const char *env = getenv("NVMM_BACKEND");

	memset(bc, 0, sizeof(*bc));
	if (env != NULL && *env != '\0') {
		if (strcmp(env, "nvmm") != 0 && strcmp(env, "kvm") != 0) {
			fprintf(stderr, "%s: NVMM_BACKEND=%s: unknown backend "
			    "(use nvmm or kvm, or unset it for the default)\n",
			    progname, env);
			return -1;
		}
		bc->name = strcmp(env, "nvmm") == 0 ? "nvmm" : "kvm";
		bc->from_env = true;
		return 0;
	}
	bc->nvmm_err = probe_backend("nvmm");
	if (bc->nvmm_err == 0) {
		bc->name = "nvmm";
		return 0;
	}
	bc->kvm_err = probe_backend("kvm");
	if (bc->kvm_err == 0)
		bc->name = "kvm";
	return 0;
}

/* What a backend initialization error means, for the messages. */
static const char *
init_hint(const char *backend, int err)
{
	bool kvm = strcmp(backend, "kvm") == 0;

	switch (err) {
	case ENOENT:
	case ENODEV:
	case ENXIO:
		return kvm ? "no KVM: the CPU offers no SVM/VMX to this system, "
		    "or kvm_amd/kvm_intel is not loaded" :
		    "the nvmm kernel module is not loaded";
	case EACCES:
	case EPERM:
		return kvm ? "permission denied: join the group owning "
		    "/dev/kvm (usually kvm)" :
		    "permission denied: see nvmm(4) for the device's group";
	case EPROTO:
		return "the device speaks another NVMM ABI version than this "
		    "library";
	case ENOTSUP:
		return "this KVM lacks a capability libnvmm needs (Linux 5.10 "
		    "or later is required)";
	default:
		return NULL;
	}
}

static void
print_init_reason(const char *backend, int err)
{
	const char *hint = init_hint(backend, err);

	fprintf(stderr, "%s: %s", backend_device(backend), strerror(err));
	if (hint != NULL)
		fprintf(stderr, " (%s)", hint);
}

/* The message for a failed nvmm_init/nvmm_root_init; returns 1. */
static int
init_failed(const char *fn, int err, const struct backend_choice *bc)
{
	fprintf(stderr, "%s: cannot initialize libnvmm: %s: %s\n", progname,
	    fn, strerror(err));
	if (bc->from_env) {
		fprintf(stderr, "%s: backend %s chosen by NVMM_BACKEND: ",
		    progname, bc->name);
		print_init_reason(bc->name, err);
		fputc('\n', stderr);
	} else if (bc->name == NULL) {
		fprintf(stderr, "%s: no backend is usable: ", progname);
		print_init_reason("nvmm", bc->nvmm_err);
		fputs("; ", stderr);
		print_init_reason("kvm", bc->kvm_err);
		fputc('\n', stderr);
	}
	return 1;
}

/*
 * `root`: nvmm_root_init. On the nvmm backend it needs CAP_SYS_ADMIN; when
 * it fails with EPERM or EACCES, nvmm_init is tried and *root_err (if not
 * NULL) tells why the root initialization failed (0: it worked).
 */
static int
init_library(bool root, struct backend_choice *bc, int *root_err)
{
	const char *fn = root ? "nvmm_root_init" : "nvmm_init";
	int r, err;

	if (root_err != NULL)
		*root_err = 0;
	if (choose_backend(bc) == -1)
		return 1;
	/*
	 * The library's default rule would move on to /dev/kvm when the root
	 * open of /dev/nvmm is refused: keep the backend the probe chose.
	 */
	if (root && bc->name != NULL && !bc->from_env &&
	    setenv("NVMM_BACKEND", bc->name, 1) == -1)
		return init_failed(fn, errno, bc);
	r = root ? nvmm_root_init() : nvmm_init();
	if (r == -1 && root && root_err != NULL && bc->name != NULL &&
	    strcmp(bc->name, "nvmm") == 0 && (errno == EPERM ||
	    errno == EACCES)) {
		*root_err = errno;
		fn = "nvmm_init";
		r = nvmm_init();
	}
	if (r == -1) {
		err = errno;
		if (root_err != NULL && *root_err != 0)
			fprintf(stderr, "%s: nvmm_root_init: %s\n", progname,
			    strerror(*root_err));
		return init_failed(fn, err, bc);
	}
	if (bc->name == NULL) {
		/* Nothing initialized in the probes, but now it does. */
		bc->name = "unknown";
	}
	return 0;
}

static void
print_backend(const struct backend_choice *bc)
{
	if (strcmp(bc->name, "unknown") == 0) {
		field("Backend", "unknown (the probes failed, the library "
		    "initialized anyway)");
	} else if (bc->from_env) {
		field("Backend", "%s (%s), chosen by NVMM_BACKEND", bc->name,
		    backend_device(bc->name));
	} else if (strcmp(bc->name, "nvmm") == 0) {
		field("Backend", "nvmm (/dev/nvmm), the default: the nvmm "
		    "module is usable");
	} else {
		const char *hint = init_hint("nvmm", bc->nvmm_err);

		field("Backend", "kvm (/dev/kvm), the default's fallback: "
		    "/dev/nvmm: %s%s%s%s", strerror(bc->nvmm_err),
		    hint ? " (" : "", hint ? hint : "", hint ? ")" : "");
	}
}

/* -------------------------------------------------------------------------- */
/* identify: what libnvmm reports.                                            */

static const char *const xcr0_names[] = {
	[0] = "x87", [1] = "SSE", [2] = "AVX", [3] = "MPX-BNDREGS",
	[4] = "MPX-BNDCSR", [5] = "AVX-512-opmask", [6] = "AVX-512-ZMM_Hi256",
	[7] = "AVX-512-Hi16_ZMM", [8] = "PT", [9] = "PKRU", [10] = "PASID",
	[11] = "CET-U", [12] = "CET-S", [13] = "HDC", [14] = "UINTR",
	[15] = "LBR", [16] = "HWP", [17] = "AMX-TILECFG", [18] = "AMX-TILEDATA",
};

static void
print_capability(const struct nvmm_capability *cap)
{
	char buf[512];
	size_t n = 0;
	uint64_t known;

	field("Library API version", "%u (NVMM_USER_VERSION)",
	    NVMM_USER_VERSION);
	field("Kernel ABI version", "%u (capability version; this library "
	    "expects %u)", cap->version, NVMM_KERN_VERSION);
	field("State size", "%u bytes", cap->state_size);
	field("Max machines", "%u", cap->max_machines);
	field("Max VCPUs per machine", "%u", cap->max_vcpus);
	fmt_size(cap->max_ram, buf, sizeof(buf));
	field("Max RAM per machine", "%s", buf);

	if (cap->arch.mach_conf_support == 0)
		field("Machine configure ops", "none");
	else
		field("Machine configure ops", "0x%" PRIx64,
		    cap->arch.mach_conf_support);

	n = 0;
	buf[0] = '\0';
	if (cap->arch.vcpu_conf_support & NVMM_CAP_ARCH_VCPU_CONF_CPUID)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
		    "CPUID (up to %u leaves per VCPU)",
		    cap->arch.conf_cpuid_maxops);
	if (cap->arch.vcpu_conf_support & NVMM_CAP_ARCH_VCPU_CONF_TPR)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%sTPR",
		    n ? ", " : "");
	known = NVMM_CAP_ARCH_VCPU_CONF_CPUID | NVMM_CAP_ARCH_VCPU_CONF_TPR;
	if (cap->arch.vcpu_conf_support & ~known)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
		    "%sunknown bits 0x%" PRIx64, n ? ", " : "",
		    cap->arch.vcpu_conf_support & ~known);
	field("VCPU configure ops", "%s", n ? buf : "none");
	n = 0;
	buf[0] = '\0';
	if (!(cap->arch.vcpu_conf_support & NVMM_CAP_ARCH_VCPU_CONF_CPUID))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "CPUID");
	if (!(cap->arch.vcpu_conf_support & NVMM_CAP_ARCH_VCPU_CONF_TPR))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%sTPR",
		    n ? ", " : "");
	if (n)
		field("Unsupported VCPU ops", "%s (EOPNOTSUPP)", buf);

	n = 0;
	buf[0] = '\0';
	for (unsigned b = 0; b < 64; b++) {
		if (!(cap->arch.xcr0_mask & ((uint64_t)1 << b)))
			continue;
		if (b < sizeof(xcr0_names) / sizeof(xcr0_names[0]) &&
		    xcr0_names[b] != NULL)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, " %s",
			    xcr0_names[b]);
		else
			n += (size_t)snprintf(buf + n, sizeof(buf) - n,
			    " bit%u", b);
	}
	field("Guest XCR0 mask", "0x%016" PRIx64 " (FPU states:%s)",
	    cap->arch.xcr0_mask, n ? buf : " none");
	field("Guest MXCSR mask", "0x%08" PRIx32 " (%s)", cap->arch.mxcsr_mask,
	    (cap->arch.mxcsr_mask & 0x40) ? "DAZ supported" :
	    "no DAZ");
}

/* -------------------------------------------------------------------------- */
/* identify: what the CPU shows.                                              */

static bool
cpuid_leaf(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	uint32_t max = __get_cpuid_max(leaf & 0x80000000U, NULL);

	if (max == 0 || leaf > max) {
		memset(r, 0, 4 * sizeof(r[0]));
		return false;
	}
	__cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
	return true;
}

/* MSR of CPU 0 through the msr driver: 0, or the errno. */
static int
read_msr(uint32_t msr, uint64_t *val)
{
	static int fd = -2, open_err;

	if (fd == -2) {
		fd = open("/dev/cpu/0/msr", O_RDONLY | O_CLOEXEC);
		open_err = fd == -1 ? errno : 0;
	}
	if (fd == -1)
		return open_err;
	if (pread(fd, val, sizeof(*val), msr) != (ssize_t)sizeof(*val))
		return errno ? errno : EIO;
	return 0;
}

static const char *
msr_hint(int err)
{
	switch (err) {
	case ENOENT:
	case ENXIO:
		return "load the msr module: modprobe msr";
	case EACCES:
	case EPERM:
		return "reading MSRs needs root (CAP_SYS_RAWIO)";
	default:
		return "";
	}
}

static const char *
yn(uint32_t v)
{
	return v ? "yes" : "no";
}

struct bitname {
	unsigned bit;
	const char *name;
};

/* CPUID 0x8000000A EDX, beyond the ones printed on their own line. */
static const struct bitname svm_other[] = {
	{ 1, "LBR-virtualization" }, { 2, "SVM-lock" }, { 4, "TSC-rate-MSR" },
	{ 10, "pause-filter" }, { 12, "pause-filter-threshold" },
	{ 13, "AVIC" }, { 15, "virtual-VMSAVE/VMLOAD" }, { 16, "vGIF" },
	{ 17, "GMET" }, { 25, "vNMI" },
};

/* Returns true if the module's SVM requirements (SVM + NPT) are met. */
static bool
print_svm(void)
{
	uint32_t r[4];
	char buf[512];
	size_t n = 0;
	uint64_t vmcr = 0;
	int err;

	if (!cpuid_leaf(0x8000000A, 0, r)) {
		field("  SVM details", "CPUID leaf 0x8000000A is missing");
		return false;
	}
	field("  Revision", "%u", r[0] & 0xFF);
	field("  ASIDs", "%u", r[1]);
	field("  Nested paging (NPT)", "%s", yn(r[3] & (1U << 0)));
	field("  NRIP save", "%s", yn(r[3] & (1U << 3)));
	field("  Decode assists", "%s", yn(r[3] & (1U << 7)));
	field("  VMCB clean bits", "%s", yn(r[3] & (1U << 5)));
	field("  Flush by ASID", "%s", yn(r[3] & (1U << 6)));
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(svm_other) / sizeof(svm_other[0]); i++)
		if (r[3] & (1U << svm_other[i].bit))
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s",
			    n ? " " : "", svm_other[i].name);
	field("  Other SVM features", "%s", n ? buf : "none");
	/* VM_CR.SVMDIS: the firmware may have switched SVM off. */
	err = read_msr(0xC0010114, &vmcr);
	if (err == 0)
		field("  Enabled by firmware", "%s (VM_CR.SVMDIS=%u)",
		    (vmcr & (1U << 4)) ? "no" : "yes",
		    (unsigned)((vmcr >> 4) & 1));
	else
		field("  Enabled by firmware", "unknown: /dev/cpu/0/msr: %s%s%s",
		    strerror(err), *msr_hint(err) ? "; " : "", msr_hint(err));
	return (r[3] & 1U) != 0 && (err != 0 || !(vmcr & (1U << 4)));
}

/*
 * VMX: CPUID says only that VMX exists; its capabilities are MSRs. Returns
 * 1 if the module's requirements (EPT + unrestricted guest) are met, 0 if
 * not, -1 if unknown.
 */
static int
print_vmx(void)
{
	uint64_t fc, basic, proc, proc2 = 0, pin, ept = 0;
	uint32_t proc2_1, true_ctls;
	int err;

	err = read_msr(0x3A, &fc);
	if (err != 0) {
		field("  VMX capabilities", "unknown: they are MSRs, and "
		    "/dev/cpu/0/msr: %s%s%s", strerror(err),
		    *msr_hint(err) ? "; " : "", msr_hint(err));
		return -1;
	}
	field("  Feature control", "%s, VMX outside SMX %s (MSR 0x3A = "
	    "0x%" PRIx64 ")", (fc & 1) ? "locked" : "unlocked",
	    (fc & 4) ? "enabled" : "disabled", fc);
	if (read_msr(0x480, &basic) != 0 || read_msr(0x481, &pin) != 0 ||
	    read_msr(0x482, &proc) != 0) {
		field("  VMX capabilities", "unknown: the VMX MSRs cannot be "
		    "read");
		return -1;
	}
	true_ctls = (basic >> 55) & 1;
	field("  VMCS revision", "0x%" PRIx64, basic & 0x7FFFFFFF);
	field("  True controls", "%s", yn(true_ctls));
	/* Allowed-1 settings are the high halves. */
	if ((proc >> 63) & 1)
		(void)read_msr(0x48B, &proc2);
	proc2_1 = (uint32_t)(proc2 >> 32);
	if ((proc2_1 & (1U << 1)) || (proc2_1 & (1U << 5)))
		(void)read_msr(0x48C, &ept);
	field("  Secondary controls", "%s", yn((uint32_t)(proc >> 63) & 1));
	field("  EPT", "%s", yn(proc2_1 & (1U << 1)));
	field("  Unrestricted guest", "%s", yn(proc2_1 & (1U << 7)));
	field("  VPID", "%s", yn(proc2_1 & (1U << 5)));
	if (proc2_1 & (1U << 1))
		field("  EPT features", "4-level:%s 5-level:%s 2M:%s 1G:%s "
		    "A/D:%s INVEPT:%s INVVPID:%s",
		    yn((uint32_t)(ept >> 6) & 1), yn((uint32_t)(ept >> 7) & 1),
		    yn((uint32_t)(ept >> 16) & 1), yn((uint32_t)(ept >> 17) & 1),
		    yn((uint32_t)(ept >> 21) & 1), yn((uint32_t)(ept >> 20) & 1),
		    yn((uint32_t)(ept >> 32) & 1));
	field("  Virtual NMIs", "%s", yn((uint32_t)(pin >> 32) & (1U << 5)));
	field("  Preemption timer", "%s", yn((uint32_t)(pin >> 32) & (1U << 6)));
	field("  TPR shadow", "%s", yn((uint32_t)(proc >> 32) & (1U << 21)));
	field("  MSR bitmaps", "%s", yn((uint32_t)(proc >> 32) & (1U << 28)));
	return (fc & 1) && (fc & 4) && (proc2_1 & (1U << 1)) &&
	    (proc2_1 & (1U << 7)) ? 1 : 0;
}

static void
rtrim(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && s[n - 1] == ' ')
		s[--n] = '\0';
}

static void
print_cpu(void)
{
	uint32_t r[4], brand[12];
	char vendor[13], hv[13];
	bool svm, vmx, hyp;
	int vmx_ok = 0;
	bool svm_ok = false;

	cpuid_leaf(0, 0, r);
	memcpy(vendor, &r[1], 4);
	memcpy(vendor + 4, &r[3], 4);
	memcpy(vendor + 8, &r[2], 4);
	vendor[12] = '\0';
	field("CPU vendor", "%s", vendor);
	if (cpuid_leaf(0x80000004, 0, r)) {
		char *s;

		for (unsigned i = 0; i < 3; i++)
			cpuid_leaf(0x80000002 + i, 0, &brand[4 * i]);
		s = (char *)brand;
		s[47] = '\0';
		while (*s == ' ')
			s++;
		rtrim(s);
		field("CPU model", "%s", s);
	}
	cpuid_leaf(1, 0, r);
	vmx = (r[2] >> 5) & 1;
	hyp = (r[2] >> 31) & 1;
	if (hyp) {
		__cpuid(0x40000000, r[0], r[1], r[2], r[3]);
		memcpy(hv, &r[1], 4);
		memcpy(hv + 4, &r[2], 4);
		memcpy(hv + 8, &r[3], 4);
		hv[12] = '\0';
		for (unsigned i = 0; i < 12; i++)
			if (hv[i] != '\0' && (hv[i] < 0x20 || hv[i] > 0x7E))
				hv[i] = '?';
		rtrim(hv);
		field("Hypervisor", "\"%s\" (this system is a virtual machine)",
		    hv);
	}
	cpuid_leaf(0x80000001, 0, r);
	svm = (r[2] >> 2) & 1;

	if (svm) {
		field("SVM", "yes (CPUID 0x80000001 ECX bit 2)");
		svm_ok = print_svm();
	} else {
		field("SVM", "no (CPUID 0x80000001 ECX bit 2 is clear)");
	}
	if (vmx) {
		field("VMX", "yes (CPUID 1 ECX bit 5)");
		vmx_ok = print_vmx();
	} else {
		field("VMX", "no (CPUID 1 ECX bit 5 is clear)");
	}
	if (!svm && !vmx) {
		field("Virtualization", "none: CPUID shows neither SVM nor VMX%s",
		    hyp ? "; the hypervisor below offers no nested "
		    "virtualization" : "");
		field("nvmm module", "cannot run here (it needs SVM with NPT, "
		    "or VMX with EPT and unrestricted guest)");
	} else if (svm) {
		field("nvmm module", "%s", svm_ok ? "requirements met (SVM with "
		    "NPT)" : "requirements not met (needs SVM with NPT, "
		    "enabled by the firmware)");
	} else {
		field("nvmm module", "%s", vmx_ok == 1 ? "requirements met "
		    "(VMX with EPT and unrestricted guest)" : vmx_ok == 0 ?
		    "requirements not met (needs VMX enabled by the firmware, "
		    "with EPT and unrestricted guest)" : "requirements unknown "
		    "(the VMX MSRs cannot be read)");
	}
}

static int
cmd_identify(void)
{
	struct backend_choice bc;
	struct nvmm_capability cap;
	int rc;

	rc = init_library(false, &bc, NULL);
	if (rc == 0) {
		if (nvmm_capability(&cap) == -1) {
			fprintf(stderr, "%s: nvmm_capability: %s\n", progname,
			    strerror(errno));
			return 1;
		}
		print_backend(&bc);
		print_capability(&cap);
	}
	/* The CPU part helps most when the library cannot initialize. */
	print_cpu();
	fflush(stdout);
	return rc;
}

/* -------------------------------------------------------------------------- */
/* list                                                                       */

static int
cmd_list(void)
{
	struct backend_choice bc;
	struct nvmm_capability cap;
	struct nvmm_ctl_mach_info info;
	unsigned count = 0;
	int rc, root_err;

	rc = init_library(true, &bc, &root_err);
	if (rc != 0)
		return rc;
	if (nvmm_capability(&cap) == -1) {
		fprintf(stderr, "%s: nvmm_capability: %s\n", progname,
		    strerror(errno));
		return 1;
	}
	printf("%-10s %-5s %-9s %-9s %s\n", "Machine ID", "VCPUs", "RAM",
	    "Owner PID", "Creation Time");
	printf("---------- ----- --------- --------- -------------------\n");
	for (uint32_t id = 0; id < cap.max_machines; id++) {
		char ram[32], when[32];
		struct tm tm;

		memset(&info, 0, sizeof(info));
		info.machid = id;
		if (nvmm_ctl(NVMM_CTL_MACH_INFO, &info, sizeof(info)) == -1) {
			/* No machine there, or another owner's (not root). */
			if (errno == ENOENT || errno == EPERM)
				continue;
			fflush(stdout);
			fprintf(stderr, "%s: nvmm_ctl(NVMM_CTL_MACH_INFO, "
			    "machine %" PRIu32 "): %s\n", progname, id,
			    strerror(errno));
			return 1;
		}
		fmt_size(info.nram, ram, sizeof(ram));
		if (localtime_r(&info.time, &tm) == NULL ||
		    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm) == 0)
			snprintf(when, sizeof(when), "@%lld",
			    (long long)info.time);
		printf("%-10" PRIu32 " %-5" PRIu32 " %-9s %-9ld %s\n", id,
		    info.nvcpus, ram, (long)info.pid, when);
		count++;
	}
	if (count == 0)
		printf("(no machines)\n");
	if (strcmp(bc.name, "kvm") == 0)
		printf("Note: on the kvm backend only the calling process's own "
		    "machines can be listed: KVM has no cross-process view, so "
		    "machines of other programs never appear here.\n");
	else if (root_err != 0)
		printf("Note: only this process's machines are shown: "
		    "nvmm_root_init failed (%s); listing every machine of the "
		    "host needs CAP_SYS_ADMIN.\n", strerror(root_err));
	fflush(stdout);
	return 0;
}

/* -------------------------------------------------------------------------- */

int
nvmmctl_main(int argc, char *argv[])
{
	if (argc > 0 && argv[0] != NULL && *argv[0] != '\0') {
		const char *slash = strrchr(argv[0], '/');
		progname = slash ? slash + 1 : argv[0];
	}
	if (argc != 2) {
		if (argc > 2)
			fprintf(stderr, "%s: %s takes no arguments\n", progname,
			    argv[1]);
		usage();
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "identify") == 0)
		return cmd_identify();
	if (strcmp(argv[1], "list") == 0)
		return cmd_list();
	if (strcmp(argv[1], "-h") != 0 && strcmp(argv[1], "--help") != 0)
		fprintf(stderr, "%s: unknown command '%s'\n", progname,
		    argv[1]);
	usage();
	return EXIT_USAGE;
}

#ifndef NVMMCTL_NO_MAIN
int
main(int argc, char *argv[])
{
	return nvmmctl_main(argc, argv);
}
#endif

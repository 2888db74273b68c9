/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * module_unload: the first and the last program of the nvmm.ko stages in
 * the test VM (tests/module/check-vm-nvmm.sh).
 *
 *   module_unload --baseline   (first) records the memory in use after
 *                              insmod in /tmp/nvmm-unload.baseline
 *   module_unload              (last, every /dev/nvmm user has exited)
 *     npt-levels     the module's load message says 5 NPT levels when the
 *                    host kernel runs 5-level paging (la57 in
 *                    /proc/cpuinfo), 4 otherwise; NVMM_EXPECT_NPT_LEVELS,
 *                    when set, must agree
 *     unload         the module's reference count is 0 and delete_module(2)
 *                    succeeds: /sys/module/nvmm and /dev/nvmm are gone
 *     unload-klog    no kernel message of the module after the unload
 *                    (its messages are the load banner lines only)
 *     unload-memory  memory in use (MemTotal - MemFree - free pages on the
 *                    per-CPU lists - Buffers - Cached - SReclaimable -
 *                    AnonPages) is
 *                    within NVMM_UNLOAD_SLACK_KB (2048) of the baseline.
 *                    Measured drift of a full stage: +0.2 to +0.5 MB (without
 *                    the per-CPU lists it was +18 MB and did not grow with
 *                    repeated runs). A coarse check: it catches leaks of
 *                    megabytes (pinned guest RAM, every machine's pages),
 *                    not of a few objects.
 *     reload         /mods/nvmm.ko loads again and unloads again
 * The harness's own kernel-log check (WARNING/BUG/Oops) runs after it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BASELINE	"/tmp/nvmm-unload.baseline"
#define MODPATH		"/mods/nvmm.ko"

static int nfail;

static void
report(int ok, const char *name, const char *detail)
{
	if (ok)
		printf("PASS: module/%s\n", name);
	else {
		printf("FAIL: module/%s: %s\n", name, detail);
		nfail++;
	}
	fflush(stdout);
}

/*
 * Free pages on the per-CPU lists ("count:" of every pageset in
 * /proc/zoneinfo), in kB: MemFree does not count them.
 */
static long
pcp_kb(void)
{
	char line[256];
	long sum = 0, n;
	FILE *f = fopen("/proc/zoneinfo", "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, " count: %ld", &n) == 1)
			sum += n;
	fclose(f);
	return sum * (sysconf(_SC_PAGESIZE) / 1024);
}

/*
 * kB in use that is neither free, nor reclaimable cache, nor mapped
 * anonymous memory (the live processes': this one's with ASan has a 2 MB
 * huge page at the end that it did not have at the baseline; a pinned page
 * leaked by the module is no longer mapped once its process is gone, so it
 * still counts); -1 on error.
 */
static long
mem_used_kb(void)
{
	static const char *keys[] = { "MemTotal:", "MemFree:", "Buffers:",
	    "Cached:", "SReclaimable:", "AnonPages:" };
	long v[6] = { -1, -1, -1, -1, -1, -1 };
	char line[256];
	FILE *f = fopen("/proc/meminfo", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		for (int i = 0; i < 6; i++) {
			size_t n = strlen(keys[i]);
			if (strncmp(line, keys[i], n) == 0)
				v[i] = strtol(line + n, NULL, 10);
		}
	}
	fclose(f);
	for (int i = 0; i < 6; i++)
		if (v[i] < 0)
			return -1;
	return v[0] - v[1] - v[2] - v[3] - v[4] - v[5] - pcp_kb();
}

/*
 * Every kernel log record with "nvmm:" in it, from /dev/kmsg (which keeps
 * the records `dmesg -c` cleared), into buf; the count, -1 on error.
 */
static int
kmsg_nvmm(char *buf, size_t size)
{
	char rec[2048];
	size_t used = 0;
	int fd, n = 0;
	ssize_t r;

	buf[0] = '\0';
	fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (fd == -1)
		return -1;
	for (;;) {
		r = read(fd, rec, sizeof(rec) - 1);
		if (r < 0) {
			if (errno == EPIPE)	/* overwritten records */
				continue;
			break;		/* EAGAIN: the end */
		}
		rec[r] = '\0';
		char *msg = strchr(rec, ';');
		if (msg == NULL || strstr(msg, "nvmm:") == NULL)
			continue;
		msg++;
		size_t len = strcspn(msg, "\n");
		if (used + len + 2 < size) {
			memcpy(buf + used, msg, len);
			used += len;
			buf[used++] = '\n';
			buf[used] = '\0';
		}
		n++;
	}
	close(fd);
	return n;
}

static int
la57(void)
{
	char line[4096];
	FILE *f = fopen("/proc/cpuinfo", "r");
	int yes = 0;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "flags", 5) == 0) {
			yes = strstr(line, " la57") != NULL;
			break;
		}
	}
	fclose(f);
	return yes;
}

static void
test_npt_levels(void)
{
	char buf[8192], detail[256];
	const char *p, *want_env = getenv("NVMM_EXPECT_NPT_LEVELS");
	int levels = 0, want, l57 = la57();

	if (kmsg_nvmm(buf, sizeof(buf)) < 0) {
		report(0, "npt-levels", "cannot read /dev/kmsg");
		return;
	}
	p = strstr(buf, "NPT ");
	if (p != NULL)
		levels = atoi(p + 4);
	want = l57 == 1 ? 5 : 4;
	snprintf(detail, sizeof(detail), "load message says %d levels, "
	    "la57 %s, NVMM_EXPECT_NPT_LEVELS %s", levels,
	    l57 == 1 ? "on" : "off", want_env ? want_env : "unset");
	if (levels != want || (want_env != NULL && atoi(want_env) != want)) {
		report(0, "npt-levels", detail);
		return;
	}
	printf("# npt-levels: %s\n", detail);
	report(1, "npt-levels", "");
}

/* The reference count of nvmm in /proc/modules; -1 when not loaded. */
static int
refcount(void)
{
	char line[512], name[64];
	unsigned long size;
	int refs, found = -1;
	FILE *f = fopen("/proc/modules", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%63s %lu %d", name, &size, &refs) == 3 &&
		    strcmp(name, "nvmm") == 0)
			found = refs;
	}
	fclose(f);
	return found;
}

static int
unload(char *detail, size_t size)
{
	struct stat st;
	int refs = refcount();

	if (refs != 0) {
		snprintf(detail, size, "reference count %d before unload", refs);
		return 0;
	}
	if (syscall(SYS_delete_module, "nvmm", O_NONBLOCK) != 0) {
		snprintf(detail, size, "delete_module: %s", strerror(errno));
		return 0;
	}
	if (stat("/sys/module/nvmm", &st) == 0 || stat("/dev/nvmm", &st) == 0 ||
	    refcount() != -1) {
		snprintf(detail, size, "still present after delete_module");
		return 0;
	}
	return 1;
}

int
main(int argc, char *argv[])
{
	char detail[512], before_klog[8192], after_klog[8192];
	long base = -1, used, slack = 2048;
	const char *s;
	FILE *f;
	int n0, n1, fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && strcmp(argv[1], "--baseline") == 0) {
		used = mem_used_kb();
		f = fopen(BASELINE, "w");
		if (used < 0 || f == NULL) {
			printf("FAIL: module/unload-baseline: /proc/meminfo or "
			    BASELINE "\n");
			return 1;
		}
		fprintf(f, "%ld\n", used);
		fclose(f);
		if (system("cat /proc/meminfo > " BASELINE ".meminfo") != 0)
			printf("# module_unload: no meminfo copy\n");
		printf("# module_unload: %ld kB in use after insmod\n", used);
		return 0;
	}
	if (refcount() < 0) {
		printf("SKIP: module/unload: nvmm is not loaded\n");
		return 0;
	}
	if ((s = getenv("NVMM_UNLOAD_SLACK_KB")) != NULL)
		slack = atol(s);

	test_npt_levels();

	n0 = kmsg_nvmm(before_klog, sizeof(before_klog));
	report(unload(detail, sizeof(detail)), "unload", detail);
	n1 = kmsg_nvmm(after_klog, sizeof(after_klog));
	if (n0 < 0 || n1 < 0)
		report(0, "unload-klog", "cannot read /dev/kmsg");
	else {
		size_t l0 = strlen(before_klog), l1 = strlen(after_klog);
		snprintf(detail, sizeof(detail), "new messages: %s",
		    after_klog + (l1 >= l0 ? l0 : 0));
		for (char *c = detail; *c != '\0'; c++)
			if (*c == '\n')
				*c = ' ';
		report(n1 == n0, "unload-klog", detail);
	}

	f = fopen(BASELINE, "r");
	if (f != NULL) {
		if (fscanf(f, "%ld", &base) != 1)
			base = -1;
		fclose(f);
	}
	used = mem_used_kb();
	if (base < 0 || used < 0)
		printf("SKIP: module/unload-memory: no baseline (run "
		    "module_unload --baseline first)\n");
	else {
		snprintf(detail, sizeof(detail), "%ld kB in use, %ld kB after "
		    "insmod (slack %ld kB)", used, base, slack);
		printf("# unload-memory: %s, delta %+ld kB\n", detail,
		    used - base);
		if (used - base > slack && system("cat /proc/meminfo | "
		    "awk 'NR == FNR { b[$1] = $2; next } $2 - b[$1] > 512 || "
		    "b[$1] - $2 > 512 { print \"#   \" $1, b[$1], \"->\", $2 }' "
		    BASELINE ".meminfo -") != 0)
			printf("# no meminfo comparison\n");
		report(used - base <= slack, "unload-memory", detail);
	}

	fd = open(MODPATH, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		printf("SKIP: module/reload: " MODPATH ": %s\n", strerror(errno));
	else {
		int ok = syscall(SYS_finit_module, fd, "", 0) == 0;
		snprintf(detail, sizeof(detail), "finit_module: %s",
		    strerror(errno));
		close(fd);
		if (ok && access("/dev/nvmm", F_OK) != 0) {
			ok = 0;
			snprintf(detail, sizeof(detail), "no /dev/nvmm after "
			    "the reload");
		}
		if (ok)
			ok = unload(detail, sizeof(detail));
		report(ok, "reload", detail);
	}
	return nfail ? 1 : 0;
}

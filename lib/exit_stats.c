/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * exit_stats.c: see exit_stats.h. Counters are relaxed atomics (VCPU
 * threads count concurrently); the report is written by an atexit handler,
 * so it also covers programs that never destroy their machine (QEMU).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exit_stats.h"

bool exit_stats_on;

static const struct {
	uint64_t reason;
	const char *name;
} reasons[] = {
	{ NVMM_VCPU_EXIT_NONE, "none" },
	{ NVMM_VCPU_EXIT_STOPPED, "stopped" },
	{ NVMM_VCPU_EXIT_INVALID, "invalid" },
	{ NVMM_VCPU_EXIT_MEMORY, "memory" },
	{ NVMM_VCPU_EXIT_IO, "io" },
	{ NVMM_VCPU_EXIT_SHUTDOWN, "shutdown" },
	{ NVMM_VCPU_EXIT_INT_READY, "int_ready" },
	{ NVMM_VCPU_EXIT_NMI_READY, "nmi_ready" },
	{ NVMM_VCPU_EXIT_HALTED, "halted" },
	{ NVMM_VCPU_EXIT_TPR_CHANGED, "tpr_changed" },
	{ NVMM_VCPU_EXIT_RDMSR, "rdmsr" },
	{ NVMM_VCPU_EXIT_WRMSR, "wrmsr" },
	{ NVMM_VCPU_EXIT_MONITOR, "monitor" },
	{ NVMM_VCPU_EXIT_MWAIT, "mwait" },
	{ NVMM_VCPU_EXIT_CPUID, "cpuid" },
};
#define NREASONS (sizeof(reasons) / sizeof(reasons[0]))
#define NPORTS 65536
/* MSR exits are few and of few MSRs: a small open-addressed table. */
#define NMSRS 64

static uint64_t reason_count[NREASONS + 1];	/* + other */
static uint64_t *port_count;			/* NPORTS, when on */
static uint64_t event_intr, event_nmi, event_excp;
static struct { uint32_t msr; uint32_t used; uint64_t n; } msr_count[NMSRS];

static void
add(uint64_t *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

static void
count_msr(uint32_t msr)
{
	unsigned i, h = (msr * 2654435761u) % NMSRS;

	for (i = 0; i < NMSRS; i++, h = (h + 1) % NMSRS) {
		uint32_t expect = 0;

		if (__atomic_load_n(&msr_count[h].used, __ATOMIC_ACQUIRE) &&
		    msr_count[h].msr == msr)
			break;
		/* claim a free slot: msr first, then used (the publication) */
		if (__atomic_compare_exchange_n(&msr_count[h].used, &expect, 2,
		    false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			msr_count[h].msr = msr;
			__atomic_store_n(&msr_count[h].used, 1, __ATOMIC_RELEASE);
			break;
		}
		while (__atomic_load_n(&msr_count[h].used, __ATOMIC_ACQUIRE) == 2)
			;
		if (msr_count[h].msr == msr)
			break;
	}
	if (i < NMSRS)
		add(&msr_count[h].n);
}

void
exit_stats_count_exit(const struct nvmm_vcpu_exit *e)
{
	size_t i;

	for (i = 0; i < NREASONS && reasons[i].reason != e->reason; i++)
		;
	add(&reason_count[i]);
	if (e->reason == NVMM_VCPU_EXIT_IO && port_count != NULL)
		add(&port_count[e->u.io.port]);
	else if (e->reason == NVMM_VCPU_EXIT_RDMSR)
		count_msr(e->u.rdmsr.msr);
	else if (e->reason == NVMM_VCPU_EXIT_WRMSR)
		count_msr(e->u.wrmsr.msr);
}

void
exit_stats_count_event(const struct nvmm_vcpu_event *ev)
{
	if (ev->type == NVMM_VCPU_EVENT_INTR)
		add(ev->vector == 2 ? &event_nmi : &event_intr);
	else
		add(&event_excp);
}

static void
report(void)
{
	const char *where = getenv("NVMM_STATS");
	FILE *f = stderr;
	uint64_t total = 0;
	size_t i;

	if (where != NULL && strcmp(where, "1") != 0 && strcmp(where, "-") != 0)
		f = fopen(where, "a");
	if (f == NULL)
		return;
	for (i = 0; i <= NREASONS; i++)
		total += reason_count[i];
	fprintf(f, "nvmm-stats: %llu exits\n", (unsigned long long)total);
	for (i = 0; i <= NREASONS; i++)
		if (reason_count[i] != 0)
			fprintf(f, "nvmm-stats: exit %s %llu\n",
			    i < NREASONS ? reasons[i].name : "other",
			    (unsigned long long)reason_count[i]);
	for (i = 0; port_count != NULL && i < NPORTS; i++)
		if (port_count[i] != 0)
			fprintf(f, "nvmm-stats: io-port 0x%zx %llu\n", i,
			    (unsigned long long)port_count[i]);
	for (i = 0; i < NMSRS; i++)
		if (msr_count[i].used == 1)
			fprintf(f, "nvmm-stats: msr 0x%x %llu\n", msr_count[i].msr,
			    (unsigned long long)msr_count[i].n);
	fprintf(f, "nvmm-stats: events intr %llu nmi %llu excp %llu\n",
	    (unsigned long long)event_intr, (unsigned long long)event_nmi,
	    (unsigned long long)event_excp);
	if (f != stderr)
		fclose(f);
}

void
exit_stats_setup(void)
{
	const char *v = getenv("NVMM_STATS");

	if (exit_stats_on || v == NULL || *v == '\0' || strcmp(v, "0") == 0)
		return;
	port_count = calloc(NPORTS, sizeof(*port_count));
	if (atexit(report) == 0)
		exit_stats_on = true;
}

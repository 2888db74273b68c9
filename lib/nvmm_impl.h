/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * nvmm_impl.h: libnvmm's private objects, shared by the machine-independent
 * layer (libnvmm.c) and the backends.
 */
#ifndef NVMM_IMPL_H
#define NVMM_IMPL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <nvmm.h>

#define LIB_MAX_MACHINES	128
#define LIB_MAX_VCPUS		256
#define LIB_MAX_RAM		(128ULL << 30)
#define LIB_MAX_HVA_AREAS	1024
#define LIB_PAGE_SIZE		4096ULL
#define LIB_CPUID_MAXOPS	32

/* A host range registered with nvmm_hva_map. */
struct lib_hva_area {
	uintptr_t hva;
	size_t size;
};

/* A guest-physical range mapped onto host memory with nvmm_gpa_map. */
struct lib_gpa_area {
	gpaddr_t gpa;
	uintptr_t hva;
	size_t size;
	int prot;		/* PROT_READ | PROT_WRITE | PROT_EXEC */
	void *be;		/* backend bookkeeping (e.g. the KVM slot) */
};

struct lib_vcpu {
	/* nvmm_vcpu::stop points here; written from signal handlers. */
	volatile int stop;
	nvmm_cpuid_t cpuid;
	struct nvmm_vcpu *user;		/* the caller's object */

	/* Where the backend keeps the state, the event and the exit. */
	struct nvmm_x64_state *state;
	struct nvmm_x86_event *event;
	struct nvmm_x86_exit *exit;
	uint64_t *state_cached;		/* components valid in *state */
	uint64_t *state_commit;		/* components to load at next run */
	bool *event_commit;		/* *event to inject at next run */

	struct nvmm_assist_callbacks cbs;
	void *be;			/* backend-private */
};

struct lib_machine {
	nvmm_machid_t machid;
	struct nvmm_machine *user;
	time_t ctime;
	unsigned forks;			/* lib's fork count at creation */

	/* Guards the area lists; never held across a user callback. */
	pthread_rwlock_t areas_lock;
	struct lib_hva_area *hvas;
	size_t nhvas;
	struct lib_gpa_area *gpas;
	size_t ngpas;
	/* Bumped by every gpa map/unmap: invalidates cached host pointers. */
	uint64_t map_gen;

	/* Guards VCPU creation and destruction. */
	pthread_mutex_t vcpus_lock;
	struct lib_vcpu *vcpus[LIB_MAX_VCPUS];
	unsigned nvcpus;

	void *be;			/* backend-private */
};

/* Translation of a guest-physical address through the gpa areas. */
int lib_gpa_lookup(struct lib_machine *lm, gpaddr_t gpa, uintptr_t *hva,
    size_t *avail, int *prot);

/* Validation of an event (type and vector), shared by every backend. */
bool lib_event_valid(const struct nvmm_x86_event *ev);
/* The exception pushes an error code (#DF #TS #NP #SS #GP #PF #AC #CP #SX). */
bool lib_excp_has_error(uint8_t vector);

#endif /* NVMM_IMPL_H */

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Conformance suite for libnvmm: the test harness.
 *
 * Every case is a function registered in a table (one table per source
 * file, collected in harness.c). The runner forks one child per case, so a
 * case owns its machines, a crash or a hang of one case is reported as that
 * case's failure, and nothing leaks from one case into the next.
 *
 * Inside a case, TEST_ASSERT and the ASSERT_* helpers print one
 *   FAIL: <case>: <expression>: expected ..., got ... (file:line)
 * line and end the case; test_skip() prints SKIP and ends it.
 */
#ifndef CONFORMANCE_HARNESS_H
#define CONFORMANCE_HARNESS_H

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "nvmm.h"
#include "layout.h"

/* ------------------------------------------------------------------------ */
/* Case registration.                                                        */

struct test_case {
	const char *name;
	void (*fn)(void);
	const char *what;	/* one line, printed by -l */
};

#define TEST_CASE(n, w) { #n, test_##n, w }

extern const struct test_case api_cases[];
extern const struct test_case mem_cases[];
extern const struct test_case exit_cases[];
extern const struct test_case state_cases[];
extern const struct test_case event_cases[];
extern const struct test_case emul_cases[];
extern const struct test_case guestcpu_cases[];

/* ------------------------------------------------------------------------ */
/* Verdicts.                                                                 */

extern const char *test_name;

__attribute__((noreturn, format(printf, 3, 4)))
void test_fail(const char *file, int line, const char *fmt, ...);
__attribute__((noreturn, format(printf, 1, 2)))
void test_skip(const char *fmt, ...);

#define TEST_ASSERT(cond, fmt, ...)                                          \
	do {                                                                 \
		if (!(cond))                                                 \
			test_fail(__FILE__, __LINE__, "%s: " fmt, #cond,     \
			    ##__VA_ARGS__);                                  \
	} while (0)

/* actual == expected, both shown in hex. */
#define ASSERT_EQ(actual, expected)                                          \
	do {                                                                 \
		uint64_t a_ = (uint64_t)(actual);                            \
		uint64_t e_ = (uint64_t)(expected);                          \
		if (a_ != e_)                                                \
			test_fail(__FILE__, __LINE__,                        \
			    "%s == %s: expected 0x%" PRIx64 ", got 0x%" PRIx64, \
			    #actual, #expected, e_, a_);                     \
	} while (0)

/* A library call that must succeed. */
#define ASSERT_OK(call)                                                      \
	do {                                                                 \
		errno = 0;                                                   \
		int r_ = (call);                                             \
		if (r_ != 0)                                                 \
			test_fail(__FILE__, __LINE__,                        \
			    "%s: expected 0, got %d (errno %d %s)", #call,   \
			    r_, errno, strerror(errno));                     \
	} while (0)

/* A library call that must fail with -1 and errno e1 (or e2). */
#define ASSERT_ERR2(call, e1, e2)                                            \
	do {                                                                 \
		errno = 0;                                                   \
		int r_ = (call);                                             \
		int er_ = errno;                                             \
		if (r_ != -1 || (er_ != (e1) && er_ != (e2)))                \
			test_fail(__FILE__, __LINE__,                        \
			    "%s: expected -1/%s, got %d/%s (%d)", #call,     \
			    (e1) == (e2) ? #e1 : #e1 " or " #e2, r_,        \
			    r_ == -1 ? strerror(er_) : "-", er_);           \
	} while (0)
#define ASSERT_ERR(call, e) ASSERT_ERR2(call, e, e)

/* ------------------------------------------------------------------------ */
/* Machines and guest memory.                                                */

struct vm {
	struct nvmm_machine mach;
	uint8_t *ram;		/* host view of GPA [0, ram_size) */
	size_t ram_size;
};

/* nvmm_init() once per case; skips the case if the backend is absent. */
void lib_init(void);
void get_capability(struct nvmm_capability *cap);
/* The backend the library chose is Linux KVM (same rule as nvmm_init). */
bool backend_is_kvm(void);

/* Machine with ram_size bytes of RAM at GPA 0 (RWX), 0 = RAM_SIZE. */
struct vm *vm_create(size_t ram_size);
void vm_destroy(struct vm *vm);
/* Host memory (MAP_NORESERVE), hva_map'ed and gpa_map'ed at gpa. */
void *vm_map(struct vm *vm, uint64_t gpa, size_t size, int prot);
void *gpa_ptr(struct vm *vm, uint64_t gpa);
void gpa_write64(struct vm *vm, uint64_t gpa, uint64_t v);
uint64_t gpa_read64(struct vm *vm, uint64_t gpa);
void gpa_write32(struct vm *vm, uint64_t gpa, uint32_t v);
uint32_t gpa_read32(struct vm *vm, uint64_t gpa);

/* ------------------------------------------------------------------------ */
/* Guest code: assembled in guest.S, copied to CODE_GPA.                     */

/* Each snippet N has symbols guest_N_start/_end; labels guest_N_L. */
#define DECLARE_GUEST(n)                                                     \
	extern const uint8_t guest_##n##_start[], guest_##n##_end[]
#define DECLARE_GUEST_LABEL(n, l) extern const uint8_t guest_##n##_##l[]
#define GUEST(n) guest_##n##_start, guest_##n##_end
/* The GPA of a label once snippet n is loaded at CODE_GPA. */
#define GUEST_ADDR(n, l)                                                     \
	((uint64_t)(guest_##n##_##l - guest_##n##_start) + CODE_GPA)

void guest_load(struct vm *vm, const uint8_t *start, const uint8_t *end);

/* ------------------------------------------------------------------------ */
/* VCPUs.                                                                    */

enum guest_mode {
	MODE_REAL,	/* CS:IP = 0:rip */
	MODE_PROT32,	/* flat 32-bit, no paging */
	MODE_PAGING32,	/* flat 32-bit, 2-level paging, 4 MiB identity pages */
	MODE_PAE,	/* flat 32-bit, PAE, 2 MiB identity pages (4 GiB) */
	MODE_LONG64,	/* 64-bit, 4-level, 2 MiB identity pages (4 GiB) */
};
const char *mode_name(enum guest_mode m);

/* nvmm_vcpu_create + default callbacks (record_io/record_mem). */
void vcpu_add(struct vm *vm, nvmm_cpuid_t id, struct nvmm_vcpu *vcpu);
/* Descriptor tables and page tables in RAM, then setstate(ALL). */
void vcpu_setup(struct vm *vm, struct nvmm_vcpu *vcpu, enum guest_mode m,
    uint64_t rip);
void vcpu_setup_real(struct vm *vm, struct nvmm_vcpu *vcpu, uint64_t rip);
void vcpu_setup_prot32(struct vm *vm, struct nvmm_vcpu *vcpu, uint64_t rip);
void vcpu_setup_paging32(struct vm *vm, struct nvmm_vcpu *vcpu, uint64_t rip);
void vcpu_setup_pae(struct vm *vm, struct nvmm_vcpu *vcpu, uint64_t rip);
void vcpu_setup_long64(struct vm *vm, struct nvmm_vcpu *vcpu, uint64_t rip);
/* Only the tables in RAM (for guests that switch modes themselves). */
void build_gdt(struct vm *vm);
void build_tables(struct vm *vm, enum guest_mode m);
/* IDT/IVT gate for vector -> handler (GPA), in the format of mode m. */
void idt_set(struct vm *vm, enum guest_mode m, int vector, uint64_t handler);

struct nvmm_x64_state *vcpu_state(struct vm *vm, struct nvmm_vcpu *vcpu,
    uint64_t flags);		/* getstate, asserting success */
void vcpu_commit(struct vm *vm, struct nvmm_vcpu *vcpu, uint64_t flags);
uint64_t vcpu_gpr(struct vm *vm, struct nvmm_vcpu *vcpu, int gpr);
void vcpu_set_gpr(struct vm *vm, struct nvmm_vcpu *vcpu, int gpr, uint64_t v);

/* nvmm_vcpu_run, repeated while the exit is NONE; asserts rc == 0. */
struct nvmm_vcpu_exit *vcpu_run(struct vm *vm, struct nvmm_vcpu *vcpu);
/* The exit in words, for failure messages. */
const char *exit_str(const struct nvmm_vcpu_exit *exit);

/* Run; the exit must be `reason` (else FAIL with the exit in words). */
#define EXPECT_EXIT(vm, vcpu, reason)                                        \
	expect_exit(__FILE__, __LINE__, vm, vcpu, reason, #reason)
struct nvmm_vcpu_exit *expect_exit(const char *file, int line, struct vm *vm,
    struct nvmm_vcpu *vcpu, uint64_t reason, const char *rname);

/*
 * Run until the guest reports: an OUT to PORT_REPORT. Returns RAX and moves
 * RIP to npc (the guest continues after the OUT on the next run).
 */
#define GUEST_REPORT(vm, vcpu) guest_report(__FILE__, __LINE__, vm, vcpu)
uint64_t guest_report(const char *file, int line, struct vm *vm,
    struct nvmm_vcpu *vcpu);
/* Run; expect an OUT to `port`, skip it (RIP = npc), return RAX. */
#define EXPECT_OUT(vm, vcpu, port) expect_out(__FILE__, __LINE__, vm, vcpu, port)
uint64_t expect_out(const char *file, int line, struct vm *vm,
    struct nvmm_vcpu *vcpu, uint16_t port);
/* RIP = npc of the current IO/MSR/CPUID exit. */
void vcpu_skip(struct vm *vm, struct nvmm_vcpu *vcpu, uint64_t npc);

/* ------------------------------------------------------------------------ */
/* Default assist callbacks: they record what they see.                      */

#define MAX_RECORDS 256
struct io_record {
	uint16_t port;
	bool in;
	size_t size;
	uint8_t data[8];
};
struct mem_record {
	uint64_t gpa;
	bool write;
	size_t size;
	uint8_t data[8];
};
extern struct io_record io_log[MAX_RECORDS];
extern unsigned io_count;
extern struct mem_record mem_log[MAX_RECORDS];
extern unsigned mem_count;
/* Data returned by IN callbacks: io_in_data[io_count % 256] bytes... */
extern uint8_t io_in_stream[4096];
extern unsigned io_in_pos;
extern uint8_t io_out_stream[4096];
extern unsigned io_out_pos;
/* MMIO device: reads come from here (gpa - MMIO_GPA), writes go here. */
extern uint8_t mmio_dev[4096];
/* Optional hook run inside the io callback (checks vcpu->state there). */
extern void (*io_hook)(struct nvmm_io *io);
/* The same inside the mem callback, after the data moved. */
extern void (*mem_hook)(struct nvmm_mem *mem);

/* ------------------------------------------------------------------------ */
/* Run-time probes of what the host can run (skips, never hard-coded).       */

/* Returns NULL when the host runs guests in mode m, else why not. */
const char *probe_mode(enum guest_mode m);
/* Skips the case unless the host runs mode m. */
void require_mode(enum guest_mode m);

/* ------------------------------------------------------------------------ */
/* Misc.                                                                     */

void msleep(unsigned ms);
uint64_t now_ms(void);
/* Silence stdout/stderr around noisy library calls (nvmm_vcpu_dump). */
int quiet_begin(void);
void quiet_end(int saved);

#endif /* CONFORMANCE_HARNESS_H */

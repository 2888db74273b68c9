/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * exit_loop.h: what the exit benchmarks share: the guest (real mode,
 * `out %al, $0x80; jmp` forever, one IO exit per iteration), timing and
 * medians, and the two loops that drive it: libnvmm (nvmm_vcpu_run +
 * nvmm_assist_io, on whatever backend the library picks) and raw KVM_RUN.
 */
#ifndef BENCH_EXIT_LOOP_H
#define BENCH_EXIT_LOOP_H

#include <linux/kvm.h>
#include <stdint.h>

#include <nvmm.h>

#include "bench_time.h"

#define BENCH_RAM_SIZE	0x10000
#define BENCH_ENTRY	0x1000

extern const char *bench_name;		/* prefix of failure messages */
extern unsigned long bench_io_count;	/* io callbacks seen */

void bench_die(const char *what) __attribute__((noreturn));
/* Fresh guest RAM with the loop at BENCH_ENTRY. */
uint8_t *bench_guest_ram(void);

struct bench_lib {
	struct nvmm_machine mach;
	struct nvmm_vcpu vcpu;
};
void bench_lib_setup(struct bench_lib *l);
double bench_lib_round(struct bench_lib *l, unsigned long iters);

struct bench_kvm {
	int vcpu;
	struct kvm_run *run;
};
void bench_kvm_setup(struct bench_kvm *r);
double bench_kvm_round(struct bench_kvm *r, unsigned long iters);

#endif /* BENCH_EXIT_LOOP_H */

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * exit_stats.h: opt-in counts of VCPU exits and injected events, for
 * explaining where a guest's time goes (benchmarks, boot investigations).
 * Off unless NVMM_STATS is set when nvmm_init() runs; then the counts of
 * the whole process are written when it exits, to stderr (NVMM_STATS=1 or
 * "-") or appended to the file NVMM_STATS names.
 */
#ifndef EXIT_STATS_H
#define EXIT_STATS_H

#include <stdbool.h>

#include "nvmm.h"

extern bool exit_stats_on;

void exit_stats_setup(void);
void exit_stats_count_exit(const struct nvmm_vcpu_exit *e);
void exit_stats_count_event(const struct nvmm_vcpu_event *ev);

#endif

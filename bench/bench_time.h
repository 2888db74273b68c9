/* SPDX-License-Identifier: BSD-2-Clause */
/* bench_time.h: the clock and the median every benchmark reports. */
#ifndef BENCH_TIME_H
#define BENCH_TIME_H

/* CLOCK_MONOTONIC, in nanoseconds. */
double bench_now_ns(void);
/* Median of v[0..n) (sorts v). */
double bench_median(double *v, int n);

#endif /* BENCH_TIME_H */

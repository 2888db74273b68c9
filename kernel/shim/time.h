/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0 */
/* Kernel stand-in for <time.h>: the C library's LP64 time_t. */
#ifndef NVMM_SHIM_TIME_H
#define NVMM_SHIM_TIME_H
#include <linux/types.h>
typedef long time_t;
#endif

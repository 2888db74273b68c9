/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0 */
/* Kernel stand-in for <errno.h>, so that include/nvmm.h compiles in nvmm.ko. */
#ifndef NVMM_SHIM_ERRNO_H
#define NVMM_SHIM_ERRNO_H
#include <linux/errno.h>
#endif

/* SPDX-License-Identifier: BSD-2-Clause OR GPL-2.0 */
/* Kernel stand-in for <stddef.h>, so that include/nvmm.h compiles in nvmm.ko. */
#ifndef NVMM_SHIM_STDDEF_H
#define NVMM_SHIM_STDDEF_H
#include <linux/types.h>
#include <linux/stddef.h>
#endif

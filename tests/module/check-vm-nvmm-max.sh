#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# check-vm-nvmm-max.sh: stage vm-nvmm-max, the programs of stage vm-nvmm
# (check-vm-nvmm.sh) on a second CPU model, QEMU's `-cpu max`: it has LA57,
# so the guest kernel runs 5-level paging and nvmm.ko builds 5-level nested
# page tables (module_unload checks the module's load message says so).
set -eu
cd "$(dirname "$0")/../.."
export VM_STAGE="${VM_STAGE:-vm-nvmm-max}"
export VM_CPU="${VM_CPU:-max}"
export VM_ENV="${VM_ENV-NVMM_BACKEND=nvmm NVMM_EXPECT_NPT_LEVELS=5}"
exec sh tests/module/check-vm-nvmm.sh

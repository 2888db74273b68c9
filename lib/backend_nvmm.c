/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * backend_nvmm.c: libnvmm over /dev/nvmm, our kernel module.
 *
 * The module and its ioctl ABI (include/nvmm_ioctl.h) are not part of this
 * build yet: the backend reports itself unavailable, so that the library
 * selects KVM, and NVMM_BACKEND=nvmm fails with a clear errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "backend.h"

static int
nvmm_dev_init(bool root, struct nvmm_capability *cap)
{
	int fd;

	(void)cap;
	fd = open("/dev/nvmm", (root ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
	if (fd == -1)
		return -1;	/* ENOENT without the module */
	close(fd);
	/* A device is there, but this library speaks no version of its ABI. */
	errno = EPROGMISMATCH;
	return -1;
}

const struct nvmm_backend nvmm_backend_nvmm = {
	.name = "nvmm",
	.init = nvmm_dev_init,
};

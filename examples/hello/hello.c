/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hello: the smallest complete libnvmm program. A real-mode guest writes a
 * line to port 0xE9, one byte per OUT, and halts; the host prints it.
 *
 *   hello           print the guest's line
 *   hello --check   also verify it: prints "PASS: hello" or "FAIL: ..."
 *                   (always so when built with -DHELLO_CHECK, for the test VM)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <nvmm.h>

#define GUEST_RAM	0x10000		/* 64 KiB at GPA 0 */
#define GUEST_ENTRY	0x1000
#define DEBUG_PORT	0xE9
#define MESSAGE		"Hello from an NVMM guest!\n"

/* The guest: si = message; do { out *si++ } while (byte != 0); hlt. */
extern const unsigned char guest_start[], guest_end[];
__asm__(
	".pushsection .rodata\n"
	"guest_start:\n"
	".code16\n"
	"	mov $(msg - guest_start + 0x1000), %si\n"
	"	mov $0xE9, %dx\n"
	"1:	lodsb\n"
	"	test %al, %al\n"
	"	jz 2f\n"
	"	out %al, %dx\n"
	"	jmp 1b\n"
	"2:	hlt\n"
	"msg:	.asciz \"" "Hello from an NVMM guest!\\n" "\"\n"
	".code64\n"
	"guest_end:\n"
	".popsection\n");

static char output[256];
static size_t output_len;

static void
io_callback(struct nvmm_io *io)
{
	if (io->port == DEBUG_PORT && !io->in && output_len < sizeof(output) - 1)
		output[output_len++] = (char)io->data[0];
}

static void
mem_callback(struct nvmm_mem *mem)
{
	(void)mem;	/* the guest touches no MMIO */
}

static int
fail(const char *what)
{
	printf("FAIL: hello: %s: %s\n", what, strerror(errno));
	return 1;
}

int
main(int argc, char *argv[])
{
	struct nvmm_assist_callbacks cbs = { io_callback, mem_callback };
	struct nvmm_machine mach;
	struct nvmm_vcpu vcpu;
#ifdef HELLO_CHECK
	bool check = true;
	(void)argc;
	(void)argv;
#else
	bool check = argc > 1 && strcmp(argv[1], "--check") == 0;
#endif
	uint8_t *ram;

	if (nvmm_init() == -1)
		return fail("nvmm_init");
	if (nvmm_machine_create(&mach) == -1)
		return fail("nvmm_machine_create");
	if (nvmm_vcpu_create(&mach, 0, &vcpu) == -1)
		return fail("nvmm_vcpu_create");
	if (nvmm_vcpu_configure(&mach, &vcpu, NVMM_VCPU_CONF_CALLBACKS,
	    &cbs) == -1)
		return fail("nvmm_vcpu_configure");

	ram = mmap(NULL, GUEST_RAM, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED)
		return fail("mmap");
	memcpy(ram + GUEST_ENTRY, guest_start, (size_t)(guest_end - guest_start));
	if (nvmm_hva_map(&mach, (uintptr_t)ram, GUEST_RAM) == -1 ||
	    nvmm_gpa_map(&mach, (uintptr_t)ram, 0, GUEST_RAM,
	    PROT_READ | PROT_WRITE | PROT_EXEC) == -1)
		return fail("mapping guest RAM");

	/* From the reset state, start at 0000:1000. */
	if (nvmm_vcpu_getstate(&mach, &vcpu, NVMM_X64_STATE_SEGS |
	    NVMM_X64_STATE_GPRS) == -1)
		return fail("nvmm_vcpu_getstate");
	vcpu.state->segs[NVMM_X64_SEG_CS].selector = 0;
	vcpu.state->segs[NVMM_X64_SEG_CS].base = 0;
	vcpu.state->gprs[NVMM_X64_GPR_RIP] = GUEST_ENTRY;
	if (nvmm_vcpu_setstate(&mach, &vcpu, NVMM_X64_STATE_SEGS |
	    NVMM_X64_STATE_GPRS) == -1)
		return fail("nvmm_vcpu_setstate");

	for (;;) {
		if (nvmm_vcpu_run(&mach, &vcpu) == -1)
			return fail("nvmm_vcpu_run");
		switch (vcpu.exit->reason) {
		case NVMM_VCPU_EXIT_NONE:
			continue;
		case NVMM_VCPU_EXIT_IO:
			if (nvmm_assist_io(&mach, &vcpu) == -1)
				return fail("nvmm_assist_io");
			continue;
		case NVMM_VCPU_EXIT_HALTED:
			break;
		default:
			errno = EPROTO;
			printf("FAIL: hello: unexpected exit 0x%llx\n",
			    (unsigned long long)vcpu.exit->reason);
			return 1;
		}
		break;
	}
	fputs(output, stdout);
	nvmm_machine_destroy(&mach);
	munmap(ram, GUEST_RAM);
	if (check) {
		if (strcmp(output, MESSAGE) != 0) {
			printf("FAIL: hello: guest wrote \"%s\", expected \"%s\"\n",
			    output, MESSAGE);
			return 1;
		}
		printf("PASS: hello\n");
	}
	return 0;
}

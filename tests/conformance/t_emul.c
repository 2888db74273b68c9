/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Conformance: instructions beyond MOV on an MMIO page, end to end through
 * nvmm_assist_mem (issue 15): REPNE SCASB and SCASW, LOCK XADD and
 * CMPXCHG, a stack on the MMIO page (PUSH, POP, CALL, RET), MOVDQU both
 * ways. nvmm.ko runs them through the library's emulator; on the KVM
 * backend KVM's own emulator runs them and the library passes the data
 * (docs/STATUS.md): either way the guest must see what a CPU gives it.
 */
#include "harness.h"

DECLARE_GUEST(emul_scas);
DECLARE_GUEST(emul_xadd_cmpxchg);
DECLARE_GUEST(emul_mmio_stack);
DECLARE_GUEST_LABEL(emul_mmio_stack, after_call);
DECLARE_GUEST(emul_movdqu);

/* Run to the next report, assisting every MEMORY exit on the way. */
static uint64_t
report_after_mmio(struct vm *vm, struct nvmm_vcpu *v, unsigned *assists)
{
	for (unsigned n = 0;; n++) {
		struct nvmm_vcpu_exit *e = vcpu_run(vm, v);

		TEST_ASSERT(n < 256, "no report after %u exits", n);
		if (e->reason == NVMM_VCPU_EXIT_MEMORY) {
			TEST_ASSERT(e->u.mem.gpa >= MMIO_GPA &&
			    e->u.mem.gpa < MMIO_GPA + 4096,
			    "MEMORY exit at 0x%" PRIx64, e->u.mem.gpa);
			ASSERT_OK(nvmm_assist_mem(&vm->mach, v));
			(*assists)++;
			continue;
		}
		TEST_ASSERT(e->reason == NVMM_VCPU_EXIT_IO &&
		    e->u.io.port == PORT_REPORT && !e->u.io.in,
		    "expected a report, got %s", exit_str(e));
		vcpu_skip(vm, v, e->u.io.npc);
		return vcpu_gpr(vm, v, NVMM_X64_GPR_RAX);
	}
}

static struct vm *
start(struct nvmm_vcpu *v, const uint8_t *begin, const uint8_t *end)
{
	struct vm *vm;

	require_mode(MODE_LONG64);
	vm = vm_create(0);
	vcpu_add(vm, 0, v);
	guest_load(vm, begin, end);
	vcpu_setup_long64(vm, v, CODE_GPA);
	memset(mmio_dev, 0, sizeof(mmio_dev));
	return vm;
}

static void
test_emul_scas(void)
{
	struct nvmm_vcpu v;
	struct vm *vm = start(&v, GUEST(emul_scas));
	unsigned assists = 0;

	memcpy(mmio_dev + 0x100, "\x01\x02\x03\x5a\x5a\x5a\x5a\x5a", 8);
	ASSERT_EQ(report_after_mmio(vm, &v, &assists), 4);	/* RCX */
	ASSERT_EQ(report_after_mmio(vm, &v, &assists), 4);	/* RDI moved */
	TEST_ASSERT(assists >= 1, "no MEMORY exit for REPNE SCASB");
	/* SCASW with DF=1: 0x0201 - 0x5a03 sets CF AF SF. */
	ASSERT_EQ(report_after_mmio(vm, &v, &assists) & 0x8d5, 0x91);
	EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_HALTED);
	vm_destroy(vm);
}

static void
test_emul_xadd_cmpxchg(void)
{
	struct nvmm_vcpu v;
	struct vm *vm = start(&v, GUEST(emul_xadd_cmpxchg));
	unsigned assists = 0;

	mmio_dev[0x200] = 5;
	ASSERT_EQ(report_after_mmio(vm, &v, &assists), 5);	/* old value */
	ASSERT_EQ(mmio_dev[0x200], 8);
	ASSERT_EQ(report_after_mmio(vm, &v, &assists), 1);	/* ZF */
	ASSERT_EQ(mmio_dev[0x200], 0x77);
	ASSERT_EQ(report_after_mmio(vm, &v, &assists), 0x77);	/* failed */
	ASSERT_EQ(mmio_dev[0x200], 0x77);
	TEST_ASSERT(assists >= 3, "%u MEMORY exits", assists);
	EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_HALTED);
	vm_destroy(vm);
}

static void
test_emul_mmio_stack(void)
{
	struct nvmm_vcpu v;
	struct vm *vm = start(&v, GUEST(emul_mmio_stack));
	unsigned assists = 0;
	uint64_t ret;

	ASSERT_EQ(report_after_mmio(vm, &v, &assists), 0x1122334455667788ULL);
	ASSERT_EQ(report_after_mmio(vm, &v, &assists), 0xfffffffffffffffeULL);
	ASSERT_EQ(report_after_mmio(vm, &v, &assists), 0x400);	/* RSP back */
	memcpy(&ret, mmio_dev + 0x3f8, 8);
	ASSERT_EQ(ret, GUEST_ADDR(emul_mmio_stack, after_call));
	TEST_ASSERT(assists >= 6, "%u MEMORY exits", assists);
	EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_HALTED);
	vm_destroy(vm);
}

static void
test_emul_movdqu(void)
{
	struct nvmm_vcpu v;
	struct vm *vm = start(&v, GUEST(emul_movdqu));
	unsigned assists = 0;

	for (unsigned i = 0; i < 16; i++)
		mmio_dev[0x501 + i] = (uint8_t)(0xc0 + i);
	(void)report_after_mmio(vm, &v, &assists);
	TEST_ASSERT(memcmp(gpa_ptr(vm, DATA_GPA + 0x40), mmio_dev + 0x501,
	    16) == 0, "MOVDQU load: XMM0 differs from the device bytes");
	TEST_ASSERT(memcmp(mmio_dev + 0x600, mmio_dev + 0x501, 16) == 0,
	    "MOVDQU store: device bytes differ");
	TEST_ASSERT(assists >= 2, "%u MEMORY exits", assists);
	EXPECT_EXIT(vm, &v, NVMM_VCPU_EXIT_HALTED);
	vm_destroy(vm);
}

const struct test_case emul_cases[] = {
	TEST_CASE(emul_scas, "assist_mem REPNE SCASB / SCASW (DF=1) on MMIO"),
	TEST_CASE(emul_xadd_cmpxchg, "assist_mem LOCK XADD, LOCK CMPXCHG on MMIO"),
	TEST_CASE(emul_mmio_stack, "assist_mem PUSH/POP/CALL/RET with RSP on MMIO"),
	TEST_CASE(emul_movdqu, "assist_mem MOVDQU load and store on MMIO"),
	{ NULL, NULL, NULL },
};

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * nvmm-conformance: the runner and the helpers every case uses.
 *
 *   nvmm-conformance           run every case
 *   nvmm-conformance -l        list the cases
 *   nvmm-conformance NAME...   run these cases
 *
 * Each case runs in a child process (fork) with a timeout
 * (NVMM_CONFORMANCE_TIMEOUT seconds, default 60). The child sends its
 * verdict line to the parent through a pipe; the parent prints it, or a
 * FAIL line of its own when the child crashed, hung or exited with a status
 * that contradicts its verdict (a sanitizer report after PASS).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define ST_PASS 10
#define ST_FAIL 11
#define ST_SKIP 12

const char *test_name = "?";
static int verdict_fd = -1;

static void
verdict(const char *kind, const char *detail)
{
	char line[2048];
	int n;

	if (detail != NULL)
		n = snprintf(line, sizeof(line), "%s: %s: %s\n", kind,
		    test_name, detail);
	else
		n = snprintf(line, sizeof(line), "%s: %s\n", kind, test_name);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	/* One write of < PIPE_BUF bytes: atomic, even from two threads. */
	if (write(verdict_fd >= 0 ? verdict_fd : 1, line, (size_t)n) < 0)
		_exit(ST_FAIL);
}

void
test_fail(const char *file, int line, const char *fmt, ...)
{
	char msg[1800];
	char full[1900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "%s (%s:%d)", msg, file, line);
	verdict("FAIL", full);
	_exit(ST_FAIL);
}

void
test_skip(const char *fmt, ...)
{
	char msg[1800];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	verdict("SKIP", msg);
	_exit(ST_SKIP);
}

/* ------------------------------------------------------------------------ */
/* Time.                                                                     */

void
msleep(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		continue;
}

uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int saved_stderr = -1;

/* Returns the saved stdout (stderr is kept aside as well). */
int
quiet_begin(void)
{
	int saved, null;

	fflush(stdout);
	fflush(stderr);
	saved = dup(1);
	saved_stderr = dup(2);
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	TEST_ASSERT(saved >= 0 && saved_stderr >= 0 && null >= 0,
	    "dup/open: %s", strerror(errno));
	dup2(null, 1);
	dup2(null, 2);
	close(null);
	return saved;
}

void
quiet_end(int saved)
{
	fflush(stdout);
	fflush(stderr);
	dup2(saved, 1);
	dup2(saved_stderr, 2);
	close(saved);
	close(saved_stderr);
	saved_stderr = -1;
}

/* ------------------------------------------------------------------------ */
/* Library and machines.                                                     */

void
lib_init(void)
{
	static bool done;

	if (done)
		return;
	ASSERT_OK(nvmm_init());
	done = true;
}

void
get_capability(struct nvmm_capability *cap)
{
	lib_init();
	memset(cap, 0, sizeof(*cap));
	ASSERT_OK(nvmm_capability(cap));
}

static void *
host_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	TEST_ASSERT(p != MAP_FAILED, "mmap(%zu): %s", size, strerror(errno));
	return p;
}

struct vm *
vm_create(size_t ram_size)
{
	struct vm *vm;

	lib_init();
	if (ram_size == 0)
		ram_size = RAM_SIZE;
	vm = calloc(1, sizeof(*vm));
	TEST_ASSERT(vm != NULL, "calloc");
	ASSERT_OK(nvmm_machine_create(&vm->mach));
	vm->ram = host_alloc(ram_size);
	vm->ram_size = ram_size;
	ASSERT_OK(nvmm_hva_map(&vm->mach, (uintptr_t)vm->ram, ram_size));
	ASSERT_OK(nvmm_gpa_map(&vm->mach, (uintptr_t)vm->ram, 0, ram_size,
	    PROT_READ | PROT_WRITE | PROT_EXEC));
	return vm;
}

void
vm_destroy(struct vm *vm)
{
	ASSERT_OK(nvmm_machine_destroy(&vm->mach));
	munmap(vm->ram, vm->ram_size);
	free(vm);
}

void *
vm_map(struct vm *vm, uint64_t gpa, size_t size, int prot)
{
	void *p = host_alloc(size);

	ASSERT_OK(nvmm_hva_map(&vm->mach, (uintptr_t)p, size));
	ASSERT_OK(nvmm_gpa_map(&vm->mach, (uintptr_t)p, gpa, size, prot));
	return p;
}

void *
gpa_ptr(struct vm *vm, uint64_t gpa)
{
	TEST_ASSERT(gpa < vm->ram_size, "gpa 0x%" PRIx64 " outside RAM", gpa);
	return vm->ram + gpa;
}

void
gpa_write64(struct vm *vm, uint64_t gpa, uint64_t v)
{
	memcpy(gpa_ptr(vm, gpa), &v, 8);
}

uint64_t
gpa_read64(struct vm *vm, uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, gpa_ptr(vm, gpa), 8);
	return v;
}

void
gpa_write32(struct vm *vm, uint64_t gpa, uint32_t v)
{
	memcpy(gpa_ptr(vm, gpa), &v, 4);
}

uint32_t
gpa_read32(struct vm *vm, uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, gpa_ptr(vm, gpa), 4);
	return v;
}

void
guest_load(struct vm *vm, const uint8_t *start, const uint8_t *end)
{
	size_t len = (size_t)(end - start);

	TEST_ASSERT(len <= 0x8000, "guest snippet of %zu bytes", len);
	memcpy(gpa_ptr(vm, CODE_GPA), start, len);
}

/* ------------------------------------------------------------------------ */
/* Default callbacks.                                                        */

struct io_record io_log[MAX_RECORDS];
unsigned io_count;
struct mem_record mem_log[MAX_RECORDS];
unsigned mem_count;
uint8_t io_in_stream[4096];
unsigned io_in_pos;
uint8_t io_out_stream[4096];
unsigned io_out_pos;
uint8_t mmio_dev[4096];
void (*io_hook)(struct nvmm_io *io);
void (*mem_hook)(struct nvmm_mem *mem);

static void
record_io(struct nvmm_io *io)
{
	struct io_record *r = &io_log[io_count % MAX_RECORDS];

	TEST_ASSERT(io->size == 1 || io->size == 2 || io->size == 4,
	    "io callback size %zu", io->size);
	if (io->in) {
		TEST_ASSERT(io_in_pos + io->size <= sizeof(io_in_stream),
		    "io stream overrun");
		memcpy(io->data, io_in_stream + io_in_pos, io->size);
		io_in_pos += (unsigned)io->size;
	} else {
		TEST_ASSERT(io_out_pos + io->size <= sizeof(io_out_stream),
		    "io stream overrun");
		memcpy(io_out_stream + io_out_pos, io->data, io->size);
		io_out_pos += (unsigned)io->size;
	}
	r->port = io->port;
	r->in = io->in;
	r->size = io->size;
	memset(r->data, 0, sizeof(r->data));
	memcpy(r->data, io->data, io->size);
	io_count++;
	if (io_hook != NULL)
		io_hook(io);
}

static void
record_mem(struct nvmm_mem *mem)
{
	struct mem_record *r = &mem_log[mem_count % MAX_RECORDS];
	uint8_t *dev = NULL;

	TEST_ASSERT(mem->size >= 1 && mem->size <= 8,
	    "mem callback size %zu", mem->size);
	if (mem->gpa >= MMIO_GPA && mem->gpa + mem->size <= MMIO_GPA + 4096)
		dev = mmio_dev + (mem->gpa - MMIO_GPA);
	if (mem->write) {
		if (dev != NULL)
			memcpy(dev, mem->data, mem->size);
	} else {
		if (dev != NULL)
			memcpy(mem->data, dev, mem->size);
		else
			memset(mem->data, 0xff, mem->size);
	}
	r->gpa = mem->gpa;
	r->write = mem->write;
	r->size = mem->size;
	memset(r->data, 0, sizeof(r->data));
	memcpy(r->data, mem->data, mem->size);
	mem_count++;
	if (mem_hook != NULL)
		mem_hook(mem);
}

/* ------------------------------------------------------------------------ */
/* Descriptor tables, page tables, VCPU setups.                              */

static uint64_t
desc(uint32_t base, uint32_t limit, unsigned access, unsigned flags)
{
	return (limit & 0xffffULL) | ((uint64_t)(base & 0xffffff) << 16) |
	    ((uint64_t)access << 40) | ((uint64_t)((limit >> 16) & 0xf) << 48) |
	    ((uint64_t)flags << 52) | ((uint64_t)(base >> 24) << 56);
}

void
build_gdt(struct vm *vm)
{
	gpa_write64(vm, GDT_GPA + 0x00, 0);
	gpa_write64(vm, GDT_GPA + SEL_CODE32, desc(0, 0xfffff, 0x9b, 0xc));
	gpa_write64(vm, GDT_GPA + SEL_DATA, desc(0, 0xfffff, 0x93, 0xc));
	gpa_write64(vm, GDT_GPA + SEL_CODE64, desc(0, 0xfffff, 0x9b, 0xa));
	/* System descriptors: 16 bytes each (upper half 0: base < 4 GiB). */
	gpa_write64(vm, GDT_GPA + SEL_TSS, desc(TSS_GPA, 0x67, 0x8b, 0));
	gpa_write64(vm, GDT_GPA + SEL_TSS + 8, 0);
	gpa_write64(vm, GDT_GPA + SEL_LDT, desc(LDT_GPA, 0xff, 0x82, 0));
	gpa_write64(vm, GDT_GPA + SEL_LDT + 8, 0);
	gpa_write64(vm, GDT_GPA + SEL_TSS2, desc(TSS2_GPA, 0x67, 0x89, 0));
	gpa_write64(vm, GDT_GPA + SEL_TSS2 + 8, 0);
	/* 64-bit TSS: RSP0 = STACK_TOP (the 32-bit one has ESP0 there too). */
	memset(gpa_ptr(vm, TSS_GPA), 0, 0x68);
	gpa_write32(vm, TSS_GPA + 4, STACK_TOP);
	gpa_write32(vm, TSS_GPA + 8, SEL_DATA);
	gpa_write32(vm, TSS_GPA + 0x66, 0x68 << 16);	/* no I/O bitmap */
}

void
build_tables(struct vm *vm, enum guest_mode m)
{
	unsigned i;

	build_gdt(vm);
	switch (m) {
	case MODE_PAGING32:
		/* PD at PT_GPA: 1024 x 4 MiB pages, P|RW|US|PS. */
		for (i = 0; i < 1024; i++)
			gpa_write32(vm, PT_GPA + i * 4, (i << 22) | 0x87);
		break;
	case MODE_PAE:
	case MODE_LONG64:
		/* 4 PDs at PT_GPA + 0x2000.. : 2048 x 2 MiB pages = 4 GiB. */
		for (i = 0; i < 2048; i++)
			gpa_write64(vm, PT_GPA + 0x2000 + i * 8,
			    ((uint64_t)i << 21) | 0x87);
		memset(gpa_ptr(vm, PT_GPA), 0, 0x2000);
		for (i = 0; i < 4; i++) {
			uint64_t pd = PT_GPA + 0x2000 + i * 0x1000;

			if (m == MODE_PAE)	/* PDPTEs: only P allowed */
				gpa_write64(vm, PT_GPA + i * 8, pd | 0x1);
			else
				gpa_write64(vm, PT_GPA + 0x1000 + i * 8,
				    pd | 0x7);
		}
		if (m == MODE_LONG64)
			gpa_write64(vm, PT_GPA, (PT_GPA + 0x1000) | 0x7);
		break;
	default:
		break;
	}
}

void
idt_set(struct vm *vm, enum guest_mode m, int vector, uint64_t handler)
{
	switch (m) {
	case MODE_REAL:
		gpa_write32(vm, IVT_GPA + vector * 4, (uint32_t)handler);
		break;
	case MODE_LONG64:
		/* 64-bit interrupt gate, DPL 0, present. */
		gpa_write64(vm, IDT_GPA + vector * 16,
		    (handler & 0xffff) | ((uint64_t)SEL_CODE64 << 16) |
		    (0x8eULL << 40) | ((handler >> 16 & 0xffff) << 48));
		gpa_write64(vm, IDT_GPA + vector * 16 + 8, handler >> 32);
		break;
	default:
		/* 32-bit interrupt gate. */
		gpa_write64(vm, IDT_GPA + vector * 8,
		    (handler & 0xffff) | ((uint64_t)SEL_CODE32 << 16) |
		    (0x8eULL << 40) | ((handler >> 16 & 0xffff) << 48));
		break;
	}
}

static void
seg(struct nvmm_x64_state_seg *s, uint16_t sel, uint64_t base,
    uint32_t limit, unsigned type, unsigned sbit, unsigned l, unsigned def,
    unsigned g)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = base;
	s->limit = limit;
	s->attrib.type = type & 0xf;
	s->attrib.s = sbit & 1;
	s->attrib.p = 1;
	s->attrib.l = l & 1;
	s->attrib.def = def & 1;
	s->attrib.g = g & 1;
}

const char *
mode_name(enum guest_mode m)
{
	switch (m) {
	case MODE_REAL: return "real mode";
	case MODE_PROT32: return "32-bit protected mode";
	case MODE_PAGING32: return "32-bit paging";
	case MODE_PAE: return "PAE paging";
	case MODE_LONG64: return "64-bit long mode";
	}
	return "?";
}

void
vcpu_add(struct vm *vm, nvmm_cpuid_t id, struct nvmm_vcpu *vcpu)
{
	struct nvmm_assist_callbacks cbs = { record_io, record_mem };

	ASSERT_OK(nvmm_vcpu_create(&vm->mach, id, vcpu));
	ASSERT_OK(nvmm_vcpu_configure(&vm->mach, vcpu,
	    NVMM_VCPU_CONF_CALLBACKS, &cbs));
}

void
vcpu_setup(struct vm *vm, struct nvmm_vcpu *vcpu, enum guest_mode m,
    uint64_t rip)
{
	struct nvmm_x64_state *st;
	unsigned i;
	bool lm = m == MODE_LONG64;

	build_tables(vm, m);
	st = vcpu_state(vm, vcpu, NVMM_X64_STATE_ALL);

	if (m == MODE_REAL) {
		for (i = 0; i < NVMM_X64_SEG_GDT; i++)
			seg(&st->segs[i], 0, 0, 0xffff,
			    i == NVMM_X64_SEG_CS ? 0xb : 0x3, 1, 0, 0, 0);
		seg(&st->segs[NVMM_X64_SEG_TR], 0, 0, 0xffff, 0xb, 0, 0, 0, 0);
		seg(&st->segs[NVMM_X64_SEG_IDT], 0, IVT_GPA, 0x3ff, 0, 0, 0,
		    0, 0);
	} else {
		for (i = 0; i < NVMM_X64_SEG_GDT; i++)
			seg(&st->segs[i], SEL_DATA, 0, 0xffffffff, 0x3, 1, 0,
			    1, 1);
		if (lm)
			seg(&st->segs[NVMM_X64_SEG_CS], SEL_CODE64, 0,
			    0xffffffff, 0xb, 1, 1, 0, 1);
		else
			seg(&st->segs[NVMM_X64_SEG_CS], SEL_CODE32, 0,
			    0xffffffff, 0xb, 1, 0, 1, 1);
		seg(&st->segs[NVMM_X64_SEG_TR], SEL_TSS, TSS_GPA, 0x67, 0xb, 0,
		    0, 0, 0);
		seg(&st->segs[NVMM_X64_SEG_IDT], 0, IDT_GPA,
		    lm ? 0xfff : 0x7ff, 0, 0, 0, 0, 0);
	}
	seg(&st->segs[NVMM_X64_SEG_GDT], 0, GDT_GPA, GDT_LIMIT, 0, 0, 0, 0, 0);
	seg(&st->segs[NVMM_X64_SEG_LDT], 0, 0, 0xffff, 0x2, 0, 0, 0, 0);
	/* GDT/IDT registers have no attributes. */
	memset(&st->segs[NVMM_X64_SEG_GDT].attrib, 0,
	    sizeof(st->segs[NVMM_X64_SEG_GDT].attrib));
	memset(&st->segs[NVMM_X64_SEG_IDT].attrib, 0,
	    sizeof(st->segs[NVMM_X64_SEG_IDT].attrib));

	memset(st->gprs, 0, sizeof(st->gprs));
	st->gprs[NVMM_X64_GPR_RIP] = rip;
	st->gprs[NVMM_X64_GPR_RSP] = STACK_TOP;
	st->gprs[NVMM_X64_GPR_RFLAGS] = 0x2;

	st->crs[NVMM_X64_CR_CR2] = 0;
	st->crs[NVMM_X64_CR_CR8] = 0;
	switch (m) {
	case MODE_REAL:
		st->crs[NVMM_X64_CR_CR0] = 0x30;		/* ET NE */
		st->crs[NVMM_X64_CR_CR3] = 0;
		st->crs[NVMM_X64_CR_CR4] = 0;
		break;
	case MODE_PROT32:
		st->crs[NVMM_X64_CR_CR0] = 0x31;		/* + PE */
		st->crs[NVMM_X64_CR_CR3] = 0;
		st->crs[NVMM_X64_CR_CR4] = 0x600;	/* OSFXSR OSXMMEXCPT */
		break;
	case MODE_PAGING32:
		st->crs[NVMM_X64_CR_CR0] = 0x80010031;	/* + PG WP */
		st->crs[NVMM_X64_CR_CR3] = PT_GPA;
		st->crs[NVMM_X64_CR_CR4] = 0x610;	/* + PSE */
		break;
	case MODE_PAE:
	case MODE_LONG64:
		st->crs[NVMM_X64_CR_CR0] = 0x80010031;
		st->crs[NVMM_X64_CR_CR3] = PT_GPA;
		st->crs[NVMM_X64_CR_CR4] = 0x620;	/* + PAE */
		break;
	}
	st->msrs[NVMM_X64_MSR_EFER] = lm ? 0x500 : 0;	/* LME LMA */
	memset(&st->intr, 0, sizeof(st->intr));
	vcpu_commit(vm, vcpu, NVMM_X64_STATE_ALL);
}

void
vcpu_setup_real(struct vm *vm, struct nvmm_vcpu *vcpu, uint64_t rip)
{
	vcpu_setup(vm, vcpu, MODE_REAL, rip);
}

void
vcpu_setup_prot32(struct vm *vm, struct nvmm_vcpu *vcpu, uint64_t rip)
{
	vcpu_setup(vm, vcpu, MODE_PROT32, rip);
}

void
vcpu_setup_paging32(struct vm *vm, struct nvmm_vcpu *vcpu, uint64_t rip)
{
	vcpu_setup(vm, vcpu, MODE_PAGING32, rip);
}

void
vcpu_setup_pae(struct vm *vm, struct nvmm_vcpu *vcpu, uint64_t rip)
{
	vcpu_setup(vm, vcpu, MODE_PAE, rip);
}

void
vcpu_setup_long64(struct vm *vm, struct nvmm_vcpu *vcpu, uint64_t rip)
{
	vcpu_setup(vm, vcpu, MODE_LONG64, rip);
}

/* ------------------------------------------------------------------------ */
/* State and runs.                                                           */

struct nvmm_x64_state *
vcpu_state(struct vm *vm, struct nvmm_vcpu *vcpu, uint64_t flags)
{
	ASSERT_OK(nvmm_vcpu_getstate(&vm->mach, vcpu, flags));
	return vcpu->state;
}

void
vcpu_commit(struct vm *vm, struct nvmm_vcpu *vcpu, uint64_t flags)
{
	ASSERT_OK(nvmm_vcpu_setstate(&vm->mach, vcpu, flags));
}

uint64_t
vcpu_gpr(struct vm *vm, struct nvmm_vcpu *vcpu, int gpr)
{
	return vcpu_state(vm, vcpu, NVMM_X64_STATE_GPRS)->gprs[gpr];
}

void
vcpu_set_gpr(struct vm *vm, struct nvmm_vcpu *vcpu, int gpr, uint64_t v)
{
	vcpu_state(vm, vcpu, NVMM_X64_STATE_GPRS)->gprs[gpr] = v;
	vcpu_commit(vm, vcpu, NVMM_X64_STATE_GPRS);
}

void
vcpu_skip(struct vm *vm, struct nvmm_vcpu *vcpu, uint64_t npc)
{
	vcpu_set_gpr(vm, vcpu, NVMM_X64_GPR_RIP, npc);
}

struct nvmm_vcpu_exit *
vcpu_run(struct vm *vm, struct nvmm_vcpu *vcpu)
{
	unsigned n;

	for (n = 0; n < 1000000; n++) {
		errno = 0;
		int rc = nvmm_vcpu_run(&vm->mach, vcpu);

		TEST_ASSERT(rc == 0, "nvmm_vcpu_run returned %d, errno %d (%s)",
		    rc, errno, strerror(errno));
		if (vcpu->exit->reason != NVMM_VCPU_EXIT_NONE)
			return vcpu->exit;
	}
	test_fail(__FILE__, __LINE__, "1000000 NONE exits in a row");
}

const char *
exit_str(const struct nvmm_vcpu_exit *e)
{
	static char buf[256];

	switch (e->reason) {
	case NVMM_VCPU_EXIT_NONE:
		return "NONE";
	case NVMM_VCPU_EXIT_STOPPED:
		return "STOPPED";
	case NVMM_VCPU_EXIT_INVALID:
		snprintf(buf, sizeof(buf), "INVALID hwcode 0x%" PRIx64,
		    e->u.inv.hwcode);
		return buf;
	case NVMM_VCPU_EXIT_MEMORY:
		snprintf(buf, sizeof(buf), "MEMORY gpa 0x%" PRIx64 " prot %d",
		    e->u.mem.gpa, e->u.mem.prot);
		return buf;
	case NVMM_VCPU_EXIT_IO:
		snprintf(buf, sizeof(buf),
		    "IO %s port 0x%x size %u asize %u rep %d str %d seg %d "
		    "npc 0x%" PRIx64, e->u.io.in ? "in" : "out", e->u.io.port,
		    e->u.io.operand_size, e->u.io.address_size, e->u.io.rep,
		    e->u.io.str, e->u.io.seg, e->u.io.npc);
		return buf;
	case NVMM_VCPU_EXIT_SHUTDOWN:
		return "SHUTDOWN";
	case NVMM_VCPU_EXIT_INT_READY:
		return "INT_READY";
	case NVMM_VCPU_EXIT_NMI_READY:
		return "NMI_READY";
	case NVMM_VCPU_EXIT_HALTED:
		return "HALTED";
	case NVMM_VCPU_EXIT_TPR_CHANGED:
		return "TPR_CHANGED";
	case NVMM_VCPU_EXIT_RDMSR:
		snprintf(buf, sizeof(buf), "RDMSR 0x%x npc 0x%" PRIx64,
		    e->u.rdmsr.msr, e->u.rdmsr.npc);
		return buf;
	case NVMM_VCPU_EXIT_WRMSR:
		snprintf(buf, sizeof(buf), "WRMSR 0x%x val 0x%" PRIx64
		    " npc 0x%" PRIx64, e->u.wrmsr.msr, e->u.wrmsr.val,
		    e->u.wrmsr.npc);
		return buf;
	case NVMM_VCPU_EXIT_CPUID:
		snprintf(buf, sizeof(buf), "CPUID npc 0x%" PRIx64,
		    e->u.insn.npc);
		return buf;
	default:
		snprintf(buf, sizeof(buf), "reason 0x%" PRIx64, e->reason);
		return buf;
	}
}

static void
exit_mismatch(const char *file, int line, struct vm *vm,
    struct nvmm_vcpu *vcpu, const char *want)
{
	char got[256];

	snprintf(got, sizeof(got), "%s", exit_str(vcpu->exit));
	if (nvmm_vcpu_getstate(&vm->mach, vcpu, NVMM_X64_STATE_GPRS) == 0)
		test_fail(file, line, "expected exit %s, got %s at RIP 0x%"
		    PRIx64 " (RAX 0x%" PRIx64 ")", want, got,
		    vcpu->state->gprs[NVMM_X64_GPR_RIP],
		    vcpu->state->gprs[NVMM_X64_GPR_RAX]);
	test_fail(file, line, "expected exit %s, got %s", want, got);
}

struct nvmm_vcpu_exit *
expect_exit(const char *file, int line, struct vm *vm, struct nvmm_vcpu *vcpu,
    uint64_t reason, const char *rname)
{
	struct nvmm_vcpu_exit *e = vcpu_run(vm, vcpu);

	if (e->reason != reason)
		exit_mismatch(file, line, vm, vcpu, rname);
	return e;
}

uint64_t
expect_out(const char *file, int line, struct vm *vm, struct nvmm_vcpu *vcpu,
    uint16_t port)
{
	struct nvmm_vcpu_exit *e = vcpu_run(vm, vcpu);
	uint64_t rax;
	char want[64];

	if (e->reason != NVMM_VCPU_EXIT_IO || e->u.io.in ||
	    e->u.io.port != port) {
		snprintf(want, sizeof(want), "IO out port 0x%x", port);
		exit_mismatch(file, line, vm, vcpu, want);
	}
	rax = vcpu_gpr(vm, vcpu, NVMM_X64_GPR_RAX);
	vcpu_skip(vm, vcpu, e->u.io.npc);
	return rax;
}

uint64_t
guest_report(const char *file, int line, struct vm *vm, struct nvmm_vcpu *vcpu)
{
	return expect_out(file, line, vm, vcpu, PORT_REPORT);
}

/* ------------------------------------------------------------------------ */
/* Probes.                                                                   */

DECLARE_GUEST(out_hlt);

const char *
probe_mode(enum guest_mode m)
{
	static char why[256];
	struct nvmm_vcpu vcpu;
	struct nvmm_vcpu_exit *e;
	struct vm *vm = vm_create(0);

	vcpu_add(vm, 0, &vcpu);
	guest_load(vm, GUEST(out_hlt));
	vcpu_setup(vm, &vcpu, m, CODE_GPA);
	e = vcpu_run(vm, &vcpu);
	if (e->reason == NVMM_VCPU_EXIT_IO && e->u.io.port == PORT_REPORT) {
		vm_destroy(vm);
		return NULL;
	}
	snprintf(why, sizeof(why), "host KVM cannot run %s (probe: `out` "
	    "under the setstate'd mode gave exit %s)", mode_name(m),
	    exit_str(e));
	vm_destroy(vm);
	return why;
}

void
require_mode(enum guest_mode m)
{
	const char *why = probe_mode(m);

	if (why != NULL)
		test_skip("%s", why);
}

/* ------------------------------------------------------------------------ */
/* The runner.                                                               */

static const struct test_case *const tables[] = {
	api_cases, mem_cases, exit_cases, state_cases, event_cases, emul_cases,
	guestcpu_cases,
};

#define FOREACH_CASE(tc)                                                     \
	for (size_t t_ = 0; t_ < sizeof(tables) / sizeof(tables[0]); t_++)   \
		for (const struct test_case *tc = tables[t_]; tc->name; tc++)

bool
backend_is_kvm(void)
{
	const char *be = getenv("NVMM_BACKEND");
	int fd;

	if (be != NULL)
		return strcmp(be, "kvm") == 0;
	fd = open("/dev/nvmm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return true;
	close(fd);
	return false;
}

static const char *
backend_absent(void)
{
	static char why[256];
	const char *be = getenv("NVMM_BACKEND");
	int fd;

	if (be != NULL && strcmp(be, "nvmm") == 0)
		return NULL;
	if (be == NULL || strcmp(be, "kvm") != 0) {
		fd = open("/dev/nvmm", O_RDWR | O_CLOEXEC);
		if (fd >= 0) {
			close(fd);
			return NULL;
		}
	}
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return NULL;
	}
	snprintf(why, sizeof(why), "no /dev/kvm (open: %s)%s",
	    strerror(errno), be == NULL ? " and no /dev/nvmm" : "");
	return why;
}

static int
run_case(const struct test_case *tc, unsigned timeout_s)
{
	int pfd[2], status = 0;
	char buf[4096];
	ssize_t n;
	size_t len = 0;
	pid_t pid;
	uint64_t deadline;
	bool timed_out = false;

	fflush(stdout);
	fflush(stderr);
	if (pipe2(pfd, O_CLOEXEC) == -1) {
		printf("FAIL: %s: pipe: %s\n", tc->name, strerror(errno));
		return 1;
	}
	pid = fork();
	if (pid == -1) {
		printf("FAIL: %s: fork: %s\n", tc->name, strerror(errno));
		return 1;
	}
	if (pid == 0) {
		close(pfd[0]);
		verdict_fd = pfd[1];
		test_name = tc->name;
		tc->fn();
		verdict("PASS", NULL);
		fflush(stdout);
		exit(ST_PASS);
	}
	close(pfd[1]);
	deadline = now_ms() + (uint64_t)timeout_s * 1000;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		if (now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			timed_out = true;
			break;
		}
		msleep(2);
	}
	while (len < sizeof(buf) - 1 &&
	    (n = read(pfd[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(pfd[0]);
	buf[len] = '\0';
	{
		/* Only the first verdict counts. */
		char *nl = strchr(buf, '\n');

		if (nl != NULL)
			nl[1] = '\0';
	}

	if (timed_out) {
		printf("FAIL: %s: timed out after %u s (set "
		    "NVMM_CONFORMANCE_TIMEOUT to wait longer)\n", tc->name,
		    timeout_s);
		return 1;
	}
	if (strncmp(buf, "FAIL: ", 6) == 0) {
		fputs(buf, stdout);
		return 1;
	}
	if (WIFSIGNALED(status)) {
		printf("FAIL: %s: killed by signal %d (%s)%s%s", tc->name,
		    WTERMSIG(status), strsignal(WTERMSIG(status)),
		    len ? " after verdict: " : "\n", buf);
		return 1;
	}
	if (strncmp(buf, "PASS: ", 6) == 0 && WEXITSTATUS(status) == ST_PASS) {
		fputs(buf, stdout);
		return 0;
	}
	if (strncmp(buf, "SKIP: ", 6) == 0 && WEXITSTATUS(status) == ST_SKIP) {
		fputs(buf, stdout);
		return 0;
	}
	printf("FAIL: %s: exited with status %d%s%s", tc->name,
	    WEXITSTATUS(status), len ? " after verdict: " : " without a verdict\n",
	    buf);
	return 1;
}

int
main(int argc, char **argv)
{
	const char *why, *env;
	unsigned timeout_s = 60;
	int failed = 0, i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	env = getenv("NVMM_CONFORMANCE_TIMEOUT");
	if (env != NULL && atoi(env) > 0)
		timeout_s = (unsigned)atoi(env);

	if (argc > 1 && strcmp(argv[1], "-l") == 0) {
		FOREACH_CASE(tc)
			printf("%-28s %s\n", tc->name, tc->what);
		return 0;
	}
	for (i = 1; i < argc; i++) {
		bool found = false;

		FOREACH_CASE(tc)
			if (strcmp(tc->name, argv[i]) == 0)
				found = true;
		if (!found) {
			fprintf(stderr, "%s: no case named %s (-l lists them)\n",
			    argv[0], argv[i]);
			return 2;
		}
	}

	why = backend_absent();
	FOREACH_CASE(tc) {
		bool selected = argc == 1;

		for (i = 1; i < argc; i++)
			if (strcmp(tc->name, argv[i]) == 0)
				selected = true;
		if (!selected)
			continue;
		if (why != NULL) {
			printf("SKIP: %s: %s\n", tc->name, why);
			continue;
		}
		failed |= run_case(tc, timeout_s);
	}
	return failed ? 1 : 0;
}

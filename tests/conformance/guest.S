/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Guest programs of the conformance suite. Each snippet N is assembled here,
 * linked into the runner as data (guest_N_start .. guest_N_end) and copied
 * to CODE_GPA in guest RAM; A(N, label) is the GPA of a label once loaded,
 * for far jumps and absolute addresses. Labels the host needs are global:
 * guest_N_label.
 *
 * Conventions (layout.h): `out %al, $PORT_REPORT` reports (E/R)AX to the
 * host; DATA_GPA is the scratch area shared with the host; `hlt` ends.
 */
#include "layout.h"

#define G(n)                                                                 \
	.section .rodata.guest, "a";                                         \
	.balign 16;                                                          \
	.globl guest_##n##_start;                                            \
	guest_##n##_start:
#define E(n)                                                                 \
	.globl guest_##n##_end;                                              \
	guest_##n##_end:
#define L(n, l)                                                              \
	.globl guest_##n##_##l;                                              \
	guest_##n##_##l:
#define A(n, l) guest_##n##_##l - guest_##n##_start + CODE_GPA

#define REPORT out %al, $PORT_REPORT
#define D(off) DATA_GPA+off

/* ------------------------------------------------------------------------ */
/* The same bytes in every mode: report, then halt.                          */

G(out_hlt)
	.code32
	REPORT
L(out_hlt, hlt)
	hlt
L(out_hlt, after)
E(out_hlt)

/* ------------------------------------------------------------------------ */
/* Plain port I/O; aN = the instruction, bN = the next one.                  */

#define IO_BODY(n)                                                           \
	mov $0x11, %al;                                                      \
	L(n, a0) out %al, $0x21;                                             \
	L(n, b0) mov $0x2233, %ax;                                           \
	L(n, a1) out %ax, $0x22;                                             \
	L(n, b1) mov $0x44556677, %eax;                                      \
	L(n, a2) out %eax, $0x23;                                            \
	L(n, b2) mov $0x1234, %dx;                                           \
	L(n, a3) out %al, %dx;                                             \
	L(n, b3)                                                             \
	L(n, a4) in $0x24, %al;                                              \
	L(n, b4)                                                             \
	L(n, a5) in %dx, %ax;                                              \
	L(n, b5)                                                             \
	L(n, a6) in $0x25, %eax;                                             \
	L(n, b6)                                                             \
	L(n, a7) out %ax, %dx;                                             \
	L(n, b7) hlt

G(io16)
	.code16
	IO_BODY(io16)
E(io16)

G(io32)
	.code32
	IO_BODY(io32)
E(io32)

G(io64)
	.code64
	IO_BODY(io64)
E(io64)

/*
 * The same OUT twice in a row, and each OUT before a string OUT: a KVM that
 * reports an OUT with RIP already past it shows RIP on the next one.
 */
#define B2B_BODY(n, SI)                                                      \
	L(n, a0) out %al, $0x21;                                             \
	L(n, a1) out %al, $0x21;                                             \
	L(n, a2) out %al, %dx;                                               \
	L(n, a3) out %al, %dx;                                               \
	L(n, a4) outsb %ds:(SI), %dx;                                        \
	L(n, a5) outsb %ds:(SI), %dx;                                        \
	L(n, a6) out %al, %dx;                                               \
	L(n, a7) rep outsb %ds:(SI), %dx;                                    \
	L(n, a8) hlt

G(b2b16)
	.code16
	B2B_BODY(b2b16, %si)
E(b2b16)

G(b2b32)
	.code32
	B2B_BODY(b2b32, %esi)
E(b2b32)

G(b2b64)
	.code64
	B2B_BODY(b2b64, %rsi)
E(b2b64)

/*
 * String and single I/O for the assist: the host sets the registers and
 * RIP to one label; each instruction is followed by hlt.
 */
#define STRIO_BODY(n, DI, SI)                                                        \
	L(n, insb) rep insb %dx, %es:(DI); hlt;                          \
	L(n, insw) rep insw %dx, %es:(DI); hlt;                          \
	L(n, insl) rep insl %dx, %es:(DI); hlt;                          \
	L(n, outsb) rep outsb %ds:(SI), %dx; hlt;                        \
	L(n, outsw) rep outsw %ds:(SI), %dx; hlt;                        \
	L(n, outsl) rep outsl %ds:(SI), %dx; hlt;                        \
	L(n, outsb_fs) rep outsb %fs:(SI), %dx; hlt;                     \
	L(n, outsw_gs) rep outsw %gs:(SI), %dx; hlt;                     \
	L(n, insb1) insb %dx, %es:(DI); hlt;                             \
	L(n, inb) in %dx, %al; hlt;                                        \
	L(n, inw) in %dx, %ax; hlt;                                        \
	L(n, inl) in %dx, %eax; hlt;                                       \
	L(n, outb) out %al, %dx; hlt;                                      \
	L(n, outw) out %ax, %dx; hlt;                                      \
	L(n, outl) out %eax, %dx; hlt

G(strio16)
	.code16
	STRIO_BODY(strio16, %di, %si)
	/* 16-bit addressing */
L(strio16, outsb16) rep outsb %ds:(%si), %dx
	hlt
E(strio16)

G(strio32)
	.code32
	STRIO_BODY(strio32, %edi, %esi)
E(strio32)

G(strio64)
	.code64
	STRIO_BODY(strio64, %rdi, %rsi)
	/* (%edi) in 64-bit mode: a 0x67 prefix, address size 4 */
L(strio64, insb_a32) rep insb %dx, %es:(%edi)
	hlt
L(strio64, outsl_a32) rep outsl %ds:(%esi), %dx
	hlt
E(strio64)

/* ------------------------------------------------------------------------ */
/* MMIO through nvmm_assist_mem (long mode; MMIO_GPA is unmapped).           */

G(mmio64)
	.code64
	mov $MMIO_GPA, %rbx
	mov $0x8899aabbccddeeff, %rcx
L(mmio64, s8) movb $0x11, (%rbx)
L(mmio64, s16) movw $0x2233, 0x10(%rbx)
L(mmio64, s32) movl $0x44556677, 0x20(%rbx)
L(mmio64, s64) mov %rcx, 0x30(%rbx)
L(mmio64, loads)
	xor %eax, %eax
L(mmio64, l8) mov 0x40(%rbx), %al
	REPORT
	mov $-1, %rax
L(mmio64, l16) mov 0x50(%rbx), %ax
	REPORT
	mov $-1, %rax
L(mmio64, l32) mov 0x60(%rbx), %eax
	REPORT
L(mmio64, l64) mov 0x70(%rbx), %rax
	REPORT
	hlt
E(mmio64)

/*
 * State seen by the assist callbacks: the guest itself sets MSRs, GS base
 * and FS, CR2 (and CR4.OSXSAVE + XCR0 = 3 when the host puts 1 at D(8)),
 * then a value in every GPR but RSP, and does one OUT. Then it changes the
 * GPRs (NOT), CR2 (NOT), GS base and three MSRs, and does one MMIO store
 * and one MMIO load. Its TSC before each phase goes to D(0x10), D(0x18).
 * The host checks vcpu->state inside the callbacks against these values.
 */
#define CB_WRMSR(idx, hi, lo)                                                \
	mov $idx, %ecx;                                                      \
	mov $hi, %edx;                                                       \
	mov $lo, %eax;                                                       \
	wrmsr
#define CB_TSC(off)                                                          \
	rdtsc;                                                               \
	shl $32, %rdx;                                                       \
	or %rdx, %rax;                                                       \
	mov %rax, D(off)
#define CB_NOT_GPRS                                                          \
	not %rax; not %rcx; not %rdx; not %rbx; not %rbp; not %rsi;          \
	not %rdi; not %r8; not %r9; not %r10; not %r11; not %r12;            \
	not %r13; not %r14; not %r15
G(cbstate64)
	.code64
	CB_WRMSR(0x174, 0, 0x5a)		/* SYSENTER_CS */
	CB_WRMSR(0x175, 0, 0x175175)		/* SYSENTER_ESP */
	CB_WRMSR(0x176, 0, 0x176176)		/* SYSENTER_EIP */
	CB_WRMSR(0x277, 0x00070106, 0x00070106)	/* PAT */
	CB_WRMSR(0xc0000081, 0x00230010, 0x5a5a5a5a)	/* STAR */
	CB_WRMSR(0xc0000082, 0xffffffff, 0x81234560)	/* LSTAR */
	CB_WRMSR(0xc0000083, 0xffffffff, 0x81234570)	/* CSTAR */
	CB_WRMSR(0xc0000084, 0, 0x47700)		/* SFMASK */
	CB_WRMSR(0xc0000101, 0x00007ffe, 0x5a5a5000)	/* GS base */
	CB_WRMSR(0xc0000102, 0x00007fff, 0xa5a5a000)	/* KERNEL_GS_BASE */
	mov $0xc0000080, %ecx			/* EFER.SCE */
	rdmsr
	or $1, %eax
	wrmsr
	xor %eax, %eax
	mov %ax, %fs
	mov $0xc2c2c2c2c2c2c2c2, %rax
	mov %rax, %cr2
	cmpb $0, D(8)
	je 1f
	mov %cr4, %rax
	bts $18, %rax				/* OSXSAVE */
	mov %rax, %cr4
	xor %ecx, %ecx
	xor %edx, %edx
	mov $3, %eax				/* x87 | SSE */
	xsetbv
1:	CB_TSC(0x10)
	mov $0xaaaa0000aaaa0001, %rax
	mov $0xcccc0000cccc0002, %rcx
	mov $0xdddd0000dddd0003, %rdx
	mov $0xbbbb0000bbbb0004, %rbx
	mov $0xbeef0000beef0005, %rbp
	mov $0x5151000051510006, %rsi
	mov $0xd1d10000d1d10007, %rdi
	mov $0x0808000008080008, %r8
	mov $0x0909000009090009, %r9
	mov $0x101000001010000a, %r10
	mov $0x111100001111000b, %r11
	mov $0x121200001212000c, %r12
	mov $0x131300001313000d, %r13
	mov $0x141400001414000e, %r14
	mov $0x151500001515000f, %r15
L(cbstate64, out) out %al, $PORT_MARK
	CB_WRMSR(0x176, 0, 0x276276)		/* SYSENTER_EIP */
	CB_WRMSR(0xc0000081, 0x00330020, 0xa5a5a5a5)	/* STAR */
	CB_WRMSR(0xc0000101, 0x00007ffd, 0x5a5a6000)	/* GS base */
	CB_WRMSR(0xc0000102, 0x00007ffc, 0xa5a5b000)	/* KERNEL_GS_BASE */
	CB_TSC(0x18)
	mov %cr2, %rax
	not %rax
	mov %rax, %cr2
	mov $0xaaaa0000aaaa0001, %rax
	mov $0xcccc0000cccc0002, %rcx
	mov $0xdddd0000dddd0003, %rdx
	CB_NOT_GPRS
L(cbstate64, store) mov %rbx, MMIO_GPA
L(cbstate64, load) mov MMIO_GPA+8, %r14
	hlt
E(cbstate64)

/* Real mode: DS = 0x9000, MMIO at linear 0x90000 (RAM ends below it). */
G(mmio16)
	.code16
	mov $0x9000, %ax
	mov %ax, %ds
	mov $0x10, %bx
L(mmio16, s16) movw $0xbeef, (%bx)
L(mmio16, l16) mov 0x20(%bx), %ax
	REPORT
	hlt
E(mmio16)

/* ------------------------------------------------------------------------ */
/* Memory access loops, host-driven (RSI/RDI and RIP set by the host).       */

G(mem32)
	.code32
L(mem32, load) 1: mov (%esi), %eax
	REPORT
	jmp 1b
L(mem32, store) 2: mov %eax, (%edi)
	REPORT
	jmp 2b
E(mem32)

G(mem64)
	.code64
L(mem64, load) 1: mov (%rsi), %rax
	REPORT
	jmp 1b
L(mem64, store) 2: mov %rax, (%rdi)
	REPORT
	jmp 2b
E(mem64)

/* Spin until the host writes a non-zero byte at DATA_GPA. */
G(spin32)
	.code32
L(spin32, spin) 1:
	cmpb $0, D(0)
	je 1b
	REPORT
	hlt
E(spin32)

/* Count: OUT EAX to port DX, ECX times. */
G(count32)
	.code32
	xor %eax, %eax
L(count32, loop) 1:
	out %eax, %dx
	inc %eax
	cmp %ecx, %eax
	jne 1b
	hlt
E(count32)

/* ------------------------------------------------------------------------ */
/* Mode switches done by the guest itself.                                   */

G(switch_long)
	.code16
	cli
	lgdtl A(switch_long, gdtr)
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmpl $SEL_CODE32, $A(switch_long, pm)
	.code32
L(switch_long, pm)
	mov $SEL_DATA, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $1, %eax
	REPORT
	mov %cr4, %eax
	or $0x20, %eax			/* PAE */
	mov %eax, %cr4
	mov $PT_GPA, %eax
	mov %eax, %cr3
	mov $0xc0000080, %ecx
	rdmsr
	or $0x100, %eax			/* LME */
	wrmsr
	mov %cr0, %eax
	or $0x80000000, %eax		/* PG */
	mov %eax, %cr0
	ljmp $SEL_CODE64, $A(switch_long, lm)
	.code64
L(switch_long, lm)
	mov $2, %eax
	REPORT
	hlt
	.balign 8
L(switch_long, gdtr)
	.word GDT_LIMIT
	.long GDT_GPA
E(switch_long)

G(switch_paging32)
	.code32
	mov %cr4, %eax
	or $0x10, %eax			/* PSE */
	mov %eax, %cr4
	mov $PT_GPA, %eax
	mov %eax, %cr3
	mov %cr0, %eax
	or $0x80000000, %eax
	mov %eax, %cr0
	mov $3, %eax
	REPORT
	hlt
E(switch_paging32)

/* ------------------------------------------------------------------------ */
/* State round trips: dump what the host set, load what the host wants.      */

G(gprs64)
	.code64
	mov %rax, D(0x00)
	mov %rcx, D(0x08)
	mov %rdx, D(0x10)
	mov %rbx, D(0x18)
	mov %rsp, D(0x20)
	mov %rbp, D(0x28)
	mov %rsi, D(0x30)
	mov %rdi, D(0x38)
	mov %r8, D(0x40)
	mov %r9, D(0x48)
	mov %r10, D(0x50)
	mov %r11, D(0x58)
	mov %r12, D(0x60)
	mov %r13, D(0x68)
	mov %r14, D(0x70)
	mov %r15, D(0x78)
	pushfq
	popq D(0x88)
	pushq D(0x188)
	popfq
	mov D(0x100), %rax
	mov D(0x108), %rcx
	mov D(0x110), %rdx
	mov D(0x118), %rbx
	mov D(0x128), %rbp
	mov D(0x130), %rsi
	mov D(0x138), %rdi
	mov D(0x140), %r8
	mov D(0x148), %r9
	mov D(0x150), %r10
	mov D(0x158), %r11
	mov D(0x160), %r12
	mov D(0x168), %r13
	mov D(0x170), %r14
	mov D(0x178), %r15
	mov D(0x120), %rsp
	hlt
L(gprs64, after)
E(gprs64)

G(segs64)
	.code64
	mov %es, D(0x00)
	mov %cs, D(0x02)
	mov %ss, D(0x04)
	mov %ds, D(0x06)
	mov %fs, D(0x08)
	mov %gs, D(0x0a)
	sgdt D(0x10)
	sidt D(0x20)
	sldt D(0x30)
	str D(0x32)
	mov %fs:0, %rax
	mov %rax, D(0x38)
	mov %gs:0, %rax
	mov %rax, D(0x40)
	lgdt D(0x100)
	lidt D(0x110)
	mov $SEL_LDT, %ax
	lldt %ax
	mov $SEL_TSS2, %ax
	ltr %ax
	xor %eax, %eax
	mov %ax, %es
	mov $0xc0000100, %ecx		/* FS.base */
	mov D(0x120), %eax
	mov D(0x124), %edx
	wrmsr
	mov $0xc0000101, %ecx		/* GS.base */
	mov D(0x128), %eax
	mov D(0x12c), %edx
	wrmsr
	hlt
E(segs64)

G(crs64)
	.code64
	mov %cr0, %rax
	mov %rax, D(0x00)
	mov %cr2, %rax
	mov %rax, D(0x08)
	mov %cr3, %rax
	mov %rax, D(0x10)
	mov %cr4, %rax
	mov %rax, D(0x18)
	mov %cr8, %rax
	mov %rax, D(0x20)
	mov D(0x100), %rax
	mov %rax, %cr2
	mov D(0x108), %rax
	mov %rax, %cr3
	mov D(0x110), %rax
	mov %rax, %cr4
	mov D(0x118), %rax
	mov %rax, %cr8
	mov D(0x120), %rax
	mov %rax, %cr0
	hlt
E(crs64)

G(drs64)
	.code64
	mov %dr0, %rax
	mov %rax, D(0x00)
	mov %dr1, %rax
	mov %rax, D(0x08)
	mov %dr2, %rax
	mov %rax, D(0x10)
	mov %dr3, %rax
	mov %rax, D(0x18)
	mov %dr6, %rax
	mov %rax, D(0x20)
	mov %dr7, %rax
	mov %rax, D(0x28)
	mov D(0x100), %rax
	mov %rax, %dr0
	mov D(0x108), %rax
	mov %rax, %dr1
	mov D(0x110), %rax
	mov %rax, %dr2
	mov D(0x118), %rax
	mov %rax, %dr3
	mov D(0x120), %rax
	mov %rax, %dr6
	mov D(0x128), %rax
	mov %rax, %dr7
	hlt
E(drs64)

/* MSR indices: u32 at D(0x100); read values -> D(0x200); new D(0x300). */
G(msrs64)
	.code64
	xor %esi, %esi
L(msrs64, rd) 1:
	mov DATA_GPA+0x100(,%rsi,4), %ecx
	rdmsr
	mov %eax, DATA_GPA+0x200(,%rsi,8)
	mov %edx, DATA_GPA+0x204(,%rsi,8)
	inc %esi
	cmp %ebx, %esi
	jne 1b
	xor %esi, %esi
L(msrs64, wr) 2:
	mov DATA_GPA+0x100(,%rsi,4), %ecx
	mov DATA_GPA+0x300(,%rsi,8), %eax
	mov DATA_GPA+0x304(,%rsi,8), %edx
	wrmsr
	inc %esi
	cmp %ebx, %esi
	jne 2b
	hlt
E(msrs64)

G(rdtsc64)
	.code64
	rdtsc
	shl $32, %rdx
	or %rdx, %rax
	REPORT
	hlt
E(rdtsc64)

G(fpu64)
	.code64
	fnstcw D(0x00)
	stmxcsr D(0x04)
	movdqu %xmm0, D(0x10)
	fldcw D(0x100)
	ldmxcsr D(0x104)
	movdqu D(0x110), %xmm1
	fld1
	REPORT				/* also from CPL3, where hlt faults */
	hlt
E(fpu64)

G(xcr0_64)
	.code64
	xor %ecx, %ecx
	xgetbv
	REPORT
	mov $3, %eax			/* x87 | SSE */
	xor %edx, %edx
	xor %ecx, %ecx
	xsetbv
	hlt
E(xcr0_64)

/* ------------------------------------------------------------------------ */
/* Exits.                                                                    */

G(ud2)
	.code32
	ud2
E(ud2)

G(msr32)
	.code32
	mov $0x1b, %ecx
L(msr32, rd) rdmsr
L(msr32, rd_end)
	REPORT
	mov %edx, %eax
	REPORT
	mov $0x1b, %ecx
	mov $0xfee00d00, %eax
	mov $0x5, %edx
L(msr32, wr) wrmsr
L(msr32, wr_end)
	mov $0x12345, %ecx
L(msr32, rd2) rdmsr
L(msr32, rd2_end)
	REPORT
	hlt
E(msr32)

/*
 * MSRs the backend answers itself. The host lists the operations at D(0x100),
 * 16 bytes each: op (0 = RDMSR, 1 = WRMSR), MSR, value (EDX:EAX of a WRMSR);
 * D(0) holds the length of that list in bytes. Each RDMSR stores EDX:EAX at
 * D(0x800 + the same offset); a #GP (vector 13 -> msrk64_gp) sets the
 * quadword after it to 1 and goes on with the next operation. Then one RDMSR
 * of D(0x10) and one WRMSR of D(0x14) with D(0x18), both for the host, and
 * HLT.
 */
G(msrk64)
	.code64
	mov D(0x0), %r8d
	xor %ebx, %ebx
1:	cmp %r8d, %ebx
	je 3f
	mov D(0x104)(%rbx), %ecx
	mov D(0x108)(%rbx), %eax
	mov D(0x10c)(%rbx), %edx
	cmpl $0, D(0x100)(%rbx)
	jne 2f
	rdmsr
	mov %eax, D(0x800)(%rbx)
	mov %edx, D(0x804)(%rbx)
	jmp 4f
2:	wrmsr
L(msrk64, next) 4:
	add $16, %ebx
	jmp 1b
3:	mov D(0x10), %ecx
L(msrk64, rd) rdmsr
L(msrk64, rd_end)
	mov D(0x14), %ecx
	mov D(0x18), %eax
	mov D(0x1c), %edx
L(msrk64, wr) wrmsr
L(msrk64, wr_end)
	hlt
L(msrk64, gp)
	add $8, %rsp			/* the error code */
	movq $1, D(0x808)(%rbx)
	movq $A(msrk64, next), (%rsp)
	iretq
E(msrk64)

/* Shadow after MOV SS, then an MSR exit inside it. */
G(shadow32)
	.code32
	mov $0x12345, %ecx
	mov %ss, %ax
	mov %ax, %ss
L(shadow32, rd) rdmsr
L(shadow32, rd_end)
	REPORT
	hlt
E(shadow32)

/*
 * Instructions that every backend completes in its kernel (CPUID, RDMSR of
 * EFER, INVD, HLT), each right after MOV SS: the shadow must end with the
 * instruction, so none of the following exits may see it.
 */
G(shadowk32)
	.code32
	xor %eax, %eax
	xor %ecx, %ecx
	mov %ss, %dx
	mov %dx, %ss
	cpuid
	REPORT
	mov $0xC0000080, %ecx
	mov %ss, %dx
	mov %dx, %ss
	rdmsr
	REPORT
	mov %ss, %dx
	mov %dx, %ss
	invd
	REPORT
	mov %ss, %dx
	mov %dx, %ss
L(shadowk32, hlt) hlt
L(shadowk32, hlt_end)
	REPORT
	hlt
E(shadowk32)

/* Entered with the shadow set by the host, ECX = 0x12345 set by it too. */
G(shadowset32)
	.code32
	rdmsr
	REPORT
	hlt
E(shadowset32)

/* CPUID EAX=leaf ECX=subleaf (set by the host), report EAX EBX ECX EDX. */
G(cpuid32)
	.code32
L(cpuid32, insn) cpuid
L(cpuid32, after)
	REPORT
	mov %ebx, %eax
	REPORT
	mov %ecx, %eax
	REPORT
	mov %edx, %eax
	REPORT
	hlt
E(cpuid32)

/* TPR: write CR8 = 3, then an unknown RDMSR ends. */
G(tpr64)
	.code64
	mov $3, %eax
L(tpr64, wr) mov %rax, %cr8
L(tpr64, after)
	mov $0x12345, %ecx
	rdmsr
	hlt
E(tpr64)

/* ------------------------------------------------------------------------ */
/* Events.                                                                   */

G(intr16)
	.code16
	sti
L(intr16, ready) REPORT
L(intr16, spin) 1:
	cmpb $0, D(0)
	je 1b
	out %al, $PORT_DONE
	hlt
L(intr16, handler)
	movb $1, D(0)
	out %al, $PORT_HANDLER
	iret
E(intr16)

G(intr64)
	.code64
L(intr64, ready) REPORT
L(intr64, spin) 1:
	cmpb $0, D(0)
	je 1b
	out %al, $PORT_DONE
	hlt
L(intr64, handler)
	movb $1, D(0)
	out %al, $PORT_HANDLER
	iretq
L(intr64, excp)				/* with an error code */
	pop %rax
	movb $1, D(0)
	out %al, $PORT_HANDLER
	iretq
E(intr64)

/*
 * An NMI handler that enables interrupts and spins until the host writes
 * D(0), then reports and returns; the NMI is injected after the first OUT.
 */
G(nmispin64)
	.code64
	REPORT
	hlt
L(nmispin64, handler)
	sti
1:	cmpb $0, D(0)
	je 1b
	out %al, $PORT_HANDLER
	iretq
E(nmispin64)

/* Interrupt window: IF = 0 at entry (host), two OUTs, STI, spin. */
G(intwin64)
	.code64
L(intwin64, ready) REPORT
	out %al, $PORT_MARK
	out %al, $PORT_MARK
	sti
L(intwin64, spin) 1:
	cmpb $0, D(0)
	je 1b
	out %al, $PORT_DONE
	hlt
L(intwin64, handler)
	movb $1, D(0)
	out %al, $PORT_HANDLER
	iretq
E(intwin64)

/* ------------------------------------------------------------------------ */
/*
 * Issue 15: instructions nvmm_assist_mem emulates on an MMIO page (on the
 * KVM backend KVM's emulator runs them; the guest-visible result is the
 * same). RBX = MMIO_GPA; the host's mmio_dev holds the device bytes.
 */
G(emul_scas)
	.code64
	mov $MMIO_GPA, %rbx
	cld
	mov $0x5a, %al
	lea 0x100(%rbx), %rdi
	mov $8, %rcx
	repne scasb
	mov %rcx, %rax
	REPORT
	lea 0x100(%rbx), %rax
	sub %rax, %rdi
	mov %rdi, %rax
	REPORT
	std
	mov $0x0201, %ax
	lea 0x102(%rbx), %rdi
	scasw
	cld
	pushf
	pop %rax
	REPORT
	hlt
E(emul_scas)

G(emul_xadd_cmpxchg)
	.code64
	mov $MMIO_GPA, %rbx
	mov $3, %eax
	lock xadd %eax, 0x200(%rbx)
	REPORT
	mov $8, %eax
	mov $0x77, %ecx
	lock cmpxchg %ecx, 0x200(%rbx)
	setz %al
	movzbl %al, %eax
	REPORT
	mov $1, %eax
	lock cmpxchg %ecx, 0x200(%rbx)
	REPORT
	hlt
E(emul_xadd_cmpxchg)

G(emul_mmio_stack)
	.code64
	mov $MMIO_GPA, %rbx
	mov %rsp, %r12
	lea 0x400(%rbx), %rsp
	mov $0x1122334455667788, %rax
	push %rax
	pop %rdx
	push $-2
	pop %rsi
	call 1f
L(emul_mmio_stack, after_call)
	jmp 2f
1:	ret
2:	mov %rsp, %rcx
	mov %r12, %rsp
	mov %rdx, %rax
	REPORT
	mov %rsi, %rax
	REPORT
	mov %rcx, %rax
	sub %rbx, %rax
	REPORT
	hlt
E(emul_mmio_stack)

G(emul_movdqu)
	.code64
	mov $MMIO_GPA, %rbx
	movdqu 0x501(%rbx), %xmm0
	movdqu %xmm0, 0x600(%rbx)
	movdqu %xmm0, D(0x40)
	REPORT
	hlt
E(emul_movdqu)

/* ------------------------------------------------------------------------ */
/* Guest CPU rules (t_guestcpu.c).                                           */

/*
 * MOV to CR0/CR4 with the value in RAX, entered at the label: reports 0
 * when the write went through, 0xd from the #GP handler (error code in
 * RCX). The cpuid entry reports ECX then EBX of leaf RAX, subleaf RCX.
 */
G(crw64)
	.code64
L(crw64, cr0)
	mov %rax, %cr0
	jmp 1f
L(crw64, cr4)
	mov %rax, %cr4
1:	xor %eax, %eax
	REPORT
	hlt
L(crw64, gp)
	pop %rcx
	mov $0xd, %eax
	REPORT
	hlt
L(crw64, cpuid)
	cpuid
	mov %ecx, %eax
	REPORT
	mov %ebx, %eax
	REPORT
	hlt
E(crw64)

/*
 * Software interrupts whose delivery the host makes fault (the IDT or the
 * stack page unmapped): the handler counts its runs in D(0) and keeps the
 * return address it got in D(8).
 */
G(swint64)
	.code64
L(swint64, int3)
	int3
L(swint64, int3_next)
	jmp 1f
L(swint64, intn)
	int $33
L(swint64, intn_next)
1:	mov D(0), %eax
	REPORT
	hlt
L(swint64, handler)
	incl D(0)
	mov (%rsp), %rax
	mov %rax, D(8)
	iretq
E(swint64)

/* An NMI handler that returns to a spin loop (IF=1 there). */
G(nmiret64)
	.code64
	REPORT
L(nmiret64, spin)
	jmp .
L(nmiret64, handler)
	out %al, $PORT_HANDLER
L(nmiret64, iret)
	iretq
E(nmiret64)

/* PKRU: report CPUID.7.0:ECX, set CR4.PKE, WRPKRU(D(0)), report, RDPKRU. */
G(pkru64)
	.code64
	mov $7, %eax
	xor %ecx, %ecx
	cpuid
	mov %ecx, %eax
	REPORT
	mov %cr4, %rax
	or $0x400000, %rax
	mov %rax, %cr4
	mov D(0), %eax
	xor %ecx, %ecx
	xor %edx, %edx
	wrpkru
	REPORT
	xor %ecx, %ecx
	rdpkru
	REPORT
	hlt
E(pkru64)

/*
 * Single step: TF set by POPF traps after the next instruction; the #DB
 * handler keeps DR6 in D(0) and the return address in D(8), clears TF in
 * the frame.
 */
G(step64)
	.code64
	pushfq
	orq $0x100, (%rsp)
	popfq
L(step64, stepped)
	nop
L(step64, after)
	mov D(0), %rax
	REPORT
	hlt
L(step64, db)
	mov %dr6, %rax
	mov %rax, D(0)
	mov (%rsp), %rax
	mov %rax, D(8)
	andq $~0x100, 16(%rsp)
	iretq
E(step64)

/* WBINVD and WBNOINVD, then report. */
G(wbinvd64)
	.code64
	wbinvd
	.byte 0xf3, 0x0f, 0x09		/* wbnoinvd */
	mov $0x77, %eax
	REPORT
	hlt
E(wbinvd64)


/* UD2 with the IDT limit at 0 (set by the host): a triple fault. */
G(tripf64)
	.code64
	ud2
E(tripf64)

/* TSC_AUX: WRMSR 0x1234, report RDTSCP's ECX, then RDMSR. */
G(tscaux64)
	.code64
	mov $0xc0000103, %ecx
	mov $0x1234, %eax
	xor %edx, %edx
	wrmsr
	rdtscp
	mov %ecx, %eax
	REPORT
	mov $0xc0000103, %ecx
	rdmsr
	REPORT
	hlt
E(tscaux64)

/* ICEBP (INT1): the #DB handler keeps DR6 in D(0), the return in D(8). */
G(icebp64)
	.code64
	.byte 0xf1
L(icebp64, after)
	mov D(0), %rax
	REPORT
	hlt
L(icebp64, db)
	mov %dr6, %rax
	mov %rax, D(0)
	mov (%rsp), %rax
	mov %rax, D(8)
	iretq
E(icebp64)


/*
 * Two external interrupts (0x20, 0x21): the handlers log their vectors at
 * D(0x10 + n) and count in D(0); the loop waits for two, bounded.
 */
G(twointr64)
	.code64
	sti
	mov $2000000, %ecx
1:	cmpl $2, D(0)
	je 2f
	dec %ecx
	jnz 1b
2:	mov D(0), %eax
	REPORT
	hlt
L(twointr64, h20)
	push %rax
	mov $0x20, %al
	jmp 3f
L(twointr64, h21)
	push %rax
	mov $0x21, %al
3:	push %rbx
	mov D(0), %ebx
	mov %al, D(0x10)(%rbx)
	incl D(0)
	pop %rbx
	pop %rax
	iretq
E(twointr64)


/*
 * DR7.GD, then MOV to DR0: #DB (a fault) with DR6.BD; the handler keeps
 * DR6 in D(0), DR7 in D(8) (GD must be clear there) and skips the MOV.
 */
G(gd64)
	.code64
	mov %dr7, %rax
	or $0x2000, %rax
	mov %rax, %dr7
	xor %eax, %eax
L(gd64, movdr)
	mov %rax, %dr0
L(gd64, after)
	mov D(0), %rax
	REPORT
	hlt
L(gd64, db)
	mov %dr6, %rax
	mov %rax, D(0)
	mov %dr7, %rax
	mov %rax, D(8)
	movq $A(gd64, after), (%rsp)
	iretq
E(gd64)


/* RDTSCP: report ECX (TSC_AUX). */
G(rdtscp64)
	.code64
	rdtscp
	mov %ecx, %eax
	REPORT
	hlt
E(rdtscp64)

	.section .note.GNU-stack, "", @progbits

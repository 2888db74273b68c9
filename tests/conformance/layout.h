/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Guest physical memory layout of the conformance guests. Shared by the C
 * harness and guest.S (only #defines here).
 */
#ifndef CONFORMANCE_LAYOUT_H
#define CONFORMANCE_LAYOUT_H

#define RAM_SIZE	0x200000	/* default: 2 MiB at GPA 0 */

#define IVT_GPA		0x0000		/* real-mode vectors */
#define GDT_GPA		0x0500		/* GDT, 0x50 bytes */
#define TSS_GPA		0x0600		/* 0x68 bytes */
#define TSS2_GPA	0x0680		/* a second TSS, for LTR */
#define LDT_GPA		0x0700
#define IDT_GPA		0x1000		/* 32-bit (8 B) or 64-bit (16 B) gates */
#define DATA_GPA	0x2000		/* guest <-> host scratch, 8 KiB */
#define STACK_TOP	0x8000		/* stack page 0x7000-0x7fff */
#define CODE_GPA	0x8000		/* guest code, up to 0xffff */
#define PT_GPA		0x10000		/* page tables, 0x10000-0x1ffff */
#define MMIO_GPA	0x10000000	/* never mapped */

/* GDT selectors */
#define SEL_CODE32	0x08
#define SEL_DATA	0x10
#define SEL_CODE64	0x18
#define SEL_TSS		0x20		/* 16 bytes in long mode */
#define SEL_LDT		0x30		/* 16 bytes in long mode */
#define SEL_TSS2	0x40		/* available TSS, 16 bytes */
#define GDT_LIMIT	0x4f

/* I/O ports used by the guests */
#define PORT_REPORT	0xe0		/* value in (E/R)AX */
#define PORT_HANDLER	0xe1		/* from an interrupt handler */
#define PORT_DONE	0xe2
#define PORT_MARK	0xe3

#endif /* CONFORMANCE_LAYOUT_H */

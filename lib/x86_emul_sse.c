/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x86_emul_sse.c: the SSE and AVX moves between an XMM register and
 * memory (MOVD/MOVQ, MOVSS/MOVSD, MOVLPS/MOVHPS and their PD forms,
 * MOVAPS/MOVUPS/MOVAPD/MOVUPD, MOVDQA/MOVDQU, the non-temporal moves, and
 * the VEX.128 stores of the same). The registers come from the FXSAVE
 * image of NVMM_X64_STATE_FPU, which holds XMM0-15 but not the upper
 * halves of YMM0-15: a VEX load (which zeroes them) or a VEX.256 access
 * cannot be emulated and fails with ENODEV.
 */
#include <string.h>

#include "x86_emul_impl.h"

int
x86_emul_sse(const struct x86_insn *in, uint64_t *g,
    const struct x86_emul_mem *m, uint64_t ea)
{
	uint8_t buf[16], *xmm;
	unsigned off = (in->sse & X86_SSE_HIGH) ? 8 : 0, sz = in->memsize;

	(void)g;
	if (m->fpu == NULL)
		return x86_unsupported("SSE move without the FPU state");
	if (in->vex_l || sz > 16)
		return x86_unsupported("VEX.256 move: the upper halves of YMM "
		    "are not in the NVMM state (no XSAVE component)");
	if (in->vex && in->op == X86_OP_SSE_LOAD)
		return x86_unsupported("VEX load: it zeroes the upper halves "
		    "of YMM, which are not in the NVMM state");
	if ((in->sse & X86_SSE_ALIGN) && (ea & 15) != 0)
		return x86_raise(m, X86_EXC_GP, true, 0);
	xmm = m->fpu->fx_xmm[in->reg & 15].xmm_bytes;
	if (in->op == X86_OP_SSE_STORE)
		return m->write(m->ctx, in->memseg, ea, xmm + off, sz);
	if (m->read(m->ctx, in->memseg, ea, buf, sz) == -1)
		return -1;
	if (!(in->sse & X86_SSE_MERGE))
		memset(xmm, 0, 16);
	memcpy(xmm + off, buf, sz);
	return 0;
}

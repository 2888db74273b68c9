/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * diff_enc.c: see diff_enc.h. Encodings from the Intel SDM vol. 2,
 * chapter 2.
 */
#include <string.h>

#include "diff_enc.h"

static void
encode_modrm(struct enc *e, unsigned reg, const struct memop *m)
{
	uint8_t modrm, sib = 0;
	bool need_sib = false;
	unsigned mod, dsz;

	if (m->base == MEMOP_RIP) {
		modrm = (uint8_t)(((reg & 7) << 3) | 5);
		dsz = 4;
	} else {
		if (m->base < 0)
			dsz = 4;
		else if (m->disp == 0 && (m->base & 7) != 5)
			dsz = 0;
		else if (m->disp >= -128 && m->disp <= 127)
			dsz = 1;
		else
			dsz = 4;
		mod = m->base < 0 ? 0 : dsz == 0 ? 0 : dsz == 1 ? 1 : 2;
		if (m->index >= 0 || m->base < 0 || (m->base & 7) == 4) {
			need_sib = true;
			sib = (uint8_t)((__builtin_ctz(m->scale) << 6) |
			    ((m->index >= 0 ? m->index & 7 : 4) << 3) |
			    (m->base >= 0 ? m->base & 7 : 5));
		}
		modrm = (uint8_t)((mod << 6) | ((reg & 7) << 3) |
		    (need_sib ? 4 : (unsigned)(m->base & 7)));
	}
	e->b[e->n++] = modrm;
	if (need_sib)
		e->b[e->n++] = sib;
	memcpy(e->b + e->n, &m->disp, dsz);
	e->n += dsz;
}

void
encode(struct enc *e, const uint8_t *pfx, size_t npfx, bool w,
    bool force_rex, const uint8_t *op, size_t nop, unsigned reg,
    const struct memop *m)
{
	uint8_t rex = 0x40;

	memcpy(e->b, pfx, npfx);
	e->n = npfx;
	if (m->addr32)
		e->b[e->n++] = 0x67;
	if (w)
		rex |= 0x8;
	if (reg & 8)
		rex |= 0x4;
	if (m->index >= 8)
		rex |= 0x2;
	if (m->base >= 8 && m->base != MEMOP_RIP)
		rex |= 0x1;
	if (rex != 0x40 || force_rex)
		e->b[e->n++] = rex;
	memcpy(e->b + e->n, op, nop);
	e->n += nop;
	encode_modrm(e, reg, m);
}

void
encode_vex(struct enc *e, unsigned pp, bool w, uint8_t op, unsigned reg,
    const struct memop *m)
{
	bool r = reg & 8, x = m->index >= 8;
	bool b = m->base >= 8 && m->base != MEMOP_RIP;

	e->n = 0;
	if (m->addr32)
		e->b[e->n++] = 0x67;
	if (!x && !b && !w) {
		e->b[e->n++] = 0xc5;
		e->b[e->n++] = (uint8_t)((r ? 0 : 0x80) | 0x78 | pp);
	} else {
		e->b[e->n++] = 0xc4;
		e->b[e->n++] = (uint8_t)((r ? 0 : 0x80) | (x ? 0 : 0x40) |
		    (b ? 0 : 0x20) | 1);
		e->b[e->n++] = (uint8_t)((w ? 0x80 : 0) | 0x78 | pp);
	}
	e->b[e->n++] = op;
	encode_modrm(e, reg, m);
}

size_t
encode_rip_disp_off(const struct enc *e, size_t imm_bytes)
{
	return e->n - imm_bytes - 4;
}

.code16
movw %ax,(%bx)
movw %ax,(%bx,%di)
movw -2(%bp,%si),%ax
movw 0x1234,%ax
movb %al,0x10(%si)
movw %ax,0x1234(%bp)
movl %eax,(%bx)
movl %eax,(%ebx)
movl %eax,(%ebx,%ecx,4)
movw 0x1234,%ax
movl 0x12345678,%eax
movb $0x12,(%di)
movw $0x1234,(%di)
movl $0x12345678,(%di)
movzbw (%si),%ax
movzwl (%si),%eax
rep movsw
rep movsb
addr32 rep movsb
xchgw (%bx),%ax
orw $-1,(%bx)
cmpb $2,(%bp)
btw $3,(%bx)
inb $0x60,%al
inw %dx,%ax
inl %dx,%eax
rep insw
rep outsb
cs outsb
addr32 rep outsw

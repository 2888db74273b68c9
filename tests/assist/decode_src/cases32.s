.code32
movl %eax,(%ebx)
movw %ax,(%ebx)
movb %ah,(%ecx)
movl 0x12345678(%eax,%ecx,8),%edx
movl 0x1000,%eax
movl (%ebp),%eax
movl -4(%esp),%eax
movl %eax,0x11223344
movb 0x11223344,%al
addr16 movl 0x1122,%eax
movl %eax,(%bx,%si)
movb $1,(%edi)
movl $0x12345678,(%edi)
movw $0x1234,(%edi)
movzbl (%esi),%eax
movswl (%esi),%eax
rep movsl
es movsb
rep stosw
addl %eax,(%ebx)
cmpl $-1,(%ebx)
subb $1,(%ebx)
btl $31,(%ebx)
xchgl %eax,(%ebx)
inb $0x12,%al
outl %eax,%dx
rep insw
rep outsb
ds outsl
addr16 rep insb

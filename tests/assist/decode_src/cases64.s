.code64
movb %al,(%rbx)
movl %eax,(%rbx)
movq %rax,(%rbx)
movw %ax,(%rbx)
movq (%rbx),%r9
movb %ah,(%rcx)
movb %sil,(%rcx)
movb (%r8),%r15b
movl 0x12345678(%rax,%rcx,8),%edx
movl 0x12(%rsp),%eax
movl (%rbp),%eax
movl (%r13),%eax
movl (%r12),%eax
movl 0x1000(,%r14,4),%eax
movl 0x1000,%eax
movl 0x10(%rip),%ecx
movl 0x10(%eip),%ecx
movl %eax,(%ebx,%esi,2)
movb 0x1122334455667788,%al
movl %eax,0x1122334455667788
movabsq 0x1122334455667788,%rax
addr32 movl 0x11223344,%eax
movb $0x12,(%rdi)
movw $0x1234,(%rdi)
movl $0x12345678,0x8(%rdi)
movq $-1,(%rdi)
movzbl (%rsi),%eax
movzwq (%rsi),%r10
movsbw (%rsi),%ax
movswl 4(%rsi),%ecx
movsbq (%rsi),%rdx
movsb
rep movsq
rep stosb
stosw
lodsl
repe cmpsb
repne cmpsw
fs movsb
addb %al,(%rbx)
addq %rax,(%rbx)
orl (%rbx),%ecx
adcw %dx,(%rbx)
sbbq (%rbx),%r11
andb $0x7f,(%rbx)
subl $0x12345678,(%rbx)
xorq $-2,(%rbx)
cmpw $0x1234,(%rbx)
cmpl $1,(%rbx)
lock addl %eax,(%rbx)
lock xorb $1,(%rbx)
testb %cl,(%rbx)
testl %ecx,(%rbx)
testb $0x80,(%rbx)
testw $0x8000,(%rbx)
testq $0x12345678,(%rbx)
notl (%rbx)
negq 8(%rbx)
lock negb (%rbx)
btl %eax,(%rbx)
btsq %rax,(%rbx)
btrw %ax,(%rbx)
btcl %eax,(%rbx)
btl $5,(%rbx)
btsq $63,(%rbx)
lock btrl $3,(%rbx)
btcw $15,(%rbx)
xchgb %al,(%rbx)
xchgq %rax,(%rbx)
xchgw (%rbx),%dx
inb $0x12,%al
inw $0x12,%ax
inl $0x80,%eax
outb %al,$0xff
outw %ax,$0x12
outl %eax,$0x12
inb %dx,%al
inw %dx,%ax
inl %dx,%eax
outb %al,%dx
outw %ax,%dx
outl %eax,%dx
insb
insw
insl
outsb
outsw
outsl
rep insb
rep outsw
rep outsl
rep insl
fs outsb
addr32 rep outsb
addr32 rep insw
gs rep outsl

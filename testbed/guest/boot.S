/*
 * stress-guest: PVH entry, long mode, AP trampoline, interrupt entry.
 *
 * Everything here runs at CPL0, which kvm_pvm emulates instruction by
 * instruction, so it does as little as it can: the page tables and the GDT
 * are built by the assembler, not at run time.
 *
 * Copyright (c) 2026 vfio-bar-ur developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "kernel.h"

#define CR0_PE          0x00000001
#define CR0_WP          0x00010000
#define CR0_NW          0x20000000
#define CR0_CD          0x40000000
#define CR0_PG          0x80000000
#define CR4_PAE         0x00000020
#define MSR_EFER        0xc0000080
#define EFER_LME        0x00000100

#define XEN_ELFNOTE_PHYS32_ENTRY 18

/*
 * QEMU's -kernel finds this note and boots us through pvh.bin after
 * SeaBIOS has assigned the BARs: 32-bit protected mode, paging off,
 * %ebx = struct hvm_start_info.  For ELF64 QEMU reads the entry as a
 * 64-bit word after the name padded to the segment alignment (4).
 */
    .section .note.Xen, "a", @note
    .balign 4
    .long 2f - 1f
    .long 4f - 3f
    .long XEN_ELFNOTE_PHYS32_ENTRY
1:  .asciz "Xen"
2:  .balign 4
3:  .quad pvh_entry
4:  .balign 4

/*
 * Shared by the BSP and the APs: from flat 32-bit protected mode with
 * paging off to 64-bit mode at \target.  An AP comes out of INIT with
 * CR0.CD/NW set; clear them so that it caches like the BSP.
 */
.macro ENTER_LONG_MODE target
    mov %cr4, %eax
    or $CR4_PAE, %eax
    mov %eax, %cr4
    mov $pml4, %eax
    mov %eax, %cr3
    mov $MSR_EFER, %ecx
    rdmsr
    or $EFER_LME, %eax
    wrmsr
    mov %cr0, %eax
    and $~(CR0_CD | CR0_NW), %eax
    or $(CR0_PG | CR0_WP | CR0_PE), %eax
    mov %eax, %cr0
    ljmp $SEL_KCODE64, $\target
.endm

.macro LOAD_DATA_SEGMENTS
    mov $SEL_KDATA, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    xor %eax, %eax
    mov %eax, %fs
    mov %eax, %gs
.endm

    .text
    .code32
    .globl pvh_entry
pvh_entry:
    mov %ebx, %edi              /* start_info, survives into bsp_start() */
    rdtsc
    mov %eax, boot_tsc
    mov %edx, boot_tsc + 4
    lgdt gdt_desc
    ljmp $SEL_KCODE32, $1f
1:  LOAD_DATA_SEGMENTS
    ENTER_LONG_MODE bsp_entry64

ap_entry32:
    LOAD_DATA_SEGMENTS
    ENTER_LONG_MODE ap_entry64

    .code64
bsp_entry64:
    lea kstacks + KSTACK_SIZE(%rip), %rsp
    call bsp_start              /* (u32 start_info), does not return */
    jmp park

ap_entry64:
    /* CPU indexes in order of arrival; the BSP is 0. */
    mov $1, %eax
    lock xadd %eax, next_cpu_index(%rip)
    cmp $MAX_CPUS, %eax
    jae park
    mov %eax, %edi
    lea 1(%rax), %rax
    imul $KSTACK_SIZE, %rax
    lea kstacks(%rip), %rsp
    add %rax, %rsp
    call ap_start               /* (unsigned cpu), does not return */
park:
    cli
    hlt
    jmp park

/*
 * enter_user(rip, arg, rsp, rflags): drop to CPL3 at rip(arg) as if it
 * had been called from user_entry_return: pass a 16-byte aligned stack
 * top minus 8, the slot for that return address.
 */
    .globl enter_user
enter_user:
    movq $user_entry_return, (%rdx)
    pushq $(SEL_UDATA | 3)
    pushq %rdx
    pushq %rcx
    pushq $(SEL_UCODE64 | 3)
    pushq %rdi
    mov %rsi, %rdi
    iretq

/* CPL3: an entry function returned, its CPU is done. */
user_entry_return:
    mov $SYS_HALT, %edi
    int3

/*
 * Exception stubs, 16 bytes apart so that the IDT can be filled from
 * exc_stubs + 16 * vector (vector 3 then gets the system call gate).
 * All exceptions are fatal: exc_common hands the hardware frame to
 * exception_handler(), which reports and exits.
 */
    .balign 16
    .globl exc_stubs
exc_stubs:
    .irp vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15, \
              16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .balign 16
    /* With an error code: #DF, #TS, #NP, #SS, #GP, #PF, #AC, #CP, #VC, #SX */
    .if (\vec == 8) || (\vec >= 10 && \vec <= 14) || (\vec == 17) || \
        (\vec == 21) || (\vec == 29) || (\vec == 30)
    .else
    pushq $0                    /* no error code from the CPU */
    .endif
    pushq $\vec
    jmp exc_common
    .endr

exc_common:
    mov %rsp, %rdi
    and $-16, %rsp
    call exception_handler

/*
 * INT3 from CPL3: syscall_dispatch(nr, a0, a1) with the caller's %rdi,
 * %rsi, %rdx.  The caller treats all call-clobbered registers as
 * clobbered.  The CPU pushed 5 quadwords onto a 16-byte aligned stack.
 */
    .globl syscall_entry
syscall_entry:
    sub $8, %rsp
    call syscall_dispatch
    add $8, %rsp
    iretq

/*
 * AP trampoline, copied to TRAMPOLINE_ADDR and entered in real mode with
 * CS:IP = 0x0800:0000.  It only gets into protected mode with the common
 * GDT (a 32-bit base: lgdtl) and jumps to ap_entry32 in the image.
 */
    .code16
    .globl trampoline_start, trampoline_end
trampoline_start:
    cli
    xor %ax, %ax
    mov %ax, %ds
    lgdtl TRAMPOLINE_ADDR + (tramp_gdt_desc - trampoline_start)
    mov %cr0, %eax
    or $CR0_PE, %eax
    mov %eax, %cr0
    ljmpl $SEL_KCODE32, $ap_entry32
    .balign 4
tramp_gdt_desc:
    .word gdt_end - gdt - 1
    .long gdt
trampoline_end:

    .data
    .globl boot_tsc
    .balign 8
boot_tsc:
    .quad 0
next_cpu_index:
    .long 1

/* The TSS descriptors are filled in by cpu_init() on each CPU. */
    .globl gdt
    .balign 16
gdt:
    .quad 0
    .quad 0x00af9a000000ffff    /* SEL_KCODE64 */
    .quad 0x00cf92000000ffff    /* SEL_KDATA */
    .quad 0x00cf9a000000ffff    /* SEL_KCODE32 */
    .quad 0x00cff2000000ffff    /* SEL_UDATA, DPL 3 */
    .quad 0x00affa000000ffff    /* SEL_UCODE64, DPL 3 */
    .fill 2 * MAX_CPUS, 8, 0    /* SEL_TSS0... */
gdt_end:
gdt_desc:
    .word gdt_end - gdt - 1
    .quad gdt

/*
 * Identity map of the low 4 GiB in 2 MiB pages, user-accessible: the
 * test runs at CPL3 and this guest protects nothing from itself.  The
 * top GiB holds the PCI hole, the IOAPIC and the LAPIC: uncached.
 * Mappings above 4 GiB (64-bit BARs) are added by map_uc().
 */
    .section .data.pagetables, "aw"
    .balign 4096
    .globl pml4, pd_low
pml4:
    .quad pdpt_low + (PTE_P | PTE_W | PTE_U)
    .fill 511, 8, 0
pdpt_low:
    .quad pd_low + 0x0000 + (PTE_P | PTE_W | PTE_U)
    .quad pd_low + 0x1000 + (PTE_P | PTE_W | PTE_U)
    .quad pd_low + 0x2000 + (PTE_P | PTE_W | PTE_U)
    .quad pd_low + 0x3000 + (PTE_P | PTE_W | PTE_U)
    .fill 508, 8, 0
pd_low:
    .set addr, 0
    .rept 3 * 512
    .quad addr + (PTE_P | PTE_W | PTE_U | PTE_PS)
    .set addr, addr + 0x200000
    .endr
    .rept 512
    .quad addr + (PTE_P | PTE_W | PTE_U | PTE_PS | PTE_PCD | PTE_PWT)
    .set addr, addr + 0x200000
    .endr

    .section .note.GNU-stack, "", @progbits

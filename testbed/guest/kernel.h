/*
 * stress-guest: the CPL0 part and its interface to the CPL3 test.
 *
 * The kernel only does what CPL3 cannot: set up the CPU, change page
 * table entries that may be cached in the TLB, send IPIs, halt, exit.
 * Everything else, loops above all, runs at CPL3 where kvm_pvm executes
 * natively instead of emulating.
 *
 * Copyright (c) 2026 vfio-bar-ur developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef STRESS_KERNEL_H
#define STRESS_KERNEL_H

#include "x86.h"

/*
 * System calls are INT3 with the number in %rdi: a DPL 3 gate on the
 * breakpoint vector.  kvm_pvm turns INT n at CPL3 into #UD and runs the
 * SYSCALL target at CPL3, but it delivers INT3 through the IDT like a CPU.
 */
#define SYS_MAP_UC      0   /* (phys, len): identity-map uncached, 0 or -1 */
#define SYS_SEND_IPI    1   /* (icr): write the local APIC ICR, low 32 bits */
#define SYS_HALT        2   /* park this CPU for good */
#define SYS_EXIT        3   /* (code): isa-debug-exit, QEMU exits 2*code+1 */

#ifndef __ASSEMBLER__

/* Exit codes through isa-debug-exit. */
enum {
    EXIT_PASS = 0,
    EXIT_FAIL = 1,
    EXIT_SETUP = 2,
    EXIT_EXCEPTION = 3,
};

/*
 * How APs run their entry function; set before the INIT IPI.  An entry
 * function that returns parks its CPU.
 */
struct ap_launch {
    void (*entry)(u64 cpu);
    bool in_kernel;
};

extern struct ap_launch ap_launch;
extern u64 boot_tsc;
extern u8 ustacks[MAX_CPUS][USTACK_SIZE];
extern const char trampoline_start[], trampoline_end[];

/* Implemented by the test: the BSP's CPL3 entry. */
void stress_main(u64 start_info_paddr) __attribute__((noreturn));

static inline u64 syscall2(u64 nr, u64 a0, u64 a1)
{
    u64 ret;

    asm volatile("int3"
                 : "=a"(ret), "+D"(nr), "+S"(a0), "+d"(a1)
                 : : "rcx", "r8", "r9", "r10", "r11", "memory");
    return ret;
}

static inline int sys_map_uc(u64 phys, u64 len)
{
    return (int)syscall2(SYS_MAP_UC, phys, len);
}

static inline void sys_send_ipi(u32 icr)
{
    syscall2(SYS_SEND_IPI, icr, 0);
}

static inline void __attribute__((noreturn)) sys_exit(unsigned code)
{
    syscall2(SYS_EXIT, code, 0);
    __builtin_unreachable();
}

/* A CPU's CPL3 stack, with room for the entry's return address. */
static inline u64 user_stack_top(unsigned cpu)
{
    return (u64)&ustacks[cpu][USTACK_SIZE] - 8;
}

#endif /* __ASSEMBLER__ */
#endif /* STRESS_KERNEL_H */

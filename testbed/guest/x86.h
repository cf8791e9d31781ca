/*
 * stress-guest: x86-64 definitions and instruction wrappers.
 *
 * Copyright (c) 2026 vfio-bar-ur developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef STRESS_X86_H
#define STRESS_X86_H

/* GDT layout, shared with boot.S. */
#define SEL_KCODE64     0x08
#define SEL_KDATA       0x10
#define SEL_KCODE32     0x18
#define SEL_UDATA       0x20
#define SEL_UCODE64     0x28
#define SEL_TSS0        0x30    /* one 16-byte descriptor per CPU from here */

#define MAX_CPUS        64
#define KSTACK_SIZE     8192
#define USTACK_SIZE     16384

/* Real-mode AP trampoline: copied here, started with SIPI vector 0x08. */
#define TRAMPOLINE_ADDR 0x8000

/* Plain integers: boot.S includes these too. */
#define RFLAGS_RSVD1    0x0002

#define PTE_P           0x001
#define PTE_W           0x002
#define PTE_U           0x004
#define PTE_PWT         0x008
#define PTE_PCD         0x010
#define PTE_PS          0x080

#ifndef __ASSEMBLER__

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

static inline void outb(u16 port, u8 v)
{
    asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(u16 port, u16 v)
{
    asm volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(u16 port, u32 v)
{
    asm volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline u8 inb(u16 port)
{
    u8 v;

    asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline u16 inw(u16 port)
{
    u16 v;

    asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline u32 inl(u16 port)
{
    u32 v;

    asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline u64 rdtsc(void)
{
    u32 lo, hi;

    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((u64)hi << 32) | lo;
}

static inline void cpu_relax(void)
{
    asm volatile("pause" ::: "memory");
}

static inline u64 rdmsr(u32 msr)
{
    u32 lo, hi;

    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((u64)hi << 32) | lo;
}

static inline void wrmsr(u32 msr, u64 v)
{
    asm volatile("wrmsr" : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32))
                 : "memory");
}

static inline u64 xchg64(volatile u64 *p, u64 v)
{
    asm volatile("xchgq %0, %1" : "+r"(v), "+m"(*p) : : "memory");
    return v;
}

static inline u32 atomic_fetch_inc32(volatile u32 *p)
{
    u32 v = 1;

    asm volatile("lock xaddl %0, %1" : "+r"(v), "+m"(*p) : : "memory");
    return v;
}

/*
 * Device accesses of exactly one size each: the compiler must neither
 * split, merge nor widen them, and each size is a distinct bus access.
 */
static inline void mmio_write(volatile void *p, unsigned size, u64 v)
{
    switch (size) {
    case 1:
        asm volatile("movb %1, %0" : "=m"(*(volatile u8 *)p) : "q"((u8)v)
                     : "memory");
        break;
    case 2:
        asm volatile("movw %1, %0" : "=m"(*(volatile u16 *)p) : "r"((u16)v)
                     : "memory");
        break;
    case 4:
        asm volatile("movl %1, %0" : "=m"(*(volatile u32 *)p) : "r"((u32)v)
                     : "memory");
        break;
    default:
        asm volatile("movq %1, %0" : "=m"(*(volatile u64 *)p) : "r"(v)
                     : "memory");
        break;
    }
}

static inline u64 mmio_read(const volatile void *p, unsigned size)
{
    u8 b;
    u16 w;
    u32 l;
    u64 q;

    switch (size) {
    case 1:
        asm volatile("movb %1, %0" : "=q"(b) : "m"(*(const volatile u8 *)p)
                     : "memory");
        return b;
    case 2:
        asm volatile("movw %1, %0" : "=r"(w) : "m"(*(const volatile u16 *)p)
                     : "memory");
        return w;
    case 4:
        asm volatile("movl %1, %0" : "=r"(l) : "m"(*(const volatile u32 *)p)
                     : "memory");
        return l;
    default:
        asm volatile("movq %1, %0" : "=r"(q) : "m"(*(const volatile u64 *)p)
                     : "memory");
        return q;
    }
}

/* All-ones of an access size: what an Unsupported Request reads as. */
static inline u64 ones_of_size(unsigned size)
{
    return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

#endif /* __ASSEMBLER__ */
#endif /* STRESS_X86_H */

/*
 * stress-guest: CPL0 setup, exceptions and the few privileged services.
 *
 * Copyright (c) 2026 vfio-bar-ur developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "kernel.h"
#include "lib.h"

#define MSR_APIC_BASE           0x1b
#define APIC_BASE_X2APIC        (1UL << 10)
#define APIC_BASE_ADDR_MASK     0xffffff000UL
#define MSR_X2APIC_ICR          0x830
#define APIC_ICR_LO             0x300
#define APIC_ICR_HI             0x310
#define APIC_ICR_BUSY           (1U << 12)

#define DEBUG_EXIT_PORT         0xf4

#define PT_POOL_PAGES           16
#define LARGE_PAGE              0x200000UL
#define PHYS_LIMIT              (1UL << 47) /* identity map stays canonical */

struct tss64 {
    u32 reserved0;
    u64 rsp[3];
    u64 reserved1;
    u64 ist[7];
    u64 reserved2;
    u16 reserved3;
    u16 iomap_base;
} __attribute__((packed));

struct idt_gate {
    u16 offset_lo;
    u16 selector;
    u8 ist;
    u8 type_attr;
    u16 offset_mid;
    u32 offset_hi;
    u32 reserved;
} __attribute__((packed));

struct desc_ptr {
    u16 limit;
    u64 base;
} __attribute__((packed));

/* What exc_common passes: the stub's two pushes, then the CPU's frame. */
struct exc_frame {
    u64 vector;
    u64 error;
    u64 rip;
    u64 cs;
    u64 rflags;
    u64 rsp;
    u64 ss;
};

u8 kstacks[MAX_CPUS][KSTACK_SIZE] __attribute__((aligned(16)));
u8 ustacks[MAX_CPUS][USTACK_SIZE] __attribute__((aligned(16)));
struct ap_launch ap_launch;

/*
 * CPU 0 runs the toggler and the console at CPL3, so its TSS covers an
 * all-zero I/O permission bitmap: every port allowed.  IOPL 3 would do on
 * hardware KVM and TCG, but kvm_pvm does not keep IOPL at CPL3.  The TSS
 * of the other CPUs ends before the bitmap: no port.
 */
static struct {
    struct tss64 tss;
    u8 iomap[65536 / 8 + 1];    /* the extra byte must be 0xff */
} __attribute__((packed)) tss0;
static struct tss64 tss[MAX_CPUS];
static struct idt_gate idt[256];
static u64 pt_pool[PT_POOL_PAGES][512] __attribute__((aligned(4096)));
static unsigned pt_pool_used;

extern u64 gdt[];
extern u64 pml4[];
extern const char exc_stubs[], syscall_entry[];
void enter_user(void (*rip)(u64), u64 arg, u64 rsp, u64 rflags)
    __attribute__((noreturn));

static void __attribute__((noreturn)) halt_forever(void)
{
    for (;;) {
        asm volatile("cli; hlt");
    }
}

/*
 * Without an isa-debug-exit device, the machine just stops here, and the
 * STRESS-EXIT line tells the runner, which can then read QEMU's state
 * before it quits QEMU.
 */
static void __attribute__((noreturn)) machine_exit(unsigned code)
{
    printf("STRESS-EXIT code=%u\n", code);
    outb(DEBUG_EXIT_PORT, code);
    halt_forever();
}

static void idt_set_gate(unsigned vec, const void *handler, unsigned dpl)
{
    u64 a = (u64)handler;
    struct idt_gate *g = &idt[vec];

    g->offset_lo = a & 0xffff;
    g->selector = SEL_KCODE64;
    g->ist = 0;
    g->type_attr = 0x8e | (dpl << 5);   /* present 64-bit interrupt gate */
    g->offset_mid = (a >> 16) & 0xffff;
    g->offset_hi = a >> 32;
}

#define SYSCALL_VECTOR          3       /* #BP, see kernel.h */

static void idt_init(void)
{
    for (unsigned v = 0; v < 32; v++) {
        idt_set_gate(v, exc_stubs + 16 * v, 0);
    }
    idt_set_gate(SYSCALL_VECTOR, syscall_entry, 3);
    tss0.iomap[sizeof(tss0.iomap) - 1] = 0xff;
}

/*
 * Each CPU needs its own TSS: it gives the stack for entries from CPL3,
 * and ltr marks the descriptor busy.
 */
static void cpu_init(unsigned cpu)
{
    struct tss64 *t = cpu ? &tss[cpu] : &tss0.tss;
    u64 base = (u64)t;
    u64 limit = (cpu ? sizeof(*t) : sizeof(tss0)) - 1;
    u64 *desc = &gdt[SEL_TSS0 / 8 + 2 * cpu];
    u16 sel = SEL_TSS0 + 16 * cpu;
    struct desc_ptr idtr = { sizeof(idt) - 1, (u64)idt };

    t->rsp[0] = (u64)&kstacks[cpu][KSTACK_SIZE];
    t->iomap_base = sizeof(*t);
    desc[0] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
              (0x89UL << 40) |                  /* present, available TSS */
              (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
    desc[1] = base >> 32;
    asm volatile("ltr %0" : : "r"(sel));
    asm volatile("lidt %0" : : "m"(idtr));
}

static unsigned this_cpu(void)
{
    u16 tr;

    asm volatile("str %0" : "=r"(tr));
    return (tr - SEL_TSS0) / 16;
}

void __attribute__((noreturn)) exception_handler(struct exc_frame *f)
{
    u64 cr2;

    asm volatile("mov %%cr2, %0" : "=r"(cr2));
    console_break_lock();
    printf("STRESS-EXCEPTION cpu=%u vector=%lu error=0x%lx rip=0x%lx "
           "cs=0x%lx rflags=0x%lx rsp=0x%lx cr2=0x%lx\n", this_cpu(),
           f->vector, f->error, f->rip, f->cs, f->rflags, f->rsp, cr2);
    machine_exit(EXIT_EXCEPTION);
}

static u64 *pt_next_level(u64 *entry)
{
    u64 *page;

    if (*entry & PTE_P) {
        return (*entry & PTE_PS) ? NULL : (u64 *)(*entry & ~0xfffUL);
    }
    if (pt_pool_used == PT_POOL_PAGES) {
        return NULL;
    }
    page = pt_pool[pt_pool_used++];
    *entry = (u64)page | PTE_P | PTE_W | PTE_U;
    return page;
}

/*
 * Identity-map [phys, phys + len) uncached in 2 MiB pages, over whatever
 * was there: this is for device BARs, wherever the firmware put them.
 */
static int map_uc(u64 phys, u64 len)
{
    u64 a = phys & ~(LARGE_PAGE - 1);
    u64 end = phys + len;

    if (len == 0 || end > PHYS_LIMIT || end < phys) {
        return -1;
    }
    for (; a < end; a += LARGE_PAGE) {
        u64 *pdpt = pt_next_level(&pml4[(a >> 39) & 511]);
        u64 *pd = pdpt ? pt_next_level(&pdpt[(a >> 30) & 511]) : NULL;

        if (!pd) {
            return -1;
        }
        pd[(a >> 21) & 511] = a | PTE_P | PTE_W | PTE_U | PTE_PS |
                              PTE_PCD | PTE_PWT;
    }
    asm volatile("mov %%cr3, %%rax; mov %%rax, %%cr3" ::: "rax", "memory");
    return 0;
}

static void apic_send_ipi(u32 icr)
{
    u64 base = rdmsr(MSR_APIC_BASE);
    volatile u32 *apic = (volatile u32 *)(base & APIC_BASE_ADDR_MASK);

    if (base & APIC_BASE_X2APIC) {
        wrmsr(MSR_X2APIC_ICR, icr);     /* destination 0: shorthands only */
        return;
    }
    apic[APIC_ICR_HI / 4] = 0;
    apic[APIC_ICR_LO / 4] = icr;
    while (apic[APIC_ICR_LO / 4] & APIC_ICR_BUSY) {
        cpu_relax();
    }
}

u64 syscall_dispatch(u64 nr, u64 a0, u64 a1)
{
    switch (nr) {
    case SYS_MAP_UC:
        return (u64)(long)map_uc(a0, a1);
    case SYS_SEND_IPI:
        apic_send_ipi(a0);
        return 0;
    case SYS_HALT:
        halt_forever();
    case SYS_EXIT:
        machine_exit(a0);
    }
    return (u64)-1;
}

void __attribute__((noreturn)) bsp_start(u32 start_info)
{
    idt_init();
    cpu_init(0);
    enter_user((void (*)(u64))stress_main, start_info, user_stack_top(0),
               RFLAGS_RSVD1);
}

void __attribute__((noreturn)) ap_start(unsigned cpu)
{
    cpu_init(cpu);
    if (ap_launch.in_kernel) {
        ap_launch.entry(cpu);
        halt_forever();
    }
    enter_user(ap_launch.entry, cpu, user_stack_top(cpu), RFLAGS_RSVD1);
}

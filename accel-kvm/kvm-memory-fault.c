/*
 * KVM: memory faults on shared (non-private) device memory, handed to the
 * device model that owns the memory.
 *
 * A memslot's backing can go away under KVM: vfio-pci revokes a BAR mmap
 * when the device stops decoding, and a vCPU faulting on it gets -EFAULT
 * from KVM_RUN.  A kernel that annotates the failure reports
 * KVM_EXIT_MEMORY_FAULT with the gpa; older kernels give a bare -EFAULT.
 * Either way the VM used to stop.  Here the owner of the memory (a device
 * model that registered a handler) gets to fix its mappings, and the vCPU
 * retries.  Faults on any other memory, private memory and flags this code
 * does not know go on to kvm_convert_memory() and the rest as before.
 *
 * Most faults are already resolved when they are handled: the vCPU faulted
 * while a config write was revoking the mapping, then waited for the BQL
 * until that write had deleted the memslot.  A memslot deletion covering
 * the faulting range since the vCPU entered KVM_RUN says exactly that (any
 * deletion, for a bare -EFAULT), and such a shared fault is retried
 * whatever the memory is now: the BAR may be back, which the conversion
 * path would take for RAM it cannot convert.  A vCPU whose KVM_RUN keeps
 * failing for KVM_SHARED_FAULT_TIMEOUT_MS stops the VM all the same.
 *
 * Copyright (c) 2026 vfio-bar-ur developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <linux/kvm.h>
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "qemu/main-loop.h"
#include "qemu/range.h"
#include "qemu/timer.h"
#include "qom/object.h"
#include "hw/core/cpu.h"
#include "hw/qdev-core.h"
#include "system/address-spaces.h"
#include "system/memory.h"
#include "system/system.h"
#include "kvm-memory-fault.h"
#include "trace.h"

/*
 * How long a vCPU may go without completing a KVM_RUN, retrying faults,
 * before the VM stops.  Measured from the first fault handled, so the wait
 * for the BQL behind the config write that caused it is not counted.  A
 * guest toggling a BAR as fast as it can needs one or two retries.
 */
#define KVM_SHARED_FAULT_TIMEOUT_MS 3000

/* Memslot deletions remembered for judging staleness; beyond, assume it. */
#define KVM_SHARED_FAULT_DELETIONS 64

/* Written with the BQL held (the memory listener), read with it held. */
static QLIST_HEAD(, KVMSharedFaultHandler) handlers =
    QLIST_HEAD_INITIALIZER(handlers);
/* Read without the BQL: most VMs never have a handler */
static unsigned nr_handlers;

static struct {
    unsigned count;     /* read by vCPUs before KVM_RUN without the BQL */
    struct {
        hwaddr start;
        hwaddr size;
    } range[KVM_SHARED_FAULT_DELETIONS];   /* deletion n at n % DELETIONS */
} deletions;

/* Each KVM vCPU has a thread of its own. */
static __thread struct {
    unsigned deletions;     /* deletions.count when KVM_RUN was entered */
    int64_t since_ms;       /* first fault since KVM_RUN last succeeded */
    unsigned failures;      /* failed KVM_RUNs since then */
} vcpu_fault;

/* What the fault handling did, as read-only properties of the machine. */
static struct {
    uint64_t exits;         /* KVM_EXIT_MEMORY_FAULTs on an owner's memory */
    uint64_t bare;          /* bare -EFAULTs */
    uint64_t annotated;     /* exits handed to the owner */
    uint64_t stale;         /* retried: the memslot went away meanwhile */
    uint64_t sweeps_fixed;  /* bare -EFAULTs whose sweep dropped a mapping */
    uint64_t fatal;         /* faults that stopped the VM */
} stats;

static void expose_stats(Notifier *notifier, void *data)
{
    static const struct {
        const char *name;
        uint64_t *value;
    } props[] = {
        { "x-kvm-memory-fault-exits", &stats.exits },
        { "x-kvm-memory-fault-bare-efaults", &stats.bare },
        { "x-kvm-memory-faults", &stats.annotated },
        { "x-kvm-memory-faults-stale", &stats.stale },
        { "x-kvm-memory-fault-sweeps-fixed", &stats.sweeps_fixed },
        { "x-kvm-memory-faults-fatal", &stats.fatal },
    };
    Object *machine = qdev_get_machine();
    int i;

    for (i = 0; i < ARRAY_SIZE(props); i++) {
        object_property_add_uint64_ptr(machine, props[i].name, props[i].value,
                                       OBJ_PROP_FLAG_READ);
    }
}

static Notifier expose_stats_notifier = { .notify = expose_stats };

void kvm_shared_fault_handler_add(KVMSharedFaultHandler *handler)
{
    static bool exposed;

    assert(bql_locked());
    if (!exposed) {
        exposed = true;
        qemu_add_machine_init_done_notifier(&expose_stats_notifier);
    }
    QLIST_INSERT_HEAD(&handlers, handler, next);
    qatomic_set(&nr_handlers, nr_handlers + 1);
}

void kvm_shared_fault_handler_remove(KVMSharedFaultHandler *handler)
{
    assert(bql_locked());
    QLIST_REMOVE(handler, next);
    qatomic_set(&nr_handlers, nr_handlers - 1);
}

void kvm_shared_fault_memslot_deleted(hwaddr start, hwaddr size)
{
    unsigned n = deletions.count;

    deletions.range[n % KVM_SHARED_FAULT_DELETIONS].start = start;
    deletions.range[n % KVM_SHARED_FAULT_DELETIONS].size = size;
    qatomic_store_release(&deletions.count, n + 1);
}

void kvm_shared_fault_pre_run(void)
{
    vcpu_fault.deletions = qatomic_read(&deletions.count);
}

void kvm_shared_fault_run_done(void)
{
    vcpu_fault.since_ms = 0;
}

/*
 * Was a memslot covering [@gpa, @gpa + @size) deleted since this vCPU
 * entered KVM_RUN (any memslot if @size is 0)?  Then the fault was on a
 * mapping that is gone, and the retry goes wherever the gpa leads now.
 * Also asked without the BQL: the memory listener may then record more
 * deletions meanwhile, and once it has overwritten a range being read the
 * answer is yes, a retry, which is always safe.
 */
static bool fault_is_stale(hwaddr gpa, uint64_t size)
{
    unsigned count = qatomic_load_acquire(&deletions.count);
    bool stale = count - vcpu_fault.deletions > KVM_SHARED_FAULT_DELETIONS;
    unsigned n;

    for (n = vcpu_fault.deletions; !stale && n != count; n++) {
        stale = !size ||
                ranges_overlap(deletions.range[n %
                               KVM_SHARED_FAULT_DELETIONS].start,
                               deletions.range[n %
                               KVM_SHARED_FAULT_DELETIONS].size, gpa, size);
    }
    /* Ranges overwritten while they were read: assume the worst. */
    smp_rmb();
    return stale || qatomic_read(&deletions.count) - vcpu_fault.deletions >
                    KVM_SHARED_FAULT_DELETIONS;
}

/*
 * Can a fault at @gpa be one of ours?  Only on ram_device memory.  Asked
 * without the BQL, as kvm_convert_memory() looks it up, so that shared
 * faults on guest_memfd RAM (conversions) never wait for the BQL here.
 */
static bool gpa_is_ram_device(hwaddr gpa)
{
    MemoryRegionSection section = memory_region_find(get_system_memory(),
                                                     gpa, 1);
    bool ram_device = section.mr && memory_region_is_ram_device(section.mr);

    if (section.mr) {
        memory_region_unref(section.mr);
    }
    return ram_device;
}

static KVMSharedFaultHandler *handler_of(Object *owner)
{
    KVMSharedFaultHandler *h;

    QLIST_FOREACH(h, &handlers, next) {
        if (h->owner == owner) {
            return h;
        }
    }
    return NULL;
}

/*
 * Only device memory can do without a memslot: QEMU reaches it through the
 * region's accessors when the access exits as MMIO.  Guest RAM cannot (the
 * guest runs code from it), nor can guest_memfd memory (QEMU cannot access
 * it for the guest).
 */
bool kvm_shared_fault_slot_refused(MemoryRegion *mr, hwaddr gpa, hwaddr size,
                                   int err)
{
    KVMSharedFaultHandler *handler;

    if (!memory_region_is_ram_device(mr) || memory_region_has_guest_memfd(mr)) {
        return false;
    }
    handler = handler_of(memory_region_owner(mr));
    if (!handler || !handler->slot_refused) {
        return false;
    }
    trace_kvm_shared_fault_slot_refused(handler->name, gpa, size, err);
    handler->slot_refused(handler, mr, gpa, size, err);
    return true;
}

/*
 * A KVM_EXIT_MEMORY_FAULT on shared memory.  Returns false unless the gpa
 * is in a ram_device region whose owner registered.
 */
static bool fault_annotated(hwaddr gpa, uint64_t size, GString *report,
                            KVMSharedFaultAction *action, Error **errp)
{
    MemoryRegionSection section = memory_region_find(get_system_memory(),
                                                     gpa, 1);
    KVMSharedFaultHandler *h = NULL;

    if (!section.mr) {
        return false;
    }
    if (memory_region_is_ram_device(section.mr)) {
        h = handler_of(memory_region_owner(section.mr));
    }
    if (!h) {
        /*
         * No owner's memory now, but the fault's memslot went away while
         * the vCPU ran: a BAR unmapped by a config write, perhaps mapped
         * again since.  Upstream's conversion path would take the BAR, if
         * it is back, for RAM it cannot convert and stop the VM.
         */
        if (fault_is_stale(gpa, size)) {
            trace_kvm_shared_memory_fault_stale(gpa, size);
            stats.stale++;
            *action = KVM_SHARED_FAULT_RETRY;
            memory_region_unref(section.mr);
            return true;
        }
        goto out;
    }
    g_string_append_printf(report, "the gpa is in %s of %s",
                           memory_region_name(section.mr), h->name);
    if (fault_is_stale(gpa, size)) {
        trace_kvm_shared_memory_fault_stale(gpa, size);
        stats.exits++;
        stats.stale++;
        *action = KVM_SHARED_FAULT_RETRY;
        goto out;
    }
    *action = h->fault(h, section.mr, section.offset_within_region, gpa, errp);
    if (*action == KVM_SHARED_FAULT_NOT_MINE) {
        h = NULL;
        goto out;
    }
    trace_kvm_shared_memory_fault(h->name, gpa, size, *action);
    stats.exits++;
    stats.annotated++;
out:
    memory_region_unref(section.mr);
    return h != NULL;
}

/*
 * A bare -EFAULT.  Sweep even if the fault may be stale: with memslots
 * changing all the time, a mapping that should be gone would otherwise
 * never be found.
 */
static KVMSharedFaultAction fault_bare(GString *report, Error **errp)
{
    KVMSharedFaultAction action = KVM_SHARED_FAULT_NOT_MINE;
    KVMSharedFaultHandler *h;

    stats.bare++;
    g_string_append(report, "no address (the kernel does not report one), "
                    "checked");
    QLIST_FOREACH(h, &handlers, next) {
        action = h->sweep(h, report, errp);
        if (action != KVM_SHARED_FAULT_NOT_MINE) {
            break;
        }
    }
    if (action == KVM_SHARED_FAULT_RETRY) {
        stats.sweeps_fixed++;
    } else if (action == KVM_SHARED_FAULT_NOT_MINE) {
        if (fault_is_stale(0, 0)) {
            stats.stale++;
            action = KVM_SHARED_FAULT_RETRY;
        } else {
            error_setg(errp, "no mapping was found that should be gone");
            action = KVM_SHARED_FAULT_FATAL;
        }
    }
    trace_kvm_shared_memory_fault_bare(action);
    return action;
}

/* Returns 0 to re-enter KVM_RUN, -1 to stop the VM. */
static int fault_outcome(CPUState *cpu, KVMSharedFaultAction action,
                         Error *err, const char *where, GString *report)
{
    int64_t now = qemu_clock_get_ms(QEMU_CLOCK_REALTIME);

    if (!vcpu_fault.since_ms) {
        vcpu_fault.since_ms = now;
        vcpu_fault.failures = 0;
    }
    vcpu_fault.failures++;
    if (action == KVM_SHARED_FAULT_RETRY) {
        if (now - vcpu_fault.since_ms <= KVM_SHARED_FAULT_TIMEOUT_MS) {
            return 0;
        }
        error_setg(&err, "KVM_RUN has failed %u times in %" PRId64 " ms "
                   "(bound %d ms)", vcpu_fault.failures,
                   now - vcpu_fault.since_ms, KVM_SHARED_FAULT_TIMEOUT_MS);
    }
    stats.fatal++;
    error_prepend(&err, "vCPU %d: KVM_RUN failed with EFAULT%s: %s: ",
                  cpu->cpu_index, where, report->str);
    error_report_err(err);
    return -1;
}

bool kvm_shared_memory_fault(CPUState *cpu, struct kvm_run *run, int *ret)
{
    /*
     * exit_reason is only written on an exit; it is never cleared before
     * KVM_RUN, because arm64, riscv and loongarch read it on entry to
     * complete an MMIO read.  So after a bare -EFAULT it may still say
     * KVM_EXIT_MEMORY_FAULT from an earlier fault of this vCPU.  Taking
     * that for a new fault at the same address is harmless: the owner's
     * fix does not depend on it, and the time bound ends a loop.
     */
    bool annotated = run->exit_reason == KVM_EXIT_MEMORY_FAULT;
    g_autoptr(GString) report = NULL;
    g_autofree char *where = NULL;
    KVMSharedFaultAction action = KVM_SHARED_FAULT_NOT_MINE;
    Error *err = NULL;
    bool ours;

    /*
     * Private memory, flags this code does not know, and memory that is no
     * device's are not ours, unless the fault's memslot went away while
     * the vCPU ran (it was on a mapping since removed, perhaps a device's).
     * Looked up again under the BQL below, once any config write in flight
     * is done.
     */
    if (!qatomic_read(&nr_handlers) ||
        (annotated && (run->memory_fault.flags ||
                       (!gpa_is_ram_device(run->memory_fault.gpa) &&
                        !fault_is_stale(run->memory_fault.gpa,
                                        run->memory_fault.size))))) {
        return false;
    }

    report = g_string_new("");
    bql_lock();
    if (annotated) {
        ours = fault_annotated(run->memory_fault.gpa, run->memory_fault.size,
                               report, &action, &err);
        where = g_strdup_printf(" at gpa 0x%" PRIx64 " (size 0x%" PRIx64 ")",
                                (uint64_t)run->memory_fault.gpa,
                                (uint64_t)run->memory_fault.size);
    } else {
        ours = !QLIST_EMPTY(&handlers);
        if (ours) {
            action = fault_bare(report, &err);
        }
        where = g_strdup("");
    }
    if (ours) {
        *ret = fault_outcome(cpu, action, err, where, report);
    }
    bql_unlock();
    return ours;
}

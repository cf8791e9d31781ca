/*
 * KVM: memory faults on shared (non-private) guest memory, dispatched to
 * the owner of the faulting range.
 *
 * A memslot's backing can go away under KVM: vfio-pci revokes a BAR mmap
 * when the device stops decoding, and a vCPU faulting on it gets -EFAULT
 * from KVM_RUN.  A kernel that annotates the failure reports
 * KVM_EXIT_MEMORY_FAULT with the gpa; older kernels give a bare -EFAULT.
 * Either way the VM used to stop.  Here the owner of the memory (a device
 * model) gets to fix its mappings, and the vCPU retries.
 *
 * Most faults are already resolved when they are handled: the vCPU faulted
 * while a config write was revoking the mapping, then waited for the BQL
 * until that write had removed the memslot.  A change of the memslot
 * generation since the vCPU entered KVM_RUN says exactly that.
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
#include "qom/object.h"
#include "hw/qdev-core.h"
#include "system/system.h"
#include "kvm-memory-fault.h"
#include "trace.h"

/* Failed KVM_RUNs of one vCPU in a row, memslots unchanged, before giving up */
#define KVM_MEMORY_FAULT_MAX_RETRIES 8

static QLIST_HEAD(, KVMSharedFaultHandler) handlers =
    QLIST_HEAD_INITIALIZER(handlers);
static unsigned memslot_generation;

/* What the fault handling did, as read-only properties of the machine. */
static struct {
    uint64_t exits;         /* KVM_EXIT_MEMORY_FAULTs, stale ones included */
    uint64_t bare;          /* -EFAULTs without an exit reason, likewise */
    uint64_t annotated;     /* KVM_EXIT_MEMORY_FAULT handed to an owner */
    uint64_t stale;         /* retried: the memslots changed meanwhile */
    uint64_t sweeps;        /* bare -EFAULTs that needed a sweep */
    uint64_t sweeps_fixed;  /* ... that found a mapping to drop */
    uint64_t fatal;         /* faults that stopped the VM */
} stats;

static void expose_stats(Notifier *notifier, void *data)
{
    Object *machine = qdev_get_machine();

    object_property_add_uint64_ptr(machine, "x-kvm-memory-fault-exits",
                                   &stats.exits, OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(machine, "x-kvm-memory-fault-bare-efaults",
                                   &stats.bare, OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(machine, "x-kvm-memory-faults",
                                   &stats.annotated, OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(machine, "x-kvm-memory-faults-stale",
                                   &stats.stale, OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(machine, "x-kvm-memory-fault-sweeps",
                                   &stats.sweeps, OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(machine, "x-kvm-memory-fault-sweeps-fixed",
                                   &stats.sweeps_fixed, OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(machine, "x-kvm-memory-faults-fatal",
                                   &stats.fatal, OBJ_PROP_FLAG_READ);
}

static Notifier expose_stats_notifier = { .notify = expose_stats };

void kvm_shared_fault_handler_add(KVMSharedFaultHandler *handler)
{
    static bool exposed;

    if (!exposed) {
        exposed = true;
        qemu_add_machine_init_done_notifier(&expose_stats_notifier);
    }
    QLIST_INSERT_HEAD(&handlers, handler, next);
}

void kvm_shared_fault_handler_remove(KVMSharedFaultHandler *handler)
{
    QLIST_REMOVE(handler, next);
}

void kvm_memory_fault_memslots_changed(void)
{
    qatomic_inc(&memslot_generation);
}

unsigned kvm_memory_fault_generation(void)
{
    return qatomic_read(&memslot_generation);
}

static bool dispatch_annotated(hwaddr gpa, uint64_t size)
{
    KVMSharedFaultHandler *h;
    Error *err = NULL;

    stats.annotated++;
    QLIST_FOREACH(h, &handlers, next) {
        switch (h->fault(gpa, size, &err)) {
        case KVM_SHARED_FAULT_NOT_MINE:
            continue;
        case KVM_SHARED_FAULT_RETRY:
            trace_kvm_shared_memory_fault_retry(h->name, gpa, size);
            return true;
        case KVM_SHARED_FAULT_FATAL:
            error_reportf_err(err, "KVM memory fault at 0x%" HWADDR_PRIx
                              " (size 0x%" PRIx64 "): ", gpa, size);
            return false;
        }
    }
    error_report("KVM memory fault at 0x%" HWADDR_PRIx " (size 0x%" PRIx64
                 ") on shared memory no device model owns", gpa, size);
    return false;
}

static bool sweep(void)
{
    g_autoptr(GString) report = g_string_new("");
    KVMSharedFaultHandler *h;
    bool fixed = false;

    stats.sweeps++;
    QLIST_FOREACH(h, &handlers, next) {
        fixed |= h->sweep(report);
    }
    stats.sweeps_fixed += fixed;
    trace_kvm_shared_memory_fault_sweep(fixed);
    if (!fixed) {
        error_report("KVM_RUN failed with EFAULT and no mapping was found "
                     "that should be gone;%s%s",
                     report->len ? " checked:" : " no device model to ask",
                     report->str);
    }
    return fixed;
}

bool kvm_shared_memory_fault(struct kvm_run *run, unsigned generation,
                             unsigned *retries)
{
    bool annotated = run->exit_reason == KVM_EXIT_MEMORY_FAULT;
    bool retry;

    if (annotated && (run->memory_fault.flags & KVM_MEMORY_EXIT_FLAG_PRIVATE)) {
        return false;   /* private memory: kvm_convert_memory() */
    }

    bql_lock();
    /* Which kind the kernel reports: an unpatched one never annotates. */
    if (annotated) {
        stats.exits++;
    } else {
        stats.bare++;
    }
    if (kvm_memory_fault_generation() != generation) {
        /*
         * The memslots changed while this vCPU ran: the fault is stale.
         * That is progress, however often it happens (a guest toggling a
         * BAR in a loop); only failures with nothing changed count.
         */
        trace_kvm_shared_memory_fault_stale(annotated);
        stats.stale++;
        *retries = 0;
        retry = true;
    } else if (++*retries > KVM_MEMORY_FAULT_MAX_RETRIES) {
        error_report("KVM_RUN failed with EFAULT %u times in a row with no "
                     "change to the memory map%s",
                     KVM_MEMORY_FAULT_MAX_RETRIES, annotated ?
                     ", the same memory fault each time" : "");
        retry = false;
    } else if (annotated) {
        trace_kvm_shared_memory_fault(run->memory_fault.gpa,
                                      run->memory_fault.size);
        retry = dispatch_annotated(run->memory_fault.gpa,
                                   run->memory_fault.size);
    } else {
        retry = sweep();
    }
    stats.fatal += !retry;
    bql_unlock();
    return retry;
}

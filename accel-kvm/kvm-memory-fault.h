/*
 * KVM: memory faults on shared (non-private) device memory, handed to the
 * device model that owns the memory.
 *
 * Copyright (c) 2026 vfio-bar-ur developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef ACCEL_KVM_MEMORY_FAULT_H
#define ACCEL_KVM_MEMORY_FAULT_H

#include "qemu/queue.h"
#include "exec/hwaddr.h"

struct kvm_run;

typedef enum KVMSharedFaultAction {
    KVM_SHARED_FAULT_NOT_MINE,  /* nothing of this owner's to fix */
    KVM_SHARED_FAULT_RETRY,     /* fixed: re-enter KVM_RUN */
    KVM_SHARED_FAULT_FATAL,     /* the owner cannot go on; errp says why */
} KVMSharedFaultAction;

typedef struct KVMSharedFaultHandler KVMSharedFaultHandler;

struct KVMSharedFaultHandler {
    /* Faults on the ram_device regions that @owner owns come here. */
    Object *owner;
    /* For messages: the owner as the user knows it. */
    const char *name;
    /*
     * KVM reported a fault at @gpa, @offset bytes into @mr, one of the
     * owner's ram_device regions: its backing failed.  Called with the BQL
     * held, after the fault was found not to be stale.
     */
    KVMSharedFaultAction (*fault)(KVMSharedFaultHandler *handler,
                                  MemoryRegion *mr, hwaddr offset,
                                  hwaddr gpa, Error **errp);
    /*
     * KVM_RUN failed with a bare -EFAULT, which names no address.  Drop
     * every mapping of the owner's that should be gone (RETRY if there was
     * one) and append what was checked to @report.  BQL held.
     */
    KVMSharedFaultAction (*sweep)(KVMSharedFaultHandler *handler,
                                  GString *report, Error **errp);
    /*
     * KVM refused a memslot for [@gpa, @gpa + @size) of @mr, one of the
     * owner's ram_device regions, with @err (a negative errno).  The range
     * goes without one: accesses to it exit as MMIO to @mr's accessors.
     * Called from the KVM memory listener's commit: the BQL is held and
     * the memory map must not be changed.  Optional: without it the VM
     * aborts as it always did.
     */
    void (*slot_refused)(KVMSharedFaultHandler *handler, MemoryRegion *mr,
                         hwaddr gpa, hwaddr size, int err);
    QLIST_ENTRY(KVMSharedFaultHandler) next;
};

/*
 * Register while the owner exists (from realize to unrealize), with the
 * BQL held.  Without a handler, KVM_RUN failures are handled as they
 * always were.
 */
void kvm_shared_fault_handler_add(KVMSharedFaultHandler *handler);
void kvm_shared_fault_handler_remove(KVMSharedFaultHandler *handler);

/* The KVM memory listener deleted the memslot at [@start, @start + @size). */
void kvm_shared_fault_memslot_deleted(hwaddr start, hwaddr size);

/*
 * KVM refused the memslot for [@gpa, @gpa + @size) of @mr with @err.
 * Returns true if @mr's owner took the refusal (see slot_refused): the
 * caller goes on without the slot.  False for any other memory.
 */
bool kvm_shared_fault_slot_refused(MemoryRegion *mr, hwaddr gpa, hwaddr size,
                                   int err);

/* On the vCPU thread, right before KVM_RUN and after a KVM_RUN succeeded. */
void kvm_shared_fault_pre_run(void);
void kvm_shared_fault_run_done(void);

/*
 * KVM_RUN failed with -EFAULT.  Returns false if the failure is none of
 * this code's business (no registered owner, private memory, flags it does
 * not know): the caller goes on as it always did.  Otherwise sets @ret to
 * 0 to re-enter KVM_RUN or to -1 to stop the VM, after saying why.
 */
bool kvm_shared_memory_fault(CPUState *cpu, struct kvm_run *run, int *ret);

#endif /* ACCEL_KVM_MEMORY_FAULT_H */

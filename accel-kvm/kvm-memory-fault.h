/*
 * KVM: memory faults on shared (non-private) guest memory, dispatched to
 * the owner of the faulting range.
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
    KVM_SHARED_FAULT_NOT_MINE,  /* the range is not this owner's */
    KVM_SHARED_FAULT_RETRY,     /* fixed, or already gone: re-enter KVM_RUN */
    KVM_SHARED_FAULT_FATAL,     /* the owner cannot go on; errp says why */
} KVMSharedFaultAction;

typedef struct KVMSharedFaultHandler KVMSharedFaultHandler;

struct KVMSharedFaultHandler {
    const char *name;
    /*
     * KVM reported a fault on [@gpa, @gpa + @size) of shared memory (a
     * memslot whose backing failed).  Called with the BQL held.
     */
    KVMSharedFaultAction (*fault)(hwaddr gpa, uint64_t size, Error **errp);
    /*
     * KVM_RUN failed with a bare -EFAULT, without an address.  Drop every
     * mapping that should be gone and return true if there was one; in
     * any case, describe what was checked in @report.  BQL held.
     */
    bool (*sweep)(GString *report);
    QLIST_ENTRY(KVMSharedFaultHandler) next;
};

void kvm_shared_fault_handler_add(KVMSharedFaultHandler *handler);
void kvm_shared_fault_handler_remove(KVMSharedFaultHandler *handler);

/* Called by the KVM memory listener whenever it adds or removes a memslot. */
void kvm_memory_fault_memslots_changed(void);
/* Read before KVM_RUN; a fault is stale if the memslots changed since. */
unsigned kvm_memory_fault_generation(void);
/*
 * KVM_RUN returned -EFAULT.  Returns true if the vCPU should re-enter
 * KVM_RUN, false to fail as before (after reporting why).  @retries counts
 * this vCPU's consecutive failed runs with no memslot change in between;
 * the caller resets it when KVM_RUN succeeds.
 */
bool kvm_shared_memory_fault(struct kvm_run *run, unsigned generation,
                             unsigned *retries);

#endif /* ACCEL_KVM_MEMORY_FAULT_H */

/*
 * vfio PCI: KVM memory faults on BAR mappings.
 *
 * Copyright (c) 2026 vfio-bar-ur developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VFIO_PCI_BAR_FAULT_H
#define HW_VFIO_PCI_BAR_FAULT_H

#include "accel/kvm/kvm-memory-fault.h"

typedef struct VFIOPCIDevice VFIOPCIDevice;

typedef struct VFIOPCIBarFault {
    /* KVM memory faults on the BAR mmaps come here */
    KVMSharedFaultHandler handler;
    /* x-bar-fault-policy=stop: a fault on a decoding BAR stops the VM */
    bool stop;
    bool warned_slot_refused;
    uint64_t slot_refusals;
} VFIOPCIBarFault;

void vfio_pci_bar_fault_register(VFIOPCIDevice *vdev);
void vfio_pci_bar_fault_unregister(VFIOPCIDevice *vdev);
void vfio_pci_bar_fault_class_init(ObjectClass *klass);

#endif /* HW_VFIO_PCI_BAR_FAULT_H */

/*
 * vfio PCI: KVM memory faults on BAR mappings.
 *
 * When the host revokes a BAR's mmap while a KVM memslot still maps it,
 * the vCPU's fault fails and KVM_RUN returns -EFAULT: annotated with the
 * gpa (KVM_EXIT_MEMORY_FAULT) on a kernel that reports it, bare on the
 * others.  Either way the BAR must stop being a memslot: drop its fast path
 * and let the retried access exit as MMIO, where pci-bar-ur.c answers it as
 * an Unsupported Request while the device does not decode.
 *
 * Copyright (c) 2026 vfio-bar-ur developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "system/address-spaces.h"
#include "system/memory.h"
#include "accel/kvm/kvm-memory-fault.h"
#include "hw/vfio/vfio-device.h"
#include "pci.h"
#include "pci-bar-ur.h"
#include "trace.h"

static KVMSharedFaultAction bar_fault_decide(VFIOPCIDevice *vdev, int nr,
                                             hwaddr gpa, Error **errp)
{
    uint16_t cmd, pmcsr;

    if (!vfio_pci_bar_ur_decodes(vdev)) {
        trace_vfio_pci_bar_fault(vdev->vbasedev.name, nr, gpa, "not decoding");
        vfio_pci_bar_ur_revoked(vdev, false);
        return KVM_SHARED_FAULT_RETRY;
    }
    if (!vfio_pci_bar_ur_device_decodes(vdev, &cmd, &pmcsr)) {
        trace_vfio_pci_bar_fault(vdev->vbasedev.name, nr, gpa,
                                 "device not decoding");
        vfio_pci_bar_ur_revoked(vdev, true);
        return KVM_SHARED_FAULT_RETRY;
    }
    /* The device claims to decode, yet its mapping failed. */
    if (vdev->bar_ur.fault_stop) {
        error_setg(errp, "vfio %s BAR %d: mapping failed while the device "
                   "decodes (command 0x%04x, PMCSR 0x%04x)",
                   vdev->vbasedev.name, nr, cmd, pmcsr);
        return KVM_SHARED_FAULT_FATAL;
    }
    trace_vfio_pci_bar_fault(vdev->vbasedev.name, nr, gpa, "mapping failed");
    vfio_pci_bar_ur_revoked(vdev, true);
    return KVM_SHARED_FAULT_RETRY;
}

static KVMSharedFaultAction bar_fault(hwaddr gpa, uint64_t size, Error **errp)
{
    MemoryRegionSection section = memory_region_find(get_system_memory(),
                                                     gpa, 1);
    KVMSharedFaultAction action = KVM_SHARED_FAULT_NOT_MINE;
    VFIOPCIDevice *vdev;
    Object *owner;
    int nr;

    if (!section.mr) {
        /* Nothing is mapped there any more: the retry exits as MMIO. */
        return KVM_SHARED_FAULT_RETRY;
    }
    if (!memory_region_is_ram(section.mr)) {
        action = KVM_SHARED_FAULT_RETRY;
        goto out;
    }
    owner = memory_region_owner(section.mr);
    vdev = (VFIOPCIDevice *)object_dynamic_cast(owner, TYPE_VFIO_PCI_DEVICE);
    if (vdev) {
        nr = vfio_pci_bar_ur_mmap_bar(vdev, section.mr);
        if (nr >= 0) {
            action = bar_fault_decide(vdev, nr, gpa, errp);
        }
    }
out:
    memory_region_unref(section.mr);
    return action;
}

/*
 * A bare -EFAULT names no address: look at every vfio PCI device whose
 * fast path is on, and drop it where the device does not decode, as the
 * guest programmed it or as the device itself says.
 */
static bool bar_fault_sweep(GString *report)
{
    VFIODevice *vbasedev;
    bool fixed = false;

    QLIST_FOREACH(vbasedev, &vfio_device_list, global_next) {
        VFIOPCIDevice *vdev;
        uint16_t cmd, pmcsr;
        bool guest_on, device_on;

        if (vbasedev->type != VFIO_DEVICE_TYPE_PCI) {
            continue;
        }
        vdev = container_of(vbasedev, VFIOPCIDevice, vbasedev);
        guest_on = vfio_pci_bar_ur_decodes(vdev);
        device_on = vfio_pci_bar_ur_device_decodes(vdev, &cmd, &pmcsr);
        g_string_append_printf(report, " %s: guest %s, device command 0x%04x "
                               "PMCSR 0x%04x, BAR fast path %s;",
                               vbasedev->name,
                               guest_on ? "decoding" : "not decoding",
                               cmd, pmcsr,
                               vdev->bar_ur.mmaps_off ? "off" : "on");
        if (!vdev->bar_ur.mmaps_off && (!guest_on || !device_on)) {
            vfio_pci_bar_ur_revoked(vdev, guest_on && !device_on);
            fixed = true;
        }
    }
    trace_vfio_pci_bar_fault_sweep(fixed);
    return fixed;
}

static KVMSharedFaultHandler bar_fault_handler = {
    .name = "vfio-pci BAR",
    .fault = bar_fault,
    .sweep = bar_fault_sweep,
};

void vfio_pci_bar_fault_init(void)
{
    kvm_shared_fault_handler_add(&bar_fault_handler);
}

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
 * A fault on a BAR the guest has enabled means the device stopped decoding
 * without the guest asking (a host-side reset or power transition), or its
 * mapping broke: x-bar-fault-policy decides, the same way for both kinds of
 * fault.  A bare fault can only be pinned on a device whose config space
 * says it does not decode: vfio-pci revokes a mapping only then, and maps
 * it again on the next fault while the device decodes.
 *
 * Copyright (c) 2026 vfio-bar-ur developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "qapi/visitor.h"
#include "system/memory.h"
#include "accel/kvm/kvm-memory-fault.h"
#include "pci.h"
#include "pci-bar-ur.h"
#include "pci-bar-fault.h"
#include "trace.h"

static VFIOPCIDevice *handler_device(KVMSharedFaultHandler *handler)
{
    return container_of(handler, VFIOPCIDevice, bar_fault.handler);
}

/* What the device's own config space says, for messages. */
static char *device_state(int decodes, uint16_t cmd, uint16_t pmcsr)
{
    if (decodes < 0) {
        return g_strdup("device config space unreadable");
    }
    return g_strdup_printf("device %sdecoding (command 0x%04x, PMCSR 0x%04x)",
                           decodes ? "" : "not ", cmd, pmcsr);
}

/* A fault pinned on a device the guest has enabled: apply the policy. */
static KVMSharedFaultAction bar_fault_policy(VFIOPCIDevice *vdev,
                                             const char *what,
                                             const char *state, Error **errp)
{
    if (vdev->bar_fault.stop) {
        error_setg(errp, "vfio %s: %s with the guest's memory decoding on, "
                   "%s (x-bar-fault-policy=stop)", vdev->vbasedev.name, what,
                   state);
        return KVM_SHARED_FAULT_FATAL;
    }
    vfio_pci_bar_ur_revoked(vdev, true);
    return KVM_SHARED_FAULT_RETRY;
}

static KVMSharedFaultAction bar_fault(KVMSharedFaultHandler *handler,
                                      MemoryRegion *mr, hwaddr offset,
                                      hwaddr gpa, Error **errp)
{
    VFIOPCIDevice *vdev = handler_device(handler);
    int nr = vfio_pci_bar_ur_mmap_bar(vdev, mr);
    g_autofree char *what = NULL, *state = NULL;
    uint16_t cmd, pmcsr;
    int decodes;

    if (nr < 0) {
        return KVM_SHARED_FAULT_NOT_MINE;
    }
    if (!vfio_pci_bar_ur_decodes(vdev)) {
        /* The guest disabled it; the fast path was not dropped yet. */
        trace_vfio_pci_bar_fault(vdev->vbasedev.name, nr, gpa,
                                 "guest not decoding");
        vfio_pci_bar_ur_revoked(vdev, false);
        return KVM_SHARED_FAULT_RETRY;
    }
    decodes = vfio_pci_bar_ur_device_decodes(vdev, &cmd, &pmcsr);
    state = device_state(decodes, cmd, pmcsr);
    trace_vfio_pci_bar_fault(vdev->vbasedev.name, nr, gpa, state);
    what = g_strdup_printf("BAR %d mapping failed at gpa 0x%" HWADDR_PRIx
                           " (+0x%" HWADDR_PRIx ")", nr, gpa, offset);
    return bar_fault_policy(vdev, what, state, errp);
}

/*
 * A bare -EFAULT names no address.  Drop the fast path where the guest
 * disabled the device, or where a successful read of its config space
 * shows it not decoding; a failed read pins nothing on it.
 */
static KVMSharedFaultAction bar_fault_sweep(KVMSharedFaultHandler *handler,
                                            GString *report, Error **errp)
{
    VFIOPCIDevice *vdev = handler_device(handler);
    bool guest_on = vfio_pci_bar_ur_decodes(vdev);
    g_autofree char *state = NULL;
    KVMSharedFaultAction action;
    uint16_t cmd, pmcsr;
    int decodes;

    decodes = vfio_pci_bar_ur_device_decodes(vdev, &cmd, &pmcsr);
    state = device_state(decodes, cmd, pmcsr);
    g_string_append_printf(report, " [%s: guest %sdecoding, %s, "
                           "BAR fast path %s]", vdev->vbasedev.name,
                           guest_on ? "" : "not ", state,
                           vdev->bar_ur.mmaps_off ? "off" : "on");
    if (vdev->bar_ur.mmaps_off || (guest_on && decodes != 0)) {
        action = KVM_SHARED_FAULT_NOT_MINE;
    } else if (!guest_on) {
        vfio_pci_bar_ur_revoked(vdev, false);
        action = KVM_SHARED_FAULT_RETRY;
    } else {
        action = bar_fault_policy(vdev, "a BAR mapping failed", state, errp);
    }
    trace_vfio_pci_bar_fault_sweep(vdev->vbasedev.name, action);
    return action;
}

/*
 * KVM refused to map a BAR (beyond what it can map, yet within what the CPU
 * model says the guest reaches, or for a reason of its own): the BAR works
 * on, slowly, through MMIO exits to the mmap's accessors.
 */
static void bar_slot_refused(KVMSharedFaultHandler *handler, MemoryRegion *mr,
                             hwaddr gpa, hwaddr size, int err)
{
    VFIOPCIDevice *vdev = handler_device(handler);

    vdev->bar_fault.slot_refusals++;
    if (!vdev->bar_fault.warned_slot_refused) {
        vdev->bar_fault.warned_slot_refused = true;
        warn_report("vfio %s: KVM cannot map BAR %d at gpa 0x%" HWADDR_PRIx
                    " (%s); it is served through QEMU, slowly",
                    vdev->vbasedev.name, vfio_pci_bar_ur_mmap_bar(vdev, mr),
                    gpa, strerror(-err));
    }
}

void vfio_pci_bar_fault_register(VFIOPCIDevice *vdev)
{
    KVMSharedFaultHandler *handler = &vdev->bar_fault.handler;

    handler->owner = OBJECT(vdev);
    handler->name = vdev->vbasedev.name;
    handler->fault = bar_fault;
    handler->sweep = bar_fault_sweep;
    handler->slot_refused = bar_slot_refused;
    kvm_shared_fault_handler_add(handler);
}

void vfio_pci_bar_fault_unregister(VFIOPCIDevice *vdev)
{
    if (vdev->bar_fault.handler.owner) {
        kvm_shared_fault_handler_remove(&vdev->bar_fault.handler);
        vdev->bar_fault.handler.owner = NULL;
    }
}

static char *bar_fault_get_policy(Object *obj, Error **errp)
{
    return g_strdup(VFIO_PCI_DEVICE(obj)->bar_fault.stop ? "stop" : "ur");
}

static void bar_fault_set_policy(Object *obj, const char *value, Error **errp)
{
    VFIOPCIDevice *vdev = VFIO_PCI_DEVICE(obj);

    if (!strcmp(value, "ur") || !strcmp(value, "stop")) {
        vdev->bar_fault.stop = !strcmp(value, "stop");
    } else {
        error_setg(errp, "x-bar-fault-policy must be 'ur' or 'stop', not '%s'",
                   value);
    }
}

static void bar_fault_get_slot_refusals(Object *obj, Visitor *v,
                                        const char *name, void *opaque,
                                        Error **errp)
{
    visit_type_uint64(v, name, &VFIO_PCI_DEVICE(obj)->bar_fault.slot_refusals,
                      errp);
}

void vfio_pci_bar_fault_class_init(ObjectClass *klass)
{
    object_class_property_add_str(klass, "x-bar-fault-policy",
                                  bar_fault_get_policy, bar_fault_set_policy);
    object_class_property_set_description(klass, "x-bar-fault-policy",
        "What a memory fault on a BAR the guest has enabled does: 'ur' "
        "(default) answers Unsupported Request until the guest enables the "
        "device again and it decodes, 'stop' stops the VM");
    object_class_property_add(klass, "x-bar-slot-refusals", "uint64",
                              bar_fault_get_slot_refusals, NULL, NULL, NULL);
    object_class_property_set_description(klass, "x-bar-slot-refusals",
        "BAR mappings KVM refused a memslot for (served as MMIO)");
}

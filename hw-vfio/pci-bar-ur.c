/*
 * vfio PCI: BARs of a device that does not decode memory behave as an
 * Unsupported Request (reads all-ones, writes dropped).
 *
 * A guest may clear Command.MEM, move the device out of D0 or start an FLR
 * while another vCPU accesses a BAR.  The host driver revokes the BAR's mmap
 * as soon as it sees the config write.  If a KVM memslot still points at the
 * mapping, the vCPU's fault fails and KVM_RUN returns -EFAULT; if QEMU itself
 * touches the mapping (an access that exited as MMIO and was dispatched on a
 * flatview published before the BAR went away), QEMU dies of SIGBUS.
 *
 * So a config write that stops decoding first drops the fast path (the
 * mmaps, hence the memslots) and then reaches the device; a write that
 * starts decoding reaches the device first and brings the fast path back
 * after.  Every path an access can take while the device does not decode
 * answers like a root complex does for an Unsupported Request: the BAR's
 * slow path, its mmap'd part when reached through QEMU, and, once QEMU has
 * unmapped the BAR, an all-ones background at the BAR's programmed address.
 *
 * Copyright (c) 2026 vfio-bar-ur developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/sigbus-guard.h"
#include "qemu/timer.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "hw/pci/pci.h"
#include "hw/pci/pci_device.h"
#include "hw/qdev-properties.h"
#include "pci.h"
#include "pci-bar-ur.h"
#include "trace.h"

static uint64_t ur_ones(unsigned size)
{
    return MAKE_64BIT_MASK(0, size * BITS_PER_BYTE);
}

/* The byte of a config write of @len bytes at @addr that lands on @reg. */
static bool write_covers(uint32_t addr, int len, uint32_t reg)
{
    return reg && range_covers_byte(addr, len, reg);
}

static uint8_t write_byte(uint32_t addr, uint32_t val, uint32_t reg)
{
    return val >> ((reg - addr) * BITS_PER_BYTE);
}

/*
 * Does the device decode its memory BARs?  As far as the guest has told
 * it, unless the device was found not to (its mapping failed under us).
 */
bool vfio_pci_bar_ur_decodes(VFIOPCIDevice *vdev)
{
    PCIDevice *pdev = PCI_DEVICE(vdev);

    return (pci_get_word(pdev->config + PCI_COMMAND) & PCI_COMMAND_MEMORY) &&
           pci_pm_state(pdev) == 0 && !vdev->bar_ur.flr_pending &&
           !vdev->bar_ur.host_disabled;
}

/*
 * Does the physical device decode?  Asks it through its config region:
 * 1 if it does, 0 if it does not, -1 if its config space cannot be read.
 */
int vfio_pci_bar_ur_device_decodes(VFIOPCIDevice *vdev, uint16_t *cmd,
                                   uint16_t *pmcsr)
{
    PCIDevice *pdev = PCI_DEVICE(vdev);

    *cmd = *pmcsr = 0;
    if (vfio_pci_config_space_read(vdev, PCI_COMMAND, 2, cmd) != 2 ||
        (pdev->pm_cap &&
         vfio_pci_config_space_read(vdev, pdev->pm_cap + PCI_PM_CTRL, 2,
                                    pmcsr) != 2)) {
        return -1;
    }
    *cmd = le16_to_cpu(*cmd);
    *pmcsr = le16_to_cpu(*pmcsr);
    return (*cmd & PCI_COMMAND_MEMORY) &&
           !(*pmcsr & PCI_PM_CTRL_STATE_MASK);
}

/*
 * Does this config write start an FLR: Initiate-FLR in the PCIe Device
 * Control of a device whose Device Capabilities advertise FLR?
 */
static bool write_starts_flr(VFIOPCIDevice *vdev, uint32_t addr,
                             uint32_t val, int len)
{
    PCIDevice *pdev = PCI_DEVICE(vdev);
    uint16_t exp = pdev->exp.exp_cap;

    return exp && write_covers(addr, len, exp + PCI_EXP_DEVCTL + 1) &&
           (write_byte(addr, val, exp + PCI_EXP_DEVCTL + 1) &
            (PCI_EXP_DEVCTL_BCR_FLR >> 8)) &&
           (pci_get_long(pdev->config + exp + PCI_EXP_DEVCAP) &
            PCI_EXP_DEVCAP_FLR);
}

/* Will this config write stop decoding or move a decoding BAR? */
static bool write_stops_decoding(VFIOPCIDevice *vdev, uint32_t addr,
                                 uint32_t val, int len)
{
    PCIDevice *pdev = PCI_DEVICE(vdev);
    uint32_t pmcsr = pdev->pm_cap ? pdev->pm_cap + PCI_PM_CTRL : 0;

    if (write_covers(addr, len, PCI_COMMAND) &&
        !(write_byte(addr, val, PCI_COMMAND) & PCI_COMMAND_MEMORY)) {
        return true;
    }
    if (write_covers(addr, len, pmcsr) &&
        (write_byte(addr, val, pmcsr) & PCI_PM_CTRL_STATE_MASK)) {
        return true;
    }
    return write_starts_flr(vdev, addr, val, len) ||
           ranges_overlap(addr, len, PCI_BASE_ADDRESS_0, 24);
}

static void bar_ur_unmap(VFIOPCIDevice *vdev)
{
    vfio_mmap_set_enabled(vdev, false);
    vdev->bar_ur.mmaps_off = true;
    vdev->bar_ur.unmaps++;
    trace_vfio_pci_bar_ur_unmap(vdev->vbasedev.name);
}

static void bar_ur_restore(VFIOPCIDevice *vdev)
{
    vdev->bar_ur.mmaps_off = false;
    vdev->bar_ur.warned = false;
    vdev->bar_ur.restores++;
    /* A pending INTx keeps the mmaps off; its timer brings them back. */
    if (!vdev->intx.pending) {
        vfio_mmap_set_enabled(vdev, true);
    }
    trace_vfio_pci_bar_ur_restore(vdev->vbasedev.name);
}

/*
 * Called before a config write reaches the device.  Returns true if the
 * caller must update QEMU's view (and so unmap the BARs) first and forward
 * the write to the device after.
 */
bool vfio_pci_bar_ur_write_begin(VFIOPCIDevice *vdev, uint32_t addr,
                                 uint32_t val, int len)
{
    if (!vfio_pci_bar_ur_decodes(vdev) ||
        !write_stops_decoding(vdev, addr, val, len) ||
        !vdev->bar_ur.unmap_first) {
        return false;
    }

    trace_vfio_pci_bar_ur_unmap_first(vdev->vbasedev.name, addr, val, len);
    bar_ur_unmap(vdev);
    return true;
}

/*
 * The address a memory BAR is programmed to, whether or not the device
 * decodes it; PCI_BAR_UNMAPPED for a sizing pattern or an address no BAR
 * can take.
 */
static pcibus_t bar_programmed_addr(PCIDevice *pdev, int nr)
{
    PCIIORegion *r = &pdev->io_regions[nr];
    pcibus_t addr, last;

    if (!r->size || (r->type & PCI_BASE_ADDRESS_SPACE_IO)) {
        return PCI_BAR_UNMAPPED;
    }
    if (r->type & PCI_BASE_ADDRESS_MEM_TYPE_64) {
        addr = pci_get_quad(pdev->config + pci_bar(pdev, nr));
    } else {
        addr = pci_get_long(pdev->config + pci_bar(pdev, nr));
    }
    addr &= ~(r->size - 1);
    last = addr + r->size - 1;
    if (!addr || last <= addr || last == PCI_BAR_UNMAPPED ||
        (!(r->type & PCI_BASE_ADDRESS_MEM_TYPE_64) && last >= UINT32_MAX)) {
        return PCI_BAR_UNMAPPED;
    }
    return addr;
}

/*
 * One warning per disabled period, and at most one a minute per device: a
 * driver that polls a disabled device must not flood the log.
 */
static bool bar_ur_should_warn(VFIOPCIDevice *vdev)
{
    int64_t now = qemu_clock_get_ms(QEMU_CLOCK_REALTIME);
    VFIOPCIBarUR *ur = &vdev->bar_ur;

    if (ur->warned || (ur->last_warn_ms && now - ur->last_warn_ms < 60000)) {
        return false;
    }
    ur->warned = true;
    ur->last_warn_ms = now;
    return true;
}

static void bar_ur_count(VFIOPCIDevice *vdev, int nr, bool is_write,
                         hwaddr addr, uint64_t data, unsigned size)
{
    if (is_write) {
        vdev->bar_ur.ur_writes++;
        trace_vfio_pci_bar_ur_write(vdev->vbasedev.name, nr, addr, data, size);
    } else {
        vdev->bar_ur.ur_reads++;
        trace_vfio_pci_bar_ur_read(vdev->vbasedev.name, nr, addr, size);
    }
    if (bar_ur_should_warn(vdev)) {
        warn_report("vfio %s: guest accessed BAR %d while the device does not "
                    "decode memory; answering as Unsupported Request",
                    vdev->vbasedev.name, nr);
    }
}

/*
 * The BARs' backing went away without the guest asking (a failed mapping,
 * a host-side reset or power transition): answer Unsupported Request until
 * the guest enables the device again and the device agrees.
 */
void vfio_pci_bar_ur_revoked(VFIOPCIDevice *vdev, bool by_device)
{
    if (by_device && !vdev->bar_ur.host_disabled) {
        vdev->bar_ur.host_disabled = true;
        vdev->bar_ur.host_disables++;
    }
    if (by_device && bar_ur_should_warn(vdev)) {
        warn_report("vfio %s: the device stopped decoding its BARs without "
                    "the guest asking; answering as Unsupported Request",
                    vdev->vbasedev.name);
    }
    if (!vdev->bar_ur.mmaps_off) {
        bar_ur_unmap(vdev);
    }
}

typedef struct VFIOPCIBarOverlay {
    VFIOPCIDevice *vdev;
    int nr;
} VFIOPCIBarOverlay;

static uint64_t bar_overlay_read(void *opaque, hwaddr addr, unsigned size)
{
    VFIOPCIBarOverlay *o = opaque;

    bar_ur_count(o->vdev, o->nr, false, addr, 0, size);
    return ur_ones(size);
}

static void bar_overlay_write(void *opaque, hwaddr addr, uint64_t data,
                              unsigned size)
{
    VFIOPCIBarOverlay *o = opaque;

    bar_ur_count(o->vdev, o->nr, true, addr, data, size);
}

/* .impl as .valid: one access, one count, whatever its size */
static const MemoryRegionOps bar_overlay_ops = {
    .read = bar_overlay_read,
    .write = bar_overlay_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = {
        .min_access_size = 1,
        .max_access_size = 8,
    },
    .impl = {
        .min_access_size = 1,
        .max_access_size = 8,
    },
};

static void bar_overlay_place(VFIOPCIDevice *vdev, int nr, pcibus_t addr)
{
    PCIIORegion *r = &PCI_DEVICE(vdev)->io_regions[nr];
    VFIOPCIBarUR *ur = &vdev->bar_ur;

    if (ur->overlay[nr] && ur->overlay_addr[nr] == addr) {
        return;
    }
    if (ur->overlay[nr] && ur->overlay_addr[nr] != PCI_BAR_UNMAPPED) {
        memory_region_del_subregion(r->address_space, ur->overlay[nr]);
    }
    if (addr != PCI_BAR_UNMAPPED && !ur->overlay[nr]) {
        VFIOPCIBarOverlay *o = g_new0(VFIOPCIBarOverlay, 1);
        g_autofree char *name = g_strdup_printf("%s BAR %d unsupported-request",
                                                vdev->vbasedev.name, nr);

        o->vdev = vdev;
        o->nr = nr;
        ur->overlay[nr] = g_new0(MemoryRegion, 1);
        memory_region_init_io(ur->overlay[nr], OBJECT(vdev), &bar_overlay_ops,
                              o, name, r->size);
    }
    ur->overlay_addr[nr] = addr;
    if (addr != PCI_BAR_UNMAPPED) {
        /* Below everything: never shadow RAM or another device's BAR. */
        memory_region_add_subregion_overlap(r->address_space, addr,
                                            ur->overlay[nr], INT_MIN);
    }
    trace_vfio_pci_bar_ur_overlay(vdev->vbasedev.name, nr, addr);
}

/*
 * While the device does not decode, a memory BAR that QEMU has unmapped
 * (Command.MEM clear, not in D0) reads all-ones at its programmed address;
 * without this, the access would hit unassigned memory and read 0.
 */
static void bar_overlays_update(VFIOPCIDevice *vdev)
{
    PCIDevice *pdev = PCI_DEVICE(vdev);
    bool decodes = vfio_pci_bar_ur_decodes(vdev);
    int nr;

    memory_region_transaction_begin();
    for (nr = 0; nr < PCI_ROM_SLOT; nr++) {
        pcibus_t addr = PCI_BAR_UNMAPPED;

        if (!decodes && pdev->io_regions[nr].addr == PCI_BAR_UNMAPPED) {
            addr = bar_programmed_addr(pdev, nr);
        }
        if (vdev->bar_ur.overlay[nr] || addr != PCI_BAR_UNMAPPED) {
            bar_overlay_place(vdev, nr, addr);
        }
    }
    memory_region_transaction_commit();
}

/*
 * Called after a config write was handled.  Brings the fast path back if
 * the device decodes again (only if the write really reached the device:
 * a device that did not take the write stays on the slow path), drops it if
 * the device stopped decoding without the unmap-first ordering, and moves
 * the all-ones overlays.
 */
void vfio_pci_bar_ur_write_end(VFIOPCIDevice *vdev, uint32_t addr,
                               uint32_t val, int len, bool forwarded)
{
    VFIOPCIBarUR *ur = &vdev->bar_ur;
    PCIDevice *pdev = PCI_DEVICE(vdev);
    uint16_t cmd, pmcsr;

    /*
     * The host's vfio-pci performs the FLR inside the write and restores
     * the config it saved, Command included (pci_try_reset_function()), so
     * the device may decode again at once: ask it.  One that does not
     * decodes again once the guest sets Command.MEM.
     */
    if (write_starts_flr(vdev, addr, val, len) && forwarded) {
        ur->flr_pending =
            vfio_pci_bar_ur_device_decodes(vdev, &cmd, &pmcsr) != 1;
    }
    if (ur->host_disabled && forwarded &&
        vfio_pci_bar_ur_device_decodes(vdev, &cmd, &pmcsr) == 1) {
        ur->host_disabled = false;
    }
    if (ur->flr_pending && forwarded && write_covers(addr, len, PCI_COMMAND) &&
        (pci_get_word(pdev->config + PCI_COMMAND) & PCI_COMMAND_MEMORY)) {
        ur->flr_pending = false;
    }

    if (vfio_pci_bar_ur_decodes(vdev)) {
        if (ur->mmaps_off && forwarded) {
            bar_ur_restore(vdev);
        }
    } else if (!ur->mmaps_off) {
        bar_ur_unmap(vdev);
    }
    bar_overlays_update(vdev);
}

/* The INTx path must not bring the mmaps back while we keep them off. */
bool vfio_pci_bar_ur_mmaps_blocked(VFIOPCIDevice *vdev)
{
    return vdev->bar_ur.mmaps_off;
}

/* The vfio PCI device behind a memory BAR region, or NULL. */
static VFIOPCIDevice *bar_region_device(VFIORegion *region)
{
    VFIOPCIDevice *vdev;

    if (region->vbasedev->type != VFIO_DEVICE_TYPE_PCI ||
        region->nr >= PCI_ROM_SLOT) {
        return NULL;
    }
    vdev = container_of(region->vbasedev, VFIOPCIDevice, vbasedev);
    if (vdev->bars[region->nr].ioport) {
        return NULL;
    }
    return vdev;
}

/*
 * Slow path of a BAR (vfio_region_read/write).  Returns true if the access
 * was answered as an Unsupported Request and must not reach the device.
 * This runs under the BQL, after any config write that was in flight when
 * the access was dispatched, so it sees the device's current state.
 */
bool vfio_pci_bar_ur_region_read(VFIORegion *region, hwaddr addr,
                                 unsigned size, uint64_t *data)
{
    VFIOPCIDevice *vdev = bar_region_device(region);

    if (!vdev || vfio_pci_bar_ur_decodes(vdev)) {
        return false;
    }
    bar_ur_count(vdev, region->nr, false, addr, 0, size);
    *data = ur_ones(size);
    return true;
}

bool vfio_pci_bar_ur_region_write(VFIORegion *region, hwaddr addr,
                                  uint64_t data, unsigned size)
{
    VFIOPCIDevice *vdev = bar_region_device(region);

    if (!vdev || vfio_pci_bar_ur_decodes(vdev)) {
        return false;
    }
    bar_ur_count(vdev, region->nr, true, addr, data, size);
    return true;
}

/*
 * A BAR access the device refused (the host disabled it behind our back:
 * vfio-pci answers -EIO).  Returns true if it was reported here, once per
 * disabled period; the caller answers all-ones / drops the write.
 */
bool vfio_pci_bar_ur_region_failed(VFIORegion *region, int ret)
{
    VFIOPCIDevice *vdev = bar_region_device(region);

    if (!vdev || ret != -EIO) {
        return false;
    }
    if (bar_ur_should_warn(vdev)) {
        warn_report("vfio %s: BAR %d access failed (%s): the device does not "
                    "decode; answering as Unsupported Request",
                    vdev->vbasedev.name, region->nr, strerror(-ret));
    }
    return true;
}

/* The BAR whose mmap @mr is, or -1. */
int vfio_pci_bar_ur_mmap_bar(VFIOPCIDevice *vdev, MemoryRegion *mr)
{
    int nr, i;

    for (nr = 0; nr < PCI_ROM_SLOT; nr++) {
        for (i = 0; i < vdev->bars[nr].region.nr_mmaps; i++) {
            if (&vdev->bars[nr].region.mmaps[i].mem == mr) {
                return nr;
            }
        }
    }
    return -1;
}

/*
 * The mmap'd part of a BAR is normally reached by the guest through a KVM
 * memslot.  QEMU reaches it through these ops: for DMA, the monitor, and for
 * a vCPU access that exited as MMIO on a flatview taken before the BAR was
 * unmapped.  Such an access waits for the BQL behind the config write that
 * disables the device; when it gets the lock the mapping may be revoked, so
 * check the device state first (under the BQL) instead of faulting on it,
 * and catch the SIGBUS of a mapping the host revoked behind our back.
 */
static uint64_t bar_mmap_read(void *opaque, hwaddr addr, unsigned size)
{
    MemoryRegion *mr = opaque;
    VFIOPCIDevice *vdev = VFIO_PCI_DEVICE(memory_region_owner(mr));
    uint64_t data;

    if (vfio_pci_bar_ur_decodes(vdev)) {
        if (qemu_guarded_access(memory_region_get_ram_ptr(mr) + addr, size,
                                &data, false)) {
            return data;
        }
        vfio_pci_bar_ur_revoked(vdev, true);
    }
    bar_ur_count(vdev, vfio_pci_bar_ur_mmap_bar(vdev, mr), false, addr, 0,
                 size);
    return ur_ones(size);
}

static void bar_mmap_write(void *opaque, hwaddr addr, uint64_t data,
                           unsigned size)
{
    MemoryRegion *mr = opaque;
    VFIOPCIDevice *vdev = VFIO_PCI_DEVICE(memory_region_owner(mr));

    if (vfio_pci_bar_ur_decodes(vdev)) {
        if (qemu_guarded_access(memory_region_get_ram_ptr(mr) + addr, size,
                                &data, true)) {
            return;
        }
        vfio_pci_bar_ur_revoked(vdev, true);
    }
    bar_ur_count(vdev, vfio_pci_bar_ur_mmap_bar(vdev, mr), true, addr, data,
                 size);
}

/* Same access rules as QEMU's ram_device regions. */
static const MemoryRegionOps bar_mmap_ops = {
    .read = bar_mmap_read,
    .write = bar_mmap_write,
    .endianness = HOST_BIG_ENDIAN ? DEVICE_BIG_ENDIAN : DEVICE_LITTLE_ENDIAN,
    .valid = {
        .min_access_size = 1,
        .max_access_size = 8,
        .unaligned = true,
    },
    .impl = {
        .min_access_size = 1,
        .max_access_size = 8,
        .unaligned = true,
    },
};

void vfio_pci_bar_ur_guard_mmap(VFIORegion *region, MemoryRegion *mr)
{
    if (bar_region_device(region)) {
        mr->ops = &bar_mmap_ops;
    }
}

void vfio_pci_bar_ur_realize(VFIOPCIDevice *vdev)
{
    vfio_pci_bar_fault_register(vdev);
}

void vfio_pci_bar_ur_exit(VFIOPCIDevice *vdev)
{
    int nr;

    vfio_pci_bar_fault_unregister(vdev);

    for (nr = 0; nr < PCI_ROM_SLOT; nr++) {
        if (vdev->bar_ur.overlay[nr]) {
            bar_overlay_place(vdev, nr, PCI_BAR_UNMAPPED);
        }
    }
}

/* Like the BARs' own regions, freed only once no flatview can hold them. */
void vfio_pci_bar_ur_finalize(VFIOPCIDevice *vdev)
{
    int nr;

    for (nr = 0; nr < PCI_ROM_SLOT; nr++) {
        MemoryRegion *mr = vdev->bar_ur.overlay[nr];

        if (mr) {
            g_free(mr->opaque);
            object_unparent(OBJECT(mr));
            g_free(mr);
            vdev->bar_ur.overlay[nr] = NULL;
        }
    }
}

static void bar_ur_get_counter(Object *obj, Visitor *v, const char *name,
                               void *opaque, Error **errp)
{
    VFIOPCIDevice *vdev = VFIO_PCI_DEVICE(obj);
    uint64_t value = *(uint64_t *)((char *)&vdev->bar_ur + (uintptr_t)opaque);

    visit_type_uint64(v, name, &value, errp);
}

static const Property vfio_pci_bar_ur_properties[] = {
    DEFINE_PROP_BOOL("x-bar-unmap-first", VFIOPCIDevice,
                     bar_ur.unmap_first, true),
};

static char *bar_ur_get_fault_policy(Object *obj, Error **errp)
{
    return g_strdup(VFIO_PCI_DEVICE(obj)->bar_ur.fault_stop ? "stop" : "ur");
}

static void bar_ur_set_fault_policy(Object *obj, const char *value,
                                    Error **errp)
{
    VFIOPCIDevice *vdev = VFIO_PCI_DEVICE(obj);

    if (!strcmp(value, "ur") || !strcmp(value, "stop")) {
        vdev->bar_ur.fault_stop = !strcmp(value, "stop");
    } else {
        error_setg(errp, "x-bar-fault-policy must be 'ur' or 'stop', not '%s'",
                   value);
    }
}

void vfio_pci_bar_ur_class_init(ObjectClass *klass)
{
    static const struct {
        const char *name;
        size_t offset;
        const char *desc;
    } counters[] = {
        { "x-bar-ur-reads", offsetof(VFIOPCIBarUR, ur_reads),
          "BAR reads answered all-ones while the device did not decode" },
        { "x-bar-ur-writes", offsetof(VFIOPCIBarUR, ur_writes),
          "BAR writes dropped while the device did not decode" },
        { "x-bar-unmaps", offsetof(VFIOPCIBarUR, unmaps),
          "times the BAR fast path (mmaps, KVM memslots) was dropped" },
        { "x-bar-restores", offsetof(VFIOPCIBarUR, restores),
          "times the BAR fast path was restored" },
        { "x-bar-host-disables", offsetof(VFIOPCIBarUR, host_disables),
          "times the device was found not decoding without the guest asking "
          "(a failed mapping, a revoke found by a fault or a SIGBUS)" },
    };
    int i;

    device_class_set_props(DEVICE_CLASS(klass), vfio_pci_bar_ur_properties);
    object_class_property_add_str(klass, "x-bar-fault-policy",
                                  bar_ur_get_fault_policy,
                                  bar_ur_set_fault_policy);
    object_class_property_set_description(klass, "x-bar-fault-policy",
        "What a memory fault on a BAR the guest has enabled does: 'ur' "
        "(default) answers Unsupported Request until the guest enables the "
        "device again and it decodes, 'stop' stops the VM");
    object_class_property_set_description(klass, "x-bar-unmap-first",
        "Drop the BAR mappings before forwarding a config write that stops "
        "memory decoding (experimental; off exercises the fault path)");
    for (i = 0; i < ARRAY_SIZE(counters); i++) {
        object_class_property_add(klass, counters[i].name, "uint64",
                                  bar_ur_get_counter, NULL, NULL,
                                  (void *)counters[i].offset);
        object_class_property_set_description(klass, counters[i].name,
                                              counters[i].desc);
    }
}

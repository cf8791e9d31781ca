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
 * after.  While the device does not decode, one all-ones region per memory
 * BAR answers every access like a root complex does for an Unsupported
 * Request: on top of the BAR's container (over the mmaps, the slow path,
 * quirks and the MSI-X table) and, while the PCI core has the BAR unmapped,
 * aliased at its programmed address.  All of it changes in one memory
 * transaction per config write, committed before a disabling write reaches
 * the device.
 *
 * An access dispatched on a flatview from before that commit waits for the
 * BQL behind the config write and runs after it: the slow path and the
 * mmap ops check the device state for that case (see below).  A quirk or
 * the MSI-X table reached that way acts as the access would have had it
 * landed before the disable, which is what it raced.
 *
 * Copyright (c) 2026 vfio-bar-ur developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "qemu/sigbus-guard.h"
#include "qemu/timer.h"
#include "qemu/units.h"
#include "hw/core/cpu.h"
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

    /* Config writes change the answer under the BQL. */
    assert(bql_locked());

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

/*
 * Guest accesses while the device does not decode: at most one log line per
 * disabled period, and one a minute per device, with -d guest_errors.
 */
static bool bar_ur_should_log(VFIOPCIDevice *vdev)
{
    int64_t now = qemu_clock_get_ms(QEMU_CLOCK_REALTIME);
    VFIOPCIBarUR *ur = &vdev->bar_ur;

    if (ur->logged || (ur->last_log_ms && now - ur->last_log_ms < 60000)) {
        return false;
    }
    ur->logged = true;
    ur->last_log_ms = now;
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
    if (bar_ur_should_log(vdev)) {
        qemu_log_mask(LOG_GUEST_ERROR, "vfio %s: guest accessed BAR %d while "
                      "the device does not decode memory; answering as "
                      "Unsupported Request\n", vdev->vbasedev.name, nr);
    }
}

typedef struct VFIOPCIBarURRegion VFIOPCIBarURRegion;

static uint64_t bar_ur_region_read(void *opaque, hwaddr addr, unsigned size)
{
    VFIOPCIBarURRegion *u = opaque;

    bar_ur_count(u->vdev, u->nr, false, addr, 0, size);
    return ur_ones(size);
}

static void bar_ur_region_write(void *opaque, hwaddr addr, uint64_t data,
                                unsigned size)
{
    VFIOPCIBarURRegion *u = opaque;

    bar_ur_count(u->vdev, u->nr, true, addr, data, size);
}

/* .impl as .valid: one access, one count, whatever its size */
static const MemoryRegionOps bar_ur_region_ops = {
    .read = bar_ur_region_read,
    .write = bar_ur_region_write,
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

/*
 * Where the background of an unmapped BAR goes: its programmed address, or
 * PCI_BAR_UNMAPPED.  A sizing write leaves every address bit of the low
 * dword set: no background then, so that sizing does not rebuild the
 * flatview (a BAR really placed at the top of a 4 GiB boundary loses its
 * background while disabled, and reads 0 there).
 */
static pcibus_t bar_background_addr(PCIDevice *pdev, int nr)
{
    PCIIORegion *r = &pdev->io_regions[nr];
    pcibus_t addr = pci_bar_programmed_address(pdev, nr, r->type, r->size);

    if (addr != PCI_BAR_UNMAPPED && r->size < 4 * GiB &&
        (uint32_t)(addr | (r->size - 1)) == UINT32_MAX) {
        return PCI_BAR_UNMAPPED;
    }
    return addr;
}

static void bar_background_place(VFIOPCIDevice *vdev, int nr, pcibus_t addr)
{
    PCIIORegion *r = &PCI_DEVICE(vdev)->io_regions[nr];
    VFIOPCIBarUR *ur = &vdev->bar_ur;

    if (ur->background_addr[nr] == addr) {
        return;
    }
    if (ur->background_addr[nr] != PCI_BAR_UNMAPPED) {
        memory_region_del_subregion(r->address_space, &ur->background[nr]);
    }
    ur->background_addr[nr] = addr;
    if (addr != PCI_BAR_UNMAPPED) {
        /* Below everything: never shadow RAM or another device's BAR. */
        memory_region_add_subregion_overlap(r->address_space, addr,
                                            &ur->background[nr], INT_MIN);
    }
    trace_vfio_pci_bar_ur_background(vdev->vbasedev.name, nr, addr);
}

/*
 * Is memory BAR @nr mapped by the PCI core beyond the guest-physical
 * addresses the CPUs can reach?  No access can reach it there, and KVM
 * would refuse its memslot.  The bus address is the guest-physical one on
 * the targets that report the width (x86).
 */
static bool bar_out_of_reach(PCIDevice *pdev, int nr)
{
    PCIIORegion *r = &pdev->io_regions[nr];
    unsigned bits = first_cpu ? cpu_get_phys_addr_bits(first_cpu) : 0;

    return r->addr != PCI_BAR_UNMAPPED && bits && bits < 64 &&
           r->addr + (r->size - 1) >= 1ULL << bits;
}

/*
 * A BAR out of reach is not mapped, as if the device did not decode it:
 * its Unsupported Request region covers it, so the flatview holds no RAM
 * there.  It reads back as written, and moving it back maps it again.
 * The guest did it, perhaps by mistake: one warning per device.
 */
static bool bar_ur_check_reach(VFIOPCIDevice *vdev, int nr)
{
    PCIDevice *pdev = PCI_DEVICE(vdev);
    VFIOPCIBarUR *ur = &vdev->bar_ur;
    bool out = bar_out_of_reach(pdev, nr);

    if (out && !(ur->out_of_reach & BIT(nr))) {
        ur->out_of_reach_count++;
        trace_vfio_pci_bar_ur_out_of_reach(vdev->vbasedev.name, nr,
                                           pdev->io_regions[nr].addr);
        if (!ur->warned_out_of_reach) {
            ur->warned_out_of_reach = true;
            warn_report("vfio %s: the guest placed BAR %d at 0x%" PRIx64
                        ", beyond the %u-bit guest-physical address space; "
                        "it is not mapped there and answers as Unsupported "
                        "Request until moved back", vdev->vbasedev.name, nr,
                        (uint64_t)pdev->io_regions[nr].addr,
                        cpu_get_phys_addr_bits(first_cpu));
        }
    }
    ur->out_of_reach = out ? ur->out_of_reach | BIT(nr)
                           : ur->out_of_reach & ~BIT(nr);
    return out;
}

/*
 * Bring the Unsupported Request regions in line with the device state:
 * while it does not decode, each memory BAR answers all-ones from the top
 * of its container (over the mmaps, the slow path, quirks and the MSI-X
 * table), and a BAR that QEMU has unmapped (Command.MEM clear, not in D0)
 * does so from its programmed address too, where the access would hit
 * unassigned memory and read 0.  A BAR mapped out of reach answers from
 * the top of its container whatever the device state.  Inside the
 * caller's memory transaction.
 */
static void bar_ur_update(VFIOPCIDevice *vdev)
{
    PCIDevice *pdev = PCI_DEVICE(vdev);
    bool decodes = vfio_pci_bar_ur_decodes(vdev);
    int nr;

    for (nr = 0; nr < PCI_ROM_SLOT; nr++) {
        pcibus_t addr = PCI_BAR_UNMAPPED;
        bool out_of_reach;

        if (!vdev->bar_ur.region[nr]) {
            continue;
        }
        out_of_reach = bar_ur_check_reach(vdev, nr);
        memory_region_set_enabled(vdev->bar_ur.region[nr],
                                  !decodes || out_of_reach);
        if (!decodes && pdev->io_regions[nr].addr == PCI_BAR_UNMAPPED) {
            addr = bar_background_addr(pdev, nr);
        }
        bar_background_place(vdev, nr, addr);
    }
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
    vdev->bar_ur.logged = false;
    vdev->bar_ur.restores++;
    /* A pending INTx keeps the mmaps off; its timer brings them back. */
    if (!vdev->intx.pending) {
        vfio_mmap_set_enabled(vdev, true);
    }
    trace_vfio_pci_bar_ur_restore(vdev->vbasedev.name);
}

/*
 * The BARs' backing went away without the guest asking (a failed mapping,
 * a host-side reset or power transition): answer Unsupported Request until
 * the guest enables the device again and the device agrees.  One warning
 * for the operator per such change, at most one a minute.
 */
void vfio_pci_bar_ur_revoked(VFIOPCIDevice *vdev, bool by_device)
{
    VFIOPCIBarUR *ur = &vdev->bar_ur;
    int64_t now = qemu_clock_get_ms(QEMU_CLOCK_REALTIME);

    if (by_device && !ur->host_disabled) {
        ur->host_disabled = true;
        ur->host_disables++;
        if (!ur->last_warn_ms || now - ur->last_warn_ms >= 60000) {
            ur->last_warn_ms = now;
            warn_report("vfio %s: the device stopped decoding its BARs "
                        "without the guest asking; answering as Unsupported "
                        "Request until the guest enables it again",
                        vdev->vbasedev.name);
        }
    }
    memory_region_transaction_begin();
    if (!ur->mmaps_off) {
        bar_ur_unmap(vdev);
    }
    bar_ur_update(vdev);
    memory_region_transaction_commit();
}

/*
 * Called before a config write reaches the device, with the BQL held.
 * Opens the memory transaction that vfio_pci_bar_ur_write_end() commits,
 * so that the BARs' mappings and their Unsupported Request regions change
 * in one step.  Returns true if the write stops decoding: then the caller
 * updates QEMU's view first, calls vfio_pci_bar_ur_write_commit() and only
 * then forwards the write to the device.
 */
bool vfio_pci_bar_ur_write_begin(VFIOPCIDevice *vdev, uint32_t addr,
                                 uint32_t val, int len)
{
    memory_region_transaction_begin();
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
 * For a write that stops decoding: QEMU's view is updated (the BAR moved or
 * unmapped by the PCI core), so put the Unsupported Request regions in
 * place and commit, before the device sees the write.  A vCPU then finds
 * either the old BAR or the all-ones regions, never unassigned memory in
 * between.
 */
void vfio_pci_bar_ur_write_commit(VFIOPCIDevice *vdev)
{
    bar_ur_update(vdev);
    memory_region_transaction_commit();
    memory_region_transaction_begin();
}

/*
 * Called after a config write was handled.  Brings the fast path back if
 * the device decodes again (only if the write really reached the device:
 * a device that did not take the write stays on the slow path), drops it if
 * the device stopped decoding without the unmap-first ordering, and moves
 * the Unsupported Request regions; then commits.
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
    bar_ur_update(vdev);
    memory_region_transaction_commit();
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
 * A BAR access the device refused with -EIO: vfio-pci does that while the
 * device does not decode, which the host may have decided behind our back,
 * but so may a failing vfio-user server.  Counted, and said once per
 * device; returns true if reported here, and the caller answers all-ones
 * or drops the write.
 */
bool vfio_pci_bar_ur_region_failed(VFIORegion *region, int ret)
{
    VFIOPCIDevice *vdev = bar_region_device(region);

    if (!vdev || ret != -EIO) {
        return false;
    }
    if (!vdev->bar_ur.device_refusals++) {
        warn_report("vfio %s: BAR %d access failed (%s): answering as "
                    "Unsupported Request; further refusals are counted in "
                    "x-bar-device-refusals", vdev->vbasedev.name, region->nr,
                    strerror(-ret));
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
 * memslot, and, while the device does not decode, not at all: the
 * Unsupported Request region covers it.  QEMU reaches it through these ops
 * for DMA, the monitor, and a vCPU access that exited as MMIO and was
 * dispatched on a flatview published before that region was enabled.  Such
 * an access waits for the BQL behind the config write that disables the
 * device and runs after the device saw the write, when the mapping may be
 * revoked: so check the device state first, under the BQL, and catch the
 * SIGBUS of a mapping the host revoked behind our back.
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

/*
 * Each memory BAR gets its Unsupported Request region, on top of the BAR's
 * container and enabled while the device does not decode, and an alias of
 * it that goes to the BAR's programmed address while the PCI core has the
 * BAR unmapped.
 */
void vfio_pci_bar_ur_realize(VFIOPCIDevice *vdev)
{
    VFIOPCIBarUR *ur = &vdev->bar_ur;
    int nr;

    for (nr = 0; nr < PCI_ROM_SLOT; nr++) {
        VFIOBAR *bar = &vdev->bars[nr];
        g_autofree char *name = NULL;

        ur->background_addr[nr] = PCI_BAR_UNMAPPED;
        if (!bar->mr || bar->ioport) {
            continue;
        }
        ur->opaque[nr].vdev = vdev;
        ur->opaque[nr].nr = nr;
        name = g_strdup_printf("%s BAR %d unsupported-request",
                               vdev->vbasedev.name, nr);
        ur->region[nr] = g_new0(MemoryRegion, 1);
        memory_region_init_io(ur->region[nr], OBJECT(vdev), &bar_ur_region_ops,
                              &ur->opaque[nr], name, bar->size);
        memory_region_set_enabled(ur->region[nr],
                                  !vfio_pci_bar_ur_decodes(vdev));
        memory_region_add_subregion_overlap(bar->mr, 0, ur->region[nr],
                                            INT_MAX);
        g_free(name);
        name = g_strdup_printf("%s BAR %d unsupported-request background",
                               vdev->vbasedev.name, nr);
        memory_region_init_alias(&ur->background[nr], OBJECT(vdev), name,
                                 ur->region[nr], 0, bar->size);
    }
}

/*
 * The device was reset (vfio_pci_post_reset()): it decodes nothing, and
 * the PCI core is about to zero the BARs (pci_do_device_reset()) without
 * a config write, so no background may stay at the old addresses.
 */
void vfio_pci_bar_ur_reset(VFIOPCIDevice *vdev)
{
    int nr;

    vdev->bar_ur.flr_pending = false;
    vdev->bar_ur.host_disabled = false;
    memory_region_transaction_begin();
    for (nr = 0; nr < PCI_ROM_SLOT; nr++) {
        if (vdev->bar_ur.region[nr]) {
            bar_background_place(vdev, nr, PCI_BAR_UNMAPPED);
        }
    }
    memory_region_transaction_commit();
}

void vfio_pci_bar_ur_exit(VFIOPCIDevice *vdev)
{
    vfio_pci_bar_ur_reset(vdev);
}

/* Like the BARs' own regions, freed only once no flatview can hold them. */
void vfio_pci_bar_ur_finalize(VFIOPCIDevice *vdev)
{
    int nr;

    for (nr = 0; nr < PCI_ROM_SLOT; nr++) {
        if (vdev->bar_ur.region[nr]) {
            object_unparent(OBJECT(&vdev->bar_ur.background[nr]));
            object_unparent(OBJECT(vdev->bar_ur.region[nr]));
            g_free(vdev->bar_ur.region[nr]);
            vdev->bar_ur.region[nr] = NULL;
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
        { "x-bar-device-refusals", offsetof(VFIOPCIBarUR, device_refusals),
          "BAR accesses the device refused with EIO" },
        { "x-bar-out-of-reach", offsetof(VFIOPCIBarUR, out_of_reach_count),
          "times the guest placed a BAR beyond the guest-physical address "
          "space (left unmapped, Unsupported Request)" },
        { "x-bar-host-disables", offsetof(VFIOPCIBarUR, host_disables),
          "times the device was found not decoding without the guest asking "
          "(a failed mapping, a revoke found by a fault or a SIGBUS)" },
    };
    int i;

    device_class_set_props(DEVICE_CLASS(klass), vfio_pci_bar_ur_properties);
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

/*
 * vfio PCI: BARs of a device that does not decode memory behave as an
 * Unsupported Request (reads all-ones, writes dropped).
 *
 * Copyright (c) 2026 vfio-bar-ur developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VFIO_PCI_BAR_UR_H
#define HW_VFIO_PCI_BAR_UR_H

#include "hw/pci/pci.h"
#include "hw/vfio/vfio-region.h"

typedef struct VFIOPCIDevice VFIOPCIDevice;

typedef struct VFIOPCIBarUR {
    /* x-bar-unmap-first: drop the fast path before forwarding a disable */
    bool unmap_first;
    /* the BAR mmaps are disabled by us: the device does not decode */
    bool mmaps_off;
    /* the device did not decode after an FLR: until Command.MEM is set */
    bool flr_pending;
    /* the device stopped decoding without the guest asking */
    bool host_disabled;
    /* guest accesses while disabled: one log line per disabled period */
    bool logged;
    int64_t last_log_ms;
    /* operator warnings on host-side disables: at most one a minute */
    int64_t last_warn_ms;
    /* BARs placed beyond the guest-physical address space, by number */
    uint32_t out_of_reach;
    bool warned_out_of_reach;
    /*
     * Per memory BAR: all-ones on top of the BAR's container, enabled while
     * the device does not decode, and its alias at the BAR's programmed
     * address while the PCI core has the BAR unmapped.
     */
    MemoryRegion *region[PCI_ROM_SLOT];
    struct VFIOPCIBarURRegion {
        VFIOPCIDevice *vdev;
        int nr;
    } opaque[PCI_ROM_SLOT];
    MemoryRegion background[PCI_ROM_SLOT];
    pcibus_t background_addr[PCI_ROM_SLOT];

    uint64_t ur_reads;
    uint64_t ur_writes;
    uint64_t unmaps;
    uint64_t restores;
    uint64_t host_disables;
    uint64_t device_refusals;
    uint64_t out_of_reach_count;
} VFIOPCIBarUR;

bool vfio_pci_bar_ur_decodes(VFIOPCIDevice *vdev);
int vfio_pci_bar_ur_device_decodes(VFIOPCIDevice *vdev, uint16_t *cmd,
                                   uint16_t *pmcsr);
void vfio_pci_bar_ur_revoked(VFIOPCIDevice *vdev, bool by_device);
int vfio_pci_bar_ur_mmap_bar(VFIOPCIDevice *vdev, MemoryRegion *mr);
bool vfio_pci_bar_ur_write_begin(VFIOPCIDevice *vdev, uint32_t addr,
                                 uint32_t val, int len);
void vfio_pci_bar_ur_write_commit(VFIOPCIDevice *vdev);
void vfio_pci_bar_ur_write_end(VFIOPCIDevice *vdev, uint32_t addr,
                               uint32_t val, int len, bool forwarded);
bool vfio_pci_bar_ur_mmaps_blocked(VFIOPCIDevice *vdev);
bool vfio_pci_bar_ur_region_read(VFIORegion *region, hwaddr addr,
                                 unsigned size, uint64_t *data);
bool vfio_pci_bar_ur_region_write(VFIORegion *region, hwaddr addr,
                                  uint64_t data, unsigned size);
bool vfio_pci_bar_ur_region_failed(VFIORegion *region, int ret);
void vfio_pci_bar_ur_guard_mmap(VFIORegion *region, MemoryRegion *mr);
void vfio_pci_bar_ur_realize(VFIOPCIDevice *vdev);
void vfio_pci_bar_ur_reset(VFIOPCIDevice *vdev);
void vfio_pci_bar_ur_exit(VFIOPCIDevice *vdev);
void vfio_pci_bar_ur_finalize(VFIOPCIDevice *vdev);
void vfio_pci_bar_ur_class_init(ObjectClass *klass);

#endif /* HW_VFIO_PCI_BAR_UR_H */

/*
 * vfio PCI BAR Unsupported Request: stubs for targets with vfio but
 * without vfio PCI (s390x with only vfio-ap and vfio-ccw).  region.c is
 * built once for all targets and asks about PCI BARs; there are none.
 *
 * Copyright (c) 2026 vfio-bar-ur developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "pci-bar-ur.h"

bool vfio_pci_bar_ur_region_read(VFIORegion *region, hwaddr addr,
                                 unsigned size, uint64_t *data)
{
    return false;
}

bool vfio_pci_bar_ur_region_write(VFIORegion *region, hwaddr addr,
                                  uint64_t data, unsigned size)
{
    return false;
}

bool vfio_pci_bar_ur_region_failed(VFIORegion *region, int ret)
{
    return false;
}

void vfio_pci_bar_ur_guard_mmap(VFIORegion *region, MemoryRegion *mr)
{
}

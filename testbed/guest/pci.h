/*
 * stress-guest: PCI configuration mechanism #1 (ports 0xcf8/0xcfc).
 *
 * Copyright (c) 2026 vfio-bar-ur developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef STRESS_PCI_H
#define STRESS_PCI_H

#include "x86.h"

#define PCI_VENDOR_ID           0x00
#define PCI_DEVICE_ID           0x02
#define PCI_COMMAND             0x04
#define  PCI_COMMAND_IO         0x0001
#define  PCI_COMMAND_MEMORY     0x0002
#define  PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS              0x06
#define  PCI_STATUS_CAP_LIST    0x0010
#define PCI_HEADER_TYPE         0x0e
#define PCI_BASE_ADDRESS_0      0x10
#define  PCI_BASE_ADDRESS_SPACE_IO   0x01
#define  PCI_BASE_ADDRESS_MEM_TYPE_64 0x04
#define  PCI_BASE_ADDRESS_MEM_MASK  (~0x0fU)
#define PCI_SECONDARY_BUS       0x19
#define PCI_ROM_ADDRESS         0x30
#define PCI_CAPABILITY_LIST     0x34

#define PCI_CAP_ID_PM           0x01
#define  PCI_PM_CTRL            4
#define   PCI_PM_CTRL_STATE_MASK 0x0003
#define   PCI_PM_CTRL_NO_SOFT_RESET 0x0008
#define   PCI_PM_CTRL_PME_STATUS 0x8000
#define PCI_CAP_ID_EXP          0x10
#define  PCI_EXP_DEVCAP         4
#define   PCI_EXP_DEVCAP_FLR    (1U << 28)
#define  PCI_EXP_DEVCTL         8
#define   PCI_EXP_DEVCTL_BCR_FLR 0x8000

#define PCI_NUM_BARS            6

struct pci_dev {
    u8 bus, dev, fn;
    u16 vendor, device;
};

struct pci_bar {
    unsigned index;
    bool is64;
    u64 addr;
    u64 size;
};

u32 pci_read32(const struct pci_dev *d, u8 off);
u16 pci_read16(const struct pci_dev *d, u8 off);
u8 pci_read8(const struct pci_dev *d, u8 off);
void pci_write32(const struct pci_dev *d, u8 off, u32 v);
void pci_write16(const struct pci_dev *d, u8 off, u16 v);

/* The device at bus:dev.fn, if one answers there. */
bool pci_probe(u8 bus, u8 dev, u8 fn, struct pci_dev *out);
/* The first vendor:device in depth-first order below bus 0. */
bool pci_find(u16 vendor, u16 device, struct pci_dev *out);

void pci_cmd_set_clr(const struct pci_dev *d, u16 set, u16 clr);
/* Offset of capability cap_id in the standard list, 0 if absent. */
u8 pci_find_cap(const struct pci_dev *d, u8 cap_id);

/*
 * Decode memory BAR n (n < 0: the first memory BAR) including its size.
 * Sizing writes all-ones to the BAR, so memory decoding is off meanwhile.
 */
bool pci_bar_probe(const struct pci_dev *d, int n, struct pci_bar *bar);

#endif /* STRESS_PCI_H */

/*
 * stress-guest: PCI configuration mechanism #1 (ports 0xcf8/0xcfc).
 *
 * Used from CPL3 through the I/O bitmap in CPU 0's TSS.  Only the BSP
 * touches configuration space,
 * so the address/data port pair needs no lock.
 *
 * Copyright (c) 2026 vfio-bar-ur developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "pci.h"

#define PCI_CONF_ADDR   0xcf8
#define PCI_CONF_DATA   0xcfc

static void pci_select(const struct pci_dev *d, u8 off)
{
    outl(PCI_CONF_ADDR, 0x80000000U | (u32)d->bus << 16 | (u32)d->dev << 11 |
                        (u32)d->fn << 8 | (off & 0xfc));
}

u32 pci_read32(const struct pci_dev *d, u8 off)
{
    pci_select(d, off);
    return inl(PCI_CONF_DATA);
}

u16 pci_read16(const struct pci_dev *d, u8 off)
{
    pci_select(d, off);
    return inw(PCI_CONF_DATA + (off & 2));
}

u8 pci_read8(const struct pci_dev *d, u8 off)
{
    pci_select(d, off);
    return inb(PCI_CONF_DATA + (off & 3));
}

void pci_write32(const struct pci_dev *d, u8 off, u32 v)
{
    pci_select(d, off);
    outl(PCI_CONF_DATA, v);
}

void pci_write16(const struct pci_dev *d, u8 off, u16 v)
{
    pci_select(d, off);
    outw(PCI_CONF_DATA + (off & 2), v);
}

bool pci_probe(u8 bus, u8 dev, u8 fn, struct pci_dev *out)
{
    struct pci_dev d = { .bus = bus, .dev = dev, .fn = fn };
    u32 id = pci_read32(&d, PCI_VENDOR_ID);

    if ((id & 0xffff) == 0xffff) {
        return false;
    }
    d.vendor = id & 0xffff;
    d.device = id >> 16;
    *out = d;
    return true;
}

static bool pci_scan_bus(u8 bus, u16 vendor, u16 device, struct pci_dev *out,
                         unsigned depth)
{
    for (u8 dev = 0; dev < 32; dev++) {
        for (u8 fn = 0; fn < 8; fn++) {
            struct pci_dev d;
            u8 hdr;

            if (!pci_probe(bus, dev, fn, &d)) {
                if (fn == 0) {
                    break;
                }
                continue;
            }
            if (d.vendor == vendor && d.device == device) {
                *out = d;
                return true;
            }
            hdr = pci_read8(&d, PCI_HEADER_TYPE);
            /* A bridge: look behind it (bounded, in case of a bad loop). */
            if ((hdr & 0x7f) == 1 && depth < 16) {
                u8 sec = pci_read8(&d, PCI_SECONDARY_BUS);

                if (sec > bus &&
                    pci_scan_bus(sec, vendor, device, out, depth + 1)) {
                    return true;
                }
            }
            if (fn == 0 && !(hdr & 0x80)) {
                break;                  /* not multi-function */
            }
        }
    }
    return false;
}

bool pci_find(u16 vendor, u16 device, struct pci_dev *out)
{
    return pci_scan_bus(0, vendor, device, out, 0);
}

void pci_cmd_set_clr(const struct pci_dev *d, u16 set, u16 clr)
{
    u16 cmd = pci_read16(d, PCI_COMMAND);

    pci_write16(d, PCI_COMMAND, (cmd & ~clr) | set);
}

u8 pci_find_cap(const struct pci_dev *d, u8 cap_id)
{
    u8 pos;

    if (!(pci_read16(d, PCI_STATUS) & PCI_STATUS_CAP_LIST)) {
        return 0;
    }
    pos = pci_read8(d, PCI_CAPABILITY_LIST) & 0xfc;
    /* At most 48 capabilities fit in 192 bytes: stop on a looping list. */
    for (unsigned n = 0; pos >= 0x40 && n < 48; n++) {
        u16 hdr = pci_read16(d, pos);

        if ((hdr & 0xff) == cap_id) {
            return pos;
        }
        pos = (hdr >> 8) & 0xfc;
    }
    return 0;
}

bool pci_bar_probe(const struct pci_dev *d, int n, struct pci_bar *bar)
{
    u16 cmd = pci_read16(d, PCI_COMMAND);
    unsigned i;
    bool mem = false;
    u8 off;
    u32 lo = 0, hi = 0, size_lo, size_hi = 0;

    /* Walk from BAR0: the upper half of a 64-bit BAR is not a BAR. */
    for (i = 0; i < PCI_NUM_BARS; i++) {
        lo = pci_read32(d, PCI_BASE_ADDRESS_0 + 4 * i);
        mem = !(lo & PCI_BASE_ADDRESS_SPACE_IO);
        if ((n < 0 && mem) || i == (unsigned)n) {
            break;
        }
        if (mem && (lo & PCI_BASE_ADDRESS_MEM_TYPE_64)) {
            i++;
        }
    }
    if (i >= PCI_NUM_BARS || !mem) {
        return false;
    }
    off = PCI_BASE_ADDRESS_0 + 4 * i;
    bar->index = i;
    bar->is64 = lo & PCI_BASE_ADDRESS_MEM_TYPE_64;
    if (bar->is64 && i + 1 >= PCI_NUM_BARS) {
        return false;
    }

    pci_write16(d, PCI_COMMAND, cmd & ~PCI_COMMAND_MEMORY);
    pci_write32(d, off, ~0U);
    size_lo = pci_read32(d, off);
    pci_write32(d, off, lo);
    if (bar->is64) {
        hi = pci_read32(d, off + 4);
        pci_write32(d, off + 4, ~0U);
        size_hi = pci_read32(d, off + 4);
        pci_write32(d, off + 4, hi);
    }
    pci_write16(d, PCI_COMMAND, cmd);

    bar->addr = ((u64)hi << 32) | (lo & PCI_BASE_ADDRESS_MEM_MASK);
    /* A 32-bit BAR sizes as if its upper half were all-ones. */
    if (!bar->is64) {
        size_hi = ~0U;
    }
    size_lo &= PCI_BASE_ADDRESS_MEM_MASK;
    bar->size = ~((u64)size_hi << 32 | size_lo) + 1;
    return bar->size != 0;
}

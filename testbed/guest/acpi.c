/*
 * stress-guest: the CPU count from the ACPI MADT.
 *
 * The tables are in RAM below 4 GiB, which is identity-mapped.
 *
 * Copyright (c) 2026 vfio-bar-ur developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "acpi.h"
#include "lib.h"

#define MADT_LOCAL_APIC         0
#define MADT_LOCAL_X2APIC       9
#define MADT_ENABLED            1

struct rsdp {
    char signature[8];
    u8 checksum;
    char oem_id[6];
    u8 revision;
    u32 rsdt;
    u32 length;
    u64 xsdt;
} __attribute__((packed));

struct sdt_header {
    char signature[4];
    u32 length;
    u8 revision;
    u8 checksum;
    char oem_id[6];
    char oem_table_id[8];
    u32 oem_revision;
    u32 creator_id;
    u32 creator_revision;
} __attribute__((packed));

static const struct sdt_header *find_table(const struct rsdp *rsdp,
                                           const char *sig)
{
    bool x = rsdp->revision >= 2 && rsdp->xsdt;
    const struct sdt_header *root = (const void *)(x ? rsdp->xsdt : rsdp->rsdt);
    unsigned width = x ? 8 : 4;
    const u8 *entries = (const u8 *)(root + 1);
    unsigned n = (root->length - sizeof(*root)) / width;

    for (unsigned i = 0; i < n; i++) {
        u64 p = 0;

        memcpy(&p, entries + i * width, width);
        if (p && !strncmp(((const struct sdt_header *)p)->signature, sig, 4)) {
            return (const void *)p;
        }
    }
    return NULL;
}

unsigned acpi_count_cpus(u64 rsdp_paddr)
{
    const struct rsdp *rsdp = (const void *)rsdp_paddr;
    const struct sdt_header *madt;
    const u8 *p, *end;
    unsigned n = 0;

    if (!rsdp || strncmp(rsdp->signature, "RSD PTR ", 8)) {
        return 0;
    }
    madt = find_table(rsdp, "APIC");
    if (!madt) {
        return 0;
    }
    /* Subtables follow the header, the LAPIC address and the flags. */
    p = (const u8 *)(madt + 1) + 8;
    end = (const u8 *)madt + madt->length;
    while (p + 2 <= end && p[1] >= 2) {
        u32 flags;

        if (p[0] == MADT_LOCAL_APIC && p[1] >= 8) {
            memcpy(&flags, p + 4, 4);
            n += flags & MADT_ENABLED;
        } else if (p[0] == MADT_LOCAL_X2APIC && p[1] >= 16) {
            memcpy(&flags, p + 8, 4);
            n += flags & MADT_ENABLED;
        }
        p += p[1];
    }
    return n;
}

/*
 * stress-guest: the CPU count from the ACPI MADT.
 *
 * Copyright (c) 2026 vfio-bar-ur developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef STRESS_ACPI_H
#define STRESS_ACPI_H

#include "x86.h"

/* Enabled local APICs in the MADT found through the RSDP; 0 if none. */
unsigned acpi_count_cpus(u64 rsdp_paddr);

#endif /* STRESS_ACPI_H */

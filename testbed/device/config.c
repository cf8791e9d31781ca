/*
 * vfio-user test device: PCI configuration space.
 *
 * The config region is registered with VFU_REGION_FLAG_ALWAYS_CB, so every
 * config access lands in config_access() and libvfio-user's own header and
 * capability handlers (lib/pci.c, lib/pci_caps.c) never run.  Those handlers
 * would not do here: they update Command and PMCSR without telling the device,
 * which must revoke its BAR memory right when either write arrives; they
 * ignore writes to the upper half of a 64-bit BAR; and they fail Command
 * writes that set Parity Error Response.  Instead the device keeps config
 * space in the buffer libvfio-user allocated and applies writes through a
 * per-byte write mask, the way QEMU's PCIDevice does, then acts on the
 * registers with side effects.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <endian.h>
#include <string.h>

#include "testdev.h"

/* No I/O BAR, so Command.IO is hardwired to 0. */
#define COMMAND_WMASK   (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |          \
                         PCI_COMMAND_PARITY | PCI_COMMAND_SERR |            \
                         PCI_COMMAND_INTX_DISABLE)

#define DEVCTL_WMASK    (PCI_EXP_DEVCTL_CERE | PCI_EXP_DEVCTL_NFERE |       \
                         PCI_EXP_DEVCTL_FERE | PCI_EXP_DEVCTL_URRE |        \
                         PCI_EXP_DEVCTL_RELAX_EN | PCI_EXP_DEVCTL_PAYLOAD | \
                         PCI_EXP_DEVCTL_NOSNOOP_EN | PCI_EXP_DEVCTL_READRQ)

#define PM_STATE_D0     0
#define PM_STATE_D3HOT  3

static const char *const pm_state_names[] = { "D0", "D1", "D2", "D3hot" };

static uint16_t cfg_get_word(const Testdev *dev, size_t off)
{
    uint16_t v;

    memcpy(&v, dev->config + off, sizeof(v));
    return le16toh(v);
}

/* Little-endian stores into config space or its write mask. */
static void put_le16(uint8_t *p, uint16_t v)
{
    v = htole16(v);
    memcpy(p, &v, sizeof(v));
}

static void put_le32(uint8_t *p, uint32_t v)
{
    v = htole32(v);
    memcpy(p, &v, sizeof(v));
}

static bool range_covers_byte(size_t off, size_t len, size_t byte)
{
    return off <= byte && byte < off + len;
}

unsigned int config_power_state(const Testdev *dev)
{
    return cfg_get_word(dev, dev->pm_cap + PCI_PM_CTRL) &
           PCI_PM_CTRL_STATE_MASK;
}

static void set_power_state(Testdev *dev, unsigned int state)
{
    size_t pmcsr = dev->pm_cap + PCI_PM_CTRL;

    put_le16(dev->config + pmcsr,
             (cfg_get_word(dev, pmcsr) & ~PCI_PM_CTRL_STATE_MASK) | state);
}

/* Whether the function decodes its memory BAR. */
bool config_mem_enabled(const Testdev *dev)
{
    return (cfg_get_word(dev, PCI_COMMAND) & PCI_COMMAND_MEMORY) &&
           config_power_state(dev) == PM_STATE_D0;
}

/*
 * D1 and D2 are optional, and from a low power state a function may only go
 * deeper or back to D0 (PCI PM 1.2, 5.4.1).  QEMU's pci_pm_update() applies
 * the same rules to its copy of the register.
 */
static bool pm_transition_valid(const Testdev *dev, unsigned int old,
                                unsigned int new)
{
    if ((new == 1 || new == 2) && !dev->pm_d1d2) {
        return false;
    }
    return old == PM_STATE_D0 || new == PM_STATE_D0 || new > old;
}

static void pm_update(Testdev *dev, unsigned int old)
{
    unsigned int new = config_power_state(dev);

    if (new == old) {
        return;
    }
    if (!pm_transition_valid(dev, old, new)) {
        /* The spec has the write complete but change nothing. */
        set_power_state(dev, old);
        return;
    }
    dev->stats.pm_transitions++;
    testdev_log(dev, "power state %s -> %s", pm_state_names[old],
                pm_state_names[new]);
}

static void command_update(Testdev *dev, uint16_t old)
{
    uint16_t new = cfg_get_word(dev, PCI_COMMAND);

    if (!((old ^ new) & PCI_COMMAND_MEMORY)) {
        return;
    }
    if (new & PCI_COMMAND_MEMORY) {
        dev->stats.mem_enables++;
        testdev_log(dev, "Command.MEM set");
    } else {
        dev->stats.mem_disables++;
        testdev_log(dev, "Command.MEM cleared");
    }
}

/*
 * Function reset, for an Initiate FLR write and for VFIO_USER_DEVICE_RESET.
 * Command and the power state return to their reset values, which revokes
 * the BAR memory at once, and the memory contents are lost.  BAR addresses
 * and the other registers keep their values: a real FLR clears the BARs, but
 * Linux saves and restores config space around every function reset
 * (pci_reset_function()), and keeping them lets a test turn decoding back on
 * without reprogramming the BAR.
 */
void config_function_reset(Testdev *dev)
{
    put_le16(dev->config + PCI_COMMAND, 0);
    set_power_state(dev, PM_STATE_D0);
    bar_sync(dev);
    bar_clear(dev);
}

static bool is_flr_write(const Testdev *dev, const uint8_t *buf, size_t count,
                         size_t offset)
{
    size_t flr_byte = dev->exp_cap + PCI_EXP_DEVCTL + 1;

    return range_covers_byte(offset, count, flr_byte) &&
           (buf[flr_byte - offset] & (PCI_EXP_DEVCTL_BCR_FLR >> 8));
}

static void config_write(Testdev *dev, const uint8_t *buf, size_t count,
                         size_t offset)
{
    uint16_t old_command = cfg_get_word(dev, PCI_COMMAND);
    unsigned int old_state = config_power_state(dev);
    size_t i;

    for (i = 0; i < count; i++) {
        uint8_t mask = dev->wmask[offset + i];
        uint8_t *byte = &dev->config[offset + i];

        *byte = (*byte & ~mask) | (buf[i] & mask);
    }

    if (range_covers_byte(offset, count, dev->pm_cap + PCI_PM_CTRL)) {
        pm_update(dev, old_state);
    }
    if (range_covers_byte(offset, count, PCI_COMMAND)) {
        command_update(dev, old_command);
    }
    /* Initiate FLR is not in the write mask: it always reads back 0. */
    if (is_flr_write(dev, buf, count, offset)) {
        uint16_t command = cfg_get_word(dev, PCI_COMMAND);

        dev->stats.flrs++;
        testdev_log(dev, "function level reset");
        config_function_reset(dev);
        /*
         * The host's vfio-pci resets the function inside the guest's write
         * and restores the config it saved (pci_try_reset_function()), so
         * the device decodes again at once, its memory contents lost.
         */
        if (!dev->flr_clears_command) {
            put_le16(dev->config + PCI_COMMAND, command);
        }
    }
    bar_sync(dev);
}

/* libvfio-user has checked that the access lies within config space. */
static ssize_t config_access(vfu_ctx_t *vfu, char *buf, size_t count,
                             loff_t offset, bool is_write)
{
    Testdev *dev = vfu_get_private(vfu);

    if (is_write) {
        dev->stats.config_writes++;
        config_write(dev, (const uint8_t *)buf, count, offset);
    } else {
        dev->stats.config_reads++;
        memcpy(buf, dev->config + offset, count);
    }
    return count;
}

int config_setup_region(Testdev *dev)
{
    if (vfu_pci_init(dev->vfu, VFU_PCI_TYPE_EXPRESS, PCI_HEADER_TYPE_NORMAL,
                     0) < 0) {
        return -1;
    }
    return vfu_setup_region(dev->vfu, VFU_PCI_DEV_CFG_REGION_IDX,
                            PCI_CFG_SPACE_EXP_SIZE, config_access,
                            VFU_REGION_FLAG_RW | VFU_REGION_FLAG_ALWAYS_CB,
                            NULL, 0, -1, 0);
}

static void config_init_header(Testdev *dev)
{
    vfu_pci_set_id(dev->vfu, TESTDEV_VENDOR_ID, TESTDEV_DEVICE_ID,
                   TESTDEV_VENDOR_ID, TESTDEV_DEVICE_ID);
    if (dev->vga) {
        vfu_pci_set_class(dev->vfu, 0x03, 0x00, 0x00);
    } else {
        vfu_pci_set_class(dev->vfu, 0xff, 0x00, 0x00);
    }
    dev->config[PCI_REVISION_ID] = TESTDEV_REVISION;
    put_le16(dev->config + PCI_STATUS, PCI_STATUS_CAP_LIST);

    put_le16(dev->wmask + PCI_COMMAND, COMMAND_WMASK);
    dev->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
    dev->wmask[PCI_INTERRUPT_LINE] = 0xff;
}

/*
 * BAR0 is prefetchable: it is plain memory, reads have no side effects.
 * Sizing works through the write mask: the address bits below the BAR size
 * are read-only zero, so writing all ones reads back the size.
 */
static void config_init_bar(Testdev *dev)
{
    uint64_t addr_mask = ~(dev->bar.size - 1);
    uint32_t type = PCI_BASE_ADDRESS_SPACE_MEMORY |
                    PCI_BASE_ADDRESS_MEM_PREFETCH;
    int i;

    /*
     * vfu_realize_ctx() marked every BAR without a memory region as an I/O
     * BAR, including the upper half of a 64-bit BAR0: start from zero.
     */
    for (i = 0; i < PCI_BARS_NR; i++) {
        put_le32(dev->config + PCI_BASE_ADDRESS_0 + 4 * i, 0);
    }

    if (dev->bar.is_64bit) {
        type |= PCI_BASE_ADDRESS_MEM_TYPE_64;
        put_le32(dev->wmask + PCI_BASE_ADDRESS_1, addr_mask >> 32);
    }
    put_le32(dev->config + PCI_BASE_ADDRESS_0, type);
    put_le32(dev->wmask + PCI_BASE_ADDRESS_0,
                   (uint32_t)addr_mask & PCI_BASE_ADDRESS_MEM_MASK);
}

/*
 * No Soft Reset is set: going from D3hot back to D0 keeps the device state,
 * so a test sees the BAR contents restored after a D3hot round trip.
 */
static int config_add_pm_cap(Testdev *dev)
{
    struct pmcap pm = {
        .hdr.id = PCI_CAP_ID_PM,
        .pc = { .vs = 3, .d1s = dev->pm_d1d2, .d2s = dev->pm_d1d2 },
        .pmcs = { .nsfrst = 1 },
    };
    ssize_t pos = vfu_pci_add_capability(dev->vfu, 0, 0, &pm);

    if (pos < 0) {
        return -1;
    }
    dev->pm_cap = pos;
    put_le16(dev->wmask + pos + PCI_PM_CTRL, PCI_PM_CTRL_STATE_MASK);
    return 0;
}

/* A PCIe v2 endpoint on a x1 2.5GT/s link, advertising FLR. */
static int config_add_exp_cap(Testdev *dev)
{
    struct pxcap px = {
        .hdr.id = PCI_CAP_ID_EXP,
        .pxcaps = { .ver = 2, .dpt = PCI_EXP_TYPE_ENDPOINT },
        .pxdcap = { .rer = 1, .flrc = 1 },
        .pxlcap.stuff = PCI_EXP_LNKCAP_SLS_2_5GB | (1 << 4),
        .pxls.stuff = PCI_EXP_LNKSTA_CLS_2_5GB | PCI_EXP_LNKSTA_NLW_X1,
    };
    ssize_t pos = vfu_pci_add_capability(dev->vfu, 0, 0, &px);

    if (pos < 0) {
        return -1;
    }
    dev->exp_cap = pos;
    put_le16(dev->wmask + pos + PCI_EXP_DEVCTL, DEVCTL_WMASK);
    return 0;
}

/* MSI-X with its table and PBA in BAR0; QEMU emulates both. */
static int config_add_msix_cap(Testdev *dev)
{
    struct msixcap msix = {
        .hdr.id = PCI_CAP_ID_MSIX,
        .mxc = { .ts = TESTDEV_MSIX_VECTORS - 1 },
        .mtab = { .tbir = 0, .to = TESTDEV_MSIX_TABLE_OFFSET >> 3 },
        .mpba = { .pbir = 0, .pbao = TESTDEV_MSIX_PBA_OFFSET >> 3 },
    };
    ssize_t pos = vfu_pci_add_capability(dev->vfu, 0, 0, &msix);

    if (pos < 0) {
        return -1;
    }
    dev->msix_cap = pos;
    put_le16(dev->wmask + pos + PCI_MSIX_FLAGS,
             PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
    return 0;
}

/*
 * Lay out config space.  Must run after vfu_realize_ctx(), which rewrites
 * parts of the header (see config_init_bar()).
 */
int config_init(Testdev *dev)
{
    dev->config = (uint8_t *)vfu_pci_get_config_space(dev->vfu);

    config_init_header(dev);
    config_init_bar(dev);
    if (config_add_pm_cap(dev) < 0 || config_add_exp_cap(dev) < 0 ||
        (dev->msix && config_add_msix_cap(dev) < 0)) {
        return -1;
    }
    return 0;
}

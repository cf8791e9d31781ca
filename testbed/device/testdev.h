/*
 * vfio-user test device: shared definitions.
 *
 * The device is a single-threaded libvfio-user server: the event loop in
 * vfio-user-testdev.c serves the vfio-user client and the control socket, so
 * none of the state below needs locking.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TESTDEV_H
#define TESTDEV_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libvfio-user.h"

#define TESTDEV_NAME        "vfio-user-testdev"
#define TESTDEV_VENDOR_ID   0x1234
#define TESTDEV_DEVICE_ID   0x7ee0

/* --msix: vectors, and where the table and the PBA are in BAR0 */
#define TESTDEV_MSIX_VECTORS        4
#define TESTDEV_MSIX_TABLE_OFFSET   0x100000
#define TESTDEV_MSIX_PBA_OFFSET     0x101000
#define TESTDEV_REVISION    0x01

/*
 * Everything that reached the device.  One list drives both the struct and
 * the JSON the control socket and the stats file report.
 */
#define TESTDEV_COUNTERS(X) \
    X(config_reads)         \
    X(config_writes)        \
    X(bar_reads_enabled)    \
    X(bar_writes_enabled)   \
    X(bar_reads_disabled)   \
    X(bar_writes_disabled)  \
    X(revokes)              \
    X(restores)             \
    X(mem_enables)          \
    X(mem_disables)         \
    X(pm_transitions)       \
    X(flrs)                 \
    X(device_resets)        \
    X(host_resets)

typedef struct TestdevStats {
#define TESTDEV_COUNTER_FIELD(name) uint64_t name;
    TESTDEV_COUNTERS(TESTDEV_COUNTER_FIELD)
#undef TESTDEV_COUNTER_FIELD
} TestdevStats;

/* BAR0: plain memory, backed by a memfd that the client maps. */
typedef struct TestdevBar {
    int fd;
    uint64_t size;
    bool is_64bit;
    /* Device memory contents while the memfd is truncated. */
    uint8_t *shadow;
    /* The memfd is truncated: every mapping of it faults (SIGBUS/EFAULT). */
    bool revoked;
} TestdevBar;

typedef struct Testdev {
    vfu_ctx_t *vfu;
    /* Config space: the buffer libvfio-user allocated in vfu_pci_init(). */
    uint8_t *config;
    /* Bits of each config space byte the client may change. */
    uint8_t wmask[PCI_CFG_SPACE_EXP_SIZE];
    size_t pm_cap;
    size_t exp_cap;
    bool pm_d1d2;
    /* An MSI-X capability, its table and PBA in BAR0 (QEMU emulates them). */
    bool msix;
    size_t msix_cap;
    /* Revoke BAR memory while memory decoding is off, like vfio-pci. */
    bool revoke;
    /* An FLR leaves Command at 0, as a bare function would (no vfio-pci). */
    bool flr_clears_command;
    /* BAR0 offers no mmap: every access takes QEMU's slow path. */
    bool no_mmap;
    /* Class code 0x030000: the guest's vgaarb registers the device. */
    bool vga;
    /* the BAR memory is revoked for good, whatever the device state */
    bool mapping_broken;
    bool verbose;
    TestdevBar bar;
    TestdevStats stats;
} Testdev;

#define CONTROL_MAX_CLIENTS 4
#define CONTROL_MAX_FDS     (1 + CONTROL_MAX_CLIENTS)
#define CONTROL_LINE_MAX    64

typedef struct ControlClient {
    int fd;
    size_t len;
    char line[CONTROL_LINE_MAX];
} ControlClient;

/* The control socket: a line protocol to read counters and steer the test. */
typedef struct Control {
    const char *path;
    int listen_fd;
    ControlClient clients[CONTROL_MAX_CLIENTS];
} Control;

/* vfio-user-testdev.c */
void testdev_log(const Testdev *dev, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void testdev_die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void unlink_stale_socket(const char *path);

/* config.c */
int config_setup_region(Testdev *dev);
int config_init(Testdev *dev);
bool config_mem_enabled(const Testdev *dev);
unsigned int config_power_state(const Testdev *dev);
void config_function_reset(Testdev *dev);

/* bar.c */
int bar_setup_region(Testdev *dev, uint64_t size, bool is_64bit);
void bar_sync(Testdev *dev);
void bar_clear(Testdev *dev);
void bar_cleanup(TestdevBar *bar);

/* control.c */
int stats_format(const Testdev *dev, char *buf, size_t len);
int stats_write_file(const Testdev *dev, const char *path);
int control_open(Control *ctl, const char *path);
nfds_t control_pollfds(const Control *ctl, struct pollfd *fds);
void control_dispatch(Control *ctl, Testdev *dev, const struct pollfd *fds,
                      nfds_t nfds);
void control_close(Control *ctl);

#endif /* TESTDEV_H */

/*
 * vfio-user test device: BAR0, a memory BAR backed by a memfd.
 *
 * The client maps the memfd, so most BAR accesses never reach this process.
 * To reproduce what the Linux vfio-pci driver does when memory decoding is
 * turned off (vfio_pci_zap_bars()), the device revokes the memory by
 * truncating the memfd: the kernel then removes the pages from every mapping
 * and any further access through one faults, SIGBUS for a plain access from
 * the client process, -EFAULT from KVM_RUN for a guest access through a KVM
 * memslot.  The contents are kept in a shadow buffer meanwhile and written
 * back when decoding is turned on again.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testdev.h"

static void full_pread(int fd, uint8_t *buf, uint64_t len, off_t off)
{
    while (len > 0) {
        ssize_t n = pread(fd, buf, len, off);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            testdev_die("reading BAR0 memory: %s",
                        n < 0 ? strerror(errno) : "short read");
        }
        buf += n;
        len -= n;
        off += n;
    }
}

static void full_pwrite(int fd, const uint8_t *buf, uint64_t len, off_t off)
{
    while (len > 0) {
        ssize_t n = pwrite(fd, buf, len, off);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            testdev_die("writing BAR0 memory: %s",
                        n < 0 ? strerror(errno) : "short write");
        }
        buf += n;
        len -= n;
        off += n;
    }
}

static void bar_revoke(Testdev *dev)
{
    TestdevBar *bar = &dev->bar;

    full_pread(bar->fd, bar->shadow, bar->size, 0);
    if (ftruncate(bar->fd, 0) < 0) {
        testdev_die("revoking BAR0: ftruncate: %s", strerror(errno));
    }
    bar->revoked = true;
    dev->stats.revokes++;
    testdev_log(dev, "BAR0 revoked (memfd truncated)");
}

static void bar_restore(Testdev *dev)
{
    TestdevBar *bar = &dev->bar;

    if (ftruncate(bar->fd, bar->size) < 0) {
        testdev_die("restoring BAR0: ftruncate: %s", strerror(errno));
    }
    full_pwrite(bar->fd, bar->shadow, bar->size, 0);
    bar->revoked = false;
    dev->stats.restores++;
    testdev_log(dev, "BAR0 restored");
}

/*
 * Bring the BAR memory in line with the device state: it is revoked exactly
 * when revoking is on and memory decoding is off (Command.MEM clear, or the
 * function is not in D0), or for good once the mapping is broken.
 */
void bar_sync(Testdev *dev)
{
    bool want_revoked = dev->mapping_broken ||
                        (dev->revoke && !config_mem_enabled(dev));

    if (want_revoked == dev->bar.revoked) {
        return;
    }
    if (want_revoked) {
        bar_revoke(dev);
    } else {
        bar_restore(dev);
    }
}

/* Lose the memory contents, as a function reset does. */
void bar_clear(Testdev *dev)
{
    TestdevBar *bar = &dev->bar;

    /*
     * Punching a hole zeroes the memfd without changing its size, so a client
     * that still maps it (revoking off) reads zeroes instead of faulting.
     */
    if (!bar->revoked &&
        fallocate(bar->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  0, bar->size) < 0) {
        testdev_die("clearing BAR0: fallocate: %s", strerror(errno));
    }
    memset(bar->shadow, 0, bar->size);
}

static void bar_count_access(TestdevStats *stats, bool enabled, bool is_write)
{
    uint64_t *counter;

    if (is_write) {
        counter = enabled ? &stats->bar_writes_enabled
                          : &stats->bar_writes_disabled;
    } else {
        counter = enabled ? &stats->bar_reads_enabled
                          : &stats->bar_reads_disabled;
    }
    (*counter)++;
}

/*
 * Slow-path BAR access, through VFIO_USER_REGION_READ/WRITE messages.  Like
 * vfio_pci_bar_rw() in the kernel, fail with EIO while decoding is off.
 */
static ssize_t bar_access(vfu_ctx_t *vfu, char *buf, size_t count,
                          loff_t offset, bool is_write)
{
    Testdev *dev = vfu_get_private(vfu);
    bool enabled = config_mem_enabled(dev);
    ssize_t ret;

    bar_count_access(&dev->stats, enabled, is_write);
    if (!enabled) {
        errno = EIO;
        return -1;
    }

    /* Enabled implies restored; libvfio-user checked the bounds. */
    if (is_write) {
        ret = pwrite(dev->bar.fd, buf, count, offset);
    } else {
        ret = pread(dev->bar.fd, buf, count, offset);
    }
    if (ret >= 0 && (size_t)ret != count) {
        errno = EIO;
        return -1;
    }
    return ret;
}

int bar_setup_region(Testdev *dev, uint64_t size, bool is_64bit)
{
    TestdevBar *bar = &dev->bar;
    struct iovec mmap_area = { .iov_base = 0, .iov_len = size };

    bar->size = size;
    bar->is_64bit = is_64bit;
    /*
     * Memory decoding is off at power-on, so with revoking on BAR0 starts
     * out revoked: an empty memfd, like vfio-pci refusing to fault in BAR
     * pages before Command.MEM is set.
     */
    bar->revoked = dev->revoke;

    bar->shadow = calloc(1, size);
    if (bar->shadow == NULL) {
        return -1;
    }

    bar->fd = memfd_create(TESTDEV_NAME "-bar0", MFD_CLOEXEC);
    if (bar->fd < 0) {
        return -1;
    }
    if (!bar->revoked && ftruncate(bar->fd, size) < 0) {
        return -1;
    }

    if (dev->no_mmap) {
        return vfu_setup_region(dev->vfu, VFU_PCI_DEV_BAR0_REGION_IDX, size,
                                bar_access,
                                VFU_REGION_FLAG_RW | VFU_REGION_FLAG_MEM,
                                NULL, 0, -1, 0);
    }
    return vfu_setup_region(dev->vfu, VFU_PCI_DEV_BAR0_REGION_IDX, size,
                            bar_access,
                            VFU_REGION_FLAG_RW | VFU_REGION_FLAG_MEM,
                            &mmap_area, 1, bar->fd, 0);
}

void bar_cleanup(TestdevBar *bar)
{
    close(bar->fd);
    free(bar->shadow);
}

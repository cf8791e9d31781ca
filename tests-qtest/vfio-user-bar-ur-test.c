/*
 * QTest testcase for vfio PCI BARs that do not decode memory
 *
 * While a vfio PCI device does not decode memory (Command.MEM clear, not in
 * D0, FLR in progress), an access to one of its BARs must complete like an
 * Unsupported Request on real hardware: reads return all-ones of the access
 * size and writes are dropped, without reaching the device.  When the device
 * decodes again the BAR is back on the mmap fast path with its contents.
 *
 * The device is vfio-user-testdev (testbed/device), a vfio-user server whose
 * BAR0 is a memfd that QEMU maps.  Like the Linux vfio-pci driver, it revokes
 * the mapping (truncates the memfd) while decoding is off and fails slow-path
 * BAR accesses with EIO, so a QEMU that touched the revoked mapping would die
 * of SIGBUS.  Its control socket reports what reached it.
 *
 * Copyright (c) 2026 vfio-bar-ur developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <glib/gstdio.h>
#include "qapi/error.h"
#include "qemu/bitops.h"
#include "qemu/sockets.h"
#include "qemu/units.h"
#include "qobject/qdict.h"
#include "qobject/qjson.h"
#include "qobject/qlist.h"
#include "qobject/qnum.h"
#include "hw/pci/pci_regs.h"
#include "libqtest.h"
#include "libqos/pci-pc.h"

#define TESTDEV_VENDOR_ID   0x1234
#define TESTDEV_DEVICE_ID   0x7ee0
#define TESTDEV_SLOT        4
#define TESTDEV_BAR_SIZE    (2 * MiB)
#define TESTDEV_QOM_PATH    "/machine/peripheral/dev0"

/* PMCSR PowerState */
#define PM_STATE_D0         0
#define PM_STATE_D3HOT      3

/* How long the server may take to come up and to go away. */
#define TESTDEV_TIMEOUT_US  (10 * G_USEC_PER_SEC)

/* libqos places BAR0 at 0xe0000000; where the tests move it. */
#define BAR_ADDR_MOVED      0xe1000000ULL
#define BAR_ADDR_ABOVE_4G   0x1000000000ULL

/* Written while the device decodes, at both ends of BAR0. */
#define PATTERN_HEAD        0x0123456789abcdefULL
#define PATTERN_TAIL        0xfedcba9876543210ULL
/* Written while it does not: must never land. */
#define PATTERN_DROPPED     0x5a5a5a5a5a5a5a5aULL

typedef struct TestState {
    char *tmpdir;
    char *sock_path;
    char *ctl_path;
    GPid server_pid;
    QTestState *qts;
    QPCIBus *pcibus;
    QPCIDevice *dev;
    uint64_t bar_addr;
} TestState;

/* A failed assertion must leave neither the server nor its files behind. */
static void testdev_kill(void *opaque)
{
    TestState *s = opaque;

    kill(s->server_pid, SIGTERM);
    waitpid(s->server_pid, NULL, 0);
    g_unlink(s->sock_path);
    g_unlink(s->ctl_path);
    g_rmdir(s->tmpdir);
}

/*
 * Start vfio-user-testdev, with the space-separated @server_opts if not
 * NULL, and wait until it listens.  Returns false, the test skipped, if the
 * runner did not say where the server is.
 */
static bool testdev_start(TestState *s, const char *server_opts)
{
    g_auto(GStrv) opts = g_strsplit(server_opts ? server_opts : "", " ", -1);
    const char *binary = g_getenv("VFIO_USER_TESTDEV");
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GError) err = NULL;
    gint64 deadline;
    int fd, status;

    if (!binary) {
        g_test_skip("VFIO_USER_TESTDEV is not set to the vfio-user-testdev "
                    "binary (make -C testbed/device)");
        return false;
    }

    s->tmpdir = g_dir_make_tmp("vfio-user-bar-ur-XXXXXX", &err);
    g_assert_no_error(err);
    s->sock_path = g_build_filename(s->tmpdir, "dev.sock", NULL);
    s->ctl_path = g_build_filename(s->tmpdir, "ctl.sock", NULL);

    g_ptr_array_add(argv, (char *)binary);
    g_ptr_array_add(argv, (char *)"--socket");
    g_ptr_array_add(argv, s->sock_path);
    g_ptr_array_add(argv, (char *)"--control");
    g_ptr_array_add(argv, s->ctl_path);
    for (int i = 0; opts[i]; i++) {
        if (*opts[i]) {
            g_ptr_array_add(argv, opts[i]);
        }
    }
    g_ptr_array_add(argv, NULL);
    g_spawn_async(NULL, (char **)argv->pdata, NULL,
                  G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
                  NULL, NULL, &s->server_pid, &err);
    g_assert_no_error(err);
    qtest_add_abrt_handler(testdev_kill, s);

    /*
     * The control socket listens once the vfio-user socket does: a
     * connection to it means the server is ready for QEMU.
     */
    deadline = g_get_monotonic_time() + TESTDEV_TIMEOUT_US;
    while ((fd = unix_connect(s->ctl_path, NULL)) < 0) {
        g_assert_cmpint(waitpid(s->server_pid, &status, WNOHANG), ==, 0);
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(10 * 1000);
    }
    close(fd);
    return true;
}

/*
 * The server exits by itself once QEMU has gone; SIGTERM if it does not.
 * Either way it must exit cleanly: it dies on any error of its own.
 */
static void testdev_stop(TestState *s)
{
    gint64 deadline = g_get_monotonic_time() + TESTDEV_TIMEOUT_US;
    int status;
    pid_t pid;

    while ((pid = waitpid(s->server_pid, &status, WNOHANG)) == 0 &&
           g_get_monotonic_time() < deadline) {
        g_usleep(10 * 1000);
    }
    if (pid == 0) {
        kill(s->server_pid, SIGTERM);
        pid = waitpid(s->server_pid, &status, 0);
    }
    g_assert_cmpint(pid, ==, s->server_pid);
    qtest_remove_abrt_handler(s);
    g_spawn_close_pid(s->server_pid);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 0);
}

/* Ask the server's control socket for its counters: one JSON line. */
static QDict *testdev_stats(TestState *s)
{
    static const char cmd[] = "stats\n";
    g_autoptr(GString) line = g_string_new(NULL);
    QDict *stats;
    char c;
    int fd;

    fd = unix_connect(s->ctl_path, &error_abort);
    g_assert_cmpint(write(fd, cmd, strlen(cmd)), ==, strlen(cmd));
    while (read(fd, &c, 1) == 1 && c != '\n') {
        g_string_append_c(line, c);
    }
    close(fd);

    stats = qobject_to(QDict, qobject_from_json(line->str, &error_abort));
    g_assert_nonnull(stats);
    return stats;
}

static int64_t testdev_stat(TestState *s, const char *name)
{
    QDict *stats = testdev_stats(s);
    int64_t value = qdict_get_int(stats, name);

    qobject_unref(stats);
    return value;
}

/* A uint property of the QOM object at @path. */
static uint64_t qom_get_uint(TestState *s, const char *path, const char *name)
{
    QDict *rsp;
    QNum *num;
    uint64_t value;

    rsp = qtest_qmp(s->qts, "{ 'execute': 'qom-get', 'arguments': "
                            "{ 'path': %s, 'property': %s } }", path, name);
    num = qobject_to(QNum, qdict_get(rsp, "return"));
    g_assert_nonnull(num);
    g_assert_true(qnum_get_try_uint(num, &value));
    qobject_unref(rsp);
    return value;
}

/* One of the x-bar-* counters of the vfio device. */
static uint64_t vfio_counter(TestState *s, const char *name)
{
    return qom_get_uint(s, TESTDEV_QOM_PATH, name);
}

/*
 * Start the server with @server_opts and a q35 VM with the device at a
 * fixed address and @device_props; BAR0 placed by libqos, the device not
 * decoding yet.  The device presents @vendor:@device.  Returns false if the
 * test was skipped.
 */
static bool test_setup_as(TestState *s, const char *server_opts,
                          const char *device_props, uint16_t vendor,
                          uint16_t device)
{
    uint64_t bar_size;
    QPCIBar bar;

    memset(s, 0, sizeof(*s));
    if (!testdev_start(s, server_opts)) {
        return false;
    }

    s->qts = qtest_initf("-machine q35 -nodefaults "
                         "-device '{\"driver\": \"vfio-user-pci\", "
                         "\"id\": \"dev0\", \"addr\": \"%02x.0\", "
                         "\"socket\": {\"type\": \"unix\", \"path\": \"%s\"}"
                         "%s}'",
                         TESTDEV_SLOT, s->sock_path,
                         device_props ? device_props : "");
    s->pcibus = qpci_new_pc(s->qts, NULL);
    s->dev = qpci_device_find(s->pcibus, QPCI_DEVFN(TESTDEV_SLOT, 0));
    g_assert_nonnull(s->dev);
    g_assert_cmphex(qpci_config_readw(s->dev, PCI_VENDOR_ID), ==, vendor);
    g_assert_cmphex(qpci_config_readw(s->dev, PCI_DEVICE_ID), ==, device);

    bar = qpci_iomap(s->dev, 0, &bar_size);
    g_assert_cmphex(bar_size, ==, TESTDEV_BAR_SIZE);
    s->bar_addr = bar.addr;
    return true;
}

static bool test_setup(TestState *s, const char *server_opts,
                       const char *device_props)
{
    return test_setup_as(s, server_opts, device_props, TESTDEV_VENDOR_ID,
                         TESTDEV_DEVICE_ID);
}

static void test_teardown(TestState *s)
{
    g_free(s->dev);
    qpci_free_pc(s->pcibus);
    qtest_quit(s->qts);
    testdev_stop(s);

    g_rmdir(s->tmpdir);
    g_free(s->ctl_path);
    g_free(s->sock_path);
    g_free(s->tmpdir);
}

/*
 * Command.MEM on or off.  Not qpci_device_enable(): the device has no I/O
 * BAR, so Command.IO is hardwired to 0 and would fail its check.
 */
static void set_mem_decode(TestState *s, bool on)
{
    uint16_t cmd = qpci_config_readw(s->dev, PCI_COMMAND);

    if (on) {
        cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
    } else {
        cmd &= ~PCI_COMMAND_MEMORY;
    }
    qpci_config_writew(s->dev, PCI_COMMAND, cmd);
    g_assert_cmphex(qpci_config_readw(s->dev, PCI_COMMAND) &
                    PCI_COMMAND_MEMORY, ==, on ? PCI_COMMAND_MEMORY : 0);
}

static void set_power_state(TestState *s, uint16_t state)
{
    uint8_t pm = qpci_find_capability(s->dev, PCI_CAP_ID_PM, 0);
    uint16_t pmcsr;

    g_assert_cmpint(pm, !=, 0);
    pmcsr = qpci_config_readw(s->dev, pm + PCI_PM_CTRL);
    pmcsr = (pmcsr & ~PCI_PM_CTRL_STATE_MASK) | state;
    qpci_config_writew(s->dev, pm + PCI_PM_CTRL, pmcsr);
    g_assert_cmphex(qpci_config_readw(s->dev, pm + PCI_PM_CTRL) &
                    PCI_PM_CTRL_STATE_MASK, ==, state);
}

/* Program BAR0 (both halves if it is a 64-bit BAR) to @addr. */
static void bar0_program(TestState *s, uint64_t addr)
{
    uint32_t bar0 = qpci_config_readl(s->dev, PCI_BASE_ADDRESS_0);

    qpci_config_writel(s->dev, PCI_BASE_ADDRESS_0, (uint32_t)addr);
    if ((bar0 & PCI_BASE_ADDRESS_MEM_TYPE_MASK) ==
        PCI_BASE_ADDRESS_MEM_TYPE_64) {
        qpci_config_writel(s->dev, PCI_BASE_ADDRESS_1, addr >> 32);
    } else {
        g_assert_cmphex(addr >> 32, ==, 0);
    }
    s->bar_addr = addr;
}

/*
 * BAR0 accesses go straight to qtest: libqos' PC bus takes 32-bit memory
 * addresses, and BAR0 may be above 4 GiB.
 */
static uint64_t bar_read(TestState *s, uint64_t off, unsigned size)
{
    uint64_t addr = s->bar_addr + off;

    switch (size) {
    case 1:
        return qtest_readb(s->qts, addr);
    case 2:
        return qtest_readw(s->qts, addr);
    case 4:
        return qtest_readl(s->qts, addr);
    case 8:
        return qtest_readq(s->qts, addr);
    }
    g_assert_not_reached();
}

static void bar_write(TestState *s, uint64_t off, unsigned size, uint64_t val)
{
    uint64_t addr = s->bar_addr + off;

    switch (size) {
    case 1:
        qtest_writeb(s->qts, addr, val);
        return;
    case 2:
        qtest_writew(s->qts, addr, val);
        return;
    case 4:
        qtest_writel(s->qts, addr, val);
        return;
    case 8:
        qtest_writeq(s->qts, addr, val);
        return;
    }
    g_assert_not_reached();
}

static void write_pattern(TestState *s)
{
    bar_write(s, 0, 8, PATTERN_HEAD);
    bar_write(s, TESTDEV_BAR_SIZE - 8, 8, PATTERN_TAIL);
}

/* test_setup(), then the device decodes and BAR0 holds the pattern. */
static bool test_setup_decoding(TestState *s, const char *server_opts,
                                const char *device_props)
{
    if (!test_setup(s, server_opts, device_props)) {
        return false;
    }
    set_mem_decode(s, true);
    write_pattern(s);
    return true;
}

/* The pattern is there, and nothing written while off landed. */
static void check_pattern(TestState *s)
{
    g_assert_cmphex(bar_read(s, 0, 8), ==, PATTERN_HEAD);
    g_assert_cmphex(bar_read(s, TESTDEV_BAR_SIZE - 8, 8), ==, PATTERN_TAIL);
    g_assert_cmphex(bar_read(s, 0, 1), ==, PATTERN_HEAD & 0xff);
    g_assert_cmphex(bar_read(s, TESTDEV_BAR_SIZE - 4, 4), ==,
                    PATTERN_TAIL >> 32);
}

/*
 * While the device does not decode: every access size reads all-ones at
 * both ends of the BAR and writes are dropped, each of them counted by QEMU
 * and none of them reaching the device.
 */
static void check_bar_unsupported(TestState *s)
{
    uint64_t reads = vfio_counter(s, "x-bar-ur-reads");
    uint64_t writes = vfio_counter(s, "x-bar-ur-writes");
    uint64_t end = TESTDEV_BAR_SIZE;
    unsigned size, accesses = 0;
    QDict *stats;

    for (size = 1; size <= 8; size *= 2) {
        uint64_t ones = MAKE_64BIT_MASK(0, size * BITS_PER_BYTE);

        g_assert_cmphex(bar_read(s, 0, size), ==, ones);
        g_assert_cmphex(bar_read(s, end - size, size), ==, ones);
        bar_write(s, 0, size, PATTERN_DROPPED);
        bar_write(s, end - size, size, PATTERN_DROPPED);
        accesses += 2;
    }
    /* Still all-ones: the writes did not land anywhere. */
    g_assert_cmphex(bar_read(s, 0, 8), ==, UINT64_MAX);

    /* One count per access, whatever its size. */
    g_assert_cmpuint(vfio_counter(s, "x-bar-ur-reads") - reads, ==,
                     accesses + 1);
    g_assert_cmpuint(vfio_counter(s, "x-bar-ur-writes") - writes, ==,
                     accesses);

    stats = testdev_stats(s);
    g_assert_false(qdict_get_bool(stats, "mem_enabled"));
    g_assert_cmpint(qdict_get_int(stats, "bar_reads_disabled"), ==, 0);
    g_assert_cmpint(qdict_get_int(stats, "bar_writes_disabled"), ==, 0);
    g_assert_cmpint(qdict_get_int(stats, "bar_reads_enabled"), ==, 0);
    g_assert_cmpint(qdict_get_int(stats, "bar_writes_enabled"), ==, 0);
    qobject_unref(stats);
}

/*
 * What the system address space has at @addr, @size bytes: the rest of the
 * "info mtree -f" line for exactly that range, e.g.
 * "(prio 0, ramd): vfio-user:/tmp/.../dev.sock BAR 0 mmaps[0]", or NULL.
 */
static char *flatview_range(TestState *s, uint64_t addr, uint64_t size)
{
    g_autofree char *mtree = qtest_hmp(s->qts, "info mtree -f");
    g_autofree char *range = g_strdup_printf("%016" PRIx64 "-%016" PRIx64 " ",
                                             addr, addr + size - 1);
    g_auto(GStrv) lines = g_strsplit(mtree, "\n", -1);
    int i;

    for (i = 0; lines[i]; i++) {
        char *line = g_strstrip(lines[i]);

        if (g_str_has_prefix(line, range)) {
            return g_strdup(line + strlen(range));
        }
    }
    return NULL;
}

/* BAR0 is mapped through its mmap, the fast path, at its address. */
static void check_bar_fast_path(TestState *s)
{
    g_autofree char *region = flatview_range(s, s->bar_addr,
                                             TESTDEV_BAR_SIZE);
    int64_t slow_reads = testdev_stat(s, "bar_reads_enabled");

    g_assert_nonnull(region);
    g_assert_nonnull(strstr(region, ", ramd): "));
    g_assert_true(g_str_has_suffix(region, " BAR 0 mmaps[0]"));

    /* An access through the mmap never reaches the device. */
    bar_read(s, 0, 8);
    g_assert_cmpint(testdev_stat(s, "bar_reads_enabled"), ==, slow_reads);
}

static void test_mem_off_reads_all_ones(void)
{
    uint64_t unmaps;
    int64_t revokes;
    TestState s;

    if (!test_setup_decoding(&s, NULL, NULL)) {
        return;
    }
    check_pattern(&s);

    unmaps = vfio_counter(&s, "x-bar-unmaps");
    revokes = testdev_stat(&s, "revokes");
    set_mem_decode(&s, false);
    g_assert_cmpuint(vfio_counter(&s, "x-bar-unmaps"), ==, unmaps + 1);
    /* The device did revoke the memory QEMU had mapped. */
    g_assert_cmpint(testdev_stat(&s, "revokes"), ==, revokes + 1);

    check_bar_unsupported(&s);
    test_teardown(&s);
}

static void test_mem_on_restores_fast_path(void)
{
    int64_t testdev_restores;
    uint64_t restores;
    TestState s;

    if (!test_setup_decoding(&s, NULL, NULL)) {
        return;
    }
    check_bar_fast_path(&s);

    set_mem_decode(&s, false);
    check_bar_unsupported(&s);

    restores = vfio_counter(&s, "x-bar-restores");
    testdev_restores = testdev_stat(&s, "restores");
    set_mem_decode(&s, true);
    g_assert_cmpuint(vfio_counter(&s, "x-bar-restores"), ==, restores + 1);
    g_assert_cmpint(testdev_stat(&s, "restores"), ==, testdev_restores + 1);

    check_pattern(&s);
    check_bar_fast_path(&s);

    /* And it takes writes again. */
    bar_write(&s, 8, 8, PATTERN_DROPPED);
    g_assert_cmphex(bar_read(&s, 8, 8), ==, PATTERN_DROPPED);
    test_teardown(&s);
}

static void test_d3hot_reads_all_ones(void)
{
    uint64_t unmaps, restores;
    int64_t revokes;
    TestState s;

    if (!test_setup_decoding(&s, NULL, NULL)) {
        return;
    }

    unmaps = vfio_counter(&s, "x-bar-unmaps");
    revokes = testdev_stat(&s, "revokes");
    set_power_state(&s, PM_STATE_D3HOT);
    g_assert_cmpuint(vfio_counter(&s, "x-bar-unmaps"), ==, unmaps + 1);
    g_assert_cmpint(testdev_stat(&s, "power_state"), ==, PM_STATE_D3HOT);
    g_assert_cmpint(testdev_stat(&s, "revokes"), ==, revokes + 1);

    check_bar_unsupported(&s);

    restores = vfio_counter(&s, "x-bar-restores");
    set_power_state(&s, PM_STATE_D0);
    g_assert_cmpuint(vfio_counter(&s, "x-bar-restores"), ==, restores + 1);

    check_pattern(&s);
    check_bar_fast_path(&s);
    test_teardown(&s);
}

static void test_bar_moved_while_disabled(void)
{
    uint64_t old_addr, reads;
    TestState s;

    if (!test_setup_decoding(&s, NULL, NULL)) {
        return;
    }

    set_mem_decode(&s, false);
    old_addr = s.bar_addr;
    g_assert_cmphex(old_addr, !=, BAR_ADDR_MOVED);
    bar0_program(&s, BAR_ADDR_MOVED);

    check_bar_unsupported(&s);

    /* Nothing of the BAR is left at its old address. */
    reads = vfio_counter(&s, "x-bar-ur-reads");
    g_assert_cmphex(qtest_readq(s.qts, old_addr), ==, 0);
    g_assert_null(flatview_range(&s, old_addr, TESTDEV_BAR_SIZE));
    g_assert_cmpuint(vfio_counter(&s, "x-bar-ur-reads"), ==, reads);

    set_mem_decode(&s, true);
    check_pattern(&s);
    check_bar_fast_path(&s);
    g_assert_cmphex(qtest_readq(s.qts, old_addr), ==, 0);
    test_teardown(&s);
}

/* The whole cycle, wherever BAR0 is and whatever its type. */
static void check_disable_enable_cycle(TestState *s)
{
    set_mem_decode(s, true);
    write_pattern(s);
    check_pattern(s);
    check_bar_fast_path(s);

    set_mem_decode(s, false);
    check_bar_unsupported(s);

    set_mem_decode(s, true);
    check_pattern(s);
    check_bar_fast_path(s);
}

static void test_bar64_above_4g(void)
{
    TestState s;

    if (!test_setup(&s, NULL, NULL)) {
        return;
    }
    g_assert_cmphex(qpci_config_readl(s.dev, PCI_BASE_ADDRESS_0) &
                    PCI_BASE_ADDRESS_MEM_TYPE_MASK, ==,
                    PCI_BASE_ADDRESS_MEM_TYPE_64);
    bar0_program(&s, BAR_ADDR_ABOVE_4G);
    g_assert_cmphex(qpci_config_readl(s.dev, PCI_BASE_ADDRESS_1), ==,
                    BAR_ADDR_ABOVE_4G >> 32);

    check_disable_enable_cycle(&s);
    test_teardown(&s);
}

static void test_bar32(void)
{
    TestState s;

    if (!test_setup(&s, "--bar32", NULL)) {
        return;
    }
    g_assert_cmphex(qpci_config_readl(s.dev, PCI_BASE_ADDRESS_0) &
                    PCI_BASE_ADDRESS_MEM_TYPE_MASK, ==,
                    PCI_BASE_ADDRESS_MEM_TYPE_32);

    check_disable_enable_cycle(&s);
    test_teardown(&s);
}

/*
 * With the old order (the device sees the write that disables it before
 * QEMU unmaps the BAR), a disabled BAR still reads all-ones and drops
 * writes, and comes back with its contents.
 */
static void test_unmap_first_off_mem_off_reads_all_ones(void)
{
    TestState s;
    uint64_t unmaps;

    if (!test_setup_decoding(&s, NULL, ", \"x-bar-unmap-first\": false")) {
        return;
    }

    unmaps = vfio_counter(&s, "x-bar-unmaps");
    set_mem_decode(&s, false);
    g_assert_cmpuint(vfio_counter(&s, "x-bar-unmaps"), ==, unmaps + 1);

    check_bar_unsupported(&s);

    set_mem_decode(&s, true);
    check_pattern(&s);
    check_bar_fast_path(&s);
    test_teardown(&s);
}

/* Initiate FLR through the PCIe Device Control; returns x-bar-unmaps before. */
static uint64_t start_flr(TestState *s)
{
    uint8_t exp = qpci_find_capability(s->dev, PCI_CAP_ID_EXP, 0);
    uint64_t unmaps = vfio_counter(s, "x-bar-unmaps");
    uint16_t devctl;

    g_assert_cmpint(exp, !=, 0);
    devctl = qpci_config_readw(s->dev, exp + PCI_EXP_DEVCTL);
    qpci_config_writew(s->dev, exp + PCI_EXP_DEVCTL,
                       devctl | PCI_EXP_DEVCTL_BCR_FLR);
    g_assert_cmpint(testdev_stat(s, "flrs"), ==, 1);
    return unmaps;
}

/*
 * The host's vfio-pci performs a guest's FLR inside the Device Control
 * write and restores the saved config, Command included: the device
 * decodes right after, with its memory reset.  A driver that does not
 * write Command again must find the BAR working, on the fast path.
 */
static void test_flr_decodes_after_reset(void)
{
    uint64_t unmaps, restores;
    TestState s;

    if (!test_setup_decoding(&s, NULL, NULL)) {
        return;
    }

    restores = vfio_counter(&s, "x-bar-restores");
    unmaps = start_flr(&s);
    /* Dropped before the device saw the write, back after it. */
    g_assert_cmpuint(vfio_counter(&s, "x-bar-unmaps"), ==, unmaps + 1);
    g_assert_cmpuint(vfio_counter(&s, "x-bar-restores"), ==, restores + 1);
    g_assert_cmphex(qpci_config_readw(s.dev, PCI_COMMAND) &
                    PCI_COMMAND_MEMORY, ==, PCI_COMMAND_MEMORY);

    /* No Command write: the reset memory reads as data, not all-ones. */
    g_assert_cmphex(bar_read(&s, 0, 8), ==, 0);
    g_assert_cmphex(bar_read(&s, TESTDEV_BAR_SIZE - 8, 8), ==, 0);
    check_bar_fast_path(&s);
    write_pattern(&s);
    check_pattern(&s);
    test_teardown(&s);
}

/*
 * A device left with Command 0 after the FLR stops decoding while
 * Command.MEM stays set in QEMU's copy of config space, so BAR0 stays
 * mapped: with its mmap off, the Unsupported Request region on top of the
 * BAR answers instead of the slow path, which would forward accesses to the
 * device.  Setting Command.MEM brings the fast path back, on the memory the
 * reset cleared.
 */
static void test_flr_command_cleared_reads_all_ones(void)
{
    g_autofree char *region = NULL;
    uint64_t unmaps, restores;
    TestState s;

    if (!test_setup_decoding(&s, "--flr-clears-command", NULL)) {
        return;
    }

    unmaps = start_flr(&s);
    g_assert_cmpuint(vfio_counter(&s, "x-bar-unmaps"), ==, unmaps + 1);

    /* Still mapped, its all-ones region on top of the mmap and slow path. */
    region = flatview_range(&s, s.bar_addr, TESTDEV_BAR_SIZE);
    g_assert_nonnull(region);
    g_assert_nonnull(strstr(region, ", i/o): "));
    g_assert_true(g_str_has_suffix(region, " BAR 0 unsupported-request"));

    check_bar_unsupported(&s);

    restores = vfio_counter(&s, "x-bar-restores");
    set_mem_decode(&s, true);
    g_assert_cmpuint(vfio_counter(&s, "x-bar-restores"), ==, restores + 1);

    g_assert_cmphex(bar_read(&s, 0, 8), ==, 0);
    g_assert_cmphex(bar_read(&s, TESTDEV_BAR_SIZE - 8, 8), ==, 0);
    check_bar_fast_path(&s);
    test_teardown(&s);
}

/* Does the system address space show an Unsupported Request region? */
static bool mtree_has_ur_region(TestState *s)
{
    g_autofree char *mtree = qtest_hmp(s->qts, "info mtree -f");

    return strstr(mtree, " unsupported-request") != NULL;
}

/*
 * Sizing a 64-bit BAR below 4 GiB leaves it programmed, for a while, to
 * the top of the low 4 GiB (low dword all-ones, high dword 0): that is no
 * address to answer at, so no all-ones background goes there.
 */
static void test_sizing_pattern_no_background(void)
{
    TestState s;

    if (!test_setup_decoding(&s, NULL, NULL)) {
        return;
    }
    set_mem_decode(&s, false);
    g_assert_true(mtree_has_ur_region(&s));
    g_assert_cmphex(s.bar_addr >> 32, ==, 0);

    qpci_config_writel(s.dev, PCI_BASE_ADDRESS_0, UINT32_MAX);
    g_assert_false(mtree_has_ur_region(&s));

    qpci_config_writel(s.dev, PCI_BASE_ADDRESS_0, s.bar_addr);
    check_bar_unsupported(&s);
    set_mem_decode(&s, true);
    check_pattern(&s);
    check_bar_fast_path(&s);
    test_teardown(&s);
}

/*
 * A system reset zeroes the BARs in QEMU's config space without a config
 * write: nothing of a disabled BAR may stay at its old address.
 */
static void test_reset_drops_background(void)
{
    QDict *rsp;
    TestState s;

    if (!test_setup(&s, NULL, NULL)) {
        return;
    }
    set_mem_decode(&s, true);
    set_mem_decode(&s, false);
    g_assert_cmphex(bar_read(&s, 0, 8), ==, UINT64_MAX);

    rsp = qtest_qmp(s.qts, "{ 'execute': 'system_reset' }");
    g_assert_true(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
    qtest_qmp_eventwait(s.qts, "RESET");

    g_assert_cmphex(qpci_config_readl(s.dev, PCI_BASE_ADDRESS_0) &
                    PCI_BASE_ADDRESS_MEM_MASK, ==, 0);
    g_assert_false(mtree_has_ur_region(&s));
    g_assert_cmphex(qtest_readq(s.qts, s.bar_addr), ==, 0);
    test_teardown(&s);
}

/* vfio-user-testdev --msix: QEMU's emulated MSI-X table at BAR0 + 1 MiB */
#define MSIX_TABLE_OFFSET       0x100000

/*
 * While the device does not decode, the MSI-X table that QEMU emulates in
 * BAR0 answers all-ones like the rest of the BAR, and a write to it
 * changes nothing.  The FLR leaves the device with Command 0 while QEMU
 * keeps the BAR mapped, so the table would be reachable but for the
 * Unsupported Request region on top of the BAR.  (vfio-user-pci installs
 * no BAR quirks, the other thing that region covers: only vfio-pci's
 * realize calls vfio_bar_quirk_setup().)
 */
static void test_msix_table_not_reached_while_disabled(void)
{
    uint64_t ctrl = MSIX_TABLE_OFFSET + PCI_MSIX_ENTRY_VECTOR_CTRL;
    uint64_t data = MSIX_TABLE_OFFSET + PCI_MSIX_ENTRY_DATA;
    uint64_t ur_reads, ur_writes;
    TestState s;

    if (!test_setup(&s, "--msix --flr-clears-command", NULL)) {
        return;
    }
    g_assert_cmpint(qpci_find_capability(s.dev, PCI_CAP_ID_MSIX, 0), !=, 0);
    set_mem_decode(&s, true);
    /* The emulated table: entry 0 masked, its data 0. */
    g_assert_cmphex(bar_read(&s, ctrl, 4), ==, PCI_MSIX_ENTRY_CTRL_MASKBIT);
    g_assert_cmphex(bar_read(&s, data, 4), ==, 0);

    start_flr(&s);
    ur_reads = vfio_counter(&s, "x-bar-ur-reads");
    ur_writes = vfio_counter(&s, "x-bar-ur-writes");
    bar_write(&s, data, 4, 0x12345678);
    g_assert_cmphex(bar_read(&s, ctrl, 4), ==, UINT32_MAX);
    g_assert_cmpuint(vfio_counter(&s, "x-bar-ur-writes"), ==, ur_writes + 1);
    g_assert_cmpuint(vfio_counter(&s, "x-bar-ur-reads"), ==, ur_reads + 1);

    set_mem_decode(&s, true);
    g_assert_cmphex(bar_read(&s, data, 4), ==, 0);
    g_assert_cmphex(bar_read(&s, ctrl, 4), ==, PCI_MSIX_ENTRY_CTRL_MASKBIT);
    test_teardown(&s);
}

/* The guest-physical address width of the first CPU, in bits. */
static unsigned cpu_phys_bits(TestState *s)
{
    QDict *rsp, *cpu;
    QList *cpus;
    uint64_t bits;

    rsp = qtest_qmp(s->qts, "{ 'execute': 'query-cpus-fast' }");
    cpus = qdict_get_qlist(rsp, "return");
    cpu = qobject_to(QDict, qlist_peek(cpus));
    g_assert_nonnull(cpu);
    bits = qom_get_uint(s, qdict_get_str(cpu, "qom-path"), "phys-bits");
    qobject_unref(rsp);
    g_assert_cmpuint(bits, >=, 36);
    g_assert_cmpuint(bits, <, 64);
    return bits;
}

/* The two halves of BAR0 read back as @addr, with BAR0's flag bits. */
static void check_bar0_reads_back(TestState *s, uint64_t addr)
{
    g_assert_cmphex(qpci_config_readl(s->dev, PCI_BASE_ADDRESS_0) &
                    PCI_BASE_ADDRESS_MEM_MASK, ==, (uint32_t)addr);
    g_assert_cmphex(qpci_config_readl(s->dev, PCI_BASE_ADDRESS_1), ==,
                    addr >> 32);
}

/* Write one half of BAR0: the high dword if @high. */
static void bar0_write_half(TestState *s, bool high, uint64_t addr)
{
    qpci_config_writel(s->dev, high ? PCI_BASE_ADDRESS_1 : PCI_BASE_ADDRESS_0,
                       high ? addr >> 32 : (uint32_t)addr);
}

/*
 * BAR0 decodes at @addr, beyond the guest-physical address space: nothing
 * of it is RAM there (KVM would refuse the memslot), it answers as an
 * Unsupported Request, and nothing reaches the device.
 */
static void check_bar_out_of_reach(TestState *s, uint64_t addr)
{
    g_autofree char *region = flatview_range(s, addr, TESTDEV_BAR_SIZE);
    int64_t reads = testdev_stat(s, "bar_reads_enabled");
    int64_t writes = testdev_stat(s, "bar_writes_enabled");

    g_assert_nonnull(region);
    g_assert_null(strstr(region, "ramd"));
    g_assert_true(g_str_has_suffix(region, " BAR 0 unsupported-request"));
    g_assert_cmphex(qtest_readq(s->qts, addr), ==, UINT64_MAX);
    qtest_writeq(s->qts, addr, PATTERN_DROPPED);
    g_assert_cmphex(qtest_readl(s->qts, addr + TESTDEV_BAR_SIZE - 4), ==,
                    UINT32_MAX);
    g_assert_cmpint(testdev_stat(s, "bar_reads_enabled"), ==, reads);
    g_assert_cmpint(testdev_stat(s, "bar_writes_enabled"), ==, writes);
}

/* BAR0 is back at @addr: reads back as such, its contents, the fast path. */
static void check_bar0_at(TestState *s, uint64_t addr)
{
    check_bar0_reads_back(s, addr);
    s->bar_addr = addr;
    check_pattern(s);
    check_bar_fast_path(s);
}

/*
 * A guest moves a decoding 64-bit BAR beyond its physical address space
 * (where KVM refuses memslots and stock QEMU aborts), one half at a time
 * in either order, and back.  Every intermediate address is out of reach
 * or the BAR's own; the BAR reads back as written, answers as an
 * Unsupported Request while out of reach, and is back on the fast path
 * with its contents.  Right below the limit it is mapped as usual.
 */
static void test_bar64_out_of_reach(void)
{
    uint64_t home, limit, far, count;
    TestState s;

    if (!test_setup_decoding(&s, NULL, NULL)) {
        return;
    }
    home = s.bar_addr;
    g_assert_cmphex(home >> 32, ==, 0);
    limit = 1ULL << cpu_phys_bits(&s);
    far = limit | 0x40000000;
    count = vfio_counter(&s, "x-bar-out-of-reach");

    /* Out high dword first, back low dword first: via limit | home. */
    bar0_write_half(&s, true, far);
    check_bar0_reads_back(&s, (far & ~0xffffffffULL) | home);
    check_bar_out_of_reach(&s, (far & ~0xffffffffULL) | home);
    bar0_write_half(&s, false, far);
    check_bar0_reads_back(&s, far);
    check_bar_out_of_reach(&s, far);
    bar0_write_half(&s, false, home);
    bar0_write_half(&s, true, home);
    check_bar0_at(&s, home);
    g_assert_cmpuint(vfio_counter(&s, "x-bar-out-of-reach"), ==, count + 1);

    /* Out low dword first, back high dword first: via 1 GiB, in reach. */
    bar0_write_half(&s, false, far);
    bar0_write_half(&s, true, far);
    check_bar0_reads_back(&s, far);
    check_bar_out_of_reach(&s, far);
    bar0_write_half(&s, true, home);
    bar0_write_half(&s, false, home);
    check_bar0_at(&s, home);
    g_assert_cmpuint(vfio_counter(&s, "x-bar-out-of-reach"), ==, count + 2);

    /* The last BAR-sized slot below the limit is in reach. */
    bar0_program(&s, limit - TESTDEV_BAR_SIZE);
    check_bar0_at(&s, limit - TESTDEV_BAR_SIZE);
    g_assert_cmpuint(vfio_counter(&s, "x-bar-out-of-reach"), ==, count + 2);

    /* Out of reach while not decoding: enabling it maps nothing. */
    set_mem_decode(&s, false);
    bar0_program(&s, far);
    set_mem_decode(&s, true);
    check_bar_out_of_reach(&s, far);
    bar0_program(&s, home);
    check_bar0_at(&s, home);
    test_teardown(&s);
}

/*
 * Sizing a 64-bit BAR with memory decoding on, in both orders: the BAR
 * passes through out-of-reach and unmappable addresses, reads back its
 * size, and works again once restored.
 */
static void test_sizing_with_mem_on(void)
{
    uint64_t home, mask = ~(uint64_t)(TESTDEV_BAR_SIZE - 1);
    TestState s;
    int order;

    if (!test_setup_decoding(&s, NULL, NULL)) {
        return;
    }
    home = s.bar_addr;
    for (order = 0; order < 2; order++) {
        bar0_write_half(&s, order, UINT64_MAX);
        bar0_write_half(&s, !order, UINT64_MAX);
        check_bar0_reads_back(&s, mask);
        bar0_write_half(&s, order, home);
        bar0_write_half(&s, !order, home);
        check_bar0_at(&s, home);
    }
    test_teardown(&s);
}

/* The flatview at @addr belongs to a region whose name contains @name. */
static void check_flatview_owner(TestState *s, uint64_t addr, uint64_t size,
                                 const char *name)
{
    g_autofree char *region = flatview_range(s, addr, size);

    g_assert_nonnull(region);
    g_assert_nonnull(strstr(region, name));
}

/*
 * A decoding BAR moved onto guest RAM, onto chipset MMIO and onto another
 * device's BAR hides below them (the PCI address space is below system
 * memory) or shares the range by priority: RAM keeps its content, the
 * chipset keeps answering, and after the guest puts things back both
 * devices work.
 */
static void test_bar_overlaps(void)
{
    static const struct {
        uint64_t addr;
        uint64_t size;
        const char *name;
    } chipset[] = {
        { 0xfec00000, 0x1000, "ioapic" },
        { 0xfed00000, 0x400, "hpet" },
    };
    const uint64_t ram = 0x200000, ram_pattern = 0x1122334455667788ULL;
    uint64_t home, ahci_cap, ahci_addr;
    QPCIDevice *ahci;
    QPCIBar abar;
    TestState s;
    int i;

    if (!test_setup_decoding(&s, NULL, NULL)) {
        return;
    }
    home = s.bar_addr;

    qtest_writeq(s.qts, ram, ram_pattern);
    bar0_program(&s, ram);
    g_assert_cmphex(qtest_readq(s.qts, ram), ==, ram_pattern);
    qtest_writeq(s.qts, ram + 8, ram_pattern);
    g_assert_cmphex(qtest_readq(s.qts, ram + 8), ==, ram_pattern);

    for (i = 0; i < ARRAY_SIZE(chipset); i++) {
        bar0_program(&s, ROUND_DOWN(chipset[i].addr, TESTDEV_BAR_SIZE));
        check_flatview_owner(&s, chipset[i].addr, chipset[i].size,
                             chipset[i].name);
    }
    /* The IOAPIC still answers: its version register through IOREGSEL. */
    qtest_writel(s.qts, 0xfec00000, 1);
    g_assert_cmphex(qtest_readl(s.qts, 0xfec00010) & 0xff, ==, 0x20);

    /* Onto q35's AHCI controller's ABAR (BAR5), placed by libqos. */
    ahci = qpci_device_find(s.pcibus, QPCI_DEVFN(0x1f, 2));
    g_assert_nonnull(ahci);
    abar = qpci_iomap(ahci, 5, NULL);
    qpci_device_enable(ahci);
    ahci_addr = abar.addr;
    ahci_cap = qpci_io_readl(ahci, abar, 0);
    g_assert_cmphex(ahci_cap, !=, UINT32_MAX);
    bar0_program(&s, ROUND_DOWN(ahci_addr, TESTDEV_BAR_SIZE));
    qtest_readl(s.qts, ahci_addr);
    bar0_program(&s, home);
    g_assert_cmphex(qpci_io_readl(ahci, abar, 0), ==, ahci_cap);
    g_free(ahci);

    check_pattern(&s);
    check_bar_fast_path(&s);
    g_assert_cmphex(qtest_readq(s.qts, ram), ==, ram_pattern);
    g_assert_cmphex(qtest_readq(s.qts, ram + 8), ==, ram_pattern);
    test_teardown(&s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    qtest_add_func("/vfio-user/bar-ur/mem-off-reads-all-ones",
                   test_mem_off_reads_all_ones);
    qtest_add_func("/vfio-user/bar-ur/mem-on-restores-fast-path",
                   test_mem_on_restores_fast_path);
    qtest_add_func("/vfio-user/bar-ur/d3hot-reads-all-ones",
                   test_d3hot_reads_all_ones);
    qtest_add_func("/vfio-user/bar-ur/bar-moved-while-disabled",
                   test_bar_moved_while_disabled);
    qtest_add_func("/vfio-user/bar-ur/bar64-above-4g", test_bar64_above_4g);
    qtest_add_func("/vfio-user/bar-ur/bar32", test_bar32);
    qtest_add_func("/vfio-user/bar-ur/unmap-first-off-mem-off-reads-all-ones",
                   test_unmap_first_off_mem_off_reads_all_ones);
    qtest_add_func("/vfio-user/bar-ur/flr-decodes-after-reset",
                   test_flr_decodes_after_reset);
    qtest_add_func("/vfio-user/bar-ur/flr-command-cleared-reads-all-ones",
                   test_flr_command_cleared_reads_all_ones);
    qtest_add_func("/vfio-user/bar-ur/sizing-pattern-no-background",
                   test_sizing_pattern_no_background);
    qtest_add_func("/vfio-user/bar-ur/reset-drops-background",
                   test_reset_drops_background);
    qtest_add_func("/vfio-user/bar-ur/msix-table-not-reached-while-disabled",
                   test_msix_table_not_reached_while_disabled);
    qtest_add_func("/vfio-user/bar-ur/bar64-out-of-reach",
                   test_bar64_out_of_reach);
    qtest_add_func("/vfio-user/bar-ur/sizing-with-mem-on",
                   test_sizing_with_mem_on);
    qtest_add_func("/vfio-user/bar-ur/bar-overlaps", test_bar_overlaps);

    return g_test_run();
}

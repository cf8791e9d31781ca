/*
 * QTest testcase for vfio PCI BARs that do not decode memory, against
 * QEMU's own vfio-user server
 *
 * While a vfio PCI device does not decode memory, an access to one of its
 * BARs must complete like an Unsupported Request: reads return all-ones of
 * the access size and writes are dropped, counted in the device's
 * x-bar-ur-reads and x-bar-ur-writes properties.  When the guest sets
 * Command.MEM again the BAR works as before.
 *
 * The device is an "edu" emulated by a second QEMU, the x-remote machine
 * with an x-vfio-user-server object (--enable-vfio-user-server), and
 * reached through vfio-user-pci by the QEMU under test.  That server keeps
 * answering BAR accesses whatever its command register says and offers no
 * BAR mmap, so what is checked here is the client's side only: its answers
 * follow the Command register the guest wrote.  Revoking a BAR mapping, as
 * Linux's vfio-pci does, is exercised by vfio-user-bar-ur-test.
 *
 * Copyright (c) 2026 vfio-bar-ur developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <glib/gstdio.h>
#include "qemu/bitops.h"
#include "qemu/units.h"
#include "qobject/qdict.h"
#include "qobject/qnum.h"
#include "hw/pci/pci_regs.h"
#include "libqtest.h"
#include "libqos/pci-pc.h"

#define EDU_VENDOR_ID       0x1234
#define EDU_DEVICE_ID       0x11e8
#define EDU_BAR_SIZE        (1 * MiB)
/* edu's registers: identification, and liveness (reads back inverted) */
#define EDU_REG_ID          0x00
#define EDU_ID              0x010000ed
#define EDU_REG_LIVENESS    0x04

#define CLIENT_SLOT         4
#define CLIENT_QOM_PATH     "/machine/peripheral/dev0"

#define LIVENESS_VALUE      0x12345678
/* Written while the device does not decode: must never land. */
#define PATTERN_DROPPED     0x5a5a5a5a5a5a5a5aULL

typedef struct TestState {
    char *tmpdir;
    char *sock_path;
    QTestState *server;
    QTestState *qts;
    QPCIBus *pcibus;
    QPCIDevice *dev;
    QPCIBar bar;
} TestState;

/* Does the QEMU at @qts know QOM type @type? */
static bool has_qom_type(QTestState *qts, const char *type)
{
    QDict *rsp = qtest_qmp(qts, "{ 'execute': 'qom-list-properties', "
                                "'arguments': { 'typename': %s } }", type);
    bool found = qdict_haskey(rsp, "return");

    qobject_unref(rsp);
    return found;
}

/*
 * Start the server QEMU, an x-remote machine with an edu device, and let
 * it serve the device on a vfio-user socket.  Returns false, the test
 * skipped, if this QEMU cannot be a vfio-user server.
 */
static bool server_start(TestState *s)
{
    g_autoptr(GError) err = NULL;
    QDict *rsp;

    if (!qtest_has_machine("x-remote")) {
        g_test_skip("no x-remote machine (built without multiprocess)");
        return false;
    }
    if (!qtest_has_device("edu")) {
        g_test_skip("no edu device (built without CONFIG_EDU)");
        return false;
    }

    s->server = qtest_init("-machine x-remote,vfio-user=on,auto-shutdown=off "
                           "-nodefaults -device edu,id=ep0");
    if (!has_qom_type(s->server, "x-vfio-user-server")) {
        g_test_skip("no x-vfio-user-server object "
                    "(built without --enable-vfio-user-server)");
        qtest_quit(s->server);
        s->server = NULL;
        return false;
    }

    s->tmpdir = g_dir_make_tmp("vfio-user-server-bar-ur-XXXXXX", &err);
    g_assert_no_error(err);
    s->sock_path = g_build_filename(s->tmpdir, "edu.sock", NULL);

    /* Listens from here on: the client may connect. */
    rsp = qtest_qmp(s->server, "{ 'execute': 'object-add', 'arguments': "
                               "{ 'qom-type': 'x-vfio-user-server', "
                               "'id': 'vfuobj0', 'device': 'ep0', "
                               "'socket': { 'type': 'unix', 'path': %s } } }",
                    s->sock_path);
    g_assert_true(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
    g_assert_true(g_file_test(s->sock_path, G_FILE_TEST_EXISTS));
    return true;
}

/*
 * The server, then a q35 VM with the served edu at a fixed address; BAR0
 * placed by libqos, the device not decoding yet.  Returns false if the
 * test was skipped.
 */
static bool test_setup(TestState *s)
{
    uint64_t bar_size;

    memset(s, 0, sizeof(*s));
    if (!qtest_has_device("vfio-user-pci")) {
        g_test_skip("no vfio-user-pci device");
        return false;
    }
    if (!server_start(s)) {
        return false;
    }

    s->qts = qtest_initf("-machine q35 -nodefaults "
                         "-device '{\"driver\": \"vfio-user-pci\", "
                         "\"id\": \"dev0\", \"addr\": \"%02x.0\", "
                         "\"socket\": {\"type\": \"unix\", \"path\": \"%s\"}}'",
                         CLIENT_SLOT, s->sock_path);
    s->pcibus = qpci_new_pc(s->qts, NULL);
    s->dev = qpci_device_find(s->pcibus, QPCI_DEVFN(CLIENT_SLOT, 0));
    g_assert_nonnull(s->dev);
    g_assert_cmphex(qpci_config_readw(s->dev, PCI_VENDOR_ID), ==,
                    EDU_VENDOR_ID);
    g_assert_cmphex(qpci_config_readw(s->dev, PCI_DEVICE_ID), ==,
                    EDU_DEVICE_ID);

    s->bar = qpci_iomap(s->dev, 0, &bar_size);
    g_assert_cmphex(bar_size, ==, EDU_BAR_SIZE);
    return true;
}

static void test_teardown(TestState *s)
{
    g_free(s->dev);
    qpci_free_pc(s->pcibus);
    qtest_quit(s->qts);
    qtest_quit(s->server);

    g_unlink(s->sock_path);
    g_rmdir(s->tmpdir);
    g_free(s->sock_path);
    g_free(s->tmpdir);
}

/* One of the x-bar-* counters of the vfio device. */
static uint64_t vfio_counter(TestState *s, const char *name)
{
    QDict *rsp;
    QNum *num;
    uint64_t value;

    rsp = qtest_qmp(s->qts, "{ 'execute': 'qom-get', 'arguments': "
                            "{ 'path': %s, 'property': %s } }",
                    CLIENT_QOM_PATH, name);
    num = qobject_to(QNum, qdict_get(rsp, "return"));
    g_assert_nonnull(num);
    g_assert_true(qnum_get_try_uint(num, &value));
    qobject_unref(rsp);
    return value;
}

/*
 * Command.MEM on or off, through the client's config space.  Not
 * qpci_device_enable(): edu has no I/O BAR, so Command.IO stays 0.
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

/* One access of @size bytes: qtest's read and write commands do that. */
static uint64_t bar_read(TestState *s, uint64_t off, unsigned size)
{
    uint64_t val = 0;

    qpci_memread(s->dev, s->bar, off, &val, size);
    return le64_to_cpu(val);
}

static void bar_write(TestState *s, uint64_t off, unsigned size, uint64_t val)
{
    uint64_t le = cpu_to_le64(val);

    qpci_memwrite(s->dev, s->bar, off, &le, size);
}

/* The device answers: its identification, and what liveness was given. */
static void check_bar_works(TestState *s, uint32_t liveness)
{
    g_assert_cmphex(bar_read(s, EDU_REG_ID, 4), ==, EDU_ID);
    g_assert_cmphex(bar_read(s, EDU_REG_LIVENESS, 4), ==, ~liveness);
}

/*
 * While the device does not decode: every access size reads all-ones at
 * both ends of the BAR and on its registers, and writes are dropped, each
 * of them counted.  Whether they reached the device shows once it decodes
 * again (check_bar_works()).
 */
static void check_bar_unsupported(TestState *s)
{
    uint64_t reads = vfio_counter(s, "x-bar-ur-reads");
    uint64_t writes = vfio_counter(s, "x-bar-ur-writes");
    unsigned size, n_reads = 0, n_writes = 0;

    for (size = 1; size <= 8; size *= 2) {
        uint64_t ones = MAKE_64BIT_MASK(0, size * BITS_PER_BYTE);
        /* aligned, or the memory core splits it: liveness in any case */
        uint64_t reg = size <= 4 ? EDU_REG_LIVENESS : EDU_REG_ID;

        g_assert_cmphex(bar_read(s, EDU_REG_ID, size), ==, ones);
        g_assert_cmphex(bar_read(s, EDU_BAR_SIZE - size, size), ==, ones);
        bar_write(s, reg, size, PATTERN_DROPPED);
        bar_write(s, EDU_BAR_SIZE - size, size, PATTERN_DROPPED);
        n_reads += 2;
        n_writes += 2;
    }
    g_assert_cmphex(bar_read(s, EDU_REG_LIVENESS, 4), ==, UINT32_MAX);
    n_reads++;

    /* One count per access, whatever its size. */
    g_assert_cmpuint(vfio_counter(s, "x-bar-ur-reads") - reads, ==, n_reads);
    g_assert_cmpuint(vfio_counter(s, "x-bar-ur-writes") - writes, ==,
                     n_writes);
}

static void test_mem_off_reads_all_ones(void)
{
    TestState s;

    if (!test_setup(&s)) {
        return;
    }
    set_mem_decode(&s, true);
    bar_write(&s, EDU_REG_LIVENESS, 4, LIVENESS_VALUE);
    check_bar_works(&s, LIVENESS_VALUE);
    /* Nothing is counted while the device decodes. */
    g_assert_cmpuint(vfio_counter(&s, "x-bar-ur-reads"), ==, 0);
    g_assert_cmpuint(vfio_counter(&s, "x-bar-ur-writes"), ==, 0);

    set_mem_decode(&s, false);
    check_bar_unsupported(&s);
    test_teardown(&s);
}

static void test_mem_on_restores_bar(void)
{
    uint64_t reads, writes;
    TestState s;
    int i;

    if (!test_setup(&s)) {
        return;
    }

    /* Not decoding from the start: libqos placed BAR0 with MEM clear. */
    check_bar_unsupported(&s);

    set_mem_decode(&s, true);
    bar_write(&s, EDU_REG_LIVENESS, 4, LIVENESS_VALUE);
    for (i = 0; i < 2; i++) {
        set_mem_decode(&s, false);
        check_bar_unsupported(&s);
        set_mem_decode(&s, true);

        /* Back, with nothing of what was written while off. */
        reads = vfio_counter(&s, "x-bar-ur-reads");
        writes = vfio_counter(&s, "x-bar-ur-writes");
        check_bar_works(&s, LIVENESS_VALUE);
        bar_write(&s, EDU_REG_LIVENESS, 4, LIVENESS_VALUE + i);
        check_bar_works(&s, LIVENESS_VALUE + i);
        bar_write(&s, EDU_REG_LIVENESS, 4, LIVENESS_VALUE);
        g_assert_cmpuint(vfio_counter(&s, "x-bar-ur-reads"), ==, reads);
        g_assert_cmpuint(vfio_counter(&s, "x-bar-ur-writes"), ==, writes);
    }
    test_teardown(&s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    qtest_add_func("/vfio-user-server/bar-ur/mem-off-reads-all-ones",
                   test_mem_off_reads_all_ones);
    qtest_add_func("/vfio-user-server/bar-ur/mem-on-restores-bar",
                   test_mem_on_restores_bar);
    return g_test_run();
}

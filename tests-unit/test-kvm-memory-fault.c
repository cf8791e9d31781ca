/*
 * Unit tests for the decisions of the KVM shared-memory fault registry
 * (accel/kvm/kvm-memory-fault.c): stale faults, faults for an owner, faults
 * that are none of its business, fatal ones, the time bound, bare EFAULTs
 * and refused memslots.
 *
 * The memory API is faked: system/memory.c comes with system/physmem.c
 * and the rest of libsystem (vl.c, cpus.c, migration, the accelerators),
 * which only the emulators link, so a real MemoryRegion cannot be had in a
 * unit test.  The fakes below define exactly the functions the registry
 * calls: memory_region_find() over a fixed map of FakeRegions, and the
 * accessors it asks about the region found.  The real lookup is covered
 * by the qtests and the L2 tests.  QEMU's stubs provide the BQL (made to
 * report itself held) and the error output; the machine is a QOM
 * container, so that the registry's counters can be read as its
 * properties.
 *
 * Copyright (c) 2026 vfio-bar-ur developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <linux/kvm.h>
#include "qapi/error.h"
#include "qemu/main-loop.h"
#include "qemu/module.h"
#include "qemu/notify.h"
#include "qom/object.h"
#include "hw/core/cpu.h"
#include "hw/qdev-core.h"
#include "system/address-spaces.h"
#include "system/memory.h"
#include "system/system.h"
#include "accel/kvm/kvm-memory-fault.h"

/* As in kvm-memory-fault.c */
#define KVM_SHARED_FAULT_TIMEOUT_MS 3000
#define KVM_SHARED_FAULT_DELETIONS 64

#define RAM_BASE    0x0ULL
#define RAM_SIZE    0x100000ULL
#define BAR_BASE    0xfe000000ULL
#define BAR_SIZE    0x10000ULL
#define OTHER_BASE  0xfe100000ULL   /* a BAR of a device not registered */
#define MEMFD_BASE  0xfe200000ULL   /* the owner's, but guest_memfd-backed */
#define UNMAPPED    0xd0000000ULL

typedef struct FakeRegion {
    MemoryRegion mr;
    const char *name;
    hwaddr base;
    hwaddr size;
    bool ram_device;
    bool guest_memfd;
    Object *owner;
    int refs;
} FakeRegion;

static Object *machine;
static Object *owner, *other_owner;
static FakeRegion system_memory = { .name = "system" };
static FakeRegion ram = {
    .name = "pc.ram", .base = RAM_BASE, .size = RAM_SIZE,
};
static FakeRegion bar = {
    .name = "0000:01:00.0 BAR 0 mmaps[0]", .base = BAR_BASE,
    .size = BAR_SIZE, .ram_device = true,
};
static FakeRegion other_bar = {
    .name = "0000:02:00.0 BAR 0 mmaps[0]", .base = OTHER_BASE,
    .size = BAR_SIZE, .ram_device = true,
};
static FakeRegion memfd_bar = {
    .name = "0000:01:00.0 BAR 2 mmaps[0]", .base = MEMFD_BASE,
    .size = BAR_SIZE, .ram_device = true, .guest_memfd = true,
};
static FakeRegion *const memory_map[] = {
    &ram, &bar, &other_bar, &memfd_bar,
};

static FakeRegion *fake_region(const MemoryRegion *mr)
{
    return container_of(mr, FakeRegion, mr);
}

MemoryRegion *get_system_memory(void)
{
    return &system_memory.mr;
}

MemoryRegionSection memory_region_find(MemoryRegion *mr, hwaddr addr,
                                       uint64_t size)
{
    MemoryRegionSection section = { .size = int128_zero() };
    int i;

    g_assert_true(mr == &system_memory.mr);
    for (i = 0; i < ARRAY_SIZE(memory_map); i++) {
        FakeRegion *r = memory_map[i];

        if (addr >= r->base && addr - r->base < r->size) {
            r->refs++;
            section.mr = &r->mr;
            section.offset_within_region = addr - r->base;
            section.offset_within_address_space = addr;
            section.size = int128_make64(MIN(size, r->base + r->size - addr));
            break;
        }
    }
    return section;
}

void memory_region_unref(MemoryRegion *mr)
{
    g_assert_cmpint(fake_region(mr)->refs, >, 0);
    fake_region(mr)->refs--;
}

bool memory_region_is_ram_device(MemoryRegion *mr)
{
    return fake_region(mr)->ram_device;
}

bool memory_region_has_guest_memfd(MemoryRegion *mr)
{
    return fake_region(mr)->guest_memfd;
}

Object *memory_region_owner(MemoryRegion *mr)
{
    return fake_region(mr)->owner;
}

const char *memory_region_name(const MemoryRegion *mr)
{
    return fake_region(mr)->name;
}

Object *qdev_get_machine(void)
{
    return machine;
}

/* As after machine init: the notifier runs at once. */
void qemu_add_machine_init_done_notifier(Notifier *notify)
{
    notify->notify(notify, NULL);
}

/* What a handler answers, and what it was asked. */
typedef struct TestHandler {
    KVMSharedFaultHandler h;
    KVMSharedFaultAction fault_action;
    KVMSharedFaultAction sweep_action;
    unsigned faults;
    MemoryRegion *fault_mr;
    hwaddr fault_offset;
    hwaddr fault_gpa;
    unsigned sweeps;
    unsigned refusals;
    MemoryRegion *refused_mr;
    hwaddr refused_gpa;
    hwaddr refused_size;
    int refused_err;
} TestHandler;

static KVMSharedFaultAction test_fault(KVMSharedFaultHandler *handler,
                                       MemoryRegion *mr, hwaddr offset,
                                       hwaddr gpa, Error **errp)
{
    TestHandler *t = container_of(handler, TestHandler, h);

    t->faults++;
    t->fault_mr = mr;
    t->fault_offset = offset;
    t->fault_gpa = gpa;
    if (t->fault_action == KVM_SHARED_FAULT_FATAL) {
        error_setg(errp, "%s: the BAR mapping cannot be dropped",
                   handler->name);
    }
    return t->fault_action;
}

static KVMSharedFaultAction test_sweep(KVMSharedFaultHandler *handler,
                                       GString *report, Error **errp)
{
    TestHandler *t = container_of(handler, TestHandler, h);

    t->sweeps++;
    g_string_append_printf(report, " %s", handler->name);
    return t->sweep_action;
}

static void test_slot_refused(KVMSharedFaultHandler *handler,
                              MemoryRegion *mr, hwaddr gpa, hwaddr size,
                              int err)
{
    TestHandler *t = container_of(handler, TestHandler, h);

    t->refusals++;
    t->refused_mr = mr;
    t->refused_gpa = gpa;
    t->refused_size = size;
    t->refused_err = err;
}

static void handler_init(TestHandler *t, Object *obj, const char *name)
{
    *t = (TestHandler) {
        .h = {
            .owner = obj,
            .name = name,
            .fault = test_fault,
            .sweep = test_sweep,
            .slot_refused = test_slot_refused,
        },
        .fault_action = KVM_SHARED_FAULT_RETRY,
        .sweep_action = KVM_SHARED_FAULT_NOT_MINE,
    };
    kvm_shared_fault_handler_add(&t->h);
}

static void handler_destroy(TestHandler *t)
{
    kvm_shared_fault_handler_remove(&t->h);
}

/* dev0 owns the BAR, dev1 (registered after it) the other BAR */
static void two_handlers_init(TestHandler *t0, TestHandler *t1)
{
    handler_init(t0, owner, "dev0");
    handler_init(t1, other_owner, "dev1");
}

static void two_handlers_destroy(TestHandler *t0, TestHandler *t1)
{
    handler_destroy(t1);
    handler_destroy(t0);
}

static CPUState cpu = { .cpu_index = 3 };

/* The vCPU's last KVM_RUN succeeded; it enters the next one. */
static void vcpu_enter_kvm_run(void)
{
    kvm_shared_fault_run_done();
    kvm_shared_fault_pre_run();
}

static bool annotated_fault(hwaddr gpa, uint64_t flags, int *ret)
{
    struct kvm_run run = {
        .exit_reason = KVM_EXIT_MEMORY_FAULT,
        .memory_fault = { .flags = flags, .gpa = gpa, .size = 0x1000 },
    };
    bool ours;

    *ret = 42;
    ours = kvm_shared_memory_fault(&cpu, &run, ret);
    if (!ours) {
        g_assert_cmpint(*ret, ==, 42);
    }
    return ours;
}

static bool bare_efault(int *ret)
{
    /* The exit_reason of an earlier exit, not a memory fault */
    struct kvm_run run = { .exit_reason = KVM_EXIT_MMIO };
    bool ours;

    *ret = 42;
    ours = kvm_shared_memory_fault(&cpu, &run, ret);
    if (!ours) {
        g_assert_cmpint(*ret, ==, 42);
    }
    return ours;
}

static uint64_t counter(const char *name)
{
    return object_property_get_uint(machine, name, &error_abort);
}

static void assert_unreferenced(void)
{
    int i;

    for (i = 0; i < ARRAY_SIZE(memory_map); i++) {
        g_assert_cmpint(memory_map[i]->refs, ==, 0);
    }
}

/* A deletion covering the gpa while the vCPU ran: retried, owner unasked */
static void test_stale(void)
{
    TestHandler t;
    uint64_t stale;
    int ret;

    handler_init(&t, owner, "dev0");
    stale = counter("x-kvm-memory-faults-stale");
    vcpu_enter_kvm_run();
    kvm_shared_fault_memslot_deleted(BAR_BASE, BAR_SIZE);
    g_assert_true(annotated_fault(BAR_BASE + 0x2000, 0, &ret));
    g_assert_cmpint(ret, ==, 0);
    g_assert_cmpuint(t.faults, ==, 0);
    g_assert_cmpuint(counter("x-kvm-memory-faults-stale"), ==, stale + 1);

    /* Whatever is at the gpa now: here RAM, where the BAR was */
    vcpu_enter_kvm_run();
    kvm_shared_fault_memslot_deleted(RAM_BASE, 0x2000);
    g_assert_true(annotated_fault(RAM_BASE + 0x1000, 0, &ret));
    g_assert_cmpint(ret, ==, 0);
    g_assert_cmpuint(t.faults, ==, 0);
    g_assert_cmpuint(counter("x-kvm-memory-faults-stale"), ==, stale + 2);

    handler_destroy(&t);
    assert_unreferenced();
}

/* Deletions elsewhere, or before the vCPU entered KVM_RUN, do not count */
static void test_not_stale(void)
{
    TestHandler t;
    int ret;

    handler_init(&t, owner, "dev0");
    kvm_shared_fault_memslot_deleted(BAR_BASE, BAR_SIZE);
    vcpu_enter_kvm_run();
    kvm_shared_fault_memslot_deleted(RAM_BASE, RAM_SIZE);
    /* Ends right below the faulting page */
    kvm_shared_fault_memslot_deleted(BAR_BASE, 0x2000);
    g_assert_true(annotated_fault(BAR_BASE + 0x2000, 0, &ret));
    g_assert_cmpint(ret, ==, 0);
    g_assert_cmpuint(t.faults, ==, 1);

    /* Not stale, and RAM: not ours */
    vcpu_enter_kvm_run();
    kvm_shared_fault_memslot_deleted(RAM_BASE + 0x2000, 0x1000);
    g_assert_false(annotated_fault(RAM_BASE + 0x1000, 0, &ret));

    handler_destroy(&t);
    assert_unreferenced();
}

/* As many deletions as the ring holds are judged; one more is stale */
static void test_stale_ring_overflow(void)
{
    TestHandler t;
    int ret, i;

    handler_init(&t, owner, "dev0");
    vcpu_enter_kvm_run();
    for (i = 0; i < KVM_SHARED_FAULT_DELETIONS; i++) {
        kvm_shared_fault_memslot_deleted(RAM_BASE + i * 0x1000, 0x1000);
    }
    g_assert_true(annotated_fault(BAR_BASE, 0, &ret));
    g_assert_cmpint(ret, ==, 0);
    g_assert_cmpuint(t.faults, ==, 1);

    kvm_shared_fault_memslot_deleted(RAM_BASE, 0x1000);
    g_assert_true(annotated_fault(BAR_BASE, 0, &ret));
    g_assert_cmpint(ret, ==, 0);
    g_assert_cmpuint(t.faults, ==, 1);

    /* Even for a gpa in RAM */
    g_assert_true(annotated_fault(RAM_BASE + RAM_SIZE - 0x1000, 0, &ret));
    g_assert_cmpint(ret, ==, 0);

    handler_destroy(&t);
    assert_unreferenced();
}

/* A fault on the owner's BAR goes to the owner; its RETRY re-enters */
static void test_owner(void)
{
    TestHandler t, t_other;
    uint64_t annotated, exits;
    int ret;

    /* A handler for another owner, registered later, is not asked */
    two_handlers_init(&t, &t_other);
    annotated = counter("x-kvm-memory-faults");
    exits = counter("x-kvm-memory-fault-exits");
    vcpu_enter_kvm_run();
    g_assert_true(annotated_fault(BAR_BASE + 0x1234, 0, &ret));
    g_assert_cmpint(ret, ==, 0);
    g_assert_cmpuint(t.faults, ==, 1);
    g_assert_true(t.fault_mr == &bar.mr);
    g_assert_cmphex(t.fault_offset, ==, 0x1234);
    g_assert_cmphex(t.fault_gpa, ==, BAR_BASE + 0x1234);
    g_assert_cmpuint(t_other.faults, ==, 0);
    g_assert_cmpuint(t.sweeps + t_other.sweeps, ==, 0);
    g_assert_cmpuint(counter("x-kvm-memory-faults"), ==, annotated + 1);
    g_assert_cmpuint(counter("x-kvm-memory-fault-exits"), ==, exits + 1);

    two_handlers_destroy(&t, &t_other);
    assert_unreferenced();
}

static void test_not_mine(void)
{
    TestHandler t;
    int ret;

    /* No handler at all */
    vcpu_enter_kvm_run();
    g_assert_false(annotated_fault(BAR_BASE, 0, &ret));
    g_assert_false(bare_efault(&ret));

    handler_init(&t, owner, "dev0");
    /* Private memory, even on the owner's BAR; and unknown flags */
    g_assert_false(annotated_fault(BAR_BASE, KVM_MEMORY_EXIT_FLAG_PRIVATE,
                                   &ret));
    g_assert_false(annotated_fault(BAR_BASE, 1ULL << 63, &ret));
    /* Ordinary RAM, nothing deleted */
    g_assert_false(annotated_fault(RAM_BASE + 0x1000, 0, &ret));
    /* Another device's BAR, nothing at all */
    g_assert_false(annotated_fault(OTHER_BASE, 0, &ret));
    g_assert_false(annotated_fault(UNMAPPED, 0, &ret));
    g_assert_cmpuint(t.faults, ==, 0);

    /* The owner says so */
    t.fault_action = KVM_SHARED_FAULT_NOT_MINE;
    g_assert_false(annotated_fault(BAR_BASE, 0, &ret));
    g_assert_cmpuint(t.faults, ==, 1);
    g_assert_cmpuint(t.sweeps, ==, 0);

    handler_destroy(&t);
    assert_unreferenced();
}

/*
 * The cases below stop the VM and say why on stderr: each runs in a
 * subprocess whose stderr is checked.
 */
static void test_fatal(void)
{
    TestHandler t;
    int ret;

    if (g_test_subprocess()) {
        uint64_t fatal;

        handler_init(&t, owner, "dev0");
        fatal = counter("x-kvm-memory-faults-fatal");
        vcpu_enter_kvm_run();
        t.fault_action = KVM_SHARED_FAULT_FATAL;
        g_assert_true(annotated_fault(BAR_BASE + 0x5000, 0, &ret));
        g_assert_cmpint(ret, ==, -1);
        g_assert_cmpuint(t.faults, ==, 1);
        g_assert_cmpuint(counter("x-kvm-memory-faults-fatal"), ==, fatal + 1);
        handler_destroy(&t);
        assert_unreferenced();
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("*vCPU 3: KVM_RUN failed with EFAULT at gpa "
                              "0xfe005000 (size 0x1000): the gpa is in "
                              "0000:01:00.0 BAR 0 mmaps[0] of dev0: "
                              "dev0: the BAR mapping cannot be dropped*");
}

/* An owner that keeps answering RETRY stops the VM after the bound */
static void test_bound(void)
{
    TestHandler t;
    int ret;

    if (g_test_subprocess()) {
        handler_init(&t, owner, "dev0");
        vcpu_enter_kvm_run();
        g_assert_true(annotated_fault(BAR_BASE, 0, &ret));
        g_assert_cmpint(ret, ==, 0);
        /* Retrying all the while: the bound counts from the first fault */
        g_usleep((KVM_SHARED_FAULT_TIMEOUT_MS - 500) * 1000);
        kvm_shared_fault_pre_run();
        g_assert_true(annotated_fault(BAR_BASE, 0, &ret));
        g_assert_cmpint(ret, ==, 0);
        g_usleep(700 * 1000);
        kvm_shared_fault_pre_run();
        g_assert_true(annotated_fault(BAR_BASE, 0, &ret));
        g_assert_cmpint(ret, ==, -1);
        g_assert_cmpuint(t.faults, ==, 3);

        /* A KVM_RUN that succeeds starts over */
        vcpu_enter_kvm_run();
        g_assert_true(annotated_fault(BAR_BASE, 0, &ret));
        g_assert_cmpint(ret, ==, 0);
        handler_destroy(&t);
        assert_unreferenced();
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("*vCPU 3: KVM_RUN failed with EFAULT at gpa "
                              "0xfe000000 (size 0x1000): the gpa is in "
                              "0000:01:00.0 BAR 0 mmaps[0] of dev0: "
                              "KVM_RUN has failed 3 times in * ms "
                              "(bound 3000 ms)*");
}

/* A bare EFAULT: every owner sweeps until one fixed something */
static void test_bare_retry(void)
{
    TestHandler t0, t1;
    uint64_t bare, fixed;
    int ret;

    two_handlers_init(&t0, &t1);
    bare = counter("x-kvm-memory-fault-bare-efaults");
    fixed = counter("x-kvm-memory-fault-sweeps-fixed");
    vcpu_enter_kvm_run();
    t0.sweep_action = KVM_SHARED_FAULT_RETRY;
    g_assert_true(bare_efault(&ret));
    g_assert_cmpint(ret, ==, 0);
    /* dev1 was registered last: asked first */
    g_assert_cmpuint(t1.sweeps, ==, 1);
    g_assert_cmpuint(t0.sweeps, ==, 1);
    g_assert_cmpuint(t0.faults + t1.faults, ==, 0);
    g_assert_cmpuint(counter("x-kvm-memory-fault-bare-efaults"), ==, bare + 1);
    g_assert_cmpuint(counter("x-kvm-memory-fault-sweeps-fixed"), ==, fixed + 1);

    /* Nothing to fix, but some memslot went away meanwhile: retried */
    t0.sweep_action = KVM_SHARED_FAULT_NOT_MINE;
    vcpu_enter_kvm_run();
    kvm_shared_fault_memslot_deleted(RAM_BASE, 0x1000);
    g_assert_true(bare_efault(&ret));
    g_assert_cmpint(ret, ==, 0);
    g_assert_cmpuint(t0.sweeps, ==, 2);
    g_assert_cmpuint(t1.sweeps, ==, 2);
    g_assert_cmpuint(counter("x-kvm-memory-fault-sweeps-fixed"), ==, fixed + 1);

    two_handlers_destroy(&t0, &t1);
}

static void test_bare_fatal(void)
{
    TestHandler t0, t1;
    int ret;

    if (g_test_subprocess()) {
        two_handlers_init(&t0, &t1);
        vcpu_enter_kvm_run();
        g_assert_true(bare_efault(&ret));
        g_assert_cmpint(ret, ==, -1);
        g_assert_cmpuint(t0.sweeps, ==, 1);
        g_assert_cmpuint(t1.sweeps, ==, 1);
        two_handlers_destroy(&t0, &t1);
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("*vCPU 3: KVM_RUN failed with EFAULT: "
                              "no address (the kernel does not report one), "
                              "checked dev1 dev0: "
                              "no mapping was found that should be gone*");
}

static void test_slot_refused_cases(void)
{
    TestHandler t;

    handler_init(&t, owner, "dev0");
    g_assert_true(kvm_shared_fault_slot_refused(&bar.mr, BAR_BASE, BAR_SIZE,
                                                -EINVAL));
    g_assert_cmpuint(t.refusals, ==, 1);
    g_assert_true(t.refused_mr == &bar.mr);
    g_assert_cmphex(t.refused_gpa, ==, BAR_BASE);
    g_assert_cmphex(t.refused_size, ==, BAR_SIZE);
    g_assert_cmpint(t.refused_err, ==, -EINVAL);

    /* Guest RAM, guest_memfd memory, another device's BAR */
    g_assert_false(kvm_shared_fault_slot_refused(&ram.mr, RAM_BASE, RAM_SIZE,
                                                 -EINVAL));
    g_assert_false(kvm_shared_fault_slot_refused(&memfd_bar.mr, MEMFD_BASE,
                                                 BAR_SIZE, -EINVAL));
    g_assert_false(kvm_shared_fault_slot_refused(&other_bar.mr, OTHER_BASE,
                                                 BAR_SIZE, -EINVAL));
    g_assert_cmpuint(t.refusals, ==, 1);

    /* An owner without the callback: the VM aborts as it always did */
    t.h.slot_refused = NULL;
    g_assert_false(kvm_shared_fault_slot_refused(&bar.mr, BAR_BASE, BAR_SIZE,
                                                 -EINVAL));
    handler_destroy(&t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    module_call_init(MODULE_INIT_QOM);
    /* The stubs' BQL, made to report itself held */
    rust_bql_mock_lock();

    machine = object_new(TYPE_CONTAINER);
    owner = object_new(TYPE_CONTAINER);
    other_owner = object_new(TYPE_CONTAINER);
    bar.owner = owner;
    memfd_bar.owner = owner;
    other_bar.owner = other_owner;

    g_test_add_func("/kvm-memory-fault/stale", test_stale);
    g_test_add_func("/kvm-memory-fault/not-stale", test_not_stale);
    g_test_add_func("/kvm-memory-fault/stale-ring-overflow",
                    test_stale_ring_overflow);
    g_test_add_func("/kvm-memory-fault/owner", test_owner);
    g_test_add_func("/kvm-memory-fault/not-mine", test_not_mine);
    g_test_add_func("/kvm-memory-fault/fatal", test_fatal);
    g_test_add_func("/kvm-memory-fault/bound", test_bound);
    g_test_add_func("/kvm-memory-fault/bare-retry", test_bare_retry);
    g_test_add_func("/kvm-memory-fault/bare-fatal", test_bare_fatal);
    g_test_add_func("/kvm-memory-fault/slot-refused",
                    test_slot_refused_cases);
    return g_test_run();
}

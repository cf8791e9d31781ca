/*
 * Unit tests for guarded accesses to memory that can be revoked
 *
 * A shared mapping of a memfd that is then truncated is what a revoked
 * device mapping looks like to QEMU: every access raises SIGBUS with
 * BUS_ADRERR.
 *
 * Copyright (c) 2026 vfio-bar-ur developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bitops.h"
#include "qemu/sigbus-guard.h"

static sigjmp_buf unguarded_env;
static volatile sig_atomic_t unguarded_sigbus;

/*
 * Like QEMU's SIGBUS handler, ask the guard first; a SIGBUS that it does
 * not take is counted, and the test jumps out of the faulting access.
 */
static void sigbus_handler(int sig, siginfo_t *info, void *ctx)
{
    sigbus_guard_check(info);
    unguarded_sigbus++;
    siglongjmp(unguarded_env, 1);
}

typedef struct Mapping {
    int fd;
    void *host;
    size_t size;
} Mapping;

static void mapping_init(Mapping *m)
{
    m->size = qemu_real_host_page_size();
    m->fd = memfd_create("test-sigbus-guard", MFD_CLOEXEC);
    g_assert_cmpint(m->fd, >=, 0);
    g_assert_cmpint(ftruncate(m->fd, m->size), ==, 0);
    m->host = mmap(NULL, m->size, PROT_READ | PROT_WRITE, MAP_SHARED,
                   m->fd, 0);
    g_assert_true(m->host != MAP_FAILED);
}

static void mapping_revoke(Mapping *m)
{
    g_assert_cmpint(ftruncate(m->fd, 0), ==, 0);
}

static void mapping_destroy(Mapping *m)
{
    munmap(m->host, m->size);
    close(m->fd);
}

static void assert_sigbus_unblocked(void)
{
    sigset_t set;

    g_assert_cmpint(pthread_sigmask(SIG_BLOCK, NULL, &set), ==, 0);
    g_assert_false(sigismember(&set, SIGBUS));
}

static void test_intact(void)
{
    uint64_t data = 0x0123456789abcdefULL;
    unsigned size;
    Mapping m;

    mapping_init(&m);
    for (size = 1; size <= 8; size *= 2) {
        uint64_t back = 0;

        g_assert_true(qemu_guarded_access(m.host, size, &data, true));
        g_assert_true(qemu_guarded_access(m.host, size, &back, false));
        g_assert_cmphex(back, ==, data & MAKE_64BIT_MASK(0, size * 8));
    }
    mapping_destroy(&m);
}

static void test_revoked(void)
{
    uint64_t data = 0x5a5a5a5a;
    Mapping m;

    mapping_init(&m);
    mapping_revoke(&m);
    unguarded_sigbus = 0;
    g_assert_false(qemu_guarded_access(m.host, 8, &data, false));
    g_assert_cmphex(data, ==, 0x5a5a5a5a);
    g_assert_false(qemu_guarded_access(m.host, 4, &data, true));
    /* Caught by the guard, and the jump restored the signal mask. */
    g_assert_cmpint(unguarded_sigbus, ==, 0);
    assert_sigbus_unblocked();
    mapping_destroy(&m);
}

/* No guard is left behind: a later unguarded SIGBUS is not caught. */
static void test_unguarded_not_caught(void)
{
    uint64_t data;
    Mapping m;

    mapping_init(&m);
    mapping_revoke(&m);
    g_assert_false(qemu_guarded_access(m.host, 8, &data, false));
    unguarded_sigbus = 0;
    if (!sigsetjmp(unguarded_env, 1)) {
        /* volatile: the load must happen, its value does not matter */
        data = *(volatile uint8_t *)m.host;
        g_assert_not_reached();
    }
    g_assert_cmpint(unguarded_sigbus, ==, 1);
    mapping_destroy(&m);
}

/*
 * A thread that blocks SIGBUS cannot take it: a synchronous SIGBUS would
 * kill the process whatever the handler, so the access is made unguarded.
 */
static void test_blocked_thread_unguarded(void)
{
    uint64_t data = 0x42, back = 0;
    sigset_t set, old;
    Mapping m;

    mapping_init(&m);
    sigemptyset(&set);
    sigaddset(&set, SIGBUS);
    g_assert_cmpint(pthread_sigmask(SIG_BLOCK, &set, &old), ==, 0);
    g_assert_true(qemu_guarded_access(m.host, 1, &data, true));
    g_assert_true(qemu_guarded_access(m.host, 1, &back, false));
    g_assert_cmphex(back, ==, 0x42);
    g_assert_cmpint(pthread_sigmask(SIG_SETMASK, &old, NULL), ==, 0);
    mapping_destroy(&m);
}

int main(int argc, char **argv)
{
    struct sigaction action = {
        .sa_sigaction = sigbus_handler,
        .sa_flags = SA_SIGINFO,
    };

    g_test_init(&argc, &argv, NULL);
    g_assert_cmpint(sigaction(SIGBUS, &action, NULL), ==, 0);

    g_test_add_func("/sigbus-guard/intact", test_intact);
    g_test_add_func("/sigbus-guard/revoked", test_revoked);
    g_test_add_func("/sigbus-guard/unguarded-not-caught",
                    test_unguarded_not_caught);
    g_test_add_func("/sigbus-guard/blocked-thread-unguarded",
                    test_blocked_thread_unguarded);
    return g_test_run();
}

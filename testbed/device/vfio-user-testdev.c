/*
 * vfio-user test device: a libvfio-user server whose memory BAR is revoked
 * when the guest turns memory decoding off, the way the Linux vfio-pci driver
 * revokes the mmaps of a passthrough device.  See README.md.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "testdev.h"

#define DEFAULT_BAR_SIZE    (2 * 1024 * 1024)
#define MAX_BAR32_SIZE      (1ULL << 31)

typedef struct Options {
    const char *socket_path;
    const char *control_path;
    const char *stats_path;
    uint64_t bar_size;
    bool bar32;
    bool pm_d1d2;
    bool no_revoke;
    bool flr_clears_command;
    bool msix;
    bool no_mmap;
    bool vga;
    bool verbose;
} Options;

static const char usage_text[] =
    "Usage: " TESTDEV_NAME " --socket PATH [--bar-size BYTES|NK|NM|NG]\n"
    "       [--bar32] [--pm-d1d2] [--no-revoke] [--flr-clears-command]\n"
    "       [--msix] [--no-mmap] [--vga] [--control PATH] [--stats-file PATH]\n"
    "       [--verbose]\n"
    "\n"
    "vfio-user PCI device (1234:7ee0) with one memory BAR that is revoked\n"
    "while memory decoding is off, like vfio-pci.  Serves one client, then\n"
    "exits when it disconnects.\n"
    "\n"
    "  --socket PATH      vfio-user socket to listen on\n"
    "  --bar-size SIZE    BAR0 size, a power of two (default 2M)\n"
    "  --bar32            make BAR0 a 32-bit BAR (default 64-bit)\n"
    "  --pm-d1d2          advertise D1 and D2 besides D0 and D3hot\n"
    "  --no-revoke        keep BAR0 mapped while decoding is off\n"
    "  --flr-clears-command  an FLR leaves Command at 0 (default: restored\n"
    "                     after the reset, as the host's vfio-pci does)\n"
    "  --msix             an MSI-X capability with 4 vectors, its table at\n"
    "                     BAR0 + 1M and its PBA at BAR0 + 1M + 4K\n"
    "  --no-mmap          offer no mmap of BAR0: every access is a message\n"
    "  --vga              class code VGA-compatible display controller, so\n"
    "                     that a Linux guest's VGA arbiter takes it in\n"
    "  --control PATH     control socket (stats, reset, revoke on|off)\n"
    "  --stats-file PATH  write the counters there as JSON at exit\n"
    "  --verbose          log each state change on stderr\n";

void testdev_log(const Testdev *dev, const char *fmt, ...)
{
    va_list ap;

    if (!dev->verbose) {
        return;
    }
    va_start(ap, fmt);
    fprintf(stderr, TESTDEV_NAME ": ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void testdev_die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fprintf(stderr, TESTDEV_NAME ": ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(EXIT_FAILURE);
}

static void __attribute__((format(printf, 1, 2), noreturn))
usage_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fprintf(stderr, TESTDEV_NAME ": ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see --help)\n");
    va_end(ap);
    exit(2);
}

/* Like a server socket in QEMU: a socket left behind by a dead server goes. */
void unlink_stale_socket(const char *path)
{
    struct stat st;

    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
        unlink(path);
    }
}

/* BYTES, or a count of KiB, MiB or GiB with a K, M or G suffix. */
static bool parse_size(const char *s, uint64_t *size)
{
    unsigned long long v;
    unsigned int shift = 0;
    char *end;

    if (*s < '0' || *s > '9') {
        return false;
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0) {
        return false;
    }
    switch (*end) {
    case 'K':
    case 'k':
        shift = 10;
        end++;
        break;
    case 'M':
    case 'm':
        shift = 20;
        end++;
        break;
    case 'G':
    case 'g':
        shift = 30;
        end++;
        break;
    }
    if (*end != '\0' || v > (UINT64_MAX >> shift)) {
        return false;
    }
    *size = (uint64_t)v << shift;
    return true;
}

/*
 * PCI BAR sizes are powers of two, and the client maps BAR0, so it must be
 * whole pages.
 */
static void check_bar_size(const Options *opts)
{
    uint64_t size = opts->bar_size;
    long page_size = sysconf(_SC_PAGESIZE);

    if (size & (size - 1) || size < (uint64_t)page_size) {
        usage_error("--bar-size must be a power of two of at least %ld bytes",
                    page_size);
    }
    if (opts->bar32 && size > MAX_BAR32_SIZE) {
        usage_error("--bar-size must be at most 2G with --bar32");
    }
    if (opts->msix && size < 2 * 1024 * 1024) {
        usage_error("--msix needs a BAR0 of at least 2M");
    }
}

enum {
    OPT_BAR32 = 256,
    OPT_PM_D1D2,
    OPT_NO_REVOKE,
    OPT_FLR_CLEARS_COMMAND,
    OPT_MSIX,
    OPT_NO_MMAP,
    OPT_VGA,
    OPT_STATS_FILE,
};

static void parse_args(int argc, char **argv, Options *opts)
{
    static const struct option long_opts[] = {
        { "socket", required_argument, NULL, 's' },
        { "bar-size", required_argument, NULL, 'b' },
        { "bar32", no_argument, NULL, OPT_BAR32 },
        { "pm-d1d2", no_argument, NULL, OPT_PM_D1D2 },
        { "no-revoke", no_argument, NULL, OPT_NO_REVOKE },
        { "flr-clears-command", no_argument, NULL, OPT_FLR_CLEARS_COMMAND },
        { "msix", no_argument, NULL, OPT_MSIX },
        { "no-mmap", no_argument, NULL, OPT_NO_MMAP },
        { "vga", no_argument, NULL, OPT_VGA },
        { "control", required_argument, NULL, 'c' },
        { "stats-file", required_argument, NULL, OPT_STATS_FILE },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct sockaddr_un addr;
    int c;

    *opts = (Options) { .bar_size = DEFAULT_BAR_SIZE };
    opterr = 0;

    while ((c = getopt_long(argc, argv, ":s:b:c:vh", long_opts, NULL)) != -1) {
        switch (c) {
        case 's':
            opts->socket_path = optarg;
            break;
        case 'b':
            if (!parse_size(optarg, &opts->bar_size)) {
                usage_error("invalid --bar-size '%s'", optarg);
            }
            break;
        case OPT_BAR32:
            opts->bar32 = true;
            break;
        case OPT_PM_D1D2:
            opts->pm_d1d2 = true;
            break;
        case OPT_NO_REVOKE:
            opts->no_revoke = true;
            break;
        case OPT_FLR_CLEARS_COMMAND:
            opts->flr_clears_command = true;
            break;
        case OPT_MSIX:
            opts->msix = true;
            break;
        case OPT_NO_MMAP:
            opts->no_mmap = true;
            break;
        case OPT_VGA:
            opts->vga = true;
            break;
        case 'c':
            opts->control_path = optarg;
            break;
        case OPT_STATS_FILE:
            opts->stats_path = optarg;
            break;
        case 'v':
            opts->verbose = true;
            break;
        case 'h':
            fputs(usage_text, stdout);
            exit(EXIT_SUCCESS);
        case ':':
            usage_error("option '%s' needs an argument", argv[optind - 1]);
        default:
            usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }

    if (optind < argc) {
        usage_error("unexpected argument '%s'", argv[optind]);
    }
    if (opts->socket_path == NULL) {
        usage_error("--socket PATH is required");
    }
    if (strlen(opts->socket_path) >= sizeof(addr.sun_path) ||
        (opts->control_path &&
         strlen(opts->control_path) >= sizeof(addr.sun_path))) {
        usage_error("socket path longer than %zu bytes",
                    sizeof(addr.sun_path) - 1);
    }
    check_bar_size(opts);
}

/*
 * VFIO_USER_DEVICE_RESET, which QEMU sends on every system reset.  A lost
 * connection ends the event loop instead, and an FLR comes as a config write
 * (config_access() sees every one), so only a device reset needs handling.
 */
static int device_reset(vfu_ctx_t *vfu, vfu_reset_type_t type)
{
    Testdev *dev = vfu_get_private(vfu);

    if (type == VFU_RESET_DEVICE) {
        dev->stats.device_resets++;
        testdev_log(dev, "device reset");
        config_function_reset(dev);
    }
    return 0;
}

/*
 * The context is non-blocking (LIBVFIO_USER_FLAG_ATTACH_NB) so that one
 * poll() loop serves the vfio-user client, the control socket and signals.
 */
static void testdev_setup(Testdev *dev, const Options *opts)
{
    dev->pm_d1d2 = opts->pm_d1d2;
    dev->revoke = !opts->no_revoke;
    dev->flr_clears_command = opts->flr_clears_command;
    dev->msix = opts->msix;
    dev->no_mmap = opts->no_mmap;
    dev->vga = opts->vga;
    dev->verbose = opts->verbose;

    unlink_stale_socket(opts->socket_path);
    dev->vfu = vfu_create_ctx(VFU_TRANS_SOCK, opts->socket_path,
                              LIBVFIO_USER_FLAG_ATTACH_NB, dev,
                              VFU_DEV_TYPE_PCI);
    if (dev->vfu == NULL) {
        testdev_die("listening on %s: %s", opts->socket_path, strerror(errno));
    }
    if (config_setup_region(dev) < 0) {
        testdev_die("setting up config space: %s", strerror(errno));
    }
    if (bar_setup_region(dev, opts->bar_size, !opts->bar32) < 0) {
        testdev_die("setting up BAR0: %s", strerror(errno));
    }
    if (dev->msix && vfu_setup_device_nr_irqs(dev->vfu, VFU_DEV_MSIX_IRQ,
                                              TESTDEV_MSIX_VECTORS) < 0) {
        testdev_die("setting up MSI-X: %s", strerror(errno));
    }
    if (vfu_setup_device_reset_cb(dev->vfu, device_reset) < 0) {
        testdev_die("setting up reset: %s", strerror(errno));
    }
    if (vfu_realize_ctx(dev->vfu) < 0) {
        testdev_die("realizing device: %s", strerror(errno));
    }
    if (config_init(dev) < 0) {
        testdev_die("setting up capabilities: %s", strerror(errno));
    }
}

static int signals_setup(void)
{
    sigset_t mask;

    /* A client that goes away mid-reply must show up as an error. */
    signal(SIGPIPE, SIG_IGN);

    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
        return -1;
    }
    return signalfd(-1, &mask, SFD_CLOEXEC);
}

static void log_signal(const Testdev *dev, int sigfd)
{
    struct signalfd_siginfo info;

    if (read(sigfd, &info, sizeof(info)) == sizeof(info)) {
        testdev_log(dev, "stopping on %s", strsignal(info.ssi_signo));
    }
}

/* Returns true once a client is attached. */
static bool attach_client(const Testdev *dev)
{
    if (vfu_attach_ctx(dev->vfu) == 0) {
        testdev_log(dev, "client attached");
        return true;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
        testdev_die("attaching client: %s", strerror(errno));
    }
    return false;
}

/* Returns false once the client has disconnected. */
static bool serve_client(const Testdev *dev)
{
    if (vfu_run_ctx(dev->vfu) >= 0) {
        return true;
    }
    if (errno != ENOTCONN) {
        testdev_die("serving client: %s", strerror(errno));
    }
    testdev_log(dev, "client disconnected");
    return false;
}

/* Serve until the client disconnects or SIGINT/SIGTERM arrives. */
static void serve(Testdev *dev, Control *ctl, int sigfd)
{
    bool attached = false;

    for (;;) {
        struct pollfd fds[2 + CONTROL_MAX_FDS];
        nfds_t nfds = 0;

        fds[nfds++] = (struct pollfd) { .fd = sigfd, .events = POLLIN };
        fds[nfds++] = (struct pollfd) { .fd = vfu_get_poll_fd(dev->vfu),
                                        .events = POLLIN };
        nfds += control_pollfds(ctl, &fds[nfds]);

        if (poll(fds, nfds, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            testdev_die("poll: %s", strerror(errno));
        }

        if (fds[0].revents) {
            log_signal(dev, sigfd);
            return;
        }
        if (fds[1].revents) {
            if (!attached) {
                attached = attach_client(dev);
            } else if (!serve_client(dev)) {
                return;
            }
        }
        control_dispatch(ctl, dev, &fds[2], nfds - 2);
    }
}

int main(int argc, char **argv)
{
    Testdev dev = { 0 };
    Control ctl;
    Options opts;
    int sigfd;

    parse_args(argc, argv, &opts);

    sigfd = signals_setup();
    if (sigfd < 0) {
        testdev_die("setting up signals: %s", strerror(errno));
    }
    testdev_setup(&dev, &opts);
    if (control_open(&ctl, opts.control_path) < 0) {
        testdev_die("control socket %s: %s", opts.control_path,
                    strerror(errno));
    }

    serve(&dev, &ctl, sigfd);

    if (opts.stats_path && stats_write_file(&dev, opts.stats_path) < 0) {
        testdev_die("writing %s: %s", opts.stats_path, strerror(errno));
    }

    control_close(&ctl);
    vfu_destroy_ctx(dev.vfu);
    unlink(opts.socket_path);
    bar_cleanup(&dev.bar);
    return EXIT_SUCCESS;
}

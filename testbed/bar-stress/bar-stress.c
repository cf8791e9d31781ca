/*
 * bar-stress: race accesses to a PCI device's memory BAR against the ways a
 * Linux kernel stops the device decoding it, from inside a (virtual)
 * machine, and check what the device answers: while it decodes, what was
 * written; while it does not, all-ones (an Unsupported Request).
 *
 * Threads hammer the BAR through the sysfs resourceN mmap; one thread
 * disables and re-enables decoding through the chosen trigger.  They share
 * a state word (sequence number and phase), so that an access is judged
 * only when the phase was the same before and after it; one that straddles
 * a change is counted, not judged.  See README.md.
 *
 * Copyright (c) 2026 vfio-bar-ur developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PCI_COMMAND             0x04
#define PCI_COMMAND_MEMORY      0x2
#define PCI_STATUS              0x06
#define PCI_STATUS_CAP_LIST     0x10
#define PCI_CAPABILITY_LIST     0x34
#define PCI_CAP_ID_PM           0x01
#define PCI_PM_CTRL             4
#define PCI_PM_CTRL_STATE_MASK  0x3
#define PCI_CLASS_DISPLAY_VGA   0x0300
#define IORESOURCE_MEM          0x200

/* Bytes each hammer owns at a time: less if the window is small. */
#define SLOT_SIZE_MAX           64
#define SLOT_WORDS_MAX          (SLOT_SIZE_MAX / 8)
/* Accesses a hammer makes in one slot before it moves to the next. */
#define SLOT_ROUND              4096
#define MAX_THREADS             64

enum trigger {
    TRIGGER_CONFIG,
    TRIGGER_RUNTIME_PM,
    TRIGGER_VGAARB,
    TRIGGER_RESET,
    TRIGGER_UNBIND,
};

static const char *const trigger_names[] = {
    [TRIGGER_CONFIG] = "config",
    [TRIGGER_RUNTIME_PM] = "runtime-pm",
    [TRIGGER_VGAARB] = "vgaarb",
    [TRIGGER_RESET] = "reset",
    [TRIGGER_UNBIND] = "unbind",
};

/*
 * The state word: sequence number << 2 | phase.  DECODING and DISABLED are
 * what the trigger thread read back from the device; TRANSITION covers the
 * trigger's action itself, when the device may be in either state.
 */
enum phase { DECODING, TRANSITION, DISABLED };

struct options {
    char bdf[32];
    int bar;
    enum trigger trigger;
    double seconds;
    int threads;
    uint64_t window_off, window_len;
    bool window_given;
    bool read_only;
    bool force;
    double hold_ms;
    uint64_t seed;
    char vga_peer[32];
};

struct hammer {
    pthread_t thread;
    int index;
    uint64_t rng;
    uint64_t reads, writes, ones, data_ok, straddles, transition_ones;
    uint64_t data_errors, ur_errors;
    char first_error[200];
} __attribute__((aligned(64)));

struct device {
    char path[64];          /* /sys/bus/pci/devices/BDF */
    char driver[64];
    uint16_t vendor, devid;
    uint32_t class;
    uint64_t bar_start, bar_size;
    int config_fd;
    uint8_t pm_cap;
    uint16_t saved_command, saved_pmcsr;
    char saved_power_control[16];
    bool saved;             /* the fields above hold what was found */
    bool unbound;           /* by us, not yet bound back */
};

static struct options opt = {
    .bar = -1, .seconds = 10, .threads = 2, .hold_ms = 2, .seed = 1,
};
static struct device dev;
static volatile uint8_t *bar_map;
static size_t bar_map_len;
static uint8_t *window_saved;
static struct hammer hammers[MAX_THREADS];
static unsigned slot_words;
static _Atomic uint64_t state_word;
static atomic_bool stop_hammers;
static volatile sig_atomic_t interrupted;
static int vgaarb_fd = -1;

/* What the trigger thread counts; the hammers read cycles for a report. */
static _Atomic uint64_t cycles;
static uint64_t not_disabled, enable_failures;
static char first_disabled_state[96], first_not_disabled[160];
static char vgaarb_start[128], vgaarb_peer_start[128];

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void restore_device(void);

static void die(const char *fmt, ...)
{
    va_list ap;

    fputs("bar-stress: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    restore_device();
    printf("RESULT: FAIL bar-stress: could not run (see the error above)\n");
    exit(2);
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(double ms)
{
    struct timespec ts = {
        .tv_sec = (time_t)(ms / 1000),
        .tv_nsec = (long)((ms - (time_t)(ms / 1000) * 1000) * 1e6),
    };

    while (nanosleep(&ts, &ts) && errno == EINTR && !interrupted) {
        continue;
    }
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* --- sysfs ------------------------------------------------------------ */

static int read_file(const char *name, char *buf, size_t len)
{
    char path[PATH_MAX];
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "%s/%s", dev.path, name);
    fd = open(path, O_RDONLY);
    if (fd < 0) {
        return -errno;
    }
    n = read(fd, buf, len - 1);
    close(fd);
    if (n < 0) {
        return -errno;
    }
    buf[n] = 0;
    buf[strcspn(buf, "\n")] = 0;
    return 0;
}

/* Writes STR to the sysfs file PATH; returns 0 or -errno. */
static int write_path(const char *path, const char *str)
{
    int fd = open(path, O_WRONLY);
    int ret = 0;

    if (fd < 0) {
        return -errno;
    }
    if (write(fd, str, strlen(str)) < 0) {
        ret = -errno;
    }
    close(fd);
    return ret;
}

static int write_dev_file(const char *name, const char *str)
{
    char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/%s", dev.path, name);
    return write_path(path, str);
}

/* SIZE (1 or 2) bytes of config space at OFF, little-endian (x86). */
static uint16_t config_read(unsigned off, unsigned size)
{
    uint16_t v = 0;

    if (pread(dev.config_fd, &v, size, off) != size) {
        die("reading config space at 0x%x of %s: %s", off, opt.bdf,
            strerror(errno));
    }
    return v;
}

static uint16_t config_read16(unsigned off)
{
    return config_read(off, 2);
}

static uint8_t config_read8(unsigned off)
{
    return config_read(off, 1);
}

static void config_write16(unsigned off, uint16_t v)
{
    if (pwrite(dev.config_fd, &v, 2, off) != 2) {
        die("writing 0x%04x to config space at 0x%x of %s: %s", v, off,
            opt.bdf, strerror(errno));
    }
}

static uint8_t find_pm_cap(void)
{
    uint8_t pos;
    int guard = 48;

    if (!(config_read16(PCI_STATUS) & PCI_STATUS_CAP_LIST)) {
        return 0;
    }
    for (pos = config_read8(PCI_CAPABILITY_LIST) & ~3; pos && guard--;
         pos = config_read8(pos + 1) & ~3) {
        if (config_read8(pos) == PCI_CAP_ID_PM) {
            return pos;
        }
    }
    return 0;
}

/* Does the device decode its memory BARs?  Puts what it read into DESC. */
static bool device_decodes(char *desc, size_t len)
{
    uint16_t cmd = config_read16(PCI_COMMAND);
    uint16_t pmcsr = dev.pm_cap ? config_read16(dev.pm_cap + PCI_PM_CTRL) : 0;
    bool decodes = (cmd & PCI_COMMAND_MEMORY) &&
                   (pmcsr & PCI_PM_CTRL_STATE_MASK) == 0;

    if (dev.pm_cap) {
        snprintf(desc, len, "Command 0x%04x, PMCSR 0x%04x (D%u)", cmd, pmcsr,
                 pmcsr & PCI_PM_CTRL_STATE_MASK);
    } else {
        snprintf(desc, len, "Command 0x%04x, no PM capability", cmd);
    }
    return decodes;
}

static void wait_runtime_status(const char *want, double timeout_s)
{
    char status[32] = "";
    double end = now() + timeout_s;

    while (now() < end && !interrupted) {
        if (read_file("power/runtime_status", status, sizeof(status)) == 0 &&
            !strcmp(status, want)) {
            return;
        }
        sleep_ms(0.5);
    }
}

static bool runtime_status_is(const char *want)
{
    char status[32];

    return read_file("power/runtime_status", status, sizeof(status)) == 0 &&
           !strcmp(status, want);
}

static void driver_path(char *path, size_t len, const char *what)
{
    snprintf(path, len, "/sys/bus/pci/drivers/%s/%s", dev.driver, what);
}

/* --- the triggers ----------------------------------------------------- */

/*
 * vgaarb takes legacy VGA resources from the device that owns them for the
 * device it locks them for.  When neither sits behind a bridge of its own
 * it also clears the loser's Command.MEM (and IO): drivers/pci/vgaarb.c,
 * __vga_tryget().
 */
static void vgaarb_lock_for(const char *bdf)
{
    char cmd[64];

    snprintf(cmd, sizeof(cmd), "target PCI:%s", bdf);
    if (write(vgaarb_fd, cmd, strlen(cmd)) < 0) {
        die("/dev/vga_arbiter: \"%s\": %s", cmd, strerror(errno));
    }
    if (write(vgaarb_fd, "lock mem", 8) < 0 ||
        write(vgaarb_fd, "unlock mem", 10) < 0) {
        die("/dev/vga_arbiter: lock/unlock mem for %s: %s", bdf,
            strerror(errno));
    }
}

/* What vgaarb says of BDF: "count:..,PCI:..,decodes=..,owns=..,locks=..". */
static void vgaarb_state(const char *bdf, char *buf, size_t len)
{
    char cmd[64];
    ssize_t n;

    snprintf(cmd, sizeof(cmd), "target PCI:%s", bdf);
    buf[0] = 0;
    if (write(vgaarb_fd, cmd, strlen(cmd)) < 0) {
        return;
    }
    n = read(vgaarb_fd, buf, len - 1);
    buf[n > 0 ? n : 0] = 0;
    buf[strcspn(buf, "\n")] = 0;
}

static void trigger_disable(void)
{
    char path[PATH_MAX];
    int ret = 0;

    switch (opt.trigger) {
    case TRIGGER_CONFIG:
        config_write16(PCI_COMMAND, dev.saved_command & ~PCI_COMMAND_MEMORY);
        break;
    case TRIGGER_RUNTIME_PM:
        ret = write_dev_file("power/control", "auto");
        wait_runtime_status("suspended", 5);
        break;
    case TRIGGER_VGAARB:
        vgaarb_lock_for(opt.vga_peer);
        break;
    case TRIGGER_RESET:
        /* Disables, resets and restores the device: pci_reset_function(). */
        ret = write_dev_file("reset", "1");
        break;
    case TRIGGER_UNBIND:
        driver_path(path, sizeof(path), "unbind");
        ret = write_path(path, opt.bdf);
        dev.unbound = ret == 0;
        break;
    }
    if (ret < 0) {
        die("%s trigger on %s: %s", trigger_names[opt.trigger], opt.bdf,
            strerror(-ret));
    }
}

static void trigger_enable(void)
{
    char path[PATH_MAX];
    int ret = 0;

    switch (opt.trigger) {
    case TRIGGER_CONFIG:
        config_write16(PCI_COMMAND, dev.saved_command | PCI_COMMAND_MEMORY);
        break;
    case TRIGGER_RUNTIME_PM:
        /* Synchronous: pm_runtime_forbid() resumes the device. */
        ret = write_dev_file("power/control", "on");
        break;
    case TRIGGER_VGAARB:
        vgaarb_lock_for(opt.bdf);
        break;
    case TRIGGER_RESET:
        break;
    case TRIGGER_UNBIND:
        driver_path(path, sizeof(path), "bind");
        ret = write_path(path, opt.bdf);
        dev.unbound = ret < 0;
        break;
    }
    if (ret < 0) {
        die("re-enabling %s after the %s trigger: %s", opt.bdf,
            trigger_names[opt.trigger], strerror(-ret));
    }
}

/* --- the hammers ------------------------------------------------------ */

static uint64_t state_load(void)
{
    return atomic_load_explicit(&state_word, memory_order_seq_cst);
}

static void state_set(enum phase phase)
{
    uint64_t seq = (state_load() >> 2) + 1;

    atomic_store_explicit(&state_word, seq << 2 | phase, memory_order_seq_cst);
}

static uint64_t bar_read(volatile uint8_t *p, unsigned size)
{
    switch (size) {
    case 1:
        return *p;
    case 2:
        return *(volatile uint16_t *)p;
    case 4:
        return *(volatile uint32_t *)p;
    default:
        return *(volatile uint64_t *)p;
    }
}

static void bar_write(volatile uint8_t *p, unsigned size, uint64_t v)
{
    switch (size) {
    case 1:
        *p = v;
        break;
    case 2:
        *(volatile uint16_t *)p = v;
        break;
    case 4:
        *(volatile uint32_t *)p = v;
        break;
    default:
        *(volatile uint64_t *)p = v;
        break;
    }
}

static uint64_t size_mask(unsigned size)
{
    return size == 8 ? UINT64_MAX : (1ull << (size * 8)) - 1;
}

static void record_error(struct hammer *h, const char *what, uint64_t off,
                         unsigned size, uint64_t want, uint64_t got)
{
    if (!h->first_error[0]) {
        snprintf(h->first_error, sizeof(h->first_error),
                 "thread %d: %s at BAR offset 0x%" PRIx64 " (%u bytes): "
                 "expected 0x%" PRIx64 ", read 0x%" PRIx64 " (cycle %" PRIu64 ")",
                 h->index, what, off, size, want, got, cycles);
    }
}

/*
 * Judges one read of SIZE bytes at word W of the slot: what the shadow
 * says while decoding (if it knows), all-ones while disabled.
 */
static void judge_read(struct hammer *h, uint64_t off, unsigned size,
                       uint64_t got, uint64_t before, uint64_t after,
                       const uint64_t *shadow, bool known)
{
    uint64_t mask = size_mask(size);

    if (before != after) {
        h->straddles++;
        return;
    }
    switch ((enum phase)(before & 3)) {
    case DECODING:
        if (!known) {
            return;
        }
        if (got == (*shadow & mask)) {
            h->data_ok++;
        } else {
            h->data_errors++;
            record_error(h, "data", off, size, *shadow & mask, got);
        }
        break;
    case DISABLED:
        if (got == mask) {
            h->ones++;
        } else {
            h->ur_errors++;
            record_error(h, "not all-ones while disabled", off, size, mask, got);
        }
        break;
    case TRANSITION:
        h->transition_ones += got == mask;
        break;
    }
}

/*
 * Each hammer owns one slot of the window (64 bytes, or its share of a
 * smaller window) at a time and moves to
 * its next one every SLOT_ROUND accesses, so that the whole window is
 * covered over time and no two threads share bytes.  Per access: read and
 * judge the word against what it last wrote, write a fresh value (unless
 * read-only), read it back and judge that.
 */
static void *hammer_main(void *arg)
{
    static const unsigned sizes[] = { 1, 2, 4, 8 };
    struct hammer *h = arg;
    uint64_t slots = opt.window_len / (slot_words * 8) / opt.threads;
    uint64_t shadow[SLOT_WORDS_MAX];
    bool known[SLOT_WORDS_MAX];
    uint64_t iter = 0, slot_off = 0;

    while (!atomic_load_explicit(&stop_hammers, memory_order_relaxed)) {
        unsigned w = iter % slot_words;
        unsigned size = sizes[(iter / slot_words) % 4];
        volatile uint8_t *p;
        uint64_t off, s0, s1, s2, got, v;

        if (iter % SLOT_ROUND == 0) {
            uint64_t slot = h->index * slots + (iter / SLOT_ROUND) % slots;

            slot_off = opt.window_off + slot * slot_words * 8;
            if (opt.read_only) {
                memcpy(shadow, window_saved + (slot_off - opt.window_off),
                       slot_words * 8);
            }
            for (unsigned i = 0; i < slot_words; i++) {
                known[i] = opt.read_only;
            }
        }
        iter++;
        off = slot_off + w * 8;
        p = bar_map + off;

        s0 = state_load();
        got = bar_read(p, size);
        s1 = state_load();
        h->reads++;
        judge_read(h, off, size, got, s0, s1, &shadow[w], known[w]);
        if (opt.read_only) {
            continue;
        }

        v = xorshift(&h->rng);
        bar_write(p, size, v);
        s2 = state_load();
        h->writes++;
        if (s1 == s2 && (s1 & 3) == DECODING) {
            /* The rest of the word keeps what it had. */
            shadow[w] = (shadow[w] & ~size_mask(size)) | (v & size_mask(size));
            known[w] = known[w] || size == 8;
        } else if (!(s1 == s2 && (s1 & 3) == DISABLED)) {
            known[w] = false;   /* maybe written: unknown until rewritten */
        }

        s0 = state_load();
        got = bar_read(p, size);
        s1 = state_load();
        h->reads++;
        judge_read(h, off, size, got, s0, s1, &shadow[w], known[w]);
    }
    return NULL;
}

/* --- set-up, restore, report ------------------------------------------ */

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void copy_window(bool restore)
{
    for (uint64_t i = 0; i < opt.window_len; i += 8) {
        volatile uint64_t *p = (volatile uint64_t *)(bar_map + opt.window_off + i);
        uint64_t *s = (uint64_t *)(window_saved + i);

        if (restore) {
            *p = *s;
        } else {
            *s = *p;
        }
    }
}

/* Puts the device back as it was found; also on errors and signals. */
static void restore_device(void)
{
    static bool restored;
    char path[PATH_MAX];
    char desc[96];

    if (restored || !dev.saved) {
        return;
    }
    restored = true;
    atomic_store(&stop_hammers, true);
    if (vgaarb_fd >= 0) {
        close(vgaarb_fd);   /* releases what this file held */
    }
    if (dev.unbound) {
        driver_path(path, sizeof(path), "bind");
        if (write_path(path, opt.bdf) < 0) {
            fprintf(stderr, "bar-stress: could not bind %s back to %s: %s\n",
                    opt.bdf, dev.driver, strerror(errno));
        }
    }
    if (opt.trigger == TRIGGER_RUNTIME_PM) {
        write_dev_file("power/control", "on");
    } else if (dev.pm_cap && (config_read16(dev.pm_cap + PCI_PM_CTRL) &
                              PCI_PM_CTRL_STATE_MASK)) {
        config_write16(dev.pm_cap + PCI_PM_CTRL, dev.saved_pmcsr);
        sleep_ms(10);
    }
    if (window_saved && !opt.read_only) {
        if (!(config_read16(PCI_COMMAND) & PCI_COMMAND_MEMORY)) {
            config_write16(PCI_COMMAND, dev.saved_command | PCI_COMMAND_MEMORY);
        }
        if (device_decodes(desc, sizeof(desc))) {
            copy_window(true);
        }
    }
    if (config_read16(PCI_COMMAND) != dev.saved_command) {
        config_write16(PCI_COMMAND, dev.saved_command);
    }
    if (opt.trigger == TRIGGER_RUNTIME_PM) {
        write_dev_file("power/control", dev.saved_power_control);
    }
}

static void find_vga_peer(void)
{
    struct dirent *de;
    DIR *d;

    if (opt.vga_peer[0]) {
        return;
    }
    d = opendir("/sys/bus/pci/devices");
    if (!d) {
        die("/sys/bus/pci/devices: %s", strerror(errno));
    }
    while ((de = readdir(d))) {
        char path[PATH_MAX], buf[32];
        FILE *f;
        unsigned cls = 0;

        if (de->d_name[0] == '.' || !strcmp(de->d_name, opt.bdf)) {
            continue;
        }
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/class", de->d_name);
        f = fopen(path, "r");
        if (f && fgets(buf, sizeof(buf), f)) {
            cls = strtoul(buf, NULL, 16);
        }
        if (f) {
            fclose(f);
        }
        if (cls >> 8 == PCI_CLASS_DISPLAY_VGA &&
            strlen(de->d_name) < sizeof(opt.vga_peer)) {
            strcpy(opt.vga_peer, de->d_name);
            break;
        }
    }
    closedir(d);
    if (!opt.vga_peer[0]) {
        die("the vgaarb trigger needs a second VGA-class device to lock the "
            "legacy resources for; there is none (--vga-peer BDF names one)");
    }
}

static void open_device(void)
{
    char buf[256], link[PATH_MAX];
    struct stat st;
    ssize_t n;
    FILE *f;
    int fd, i;

    snprintf(dev.path, sizeof(dev.path), "/sys/bus/pci/devices/%s", opt.bdf);
    if (stat(dev.path, &st)) {
        dev.config_fd = -1;
        die("no PCI device %s (%s: %s)", opt.bdf, dev.path, strerror(errno));
    }
    snprintf(link, sizeof(link), "%s/config", dev.path);
    dev.config_fd = open(link, O_RDWR);
    if (dev.config_fd < 0) {
        die("%s: %s (bar-stress must run as root)", link, strerror(errno));
    }
    dev.vendor = config_read16(0);
    dev.devid = config_read16(2);
    read_file("class", buf, sizeof(buf));
    dev.class = strtoul(buf, NULL, 16);

    snprintf(link, sizeof(link), "%s/driver", dev.path);
    n = readlink(link, buf, sizeof(buf) - 1);
    if (n > 0) {
        buf[n] = 0;
        snprintf(dev.driver, sizeof(dev.driver), "%s", strrchr(buf, '/') + 1);
    }

    snprintf(link, sizeof(link), "%s/resource", dev.path);
    f = fopen(link, "r");
    if (!f) {
        die("%s: %s", link, strerror(errno));
    }
    for (i = 0; i <= opt.bar && fgets(buf, sizeof(buf), f); i++) {
        uint64_t start, end, flags;

        if (i == opt.bar && sscanf(buf, "%" SCNx64 " %" SCNx64 " %" SCNx64,
                                   &start, &end, &flags) == 3) {
            if (!(flags & IORESOURCE_MEM) || !start) {
                fclose(f);
                die("BAR %d of %s is not an assigned memory BAR "
                    "(resource line: %s)", opt.bar, opt.bdf, buf);
            }
            dev.bar_start = start;
            dev.bar_size = end - start + 1;
        }
    }
    fclose(f);
    if (!dev.bar_size) {
        die("%s has no BAR %d", opt.bdf, opt.bar);
    }

    dev.pm_cap = find_pm_cap();
    dev.saved_command = config_read16(PCI_COMMAND);
    if (dev.pm_cap) {
        dev.saved_pmcsr = config_read16(dev.pm_cap + PCI_PM_CTRL);
    }
    if (read_file("power/control", dev.saved_power_control,
                  sizeof(dev.saved_power_control)) < 0) {
        snprintf(dev.saved_power_control, sizeof(dev.saved_power_control), "on");
    }
    dev.saved = true;

    if (!opt.window_given) {
        opt.window_off = 0;
        opt.window_len = dev.bar_size;
    }
    if (opt.window_off % 8 || opt.window_len % 8 ||
        opt.window_off + opt.window_len > dev.bar_size ||
        opt.window_off + opt.window_len < opt.window_off) {
        die("--window 0x%" PRIx64 ":0x%" PRIx64 " is not 8-byte aligned within "
            "BAR %d (0x%" PRIx64 " bytes)", opt.window_off, opt.window_len,
            opt.bar, dev.bar_size);
    }
    slot_words = opt.window_len / 8 / opt.threads;
    if (!slot_words) {
        die("--window of 0x%" PRIx64 " bytes is too small for %d threads "
            "(each needs 8 bytes of its own)", opt.window_len, opt.threads);
    }
    if (slot_words > SLOT_WORDS_MAX) {
        slot_words = SLOT_WORDS_MAX;
    }

    snprintf(link, sizeof(link), "%s/resource%d", dev.path, opt.bar);
    fd = open(link, (opt.read_only ? O_RDONLY : O_RDWR) | O_SYNC);
    if (fd < 0) {
        die("%s: %s", link, strerror(errno));
    }
    bar_map_len = (dev.bar_size + 4095) & ~4095ull;
    bar_map = mmap(NULL, bar_map_len,
                   PROT_READ | (opt.read_only ? 0 : PROT_WRITE), MAP_SHARED,
                   fd, 0);
    close(fd);
    if (bar_map == MAP_FAILED) {
        bar_map = NULL;
        die("mmap of %s: %s%s", link, strerror(errno),
            errno == EINVAL && dev.driver[0] ?
            " (the driver has claimed the BAR: boot with iomem=relaxed)" : "");
    }
}

static void check_trigger(void)
{
    char path[PATH_MAX];
    struct stat st;

    if (dev.driver[0] && !opt.force) {
        die("%s is bound to %s, which may use this BAR; unbind it, or pass "
            "--force to race it anyway", opt.bdf, dev.driver);
    }
    switch (opt.trigger) {
    case TRIGGER_CONFIG:
        break;
    case TRIGGER_RUNTIME_PM:
        if (!dev.driver[0]) {
            die("the runtime-pm trigger needs a bound driver that suspends "
                "the device (an unbound PCI device stays in D0)");
        }
        if (!dev.pm_cap) {
            fprintf(stderr, "bar-stress: %s has no PM capability: runtime "
                    "suspend cannot put it in D3hot; running to show it\n",
                    opt.bdf);
        }
        break;
    case TRIGGER_VGAARB:
        find_vga_peer();
        vgaarb_fd = open("/dev/vga_arbiter", O_RDWR);
        if (vgaarb_fd < 0) {
            die("/dev/vga_arbiter: %s (a kernel with CONFIG_VGA_ARB)",
                strerror(errno));
        }
        vgaarb_state(opt.bdf, vgaarb_start, sizeof(vgaarb_start));
        vgaarb_state(opt.vga_peer, vgaarb_peer_start, sizeof(vgaarb_peer_start));
        /* Decoding is the arbiter's to give: take it for this device. */
        vgaarb_lock_for(opt.bdf);
        break;
    case TRIGGER_RESET:
        snprintf(path, sizeof(path), "%s/reset", dev.path);
        if (stat(path, &st)) {
            die("%s has no reset method the kernel can use (%s: %s)", opt.bdf,
                path, strerror(errno));
        }
        break;
    case TRIGGER_UNBIND:
        if (!dev.driver[0]) {
            die("the unbind trigger needs a bound driver");
        }
        break;
    }
}

static void sum(struct hammer *t)
{
    memset(t, 0, sizeof(*t));
    for (int i = 0; i < opt.threads; i++) {
        struct hammer *h = &hammers[i];

        t->reads += h->reads;
        t->writes += h->writes;
        t->ones += h->ones;
        t->data_ok += h->data_ok;
        t->straddles += h->straddles;
        t->transition_ones += h->transition_ones;
        t->data_errors += h->data_errors;
        t->ur_errors += h->ur_errors;
        if (!t->first_error[0]) {
            memcpy(t->first_error, h->first_error, sizeof(t->first_error));
        }
    }
}

/* One disable/enable cycle, judged by what the device reads back. */
static void run_cycle(void)
{
    char desc[96];
    bool decodes;

    state_set(TRANSITION);
    trigger_disable();
    if (opt.trigger == TRIGGER_RESET) {
        /* The kernel re-enabled the device inside the same write. */
        state_set(DECODING);
        cycles++;
        sleep_ms(opt.hold_ms);
        return;
    }
    decodes = device_decodes(desc, sizeof(desc));
    if (decodes) {
        not_disabled++;
        if (!first_not_disabled[0]) {
            snprintf(first_not_disabled, sizeof(first_not_disabled),
                     "%s%s", desc, opt.trigger == TRIGGER_RUNTIME_PM &&
                     !runtime_status_is("suspended") ?
                     ", runtime_status not suspended" : "");
        }
    } else if (!first_disabled_state[0]) {
        snprintf(first_disabled_state, sizeof(first_disabled_state), "%s", desc);
    }
    state_set(decodes ? DECODING : DISABLED);
    sleep_ms(opt.hold_ms);

    state_set(TRANSITION);
    trigger_enable();
    if (!device_decodes(desc, sizeof(desc))) {
        enable_failures++;
        state_set(DISABLED);
    } else {
        state_set(DECODING);
    }
    cycles++;
    sleep_ms(opt.hold_ms);
}

static void usage(FILE *f)
{
    fprintf(f,
"usage: bar-stress --device DDDD:BB:DD.F --bar N --trigger T [options]\n"
"  --trigger config      clear and set Command.MEM through sysfs config\n"
"            runtime-pm  power/control auto (the driver suspends the device,\n"
"                        D3hot) and on (resume); needs a bound driver\n"
"            vgaarb      lock the legacy VGA resources for another VGA device\n"
"                        through /dev/vga_arbiter, then for this one\n"
"            reset       sysfs reset (the kernel disables decoding, resets\n"
"                        with FLR or another method, restores)\n"
"            unbind      unbind the driver and bind it again\n"
"  --seconds S           run time (default 10)\n"
"  --threads T           hammer threads (default 2)\n"
"  --window OFF:LEN      the only bytes of the BAR touched (default: all)\n"
"  --read-only           read only, judged against what the window held\n"
"  --hold-ms MS          time in each state per cycle (default 2)\n"
"  --seed N              hammer values (default 1)\n"
"  --vga-peer BDF        vgaarb: the other VGA device (default: the first)\n"
"  --force               run although a driver is bound to the device\n");
}

static void parse_args(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "device", required_argument, NULL, 'd' },
        { "bar", required_argument, NULL, 'b' },
        { "trigger", required_argument, NULL, 't' },
        { "seconds", required_argument, NULL, 's' },
        { "threads", required_argument, NULL, 'T' },
        { "window", required_argument, NULL, 'w' },
        { "read-only", no_argument, NULL, 'r' },
        { "hold-ms", required_argument, NULL, 'H' },
        { "seed", required_argument, NULL, 'S' },
        { "vga-peer", required_argument, NULL, 'v' },
        { "force", no_argument, NULL, 'f' },
        { "help", no_argument, NULL, 'h' },
        { 0 }
    };
    bool have_trigger = false;
    char *end;
    int c;

    dev.config_fd = -1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            snprintf(opt.bdf, sizeof(opt.bdf), "%s%s",
                     strlen(optarg) == 7 ? "0000:" : "", optarg);
            break;
        case 'b':
            opt.bar = strtol(optarg, &end, 0);
            if (*end || opt.bar < 0 || opt.bar > 5) {
                die("--bar %s: 0 to 5", optarg);
            }
            break;
        case 't':
            for (unsigned i = 0; i < sizeof(trigger_names) / sizeof(*trigger_names); i++) {
                if (!strcmp(optarg, trigger_names[i])) {
                    opt.trigger = i;
                    have_trigger = true;
                }
            }
            if (!have_trigger) {
                die("--trigger %s: config, runtime-pm, vgaarb, reset or unbind",
                    optarg);
            }
            break;
        case 's':
            opt.seconds = strtod(optarg, &end);
            if (*end || opt.seconds <= 0) {
                die("--seconds %s: a positive number", optarg);
            }
            break;
        case 'T':
            opt.threads = strtol(optarg, &end, 0);
            if (*end || opt.threads < 1 || opt.threads > MAX_THREADS) {
                die("--threads %s: 1 to %d", optarg, MAX_THREADS);
            }
            break;
        case 'w':
            opt.window_off = strtoull(optarg, &end, 0);
            if (*end != ':') {
                die("--window %s: OFFSET:LENGTH", optarg);
            }
            opt.window_len = strtoull(end + 1, &end, 0);
            if (*end || !opt.window_len) {
                die("--window %s: OFFSET:LENGTH", optarg);
            }
            opt.window_given = true;
            break;
        case 'r':
            opt.read_only = true;
            break;
        case 'H':
            opt.hold_ms = strtod(optarg, &end);
            if (*end || opt.hold_ms < 0) {
                die("--hold-ms %s: a number >= 0", optarg);
            }
            break;
        case 'S':
            opt.seed = strtoull(optarg, &end, 0);
            if (*end) {
                die("--seed %s: a number", optarg);
            }
            break;
        case 'v':
            snprintf(opt.vga_peer, sizeof(opt.vga_peer), "%s%s",
                     strlen(optarg) == 7 ? "0000:" : "", optarg);
            break;
        case 'f':
            opt.force = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            exit(2);
        }
    }
    if (optind < argc || !opt.bdf[0] || opt.bar < 0 || !have_trigger) {
        usage(stderr);
        die("--device, --bar and --trigger are needed");
    }
}

int main(int argc, char **argv)
{
    struct sigaction sa = { .sa_handler = on_signal };
    struct hammer t;
    char desc[96];
    double start, next_report, elapsed;
    bool pass;
    int i;

    setvbuf(stdout, NULL, _IOLBF, 0);
    parse_args(argc, argv);
    open_device();
    check_trigger();
    if (!(config_read16(PCI_COMMAND) & PCI_COMMAND_MEMORY) &&
        opt.trigger != TRIGGER_RUNTIME_PM) {
        die("%s does not decode memory (Command 0x%04x): enable it first "
            "(setpci -s %s COMMAND=0x%04x)", opt.bdf, config_read16(PCI_COMMAND),
            opt.bdf, config_read16(PCI_COMMAND) | PCI_COMMAND_MEMORY);
    }
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    window_saved = malloc(opt.window_len);
    if (!window_saved) {
        die("no memory for a copy of the %" PRIu64 "-byte window", opt.window_len);
    }
    if (opt.trigger == TRIGGER_RUNTIME_PM) {
        write_dev_file("power/control", "on");
    }
    copy_window(false);
    device_decodes(desc, sizeof(desc));
    printf("bar-stress: %s [%04x:%04x] class 0x%06x driver %s, BAR %d at "
           "0x%" PRIx64 " (0x%" PRIx64 " bytes), window 0x%" PRIx64 "+0x%" PRIx64
           ", %s, trigger %s%s%s, %d threads, %g s; %s\n",
           opt.bdf, dev.vendor, dev.devid, dev.class,
           dev.driver[0] ? dev.driver : "none", opt.bar, dev.bar_start,
           dev.bar_size, opt.window_off, opt.window_len,
           opt.read_only ? "read-only" : "read-write",
           trigger_names[opt.trigger],
           opt.trigger == TRIGGER_VGAARB ? " against " : "",
           opt.trigger == TRIGGER_VGAARB ? opt.vga_peer : "",
           opt.threads, opt.seconds, desc);
    if (opt.trigger == TRIGGER_VGAARB) {
        printf("bar-stress: vgaarb at start: %s; %s\n", vgaarb_start,
               vgaarb_peer_start);
    }

    for (i = 0; i < opt.threads; i++) {
        hammers[i].index = i;
        hammers[i].rng = opt.seed * 0x9e3779b97f4a7c15ull + i + 1;
        if (pthread_create(&hammers[i].thread, NULL, hammer_main, &hammers[i])) {
            die("pthread_create: %s", strerror(errno));
        }
    }

    start = now();
    next_report = start + 1;
    while (!interrupted && (elapsed = now() - start) < opt.seconds) {
        run_cycle();
        if (now() >= next_report) {
            sum(&t);
            printf("bar-stress: %.0fs cycles %" PRIu64 " (%.1f/s) reads %" PRIu64
                   " writes %" PRIu64 " all-ones %" PRIu64 " straddles %" PRIu64
                   " errors %" PRIu64 "\n", elapsed, cycles, cycles / elapsed,
                   t.reads, t.writes, t.ones, t.straddles,
                   t.data_errors + t.ur_errors);
            next_report += 1;
        }
    }
    elapsed = now() - start;
    atomic_store(&stop_hammers, true);
    for (i = 0; i < opt.threads; i++) {
        pthread_join(hammers[i].thread, NULL);
    }
    restore_device();
    sum(&t);

    printf("bar-stress summary:\n"
           "  cycles                 %" PRIu64 " in %.1f s (%.1f/s)\n"
           "  reads, writes          %" PRIu64 ", %" PRIu64 "\n"
           "  data checked           %" PRIu64 " reads while decoding\n"
           "  all-ones while off     %" PRIu64 " reads while disabled\n"
           "  all-ones in transition %" PRIu64 " (not judged)\n"
           "  straddles              %" PRIu64 " (not judged)\n"
           "  not disabled           %" PRIu64 " cycles%s%s\n"
           "  disabled state         %s\n"
           "  re-enable failures     %" PRIu64 "\n"
           "  data errors            %" PRIu64 "\n"
           "  UR errors              %" PRIu64 "\n"
           "  first error            %s\n",
           cycles, elapsed, cycles / elapsed, t.reads, t.writes, t.data_ok,
           t.ones, t.transition_ones, t.straddles, not_disabled,
           first_not_disabled[0] ? ": " : "", first_not_disabled,
           first_disabled_state[0] ? first_disabled_state :
           opt.trigger == TRIGGER_RESET ? "inside the kernel's reset" : "never seen",
           enable_failures, t.data_errors, t.ur_errors,
           t.first_error[0] ? t.first_error : "none");
    printf("BAR-STRESS-SUMMARY trigger=%s cycles=%" PRIu64 " seconds=%.1f reads=%"
           PRIu64 " writes=%" PRIu64 " data_ok=%" PRIu64 " ones=%" PRIu64
           " transition_ones=%" PRIu64 " straddles=%" PRIu64 " not_disabled=%"
           PRIu64 " enable_failures=%" PRIu64 " data_errors=%" PRIu64
           " ur_errors=%" PRIu64 "\n", trigger_names[opt.trigger], cycles,
           elapsed, t.reads, t.writes, t.data_ok, t.ones, t.transition_ones,
           t.straddles, not_disabled, enable_failures, t.data_errors,
           t.ur_errors);

    pass = !t.data_errors && !t.ur_errors && !enable_failures && cycles;
    if (pass && opt.trigger != TRIGGER_RESET && not_disabled == cycles) {
        printf("RESULT: SKIP bar-stress trigger=%s cycles=%" PRIu64 ": the "
               "trigger never stopped the device decoding (%s)%s\n",
               trigger_names[opt.trigger], cycles, first_not_disabled,
               opt.trigger == TRIGGER_VGAARB ?
               "; vgaarb only takes legacy memory from a device that owns it "
               "for one that does not, and both owned it at enumeration "
               "(the firmware enabled both)" : "");
        return 3;
    }
    printf("RESULT: %s bar-stress trigger=%s cycles=%" PRIu64 " wall=%.1fs "
           "integrity_errors=%" PRIu64 " ur_violations=%" PRIu64
           " all_ones=%" PRIu64 " straddles=%" PRIu64 "%s%s%s\n",
           pass ? "PASS" : "FAIL", trigger_names[opt.trigger], cycles, elapsed,
           t.data_errors, t.ur_errors, t.ones, t.straddles,
           interrupted ? " (interrupted)" : "",
           t.first_error[0] ? ": " : "", t.first_error);
    return pass ? 0 : 1;
}

/*
 * stress-guest: race BAR accesses against memory-decode changes.
 *
 * The BSP (CPU 0) toggles the device's memory decoding through PCI
 * configuration space: Command.MEM, PMCSR D3hot/D0 or an FLR.  Every
 * other CPU hammers its own slot in the BAR with writes and read-backs.
 * The toggler publishes each decode state as an epoch in a seqlock-like
 * word, which lets a hammer tell whether an access lay entirely inside
 * one enabled or one disabled epoch, and judge it: an enabled read-back
 * returns what was written; a disabled read is an Unsupported Request
 * and returns all-ones.  Accesses that straddle a transition are only
 * counted.
 *
 * All of this runs at CPL3 (hammer=kernel: the hammers at CPL0).
 *
 * Copyright (c) 2026 vfio-bar-ur developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "kernel.h"
#include "lib.h"
#include "pci.h"
#include "acpi.h"

#define SLOT_SIZE               64
#define MAX_BAD_RECORDS         4
#define BENCH_ROUNDS            10
#define CMDLINE_MAX             1024

#define PIT_HZ                  1193182
#define PIT_CH2_DATA            0x42
#define PIT_MODE                0x43
#define PIT_CH2_GATE_PORT       0x61
#define  PIT_CH2_GATE           0x01
#define  PIT_SPEAKER            0x02
#define  PIT_CH2_OUT            0x20

#define APIC_ICR_INIT           0x00000500
#define APIC_ICR_STARTUP        0x00000600
#define APIC_ICR_ASSERT         0x00004000
#define APIC_ICR_ALL_BUT_SELF   0x000c0000

#define PM_STATE_D0             0
#define PM_STATE_D3HOT          3

#define XEN_HVM_START_MAGIC     0x336ec578

/* mode=fuzz: its write log, on an isa-debugcon (one exit per line) */
#define FUZZ_LOG_PORT           0xe9
/* the device put back (BARs, D0, decoding) after every so many writes */
#define FUZZ_RESTORE_EVERY      16
/* how long the hammers judge the device once it is put back at the end */
#define FUZZ_FINAL_CHECK_MS     200
#define CANARY_WORDS            512

/* Test device of this project: vfio-user, 64-bit 2 MiB BAR0, PM, FLR. */
#define DEFAULT_VENDOR          0x1234
#define DEFAULT_DEVICE          0x7ee0

struct hvm_start_info {
    u32 magic;
    u32 version;
    u32 flags;
    u32 nr_modules;
    u64 modlist_paddr;
    u64 cmdline_paddr;
    u64 rsdp_paddr;
    u64 memmap_paddr;
    u32 memmap_entries;
    u32 reserved;
};

enum mode {
    MODE_MEM, MODE_PM, MODE_FLR, MODE_MIXED, MODE_BENCH, MODE_CHURN,
    MODE_FUZZ, MODE_REACH, MODE_COUNT
};
static const char *const mode_names[] = {
    "mem", "pm", "flr", "mixed", "bench", "churn", "fuzz", "reach"
};

enum hammer { HAMMER_USER, HAMMER_KERNEL, HAMMER_NONE, HAMMER_COUNT };
static const char *const hammer_names[] = { "user", "kernel", "none" };

static struct params {
    enum mode mode;
    enum hammer hammer;
    u64 cycles;             /* 0: no bound */
    u64 seconds_ms;         /* 0: no bound */
    u64 seed;
    u16 vendor, device;
    bool have_bdf;
    u8 bus, dev, fn;
    bool have_churn;        /* mode=churn: the device whose BAR toggles */
    u8 churn_bus, churn_dev, churn_fn;
    int bar;                /* -1: the first memory BAR */
    u64 offset;             /* of slot 0 in the BAR */
    u64 progress;
    unsigned sizes[4];
    unsigned nsizes;
    u64 window_us;          /* dwell in the disabled state */
    u64 enabled_us;         /* dwell in the enabled state */
    u64 pm_delay_us;
    u64 flr_delay_us;
    unsigned ncpus;         /* 0: from the MADT */
    u64 bench_iters;        /* accesses per fast-path figure */
    u64 bench_disabled_iters; /* per disabled figure: each one exits */
    u64 skip;               /* mode=fuzz: writes generated but not made */
} params = {
    .mode = MODE_MEM,
    .hammer = HAMMER_USER,
    .seconds_ms = 10000,
    .seed = 1,
    .vendor = DEFAULT_VENDOR,
    .device = DEFAULT_DEVICE,
    .bar = -1,
    .sizes = { 1, 2, 4, 8 },
    .nsizes = 4,
    /*
     * On kvm_pvm a hammer access that exits to QEMU takes ~50 us: much
     * shorter windows leave almost no access judged inside them.
     */
    .window_us = 100,
    .enabled_us = 100,
    /* 0.3 to 1 ns a fast-path access on kvm_pvm: 0.15 to 0.5 s a figure */
    .bench_iters = 500000000,
    .bench_disabled_iters = 20000,
};

/*
 * The epoch word, written by the toggler only.  Bit 0: a transition is in
 * progress (the "odd" of a seqlock); bit 1: the epoch decodes memory;
 * bits 2 and up count epochs.  Two equal reads without bit 0 bracket an
 * interval that lies inside one epoch.
 */
#define EPOCH_BUSY              1
#define EPOCH_ENABLED           2

static struct {
    volatile u64 epoch;
    volatile u32 go;
    volatile u32 stop;
} shared __attribute__((aligned(64)));

static volatile u32 aps_online;

struct bad_record {
    bool integrity;         /* else a UR violation */
    unsigned size;
    u64 addr, wrote, read, epoch;
};

/* Written by one hammer, read by the BSP after done. */
struct hammer_stats {
    u64 reads, writes;
    u64 reads_enabled_ok, reads_disabled_ones, straddled;
    u64 integrity_errors, ur_violations, straddle_violations;
    unsigned nbad;
    struct bad_record bad[MAX_BAD_RECORDS];
    volatile u32 done;
} __attribute__((aligned(64)));

static struct hammer_stats stats[MAX_CPUS];

static struct {
    struct pci_dev pci;
    struct pci_bar bar;
    u8 pm_cap, exp_cap;
    bool flr_capable;
    bool pm_no_soft_reset;
    u32 saved_bars[PCI_NUM_BARS];
    u16 saved_cmd;
} dev;

static volatile u8 *slot_base;
static u64 tsc_hz;

static void __attribute__((noreturn, format(printf, 1, 2)))
setup_error(const char *fmt, ...)
{
    char buf[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    printf("STRESS-ERROR %s\n", buf);
    sys_exit(EXIT_SETUP);
}

static u64 tsc_to_ms(u64 t)
{
    return t / (tsc_hz / 1000);
}

static void delay_us(u64 us)
{
    u64 end;

    if (!us) {
        return;
    }
    end = rdtsc() + us * tsc_hz / 1000000;
    while (rdtsc() < end) {
        cpu_relax();
    }
}

/*
 * TSC ticks while PIT channel 2 counts latch ticks down once (mode 0,
 * gated through port 0x61).  t0 is read before the count is armed and t1
 * after its end is seen: a preempted vCPU can only make this longer.
 */
static u64 pit_ch2_tsc_ticks(u32 latch)
{
    u8 gate = inb(PIT_CH2_GATE_PORT);
    u64 t0, t1, polls = 0;

    outb(PIT_CH2_GATE_PORT, (gate & ~PIT_SPEAKER) | PIT_CH2_GATE);
    outb(PIT_MODE, 0xb0);       /* channel 2, lobyte/hibyte, mode 0 */
    outb(PIT_CH2_DATA, latch & 0xff);
    t0 = rdtsc();
    outb(PIT_CH2_DATA, latch >> 8);     /* counting starts here */
    while (!(inb(PIT_CH2_GATE_PORT) & PIT_CH2_OUT)) {
        if (++polls > 100000000) {
            setup_error("PIT channel 2 does not count; cannot calibrate TSC");
        }
    }
    t1 = rdtsc();
    outb(PIT_CH2_GATE_PORT, gate);
    return t1 - t0;
}

/* The shortest of a few 10 ms runs: host preemption only adds time. */
static void tsc_calibrate(void)
{
    const u32 latch = PIT_HZ / 100;
    u64 best = ~0ULL;

    for (unsigned i = 0; i < 5; i++) {
        u64 t = pit_ch2_tsc_ticks(latch);

        best = t < best ? t : best;
    }
    tsc_hz = best * PIT_HZ / latch;
    if (tsc_hz < 1000000) {
        setup_error("TSC calibration gave %lu Hz", tsc_hz);
    }
}

static u64 splitmix64(u64 *state)
{
    u64 z = (*state += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* ---- command line ---- */

static bool parse_u64(const char *s, u64 *out)
{
    unsigned base = 10;
    u64 v = 0;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (!*s) {
        return false;
    }
    for (; *s; s++) {
        unsigned d;

        if (*s >= '0' && *s <= '9') {
            d = *s - '0';
        } else if (base == 16 && (*s | 0x20) >= 'a' && (*s | 0x20) <= 'f') {
            d = (*s | 0x20) - 'a' + 10;
        } else {
            return false;
        }
        if (v > (~0ULL - d) / base) {
            return false;
        }
        v = v * base + d;
    }
    *out = v;
    return true;
}

static bool parse_u64_max(const char *s, u64 max, u64 *out)
{
    return parse_u64(s, out) && *out <= max;
}

/* "S" or "S.fff": seconds with up to millisecond resolution. */
static bool parse_seconds_ms(const char *s, u64 *ms)
{
    u64 whole = 0, frac = 0, scale = 100;
    const char *p = s;

    for (; *p >= '0' && *p <= '9'; p++) {
        whole = whole * 10 + (*p - '0');
        if (whole > 1000000000) {
            return false;
        }
    }
    if (p == s && *p != '.') {
        return false;
    }
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10) {
            frac += (*p - '0') * scale;
        }
    }
    if (*p) {
        return false;
    }
    *ms = whole * 1000 + frac;
    return true;
}

/* Hex digits up to sep (which is consumed, unless it is the end). */
static bool parse_hex_field(const char **s, char sep, unsigned max,
                            unsigned *out)
{
    const char *p = *s;
    unsigned v = 0;

    for (; *p && *p != sep; p++) {
        char c = *p | 0x20;
        unsigned d = (c >= '0' && c <= '9') ? (unsigned)(c - '0') :
                     (c >= 'a' && c <= 'f') ? (unsigned)(c - 'a' + 10) : 16;

        if (d == 16 || (v = v * 16 + d) > max) {
            return false;
        }
    }
    if (p == *s || *p != sep) {
        return false;
    }
    *s = sep ? p + 1 : p;
    *out = v;
    return true;
}

/* BB:DD.F in hex, as lspci prints it. */
static bool parse_bdf(const char *s, u8 *bus, u8 *dev_, u8 *fn, bool *have)
{
    unsigned b, d, f;

    if (!parse_hex_field(&s, ':', 0xff, &b) ||
        !parse_hex_field(&s, '.', 0x1f, &d) ||
        !parse_hex_field(&s, '\0', 7, &f)) {
        return false;
    }
    *bus = b;
    *dev_ = d;
    *fn = f;
    *have = true;
    return true;
}

static bool parse_sizes(const char *s)
{
    unsigned n = 0;

    while (*s) {
        unsigned size = *s++ - '0';

        if ((size != 1 && size != 2 && size != 4 && size != 8) || n == 4) {
            return false;
        }
        params.sizes[n++] = size;
        if (*s == ',') {
            s++;
        } else if (*s) {
            return false;
        }
    }
    params.nsizes = n;
    return n > 0;
}

static bool parse_name(const char *s, const char *const *names, unsigned n,
                       unsigned *out)
{
    for (unsigned i = 0; i < n; i++) {
        if (!strncmp(s, names[i], strlen(names[i]) + 1)) {
            *out = i;
            return true;
        }
    }
    return false;
}

static bool parse_param(const char *key, const char *val)
{
    u64 v;
    unsigned u;

#define KEY(k) (!strncmp(key, k, sizeof(k)))
    if (KEY("mode")) {
        if (!parse_name(val, mode_names, MODE_COUNT, &u)) {
            return false;
        }
        params.mode = u;
    } else if (KEY("hammer")) {
        if (!parse_name(val, hammer_names, HAMMER_COUNT, &u)) {
            return false;
        }
        params.hammer = u;
    } else if (KEY("cycles")) {
        return parse_u64(val, &params.cycles);
    } else if (KEY("seconds")) {
        return parse_seconds_ms(val, &params.seconds_ms);
    } else if (KEY("seed")) {
        return parse_u64(val, &params.seed);
    } else if (KEY("vendor") || KEY("device")) {
        if (!parse_u64_max(val, 0xfffe, &v)) {
            return false;
        }
        *(KEY("vendor") ? &params.vendor : &params.device) = v;
    } else if (KEY("bdf")) {
        return parse_bdf(val, &params.bus, &params.dev, &params.fn,
                         &params.have_bdf);
    } else if (KEY("churn")) {
        return parse_bdf(val, &params.churn_bus, &params.churn_dev,
                         &params.churn_fn, &params.have_churn);
    } else if (KEY("bar")) {
        if (!parse_u64_max(val, PCI_NUM_BARS - 1, &v)) {
            return false;
        }
        params.bar = v;
    } else if (KEY("offset")) {
        return parse_u64(val, &params.offset) && !(params.offset % 8);
    } else if (KEY("progress")) {
        return parse_u64(val, &params.progress);
    } else if (KEY("sizes")) {
        return parse_sizes(val);
    } else if (KEY("window_us")) {
        return parse_u64_max(val, 10000000, &params.window_us);
    } else if (KEY("enabled_us")) {
        return parse_u64_max(val, 10000000, &params.enabled_us);
    } else if (KEY("pm_delay_us")) {
        return parse_u64_max(val, 10000000, &params.pm_delay_us);
    } else if (KEY("flr_delay_us")) {
        return parse_u64_max(val, 10000000, &params.flr_delay_us);
    } else if (KEY("ncpus")) {
        if (!parse_u64_max(val, MAX_CPUS, &v) || !v) {
            return false;
        }
        params.ncpus = v;
    } else if (KEY("skip")) {
        return parse_u64(val, &params.skip);
    } else if (KEY("bench_iters")) {
        return parse_u64(val, &params.bench_iters) &&
               params.bench_iters >= BENCH_ROUNDS;
    } else if (KEY("bench_disabled_iters")) {
        return parse_u64(val, &params.bench_disabled_iters) &&
               params.bench_disabled_iters >= BENCH_ROUNDS;
    } else {
        return false;
    }
#undef KEY
    return true;
}

static void parse_cmdline(const struct hvm_start_info *si)
{
    static char buf[CMDLINE_MAX];
    const char *src = (const char *)si->cmdline_paddr;
    size_t len = src ? strlen(src) : 0;
    char *p = buf;

    if (len >= sizeof(buf)) {
        setup_error("command line longer than %u bytes", CMDLINE_MAX - 1);
    }
    memcpy(buf, src, len);
    buf[len] = '\0';

    while (*p) {
        char *key, *val = NULL;

        while (*p == ' ') {
            p++;
        }
        if (!*p) {
            break;
        }
        key = p;
        for (; *p && *p != ' '; p++) {
            if (*p == '=' && !val) {
                *p = '\0';
                val = p + 1;
            }
        }
        if (*p) {
            *p++ = '\0';
        }
        if (!val) {
            setup_error("bad parameter '%s': expected key=value", key);
        }
        if (!parse_param(key, val)) {
            setup_error("bad parameter %s=%s", key, val);
        }
    }
}

/* ---- the device ---- */

static void config_save(void)
{
    for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
        dev.saved_bars[i] = pci_read32(&dev.pci, PCI_BASE_ADDRESS_0 + 4 * i);
    }
    dev.saved_cmd = pci_read16(&dev.pci, PCI_COMMAND);
}

/* After a reset, as a driver would: the BARs first, then decoding. */
static void config_restore(void)
{
    for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
        pci_write32(&dev.pci, PCI_BASE_ADDRESS_0 + 4 * i, dev.saved_bars[i]);
    }
    pci_write16(&dev.pci, PCI_COMMAND, dev.saved_cmd);
}

static void pm_set_state(u16 state)
{
    u8 off = dev.pm_cap + PCI_PM_CTRL;
    u16 pmcsr = pci_read16(&dev.pci, off);

    /* PME_Status is write-one-to-clear: leave it alone. */
    pmcsr &= ~(PCI_PM_CTRL_STATE_MASK | PCI_PM_CTRL_PME_STATUS);
    pci_write16(&dev.pci, off, pmcsr | state);
}

static void pcie_initiate_flr(void)
{
    u8 off = dev.exp_cap + PCI_EXP_DEVCTL;

    pci_write16(&dev.pci, off,
                pci_read16(&dev.pci, off) | PCI_EXP_DEVCTL_BCR_FLR);
}

static void find_device(void)
{
    if (params.have_bdf) {
        if (!pci_probe(params.bus, params.dev, params.fn, &dev.pci)) {
            setup_error("no device at %02x:%02x.%x", params.bus, params.dev,
                        params.fn);
        }
    } else if (!pci_find(params.vendor, params.device, &dev.pci)) {
        setup_error("device %04x:%04x not found", params.vendor,
                    params.device);
    }
    if (!pci_bar_probe(&dev.pci, params.bar, &dev.bar)) {
        if (params.bar >= 0) {
            setup_error("BAR%d is not an implemented memory BAR", params.bar);
        }
        setup_error("device has no memory BAR");
    }
    if (!dev.bar.addr) {
        setup_error("BAR%u is not assigned", dev.bar.index);
    }

    dev.pm_cap = pci_find_cap(&dev.pci, PCI_CAP_ID_PM);
    dev.exp_cap = pci_find_cap(&dev.pci, PCI_CAP_ID_EXP);
    dev.flr_capable = dev.exp_cap &&
        (pci_read32(&dev.pci, dev.exp_cap + PCI_EXP_DEVCAP) &
         PCI_EXP_DEVCAP_FLR);
    if (params.mode == MODE_PM && !dev.pm_cap) {
        setup_error("mode=pm: device has no PM capability");
    }
    if (params.mode == MODE_FLR && !dev.flr_capable) {
        setup_error("mode=flr: device is not FLR capable");
    }

    /* Start from a decoding device in D0. */
    if (dev.pm_cap) {
        pm_set_state(PM_STATE_D0);
        delay_us(params.pm_delay_us);
        dev.pm_no_soft_reset = pci_read16(&dev.pci, dev.pm_cap + PCI_PM_CTRL) &
                               PCI_PM_CTRL_NO_SOFT_RESET;
    }
    pci_cmd_set_clr(&dev.pci, PCI_COMMAND_MEMORY, 0);
    config_save();
}

/* ---- hammers ---- */

/* Never 0 nor all-ones: neither should pass for a dropped write or a UR. */
static u64 pattern(unsigned cpu, u64 iter, unsigned size)
{
    u64 state = ((u64)cpu << 48) ^ iter;
    u64 v = splitmix64(&state) & ones_of_size(size);

    if (v == 0 || v == ones_of_size(size)) {
        v ^= 0x5a;
    }
    return v;
}

static void record_bad(struct hammer_stats *st, bool integrity,
                       const volatile u8 *p, unsigned size, u64 wrote,
                       u64 read, u64 epoch)
{
    struct bad_record *r;

    if (st->nbad == MAX_BAD_RECORDS) {
        return;
    }
    r = &st->bad[st->nbad++];
    r->integrity = integrity;
    r->size = size;
    r->addr = (u64)p;
    r->wrote = wrote;
    r->read = read;
    r->epoch = epoch;
}

/* Only mem and pm toggles leave the memory as it was. */
static bool judge_straddles;

/* Entry of every AP, at CPL3 or (hammer=kernel) CPL0. */
static void hammer_main(u64 cpu)
{
    struct hammer_stats *st = &stats[cpu];
    volatile u8 *slot = slot_base + cpu * SLOT_SIZE;
    unsigned si = 0;

    atomic_fetch_inc32(&aps_online);
    while (!shared.go) {
        cpu_relax();
    }

    for (u64 iter = 0; !shared.stop; iter++) {
        unsigned size = params.sizes[si];
        u64 want = pattern(cpu, iter, size), got;
        u64 e0, e1, e2;

        si = si + 1 == params.nsizes ? 0 : si + 1;

        e0 = shared.epoch;
        mmio_write(slot, size, want);
        /* The write must be done, not just buffered, before e1 is read. */
        asm volatile("mfence" ::: "memory");
        e1 = shared.epoch;
        got = mmio_read(slot, size);
        e2 = shared.epoch;
        st->writes++;
        st->reads++;

        if (e1 != e2 || (e2 & EPOCH_BUSY)) {
            st->straddled++;
            /*
             * Written inside an enabled epoch, read across a toggle: the
             * read got in before the disable (the data) or after it
             * (all-ones), nothing else.  Not for FLR, whose reset changes
             * the memory under the read.
             */
            if (judge_straddles && e0 == e1 && (e1 & EPOCH_ENABLED) &&
                !(e1 & EPOCH_BUSY) && got != want &&
                got != ones_of_size(size)) {
                st->straddle_violations++;
                record_bad(st, false, slot, size, want, got, e2);
            }
        } else if (!(e2 & EPOCH_ENABLED)) {
            if (got == ones_of_size(size)) {
                st->reads_disabled_ones++;
            } else {
                st->ur_violations++;
                record_bad(st, false, slot, size, want, got, e2);
            }
        } else if (e0 != e1) {
            /* Read inside an enabled epoch, the write was not: unknown. */
            st->straddled++;
        } else if (got == want) {
            st->reads_enabled_ok++;
        } else {
            st->integrity_errors++;
            record_bad(st, true, slot, size, want, got, e2);
        }
    }
    st->done = 1;
}

static unsigned start_aps(unsigned expected)
{
    const u32 sipi = APIC_ICR_ALL_BUT_SELF | APIC_ICR_ASSERT |
                     APIC_ICR_STARTUP | (TRAMPOLINE_ADDR >> 12);
    u64 deadline;

    memcpy((void *)TRAMPOLINE_ADDR, trampoline_start,
           trampoline_end - trampoline_start);
    ap_launch.entry = hammer_main;
    ap_launch.in_kernel = params.hammer == HAMMER_KERNEL;

    /* INIT-SIPI-SIPI with the delays of the MP specification. */
    sys_send_ipi(APIC_ICR_ALL_BUT_SELF | APIC_ICR_ASSERT | APIC_ICR_INIT);
    delay_us(10000);
    sys_send_ipi(sipi);
    delay_us(200);
    sys_send_ipi(sipi);

    /* Generous: on kvm_pvm the APs' CPL0 start-up is emulated. */
    deadline = rdtsc() + 10 * tsc_hz;
    while (aps_online < expected - 1 && rdtsc() < deadline) {
        cpu_relax();
    }
    return 1 + aps_online;
}

/* ---- the toggler ---- */

static void epoch_begin(void)
{
    xchg64(&shared.epoch, shared.epoch | EPOCH_BUSY);
}

static void epoch_end(bool enabled)
{
    xchg64(&shared.epoch, ((shared.epoch | 3) + 1) |
                          (enabled ? EPOCH_ENABLED : 0));
}

static void cycle_mem(void)
{
    epoch_begin();
    pci_cmd_set_clr(&dev.pci, 0, PCI_COMMAND_MEMORY);
    epoch_end(false);
    delay_us(params.window_us);
    epoch_begin();
    pci_cmd_set_clr(&dev.pci, PCI_COMMAND_MEMORY, 0);
    epoch_end(true);
}

static void cycle_pm(void)
{
    epoch_begin();
    pm_set_state(PM_STATE_D3HOT);
    epoch_end(false);
    delay_us(params.window_us);
    epoch_begin();
    pm_set_state(PM_STATE_D0);
    delay_us(params.pm_delay_us);
    /* D3hot->D0 without No_Soft_Reset resets the device's configuration. */
    if (!dev.pm_no_soft_reset) {
        config_restore();
    }
    epoch_end(true);
}

/*
 * Another device's BAR goes on and off, so that memslots keep changing
 * while the device under test decodes all along.
 */
static struct pci_dev churn_dev;

static void cycle_churn(void)
{
    pci_cmd_set_clr(&churn_dev, 0, PCI_COMMAND_MEMORY);
    delay_us(params.window_us);
    pci_cmd_set_clr(&churn_dev, PCI_COMMAND_MEMORY, 0);
}

/*
 * FLR with decoding on.  The device decodes again when the reset is done if
 * the host restores its config around the FLR, as vfio-pci does (its memory
 * reset), and not until Command is written otherwise: it says which.
 */
static u64 flr_decoding;      /* FLRs after which the device decoded */

static void cycle_flr(void)
{
    bool decoding;

    epoch_begin();
    pcie_initiate_flr();
    delay_us(params.flr_delay_us);
    decoding = pci_read16(&dev.pci, PCI_COMMAND) & PCI_COMMAND_MEMORY;
    flr_decoding += decoding;
    epoch_end(decoding);
    delay_us(params.window_us);
    epoch_begin();
    config_restore();
    epoch_end(true);
}

/*
 * mode=fuzz: seeded random config writes, of the kind a buggy or hostile
 * guest driver makes, to Command, PMCSR, the PCIe Device Control (FLR
 * included), every BAR register (both halves of a 64-bit BAR: sizing
 * patterns, zero, random addresses, chipset MMIO, guest RAM, addresses at
 * and beyond the guest-physical address width) and the ROM BAR, while the
 * hammers keep accessing the BAR's home.  The device is put back every
 * FUZZ_RESTORE_EVERY writes, so that the hammers keep hitting it.  Every
 * write is logged before it is made; the seed alone makes the sequence,
 * so the same seed replays a failure.  The hammers judge nothing while the
 * writes go on; once the device is put back for good they judge it for
 * FUZZ_FINAL_CHECK_MS, and RAM under the BAR's targets must be intact.
 */
static u64 canary[CANARY_WORDS] __attribute__((aligned(4096)));
static u64 canary_bad;
static unsigned phys_bits;
static u32 churn_bar_lo, saved_rom;

static u64 canary_word(unsigned i)
{
    return 0xc0ffee0000000000ULL ^ ((u64)i * 0x9e3779b97f4a7c15ULL);
}

static void cpuid(u32 leaf, u32 *a, u32 *b, u32 *c, u32 *d)
{
    asm volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d)
                         : "a"(leaf), "c"(0));
}

/* The guest-physical address width, as CPUID tells the guest. */
static unsigned guest_phys_bits(void)
{
    u32 a, b, c, d;

    cpuid(0x80000000, &a, &b, &c, &d);
    if (a < 0x80000008) {
        return 36;
    }
    cpuid(0x80000008, &a, &b, &c, &d);
    return (a >> 16) & 0xff ? (a >> 16) & 0xff : a & 0xff;
}

static void __attribute__((format(printf, 1, 2))) fuzz_log(const char *fmt,
                                                           ...)
{
    char buf[96];
    const char *p = buf;
    va_list ap;
    size_t n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n >= sizeof(buf)) {
        n = sizeof(buf) - 1;
    }
    asm volatile("rep outsb" : "+S"(p), "+c"(n) : "d"(FUZZ_LOG_PORT)
                 : "memory");
}

/* A dword for a BAR register: the high half of an address if @high. */
static u32 fuzz_bar_dword(u64 *rng, unsigned reg, bool high)
{
    const u64 bar_align = dev.bar.size > 4096 ? dev.bar.size : 4096;
    u64 r = splitmix64(rng);

    if (high) {
        const u32 his[] = {
            0, dev.saved_bars[reg], (u32)((1ULL << phys_bits) >> 32) - 1,
            (u32)((1ULL << phys_bits) >> 32), 0x000fffff, 0x00100000,
            0xffffffff, (u32)(r >> 32),
        };
        return his[r % ARRAY_SIZE(his)];
    } else {
        const u32 los[] = {
            dev.saved_bars[reg], 0, 0xffffffff, 0xfee00000, 0xfec00000,
            0xfed00000, (u32)((u64)canary & ~(bar_align - 1)), churn_bar_lo,
            (u32)(r >> 32) & ~0xfffU,
        };
        return los[r % ARRAY_SIZE(los)];
    }
}

struct fuzz_write {
    u8 off, len;
    u32 val;
};

static struct fuzz_write fuzz_next(u64 *rng)
{
    u64 r = splitmix64(rng);
    unsigned pick = r % 100, reg;
    struct fuzz_write w = { .len = 2 };

    r >>= 8;
    reg = r % PCI_NUM_BARS;
    if (pick < 50 && !(dev.saved_bars[reg] & PCI_BASE_ADDRESS_SPACE_IO)) {
        /* Not I/O BARs: one over 0xcf8 would cut the guest off PCI. */
        w.off = PCI_BASE_ADDRESS_0 + 4 * reg;
        w.len = 4;
        /* The odd registers are the high halves of 64-bit BAR pairs. */
        w.val = fuzz_bar_dword(rng, reg, reg & 1);
    } else if (pick < 70 || (pick < 85 && !dev.pm_cap) ||
               (pick < 95 && !dev.exp_cap)) {
        w.off = PCI_COMMAND;
        w.val = r & 0xffff;
    } else if (pick < 85) {
        w.off = dev.pm_cap + PCI_PM_CTRL;
        w.val = r & (PCI_PM_CTRL_STATE_MASK | PCI_PM_CTRL_PME_STATUS | 0x100);
    } else if (pick < 95) {
        w.off = dev.exp_cap + PCI_EXP_DEVCTL;
        w.val = (pci_read16(&dev.pci, w.off) & ~PCI_EXP_DEVCTL_BCR_FLR) |
                ((r & 3) == 0 ? PCI_EXP_DEVCTL_BCR_FLR : 0);
    } else {
        const u32 roms[] = { 0, 0xffffffff, 0xfffff801, (u32)r | 1 };

        w.off = PCI_ROM_ADDRESS;
        w.len = 4;
        w.val = roms[(r >> 32) % ARRAY_SIZE(roms)];
    }
    return w;
}

/* The BARs, D0 and decoding back, as a driver that recovers would. */
static void fuzz_restore(void)
{
    if (dev.pm_cap) {
        pm_set_state(PM_STATE_D0);
        delay_us(params.pm_delay_us);
    }
    pci_write16(&dev.pci, PCI_COMMAND, 0);
    pci_write32(&dev.pci, PCI_ROM_ADDRESS, saved_rom);
    config_restore();
}

static u64 fuzz_run(u64 deadline)
{
    u64 rng = params.seed, n, restores = 0, flrs = 0;

    for (unsigned i = 0; i < CANARY_WORDS; i++) {
        canary[i] = canary_word(i);
    }
    saved_rom = pci_read32(&dev.pci, PCI_ROM_ADDRESS);
    if (params.have_churn) {
        struct pci_bar b;

        if (pci_bar_probe(&churn_dev, -1, &b)) {
            churn_bar_lo = b.addr;
        }
    }
    fuzz_log("FUZZ-START seed=%lu phys_bits=%u bar=%u home=0x%lx\n",
             params.seed, phys_bits, dev.bar.index, dev.bar.addr);
    for (n = 0; !params.cycles || n < params.cycles; n++) {
        struct fuzz_write w = fuzz_next(&rng);

        if (deadline && rdtsc() >= deadline) {
            break;
        }
        if (n >= params.skip) {
            fuzz_log("W %lu %02x %u %08x\n", n, w.off, w.len, w.val);
            if (w.len == 4) {
                pci_write32(&dev.pci, w.off, w.val);
            } else {
                pci_write16(&dev.pci, w.off, w.val);
            }
            flrs += w.off == dev.exp_cap + PCI_EXP_DEVCTL &&
                    (w.val & PCI_EXP_DEVCTL_BCR_FLR);
        }
        if ((n + 1) % FUZZ_RESTORE_EVERY == 0) {
            if (n >= params.skip) {
                fuzz_log("R %lu\n", n);
                fuzz_restore();
            }
            restores++;
        }
        if (params.progress && (n + 1) % params.progress == 0) {
            printf("STRESS-PROGRESS cycles=%lu\n", n + 1);
        }
    }
    fuzz_log("R %lu final\n", n);
    fuzz_restore();
    epoch_end(true);
    delay_us(FUZZ_FINAL_CHECK_MS * 1000);

    for (unsigned i = 0; i < CANARY_WORDS; i++) {
        canary_bad += canary[i] != canary_word(i);
    }
    fuzz_log("FUZZ-END writes=%lu\n", n);
    printf("STRESS-INFO fuzz writes=%lu skipped=%lu restores=%lu flrs=%lu "
           "phys_bits=%u canary_bad=%lu\n", n, params.skip, restores, flrs,
           phys_bits, canary_bad);
    return n;
}

/*
 * mode=reach: the decoding BAR moves beyond the guest-physical address
 * width and back, one half at a time, in either order: first to the
 * lowest address out of reach (a host's MAXPHYADDR, with NPT or EPT),
 * then to the highest one in reach (which KVM still refuses if the CPU
 * model claims more than the host has), then to 2^52 (beyond any x86
 * width), then to the top of the 64-bit space.  A guest cannot reach the
 * BAR beyond its width, and stock QEMU aborts when KVM refuses the
 * memslot.  The hammers judge the BAR at home.
 */
static unsigned reach_cycle;

static void cycle_reach(void)
{
    const u64 size = dev.bar.size < 4096 ? 4096 : dev.bar.size;
    const u64 targets[] = {
        1ULL << phys_bits, (1ULL << phys_bits) - 2 * size, 1ULL << 52,
        -size * 2,
    };
    u8 off = PCI_BASE_ADDRESS_0 + 4 * dev.bar.index;
    u64 target = targets[reach_cycle % ARRAY_SIZE(targets)];
    bool high_first = reach_cycle / ARRAY_SIZE(targets) % 2;

    reach_cycle++;
    epoch_begin();
    if (high_first) {
        pci_write32(&dev.pci, off + 4, target >> 32);
        pci_write32(&dev.pci, off, (u32)target);
    } else {
        pci_write32(&dev.pci, off, (u32)target);
        pci_write32(&dev.pci, off + 4, target >> 32);
    }
    /* Home is unassigned memory now, no Unsupported Request: unjudged. */
    delay_us(params.window_us);
    if (high_first) {
        pci_write32(&dev.pci, off, dev.saved_bars[dev.bar.index]);
        pci_write32(&dev.pci, off + 4, dev.saved_bars[dev.bar.index + 1]);
    } else {
        pci_write32(&dev.pci, off + 4, dev.saved_bars[dev.bar.index + 1]);
        pci_write32(&dev.pci, off, dev.saved_bars[dev.bar.index]);
    }
    epoch_end(true);
}

static void __attribute__((noreturn)) finish(unsigned vcpus, u64 cycles,
                                             const u64 *mode_cycles,
                                             u64 elapsed_ms)
{
    struct hammer_stats sum = { 0 };
    unsigned hung = 0;
    u64 deadline = rdtsc() + 10 * tsc_hz;
    bool pass;

    shared.stop = 1;
    for (unsigned cpu = 1; cpu < vcpus; cpu++) {
        while (!stats[cpu].done && rdtsc() < deadline) {
            cpu_relax();
        }
        if (!stats[cpu].done) {
            printf("STRESS-HUNG cpu=%u\n", cpu);
            hung++;
        }
    }

    for (unsigned cpu = 1; cpu < vcpus; cpu++) {
        const struct hammer_stats *st = &stats[cpu];

        sum.reads += st->reads;
        sum.writes += st->writes;
        sum.reads_enabled_ok += st->reads_enabled_ok;
        sum.reads_disabled_ones += st->reads_disabled_ones;
        sum.straddled += st->straddled;
        sum.integrity_errors += st->integrity_errors;
        sum.ur_violations += st->ur_violations;
        sum.straddle_violations += st->straddle_violations;
        for (unsigned i = 0; i < st->nbad; i++) {
            const struct bad_record *r = &st->bad[i];

            printf("STRESS-BAD kind=%s cpu=%u addr=0x%lx size=%u "
                   "wrote=0x%lx read=0x%lx epoch=0x%lx\n",
                   r->integrity ? "integrity" : "ur", cpu, r->addr, r->size,
                   r->wrote, r->read, r->epoch);
        }
    }
    if (params.mode == MODE_MIXED) {
        printf("STRESS-INFO cycles_mem=%lu cycles_pm=%lu cycles_flr=%lu\n",
               mode_cycles[MODE_MEM], mode_cycles[MODE_PM],
               mode_cycles[MODE_FLR]);
    }
    if (mode_cycles[MODE_FLR]) {
        printf("STRESS-INFO flr_decoding=%lu of %lu\n", flr_decoding,
               mode_cycles[MODE_FLR]);
    }

    if (canary_bad) {
        printf("STRESS-BAD kind=ram words_changed=%lu\n", canary_bad);
    }
    /* Put back for good, the device must work: judged reads, all good. */
    if (params.mode == MODE_FUZZ && vcpus > 1 && !sum.reads_enabled_ok) {
        printf("STRESS-BAD kind=final no read judged after the last restore\n");
    }
    pass = !sum.integrity_errors && !sum.ur_violations &&
           !sum.straddle_violations && !hung && !canary_bad &&
           (params.mode != MODE_FUZZ || vcpus == 1 || sum.reads_enabled_ok);
    printf("STRESS-SUMMARY mode=%s hammer=%s vcpus=%u cycles=%lu "
           "seconds=%lu.%03lu reads=%lu writes=%lu reads_enabled_ok=%lu "
           "reads_disabled_ones=%lu straddled=%lu integrity_errors=%lu "
           "ur_violations=%lu straddle_violations=%lu result=%s\n",
           mode_names[params.mode], hammer_names[params.hammer], vcpus,
           cycles, elapsed_ms / 1000, elapsed_ms % 1000, sum.reads,
           sum.writes, sum.reads_enabled_ok, sum.reads_disabled_ones,
           sum.straddled, sum.integrity_errors, sum.ur_violations,
           sum.straddle_violations,
           pass ? "PASS" : "FAIL");
    sys_exit(pass ? EXIT_PASS : EXIT_FAIL);
}

/* ---- the benchmark ---- */

struct bench_line {
    char buf[256];
    size_t len;
};

/*
 * Picoseconds per access of one size at p, in the fastest of BENCH_ROUNDS
 * rounds of n / BENCH_ROUNDS accesses: preemption of the vCPU and the
 * host's other load only add time.  *read_and gets the AND of every value
 * read, all-ones only if each was.
 */
static u64 bench_accesses(volatile u8 *p, unsigned size, bool write, u64 n,
                          u64 *read_and)
{
    u64 per_round = n / BENCH_ROUNDS, acc = ~0ULL, best = ~0ULL;

    for (unsigned r = 0; r < BENCH_ROUNDS; r++) {
        u64 t0 = rdtsc(), t;

        for (u64 i = 0; i < per_round; i++) {
            if (write) {
                mmio_write(p, size, i);
            } else {
                acc &= mmio_read(p, size);
            }
        }
        t = rdtsc() - t0;
        best = t < best ? t : best;
    }
    *read_and = acc;
    return best * 1000000 / (tsc_hz / 1000) * 1000 / per_round;
}

static void bench_report(struct bench_line *l, const char *phase,
                         const char *op, unsigned size, u64 ps)
{
    l->len += snprintf(l->buf + l->len, sizeof(l->buf) - l->len,
                       " %s_%s%u_ns=%lu.%03lu", phase, op, size, ps / 1000,
                       ps % 1000);
}

/*
 * n writes, then n reads of one size in slot 0, reported as
 * PHASE_writeSIZE_ns and PHASE_readSIZE_ns.  Returns the AND of the
 * values read.
 */
static u64 bench_size(struct bench_line *l, const char *phase, unsigned size,
                      u64 n)
{
    u64 read_and;

    bench_report(l, phase, "write", size,
                 bench_accesses(slot_base, size, true, n, &read_and));
    bench_report(l, phase, "read", size,
                 bench_accesses(slot_base, size, false, n, &read_and));
    return read_and;
}

/*
 * CPU 0 alone, at CPL3 like the hammers: what one BAR access costs while
 * the device decodes (the mmap fast path, no exit) and while Command.MEM
 * is clear (one exit to QEMU per access).
 */
static void __attribute__((noreturn)) bench(void)
{
    struct bench_line l = { .len = 0 };
    u64 disabled_read;

    bench_size(&l, "fast", 4, params.bench_iters);
    bench_size(&l, "fast", 8, params.bench_iters);
    pci_cmd_set_clr(&dev.pci, 0, PCI_COMMAND_MEMORY);
    disabled_read = bench_size(&l, "disabled", 4,
                               params.bench_disabled_iters);
    pci_cmd_set_clr(&dev.pci, PCI_COMMAND_MEMORY, 0);
    printf("STRESS-BENCH bar=%u fast_iters=%lu disabled_iters=%lu%s "
           "disabled_read_value=0x%lx\n", dev.bar.index, params.bench_iters,
           params.bench_disabled_iters, l.buf, disabled_read);
    sys_exit(EXIT_PASS);
}

void stress_main(u64 start_info_paddr)
{
    const struct hvm_start_info *si = (const void *)start_info_paddr;
    enum mode modes[MODE_MIXED];
    unsigned nmodes = 0, ncpus, vcpus = 1;
    u64 rng = 0, t_start, deadline = 0, n = 0;
    u64 mode_cycles[MODE_COUNT] = { 0 };

    console_init();
    if (si->magic != XEN_HVM_START_MAGIC) {
        setup_error("not booted through PVH (start_info magic 0x%x)",
                    si->magic);
    }
    parse_cmdline(si);
    /* Tells a guest that hangs in its setup from firmware that never ran it. */
    printf("STRESS-BOOT\n");
    tsc_calibrate();

    ncpus = params.ncpus ? params.ncpus : acpi_count_cpus(si->rsdp_paddr);
    if (!ncpus) {
        setup_error("no CPUs in the ACPI MADT; pass ncpus=N");
    }
    if (ncpus > MAX_CPUS) {
        setup_error("%u CPUs, at most %u supported", ncpus, MAX_CPUS);
    }

    find_device();
    if (params.offset + (u64)SLOT_SIZE * ncpus > dev.bar.size) {
        setup_error("BAR%u of 0x%lx bytes has no room for %u slots at 0x%lx",
                    dev.bar.index, dev.bar.size, ncpus, params.offset);
    }
    slot_base = (volatile u8 *)(dev.bar.addr + params.offset);
    if (sys_map_uc((u64)slot_base, (u64)SLOT_SIZE * ncpus)) {
        setup_error("cannot map BAR%u at 0x%lx", dev.bar.index, dev.bar.addr);
    }
    printf("STRESS-INFO device=%02x:%02x.%x id=%04x:%04x bar=%u addr=0x%lx "
           "size=0x%lx pm_cap=0x%x pcie_cap=0x%x flr=%s\n",
           dev.pci.bus, dev.pci.dev, dev.pci.fn, dev.pci.vendor,
           dev.pci.device, dev.bar.index, dev.bar.addr, dev.bar.size,
           dev.pm_cap, dev.exp_cap, dev.flr_capable ? "yes" : "no");
    if (params.mode == MODE_BENCH) {
        bench();
    }
    if (params.mode == MODE_CHURN && !params.have_churn) {
        setup_error("mode=churn needs churn=B:D.F, a device to toggle");
    }
    if (params.have_churn && !pci_probe(params.churn_bus, params.churn_dev,
                                        params.churn_fn, &churn_dev)) {
        setup_error("no device at churn=%02x:%02x.%x", params.churn_bus,
                    params.churn_dev, params.churn_fn);
    }
    phys_bits = guest_phys_bits();
    if (params.mode == MODE_REACH && !dev.bar.is64) {
        setup_error("mode=reach: BAR%u is not a 64-bit BAR", dev.bar.index);
    }

    modes[nmodes++] = MODE_MEM;
    if (dev.pm_cap) {
        modes[nmodes++] = MODE_PM;
    }
    if (dev.flr_capable) {
        modes[nmodes++] = MODE_FLR;
    }
    rng = params.seed;

    judge_straddles = params.mode == MODE_MEM || params.mode == MODE_PM;
    if (params.hammer != HAMMER_NONE && ncpus > 1) {
        vcpus = start_aps(ncpus);
        if (vcpus != ncpus) {
            setup_error("only %u of %u vCPUs came up", vcpus, ncpus);
        }
    }

    t_start = rdtsc();
    if (params.seconds_ms) {
        deadline = t_start + params.seconds_ms * (tsc_hz / 1000);
    }
    /* setup_ms: from the PVH entry to here, the guest's own boot time. */
    printf("STRESS-START mode=%s hammer=%s vcpus=%u tsc_khz=%lu setup_ms=%lu\n",
           mode_names[params.mode], hammer_names[params.hammer], vcpus,
           tsc_hz / 1000, tsc_to_ms(t_start - boot_tsc));
    /* Under fuzz nothing is judged until the device is put back. */
    shared.epoch = params.mode == MODE_FUZZ ? EPOCH_BUSY : EPOCH_ENABLED;
    shared.go = 1;
    if (params.mode == MODE_FUZZ) {
        n = fuzz_run(deadline);
        finish(vcpus, n, mode_cycles, tsc_to_ms(rdtsc() - t_start));
    }

    for (;;) {
        enum mode m = params.mode;

        if (m == MODE_MIXED) {
            m = modes[splitmix64(&rng) % nmodes];
        }
        switch (m) {
        case MODE_PM:
            cycle_pm();
            break;
        case MODE_FLR:
            cycle_flr();
            break;
        case MODE_CHURN:
            cycle_churn();
            break;
        case MODE_REACH:
            cycle_reach();
            break;
        default:
            cycle_mem();
            break;
        }
        mode_cycles[m]++;
        n++;
        if (params.progress && n % params.progress == 0) {
            printf("STRESS-PROGRESS cycles=%lu\n", n);
        }
        if ((params.cycles && n >= params.cycles) ||
            (deadline && rdtsc() >= deadline)) {
            break;
        }
        delay_us(params.enabled_us);
    }
    finish(vcpus, n, mode_cycles, tsc_to_ms(rdtsc() - t_start));
}

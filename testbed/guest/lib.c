/*
 * stress-guest: serial console, formatting, string helpers.
 *
 * Copyright (c) 2026 vfio-bar-ur developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "lib.h"

#define COM1            0x3f8
#define UART_LSR        5
#define UART_LSR_THRE   0x20

static volatile u64 console_lock;

void console_init(void)
{
    outb(COM1 + 1, 0x00);       /* no interrupts */
    outb(COM1 + 3, 0x80);       /* DLAB */
    outb(COM1 + 0, 0x01);       /* 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03);       /* 8N1 */
    outb(COM1 + 2, 0xc7);       /* FIFOs on and cleared */
    outb(COM1 + 4, 0x03);       /* DTR, RTS */
}

void console_break_lock(void)
{
    console_lock = 0;
}

static void console_write(const char *s, size_t n)
{
    while (xchg64(&console_lock, 1)) {
        cpu_relax();
    }
    for (size_t i = 0; i < n; i++) {
        while (!(inb(COM1 + UART_LSR) & UART_LSR_THRE)) {
            cpu_relax();
        }
        outb(COM1, s[i]);
    }
    xchg64(&console_lock, 0);
}

struct outbuf {
    char *buf;
    size_t size;
    size_t len;     /* as if unbounded, like snprintf's return value */
};

static void out_char(struct outbuf *o, char c)
{
    if (o->len + 1 < o->size) {
        o->buf[o->len] = c;
    }
    o->len++;
}

static void out_number(struct outbuf *o, u64 v, unsigned base, bool negative,
                       unsigned width, char pad)
{
    char digits[24];
    unsigned n = 0;

    do {
        digits[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    if (negative) {
        digits[n++] = '-';
    }
    while (width > n) {
        out_char(o, pad);
        width--;
    }
    while (n) {
        out_char(o, digits[--n]);
    }
}

/* %[0][width][l|ll|z](d|u|x|s|c|p) and %%: what this program prints. */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct outbuf o = { buf, size, 0 };

    for (; *fmt; fmt++) {
        unsigned width = 0, longs = 0;
        char pad = ' ';
        u64 v;

        if (*fmt != '%') {
            out_char(&o, *fmt);
            continue;
        }
        fmt++;
        if (*fmt == '0') {
            pad = '0';
            fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9') {
            width = width * 10 + (*fmt++ - '0');
        }
        while (*fmt == 'l' || *fmt == 'z') {
            longs++;
            fmt++;
        }
        switch (*fmt) {
        case 'd': {
            long long s = longs ? va_arg(ap, long long) : va_arg(ap, int);

            out_number(&o, s < 0 ? -(u64)s : (u64)s, 10, s < 0, width, pad);
            break;
        }
        case 'u':
        case 'x':
            v = longs ? va_arg(ap, u64) : va_arg(ap, unsigned);
            out_number(&o, v, *fmt == 'x' ? 16 : 10, false, width, pad);
            break;
        case 'p':
            out_char(&o, '0');
            out_char(&o, 'x');
            out_number(&o, (u64)va_arg(ap, void *), 16, false, width, pad);
            break;
        case 's':
            for (const char *s = va_arg(ap, const char *); *s; s++) {
                out_char(&o, *s);
            }
            break;
        case 'c':
            out_char(&o, (char)va_arg(ap, int));
            break;
        case '%':
            out_char(&o, '%');
            break;
        default:
            return -1;
        }
    }
    if (size) {
        buf[o.len < size ? o.len : size - 1] = '\0';
    }
    return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

void printf(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > 0) {
        console_write(buf, (size_t)n < sizeof(buf) ? (size_t)n
                                                   : sizeof(buf) - 1);
    }
}

void *memcpy(void *dst, const void *src, size_t n)
{
    u8 *d = dst;
    const u8 *s = src;

    while (n--) {
        *d++ = *s++;
    }
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    u8 *d = dst;

    while (n--) {
        *d++ = (u8)c;
    }
    return dst;
}

size_t strlen(const char *s)
{
    size_t n = 0;

    while (s[n]) {
        n++;
    }
    return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b || !*a) {
            return (u8)*a - (u8)*b;
        }
    }
    return 0;
}

/*
 * stress-guest: serial console, formatting, string helpers.
 *
 * Copyright (c) 2026 vfio-bar-ur developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef STRESS_LIB_H
#define STRESS_LIB_H

#include <stdarg.h>
#include "x86.h"

#define ARRAY_SIZE(a)   (sizeof(a) / sizeof((a)[0]))

void console_init(void);
/* For the exception path only: the CPU that held the lock may be dead. */
void console_break_lock(void);

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* One call, one uninterrupted piece of console output. */
void printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);

#endif /* STRESS_LIB_H */

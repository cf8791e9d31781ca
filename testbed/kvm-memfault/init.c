// SPDX-License-Identifier: GPL-2.0-only
/*
 * /init of the initramfs scripts/test-kernel-memfault boots: mounts devtmpfs,
 * proc and sysfs, checks that /dev/kvm exists and that kvm_amd came up with
 * nested paging, runs /kvm-memfault-test with the expectation given on the
 * kernel command line (memfault_expect=annotated|bare), prints its exit
 * status and powers the machine off.
 *
 * Every line it prints starts with "init: ", so the host can pick them out
 * of the serial console.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("init: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

static void uptime(const char *what)
{
	char buf[64] = "?";
	FILE *f = fopen("/proc/uptime", "r");

	if (f) {
		if (fscanf(f, "%63s", buf) != 1)
			strcpy(buf, "?");
		fclose(f);
	}
	say("%s at %ss after boot", what, buf);
}

static void mnt(const char *type, const char *dir)
{
	mkdir(dir, 0755);
	if (mount(type, dir, type, 0, NULL) && errno != EBUSY)
		say("mount %s: %s", dir, strerror(errno));
}

/* First line of a file, without the newline, or "" */
static const char *read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	buf[0] = 0;
	if (f) {
		if (!fgets(buf, len, f))
			buf[0] = 0;
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = 0;
	return buf;
}

static void power_off(void)
{
	fflush(stdout);
	sync();
	reboot(RB_POWER_OFF);
	/* Without ACPI power-off, QEMU's -no-reboot ends the run instead. */
	reboot(RB_AUTOBOOT);
	for (;;)
		pause();
}

int main(void)
{
	char cmdline[1024], npt[16], status[32];
	const char *expect = "annotated";
	char *p;
	int ok = 1;
	pid_t pid;
	int ws;

	setvbuf(stdout, NULL, _IOLBF, 0);
	mnt("devtmpfs", "/dev");
	mnt("proc", "/proc");
	mnt("sysfs", "/sys");
	uptime("started");

	read_line("/proc/cmdline", cmdline, sizeof(cmdline));
	p = strstr(cmdline, "memfault_expect=");
	if (p) {
		p += strlen("memfault_expect=");
		p[strcspn(p, " ")] = 0;
		expect = p;
	}

	if (access("/dev/kvm", R_OK | W_OK)) {
		say("/dev/kvm: %s", strerror(errno));
		ok = 0;
	} else {
		say("/dev/kvm present");
	}
	read_line("/sys/module/kvm_amd/parameters/npt", npt, sizeof(npt));
	if (npt[0] == 'Y' || npt[0] == '1') {
		say("kvm_amd: nested paging enabled (npt=%s)", npt);
	} else {
		say("kvm_amd: nested paging not enabled (npt=%s)", npt[0] ? npt : "absent");
		ok = 0;
	}

	if (ok) {
		say("running /kvm-memfault-test --expect %s", expect);
		pid = fork();
		if (pid == 0) {
			execl("/kvm-memfault-test", "kvm-memfault-test", "--expect", expect, "-v",
			      (char *)NULL);
			say("exec /kvm-memfault-test: %s", strerror(errno));
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, &ws, 0) < 0) {
			say("fork/wait: %s", strerror(errno));
			ok = 0;
		} else if (WIFEXITED(ws)) {
			snprintf(status, sizeof(status), "%d", WEXITSTATUS(ws));
			say("kvm-memfault-test exited with %s", status);
			ok = WEXITSTATUS(ws) == 0;
		} else {
			snprintf(status, sizeof(status), "%d", WTERMSIG(ws));
			say("kvm-memfault-test killed by signal %s", status);
			ok = 0;
		}
	}
	uptime("done");
	say("%s", ok ? "SUCCESS" : "FAILURE");
	power_off();
	return 0;
}

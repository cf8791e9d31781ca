/*
 * vfio-user test device: counters and the control socket.
 *
 * Control protocol, one command per line, one answer line per command:
 *   stats        -> the counters as one JSON object
 *   reset        -> "ok", counters zeroed
 *   revoke on    -> "ok", BAR memory revoked while decoding is off
 *   revoke off   -> "ok", BAR memory left mapped while decoding is off
 *   host-reset   -> "ok", a function reset the guest did not ask for (a
 *                   host-side reset or power transition): decoding stops
 *                   and the BAR memory is revoked at once
 *   break-mapping -> "ok", the BAR memory is revoked for good while the
 *                   device goes on decoding: a mapping no config write
 *                   repairs
 * Anything else answers "error: ...".
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "testdev.h"

#define STATS_JSON_MAX 1024

static const struct {
    const char *name;
    size_t offset;
} counters[] = {
#define TESTDEV_COUNTER_ENTRY(name) { #name, offsetof(TestdevStats, name) },
    TESTDEV_COUNTERS(TESTDEV_COUNTER_ENTRY)
#undef TESTDEV_COUNTER_ENTRY
};

/* snprintf() at buf + *pos; false if the result did not fit. */
static bool __attribute__((format(printf, 4, 5)))
append(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf + *pos, len - *pos, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= len - *pos) {
        return false;
    }
    *pos += n;
    return true;
}

static const char *json_bool(bool b)
{
    return b ? "true" : "false";
}

/*
 * The counters, then the state a test needs to interpret them: whether
 * revoking is on, whether BAR0 is revoked right now, whether the function
 * decodes memory and its power state (0 = D0 ... 3 = D3hot).
 */
int stats_format(const Testdev *dev, char *buf, size_t len)
{
    size_t pos = 0;
    size_t i;

    for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
        const uint64_t *value = (const uint64_t *)
            ((const char *)&dev->stats + counters[i].offset);

        if (!append(buf, len, &pos, "%c\"%s\":%" PRIu64, i ? ',' : '{',
                    counters[i].name, *value)) {
            return -1;
        }
    }
    if (!append(buf, len, &pos,
                ",\"revoke\":%s,\"bar_revoked\":%s,\"mem_enabled\":%s,"
                "\"power_state\":%u}",
                json_bool(dev->revoke), json_bool(dev->bar.revoked),
                json_bool(config_mem_enabled(dev)),
                config_power_state(dev))) {
        return -1;
    }
    return pos;
}

/* Written to a temporary file first so a reader never sees half of it. */
int stats_write_file(const Testdev *dev, const char *path)
{
    char json[STATS_JSON_MAX];
    char tmp[PATH_MAX];
    FILE *f;

    if (stats_format(dev, json, sizeof(json)) < 0) {
        errno = EOVERFLOW;
        return -1;
    }
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }

    f = fopen(tmp, "w");
    if (f == NULL) {
        return -1;
    }
    fprintf(f, "%s\n", json);
    if (fclose(f) != 0) {
        unlink(tmp);
        return -1;
    }
    return rename(tmp, path);
}

int control_open(Control *ctl, const char *path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int i;

    for (i = 0; i < CONTROL_MAX_CLIENTS; i++) {
        ctl->clients[i].fd = -1;
    }
    ctl->listen_fd = -1;
    ctl->path = path;
    if (path == NULL) {
        return 0;
    }

    if (snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path) >=
        (int)sizeof(addr.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    unlink_stale_socket(path);

    ctl->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ctl->listen_fd < 0) {
        return -1;
    }
    if (bind(ctl->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
        listen(ctl->listen_fd, CONTROL_MAX_CLIENTS) < 0) {
        return -1;
    }
    return 0;
}

static ControlClient *control_free_slot(Control *ctl)
{
    int i;

    for (i = 0; i < CONTROL_MAX_CLIENTS; i++) {
        if (ctl->clients[i].fd < 0) {
            return &ctl->clients[i];
        }
    }
    return NULL;
}

static ControlClient *control_find_client(Control *ctl, int fd)
{
    int i;

    for (i = 0; i < CONTROL_MAX_CLIENTS; i++) {
        if (ctl->clients[i].fd == fd) {
            return &ctl->clients[i];
        }
    }
    return NULL;
}

/*
 * While every client slot is taken the listening socket is not polled, so
 * further connections wait in the backlog instead of being refused.
 */
nfds_t control_pollfds(const Control *ctl, struct pollfd *fds)
{
    nfds_t n = 0;
    bool slot_free = false;
    int i;

    for (i = 0; i < CONTROL_MAX_CLIENTS; i++) {
        if (ctl->clients[i].fd < 0) {
            slot_free = true;
            continue;
        }
        fds[n++] = (struct pollfd) { .fd = ctl->clients[i].fd,
                                     .events = POLLIN };
    }
    if (ctl->listen_fd >= 0 && slot_free) {
        fds[n++] = (struct pollfd) { .fd = ctl->listen_fd, .events = POLLIN };
    }
    return n;
}

static void client_close(ControlClient *client)
{
    close(client->fd);
    client->fd = -1;
    client->len = 0;
}

/* Only polled while a client slot is free (see control_pollfds()). */
static void control_accept(Control *ctl)
{
    ControlClient *client = control_free_slot(ctl);
    int fd = accept4(ctl->listen_fd, NULL, NULL,
                     SOCK_CLOEXEC | SOCK_NONBLOCK);

    if (fd < 0) {
        return;
    }
    client->fd = fd;
    client->len = 0;
}

/*
 * An answer is one short line, so send() on the non-blocking socket takes it
 * whole unless the client has stopped reading or gone away: then drop it.
 */
static bool client_reply(ControlClient *client, const char *text)
{
    char buf[STATS_JSON_MAX + 1];
    int len = snprintf(buf, sizeof(buf), "%s\n", text);

    return send(client->fd, buf, len, MSG_NOSIGNAL) == len;
}

static bool control_command(Testdev *dev, ControlClient *client,
                            const char *cmd)
{
    if (strcmp(cmd, "stats") == 0) {
        char json[STATS_JSON_MAX];

        if (stats_format(dev, json, sizeof(json)) < 0) {
            return client_reply(client, "error: stats do not fit");
        }
        return client_reply(client, json);
    }
    if (strcmp(cmd, "reset") == 0) {
        memset(&dev->stats, 0, sizeof(dev->stats));
        return client_reply(client, "ok");
    }
    if (strcmp(cmd, "revoke on") == 0 || strcmp(cmd, "revoke off") == 0) {
        bool revoke = strcmp(cmd, "revoke on") == 0;

        if (revoke != dev->revoke) {
            dev->revoke = revoke;
            testdev_log(dev, "revoking %s", revoke ? "on" : "off");
            bar_sync(dev);
        }
        return client_reply(client, "ok");
    }
    if (strcmp(cmd, "break-mapping") == 0) {
        testdev_log(dev, "BAR0 mapping broken for good");
        dev->mapping_broken = true;
        bar_sync(dev);
        return client_reply(client, "ok");
    }
    if (strcmp(cmd, "host-reset") == 0) {
        dev->stats.host_resets++;
        testdev_log(dev, "host-side function reset");
        config_function_reset(dev);
        return client_reply(client, "ok");
    }
    return client_reply(client, "error: unknown command");
}

/* Run every complete line in the client's buffer; false drops the client. */
static bool client_run_lines(Testdev *dev, ControlClient *client)
{
    char *start = client->line;
    char *nl;

    while ((nl = memchr(start, '\n', client->line + client->len - start))) {
        *nl = '\0';
        if (nl > start && nl[-1] == '\r') {
            nl[-1] = '\0';
        }
        if (!control_command(dev, client, start)) {
            return false;
        }
        start = nl + 1;
    }

    client->len -= start - client->line;
    memmove(client->line, start, client->len);
    if (client->len == sizeof(client->line)) {
        client_reply(client, "error: line too long");
        return false;
    }
    return true;
}

static void control_read(Testdev *dev, ControlClient *client)
{
    ssize_t n = read(client->fd, client->line + client->len,
                     sizeof(client->line) - client->len);

    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return;
    }
    if (n <= 0) {
        client_close(client);
        return;
    }
    client->len += n;
    if (!client_run_lines(dev, client)) {
        client_close(client);
    }
}

void control_dispatch(Control *ctl, Testdev *dev, const struct pollfd *fds,
                      nfds_t nfds)
{
    nfds_t i;

    for (i = 0; i < nfds; i++) {
        if (!fds[i].revents) {
            continue;
        }
        if (fds[i].fd == ctl->listen_fd) {
            control_accept(ctl);
            continue;
        }
        /* Clients come before the listener: none was closed or added yet. */
        control_read(dev, control_find_client(ctl, fds[i].fd));
    }
}

void control_close(Control *ctl)
{
    int i;

    for (i = 0; i < CONTROL_MAX_CLIENTS; i++) {
        if (ctl->clients[i].fd >= 0) {
            client_close(&ctl->clients[i]);
        }
    }
    if (ctl->listen_fd >= 0) {
        close(ctl->listen_fd);
        unlink(ctl->path);
    }
}

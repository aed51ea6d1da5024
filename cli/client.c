#include "cli/client.h"

#include "common/clock.h"
#include "common/curve.h"
#include "common/fsutil.h"
#include "common/parse.h"
#include "common/proc.h"
#include "common/zmonitor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

/* A cluster file is a few hundred bytes; this bounds what a stray one costs. */
#define CLUSTER_MAX_FILE (1u << 20)

struct client {
    void *ctx, *sock, *mon;
    char endpoint[512];
    char server_key[CURVE_Z85];    /* "": the scheduler does not authenticate */
    char key_from[FS_SUBPATH_LEN];           /* where this client's key came from, for errors */
    char cluster_dir[FS_PATH_LEN];        /* the local cluster it was found through; "": none */
    bool own_cluster;              /* tern up checking its cluster: its admin key, always */
    uint64_t seq;
    bool connected;
};

static bool plaintext_allowed;

void client_allow_plaintext(void)
{
    plaintext_allowed = true;
}

bool client_plaintext_allowed(void)
{
    const char *v = getenv("TERN_INSECURE");
    return plaintext_allowed || (v && *v && strcmp(v, "0") != 0);
}

int client_timeout_ms(void)
{
    uint32_t s;
    const char *v = getenv("TERN_TIMEOUT");
    if (v && parse_u32(v, 1, 86400, &s) == 0)
        return (int)s * 1000;
    return 10000;
}

/* Fills 'ci' from the text of a cluster file of directory 'dir' (the text
 * is taken apart). Returns 0, or -1 (EINVAL) when it names no scheduler. */
static int cluster_parse(const char *dir, char *text, cluster_info *ci)
{
    memset(ci, 0, sizeof *ci);
    ci->gpus_per_worker = -1;
    snprintf(ci->dir, sizeof ci->dir, "%s", dir);
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = '\0';
        const char *k = line, *v = eq + 1;
        uint32_t n;
        if (strcmp(k, "scheduler") == 0)
            snprintf(ci->scheduler, sizeof ci->scheduler, "%s", v);
        else if (strcmp(k, "worker_endpoint") == 0)
            snprintf(ci->worker_endpoint, sizeof ci->worker_endpoint, "%s", v);
        else if (strcmp(k, "ternd_pid") == 0 && parse_u32(v, 1, INT_MAX, &n) == 0)
            ci->ternd_pid = (pid_t)n;
        else if (strcmp(k, "cpus_per_worker") == 0 && parse_u32(v, 0, 1000000, &n) == 0)
            ci->cpus_per_worker = n;
        else if (strcmp(k, "gpus_per_worker") == 0)
            parse_i32(v, -1, 64, &ci->gpus_per_worker);
        else if (strcmp(k, "spot_workers") == 0)
            parse_i32(v, 0, 256, &ci->spot_workers);
        else if (strcmp(k, "notice_url") == 0)
            snprintf(ci->notice_url, sizeof ci->notice_url, "%s", v);
        else if (strcmp(k, "server_key") == 0 && curve_z85_valid(v))
            snprintf(ci->server_key, sizeof ci->server_key, "%s", v);
        else if (strcmp(k, "worker") == 0 && ci->nworkers < 256) {
            /* worker=NAME PID */
            char name[65];
            unsigned pid;
            if (sscanf(v, "%64s %u", name, &pid) == 2) {
                snprintf(ci->worker_names[ci->nworkers], sizeof ci->worker_names[0], "%s", name);
                ci->worker_pids[ci->nworkers++] = (pid_t)pid;
            }
        }
    }
    if (!ci->scheduler[0]) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

int cluster_read(const char *dir, cluster_info *ci)
{
    char path[FS_SUBPATH_LEN], *text;
    snprintf(path, sizeof path, "%s/%s", dir, CLUSTER_FILE);
    if (fs_read_all(path, CLUSTER_MAX_FILE, &text, NULL) < 0)
        return -1;
    int rc = cluster_parse(dir, text, ci);
    free(text);
    return rc;
}

int cluster_write(const cluster_info *ci)
{
    char buf[65536], path[FS_SUBPATH_LEN];
    int n = snprintf(buf, sizeof buf,
                     "scheduler=%s\nworker_endpoint=%s\nternd_pid=%d\n"
                     "cpus_per_worker=%u\ngpus_per_worker=%d\nspot_workers=%d\nnotice_url=%s\n"
                     "server_key=%s\n",
                     ci->scheduler, ci->worker_endpoint, (int)ci->ternd_pid, ci->cpus_per_worker,
                     ci->gpus_per_worker, ci->spot_workers, ci->notice_url, ci->server_key);
    for (int i = 0; i < ci->nworkers && n < (int)sizeof buf; i++)
        n += snprintf(buf + n, sizeof buf - (size_t)n, "worker=%s %d\n", ci->worker_names[i],
                      (int)ci->worker_pids[i]);
    if (n >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    snprintf(path, sizeof path, "%s/%s", ci->dir, CLUSTER_FILE);
    return fs_write_atomic(path, buf, (size_t)n, 0644);
}

/* "bob (uid 1002)", or "uid 1002" for a uid without a name. */
static void owner_name(uid_t uid, char *buf, size_t len)
{
    struct passwd *pw = getpwuid(uid);
    if (pw)
        snprintf(buf, len, "%s (uid %u)", pw->pw_name, (unsigned)uid);
    else
        snprintf(buf, len, "uid %u", (unsigned)uid);
}

/* Whether 'st' is something other users could have written: owned by
 * someone else than this user and root, or writable by group or others;
 * 'why' then says so, after 'what' ("" for the file itself). */
static bool untrusted(const struct stat *st, const char *what, char *why, size_t len)
{
    if (st->st_uid != getuid() && st->st_uid != 0) {
        char who[128];
        owner_name(st->st_uid, who, sizeof who);
        snprintf(why, len, "%sowned by %s, not by you or root", what, who);
        return true;
    }
    if (st->st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(why, len, "%swritable by %s", what, st->st_mode & S_IWOTH ? "others" : "its group");
        return true;
    }
    return false;
}

/* The same for the cluster file, which must also be a regular file. */
static bool file_untrusted(const struct stat *st, char *why, size_t len)
{
    if (S_ISLNK(st->st_mode))
        snprintf(why, len, "a symbolic link");
    else if (!S_ISREG(st->st_mode))
        snprintf(why, len, "not a regular file");
    else
        return untrusted(st, "", why, len);
    return true;
}

/* Reads what is left of 'fd' (at most 'max' bytes) into a NUL-terminated
 * buffer the caller frees. Returns it, or NULL with errno (EFBIG: larger). */
static char *read_fd(int fd, size_t max)
{
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    while (buf) {
        if (len + 1 >= cap) {
            char *grown = cap >= max ? NULL : realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                errno = cap >= max ? EFBIG : ENOMEM;
                return NULL;
            }
            buf = grown;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            free(buf);
            errno = e;
            return NULL;
        }
        if (n == 0) {
            buf[len] = '\0';
            return buf;
        }
        len += (size_t)n;
    }
    errno = ENOMEM;
    return NULL;
}

/* The cluster file in 'base' (a directory; "" for /): 1 with 'ci' filled
 * when there is one to trust, 0 when there is none (or none this user may
 * read), -1 with errno when the trusted one cannot be read. An untrusted
 * one counts as none, and 'why' says what is wrong with it. */
static int cluster_at(const char *base, cluster_info *ci, char *why, size_t whylen)
{
    char dir[FS_PATH_LEN], *text;
    struct stat dst, fst;
    why[0] = '\0';
    if (snprintf(dir, sizeof dir, "%s/%s", base, CLUSTER_DIR) >= (int)sizeof dir)
        return 0;
    /* O_PATH: a cluster directory of mode 0711 is ours to search, not to
     * list. A link to it is followed: what is checked is where it leads. */
    int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return 0;
    int rc = 0, fd = -1;
    if (fstatat(dfd, CLUSTER_FILE, &fst, AT_SYMLINK_NOFOLLOW) < 0)
        goto out;   /* no cluster file: a .tern that is something else */
    if (file_untrusted(&fst, why, whylen) || fstat(dfd, &dst) < 0 ||
        untrusted(&dst, "its directory is ", why, whylen))
        goto out;
    /* Checked again through the descriptor read from: the name may have
     * changed hands since. (O_NONBLOCK: a FIFO there must not hang the open.) */
    fd = openat(dfd, CLUSTER_FILE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ELOOP)
            snprintf(why, whylen, "a symbolic link");
        goto out;
    }
    if (fstat(fd, &fst) < 0 || file_untrusted(&fst, why, whylen))
        goto out;
    snprintf(ci->dir, sizeof ci->dir, "%s", dir);
    text = read_fd(fd, CLUSTER_MAX_FILE);
    rc = -1;
    if (text) {
        rc = cluster_parse(dir, text, ci) < 0 ? -1 : 1;
        free(text);
    }
out:;
    int e = errno;
    if (fd >= 0)
        close(fd);
    close(dfd);
    errno = e;
    return rc;
}

int cluster_find(cluster_info *ci)
{
    /* Said once a process, however often it looks (tern wait reconnects). */
    static bool told;
    char cwd[FS_PATH_LEN];
    if (!getcwd(cwd, sizeof cwd))
        return -1;
    for (;;) {
        char why[FS_MSG_LEN];
        const char *base = strcmp(cwd, "/") ? cwd : "";
        int rc = cluster_at(base, ci, why, sizeof why);
        if (rc != 0) {
            told = true;
            return rc < 0 ? -1 : 0;
        }
        if (why[0] && !told)
            fprintf(stderr, "tern: ignoring %s/%s/%s: %s\n", base, CLUSTER_DIR, CLUSTER_FILE,
                    why);
        char *slash = strrchr(cwd, '/');
        if (!slash || !slash[1])
            break;
        slash[slash == cwd] = '\0';
    }
    told = true;
    errno = ENOENT;
    return -1;
}

/* The endpoint to use (and the local cluster's dir and server key when it
 * came from one), or -1 with the reason. */
static int resolve(client *c, const char *scheduler, char *err, size_t errlen)
{
    char *out = c->endpoint;
    size_t len = sizeof c->endpoint;
    if (!scheduler)
        scheduler = getenv("TERN_SCHEDULER");
    cluster_info ci;
    if (scheduler && *scheduler) {
        snprintf(out, len, "%s", scheduler);
        /* The local cluster's own endpoint, named: its keys still serve. */
        if (cluster_find(&ci) == 0 && strcmp(ci.scheduler, out) == 0) {
            snprintf(c->cluster_dir, sizeof c->cluster_dir, "%s", ci.dir);
            snprintf(c->server_key, sizeof c->server_key, "%s", ci.server_key);
        }
        return 0;
    }
    if (cluster_find(&ci) < 0) {
        if (errno == ENOENT)
            snprintf(err, errlen, "no scheduler: give --scheduler tcp://HOST:PORT, set "
                                  "TERN_SCHEDULER, or start a local cluster with 'tern up'");
        else
            snprintf(err, errlen, "local cluster %s: cannot read %s: %s", ci.dir, CLUSTER_FILE,
                     strerror(errno));
        return -1;
    }
    if (ci.ternd_pid && !proc_alive(ci.ternd_pid)) {
        snprintf(err, errlen, "the local cluster in %s is not running (ternd pid %d is gone); "
                              "start it with 'tern up'", ci.dir, (int)ci.ternd_pid);
        return -1;
    }
    snprintf(out, len, "%s", ci.scheduler);
    snprintf(c->cluster_dir, sizeof c->cluster_dir, "%s", ci.dir);
    snprintf(c->server_key, sizeof c->server_key, "%s", ci.server_key);
    return 0;
}

/* The key this client proves itself with: inside a job $TERN_JOB_KEY (its
 * attempt's key, which acts as the job's user: a $TERN_KEY inherited from
 * the submitting shell may name a file this node does not have), else
 * $TERN_KEY (a key file), else the local cluster's admin key when the
 * scheduler was found through it and the file is ours to read, else
 * ~/.config/tern/key. Returns 0, or -1 with the reason. */
static int client_key(client *c, curve_key *k, char *err, size_t errlen)
{
    const char *path = getenv("TERN_KEY"), *job = getenv("TERN_JOB_KEY");
    char buf[FS_SUBPATH_LEN];
    if (c->own_cluster) {
        path = buf;
        job = NULL;
        snprintf(buf, sizeof buf, "%s/%s", c->cluster_dir, CLUSTER_ADMIN_KEY);
    }
    if (job && *job) {
        snprintf(c->key_from, sizeof c->key_from, "this job's key (TERN_JOB_KEY)");
        if (curve_key_from_secret(job, k) == 0)
            return 0;
        snprintf(err, errlen, "TERN_JOB_KEY is not a Z85 secret key");
        return -1;
    }
    if (!(path && *path) && c->cluster_dir[0]) {
        snprintf(buf, sizeof buf, "%s/%s", c->cluster_dir, CLUSTER_ADMIN_KEY);
        if (access(buf, R_OK) == 0)
            path = buf;
    }
    if (!(path && *path)) {
        if (client_default_key(buf, sizeof buf) < 0 || access(buf, F_OK) < 0) {
            snprintf(err, errlen, "the scheduler at %s requires a key and this user has none: "
                     "run 'tern keygen' and have an admin add the printed key to the "
                     "scheduler's authorized keys (or set TERN_KEY=FILE)", c->endpoint);
            return -1;
        }
        path = buf;
    }
    snprintf(c->key_from, sizeof c->key_from, "%s", path);
    return curve_key_load(path, k, err, errlen);
}

int client_default_key(char *buf, size_t len)
{
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(buf, len, "%s/tern/key", xdg);
    else if (home && *home)
        snprintf(buf, len, "%s/.config/tern/key", home);
    else
        return -1;
    return 0;
}

/* Sets up CURVE when the scheduler authenticates (a server key is known:
 * $TERN_SERVER_KEY, a key or a file, or the local cluster's). */
static int client_curve(client *c, char *err, size_t errlen)
{
    const char *sk = getenv("TERN_SERVER_KEY");
    if (sk && *sk && curve_public_read(sk, c->server_key, err, errlen) < 0)
        return -1;
    if (!c->server_key[0]) {
        if (client_plaintext_allowed())
            return 0;
        snprintf(err, errlen, "the scheduler at %s: no server key known, so the connection "
                 "would not be encrypted or authenticated: set TERN_SERVER_KEY (ternd's public "
                 "key), or give --insecure for a scheduler that runs without keys", c->endpoint);
        return -1;
    }
    curve_key k;
    if (client_key(c, &k, err, errlen) < 0)
        return -1;
    if (curve_client(c->sock, &k, c->server_key) < 0) {
        snprintf(err, errlen, "cannot set up CURVE: %s", zmq_strerror(errno));
        return -1;
    }
    return 0;
}

static client *open_client(const char *scheduler, const cluster_info *local, char *err,
                           size_t errlen)
{
    client *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (local) {
        snprintf(c->endpoint, sizeof c->endpoint, "%s", local->scheduler);
        snprintf(c->cluster_dir, sizeof c->cluster_dir, "%s", local->dir);
        snprintf(c->server_key, sizeof c->server_key, "%s", local->server_key);
        c->own_cluster = true;
    } else if (resolve(c, scheduler, err, errlen) < 0) {
        goto error;
    }
    c->ctx = zmq_ctx_new();
    c->sock = c->ctx ? zmq_socket(c->ctx, ZMQ_DEALER) : NULL;
    if (!c->sock) {
        snprintf(err, errlen, "cannot create a socket: %s", zmq_strerror(errno));
        goto error;
    }
    wire_socket_defaults(c->sock);
    if (client_curve(c, err, errlen) < 0)
        goto error;
    c->mon = zmonitor_open(c->ctx, c->sock,
                           ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_RETRIED |
                               ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    if (zmq_connect(c->sock, c->endpoint) < 0) {
        snprintf(err, errlen, "bad scheduler address '%s': %s", c->endpoint,
                 zmq_strerror(errno));
        goto error;
    }
    return c;
error:
    client_close(&c);
    return NULL;
}

client *client_open(const char *scheduler, char *err, size_t errlen)
{
    return open_client(scheduler, NULL, err, errlen);
}

client *client_open_local(const cluster_info *ci, char *err, size_t errlen)
{
    return open_client(NULL, ci, err, errlen);
}

void client_close(client **cp)
{
    if (!cp || !*cp)
        return;
    client *c = *cp;
    if (c->mon)
        zmq_close(c->mon);
    if (c->sock)
        zmq_close(c->sock);
    if (c->ctx)
        zmq_ctx_term(c->ctx);
    free(c);
    *cp = NULL;
}

const char *client_endpoint(const client *c)
{
    return c->endpoint;
}

Tern__Envelope *client_call(client *c, Tern__Envelope *req, int timeout_ms, char *err,
                            size_t errlen)
{
    if (timeout_ms <= 0)
        timeout_ms = client_timeout_ms();
    req->seq = ++c->seq;
    if (wire_send(c->sock, NULL, req, 0) < 0) {
        if (errno == EMSGSIZE)
            snprintf(err, errlen, "request larger than the %d-byte message limit", WIRE_MAX_MSG);
        else
            snprintf(err, errlen, "cannot send to %s: %s", c->endpoint, zmq_strerror(errno));
        return NULL;
    }
    int64_t deadline = clock_mono_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - clock_mono_ms();
        if (left <= 0)
            break;
        zmq_pollitem_t items[2] = {
            { c->sock, 0, ZMQ_POLLIN, 0 },
            { c->mon, 0, ZMQ_POLLIN, 0 },
        };
        int rc = zmq_poll(items, c->mon ? 2 : 1, (long)left);
        if (rc < 0 && errno != EINTR) {
            snprintf(err, errlen, "poll: %s", zmq_strerror(errno));
            return NULL;
        }
        if (c->mon && (items[1].revents & ZMQ_POLLIN)) {
            uint32_t value = 0;
            int ev = zmonitor_event(c->mon, &value);
            if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH || ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
                ev == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
                char what[700];
                snprintf(what, sizeof what, "the scheduler at %s", c->endpoint);
                zmonitor_handshake_error(ev, value, what, c->server_key[0], err, errlen);
                if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH && c->key_from[0]) {
                    size_t l = strlen(err);
                    snprintf(err + l, errlen - l, " (key from %s)", c->key_from);
                }
                return NULL;
            }
            if (ev == ZMQ_EVENT_CONNECTED) {
                c->connected = true;
            } else if (ev == ZMQ_EVENT_CONNECT_RETRIED && !c->connected) {
                snprintf(err, errlen, "no scheduler listening at %s (connection refused)",
                         c->endpoint);
                return NULL;
            } else if (ev == ZMQ_EVENT_DISCONNECTED) {
                snprintf(err, errlen, "the scheduler at %s closed the connection", c->endpoint);
                c->connected = false;
                return NULL;
            }
        }
        if (!(items[0].revents & ZMQ_POLLIN))
            continue;
        Tern__Envelope *rep;
        char why[512];
        rc = wire_recv(c->sock, false, ZMQ_DONTWAIT, NULL, &rep, why, sizeof why);
        if (rc == -2) {
            snprintf(err, errlen, "reply from %s: %s", c->endpoint, why);
            return NULL;
        }
        if (rc < 0)
            continue;
        if (rep->body_case == TERN__ENVELOPE__BODY_ERROR && (rep->seq == req->seq || rep->seq == 0)) {
            snprintf(err, errlen, "%s", rep->error->message);
            wire_free(rep);
            return NULL;
        }
        if (rep->seq == req->seq)
            return rep;
        wire_free(rep);   /* a late reply to an earlier request */
    }
    snprintf(err, errlen, "no reply from the scheduler at %s after %d s", c->endpoint,
             timeout_ms / 1000);
    return NULL;
}

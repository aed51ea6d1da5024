/* tern up / tern down: a local cluster (one ternd, N workers) on loopback,
 * described by DIR/cluster. 'tern up' on an existing cluster restarts
 * whichever of its daemons is not running, on the same endpoints, so the
 * others reconnect; its state database and logs stay in DIR. ternd serves
 * Prometheus metrics on a loopback port, named in DIR/ternd.endpoints
 * (metrics=URL) and in what 'tern up' prints. */
#include "cli/cli.h"
#include "cli/up.h"

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/parse.h"
#include "common/proc.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define START_TIMEOUT_MS 15000
#define STOP_TIMEOUT_MS 10000

static const char up_usage[] =
    "usage: tern up [--dir DIR] [--workers N] [--cpus-per-worker C] [--gpus-per-worker G]\n"
    "               [--spot-workers S] [--notice-url URL] [--rate-limit N]\n"
    "  starts ternd and N workers on this machine (default: ./.tern, 2 workers,\n"
    "  the machine's CPUs each, no GPUs); on an existing cluster, restarts the\n"
    "  daemons that are not running, and --workers N starts or stops workers to\n"
    "  make N (never one that runs a job; spot workers stay). The last S workers are spot nodes (price 1.00\n"
    "  an hour, on-demand ones 3.00) polling URL for spot notices. ternd and the\n"
    "  workers authenticate with keys made in DIR/keys (see tern keygen); N is\n"
    "  ternd's --rate-limit (client requests a second per user; 0: none). DIR and\n"
    "  DIR/logs are mode 0711 (users reach the cluster file and their jobs'\n"
    "  directories, but list nothing), the daemons' logs 0600.\n";

typedef struct up_opts {
    const char *dir;
    uint32_t workers, cpus, spot;
    bool cpus_set, gpus_set, spot_set, url_set;   /* given: an existing cluster must agree */
    int gpus;                      /* -1: discover */
    bool resize;                   /* --workers given */
    const char *notice_url;
    const char *rate_limit;        /* ternd's --rate-limit; NULL: its default */
} up_opts;

static int up_number(const char *opt, const char *arg, uint32_t min, uint32_t max,
                     uint32_t *out)
{
    if (parse_u32(arg, min, max, out) == 0)
        return 0;
    cli_error("up", "%s '%s': expected %u to %u", opt, arg, min, max);
    return -1;
}

static int set_up(int c, const char *arg, void *ctx)
{
    up_opts *o = ctx;
    o->cpus_set |= c == 'c';
    o->gpus_set |= c == 'g';
    o->spot_set |= c == 's';
    o->url_set |= c == 'u';
    switch (c) {
    case 'd':
        o->dir = arg;
        return 0;
    case 'w':
        o->resize = true;
        return up_number("--workers", arg, 1, 256, &o->workers);
    case 'c':
        return up_number("--cpus-per-worker", arg, 1, 1000000, &o->cpus);
    case 'g': {
        uint32_t g;
        if (up_number("--gpus-per-worker", arg, 0, 64, &g) < 0)
            return -1;
        o->gpus = (int)g;
        return 0;
    }
    case 's':
        return up_number("--spot-workers", arg, 0, 256, &o->spot);
    case 'u':
        if (strncmp(arg, "http://", 7) == 0 && strlen(arg) < 512) {
            o->notice_url = arg;
            return 0;
        }
        cli_error("up", "--notice-url '%s': expected http://HOST:PORT/PATH", arg);
        return -1;
    case 'r': {
        uint32_t v;
        if (parse_u32(arg, 0, 100000000, &v) == 0) {
            o->rate_limit = arg;
            return 0;
        }
        cli_error("up", "--rate-limit '%s': expected requests a second (0: no limit)", arg);
        return -1;
    }
    }
    return -1;
}

/* The directory of this executable, where ternd and tern-worker live. */
static void bindir(char *out, size_t len)
{
    char exe[FS_PATH_LEN];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        snprintf(out, len, ".");
        return;
    }
    exe[n] = '\0';
    snprintf(out, len, "%s", dirname(exe));
}

static int abs_dir(const char *dir, char *out, size_t len)
{
    char cwd[FS_PATH_LEN];
    if (!getcwd(cwd, sizeof cwd))
        return -1;
    return fs_absolute(cwd, dir ? dir : CLUSTER_DIR, out, len);
}

/* Copies the value of "key=VALUE\n" in 'text' into out ("" if none). */
static void endpoint_value(const char *text, const char *key, char *out, size_t len)
{
    const char *v = strstr(text, key);
    size_t n = v ? strcspn(v + strlen(key), "\n") : 0;
    if (n >= len)
        n = 0;
    if (n)
        memcpy(out, v + strlen(key), n);
    out[n] = '\0';
}

/* Reads "client=...", "worker=..." and "metrics=..." that ternd writes
 * once it serves; 'metrics' (len bytes) gets the URL, "" if none. */
static int read_endpoints(const char *path, pid_t pid, cluster_info *ci, char *metrics,
                          size_t len)
{
    char *text;
    if (fs_read_all(path, 65536, &text, NULL) < 0)
        return -1;
    char want[32];
    snprintf(want, sizeof want, "pid=%d\n", (int)pid);
    int rc = -1;
    char *c = strstr(text, "client="), *w = strstr(text, "worker=");
    if (strstr(text, want) && c && w) {
        sscanf(c + 7, "%511[^\n]", ci->scheduler);
        sscanf(w + 7, "%511[^\n]", ci->worker_endpoint);
        endpoint_value(text, "metrics=", metrics, len);
        rc = 0;
    }
    free(text);
    return rc;
}

/* The HOST:PORT of a URL "http://HOST:PORT/metrics" into out; "" if it is
 * not one. */
static void metrics_addr_of(const char *url, char *out, size_t len)
{
    unsigned port;
    char host[64], end;
    out[0] = '\0';
    if (sscanf(url, "http://%63[0-9.]:%u/metric%c", host, &port, &end) == 3 && end == 's')
        snprintf(out, len, "%s:%u", host, port);
}

static int start_ternd(cluster_info *ci, const char *bin, bool fresh, const char *rate_limit,
                       char *metrics, size_t mlen)
{
    char exe[FS_SUBPATH_LEN], state[FS_SUBPATH_LEN], logs[FS_SUBPATH_LEN], epfile[FS_SUBPATH_LEN], logfile[FS_SUBPATH_LEN], maddr[96] = "";
    snprintf(exe, sizeof exe, "%s/ternd", bin);
    snprintf(state, sizeof state, "%s/state.db", ci->dir);
    snprintf(logs, sizeof logs, "%s/logs", ci->dir);
    snprintf(epfile, sizeof epfile, "%s/ternd.endpoints", ci->dir);
    snprintf(logfile, sizeof logfile, "%s/ternd.log", ci->dir);
    /* A restarted ternd serves metrics where it did, for whoever scrapes. */
    char *old;
    if (!fresh && fs_read_all(epfile, 65536, &old, NULL) == 0) {
        char url[512];
        endpoint_value(old, "metrics=", url, sizeof url);
        metrics_addr_of(url, maddr, sizeof maddr);
        free(old);
    }
    char key[FS_SUBPATH_LEN], authorized[FS_SUBPATH_LEN];
    snprintf(key, sizeof key, "%s/%s", ci->dir, CLUSTER_SERVER_KEY);
    snprintf(authorized, sizeof authorized, "%s/%s", ci->dir, CLUSTER_AUTHORIZED_KEYS);
    char *argv[] = {
        exe, "--state", state, "--log-dir", logs, "--endpoints-file", epfile,
        "--client", fresh ? "tcp://127.0.0.1:0" : ci->scheduler,
        "--worker", fresh ? "tcp://127.0.0.1:0" : ci->worker_endpoint,
        "--metrics", maddr[0] ? maddr : "127.0.0.1:0",
        "--key", key, "--authorized-keys", authorized,
        rate_limit ? "--rate-limit" : NULL, (char *)rate_limit, NULL,
    };
    unlink(epfile);
    if (up_private_log(logfile) < 0)
        return -1;
    pid_t pid = proc_spawn_daemon(argv, logfile);
    if (pid < 0) {
        cli_error("up", "cannot start %s: %s", exe, strerror(errno));
        return -1;
    }
    int64_t deadline = clock_mono_ms() + START_TIMEOUT_MS;
    while (read_endpoints(epfile, pid, ci, metrics, mlen) < 0) {
        if (!proc_alive(pid)) {
            cli_error("up", "ternd exited at start; see %s", logfile);
            return -1;
        }
        if (clock_mono_ms() > deadline) {
            cli_error("up", "ternd did not start serving within %d s; see %s",
                      START_TIMEOUT_MS / 1000, logfile);
            kill(pid, SIGKILL);
            return -1;
        }
        clock_sleep_ms(10);
    }
    ci->ternd_pid = pid;
    return 0;
}

int up_start_worker(cluster_info *ci, int i, const char *bin)
{
    char exe[FS_SUBPATH_LEN], logfile[FS_SUBPATH_LEN], cpus[16], gpus[16];
    snprintf(exe, sizeof exe, "%s/tern-worker", bin);
    snprintf(logfile, sizeof logfile, "%s/worker-%s.log", ci->dir, ci->worker_names[i]);
    snprintf(cpus, sizeof cpus, "%u", ci->cpus_per_worker);
    snprintf(gpus, sizeof gpus, "%d", ci->gpus_per_worker);
    char key[FS_SUBPATH_LEN];
    snprintf(key, sizeof key, "%s/%s", ci->dir, CLUSTER_WORKER_KEY);
    char *argv[24] = { exe, "--scheduler", ci->worker_endpoint, "--name", ci->worker_names[i],
                       "--addr", "127.0.0.1", "--key", key, "--server-key", ci->server_key };
    int n = 11;
    bool spot = i >= ci->nworkers - ci->spot_workers;
    argv[n++] = "--price";
    argv[n++] = spot ? "1.00" : "3.00";
    if (spot)
        argv[n++] = "--spot";
    if (spot && ci->notice_url[0]) {
        argv[n++] = "--notice-url";
        argv[n++] = ci->notice_url;
        argv[n++] = "--notice-poll-ms";
        argv[n++] = "100";
    }
    if (ci->gpus_per_worker >= 0) {
        argv[n++] = "--gpus";
        argv[n++] = gpus;
    }
    if (ci->cpus_per_worker) {
        argv[n++] = "--cpus";
        argv[n++] = cpus;
    }
    argv[n] = NULL;
    if (up_private_log(logfile) < 0)
        return -1;
    pid_t pid = proc_spawn_daemon(argv, logfile);
    if (pid < 0) {
        cli_error("up", "cannot start %s: %s", exe, strerror(errno));
        return -1;
    }
    ci->worker_pids[i] = pid;
    return 0;
}

/* Waits until every worker of the cluster is registered, by the process
 * this cluster file names (a restarted worker's predecessor may still look
 * alive to ternd), and UP, or DRAIN when an admin drained it. */
static int wait_registered(const cluster_info *ci)
{
    char err[1024];
    client *c = client_open_local(ci, err, sizeof err);
    if (!c) {
        cli_error("up", "%s", err);
        return -1;
    }
    int64_t deadline = clock_mono_ms() + START_TIMEOUT_MS;
    int rc = -1;
    while (clock_mono_ms() < deadline) {
        Tern__Envelope env;
        Tern__NodesRequest rq = TERN__NODES_REQUEST__INIT;
        wire_init(&env, 0);
        env.body_case = TERN__ENVELOPE__BODY_NODES_QUERY;
        env.nodes_query = &rq;
        Tern__Envelope *rep = client_call(c, &env, 2000, err, sizeof err);
        int up = 0;
        for (size_t i = 0; rep && rep->body_case == TERN__ENVELOPE__BODY_NODES &&
                           i < rep->nodes->n_nodes; i++)
            for (int k = 0; k < ci->nworkers; k++)
                up += strcmp(rep->nodes->nodes[i]->name, ci->worker_names[k]) == 0 &&
                      rep->nodes->nodes[i]->pid == (uint32_t)ci->worker_pids[k] &&
                      (strcmp(rep->nodes->nodes[i]->state, "UP") == 0 ||
                       strcmp(rep->nodes->nodes[i]->state, "DRAIN") == 0);
        wire_free(rep);
        if (up == ci->nworkers) {
            rc = 0;
            break;
        }
        for (int k = 0; k < ci->nworkers; k++) {
            if (!proc_alive(ci->worker_pids[k])) {
                cli_error("up", "worker %s exited at start; see %s/worker-%s.log",
                          ci->worker_names[k], ci->dir, ci->worker_names[k]);
                client_close(&c);
                return -1;
            }
        }
        clock_sleep_ms(20);
    }
    if (rc < 0)
        cli_error("up", "workers did not register within %d s", START_TIMEOUT_MS / 1000);
    client_close(&c);
    return rc;
}

/* The option given that an existing cluster's workers do not match, or NULL. */
static const char *layout_differs(const up_opts *o, const cluster_info *ci)
{
    if (o->cpus_set && o->cpus != ci->cpus_per_worker)
        return "--cpus-per-worker";
    if (o->gpus_set && o->gpus != ci->gpus_per_worker)
        return "--gpus-per-worker";
    if (o->spot_set && (int)o->spot != ci->spot_workers)
        return "--spot-workers";
    if (o->url_set && strcmp(o->notice_url, ci->notice_url) != 0)
        return "--notice-url";
    return NULL;
}

int cmd_up(int argc, char **argv)
{
    static const struct option extra[] = {
        { "dir", required_argument, 0, 'd' },
        { "workers", required_argument, 0, 'w' },
        { "cpus-per-worker", required_argument, 0, 'c' },
        { "gpus-per-worker", required_argument, 0, 'g' },
        { "spot-workers", required_argument, 0, 's' },
        { "notice-url", required_argument, 0, 'u' },
        { "rate-limit", required_argument, 0, 'r' },
        { 0, 0, 0, 0 },
    };
    up_opts o = { .workers = 2, .gpus = -1 };
    cli_common co;
    const cli_command cmd = {
        .name = "up",
        .usage = up_usage,
        .extra = extra,
        .fn = set_up,
        .ctx = &o,
        .operands = CLI_NONE,
    };
    int rc = cli_begin(&cmd, argc, argv, &co);
    if (rc >= 0)
        return rc;
    cluster_info ci;
    char dir[FS_PATH_LEN], bin[FS_PATH_LEN];
    if (abs_dir(o.dir, dir, sizeof dir) < 0) {
        cli_error("up", "cannot create %s: %s", o.dir ? o.dir : CLUSTER_DIR, strerror(errno));
        return 1;
    }
    if (up_dirs(dir) < 0)
        return 1;
    bindir(bin, sizeof bin);
    bool fresh = cluster_read(dir, &ci) < 0;
    if (fresh) {
        memset(&ci, 0, sizeof ci);
        snprintf(ci.dir, sizeof ci.dir, "%s", dir);
        ci.nworkers = (int)o.workers;
        ci.cpus_per_worker = o.cpus;
        ci.gpus_per_worker = o.gpus;
        if (o.spot > o.workers) {
            cli_error("up", "--spot-workers %u: more than --workers %u", o.spot, o.workers);
            return 2;
        }
        ci.spot_workers = (int)o.spot;
        snprintf(ci.notice_url, sizeof ci.notice_url, "%s", o.notice_url ? o.notice_url : "");
        for (int i = 0; i < ci.nworkers; i++)
            snprintf(ci.worker_names[i], sizeof ci.worker_names[i], "node%d", i + 1);
    }
    const char *differs = fresh ? NULL : layout_differs(&o, &ci);
    if (differs) {
        cli_error("up", "%s: the cluster in %s has its workers started otherwise, and they "
                  "keep it ('tern down', remove %s, then 'tern up' anew to change it)", differs,
                  dir, dir);
        return 2;
    }
    if (up_keys(&ci) < 0)
        return 1;
    int started = 0;
    char metrics[512] = "", epfile[FS_SUBPATH_LEN];
    if (fresh || !proc_is(ci.ternd_pid, "ternd")) {
        if (start_ternd(&ci, bin, fresh, o.rate_limit, metrics, sizeof metrics) < 0)
            return 1;
        started++;
    } else {
        cluster_info now = ci;
        snprintf(epfile, sizeof epfile, "%s/ternd.endpoints", dir);
        read_endpoints(epfile, ci.ternd_pid, &now, metrics, sizeof metrics);
    }
    bool added[256] = { false };
    int before = ci.nworkers;
    if (!fresh && o.resize && (rc = up_resize(&ci, (int)o.workers, added)) != 0)
        return rc;
    for (int i = 0; i < ci.nworkers; i++) {
        if (!fresh && proc_is(ci.worker_pids[i], "tern-worker"))
            continue;
        if (up_start_worker(&ci, i, bin) < 0)
            return 1;
        started++;
    }
    if (cluster_write(&ci) < 0) {
        cli_error("up", "cannot write %s/%s: %s", dir, CLUSTER_FILE, strerror(errno));
        return 1;
    }
    if (wait_registered(&ci) < 0 || up_resume_added(&ci, added) < 0)
        return 1;
    if (ci.nworkers != before && !fresh)
        printf("local cluster in %s: %d workers, was %d: scheduler %s%s%s\n", dir, ci.nworkers,
               before, ci.scheduler, metrics[0] ? ", metrics " : "", metrics);
    else if (started == 0)
        printf("local cluster in %s is already up: scheduler %s, %d workers%s%s\n", dir,
               ci.scheduler, ci.nworkers, metrics[0] ? ", metrics " : "", metrics);
    else
        printf("local cluster up in %s: scheduler %s, %d workers (%s..%s)%s%s\n", dir,
               ci.scheduler, ci.nworkers, ci.worker_names[0], ci.worker_names[ci.nworkers - 1],
               metrics[0] ? ", metrics " : "", metrics);
    return 0;
}

int up_stop(pid_t pid, const char *name)
{
    if (!proc_is(pid, name))
        return 0;
    kill(pid, SIGTERM);
    if (proc_wait_gone(pid, STOP_TIMEOUT_MS) == 0)
        return 1;
    kill(pid, SIGKILL);
    proc_wait_gone(pid, 2000);
    return 1;
}

static int set_down(int c, const char *arg, void *ctx)
{
    if (c != 'd')
        return -1;
    *(const char **)ctx = arg;
    return 0;
}

int cmd_down(int argc, char **argv)
{
    static const struct option extra[] = {
        { "dir", required_argument, 0, 'd' },
        { 0, 0, 0, 0 },
    };
    const char *d = NULL;
    cli_common co;
    const cli_command cmd = {
        .name = "down",
        .usage = "usage: tern down [--dir DIR]\n  stops the local cluster's daemons (state and "
                 "logs stay in DIR)\n",
        .extra = extra,
        .fn = set_down,
        .ctx = &d,
        .operands = CLI_NONE,
    };
    int rc = cli_begin(&cmd, argc, argv, &co);
    if (rc >= 0)
        return rc;
    char dir[FS_PATH_LEN];
    cluster_info ci;
    if (d) {
        if (abs_dir(d, dir, sizeof dir) < 0) {
            cli_error("down", "bad directory %s", d);
            return 2;
        }
        if (cluster_read(dir, &ci) < 0) {
            cli_error("down", "no local cluster in %s: %s", dir, strerror(errno));
            return 1;
        }
    } else if (cluster_find(&ci) < 0) {
        if (errno == ENOENT)
            cli_error("down", "no local cluster here (no %s/%s)", CLUSTER_DIR, CLUSTER_FILE);
        else
            cli_error("down", "no local cluster in %s: %s", ci.dir, strerror(errno));
        return 1;
    } else {
        snprintf(dir, sizeof dir, "%s", ci.dir);
    }
    int stopped = 0;
    for (int i = 0; i < ci.nworkers; i++)
        stopped += up_stop(ci.worker_pids[i], "tern-worker");
    stopped += up_stop(ci.ternd_pid, "ternd");
    printf("local cluster in %s stopped (%d daemons)\n", dir, stopped);
    return 0;
}

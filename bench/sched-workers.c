/* bench/sched-workers: what 10,000 nodes cost the scheduler.
 *
 * A real ternd, and nodes simulated by forked processes (bench/lib/nodesim.h:
 * each its own ZeroMQ context, one DEALER per node, speaking the worker
 * protocol: Register, then a Heartbeat every second). Once every node is
 * registered, ternd's CPU time (utime + stime) over a 10 s window and its
 * resident memory, at 1,000 and at 10,000 nodes; once without
 * authentication and once with CURVE (a worker key the simulated nodes
 * share), the cost of encrypting every heartbeat. */
#include "bench/lib/benchlib.h"
#include "bench/lib/nodesim.h"

#include "common/curve.h"
#include "common/fsutil.h"
#include "common/proc.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define WINDOW_S 10
#define SETTLE_S 2
#define NSIMS 5                    /* simulator processes at 10,000 nodes */

/* The keys of the ternd under test. Authentication on, as in every real
 * cluster: the simulated nodes share a worker key (set before the
 * simulators fork). */
static curve_key g_worker_key;
static char g_server_pub[CURVE_Z85];

/* What this program started, for cleanup on every way out of the parent. */
static pid_t g_parent, g_ternd, g_sims[NSIMS];
static char g_dir[256];

/* Async-signal-safe: kills what this program started, removes its directory. */
static void cleanup(void)
{
    if (getpid() != g_parent)
        return;
    for (int i = 0; i < NSIMS; i++)
        if (g_sims[i] > 0)
            kill(g_sims[i], SIGKILL);
    if (g_ternd > 0)
        kill(g_ternd, SIGKILL);
    for (int i = 0; i < NSIMS; i++)
        if (g_sims[i] > 0)
            waitpid(g_sims[i], NULL, 0);
    if (g_ternd > 0)
        waitpid(g_ternd, NULL, 0);
    if (g_dir[0]) {
        pid_t rm = fork();
        if (rm == 0) {
            execl("/bin/rm", "rm", "-rf", g_dir, (char *)NULL);
            _exit(127);
        }
        if (rm > 0)
            waitpid(rm, NULL, 0);
    }
}

static void on_fatal_signal(int sig)
{
    (void)sig;
    cleanup();
    _exit(1);
}

typedef struct ternd_proc {
    char dir[256], client[512], worker[512];
    pid_t pid;
} ternd_proc;

/* Keys for ternd in t->dir: its own, an admin's (for 'tern nodes') and the
 * simulated nodes' shared worker key; the environment of 'tern nodes'. */
static void ternd_keys(const ternd_proc *t, bool curve, char *key, char *authorized, size_t len)
{
    char admin[300], err[600] = "", text_keys[256];
    curve_key server, adm;
    snprintf(key, len, "%s/server.key", t->dir);
    snprintf(admin, sizeof admin, "%s/admin.key", t->dir);
    snprintf(authorized, len, "%s/authorized_keys", t->dir);
    if (curve_keygen(&server) < 0 || curve_keygen(&adm) < 0 || curve_keygen(&g_worker_key) < 0 ||
        curve_key_save(key, &server, true, err, sizeof err) < 0 ||
        curve_key_save(admin, &adm, true, err, sizeof err) < 0)
        bench_die("keys: %s", err);
    int n = snprintf(text_keys, sizeof text_keys, "admin bench %s\nworker * %s\n", adm.pub,
                     g_worker_key.pub);
    if (fs_write_atomic(authorized, text_keys, (size_t)n, 0600) < 0)
        bench_die("cannot write %s", authorized);
    g_server_pub[0] = '\0';
    unsetenv("TERN_KEY");
    unsetenv("TERN_SERVER_KEY");
    unsetenv("TERN_INSECURE");
    if (curve) {
        snprintf(g_server_pub, sizeof g_server_pub, "%s", server.pub);
        setenv("TERN_KEY", admin, 1);          /* for 'tern nodes' */
        setenv("TERN_SERVER_KEY", server.pub, 1);
    } else {
        setenv("TERN_INSECURE", "1", 1);       /* 'tern nodes' to a ternd without keys */
    }
}

/* Reads the endpoints ternd wrote to 'epf' into t. */
static void ternd_endpoints(ternd_proc *t, const char *epf, const char *log)
{
    char *text = NULL;
    for (int i = 0; i < 500 && fs_read_all(epf, 4096, &text, NULL) < 0; i++)
        usleep(20000);
    if (!text)
        bench_die("ternd wrote no endpoints in 10 s (see %s)", log);
    char *c = strstr(text, "client="), *w = strstr(text, "worker=");
    if (!c || !w || sscanf(c + 7, "%511[^\n]", t->client) != 1 ||
        sscanf(w + 7, "%511[^\n]", t->worker) != 1)
        bench_die("cannot read %s", epf);
    free(text);
}

static void ternd_start(ternd_proc *t, const char *bindir, bool curve)
{
    snprintf(t->dir, sizeof t->dir, "/tmp/tern-bench-sched.XXXXXX");
    if (!mkdtemp(t->dir))
        bench_die("mkdtemp: %s", strerror(errno));
    char exe[FS_SUBPATH_LEN], state[300], epf[300], log[300], key[300], authorized[300];
    snprintf(exe, sizeof exe, "%s/ternd", bindir);
    snprintf(state, sizeof state, "%s/ternd.db", t->dir);
    snprintf(epf, sizeof epf, "%s/ep", t->dir);
    snprintf(log, sizeof log, "%s/ternd.log", t->dir);
    ternd_keys(t, curve, key, authorized, sizeof key);
    char *argv[] = { exe, "--state", state, "--client", "tcp://127.0.0.1:0", "--worker",
                     "tcp://127.0.0.1:0", "--endpoints-file", epf, "--heartbeat-ms", "1000",
                     "--node-timeout", "30", curve ? "--key" : NULL, key, "--authorized-keys",
                     authorized, NULL };
    snprintf(g_dir, sizeof g_dir, "%s", t->dir);
    t->pid = g_ternd = proc_spawn_daemon(argv, log);
    if (t->pid < 0)
        bench_die("cannot start %s: %s", exe, strerror(errno));
    ternd_endpoints(t, epf, log);
}

static void ternd_stop(ternd_proc *t)
{
    if (t->pid > 0) {
        kill(t->pid, SIGTERM);
        if (proc_wait_gone(t->pid, 5000) < 0)
            kill(t->pid, SIGKILL);
        waitpid(t->pid, NULL, 0);
        t->pid = g_ternd = 0;
    }
}

static double cpu_seconds(pid_t pid)
{
    char buf[1024];
    const char *p = proc_stat(pid, buf, sizeof buf);
    unsigned long long ut = 0, st = 0;
    /* from the state (field 3): ... utime(14) stime(15) */
    if (!p || sscanf(p, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double rss_mib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    double kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %lf kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb / 1024;
}

typedef struct hb_row {
    uint32_t nodes, registered;
    double register_s;             /* from the simulators' start to every node registered */
    double cpu_pct, rss;
    double hb_per_s, acks_per_s, rtt_p50, rtt_p99;
    size_t tern_nodes_up;          /* what 'tern nodes --json' says */
} hb_row;

static uint32_t sims_registered(nodesim_stats *st, int nsims, uint64_t *errors)
{
    uint32_t r = 0;
    *errors = 0;
    for (int i = 0; i < nsims; i++) {
        r += st[i].registered;
        *errors += st[i].errors;
    }
    return r;
}

static void sims_check(pid_t *pids, int nsims)
{
    for (int i = 0; i < nsims; i++) {
        int status;
        if (pids[i] > 0 && waitpid(pids[i], &status, WNOHANG) == pids[i]) {
            pids[i] = g_sims[i] = 0;
            bench_die("simulator %d exited (status %d)", i, status);
        }
    }
}

/* Waits for 'want' registered nodes over the first 'nsims' simulators. */
static void wait_registered(nodesim_stats *st, pid_t *pids, int nsims, uint32_t want,
                            const ternd_proc *t, double timeout_s, hb_row *row, double t0)
{
    uint64_t errors = 0;
    double end = bench_now() + timeout_s;
    while (bench_now() < end) {
        sims_check(pids, nsims);
        if (!proc_alive(t->pid))
            bench_die("ternd died while nodes registered (log: %s/ternd.log)", t->dir);
        if ((row->registered = sims_registered(st, nsims, &errors)) >= want)
            break;
        usleep(20000);
    }
    row->register_s = bench_now() - t0;
    if (row->registered < want)
        fprintf(stderr, "%s: only %u of %u nodes registered in %.0f s\n", bench_name(),
                row->registered, want, timeout_s);
    if (errors)
        for (int i = 0; i < nsims; i++)
            if (st[i].errors)
                fprintf(stderr, "%s: simulator %d: %llu errors, first: %s\n", bench_name(), i,
                        (unsigned long long)st[i].errors, st[i].error);
}

static double rtt_percentile(const uint64_t *h, uint64_t total, double p)
{
    uint64_t want = (uint64_t)(p / 100.0 * (double)total), seen = 0;
    for (int b = 0; b < NODESIM_RTT_BUCKETS; b++) {
        seen += h[b];
        if (seen > want)
            return (b + 1) * 0.1;
    }
    return NODESIM_RTT_BUCKETS * 0.1;
}

static size_t tern_nodes_up(const char *bindir, const char *scheduler)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "timeout 30 %s/tern nodes --json --scheduler %s 2>&1", bindir,
             scheduler);
    FILE *f = popen(cmd, "r");
    if (!f)
        return 0;
    size_t up = 0, have = 0;
    char buf[65536 + 16];
    /* Counts "state": "UP" across reads; keeps a tail for a split match. */
    static const char key[] = "\"state\": \"UP\"";
    size_t n;
    while ((n = fread(buf + have, 1, sizeof buf - 1 - have, f)) > 0) {
        size_t len = have + n;
        buf[len] = '\0';
        for (char *p = buf; (p = strstr(p, key)); p += sizeof key - 1)
            up++;
        have = len < sizeof key - 1 ? len : sizeof key - 2;
        memmove(buf, buf + len - have, have);
    }
    pclose(f);
    return up;
}

/* The simulators' counts summed: acks, heartbeats sent, the rtt histogram. */
static void sims_sum(const nodesim_stats *st, int nsims, uint64_t *acks, uint64_t *sent,
                     uint64_t *h)
{
    *acks = *sent = 0;
    memset(h, 0, NODESIM_RTT_BUCKETS * sizeof *h);
    for (int i = 0; i < nsims; i++) {
        *acks += st[i].acks;
        *sent += st[i].heartbeats_sent;
        for (int b = 0; b < NODESIM_RTT_BUCKETS; b++)
            h[b] += st[i].rtt[b];
    }
}

/* ternd's CPU and memory while 'nsims' simulators heartbeat. */
static void measure(const ternd_proc *t, nodesim_stats *st, pid_t *pids, int nsims, hb_row *row)
{
    sleep(SETTLE_S);
    static uint64_t h0[NODESIM_RTT_BUCKETS], h1[NODESIM_RTT_BUCKETS];
    uint64_t acks0, acks1, sent0, sent1;
    sims_sum(st, nsims, &acks0, &sent0, h0);
    double c0 = cpu_seconds(t->pid), w0 = bench_now();
    for (int s = 0; s < WINDOW_S * 10; s++) {
        usleep(100000);
        sims_check(pids, nsims);
    }
    double c1 = cpu_seconds(t->pid), w1 = bench_now();
    if (c0 < 0 || c1 < 0)
        bench_die("ternd died during the measurement (log: %s/ternd.log)", t->dir);
    sims_sum(st, nsims, &acks1, &sent1, h1);
    uint64_t total = 0;
    for (int b = 0; b < NODESIM_RTT_BUCKETS; b++) {
        h1[b] -= h0[b];
        total += h1[b];
    }
    row->cpu_pct = (c1 - c0) / (w1 - w0) * 100;
    row->rss = rss_mib(t->pid);
    row->hb_per_s = (double)(sent1 - sent0) / (w1 - w0);
    row->acks_per_s = (double)(acks1 - acks0) / (w1 - w0);
    row->rtt_p50 = rtt_percentile(h1, total, 50);
    row->rtt_p99 = rtt_percentile(h1, total, 99);
}

static void sims_stop(pid_t *pids)
{
    for (int i = 0; i < NSIMS; i++)
        if (pids[i] > 0)
            kill(pids[i], SIGTERM);
    for (int i = 0; i < NSIMS; i++) {
        if (pids[i] <= 0)
            continue;
        if (proc_wait_gone(pids[i], 5000) < 0)
            kill(pids[i], SIGKILL);
        waitpid(pids[i], NULL, 0);
        g_sims[i] = 0;
    }
}

/* Shows the first warnings and errors of ternd's log, if any. */
static void show_log_warnings(const ternd_proc *t)
{
    char cmd[512];
    /* (the run without keys is warned that authentication is off: expected) */
    snprintf(cmd, sizeof cmd, "grep -i -E 'warn|error' %s/ternd.log | "
             "grep -c -v 'authentication is off'", t->dir);
    FILE *f = popen(cmd, "r");
    int bad = 0;
    if (f) {
        if (fscanf(f, "%d", &bad) != 1)
            bad = 0;
        pclose(f);
    }
    if (bad) {
        printf("ternd logged %d warnings or errors, the first:\n", bad);
        fflush(stdout);
        snprintf(cmd, sizeof cmd, "grep -i -E 'warn|error' %s/ternd.log | "
                 "grep -v 'authentication is off' | head -n 3", t->dir);
        if (system(cmd) != 0)
            printf("(cannot show them)\n");
    }
}

/* One ternd, 1,000 nodes from one simulator, then 9,000 more from four:
 * rows[0] and rows[1]. */
static void heartbeats(const char *bindir, bool curve, hb_row rows[2], uint64_t *info_bytes,
                       double *rss0)
{
    bench_raise_nofile();
    nodesim_stats *st = mmap(NULL, NSIMS * sizeof *st, PROT_READ | PROT_WRITE,
                             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (st == MAP_FAILED)
        bench_die("mmap: %s", strerror(errno));
    memset(st, 0, NSIMS * sizeof *st);
    ternd_proc t;
    ternd_start(&t, bindir, curve);
    usleep(200000);
    *rss0 = rss_mib(t.pid);
    pid_t pids[NSIMS] = { 0 };
    const nodesim_auth auth = { &g_worker_key, g_server_pub };

    double t0 = bench_now();
    pids[0] = g_sims[0] = nodesim_spawn(t.worker, 1, 1000, &auth, &st[0]);
    rows[0].nodes = 1000;
    wait_registered(st, pids, 1, 1000, &t, 30, &rows[0], t0);
    measure(&t, st, pids, 1, &rows[0]);
    rows[0].tern_nodes_up = tern_nodes_up(bindir, t.client);

    t0 = bench_now();
    for (int i = 1; i < NSIMS; i++)
        pids[i] = g_sims[i] = nodesim_spawn(t.worker, 1001 + (uint32_t)(i - 1) * 2250, 2250,
                                            &auth, &st[i]);
    rows[1].nodes = 10000;
    wait_registered(st, pids, NSIMS, 10000, &t, 60, &rows[1], t0);
    measure(&t, st, pids, NSIMS, &rows[1]);
    rows[1].tern_nodes_up = tern_nodes_up(bindir, t.client);
    *info_bytes = st[0].info_bytes;

    sims_stop(pids);
    show_log_warnings(&t);
    ternd_stop(&t);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", t.dir);
    if (system(cmd) != 0)
        fprintf(stderr, "%s: cannot remove %s\n", bench_name(), t.dir);
    g_dir[0] = '\0';
    munmap(st, NSIMS * sizeof *st);
}

static void print_table(const hb_row hr[4], uint64_t info_bytes, double rss0, double rss0_curve)
{
    printf("heartbeats: a real ternd, simulated 8-GPU nodes over ZeroMQ, one heartbeat a "
           "second each; %d s window\n", WINDOW_S);
    printf("%-8s %-6s %10s %11s %13s %10s %13s %8s %13s %10s\n", "nodes", "auth", "registered",
           "register s", "ternd CPU %", "RSS MiB", "heartbeats/s", "acks/s", "ack rtt p50/p99",
           "tern nodes");
    for (int i = 0; i < 4; i++) {
        char rtt[32];
        snprintf(rtt, sizeof rtt, "%.1f/%.1f ms", hr[i].rtt_p50, hr[i].rtt_p99);
        printf("%-8u %-6s %10u %11.2f %13.1f %10.1f %13.0f %8.0f %15s %10zu\n", hr[i].nodes,
               i < 2 ? "none" : "CURVE", hr[i].registered, hr[i].register_s, hr[i].cpu_pct,
               hr[i].rss, hr[i].hb_per_s, hr[i].acks_per_s, rtt, hr[i].tern_nodes_up);
    }
    printf("(ternd CPU: utime+stime of all its threads over the window, %% of one core; RSS: "
           "%.1f MiB with no node (%.1f with CURVE);\n acks: ternd answers an idle node's "
           "heartbeat every 4th time, or when it has something to say;\n tern nodes: nodes UP "
           "in 'tern nodes --json'; one node's NodeInfo packs to %llu bytes;\n CURVE: every "
           "message encrypted, one handshake per node at registration)\n", rss0, rss0_curve,
           (unsigned long long)info_bytes);
}

int main(void)
{
    const char *bindir = bench_bindir();
    setvbuf(stdout, NULL, _IOLBF, 0);
    g_parent = getpid();
    bench_on_die(cleanup);
    struct sigaction sa = { .sa_handler = on_fatal_signal };
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    /* Without authentication, then with CURVE (what tern up and a keyed
     * ternd run): the cost of encrypting every heartbeat. */
    hb_row hr[4];
    memset(hr, 0, sizeof hr);
    uint64_t info_bytes = 0;
    double rss0 = 0, rss0_curve = 0;
    heartbeats(bindir, false, hr, &info_bytes, &rss0);
    heartbeats(bindir, true, hr + 2, &info_bytes, &rss0_curve);
    print_table(hr, info_bytes, rss0, rss0_curve);
    bench_headline("heartbeat_cpu_10k_nodes", hr[1].cpu_pct, "% of one core", NULL, 0);
    bench_headline("ternd_rss_10k_nodes", hr[1].rss, "MiB", NULL, 0);
    bench_headline("heartbeat_cpu_10k_nodes_curve", hr[3].cpu_pct, "% of one core", NULL, 0);
    bench_headline("ternd_rss_10k_nodes_curve", hr[3].rss, "MiB", NULL, 0);
    return 0;
}

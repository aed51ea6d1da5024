/* bench/recovery: how long a training job is away when its node goes.
 *
 * Preemption with a notice: a local cluster of two on-demand workers and
 * one spot worker polling a metadata endpoint on loopback (AWS style,
 * every 100 ms); train_mlp on 2 nodes, one of them the spot node, no
 * periodic checkpoints. The notice appears; the time until every rank of
 * the next attempt runs again on other nodes is split into: the worker
 * noticing, the program saving the step it is at and exiting, and tern
 * placing and launching the next attempt. Steps lost: the last step done
 * before the notice's save minus the step the next attempt resumes from.
 *
 * Node failure: the same job on on-demand nodes with a checkpoint every 50
 * steps; kill -9 of the worker of node rank 1; the time until every rank of
 * the next attempt runs, split into detection (the heartbeat timeout,
 * 5 s by default) and the rest.
 *
 * Each figure is the median of three runs. The ranks' start is stamped by
 * a shell line before exec, so "running again" excludes the program's own
 * start-up. */
#include "bench/lib/benchlib.h"
#include "common/fsutil.h"

#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RUNS 3
#define NODE_TIMEOUT_S 5.0

typedef struct run {
    double total, detect, program, relaunch;
    long lost;
} run;

static char *sh_out(const char *cmd)
{
    FILE *f = popen(cmd, "r");
    if (!f)
        bench_die("popen");
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    pclose(f);
    return buf;
}

static double wall(void)
{
    return (double)bench_wall_ns() / 1e9;
}

/* Unix seconds of the newest log line of 'file' matching 'pattern'
 * (timestamps like 2026-11-27T17:48:37.162Z), or 0. */
static double log_time(const char *file, const char *pattern)
{
    char cmd[8400];
    snprintf(cmd, sizeof cmd, "grep -h -- '%s' %s 2>/dev/null | tail -n 1 | cut -c1-23", pattern,
             file);
    int y, mo, d, h, mi, s, ms;
    if (sscanf(sh_out(cmd), "%d-%d-%dT%d:%d:%d.%d", &y, &mo, &d, &h, &mi, &s, &ms) != 7)
        return 0;
    struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                     .tm_min = mi, .tm_sec = s };
    return (double)timegm(&tm) + ms / 1e3;
}

/* Waits up to 'secs' for the shell condition. */
static bool wait_sh(const char *cond, double secs)
{
    char cmd[8400];
    snprintf(cmd, sizeof cmd, "%s >/dev/null 2>&1", cond);
    for (double end = bench_now() + secs; bench_now() < end; usleep(10000))
        if (system(cmd) == 0)
            return true;
    return false;
}

/* The latest start stamp of attempt 1's ranks, once both are there. */
static double restarted(const char *base, double secs)
{
    char cond[16384];
    snprintf(cond, sizeof cond, "[ -s %s/start.1.0 ] && [ -s %s/start.1.1 ]", base, base);
    if (!wait_sh(cond, secs))
        bench_die("the job did not run again");
    snprintf(cond, sizeof cond, "cat %s/start.1.* | sort -n | tail -n 1", base);
    return atof(sh_out(cond));
}

static long first_number(const char *cmd)
{
    return atol(sh_out(cmd));
}

/* A metadata endpoint on loopback that will announce the spot node's end
 * when 'base'/notice is written; 'extra' gets the tern up options that
 * point the spot worker at it. Returns the server's pid. */
static pid_t start_metadata(const char *base, const char *bindir, char *extra, size_t len)
{
    char md[FS_MSG_LEN], cmd[16384];
    snprintf(md, sizeof md, "%s/md.port", base);
    snprintf(cmd, sizeof cmd, "python3 %s/../scripts/metadata_server.py %s %s/notice "
             ">/dev/null 2>&1 & echo $!", bindir, md, base);
    pid_t server = (pid_t)atoi(sh_out(cmd));
    snprintf(cmd, sizeof cmd, "[ -s %s ]", md);
    if (!wait_sh(cmd, 10))
        bench_die("metadata server did not start");
    snprintf(cmd, sizeof cmd, "cat %s", md);
    snprintf(extra, len, "--spot-workers 1 --notice-url "
             "http://127.0.0.1:%d/latest/meta-data/spot/instance-action", atoi(sh_out(cmd)));
    return server;
}

/* train_mlp on 2 nodes, until it has done 100 steps. Returns the job id. */
static long start_training(const bench_cluster *bc, const char *base, const char *bindir,
                           bool notice)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd,
             "%s/tern submit --parsable --scheduler %s -N 2 %s --checkpoint-dir %s/ckpt "
             "-o %s/out-%%t -- sh -c 'date +%%s.%%N > %s/start.$TERN_ATTEMPT.$RANK; exec "
             "%s/train_mlp --steps 1000000 --ckpt-every %d --log-every 1 --step-delay-ms 5'",
             bindir, bc->scheduler, notice ? "--preemptible" : "", base, base, base, bindir,
             notice ? 0 : 50);
    long id = atol(sh_out(cmd));
    if (id <= 0)
        bench_die("submit failed");
    snprintf(cmd, sizeof cmd, "grep -q '^step 100 ' %s/out-0", base);
    if (!wait_sh(cmd, 60))
        bench_die("training did not start");
    return id;
}

/* The notice appears, or the worker of node rank 1 dies. Returns when. */
static double take_node(const bench_cluster *bc, const char *base, const char *bindir, long id,
                        bool notice)
{
    char cmd[16384];
    double t0;
    if (notice) {
        snprintf(cmd, sizeof cmd, "echo 30 > %s/notice", base);
        t0 = wall();
        if (system(cmd) != 0)
            bench_die("cannot write the notice");
        return t0;
    }
    snprintf(cmd, sizeof cmd, "n=$(%s/tern show %ld --scheduler %s --json | python3 -c "
             "'import json,sys; print(json.load(sys.stdin)[\"nodes\"][1])'); "
             "sed -n \"s/^worker=$n //p\" %s/cluster", bindir, id, bc->scheduler, bc->dir);
    pid_t victim = (pid_t)atoi(sh_out(cmd));
    t0 = wall();
    if (victim <= 0 || kill(victim, SIGKILL) < 0)
        bench_die("cannot kill the worker");
    return t0;
}

/* Splits t0..t1 by what the logs say: detection, the program, tern. */
static void phases(run *r, const bench_cluster *bc, bool notice, double t0, double t1)
{
    char logs[FS_MSG_LEN];
    snprintf(logs, sizeof logs, "%s/worker-*.log", bc->dir);
    r->total = t1 - t0;
    if (notice) {
        double seen = log_time(logs, "spot notice:");
        double gone = log_time(logs, "job=1 attempt=0 rank=.* exit=");
        r->detect = seen - t0;
        r->program = gone - seen;
        r->relaunch = t1 - gone;
    } else {
        char ternd[FS_MSG_LEN];
        snprintf(ternd, sizeof ternd, "%s/ternd.log", bc->dir);
        double down = log_time(ternd, "down: no heartbeat");
        r->detect = down - t0;
        r->program = 0;
        r->relaunch = t1 - down;
    }
}

/* Steps: the last done by attempt 0 minus the first of attempt 1 (once it
 * has said where it resumed). */
static long steps_lost(const char *base)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "grep -q '^resumed from step' %s/out-0", base);
    wait_sh(cmd, 30);
    snprintf(cmd, sizeof cmd, "sed -n '/^resumed from step/q; s/^step \\([0-9]*\\) .*/\\1/p' "
             "%s/out-0 | tail -n 1", base);
    long last = first_number(cmd);
    snprintf(cmd, sizeof cmd, "sed -n 's/^resumed from step //p' %s/out-0 | head -n 1", base);
    long from = first_number(cmd);
    return last - from;
}

static void one(run *r, bool notice, const char *bindir)
{
    bench_cluster bc;
    char extra[1200] = "", base[FS_SUBPATH_LEN], cmd[16384];
    char tmpl[] = "/tmp/tern-bench-recovery.XXXXXX";
    if (!mkdtemp(tmpl))
        bench_die("mkdtemp");
    snprintf(base, sizeof base, "%s", tmpl);
    pid_t server = notice ? start_metadata(base, bindir, extra, sizeof extra) : 0;
    bench_up_with(&bc, 3, 1, extra);
    long id = start_training(&bc, base, bindir, notice);
    double t0 = take_node(&bc, base, bindir, id, notice);
    double t1 = restarted(base, 60);
    phases(r, &bc, notice, t0, t1);
    r->lost = steps_lost(base);
    bench_down(&bc);
    if (server > 0)
        kill(server, SIGTERM);
    snprintf(cmd, sizeof cmd, "rm -rf %s", base);
    if (system(cmd) != 0)
        fprintf(stderr, "bench-recovery: cannot remove %s\n", base);
}

static double med(run *rs, size_t off)
{
    double v[RUNS];
    for (int i = 0; i < RUNS; i++)
        v[i] = *(double *)((char *)&rs[i] + off);
    return bench_percentile(v, RUNS, 50);
}

int main(void)
{
    const char *exe = bench_bindir();
    run pre[RUNS], nf[RUNS];
    for (int i = 0; i < RUNS; i++)
        one(&pre[i], true, exe);
    for (int i = 0; i < RUNS; i++)
        one(&nf[i], false, exe);
    long lost = 0, nflost = 0;
    for (int i = 0; i < RUNS; i++) {
        if (pre[i].lost > lost)
            lost = pre[i].lost;
        nflost += nf[i].lost;
    }
    printf("%-46s %9s %9s %9s %9s\n", "median of 3 runs, seconds", "total", "detect",
           "program", "tern");
    printf("%-46s %9.3f %9.3f %9.3f %9.3f\n", "spot notice -> every rank running elsewhere",
           med(pre, offsetof(run, total)), med(pre, offsetof(run, detect)),
           med(pre, offsetof(run, program)), med(pre, offsetof(run, relaunch)));
    printf("%-46s %9.3f %9.3f %9s %9.3f\n", "worker kill -9 -> every rank running elsewhere",
           med(nf, offsetof(run, total)), med(nf, offsetof(run, detect)), "-",
           med(nf, offsetof(run, relaunch)));
    printf("steps lost to the notice (most of %d runs): %ld; to the node failure (mean, "
           "checkpoint every 50 steps): %.1f\n", RUNS, lost, (double)nflost / RUNS);
    printf("(detect: the notice seen by the worker, or the node declared down after the "
           "%.0f s heartbeat timeout;\n program: the job saving its step and exiting; tern: "
           "requeue, placement, launch)\n", NODE_TIMEOUT_S);
    bench_headline("preempt_recovery", med(pre, offsetof(run, total)) * 1e3, "ms", NULL, 0);
    bench_headline("preempt_steps_lost", (double)lost, "steps", NULL, 0);
    bench_headline("nodefail_recovery", med(nf, offsetof(run, total)), "s", NULL, 0);
    return 0;
}

/* ternd: the tern scheduler daemon. */
#include "scheduler/sched.h"

#include "common/log.h"
#include "common/options.h"
#include "common/parse.h"
#include "common/promhttp.h"

#include <libgen.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: ternd [options]\n"
    "  --state FILE          SQLite state database (default ./ternd.db)\n"
    "  --client ENDPOINT     client endpoint (default tcp://127.0.0.1:7817; port 0: any)\n"
    "  --worker ENDPOINT     worker endpoint (default tcp://127.0.0.1:7818; port 0: any)\n"
    "  --endpoints-file FILE write the bound endpoints and pid here once serving\n"
    "  --log-dir DIR         root of job logs (default: logs/ beside the state file)\n"
    "  --heartbeat-ms MS     worker heartbeat interval (default 1000)\n"
    "  --node-timeout S      a worker silent this long is down (default 5)\n"
    "  --kill-wait S         cancel: signal, this long, then SIGKILL (default 10)\n"
    "  --fail-kill-ms MS     gang teardown after a failed rank: SIGTERM, this long,\n"
    "                        then SIGKILL (default 1000)\n"
    "  --master-ports LO-HI  MASTER_PORT range (default 29500-29999)\n"
    "  --notice-margin S     a spot notice's ranks are killed this long before its\n"
    "                        deadline if they have not saved and gone (default 5)\n"
    "  --preempt-grace S     a job preempted for a higher-priority one gets its preempt\n"
    "                        signal, then SIGKILL this long after (default 60)\n"
    "  --fairshare-halflife S  past usage counts half after this long (default 604800,\n"
    "                        7 days; 0: never decays)\n"
    "  --backfill-depth N    jobs tried behind the top waiting job per pass (default 200)\n"
    "  --metrics HOST:PORT   serve Prometheus metrics at http://HOST:PORT/metrics (port\n"
    "                        0: any; the endpoints file names it; default: off)\n"
    "  --key FILE            ternd's CURVE key (tern keygen): clients and workers must\n"
    "                        authenticate; without it every client is trusted\n"
    "  --authorized-keys FILE  who may connect: 'ROLE NAME PUBLICKEY' lines, ROLE user,\n"
    "                        admin or worker (re-read when it changes)\n"
    "  --rate-limit N        client requests a second per user (bursts of 2N; default\n"
    "                        1000; 0: no limit)\n"
    "  --config FILE         read 'option = value' lines (same names as above)\n"
    "  --log-level LEVEL     error, warn, info (default) or debug\n";

static int set_option(void *ctx, const char *key, const char *v, char *err, size_t errlen)
{
    sched_opts *so = ctx;
    uint32_t n;
    if (strcmp(key, "state") == 0)
        return options_str(&so->state_path, v);
    if (strcmp(key, "client") == 0)
        return options_str(&so->client_ep, v);
    if (strcmp(key, "worker") == 0)
        return options_str(&so->worker_ep, v);
    if (strcmp(key, "endpoints-file") == 0)
        return options_str(&so->endpoints_file, v);
    if (strcmp(key, "log-dir") == 0)
        return options_str(&so->log_dir, v);
    if (strcmp(key, "key") == 0)
        return options_str(&so->key_path, v);
    if (strcmp(key, "authorized-keys") == 0)
        return options_str(&so->authorized_keys, v);
    if (strcmp(key, "rate-limit") == 0) {
        if (parse_u32(v, 0, 100000000, &so->rate_limit) == 0)
            return 0;
        snprintf(err, errlen, "rate-limit '%s': expected requests per second, 0 to 100000000 "
                 "(0: no limit)", v);
        return -1;
    }
    if (strcmp(key, "max-pending-per-user") == 0) {
        if (parse_u32(v, 0, 100000000, &so->max_pending_per_user) == 0)
            return 0;
        snprintf(err, errlen, "max-pending-per-user '%s': expected 0 to 100000000 (0: no limit)",
                 v);
        return -1;
    }
    if (strcmp(key, "max-array-size") == 0) {
        if (parse_u32(v, 1, 4000001, &so->max_array_size) == 0)
            return 0;
        snprintf(err, errlen, "max-array-size '%s': expected 1 to 4000001", v);
        return -1;
    }
    if (strcmp(key, "metrics") == 0) {
        char host[256];
        uint16_t port;
        if (promhttp_parse_addr(v, host, sizeof host, &port) == 0)
            return options_str(&so->metrics_addr, v);
        snprintf(err, errlen, "metrics '%s': expected HOST:PORT, e.g. 127.0.0.1:9400 (port 0 "
                 "to 65535; 0: any free port)", v);
        return -1;
    }
    if (strcmp(key, "heartbeat-ms") == 0) {
        if (parse_u32(v, 10, 600000, &so->heartbeat_ms) == 0)
            return 0;
        snprintf(err, errlen, "heartbeat-ms '%s': expected 10 to 600000", v);
        return -1;
    }
    /* Options in seconds, kept in milliseconds. */
    static const struct {
        const char *key;
        uint32_t max;
        size_t off;
    } secs[] = {
        { "node-timeout", 86400, offsetof(sched_opts, node_timeout_ms) },
        { "kill-wait", 3600, offsetof(sched_opts, kill_wait_ms) },
        { "notice-margin", 3600, offsetof(sched_opts, notice_margin_ms) },
        { "preempt-grace", 86400, offsetof(sched_opts, preempt_grace_ms) },
    };
    for (size_t i = 0; i < sizeof secs / sizeof secs[0]; i++) {
        if (strcmp(key, secs[i].key) != 0)
            continue;
        uint32_t min = strcmp(key, "node-timeout") == 0;
        if (parse_u32(v, min, secs[i].max, &n) == 0) {
            *(uint32_t *)((char *)so + secs[i].off) = n * 1000;
            return 0;
        }
        snprintf(err, errlen, "%s '%s': expected seconds, %u to %u", key, v, min, secs[i].max);
        return -1;
    }
    if (strcmp(key, "fail-kill-ms") == 0) {
        if (parse_u32(v, 0, 60000, &so->fail_kill_ms) == 0)
            return 0;
        snprintf(err, errlen, "fail-kill-ms '%s': expected 0 to 60000", v);
        return -1;
    }
    if (strcmp(key, "fairshare-halflife") == 0) {
        if (parse_u32(v, 0, 100u * 365 * 86400, &n) == 0) {
            so->fairshare_halflife_s = n;
            return 0;
        }
        snprintf(err, errlen, "fairshare-halflife '%s': expected seconds (0: no decay)", v);
        return -1;
    }
    if (strcmp(key, "backfill-depth") == 0) {
        if (parse_u32(v, 1, 1000000, &so->backfill_depth) == 0)
            return 0;
        snprintf(err, errlen, "backfill-depth '%s': expected 1 to 1000000", v);
        return -1;
    }
    /* master-ports */
    char lo[16], hi[16];
    uint32_t a, b;
    if (sscanf(v, "%15[0-9]-%15[0-9]", lo, hi) == 2 && parse_u32(lo, 1024, 65535, &a) == 0 &&
        parse_u32(hi, 1024, 65535, &b) == 0 && a <= b) {
        so->port_lo = a;
        so->port_hi = b;
        return 0;
    }
    snprintf(err, errlen, "master-ports '%s': expected LO-HI within 1024-65535", v);
    return -1;
}

int main(int argc, char **argv)
{
    static const char *const names[] = {
        "state", "client", "worker", "endpoints-file", "log-dir", "heartbeat-ms",
        "node-timeout", "kill-wait", "fail-kill-ms", "master-ports", "notice-margin",
        "preempt-grace", "fairshare-halflife", "backfill-depth", "metrics", "key",
        "authorized-keys", "rate-limit", "max-pending-per-user", "max-array-size", NULL,
    };
    sched s;
    memset(&s, 0, sizeof s);
    s.sigfd = -1;
    sched_opts *so = &s.opt;
    so->heartbeat_ms = 1000;
    so->node_timeout_ms = 5000;
    so->kill_wait_ms = 10000;
    so->fail_kill_ms = 1000;
    so->notice_margin_ms = 5000;
    so->preempt_grace_ms = 60000;
    so->fairshare_halflife_s = 7 * 86400;
    so->backfill_depth = 200;
    so->rate_limit = 1000;
    so->max_pending_per_user = 10000;
    so->max_array_size = 1001;
    so->port_lo = 29500;
    so->port_hi = 29999;
    enum log_level level = LOG_INFO;
    int rc = options_parse("ternd", argc, argv, names, usage, set_option, so, &level);
    if (rc != 0) {
        rc = rc == 1 ? 0 : 2;
        goto out;
    }
    if (!so->state_path)
        options_str(&so->state_path, "ternd.db");
    if (!so->client_ep)
        options_str(&so->client_ep, "tcp://127.0.0.1:7817");
    if (!so->worker_ep)
        options_str(&so->worker_ep, "tcp://127.0.0.1:7818");
    if (!so->log_dir) {
        char *copy = strdup(so->state_path), buf[4096];
        snprintf(buf, sizeof buf, "%s/logs", dirname(copy));
        free(copy);
        options_str(&so->log_dir, buf);
    }
    if (so->log_dir[0] != '/') {
        char cwd[2048], buf[4096];
        if (getcwd(cwd, sizeof cwd)) {
            snprintf(buf, sizeof buf, "%s/%s", cwd, so->log_dir);
            options_str(&so->log_dir, buf);
        }
    }
    if ((uint64_t)so->heartbeat_ms * 2 > so->node_timeout_ms) {
        fprintf(stderr, "ternd: node-timeout (%u ms) must be at least twice heartbeat-ms (%u)\n",
                so->node_timeout_ms, so->heartbeat_ms);
        rc = 2;
        goto out;
    }
    log_init("ternd", level);

    rc = sched_start(&s) == 0 && sched_run(&s) == 0 ? 0 : 1;
    sched_finish(&s);
out:
    free(so->state_path);
    free(so->client_ep);
    free(so->worker_ep);
    free(so->endpoints_file);
    free(so->log_dir);
    free(so->metrics_addr);
    free(so->key_path);
    free(so->authorized_keys);
    return rc;
}

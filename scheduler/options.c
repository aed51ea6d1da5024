/* ternd's options: the table its command line, its --config files and its
 * --help come from (common/options.h), into a sched_opts. */
#include "scheduler/options.h"

#include "common/parse.h"
#include "common/promhttp.h"
#include "scheduler/sched.h"

#include <stddef.h>
#include <stdio.h>

static int set_halflife(void *opts, const char *name, const char *v, char *err, size_t errlen)
{
    uint32_t n;
    if (parse_u32(v, 0, 100u * 365 * 86400, &n) == 0) {
        ((sched_opts *)opts)->fairshare_halflife_s = n;
        return 0;
    }
    snprintf(err, errlen, "%s '%s': expected seconds (0: no decay)", name, v);
    return -1;
}

static int set_ports(void *opts, const char *name, const char *v, char *err, size_t errlen)
{
    sched_opts *so = opts;
    char lo[16], hi[16];
    uint32_t a, b;
    if (sscanf(v, "%15[0-9]-%15[0-9]", lo, hi) == 2 && parse_u32(lo, 1024, 65535, &a) == 0 &&
        parse_u32(hi, 1024, 65535, &b) == 0 && a <= b) {
        so->port_lo = a;
        so->port_hi = b;
        return 0;
    }
    snprintf(err, errlen, "%s '%s': expected LO-HI within 1024-65535", name, v);
    return -1;
}

#define TEXT(name, arg, field, dflt, help) \
    { name, arg, OPTION_TEXT, offsetof(sched_opts, field), 0, 0, dflt, help, NULL, NULL }
#define U32(name, arg, field, min, max, dflt, help, expect) \
    { name, arg, OPTION_U32, offsetof(sched_opts, field), min, max, dflt, help, expect, NULL }
#define SECONDS(name, field, min, max, dflt, help) \
    { name, "S", OPTION_SECONDS, offsetof(sched_opts, field), min, max, dflt, help, NULL, NULL }
#define CHECKED(name, arg, field, check, help) \
    { name, arg, OPTION_TEXT, offsetof(sched_opts, field), 0, 0, NULL, help, NULL, check }
#define CUSTOM(name, arg, fn, dflt, help) \
    { name, arg, OPTION_CUSTOM, 0, 0, 0, dflt, help, NULL, fn }

const option_spec sched_options[] = {
    TEXT("state", "FILE", state_path, "ternd.db", "SQLite state database"),
    TEXT("client", "ENDPOINT", client_ep, "tcp://127.0.0.1:7817", "client endpoint (port 0: any)"),
    TEXT("worker", "ENDPOINT", worker_ep, "tcp://127.0.0.1:7818", "worker endpoint (port 0: any)"),
    TEXT("endpoints-file", "FILE", endpoints_file, NULL,
         "write the bound endpoints and pid here once serving"),
    TEXT("log-dir", "DIR", log_dir, NULL, "root of job logs (default: logs/ beside the state file)"),
    U32("heartbeat-ms", "MS", heartbeat_ms, 10, 600000, "1000", "worker heartbeat interval", NULL),
    SECONDS("node-timeout", node_timeout_ms, 1, 86400, "5", "a worker silent this long is down"),
    SECONDS("kill-wait", kill_wait_ms, 0, 3600, "10", "cancel: signal, this long, then SIGKILL"),
    U32("fail-kill-ms", "MS", fail_kill_ms, 0, 60000, "1000",
        "gang teardown after a failed rank: SIGTERM, this long, then SIGKILL", NULL),
    CUSTOM("master-ports", "LO-HI", set_ports, "29500-29999", "MASTER_PORT range"),
    SECONDS("notice-margin", notice_margin_ms, 0, 3600, "5",
            "a spot notice's ranks are killed this long before its deadline if they have not "
            "saved and gone"),
    SECONDS("preempt-grace", preempt_grace_ms, 0, 86400, "60",
            "a job preempted for a higher-priority one gets its preempt signal, then SIGKILL "
            "this long after"),
    CUSTOM("fairshare-halflife", "S", set_halflife, "604800",
           "past usage counts half after this long (default 604800, 7 days; 0: never decays)"),
    U32("backfill-depth", "N", backfill_depth, 1, 1000000, "200",
        "jobs tried behind the top waiting job per pass", NULL),
    CHECKED("metrics", "HOST:PORT", metrics_addr, promhttp_check_option,
           "serve Prometheus metrics at http://HOST:PORT/metrics (port 0: any; the endpoints "
           "file names it; default: off)"),
    TEXT("key", "FILE", key_path, NULL,
         "ternd's CURVE key (tern keygen): clients and workers must authenticate; without it "
         "every client is trusted"),
    TEXT("authorized-keys", "FILE", authorized_keys, NULL,
         "who may connect: 'ROLE NAME PUBLICKEY' lines, ROLE user, admin or worker (re-read "
         "when it changes)"),
    U32("rate-limit", "N", rate_limit, 0, 100000000, "1000",
        "client requests a second per user (bursts of 2N; 0: no limit)",
        "requests per second, 0 to 100000000 (0: no limit)"),
    U32("max-pending-per-user", "N", max_pending_per_user, 0, 100000000, "10000",
        "jobs one user may have waiting or running; admins are exempt (0: no limit)",
        "0 to 100000000 (0: no limit)"),
    U32("max-array-size", "N", max_array_size, 1, 4000001, "1001",
        "array task indexes must be below N (SLURM's MaxArraySize)", NULL),
    { NULL, NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};

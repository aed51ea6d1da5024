/* tern-worker's options: the table its command line, its --config files
 * and its --help come from (common/options.h), into a worker_opts. */
#include "worker/options.h"

#include "common/parse.h"
#include "common/promhttp.h"
#include "worker/worker.h"

#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sets label KEY=VALUE, replacing an earlier one with the same key. */
static int add_label(worker_opts *wo, const char *key, const char *value)
{
    char *l;
    if (asprintf(&l, "%s=%s", key, value) < 0)
        return -1;
    size_t klen = strlen(key);
    for (size_t i = 0; i < wo->nlabels; i++) {
        if (strncmp(wo->labels[i], key, klen) == 0 && wo->labels[i][klen] == '=') {
            free(wo->labels[i]);
            wo->labels[i] = l;
            return 0;
        }
    }
    char **nl = realloc(wo->labels, (wo->nlabels + 1) * sizeof *nl);
    if (!nl) {
        free(l);
        return -1;
    }
    wo->labels = nl;
    nl[wo->nlabels++] = l;
    return 0;
}

static int set_gpus(void *opts, const char *name, const char *v, char *err, size_t errlen)
{
    uint32_t n;
    if (parse_u32(v, 0, 64, &n) == 0) {
        ((worker_opts *)opts)->gpus = (int)n;
        return 0;
    }
    snprintf(err, errlen, "%s '%s': expected 0 to 64", name, v);
    return -1;
}

static int set_spot(void *opts, const char *name, const char *v, char *err, size_t errlen)
{
    worker_opts *wo = opts;
    if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0) {
        snprintf(err, errlen, "%s '%s': expected true or false", name, v);
        return -1;
    }
    wo->spot = strcmp(v, "true") == 0;
    return add_label(wo, "spot", v);
}

static int set_price(void *opts, const char *name, const char *v, char *err, size_t errlen)
{
    char *end;
    double p = strtod(v, &end);
    if (end == v || *end || !(p >= 0 && p < 1e6)) {
        snprintf(err, errlen, "%s '%s': expected a number of currency units per hour", name, v);
        return -1;
    }
    return add_label(opts, "price", v);
}

static int check_notice_url(void *opts, const char *name, const char *v, char *err,
                            size_t errlen)
{
    (void)opts;
    if (strncmp(v, "http://", 7) == 0 || strncmp(v, "https://", 8) == 0)
        return 0;
    snprintf(err, errlen, "%s '%s': expected http:// or https://", name, v);
    return -1;
}

static int check_ifname(void *opts, const char *name, const char *v, char *err, size_t errlen)
{
    (void)opts;
    bool ok = v[0] && strlen(v) <= 1024;
    for (const char *c = v; ok && *c; c++)
        ok = isgraph((unsigned char)*c);
    if (ok)
        return 0;
    snprintf(err, errlen, "%s '%s': expected interface names (eth0,ib0), ^ and names to "
             "exclude, or auto", name, v);
    return -1;
}

static int set_label(void *opts, const char *name, const char *v, char *err, size_t errlen)
{
    const char *eq = strchr(v, '=');
    if (!eq || eq == v || strlen(v) > 256) {
        snprintf(err, errlen, "%s '%s': expected KEY=VALUE", name, v);
        return -1;
    }
    /* spot= and price= by label are --spot and --price. */
    char k[257];
    snprintf(k, sizeof k, "%.*s", (int)(eq - v), v);
    if (strcmp(k, "spot") == 0)
        return set_spot(opts, k, eq + 1, err, errlen);
    if (strcmp(k, "price") == 0)
        return set_price(opts, k, eq + 1, err, errlen);
    return add_label(opts, k, eq + 1);
}

#define TEXT(name, arg, field, help) \
    { name, arg, OPTION_TEXT, offsetof(worker_opts, field), 0, 0, NULL, help, NULL, NULL }
#define CHECKED(name, arg, field, check, help) \
    { name, arg, OPTION_TEXT, offsetof(worker_opts, field), 0, 0, NULL, help, NULL, check }
#define CUSTOM(name, arg, fn, help) \
    { name, arg, OPTION_CUSTOM, 0, 0, 0, NULL, help, NULL, fn }

const option_spec worker_options[] = {
    TEXT("scheduler", "ENDPOINT", scheduler, "ternd's worker endpoint (or $TERN_WORKER_ENDPOINT)"),
    TEXT("name", "NAME", name, "node name (default: short host name)"),
    TEXT("addr", "ADDR", addr,
         "address ranks use to reach this node (default: the local address on the route to "
         "the scheduler)"),
    { "cpus", "N", OPTION_U32, offsetof(worker_opts, cpus), 1, 1000000, NULL,
      "CPUs to offer (default: processors found by hwloc)", NULL, NULL },
    CUSTOM("gpus", "N", set_gpus, "offer N synthetic GPUs instead of those found by NVML"),
    TEXT("topology", "FILE.xml", topology_xml, "take the node's topology from an hwloc XML file"),
    CUSTOM("label", "KEY=VALUE", set_label, "a node label (repeatable), e.g. rack=r1"),
    CUSTOM("spot", NULL, set_spot,
           "a spot instance: only --preemptible jobs come here, and SIGTERM is a preemption "
           "notice (label spot=true)"),
    CUSTOM("price", "P", set_price, "what the node costs per hour, for job costs (label price=P)"),
    CHECKED("notice-url", "URL", notice_url, check_notice_url,
           "poll this metadata endpoint for spot notices, e.g.\n"
           "http://169.254.169.254/latest/meta-data/spot/instance-action\n"
           "or http://metadata.google.internal/computeMetadata/v1/instance/preempted"),
    { "notice-poll-ms", "MS", OPTION_U32, offsetof(worker_opts, notice_poll_ms), 10, 600000,
      "1000", "how often", NULL, NULL },
    { "notice-margin", "S", OPTION_SECONDS, offsetof(worker_opts, notice_margin_ms), 0, 3600,
      "5", "ranks still running this long before a notice's deadline are killed", NULL, NULL },
    { "sigterm-notice", "S", OPTION_U32, offsetof(worker_opts, sigterm_notice_s), 0, 3600, "30",
      "--spot: the time SIGTERM gives before the machine goes", "seconds, 0 to 3600", NULL },
    { "fence-after", "S", OPTION_SECONDS, offsetof(worker_opts, fence_after_ms), 0, 3600, NULL,
      "kill every rank after S seconds without a word from ternd (at most ternd's "
      "--node-timeout: then no two attempts of a job ever run at once; 0, the default: never, "
      "so a scheduler outage disturbs no job)", NULL, NULL },
    CHECKED("nccl-ifname", "IFS", nccl_ifname, check_ifname,
           "ranks get NCCL_SOCKET_IFNAME=IFS and GLOO_SOCKET_IFNAME=IFS unless their job sets "
           "them (IFS as NCCL reads it: eth0,ib0 or ^docker,lo); auto: this node's interfaces "
           "but lo and docker*, veth*, virbr*, br-* (none left: neither is set), and "
           "NCCL_IB_HCA=its InfiniBand HCAs, if any"),
    CHECKED("metrics", "HOST:PORT", metrics_addr, promhttp_check_option,
           "serve Prometheus metrics (ranks; GPU utilization and memory from NVML) at "
           "http://HOST:PORT/metrics (port 0: any; logged; default: off)"),
    TEXT("key", "FILE", key_path, "this worker's CURVE key (tern keygen); with --server-key"),
    TEXT("server-key", "KEY", server_key, "ternd's public key (or a file with it): authenticate"),
    { NULL, NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};

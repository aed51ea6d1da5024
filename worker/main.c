/* tern-worker: the node agent. */
#include "worker/worker.h"

#include "common/log.h"
#include "common/options.h"
#include "common/parse.h"
#include "common/promhttp.h"
#include "worker/metrics.h"
#include "worker/rankenv.h"

#include <ctype.h>
#include <errno.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: tern-worker --scheduler tcp://HOST:PORT [options]\n"
    "  --scheduler ENDPOINT  ternd's worker endpoint (or $TERN_WORKER_ENDPOINT)\n"
    "  --name NAME           node name (default: short host name)\n"
    "  --addr ADDR           address ranks use to reach this node (default: the\n"
    "                        local address on the route to the scheduler)\n"
    "  --cpus N              CPUs to offer (default: processors found by hwloc)\n"
    "  --gpus N              offer N synthetic GPUs instead of those found by NVML\n"
    "  --topology FILE.xml   take the node's topology from an hwloc XML file\n"
    "  --label KEY=VALUE     a node label (repeatable), e.g. rack=r1\n"
    "  --spot                a spot instance: only --preemptible jobs come here, and\n"
    "                        SIGTERM is a preemption notice (label spot=true)\n"
    "  --price P             what the node costs per hour, for job costs (label price=P)\n"
    "  --notice-url URL      poll this metadata endpoint for spot notices, e.g.\n"
    "                        http://169.254.169.254/latest/meta-data/spot/instance-action\n"
    "                        or http://metadata.google.internal/computeMetadata/v1/\n"
    "                        instance/preempted\n"
    "  --notice-poll-ms MS   how often (default 1000)\n"
    "  --notice-margin S     ranks still running this long before a notice's deadline\n"
    "                        are killed (default 5)\n"
    "  --sigterm-notice S    --spot: the time SIGTERM gives before the machine goes\n"
    "                        (default 30)\n"
    "  --fence-after S       kill every rank after S seconds without a word from ternd\n"
    "                        (at most ternd's --node-timeout: then no two attempts of a\n"
    "                        job ever run at once; 0, the default: never, so a\n"
    "                        scheduler outage disturbs no job)\n"
    "  --key FILE            this worker's CURVE key (tern keygen); with --server-key\n"
    "  --server-key KEY      ternd's public key (or a file with it): authenticate\n"
    "  --nccl-ifname IFS     ranks get NCCL_SOCKET_IFNAME=IFS and GLOO_SOCKET_IFNAME=IFS\n"
    "                        unless their job sets them (IFS as NCCL reads it: eth0,ib0\n"
    "                        or ^docker,lo); auto: this node's interfaces but lo and\n"
    "                        docker*, veth*, virbr*, br-* (none left: neither is set),\n"
    "                        and NCCL_IB_HCA=its InfiniBand HCAs, if any\n"
    "  --metrics HOST:PORT   serve Prometheus metrics (ranks; GPU utilization and\n"
    "                        memory from NVML) at http://HOST:PORT/metrics (port 0:\n"
    "                        any; logged; default: off)\n"
    "  --config FILE         read 'option = value' lines (same names as above)\n"
    "  --log-level LEVEL     error, warn, info (default) or debug\n";

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

static int set_option(void *ctx, const char *key, const char *v, char *err, size_t errlen)
{
    worker_opts *wo = ctx;
    uint32_t n;
    if (strcmp(key, "scheduler") == 0)
        return options_str(&wo->scheduler, v);
    if (strcmp(key, "name") == 0)
        return options_str(&wo->name, v);
    if (strcmp(key, "addr") == 0)
        return options_str(&wo->addr, v);
    if (strcmp(key, "topology") == 0)
        return options_str(&wo->topology_xml, v);
    if (strcmp(key, "metrics") == 0) {
        char host[256];
        uint16_t port;
        if (promhttp_parse_addr(v, host, sizeof host, &port) == 0)
            return options_str(&wo->metrics_addr, v);
        snprintf(err, errlen, "metrics '%s': expected HOST:PORT, e.g. 127.0.0.1:9401 (port 0 "
                 "to 65535; 0: any free port)", v);
        return -1;
    }
    if (strcmp(key, "cpus") == 0) {
        if (parse_u32(v, 1, 1000000, &wo->cpus) == 0)
            return 0;
        snprintf(err, errlen, "cpus '%s': expected 1 to 1000000", v);
        return -1;
    }
    if (strcmp(key, "gpus") == 0) {
        if (parse_u32(v, 0, 64, &n) == 0) {
            wo->gpus = (int)n;
            return 0;
        }
        snprintf(err, errlen, "gpus '%s': expected 0 to 64", v);
        return -1;
    }
    if (strcmp(key, "spot") == 0) {
        if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0) {
            snprintf(err, errlen, "spot '%s': expected true or false", v);
            return -1;
        }
        wo->spot = strcmp(v, "true") == 0;
        return add_label(wo, "spot", v);
    }
    if (strcmp(key, "price") == 0) {
        char *end;
        double p = strtod(v, &end);
        if (end == v || *end || !(p >= 0 && p < 1e6)) {
            snprintf(err, errlen, "price '%s': expected a number of currency units per hour", v);
            return -1;
        }
        return add_label(wo, "price", v);
    }
    if (strcmp(key, "notice-url") == 0) {
        if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) {
            snprintf(err, errlen, "notice-url '%s': expected http:// or https://", v);
            return -1;
        }
        return options_str(&wo->notice_url, v);
    }
    if (strcmp(key, "key") == 0)
        return options_str(&wo->key_path, v);
    if (strcmp(key, "server-key") == 0)
        return options_str(&wo->server_key, v);
    if (strcmp(key, "nccl-ifname") == 0) {
        bool ok = v[0] && strlen(v) <= 1024;
        for (const char *c = v; ok && *c; c++)
            ok = isgraph((unsigned char)*c);
        if (!ok) {
            snprintf(err, errlen, "nccl-ifname '%s': expected interface names (eth0,ib0), "
                     "^ and names to exclude, or auto", v);
            return -1;
        }
        return options_str(&wo->nccl_ifname, v);
    }
    if (strcmp(key, "notice-poll-ms") == 0) {
        if (parse_u32(v, 10, 600000, &wo->notice_poll_ms) == 0)
            return 0;
        snprintf(err, errlen, "notice-poll-ms '%s': expected 10 to 600000", v);
        return -1;
    }
    if (strcmp(key, "notice-margin") == 0 || strcmp(key, "sigterm-notice") == 0 ||
        strcmp(key, "fence-after") == 0) {
        if (parse_u32(v, 0, 3600, &n) < 0) {
            snprintf(err, errlen, "%s '%s': expected seconds, 0 to 3600", key, v);
            return -1;
        }
        if (key[0] == 'f')
            wo->fence_after_ms = n * 1000;
        else if (key[1] == 'o')
            wo->notice_margin_ms = n * 1000;
        else
            wo->sigterm_notice_s = n;
        return 0;
    }
    /* label */
    const char *eq = strchr(v, '=');
    if (!eq || eq == v || strlen(v) > 256) {
        snprintf(err, errlen, "label '%s': expected KEY=VALUE", v);
        return -1;
    }
    /* spot= and price= by label are --spot and --price. */
    char k[257];
    snprintf(k, sizeof k, "%.*s", (int)(eq - v), v);
    if (strcmp(k, "spot") == 0 || strcmp(k, "price") == 0)
        return set_option(ctx, k, eq + 1, err, errlen);
    return add_label(wo, k, eq + 1);
}

/* Resolves --nccl-ifname once, against the node's topology: every rank the
 * worker starts gets the same hints. */
static int resolve_hints(worker *w)
{
    const char *ifname = w->opt.nccl_ifname;
    if (!(w->rank_hints = rankenv_nic_hints(ifname, w->topo))) {
        log_err("node=%s: --nccl-ifname %s: %s", w->opt.name, ifname,
                errno == ENAMETOOLONG ? "more interface names than fit in a variable"
                                      : strerror(errno));
        return -1;
    }
    if (!ifname)
        return 0;
    const char *ifs = rankenv_get(w->rank_hints, "NCCL_SOCKET_IFNAME");
    const char *hcas = rankenv_get(w->rank_hints, "NCCL_IB_HCA");
    if (ifs)
        log_info("node=%s: ranks get NCCL_SOCKET_IFNAME=%s GLOO_SOCKET_IFNAME=%s%s%s unless "
                 "their job sets them", w->opt.name, ifs, ifs, hcas ? " NCCL_IB_HCA=" : "",
                 hcas ? hcas : "");
    else
        log_info("node=%s: --nccl-ifname auto: no network interface but loopback and container "
                 "or VM bridges; NCCL_SOCKET_IFNAME and GLOO_SOCKET_IFNAME not set%s%s",
                 w->opt.name, hcas ? ", NCCL_IB_HCA=" : "", hcas ? hcas : "");
    return 0;
}

int main(int argc, char **argv)
{
    static const char *const names[] = {
        "scheduler", "name", "addr", "cpus", "gpus", "topology", "label", "spot?", "price",
        "notice-url", "notice-poll-ms", "notice-margin", "sigterm-notice", "fence-after",
        "nccl-ifname", "metrics", "key", "server-key", NULL,
    };
    worker w;
    memset(&w, 0, sizeof w);
    w.sigfd = -1;
    w.opt.gpus = -1;
    w.opt.notice_poll_ms = 1000;
    w.opt.notice_margin_ms = 5000;
    w.opt.sigterm_notice_s = 30;
    enum log_level level = LOG_INFO;
    int rc = options_parse("tern-worker", argc, argv, names, usage, set_option, &w.opt, &level);
    if (rc != 0) {
        rc = rc == 1 ? 0 : 2;
        goto out;
    }
    rc = 2;
    if (!w.opt.scheduler && getenv("TERN_WORKER_ENDPOINT"))
        options_str(&w.opt.scheduler, getenv("TERN_WORKER_ENDPOINT"));
    if (!w.opt.scheduler) {
        fprintf(stderr, "tern-worker: --scheduler tcp://HOST:PORT is required\n");
        goto out;
    }
    if (!w.opt.key_path != !w.opt.server_key) {
        fprintf(stderr, "tern-worker: --key and --server-key go together\n");
        goto out;
    }
    if (!w.opt.name) {
        char host[256] = "node";
        gethostname(host, sizeof host - 1);
        host[strcspn(host, ".")] = '\0';
        options_str(&w.opt.name, host);
    }
    log_init("tern-worker", level);
    rc = worker_start(&w) == 0 && resolve_hints(&w) == 0 && wmetrics_start(&w) == 0 &&
         worker_run(&w) == 0 ? 0 : 1;
    worker_finish(&w);
    wmetrics_stop(&w);
out:
    free(w.opt.scheduler);
    free(w.opt.name);
    free(w.opt.addr);
    free(w.opt.topology_xml);
    free(w.opt.id);
    free(w.opt.notice_url);
    free(w.opt.nccl_ifname);
    free(w.opt.metrics_addr);
    free(w.opt.key_path);
    free(w.opt.server_key);
    rankenv_free(w.rank_hints);
    for (size_t i = 0; i < w.opt.nlabels; i++)
        free(w.opt.labels[i]);
    free(w.opt.labels);
    return rc;
}

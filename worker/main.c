/* tern-worker: the node agent. */
#include "worker/worker.h"

#include "common/config.h"
#include "common/log.h"
#include "common/parse.h"

#include <getopt.h>
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
    "  --label KEY=VALUE     a node label (repeatable), e.g. rack=r1, spot=true\n"
    "  --config FILE         read 'option = value' lines (same names as above)\n"
    "  --log-level LEVEL     error, warn, info (default) or debug\n";

typedef struct opts {
    worker_opts *wo;
    enum log_level level;
} opts;

static int set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = strdup(v);
    return *dst ? 0 : -1;
}

static int set_option(void *arg, const char *key, const char *v, char *err, size_t errlen)
{
    opts *o = arg;
    worker_opts *wo = o->wo;
    uint32_t n;
    if (strcmp(key, "scheduler") == 0)
        return set_str(&wo->scheduler, v);
    if (strcmp(key, "name") == 0)
        return set_str(&wo->name, v);
    if (strcmp(key, "addr") == 0)
        return set_str(&wo->addr, v);
    if (strcmp(key, "topology") == 0)
        return set_str(&wo->topology_xml, v);
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
    if (strcmp(key, "label") == 0) {
        const char *eq = strchr(v, '=');
        if (!eq || eq == v || strlen(v) > 256) {
            snprintf(err, errlen, "label '%s': expected KEY=VALUE", v);
            return -1;
        }
        char **nl = realloc(wo->labels, (wo->nlabels + 1) * sizeof *nl);
        if (!nl || !(nl[wo->nlabels] = strdup(v))) {
            if (nl)
                wo->labels = nl;
            return -1;
        }
        wo->labels = nl;
        wo->nlabels++;
        return 0;
    }
    if (strcmp(key, "log-level") == 0) {
        if (log_level_parse(v, &o->level) == 0)
            return 0;
        snprintf(err, errlen, "log-level '%s': expected error, warn, info or debug", v);
        return -1;
    }
    if (strcmp(key, "config") == 0) {
        char why[1024];
        if (config_read(v, set_option, arg, why, sizeof why) == 0)
            return 0;
        snprintf(err, errlen, "config %s", why);
        return -1;
    }
    snprintf(err, errlen, "unknown option '%s'", key);
    return -1;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "scheduler", required_argument, 0, 0 },
        { "name", required_argument, 0, 0 },
        { "addr", required_argument, 0, 0 },
        { "cpus", required_argument, 0, 0 },
        { "gpus", required_argument, 0, 0 },
        { "topology", required_argument, 0, 0 },
        { "label", required_argument, 0, 0 },
        { "config", required_argument, 0, 0 },
        { "log-level", required_argument, 0, 0 },
        { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 },
    };
    worker w;
    memset(&w, 0, sizeof w);
    w.sigfd = -1;
    w.opt.gpus = -1;
    opts o = { &w.opt, LOG_INFO };

    opterr = 0;
    int c, idx, rc = 2;
    while ((c = getopt_long(argc, argv, "+h", longopts, &idx)) != -1) {
        char err[1200];
        if (c == 'h') {
            fputs(usage, stdout);
            rc = 0;
            goto out;
        }
        if (c == '?') {
            fprintf(stderr, "tern-worker: unknown option '%s' (see tern-worker --help)\n",
                    argv[optind - 1]);
            goto out;
        }
        if (set_option(&o, longopts[idx].name, optarg, err, sizeof err) < 0) {
            fprintf(stderr, "tern-worker: %s\n", err);
            goto out;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tern-worker: unexpected argument '%s'\n", argv[optind]);
        goto out;
    }
    if (!w.opt.scheduler && getenv("TERN_WORKER_ENDPOINT"))
        set_str(&w.opt.scheduler, getenv("TERN_WORKER_ENDPOINT"));
    if (!w.opt.scheduler) {
        fprintf(stderr, "tern-worker: --scheduler tcp://HOST:PORT is required\n");
        goto out;
    }
    if (!w.opt.name) {
        char host[256] = "node";
        gethostname(host, sizeof host - 1);
        host[strcspn(host, ".")] = '\0';
        set_str(&w.opt.name, host);
    }
    log_init("tern-worker", o.level);
    rc = worker_start(&w) == 0 && worker_run(&w) == 0 ? 0 : 1;
    worker_finish(&w);
out:
    free(w.opt.scheduler);
    free(w.opt.name);
    free(w.opt.addr);
    free(w.opt.topology_xml);
    for (size_t i = 0; i < w.opt.nlabels; i++)
        free(w.opt.labels[i]);
    free(w.opt.labels);
    return rc;
}

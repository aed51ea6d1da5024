/* tern-worker: the node agent. */
#include "worker/worker.h"

#include "common/log.h"
#include "common/options.h"
#include "common/parse.h"

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
    /* label */
    const char *eq = strchr(v, '=');
    if (!eq || eq == v || strlen(v) > 256) {
        snprintf(err, errlen, "label '%s': expected KEY=VALUE", v);
        return -1;
    }
    char **nl = realloc(wo->labels, (wo->nlabels + 1) * sizeof *nl);
    if (!nl)
        return -1;
    wo->labels = nl;
    if (!(nl[wo->nlabels] = strdup(v)))
        return -1;
    wo->nlabels++;
    return 0;
}

int main(int argc, char **argv)
{
    static const char *const names[] = {
        "scheduler", "name", "addr", "cpus", "gpus", "topology", "label", NULL,
    };
    worker w;
    memset(&w, 0, sizeof w);
    w.sigfd = -1;
    w.opt.gpus = -1;
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
    if (!w.opt.name) {
        char host[256] = "node";
        gethostname(host, sizeof host - 1);
        host[strcspn(host, ".")] = '\0';
        options_str(&w.opt.name, host);
    }
    log_init("tern-worker", level);
    rc = worker_start(&w) == 0 && worker_run(&w) == 0 ? 0 : 1;
    worker_finish(&w);
out:
    free(w.opt.scheduler);
    free(w.opt.name);
    free(w.opt.addr);
    free(w.opt.topology_xml);
    free(w.opt.id);
    for (size_t i = 0; i < w.opt.nlabels; i++)
        free(w.opt.labels[i]);
    free(w.opt.labels);
    return rc;
}

/* tern-worker: the node agent. */
#include "worker/options.h"
#include "worker/worker.h"

#include "common/log.h"
#include "common/options.h"
#include "worker/metrics.h"
#include "worker/rankenv.h"

#include <errno.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    worker w;
    memset(&w, 0, sizeof w);
    w.sigfd = -1;
    w.opt.gpus = -1;
    enum log_level level = LOG_INFO;
    int rc = options_parse("tern-worker", "--scheduler tcp://HOST:PORT [options]", argc, argv,
                           worker_options, &w.opt, &level);
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
    options_free(worker_options, &w.opt);
    free(w.opt.id);
    rankenv_free(w.rank_hints);
    for (size_t i = 0; i < w.opt.nlabels; i++)
        free(w.opt.labels[i]);
    free(w.opt.labels);
    return rc;
}

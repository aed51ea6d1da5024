/* What the worker tells ternd (worker/report.h): its node when it
 * registers, the state of every attempt with each heartbeat, and each
 * rank's start and exit. */
#include "worker/report.h"

#include "common/log.h"
#include "common/wire.h"
#include "worker/ranks.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <zmq.h>

/* Sends 'body', the message of 'body_case', to ternd with the next
 * sequence number. Returns 0, or -1 when it could not be sent (nothing
 * queues for a scheduler that is away: the next heartbeat says it all). */
static int send_body(worker *w, Tern__Envelope__BodyCase body_case, void *body)
{
    Tern__Envelope env;
    wire_init(&env, 0);
    env.body_case = body_case;
    switch (body_case) {
    case TERN__ENVELOPE__BODY_REG:
        env.reg = body;
        break;
    case TERN__ENVELOPE__BODY_HEARTBEAT:
        env.heartbeat = body;
        break;
    case TERN__ENVELOPE__BODY_RANK_EXIT:
        env.rank_exit = body;
        break;
    case TERN__ENVELOPE__BODY_STARTED:
        env.started = body;
        break;
    default:
        return -1;
    }
    env.seq = ++w->seq;
    if (wire_send(w->sock, NULL, &env, ZMQ_DONTWAIT) < 0) {
        if (errno != EAGAIN)
            log_warn("send to scheduler: %s", zmq_strerror(errno));
        return -1;
    }
    return 0;
}

/* The notice this node got, for every Register and Heartbeat; NULL if none. */
static Tern__Notice *notice_msg(worker *w, Tern__Notice *nt)
{
    if (!w->notice.deadline_ms)
        return NULL;
    nt->deadline_ms = w->notice.deadline_ms;
    nt->source = w->notice.source;
    return nt;
}

/* The node's GPUs and NICs as messages, into gp[0..ngpus) (pointing into
 * gpus[]) and np[0..nnics) (into nics[]); their strings are the topology's. */
static void node_devices(const topology *t, Tern__Gpu *gpus, Tern__Gpu **gp, Tern__Nic *nics,
                         Tern__Nic **np)
{
    for (size_t i = 0; i < topo_ngpus(t); i++) {
        const topo_gpu *g = topo_gpu_at(t, i);
        tern__gpu__init(&gpus[i]);
        gpus[i].index = g->index;
        gpus[i].name = (char *)g->name;
        gpus[i].pci_bus_id = (char *)g->pci_bus_id;
        gpus[i].numa = g->numa;
        gpus[i].memory_mb = g->memory_mb;
        gpus[i].island = g->island;
        gp[i] = &gpus[i];
    }
    for (size_t i = 0; i < topo_nnics(t); i++) {
        const topo_nic *n = topo_nic_at(t, i);
        tern__nic__init(&nics[i]);
        nics[i].name = (char *)n->name;
        nics[i].pci_bus_id = (char *)n->pci_bus_id;
        nics[i].numa = n->numa;
        np[i] = &nics[i];
    }
}

/* Sends a Register with 'info' (the node) or, 'info' NULL, a Heartbeat:
 * both carry the state of every attempt and the notice, if any. */
static void send_state(worker *w, Tern__NodeInfo *info)
{
    Tern__AttemptStatus **st = NULL;
    int nst = worker_status(w, &st);
    if (nst < 0)
        return;
    Tern__Notice nt = TERN__NOTICE__INIT;
    Tern__Notice *notice = notice_msg(w, &nt);
    if (info) {
        Tern__Register reg = TERN__REGISTER__INIT;
        reg.node = info;
        reg.incarnation = w->incarnation;
        reg.n_attempts = (size_t)nst;
        reg.attempts = st;
        reg.notice = notice;
        reg.ack_within_ms = w->opt.fence_after_ms / 3;   /* two lost acks do not fence */
        send_body(w, TERN__ENVELOPE__BODY_REG, &reg);
    } else {
        Tern__Heartbeat hb = TERN__HEARTBEAT__INIT;
        hb.incarnation = w->incarnation;
        hb.n_attempts = (size_t)nst;
        hb.attempts = st;
        hb.notice = notice;
        send_body(w, TERN__ENVELOPE__BODY_HEARTBEAT, &hb);
    }
    worker_status_free(st, nst);
}

void worker_register(worker *w)
{
    const topology *t = w->topo;
    size_t ng = topo_ngpus(t), nn = topo_nnics(t);
    Tern__Gpu *gpus = calloc(ng ? ng : 1, sizeof *gpus);
    Tern__Gpu **gp = calloc(ng ? ng : 1, sizeof *gp);
    Tern__Nic *nics = calloc(nn ? nn : 1, sizeof *nics);
    Tern__Nic **np = calloc(nn ? nn : 1, sizeof *np);
    if (gpus && gp && nics && np) {
        node_devices(t, gpus, gp, nics, np);
        Tern__NodeInfo info = TERN__NODE_INFO__INIT;
        info.name = w->opt.name;
        info.addr = w->opt.addr;
        info.cpus = w->opt.cpus ? w->opt.cpus : topo_npus(t);
        info.cores = topo_ncores(t);
        info.numa_nodes = topo_nnuma(t);
        info.memory_mb = topo_memory_mb(t);
        info.n_gpus = ng;
        info.gpus = gp;
        info.n_nics = nn;
        info.nics = np;
        info.n_labels = w->opt.nlabels;
        info.labels = w->opt.labels;
        info.pid = (uint32_t)getpid();
        send_state(w, &info);
    }
    free(gpus);
    free(gp);
    free(nics);
    free(np);
}

void worker_heartbeat(worker *w)
{
    send_state(w, NULL);
}

void worker_report_exit(worker *w, const wattempt *a, const rank_proc *r)
{
    Tern__RankExit re = TERN__RANK_EXIT__INIT;
    re.job_id = a->job_id;
    re.attempt = a->attempt;
    re.step = a->step;
    re.rank = r->rank;
    re.exit_code = r->exit_code;
    re.node = w->opt.name;
    re.message = (char *)r->message;
    re.fenced = r->fenced;
    re.ckpt_step = worker_ckpt_step(a);
    send_body(w, TERN__ENVELOPE__BODY_RANK_EXIT, &re);
}

void worker_report_started(worker *w, const wattempt *a, uint32_t node_rank,
                           uint32_t master_port)
{
    Tern__Started st = TERN__STARTED__INIT;
    st.job_id = a->job_id;
    st.attempt = a->attempt;
    st.step = a->step;
    st.node_rank = node_rank;
    st.master_port = master_port;
    st.uid = (uint32_t)runas_uid(&a->ra);
    st.gid = (uint32_t)runas_gid(&a->ra);
    send_body(w, TERN__ENVELOPE__BODY_STARTED, &st);
}

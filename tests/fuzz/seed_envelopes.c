/* Writes the envelope target's seeds: one packed message of each kind, as
 * ternd, tern-worker and tern send them, into DIR/KIND.
 *   build/fuzz/fuzz/seed_envelopes tests/fuzz/corpus/envelope */
#include "common/jobspec.h"
#include "common/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *dir;

static void put(const char *kind, Tern__Envelope *env)
{
    size_t len = tern__envelope__get_packed_size(env);
    unsigned char *buf = malloc(len ? len : 1);
    char path[4096];
    if (!buf)
        exit(1);
    tern__envelope__pack(env, buf);
    snprintf(path, sizeof path, "%s/seed-%s", dir, kind);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
    free(buf);
}

/* The seeds' specs pass validation, so the fuzzer starts past it. */
static void valid(const char *what, const Tern__JobSpec *spec)
{
    char err[512];
    if (jobspec_validate(spec, err, sizeof err) < 0) {
        fprintf(stderr, "seed_envelopes: %s: %s\n", what, err);
        exit(1);
    }
}

#define SEND(kind, field, CASE, msg) do {            \
        Tern__Envelope env;                           \
        wire_init(&env, 7);                           \
        env.body_case = TERN__ENVELOPE__BODY_##CASE;  \
        env.field = (msg);                            \
        put(kind, &env);                              \
    } while (0)

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: seed_envelopes DIR\n");
        return 2;
    }
    dir = argv[1];

    char *args[] = { "python3", "train.py", "--epochs", "3" };
    char *envv[] = { "HOME=/home/ada", "PATH=/usr/bin:/bin", "CUDA_VISIBLE_DEVICES=" };
    Tern__JobSpec spec = TERN__JOB_SPEC__INIT;
    spec.name = "train";
    spec.user = "ada";
    spec.uid = 1000;
    spec.gid = 1000;
    spec.n_argv = 4;
    spec.argv = args;
    spec.n_env = 3;
    spec.env = envv;
    spec.cwd = "/home/ada/run";
    spec.nodes = 2;
    spec.tasks_per_node = 4;
    spec.gpus_per_node = 4;
    spec.cpus_per_task = 8;
    spec.time_limit_s = 3600;
    spec.stdout_pattern = "/home/ada/run/%x-%A_%a-%3t.out";
    spec.stderr_pattern = "/home/ada/run/%j.%N.err";
    spec.max_restarts = 3;
    spec.preemptible = 1;
    spec.priority = -5;
    spec.preempt_signal = 10;
    spec.signal_secs = 90;
    spec.checkpoint_dir = "/ckpt/%j";
    spec.launcher = "direct";
    spec.token = "0123456789abcdef";
    spec.partition = "spot";
    spec.dependency = "afterok:12:13,afterany:14";
    spec.array = "0-15:4,20%2";

    valid("spec", &spec);

    Tern__Error err = TERN__ERROR__INIT;
    err.message = "invalid job: -N 0: a job needs 1 to 100000 nodes";
    SEND("error", error, ERROR, &err);
    Tern__Ok ok = TERN__OK__INIT;
    ok.message = "node001 drained";
    SEND("ok", ok, OK, &ok);

    Tern__SubmitRequest sub = TERN__SUBMIT_REQUEST__INIT;
    sub.spec = &spec;
    SEND("submit", submit, SUBMIT, &sub);
    /* A batch script, with its body. */
    Tern__JobSpec batch = spec;
    static const char script[] = "#!/bin/sh\n#SBATCH -N 2 --array=0-3\nsrun hostname\n";
    batch.batch = 1;
    batch.script.data = (uint8_t *)script;
    batch.script.len = sizeof script - 1;
    batch.array = "";
    batch.dependency = "after:3";
    valid("batch spec", &batch);
    Tern__SubmitRequest bsub = TERN__SUBMIT_REQUEST__INIT;
    bsub.spec = &batch;
    SEND("submit-batch", submit, SUBMIT, &bsub);

    Tern__SubmitReply subd = TERN__SUBMIT_REPLY__INIT;
    subd.job_id = 42;
    subd.count = 4;
    SEND("submitted", submitted, SUBMITTED, &subd);

    uint64_t ids[] = { 42, 43 };
    Tern__JobsRequest jq = TERN__JOBS_REQUEST__INIT;
    jq.n_job_ids = 2;
    jq.job_ids = ids;
    jq.all = 1;
    jq.limit = 100;
    SEND("jobs-query", jobs_query, JOBS_QUERY, &jq);

    char *names[] = { "node001", "node002" };
    Tern__AttemptInfo ai = TERN__ATTEMPT_INFO__INIT;
    ai.attempt = 1;
    ai.state = "R";
    ai.n_nodes = 2;
    ai.nodes = names;
    ai.start_ms = 1700000000000;
    ai.node_hours = 1.5;
    ai.cost = 2.25;
    Tern__AttemptInfo *ais[] = { &ai };
    Tern__JobInfo ji = TERN__JOB_INFO__INIT;
    ji.id = 42;
    ji.spec = &spec;
    ji.state = "R";
    ji.reason = "None";
    ji.attempt = 1;
    ji.n_node_names = 2;
    ji.node_names = names;
    ji.master_addr = "10.0.0.1";
    ji.master_port = 29500;
    ji.failed_rank = -1;
    ji.n_attempts = 1;
    ji.attempts = ais;
    ji.progress = -1;
    Tern__JobInfo *jis[] = { &ji };
    Tern__JobsReply jr = TERN__JOBS_REPLY__INIT;
    jr.n_jobs = 1;
    jr.jobs = jis;
    SEND("jobs", jobs, JOBS, &jr);

    Tern__CancelRequest cr = TERN__CANCEL_REQUEST__INIT;
    cr.n_job_ids = 2;
    cr.job_ids = ids;
    SEND("cancel", cancel, CANCEL, &cr);
    char *errs[] = { "job 43: already finished" };
    Tern__CancelReply cd = TERN__CANCEL_REPLY__INIT;
    cd.n_errors = 1;
    cd.errors = errs;
    SEND("cancelled", cancelled, CANCELLED, &cd);

    Tern__WaitRequest wr = TERN__WAIT_REQUEST__INIT;
    wr.job_id = 42;
    wr.max_wait_ms = 30000;
    SEND("wait", wait, WAIT, &wr);
    Tern__NodesRequest nq = TERN__NODES_REQUEST__INIT;
    SEND("nodes-query", nodes_query, NODES_QUERY, &nq);

    Tern__Gpu g0 = TERN__GPU__INIT, g1 = TERN__GPU__INIT;
    g0.index = 0;
    g0.name = "NVIDIA H100 80GB HBM3";
    g0.pci_bus_id = "0000:18:00.0";
    g0.memory_mb = 81559;
    g1 = g0;
    g1.index = 1;
    g1.pci_bus_id = "0000:2a:00.0";
    g1.numa = 1;
    g1.island = 1;
    Tern__Gpu *gpus[] = { &g0, &g1 };
    Tern__Nic nic = TERN__NIC__INIT;
    nic.name = "mlx5_0";
    nic.pci_bus_id = "0000:1a:00.0";
    Tern__Nic *nics[] = { &nic };
    char *labels[] = { "rack=r3", "partition=gpu,batch", "price=0.92" };
    uint64_t jobs[] = { 42 };
    Tern__NodeInfo ni = TERN__NODE_INFO__INIT;
    ni.name = "node001";
    ni.addr = "10.0.0.1";
    ni.cpus = 96;
    ni.cores = 48;
    ni.numa_nodes = 2;
    ni.memory_mb = 1024 * 1024;
    ni.n_gpus = 2;
    ni.gpus = gpus;
    ni.n_nics = 1;
    ni.nics = nics;
    ni.n_labels = 3;
    ni.labels = labels;
    ni.state = "UP";
    ni.cpus_used = 32;
    ni.gpus_used = 2;
    ni.n_jobs = 1;
    ni.jobs = jobs;
    ni.pid = 4242;
    Tern__NodeInfo *nis[] = { &ni };
    Tern__NodesReply nr = TERN__NODES_REPLY__INIT;
    nr.n_nodes = 1;
    nr.nodes = nis;
    SEND("nodes", nodes, NODES, &nr);

    Tern__NodeCommand nc = TERN__NODE_COMMAND__INIT;
    nc.node = "node[001-004]";
    nc.command = "preempt";
    nc.reason = "maintenance";
    nc.notice_s = 120;
    SEND("node-command", node_command, NODE_COMMAND, &nc);

    char *nodelist[] = { "node001", "node[002-003]" };
    Tern__JobSpec stepspec = TERN__JOB_SPEC__INIT;
    stepspec.n_argv = 1;
    stepspec.argv = args;
    stepspec.cwd = "/home/ada/run";
    stepspec.nodes = 2;
    stepspec.tasks_per_node = 1;
    stepspec.cpus_per_task = 1;
    stepspec.stdout_pattern = "/home/ada/run/step-%t.out";
    stepspec.slurm_env = 1;
    valid("step spec", &stepspec);
    Tern__StepRequest sr = TERN__STEP_REQUEST__INIT;
    sr.job_id = 42;
    sr.attempt = 1;
    sr.spec = &stepspec;
    sr.n_nodelist = 2;
    sr.nodelist = nodelist;
    SEND("step", step, STEP, &sr);
    Tern__StepQuery sq = TERN__STEP_QUERY__INIT;
    sq.job_id = 42;
    sq.attempt = 1;
    sq.step = 2;
    SEND("step-query", step_query, STEP_QUERY, &sq);
    Tern__StepInfo si = TERN__STEP_INFO__INIT;
    si.step = 2;
    si.done = 1;
    si.exit_code = 1;
    si.message = "rank 3: exec: No such file or directory";
    SEND("step-info", step_info, STEP_INFO, &si);

    Tern__RankStatus rs0 = TERN__RANK_STATUS__INIT, rs1 = TERN__RANK_STATUS__INIT;
    rs0.rank = 0;
    rs0.running = 1;
    rs1.rank = 1;
    rs1.exit_code = 137;
    rs1.fenced = 1;
    Tern__RankStatus *rss[] = { &rs0, &rs1 };
    Tern__AttemptStatus as = TERN__ATTEMPT_STATUS__INIT;
    as.job_id = 42;
    as.attempt = 1;
    as.n_ranks = 2;
    as.ranks = rss;
    as.progress = 1200;
    Tern__AttemptStatus *ass[] = { &as };
    Tern__Notice notice = TERN__NOTICE__INIT;
    notice.deadline_ms = 1700000120000;
    notice.source = "aws";
    Tern__Register reg = TERN__REGISTER__INIT;
    reg.node = &ni;
    reg.incarnation = 0x1234567890abcdefull;
    reg.n_attempts = 1;
    reg.attempts = ass;
    reg.notice = &notice;
    reg.ack_within_ms = 3000;
    SEND("register", reg, REG, &reg);
    Tern__Registered regd = TERN__REGISTERED__INIT;
    regd.scheduler_incarnation = 99;
    regd.heartbeat_ms = 1000;
    SEND("registered", registered, REGISTERED, &regd);
    Tern__Heartbeat hb = TERN__HEARTBEAT__INIT;
    hb.incarnation = 0x1234567890abcdefull;
    hb.n_attempts = 1;
    hb.attempts = ass;
    hb.notice = &notice;
    SEND("heartbeat", heartbeat, HEARTBEAT, &hb);
    Tern__AttemptRef ref = TERN__ATTEMPT_REF__INIT;
    ref.job_id = 41;
    ref.attempt = 2;
    Tern__AttemptRef *refs[] = { &ref };
    Tern__HeartbeatAck ack = TERN__HEARTBEAT_ACK__INIT;
    ack.scheduler_incarnation = 99;
    ack.reregister = 1;
    ack.n_forget = 1;
    ack.forget = refs;
    SEND("heartbeat-ack", heartbeat_ack, HEARTBEAT_ACK, &ack);

    uint32_t lgpus[] = { 0, 1, 2, 3 };
    Tern__Launch launch = TERN__LAUNCH__INIT;
    launch.job_id = 42;
    launch.attempt = 1;
    launch.spec = &spec;
    launch.node_rank = 1;
    launch.nnodes = 2;
    launch.master_addr = "10.0.0.1";
    launch.master_port = 29500;
    launch.n_gpus = 4;
    launch.gpus = lgpus;
    launch.job_dir = "/var/lib/tern/jobs/42";
    launch.n_node_names = 2;
    launch.node_names = names;
    launch.kill_wait_ms = 10000;
    launch.client_port = 7817;
    SEND("launch", launch, LAUNCH, &launch);

    Tern__RankExit re = TERN__RANK_EXIT__INIT;
    re.job_id = 42;
    re.attempt = 1;
    re.rank = 5;
    re.exit_code = 139;
    re.node = "node002";
    re.message = "killed by SIGSEGV";
    SEND("rank-exit", rank_exit, RANK_EXIT, &re);
    Tern__Kill kill = TERN__KILL__INIT;
    kill.job_id = 42;
    kill.attempt = 1;
    kill.signal = 15;
    kill.grace_ms = 10000;
    kill.reason = "cancelled by ada";
    SEND("kill", kill, KILL, &kill);
    Tern__Signal sig = TERN__SIGNAL__INIT;
    sig.job_id = 42;
    sig.attempt = 1;
    sig.signal = 10;
    SEND("signal", signal, SIGNAL, &sig);
    SEND("notice", notice, NOTICE, &notice);

    /* What the version check refuses: another version, no body. */
    Tern__Envelope env;
    wire_init(&env, 8);
    env.version = 2;
    env.body_case = TERN__ENVELOPE__BODY_SUBMIT;
    env.submit = &sub;
    put("submit-v2", &env);
    wire_init(&env, 9);
    put("no-body", &env);
    return 0;
}

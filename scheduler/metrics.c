/* ternd's /metrics: the snapshot the loop builds, and the counters and
 * histograms the hooks feed. */
#include "scheduler/metrics.h"

#include "common/clock.h"
#include "common/log.h"
#include "common/promhttp.h"
#include "common/promtext.h"
#include "scheduler/nodes.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REBUILD_MS 1000

/* What the hooks observe: restored when a turn is rolled back. */
typedef struct observed {
    promhist queue_wait;
    uint64_t preemptions;
} observed;

struct metrics {
    promhttp *http;
    observed cur, saved;
    bool saved_valid;              /* 'saved' holds the state at the turn's start */
    promhist pass;                 /* time spent is spent, whatever the commit */
    int64_t next_build;            /* monotonic ms */
};

/* Seconds: from an immediate start to a day in the queue. */
static const double queue_wait_le[] = {
    0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400,
};
/* Seconds: a pass over a few jobs takes microseconds; one over 100,000
 * pending jobs on 10,000 nodes, a good part of a second. */
static const double pass_le[] = {
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
};

/* 'tern nodes' states, as label values. */
static const char *const node_states[] = { "UP", "DOWN", "DRAIN", "PREEMPTING", "UNKNOWN" };
#define NODE_STATES (sizeof node_states / sizeof node_states[0])

static void lower(const char *in, char *out, size_t len)
{
    size_t i = 0;
    for (; in[i] && i + 1 < len; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[i] = '\0';
}

static void state_samples(promtext *t, const char *name, const char *state, double v)
{
    char labels[64] = "", low[32];
    lower(state, low, sizeof low);
    promtext_label(labels, sizeof labels, "state", low);
    promtext_sample(t, name, labels, v);
}

/* One walk over the jobs and one over the nodes. */
static char *snapshot(const sched *s, const struct metrics *m, size_t *len)
{
    uint64_t jobs[JOB_STATE_COUNT] = { 0 }, submitted = 0, restarts = 0;
    for (size_t i = 0; i < s->njobs; i++) {
        const job *j = s->jobs[i];
        if (!j)
            continue;
        submitted++;
        restarts += j->restarts;
        if ((unsigned)j->state < JOB_STATE_COUNT)
            jobs[j->state]++;
    }
    uint64_t nodes[NODE_STATES] = { 0 }, gpus = 0, gpus_used = 0, cpus = 0, cpus_used = 0;
    for (size_t i = 0; i < s->nnodes; i++) {
        const node *n = s->nodes[i];
        const char *st = node_display_state(n);
        size_t k = 0;
        while (k < NODE_STATES - 1 && strcmp(st, node_states[k]) != 0)
            k++;
        nodes[k]++;
        if (!node_usable(n))
            continue;
        uint32_t ng = node_gpus(n), nc = node_cpus(n);
        gpus += ng;
        for (uint32_t g = 0; g < ng; g++)
            gpus_used += n->gpu_used[g];
        cpus += nc;
        cpus_used += n->cpus_used < nc ? n->cpus_used : nc;
    }

    promtext t;
    promtext_init(&t);
    promtext_family(&t, "tern_jobs", "gauge", "Jobs by state (as tern queue shows them).");
    for (int st = 0; st < JOB_STATE_COUNT; st++)
        state_samples(&t, "tern_jobs", job_state_name((enum job_state)st), (double)jobs[st]);
    promtext_family(&t, "tern_nodes", "gauge", "Nodes by state (as tern nodes shows them).");
    for (size_t k = 0; k < NODE_STATES; k++)
        state_samples(&t, "tern_nodes", node_states[k], (double)nodes[k]);
    promtext_family(&t, "tern_gpus", "gauge",
                    "GPUs of the usable nodes (up, registered, not drained): allocated to "
                    "running jobs, or free.");
    state_samples(&t, "tern_gpus", "allocated", (double)gpus_used);
    state_samples(&t, "tern_gpus", "free", (double)(gpus - gpus_used));
    promtext_family(&t, "tern_cpus", "gauge",
                    "CPUs of the usable nodes (up, registered, not drained): allocated to "
                    "running jobs, or free.");
    state_samples(&t, "tern_cpus", "allocated", (double)cpus_used);
    state_samples(&t, "tern_cpus", "free", (double)(cpus - cpus_used));
    promtext_family(&t, "tern_jobs_submitted_total", "counter",
                    "Jobs submitted (each array task counts), as the state database holds them.");
    promtext_sample(&t, "tern_jobs_submitted_total", NULL, (double)submitted);
    promtext_family(&t, "tern_job_restarts_total", "counter",
                    "Restarts counted against --max-restarts (node failures, requeues asked "
                    "without a warning), summed over the jobs.");
    promtext_sample(&t, "tern_job_restarts_total", NULL, (double)restarts);
    promtext_family(&t, "tern_job_preemptions_total", "counter",
                    "Attempts that ended preempted (spot notice, tern preempt, a higher "
                    "priority job) since ternd started.");
    promtext_sample(&t, "tern_job_preemptions_total", NULL, (double)m->cur.preemptions);
    promtext_histogram(&t, "tern_queue_wait_seconds",
                       "From submission to the start of each attempt, since ternd started.",
                       &m->cur.queue_wait);
    promtext_histogram(&t, "tern_schedule_pass_seconds",
                       "Time of one scheduling pass, since ternd started.", &m->pass);
    return promtext_finish(&t, len);
}

static void publish(sched *s)
{
    size_t len = 0;
    char *text = snapshot(s, s->metrics, &len);
    if (!text) {
        log_warn("metrics: out of memory; serving the previous snapshot");
        return;
    }
    promhttp_publish(s->metrics->http, text, len);
}

int metrics_start(sched *s)
{
    if (!s->opt.metrics_addr)
        return 0;
    struct metrics *m = calloc(1, sizeof *m);
    if (!m) {
        log_err("cannot serve metrics: out of memory");
        return -1;
    }
    char err[512];
    if (!(m->http = promhttp_start(s->opt.metrics_addr, err, sizeof err))) {
        log_err("cannot serve metrics on %s", err);
        free(m);
        return -1;
    }
    promhist_init(&m->cur.queue_wait, queue_wait_le, sizeof queue_wait_le / sizeof *queue_wait_le);
    promhist_init(&m->pass, pass_le, sizeof pass_le / sizeof *pass_le);
    s->metrics = m;
    log_info("serving metrics on %s", promhttp_url(m->http));
    return 0;
}

const char *metrics_url(const sched *s)
{
    return s->metrics ? promhttp_url(s->metrics->http) : NULL;
}

void metrics_stop(sched *s)
{
    if (!s->metrics)
        return;
    promhttp_stop(&s->metrics->http);
    free(s->metrics);
    s->metrics = NULL;
}

void metrics_tick(sched *s, int64_t now)
{
    if (!s->metrics || now < s->metrics->next_build)
        return;
    publish(s);
    s->metrics->next_build = now + REBUILD_MS;
}

void metrics_turn_begin(sched *s)
{
    if (s->metrics)
        s->metrics->saved_valid = false;
}

void metrics_turn_rollback(sched *s)
{
    struct metrics *m = s->metrics;
    if (m && m->saved_valid)
        m->cur = m->saved;
}

/* Keeps the state the turn began with, once, before its first change. */
static void before_change(struct metrics *m)
{
    if (!m->saved_valid) {
        m->saved = m->cur;
        m->saved_valid = true;
    }
}

void metrics_observe_start(struct metrics *m, const job *j)
{
    before_change(m);
    int64_t wait_ms = j->start_ms - j->submit_ms;
    promhist_observe(&m->cur.queue_wait, wait_ms > 0 ? (double)wait_ms / 1e3 : 0);
}

void metrics_observe_requeue(struct metrics *m, bool preempted)
{
    before_change(m);
    m->cur.preemptions += preempted;
}

void metrics_observe_pass(struct metrics *m, double seconds)
{
    promhist_observe(&m->pass, seconds);
}

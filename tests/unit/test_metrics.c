/* Prometheus metrics: the exposition text (numbers, label escaping,
 * histograms), HOST:PORT parsing, the HTTP endpoint on loopback (the last
 * text published, 404 elsewhere, a port in use refused), and ternd's
 * snapshot of a small model: jobs, nodes, GPUs and CPUs by state, and what
 * the hooks observe, forgotten with a rolled-back turn. */
#include "tests/unit/unit.h"

#include "common/promhttp.h"
#include "common/promtext.h"
#include "scheduler/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- promtext ------------------------------------------------------------- */

static void numbers(void)
{
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        { 0, "0" },          { 3, "3" },          { -2, "-2" },
        { 0.5, "0.5" },      { 0.00025, "0.00025" }, { 1e-05, "1e-05" },
        { 86400, "86400" },  { 1e300, "1e+300" },
        { 1.0 / 3, "0.3333333333333333" }, { 12345678901234.5, "12345678901234.5" },
        { 9007199254740992.0, "9007199254740992" },
    };
    char buf[64];
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        promtext_number(cases[i].v, buf, sizeof buf);
        if (strcmp(buf, cases[i].want) != 0)
            fprintf(stderr, "promtext_number(%.17g) = %s, want %s\n", cases[i].v, buf,
                    cases[i].want);
        CU_ASSERT_STRING_EQUAL(buf, cases[i].want);
        CU_ASSERT_EQUAL(strtod(buf, NULL), cases[i].v);
    }
    promtext_number(1.0 / 0.0, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "+Inf");
    promtext_number(-1.0 / 0.0, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "-Inf");
    promtext_number(0.0 / 0.0, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "NaN");
}

static void labels(void)
{
    char l[64] = "";
    CU_ASSERT_EQUAL(promtext_label(l, sizeof l, "state", "running"), 0);
    CU_ASSERT_STRING_EQUAL(l, "state=\"running\"");
    CU_ASSERT_EQUAL(promtext_label(l, sizeof l, "name", "a\"b\\c\nd"), 0);
    CU_ASSERT_STRING_EQUAL(l, "state=\"running\",name=\"a\\\"b\\\\c\\nd\"");
    /* Too long: nothing added. */
    char before[64];
    strcpy(before, l);
    CU_ASSERT_EQUAL(promtext_label(l, sizeof l, "x", "0123456789012345678901234567890"), -1);
    CU_ASSERT_STRING_EQUAL(l, before);
    char tiny[12] = "";
    CU_ASSERT_EQUAL(promtext_label(tiny, sizeof tiny, "k", "12345678"), -1);
    CU_ASSERT_STRING_EQUAL(tiny, "");
    CU_ASSERT_EQUAL(promtext_label(tiny, sizeof tiny, "k", "1234567"), 0);
    CU_ASSERT_STRING_EQUAL(tiny, "k=\"1234567\"");
}

static void text_and_histogram(void)
{
    static const double le[] = { 0.1, 1, 10, 5 /* not increasing: dropped */ };
    promhist h;
    promhist_init(&h, le, N_ELEMS(le));
    CU_ASSERT_EQUAL(h.nle, 3);
    promhist_observe(&h, 0.05);
    promhist_observe(&h, 0.1);   /* le is inclusive */
    promhist_observe(&h, 2);
    promhist_observe(&h, 100);
    promtext t;
    promtext_init(&t);
    promtext_family(&t, "x_total", "counter", "Things\\done\nso far.");
    promtext_sample(&t, "x_total", NULL, 7);
    promtext_sample(&t, "x_total", "", 8);
    promtext_histogram(&t, "lat_seconds", "Latency.", &h);
    size_t len = 0;
    char *text = promtext_finish(&t, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_EQUAL(len, strlen(text));
    CU_ASSERT_STRING_EQUAL(text,
                           "# HELP x_total Things\\\\done\\nso far.\n"
                           "# TYPE x_total counter\n"
                           "x_total 7\n"
                           "x_total 8\n"
                           "# HELP lat_seconds Latency.\n"
                           "# TYPE lat_seconds histogram\n"
                           "lat_seconds_bucket{le=\"0.1\"} 2\n"
                           "lat_seconds_bucket{le=\"1\"} 2\n"
                           "lat_seconds_bucket{le=\"10\"} 3\n"
                           "lat_seconds_bucket{le=\"+Inf\"} 4\n"
                           "lat_seconds_sum 102.15\n"
                           "lat_seconds_count 4\n");
    free(text);
    CU_ASSERT_PTR_NULL(t.buf);
}

/* ---- promhttp ------------------------------------------------------------- */

static void parse_addr(void)
{
    static const struct {
        const char *in;
        int rc;
        const char *host;
        unsigned port;
    } cases[] = {
        { "127.0.0.1:9400", 0, "127.0.0.1", 9400 },
        { "0.0.0.0:0", 0, "0.0.0.0", 0 },
        { "localhost:65535", 0, "localhost", 65535 },
        { "[::1]:9400", 0, "::1", 9400 },
        { "metrics.example.org:80", 0, "metrics.example.org", 80 },
        { "localhost", -1, NULL, 0 },
        { ":9400", -1, NULL, 0 },
        { "127.0.0.1:", -1, NULL, 0 },
        { "127.0.0.1:65536", -1, NULL, 0 },
        { "127.0.0.1:-1", -1, NULL, 0 },
        { "127.0.0.1:94x", -1, NULL, 0 },
        { "::1:9400", -1, NULL, 0 },
        { "[::1]9400", -1, NULL, 0 },
        { "[]:9400", -1, NULL, 0 },
        { "http://127.0.0.1:9400", -1, NULL, 0 },
        { "a b:1", -1, NULL, 0 },
        { "", -1, NULL, 0 },
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        char host[64] = "unset";
        uint16_t port = 7;
        int rc = promhttp_parse_addr(cases[i].in, host, sizeof host, &port);
        if (rc != cases[i].rc)
            fprintf(stderr, "promhttp_parse_addr('%s') = %d\n", cases[i].in, rc);
        CU_ASSERT_EQUAL(rc, cases[i].rc);
        if (cases[i].rc == 0) {
            CU_ASSERT_STRING_EQUAL(host, cases[i].host);
            CU_ASSERT_EQUAL(port, cases[i].port);
        } else {
            CU_ASSERT_STRING_EQUAL(host, "unset");
            CU_ASSERT_EQUAL(port, 7);
        }
    }
}

/* The port of "http://127.0.0.1:PORT/metrics". */
static int url_port(const char *url)
{
    int port = 0;
    sscanf(url, "http://127.0.0.1:%d/metrics", &port);
    return port;
}

/* Sends 'req' to 127.0.0.1:port and returns the whole reply (caller
 * frees), or NULL. */
static char *http(int port, const char *req)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    struct timeval tv = { .tv_sec = 5 };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char *out = NULL;
    size_t len = 0;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        write(fd, req, strlen(req)) == (ssize_t)strlen(req)) {
        char buf[4096];
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0) {
            char *nb = realloc(out, len + (size_t)n + 1);
            if (!nb)
                break;
            out = nb;
            memcpy(out + len, buf, (size_t)n);
            len += (size_t)n;
            out[len] = '\0';
        }
    }
    close(fd);
    return out;
}

/* The body of GET /metrics. */
static char *get_metrics(int port)
{
    char *reply = http(port, "GET /metrics HTTP/1.0\r\n\r\n");
    char *body = reply ? strstr(reply, "\r\n\r\n") : NULL;
    char *out = body && strncmp(reply, "HTTP/1.1 200", 12) == 0 ? strdup(body + 4) : NULL;
    free(reply);
    return out;
}

static void endpoint(void)
{
    char err[256] = "";
    promhttp *p = promhttp_start("127.0.0.1:0", err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    int port = url_port(promhttp_url(p));
    CU_ASSERT(port > 0);

    char *body = get_metrics(port);
    CU_ASSERT_PTR_NOT_NULL(body);
    CU_ASSERT_STRING_EQUAL(body ? body : "-", "");   /* nothing published yet */
    free(body);
    promhttp_publish(p, strdup("a 1\n"), 4);
    promhttp_publish(p, strdup("b 2\n"), 4);
    body = get_metrics(port);
    CU_ASSERT_STRING_EQUAL(body ? body : "-", "b 2\n");
    free(body);

    char *reply = http(port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(reply);
    CU_ASSERT(strstr(reply, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n") != NULL);
    free(reply);
    reply = http(port, "GET /other HTTP/1.0\r\n\r\n");
    CU_ASSERT(reply && strncmp(reply, "HTTP/1.1 404", 12) == 0);
    free(reply);
    reply = http(port, "DELETE /metrics HTTP/1.0\r\n\r\n");
    CU_ASSERT(reply && strncmp(reply, "HTTP/1.1 405", 12) == 0);
    free(reply);
    reply = http(port, "HEAD /metrics HTTP/1.0\r\n\r\n");
    CU_ASSERT(reply && strncmp(reply, "HTTP/1.1 200", 12) == 0 && !strstr(reply, "b 2"));
    free(reply);

    /* The port is taken now. */
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    CU_ASSERT_PTR_NULL(promhttp_start(addr, err, sizeof err));
    CU_ASSERT(strstr(err, "Address already in use") != NULL);
    CU_ASSERT_PTR_NULL(promhttp_start("256.1.1.1:0", err, sizeof err));
    CU_ASSERT(strstr(err, "256.1.1.1:0: cannot resolve 256.1.1.1") == err);
    CU_ASSERT_PTR_NULL(promhttp_start("nonsense", err, sizeof err));

    promhttp_stop(&p);
    CU_ASSERT_PTR_NULL(p);
    promhttp_stop(&p);
    promhttp_publish(NULL, strdup("x"), 1);   /* freed */
}

/* ---- ternd's snapshot -------------------------------------------------------- */

static node *mknode(sched *s, const char *name, uint32_t cpus, size_t gpus, bool connected)
{
    node *n = calloc(1, sizeof *n);
    Tern__NodeInfo *info = calloc(1, sizeof *info);
    tern__node_info__init(info);
    info->cpus = cpus;
    info->n_gpus = gpus;
    snprintf(n->name, sizeof n->name, "%s", name);
    n->info = info;
    n->connected = connected;
    n->state = NODE_UP;
    s->nodes[s->nnodes++] = n;
    return n;
}

static job *mkjob(sched *s, enum job_state st, uint32_t restarts)
{
    job *j = calloc(1, sizeof *j);
    j->id = s->njobs + 1;
    j->state = st;
    j->restarts = restarts;
    s->jobs[s->njobs++] = j;
    return j;
}

/* The value of the sample line 'line' ("name{labels}") in 'text', or -1. */
static double value(const char *text, const char *line)
{
    size_t l = strlen(line);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, line, l) == 0 && p[l] == ' ')
            return strtod(p + l + 1, NULL);
    return -1;
}

static void snapshot(void)
{
    sched s;
    memset(&s, 0, sizeof s);
    node *nodes[8];
    job *jobs[8];
    s.nodes = nodes;
    s.jobs = jobs;

    node *a = mknode(&s, "a", 8, 4, true);   /* up: 3 GPUs and 5 CPUs used */
    a->gpu_used[0] = a->gpu_used[2] = a->gpu_used[3] = true;
    a->cpus_used = 5;
    mknode(&s, "b", 4, 0, true);             /* up, idle */
    mknode(&s, "c", 8, 8, true)->drained = true;
    mknode(&s, "d", 8, 8, true)->state = NODE_PREEMPTING;
    mknode(&s, "e", 8, 8, true)->state = NODE_DOWN;
    mknode(&s, "f", 8, 8, false);            /* not registered since start */
    mkjob(&s, JOB_RUNNING, 1);
    mkjob(&s, JOB_PENDING, 0);
    s.jobs[s.njobs++] = NULL;                /* a gap */
    mkjob(&s, JOB_PENDING, 2);
    mkjob(&s, JOB_NODE_FAIL, 0);
    mkjob(&s, JOB_COMPLETED, 0);

    s.opt.metrics_addr = "127.0.0.1:0";
    CU_ASSERT_EQUAL_FATAL(metrics_start(&s), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s.metrics);
    int port = url_port(metrics_url(&s));
    metrics_tick(&s, 0);
    char *t = get_metrics(port);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(value(t, "tern_jobs{state=\"running\"}"), 1);
    CU_ASSERT_EQUAL(value(t, "tern_jobs{state=\"pending\"}"), 2);
    CU_ASSERT_EQUAL(value(t, "tern_jobs{state=\"node_fail\"}"), 1);
    CU_ASSERT_EQUAL(value(t, "tern_jobs{state=\"completed\"}"), 1);
    CU_ASSERT_EQUAL(value(t, "tern_jobs{state=\"cancelled\"}"), 0);
    CU_ASSERT_EQUAL(value(t, "tern_nodes{state=\"up\"}"), 2);
    CU_ASSERT_EQUAL(value(t, "tern_nodes{state=\"drain\"}"), 1);
    CU_ASSERT_EQUAL(value(t, "tern_nodes{state=\"preempting\"}"), 1);
    CU_ASSERT_EQUAL(value(t, "tern_nodes{state=\"down\"}"), 1);
    CU_ASSERT_EQUAL(value(t, "tern_nodes{state=\"unknown\"}"), 1);
    CU_ASSERT_EQUAL(value(t, "tern_gpus{state=\"allocated\"}"), 3);
    CU_ASSERT_EQUAL(value(t, "tern_gpus{state=\"free\"}"), 1);
    CU_ASSERT_EQUAL(value(t, "tern_cpus{state=\"allocated\"}"), 5);
    CU_ASSERT_EQUAL(value(t, "tern_cpus{state=\"free\"}"), 7);
    CU_ASSERT_EQUAL(value(t, "tern_jobs_submitted_total"), 5);
    CU_ASSERT_EQUAL(value(t, "tern_job_restarts_total"), 3);
    CU_ASSERT_EQUAL(value(t, "tern_job_preemptions_total"), 0);
    CU_ASSERT_EQUAL(value(t, "tern_queue_wait_seconds_count"), 0);
    free(t);

    /* Hooks: a start after 2 s in the queue, a preemption, a pass. */
    job *j = s.jobs[0];
    j->submit_ms = 1000;
    j->start_ms = 3000;
    metrics_turn_begin(&s);
    metrics_attempt_started(&s, j);
    metrics_requeued(&s, j, true);
    metrics_requeued(&s, j, false);
    metrics_pass(&s, 0.0003);
    /* A turn rolled back: its start and preemption did not happen. */
    metrics_turn_begin(&s);
    metrics_attempt_started(&s, j);
    metrics_requeued(&s, j, true);
    metrics_turn_rollback(&s);
    /* Not rebuilt within the second, then rebuilt. */
    metrics_tick(&s, 500);
    t = get_metrics(port);
    CU_ASSERT_EQUAL(value(t ? t : "", "tern_job_preemptions_total"), 0);
    free(t);
    metrics_tick(&s, 1000);
    t = get_metrics(port);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(value(t, "tern_job_preemptions_total"), 1);
    CU_ASSERT_EQUAL(value(t, "tern_queue_wait_seconds_count"), 1);
    CU_ASSERT_EQUAL(value(t, "tern_queue_wait_seconds_sum"), 2);
    CU_ASSERT_EQUAL(value(t, "tern_queue_wait_seconds_bucket{le=\"1\"}"), 0);
    CU_ASSERT_EQUAL(value(t, "tern_queue_wait_seconds_bucket{le=\"5\"}"), 1);
    CU_ASSERT_EQUAL(value(t, "tern_schedule_pass_seconds_count"), 1);
    CU_ASSERT_EQUAL(value(t, "tern_schedule_pass_seconds_bucket{le=\"0.00025\"}"), 0);
    CU_ASSERT_EQUAL(value(t, "tern_schedule_pass_seconds_bucket{le=\"0.0005\"}"), 1);
    free(t);

    metrics_stop(&s);
    CU_ASSERT_PTR_NULL(s.metrics);
    metrics_stop(&s);
    /* Off: the hooks do nothing. */
    metrics_attempt_started(&s, j);
    metrics_requeued(&s, j, true);
    metrics_pass(&s, 1);
    metrics_tick(&s, 5000);
    CU_ASSERT_PTR_NULL(metrics_url(&s));
    for (size_t i = 0; i < s.nnodes; i++) {
        free(s.nodes[i]->info);
        free(s.nodes[i]);
    }
    for (size_t i = 0; i < s.njobs; i++)
        free(s.jobs[i]);
}

int suite_metrics(void)
{
    static const unit_test tests[] = {
        { "numbers as the format writes them", numbers },
        { "label values escaped", labels },
        { "families, samples, histograms", text_and_histogram },
        { "HOST:PORT", parse_addr },
        { "endpoint on loopback", endpoint },
        { "ternd's snapshot and hooks", snapshot },
        { NULL, NULL },
    };
    return unit_add("metrics", tests);
}

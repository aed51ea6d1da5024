/* tern queue and tern show: jobs as squeue and scontrol show job present
 * them, or as JSON. */
#include "cli/cli.h"

#include "common/clock.h"
#include "common/jobspec.h"
#include "common/parse.h"

#include <jansson.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t run_secs(const Tern__JobInfo *j)
{
    /* (a requeued job waits with its last attempt's times) */
    if (j->start_ms <= 0 || strcmp(j->state, "PD") == 0)
        return 0;
    int64_t end = j->end_ms > 0 ? j->end_ms : clock_wall_ms();
    return end > j->start_ms ? (uint64_t)(end - j->start_ms) / 1000 : 0;
}

static void nodelist(const Tern__JobInfo *j, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < j->n_node_names && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? "," : "", cli_esc(j->node_names[i]));
}

static json_t *job_json(const Tern__JobInfo *j)
{
    const Tern__JobSpec *s = j->spec;
    json_t *o = json_object(), *argv = json_array(), *nodes = json_array();
    if (!o || !argv || !nodes) {
        json_decref(o);
        json_decref(argv);
        json_decref(nodes);
        return NULL;
    }
    for (size_t i = 0; i < s->n_argv; i++)
        json_array_append_new(argv, cli_json_str(s->argv[i]));
    for (size_t i = 0; i < j->n_node_names; i++)
        json_array_append_new(nodes, cli_json_str(j->node_names[i]));
    json_object_set_new(o, "id", json_integer((json_int_t)j->id));
    json_object_set_new(o, "state", cli_json_str(j->state));
    json_object_set_new(o, "reason", cli_json_str(j->reason));
    json_object_set_new(o, "name", cli_json_str(s->name));
    json_object_set_new(o, "user", cli_json_str(s->user));
    json_object_set_new(o, "exit_code", json_integer(j->exit_code));
    json_object_set_new(o, "attempt", json_integer(j->attempt));
    json_object_set_new(o, "submit_ms", json_integer((json_int_t)j->submit_ms));
    json_object_set_new(o, "start_ms", json_integer((json_int_t)j->start_ms));
    json_object_set_new(o, "end_ms", json_integer((json_int_t)j->end_ms));
    json_object_set_new(o, "run_secs", json_integer((json_int_t)run_secs(j)));
    json_object_set_new(o, "nodes", nodes);
    json_object_set_new(o, "master_addr", cli_json_str(j->master_addr));
    json_object_set_new(o, "master_port", json_integer(j->master_port));
    if (j->failed_rank >= 0) {
        json_object_set_new(o, "failed_rank", json_integer(j->failed_rank));
        json_object_set_new(o, "failed_node", cli_json_str(j->failed_node));
    }
    json_object_set_new(o, "argv", argv);
    json_object_set_new(o, "cwd", cli_json_str(s->cwd));
    json_object_set_new(o, "num_nodes", json_integer(s->nodes));
    json_object_set_new(o, "tasks_per_node", json_integer(s->tasks_per_node));
    json_object_set_new(o, "num_tasks", json_integer(jobspec_world_size(s)));
    json_object_set_new(o, "cpus_per_task", json_integer(s->cpus_per_task));
    json_object_set_new(o, "gpus_per_node", json_integer(s->gpus_per_node));
    json_object_set_new(o, "time_limit_s", json_integer((json_int_t)s->time_limit_s));
    json_object_set_new(o, "priority", json_integer(s->priority));
    json_object_set_new(o, "stdout", cli_json_str(s->stdout_pattern));
    json_object_set_new(o, "stderr", cli_json_str(s->stderr_pattern[0] ? s->stderr_pattern
                                                                       : s->stdout_pattern));
    json_object_set_new(o, "preemptible", json_boolean(s->preemptible));
    json_object_set_new(o, "max_restarts", json_integer(s->max_restarts));
    json_object_set_new(o, "restarts", json_integer(j->restarts));
    json_object_set_new(o, "partition", cli_json_str(s->partition));
    json_object_set_new(o, "dependency", cli_json_str(s->dependency));
    json_object_set_new(o, "est_start_ms", json_integer((json_int_t)j->est_start_ms));
    json_object_set_new(o, "progress", json_integer((json_int_t)j->progress));
    json_t *labels = json_object();
    for (size_t i = 0; labels && i < s->n_labels; i++) {
        const char *eq = strchr(s->labels[i], '=');
        char key[520];
        snprintf(key, sizeof key, "%.*s", eq ? (int)(eq - s->labels[i]) : 0, s->labels[i]);
        json_object_set_new(labels, key, cli_json_str(eq ? eq + 1 : ""));
    }
    json_object_set_new(o, "labels", labels);
    if (j->spec_hash && j->spec_hash[0])
        json_object_set_new(o, "spec_hash", cli_json_str(j->spec_hash));
    if (s->array_job_id) {
        json_object_set_new(o, "array_job_id", json_integer((json_int_t)s->array_job_id));
        json_object_set_new(o, "array_task_id", json_integer(s->array_task_id));
    }
    if (j->n_attempts) {
        json_t *atts = json_array();
        double hours = 0, cost = 0;
        for (size_t i = 0; i < j->n_attempts; i++) {
            const Tern__AttemptInfo *a = j->attempts[i];
            json_t *an = json_array(), *ag = json_array(), *ac = json_array();
            for (size_t k = 0; k < a->n_nodes; k++)
                json_array_append_new(an, cli_json_str(a->nodes[k]));
            for (size_t k = 0; k < a->n_gpus; k++)
                json_array_append_new(ag, cli_json_str(a->gpus[k]));
            for (size_t k = 0; k < a->n_checkpoints; k++)
                json_array_append_new(ac, json_integer((json_int_t)a->checkpoints[k]));
            json_array_append_new(atts, json_pack(
                "{s:I,s:o,s:o,s:o,s:I,s:I,s:i,s:o,s:f,s:f,s:o,s:o,s:o}", "attempt",
                (json_int_t)a->attempt, "state", cli_json_str(a->state), "nodes", an, "gpus", ag,
                "start_ms", (json_int_t)a->start_ms, "end_ms", (json_int_t)a->end_ms,
                "exit_code", a->exit_code, "reason", cli_json_str(a->reason),
                "node_hours", a->node_hours, "cost", a->cost, "checkpoints", ac,
                "uid", a->uid >= 0 ? json_integer(a->uid) : json_null(),
                "gid", a->gid >= 0 ? json_integer(a->gid) : json_null()));
            hours += a->node_hours;
            cost += a->cost;
        }
        json_object_set_new(o, "attempts", atts);
        json_object_set_new(o, "node_hours", json_real(hours));
        json_object_set_new(o, "cost", json_real(cost));
    }
    return o;
}

/* squeue's order: running jobs, then pending ones in the order they will
 * start (priority, then submission), then finished ones; each by id. */
static int state_group(const char *st)
{
    if (strcmp(st, "R") == 0 || strcmp(st, "CG") == 0 || strcmp(st, "PR") == 0)
        return 0;
    return strcmp(st, "PD") == 0 ? 1 : 2;
}

static int queue_order(const void *a, const void *b)
{
    const Tern__JobInfo *x = *(const Tern__JobInfo *const *)a, *y = *(const Tern__JobInfo *const *)b;
    int gx = state_group(x->state), gy = state_group(y->state);
    if (gx != gy)
        return gx - gy;
    if (gx == 1 && x->spec->priority != y->spec->priority)
        return x->spec->priority > y->spec->priority ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static const char queue_usage[] =
    "usage: tern queue [-a|--all] [--json] [--scheduler ENDPOINT]\n"
    "  pending and running jobs as squeue shows them; --all adds finished ones\n";

int cmd_queue(int argc, char **argv)
{
    cli_common co;
    const cli_command cmd = {
        .name = "queue",
        .usage = queue_usage,
        .operands = CLI_NONE,
    };
    int rc = cli_begin(&cmd, argc, argv, &co);
    if (rc >= 0)
        return rc;
    client *c = cli_connect("queue", co.scheduler);
    if (!c)
        return 1;
    /* The listing comes in pages; keep every reply while its jobs are shown. */
    Tern__Envelope **pages = NULL;
    size_t npages = 0, njobs = 0;
    uint64_t after = 0;
    rc = 0;
    do {
        Tern__Envelope *rep = cli_jobs_page(c, "queue", after, co.all);
        Tern__Envelope **np = rep ? realloc(pages, (npages + 1) * sizeof *np) : NULL;
        if (!np) {
            wire_free(rep);
            rc = 1;
            break;
        }
        pages = np;
        pages[npages++] = rep;
        njobs += rep->jobs->n_jobs;
        after = rep->jobs->next_after;
    } while (after);
    client_close(&c);
    const Tern__JobInfo **list = rc ? NULL : calloc(njobs ? njobs : 1, sizeof *list);
    if (!list)
        rc = 1;
    for (size_t p = 0, k = 0; list && p < npages; p++)
        for (size_t i = 0; i < pages[p]->jobs->n_jobs; i++)
            list[k++] = pages[p]->jobs->jobs[i];
    if (list)
        qsort(list, njobs, sizeof *list, queue_order);
    if (list && co.json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < njobs; i++)
            json_array_append_new(arr, job_json(list[i]));
        rc = cli_print_json(json_pack("{s:o}", "jobs", arr));
    } else if (list) {
        printf("%8s %-10s %-12s %-8s %2s %10s %5s %s\n", "JOBID", "ARRAY", "NAME", "USER",
               "ST", "TIME", "NODES", "NODELIST(REASON)");
        for (size_t i = 0; i < njobs; i++) {
            const Tern__JobInfo *j = list[i];
            char t[32], where[1024];
            format_duration(run_secs(j), t, sizeof t);
            if (strcmp(j->state, "PD") == 0)
                snprintf(where, sizeof where, "(%s)", j->reason[0] ? cli_esc(j->reason) : "None");
            else
                nodelist(j, where, sizeof where);
            char arr[32] = "-";
            if (j->spec->array_job_id)
                snprintf(arr, sizeof arr, "%llu_%u", (unsigned long long)j->spec->array_job_id,
                         j->spec->array_task_id);
            printf("%8llu %-10s %-12.12s %-8.8s %2s %10s %5u %s\n", (unsigned long long)j->id,
                   arr, cli_esc(j->spec->name), cli_esc(j->spec->user), cli_esc(j->state), t,
                   j->spec->nodes, where);
        }
    }
    free(list);
    for (size_t p = 0; p < npages; p++)
        wire_free(pages[p]);
    free(pages);
    return rc;
}

static const char show_usage[] =
    "usage: tern show JOB [--json] [--env] [--scheduler ENDPOINT]\n"
    "  everything about one job, as scontrol show job prints it; --env: its\n"
    "  environment too (values only for the job's owner and admins)\n";

/* The job's environment, an entry a line. The scheduler sends the entries
 * of someone else's job (unless we are an admin) as bare names: those are
 * shown as the name alone, and why once. */
static void show_env(const Tern__JobInfo *j)
{
    const Tern__JobSpec *s = j->spec;
    bool hidden = false;
    printf("   Environment:\n");
    for (size_t i = 0; i < s->n_env; i++) {
        printf("     %s\n", cli_esc(s->env[i]));
        hidden |= !strchr(s->env[i], '=');
    }
    if (hidden)
        printf("   (values hidden: job %llu belongs to %s)\n", (unsigned long long)j->id,
               cli_esc(s->user));
}

/* The uid and gid j's ranks ran as, as its newest started attempt's node
 * rank 0 resolved them (never what a client claimed); -1 while unknown. */
static void ran_as(const Tern__JobInfo *j, int64_t *uid, int64_t *gid)
{
    *uid = *gid = -1;
    for (size_t i = j->n_attempts; i-- > 0;) {
        if (j->attempts[i]->uid >= 0) {
            *uid = j->attempts[i]->uid;
            *gid = j->attempts[i]->gid;
            return;
        }
    }
}

/* scontrol's layout. Every string in it came from a user or a node, and is
 * escaped (cli_esc): an argument holding ESC [ 2 J must not clear the screen. */
static void show_text(const Tern__JobInfo *j, bool env)
{
    const Tern__JobSpec *s = j->spec;
    char submit[32], start[32], end[32], run[32], limit[32], nodes[1024];
    cli_time(j->submit_ms, submit, sizeof submit);
    cli_time(j->start_ms, start, sizeof start);
    cli_time(j->end_ms, end, sizeof end);
    format_duration(run_secs(j), run, sizeof run);
    if (s->time_limit_s)
        format_duration(s->time_limit_s, limit, sizeof limit);
    else
        snprintf(limit, sizeof limit, "UNLIMITED");
    nodelist(j, nodes, sizeof nodes);
    printf("JobId=%llu JobName=%s\n", (unsigned long long)j->id, cli_esc(s->name));
    int64_t uid, gid;
    ran_as(j, &uid, &gid);
    if (uid >= 0)
        printf("   UserId=%s(%lld) GroupId=%lld Priority=%d\n", cli_esc(s->user), (long long)uid,
               (long long)gid, s->priority);
    else   /* resolved on the node when it runs */
        printf("   UserId=%s GroupId=- Priority=%d\n", cli_esc(s->user), s->priority);
    printf("   JobState=%s Reason=%s ExitCode=%d Attempt=%u\n", cli_esc(j->state),
           j->reason[0] ? cli_esc(j->reason) : "None", j->exit_code, j->attempt);
    printf("   RunTime=%s TimeLimit=%s\n", run, limit);
    if (strcmp(j->state, "PD") == 0 && j->est_start_ms)
        cli_time(j->est_start_ms, start, sizeof start);   /* the reservation, as scontrol */
    printf("   SubmitTime=%s StartTime=%s EndTime=%s\n", submit, start, end);
    printf("   Partition=%s Dependency=%s", s->partition[0] ? cli_esc(s->partition) : "(any)",
           s->dependency[0] ? cli_esc(s->dependency) : "(null)");
    if (s->array_job_id)
        printf(" ArrayJobId=%llu ArrayTaskId=%u ArrayTaskThrottle=%u",
               (unsigned long long)s->array_job_id, s->array_task_id, s->array_limit);
    printf("\n");
    printf("   NumNodes=%u NumTasks=%u TasksPerNode=%u CPUsPerTask=%u GPUsPerNode=%u\n",
           s->nodes, jobspec_world_size(s), s->tasks_per_node, s->cpus_per_task,
           s->gpus_per_node);
    printf("   NodeList=%s", nodes[0] ? nodes : "(null)");
    if (j->master_port)
        printf(" Master=%s:%u", cli_esc(j->master_addr), j->master_port);
    printf("\n");
    if (j->failed_rank >= 0)
        printf("   FailedRank=%d FailedNode=%s\n", j->failed_rank, cli_esc(j->failed_node));
    printf("   Command=");
    for (size_t i = 0; i < s->n_argv; i++)
        printf("%s%s", i ? " " : "", cli_esc(s->argv[i]));
    printf("\n   WorkDir=%s\n", cli_esc(s->cwd));
    printf("   StdOut=%s\n   StdErr=%s\n", cli_esc(s->stdout_pattern),
           cli_esc(s->stderr_pattern[0] ? s->stderr_pattern : s->stdout_pattern));
    printf("   Preemptible=%s MaxRestarts=%u Signal=%s@%u Launcher=%s\n",
           s->preemptible ? "yes" : "no", s->max_restarts,
           signal_name(s->preempt_signal ? s->preempt_signal : SIGUSR1), s->signal_secs,
           cli_esc(s->launcher));
    printf("   Restarts=%u (of MaxRestarts; preemptions with a warning are free)\n", j->restarts);
    if (j->progress >= 0)
        printf("   Progress=step %lld (tern_report_step)\n", (long long)j->progress);
    if (s->n_labels || (j->spec_hash && j->spec_hash[0])) {
        printf("   SpecHash=%s Labels=", cli_esc(j->spec_hash));
        for (size_t i = 0; i < s->n_labels; i++)
            printf("%s%s", i ? "," : "", cli_esc(s->labels[i]));
        printf("\n");
    }
    double hours = 0, cost = 0;
    for (size_t i = 0; i < j->n_attempts; i++) {
        const Tern__AttemptInfo *a = j->attempts[i];
        char start[32], nodes[512] = "";
        cli_time(a->start_ms, start, sizeof start);
        for (size_t k = 0, o = 0; k < a->n_nodes && o < sizeof nodes; k++)
            o += (size_t)snprintf(nodes + o, sizeof nodes - o, "%s%s", k ? "," : "",
                                  cli_esc(a->nodes[k]));
        char ck[256] = "";
        for (size_t k = 0, o = 0; k < a->n_checkpoints && o < sizeof ck; k++)
            o += (size_t)snprintf(ck + o, sizeof ck - o, "%s%lld", k ? "," : " Checkpoints=",
                                  (long long)a->checkpoints[k]);
        printf("   Attempt=%u State=%s Start=%s Nodes=%s NodeHours=%.4f Cost=%.4f%s%s%s\n",
               a->attempt, cli_esc(a->state), start, nodes, a->node_hours, a->cost, ck,
               a->reason[0] ? " Reason=" : "", cli_esc(a->reason));
        hours += a->node_hours;
        cost += a->cost;
    }
    if (j->n_attempts)
        printf("   NodeHours=%.4f Cost=%.4f (all attempts)\n", hours, cost);
    if (env)
        show_env(j);
}

static int env_option(int c, const char *arg, void *ctx)
{
    (void)arg;
    (void)c;
    *(bool *)ctx = true;
    return 0;
}

int cmd_show(int argc, char **argv)
{
    static const struct option extra[] = { { "env", no_argument, 0, 'E' }, { 0, 0, 0, 0 } };
    bool env = false;
    cli_common co;
    const cli_command cmd = {
        .name = "show",
        .usage = show_usage,
        .extra = extra,
        .fn = env_option,
        .ctx = &env,
        .operands = CLI_ONE_JOB,
    };
    int rc = cli_begin(&cmd, argc, argv, &co);
    if (rc >= 0)
        return rc;
    uint64_t id = co.job;
    client *c = cli_connect("show", co.scheduler);
    if (!c)
        return 1;
    Tern__Envelope *rep = cli_jobs(c, "show", &id, 1, false);
    client_close(&c);
    if (!rep)
        return 1;
    rc = 0;
    if (co.json) {
        rc = cli_print_json(job_json(rep->jobs->jobs[0]));
    } else {
        show_text(rep->jobs->jobs[0], env);
    }
    wire_free(rep);
    return rc;
}

static const char history_usage[] =
    "usage: tern history [--json] [--env] [--scheduler ENDPOINT] [JOB...]\n"
    "  the audit record of jobs (all when none is named): who submitted what, its spec hash,\n"
    "  labels, command and environment (names; --env: values too, for the jobs' owners\n"
    "  and admins), and every attempt with its nodes and GPUs, times, exit status, how it\n"
    "  ended and the checkpoint steps committed\n";

/* One job's audit record: what 'tern show --json' gives, with the
 * environment's names (values only with --env; null for a value the
 * scheduler did not send: another user's job) and its preemptions. */
static json_t *history_json(const Tern__JobInfo *j, bool env_values)
{
    json_t *o = job_json(j);
    if (!o)
        return NULL;
    json_t *env = env_values ? json_object() : json_array();
    for (size_t i = 0; env && i < j->spec->n_env; i++) {
        const char *kv = j->spec->env[i], *eq = strchr(kv, '=');
        char key[512];
        snprintf(key, sizeof key, "%.*s", eq ? (int)(eq - kv) : (int)strlen(kv), kv);
        if (env_values)
            json_object_set_new(env, key, eq ? cli_json_str(eq + 1) : json_null());
        else
            json_array_append_new(env, cli_json_str(key));
    }
    json_object_set_new(o, "environment", env);
    json_int_t preempted = 0;
    for (size_t i = 0; i < j->n_attempts; i++)
        preempted += strcmp(j->attempts[i]->state, "PR") == 0;
    json_object_set_new(o, "preemptions", json_integer(preempted));
    int64_t uid, gid;
    ran_as(j, &uid, &gid);
    json_object_set_new(o, "uid", uid >= 0 ? json_integer(uid) : json_null());
    json_object_set_new(o, "gid", gid >= 0 ? json_integer(gid) : json_null());
    return o;
}

int cmd_history(int argc, char **argv)
{
    static const struct option extra[] = { { "env", no_argument, 0, 'E' }, { 0, 0, 0, 0 } };
    bool env_values = false;
    cli_common co;
    const cli_command cmd = {
        .name = "history",
        .usage = history_usage,
        .extra = extra,
        .fn = env_option,
        .ctx = &env_values,
        .operands = CLI_ANY_JOBS,
    };
    int rc = cli_begin(&cmd, argc, argv, &co);
    if (rc >= 0)
        return rc;
    uint64_t *ids = co.jobs;
    size_t nids = co.njobs, cap = nids;
    client *c = cli_connect("history", co.scheduler);
    if (!c) {
        free(ids);
        return 1;
    }
    rc = 0;
    /* No job named: every job the scheduler knows, in id order. */
    bool every = nids == 0;
    for (uint64_t after = 0; every && rc == 0;) {
        Tern__Envelope *rep = cli_jobs_page(c, "history", after, true);
        if (!rep) {
            rc = 1;
            break;
        }
        uint64_t *grown = realloc(ids, (cap + rep->jobs->n_jobs + 1) * sizeof *grown);
        if (!grown) {
            wire_free(rep);
            rc = 1;
            break;
        }
        ids = grown;
        cap += rep->jobs->n_jobs;
        for (size_t i = 0; i < rep->jobs->n_jobs; i++)
            ids[nids++] = rep->jobs->jobs[i]->id;
        after = rep->jobs->next_after;
        wire_free(rep);
        if (!after)
            break;
    }
    json_t *arr = co.json ? json_array() : NULL;
    for (size_t i = 0; rc == 0 && i < nids; i++) {
        Tern__Envelope *rep = cli_jobs(c, "history", &ids[i], 1, false);
        if (!rep) {
            rc = 1;
            break;
        }
        if (arr)
            json_array_append_new(arr, history_json(rep->jobs->jobs[0], env_values));
        else
            show_text(rep->jobs->jobs[0], env_values);
        wire_free(rep);
    }
    client_close(&c);
    free(ids);
    if (arr) {
        if (rc == 0)
            rc = cli_print_json(json_pack("{s:o}", "jobs", arr));
        else
            json_decref(arr);
    }
    return rc;
}

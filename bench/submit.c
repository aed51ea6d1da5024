/* bench/submit: durable submissions per second.
 *
 * Every submission is acknowledged only after the SQLite commit (WAL,
 * synchronous=FULL) that holds it; clients keep a window of submissions in
 * flight, so ternd's group commit makes one fsync serve many. Measured: one
 * client and four concurrent clients, 10,000 jobs each run; then 1,000
 * 'tern submit' processes from a shell loop beside 1,000 'sbatch --wrap=true'
 * from the same loop when a SLURM is running here (scripts/bench.sh starts
 * one). After the runs, ternd is killed with -9 and restarted: every
 * acknowledged job must still be there. */
#include "bench/lib/benchlib.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JOBS 10000
#define WINDOW 128

typedef struct run {
    const char *endpoint;
    int jobs, window;
    uint64_t max_id;
} run;

static void *client_thread(void *arg)
{
    run *r = arg;
    bench_client c;
    bench_connect(&c, r->endpoint);
    char *argv[] = { "true", NULL };
    Tern__JobSpec spec;
    bench_spec(&spec, argv, 1, 1);
    int sent = 0, acked = 0;
    while (acked < r->jobs) {
        while (sent < r->jobs && sent - acked < r->window) {
            bench_submit_send(&c, &spec);
            sent++;
        }
        uint64_t id = bench_submit_recv(&c);
        if (id > r->max_id)
            r->max_id = id;
        acked++;
    }
    bench_close(&c);
    return NULL;
}

/* Submits 'total' jobs from 'nclients' clients; returns jobs per second. */
static double measure(const char *endpoint, int nclients, int total, int window,
                      uint64_t *max_id)
{
    pthread_t th[16];
    run runs[16];
    double t0 = bench_now();
    for (int i = 0; i < nclients; i++) {
        runs[i] = (run){ endpoint, total / nclients, window, 0 };
        pthread_create(&th[i], NULL, client_thread, &runs[i]);
    }
    for (int i = 0; i < nclients; i++) {
        pthread_join(th[i], NULL);
        if (runs[i].max_id > *max_id)
            *max_id = runs[i].max_id;
    }
    return total / (bench_now() - t0);
}

int main(void)
{
    bench_cluster bc;
    bench_up(&bc, 0, 0);
    uint64_t max_id = 0;
    double one = measure(bc.scheduler, 1, JOBS, WINDOW, &max_id);
    double four = measure(bc.scheduler, 4, JOBS, WINDOW, &max_id);
    double sync1 = measure(bc.scheduler, 1, 2000, 1, &max_id);

    char cmd[65536];
    int cli_jobs = 1000;
    snprintf(cmd, sizeof cmd,
             "cd /tmp && for i in $(seq %d); do %s/tern submit --scheduler %s -J cli true "
             ">/dev/null || exit 1; done", cli_jobs, bc.bindir, bc.scheduler);
    double cli_secs = bench_shell(cmd);
    double cli = cli_secs > 0 ? cli_jobs / cli_secs : 0;
    max_id += cli_secs > 0 ? (uint64_t)cli_jobs : 0;

    double sbatch = 0;
    if (bench_slurm()) {
        /* Held jobs: the submission path alone, as for tern (no workers). */
        snprintf(cmd, sizeof cmd, "cd /tmp && for i in $(seq %d); do sbatch -Q -H --wrap=true "
                 ">/dev/null || exit 1; done; scancel -u root >/dev/null 2>&1; true", cli_jobs);
        double s = bench_shell(cmd);
        sbatch = s > 0 ? cli_jobs / s : 0;
    }

    /* Durability: kill -9, restart on the same state, the last acked job is there. */
    snprintf(cmd, sizeof cmd,
             "kill -9 $(cat %s/ternd.pid); sleep 0.3; "
             "%s/ternd --state %s/state.db --client tcp://127.0.0.1:0 --worker tcp://127.0.0.1:0 "
             "--key %s/keys/server.key --authorized-keys %s/keys/authorized_keys "
             "--endpoints-file %s/ep2 --log-level warn >>%s/ternd.log 2>&1 & "
             "echo $! > %s/ternd.pid; "
             "for i in $(seq 1500); do [ -s %s/ep2 ] && break; sleep 0.02; done; "
             "%s/tern show --scheduler $(sed -n 's/^client=//p' %s/ep2) %llu >/dev/null",
             bc.dir, bc.bindir, bc.dir, bc.dir, bc.dir, bc.dir, bc.dir, bc.dir, bc.dir,
             bc.bindir, bc.dir, (unsigned long long)max_id);
    double restart = bench_shell(cmd);
    bool durable = restart >= 0;

    printf("%-44s %12s\n", "submission path", "jobs/s");
    printf("%-44s %12.0f\n", "1 client, 128 in flight, 10,000 jobs", one);
    printf("%-44s %12.0f\n", "4 clients, 128 in flight each, 10,000 jobs", four);
    printf("%-44s %12.0f\n", "1 client, one at a time, 2,000 jobs", sync1);
    printf("%-44s %12.0f\n", "1,000 'tern submit' from a shell loop", cli);
    if (sbatch > 0)
        printf("%-44s %12.0f\n", "1,000 'sbatch --wrap=true' from a shell loop", sbatch);
    else
        printf("%-44s %12s\n", "sbatch (no SLURM running here)", "-");
    printf("after kill -9 and restart (%.1f s to reload), last acknowledged job %llu "
           "present: %s\n", restart, (unsigned long long)max_id, durable ? "yes" : "NO");
    bench_headline("submit_rate", one, "jobs/s", NULL, 0);
    bench_headline("submit_rate_4clients", four, "jobs/s", NULL, 0);
    bench_headline("submit_cli_rate", cli, "jobs/s", sbatch > 0 ? "sbatch" : NULL, sbatch);
    bench_down(&bc);
    return durable ? 0 : 1;
}

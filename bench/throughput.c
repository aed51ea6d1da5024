/* bench/throughput: 1,000 trivial one-rank jobs from submit to all
 * completed on two local workers, beside SLURM running trivial batch jobs
 * on the same machine (fewer of them: SLURM takes seconds per job here). */
#include "bench/lib/benchlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JOBS 1000
#define WINDOW 128
#define SLURM_JOBS 100

static double ternd_cpu, workers_cpu;

static double tern_rate(void)
{
    bench_cluster bc;
    /* Trivial jobs take a CPU each for a moment: offer 16 per worker. */
    bench_up(&bc, 2, 16);
    bench_client c;
    bench_connect(&c, bc.scheduler);
    char *argv[] = { "true", NULL };
    Tern__JobSpec spec;
    bench_spec(&spec, argv, 1, 1);
    static uint64_t ids[JOBS];
    double t0 = bench_now();
    int sent = 0, acked = 0;
    while (acked < JOBS) {
        while (sent < JOBS && sent - acked < WINDOW) {
            bench_submit_send(&c, &spec);
            sent++;
        }
        ids[acked++] = bench_submit_recv(&c);
    }
    int failed = 0;
    for (int i = 0; i < JOBS; i++)
        failed += bench_wait(&c, ids[i]) != 0;
    double secs = bench_now() - t0;
    bench_cluster_cpu(&bc, &ternd_cpu, &workers_cpu);
    bench_close(&c);
    bench_down(&bc);
    if (failed) {
        fprintf(stderr, "bench: %d jobs failed\n", failed);
        exit(1);
    }
    return JOBS / secs;
}

static double slurm_rate(void)
{
    if (!bench_slurm())
        return 0;
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "cd /tmp && for i in $(seq %d); do sbatch -Q -o /dev/null --wrap=true || exit 1; "
             "done && for i in $(seq 3000); do [ -z \"$(squeue -h -o %%i)\" ] && exit 0; "
             "sleep 0.1; done; exit 1", SLURM_JOBS);
    double secs = bench_shell(cmd);
    return secs > 0 ? SLURM_JOBS / secs : 0;
}

int main(void)
{
    double tern = tern_rate();
    double slurm = slurm_rate();
    printf("%-52s %10s\n", "trivial jobs, submit -> all completed", "jobs/s");
    printf("%-52s %10.1f\n", "tern, 1,000 jobs, 2 local workers", tern);
    printf("    CPU used: ternd %.2f s, workers and ranks %.2f s\n", ternd_cpu, workers_cpu);
    if (slurm > 0)
        printf("%-52s %10.1f\n", "SLURM sbatch --wrap=true, 100 jobs, same machine", slurm);
    else
        printf("%-52s %10s\n", "SLURM (not running here)", "-");
    bench_headline("trivial_job_rate", tern, "jobs/s", slurm > 0 ? "slurm" : NULL, slurm);
    return 0;
}

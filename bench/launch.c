/* bench/launch: from submit to all ranks running, for a 2-node x 2-rank
 * job on two local workers, beside srun -N1 -n2 and mpirun -np 2 (and
 * sbatch submit -> start) on the same machine when they are here.
 *
 * Each rank is this program run as "bench-launch stamp DIR": it writes the
 * wall clock into DIR/<rank> and exits. Latency = the latest rank's stamp
 * minus the moment the submission (or the peer command) began. */
#include "bench/lib/benchlib.h"
#include "common/fsutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RUNS 200
#define PEER_RUNS 40
#define SBATCH_RUNS 15

static int stamp(const char *dir)
{
    const char *r = getenv("RANK");
    if (!r) r = getenv("SLURM_PROCID");
    if (!r) r = getenv("OMPI_COMM_WORLD_RANK");
    if (!r) r = "0";
    char path[FS_SUBPATH_LEN];
    snprintf(path, sizeof path, "%s/%s", dir, r);
    FILE *f = fopen(path, "w");
    if (!f)
        return 1;
    fprintf(f, "%lld\n", (long long)bench_wall_ns());
    return fclose(f) ? 1 : 0;
}

/* The latest stamp of 'n' ranks in dir, waiting up to 60 s for them. */
static int64_t latest(const char *dir, int n)
{
    int64_t max = 0;
    double until = bench_now() + 60;
    for (int r = 0; r < n; r++) {
        char path[FS_SUBPATH_LEN];
        snprintf(path, sizeof path, "%s/%d", dir, r);
        long long v = 0;
        for (;;) {
            FILE *f = fopen(path, "r");
            int got = f ? fscanf(f, "%lld", &v) : 0;
            if (f)
                fclose(f);
            if (got == 1)
                break;
            if (bench_now() > until) {
                fprintf(stderr, "bench: no stamp %s\n", path);
                exit(1);
            }
            usleep(1000);
        }
        if (v > max)
            max = v;
    }
    return max;
}

static void fresh_dir(char *dir, size_t len, const char *base, int i)
{
    snprintf(dir, len, "%s/run%d", base, i);
    mkdir(dir, 0755);
}

/* Runs a peer command 'runs' times; fills ms[]; returns how many ran. */
static int peer(const char *base, const char *name, char *const tmpl[], int ranks, int runs,
                double *ms)
{
    int ok = 0;
    for (int i = 0; i < runs; i++) {
        char dir[FS_SUBPATH_LEN], *argv[32];
        fresh_dir(dir, sizeof dir, base, 100000 + i);
        int k = 0;
        for (; tmpl[k]; k++)
            argv[k] = strcmp(tmpl[k], "DIR") == 0 ? dir : tmpl[k];
        argv[k] = NULL;
        int64_t t0 = bench_wall_ns();
        if (bench_run(argv) != 0) {
            fprintf(stderr, "bench: %s failed; leaving it out\n", name);
            return 0;
        }
        ms[ok++] = (double)(latest(dir, ranks) - t0) / 1e6;
    }
    return ok;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "stamp") == 0)
        return stamp(argv[2]);
    bench_cluster bc;
    bench_up(&bc, 2, 2);
    char base[] = "/tmp/tern-launch.XXXXXX";
    if (!mkdtemp(base))
        return 1;
    bench_client c;
    bench_connect(&c, bc.scheduler);
    static double tern_ms[RUNS], srun_ms[PEER_RUNS], mpi_ms[PEER_RUNS], sb_ms[SBATCH_RUNS];
    for (int i = -5; i < RUNS; i++) {   /* 5 warm-up runs */
        char dir[FS_SUBPATH_LEN];
        fresh_dir(dir, sizeof dir, base, i + 5);
        char *args[] = { (char *)bench_self(), "stamp", dir, NULL };
        Tern__JobSpec spec;
        bench_spec(&spec, args, 2, 2);
        int64_t t0 = bench_wall_ns();
        bench_submit_send(&c, &spec);
        uint64_t id = bench_submit_recv(&c);
        int64_t t = latest(dir, 4);
        if (bench_wait(&c, id) != 0) {
            fprintf(stderr, "bench: job %llu failed\n", (unsigned long long)id);
            return 1;
        }
        if (i >= 0)
            tern_ms[i] = (double)(t - t0) / 1e6;
    }
    bench_close(&c);
    bench_down(&bc);

    int nsrun = 0, nmpi = 0, nsb = 0;
    if (bench_slurm()) {
        char *srun[] = { "srun", "-N1", "-n2", (char *)bench_self(), "stamp", "DIR", NULL };
        nsrun = peer(base, "srun", srun, 2, PEER_RUNS, srun_ms);
        /* sbatch returns at submission; the stamp says when the job began. */
        char wrap[8400];
        for (int i = 0; i < SBATCH_RUNS; i++) {
            char dir[FS_SUBPATH_LEN];
            fresh_dir(dir, sizeof dir, base, 200000 + i);
            snprintf(wrap, sizeof wrap, "%s stamp %s", bench_self(), dir);
            char *sb[] = { "sbatch", "-Q", "-o", "/dev/null", "--wrap", wrap, NULL };
            int64_t t0 = bench_wall_ns();
            if (bench_run(sb) != 0)
                break;
            sb_ms[nsb++] = (double)(latest(dir, 1) - t0) / 1e6;
        }
    }
    if (bench_have("mpirun")) {
        char *mpi[] = { "mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "2",
                        (char *)bench_self(), "stamp", "DIR", NULL };
        nmpi = peer(base, "mpirun", mpi, 2, PEER_RUNS, mpi_ms);
    }
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", base);
    if (system(cmd) != 0)
        fprintf(stderr, "bench: could not remove %s\n", base);

    printf("%-40s %6s %10s %10s\n", "submit -> all ranks running", "runs", "p50 ms", "p99 ms");
    double p50 = bench_percentile(tern_ms, RUNS, 50), p99 = bench_percentile(tern_ms, RUNS, 99);
    printf("%-40s %6d %10.2f %10.2f\n", "tern 2 nodes x 2 ranks", RUNS, p50, p99);
    double s50 = 0, s99 = 0;
    if (nsrun) {
        s50 = bench_percentile(srun_ms, (size_t)nsrun, 50);
        s99 = bench_percentile(srun_ms, (size_t)nsrun, 99);
        printf("%-40s %6d %10.2f %10.2f\n", "srun -N1 -n2 (SLURM here)", nsrun, s50, s99);
    } else {
        printf("%-40s %6s %10s %10s\n", "srun (no SLURM running here)", "-", "-", "-");
    }
    if (nsb)
        printf("%-40s %6d %10.2f %10.2f\n", "sbatch submit -> start", nsb,
               bench_percentile(sb_ms, (size_t)nsb, 50), bench_percentile(sb_ms, (size_t)nsb, 99));
    if (nmpi)
        printf("%-40s %6d %10.2f %10.2f\n", "mpirun -np 2 (Open MPI)", nmpi,
               bench_percentile(mpi_ms, (size_t)nmpi, 50),
               bench_percentile(mpi_ms, (size_t)nmpi, 99));
    bench_headline("launch_p50", p50, "ms", nsrun ? "srun" : NULL, s50);
    bench_headline("launch_p99", p99, "ms", nsrun ? "srun" : NULL, s99);
    return 0;
}

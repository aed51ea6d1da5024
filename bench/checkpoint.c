/* bench/checkpoint: libtern's sharded save of 1 GiB of state (2 ranks on
 * this machine, 512 MiB each) to a directory on this disk, synchronous and
 * in the background, beside dd writing 1 GiB with O_DIRECT and a final
 * fsync to the same directory in the same run (and two dd's of 512 MiB at
 * once, as the two ranks write). Also the training loop's stall in
 * tern_ckpt_save_async against one memcpy of a rank's state, both ranks
 * copying at the same moment as they would in a save.
 *
 * Directory: TERN_BENCH_DIR, else a new one under /var/tmp. Each figure is
 * the median of three runs; the ranks are this program, forked with the
 * rank environment ("bench-checkpoint rank DIR"), rank 0 printing
 * "FIGURE SECONDS" lines. */
#include "bench/lib/benchlib.h"
#include "common/fsutil.h"
#include "common/netaddr.h"
#include "tern/tern.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#define RANKS 2
#define SHARD ((size_t)512 << 20)
#define RUNS 3

static double median3(double *v)
{
    return bench_percentile(v, RUNS, 50);
}

static void drop_step(tern_comm *c, const char *dir, int step)
{
    char p[4300];
    tern_barrier(c);
    if (tern_comm_rank(c) == 0) {
        snprintf(p, sizeof p, "%s/step-%d", dir, step);
        fs_rm_rf(p);
    }
    tern_barrier(c);
}

static int rank_main(const char *dir)
{
    tern_comm *c;
    tern_ckpt *ck;
    char err[512];
    if (tern_comm_init(&c, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    tern_ckpt_opts o = { .dir = dir, .keep = 1000 };
    if (tern_ckpt_open(&ck, c, &o, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    int me = tern_comm_rank(c);
    char *state = malloc(SHARD), *copy = malloc(SHARD);
    if (!state || !copy)
        return 1;
    for (size_t i = 0; i < SHARD; i += 8) {
        uint64_t v = i * 0x9e3779b97f4a7c15ull + (uint64_t)me;
        memcpy(state + i, &v, 8);
    }
    memset(copy, 0, SHARD);
    int step = 1;
    for (int run = 0; run < RUNS; run++, step++) {
        tern_barrier(c);
        double t0 = bench_now();
        if (tern_ckpt_save(ck, step, state, SHARD) != 0) {
            fprintf(stderr, "save: %s\n", tern_ckpt_error(ck));
            return 1;
        }
        if (me == 0)
            printf("sync %.6f\n", bench_now() - t0);
        drop_step(c, dir, step);
    }
    /* The first background save also maps its staging buffer. */
    for (int run = 0; run <= RUNS; run++, step++) {
        tern_barrier(c);
        double t0 = bench_now();
        if (tern_ckpt_save_async(ck, step, state, SHARD) != 0) {
            fprintf(stderr, "save_async: %s\n", tern_ckpt_error(ck));
            return 1;
        }
        double stall = bench_now() - t0;
        if (tern_ckpt_wait(ck) != 0) {
            fprintf(stderr, "async save: %s\n", tern_ckpt_error(ck));
            return 1;
        }
        if (me == 0)
            printf("%s %.6f\nasync %.6f\n", run ? "stall" : "first_stall", stall, bench_now() - t0);
        drop_step(c, dir, step);
        /* The copy a program would make itself, in the same conditions. */
        tern_barrier(c);
        t0 = bench_now();
        memcpy(copy, state, SHARD);
        double t = bench_now() - t0;
        if (me == 0 && run)
            printf("memcpy %.6f\n", t);
    }
    fflush(stdout);
    tern_ckpt_close(&ck);
    tern_comm_destroy(&c);
    free(state);
    free(copy);
    return 0;
}

typedef struct figures {
    double sync[RUNS], stall[RUNS], async[RUNS + 1], memcpy[RUNS], first_stall;
    int nsync, nstall, nasync, nmemcpy;
} figures;

static int run_ranks(const char *dir, figures *f)
{
    char cmd[8600];
    snprintf(cmd, sizeof cmd,
             "for r in $(seq 0 %d); do RANK=$r WORLD_SIZE=%d MASTER_ADDR=127.0.0.1 "
             "MASTER_PORT=%d %s rank '%s' & done; wait", RANKS - 1, RANKS, netaddr_free_port(),
             bench_self(), dir);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char key[32];
    double v;
    memset(f, 0, sizeof *f);
    while (fscanf(p, "%31s %lf", key, &v) == 2) {
        if (!strcmp(key, "sync") && f->nsync < RUNS)
            f->sync[f->nsync++] = v;
        else if (!strcmp(key, "stall") && f->nstall < RUNS)
            f->stall[f->nstall++] = v;
        else if (!strcmp(key, "first_stall"))
            f->first_stall = v;
        else if (!strcmp(key, "async") && f->nasync < RUNS + 1)
            f->async[f->nasync++] = v;
        else if (!strcmp(key, "memcpy") && f->nmemcpy < RUNS)
            f->memcpy[f->nmemcpy++] = v;
    }
    int rc = pclose(p);
    return rc == 0 && f->nsync == RUNS && f->nstall == RUNS && f->nmemcpy == RUNS ? 0 : -1;
}

/* dd of 'parallel' files of 1 GiB / parallel each, at once. */
static double dd(const char *dir, int parallel)
{
    double t[RUNS];
    char cmd[8600];
    for (int run = 0; run < RUNS; run++) {
        snprintf(cmd, sizeof cmd,
                 "for i in $(seq %d); do dd if=/dev/zero of='%s/dd.$i' bs=1M count=%d "
                 "oflag=direct conv=fsync status=none & done; wait; rm -f '%s'/dd.*",
                 parallel, dir, 1024 / parallel, dir);
        t[run] = bench_shell(cmd);
        if (t[run] < 0)
            return -1;
    }
    return median3(t);
}

static const char *fs_name(const char *dir)
{
    struct statfs s;
    if (statfs(dir, &s) != 0)
        return "?";
    switch ((unsigned long)s.f_type) {
    case 0xEF53: return "ext4";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    case 0x01021994: return "tmpfs";
    case 0x6969: return "nfs";
    default: return "other";
    }
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "rank") == 0)
        return rank_main(argv[2]);
    char dir[FS_PATH_LEN];
    const char *base = getenv("TERN_BENCH_DIR");
    snprintf(dir, sizeof dir, "%s/tern-ckpt-bench.XXXXXX", base && *base ? base : "/var/tmp");
    if (!mkdtemp(dir)) {
        fprintf(stderr, "bench-checkpoint: mkdtemp %s: %s\n", dir, strerror(errno));
        return 1;
    }
    figures f;
    double dd1 = dd(dir, 1), dd2 = dd(dir, RANKS);
    int rc = run_ranks(dir, &f);
    fs_rm_rf(dir);
    if (rc < 0 || dd1 <= 0 || dd2 <= 0) {
        fprintf(stderr, "bench-checkpoint: a run failed\n");
        return 1;
    }
    double gib = 1024.0 * 1024 * 1024 / 1e9;   /* GB in 1 GiB */
    double sync = median3(f.sync), async = bench_percentile(f.async + 1, RUNS, 50);
    double stall = median3(f.stall), mc = median3(f.memcpy);
    printf("checkpoint of 1 GiB: %d ranks x 512 MiB, to %s (%s), median of %d\n", RANKS, dir,
           fs_name(base && *base ? base : "/var/tmp"), RUNS);
    printf("%-44s %9s %10s\n", "", "seconds", "GB/s");
    printf("%-44s %9.3f %10.2f\n", "tern_ckpt_save (sync, committed)", sync, gib / sync);
    printf("%-44s %9.3f %10.2f\n", "tern_ckpt_save_async, until committed", async, gib / async);
    printf("%-44s %9.3f %10.2f\n", "dd bs=1M oflag=direct conv=fsync, 1 GiB", dd1, gib / dd1);
    printf("%-44s %9.3f %10.2f\n", "dd, 2 x 512 MiB at once", dd2, gib / dd2);
    printf("training-loop stall of tern_ckpt_save_async: %.1f ms (first save, mapping the "
           "staging buffer: %.1f ms);\none memcpy of a rank's 512 MiB, both ranks at once: "
           "%.1f ms (stall / memcpy %.2f)\n",
           stall * 1e3, f.first_stall * 1e3, mc * 1e3, stall / mc);
    bench_headline("ckpt_write", gib / sync, "GB/s", "dd", gib / dd1);
    bench_headline("ckpt_write_async", gib / async, "GB/s", "dd", gib / dd1);
    bench_headline("ckpt_async_stall", stall * 1e3, "ms", NULL, 0);
    bench_headline("state_memcpy", mc * 1e3, "ms", NULL, 0);
    return 0;
}

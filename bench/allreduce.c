/* bench/allreduce: libtern's all-reduce (float32 sum) between 2 and 4
 * ranks on this machine, beside Open MPI's MPI_Allreduce run by mpirun in
 * the same invocation, with nccl-tests' conventions: algbw = bytes / time,
 * busbw = algbw * 2(n-1)/n. Also the machine's single-thread memcpy
 * bandwidth, the ceiling for moving bytes between ranks.
 *
 * The ranks are this program, forked with the rank environment
 * ("bench-allreduce rank SIZES..."); the MPI peer is peer-mpi-allreduce
 * from the same directory. Both print "SIZE SECONDS" lines from rank 0. */
#include "bench/lib/benchlib.h"
#include "tern/tern.h"
#include "common/fsutil.h"
#include "common/netaddr.h"

#include <arpa/inet.h>
#include <libgen.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static const size_t sizes[] = {
    4u << 10, 16u << 10, 64u << 10, 256u << 10, 1u << 20, 4u << 20, 16u << 20, 64u << 20,
    256u << 20,
};
#define NSIZES (sizeof sizes / sizeof sizes[0])

/* Iterations for a size: about 0.2 s of work, at least 5. */
static int iters_for(size_t bytes)
{
    size_t it = (200u << 20) / (bytes ? bytes : 1);
    return it < 5 ? 5 : it > 2000 ? 2000 : (int)it;
}

static int rank_main(void)
{
    tern_comm *c;
    char err[512];
    if (tern_comm_init(&c, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    size_t maxb = sizes[NSIZES - 1];
    float *buf = malloc(maxb);
    if (!buf)
        return 1;
    for (size_t i = 0; i < maxb / 4; i++)
        buf[i] = (float)(i % 97) / 97.0f;
    for (size_t k = 0; k < NSIZES; k++) {
        size_t count = sizes[k] / 4;
        int iters = iters_for(sizes[k]);
        for (int w = 0; w < 2; w++)
            tern_allreduce(c, buf, buf, count, TERN_F32, TERN_SUM);
        tern_barrier(c);
        double t0 = bench_now();
        for (int i = 0; i < iters; i++)
            if (tern_allreduce(c, buf, buf, count, TERN_F32, TERN_SUM) != 0) {
                fprintf(stderr, "allreduce: %s\n", tern_comm_error(c));
                return 1;
            }
        double t = (bench_now() - t0) / iters;
        if (tern_comm_rank(c) == 0)
            printf("%zu %.9f\n", sizes[k], t);
        fflush(stdout);
    }
    tern_comm_destroy(&c);
    free(buf);
    return 0;
}


/* Runs a command that prints "SIZE SECONDS" lines into t[]. Returns how
 * many sizes came back. */
static size_t collect(const char *cmd, double *t)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return 0;
    size_t got = 0, b;
    double s;
    while (got < NSIZES && fscanf(p, "%zu %lf", &b, &s) == 2)
        for (size_t k = 0; k < NSIZES; k++)
            if (sizes[k] == b) {
                t[k] = s;
                got++;
            }
    pclose(p);
    return got;
}

static size_t run_tern(int n, double *t)
{
    char cmd[4300];
    snprintf(cmd, sizeof cmd,
             "for r in $(seq 0 %d); do RANK=$r WORLD_SIZE=%d MASTER_ADDR=127.0.0.1 "
             "MASTER_PORT=%d %s rank & done; wait", n - 1, n, netaddr_free_port(), bench_self());
    return collect(cmd, t);
}

static size_t run_mpi(int n, double *t)
{
    char dir[FS_PATH_LEN], cmd[4600];
    snprintf(dir, sizeof dir, "%s", bench_self());
    snprintf(cmd, sizeof cmd, "mpirun --allow-run-as-root --oversubscribe -np %d "
             "%s/peer-mpi-allreduce 2>/dev/null", n, dirname(dir));
    return bench_have("mpirun") ? collect(cmd, t) : 0;
}

/* Single-thread memcpy of 64 MiB buffers: the best of five runs of at least
 * 0.2 s each, in GB/s of bytes copied. */
static double memcpy_gbs(void)
{
    size_t len = 64u << 20;
    char *a = malloc(len), *b = malloc(len);
    if (!a || !b)
        return 0;
    memset(a, 1, len);
    memset(b, 2, len);
    double best = 0;
    for (int run = 0; run < 5; run++) {
        int n = 0;
        double t0 = bench_now(), t;
        do {
            memcpy(n % 2 ? a : b, n % 2 ? b : a, len);
            n++;
        } while ((t = bench_now() - t0) < 0.2);
        double gbs = (double)len * n / t / 1e9;
        if (gbs > best)
            best = gbs;
    }
    free(a);
    free(b);
    return best;
}

static double busbw(size_t bytes, double t, int n)
{
    return t > 0 ? (double)bytes / t / 1e9 * 2.0 * (n - 1) / n : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "rank") == 0)
        return rank_main();
    double mc = memcpy_gbs();
    double busbw_4m_tern = 0, busbw_4m_mpi = 0, busbw_64m_tern = 0, busbw_64m_mpi = 0;
    for (int n = 2; n <= 4; n += 2) {
        double tt[NSIZES] = { 0 }, tm[NSIZES] = { 0 };
        run_tern(n, tt);
        run_mpi(n, tm);
        printf("all-reduce float32 sum, %d ranks on this machine\n", n);
        printf("%10s %12s %12s %12s %12s %8s\n", "size", "tern us", "tern busbw", "ompi us",
               "ompi busbw", "ratio");
        for (size_t k = 0; k < NSIZES; k++) {
            double bt = busbw(sizes[k], tt[k], n), bm = busbw(sizes[k], tm[k], n);
            printf("%10zu %12.1f %10.2f GB/s %10.1f %10.2f GB/s %8.2f\n", sizes[k], tt[k] * 1e6,
                   bt, tm[k] * 1e6, bm, bm > 0 ? bt / bm : 0);
            if (n == 2 && sizes[k] == 4u << 20) {
                busbw_4m_tern = bt;
                busbw_4m_mpi = bm;
            }
            if (n == 2 && sizes[k] == 64u << 20) {
                busbw_64m_tern = bt;
                busbw_64m_mpi = bm;
            }
        }
        printf("\n");
    }
    printf("memcpy, one thread, 64 MiB: %.2f GB/s (64 MiB all-reduce busbw is %.0f%% of it)\n",
           mc, mc > 0 ? busbw_64m_tern / mc * 100 : 0);
    bench_headline("allreduce_busbw_4MiB", busbw_4m_tern, "GB/s", "openmpi", busbw_4m_mpi);
    bench_headline("allreduce_busbw_64MiB", busbw_64m_tern, "GB/s", "openmpi", busbw_64m_mpi);
    bench_headline("memcpy_bw", mc, "GB/s", NULL, 0);
    return 0;
}

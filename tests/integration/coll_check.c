/* coll_check: runs libtern collectives in N local processes and checks
 * them, for the collectives scenarios.
 *
 *   coll_check matrix N [BIG]    all-reduce (every dtype and op; counts 0, 1,
 *                                1009, 1000003 and BIG elements of 64 MiB or
 *                                more unless BIG=0), broadcast and all-gather,
 *                                each against a serial reference; rank 0
 *                                prints a digest line per result
 *   coll_check kill N VICTIM     rank VICTIM is killed (-9) in the middle of a
 *                                large all-reduce; every other rank must get
 *                                an error; each prints how long it took
 *   coll_check absent N MISSING  rank MISSING never starts; every other rank's
 *                                init must fail naming it
 *   coll_check late N LATE SECS  a 64 MiB all-reduce that rank LATE enters SECS
 *                                late (busy elsewhere, alive): it must succeed
 *
 * In the kill mode, COLL_CHECK_LATE_RANK/COLL_CHECK_LATE_S make one more
 * rank enter the fatal call late: the others must not wait for it to learn
 * of the death.
 *   mpirun -np N coll_check mpi  under Open MPI: the MPI backend is chosen and
 *                                its results are exact (integer-valued inputs,
 *                                whose sums no order can change)
 *
 * The ranks are this program, forked with RANK, WORLD_SIZE, MASTER_ADDR and
 * MASTER_PORT as tern sets them; TERN_COLL_TRANSPORT and the TERN_* timeouts
 * pass through. Exits 0 when every rank did what it should. */
#include "collectives/reduce.h"
#include "tern/tern.h"
#include "common/netaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Rank r's input element i for a test 'seed': random mantissa bits, a
 * small spread of exponents and both signs, built directly in the type's
 * own format (so that the halves need no rounding), as a double. */
static double input(int r, size_t i, uint64_t seed, tern_dtype dt)
{
    uint64_t h = mix(seed * 0x100000001b3ull ^ (uint64_t)r << 44 ^ i);
    uint32_t sign = (uint32_t)(h >> 63), e = (uint32_t)(h >> 56) & 7;
    switch (dt) {
    case TERN_F16:
        return half_to_float((uint16_t)(sign << 15 | (12 + e) << 10 | (h & 0x3ff)), dt);
    case TERN_BF16:
        return half_to_float((uint16_t)(sign << 15 | (124 + e) << 7 | (h & 0x7f)), dt);
    case TERN_F32: {
        uint32_t u = sign << 31 | (124 + e) << 23 | (uint32_t)(h & 0x7fffff);
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    default: {
        uint64_t u = (uint64_t)sign << 63 | (uint64_t)(1020 + e) << 52 | (h & 0xfffffffffffffull);
        double d;
        memcpy(&d, &u, 8);
        return d;
    }
    }
}

static void fill(void *buf, int r, size_t n, uint64_t seed, tern_dtype dt)
{
    for (size_t i = 0; i < n; i++) {
        double v = input(r, i, seed, dt);
        if (dt == TERN_F64)
            ((double *)buf)[i] = v;
        else if (dt == TERN_F32)
            ((float *)buf)[i] = (float)v;
        else
            ((uint16_t *)buf)[i] = float_to_half((float)v, dt);   /* exact: v is a half */
    }
}

/* The canonical order (tern.h): chunk c starts with rank c, then c+1 ... */
static int check_element(const void *res, size_t i, size_t count, int n, uint64_t seed,
                         tern_dtype dt, tern_op op)
{
    int ch = 0;
    while ((size_t)((unsigned __int128)count * (unsigned)(ch + 1) / (unsigned)n) <= i)
        ch++;
    if (dt == TERN_F64) {
        double acc = input(ch, i, seed, dt);
        for (int k = 1; k < n; k++)
            acc = reduce_f64(acc, input((ch + k) % n, i, seed, dt), op);
        if (op == TERN_AVG)
            acc = acc / (double)n;
        return memcmp(&acc, (const double *)res + i, 8) == 0 ? 0 : -1;
    }
    float acc = (float)input(ch, i, seed, dt);
    for (int k = 1; k < n; k++)
        acc = reduce_f32(acc, (float)input((ch + k) % n, i, seed, dt), op);
    if (op == TERN_AVG)
        acc = acc / (float)n;
    if (dt == TERN_F32)
        return memcmp(&acc, (const float *)res + i, 4) == 0 ? 0 : -1;
    return float_to_half(acc, dt) == ((const uint16_t *)res)[i] ? 0 : -1;
}

static uint64_t digest(const void *p, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    const unsigned char *b = p;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        h = (h ^ w) * 1099511628211ull;
    }
    for (; i < len; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static const char *const dt_names[] = { "f32", "f64", "f16", "bf16" };
static const char *const op_names[] = { "sum", "avg", "min", "max" };

/* Every rank must hold the same digest; rank 0 prints it. */
static int agree(tern_comm *c, const char *what, uint64_t h)
{
    int n = tern_comm_size(c);
    uint64_t *all = calloc((size_t)n, sizeof *all);
    int rc = all ? tern_allgather(c, &h, all, 1, TERN_F64) : -1;
    if (rc != 0)
        fprintf(stderr, "rank %d: %s: allgather of digests: %s\n", tern_comm_rank(c), what,
                tern_comm_error(c));
    for (int i = 0; rc == 0 && i < n; i++)
        if (all[i] != h) {
            fprintf(stderr, "rank %d: %s: rank %d has other bits (%016llx, mine %016llx)\n", tern_comm_rank(c), what, i, (unsigned long long)all[i], (unsigned long long)h);
            rc = -1;
        }
    if (rc == 0 && tern_comm_rank(c) == 0)
        printf("digest %s %016llx\n", what, (unsigned long long)h);
    free(all);
    return rc;
}

static int run_matrix(tern_comm *c, size_t big_bytes)
{
    int n = tern_comm_size(c), r = tern_comm_rank(c), bad = 0;
    size_t counts[] = { 0, 1, 1009, 1000003, 0 };
    int ncounts = big_bytes ? 5 : 4;
    for (int dt = 0; dt < TERN_DTYPE_COUNT; dt++) {
        size_t es = tern_dtype_size((tern_dtype)dt);
        counts[4] = big_bytes / es;
        size_t maxc = counts[ncounts - 1];
        char *send = malloc(maxc * es + 1), *recv = malloc(maxc * es + 1);
        if (!send || !recv)
            return -1;
        for (int ci = 0; ci < ncounts; ci++) {
            size_t count = counts[ci];
            for (int op = 0; op < TERN_OP_COUNT; op++) {
                uint64_t seed = (uint64_t)(dt * 100 + op * 10 + ci);
                fill(send, r, count, seed, (tern_dtype)dt);
                bool in_place = (ci + op) % 2 == 1;   /* half the cases in place */
                void *dst = in_place ? send : recv;
                int rc = tern_allreduce(c, send, dst, count, (tern_dtype)dt, (tern_op)op);
                char what[96];
                snprintf(what, sizeof what, "allreduce %s %s %zu", dt_names[dt], op_names[op],
                         count);
                if (rc != 0) {
                    fprintf(stderr, "rank %d: %s: %s\n", r, what, tern_comm_error(c));
                    return -1;
                }
                /* Each rank checks its own chunk against the serial reference:
                 * every element, or in the 64 MiB case every 61st and the
                 * chunk's ends (the digests compare the rest across ranks). */
                size_t c0 = (size_t)((unsigned __int128)count * (unsigned)r / (unsigned)n);
                size_t c1 = (size_t)((unsigned __int128)count * (unsigned)(r + 1) / (unsigned)n);
                size_t stride = count > 2000000 ? 61 : 1;
                for (size_t i = c0; i < c1; i = (i + stride < c1 || i + 1 == c1) ? i + stride : c1 - 1) {
                    if (check_element(dst, i, count, n, seed, (tern_dtype)dt,
                                      (tern_op)op) < 0) {
                        fprintf(stderr, "rank %d: %s: element %zu differs from the reference\n",
                                r, what, i);
                        bad++;
                        break;
                    }
                }
                if (agree(c, what, digest(dst, count * es)) < 0)
                    return -1;
            }
        }
        /* Broadcast from two roots, all-gather, at a mid and a big size. */
        size_t sizes[] = { 1000003, counts[ncounts - 1] };
        for (int si = 0; si < 2; si++) {
            size_t count = sizes[si];
            /* Two roots at the mid size; the last rank alone at 64 MiB. */
            for (int root = si ? n - 1 : 0; root < n; root += n > 1 ? n - 1 : 1) {
                uint64_t seed = 7000 + (uint64_t)(dt * 10 + root);
                if (r == root)
                    fill(send, r, count, seed, (tern_dtype)dt);
                else
                    memset(send, 0xa5, count * es);
                if (tern_broadcast(c, send, count, (tern_dtype)dt, root) != 0) {
                    fprintf(stderr, "rank %d: broadcast: %s\n", r, tern_comm_error(c));
                    return -1;
                }
                fill(recv, root, count, seed, (tern_dtype)dt);
                if (memcmp(send, recv, count * es) != 0) {
                    fprintf(stderr, "rank %d: broadcast %s from %d: wrong bytes\n", r,
                            dt_names[dt], root);
                    bad++;
                }
            }
            size_t per = count / (size_t)n;
            char *all = malloc(per * es * (size_t)n + 1);
            if (!all)
                return -1;
            fill(send, r, per, 9000 + (uint64_t)dt, (tern_dtype)dt);
            if (tern_allgather(c, send, all, per, (tern_dtype)dt) != 0) {
                fprintf(stderr, "rank %d: allgather: %s\n", r, tern_comm_error(c));
                free(all);
                return -1;
            }
            for (int k = 0; k < n; k++) {
                fill(recv, k, per, 9000 + (uint64_t)dt, (tern_dtype)dt);
                if (memcmp(all + (size_t)k * per * es, recv, per * es) != 0) {
                    fprintf(stderr, "rank %d: allgather %s: block %d wrong\n", r, dt_names[dt],
                            k);
                    bad++;
                }
            }
            free(all);
        }
        free(send);
        free(recv);
    }
    if (tern_barrier(c) != 0) {
        fprintf(stderr, "rank %d: barrier: %s\n", r, tern_comm_error(c));
        return -1;
    }
    return bad ? -1 : 0;
}

/* Large all-reduces until one fails; the victim dies in its second. */
static int run_kill(tern_comm *c, int victim, const char *stampfile)
{
    int r = tern_comm_rank(c);
    size_t count = 32u << 20;   /* 128 MiB of f32: long enough to be caught mid-way */
    float *buf = calloc(count, sizeof *buf);
    if (!buf)
        return 2;
    if (tern_allreduce(c, buf, buf, count, TERN_F32, TERN_SUM) != 0) {
        fprintf(stderr, "rank %d: first all-reduce failed: %s\n", r, tern_comm_error(c));
        return 2;
    }
    if (r == victim) {
        pid_t me = getpid();
        if (fork() == 0) {         /* the killer: a moment into the next call */
            usleep(30000);
            FILE *f = fopen(stampfile, "w");
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            if (f) {
                fprintf(f, "%.6f\n", (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
                fclose(f);
            }
            kill(me, SIGKILL);
            _exit(0);
        }
    }
    const char *late = getenv("COLL_CHECK_LATE_RANK");
    if (late && atoi(late) == r)
        usleep((useconds_t)(atof(getenv("COLL_CHECK_LATE_S")) * 1e6));
    for (int i = 0; i < 1000; i++) {
        if (tern_allreduce(c, buf, buf, count, TERN_F32, TERN_SUM) != 0) {
            double t = now();
            double killed = 0;
            FILE *f = fopen(stampfile, "r");
            if (!f || fscanf(f, "%lf", &killed) != 1)
                killed = t;
            if (f)
                fclose(f);
            printf("rank %d: error after %.3f s: %s\n", r, t - killed, tern_comm_error(c));
            /* Broken for good: the next call fails at once. */
            int again = tern_barrier(c);
            free(buf);
            return again == TERN_EBROKEN ? 0 : 3;
        }
    }
    fprintf(stderr, "rank %d: no error although rank %d was killed\n", r, victim);
    return 4;
}

/* Integer-valued inputs: every order of addition gives the same bits. */
static int run_exact(tern_comm *c)
{
    int n = tern_comm_size(c), r = tern_comm_rank(c), bad = 0;
    if (strcmp(tern_comm_backend(c), "mpi") != 0) {
        fprintf(stderr, "rank %d: backend %s, expected mpi\n", r, tern_comm_backend(c));
        return -1;
    }
    size_t count = 100003;
    double *want = malloc(count * sizeof *want);
    char *buf = malloc(count * 8);
    if (!want || !buf)
        return -1;
    for (int dt = 0; dt < TERN_DTYPE_COUNT; dt++) {
        for (int op = 0; op < TERN_OP_COUNT; op++) {
            for (size_t i = 0; i < count; i++) {
                int m = (int)(i % 7 + 1);
                double v = (double)((r + 1) * m), sum = 0;
                for (int k = 0; k < n; k++)
                    sum += (double)((k + 1) * m);
                /* min is rank 0's value, max rank n-1's; AVG divides in the
                 * reduction type (float32 for the halves). */
                double x = op == TERN_MIN ? m : op == TERN_MAX ? (double)(n * m) : sum;
                if (op == TERN_AVG)
                    x = dt == TERN_F64 ? sum / n : (double)((float)sum / (float)n);
                want[i] = dt == TERN_F64 || dt == TERN_F32 ? x
                        : half_to_float(float_to_half((float)x, (tern_dtype)dt), (tern_dtype)dt);
                if (dt == TERN_F64)
                    ((double *)buf)[i] = v;
                else if (dt == TERN_F32)
                    ((float *)buf)[i] = (float)v;
                else
                    ((uint16_t *)buf)[i] = float_to_half((float)v, (tern_dtype)dt);
            }
            if (tern_allreduce(c, buf, buf, count, (tern_dtype)dt, (tern_op)op) != 0) {
                fprintf(stderr, "rank %d: %s\n", r, tern_comm_error(c));
                return -1;
            }
            for (size_t i = 0; i < count; i++) {
                double got = dt == TERN_F64 ? ((double *)buf)[i]
                           : dt == TERN_F32 ? ((float *)buf)[i]
                                            : half_to_float(((uint16_t *)buf)[i], (tern_dtype)dt);
                if (dt == TERN_F32 ? (float)got != (float)want[i] : got != want[i]) {
                    fprintf(stderr, "rank %d: %s %s element %zu: %g, expected %g\n", r,
                            dt_names[dt], op_names[op], i, got, want[i]);
                    bad++;
                    break;
                }
            }
        }
    }
    uint64_t mine = (uint64_t)r * 1000 + 7, *all = calloc((size_t)n, sizeof *all);
    if (!all || tern_allgather(c, &mine, all, 1, TERN_F64) != 0 || tern_barrier(c) != 0)
        return -1;
    for (int k = 0; k < n; k++)
        bad += all[k] != (uint64_t)k * 1000 + 7;
    uint64_t b = r == 1 % n ? 4242 : 0;
    if (tern_broadcast(c, &b, 1, TERN_F64, 1 % n) != 0)
        return -1;
    bad += b != 4242;
    free(all);
    free(want);
    free(buf);
    if (r == 0 && !bad)
        printf("mpi backend: %d ranks, every dtype and op exact\n", n);
    return bad ? -1 : 0;
}

/* A rank busy elsewhere for a while must not be taken for dead. */
static int run_late(tern_comm *c, int late_rank, double secs)
{
    size_t count = 16u << 20;   /* 64 MiB: more than the socket buffers hold */
    float *buf = malloc(count * sizeof *buf);
    if (!buf)
        return 1;
    for (size_t i = 0; i < count; i++)
        buf[i] = 1.0f;
    if (tern_comm_rank(c) == late_rank)
        usleep((useconds_t)(secs * 1e6));
    int rc = tern_allreduce(c, buf, buf, count, TERN_F32, TERN_SUM);
    int n = tern_comm_size(c);
    if (rc != 0 || buf[0] != (float)n || buf[count - 1] != (float)n) {
        fprintf(stderr, "rank %d: %s\n", tern_comm_rank(c), rc ? tern_comm_error(c) : "wrong sum");
        free(buf);
        return 1;
    }
    if (tern_comm_rank(c) == 0)
        printf("late by %.0f s: all-reduce completed\n", secs);
    free(buf);
    return 0;
}

static int rank_main(const char *mode, int arg)
{
    tern_comm *c;
    char err[512];
    int rc = tern_comm_init(&c, err, sizeof err);
    if (strcmp(mode, "absent") == 0) {
        if (rc == 0) {
            fprintf(stderr, "init succeeded without rank %d\n", arg);
            tern_comm_destroy(&c);
            return 1;
        }
        printf("rank %s: %s\n", getenv("RANK"), err);
        return 0;
    }
    if (rc != 0) {
        fprintf(stderr, "rank %s: %s\n", getenv("RANK"), err);
        return 1;
    }
    if (strcmp(mode, "matrix") == 0)
        rc = run_matrix(c, (size_t)arg << 20) < 0 ? 1 : 0;
    else if (strcmp(mode, "late") == 0)
        rc = run_late(c, arg, atof(getenv("COLL_CHECK_LATE_S")));
    else
        rc = run_kill(c, arg, getenv("COLL_CHECK_STAMP"));
    tern_comm_destroy(&c);
    return rc;
}


int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "rank") == 0)
        return rank_main(argv[2], argc > 3 ? atoi(argv[3]) : 0);
    if (argc == 2 && strcmp(argv[1], "mpi") == 0) {
        tern_comm *c;
        char err[512];
        if (tern_comm_init(&c, err, sizeof err) != 0) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        int rc = run_exact(c) < 0 ? 1 : 0;
        tern_comm_destroy(&c);
        return rc;
    }
    if (argc < 3) {
        fprintf(stderr, "usage: coll_check matrix N [BIG_MIB] | kill N VICTIM | absent N MISSING\n");
        return 2;
    }
    const char *mode = argv[1];
    int n = atoi(argv[2]), arg = argc > 3 ? atoi(argv[3]) : (strcmp(mode, "matrix") == 0 ? 64 : 0);
    if (strcmp(mode, "late") == 0)
        setenv("COLL_CHECK_LATE_S", argc > 4 ? argv[4] : "4", 1);
    if (n < 1 || n > 64)
        return 2;
    char stamp[] = "/tmp/coll_check.XXXXXX";
    int sfd = mkstemp(stamp);
    if (sfd >= 0)
        close(sfd);
    char port[16], argstr[16], nstr[16];
    snprintf(port, sizeof port, "%d", netaddr_free_port());
    snprintf(argstr, sizeof argstr, "%d", arg);
    snprintf(nstr, sizeof nstr, "%d", n);
    setenv("WORLD_SIZE", nstr, 1);
    setenv("MASTER_ADDR", "127.0.0.1", 1);
    setenv("MASTER_PORT", port, 1);
    setenv("COLL_CHECK_STAMP", stamp, 1);
    pid_t *pids = calloc((size_t)n, sizeof *pids);
    for (int r = 0; r < n; r++) {
        if (strcmp(mode, "absent") == 0 && r == arg)
            continue;
        char rs[16];
        snprintf(rs, sizeof rs, "%d", r);
        pids[r] = fork();
        if (pids[r] == 0) {
            setenv("RANK", rs, 1);
            execl("/proc/self/exe", argv[0], "rank", mode, argstr, (char *)NULL);
            _exit(127);
        }
    }
    int failed = 0;
    for (int r = 0; r < n; r++) {
        if (pids[r] <= 0)
            continue;
        int st;
        waitpid(pids[r], &st, 0);
        bool victim = strcmp(mode, "kill") == 0 && r == arg;
        bool ok = victim ? WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL
                         : WIFEXITED(st) && WEXITSTATUS(st) == 0;
        if (!ok) {
            fprintf(stderr, "coll_check: rank %d %s\n", r,
                    WIFEXITED(st) ? "exited non-zero" : "was killed");
            failed++;
        }
    }
    unlink(stamp);
    free(pids);
    return failed ? 1 : 0;
}

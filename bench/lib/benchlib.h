/* Helpers shared by the benchmarks: a local tern cluster in a temporary
 * directory, a pipelining client, timing and statistics, a fixed-seed
 * generator, exits with a message, and the peers (SLURM, Open MPI) when
 * this machine has them. */
#ifndef TERN_BENCHLIB_H
#define TERN_BENCHLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/fsutil.h"
#include "common/wire.h"

typedef struct bench_cluster {
    char dir[FS_PATH_LEN];                /* the cluster's .tern directory */
    char scheduler[512];
    char bindir[FS_PATH_LEN];
} bench_cluster;

/* Starts 'tern up' with 'workers' workers (0: ternd only) offering 'cpus'
 * CPUs each (0: the machine's) in a fresh temporary directory. Exits the
 * program with a message on failure. */
void bench_up(bench_cluster *bc, int workers, unsigned cpus);
/* The same, with more 'tern up' options ('extra', e.g. "--spot-workers 1"). */
void bench_up_with(bench_cluster *bc, int workers, unsigned cpus, const char *extra);
void bench_down(bench_cluster *bc);

/* A DEALER connected to the scheduler; requests are pipelined. */
typedef struct bench_client {
    void *ctx, *sock;
    uint64_t seq;
} bench_client;

void bench_connect(bench_client *c, const char *endpoint);
void bench_close(bench_client *c);
/* A JobSpec for 'argv' (NULL-terminated), 1 node x 'tasks', in /tmp. */
void bench_spec(Tern__JobSpec *spec, char **argv, uint32_t nodes, uint32_t tasks);
/* Sends a submit without waiting. Returns its seq. */
uint64_t bench_submit_send(bench_client *c, Tern__JobSpec *spec);
/* Receives one reply (blocking up to 30 s); returns the job id of a
 * SubmitReply, or exits on an error. */
uint64_t bench_submit_recv(bench_client *c);
/* Blocks until job 'id' is final; returns its exit code. */
int bench_wait(bench_client *c, uint64_t id);

double bench_now(void);            /* monotonic seconds */
int64_t bench_wall_ns(void);       /* CLOCK_REALTIME ns */
/* The p-th percentile (0..100) of v[0..n), sorting v. */
double bench_percentile(double *v, size_t n, double p);
/* Runs a shell command; returns its wall seconds, or -1 if it failed. */
double bench_shell(const char *cmd);
/* True when 'prog' is on PATH. */
bool bench_have(const char *prog);
/* SLURM_CONF of a running local SLURM (from the environment), or NULL. */
const char *bench_slurm(void);

/* splitmix64: the next of a fixed-seed sequence ('*state' the seed). */
uint64_t bench_rng(uint64_t *state);
/* Raises this process's open-file limit to its hard limit (for thousands
 * of sockets; children inherit it). */
void bench_raise_nofile(void);

/* This executable's name ("bench-recovery"), for messages. */
const char *bench_name(void);
/* The directory of this executable, where the programs under test are. */
const char *bench_bindir(void);
/* Prints "<bench_name>: <message>" to stderr, runs the hook given to
 * bench_on_die (if any) and exits 1. */
void bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* What bench_die runs before it exits: cleanup of what the bench started. */
void bench_on_die(void (*hook)(void));

/* "bench: <figure> <value> <unit> [vs <peer> <value> <unit> ratio <r>]" */
void bench_headline(const char *figure, double value, const char *unit, const char *peer,
                    double peer_value);

/* Runs argv (NULL-terminated) with stdout and stderr to /dev/null and
 * waits. Returns its exit status, or -1 if it could not start. */
int bench_run(char *const argv[]);
/* This executable's path. */
const char *bench_self(void);

/* CPU seconds (user + system) used so far by the cluster's ternd and, in
 * all, by its workers and their reaped children (the ranks). */
void bench_cluster_cpu(const bench_cluster *bc, double *ternd, double *workers);
#endif

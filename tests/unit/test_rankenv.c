/* worker/rankenv: the environment every rank of a job sees (DESIGN.md,
 * "The rank environment"), for each rank of a 2-node x 2-task job. */
#include "tests/unit/unit.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/rankenv.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* How many entries of 'env' have 'key'. */
static int occurrences(char *const *env, const char *key)
{
    size_t kl = strlen(key);
    int n = 0;
    for (char *const *p = env; *p; p++)
        if (strncmp(*p, key, kl) == 0 && (*p)[kl] == '=')
            n++;
    return n;
}

static int count_prefix(char *const *env, const char *prefix)
{
    int n = 0;
    for (char *const *p = env; *p; p++)
        if (strncmp(*p, prefix, strlen(prefix)) == 0)
            n++;
    return n;
}

/* The value of 'key', checked to appear exactly once. */
static const char *once(char *const *env, const char *key)
{
    int n = occurrences(env, key);
    if (n != 1)
        fprintf(stderr, "%s appears %d times\n", key, n);
    CU_ASSERT_EQUAL(n, 1);
    return rankenv_get(env, key);
}

#define ASSERT_VAR(env, key, want)                                                  \
    do {                                                                            \
        const char *v_ = once((env), (key));                                        \
        if (!v_ || strcmp(v_, (want)) != 0)                                         \
            fprintf(stderr, "%s=%s, want %s\n", (key), v_ ? v_ : "(unset)", (want)); \
        CU_ASSERT_TRUE(v_ && strcmp(v_, (want)) == 0);                              \
    } while (0)

static char *job_argv[] = { "python", "train.py" };

static void job_spec(Tern__JobSpec *sp, char **env, size_t nenv)
{
    tern__job_spec__init(sp);
    sp->name = "train";
    sp->argv = job_argv;
    sp->n_argv = N_ELEMS(job_argv);
    sp->env = env;
    sp->n_env = nenv;
    sp->cwd = "/home/alice";
    sp->nodes = 2;
    sp->tasks_per_node = 2;
    sp->cpus_per_task = 3;
    sp->gpus_per_node = 2;
    sp->max_restarts = 4;
}

/* The input for global rank 'rank' of the 2 x 2 job. */
static rankenv_in rank_in(const Tern__JobSpec *sp, uint32_t rank)
{
    static const char *const gpus[] = { "0,1", "2,3" };
    static const char *const names[] = { "node-a", "node-b" };
    uint32_t node = rank / 2;
    return (rankenv_in){
        .spec = sp, .job_id = 42, .attempt = 1, .rank = rank, .local_rank = rank % 2,
        .node_rank = node, .nnodes = 2, .master_addr = "10.0.0.1", .master_port = 29500,
        .gpus = gpus[node], .cpus = node ? "4-9" : "0-5", .node_name = names[node],
        .nodelist = "node-a,node-b", .checkpoint_dir = "/ckpt/42",
    };
}

static void test_ranks(void)
{
    char *inherited[] = {
        "PATH=/usr/local/bin:/usr/bin:/bin", "FOO=bar", "HOME=/home/alice",
        "RANK=99", "CUDA_VISIBLE_DEVICES=7", "MASTER_PORT=1", "EMPTY=", "WEIRD=a=b",
    };
    Tern__JobSpec sp;
    job_spec(&sp, inherited, N_ELEMS(inherited));
    for (uint32_t r = 0; r < 4; r++) {
        rankenv_in in = rank_in(&sp, r);
        char **env = rankenv_build(&in);
        CU_ASSERT_PTR_NOT_NULL_FATAL(env);
        char want[32];
        snprintf(want, sizeof want, "%u", r);
        ASSERT_VAR(env, "RANK", want);
        ASSERT_VAR(env, "WORLD_SIZE", "4");
        snprintf(want, sizeof want, "%u", r % 2);
        ASSERT_VAR(env, "LOCAL_RANK", want);
        ASSERT_VAR(env, "LOCAL_WORLD_SIZE", "2");
        snprintf(want, sizeof want, "%u", r / 2);
        ASSERT_VAR(env, "GROUP_RANK", want);
        ASSERT_VAR(env, "TERN_NODE_RANK", want);
        ASSERT_VAR(env, "GROUP_WORLD_SIZE", "2");
        ASSERT_VAR(env, "TERN_NNODES", "2");
        ASSERT_VAR(env, "MASTER_ADDR", "10.0.0.1");
        ASSERT_VAR(env, "MASTER_PORT", "29500");
        ASSERT_VAR(env, "TERN_JOB_ID", "42");
        ASSERT_VAR(env, "TERN_ATTEMPT", "1");
        ASSERT_VAR(env, "TORCHELASTIC_RESTART_COUNT", "1");
        ASSERT_VAR(env, "TERN_CHECKPOINT_DIR", "/ckpt/42");
        ASSERT_VAR(env, "TERN_PREEMPT_SIGNAL", "SIGUSR1");
        ASSERT_VAR(env, "CUDA_VISIBLE_DEVICES", r < 2 ? "0,1" : "2,3");
        ASSERT_VAR(env, "OMP_NUM_THREADS", "3");
        /* the submitter's environment is kept */
        ASSERT_VAR(env, "PATH", "/usr/local/bin:/usr/bin:/bin");
        ASSERT_VAR(env, "FOO", "bar");
        ASSERT_VAR(env, "HOME", "/home/alice");
        ASSERT_VAR(env, "EMPTY", "");
        ASSERT_VAR(env, "WEIRD", "a=b");
        /* no SLURM_* without --slurm-env */
        CU_ASSERT_EQUAL(count_prefix(env, "SLURM_"), 0);
        CU_ASSERT_EQUAL(count_prefix(env, "SLURMD_"), 0);
        /* every entry is KEY=VALUE */
        for (char **p = env; *p; p++)
            CU_ASSERT_PTR_NOT_NULL(strchr(*p, '='));
        rankenv_free(env);
    }
}

static void test_preempt_signal(void)
{
    Tern__JobSpec sp;
    job_spec(&sp, NULL, 0);
    static const struct {
        int32_t signo;
        const char *want;
    } cases[] = {
        { 0, "SIGUSR1" }, { SIGUSR2, "SIGUSR2" }, { SIGTERM, "SIGTERM" }, { SIGUSR1, "SIGUSR1" },
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        sp.preempt_signal = cases[i].signo;
        rankenv_in in = rank_in(&sp, 3);
        char **env = rankenv_build(&in);
        CU_ASSERT_PTR_NOT_NULL_FATAL(env);
        ASSERT_VAR(env, "TERN_PREEMPT_SIGNAL", cases[i].want);
        rankenv_free(env);
    }
}

static void test_omp_threads(void)
{
    char *with_omp[] = { "OMP_NUM_THREADS=8", "FOO=bar" };
    Tern__JobSpec sp;
    job_spec(&sp, with_omp, N_ELEMS(with_omp));
    rankenv_in in = rank_in(&sp, 0);
    char **env = rankenv_build(&in);
    CU_ASSERT_PTR_NOT_NULL_FATAL(env);
    ASSERT_VAR(env, "OMP_NUM_THREADS", "8");     /* the submitter's choice wins */
    rankenv_free(env);

    sp.cpus_per_task = 16;
    sp.env = NULL;
    sp.n_env = 0;
    env = rankenv_build(&in);
    CU_ASSERT_PTR_NOT_NULL_FATAL(env);
    ASSERT_VAR(env, "OMP_NUM_THREADS", "16");
    rankenv_free(env);
}

static void test_slurm_env(void)
{
    Tern__JobSpec sp;
    char *inherited[] = { "FOO=bar" };
    job_spec(&sp, inherited, 1);
    sp.slurm_env = true;
    for (uint32_t r = 0; r < 4; r++) {
        rankenv_in in = rank_in(&sp, r);
        in.attempt = 2;
        char **env = rankenv_build(&in);
        CU_ASSERT_PTR_NOT_NULL_FATAL(env);
        char want[32];
        snprintf(want, sizeof want, "%u", r);
        ASSERT_VAR(env, "SLURM_PROCID", want);
        ASSERT_VAR(env, "RANK", want);
        ASSERT_VAR(env, "SLURM_NTASKS", "4");
        snprintf(want, sizeof want, "%u", r % 2);
        ASSERT_VAR(env, "SLURM_LOCALID", want);
        snprintf(want, sizeof want, "%u", r / 2);
        ASSERT_VAR(env, "SLURM_NODEID", want);
        ASSERT_VAR(env, "SLURM_JOB_ID", "42");
        ASSERT_VAR(env, "SLURM_RESTART_COUNT", "2");
        ASSERT_VAR(env, "TERN_ATTEMPT", "2");
        ASSERT_VAR(env, "SLURM_NNODES", "2");
        ASSERT_VAR(env, "SLURM_CPUS_PER_TASK", "3");
        ASSERT_VAR(env, "SLURM_JOB_NODELIST", "node-a,node-b");
        ASSERT_VAR(env, "SLURMD_NODENAME", r < 2 ? "node-a" : "node-b");
        ASSERT_VAR(env, "FOO", "bar");
        rankenv_free(env);
    }
}

/* A job submitted from inside a SLURM allocation carries that allocation's
 * SLURM_* variables in its environment. Without --slurm-env, ranks must not
 * see them: SLURM_PROCID=0 / SLURM_NTASKS=1 on every rank would make SLURM-
 * aware launchers (Lightning, DeepSpeed, mpi4py) pick the wrong world. */
static void test_inherited_slurm(void)
{
    char *inherited[] = { "SLURM_PROCID=0", "SLURM_NTASKS=1", "SLURM_JOB_ID=555", "FOO=bar" };
    Tern__JobSpec sp;
    job_spec(&sp, inherited, N_ELEMS(inherited));
    rankenv_in in = rank_in(&sp, 3);
    char **env = rankenv_build(&in);
    CU_ASSERT_PTR_NOT_NULL_FATAL(env);
    int n = count_prefix(env, "SLURM_");
    if (n)
        fprintf(stderr, "rank 3 sees %d inherited SLURM_* variables, SLURM_PROCID=%s\n", n,
                rankenv_get(env, "SLURM_PROCID"));
    CU_ASSERT_EQUAL(n, 0);
    ASSERT_VAR(env, "FOO", "bar");
    rankenv_free(env);

    /* with --slurm-env, tern's values replace the allocation's */
    sp.slurm_env = true;
    env = rankenv_build(&in);
    CU_ASSERT_PTR_NOT_NULL_FATAL(env);
    ASSERT_VAR(env, "SLURM_PROCID", "3");
    ASSERT_VAR(env, "SLURM_NTASKS", "4");
    ASSERT_VAR(env, "SLURM_JOB_ID", "42");
    rankenv_free(env);
}

static void test_get(void)
{
    char *env[] = { "RANK=3", "RANKS=9", "FOOBAR=1", "EMPTY=", "A=b=c", "NOEQ", NULL };
    CU_ASSERT_STRING_EQUAL(rankenv_get(env, "RANK"), "3");
    CU_ASSERT_STRING_EQUAL(rankenv_get(env, "RANKS"), "9");
    CU_ASSERT_STRING_EQUAL(rankenv_get(env, "EMPTY"), "");
    CU_ASSERT_STRING_EQUAL(rankenv_get(env, "A"), "b=c");
    CU_ASSERT_PTR_NULL(rankenv_get(env, "RAN"));
    CU_ASSERT_PTR_NULL(rankenv_get(env, "FOO"));
    CU_ASSERT_PTR_NULL(rankenv_get(env, "MISSING"));
    CU_ASSERT_PTR_NULL(rankenv_get(NULL, "RANK"));
    char *none[] = { NULL };
    CU_ASSERT_PTR_NULL(rankenv_get(none, "RANK"));
    rankenv_free(NULL);
}

/* Duplicates and junk in the submitted environment: one entry per key, the
 * last value wins (as a shell would), and entries that are not KEY=VALUE go. */
static void test_inherited_junk(void)
{
    char *inherited[] = { "FOO=1", "NOEQ", "=novalue", "FOO=2", "LOCAL_RANK=5", "BAR=x" };
    Tern__JobSpec sp;
    job_spec(&sp, inherited, N_ELEMS(inherited));
    rankenv_in in = rank_in(&sp, 1);
    char **env = rankenv_build(&in);
    CU_ASSERT_PTR_NOT_NULL_FATAL(env);
    ASSERT_VAR(env, "FOO", "2");
    ASSERT_VAR(env, "BAR", "x");
    ASSERT_VAR(env, "LOCAL_RANK", "1");
    for (char **p = env; *p; p++) {
        CU_ASSERT_NOT_EQUAL((*p)[0], '=');
        CU_ASSERT_PTR_NOT_NULL(strchr(*p, '='));
    }
    rankenv_free(env);
}

int suite_rankenv(void)
{
    static const unit_test tests[] = {
        { "ranks", test_ranks },
        { "preempt signal", test_preempt_signal },
        { "omp threads", test_omp_threads },
        { "slurm env", test_slurm_env },
        { "inherited slurm", test_inherited_slurm },
        { "get", test_get },
        { "inherited junk", test_inherited_junk },
        { NULL, NULL },
    };
    return unit_add("rankenv", tests);
}

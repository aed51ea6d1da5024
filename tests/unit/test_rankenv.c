/* worker/rankenv: the environment every rank of a job sees (DESIGN.md,
 * "The rank environment"), for each rank of a 2-node x 2-task job, as an
 * array task, and with the worker's --nccl-ifname hints from recorded
 * topologies. Fixture paths are relative to the source tree: $TERN_SRCDIR,
 * else the current directory. */
#include "tests/unit/unit.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/rankenv.h"
#include "worker/topology.h"

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

/* One variable a rank must see exactly once, with its value. */
typedef struct {
    const char *key;
    const char *want;
} var_want;

/* Check each of 'want', ended by a NULL key, against 'env'. */
static void expect_vars(char *const *env, const var_want *want)
{
    for (const var_want *w = want; w->key; w++)
        ASSERT_VAR(env, w->key, w->want);
}

/* The environment of 'in', checked against 'want' (ended by a NULL key);
 * the caller checks more if it will and frees it with rankenv_free. */
static char **build_expecting(const rankenv_in *in, const var_want *want)
{
    char **env = rankenv_build(in);
    CU_ASSERT_PTR_NOT_NULL_FATAL(env);
    expect_vars(env, want);
    return env;
}

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

/* Global rank r's own numbers in the 2 x 2 job, as its environment spells
 * them: the rank, the rank on its node and the node's. */
typedef struct rank_ids {
    char rank[16], local[16], node[16];
} rank_ids;

static rank_ids rank_ids_of(uint32_t r)
{
    rank_ids id;
    snprintf(id.rank, sizeof id.rank, "%u", r);
    snprintf(id.local, sizeof id.local, "%u", r % 2);
    snprintf(id.node, sizeof id.node, "%u", r / 2);
    return id;
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
        rank_ids id = rank_ids_of(r);
        const var_want want[] = {
            { "RANK", id.rank }, { "WORLD_SIZE", "4" },
            { "LOCAL_RANK", id.local }, { "LOCAL_WORLD_SIZE", "2" },
            { "GROUP_RANK", id.node }, { "TERN_NODE_RANK", id.node },
            { "GROUP_WORLD_SIZE", "2" }, { "TERN_NNODES", "2" },
            { "MASTER_ADDR", "10.0.0.1" }, { "MASTER_PORT", "29500" },
            { "TERN_JOB_ID", "42" }, { "TERN_ATTEMPT", "1" },
            { "TORCHELASTIC_RESTART_COUNT", "1" }, { "TERN_CHECKPOINT_DIR", "/ckpt/42" },
            { "TERN_PREEMPT_SIGNAL", "SIGUSR1" },
            { "CUDA_VISIBLE_DEVICES", r < 2 ? "0,1" : "2,3" }, { "OMP_NUM_THREADS", "3" },
            /* the submitter's environment is kept */
            { "PATH", "/usr/local/bin:/usr/bin:/bin" }, { "FOO", "bar" },
            { "HOME", "/home/alice" }, { "EMPTY", "" }, { "WEIRD", "a=b" },
            { NULL, NULL },
        };
        rankenv_in in = rank_in(&sp, r);
        char **env = build_expecting(&in, want);
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
        const var_want want[] = { { "TERN_PREEMPT_SIGNAL", cases[i].want }, { NULL, NULL } };
        rankenv_free(build_expecting(&in, want));
    }
}

static void test_omp_threads(void)
{
    char *with_omp[] = { "OMP_NUM_THREADS=8", "FOO=bar" };
    Tern__JobSpec sp;
    job_spec(&sp, with_omp, N_ELEMS(with_omp));
    rankenv_in in = rank_in(&sp, 0);
    static const var_want theirs[] = { { "OMP_NUM_THREADS", "8" }, { NULL, NULL } };
    rankenv_free(build_expecting(&in, theirs));   /* the submitter's choice wins */

    sp.cpus_per_task = 16;
    sp.env = NULL;
    sp.n_env = 0;
    static const var_want per_task[] = { { "OMP_NUM_THREADS", "16" }, { NULL, NULL } };
    rankenv_free(build_expecting(&in, per_task));
}

static void test_slurm_env(void)
{
    Tern__JobSpec sp;
    char *inherited[] = { "FOO=bar" };
    job_spec(&sp, inherited, 1);
    sp.slurm_env = true;
    for (uint32_t r = 0; r < 4; r++) {
        rank_ids id = rank_ids_of(r);
        const var_want want[] = {
            { "SLURM_PROCID", id.rank }, { "RANK", id.rank }, { "SLURM_NTASKS", "4" },
            { "SLURM_LOCALID", id.local }, { "SLURM_NODEID", id.node },
            { "SLURM_JOB_ID", "42" }, { "SLURM_RESTART_COUNT", "2" }, { "TERN_ATTEMPT", "2" },
            { "SLURM_NNODES", "2" }, { "SLURM_CPUS_PER_TASK", "3" },
            { "SLURM_JOB_NODELIST", "node-a,node-b" },
            { "SLURMD_NODENAME", r < 2 ? "node-a" : "node-b" }, { "FOO", "bar" },
            { NULL, NULL },
        };
        rankenv_in in = rank_in(&sp, r);
        in.attempt = 2;
        rankenv_free(build_expecting(&in, want));
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
    static const var_want replaced[] = {
        { "SLURM_PROCID", "3" }, { "SLURM_NTASKS", "4" }, { "SLURM_JOB_ID", "42" }, { NULL, NULL },
    };
    rankenv_free(build_expecting(&in, replaced));
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
    static const var_want want[] = {
        { "FOO", "2" }, { "BAR", "x" }, { "LOCAL_RANK", "1" }, { NULL, NULL },
    };
    char **env = build_expecting(&in, want);
    for (char **p = env; *p; p++) {
        CU_ASSERT_NOT_EQUAL((*p)[0], '=');
        CU_ASSERT_PTR_NOT_NULL(strchr(*p, '='));
    }
    rankenv_free(env);
}

/* ---- array tasks ---------------------------------------------------------- */

/* Task 7 of an array 0-9 whose first task, job 100, gives the array its id;
 * this task is job 42. */
static void array_task(Tern__JobSpec *sp)
{
    sp->array = "0-9";
    sp->array_job_id = 100;
    sp->array_task_id = 7;
    sp->array_task_count = 10;
    sp->array_task_min = 0;
    sp->array_task_max = 9;
}

static const char *const array_vars[] = {
    "TERN_ARRAY_JOB_ID", "TERN_ARRAY_TASK_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID",
    "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX",
};

/* Every rank of an array task gets its ids, SLURM_ARRAY_* too without
 * --slurm-env, as SLURM gives them to every array task; a submitting shell's
 * own SLURM_ARRAY_* do not get through. */
static void test_array_task(void)
{
    char *inherited[] = { "SLURM_ARRAY_TASK_ID=3", "SLURM_ARRAY_JOB_ID=555", "FOO=bar" };
    Tern__JobSpec sp;
    job_spec(&sp, inherited, N_ELEMS(inherited));
    array_task(&sp);
    static const var_want task7[] = {
        { "TERN_ARRAY_JOB_ID", "100" }, { "TERN_ARRAY_TASK_ID", "7" },
        { "SLURM_ARRAY_JOB_ID", "100" }, { "SLURM_ARRAY_TASK_ID", "7" },
        { "SLURM_ARRAY_TASK_COUNT", "10" }, { "SLURM_ARRAY_TASK_MIN", "0" },
        { "SLURM_ARRAY_TASK_MAX", "9" },
        { "TERN_JOB_ID", "42" },   /* the task's own id */
        { "FOO", "bar" }, { NULL, NULL },
    };
    for (uint32_t r = 0; r < 4; r++) {
        rankenv_in in = rank_in(&sp, r);
        char **env = build_expecting(&in, task7);
        /* the array's five, and no other SLURM_* */
        CU_ASSERT_EQUAL(count_prefix(env, "SLURM_"), 5);
        CU_ASSERT_EQUAL(count_prefix(env, "SLURMD_"), 0);
        rankenv_free(env);
    }

    /* task 0: ids of 0 are ids all the same */
    sp.array_task_id = 0;
    rankenv_in in = rank_in(&sp, 0);
    static const var_want task0[] = {
        { "TERN_ARRAY_TASK_ID", "0" }, { "SLURM_ARRAY_TASK_ID", "0" }, { NULL, NULL },
    };
    rankenv_free(build_expecting(&in, task0));

    /* with --slurm-env: SLURM_JOB_ID is the task's, SLURM_ARRAY_JOB_ID the array's */
    sp.slurm_env = true;
    static const var_want slurm[] = {
        { "SLURM_JOB_ID", "42" }, { "SLURM_ARRAY_JOB_ID", "100" },
        { "SLURM_ARRAY_TASK_COUNT", "10" }, { NULL, NULL },
    };
    rankenv_free(build_expecting(&in, slurm));
}

/* A job that is not an array task gets none of them, with or without
 * --slurm-env, whatever its submitting shell had. */
static void test_not_array_task(void)
{
    char *inherited[] = { "SLURM_ARRAY_TASK_ID=3", "TERN_ARRAY_TASK_ID=3", "FOO=bar" };
    Tern__JobSpec sp;
    job_spec(&sp, inherited, N_ELEMS(inherited));
    sp.array_task_id = 7;   /* meaningless without array_job_id */
    sp.array_task_count = 10;
    for (int slurm = 0; slurm < 2; slurm++) {
        sp.slurm_env = slurm;
        rankenv_in in = rank_in(&sp, 1);
        char **env = rankenv_build(&in);
        CU_ASSERT_PTR_NOT_NULL_FATAL(env);
        for (size_t i = 0; i < N_ELEMS(array_vars); i++) {
            /* the submitter's own TERN_ARRAY_TASK_ID passes, as any variable */
            if (strcmp(array_vars[i], "TERN_ARRAY_TASK_ID") == 0)
                continue;
            const char *v = rankenv_get(env, array_vars[i]);
            if (v)
                fprintf(stderr, "not an array task, yet %s=%s\n", array_vars[i], v);
            CU_ASSERT_PTR_NULL(v);
        }
        ASSERT_VAR(env, "TERN_ARRAY_TASK_ID", "3");
        CU_ASSERT_EQUAL(count_prefix(env, "SLURM_ARRAY_"), 0);
        rankenv_free(env);
    }
}

/* ---- NCCL and Gloo hints (--nccl-ifname) ------------------------------------ */

#define TOPOLOGIES "tests/fixtures/topologies/"

static topology *load_topology(const char *file)
{
    char path[1024], err[256] = "";
    const char *src = getenv("TERN_SRCDIR");
    snprintf(path, sizeof path, "%s/%s", src && *src ? src : ".", file);
    topology *t = topo_load(path, -1, err, sizeof err);
    if (!t)
        fprintf(stderr, "load_topology: %s\n", err);
    return t;
}

/* The hints for 'ifname' on the topology of 'file' (NULL: none loaded). */
static char **hints_for(const char *ifname, const char *file)
{
    topology *t = file ? load_topology(file) : NULL;
    if (file)
        CU_ASSERT_PTR_NOT_NULL(t);
    char **h = rankenv_nic_hints(ifname, t);
    topo_destroy(&t);
    return h;
}

static size_t count_vars(char *const *env)
{
    size_t n = 0;
    while (env && env[n])
        n++;
    return n;
}

/* "auto" on recorded machines: interfaces in tree order less lo, docker*,
 * veth*, virbr* and br-*, and NCCL_IB_HCA only where there are HCAs. */
static void test_nic_hints_auto(void)
{
    static const struct {
        const char *file;
        const char *ifname;    /* NULL: neither SOCKET_IFNAME */
        const char *hca;       /* NULL: no NCCL_IB_HCA */
    } cases[] = {
        /* eth0 and IPoIB ib0 stay; the bridges and pairs of containers and VMs go */
        { "container-host.xml", "eth0,ib0", "mlx5_0" },
        { "cpu-only.xml", "eth0", NULL },
        { "2socket-4gpu.xml", "eth0", NULL },
        { "dgx-h100-8gpu-nvswitch.xml", "ib0,ib1,ib2,ib3", "mlx5_0,mlx5_1,mlx5_2,mlx5_3" },
        { "8gpu-2islands.xml", "ib0,ib1", "mlx5_0,mlx5_1" },
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        char file[256];
        snprintf(file, sizeof file, TOPOLOGIES "%s", cases[i].file);
        char **h = hints_for("auto", file);
        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        const char *ifs = rankenv_get(h, "NCCL_SOCKET_IFNAME");
        const char *gloo = rankenv_get(h, "GLOO_SOCKET_IFNAME");
        const char *hca = rankenv_get(h, "NCCL_IB_HCA");
        if (!ifs || strcmp(ifs, cases[i].ifname) != 0 || (hca == NULL) != (cases[i].hca == NULL))
            fprintf(stderr, "%s: NCCL_SOCKET_IFNAME=%s NCCL_IB_HCA=%s\n", cases[i].file,
                    ifs ? ifs : "(unset)", hca ? hca : "(unset)");
        CU_ASSERT_TRUE(ifs && strcmp(ifs, cases[i].ifname) == 0);
        CU_ASSERT_TRUE(gloo && strcmp(gloo, cases[i].ifname) == 0);
        if (cases[i].hca) {
            CU_ASSERT_TRUE(hca && strcmp(hca, cases[i].hca) == 0);
        } else {
            CU_ASSERT_PTR_NULL(hca);
        }
        CU_ASSERT_EQUAL(count_vars(h), cases[i].hca ? 3u : 2u);
        rankenv_free(h);
    }

    /* the fixture's NICs as the topology keeps them: network devices (what
     * the node reports) apart from the HCA, each with its kind */
    char file[256];
    snprintf(file, sizeof file, TOPOLOGIES "container-host.xml");
    topology *t = load_topology(file);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(topo_nnics(t), 7);
    CU_ASSERT_EQUAL(topo_nnics_of(t, TOPO_NIC_NETWORK), 7);
    CU_ASSERT_EQUAL(topo_nnics_of(t, TOPO_NIC_OPENFABRICS), 1);
    const topo_nic *hca = topo_nic_of(t, TOPO_NIC_OPENFABRICS, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(hca);
    CU_ASSERT_STRING_EQUAL(hca->name, "mlx5_0");
    CU_ASSERT_STRING_EQUAL(hca->pci_bus_id, "0000:9a:00.0");
    CU_ASSERT_EQUAL(hca->numa, 1);
    CU_ASSERT_EQUAL(hca->kind, TOPO_NIC_OPENFABRICS);
    CU_ASSERT_PTR_NULL(topo_nic_of(t, TOPO_NIC_OPENFABRICS, 1));
    for (size_t i = 0; i < topo_nnics(t); i++)
        CU_ASSERT_EQUAL(topo_nic_at(t, i)->kind, TOPO_NIC_NETWORK);
    const topo_nic *docker = topo_nic_at(t, 3);
    CU_ASSERT_STRING_EQUAL(docker->name, "docker0");
    CU_ASSERT_STRING_EQUAL(docker->pci_bus_id, "");
    /* a list that does not fit is refused whole */
    char small[8] = "junk";
    errno = 0;
    CU_ASSERT_EQUAL(topo_nic_list(t, TOPO_NIC_NETWORK, small, sizeof small), -1);
    CU_ASSERT_EQUAL(errno, ENAMETOOLONG);
    CU_ASSERT_STRING_EQUAL(small, "");
    char fits[9];
    CU_ASSERT_EQUAL(topo_nic_list(t, TOPO_NIC_NETWORK, fits, sizeof fits), 2);
    CU_ASSERT_STRING_EQUAL(fits, "eth0,ib0");
    topo_destroy(&t);
}

/* A node with no interface but loopback and container bridges: "auto"
 * sets neither SOCKET_IFNAME (NCCL's own choice beats none), nor an HCA. */
static void test_nic_hints_none_left(void)
{
    static const char xml[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<!DOCTYPE topology SYSTEM \"hwloc2.dtd\">\n"
        "<topology version=\"2.0\">\n"
        "  <object type=\"Machine\" os_index=\"0\" cpuset=\"0x1\" complete_cpuset=\"0x1\""
        " allowed_cpuset=\"0x1\" nodeset=\"0x1\" complete_nodeset=\"0x1\""
        " allowed_nodeset=\"0x1\" gp_index=\"1\">\n"
        "    <object type=\"NUMANode\" os_index=\"0\" cpuset=\"0x1\" complete_cpuset=\"0x1\""
        " nodeset=\"0x1\" complete_nodeset=\"0x1\" gp_index=\"2\" local_memory=\"1073741824\"/>\n"
        "    <object type=\"PU\" os_index=\"0\" cpuset=\"0x1\" complete_cpuset=\"0x1\""
        " nodeset=\"0x1\" complete_nodeset=\"0x1\" gp_index=\"3\"/>\n"
        "    <object type=\"OSDev\" gp_index=\"4\" name=\"lo\" osdev_type=\"2\"/>\n"
        "    <object type=\"OSDev\" gp_index=\"5\" name=\"docker0\" osdev_type=\"2\"/>\n"
        "    <object type=\"OSDev\" gp_index=\"6\" name=\"veth9\" osdev_type=\"2\"/>\n"
        "  </object>\n"
        "</topology>\n";
    char *dir = unit_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char path[1024], err[256] = "";
    snprintf(path, sizeof path, "%s/lonely.xml", dir);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(xml, f);
    fclose(f);
    topology *t = topo_load(path, -1, err, sizeof err);
    if (!t)
        fprintf(stderr, "%s\n", err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(topo_nnics(t), 3);
    char **h = rankenv_nic_hints("auto", t);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL(count_vars(h), 0);
    rankenv_free(h);
    topo_destroy(&t);
    unit_rmrf(dir);
    free(dir);

    /* no topology at all: nothing either */
    h = rankenv_nic_hints("auto", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL(count_vars(h), 0);
    rankenv_free(h);
}

/* Interface names as given go to both variables verbatim, whatever the
 * node has; without --nccl-ifname there is no hint. */
static void test_nic_hints_given(void)
{
    static const char *const given[] = { "eth1", "^docker,lo", "=eth0,ib0", "ens" };
    for (size_t i = 0; i < N_ELEMS(given); i++) {
        char **h = hints_for(given[i], TOPOLOGIES "dgx-h100-8gpu-nvswitch.xml");
        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        const var_want both[] = {
            { "NCCL_SOCKET_IFNAME", given[i] }, { "GLOO_SOCKET_IFNAME", given[i] }, { NULL, NULL },
        };
        expect_vars(h, both);
        CU_ASSERT_PTR_NULL(rankenv_get(h, "NCCL_IB_HCA"));   /* only "auto" looks */
        CU_ASSERT_EQUAL(count_vars(h), 2);
        rankenv_free(h);
    }
    char **h = hints_for(NULL, TOPOLOGIES "dgx-h100-8gpu-nvswitch.xml");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL(count_vars(h), 0);
    rankenv_free(h);
}

/* The job's own environment beats the worker's hints, even set empty; the
 * hints it leaves alone reach every rank once. */
static void test_nic_hints_job_wins(void)
{
    char **hints = hints_for("auto", TOPOLOGIES "dgx-h100-8gpu-nvswitch.xml");
    CU_ASSERT_PTR_NOT_NULL_FATAL(hints);
    char *inherited[] = { "NCCL_SOCKET_IFNAME=eth7", "GLOO_SOCKET_IFNAME=", "FOO=bar" };
    Tern__JobSpec sp;
    job_spec(&sp, inherited, N_ELEMS(inherited));
    static const var_want job_wins[] = {
        { "NCCL_SOCKET_IFNAME", "eth7" }, { "GLOO_SOCKET_IFNAME", "" },
        { "NCCL_IB_HCA", "mlx5_0,mlx5_1,mlx5_2,mlx5_3" }, { "FOO", "bar" }, { NULL, NULL },
    };
    for (uint32_t r = 0; r < 4; r++) {
        rankenv_in in = rank_in(&sp, r);
        in.hints = hints;
        rankenv_free(build_expecting(&in, job_wins));
    }

    /* a job that sets none gets them all */
    job_spec(&sp, NULL, 0);
    rankenv_in in = rank_in(&sp, 0);
    in.hints = hints;
    static const var_want all[] = {
        { "NCCL_SOCKET_IFNAME", "ib0,ib1,ib2,ib3" }, { "GLOO_SOCKET_IFNAME", "ib0,ib1,ib2,ib3" },
        { "NCCL_IB_HCA", "mlx5_0,mlx5_1,mlx5_2,mlx5_3" }, { NULL, NULL },
    };
    rankenv_free(build_expecting(&in, all));

    /* no hints: nothing of the sort */
    in.hints = NULL;
    char **env = rankenv_build(&in);
    CU_ASSERT_PTR_NOT_NULL_FATAL(env);
    CU_ASSERT_EQUAL(count_prefix(env, "NCCL_"), 0);
    CU_ASSERT_EQUAL(count_prefix(env, "GLOO_"), 0);
    rankenv_free(env);
    rankenv_free(hints);
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
        { "array task", test_array_task },
        { "not an array task", test_not_array_task },
        { "nic hints auto", test_nic_hints_auto },
        { "nic hints none left", test_nic_hints_none_left },
        { "nic hints given", test_nic_hints_given },
        { "nic hints job wins", test_nic_hints_job_wins },
        { NULL, NULL },
    };
    return unit_add("rankenv", tests);
}

/* srun and scontrol as a batch script sees them. tern puts a directory
 * holding 'srun' and 'scontrol' (links to this program) first on a batch
 * script's PATH: a tern job is not a SLURM job, even on a node where SLURM
 * is installed. srun starts a step of the job through ternd (the job's
 * tasks on its nodes, with the per-task SLURM_* and torchrun variables) and
 * exits with the largest exit status of its tasks. */
#include "cli/cli.h"

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/hostlist.h"
#include "common/jobspec.h"
#include "common/parse.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define POLL_MS 100

static const char srun_usage[] =
    "usage: srun [options] COMMAND [ARGS...]      (inside a tern batch script)\n"
    "  -N, --nodes N            nodes of the job to run on (default: all, or -n of them)\n"
    "  -n, --ntasks N           tasks in all (a multiple of the nodes)\n"
    "      --ntasks-per-node n  tasks per node (default: the job's)\n"
    "  -w, --nodelist LIST      these of the job's nodes (node1,node2 or node[1-2])\n"
    "  -c, --cpus-per-task c    CPUs per task (default: the job's)\n"
    "  -l, --label, -u, --unbuffered, --mpi=..., --export=ALL, --kill-on-bad-exit are\n"
    "  accepted (the tasks' output is written as it comes)\n"
    "The tasks' output goes where srun's goes (the batch script's output file).\n";

/* The job's shape as the batch environment gives it. */
static uint32_t env_u32(const char *key, uint32_t dflt)
{
    const char *v = getenv(key);
    uint32_t n;
    return v && parse_u32(v, 1, UINT32_MAX, &n) == 0 ? n : dflt;
}

/* Where fd 'fd' writes, when it is a regular file. */
static bool fd_path(int fd, char *buf, size_t len)
{
    char link[64];
    struct stat st;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        return false;
    ssize_t n = readlink(link, buf, len - 1);
    if (n <= 0 || buf[0] != '/')
        return false;
    buf[n] = '\0';
    return true;
}

typedef struct srun_opts {
    uint32_t nodes, ntasks, tpn, cpus;
    char nodelist[4096];
} srun_opts;

static int srun_parse(int argc, char **argv, srun_opts *o)
{
    static const struct option longopts[] = {
        { "nodes", required_argument, 0, 'N' }, { "ntasks", required_argument, 0, 'n' },
        { "ntasks-per-node", required_argument, 0, 'T' },
        { "nodelist", required_argument, 0, 'w' },
        { "cpus-per-task", required_argument, 0, 'c' }, { "label", no_argument, 0, 'l' },
        { "mpi", required_argument, 0, 'M' }, { "export", required_argument, 0, 'E' },
        { "kill-on-bad-exit", optional_argument, 0, 'K' }, { "help", no_argument, 0, 'h' },
        { "unbuffered", no_argument, 0, 'u' },
        { 0, 0, 0, 0 },
    };
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+:N:n:w:c:luh", longopts, NULL)) != -1) {
        uint32_t *dst = c == 'N' ? &o->nodes : c == 'n' ? &o->ntasks : c == 'T' ? &o->tpn
                        : c == 'c'             ? &o->cpus
                                               : NULL;
        if (dst) {
            if (parse_u32(optarg, 1, JOBSPEC_MAX_NODES, dst) < 0) {
                cli_error("srun", "'%s': expected a count >= 1", optarg);
                return -1;
            }
        } else if (c == 'w') {
            snprintf(o->nodelist, sizeof o->nodelist, "%s", optarg);
        } else if (c == 'h') {
            fputs(srun_usage, stdout);
            return 0;
        } else if (c == ':') {
            cli_error("srun", "option '%s' needs a value", argv[optind - 1]);
            return -1;
        } else if (c == '?') {
            char why[256];
            cli_bad_option(longopts, argv, why, sizeof why);
            cli_error("srun", "%s (tern's srun runs steps of a tern job; see srun --help)", why);
            return -1;
        }
    }
    if (optind >= argc) {
        cli_error("srun", "no command given");
        return -1;
    }
    return optind;
}

/* Resolves nodes x tasks per node from the options and the job's shape. */
static int srun_shape(const srun_opts *o, uint32_t job_nodes, uint32_t job_tpn, uint32_t *nodes,
                      uint32_t *tpn)
{
    uint32_t n = o->nodes ? o->nodes : o->ntasks && o->ntasks < job_nodes ? o->ntasks : job_nodes;
    if (o->ntasks && o->tpn && o->ntasks != n * o->tpn) {
        cli_error("srun", "-n %u is not -N %u x --ntasks-per-node %u", o->ntasks, n, o->tpn);
        return -1;
    }
    uint32_t t = o->tpn ? o->tpn : o->ntasks ? o->ntasks / n : job_tpn;
    if (o->ntasks && t * n != o->ntasks) {
        cli_error("srun", "-n %u tasks do not spread evenly over %u nodes", o->ntasks, n);
        return -1;
    }
    *nodes = n;
    *tpn = t ? t : 1;
    return 0;
}

/* How a step is: a query the rate limit refused is asked again, later and
 * later (the step runs on meanwhile: many sruns of one user share a bucket). */
static Tern__Envelope *step_query(client *c, const char *cmd, Tern__Envelope *env)
{
    char err[1024];
    for (uint32_t wait = POLL_MS;; wait = wait < 2000 ? wait * 2 : 2000) {
        Tern__Envelope *rep = client_call(c, env, 0, err, sizeof err);
        if (rep && rep->body_case == TERN__ENVELOPE__BODY_STEP_INFO)
            return rep;
        if (rep) {
            cli_error(cmd, "unexpected reply (type %d) from the scheduler", (int)rep->body_case);
            wire_free(rep);
            return NULL;
        }
        if (!strstr(err, "ternd: rate limit")) {
            cli_error(cmd, "%s", err);
            return NULL;
        }
        clock_sleep_ms(wait);
    }
}

/* Runs 'spec' as a step of job_id's current attempt on 'nodes' (or the
 * first spec->nodes of the job's) and waits for it. Returns the exit
 * status for the command (its first failing task's), or 1 on errors. */
static int run_step(const char *cmd, uint64_t job_id, Tern__JobSpec *spec, char **nodes,
                    size_t nnodes)
{
    client *c = cli_connect(cmd, NULL);
    if (!c)
        return 1;
    Tern__Envelope env;
    Tern__StepRequest rq = TERN__STEP_REQUEST__INIT;
    wire_init(&env, 0);
    rq.job_id = job_id;
    const char *att = getenv("TERN_ATTEMPT");
    if (!att || parse_u32(att, 0, UINT32_MAX, &rq.attempt) < 0)
        rq.attempt = 0;
    rq.spec = spec;
    rq.nodelist = nodes;
    rq.n_nodelist = nnodes;
    env.body_case = TERN__ENVELOPE__BODY_STEP;
    env.step = &rq;
    Tern__Envelope *rep = cli_call(c, cmd, &env, TERN__ENVELOPE__BODY_STEP_INFO);
    int rc = 1;
    while (rep && !rep->step_info->done) {
        uint32_t id = rep->step_info->step;
        wire_free(rep);
        clock_sleep_ms(POLL_MS);
        Tern__StepQuery q = TERN__STEP_QUERY__INIT;
        wire_init(&env, 0);
        q.job_id = job_id;
        q.attempt = rq.attempt;
        q.step = id;
        env.body_case = TERN__ENVELOPE__BODY_STEP_QUERY;
        env.step_query = &q;
        rep = step_query(c, cmd, &env);
    }
    if (rep) {
        if (rep->step_info->message[0])
            fprintf(stderr, "%s: %s\n", cmd, cli_esc(rep->step_info->message));
        rc = rep->step_info->exit_code < 0 ? 1 : rep->step_info->exit_code & 0xff;
        wire_free(rep);
    }
    client_close(&c);
    return rc;
}

/* The job this batch script (or mpirun) belongs to, from its environment. */
static int batch_job(const char *cmd, uint64_t *job_id)
{
    const char *jid = getenv("TERN_JOB_ID");
    if (!jid || !getenv("TERN_SCHEDULER") || cli_job_id(cmd, jid, job_id) < 0) {
        cli_error(cmd, "not inside a tern batch job (TERN_JOB_ID and TERN_SCHEDULER unset): "
                  "submit the script with 'tern submit'");
        return -1;
    }
    return 0;
}

/* A step's fixed parts: the command, this environment (less the job's
 * key: cli_env), umask and directory. Returns the environment array, which
 * the caller frees, or NULL after saying it is out of memory. */
static char **step_spec(const char *cmd, Tern__JobSpec *spec, char **argv, size_t argc,
                        char *cwd, size_t cwdlen)
{
    if (!getcwd(cwd, cwdlen))
        snprintf(cwd, cwdlen, "/");
    const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    spec->name = getenv("TERN_JOB_NAME") ? getenv("TERN_JOB_NAME") : (char *)base;
    spec->argv = argv;
    spec->n_argv = argc;
    spec->env = cli_env(&spec->n_env);
    if (!spec->env)
        cli_error(cmd, "out of memory");
    spec->umask = cli_umask();
    spec->cwd = cwd;
    spec->launcher = "direct";
    spec->slurm_env = true;
    return spec->env;
}

int cmd_srun(int argc, char **argv)
{
    srun_opts o = { 0 };
    int first = srun_parse(argc, argv, &o);
    if (first <= 0)
        return first == 0 ? 0 : 2;
    uint64_t job_id = 0;
    if (batch_job("srun", &job_id) < 0)
        return 2;
    uint32_t nodes, tpn;
    if (srun_shape(&o, env_u32("SLURM_JOB_NUM_NODES", 1), env_u32("SLURM_NTASKS_PER_NODE", 1),
                   &nodes, &tpn) < 0)
        return 2;
    size_t nlist = 0;
    char **list = NULL, err[512];
    if (o.nodelist[0]) {
        if (!(list = hostlist_expand(o.nodelist, &nlist, err, sizeof err))) {
            cli_error("srun", "-w %s: %s", o.nodelist, err);
            return 2;
        }
        if (!o.nodes)
            nodes = (uint32_t)nlist;
        if (!o.tpn && o.ntasks)
            tpn = o.ntasks / nodes ? o.ntasks / nodes : 1;
    }
    Tern__JobSpec spec = TERN__JOB_SPEC__INIT;
    char cwd[FS_PATH_LEN], out[FS_PATH_LEN], errp[FS_PATH_LEN];
    char **env = step_spec("srun", &spec, argv + first, (size_t)(argc - first), cwd, sizeof cwd);
    if (!env) {
        hostlist_free(list);
        return 1;
    }
    /* The tasks write where srun writes: the batch script's output file;
     * anything else (a terminal, a pipe) becomes a file per task here. */
    if (!fd_path(1, out, sizeof out))
        snprintf(out, sizeof out, "%.4000s/step-%%t.out",
                 getenv("TERN_JOB_DIR") ? getenv("TERN_JOB_DIR") : cwd);
    bool err_apart = fd_path(2, errp, sizeof errp) && strcmp(errp, out) != 0;

    spec.nodes = nodes;
    spec.tasks_per_node = tpn;
    spec.cpus_per_task = o.cpus ? o.cpus : env_u32("SLURM_CPUS_PER_TASK", 1);
    spec.gpus_per_node = env_u32("SLURM_GPUS_ON_NODE", 0);
    spec.stdout_pattern = out;
    spec.stderr_pattern = err_apart ? errp : "";
    int rc = 2;
    if (jobspec_validate(&spec, err, sizeof err) < 0)
        cli_error("srun", "%s", err);
    else
        rc = run_step("srun", job_id, &spec, list, nlist);
    free(env);
    hostlist_free(list);
    return rc;
}

int cmd_scontrol(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "show") == 0 &&
        (strcmp(argv[2], "hostnames") == 0 || strcmp(argv[2], "hostname") == 0)) {
        const char *expr = argc >= 4 ? argv[3] : getenv("SLURM_JOB_NODELIST");
        if (!expr) {
            cli_error("scontrol", "show hostnames: no list given and SLURM_JOB_NODELIST unset");
            return 2;
        }
        size_t n;
        char err[256];
        char **names = hostlist_expand(expr, &n, err, sizeof err);
        if (!names) {
            cli_error("scontrol", "show hostnames %s: %s", expr, err);
            return 2;
        }
        for (size_t i = 0; i < n; i++)
            puts(names[i]);
        hostlist_free(names);
        return 0;
    }
    cli_error("scontrol", "tern's scontrol knows 'show hostnames [LIST]' only (inside a tern job)");
    return 2;
}

/* Open MPI's launch agent (plm_rsh_agent) for --launcher mpi: mpirun runs
 * 'tern-rsh [options] HOST COMMAND...' where it would run ssh; the command
 * (an Open MPI daemon) runs on HOST's worker as a step of the job, through
 * a shell as ssh would run it, and this process lasts as long as it does. */
int cmd_rsh(int argc, char **argv)
{
    int first = 1;
    while (first < argc && argv[first][0] == '-')
        first++;
    if (argc - first < 2) {
        cli_error("tern-rsh", "usage: tern-rsh [options] HOST COMMAND...");
        return 2;
    }
    uint64_t job_id;
    if (batch_job("tern-rsh", &job_id) < 0)
        return 2;
    /* Each node's daemon gets a temporary directory of its own, named by
     * job and node, so that two "nodes" on one machine (a test, a fat
     * node split in two) never share Open MPI's session files. */
    const char *tmp = getenv("TMPDIR") && getenv("TMPDIR")[0] ? getenv("TMPDIR") : "/tmp";
    /* (quoted for the shell: ' becomes '\'' ; node names are [A-Za-z0-9._-]) */
    char qtmp[2100] = "";
    for (size_t i = 0, o = 0; tmp[i] && o + 5 < sizeof qtmp; i++) {
        if (tmp[i] == '\'')
            o += (size_t)snprintf(qtmp + o, sizeof qtmp - o, "'\\''");
        else
            qtmp[o++] = tmp[i];
    }
    char prefix[FS_MSG_LEN];
    snprintf(prefix, sizeof prefix, "TMPDIR='%s/tern-mpi-%llu-%s'; mkdir -p \"$TMPDIR\"; "
             "export TMPDIR; exec", qtmp, (unsigned long long)job_id, argv[first]);
    size_t len = strlen(prefix) + 2;
    for (int i = first + 1; i < argc; i++)
        len += strlen(argv[i]) + 1;
    char *line = malloc(len);
    if (!line)
        return 1;
    strcpy(line, prefix);
    /* The daemon stays in the foreground, so that the step lasts as long
     * as it does and is killed with the job (it would detach otherwise). */
    for (int i = first + 1; i < argc; i++)
        if (strcmp(argv[i], "--daemonize") != 0)
            strcat(strcat(line, line[0] ? " " : ""), argv[i]);
    char *words[] = { "/bin/sh", "-c", line, NULL };
    Tern__JobSpec spec = TERN__JOB_SPEC__INIT;
    char cwd[FS_PATH_LEN], out[FS_SUBPATH_LEN];
    char **env = step_spec("tern-rsh", &spec, words, 3, cwd, sizeof cwd);
    if (!env) {
        free(line);
        return 1;
    }
    snprintf(out, sizeof out, "%.4000s/mpi-daemon-%%N.out",
             getenv("TERN_JOB_DIR") ? getenv("TERN_JOB_DIR") : cwd);
    spec.nodes = 1;
    spec.tasks_per_node = 1;
    spec.cpus_per_task = 1;
    spec.launcher = "mpi";      /* an Open MPI daemon: no rank variables of its own */
    spec.slurm_env = false;
    spec.stdout_pattern = out;
    spec.stderr_pattern = "";
    char *host = argv[first];
    int rc = run_step("tern-rsh", job_id, &spec, &host, 1);
    free(env);
    free(line);
    return rc;
}

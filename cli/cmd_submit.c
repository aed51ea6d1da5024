/* tern submit: a command, or a script whose #TERN / #SBATCH lines carry
 * the same options (the command line wins, as with sbatch). */
#include "cli/cli.h"
#include "cli/submit_opts.h"

#include "common/fsutil.h"
#include "common/jobspec.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_MAX_RESTARTS 3

static const char usage[] =
    "usage: tern submit [options] [--] COMMAND [ARGS...]\n"
    "       tern submit [options] SCRIPT [ARGS...]   (#TERN / #SBATCH lines give options)\n"
    "  -N, --nodes N             nodes (default 1)\n"
    "      --ntasks-per-node n   ranks per node (default 1)\n"
    "  -n, --ntasks N            ranks in all (a multiple of -N)\n"
    "      --gpus-per-node g     GPUs per node (also --gres gpu:g)\n"
    "  -G, --gpus G              GPUs for the whole job, spread evenly over the nodes\n"
    "  -c, --cpus-per-task c     CPUs per rank (default 1)\n"
    "  -t, --time T              time limit (M, H:M:S, D-H:M ...)\n"
    "  -J, --job-name NAME       job name\n"
    "  -o, --output PATTERN      stdout file per rank (%j job, %t rank, %n node rank,\n"
    "                            %N node, %x name, %A array, %a task); default: the scheduler's log directory\n"
    "  -e, --error PATTERN       stderr file (default: with stdout)\n"
    "  -D, --chdir DIR           working directory of the ranks (default: here)\n"
    "      --max-restarts K      restarts after a node failure or an unwarned requeue\n"
    "                            request (exit 75) (default 3; warned preemptions are free)\n"
    "      --preemptible         may be preempted (checkpoint and requeue)\n"
    "      --label KEY=VALUE     kept in the job's audit record (tern history), e.g.\n"
    "                            dataset=sha256:..., model=v3, commit=ab12cd (repeatable)\n"
    "      --requeue, --no-requeue  sbatch's: requeued after a node failure (the\n"
    "                            default), or never (--max-restarts 0)\n"
    "      --priority P          higher runs first; a higher-priority job preempts\n"
    "                            running --preemptible jobs of lower priority\n"
    "  -p, --partition P         spot, ondemand, or a partition= label of the nodes\n"
    "  -d, --dependency D        afterok:ID[:ID..], afterany:, afternotok:, after:\n"
    "                            (comma: all must hold); an array's id means every task\n"
    "  -a, --array SPEC          job array: 0-99, 1,3,5, 0-15:4, with %N at most N\n"
    "                            tasks at once (TERN_ARRAY_TASK_ID, SLURM_ARRAY_TASK_ID)\n"
    "      --signal SIG[@SECS]   signal before preemption or the time limit\n"
    "      --checkpoint-dir DIR  TERN_CHECKPOINT_DIR of the ranks\n"
    "      --launcher direct     how ranks start\n"
    "      --slurm-env           give ranks the SLURM_* variables too\n"
    "      --parsable            print only the job id\n"
    "      --scheduler ENDPOINT  tcp://HOST:PORT of ternd\n"
    "      --insecure            talk to a ternd that runs without keys in plain text\n"
    "                            (also TERN_INSECURE=1); not in #TERN lines\n"
    "The job gets this environment (less TERN_JOB_KEY, which never leaves a node)\n"
    "and this umask (for the files and directories made for it).\n";

static void warn_line(const char *msg)
{
    fprintf(stderr, "tern: submit: %s\n", msg);
}

/* A script is a readable regular file starting with "#!". Returns 1 with its
 * text, 0 when 'arg' is not one, -1 after printing why it cannot be read. */
static int read_script(const char *arg, char **text, size_t *len)
{
    struct stat st;
    bool pathlike = strchr(arg, '/') != NULL;
    if (stat(arg, &st) < 0) {
        if (pathlike) {
            cli_error("submit", "cannot read script '%s': %s", arg, strerror(errno));
            return -1;
        }
        return 0;   /* a command found on the nodes' PATH */
    }
    if (S_ISDIR(st.st_mode)) {
        cli_error("submit", "cannot read script '%s': Is a directory", arg);
        return -1;
    }
    /* A program (python3 by its path, say) is not read: only "#!" makes a
     * script, and only a script is held to the 4 MiB a job may carry. */
    char head[2] = { 0, 0 };
    FILE *f = fopen(arg, "rb");
    size_t got = f ? fread(head, 1, 2, f) : 0;
    if (f)
        fclose(f);
    if (got < 2 || head[0] != '#' || head[1] != '!')
        return 0;
    if (fs_read_all(arg, JOBSPEC_MAX_SCRIPT, text, len) < 0) {
        if (pathlike || errno == EFBIG) {
            cli_error("submit", "cannot read script '%s': %s", arg,
                      errno == EFBIG ? "larger than 4 MiB" : strerror(errno));
            return -1;
        }
        return 0;
    }
    if (strncmp(*text, "#!", 2) != 0) {
        free(*text);
        *text = NULL;
        return 0;
    }
    return 1;
}

static void make_token(char *out, size_t len)
{
    unsigned char r[16];
    if (getrandom(r, sizeof r, 0) != sizeof r)
        for (size_t i = 0; i < sizeof r; i++)
            r[i] = (unsigned char)(rand() ^ getpid() >> (i % 8));
    for (size_t i = 0; i < sizeof r && 2 * i + 2 < len; i++)
        snprintf(out + 2 * i, 3, "%02x", r[i]);
}

static int absolute(const char *cwd, const char *path, char *out, size_t len, const char *what)
{
    if (fs_absolute(cwd, path, out, len) < 0) {
        cli_error("submit", "%s '%s': path too long", what, path);
        return -1;
    }
    return 0;
}

int cmd_submit(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage, stdout);
        return 0;
    }
    /* A lost node costs a job a restart, not its life, unless asked. */
    submit_opts cmdline = { 0 }, opts = { .max_restarts = DEFAULT_MAX_RESTARTS };
    char err[1024];
    int first = submit_opts_parse(&cmdline, argc, argv, "submit", err, sizeof err);
    if (first < 0) {
        fprintf(stderr, "tern: %s (see 'tern submit --help')\n", err);
        return 2;
    }
    if (first >= argc) {
        cli_error("submit", "no command given (see 'tern submit --help')");
        return 2;
    }
    char *script = NULL, **environment = NULL;
    size_t script_len = 0;
    /* After "--" comes a command, run as every rank, even a script. */
    bool command = first > 0 && strcmp(argv[first - 1], "--") == 0;
    int is_script = command ? 0 : read_script(argv[first], &script, &script_len);
    if (is_script < 0)
        return 1;
    if (is_script && submit_directives(&opts, argv[first], script, warn_line, err,
                                       sizeof err) < 0) {
        fprintf(stderr, "tern: submit: %s\n", err);
        free(script);
        return 2;
    }
    submit_opts_merge(&opts, &cmdline);
    if (cmdline.insecure)
        client_allow_plaintext();

    char cwd[4096], workdir[4096], outp[4096], errp[4096], ckpt[4096], script_abs[4096];
    if (!getcwd(cwd, sizeof cwd)) {
        cli_error("submit", "cannot read the current directory: %s", strerror(errno));
        free(script);
        return 1;
    }
    int rc = 1;
    uint32_t nodes, tpn;
    uint32_t gpn;
    if (submit_opts_shape(&opts, &nodes, &tpn, err, sizeof err) < 0 ||
        submit_opts_gpus(&opts, nodes, &gpn, err, sizeof err) < 0) {
        cli_error("submit", "%s", err);
        rc = 2;
        goto out;
    }
    if (absolute(cwd, (opts.set & SO_CHDIR) ? opts.chdir : ".", workdir, sizeof workdir,
                 "--chdir") < 0 ||
        ((opts.set & SO_OUTPUT) && absolute(cwd, opts.output, outp, sizeof outp, "-o") < 0) ||
        ((opts.set & SO_ERROR) && absolute(cwd, opts.error, errp, sizeof errp, "-e") < 0) ||
        ((opts.set & SO_CKPT) &&
         absolute(cwd, opts.checkpoint_dir, ckpt, sizeof ckpt, "--checkpoint-dir") < 0) ||
        (is_script && absolute(cwd, argv[first], script_abs, sizeof script_abs, "script") < 0))
        goto out;
    if (!(opts.set & SO_CHDIR))
        snprintf(workdir, sizeof workdir, "%s", cwd);

    Tern__JobSpec spec = TERN__JOB_SPEC__INIT;
    char token[40], *name;
    struct passwd *pw = getpwuid(getuid());
    make_token(token, sizeof token);
    name = opts.name[0] ? opts.name : strrchr(argv[first], '/') ? strrchr(argv[first], '/') + 1
                                                                : argv[first];
    spec.name = name;
    /* A uid without a passwd entry (a container, a test) is named by number. */
    char uidname[32];
    snprintf(uidname, sizeof uidname, "uid%u", (unsigned)getuid());
    spec.user = pw ? pw->pw_name : uidname;
    spec.n_argv = (size_t)(argc - first);
    spec.argv = argv + first;
    if (is_script) {
        /* As sbatch: the script runs once, on the first node; srun in it
         * starts the job's tasks. */
        spec.batch = true;
        argv[first] = script_abs;
        spec.script.data = (uint8_t *)script;
        spec.script.len = script_len;
    }
    environment = cli_env(&spec.n_env);
    if (!environment) {
        cli_error("submit", "out of memory");
        goto out;
    }
    spec.env = environment;
    spec.umask = cli_umask();
    spec.cwd = workdir;
    spec.nodes = nodes;
    spec.tasks_per_node = tpn;
    spec.gpus_per_node = gpn;
    spec.cpus_per_task = (opts.set & SO_CPUS) ? opts.cpus_per_task : 1;
    spec.time_limit_s = opts.time_limit_s;
    spec.stdout_pattern = (opts.set & SO_OUTPUT) ? outp : "";
    spec.stderr_pattern = (opts.set & SO_ERROR) ? errp : "";
    spec.max_restarts = opts.max_restarts;
    spec.preemptible = opts.preemptible;
    spec.priority = opts.priority;
    spec.preempt_signal = opts.signal;
    spec.signal_secs = opts.signal_secs;
    spec.checkpoint_dir = (opts.set & SO_CKPT) ? ckpt : "";
    spec.launcher = opts.launcher[0] ? opts.launcher : "direct";
    spec.slurm_env = opts.slurm_env;
    spec.token = token;
    spec.partition = opts.partition;
    char *labels[64];
    for (uint32_t i = 0; i < opts.nlabels; i++)
        labels[i] = opts.labels[i];
    spec.labels = labels;
    spec.n_labels = opts.nlabels;
    spec.dependency = opts.dependency;
    spec.array = opts.array;
    if (jobspec_validate(&spec, err, sizeof err) < 0) {
        cli_error("submit", "%s", err);
        rc = 2;
        goto out;
    }

    client *c = cli_connect("submit", opts.scheduler[0] ? opts.scheduler : NULL);
    if (!c)
        goto out;
    Tern__Envelope env;
    Tern__SubmitRequest rq = TERN__SUBMIT_REQUEST__INIT;
    wire_init(&env, 0);
    rq.spec = &spec;
    env.body_case = TERN__ENVELOPE__BODY_SUBMIT;
    env.submit = &rq;
    Tern__Envelope *rep = cli_call(c, "submit", &env, TERN__ENVELOPE__BODY_SUBMITTED);
    if (rep) {
        if (opts.parsable)
            printf("%llu\n", (unsigned long long)rep->submitted->job_id);
        else if (rep->submitted->count > 1)
            printf("Submitted job array %llu (%u tasks, jobs %llu-%llu)\n",
                   (unsigned long long)rep->submitted->job_id, rep->submitted->count,
                   (unsigned long long)rep->submitted->job_id,
                   (unsigned long long)(rep->submitted->job_id + rep->submitted->count - 1));
        else
            printf("Submitted job %llu\n", (unsigned long long)rep->submitted->job_id);
        rc = 0;
    }
    wire_free(rep);
    client_close(&c);
out:
    free(environment);
    free(script);
    return rc;
}

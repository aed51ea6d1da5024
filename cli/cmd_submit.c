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

/* One submission as it is put together: the options (script directives
 * under the command line's), the script, and what the spec points into. */
typedef struct submission {
    submit_opts opts;
    int first;                     /* argv index of the command or script */
    int is_script;
    char *script;
    size_t script_len;
    char **environment;
    char cwd[JOBSPEC_MAX_PATH + 1], workdir[JOBSPEC_MAX_PATH + 1];
    char outp[JOBSPEC_MAX_PATH + 1], errp[JOBSPEC_MAX_PATH + 1];
    char ckpt[JOBSPEC_MAX_PATH + 1], script_abs[JOBSPEC_MAX_PATH + 1];
    char token[40], uidname[32];
    char *labels[JOBSPEC_MAX_LABELS];
} submission;

/* The command line, then the script's directives under it. Returns -1 to
 * go on, else the exit status after printing why. */
static int read_options(submission *sub, int argc, char **argv)
{
    /* A lost node costs a job a restart, not its life, unless asked. */
    submit_opts cmdline = { 0 };
    sub->opts = (submit_opts){ .max_restarts = DEFAULT_MAX_RESTARTS };
    char err[1024];
    sub->first = submit_opts_parse(&cmdline, argc, argv, "submit", err, sizeof err);
    if (sub->first < 0) {
        fprintf(stderr, "tern: %s (see 'tern submit --help')\n", err);
        return 2;
    }
    if (sub->first >= argc) {
        cli_error("submit", "no command given (see 'tern submit --help')");
        return 2;
    }
    /* After "--" comes a command, run as every rank, even a script. */
    const char *what = argv[sub->first];
    bool command = sub->first > 0 && strcmp(argv[sub->first - 1], "--") == 0;
    sub->is_script = command ? 0 : read_script(what, &sub->script, &sub->script_len);
    if (sub->is_script < 0)
        return 1;
    if (sub->is_script && submit_directives(&sub->opts, what, sub->script, warn_line, err,
                                            sizeof err) < 0) {
        fprintf(stderr, "tern: submit: %s\n", err);
        return 2;
    }
    submit_opts_merge(&sub->opts, &cmdline);
    if (cmdline.insecure)
        client_allow_plaintext();
    return -1;
}

/* The paths the job names, made absolute against the current directory.
 * Returns 0, or -1 after printing why. */
static int resolve_paths(submission *sub, const char *script_path)
{
    const submit_opts *o = &sub->opts;
    if (!getcwd(sub->cwd, sizeof sub->cwd)) {
        cli_error("submit", "cannot read the current directory: %s", strerror(errno));
        return -1;
    }
    const char *cwd = sub->cwd;
    if (absolute(cwd, (o->set & SO_CHDIR) ? o->chdir : ".", sub->workdir, sizeof sub->workdir,
                 "--chdir") < 0 ||
        ((o->set & SO_OUTPUT) && absolute(cwd, o->output, sub->outp, sizeof sub->outp, "-o") < 0) ||
        ((o->set & SO_ERROR) && absolute(cwd, o->error, sub->errp, sizeof sub->errp, "-e") < 0) ||
        ((o->set & SO_CKPT) && absolute(cwd, o->checkpoint_dir, sub->ckpt, sizeof sub->ckpt,
                                        "--checkpoint-dir") < 0) ||
        (sub->is_script && absolute(cwd, script_path, sub->script_abs, sizeof sub->script_abs,
                                    "script") < 0))
        return -1;
    if (!(o->set & SO_CHDIR))
        snprintf(sub->workdir, sizeof sub->workdir, "%s", cwd);
    return 0;
}

/* Who submits, and the command: a uid without a passwd entry (a container,
 * a test) is named by number. */
static void fill_identity(Tern__JobSpec *spec, submission *sub, int argc, char **argv)
{
    const char *cmd = argv[sub->first], *base = strrchr(cmd, '/');
    spec->name = sub->opts.name[0] ? sub->opts.name : (char *)(base ? base + 1 : cmd);
    struct passwd *pw = getpwuid(getuid());
    snprintf(sub->uidname, sizeof sub->uidname, "uid%u", (unsigned)getuid());
    spec->user = pw ? pw->pw_name : sub->uidname;
    spec->n_argv = (size_t)(argc - sub->first);
    spec->argv = argv + sub->first;
    if (sub->is_script) {
        /* As sbatch: the script runs once, on the first node; srun in it
         * starts the job's tasks. */
        spec->batch = true;
        argv[sub->first] = sub->script_abs;
        spec->script.data = (uint8_t *)sub->script;
        spec->script.len = sub->script_len;
    }
}

/* The options into the spec. */
static void fill_options(Tern__JobSpec *spec, submission *sub)
{
    const submit_opts *o = &sub->opts;
    spec->cpus_per_task = (o->set & SO_CPUS) ? o->cpus_per_task : 1;
    spec->time_limit_s = o->time_limit_s;
    spec->stdout_pattern = (o->set & SO_OUTPUT) ? sub->outp : "";
    spec->stderr_pattern = (o->set & SO_ERROR) ? sub->errp : "";
    spec->max_restarts = o->max_restarts;
    spec->preemptible = o->preemptible;
    spec->priority = o->priority;
    spec->preempt_signal = o->signal;
    spec->signal_secs = o->signal_secs;
    spec->checkpoint_dir = (o->set & SO_CKPT) ? sub->ckpt : "";
    spec->launcher = (char *)(o->launcher[0] ? o->launcher : "direct");
    spec->slurm_env = o->slurm_env;
    spec->partition = (char *)o->partition;
    for (uint32_t i = 0; i < o->nlabels; i++)
        sub->labels[i] = (char *)o->labels[i];
    spec->labels = sub->labels;
    spec->n_labels = o->nlabels;
    spec->dependency = (char *)o->dependency;
    spec->array = (char *)o->array;
    make_token(sub->token, sizeof sub->token);
    spec->token = sub->token;
    spec->umask = cli_umask();
    spec->cwd = sub->workdir;
}

/* Sends the job and prints its id as sbatch does. Returns the exit status. */
static int send_job(Tern__JobSpec *spec, const submit_opts *o)
{
    client *c = cli_connect("submit", o->scheduler[0] ? o->scheduler : NULL);
    if (!c)
        return 1;
    Tern__Envelope env;
    Tern__SubmitRequest rq = TERN__SUBMIT_REQUEST__INIT;
    wire_init(&env, 0);
    rq.spec = spec;
    env.body_case = TERN__ENVELOPE__BODY_SUBMIT;
    env.submit = &rq;
    Tern__Envelope *rep = cli_call(c, "submit", &env, TERN__ENVELOPE__BODY_SUBMITTED);
    if (rep) {
        const Tern__SubmitReply *r = rep->submitted;
        if (o->parsable)
            printf("%llu\n", (unsigned long long)r->job_id);
        else if (r->count > 1)
            printf("Submitted job array %llu (%u tasks, jobs %llu-%llu)\n",
                   (unsigned long long)r->job_id, r->count, (unsigned long long)r->job_id,
                   (unsigned long long)(r->job_id + r->count - 1));
        else
            printf("Submitted job %llu\n", (unsigned long long)r->job_id);
    }
    int rc = rep ? 0 : 1;
    wire_free(rep);
    client_close(&c);
    return rc;
}

/* Builds the spec and sends it. Returns the exit status. */
static int submit(submission *sub, int argc, char **argv)
{
    char err[1024];
    Tern__JobSpec spec = TERN__JOB_SPEC__INIT;
    if (submit_opts_shape(&sub->opts, &spec.nodes, &spec.tasks_per_node, err, sizeof err) < 0 ||
        submit_opts_gpus(&sub->opts, spec.nodes, &spec.gpus_per_node, err, sizeof err) < 0) {
        cli_error("submit", "%s", err);
        return 2;
    }
    if (resolve_paths(sub, argv[sub->first]) < 0)
        return 1;
    fill_identity(&spec, sub, argc, argv);
    fill_options(&spec, sub);
    if (!(sub->environment = cli_env(&spec.n_env))) {
        cli_error("submit", "out of memory");
        return 1;
    }
    spec.env = sub->environment;
    if (jobspec_validate(&spec, err, sizeof err) < 0) {
        cli_error("submit", "%s", err);
        return 2;
    }
    return send_job(&spec, &sub->opts);
}

int cmd_submit(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage, stdout);
        return 0;
    }
    submission *sub = calloc(1, sizeof *sub);
    if (!sub) {
        cli_error("submit", "out of memory");
        return 1;
    }
    int rc = read_options(sub, argc, argv);
    if (rc < 0)
        rc = submit(sub, argc, argv);
    free(sub->environment);
    free(sub->script);
    free(sub);
    return rc;
}

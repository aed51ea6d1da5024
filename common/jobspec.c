#include "common/jobspec.h"

#include "common/parse.h"

#include <ctype.h>

#include <stdio.h>
#include <string.h>

static int long_string(const char *s, size_t max)
{
    return s && strnlen(s, max + 1) > max;
}

/* --label KEY=VALUE: how many, and each one's form. */
static int check_labels(const Tern__JobSpec *spec, char *err, size_t errlen)
{
    if (spec->n_labels > JOBSPEC_MAX_LABELS) {
        snprintf(err, errlen, "--label: more than %u labels", JOBSPEC_MAX_LABELS);
        return -1;
    }
    for (size_t i = 0; i < spec->n_labels; i++) {
        const char *l = spec->labels[i], *eq = l ? strchr(l, '=') : NULL;
        bool ok = eq && eq > l && strlen(l) <= JOBSPEC_MAX_LABEL;
        for (const char *p = l; ok && p < eq; p++)
            ok = isalnum((unsigned char)*p) || strchr("_.-/", *p);
        if (!ok || !text_printable(eq)) {
            snprintf(err, errlen, "--label '%.64s': expected KEY=VALUE (KEY of letters, digits, "
                     "_ . - /; at most %u characters, no control characters)", l ? l : "",
                     JOBSPEC_MAX_LABEL);
            return -1;
        }
    }
    return 0;
}

/* Nodes, tasks, CPUs and GPUs: each within its range, and the ranks they make. */
static int check_shape(const Tern__JobSpec *spec, char *err, size_t errlen)
{
    if (spec->nodes < 1 || spec->nodes > JOBSPEC_MAX_NODES) {
        snprintf(err, errlen, "-N %u: a job needs 1 to %u nodes", spec->nodes, JOBSPEC_MAX_NODES);
        return -1;
    }
    if (spec->tasks_per_node < 1 || spec->tasks_per_node > JOBSPEC_MAX_TASKS_PER_NODE) {
        snprintf(err, errlen, "--ntasks-per-node %u: must be 1 to %u", spec->tasks_per_node,
                 JOBSPEC_MAX_TASKS_PER_NODE);
        return -1;
    }
    if (spec->cpus_per_task < 1 || spec->cpus_per_task > JOBSPEC_MAX_CPUS_PER_TASK) {
        snprintf(err, errlen, "-c %u: must be 1 to %u", spec->cpus_per_task,
                 JOBSPEC_MAX_CPUS_PER_TASK);
        return -1;
    }
    if (spec->gpus_per_node > JOBSPEC_MAX_GPUS_PER_NODE) {
        snprintf(err, errlen, "--gpus-per-node %u: at most %u", spec->gpus_per_node,
                 JOBSPEC_MAX_GPUS_PER_NODE);
        return -1;
    }
    if ((unsigned long long)spec->nodes * spec->tasks_per_node > JOBSPEC_MAX_RANKS) {
        snprintf(err, errlen, "%u nodes x %u tasks: more than %u ranks", spec->nodes,
                 spec->tasks_per_node, JOBSPEC_MAX_RANKS);
        return -1;
    }
    return 0;
}

/* The command and its environment: counts, lengths, no secret. */
static int check_command(const Tern__JobSpec *spec, char *err, size_t errlen)
{
    if (spec->n_argv < 1 || spec->n_argv > JOBSPEC_MAX_ARGS) {
        snprintf(err, errlen, spec->n_argv ? "more than %u arguments" : "no command to run",
                 JOBSPEC_MAX_ARGS);
        return -1;
    }
    if (!spec->argv[0][0]) {
        snprintf(err, errlen, "empty command");
        return -1;
    }
    for (size_t i = 0; i < spec->n_argv; i++) {
        if (long_string(spec->argv[i], JOBSPEC_MAX_STRING)) {
            snprintf(err, errlen, "argument %zu longer than %u bytes", i, JOBSPEC_MAX_STRING);
            return -1;
        }
    }
    if (spec->n_env > JOBSPEC_MAX_ENV) {
        snprintf(err, errlen, "more than %u environment variables", JOBSPEC_MAX_ENV);
        return -1;
    }
    for (size_t i = 0; i < spec->n_env; i++) {
        const char *e = spec->env[i];
        if (long_string(e, JOBSPEC_MAX_STRING) || !strchr(e, '=') || e[0] == '=') {
            snprintf(err, errlen, "environment entry %zu is not KEY=VALUE (or too long)", i);
            return -1;
        }
        if (jobspec_env_secret(e)) {
            snprintf(err, errlen, "the environment holds %.*s, a job's secret key: it is never "
                     "submitted (tern submit leaves it out)", (int)strcspn(e, "="), e);
            return -1;
        }
    }
    return 0;
}

/* The umask, names, paths and texts: forms and lengths. */
static int check_names(const Tern__JobSpec *spec, char *err, size_t errlen)
{
    if (spec->umask & ~(JOBSPEC_UMASK_SENT | 0777u)) {
        snprintf(err, errlen, "umask %#o is not a file mode mask", spec->umask & ~JOBSPEC_UMASK_SENT);
        return -1;
    }
    if (long_string(spec->name, JOBSPEC_MAX_NAME) || long_string(spec->user, JOBSPEC_MAX_NAME)) {
        snprintf(err, errlen, "job or user name longer than %u bytes", JOBSPEC_MAX_NAME);
        return -1;
    }
    if (spec->name && (strchr(spec->name, '/') || !text_printable(spec->name))) {
        snprintf(err, errlen, "-J: job name may not contain '/' or control characters");
        return -1;
    }
    if (!spec->cwd || spec->cwd[0] != '/' || long_string(spec->cwd, JOBSPEC_MAX_PATH)) {
        snprintf(err, errlen, "working directory must be an absolute path");
        return -1;
    }
    const char *paths[] = { spec->stdout_pattern, spec->stderr_pattern, spec->checkpoint_dir };
    const char *flags[] = { "-o", "-e", "--checkpoint-dir" };
    for (size_t i = 0; i < 3; i++) {
        if (paths[i] && paths[i][0] &&
            (paths[i][0] != '/' || long_string(paths[i], JOBSPEC_MAX_PATH))) {
            snprintf(err, errlen, "%s: the path must be absolute and shorter than %u bytes",
                     flags[i], JOBSPEC_MAX_PATH + 1);
            return -1;
        }
    }
    if (spec->script.len > JOBSPEC_MAX_SCRIPT) {
        snprintf(err, errlen, "script larger than %u bytes", JOBSPEC_MAX_SCRIPT);
        return -1;
    }
    if (!text_printable(spec->user) || !text_printable(spec->partition) ||
        !text_printable(spec->dependency) || !text_printable(spec->array)) {
        snprintf(err, errlen, "user, partition, dependency and array may not hold control "
                 "characters");
        return -1;
    }
    return 0;
}

/* Time limit, priority, signal, launcher, labels and token. */
static int check_policy(const Tern__JobSpec *spec, char *err, size_t errlen)
{
    if (spec->time_limit_s > JOBSPEC_MAX_TIME_LIMIT) {
        snprintf(err, errlen, "-t: at most %llu years",
                 (unsigned long long)(JOBSPEC_MAX_TIME_LIMIT / (365 * 86400)));
        return -1;
    }
    if (spec->priority < -JOBSPEC_MAX_PRIORITY || spec->priority > JOBSPEC_MAX_PRIORITY) {
        snprintf(err, errlen, "--priority %d: expected -%d to %d", spec->priority,
                 JOBSPEC_MAX_PRIORITY, JOBSPEC_MAX_PRIORITY);
        return -1;
    }
    if (spec->preempt_signal < 0 || spec->preempt_signal > JOBSPEC_MAX_SIGNAL) {
        snprintf(err, errlen, "--signal: no signal %d", spec->preempt_signal);
        return -1;
    }
    if (spec->launcher && spec->launcher[0] && strcmp(spec->launcher, "direct") != 0 &&
        strcmp(spec->launcher, "mpi") != 0) {
        snprintf(err, errlen, "--launcher %.32s: expected direct or mpi", spec->launcher);
        return -1;
    }
    if (check_labels(spec, err, errlen) < 0)
        return -1;
    if (jobspec_mpi(spec) && spec->batch) {
        snprintf(err, errlen, "--launcher mpi runs a command, not a batch script (use mpirun "
                 "in the script, or srun)");
        return -1;
    }
    if (long_string(spec->token, JOBSPEC_MAX_TOKEN)) {
        snprintf(err, errlen, "submit token longer than %u bytes", JOBSPEC_MAX_TOKEN);
        return -1;
    }
    return 0;
}

int jobspec_validate(const Tern__JobSpec *spec, char *err, size_t errlen)
{
    if (!spec) {
        snprintf(err, errlen, "submit without a job specification");
        return -1;
    }
    if (check_shape(spec, err, errlen) < 0 || check_command(spec, err, errlen) < 0 ||
        check_names(spec, err, errlen) < 0 || check_policy(spec, err, errlen) < 0)
        return -1;
    size_t packed = tern__job_spec__get_packed_size(spec);
    if (packed > JOBSPEC_MAX_PACKED) {
        snprintf(err, errlen, "the job (command, environment and script) takes %zu bytes; "
                 "at most %u", packed, JOBSPEC_MAX_PACKED);
        return -1;
    }
    return 0;
}

unsigned jobspec_world_size(const Tern__JobSpec *spec)
{
    return spec->nodes * spec->tasks_per_node;
}

bool jobspec_mpi(const Tern__JobSpec *spec)
{
    return spec->launcher && strcmp(spec->launcher, "mpi") == 0;
}

bool jobspec_one_process(const Tern__JobSpec *spec)
{
    return spec->batch || jobspec_mpi(spec);
}

/* What the rank environment carries that must stay on the node. */
static const char *const secret_env[] = { "TERN_JOB_KEY" };

bool jobspec_env_secret(const char *entry)
{
    size_t klen = strcspn(entry, "=");
    for (size_t i = 0; i < sizeof secret_env / sizeof secret_env[0]; i++)
        if (strlen(secret_env[i]) == klen && strncmp(entry, secret_env[i], klen) == 0)
            return true;
    return false;
}

unsigned jobspec_umask(const Tern__JobSpec *spec)
{
    return spec->umask & JOBSPEC_UMASK_SENT ? spec->umask & 0777u : JOBSPEC_UMASK_DEFAULT;
}

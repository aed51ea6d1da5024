#include "cli/submit_opts.h"

#include "cli/cli.h"

#include "common/arrayspec.h"
#include "common/depend.h"
#include "common/fsutil.h"
#include "common/jobspec.h"
#include "common/parse.h"

#include <ctype.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_TPN = 256, OPT_GPUS, OPT_GRES, OPT_RESTARTS, OPT_PREEMPTIBLE, OPT_PRIORITY, OPT_SIGNAL,
    OPT_CKPT, OPT_LAUNCHER, OPT_PARSABLE, OPT_SLURM_ENV, OPT_SCHEDULER, OPT_GPUS_TOTAL,
    OPT_REQUEUE, OPT_NO_REQUEUE, OPT_LABEL, OPT_INSECURE,
};

#define FIELD(f) offsetof(submit_opts, f), sizeof(((submit_opts *)0)->f)

/* Options that set a number within a range; 'expect' says the range
 * ("%u to %u") when a value is outside it. */
static const struct {
    int opt;
    unsigned bit;
    size_t off, len;
    const char *name, *expect;
    uint32_t min, max;
} number_opts[] = {
    { 'N', SO_NODES, FIELD(nodes), "-N", "a job needs %u to %u nodes", 1, JOBSPEC_MAX_NODES },
    { 'n', SO_NTASKS, FIELD(ntasks), "-n", "expected %u to %u tasks", 1, JOBSPEC_MAX_RANKS },
    { OPT_TPN, SO_TPN, FIELD(tasks_per_node), "--ntasks-per-node", "expected %u to %u", 1,
      JOBSPEC_MAX_TASKS_PER_NODE },
    { 'c', SO_CPUS, FIELD(cpus_per_task), "-c", "expected %u to %u cpus per task", 1,
      JOBSPEC_MAX_CPUS_PER_TASK },
    { OPT_RESTARTS, SO_RESTARTS, FIELD(max_restarts), "--max-restarts", "expected %u to %u", 0,
      JOBSPEC_MAX_RESTARTS },
};

/* Options whose text is kept as given: -p, -d and -a checked here,
 * resolved by ternd. */
static const struct {
    int opt;
    unsigned bit;
    size_t off, len;
    const char *name;
} text_opts[] = {
    { 'J', SO_NAME, FIELD(name), "-J" },
    { 'o', SO_OUTPUT, FIELD(output), "-o" },
    { 'e', SO_ERROR, FIELD(error), "-e" },
    { 'D', SO_CHDIR, FIELD(chdir), "-D" },
    { OPT_CKPT, SO_CKPT, FIELD(checkpoint_dir), "--checkpoint-dir" },
    { OPT_SCHEDULER, SO_SCHEDULER, FIELD(scheduler), "--scheduler" },
    { 'p', SO_PARTITION, FIELD(partition), "--partition" },
    { 'd', SO_DEPENDENCY, FIELD(dependency), "--dependency" },
    { 'a', SO_ARRAY, FIELD(array), "--array" },
};

/* Switches. */
static const struct {
    int opt;
    unsigned bit;
    size_t off, len;
} flag_opts[] = {
    { OPT_PREEMPTIBLE, SO_PREEMPTIBLE, FIELD(preemptible) },
    { OPT_PARSABLE, SO_PARSABLE, FIELD(parsable) },
    { OPT_SLURM_ENV, SO_SLURM_ENV, FIELD(slurm_env) },
    { OPT_INSECURE, SO_INSECURE, FIELD(insecure) },
};

#define NELEM(a) (sizeof (a) / sizeof (a)[0])

static const struct option longopts[] = {
    { "nodes", required_argument, 0, 'N' },
    { "ntasks", required_argument, 0, 'n' },
    { "ntasks-per-node", required_argument, 0, OPT_TPN },
    { "gpus-per-node", required_argument, 0, OPT_GPUS },
    { "gpus", required_argument, 0, 'G' },
    { "gres", required_argument, 0, OPT_GRES },
    { "cpus-per-task", required_argument, 0, 'c' },
    { "time", required_argument, 0, 't' },
    { "job-name", required_argument, 0, 'J' },
    { "output", required_argument, 0, 'o' },
    { "error", required_argument, 0, 'e' },
    { "chdir", required_argument, 0, 'D' },
    { "max-restarts", required_argument, 0, OPT_RESTARTS },
    { "preemptible", no_argument, 0, OPT_PREEMPTIBLE },
    { "priority", required_argument, 0, OPT_PRIORITY },
    { "signal", required_argument, 0, OPT_SIGNAL },
    { "checkpoint-dir", required_argument, 0, OPT_CKPT },
    { "launcher", required_argument, 0, OPT_LAUNCHER },
    { "parsable", no_argument, 0, OPT_PARSABLE },
    { "slurm-env", no_argument, 0, OPT_SLURM_ENV },
    { "scheduler", required_argument, 0, OPT_SCHEDULER },
    { "insecure", no_argument, 0, OPT_INSECURE },
    { "partition", required_argument, 0, 'p' },
    { "dependency", required_argument, 0, 'd' },
    { "array", required_argument, 0, 'a' },
    { "requeue", no_argument, 0, OPT_REQUEUE },
    { "label", required_argument, 0, OPT_LABEL },
    { "no-requeue", no_argument, 0, OPT_NO_REQUEUE },
    { 0, 0, 0, 0 },
};
static const char shortopts[] = "+:N:n:c:t:J:o:e:D:G:p:d:a:";

static int copy(char *dst, size_t len, const char *v, const char *what, const char *where,
                char *err, size_t errlen)
{
    if (strlen(v) >= len) {
        snprintf(err, errlen, "%s: %s is longer than %zu bytes", where, what, len - 1);
        return -1;
    }
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

/* "8", "gpu:8", "gpu:h100:8", "h100:8": the last number. */
static int parse_gpu_count(const char *v, bool gres, uint32_t *out)
{
    if (gres && strncmp(v, "gpu", 3) != 0)
        return -1;
    const char *last = strrchr(v, ':');
    return parse_u32(last ? last + 1 : v, 0,
                     gres ? JOBSPEC_MAX_GPUS_PER_NODE : UINT32_MAX / 2, out);
}

/* "[B:]SIG[@SECS]" as sbatch --signal. */
static int parse_signal_opt(const char *v, int *sig, uint32_t *secs)
{
    char buf[64];
    if (strncmp(v, "B:", 2) == 0 || strncmp(v, "R:", 2) == 0)
        v += 2;
    if (strlen(v) >= sizeof buf)
        return -1;
    strcpy(buf, v);
    char *at = strchr(buf, '@');
    *secs = 60;
    if (at) {
        *at = '\0';
        if (parse_u32(at + 1, 0, 65535, secs) < 0)
            return -1;
    }
    return parse_signal(buf, sig);
}

static int bad(const char *where, const char *opt, const char *v, const char *expect, char *err,
               size_t errlen)
{
    snprintf(err, errlen, "%s: %s '%s': %s", where, opt, v, expect);
    return -1;
}

/* -d and -a are parsed here for their errors, and kept as text. */
static int check_text(int c, const char *v, const char *where, char *err, size_t errlen)
{
    char why[256];
    depend deps[DEPEND_MAX];
    arrayspec arr;
    if (c == 'd' && depend_parse(v, deps, why, sizeof why) < 0) {
        snprintf(err, errlen, "%s: %s", where, why);
        return -1;
    }
    if (c == 'a') {
        if (arrayspec_parse(v, &arr, why, sizeof why) < 0) {
            snprintf(err, errlen, "%s: %s", where, why);
            return -1;
        }
        arrayspec_free(&arr);
    }
    return 0;
}

/* Sets an option of the tables above. Returns 1 when set, 0 when 'c' is
 * none of theirs, -1 with 'err'. */
static int set_from_tables(submit_opts *o, int c, const char *v, const char *where, char *err,
                           size_t errlen)
{
    for (size_t i = 0; i < NELEM(number_opts); i++) {
        if (number_opts[i].opt != c)
            continue;
        if (parse_u32(v, number_opts[i].min, number_opts[i].max,
                      (uint32_t *)((char *)o + number_opts[i].off)) < 0) {
            char expect[128];
            snprintf(expect, sizeof expect, number_opts[i].expect, number_opts[i].min,
                     number_opts[i].max);
            return bad(where, number_opts[i].name, v, expect, err, errlen);
        }
        o->set |= number_opts[i].bit;
        return 1;
    }
    for (size_t i = 0; i < NELEM(text_opts); i++) {
        if (text_opts[i].opt != c)
            continue;
        if (copy((char *)o + text_opts[i].off, text_opts[i].len, v, text_opts[i].name, where,
                 err, errlen) < 0 || check_text(c, v, where, err, errlen) < 0)
            return -1;
        o->set |= text_opts[i].bit;
        return 1;
    }
    for (size_t i = 0; i < NELEM(flag_opts); i++) {
        if (flag_opts[i].opt != c)
            continue;
        *(bool *)((char *)o + flag_opts[i].off) = true;
        o->set |= flag_opts[i].bit;
        return 1;
    }
    return 0;
}

static int set_gpus(submit_opts *o, int c, const char *v, const char *where, char *err,
                    size_t errlen)
{
    if (c == 'G') {
        if (parse_gpu_count(v, false, &o->gpus_total) < 0 ||
            (o->gpus_total > JOBSPEC_MAX_GPUS_PER_NODE * JOBSPEC_MAX_NODES))
            return bad(where, "--gpus", v, "expected the job's GPUs, N or TYPE:N", err, errlen);
        o->set |= SO_GPUS_TOTAL;
        return 0;
    }
    if (parse_gpu_count(v, c == OPT_GRES, &o->gpus_per_node) < 0 ||
        o->gpus_per_node > JOBSPEC_MAX_GPUS_PER_NODE) {
        char expect[64];
        snprintf(expect, sizeof expect, "expected 0 to %u", JOBSPEC_MAX_GPUS_PER_NODE);
        return bad(where, c == OPT_GRES ? "--gres" : "--gpus-per-node", v,
                   c == OPT_GRES ? "expected gpu:N or gpu:TYPE:N" : expect, err, errlen);
    }
    o->set |= SO_GPUS;
    return 0;
}

static int add_label(submit_opts *o, const char *v, const char *where, char *err,
                     size_t errlen)
{
    if (o->nlabels == JOBSPEC_MAX_LABELS) {
        char expect[64];
        snprintf(expect, sizeof expect, "at most %u labels", JOBSPEC_MAX_LABELS);
        return bad(where, "--label", v, expect, err, errlen);
    }
    if (!strchr(v, '=') || v[0] == '=')
        return bad(where, "--label", v, "expected KEY=VALUE, e.g. dataset=sha256:ab12", err,
                   errlen);
    if (copy(o->labels[o->nlabels], sizeof o->labels[0], v, "--label", where, err, errlen) < 0)
        return -1;
    o->nlabels++;
    o->set |= SO_LABELS;
    return 0;
}

/* The options that fit none of the tables. Returns 0, or -1 with 'err'. */
static int set_other(submit_opts *o, int c, const char *v, char **argv, const char *where,
                     char *err, size_t errlen)
{
    switch (c) {
    case OPT_GPUS:
    case OPT_GRES:
    case 'G':
        return set_gpus(o, c, v, where, err, errlen);
    case 't':
        if (parse_time_limit(v, &o->time_limit_s) < 0)
            return bad(where, "-t", v, "expected M, M:S, H:M:S, D-H, D-H:M or D-H:M:S", err,
                       errlen);
        o->set |= SO_TIME;
        return 0;
    case OPT_LABEL:
        return add_label(o, v, where, err, errlen);
    case OPT_REQUEUE:
        /* sbatch --requeue: requeued after a node failure or a preemption,
         * which tern does by default (--max-restarts). */
        return 0;
    case OPT_NO_REQUEUE:
        o->max_restarts = 0;
        o->set |= SO_RESTARTS;
        return 0;
    case OPT_PRIORITY:
        if (parse_i32(v, -JOBSPEC_MAX_PRIORITY, JOBSPEC_MAX_PRIORITY, &o->priority) < 0) {
            char expect[64];
            snprintf(expect, sizeof expect, "expected -%d to %d", JOBSPEC_MAX_PRIORITY,
                     JOBSPEC_MAX_PRIORITY);
            return bad(where, "--priority", v, expect, err, errlen);
        }
        o->set |= SO_PRIORITY;
        return 0;
    case OPT_SIGNAL:
        if (parse_signal_opt(v, &o->signal, &o->signal_secs) < 0)
            return bad(where, "--signal", v, "expected SIG[@SECS], e.g. USR1@90", err, errlen);
        o->set |= SO_SIGNAL;
        return 0;
    case OPT_LAUNCHER:
        if (strcmp(v, "direct") != 0 && strcmp(v, "mpi") != 0)
            return bad(where, "--launcher", v, "expected direct or mpi", err, errlen);
        snprintf(o->launcher, sizeof o->launcher, "%s", v);
        o->set |= SO_LAUNCHER;
        return 0;
    case ':':
        snprintf(err, errlen, "%s: option '%s' needs a value", where, argv[optind - 1]);
        return -1;
    default: {
        char why[512];
        cli_bad_option(longopts, argv, why, sizeof why);
        snprintf(err, errlen, "%s: %s", where, why);
        return -1;
    }
    }
}

int submit_opts_parse(submit_opts *o, int argc, char **argv, const char *where, char *err,
                      size_t errlen)
{
    optind = 0;   /* glibc: restart scanning from argv[1] */
    opterr = 0;
    int c, idx = -1;
    while ((c = getopt_long(argc, argv, shortopts, longopts, &idx)) != -1) {
        int rc = set_from_tables(o, c, optarg, where, err, errlen);
        if (rc < 0 || (rc == 0 && set_other(o, c, optarg, argv, where, err, errlen) < 0))
            return -1;
    }
    return optind;
}

/* Splits a directive line into words (whitespace, "..." and '...'); stops
 * at a word starting with '#'. Returns the count, or -1 if unbalanced. */
static int split_words(char *line, char **words, int max)
{
    int n = 0;
    char *p = line, *o;
    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p || *p == '#')
            return n;
        if (n == max)
            return -1;
        words[n++] = o = p;
        while (*p && !isspace((unsigned char)*p)) {
            if (*p == '"' || *p == '\'') {
                char q = *p++;
                while (*p && *p != q)
                    *o++ = *p++;
                if (*p != q)
                    return -1;
                p++;
            } else {
                *o++ = *p++;
            }
        }
        bool end = !*p;
        *o = '\0';
        if (end)
            return n;
        p++;
    }
}

int submit_directives(submit_opts *o, const char *path, const char *text,
                      void (*warn)(const char *msg), char *err, size_t errlen)
{
    const char *p = text;
    int lineno = 0;
    while (*p) {
        const char *eol = strchrnul(p, '\n');
        const char *s = p;
        lineno++;
        p = *eol ? eol + 1 : eol;
        while (s < eol && isspace((unsigned char)*s))
            s++;
        if (s == eol || (lineno == 1 && strncmp(s, "#!", 2) == 0))
            continue;
        if (*s != '#')
            break;   /* the first command ends the directives */
        bool sbatch = strncmp(s, "#SBATCH", 7) == 0 && (s + 7 == eol || isspace((unsigned char)s[7]));
        bool tern = strncmp(s, "#TERN", 5) == 0 && (s + 5 == eol || isspace((unsigned char)s[5]));
        if (!sbatch && !tern)
            continue;   /* a comment, however long */
        char line[4096];
        size_t len = (size_t)(eol - s);
        if (len >= sizeof line) {
            snprintf(err, errlen, "%s:%d: directive longer than 4095 bytes", path, lineno);
            return -1;
        }
        memcpy(line, s, len);
        line[len] = '\0';
        char *words[66];
        words[0] = "tern";
        int n = split_words(line + (sbatch ? 7 : 5), words + 1, 64);
        if (n < 0) {
            snprintf(err, errlen, "%s:%d: unbalanced quotes or more than 64 words", path, lineno);
            return -1;
        }
        words[n + 1] = NULL;
        char where[FS_SUBPATH_LEN];
        snprintf(where, sizeof where, "%s:%d", path, lineno);
        /* Each option alone, so that an unknown #SBATCH one can be skipped. */
        for (int i = 1; i <= n; i++) {
            char *one[4] = { "tern", words[i], NULL, NULL };
            int argc = 2;
            bool takes_value = words[i][0] == '-' && !strchr(words[i], '=') &&
                               i + 1 <= n && words[i + 1][0] != '-';
            submit_opts trial = *o;
            char why[512];
            int used = submit_opts_parse(&trial, argc, one, where, why, sizeof why);
            if (used < 0 && i + 1 <= n && strstr(why, "needs a value")) {
                one[2] = words[i + 1];
                argc = 3;
                trial = *o;
                used = submit_opts_parse(&trial, argc, one, where, why, sizeof why);
                if (used >= 0)
                    i++;
            }
            if (used >= 0 && used < argc) {
                snprintf(why, sizeof why, "%.300s: '%.100s' is not an option", where, words[i]);
                used = -1;
            }
            /* Plain text is the submitter's choice, never a script's. */
            if (used >= 0 && (trial.set & SO_INSECURE)) {
                snprintf(err, errlen, "%.300s: --insecure is an option of the command line "
                         "only, not of a script", where);
                return -1;
            }
            if (used >= 0) {
                *o = trial;
                continue;
            }
            if (sbatch && strstr(why, "unknown option")) {
                if (warn) {
                    char msg[700];
                    snprintf(msg, sizeof msg, "%.300s: #SBATCH %.100s is not supported; ignored", where,
                             words[i]);
                    warn(msg);
                }
                /* Skip its value too, if it was given separately. */
                if (takes_value && !strchr(words[i], '='))
                    i++;
                continue;
            }
            snprintf(err, errlen, "%s", why);
            return -1;
        }
    }
    return 0;
}

void submit_opts_merge(submit_opts *dst, const submit_opts *over)
{
    unsigned s = over->set;
    if (s & SO_NODES) dst->nodes = over->nodes;
    if (s & SO_TPN) dst->tasks_per_node = over->tasks_per_node;
    if (s & SO_NTASKS) dst->ntasks = over->ntasks;
    if (s & SO_GPUS) dst->gpus_per_node = over->gpus_per_node;
    if (s & SO_GPUS_TOTAL) dst->gpus_total = over->gpus_total;
    if (s & SO_CPUS) dst->cpus_per_task = over->cpus_per_task;
    if (s & SO_TIME) dst->time_limit_s = over->time_limit_s;
    if (s & SO_NAME) memcpy(dst->name, over->name, sizeof dst->name);
    if (s & SO_OUTPUT) memcpy(dst->output, over->output, sizeof dst->output);
    if (s & SO_ERROR) memcpy(dst->error, over->error, sizeof dst->error);
    if (s & SO_CHDIR) memcpy(dst->chdir, over->chdir, sizeof dst->chdir);
    if (s & SO_RESTARTS) dst->max_restarts = over->max_restarts;
    if (s & SO_PREEMPTIBLE) dst->preemptible = over->preemptible;
    if (s & SO_PRIORITY) dst->priority = over->priority;
    if (s & SO_SIGNAL) {
        dst->signal = over->signal;
        dst->signal_secs = over->signal_secs;
    }
    if (s & SO_CKPT) memcpy(dst->checkpoint_dir, over->checkpoint_dir, sizeof dst->checkpoint_dir);
    if (s & SO_LAUNCHER) memcpy(dst->launcher, over->launcher, sizeof dst->launcher);
    if (s & SO_PARSABLE) dst->parsable = over->parsable;
    if (s & SO_SLURM_ENV) dst->slurm_env = over->slurm_env;
    if (s & SO_SCHEDULER) memcpy(dst->scheduler, over->scheduler, sizeof dst->scheduler);
    if (s & SO_LABELS) {
        /* The command line's labels come after the script's. */
        for (uint32_t i = 0; i < over->nlabels && dst->nlabels < 64; i++)
            memcpy(dst->labels[dst->nlabels++], over->labels[i], sizeof dst->labels[0]);
    }
    for (size_t t = 0; t < sizeof text_opts / sizeof text_opts[0]; t++)
        if (s & text_opts[t].bit)
            memcpy((char *)dst + text_opts[t].off, (const char *)over + text_opts[t].off,
                   text_opts[t].len);
    dst->set |= s;
}

int submit_opts_shape(const submit_opts *o, uint32_t *nodes, uint32_t *tpn, char *err,
                      size_t errlen)
{
    uint32_t n = (o->set & SO_NODES) ? o->nodes : 1;
    uint32_t t = (o->set & SO_TPN) ? o->tasks_per_node : 1;
    if ((o->set & SO_NTASKS) && (o->set & SO_TPN) && !(o->set & SO_NODES)) {
        if (o->ntasks % t != 0) {
            snprintf(err, errlen, "-n %u is not a multiple of --ntasks-per-node %u", o->ntasks,
                     t);
            return -1;
        }
        n = o->ntasks / t;
        if (n > JOBSPEC_MAX_NODES) {
            snprintf(err, errlen, "-n %u at %u per node needs more than %u nodes", o->ntasks, t,
                     JOBSPEC_MAX_NODES);
            return -1;
        }
    } else if (o->set & SO_NTASKS) {
        if (o->set & SO_TPN) {
            if ((uint64_t)n * t != o->ntasks) {
                snprintf(err, errlen, "-n %u does not equal -N %u x --ntasks-per-node %u",
                         o->ntasks, n, t);
                return -1;
            }
        } else if (o->ntasks % n != 0) {
            snprintf(err, errlen, "-n %u is not a multiple of -N %u (tern runs the same number "
                                  "of tasks on every node)", o->ntasks, n);
            return -1;
        } else {
            t = o->ntasks / n;
            if (t > JOBSPEC_MAX_TASKS_PER_NODE) {
                snprintf(err, errlen, "-n %u over %u nodes is more than %u tasks per node",
                         o->ntasks, n, JOBSPEC_MAX_TASKS_PER_NODE);
                return -1;
            }
        }
    }
    *nodes = n;
    *tpn = t;
    return 0;
}

int submit_opts_gpus(const submit_opts *o, uint32_t nodes, uint32_t *gpn, char *err,
                     size_t errlen)
{
    if (!(o->set & SO_GPUS_TOTAL)) {
        *gpn = (o->set & SO_GPUS) ? o->gpus_per_node : 0;
        return 0;
    }
    if (o->set & SO_GPUS) {
        snprintf(err, errlen, "give --gpus (for the job) or --gpus-per-node, not both");
        return -1;
    }
    if (o->gpus_total % nodes != 0 || o->gpus_total / nodes > JOBSPEC_MAX_GPUS_PER_NODE) {
        snprintf(err, errlen, "--gpus %u does not spread evenly over %u nodes (at most %u each)",
                 o->gpus_total, nodes, JOBSPEC_MAX_GPUS_PER_NODE);
        return -1;
    }
    *gpn = o->gpus_total / nodes;
    return 0;
}

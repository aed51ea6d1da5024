/* tern logs: the output of a job's ranks, read from its files (which live
 * on storage the CLI's machine shares, as with SLURM's -o). With several
 * ranks each line is labelled "RANK: " as srun -l does; -f follows until
 * the job ends. */
#include "cli/cli.h"

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/jobspec.h"
#include "common/jobstate.h"
#include "common/parse.h"
#include "common/pattern.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: tern logs JOB [--rank R] [--stderr] [-f] [--scheduler ENDPOINT]\n"
    "  prints the ranks' output (lines labelled 'RANK: ' when there are several);\n"
    "  -f follows it until the job ends\n";

typedef struct logs_opts {
    int64_t rank;                  /* -1: all */
    bool follow, stderr_file;
} logs_opts;

typedef struct source {
    char path[FS_PATH_LEN];
    int rank;                      /* label; -1 for none */
    off_t offset;
    char partial[8192];            /* an unfinished last line */
    size_t npartial;
} source;

static int set_opt(int c, const char *arg, void *ctx)
{
    logs_opts *o = ctx;
    uint32_t r;
    switch (c) {
    case 'r':
        if (parse_u32(arg, 0, 999999, &r) < 0) {
            cli_error("logs", "--rank '%s': expected a rank number", arg);
            return -1;
        }
        o->rank = r;
        return 0;
    case 'f':
        o->follow = true;
        return 0;
    case 'E':
        o->stderr_file = true;
        return 0;
    }
    return -1;
}

/* Prints what was appended to 's' since last time; with 'flush' also an
 * unfinished last line. Returns -1 with errno when the file cannot be read. */
static int pump(source *s, bool flush)
{
    int fd = open(s->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char buf[65536];
    ssize_t n;
    while ((n = pread(fd, buf, sizeof buf, s->offset)) > 0) {
        s->offset += n;
        for (ssize_t i = 0; i < n; i++) {
            if (s->npartial < sizeof s->partial - 1)
                s->partial[s->npartial++] = buf[i];
            if (buf[i] == '\n' || s->npartial == sizeof s->partial - 1) {
                if (s->rank >= 0)
                    printf("%d: ", s->rank);
                fwrite(s->partial, 1, s->npartial, stdout);
                if (s->partial[s->npartial - 1] != '\n')
                    putchar('\n');
                s->npartial = 0;
            }
        }
    }
    close(fd);
    if (flush && s->npartial) {
        if (s->rank >= 0)
            printf("%d: ", s->rank);
        fwrite(s->partial, 1, s->npartial, stdout);
        putchar('\n');
        s->npartial = 0;
    }
    fflush(stdout);
    return 0;
}

static int job_state_of(client *c, uint64_t id, enum job_state *st)
{
    Tern__Envelope *rep = cli_jobs(c, "logs", &id, 1, true);
    if (!rep)
        return -1;
    int rc = rep->jobs->n_jobs == 1 ? job_state_parse(rep->jobs->jobs[0]->state, st) : -1;
    wire_free(rep);
    return rc;
}

int cmd_logs(int argc, char **argv)
{
    static const struct option extra[] = {
        { "rank", required_argument, 0, 'r' },
        { "follow", no_argument, 0, 'f' },
        { "stderr", no_argument, 0, 'E' },
        { 0, 0, 0, 0 },
    };
    logs_opts lo = { .rank = -1 };
    cli_common co;
    const cli_command cmd = {
        .name = "logs",
        .usage = usage,
        .shortopts = "f",
        .extra = extra,
        .fn = set_opt,
        .ctx = &lo,
        .operands = CLI_ONE_JOB,
    };
    int rc = cli_begin(&cmd, argc, argv, &co);
    if (rc >= 0)
        return rc;
    uint64_t id = co.job;
    client *c = cli_connect("logs", co.scheduler);
    if (!c)
        return 1;
    Tern__Envelope *rep = cli_jobs(c, "logs", &id, 1, true);
    if (!rep) {
        client_close(&c);
        return 1;
    }
    const Tern__JobInfo *j = rep->jobs->jobs[0];
    const Tern__JobSpec *sp = j->spec;
    /* A batch job writes one file: its script's, where its steps write too. */
    unsigned world = jobspec_one_process(sp) ? 1 : jobspec_world_size(sp);
    rc = 0;
    source *src = NULL;
    size_t nsrc = 0;
    const char *pattern = lo.stderr_file && sp->stderr_pattern[0] ? sp->stderr_pattern
                                                                 : sp->stdout_pattern;
    if (lo.rank >= (int64_t)world) {
        cli_error("logs", "job %llu has ranks 0 to %u", (unsigned long long)id, world - 1);
        rc = 2;
        goto out;
    }
    if (strcmp(j->state, "PD") == 0 && j->attempt == 0 && !lo.follow) {
        cli_error("logs", "job %llu has not started (%s)", (unsigned long long)id, j->reason);
        rc = 1;
        goto out;
    }
    src = calloc(world, sizeof *src);
    if (!src) {
        rc = 1;
        goto out;
    }
    for (unsigned r = 0; r < world; r++) {
        if (lo.rank >= 0 && r != (unsigned)lo.rank)
            continue;
        unsigned node_rank = r / sp->tasks_per_node;
        pattern_vars v = { id, r, node_rank,
                           node_rank < j->n_node_names ? j->node_names[node_rank] : NULL,
                           sp->name };
        pattern_array arr = { sp->array_job_id, sp->array_task_id };
        source *s = &src[nsrc];
        if (pattern_expand_array(pattern, &v, sp->array_job_id ? &arr : NULL, s->path,
                                 sizeof s->path) < 0)
            continue;
        bool dup = false;   /* ranks sharing one file print it once */
        for (size_t k = 0; k < nsrc && !dup; k++)
            dup = strcmp(src[k].path, s->path) == 0;
        if (dup)
            continue;
        s->rank = lo.rank >= 0 || world == 1 ? -1 : (int)r;
        nsrc++;
    }
    while (lo.follow) {
        for (size_t k = 0; k < nsrc; k++)
            pump(&src[k], false);
        enum job_state st;
        if (job_state_of(c, id, &st) < 0) {
            rc = 1;
            break;
        }
        if (job_state_final(st)) {
            for (size_t k = 0; k < nsrc; k++)
                pump(&src[k], true);
            break;
        }
        clock_sleep_ms(250);
    }
    for (size_t k = 0; !lo.follow && k < nsrc; k++) {
        if (pump(&src[k], true) < 0) {
            /* The files are on the nodes' storage; this machine may not share it. */
            cli_error("logs", "cannot read %s: %s", src[k].path, strerror(errno));
            rc = 1;
        }
    }
out:
    free(src);
    wire_free(rep);
    client_close(&c);
    return rc;
}

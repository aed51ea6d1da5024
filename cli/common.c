#include "cli/cli.h"

#include "common/escape.h"
#include "common/jobspec.h"
#include "common/parse.h"

#include <ctype.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

void cli_error(const char *cmd, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* (one line, whatever a job name or a scheduler's message held) */
    fprintf(stderr, "tern: %s: %s\n", cmd, cli_esc(msg));
}

const char *cli_esc(const char *s)
{
    static char *slot[CLI_ESC_SLOTS];
    static size_t cap[CLI_ESC_SLOTS];
    static unsigned next;
    if (!escape_needed(s))
        return s ? s : "";
    unsigned i = next++ % CLI_ESC_SLOTS;
    size_t need = escape_size(s);
    if (need > cap[i]) {
        char *grown = realloc(slot[i], need);
        if (!grown)
            return "(out of memory)";
        slot[i] = grown;
        cap[i] = need;
    }
    return escape_str(s, slot[i], cap[i]);
}

char **cli_env(size_t *n)
{
    extern char **environ;
    size_t all = 0;
    while (environ[all])
        all++;
    char **env = calloc(all + 1, sizeof *env);
    if (!env)
        return NULL;
    *n = 0;
    for (size_t i = 0; i < all; i++)
        if (!jobspec_env_secret(environ[i]))
            env[(*n)++] = environ[i];
    return env;
}

uint32_t cli_umask(void)
{
    mode_t m = umask(077);
    umask(m);
    return (uint32_t)m | JOBSPEC_UMASK_SENT;
}

client *cli_connect(const char *cmd, const char *scheduler)
{
    char err[1024];
    client *c = client_open(scheduler, err, sizeof err);
    if (!c)
        cli_error(cmd, "%s", err);
    return c;
}

Tern__Envelope *cli_call(client *c, const char *cmd, Tern__Envelope *req,
                         Tern__Envelope__BodyCase want)
{
    char err[1024];
    Tern__Envelope *rep = client_call(c, req, 0, err, sizeof err);
    if (!rep) {
        cli_error(cmd, "%s", err);
    } else if (rep->body_case != want) {
        cli_error(cmd, "unexpected reply (type %d) from the scheduler", (int)rep->body_case);
        wire_free(rep);
        rep = NULL;
    }
    return rep;
}

int cli_job_id(const char *cmd, const char *s, uint64_t *id)
{
    if (parse_u64(s, 1, UINT64_MAX / 2, id) < 0) {
        cli_error(cmd, "'%s' is not a job id", s);
        return -1;
    }
    return 0;
}

void cli_bad_option(const struct option *opts, char *const argv[], char *buf, size_t len)
{
    const char *arg = optind > 0 ? argv[optind - 1] : "";
    if (strncmp(arg, "--", 2) != 0) {
        if (optopt > 0 && optopt < 128 && isprint(optopt))
            snprintf(buf, len, "unknown option '-%c'", optopt);
        else
            snprintf(buf, len, "unknown option '%s'", arg);
        return;
    }
    const char *eq = strchr(arg, '=');
    size_t n = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
    for (const struct option *o = opts; eq && o->name; o++) {
        if (o->has_arg == no_argument && strlen(o->name) == n &&
            strncmp(o->name, arg + 2, n) == 0) {
            snprintf(buf, len, "option '--%s' takes no value", o->name);
            return;
        }
    }
    snprintf(buf, len, "unknown option '%.*s'", (int)(n + 2), arg);
}

/* Parses the shared options and the command's; returns the index of the
 * first operand, or -1 after printing the error. */
static int parse_options(const cli_command *cmd, int argc, char **argv, cli_common *co)
{
    const char *name = cmd->name;
    enum { O_JSON = 1000, O_SCHED, O_INSECURE };
    struct option opts[32];
    size_t n = 0;
    opts[n++] = (struct option){ "json", no_argument, 0, O_JSON };
    opts[n++] = (struct option){ "scheduler", required_argument, 0, O_SCHED };
    opts[n++] = (struct option){ "insecure", no_argument, 0, O_INSECURE };
    opts[n++] = (struct option){ "all", no_argument, 0, 'a' };
    opts[n++] = (struct option){ "help", no_argument, 0, 'h' };
    for (const struct option *e = cmd->extra; e && e->name && n < 31; e++)
        opts[n++] = *e;
    opts[n] = (struct option){ 0, 0, 0, 0 };
    char optstring[64];
    snprintf(optstring, sizeof optstring, ":ah%s", cmd->shortopts ? cmd->shortopts : "");
    memset(co, 0, sizeof *co);
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, optstring, opts, NULL)) != -1) {
        switch (c) {
        case O_JSON: co->json = true; break;
        case O_SCHED: co->scheduler = optarg; break;
        case O_INSECURE: client_allow_plaintext(); break;
        case 'a': co->all = true; break;
        case 'h': co->help = true; break;
        case ':':
            cli_error(name, "option '%s' needs a value", argv[optind - 1]);
            return -1;
        case '?': {
            char why[512];
            cli_bad_option(opts, argv, why, sizeof why);
            cli_error(name, "%s (see 'tern %s --help')", why, name);
            return -1;
        }
        default:
            if (!cmd->fn || cmd->fn(c, optarg, cmd->ctx) < 0)
                return -1;
        }
    }
    return optind;
}

/* The operands' job ids into co->jobs; returns -1, or the exit status after
 * printing why (2: not a job id, 1: out of memory). */
static int parse_jobs(const char *name, int n, char **ids, cli_common *co)
{
    co->jobs = calloc(n ? (size_t)n : 1, sizeof *co->jobs);
    if (!co->jobs)
        return 1;
    co->njobs = (size_t)n;
    for (int i = 0; i < n; i++)
        if (cli_job_id(name, ids[i], &co->jobs[i]) < 0) {
            free(co->jobs);
            co->jobs = NULL;
            return 2;
        }
    return -1;
}

int cli_begin(const cli_command *cmd, int argc, char **argv, cli_common *co)
{
    int first = parse_options(cmd, argc, argv, co);
    if (first < 0)
        return 2;
    if (co->help) {
        fputs(cmd->usage, stdout);
        return 0;
    }
    int n = argc - first;
    switch (cmd->operands) {
    case CLI_NONE:
        if (n == 0)
            return -1;
        cli_error(cmd->name, "unexpected argument '%s'", argv[first]);
        return 2;
    case CLI_ONE_JOB:
        if (n != 1) {
            cli_error(cmd->name, "give one job id (see 'tern %s --help')", cmd->name);
            return 2;
        }
        return cli_job_id(cmd->name, argv[first], &co->job) < 0 ? 2 : -1;
    case CLI_JOBS:
        if (n == 0) {
            cli_error(cmd->name, "give at least one job id (see 'tern %s --help')", cmd->name);
            return 2;
        }
        /* fallthrough */
    case CLI_ANY_JOBS:
        break;
    case CLI_ONE_NODE:
        if (n != 1) {
            cli_error(cmd->name, "give one node name (see 'tern %s --help')", cmd->name);
            return 2;
        }
        co->node = argv[first];
        return -1;
    }
    return parse_jobs(cmd->name, n, argv + first, co);
}

static Tern__Envelope *jobs_request(client *c, const char *cmd, Tern__JobsRequest *rq)
{
    Tern__Envelope env;
    wire_init(&env, 0);
    env.body_case = TERN__ENVELOPE__BODY_JOBS_QUERY;
    env.jobs_query = rq;
    Tern__Envelope *rep = cli_call(c, cmd, &env, TERN__ENVELOPE__BODY_JOBS);
    bool ok = rep != NULL;
    for (size_t i = 0; ok && i < rep->jobs->n_jobs; i++)
        ok = rep->jobs->jobs[i]->spec != NULL;
    if (rep && !ok) {
        cli_error(cmd, "unexpected reply from the scheduler");
        wire_free(rep);
        return NULL;
    }
    return rep;
}

Tern__Envelope *cli_jobs(client *c, const char *cmd, const uint64_t *ids, size_t n, bool brief)
{
    Tern__JobsRequest rq = TERN__JOBS_REQUEST__INIT;
    rq.n_job_ids = n;
    rq.job_ids = (uint64_t *)ids;
    rq.brief = brief;
    Tern__Envelope *rep = jobs_request(c, cmd, &rq);
    if (rep && rep->jobs->n_jobs != n) {
        cli_error(cmd, "unexpected reply from the scheduler");
        wire_free(rep);
        return NULL;
    }
    return rep;
}

Tern__Envelope *cli_jobs_page(client *c, const char *cmd, uint64_t after_id, bool all)
{
    Tern__JobsRequest rq = TERN__JOBS_REQUEST__INIT;
    rq.after_id = after_id;
    rq.all = all;
    return jobs_request(c, cmd, &rq);
}

json_t *cli_json_str(const char *s)
{
    if (!s)
        s = "";
    size_t len = strlen(s);
    char *clean = malloc(len * 3 + 1), *o = clean;
    if (!clean)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = escape_utf8_len((const char *)p);
        if (n) {
            memcpy(o, p, n);
            o += n;
            p += n;
        } else {
            memcpy(o, "\xef\xbf\xbd", 3);
            o += 3;
            p++;
        }
    }
    *o = '\0';
    json_t *v = json_string(clean);
    free(clean);
    return v;
}

int cli_print_json(json_t *doc)
{
    if (!doc) {
        fprintf(stderr, "tern: cannot build the JSON output\n");
        return 1;
    }
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (!text) {
        fprintf(stderr, "tern: cannot encode the JSON output\n");
        return 1;
    }
    puts(text);
    free(text);
    return 0;
}

void cli_time(int64_t unix_ms, char *buf, unsigned len)
{
    if (unix_ms <= 0) {
        snprintf(buf, len, "Unknown");
        return;
    }
    time_t t = (time_t)(unix_ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
}

Tern__Envelope *cli_nodes(client *c, const char *cmd)
{
    Tern__Envelope env;
    Tern__NodesRequest rq = TERN__NODES_REQUEST__INIT;
    wire_init(&env, 0);
    env.body_case = TERN__ENVELOPE__BODY_NODES_QUERY;
    env.nodes_query = &rq;
    return cli_call(c, cmd, &env, TERN__ENVELOPE__BODY_NODES);
}

int cli_node_command(client *c, const char *cmd, const char *node, const char *command,
                     const char *reason, uint32_t notice_s)
{
    Tern__Envelope env;
    Tern__NodeCommand rq = TERN__NODE_COMMAND__INIT;
    wire_init(&env, 0);
    rq.node = (char *)node;
    rq.command = (char *)command;
    rq.reason = (char *)reason;
    rq.notice_s = notice_s;
    env.body_case = TERN__ENVELOPE__BODY_NODE_COMMAND;
    env.node_command = &rq;
    Tern__Envelope *rep = cli_call(c, cmd, &env, TERN__ENVELOPE__BODY_OK);
    int rc = rep ? 0 : -1;
    wire_free(rep);
    return rc;
}

/* The tern CLI's commands and the helpers they share. Every command
 * returns its exit status; errors are one line on stderr, "tern: CMD: what". */
#ifndef TERN_CLI_H
#define TERN_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/client.h"

int cmd_submit(int argc, char **argv);
int cmd_queue(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_cancel(int argc, char **argv);
int cmd_wait(int argc, char **argv);
int cmd_nodes(int argc, char **argv);
int cmd_node_command(int argc, char **argv);   /* drain, resume */
int cmd_logs(int argc, char **argv);
int cmd_up(int argc, char **argv);
int cmd_down(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_history(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
/* srun and scontrol inside a batch script (argv[0] srun / scontrol). */
int cmd_srun(int argc, char **argv);
int cmd_scontrol(int argc, char **argv);
/* Open MPI's launch agent for --launcher mpi (argv[0] tern-rsh). */
int cmd_rsh(int argc, char **argv);

/* Prints "tern: CMD: message" on stderr. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Connects, or prints why and returns NULL. */
client *cli_connect(const char *cmd, const char *scheduler);

/* One request and its reply, which must be of type 'want'; or NULL after
 * printing the error (the scheduler's, or "unexpected reply"). */
Tern__Envelope *cli_call(client *c, const char *cmd, Tern__Envelope *req,
                         Tern__Envelope__BodyCase want);

/* Parses a job id ("42"), or prints why and returns -1. */
int cli_job_id(const char *cmd, const char *s, uint64_t *id);

/* 's' (NULL as "") as a terminal may show it: control characters and bytes
 * that are not UTF-8 written out (common/escape.h). Returns 's' itself when
 * nothing needs it, else a copy in one of CLI_ESC_SLOTS buffers taken in
 * turn: valid until that many more calls. For every name, argument, label,
 * value, reason and message from a job or the scheduler that is printed
 * for a person (not JSON, not a job's own output). */
#define CLI_ESC_SLOTS 16
const char *cli_esc(const char *s);

/* The environment a job or step is sent with: this process's, less the
 * secrets a job's environment holds (jobspec_env_secret: TERN_JOB_KEY), so
 * that a nested 'tern submit' never records its job's key. Returns an
 * array of *n entries (the caller frees the array, not the strings), or
 * NULL when out of memory. */
char **cli_env(size_t *n);

/* JobSpec.umask: this process's umask with JOBSPEC_UMASK_SENT. */
uint32_t cli_umask(void);

/* Options most commands share: --json, --scheduler, --insecure (for every
 * connection this process opens: client_allow_plaintext), --help, -a; and
 * the operands: job ids (CLI_ONE_JOB, CLI_JOBS, CLI_ANY_JOBS) or a node. */
typedef struct cli_common {
    bool json, all, help;
    const char *scheduler;
    uint64_t job;     /* CLI_ONE_JOB */
    const char *node; /* CLI_ONE_NODE */
    uint64_t *jobs;   /* CLI_JOBS, CLI_ANY_JOBS: njobs ids, the caller frees */
    size_t njobs;
} cli_common;

/* The operands a command takes. */
typedef enum cli_operands {
    CLI_NONE,       /* none: "unexpected argument 'X'" */
    CLI_ONE_JOB,    /* exactly one job id */
    CLI_JOBS,       /* one job id or more */
    CLI_ANY_JOBS,   /* any number of job ids, none included */
    CLI_ONE_NODE,   /* exactly one node name */
} cli_operands;

/* What a command takes: its name ("cancel"), the text --help prints, its
 * own options (a getopt_long table up to an entry of name NULL, and short
 * options, each given to 'fn' with 'ctx'; 'fn' prints its error and
 * returns -1 to stop), and its operands. */
struct option;
typedef struct cli_command {
    const char *name;
    const char *usage;
    const char *shortopts;
    const struct option *extra;
    int (*fn)(int c, const char *arg, void *ctx);
    void *ctx;
    cli_operands operands;
} cli_command;

/* The start every command shares: parses the shared options and the
 * command's, prints its usage for --help, checks and parses its operands.
 * Returns -1 when the command goes on, *co filled; otherwise the exit status
 * the command returns at once (0 after --help, 2 after the error it printed,
 * 1 when out of memory). */
int cli_begin(const cli_command *cmd, int argc, char **argv, cli_common *co);

/* Describes the option getopt_long just rejected (it returned '?') into
 * 'buf': "unknown option '--bogus'", "option '--parsable' takes no value". */
void cli_bad_option(const struct option *opts, char *const argv[], char *buf, size_t len);

/* Fetches jobs by id; one job comes with its environment and script
 * unless 'brief'. Returns the reply or NULL after printing the error. */
Tern__Envelope *cli_jobs(client *c, const char *cmd, const uint64_t *ids, size_t n, bool brief);

/* Fetches one page of the job listing: jobs after 'after_id' in id order,
 * unfinished ones (and finished ones with 'all'). Returns the reply (its
 * next_after says where the next page starts) or NULL after printing. */
Tern__Envelope *cli_jobs_page(client *c, const char *cmd, uint64_t after_id, bool all);

/* Fetches every node (tern nodes' listing). Returns the reply or NULL
 * after printing the error. */
Tern__Envelope *cli_nodes(client *c, const char *cmd);

/* Sends the node command 'command' (drain, resume or preempt, with its
 * reason, "" for none, and preempt's notice in seconds, 0: the scheduler's
 * default) for 'node'. Returns 0, or -1 after printing the error. */
int cli_node_command(client *c, const char *cmd, const char *node, const char *command,
                     const char *reason, uint32_t notice_s);

/* Prints 'doc' indented and drops the reference. Returns 0, or 1 when
 * 'doc' is NULL (a failed json_pack) or cannot be encoded. */
struct json_t;
int cli_print_json(struct json_t *doc);

/* A JSON string of 's' (NULL as ""), each byte that is not part of valid
 * UTF-8 replaced by U+FFFD: names and paths need not be UTF-8, JSON must. */
struct json_t *cli_json_str(const char *s);

/* "2026-11-27T14:03:05" in local time, or "Unknown" for 0. */
void cli_time(int64_t unix_ms, char *buf, unsigned len);

#endif

/* The options of 'tern submit', from the command line or from a script's
 * #TERN / #SBATCH directive lines: one parser serves both, and options on
 * the command line override the script's, as with sbatch. */
#ifndef TERN_SUBMIT_OPTS_H
#define TERN_SUBMIT_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/jobspec.h"

enum submit_opt_bit {
    SO_NODES = 1u << 0, SO_TPN = 1u << 1, SO_NTASKS = 1u << 2, SO_GPUS = 1u << 3,
    SO_CPUS = 1u << 4, SO_TIME = 1u << 5, SO_NAME = 1u << 6, SO_OUTPUT = 1u << 7,
    SO_ERROR = 1u << 8, SO_RESTARTS = 1u << 9, SO_PREEMPTIBLE = 1u << 10,
    SO_PRIORITY = 1u << 11, SO_SIGNAL = 1u << 12, SO_CKPT = 1u << 13, SO_LAUNCHER = 1u << 14,
    SO_PARSABLE = 1u << 15, SO_SLURM_ENV = 1u << 16, SO_CHDIR = 1u << 17,
    SO_SCHEDULER = 1u << 18, SO_GPUS_TOTAL = 1u << 19, SO_PARTITION = 1u << 20,
    SO_DEPENDENCY = 1u << 21, SO_ARRAY = 1u << 22, SO_LABELS = 1u << 23,
    SO_INSECURE = 1u << 24,
};

typedef struct submit_opts {
    unsigned set;                  /* submit_opt_bit of the options given */
    uint32_t nodes, tasks_per_node, ntasks, gpus_per_node, gpus_total, cpus_per_task;
    uint32_t max_restarts;
    int32_t priority;
    uint64_t time_limit_s;
    int signal;
    uint32_t signal_secs;
    bool preemptible, parsable, slurm_env;
    bool insecure;                 /* --insecure: the command line's alone */
    char name[JOBSPEC_MAX_NAME + 1];
    char output[JOBSPEC_MAX_PATH + 1], error[JOBSPEC_MAX_PATH + 1];
    char checkpoint_dir[JOBSPEC_MAX_PATH + 1], chdir[JOBSPEC_MAX_PATH + 1];
    char launcher[16];
    char partition[128], dependency[1024], array[1024];
    char labels[JOBSPEC_MAX_LABELS][JOBSPEC_MAX_LABEL + 1];   /* --label KEY=VALUE, in order */
    uint32_t nlabels;
    char scheduler[512];
} submit_opts;

/* Parses options from argv[1..] up to the first non-option or "--".
 * 'where' names the source in errors ("submit", "job.sh:3").
 * Returns the index of the first operand, or -1 with one line in 'err'. */
int submit_opts_parse(submit_opts *o, int argc, char **argv, const char *where, char *err,
                      size_t errlen);

/* Reads the directive lines at the top of a script (after "#!", up to the
 * first line that is neither blank nor a comment): "#TERN ..." lines are
 * tern options, "#SBATCH ..." lines sbatch options; an #SBATCH option tern
 * does not know is reported through 'warn' (may be NULL) and skipped.
 * Returns 0, or -1 with "PATH:LINE: what" in 'err'. */
int submit_directives(submit_opts *o, const char *path, const char *text,
                      void (*warn)(const char *msg), char *err, size_t errlen);

/* Copies into 'dst' every option set in 'over'. */
void submit_opts_merge(submit_opts *dst, const submit_opts *over);

/* Resolves -N/-n/--ntasks-per-node into nodes x tasks per node (with -n
 * and --ntasks-per-node alone, as sbatch, nodes = n / tasks per node).
 * Returns 0, or -1 with the reason (e.g. -n not a multiple of -N). */
int submit_opts_shape(const submit_opts *o, uint32_t *nodes, uint32_t *tpn, char *err,
                      size_t errlen);

/* GPUs per node on 'nodes' nodes: --gpus-per-node, or sbatch's --gpus
 * (for the whole job) spread evenly. Returns 0, or -1 with the reason. */
int submit_opts_gpus(const submit_opts *o, uint32_t nodes, uint32_t *gpn, char *err,
                     size_t errlen);

#endif

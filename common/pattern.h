/* Output file patterns as sbatch knows them: %j job id, %t task rank,
 * %n node rank, %N node name, %x job name, %A array job id, %a array task
 * id, %% a percent sign. A width between the percent sign and the letter
 * zero-pads a number ("%3a" gives 007; at most 10, as sbatch clamps it) and
 * is ignored for %N, %x and %%. */
#ifndef TERN_PATTERN_H
#define TERN_PATTERN_H

#include <stddef.h>
#include <stdint.h>

typedef struct pattern_vars {
    uint64_t job_id;
    int64_t rank;          /* -1: leave %t as is */
    int64_t node_rank;     /* -1: leave %n as is */
    const char *node_name; /* NULL: leave %N as is */
    const char *job_name;
} pattern_vars;

/* An array task's place in its array, for %A and %a. */
typedef struct pattern_array {
    uint64_t job_id;       /* the array's id (its first task's job id) */
    uint32_t task_id;
} pattern_array;

/* What %a gives for a job that is not an array task, as sbatch does. */
#define PATTERN_NO_TASK_ID 4294967294u

/* Expands 'pat' into 'out' for a job that is not an array task: %A is the
 * job id and %a PATTERN_NO_TASK_ID. Returns 0, or -1 with errno
 * ENAMETOOLONG when the result does not fit or EINVAL for an unknown
 * %-sequence. */
int pattern_expand(const char *pat, const pattern_vars *v, char *out, size_t len);

/* As pattern_expand, with %A and %a from 'array' (NULL: not an array task). */
int pattern_expand_array(const char *pat, const pattern_vars *v, const pattern_array *array,
                         char *out, size_t len);

#endif

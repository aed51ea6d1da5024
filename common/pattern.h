/* Output file patterns as sbatch knows them: %j job id, %t task rank,
 * %n node rank, %N node name, %x job name, %% a percent sign. */
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

/* Expands 'pat' into 'out'. Returns 0, or -1 with errno ENAMETOOLONG when
 * the result does not fit or EINVAL for an unknown %-sequence. */
int pattern_expand(const char *pat, const pattern_vars *v, char *out, size_t len);

#endif

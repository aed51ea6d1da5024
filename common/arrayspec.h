/* Job array specifications as sbatch --array takes them: "0-99", "1,3,5",
 * "0-15:4", any of them with "%N" (at most N tasks running at once). */
#ifndef TERN_ARRAYSPEC_H
#define TERN_ARRAYSPEC_H

#include <stddef.h>
#include <stdint.h>

/* The most tasks one array may have (sbatch's MaxArraySize is 1001 by
 * default; sites raise it). */
#define ARRAYSPEC_MAX_TASKS 100000u
/* The largest task id. */
#define ARRAYSPEC_MAX_ID 4000000u

typedef struct arrayspec {
    uint32_t *ids;         /* ascending, no duplicates; malloc'd */
    uint32_t count;
    uint32_t limit;        /* %N; 0: none */
} arrayspec;

/* Parses 's' into 'a'. Returns 0, or -1 with one line in 'err' (e.g.
 * "--array 5-2: range goes down"). Free with arrayspec_free. */
int arrayspec_parse(const char *s, arrayspec *a, char *err, size_t errlen);
void arrayspec_free(arrayspec *a);

#endif

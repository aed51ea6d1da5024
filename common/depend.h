/* Job dependencies as sbatch --dependency takes them:
 * "afterok:12:13,afterany:14" (every condition must hold). Types: after
 * (the job started), afterany (ended), afterok (ended COMPLETED),
 * afternotok (ended otherwise). A dependency on an array's id covers every
 * task of the array. */
#ifndef TERN_DEPEND_H
#define TERN_DEPEND_H

#include <stddef.h>
#include <stdint.h>

#define DEPEND_MAX 64

enum depend_type { DEP_AFTER, DEP_AFTERANY, DEP_AFTEROK, DEP_AFTERNOTOK };

typedef struct depend {
    enum depend_type type;
    uint64_t job_id;
} depend;

/* Parses 's' into deps[] (room for DEPEND_MAX). Returns the count, or -1
 * with one line in 'err'. An empty string has none. */
int depend_parse(const char *s, depend *deps, char *err, size_t errlen);
const char *depend_type_name(enum depend_type t);

#endif

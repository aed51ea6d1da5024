#include "common/depend.h"

#include "common/parse.h"

#include <stdio.h>
#include <string.h>

static const char *const names[] = { "after", "afterany", "afterok", "afternotok" };

const char *depend_type_name(enum depend_type t)
{
    return names[t];
}

int depend_parse(const char *s, depend *deps, char *err, size_t errlen)
{
    char buf[1024];
    if (strlen(s) >= sizeof buf) {
        snprintf(err, errlen, "--dependency: longer than %zu characters", sizeof buf - 1);
        return -1;
    }
    snprintf(buf, sizeof buf, "%s", s);
    int n = 0;
    char *save = NULL;
    for (char *cond = strtok_r(buf, ",", &save); cond; cond = strtok_r(NULL, ",", &save)) {
        char *save2 = NULL, *type = strtok_r(cond, ":", &save2);
        int t = -1;
        for (int i = 0; type && i < 4; i++)
            if (strcmp(type, names[i]) == 0)
                t = i;
        if (t < 0) {
            snprintf(err, errlen, "--dependency %s: unknown type '%s' (after, afterany, afterok, "
                     "afternotok)", s, type ? type : "");
            return -1;
        }
        int ids = 0;
        for (char *id = strtok_r(NULL, ":", &save2); id; id = strtok_r(NULL, ":", &save2)) {
            uint64_t v;
            if (parse_u64(id, 1, UINT64_MAX, &v) < 0) {
                snprintf(err, errlen, "--dependency %s: '%s' is not a job id", s, id);
                return -1;
            }
            if (n == DEPEND_MAX) {
                snprintf(err, errlen, "--dependency %s: more than %d jobs", s, DEPEND_MAX);
                return -1;
            }
            deps[n++] = (depend){ (enum depend_type)t, v };
            ids++;
        }
        if (!ids) {
            snprintf(err, errlen, "--dependency %s: '%s' names no job (as in %s:12)", s, type,
                     type);
            return -1;
        }
    }
    return n;
}

/* libFuzzer target: the values users type, each parser on its own (the
 * envelope and directive targets reach them only inside a message or a
 * script): --array, --dependency, host lists (srun -w, scontrol show
 * hostnames), output patterns (-o), time limits (-t), signals (--signal)
 * and plain numbers. The first byte picks the parser; the rest, up to a
 * NUL, is the text. */
#include "common/arrayspec.h"
#include "common/depend.h"
#include "common/hostlist.h"
#include "common/parse.h"
#include "common/pattern.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *s = malloc(size);
    if (!s)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    char err[512];
    switch (data[0] % 7) {
    case 0: {
        arrayspec a;
        if (arrayspec_parse(s, &a, err, sizeof err) == 0) {
            for (uint32_t i = 1; i < a.count; i++)
                if (a.ids[i - 1] >= a.ids[i])
                    abort();   /* promised ascending, no duplicates */
            arrayspec_free(&a);
        }
        break;
    }
    case 1: {
        depend deps[DEPEND_MAX];
        int n = depend_parse(s, deps, err, sizeof err);
        for (int i = 0; i < n; i++)
            (void)depend_type_name(deps[i].type);
        break;
    }
    case 2: {
        size_t n;
        char **names = hostlist_expand(s, &n, err, sizeof err);
        if (names && names[n])
            abort();   /* NULL-terminated after n names */
        hostlist_free(names);
        break;
    }
    case 3: {
        pattern_vars v = { .job_id = 7, .rank = 0, .node_rank = -1, .node_name = NULL,
                           .job_name = "train" };
        pattern_array arr = { .job_id = 5, .task_id = 2 };
        char out[256];
        (void)pattern_expand_array(s, &v, (size & 1) ? &arr : NULL, out, sizeof out);
        break;
    }
    case 4: {
        uint64_t secs;
        char buf[64];
        if (parse_time_limit(s, &secs) == 0)
            format_duration(secs, buf, sizeof buf);
        break;
    }
    case 5: {
        int sig;
        if (parse_signal(s, &sig) == 0)
            (void)signal_name(sig);
        break;
    }
    default: {
        uint32_t u;
        int32_t i;
        uint64_t l;
        (void)parse_u32(s, 0, UINT32_MAX, &u);
        (void)parse_i32(s, INT32_MIN, INT32_MAX, &i);
        (void)parse_u64(s, 0, UINT64_MAX, &l);
        break;
    }
    }
    free(s);
    return 0;
}

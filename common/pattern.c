#include "common/pattern.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* sbatch's limit: a larger width is taken as this one. */
#define PATTERN_MAX_WIDTH 10

int pattern_expand(const char *pat, const pattern_vars *v, char *out, size_t len)
{
    return pattern_expand_array(pat, v, NULL, out, len);
}

int pattern_expand_array(const char *pat, const pattern_vars *v, const pattern_array *array,
                         char *out, size_t len)
{
    size_t o = 0;
    for (const char *p = pat; *p; p++) {
        char piece[64];
        const char *add = piece;
        size_t al;
        if (*p != '%') {
            add = p;
            al = 1;
        } else {
            const char *start = p;
            int width = 0;
            while (p[1] >= '0' && p[1] <= '9') {
                width = width * 10 + (p[1] - '0');
                if (width > PATTERN_MAX_WIDTH)
                    width = PATTERN_MAX_WIDTH;
                p++;
            }
            bool number = true, keep = false;
            unsigned long long n = 0;
            switch (*++p) {
            case '%': add = "%"; number = false; break;
            case 'j': n = v->job_id; break;
            case 't': keep = v->rank < 0; n = (unsigned long long)v->rank; break;
            case 'n': keep = v->node_rank < 0; n = (unsigned long long)v->node_rank; break;
            case 'A': n = array ? array->job_id : v->job_id; break;
            case 'a': n = array ? array->task_id : PATTERN_NO_TASK_ID; break;
            case 'N':
                keep = !v->node_name;
                add = v->node_name;
                number = false;
                break;
            case 'x':
                add = v->job_name && *v->job_name ? v->job_name : "job";
                number = false;
                break;
            default:
                errno = EINVAL;
                return -1;
            }
            if (keep) {   /* unknown here: left for whoever knows it */
                add = start;
                al = (size_t)(p - start) + 1;
            } else if (number) {
                al = (size_t)snprintf(piece, sizeof piece, "%0*llu", width, n);
            } else {
                al = strlen(add);
            }
        }
        if (o + al >= len) {
            errno = ENAMETOOLONG;
            return -1;
        }
        memcpy(out + o, add, al);
        o += al;
    }
    if (o >= len) {
        errno = ENAMETOOLONG;
        return -1;
    }
    out[o] = '\0';
    return 0;
}
